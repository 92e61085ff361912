"""Routine-level coach driven by a closed-loop simulated patient."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neckcoach.core import events as ev
from neckcoach.core.coach import Coach, run_coach
from neckcoach.core.kinematics import KinematicsFilter, RelativePose

try:
    from tests.test_coach_support import exercise, kinds, min_jerk, routine, stream, timeline
except ImportError:
    from test_coach_support import exercise, kinds, min_jerk, routine, stream, timeline


class Patient:
    """Does the rep the coach expects next, at `tempo_s`, whenever counting is on."""

    def __init__(self, tempo_s: float | None = None, overshoot: float = 1.08, gap_s: float = 0.6):
        self.tempo_s, self.overshoot, self.gap_s = tempo_s, overshoot, gap_s
        self.rep: tuple[float, float, float, float, str] | None = None  # t0, amp, tempo, hold, axis
        self.free_at = 0.0

    def value(self, t: float, coach: Coach) -> tuple[str, float]:
        ex = coach.exercise
        if self.rep is not None:
            t0, amp, tempo, hold, axis = self.rep
            if t < t0 + tempo:
                move = (tempo - hold) / 2
                return axis, float(min_jerk(t, t0, move, amp) - min_jerk(t, t0 + move + hold, move, amp))
            self.rep, self.free_at = None, t + self.gap_s
        if ex is None or coach.phase != "active" or coach.paused or t < self.free_at:
            return (ex.axis if ex else "yaw"), 0.0
        c = coach.counter
        side = c.expected_direction() or next(d for d in c.directions if c.completed[d] < ex.reps)
        amp = ex.sign(side) * c.targets[side] * self.overshoot
        tempo = self.tempo_s or ex.tempo_s
        self.rep = (t, amp, tempo, min(ex.hold_s + 0.4 * (ex.hold_s > 0), tempo - 1.0), ex.axis)
        return ex.axis, 0.0


def simulate(rt, duration_s: float, *, patient=None, problems=(), commands=(), seed: int = 0, coach=None):
    """Run the coach for duration_s; problems: (start, end, kind) with kind face/two/far/dark."""
    coach = coach or Coach(rt)
    patient = patient or Patient()
    filt = KinematicsFilter()
    rng = np.random.default_rng(seed)
    out = []
    cmds = sorted(commands)
    for t in timeline(duration_s, seed=seed):
        while cmds and cmds[0][0] <= t:
            getattr(coach, cmds.pop(0)[1])()
        axis, val = patient.value(float(t), coach)
        active = [k for a, b, k in problems if a <= t < b]
        vals = {a: rng.normal(0, 0.4) for a in ("yaw", "pitch", "roll", "retraction")}
        vals[axis] += val
        rel = RelativePose(
            t_s=float(t), face_found="face" not in active and "two" not in active,  # "two": not told apart
            yaw_deg=vals["yaw"], pitch_deg=vals["pitch"],
            roll_deg=vals["roll"], retraction_mm=vals["retraction"], confidence=0.9, reliable=True,
            faces=0 if "face" in active else (2 if "two" in active else 1),
            face_width_px=50.0 if "far" in active else 200.0, brightness=15.0 if "dark" in active else 120.0)
        out.extend(coach.update(filt.update(rel)))
    return coach, out


def two_exercise_routine():
    return routine(
        exercise(id="rot", name="Rotation", reps=2, sets=2, rest_s=4.0, target_deg=40.0, tempo_s=6.0),
        exercise(id="bend", name="Side bend", movement="side_bend", sides="both", reps=1, target_deg=25.0,
                 tempo_s=7.0, hold_s=2.0),
    )


def test_whole_routine_runs_to_the_end():
    rt = two_exercise_routine()
    coach, out = simulate(rt, 90.0)
    assert len(kinds(out, ev.ROUTINE_DONE)) == 1
    assert [e.exercise_id for e in kinds(out, ev.EXERCISE_START)] == ["rot", "bend"]
    assert len(kinds(out, ev.SET_DONE)) == 3 and len(kinds(out, ev.EXERCISE_DONE)) == 2
    countdown = [int(e.magnitude) for e in kinds(out, ev.REST_COUNTDOWN)]
    assert countdown[:3] == [3, 2, 1]
    assert len(kinds(out, ev.COUNT_IN)) == 3 * 3 and len(kinds(out, ev.GO)) == 3
    assert len(kinds(out, ev.REP)) == 6
    assert not [e for e in out if e.kind in ev.WARNING_KINDS]
    times = [e.t_s for e in out]
    assert times == sorted(times)
    s = json.loads(json.dumps(coach.session.to_dict()))
    assert s["completed"] is True
    rot, bend = s["exercises"]
    assert (rot["reps_target"], rot["reps_completed"], rot["sets_completed"]) == (4, 4, 2)
    assert (bend["reps_target"], bend["reps_completed"]) == (2, 2)
    assert [r["side"] for r in rot["reps"]] == ["left", "right", "left", "right"]
    assert [r["index"] for r in rot["reps"]] == [1, 2, 3, 4]
    assert sorted(r["side"] for r in bend["reps"]) == ["left", "right"]
    assert all(r["hold_s"] >= 2.0 for r in bend["reps"])
    assert s["warnings"] == [] and s["pauses"] == []


def test_no_rep_counted_before_go_while_getting_into_position():
    rt = routine(exercise(reps=2, target_deg=30.0))
    coach = Coach(rt)
    t = timeline(25.0, seed=3)
    lean = 35.0 - min_jerk(t, 0.0, 2.5, 35.0)  # settling into the chair during the count-in
    frames = stream(t, yaw=lean, pitch=lean * 0.5, seed=3)
    out = [e for k in frames for e in coach.update(k)]
    assert kinds(out, ev.REP) == [] and kinds(out, ev.REP_START) == []
    assert coach.phase == "active" and coach.counter.state == "neutral"


@pytest.mark.parametrize("kind,problem", [(ev.FACE_LOST, "face"), (ev.TWO_FACES, "two"),
                                          (ev.TOO_FAR, "far"), (ev.POOR_LIGHT, "dark")])
def test_bad_picture_pauses_and_resumes_without_losing_count(kind, problem):
    rt = routine(exercise(reps=4, target_deg=40.0, tempo_s=6.0))
    # Reps start at ~4.0 s (after the count-in) and take 6.6 s each; the
    # problem covers the middle of rep 2.
    coach, out = simulate(rt, 45.0, problems=[(13.0, 16.0, problem)], seed=5)
    warn = kinds(out, kind)
    assert len(warn) == 1 and 13.4 <= warn[0].t_s <= 13.7 and warn[0].message
    resumed = kinds(out, ev.RESUMED)
    assert len(resumed) == 1 and 16.4 <= resumed[0].t_s <= 16.7
    reps = kinds(out, ev.REP)
    counts = [e.data["count"] for e in reps]
    assert counts == [1, 2, 3, 4]  # nothing lost, nothing counted twice
    assert all(not (13.0 <= e.t_s <= 16.5) for e in reps)
    s = coach.session.to_dict()
    assert s["exercises"][0]["reps_completed"] == 4
    assert s["pauses"] == [{"start_t_s": pytest.approx(warn[0].t_s, abs=1e-3),
                            "end_t_s": pytest.approx(resumed[0].t_s, abs=1e-3), "reason": kind}]
    assert any(w["kind"] == kind for w in s["warnings"])


def test_single_dropped_frames_do_not_pause():
    rt = routine(exercise(reps=2, target_deg=40.0))
    coach, out = simulate(rt, 25.0, problems=[(8.0, 8.1, "face"), (12.0, 12.2, "face")], seed=6)
    assert kinds(out, ev.FACE_LOST) == [] and len(kinds(out, ev.REP)) == 2


def test_keyboard_pause_resume_and_skip():
    rt = two_exercise_routine()
    coach, out = simulate(rt, 60.0, commands=[(6.0, "pause"), (10.0, "resume"), (20.0, "skip_exercise")], seed=7)
    paused, resumed = kinds(out, ev.PAUSED), kinds(out, ev.RESUMED)
    assert len(paused) == 1 and len(resumed) == 1 and resumed[0].t_s >= 10.0
    assert all(not (6.0 <= e.t_s < 10.0) for e in kinds(out, ev.REP_START))
    skipped = kinds(out, ev.EXERCISE_SKIPPED)
    assert len(skipped) == 1 and skipped[0].exercise_id == "rot"
    s = coach.session.to_dict()
    assert s["exercises"][0]["skipped"] is True and s["exercises"][1]["id"] == "bend"
    assert s["pauses"][0]["reason"] == "user"


def test_rushed_reps_are_flagged_but_counted():
    rt = routine(exercise(reps=3, target_deg=30.0, tempo_s=9.0))
    coach, out = simulate(rt, 30.0, patient=Patient(tempo_s=3.0), seed=8)
    assert len(kinds(out, ev.REP)) == 3
    rushed = kinds(out, ev.RUSHED)
    assert len(rushed) == 3 and all(e.magnitude < 4.5 for e in rushed)


def test_on_tempo_reps_are_not_rushed_and_and_back_is_cued():
    rt = routine(exercise(reps=3, target_deg=40.0, tempo_s=6.0))
    coach, out = simulate(rt, 30.0, seed=9)
    assert kinds(out, ev.RUSHED) == []
    back = kinds(out, ev.AND_BACK)
    at = kinds(out, ev.AT_TARGET)
    assert len(back) == 3 and [e.t_s for e in back] == [e.t_s for e in at]


def test_warnings_are_attached_to_the_rep():
    rt = routine(exercise(reps=2, target_deg=40.0, tempo_s=6.0))
    coach = Coach(rt)
    t = timeline(25.0, seed=10)
    x = min_jerk(t, 5.0, 2.8, 43.0) - min_jerk(t, 8.0, 2.8, 43.0)
    x += min_jerk(t, 6.0, 0.2, 15.0) - min_jerk(t, 6.2, 0.2, 15.0)  # a flick during rep 1
    out = [e for k in stream(t, yaw=x, seed=10) for e in coach.update(k)]
    jerk = kinds(out, ev.JERK)
    assert jerk and jerk[0].rep == 1
    s = coach.session.to_dict()
    assert s["exercises"][0]["reps"][0]["warnings"] >= 1
    assert s["warnings"][0]["kind"] in (ev.JERK, ev.TOO_FAST) and s["warnings"][0]["rep"] == 1


def test_run_coach_and_state_snapshot():
    rt = routine(exercise(reps=2, target_deg=40.0))
    t = timeline(6.0, seed=11)
    events, session = run_coach(rt, stream(t, seed=11))
    assert kinds(events, ev.EXERCISE_START) and session["exercises"][0]["reps_completed"] == 0
    coach = Coach(rt)
    for k in stream(t, seed=11):
        coach.update(k)
    st = coach.state()
    assert st["phase"] == "active" and st["reps_done"] == 0 and st["reps_target"] == 2
    assert st["expected_side"] == "left" and st["target"] == 40.0
    json.dumps(st)


@pytest.mark.parametrize("name,value", [("min_face_width_px", -1.0), ("pause_after_s", 99.0)])
def test_invalid_coach_options(name, value):
    with pytest.raises(ValueError, match=name):
        Coach(routine(), **{name: value})


MOVEMENT_CASES = [
    dict(id="nod", name="Chin nod", movement="chin_nod", sides=None, target_deg=10.0, reps=3),
    dict(id="ext", name="Extension", movement="extension", sides=None, target_deg=30.0, reps=2, hold_s=2.0,
         tempo_s=8.0),
    dict(id="fe", name="Nod", movement="flexion_extension", sides="both", target_deg=None,
         target_fraction=0.6, reps=2),
    dict(id="tuck", name="Chin tuck", movement="retraction", sides=None, target_deg=None, target_mm=10.0, reps=3),
    dict(id="bend", name="Side bend", movement="side_bend", sides="right", target_deg=None,
         target_fraction=0.6, reps=2),
]


@pytest.mark.parametrize("kw", MOVEMENT_CASES, ids=[k["id"] for k in MOVEMENT_CASES])
def test_every_movement_completes_without_warnings(kw):
    ex = exercise(**kw)
    rt = routine(ex)
    coach, out = simulate(rt, 8.0 + ex.reps_per_set * (ex.tempo_s + 0.8), seed=12)
    assert len(kinds(out, ev.ROUTINE_DONE)) == 1
    assert not [e for e in out if e.kind in ev.WARNING_KINDS or e.kind == ev.PARTIAL]
    s = coach.session.to_dict()["exercises"][0]
    assert s["reps_completed"] == s["reps_target"] == ex.reps_per_set
    assert {r["side"] for r in s["reps"]} == set(ex.directions())


def test_skip_during_transition_skips_the_upcoming_exercise():
    rt = routine(exercise(id="a", reps=1, target_deg=30.0), exercise(id="b", reps=1, target_deg=30.0),
                 exercise(id="c", reps=1, target_deg=30.0))
    coach, out = simulate(rt, 12.0, seed=13)
    assert coach.phase == "rest" and coach.exercise.id == "b"  # a done, b about to start
    coach.skip_exercise()
    k = stream([12.05], seed=13)[0]
    coach.update(k)
    ids = [(e["id"], e["skipped"]) for e in coach.session.to_dict()["exercises"]]
    assert ids == [("a", False), ("b", True)] and coach.exercise.id == "c"
