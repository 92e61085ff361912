"""Flexion through the face-mesh fit when the face's side outline slides (issue #14).

Face mesh keeps its face-oval points on the face's outline. Seen face on, the
sides of the face at ear level are the silhouette, so on a nod those points
slide along the outline instead of moving with the skin: on the rendered
virtual patient they stayed 15-21 px behind at 30-40 deg of flexion, and the
fit read flexion 20 % short. These landmarks are synthetic (the face model at
known angles), with the side outline points following only part of the nod.
"""

import numpy as np
import pytest

from neckcoach.core import face_model
from neckcoach.core.geometry import (Camera, OutlineFit, SimilarityFit, angles_from_rotation,
                                     rotation_from_angles, rotation_to, weak_perspective_pose)
from neckcoach.core.headpose import HeadPoseEstimator
from neckcoach.io.detector import FaceObservation
from tests.face_synth import mesh_array

CAM = Camera(640, 480, 60.0)
T_MM = np.array([15.0, -20.0, 600.0])
SIDES = np.isin(face_model.MODEL_INDICES, [127, 234, 356, 454])
# Share of their own image motion on a nod (relative to the face's centre) that the
# side outline points follow: on the rendered patient they stayed 15-21 px behind at
# 30-40 deg (eye corners 73 px apart), about 60 % of that motion.
FOLLOWED_SHARE = 0.4


def _project(rot: np.ndarray) -> np.ndarray:
    """MediaPipe-like (x, y px; z px) of the model points, as seen along the viewing ray."""
    apparent = rotation_to(np.array([0.0, 0.0, 1.0]), T_MM).T @ rot
    pts = (CAM.focal_px / T_MM[2]) * face_model.MODEL_POINTS_MM @ apparent.T
    pts[:, :2] += CAM.project(T_MM)
    return pts


def _model_landmarks(yaw: float, pitch: float, roll: float, slide: bool) -> np.ndarray:
    pts = _project(rotation_from_angles(yaw, pitch, roll))
    if slide:
        # Only along the outline (image y): across it, and in depth, they stay on the skin.
        moved = pts[:, 1] - _project(rotation_from_angles(yaw, 0.0, roll))[:, 1]
        centre = moved.mean()
        pts[SIDES, 1] -= (1.0 - FOLLOWED_SHARE) * (moved[SIDES] - centre)
    return pts


def _observation(pts: np.ndarray) -> FaceObservation:
    lm = mesh_array(pts)
    return FaceObservation(lm, (CAM.width, CAM.height), 1, 100.0, 1.0, True)


def _estimated(yaw: float, pitch: float, roll: float, slide: bool = True) -> tuple[float, float, float]:
    """The weak fit's reading: these landmarks are its own model of the face (seen along the
    viewing ray, no perspective within the face), the outline weighting is its own, and the
    default "mixed" fit takes its pitch and roll from it."""
    est = HeadPoseEstimator(method="weak")
    pose = est.update(_observation(_model_landmarks(yaw, pitch, roll, slide)), 0.0,
                      image_size_px=(CAM.width, CAM.height))
    return pose.yaw_deg, pose.pitch_deg, pose.roll_deg


@pytest.mark.parametrize("flexion", [8.0, 20.0, 30.0, 40.0])
def test_flexion_is_read_although_the_side_outline_slides(flexion):
    """Within 6 %: the face is 2.4 deg off the optical axis, so the sides are just off the
    silhouette and their sliding y still counts a little (`OutlineFit`)."""
    yaw, pitch, roll = _estimated(0.0, flexion, 0.0)
    assert 0.94 * flexion <= pitch <= flexion + 0.5
    assert abs(yaw) < 1.0 and abs(roll) < 1.0


@pytest.mark.parametrize("flexion", [8.0, 20.0, 30.0, 40.0])
def test_an_unweighted_fit_under_reads_the_same_landmarks(flexion):
    """What the estimator did before (a fifth short, as on the rendered patient)."""
    pts = _model_landmarks(0.0, flexion, 0.0, slide=True)
    rot, _ = weak_perspective_pose(SimilarityFit(face_model.MODEL_POINTS_MM), pts, CAM)
    assert angles_from_rotation(rot)[1] < 0.8 * flexion


def test_chin_nod_is_counted():
    """The bundled chin nod (8 deg) counts from 0.85 of its target: 6.8 deg."""
    assert _estimated(0.0, 8.0, 0.0)[1] >= 0.85 * 8.0 + 0.5


@pytest.mark.parametrize("angles", [(0.0, 0.0, 25.0), (0.0, 0.0, -30.0), (35.0, 0.0, 0.0), (-45.0, -20.0, 10.0),
                                    (20.0, 15.0, -10.0)])
def test_exact_landmarks_are_read_exactly(angles):
    """Without sliding, leaving some coordinates out changes nothing (roll is still measured)."""
    assert np.allclose(_estimated(*angles, slide=False), angles, atol=1e-3)


