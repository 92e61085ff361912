"""What a patient doing a routine at its tempo looks like, as a MotionScript.

Why: end-to-end tests and demos need a virtual patient that follows a real
routine (targets, tempo, holds, rests) and can make the classic mistakes on
purpose, with every rep boundary and mistake labelled in the truth.

Timing of one rep (tempo_s is the whole out-hold-back cycle): out and back
each take (tempo_s - hold_s) / 2 with a minimum-jerk profile (at least
0.4 s), then the head settles at neutral for SETTLE_S before the next rep.
Direction order follows ``exercise.directions()``: `both` does all reps to
one side then all to the other; two-direction exercises otherwise alternate
rep by rep.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from neckcoach.sim.motion import MotionScript, ScriptBuilder

MISTAKES = ("too_fast", "jerky", "short", "skipped_hold", "wrong_side")
NEUTRAL_S = 3.0
SETTLE_S = 0.5
BETWEEN_EXERCISES_S = 2.0
MIN_MOVE_S = 0.4
TOO_FAST_FACTOR = 3.0
SHORT_FRACTION = 0.6
FLICK_DEG = 15.0
FLICK_MM = 8.0
FLICK_S = 0.2


def _rep_plan(exercise, max_reps: int | None) -> list[str]:
    """Directions of one set's reps in order (max_reps caps each side for `both`)."""
    dirs = exercise.directions()
    sides = getattr(exercise, "resolved_sides", None) or getattr(exercise, "sides", "none")
    if sides == "both" and len(dirs) == 2:
        n = exercise.reps if max_reps is None else min(exercise.reps, max_reps)
        return [dirs[0]] * n + [dirs[1]] * n
    plan = [dirs[i % len(dirs)] for i in range(exercise.reps)]
    return plan if max_reps is None else plan[:max_reps]


def script_for_routine(
    routine,
    *,
    seed: int = 0,
    mistakes: Iterable[str] = (),
    max_reps_per_exercise: int | None = None,
    max_sets: int | None = None,
    max_rest_s: float | None = None,
    neutral_s: float = NEUTRAL_S,
    sway_deg: float = 0.1,
    lead_in_s: float = 0.0,
    between_exercises_s: float = BETWEEN_EXERCISES_S,
) -> MotionScript:
    """The routine performed by a virtual patient, mistakes included.

    Each requested mistake happens once, on a rep picked from the seed:
    too_fast (that rep at >= 3x speed and >= 1.5x the speed limit), jerky (a 15 deg / 200 ms flick, 8 mm
    for retraction, mid-movement), short (stops at 60 % of target),
    skipped_hold (no hold), wrong_side (goes the other way; needs a rep
    with a two-sided direction). Like a patient following the coach, a
    wrong-side rep is redone at once and a short or hold-skipped rep (not
    counted) is made up at the end of its set. max_rest_s shortens rests for quick clips.
    lead_in_s is how long the patient waits, still, at the start of each set
    (a real patient waits for the coach's count-in); between_exercises_s is
    the pause while the next exercise is announced.
    """
    mistakes = tuple(mistakes)
    for m in mistakes:
        if m not in MISTAKES:
            raise ValueError(f"mistakes must be among {MISTAKES}, got {m!r}")
    for name, value in (("lead_in_s", lead_in_s), ("between_exercises_s", between_exercises_s)):
        if not 0 <= value <= 120:
            raise ValueError(f"{name} must be in [0, 120] s, got {value!r}")
    if neutral_s < 3.0:
        raise ValueError(f"neutral_s must be >= 3.0 (calibration needs stillness), got {neutral_s!r}")
    for name, value in (("max_reps_per_exercise", max_reps_per_exercise), ("max_sets", max_sets)):
        if value is not None and value < 1:
            raise ValueError(f"{name} must be >= 1 or None, got {value!r}")
    rng = np.random.default_rng(seed)

    reps: list[tuple[int, int, int, str]] = []  # (exercise, set, rep, direction)
    for ei, ex in enumerate(routine.exercises):
        n_sets = ex.sets if max_sets is None else min(ex.sets, max_sets)
        for si in range(n_sets):
            for ri, d in enumerate(_rep_plan(ex, max_reps_per_exercise)):
                reps.append((ei, si, ri, d))
    assigned: dict[tuple[int, int, int], str] = {}
    for m in mistakes:
        free = [r for r in reps if r[:3] not in assigned]
        if m == "wrong_side":
            free = [r for r in free if r[3] in ("left", "right")]
        if not free:
            raise ValueError(f"mistake {m!r} cannot be placed: no suitable rep in this routine")
        pick = free[int(rng.integers(len(free)))]
        assigned[pick[:3]] = m

    b = ScriptBuilder()
    b.event("neutral_start")
    b.hold(neutral_s)
    b.event("neutral_end")
    for ei, ex in enumerate(routine.exercises):
        axis = ex.axis
        n_sets = ex.sets if max_sets is None else min(ex.sets, max_sets)
        b.event("exercise_start", axis, exercise=ex.id)
        for si in range(n_sets):
            if si > 0:
                rest = ex.rest_s if max_rest_s is None else min(ex.rest_s, max_rest_s)
                b.event("rest_start", axis, exercise=ex.id, rest_s=rest)
                b.hold(rest)
            b.hold(lead_in_s)
            b.event("set_start", axis, exercise=ex.id, set=si + 1)
            plan = _rep_plan(ex, max_reps_per_exercise)
            make_up: list[str] = []
            for ri, direction in enumerate(plan):
                mistake = assigned.get((ei, si, ri))
                _rep(b, ex, routine, axis, direction, si, ri, mistake)
                if mistake == "wrong_side":  # "the other side, please": redone at once
                    _rep(b, ex, routine, axis, direction, si, ri, None, make_up=True)
                elif mistake in ("short", "skipped_hold"):  # not counted: one more at the end of the set
                    make_up.append(direction)
            for direction in make_up:
                _rep(b, ex, routine, axis, direction, si, len(plan), None, make_up=True)
            b.event("set_end", axis, exercise=ex.id, set=si + 1)
        b.event("exercise_end", axis, exercise=ex.id)
        b.hold(between_exercises_s)
    return b.build(seed=seed, sway_deg=sway_deg)


