"""The default ("mixed") fit and the trust of a turned face's pitch and roll, on landmarks built
as face mesh gives them (full perspective, tests/face_synth.py). Not a pure-core test: the
estimator is fed `FaceObservation`s from the detector's module."""

import numpy as np
import pytest

from neckcoach.core import face_model
from neckcoach.core.geometry import Camera, angles_from_rotation, rotation_from_angles
from neckcoach.core.headpose import HeadPoseEstimator
from neckcoach.io.detector import FaceObservation
from tests.face_synth import mesh_array, perspective_landmarks


def _estimated_pose(rot, t_mm, method, depth_scale=1.0):
    """One frame of the estimator on perspective landmarks whose MediaPipe-like depth is
    `depth_scale` times the true one (face mesh's depth is a learned guess)."""
    cam = Camera(640, 480, 60.0)
    pts = perspective_landmarks(face_model.MODEL_POINTS_MM, rot, t_mm, cam)
    pts[:, 2] *= depth_scale
    lm = mesh_array(pts)
    obs = FaceObservation(lm, (640, 480), 1, 100.0, 1.0, True)
    return HeadPoseEstimator(method=method).update(obs, 0.0, image_size_px=(640, 480))


@pytest.mark.parametrize("depth_scale", [0.7, 1.0, 1.4])
@pytest.mark.parametrize("turn", [-35.0, -20.0, 20.0, 35.0])
@pytest.mark.parametrize("distance_mm", [450.0, 800.0])
def test_the_default_fit_reads_the_turn_from_where_the_landmarks_are(depth_scale, turn, distance_mm):
    """A camera below the eyes and aside (the face seen 12 deg from below): the turn is read
    exactly whatever face mesh guessed of the depth, where the weak fit, which leans on that
    guess and leaves out the perspective within the face, reads it up to 9 deg off."""
    rot = rotation_from_angles(5.0, -12.0, 0.0) @ rotation_from_angles(turn, 0.0, 0.0)
    t_mm = np.array([30.0, -60.0, distance_mm])
    true_yaw = angles_from_rotation(rot)[0]
    assert _estimated_pose(rot, t_mm, "mixed", depth_scale).yaw_deg == pytest.approx(true_yaw, abs=0.05)
    weak = _estimated_pose(rot, t_mm, "weak", depth_scale).yaw_deg
    if depth_scale == 1.4:
        assert abs(weak - true_yaw) > 4.0


@pytest.mark.parametrize("turn, tilt_trusted", [(20.0, True), (28.0, True), (33.0, False), (40.0, False)])
def test_pitch_and_roll_of_a_turned_face_are_trusted_only_to_30_deg_of_turn(turn, tilt_trusted):
    """The far half of a turned face is foreshortened; past 30 deg the mesh's nod and tilt
    were off by more than 5 deg in one frame in twenty on the tuning sweeps. The turn itself
    is trusted further (to `MAX_TRUSTED_YAW_DEG`)."""
    pose = _estimated_pose(rotation_from_angles(turn, 10.0, 5.0), np.array([0.0, 0.0, 600.0]), "mixed")
    assert pose.yaw_reliable
    assert pose.pitch_reliable is tilt_trusted and pose.roll_reliable is tilt_trusted
