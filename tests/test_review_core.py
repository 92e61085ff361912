"""Reviewing a recording after the detector: the neutral search, the counting without a timeline, the outcome.

Poses come from virtual patients recording themselves (tests/review_support.py)
as the head-pose estimator would report them (an off-axis neutral, noise,
uneven frame times), so everything after MediaPipe runs here in milliseconds.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from neckcoach.app.review import review_poses
from neckcoach.core import events as ev
from neckcoach.core.neutral_search import NeutralSearch
from neckcoach.core.outcome import EXIT_NO_NEUTRAL, EXIT_NO_REPS, explain
from neckcoach.core.review import ReviewCoach, review_kinematics
from neckcoach.core.samples import HeadPose
from neckcoach.routine import load_routine
from neckcoach.sim.motion import MotionScript, Segment
from neckcoach.sim.scripted import script_for_routine
from tests.conftest import ROUTINES
from tests.review_support import (counted_by_side, expected_by_side, home_script, live_and_review_warnings,
                                  poses_from_script, restless_script, shifted)

BUNDLED = ("rotation", "side_bend", "flexion_extension", "retraction", "chin_nod", "headache_programme")


def routine(name: str):
    return load_routine(ROUTINES / f"{name}.yaml")


def _by_side(d):
    return {k: dict(v) for k, v in d.items() if v}


# ----------------------------------------------------------------------------- exact counts
@pytest.mark.parametrize("pace", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_routine_counted_exactly_by_side_after_a_1_s_still_start(name, pace):
    r = routine(name)
    script = home_script(r, still_s=1.0, pace=pace, seed=21, max_reps=3)
    choice, _, events, session, outcome = review_poses(r, poses_from_script(script, seed=22))
    assert choice.found and choice.start_t_s == 0.0, choice
    n = choice.neutral  # the rest pose poses_from_script puts the head in
    assert max(abs(n.yaw_deg - 3.0), abs(n.pitch_deg + 4.0), abs(n.roll_deg - 1.0)) < 0.5, n
    assert abs(n.position_mm[2] - 600.0) < 1.0, n
    assert _by_side(counted_by_side(session)) == _by_side(expected_by_side(script))
    assert [e.t_s for e in events] == sorted(e.t_s for e in events)
    safety = [w for w in session["warnings"] if w["kind"] in ev.SAFETY_KINDS]
    assert safety == []
    assert outcome.code == "counted" and outcome.exit_code == 0
    assert [e["id"] for e in session["exercises"]] == [ex.id for ex in r.exercises]
    assert all(e["seen"] for e in session["exercises"])


def test_each_exercise_starts_where_its_movement_starts():
    r = routine("headache_programme")
    script = home_script(r, still_s=1.0, seed=23, max_reps=2)
    _, _, _, session, _ = review_poses(r, poses_from_script(script, seed=24))
    first_rep = {}
    for e in script.events:
        if e.kind == "rep_start":
            first_rep.setdefault(e.detail["exercise"], e.t_s)
    for ex in session["exercises"][1:]:
        # From the moment the head leaves neutral: at most the start threshold's share of the way out.
        assert first_rep[ex["id"]] <= ex["start_t_s"] <= first_rep[ex["id"]] + 1.0, ex["id"]
    ends = [ex["end_t_s"] for ex in session["exercises"][:-1]]
    assert ends == [ex["start_t_s"] for ex in session["exercises"][1:]]


def test_a_skipped_exercise_is_recorded_as_not_seen_and_the_rest_is_counted():
    r = routine("headache_programme")
    without_tuck = r.model_copy(update={"exercises": [ex for ex in r.exercises if ex.id != "chin-tuck"]})
    script = home_script(without_tuck, still_s=1.0, seed=25, max_reps=2)
    _, _, _, session, outcome = review_poses(r, poses_from_script(script, seed=26))
    tuck = next(ex for ex in session["exercises"] if ex["id"] == "chin-tuck")
    assert tuck["seen"] is False and tuck["reps"] == []
    assert _by_side(counted_by_side(session)) == _by_side(expected_by_side(script))
    assert outcome.code == "counted"


def test_sides_count_in_any_order_and_extra_reps_are_kept():
    r = routine("rotation")
    ex = r.exercises[0]
    segments, t = [], 1.0
    for side in ("left", "left", "right", "right", "left", "right") * 2:  # 12 turns, 10 prescribed
        value = ex.sign(side) * ex.target_value(side)
        segments += [Segment("yaw", t, 2.5, 0.0, value), Segment("yaw", t + 4.5, 2.5, value, 0.0)]
        t += 7.5
    script = MotionScript(segments, duration_s=t + 1.0)
    _, _, _, session, _ = review_poses(r, poses_from_script(script, seed=27))
    assert _by_side(counted_by_side(session)) == {"rotation": {"left": 6, "right": 6}}
    assert session["exercises"][0]["sets_completed"] == 1
    assert not [w for w in session["warnings"] if w["kind"] == ev.WRONG_SIDE]


def test_face_lost_pauses_counting_and_is_reported_with_its_times():
    r = routine("rotation")
    script = home_script(r, still_s=1.0, seed=28, max_reps=4)
    rep_starts = [e.t_s for e in script.events if e.kind == "rep_start"]
    lost = (rep_starts[1] + 1.0, rep_starts[1] + 2.0)  # in the middle of the second turn
    choice, _, _, session, _ = review_poses(r, poses_from_script(script, seed=29, lost=(lost,)))
    (pause,) = session["pauses"]
    assert pause["reason"] == ev.FACE_LOST
    assert lost[0] + 0.4 <= pause["start_t_s"] <= lost[0] + 0.6 and lost[1] + 0.4 <= pause["end_t_s"] <= lost[1] + 0.6
    assert [w["kind"] for w in session["warnings"]] == [ev.FACE_LOST]
    expected = expected_by_side(script)["rotation"]
    counted = counted_by_side(session)["rotation"]
    assert sum(counted.values()) == sum(expected.values()) - 1  # the turn not seen whole is not counted


def test_a_flick_is_warned_when_the_live_coach_warns_it():
    """Same kinematics: the live coach (after its own 2.5 s calibration) and the review warn together."""
    r = routine("rotation").model_copy()
    r = r.model_copy(update={"exercises": [r.exercises[0].model_copy(update={"reps": 3})]})
    script = shifted(script_for_routine(r, seed=30, mistakes=("jerky",), lead_in_s=5.0), 0.0)
    live_warnings, review_warnings, _ = live_and_review_warnings(r, poses_from_script(script, seed=31))
    (flick,) = script.flicks
    assert live_warnings and review_warnings
    assert min(e.t_s for e in live_warnings) >= flick.onset_s
    assert abs(min(e.t_s for e in review_warnings) - min(e.t_s for e in live_warnings)) <= 0.05
    assert {e.kind for e in review_warnings} == {e.kind for e in live_warnings}


def test_events_are_released_in_time_order_and_nothing_is_lost_at_the_end():
    r = routine("headache_programme")
    script = home_script(r, still_s=1.0, seed=32, max_reps=2, pace=2.0)
    poses = poses_from_script(script, seed=33)
    choice, kins, all_events, session, _ = review_poses(r, poses)
    coach = ReviewCoach(r)
    released = []
    for k in kins:
        released.append(coach.update(k))
    tail = coach.finish(kins[-1].t_s)
    flat = [e for batch in released for e in batch] + tail
    assert [e.t_s for e in flat] == sorted(e.t_s for e in flat)
    assert Counter(e.kind for e in flat) == Counter(e.kind for e in all_events)
    with pytest.raises(RuntimeError, match="finished"):
        coach.update(kins[0])


def test_review_kinematics_matches_review_poses():
    r = routine("side_bend")
    script = home_script(r, still_s=1.0, seed=34, max_reps=2)
    _, kins, events, session, _ = review_poses(r, poses_from_script(script, seed=35))
    events2, session2 = review_kinematics(r, kins)
    assert [e.kind for e in events2] == [e.kind for e in events]
    assert counted_by_side(session2) == counted_by_side(session)


@pytest.mark.parametrize("name, value", [("pause_after_s", -1.0), ("prime_s", 11.0)])
def test_review_coach_options_are_checked(name, value):
    with pytest.raises(ValueError, match=name):
        ReviewCoach(routine("rotation"), **{name: value})


# ---------------------------------------------------------------------------- neutral search
def test_the_neutral_is_the_still_start_not_a_chin_nod_hold():
    r = routine("chin_nod")  # 10 s holds at 8 deg: far stiller and longer than the 1 s start
    script = home_script(r, still_s=1.0, seed=36, max_reps=2)
    choice = NeutralSearch().find(poses_from_script(script, seed=37))
    assert choice.found and choice.start_t_s == 0.0
    assert abs(choice.neutral.pitch_deg - (-4.0)) < 0.5  # the head's rest pose, not the hold (+8)


def test_a_camera_below_the_eyes_does_not_make_a_chin_nod_hold_the_neutral():
    """The neutral reads 18 deg up (camera below, tilted up); the holds read 10 deg up, nearer zero."""
    r = routine("chin_nod")
    script = home_script(r, still_s=1.0, seed=45, max_reps=3)
    choice, _, _, session, _ = review_poses(r, poses_from_script(script, seed=46, neutral=(2.0, -18.0, 0.0)))
    assert choice.found and choice.start_t_s == 0.0 and abs(choice.neutral.pitch_deg + 18.0) < 0.5
    assert _by_side(counted_by_side(session)) == _by_side(expected_by_side(script))


def test_chin_tuck_holds_tie_with_the_neutral_and_the_earliest_wins():
    r = routine("retraction")
    script = home_script(r, still_s=1.0, seed=38, max_reps=2)
    choice = NeutralSearch().find(poses_from_script(script, seed=39))
    assert choice.found and choice.start_t_s == 0.0
    assert abs(choice.neutral.position_mm[2] - 600.0) < 1.5  # not 15 mm back


def test_the_neutral_can_be_anywhere_in_the_recording():
    # Turned away while setting up, then 1.2 s facing the screen, then turns.
    segments = [Segment("yaw", 0.0, 0.1, 30.0, 30.0), Segment("yaw", 3.0, 1.0, 30.0, 0.0)]
    segments += [Segment("yaw", 5.2 + 8 * k, 3.0, 0.0, 50.0 * s) for k, s in enumerate((1, -1))]
    segments += [Segment("yaw", 8.2 + 8 * k, 3.0, 50.0 * s, 0.0) for k, s in enumerate((1, -1))]
    script = MotionScript(segments, duration_s=22.0)
    choice = NeutralSearch().find(poses_from_script(script, seed=40))
    # The head is back within a degree of the screen from about 3.7 s (the end of a slow turn back).
    assert choice.found and 3.5 <= choice.start_t_s <= 4.3
    assert abs(choice.neutral.yaw_deg - 3.0) < 0.5
    assert "stillest, most frontal" in choice.reason and f"{choice.start_t_s:.1f}" in choice.reason


def test_a_patient_who_never_holds_still_gets_no_neutral_and_is_told_why():
    r = routine("rotation")
    choice, _, events, session, outcome = review_poses(r, poses_from_script(restless_script(20.0), seed=41))
    assert not choice.found
    # Nothing is counted, but 80 deg swings in 1.5 s (100 deg/s) are still judged too fast; each
    # swing is minimum-jerk from rest to rest, so nothing in it is sudden (no jerk warning).
    assert {e.kind for e in events} == {ev.TOO_FAST}
    assert {w["kind"] for w in session["warnings"]} == {ev.TOO_FAST}
    assert session["exercises"] == [] and session["end_t_s"] == pytest.approx(20.0, abs=0.1)
    assert outcome.exit_code == EXIT_NO_NEUTRAL
    assert outcome.message.startswith("I never saw you hold still facing the screen for 0.8 s, "
                                      "so I could not start counting. (You were moving all the time")


def test_without_a_neutral_a_slow_patient_gets_no_warning_and_picture_problems_are_still_reported():
    slow = MotionScript([Segment("yaw", 2.0 * k, 2.0, 30.0 * (-1) ** k, 30.0 * (-1) ** (k + 1))
                         for k in range(10)], duration_s=20.0)  # 60 deg in 2 s: 56 deg/s at most
    poses = poses_from_script(slow, seed=47, lost=((8.0, 10.0),))
    choice, _, events, session, outcome = review_poses(routine("rotation"), poses)
    assert not choice.found and outcome.exit_code == EXIT_NO_NEUTRAL
    assert [w["kind"] for w in session["warnings"]] == [ev.FACE_LOST]
    assert [p["reason"] for p in session["pauses"]] == [ev.FACE_LOST]


def test_still_but_turned_away_is_named():
    script = MotionScript([Segment("yaw", 0.0, 0.5, 0.0, -25.0)], duration_s=5.0)
    choice = NeutralSearch().find(poses_from_script(script, seed=42, neutral=(0.0, 0.0, 0.0)))
    assert not choice.found
    assert choice.reason.endswith("your head was turned 25 deg to your right")


def test_no_face_at_all():
    poses = [HeadPose.empty(i / 30) for i in range(90)]
    choice = NeutralSearch().find(poses)
    assert not choice.found and choice.reason == "I could not see your face in the recording"
    assert NeutralSearch().find([]).reason == "the recording has no frames"


def test_a_given_stretch_is_checked_by_the_same_rules():
    r = routine("rotation")
    script = home_script(r, still_s=2.5, seed=43, max_reps=2)
    poses = poses_from_script(script, seed=44)
    ok = NeutralSearch().given(poses, 0.5, 2.0)
    assert ok.found and ok.how == "given" and ok.to_dict()["start_t_s"] == 0.5
    moving = NeutralSearch().given(poses, 3.0, 5.0)
    assert not moving.found and "head moved" in moving.reason


@pytest.mark.parametrize("kw, match", [({"min_duration_s": 0.1}, "min_duration_s"),
                                       ({"max_duration_s": 0.5}, "max_duration_s"),
                                       ({"frontal_tolerance_deg": -1}, "frontal_tolerance_deg")])
def test_neutral_search_options_are_checked(kw, match):
    with pytest.raises(ValueError, match=match):
        NeutralSearch(**kw)


# ---------------------------------------------------------------------------------- outcome
def _session(reps=(), exercises=1, pauses=(), span=(0.0, 60.0)):
    ex = {"id": "rotation", "movement": "rotation", "unit": "deg", "reps_target": 10,
          "reps_completed": sum(1 for r in reps if r.get("complete")), "reps": list(reps), "seen": True}
    return {"exercises": [ex] * exercises, "pauses": list(pauses), "start_t_s": span[0], "end_t_s": span[1]}


@pytest.mark.parametrize("session, kwargs, code, message", [
    (_session(), {"neutral_found": False, "neutral_detail": "the last try: head moved"}, EXIT_NO_NEUTRAL,
     "I never saw you hold still facing the screen for 2.5 s, so I could not start counting. "
     "(The last try: head moved.)"),
    (_session(exercises=0), {}, EXIT_NO_REPS,
     "The session ended before the first exercise began, so there was nothing to count yet."),
    (_session(exercises=0), {"ended_reason": "quit"}, EXIT_NO_REPS,
     "You ended the session before the first exercise began, so there was nothing to count yet."),
    (_session(), {"counting_started": False}, EXIT_NO_REPS,
     "The session ended before the first exercise began, so there was nothing to count yet."),
    (_session(pauses=[{"start_t_s": 5.0, "end_t_s": 45.0, "reason": "face_lost"}]), {}, EXIT_NO_REPS,
     "I could not count any repetitions: for 40 of 60 s your face was out of view, and I only count what I can see."),
    (_session(reps=[{"complete": False, "reason": "hold_short", "peak_abs_deg": 51.0, "target_deg": 50.0}]), {},
     EXIT_NO_REPS, "You reached the target 1 time, but came back before the hold was over, "
     "so none counted as a whole repetition."),
    (_session(reps=[{"complete": False, "reason": "short_of_target", "peak_abs_deg": 20.0, "target_deg": 50.0},
                    {"complete": False, "reason": "short_of_target", "peak_abs_deg": 32.4, "target_deg": 50.0}]),
     {}, EXIT_NO_REPS, "You made 2 attempts, but none reached the target (your furthest was 32 deg of 50 deg), "
     "so none counted."),
    (_session(reps=[{"complete": False, "reason": "sudden", "peak_abs_deg": 15.3, "target_deg": 50.0}]),
     {}, EXIT_NO_REPS, "The only movement I saw was sudden, not an attempt at the exercise, so none counted."),
    (_session(reps=[{"complete": False, "reason": "sudden", "peak_abs_deg": 41.0, "target_deg": 50.0},
                    {"complete": False, "reason": "short_of_target", "peak_abs_deg": 20.0, "target_deg": 50.0}]),
     {}, EXIT_NO_REPS, "You made 1 attempt, but none reached the target (your furthest was 20 deg of 50 deg), "
     "so none counted."),
    (_session(), {}, EXIT_NO_REPS, "I did not see a single head turn: your head stayed close to where it started."),
    (_session(), {"ended_reason": "quit"}, EXIT_NO_REPS, "You ended the session before the first head turn."),
    (_session(reps=[{"complete": True}]), {}, 0, "You did 1 of 10 repetitions."),
    (_session(exercises=0), {"neutral_found": False, "ended_reason": "stop rule: dizziness"}, EXIT_NO_REPS,
     "The session stopped because of the symptoms you reported, before any repetition was counted."),
])
def test_outcome_says_why_in_plain_words(session, kwargs, code, message):
    options = {"neutral_found": True, "neutral_s": 2.5, **kwargs}
    outcome = explain(session, **options)
    assert outcome.exit_code == code and outcome.message == message
    assert outcome.to_dict() == {"code": outcome.code, "exit_code": code, "message": message}


# ----------------------------------------------------------------------------- a camera moved
def _tilted_camera_recording(tilt_deg: float = 8.0):
    """A chin-nod recording whose laptop lid was tilted `tilt_deg` halfway: the second half's
    head is seen `tilt_deg` further from the camera's axis (its neutral as the camera sees it
    moves), and the room behind shifts by as much (RoomView offsets, the lid moving 1 s)."""
    from neckcoach.core.view_move import RoomView

    r = routine("chin_nod")
    first = home_script(r, still_s=1.0, seed=31, max_reps=3)
    second = home_script(r, still_s=3.0, seed=32, max_reps=3)
    a = poses_from_script(first, seed=33)
    b = poses_from_script(second, seed=34, neutral=(3.0, -4.0 + tilt_deg, 1.0))
    start_b = a[-1].t_s + 1.0
    b = [replace(p, t_s=p.t_s + start_b) for p in b]
    gap = [replace(a[-1], t_s=a[-1].t_s + k / 30.0) for k in range(1, 30)]  # still while the lid moves
    poses = a + gap + b
    views = []
    for p in poses:
        u = min(max((p.t_s - a[-1].t_s) / 1.0, 0.0), 1.0)
        views.append(RoomView((0.0, tilt_deg * u * u * (3 - 2 * u)), 1))
    return r, poses, views, first, second, start_b


def test_a_camera_tilted_mid_recording_gets_a_neutral_of_its_own_and_every_rep_counts():
    r, poses, views, first, second, start_b = _tilted_camera_recording()
    want = sum(sum(c.values()) for c in expected_by_side(first).values()) + \
        sum(sum(c.values()) for c in expected_by_side(second).values())
    choice, kins, _, session, outcome = review_poses(r, poses, views=views)
    counted = sum(sum(c.values()) for c in counted_by_side(session).values())
    assert counted == want == 6
    assert [w for w in session["warnings"] if w["kind"] in ev.SAFETY_KINDS] == []
    moves = session["camera_moves"]
    assert len(moves) == 1 and abs(moves[0]["moved_deg"] - 8.0) < 0.1 and moves[0]["neutral"]["accepted"]
    assert start_b - 1.0 < moves[0]["t_s"] < start_b + 0.6
    # nothing read while the lid moved (past its first degree) is trusted
    assert not any(k.reliable for k in kins if start_b - 0.7 < k.t_s < start_b - 0.2)

    # Without the room watched, the first neutral reads the second half 8 deg nodded: its reps
    # never come back to neutral and are lost.
    _, _, _, blind, _ = review_poses(r, poses)
    assert sum(sum(c.values()) for c in counted_by_side(blind).values()) < want


def test_a_still_room_splits_nothing():
    r = routine("chin_nod")
    poses = poses_from_script(home_script(r, still_s=1.0, seed=35, max_reps=3), seed=36)
    from neckcoach.core.view_move import RoomView

    with_room = review_poses(r, poses, views=[RoomView((0.01, -0.02), 1) for _ in poses])
    without = review_poses(r, poses)
    assert "camera_moves" not in with_room[3]
    assert with_room[3]["exercises"] == without[3]["exercises"]
