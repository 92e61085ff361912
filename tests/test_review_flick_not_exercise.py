"""A flick is not an attempt at the next exercise: the review does not move on because of one.

The review recognises that the patient has moved on to a later exercise when
that exercise's movement starts (`neckcoach.core.review`). A roll flick -- a
quick 15-20 deg jerk of the head sideways -- looks, on the roll axis, like the
start of a side bend that stopped short; the counter marks such an attempt
"sudden" (it jolted and never reached the target), and a therapist would not
say the patient went on to side bends because their head jerked once. Seed
400043 of benchmarks/review_population.py: a roll flick in the rest before the
turns made the review skip the turns and file the jerk under two exercises.
Synthetic head poses (tests/review_support.py), no rendering.
"""

from __future__ import annotations

import pytest

from neckcoach.app.review import review_poses
from neckcoach.core import events as ev
from neckcoach.routine import load_routine
from neckcoach.sim.motion import ScriptBuilder
from tests.conftest import ROUTINES
from tests.review_support import poses_from_script


def turns_then_side_bends():
    """The headache programme's head turns then side bends, one rep to each side."""
    r = load_routine(ROUTINES / "headache_programme.yaml")
    turns, bends = (next(ex for ex in r.exercises if ex.id == i) for i in ("rotation", "side-bend"))
    return r.model_copy(update={"exercises": [turns.model_copy(update={"reps": 2}),
                                              bends.model_copy(update={"reps": 2})]})


def flick_in_the_rest_before_the_turns():
    """Still, a roll flick as seed 400043's (-19.6 deg in 0.22 s), rest, two turns, two side bends."""
    b = ScriptBuilder().hold(4.0)
    b.flick("roll", -19.6, 0.22, return_s=1.0).hold(4.0)
    for yaw in (55.0, -55.0):
        b.move("yaw", yaw, 1.5).hold(2.6).move("yaw", 0.0, 1.5).hold(2.0)
    for roll in (30.0, -30.0):
        b.move("roll", roll, 1.5).hold(3.6).move("roll", 0.0, 1.5).hold(2.0)
    return b.hold(1.0).build(seed=3, sway_deg=0.1)


@pytest.mark.parametrize("exercising_only", [True, False])
def test_a_roll_flick_before_the_turns_is_not_the_start_of_the_side_bends(exercising_only):
    script = flick_in_the_rest_before_the_turns()
    (flick,) = script.flicks
    choice, _, _, session, _ = review_poses(turns_then_side_bends(), poses_from_script(script, seed=5),
                                            coach_options={"exercising_only": exercising_only})
    assert choice.found
    turns, bends = session["exercises"]
    assert turns["seen"] and turns["reps_completed"] == 2
    assert bends["reps_completed"] == 2
    assert turns["end_t_s"] > flick.onset_s + 8.0, "the turns exercise runs until the side bends start"
    # The jerk is warned, once, under the exercise being done when it happened.
    jolts = [w for w in session["warnings"] + session.get("quick_movements_outside_exercises", [])
             if w["kind"] in (ev.JERK, ev.TOO_FAST) and flick.onset_s - 0.1 <= w["t_s"] <= flick.onset_s + 1.5]
    assert jolts, "the flick must be quick enough for the monitor (or the test shows nothing)"
    # Once per kind: the flick may be both a jolt and faster than the side bend's 60 deg/s limit.
    assert len({(w["kind"], round(w["t_s"], 3)) for w in jolts}) == len(jolts), f"a jolt recorded twice: {jolts}"
    assert [w["kind"] for w in jolts].count(ev.JERK) <= 1
    assert {w["exercise_id"] for w in jolts} == {"rotation"}


def side_bend_that_sets_off_with_a_jerk():
    """Two turns, then side bends whose first one sets off with a roll jerk (as seed 300089's)."""
    b = ScriptBuilder().hold(4.0)
    for yaw in (55.0, -55.0):
        b.move("yaw", yaw, 1.5).hold(2.6).move("yaw", 0.0, 1.5).hold(2.0)
    b.flick("roll", 12.0, 0.2, return_s=0.6)
    for roll in (30.0, -30.0):
        b.move("roll", roll, 1.5).hold(3.6).move("roll", 0.0, 1.5).hold(2.0)
    return b.hold(1.0).build(seed=4, sway_deg=0.1)


def test_a_jerk_as_the_next_exercise_sets_off_is_recorded_once_under_it():
    """The current exercise's monitor sees the jerk before the side bend is recognised; it is kept once."""
    script = side_bend_that_sets_off_with_a_jerk()
    (flick,) = script.flicks
    _, _, _, session, _ = review_poses(turns_then_side_bends(), poses_from_script(script, seed=6))
    turns, bends = session["exercises"]
    assert turns["reps_completed"] == 2 and bends["reps_completed"] == 2
    jolts = [w for w in session["warnings"]
             if w["kind"] in (ev.JERK, ev.TOO_FAST) and flick.onset_s - 0.1 <= w["t_s"] <= flick.onset_s + 1.0]
    assert jolts, "the jerk must be quick enough for the monitor (or the test shows nothing)"
    # Once per kind: the flick may be both a jolt and faster than the side bend's 60 deg/s limit.
    assert len({(w["kind"], round(w["t_s"], 3)) for w in jolts}) == len(jolts), f"a jolt recorded twice: {jolts}"
    assert [w["kind"] for w in jolts].count(ev.JERK) <= 1
    assert {w["exercise_id"] for w in jolts} == {"side-bend"}
