"""A held turn's lower bound from face mesh (headpose `HELD_MARGIN_DEG`): where the followed points
under-read a held turn face mesh reads further, the turn is shown as at least face mesh's reading less
the held margin; moving, the wider `MESH_AHEAD_MARGIN_DEG` holds; a trusted reading is not lifted;
and the lift is let go of as fast as face mesh comes back."""

import numpy as np
import pytest

from neckcoach.core.headpose import (AHEAD_OFFSET_RATE_DEG_S, HELD_MARGIN_DEG, MESH_AHEAD_MARGIN_DEG,
                                     HeadPoseEstimator)
from neckcoach.measure import pose_of_frame
from tests.test_measure_profile import StallingDetector, _split_yaw_poses

FPS_CASES = [15.0, 20.0, 30.0]


def _ramp(a, b, rate_deg_s, fps):
    return list(np.linspace(a, b, max(2, round(abs(b - a) / rate_deg_s * fps))))


@pytest.mark.parametrize("sign", [1.0, -1.0])
@pytest.mark.parametrize("fps", FPS_CASES)
def test_a_held_turn_the_points_under_read_is_at_least_face_mesh_less_the_held_margin(fps, sign):
    """Rendered population seed 401519 (camera 17 cm below): a turn held at 48.2 deg for a 49 deg
    target was shown as 41.2-41.9, the points' reading, and heard "I could not see how far you went".
    Here face mesh reads the head (48 deg), the points 7 deg short."""
    out = _ramp(0.0, 40.0, 40.0, fps)
    path = [(y, y) for y in out]
    path += [(m, p) for m, p in zip(_ramp(40.0, 48.0, 40.0, fps), _ramp(40.0, 41.0, 5.0, fps))]
    hold = int(2.0 * fps)
    path += [(48.0, 41.0)] * hold
    poses = _split_yaw_poses(path, fps, sign)
    late = poses[len(path) - int(0.8 * fps):]
    assert all(p.tracked and "yaw" in p.lower_bounds and not p.is_reliable("yaw") for p in late)
    assert all(48.0 - HELD_MARGIN_DEG - 0.5 <= sign * p.yaw_deg <= 48.0 for p in late), \
        [round(p.yaw_deg, 1) for p in late]
    shown = np.array([p.yaw_deg for p in poses if p.tracked])
    head_step = np.max(np.abs(np.diff([m for m, _ in path])))
    assert np.max(np.abs(np.diff(shown))) <= head_step + AHEAD_OFFSET_RATE_DEG_S / fps + 0.05  # no step


@pytest.mark.parametrize("fps", FPS_CASES)
def test_moving_the_lift_keeps_the_wider_margin(fps):
    """Face mesh lagging a return over-reads it (tuning sweeps: up to 12 deg): while the two move
    faster than a held head (`HELD_SPEED_DEG_S`), face mesh less `MESH_AHEAD_MARGIN_DEG` is the bound."""
    path = [(y, y) for y in _ramp(0.0, 40.0, 40.0, fps)]
    path += [(m, p) for m, p in zip(_ramp(40.0, 50.0, 40.0, fps), _ramp(40.0, 41.0, 4.0, fps))]
    slow = _ramp(50.0, 62.0, 15.0, fps)  # both turning on at 15 deg/s, the points 9 deg short
    path += [(m, m - 9.0) for m in slow]
    poses = _split_yaw_poses(path, fps, 1.0)
    late = [(m, p) for (m, _), p in zip(path[-len(slow) // 2:], poses[-len(slow) // 2:])]
    assert all(p.tracked and "yaw" in p.lower_bounds for _, p in late)
    assert all(p.yaw_deg <= m - MESH_AHEAD_MARGIN_DEG + 0.5 for m, p in late), \
        [(round(m, 1), round(p.yaw_deg, 1)) for m, p in late]


@pytest.mark.parametrize("fps", FPS_CASES)
def test_a_trusted_held_reading_is_not_lifted(fps):
    """Inside the trust limit, with face mesh reading within `AGREE_DEG` further, the points' reading
    is trusted: lifted, it would be a bound."""
    path = [(y, y) for y in _ramp(0.0, 38.0, 40.0, fps)]
    path += [(41.0, 38.0)] * int(1.5 * fps)
    poses = _split_yaw_poses(path, fps, 1.0)
    late = poses[-int(0.8 * fps):]
    assert all(p.tracked and p.is_reliable("yaw") and abs(p.yaw_deg - 38.0) < 0.1 for p in late)


@pytest.mark.parametrize("rate_deg_s", [40.0, 80.0])
@pytest.mark.parametrize("fps", FPS_CASES)
def test_the_lift_is_let_go_of_as_fast_as_face_mesh_comes_back(fps, rate_deg_s):
    """Points stuck at 30 deg (LK flow on low-textured skin, rendered seed 400391), face mesh reading
    a held 52 deg turn and the return: let go of at `AHEAD_OFFSET_RATE_DEG_S` only, the lift stayed
    over a head coming back at 40 deg/s (5.4 deg past it). It may not pass the head by more than
    the 5 deg a value may be off."""
    det, est = StallingDetector(), HeadPoseEstimator()
    path = [0.0] * int(0.3 * fps) + _ramp(0.0, 52.0, rate_deg_s, fps) + [52.0] * int(1.5 * fps)
    path += _ramp(52.0, 0.0, rate_deg_s, fps) + [0.0] * int(0.5 * fps)
    frame, rows = np.zeros((480, 640, 3), np.uint8), []
    for i, true in enumerate(path):
        det.yaw = float(true)
        rows.append((true, pose_of_frame(det, est, frame, i / fps)))
    held = [p for true, p in rows if true == 52.0]
    assert max(p.yaw_deg for p in held) >= 52.0 - HELD_MARGIN_DEG - 1.0, "not lifted: the test does not show the case"
    assert all(p.yaw_deg <= true + 5.0 for true, p in rows if "yaw" in p.lower_bounds), \
        max(p.yaw_deg - true for true, p in rows if "yaw" in p.lower_bounds)
