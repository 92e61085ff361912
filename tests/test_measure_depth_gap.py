"""The retraction is trusted only where the depth by the face's size and by its width agree.

Why: the depth, hence the retraction, comes from the face's size in face mesh's fit, which a
nod or tilt moves as far as the model's heights and relief misfit the face; the depth from the
face's width alone (`geometry.width_depth_mm`) does not depend on a nod. Where the two have
moved apart since neutral (`HeadPose.depth_gap_mm`) by more than `DEPTH_AGREE_MM`, the
retraction is not trusted (`KinematicsFilter`).
"""

from __future__ import annotations

import numpy as np
import pytest

from neckcoach.core import face_model
from neckcoach.core.calibration import Neutral, NeutralCalibrator
from neckcoach.core.geometry import Camera, rotation_from_angles, width_depth_mm
from neckcoach.core.kinematics import DEPTH_AGREE_MM, KinematicsFilter, RelativePose
from neckcoach.core.samples import HeadPose

CAM = Camera(640, 480, 60.0)


@pytest.mark.parametrize("yaw,pitch,roll", [(0, 0, 0), (0, 12, 0), (0, -12, 0), (5, 8, 0), (-4, 0, 5)])
@pytest.mark.parametrize("depth_mm", [450.0, 800.0])
def test_the_depth_from_the_faces_width_is_the_depth_whatever_the_nod(yaw, pitch, roll, depth_mm):
    """Exact projections of the model at a known pose and depth, off the image centre: started
    from a depth 8 % off along the same ray, the width gives the depth back within 0.1 mm."""
    rot = rotation_from_angles(yaw, pitch, roll)
    t = np.array([40.0, -25.0, depth_mm])
    image = CAM.project(face_model.MODEL_POINTS_MM @ rot.T + t)
    weights = np.ones(len(image))
    z = width_depth_mm(face_model.MODEL_POINTS_MM, image, weights, CAM, rot, t * 1.08)
    assert z == pytest.approx(depth_mm, abs=0.1)


def _rel(t_s: float, gap: float | None, retraction: float = 0.0) -> RelativePose:
    return RelativePose(t_s, True, 0.3, 1.0, -0.4, retraction, 0.9, True, 1, 120.0, 100.0,
                        yaw_reliable=True, pitch_reliable=True, roll_reliable=True,
                        retraction_reliable=True, depth_gap_mm=gap)


@pytest.mark.parametrize("fps", [15.0, 30.0])
def test_retraction_is_not_trusted_while_the_two_depths_disagree(fps):
    """The gap steady at 0.5 mm, then 4 mm for a second (a nod the model misfits), then back:
    trusted, not trusted within 0.2 s of the change, trusted again; and with no gap known
    (no face mesh fit, no neutral yet) the check says nothing."""
    filt = KinematicsFilter()
    flags = []
    for i in range(int(4 * fps)):
        t = i / fps
        gap = 4.0 if 1.5 <= t < 2.5 else 0.5
        flags.append((t, filt.update(_rel(t, gap)).retraction_reliable))
    assert all(ok for t, ok in flags if 1.0 <= t < 1.5)
    assert not any(ok for t, ok in flags if 1.7 <= t < 2.5)
    assert all(ok for t, ok in flags if 3.0 <= t)
    unknown = KinematicsFilter()
    assert all([unknown.update(_rel(i / fps, None)).retraction_reliable for i in range(int(2 * fps))][int(fps):])


def test_a_gap_just_inside_the_limit_is_trusted():
    filt = KinematicsFilter()
    ok = [filt.update(_rel(i / 30.0, DEPTH_AGREE_MM - 0.2)).retraction_reliable for i in range(60)]
    assert all(ok[30:])


def test_the_neutral_holds_the_gap_and_the_relative_pose_its_change():
    poses = [HeadPose(t_s=i / 30.0, face_found=True, position_mm=(0.0, 0.0, 600.0), reliable=True,
                      depth_gap_mm=7.0 + 0.1 * np.sin(i)) for i in range(76)]
    cal = NeutralCalibrator(duration_s=2.5)
    result = [r for r in (cal.update(p) for p in poses) if r is not None][0]
    assert result.ok and result.neutral.depth_gap_mm == pytest.approx(7.0, abs=0.1)
    later = HeadPose(t_s=3.0, face_found=True, position_mm=(0.0, 0.0, 610.0), reliable=True, depth_gap_mm=10.0)
    assert result.neutral.relative(later).depth_gap_mm == pytest.approx(3.0, abs=0.1)
    followed = HeadPose(t_s=3.1, face_found=True, position_mm=(0.0, 0.0, 610.0), reliable=True)
    assert result.neutral.relative(followed).depth_gap_mm is None
    assert Neutral(0.0, 0.0, 0.0, (0.0, 0.0, 600.0)).relative(later).depth_gap_mm is None
