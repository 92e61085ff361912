"""Patients drawn from a seed: each with their own pace, reach, hesitations and reflexes.

Why: a coach tuned on one virtual patient who moves exactly at the prescribed
tempo with textbook minimum-jerk reps is right only for that patient. Real
patients move at 0.5-2x whatever tempo was prescribed, reach 70-130 % of the
target, hesitate or stop half-way, breathe, shake a little, slowly slump,
react to "go" after 0.3-2 s and sometimes start before it. `PatientTraits`
holds one such person; `PatientTraits.random(rng)` draws one. What a patient
does is decided by `neckcoach.sim.patient.VirtualPatient` from the routine,
these traits and what it hears the coach say, never from the coach's state.

Ranges and the reasons behind them:
- pace 0.5-2x (log-uniform, so as many patients are twice as slow as twice
  as fast): the spread of self-selected speed around a prescription named in
  issue #15; rep-to-rep variation 3-12 %.
- amplitude 0.7-1.3 of the target, rep-to-rep 2-6 %.
- hesitations (the movement slows to ~20-50 % of its speed and goes on) in
  0-30 % of movements, full stops of 0.3-1.2 s in 0-12 %, at most one of
  either per movement. A hesitant movement is made of slower sub-movements
  (each lasts sqrt(share) of the whole), so it is no more abrupt than the
  patient's own pace.
- breathing sway 0.2-0.8 deg at 12-20 breaths a minute (0.2-0.33 Hz), mostly
  in pitch; tremor 0.3-1.0 deg peak to peak at 3-7 Hz; neutral drift up to
  1.5 deg a minute (slumping, or turning slowly towards something).
- reaction to a cue 0.3-2 s; 20 % start before "go" (on the last count,
  0.1-0.8 s early).
- hold: 60 % wait for "and slowly back", the others count the hold
  themselves (1.1-1.5x the prescribed hold).
- 85 % follow "almost" / "not quite far enough" / "slower" cues.
- cross-talk: a turn or a bend carries 0-8 % of itself on the other angles.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

MISTAKE_KINDS = ("flick", "too_fast", "short", "wrong_side")
FLICK_CONTEXTS = ("rest", "out", "hold", "back")
ANGULAR = ("yaw", "pitch", "roll")


@dataclass(frozen=True)
class PatientTraits:
    """One person's habits, fixed for a session."""

    pace: float = 1.0
    pace_sd: float = 0.0
    amplitude: float = 1.08
    amplitude_sd: float = 0.0
    hesitation_p: float = 0.0
    pause_p: float = 0.0
    waits_for_release: bool = True
    hold_factor: float = 1.2
    gap_s: float = 0.8
    reaction_s: float = 0.6
    early_s: float = 0.0
    responsive: bool = True
    sway_deg: float = 0.3
    breath_hz: float = 0.25
    tremor_deg: float = 0.0
    tremor_hz: float = 5.0
    drift_deg_min: float = 0.0
    cross_talk: float = 0.03

    def __post_init__(self) -> None:
        for name, lo, hi in (("pace", 0.2, 5.0), ("pace_sd", 0.0, 0.5), ("amplitude", 0.3, 2.0),
                             ("amplitude_sd", 0.0, 0.3), ("hesitation_p", 0.0, 1.0), ("pause_p", 0.0, 1.0),
                             ("hold_factor", 0.1, 5.0), ("gap_s", 0.0, 10.0), ("reaction_s", 0.0, 5.0),
                             ("early_s", 0.0, 3.0), ("sway_deg", 0.0, 3.0), ("breath_hz", 0.05, 1.0),
                             ("tremor_deg", 0.0, 3.0), ("tremor_hz", 1.0, 15.0), ("drift_deg_min", 0.0, 10.0),
                             ("cross_talk", 0.0, 0.3)):
            value = getattr(self, name)
            if not lo <= value <= hi:
                raise ValueError(f"{name} must be in [{lo}, {hi}], got {value!r}")

    @classmethod
    def random(cls, rng: np.random.Generator) -> "PatientTraits":
        """A patient drawn from the ranges in the module docstring."""
        return cls(
            pace=float(math.exp(rng.uniform(math.log(0.5), math.log(2.0)))),
            pace_sd=float(rng.uniform(0.03, 0.12)),
            amplitude=float(rng.uniform(0.7, 1.3)),
            amplitude_sd=float(rng.uniform(0.02, 0.06)),
            hesitation_p=float(rng.uniform(0.0, 0.3)),
            pause_p=float(rng.uniform(0.0, 0.12)),
            waits_for_release=bool(rng.random() < 0.6),
            hold_factor=float(rng.uniform(1.1, 1.5)),
            gap_s=float(rng.uniform(0.3, 2.0)),
            reaction_s=float(rng.uniform(0.3, 2.0)),
            early_s=float(rng.uniform(0.1, 0.8)) if rng.random() < 0.2 else 0.0,
            responsive=bool(rng.random() < 0.85),
            sway_deg=float(rng.uniform(0.2, 0.8)),
            breath_hz=float(rng.uniform(0.2, 0.33)),
            tremor_deg=float(rng.uniform(0.3, 1.0)),
            tremor_hz=float(rng.uniform(3.0, 7.0)),
            drift_deg_min=float(rng.uniform(0.0, 1.5)),
            cross_talk=float(rng.uniform(0.0, 0.08)),
        )

    def to_dict(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Mistake:
    """One injected mistake on the `attempt`-th rep (0-based, counting every rep
    the patient starts in that exercise).

    flick: `axis` moves `amplitude` (deg, or mm for retraction) in
    `duration_s`, as a `shape` "step" (then eased back over `return_s`) or a
    "bump" (out and back within `duration_s`), during the rep's `context`
    (rest before it, out, hold or back) at `phase` (0-1) of that part.
    too_fast: the rep's movements peak at `speed_factor` x the exercise's limit.
    short: the rep stops at `reach` of the target. wrong_side: the rep goes
    the other way.
    """

    kind: str
    exercise_index: int
    attempt: int
    axis: str | None = None
    amplitude: float = 0.0
    duration_s: float = 0.2
    shape: str = "step"
    context: str = "out"
    phase: float = 0.5
    return_s: float = 0.8
    speed_factor: float = 1.6
    reach: float = 0.6

    def __post_init__(self) -> None:
        if self.kind not in MISTAKE_KINDS:
            raise ValueError(f"kind must be one of {MISTAKE_KINDS}, got {self.kind!r}")
        if self.kind == "flick":
            if self.axis not in ANGULAR + ("retraction",):
                raise ValueError(f"a flick needs an axis among yaw, pitch, roll, retraction, got {self.axis!r}")
            if self.context not in FLICK_CONTEXTS:
                raise ValueError(f"context must be one of {FLICK_CONTEXTS}, got {self.context!r}")
            if self.shape not in ("step", "bump"):
                raise ValueError(f"shape must be step or bump, got {self.shape!r}")
            if not 0.05 <= self.duration_s <= 1.0:
                raise ValueError(f"duration_s must be in [0.05, 1.0], got {self.duration_s!r}")
        if not 0.0 <= self.phase <= 1.0:
            raise ValueError(f"phase must be in [0, 1], got {self.phase!r}")

    def to_dict(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def draw_flick(rng: np.random.Generator, exercise_index: int, attempt: int, exercise_axis: str,
               on_own_axis: bool) -> Mistake:
    """A flick of the size the coach must catch: 15-20 deg in 0.15-0.25 s (a chin tuck's own
    axis: a 12-18 mm jolt), on the exercise's axis or on another, at rest or mid-rep."""
    if on_own_axis:
        axis = exercise_axis
    else:
        axis = str(rng.choice([a for a in ANGULAR if a != exercise_axis]))
    mm = axis == "retraction"
    amp = float(rng.uniform(12.0, 18.0) if mm else rng.uniform(15.0, 20.0))
    return Mistake("flick", exercise_index, attempt, axis=axis, amplitude=amp * float(rng.choice([-1.0, 1.0])),
                   duration_s=float(rng.uniform(0.15, 0.25)), shape=str(rng.choice(["step", "bump"])),
                   context=str(rng.choice(FLICK_CONTEXTS)), phase=float(rng.uniform(0.2, 0.7)),
                   return_s=float(rng.uniform(0.6, 1.5)))


def draw_mistakes(routine, rng: np.random.Generator, kinds, *, reps_per_exercise: int) -> list[Mistake]:
    """One mistake of each kind in `kinds`, each on a different (exercise, attempt) drawn from the seed.

    Attempts are placed among the first `reps_per_exercise` reps of the
    exercise (not the first one when there are more, so the patient has
    settled); wrong_side only on an exercise with two directions.
    """
    taken: set[tuple[int, int]] = set()
    out = []
    for kind in kinds:
        if kind not in MISTAKE_KINDS + ("flick_own", "flick_other"):
            raise ValueError(f"mistake kinds must be among {MISTAKE_KINDS + ('flick_own', 'flick_other')}, got {kind!r}")
        options = []
        for ei, ex in enumerate(routine.exercises):
            if kind == "wrong_side" and len(ex.directions()) < 2:
                continue
            for attempt in range(0 if reps_per_exercise <= 1 else 1, max(1, reps_per_exercise)):
                if (ei, attempt) not in taken:
                    options.append((ei, attempt))
        if not options:
            raise ValueError(f"mistake {kind!r} cannot be placed in this routine")
        ei, attempt = options[int(rng.integers(len(options)))]
        taken.add((ei, attempt))
        ex = routine.exercises[ei]
        if kind.startswith("flick"):
            own = {"flick_own": True, "flick_other": False}.get(kind, bool(rng.random() < 0.5))
            out.append(draw_flick(rng, ei, attempt, ex.axis, own))
        elif kind == "too_fast":
            out.append(Mistake("too_fast", ei, attempt, speed_factor=float(rng.uniform(1.5, 2.0))))
        elif kind == "short":
            out.append(Mistake("short", ei, attempt, reach=float(rng.uniform(0.45, 0.65))))
        else:
            out.append(Mistake("wrong_side", ei, attempt))
    return out