def _rep(b: ScriptBuilder, ex, routine, axis: str, direction: str, si: int, ri: int,
         mistake: str | None, make_up: bool = False) -> None:
    ranges = getattr(routine, "ranges", None)
    target = ex.target_value(direction, ranges)
    moved = direction
    if mistake == "wrong_side":
        moved = {"left": "right", "right": "left"}[direction]
    amount = target * (SHORT_FRACTION if mistake == "short" else 1.0)
    value = ex.sign(moved) * amount
    hold = 0.0 if mistake == "skipped_hold" else ex.hold_s
    move_s = max(MIN_MOVE_S, (ex.tempo_s - ex.hold_s) / 2)
    if mistake == "too_fast":
        # At least 3x quicker, and clearly over the exercise's own speed limit.
        limit = getattr(ex, "speed_limit", None) or ex.max_speed_deg_s
        over_limit_s = 1.875 * amount / (1.5 * limit)
        move_s = max(0.15, min(move_s / TOO_FAST_FACTOR, over_limit_s))
    tag = {"exercise": ex.id, "set": si + 1, "rep": ri + 1, "target": target}
    if make_up:
        tag["make_up"] = True
    if mistake:
        b.event("mistake", axis, direction, mistake=mistake, **tag)
    b.event("rep_start", axis, direction, moved=moved, **tag)
    if mistake == "jerky":
        flick = FLICK_MM if axis == "retraction" else FLICK_DEG
        b.flick(axis, ex.sign(moved) * flick, FLICK_S, at_s=b.t_s + 0.4 * move_s, exercise=ex.id,
                rep=ri + 1)
    b.move(axis, value, move_s)
    b.event("at_target", axis, direction, value=value, **tag)
    b.hold(hold)
    b.event("release", axis, direction, **tag)
    b.move(axis, 0.0, move_s)
    b.event("rep_end", axis, direction, **tag)
    b.hold(SETTLE_S)
