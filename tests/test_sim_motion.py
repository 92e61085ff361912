"""Motion profiles and scripts of the virtual patient (pure numpy, no rendering)."""

from __future__ import annotations

import numpy as np
import pytest

from neckcoach.sim.motion import Flick, MotionScript, ScriptBuilder, Segment, min_jerk


def test_min_jerk_endpoints_and_symmetry():
    s = np.linspace(0, 1, 1001)
    x = min_jerk(s)
    assert x[0] == 0.0 and x[-1] == 1.0
    assert min_jerk(0.5) == pytest.approx(0.5)
    v = np.gradient(x, s)
    a = np.gradient(v, s)
    assert abs(v[0]) < 1e-3 and abs(v[-1]) < 1e-3  # starts and ends at rest
    assert abs(a[1]) < 0.1 and abs(a[-2]) < 0.1
    assert v.max() == pytest.approx(1.875, rel=1e-3)  # known peak speed of the profile
    assert np.all(np.diff(x) >= 0)
    assert min_jerk(-1.0) == 0.0 and min_jerk(2.0) == 1.0


def test_segments_profiles_and_holding_between():
    script = MotionScript([
        Segment("yaw", 1.0, 2.0, 0.0, 40.0, "min_jerk"),
        Segment("pitch", 0.0, 1.0, 0.0, -10.0, "linear"),
        Segment("roll", 0.0, 4.0, 5.0, 5.0, "hold"),
    ])
    assert script.pose_at(0.5) == pytest.approx((0.0, -5.0, 5.0, 0.0))
    assert script.pose_at(2.0)[0] == pytest.approx(20.0)
    assert script.pose_at(3.0)[0] == pytest.approx(40.0)
    assert script.pose_at(10.0) == pytest.approx((40.0, -10.0, 5.0, 0.0))  # keeps last values
    assert script.duration_s == pytest.approx(4.0)


def test_flick_amplitude_duration_and_return():
    fl = Flick("yaw", onset_s=2.0, amplitude=15.0, duration_s=0.2, return_s=0.6)
    t = np.arange(0.0, 4.0, 0.001)
    y = fl.value(t)
    assert np.all(y[t <= 2.0] == 0.0)
    assert fl.value(2.2) == pytest.approx(15.0)
    assert y.max() == pytest.approx(15.0)
    assert fl.value(1.999) == 0.0 and fl.value(2.8) == pytest.approx(0.0, abs=1e-9)
    speed = np.gradient(y, t)
    rise = (t > 2.0) & (t < 2.2)
    # Minimum-jerk rise: peak speed 1.875 * 15 / 0.2 = 140.6 deg/s in the first 200 ms.
    assert speed[rise].max() == pytest.approx(1.875 * 15 / 0.2, rel=0.01)
    assert abs(speed[t > 2.2]).max() < speed[rise].max() / 2  # the way back is slower


def test_builder_records_events_and_flicks():
    b = ScriptBuilder()
    b.hold(3.0).event("rep_start", "yaw", "left").move("yaw", 30.0, 1.5)
    b.flick("yaw", -15.0, 0.2, at_s=3.5)
    script = b.build(seed=1)
    kinds = [(e.kind, e.t_s) for e in script.events]
    assert kinds == [("rep_start", 3.0), ("jerk", 3.5)]
    assert script.events[1].detail["amplitude"] == -15.0
    base = Segment("yaw", 3.0, 1.5, 0.0, 30.0).value(3.7)
    assert script.pose_at(3.7)[0] == pytest.approx(base - 15.0)
    assert [e.kind for e in script.events_between(3.0, 3.5)] == ["rep_start"]


def test_sway_is_small_seeded_and_deterministic():
    segs = [Segment("yaw", 0.0, 10.0, 0.0, 0.0, "hold")]
    a = MotionScript(segs, seed=4, sway_deg=0.3)
    b = MotionScript(segs, seed=4, sway_deg=0.3)
    c = MotionScript(segs, seed=5, sway_deg=0.3)
    ts = np.arange(0, 10, 0.05)
    pa = np.array([a.pose_at(t) for t in ts])
    assert np.array_equal(pa, np.array([b.pose_at(t) for t in ts]))
    assert not np.array_equal(pa, np.array([c.pose_at(t) for t in ts]))
    assert np.abs(pa).max() <= 0.3
    assert np.abs(pa).max() > 0.01


@pytest.mark.parametrize("kwargs, word", [
    ({"axis": "tilt"}, "axis"), ({"profile": "cubic"}, "profile"), ({"duration_s": 0.0}, "duration_s"),
])
def test_segment_validation_names_the_argument(kwargs, word):
    args = {"axis": "yaw", "t0_s": 0.0, "duration_s": 1.0, "start": 0.0, "end": 1.0} | kwargs
    with pytest.raises(ValueError, match=word):
        Segment(**args)


def test_script_rejects_big_sway():
    with pytest.raises(ValueError, match="sway_deg"):
        MotionScript([], sway_deg=1.0)
