"""Typical active cervical range of motion of healthy adults, per direction.

Sources (bands span the usual reference values, not a diagnosis):
- American Medical Association, Guides to the Evaluation of Permanent Impairment,
  5th ed. (2001), cervical spine: flexion 50°, extension 60°, lateral flexion 45°,
  rotation 80° each way.
- American Academy of Orthopaedic Surgeons, Joint Motion: Method of Measuring and
  Recording (1965): flexion 45°, extension 45°, lateral bending 45°, rotation 60°.
- Youdas JW et al., "Normal range of motion of the cervical spine: an initial
  goniometric study", Phys Ther 1992;72(11):770-780: rotation ~70-75° and lateral
  flexion ~40-45° in adults under 40, all directions decreasing with age.
Chin-tuck (retraction) translation has no widely used norm, so none is given.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Norm:
    label: str
    low: float
    high: float
    unit: str = "°"


NORMS: dict[str, Norm] = {
    "rotation_left": Norm("Rotation left", 70.0, 80.0),
    "rotation_right": Norm("Rotation right", 70.0, 80.0),
    "flexion": Norm("Flexion (chin down)", 45.0, 50.0),
    "extension": Norm("Extension (look up)", 45.0, 60.0),
    "side_bend_left": Norm("Side bend left", 40.0, 45.0),
    "side_bend_right": Norm("Side bend right", 40.0, 45.0),
}

LABELS: dict[str, str] = {**{k: v.label for k, v in NORMS.items()},
                          "retraction": "Retraction (chin tuck)"}
UNITS: dict[str, str] = {k: ("mm" if k == "retraction" else "°") for k in LABELS}
DIRECTION_ORDER: tuple[str, ...] = ("rotation_left", "rotation_right", "flexion", "extension",
                                    "side_bend_left", "side_bend_right", "retraction")

NORMS_NOTE = ("Typical healthy-adult ranges (AMA Guides 5th ed.; AAOS 1965; Youdas et al. 1992). "
              "Range falls with age and differs between people: this is orientation, not a "
              "diagnosis. Your therapist sets your own targets.")


def norm_for(direction: str) -> Norm | None:
    return NORMS.get(direction)