def test_outline_y_counts_as_far_as_the_skin_faces_the_camera():
    fit = OutlineFit(face_model.MODEL_POINTS_MM, face_model.COORD_WEIGHTS, face_model.SIDE_NORMALS)
    idx = face_model.MODEL_INDICES.tolist()
    right, left = idx.index(234), idx.index(454)  # subject's right and left
    fit.fit(_model_landmarks(0.0, 20.0, 0.0, slide=False))
    # Face on, but 1.4 deg to the side of the optical axis: sqrt(sin 1.4 deg) = 0.16.
    assert fit.last_weights[right, 1] < 0.2 and fit.last_weights[left, 1] < 0.2
    # Turned 40 deg to the subject's left (41.4 from the line of sight), the right
    # side faces the camera and the left side is behind the silhouette.
    fit.fit(_model_landmarks(40.0, 0.0, 0.0, slide=False))
    assert fit.last_weights[right, 1] == pytest.approx(np.sqrt(np.sin(np.radians(41.4))), abs=0.02)
    assert fit.last_weights[left, 1] == 0.0
    assert np.all(fit.last_weights[:, 0] == 1.0)


def test_outline_fit_with_every_coordinate_counted_is_umeyama():
    rng = np.random.default_rng(3)
    src = rng.normal(size=(12, 3))
    dst = 1.7 * src @ rotation_from_angles(10, -25, 5).T + [3.0, -1.0, 2.0] + rng.normal(scale=0.05, size=(12, 3))
    r0, s0, t0 = SimilarityFit(src).fit(dst)
    r1, s1, t1 = OutlineFit(src, np.ones((12, 3)), np.zeros((12, 3)), max_iterations=5).fit(dst)
    assert np.allclose(r0, r1, atol=1e-6) and s0 == pytest.approx(s1) and np.allclose(t0, t1, atol=1e-6)


def test_outline_fit_checks_its_arguments():
    src = face_model.MODEL_POINTS_MM
    with pytest.raises(ValueError):
        OutlineFit(src, np.ones((3, 3)), np.zeros_like(src))
    with pytest.raises(ValueError):
        OutlineFit(src, -np.ones_like(src), np.zeros_like(src))
    with pytest.raises(ValueError):
        OutlineFit(src, np.ones_like(src), np.zeros_like(src), max_iterations=0)


@pytest.mark.parametrize("extension,trusted", [(-30.0, True), (-38.0, True), (-45.0, False), (-60.0, False)])
def test_extension_past_the_mesh_range_is_no_measurement_of_any_angle(extension, trusted):
    """Seen from below past ~40 deg, face mesh saturates (a 37 deg extension from a camera 44 cm
    below the eyes read 18, trusted: rendered seed 400447) and deeper in may run past the truth:
    past `MAX_EXTENSION_DEG` no angle is a measurement; the pitch is a saturated lower bound (the
    filter gives it `EXTENSION_BOUND_SLACK_DEG` nearer neutral)."""
    est = HeadPoseEstimator()
    pose = est.update(_observation(_model_landmarks(0.0, extension, 0.0, slide=False)), 0.0,
                      image_size_px=(CAM.width, CAM.height))
    assert pose.pitch_deg == pytest.approx(extension, abs=1e-3)
    assert (pose.pitch_reliable, pose.yaw_reliable, pose.roll_reliable) == (trusted, trusted, trusted)
    expected = () if trusted else ("pitch",)
    assert pose.saturated == expected and tuple(a for a in pose.lower_bounds if a == "pitch") == expected


@pytest.mark.parametrize("after_s,reading,trusted", [
    (0.1, -38.0, False),  # just inside the limit, soon after a reading past it: still past it
    (0.1, -35.0, True),  # back inside the re-entry margin
    (0.8, -38.0, True),  # long after: a new approach to the limit
])
def test_a_head_read_past_the_extension_limit_is_measured_again_only_well_inside_it(after_s, reading, trusted):
    """Face mesh collapsing on a head held far back jitters across the limit frame by frame
    (held-out accuracy scene 541: single frames read -37 to -39 for a head at -50, trusted)."""
    est = HeadPoseEstimator()
    for t, p in ((0.0, -45.0), (after_s, reading)):
        pose = est.update(_observation(_model_landmarks(0.0, p, 0.0, slide=False)), t,
                          image_size_px=(CAM.width, CAM.height))
    assert (pose.pitch_reliable, pose.yaw_reliable, pose.roll_reliable) == (trusted, trusted, trusted)
    assert pose.saturated == (() if trusted else ("pitch",))


@pytest.mark.parametrize("roll,trusted", [(30.0, True), (38.0, True), (-38.0, True), (44.0, False)])
def test_roll_is_trusted_as_far_as_it_was_measured(roll, trusted):
    """The tuning roll sweeps read 35-40 deg within 1.1 deg: a side-bend flick from a 25 deg hold
    to 39 deg was judged as untrusted past 35 and missed (rendered population seed 400481)."""
    est = HeadPoseEstimator()
    pose = est.update(_observation(_model_landmarks(0.0, 0.0, roll, slide=False)), 0.0,
                      image_size_px=(CAM.width, CAM.height))
    assert pose.roll_deg == pytest.approx(roll, abs=1e-3)
    assert pose.roll_reliable is trusted
