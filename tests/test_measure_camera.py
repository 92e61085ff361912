"""Calibrated angles are the head's relative to the trunk, wherever the laptop camera sits.

Rendered frames of known geometry: a camera below eye level pitched up 15 deg
and off to the side. A turn about the body's vertical axis must read as yaw,
not as yaw mixed with roll (what the camera-axes composition R Rn^T gives).
"""

import numpy as np
import pytest

pytest.importorskip("pyrender")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scene_renderer():
    from neckcoach.sim.render import HeadRenderer
    from neckcoach.sim.scene import SceneSpec

    spec = SceneSpec(distance_m=0.6, camera_pitch_deg=15.0, camera_height_m=-0.16, camera_x_m=0.08,
                     camera_yaw_deg=-7.0)
    return HeadRenderer(seed=5, scene=spec)


def _poses(renderer, pose, n=3):
    from neckcoach.core.headpose import HeadPoseEstimator
    from neckcoach.io.detector import FaceDetector

    det = FaceDetector(static_image_mode=True, max_faces=1)
    est = HeadPoseEstimator()
    out = [est.update(det.update(renderer.render(*pose, noise=1.5)), i / 30) for i in range(n)]
    det.close()
    return out


@pytest.mark.parametrize("head", [(35.0, 0.0, 0.0), (-35.0, 0.0, 0.0), (0.0, 0.0, 25.0),
                                  (0.0, 20.0, 0.0), (20.0, 10.0, 0.0)])
def test_pitched_offset_camera_reads_the_head_relative_to_the_trunk(scene_renderer, head):
    from neckcoach.core.calibration import NeutralCalibrator
    from neckcoach.core.geometry import angles_from_rotation, rotation_from_angles

    cal = NeutralCalibrator(duration_s=0.1).evaluate(_poses(scene_renderer, (0.0, 0.0, 0.0)))
    assert cal.ok, cal.reason
    assert cal.neutral.pitch_deg < -8.0  # seen from below, the face looks over the camera
    poses = _poses(scene_renderer, head)
    rel = [cal.neutral.relative(p) for p in poses]
    got = np.median([(r.yaw_deg, r.pitch_deg, r.roll_deg) for r in rel], axis=0)
    # Single frames of an oblique view (static mode, as MediaPipe sees a
    # still image): face mesh's own error is up to ~6 deg here, e.g. +35 deg of
    # yaw read as 41 (see benchmarks/README.md for tracked clips).
    assert np.abs(got - head).max() < 7.0, (head, got)
    if abs(head[0]) == 35.0:
        # The camera-axes composition of the same frames mixes a roll in: the test can tell.
        p = poses[0]
        old = angles_from_rotation(rotation_from_angles(p.yaw_deg, p.pitch_deg, p.roll_deg)
                                   @ cal.neutral.rotation.T)
        assert abs(got[2]) < 4.5, got
        assert abs(old[2]) > abs(got[2]) + 2.0, (old, got)
