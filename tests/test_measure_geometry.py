"""Exact-math tests of the camera model and pose fits on synthetic landmarks."""

import numpy as np
import pytest

from neckcoach.core import face_model
from neckcoach.core.geometry import (Camera, angles_from_rotation, rot_x, rot_y, rot_z,
                                     rotation_from_angles, solve_pnp, umeyama, weak_perspective_pose)
from neckcoach.core.motion_limits import impossible_step
from tests.face_synth import perspective_landmarks

ANGLES = [(0, 0, 0), (30, -10, 5), (-75, 10, -20), (80, 30, 25), (45, -35, -30)]


@pytest.mark.parametrize("angles", ANGLES)
def test_angles_round_trip_without_collapse(angles):
    assert np.allclose(angles_from_rotation(rotation_from_angles(*angles)), angles, atol=1e-9)


@pytest.mark.parametrize("angles", ANGLES)
def test_closed_form_matrix_is_the_documented_product(angles):
    """rotation_from_angles is written out for speed; it must stay Ry(-yaw) Rx(pitch) Rz(roll)."""
    y, p, r = np.radians(angles)
    assert np.allclose(rotation_from_angles(*angles), rot_y(-y) @ rot_x(p) @ rot_z(r), atol=1e-12)


@pytest.mark.parametrize("ray", [(0.0, 0.0, 1.0), (0.3, -0.2, 1.0), (-0.5, 0.4, 0.8), (0.9, 0.1, 0.2)])
def test_closed_form_ray_rotation_is_rotation_to(ray):
    from neckcoach.core.geometry import _rotation_from_optical_axis, rotation_to

    unit = np.asarray(ray) / np.linalg.norm(ray)
    assert np.allclose(_rotation_from_optical_axis(*unit), rotation_to(np.array([0.0, 0.0, 1.0]), unit),
                       atol=1e-12)


def test_sign_conventions_in_camera_frame():
    nose = np.array([0.0, 0.0, -1.0])  # towards the camera
    crown = np.array([0.0, -1.0, 0.0])  # up (y down)
    assert (rotation_from_angles(20, 0, 0) @ nose)[0] > 0  # yaw left -> nose to image right
    assert (rotation_from_angles(0, 20, 0) @ nose)[1] > 0  # flexion -> nose down
    assert (rotation_from_angles(0, 0, 20) @ crown)[0] > 0  # left bend -> crown to image right


def test_camera_focal_from_hfov():
    cam = Camera(640, 480, 60.0)
    assert cam.focal_px == pytest.approx(320 / np.tan(np.radians(30)))
    with pytest.raises(ValueError, match="hfov_deg"):
        Camera(640, 480, 5.0)


def test_umeyama_recovers_similarity():
    rng = np.random.default_rng(1)
    src = rng.normal(size=(30, 3))
    rot = rotation_from_angles(20, -15, 40)
    dst = 2.5 * src @ rot.T + [1, 2, 3]
    r, s, t = umeyama(src, dst)
    assert np.allclose(r, rot) and s == pytest.approx(2.5) and np.allclose(t, [1, 2, 3])


def _synthetic(angles, t_mm, cam):
    uvz = perspective_landmarks(face_model.MODEL_POINTS_MM, rotation_from_angles(*angles), t_mm, cam)
    return uvz[:, :2], uvz


@pytest.mark.parametrize("angles", ANGLES)
def test_pnp_is_exact_on_perfect_perspective_landmarks(angles):
    cam = Camera(640, 480, 60.0)
    t_mm = np.array([40.0, -30.0, 650.0])
    uv, uvz = _synthetic(angles, t_mm, cam)
    r0, t0 = weak_perspective_pose(face_model.MODEL_POINTS_MM, uvz, cam)
    # The weak-perspective fit is an approximation (within a few degrees)...
    assert np.allclose(angles_from_rotation(r0), angles, atol=4.0)
    rot, t, rms = solve_pnp(face_model.MODEL_POINTS_MM, uv, cam, r0, t0)
    # ...that full-perspective refinement makes exact.
    assert np.allclose(angles_from_rotation(rot), angles, atol=1e-4)
    assert np.allclose(t, t_mm, atol=1e-2) and rms < 1e-6


def test_off_axis_face_is_corrected_for_viewing_ray():
    """A frontal face far to the side is seen obliquely; it must not read as turned.

    MediaPipe describes the face as seen along the line of sight, so we build
    such landmarks (appearance rotation = ray^T R) and check that the fit
    turns them back into camera-frame angles (perspective, not pixel offsets).
    """
    from neckcoach.core.geometry import rotation_to

    cam = Camera(640, 480, 60.0)
    t_mm = np.array([250.0, 0.0, 600.0])  # ~23 deg off the optical axis
    ray_rot = rotation_to(np.array([0.0, 0.0, 1.0]), t_mm)
    for angles in [(0, 0, 0), (30, 10, -5)]:
        apparent = ray_rot.T @ rotation_from_angles(*angles)
        scale = cam.focal_px / t_mm[2]  # image scale of a small object at depth z
        pts = scale * face_model.MODEL_POINTS_MM @ apparent.T
        pts[:, :2] += cam.project(t_mm)
        rot, t = weak_perspective_pose(face_model.MODEL_POINTS_MM, pts, cam)
        assert np.allclose(angles_from_rotation(rot), angles, atol=1e-6)
        assert np.allclose(t, t_mm, atol=1e-6)
    assert abs(angles_from_rotation(ray_rot.T)[0]) > 20  # what ignoring the ray would report


@pytest.mark.parametrize("moved_deg, dt_s, impossible", [
    (9.0, 1 / 30, False),    # the largest real frame-to-frame step (a talking head, 9.3 deg)
    (19.9, 1 / 30, False),
    (21.8, 1 / 30, True),    # scene 503: a mesh collapsing between two frames of a held turn
    (28.0, 1 / 15, False),   # 15 fps: a flick's frame (18 deg in 0.17 s is ~10 a frame) is far below
    (31.0, 1 / 15, True),
    (60.0, 0.2, False), (75.0, 0.2, True)])
def test_a_step_is_impossible_past_a_heads_speed_plus_the_meshs_noise(moved_deg, dt_s, impossible):
    assert impossible_step(moved_deg, dt_s) is impossible
