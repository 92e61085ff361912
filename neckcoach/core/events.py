"""Events: the one vocabulary the coach speaks to cues, overlay and recorder.

Every stage of the coaching core returns plain `Event` records so that the
voice, the overlay and the session recorder never need to know which stage
produced them. Kinds are strings (stable in session.json), grouped by what
they mean to the person so the cue policy can prioritise them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from neckcoach.core.compat import SLOTS

# Guidance: what to do next.
EXERCISE_START = "exercise_start"
COUNT_IN = "count_in"
GO = "go"
REP_START = "rep_start"
AT_TARGET = "at_target"
HOLD = "hold"
RELEASE = "release"
AND_BACK = "and_back"
SET_DONE = "set_done"
REST = "rest"
REST_COUNTDOWN = "rest_countdown"
EXERCISE_DONE = "exercise_done"
EXERCISE_SKIPPED = "exercise_skipped"
ROUTINE_DONE = "routine_done"
PAUSED = "paused"
RESUMED = "resumed"

# Encouragement.
REP = "rep"

# Form: the rep is not as prescribed.
ALMOST = "almost"
PARTIAL = "partial"
HOLD_BROKEN = "hold_broken"
WRONG_SIDE = "wrong_side"
RUSHED = "rushed"

# Conditions that stop counting (the coach cannot measure well enough).
FACE_LOST = "face_lost"
TOO_FAR = "too_far"
TOO_CLOSE = "too_close"
POOR_LIGHT = "poor_light"
TOO_BRIGHT = "too_bright"
TWO_FACES = "two_faces"
# A face is in view but not where the calibrated patient was: never measured as the patient.
NOT_PATIENT = "not_patient"
# Framing: only the camera check before calibration asks for it (a head that
# turns or bends during an exercise moves off-centre on purpose).
OFF_CENTRE = "off_centre"
# Jitter hides sudden movements on the exercise's axis: a notice about the picture, said once, that
# never pauses counting (the values are still measurements, only jolts may go unnoticed).
GRAINY = "grainy"
# Counting is running but the counter never saw the head at rest (or could not measure the exercise's
# axis) for a while: the person is told why nothing is counted and what to do.
NOT_SETTLED = "not_settled"

# Safety.
TOO_FAST = "too_fast"
JERK = "jerk"
OUT_OF_RANGE = "out_of_range"
COMPENSATION = "compensation"

SAFETY_KINDS = frozenset({TOO_FAST, JERK, OUT_OF_RANGE, COMPENSATION})
FORM_KINDS = frozenset({ALMOST, PARTIAL, HOLD_BROKEN, WRONG_SIDE, RUSHED})
QUALITY_KINDS = frozenset({FACE_LOST, TOO_FAR, TOO_CLOSE, POOR_LIGHT, TOO_BRIGHT, TWO_FACES, NOT_PATIENT})
CAMERA_CHECK_KINDS = QUALITY_KINDS | frozenset({OFF_CENTRE})
ENCOURAGEMENT_KINDS = frozenset({REP, SET_DONE, EXERCISE_DONE, ROUTINE_DONE})
# Kinds recorded in the session's warnings list.
WARNING_KINDS = SAFETY_KINDS | QUALITY_KINDS | frozenset({WRONG_SIDE, RUSHED, HOLD_BROKEN, GRAINY, NOT_SETTLED})


@dataclass(frozen=True, **SLOTS)
class Event:
    """Something the person should hear/see or the record should keep.

    `magnitude`/`unit` carry the measured quantity (e.g. 140 deg/s for
    too_fast); `rep` is the 1-based index of the rep it belongs to within the
    exercise, None between reps.
    """

    t_s: float
    kind: str
    exercise_id: str | None = None
    rep: int | None = None
    magnitude: float | None = None
    unit: str | None = None
    side: str | None = None
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "t_s": round(float(self.t_s), 4),
            "kind": self.kind,
            "exercise_id": self.exercise_id,
            "rep": self.rep,
            "magnitude": None if self.magnitude is None else round(float(self.magnitude), 3),
            "unit": self.unit,
            "side": self.side,
            "message": self.message,
        }
        if self.data:
            d["data"] = dict(self.data)
        return d
