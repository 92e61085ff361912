"""Reviewing a recording judges the movements made while exercising, not a conversation (issue #16).

A recording made without the coach holds whatever the person did in front of
the camera. Quick movements of someone talking are as sudden as the flick the
safety monitor must catch during an exercise, so the review keeps safety
warnings to the stretches where the person was exercising (see
`neckcoach.core.review`) and lists the rest apart. Synthetic head poses
(tests/review_support.py), so each test runs in well under a second of
kinematics work.
"""

from __future__ import annotations

import pytest

from neckcoach.app.review import ReviewResult, review_poses
from neckcoach.cli.cmd_review import _problem_lines
from neckcoach.core import events as ev
from neckcoach.core.review import exercising_spans
from neckcoach.routine import load_routine
from neckcoach.sim.motion import ScriptBuilder
from neckcoach.sim.scripted import script_for_routine
from tests.conftest import ROUTINES
from tests.review_support import live_and_review_warnings, poses_from_script, shifted

ALL = {"exercising_only": False}  # the review before the rule: every movement judged


def rotation(reps: int = 3):
    r = load_routine(ROUTINES / "rotation.yaml")
    return r.model_copy(update={"exercises": [r.exercises[0].model_copy(update={"reps": reps})]})


def talking(seed: int = 0):
    """A person in conversation: quick glances and nods (as on the real clips), no exercise."""
    b = ScriptBuilder().hold(3.0)
    for axis, to, out_s, stay_s in (("yaw", 14.0, 0.3, 1.5), ("pitch", 10.0, 0.25, 0.4), ("yaw", -12.0, 0.3, 2.0),
                                    ("roll", 8.0, 0.4, 1.0), ("yaw", 16.0, 0.3, 0.8)):
        b.move(axis, to, out_s).hold(stay_s).move(axis, 0.0, 0.6).hold(2.0)
    return b.build(seed=seed, sway_deg=0.1)


def safety(session):
    return [w for w in session["warnings"] if w["kind"] in ev.SAFETY_KINDS]


def test_quick_movements_while_talking_are_listed_not_warned():
    poses = poses_from_script(talking(), seed=61)
    _, _, _, before, _ = review_poses(rotation(), poses, coach_options=ALL)
    choice, _, events, session, _ = review_poses(rotation(), poses)
    assert choice.found
    judged = safety(before)
    assert judged, "the glances must be quick enough for the monitor (or the test shows nothing)"
    assert safety(session) == [] and not [e for e in events if e.kind in ev.SAFETY_KINDS]
    outside = session["quick_movements_outside_exercises"]
    assert [(m["kind"], m["axis"]) for m in outside] == [(w["kind"], w["data"]["axis"]) for w in judged]
    assert [m["t_s"] for m in outside] == pytest.approx([w["t_s"] for w in judged], abs=1e-3)
    assert sum(e["reps_completed"] for e in session["exercises"]) == 0


def test_the_summary_names_the_movements_outside_the_exercises():
    r = rotation()
    choice, kins, events, session, outcome = review_poses(r, poses_from_script(talking(), seed=61))
    result = ReviewResult(ended_reason="recording ended", frames=len(kins), session=session, outcome=outcome,
                          neutral=choice, events=events)
    times = ", ".join(f"{m['t_s']:.1f}" for m in session["quick_movements_outside_exercises"])
    assert _problem_lines(result)[1] == (
        "quick head movements outside the exercises (not judged as exercise movements): "
        f"{len(session['quick_movements_outside_exercises'])}, at {times} s")


def test_a_flick_on_the_first_attempt_is_warned_when_the_live_coach_warns_it():
    """The run of attempts is judged from its first one, before any rep was complete."""
    r = rotation()
    script = shifted(script_for_routine(r, seed=11, mistakes=("jerky",), lead_in_s=5.0), 0.0)
    (flick,) = script.flicks
    first_end = min(e.t_s for e in script.events if e.kind == "rep_end")
    assert flick.onset_s < first_end, "the flick must be on the first attempt"
    live_warnings, review_warnings, session = live_and_review_warnings(r, poses_from_script(script, seed=62))
    assert live_warnings and review_warnings
    assert abs(min(e.t_s for e in review_warnings) - min(e.t_s for e in live_warnings)) <= 0.05
    assert session["quick_movements_outside_exercises"] == []


def short_of_target(attempts: int, flick_on: int | None):
    """A patient who turns to 70 % of the target and holds there as prescribed, every time."""
    ex = rotation().exercises[0]
    reach, move_s = 0.7 * ex.target_value("left"), (ex.tempo_s - ex.hold_s) / 2
    b = ScriptBuilder().hold(3.0)
    for i in range(attempts):
        side = ex.sign("left" if i % 2 == 0 else "right")
        if i == flick_on:
            b.flick("yaw", side * 16.0, 0.2, at_s=b.t_s + 0.4 * move_s)
        b.move("yaw", side * reach, move_s).hold(ex.hold_s).move("yaw", 0.0, move_s).hold(1.0)
    return b.build(seed=5, sway_deg=0.1)


def test_a_patient_who_stops_short_but_holds_is_still_judged():
    script = short_of_target(3, flick_on=1)
    poses = poses_from_script(script, seed=63)
    _, _, _, before, _ = review_poses(rotation(), poses, coach_options=ALL)
    _, _, _, session, _ = review_poses(rotation(), poses)
    assert sum(e["reps_completed"] for e in session["exercises"]) == 0
    assert safety(before) and safety(session) == safety(before)
    assert min(w["t_s"] for w in safety(session)) - script.flicks[0].onset_s <= 0.3


def test_one_held_turn_alone_is_not_yet_an_exercise():
    """One head turn held for a while (someone looking aside while listening) does not open a stretch."""
    script = short_of_target(1, flick_on=0)
    _, _, _, session, _ = review_poses(rotation(), poses_from_script(script, seed=64))
    assert safety(session) == []
    assert session["quick_movements_outside_exercises"]


@pytest.mark.parametrize("attempts, spans", [
    ([(10, 15, False, False), (17, 22, True, False)], [(3, 29)]),  # a complete rep opens the run
    ([(10, 15, False, True), (17, 22, False, True)], [(3, 29)]),  # two held attempts do too
    ([(10, 15, False, True), (17, 22, False, False)], []),  # one held attempt does not
    ([(10, 15, False, False), (40, 45, True, False)], [(33, 52)]),  # a long pause ends the run
    ([], []),
])
def test_exercising_spans(attempts, spans):
    assert exercising_spans([(7.0, attempts)]) == spans


def test_a_flick_in_a_rest_between_two_exercising_runs_is_warned():
    """The rests inside the routine are judged, as the live coach judges them."""
    ex = rotation().exercises[0]
    reach, move_s = 0.7 * ex.target_value("left"), (ex.tempo_s - ex.hold_s) / 2
    b = ScriptBuilder().hold(3.0)
    for block in range(2):
        for i in range(2):
            side = ex.sign("left" if i == 0 else "right")
            b.move("yaw", side * reach, move_s).hold(ex.hold_s).move("yaw", 0.0, move_s).hold(1.0)
        if block == 0:
            b.hold(15.0).flick("pitch", 16.0, 0.2).hold(15.0)
    script = b.build(seed=6, sway_deg=0.1)
    _, _, _, session, _ = review_poses(rotation(), poses_from_script(script, seed=65))
    assert [w["data"]["axis"] for w in safety(session)] == ["pitch"]
    assert 0 <= safety(session)[0]["t_s"] - script.flicks[0].onset_s <= 0.3
    assert session["quick_movements_outside_exercises"] == []
