"""Clock faults (issue 8): source timestamps that repeat, go back, leap forward or come slowly.

Policy: `SessionClock` at the frame source turns source timestamps into
session time that only moves forward, in bounded steps (duplicates dropped, a
restarted clock rebased, a stall clamped to 1 s), and the filters guard dt
themselves. The end-to-end cases drive the real filter, coach and recorder
with each timestamp sequence, with the head moving in real time.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neckcoach.core import events as ev
from neckcoach.core.clock import SessionClock
from neckcoach.core.coach import Coach
from neckcoach.core.filters import Differentiator, LowPass, OneEuroFilter
from neckcoach.core.kinematics import KinematicsFilter, RelativePose
from neckcoach.io.records import SessionRecorder, load_session
from neckcoach.io.sources import CameraSource, VideoFileSource

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_coach_support import exercise, min_jerk, routine, timeline  # noqa: E402

SAFETY = (ev.TOO_FAST, ev.JERK)


# -- the clock on its own ------------------------------------------------------------------

FPS30 = [k / 30 for k in range(6)]

CLOCK_CASES = [
    # name, source timestamps, session times (None = frame dropped), counters
    ("steady", FPS30, FPS30, {}),
    ("starts anywhere", [100.0, 100.5, 101.0], [0.0, 0.5, 1.0], {}),
    ("repeated timestamp", [0.0, 0.1, 0.1, 0.2], [0.0, 0.1, None, 0.2], {"dropped_frames": 1}),
    ("reordered frame", [0.0, 0.1, 0.2, 0.15, 0.3], [0.0, 0.1, 0.2, None, 0.3], {"dropped_frames": 1}),
    ("5 s stall", [0.0, 0.1, 5.1, 5.2], [0.0, 0.1, 1.1, 1.2], {"stalls": 1, "time_skipped_s": 4.0}),
    ("60 s suspend", [0.0, 0.1, 60.1, 60.2], [0.0, 0.1, 1.1, 1.2],
     {"stalls": 1, "time_skipped_s": 59.0}),
    ("clock resets to 0", [5.0, 5.1, 5.2, 0.0, 0.1], [0.0, 0.1, 0.2, 1.2, 1.3],
     {"stalls": 0, "clock_restarts": 1}),
    ("stall then reset", [0.0, 0.1, 10.0, 0.0, 0.1], [0.0, 0.1, 1.1, 2.1, 2.2],
     {"stalls": 1, "clock_restarts": 1, "time_skipped_s": 8.9}),
    ("frames at 2/s: the bar is 3 steps", [0.0, 0.5, 1.0, 2.0, 5.0], [0.0, 0.5, 1.0, 2.0, 3.5],
     {"stalls": 1, "time_skipped_s": 1.5}),
    ("not a number", [0.0, math.nan, math.inf, 0.1], [0.0, None, None, 0.1], {"dropped_frames": 2}),
    ("1 frame every 1.5 s", [1.5 * k for k in range(6)], [0.0, 1.0, 2.5, 4.0, 5.5, 7.0],
     {"stalls": 1, "time_skipped_s": 0.5}),
    ("one frame a second is not a stall", [float(k) for k in range(5)], [0.0, 1.0, 2.0, 3.0, 4.0],
     {"stalls": 0}),
]


@pytest.mark.parametrize("name,source,expected,counters", CLOCK_CASES, ids=[c[0] for c in CLOCK_CASES])
def test_clock_maps_each_timestamp_sequence(name, source, expected, counters):
    clock = SessionClock()
    got = [clock.update(t) for t in source]
    assert [None if g is None else pytest.approx(g, abs=1e-9) for g in got] == \
        [None if e is None else pytest.approx(e, abs=1e-9) for e in expected]
    summary = clock.summary()
    for key, value in counters.items():
        assert summary[key] == pytest.approx(value, abs=1e-9), key


@given(st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(math.nan), st.just(math.inf)),
                max_size=60))
def test_clock_output_only_moves_forward_and_never_faster_than_the_source(source):
    clock = SessionClock()
    last_in, last_out = None, None
    for t in source:
        out = clock.update(t)
        if out is None:
            continue
        assert math.isfinite(out)
        if last_out is not None:
            assert out > last_out
            if t > last_in:
                assert out - last_out <= t - last_in + 1e-6  # a step is kept or shortened
        last_in, last_out = t, out


@pytest.mark.parametrize("kw,name", [({"max_step_s": 0.0}, "max_step_s"),
                                     ({"stall_factor": 0.5}, "stall_factor"),
                                     ({"max_backstep_s": -1.0}, "max_backstep_s"),
                                     ({"history_steps": 0}, "history_steps")])
def test_clock_arguments_are_validated_by_name(kw, name):
    with pytest.raises(ValueError, match=name):
        SessionClock(**kw)


def test_a_clamped_stall_still_reads_as_a_tracking_gap_downstream():
    """The clamp is longer than the kinematics gap, so speeds restart after a stall."""
    assert SessionClock().max_step_s > KinematicsFilter().max_gap_s


# -- filters and kinematics fed bad timestamps directly -------------------------------------

BAD_TIMES = [
    ("repeat", [0.0, 0.1, 0.1, 0.2]),
    ("backwards", [0.0, 0.1, 0.2, -5.0, -4.9]),
    ("nan", [0.0, 0.1, math.nan, 0.2]),
    ("huge jump", [0.0, 0.1, 1e9, 1e9 + 0.1]),
    ("tiny step", [0.0, 0.1, 0.1 + 1e-12, 0.2]),
]


@pytest.mark.parametrize("name,times", BAD_TIMES, ids=[c[0] for c in BAD_TIMES])
def test_filters_never_divide_by_zero_or_go_non_finite(name, times):
    for f in (LowPass(2.0), OneEuroFilter(), Differentiator()):
        out = [f.update(float(k), t) for k, t in enumerate(times)]
        assert all(math.isfinite(v) for v in out), (type(f).__name__, out)


def test_filters_ignore_a_repeated_instant_and_restart_when_time_goes_back():
    lp = LowPass(1.0)
    lp.update(0.0, 0.0)
    v = lp.update(10.0, 0.1)
    assert lp.update(99.0, 0.1) == v  # same instant: nothing to integrate
    assert lp.update(5.0, 0.05) == 5.0  # earlier than the history: start again
    d = Differentiator()
    for k in range(10):
        d.update(2.0 * k, k / 10)
    assert d.update(0.0, -3.0) == 0.0  # no derivative across time going back
    assert math.isfinite(d.update(1.0, math.nan)) and d.update(0.5, -2.9) > 0


def _rel(t, yaw=0.0, face=True):
    return RelativePose(t, face, yaw_deg=yaw, confidence=0.9, reliable=True, faces=int(face))


def test_kinematics_repeated_timestamp_returns_the_previous_sample():
    f = KinematicsFilter()
    for k in range(10):
        last = f.update(_rel(k / 30, yaw=k))
    assert f.update(_rel(9 / 30, yaw=50.0)) is last


def test_kinematics_time_going_back_restarts_without_a_speed_spike():
    f = KinematicsFilter()
    for k in range(30):
        f.update(_rel(10 + k / 30, yaw=20 * k / 30))  # moving at 20 deg/s
    k = f.update(_rel(0.0, yaw=40.0))
    assert k.yaw_deg == pytest.approx(40.0) and k.yaw_speed_deg_s == 0.0
    assert k.extra["tracking_restarted"] and not k.reliable


def test_kinematics_jump_in_view_flags_a_restart_and_settles():
    f = KinematicsFilter(restart_settle_s=0.3)
    for k in range(30):
        f.update(_rel(k / 30))
    out = [f.update(_rel(2.0 + k / 30, yaw=40.0)) for k in range(15)]
    assert [bool(o.extra.get("tracking_restarted")) for o in out] == [True] + [False] * 14
    assert [o.reliable for o in out] == [False] * 9 + [True] * 6  # 0.3 s at 30 fps
    assert max(abs(o.yaw_speed_deg_s) for o in out) < 1.0


def test_kinematics_gap_with_the_face_lost_is_not_a_restart_in_view():
    """A lost face already pauses the coach and restarts the safety warm-up."""
    f = KinematicsFilter()
    for k in range(30):
        f.update(_rel(k / 30))
    f.update(_rel(1.1, face=False))
    k = f.update(_rel(2.0, yaw=40.0))
    assert "tracking_restarted" not in k.extra and k.reliable


def test_kinematics_nan_timestamp_is_no_measurement_and_keeps_state():
    f = KinematicsFilter()
    for k in range(10):
        f.update(_rel(k / 30, yaw=float(k)))
    assert f.update(_rel(math.nan, yaw=5.0)).face_found is False
    assert f.update(_rel(10 / 30, yaw=10.0)).yaw_speed_deg_s > 0


def test_restart_settle_is_validated():
    with pytest.raises(ValueError, match="restart_settle_s"):
        KinematicsFilter(restart_settle_s=-0.1)


# -- end to end: clock -> kinematics -> coach -> record --------------------------------------


def _reps(*starts, amp=44.0, out_s=2.0, hold_s=0.0, signs=None):
    """Yaw(real time) for reps starting at `starts` (out, hold, back), alternately
    left and right unless `signs` says otherwise."""
    signs = signs or [(-1) ** i for i in range(len(starts))]

    def yaw(r):
        x = 0.0
        for s, sign in zip(starts, signs):
            a = sign * amp
            x += min_jerk(r, s, out_s, a) - min_jerk(r, s + out_s + hold_s, out_s, a)
        return float(x)
    return yaw


def _run(rt, real_t, source_t, yaw, out_dir, seed=0):
    """Feed frames seen at `real_t` (the head moves in real time) stamped `source_t`."""
    rng = np.random.default_rng(seed)
    clock, filt, coach = SessionClock(), KinematicsFilter(), Coach(rt)
    rec = SessionRecorder(out_dir, {"title": "clock faults"}, index=False, min_free_mb=0.0)
    events, times = [], []
    for r, s in zip(real_t, source_t):
        t = clock.update(float(s))
        if t is None:
            continue
        times.append(t)
        kin = filt.update(RelativePose(
            t, True, yaw_deg=yaw(r) + rng.normal(0, 0.4), pitch_deg=rng.normal(0, 0.4),
            roll_deg=rng.normal(0, 0.4), confidence=0.9, reliable=True, faces=1,
            face_width_px=200.0, brightness=120.0))
        rec.update(kin, t)
        events += [(float(r), e) for e in coach.update(kin, t)]
    session = coach.session.to_dict()
    rec.set_exercises(session["exercises"])
    rec.update_summary({"warnings": session["warnings"], "pauses": session["pauses"]})
    rec.close("completed")
    return coach, events, times, clock


def _kinds(events, kind):
    return [(r, e) for r, e in events if e.kind == kind]


def _common_invariants(events, times, out_dir):
    assert all(b > a for a, b in zip(times, times[1:]))
    assert not [e for _, e in events if e.kind in SAFETY], "the jump faked a speed or jerk warning"
    data = load_session(out_dir)  # `neckcoach report` reads the same
    trace_t = data.trace["t_s"]
    assert len(trace_t) == len(times) and all(b > a for a, b in zip(trace_t, trace_t[1:]))


def _drop(real, start, end):
    keep = (real < start) | (real >= end)
    return real[keep], real[keep]


HOLD = dict(reps=2, target_deg=40.0, tempo_s=9.0, hold_s=4.0)
QUICK = dict(reps=2, target_deg=40.0, tempo_s=6.0, hold_s=0.0)
END_TO_END = [
    # name, exercise, (real, source) frames, yaw(real), REP events at real times within
    ("8 s stall mid-hold, back in neutral after it", HOLD,
     _drop(timeline(40.0, seed=1), 8.0, 16.0), _reps(5.0, 18.0, 28.0, hold_s=4.4, signs=[1, 1, -1]),
     [(25.0, 27.5), (35.0, 37.5)]),
    ("duplicated and reordered frames", QUICK,
     (lambda r: (np.repeat(r, 2), np.repeat(r, 2) - np.tile([0.0, 0.01], r.size)))(
         timeline(22.0, seed=2)),
     _reps(6.0, 13.0), [(9.5, 11.0), (16.5, 18.0)]),
    ("camera clock resets to 0 mid-set", QUICK,
     (lambda r: (r, np.where(r < 11.0, r, r - 11.0)))(timeline(22.0, seed=3)),
     _reps(6.0, 13.0), [(9.5, 11.0), (16.5, 18.0)]),
    ("very slow frames: one a second", dict(QUICK, tempo_s=8.0),
     (lambda r: (r, r))(np.arange(0.0, 30.0, 1.0)), _reps(6.0, 16.0, out_s=3.0),
     [(11.0, 14.0), (21.0, 24.0)]),
    ("very slow frames: 2.5 a second", dict(QUICK, tempo_s=8.0),
     (lambda r: (r, r))(np.arange(0.0, 30.0, 0.4)), _reps(6.0, 16.0, out_s=3.0),
     [(11.0, 14.0), (21.0, 24.0)]),
]


@pytest.mark.parametrize("name,ex,frames,yaw,rep_windows", END_TO_END, ids=[c[0] for c in END_TO_END])
def test_timestamp_faults_end_to_end(tmp_path, name, ex, frames, yaw, rep_windows):
    real, source = frames
    coach, events, times, _ = _run(routine(exercise(**ex)), real, source, yaw, tmp_path / "s")
    _common_invariants(events, times, tmp_path / "s")
    reps = _kinds(events, ev.REP)
    assert len(reps) == len(rep_windows), [(round(r, 2), e.kind) for r, e in events]
    for (r, _), (lo, hi) in zip(reps, rep_windows):
        assert lo <= r <= hi


def test_stall_during_a_hold_does_not_complete_it(tmp_path):
    """The patient holds for 1 s, the camera stalls 8 s, the head is back at neutral after it."""
    real, source = _drop(timeline(40.0, seed=1), 8.0, 16.0)
    yaw = _reps(5.0, 18.0, 28.0, hold_s=4.4, signs=[1, 1, -1])
    coach, events, times, clock = _run(routine(exercise(**HOLD)), real, source, yaw, tmp_path / "s")
    assert clock.stalls == 1 and clock.skipped_s > 6.0
    released = [r for r, _ in _kinds(events, ev.RELEASE)]
    assert released and all(r > 20.0 for r in released)  # only the holds seen in full
    assert [e.data["count"] for _, e in _kinds(events, ev.REP)] == [1, 2]
    stall_at = times[int(np.searchsorted(real, 8.0)) - 1]  # session time of the last frame before it
    reps = coach.session.to_dict()["exercises"][0]["reps"]
    assert sum(r["complete"] for r in reps) == 2
    assert not [r for r in reps if r["complete"] and r["start_t_s"] < stall_at]


def test_laptop_suspend_during_a_rest_keeps_the_rest(tmp_path):
    """A 60 s suspend 1 s into a 10 s rest: the rest resumes with its countdown after it."""
    ex = dict(reps=1, sets=2, rest_s=10.0, target_deg=40.0, tempo_s=6.0)
    real, source = _drop(timeline(100.0, seed=4), 9.0, 69.0)
    coach, events, times, _ = _run(routine(exercise(**ex)), real, source,
                                   _reps(5.0, 85.0, out_s=1.5, signs=[1, 1]), tmp_path / "s")
    _common_invariants(events, times, tmp_path / "s")
    rest = _kinds(events, ev.REST)
    assert len(rest) == 1 and rest[0][0] < 9.0
    countdown = {e.data["remaining_s"]: r for r, e in _kinds(events, ev.REST_COUNTDOWN)}
    assert countdown[10] < 9.0 and all(countdown[k] > 69.0 for k in (5, 3, 2, 1))
    go = [r for r, _ in _kinds(events, ev.GO)]
    assert len(go) == 2 and go[1] > 69.0 + 7.0 + 4.0  # most of the rest, then the count-in
    assert len(_kinds(events, ev.REP)) == 2 and coach.phase == "done"


def test_rep_whose_movement_was_not_seen_is_dropped_not_counted(tmp_path):
    """The camera stalls while the head turns out; only the way back is seen."""
    real, source = _drop(timeline(30.0, seed=5), 6.5, 8.8)
    yaw = _reps(6.0, 14.0, 21.0, out_s=3.0, signs=[1, 1, -1])
    coach, events, times, _ = _run(routine(exercise(**QUICK)), real, source, yaw, tmp_path / "s")
    _common_invariants(events, times, tmp_path / "s")
    assert not _kinds(events, ev.PARTIAL) and not _kinds(events, ev.RUSHED)
    assert [r > 14.0 for r, _ in _kinds(events, ev.REP)] == [True, True]


# -- the clock sits in the frame sources -------------------------------------------------------


class _ScriptedVideo:
    """cv2.VideoCapture stand-in for a file whose timestamps have a hole."""

    def __init__(self, times_ms):
        self.times_ms, self.i = list(times_ms), -1

    def isOpened(self):
        return True

    def get(self, prop):
        import cv2

        if prop == cv2.CAP_PROP_FPS:
            return 30.0
        return self.times_ms[self.i] if 0 <= self.i < len(self.times_ms) else 0.0

    def read(self):
        self.i += 1
        if self.i >= len(self.times_ms):
            return False, None
        return True, np.zeros((8, 8, 3), np.uint8)

    def release(self):
        pass


def test_video_file_with_a_timestamp_hole_is_clamped_by_the_source(tmp_path):
    path = tmp_path / "gap.mp4"
    path.write_bytes(b"x")
    stamps = [33.3, 66.7, 100.0, 6100.0, 6133.3]  # 6 s without frames
    with VideoFileSource(path, capture_factory=lambda p: _ScriptedVideo(stamps)) as src:
        ts = [t for t, _ in src]
    assert ts == pytest.approx([0.0, 0.0334, 0.0667, 1.0667, 1.1], abs=1e-3)
    assert src.clock.stalls == 1 and src.clock.summary()["time_skipped_s"] == pytest.approx(5.0, abs=1e-3)


class _Camera:
    def __init__(self, index):
        self.n = 0

    def isOpened(self):
        return True

    def set(self, prop, value):
        return True

    def read(self):
        time.sleep(0.01)
        self.n += 1
        return True, np.full((8, 8, 3), self.n % 256, np.uint8)

    def release(self):
        pass


def test_camera_consumer_stalled_for_a_second_and_a_half_sees_a_bounded_step():
    cam = CameraSource(0, capture_factory=_Camera, clock=SessionClock(max_step_s=0.5))
    try:
        ts = [cam.read()[0] for _ in range(5)]
        time.sleep(1.5)  # one very slow frame downstream
        ts += [cam.read()[0] for _ in range(5)]
    finally:
        cam.close()
    steps = np.diff(ts)
    assert (steps > 0).all() and steps.max() <= 0.5 + 1e-9
    assert cam.clock.stalls >= 1 and cam.clock.skipped_s > 0.8  # >1: a loaded test machine
