"""Measurement pipeline (detector -> estimator -> calibration -> kinematics) with a fake detector."""

from types import SimpleNamespace

import numpy as np
import pytest

from neckcoach.core import face_model
from neckcoach.core.geometry import Camera, angles_from_rotation, rotation_from_angles
from neckcoach.io.detector import FaceObservation
from neckcoach.measure import Measurement
from tests.face_synth import mesh_array, perspective_landmarks

CAM = Camera(640, 480, 60.0)


def _landmarks(yaw, pitch, roll, depth_mm=600.0):
    """MediaPipe-like landmarks (x, y px; z px) of the face model at known angles."""
    t_mm = np.array([20.0, -10.0, depth_mm])
    pts = perspective_landmarks(face_model.MODEL_POINTS_MM, rotation_from_angles(yaw, pitch, roll), t_mm, CAM)
    lm = mesh_array(pts)
    return lm


class FakeDetector:
    def __init__(self, schedule):
        self.schedule = schedule  # t -> (yaw, pitch, roll, depth) or None
        self.t = 0.0

    def update(self, frame):
        pose = self.schedule(self.t)
        if pose is None:
            return FaceObservation.empty((640, 480), brightness=100.0)
        return FaceObservation(_landmarks(*pose), (640, 480), 1, 100.0, 1.0, True)

    def reset(self):
        pass


def _run(schedule, seconds, fps=30.0, m=None, t0=0.0):
    det = FakeDetector(schedule)
    m = m or Measurement(detector=det, neutral_s=2.0)
    m.detector = det
    out = []
    for i in range(int(seconds * fps)):
        det.t = t0 + i / fps
        out.append(m.update(np.zeros((480, 640, 3), np.uint8), det.t))
    return m, out


# A 30 deg turn about the neutral head's own vertical axis (see Neutral.relative),
# seen in camera terms.
TURNED = angles_from_rotation(rotation_from_angles(5.0, -8.0, 2.0) @ rotation_from_angles(30.0, 0.0, 0.0))


def test_calibrates_then_reports_relative_angles_and_retraction():
    def schedule(t):
        if t < 2.5:
            return (5.0, -8.0, 2.0, 600.0)
        if t < 4.0:
            return (5.0, -8.0, 2.0, 620.0)  # head 20 mm further back: a chin tuck
        if t < 6.0:
            return TURNED + (600.0,)
        return (5.0, -8.0, 2.0, 600.0)

    m, out = _run(schedule, 7.0)
    assert m.neutral is not None and out[-1].extra["calibrated"]
    tuck = out[int(3.9 * 30)]
    assert tuck.retraction_mm == pytest.approx(20.0, abs=1.0) and tuck.retraction_reliable
    turned = out[int(5.9 * 30)]
    assert turned.yaw_deg == pytest.approx(30.0, abs=0.5)
    # Pitch and roll are the weak fit's, which leaves out the perspective within the face:
    # from this neutral (5 deg of turn, 8 of extension) a 30 deg turn reads 1.1-1.3 deg of each.
    assert abs(turned.pitch_deg) < 1.5 and abs(turned.roll_deg) < 1.5
    # A 30 deg step within one frame is no head movement (a source switch or a re-lock):
    # the speeds restart instead of showing ~900 deg/s, and since either reading may be
    # the wrong one, the yaw is not trusted until the head is seen back home.
    assert max(abs(k.yaw_speed_deg_s) for k in out) < 100
    assert not any(k.is_reliable("yaw") for k in out if 4.0 <= k.t_s < 6.0)
    assert out[-1].is_reliable("yaw") and abs(out[-1].yaw_deg) < 0.5


def test_moving_neutral_is_rejected_and_recalibration_recovers():
    m, out = _run(lambda t: (15 * np.sin(2 * np.pi * t), 0.0, 0.0, 600.0), 2.5)
    assert m.neutral is None and "moved" in out[-1].extra["calibration"]
    assert out[-1].extra["calibrating"]  # keeps trying
    m, out = _run(lambda t: (3.0, 0.0, 0.0, 600.0), 2.5, m=m, t0=10.0)
    assert m.neutral is not None and m.neutral.yaw_deg == pytest.approx(3.0, abs=0.1)
    m.recalibrate()
    assert m.neutral is not None  # old neutral kept until a new one is accepted
    m, out = _run(lambda t: (-4.0, 0.0, 0.0, 600.0), 2.5, m=m, t0=20.0)
    assert m.neutral.yaw_deg == pytest.approx(-4.0, abs=0.1)


def test_lost_face_gives_lost_kinematics():
    m, out = _run(lambda t: None if t > 2.6 else (0.0, 0.0, 0.0, 600.0), 3.0)
    assert not out[-1].face_found and out[-1].yaw_speed_deg_s == 0.0


def _mp_face(center, size):
    pts = [SimpleNamespace(x=(center[0] + size * dx) / 640, y=(center[1] + size * dy) / 480, z=0.0)
           for dx, dy in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    return SimpleNamespace(landmark=pts)


def test_patient_choice_is_largest_then_closest_to_previous():
    big, small = _mp_face((200, 200), 60), _mp_face((450, 220), 30)
    res = SimpleNamespace(multi_face_landmarks=[small, big])
    first = FaceObservation.from_mediapipe(res, (640, 480), 90.0)
    assert first.faces == 2 and first.center_px[0] == pytest.approx(200)
    # a larger stranger appears, but the patient is the one near the previous position
    res2 = SimpleNamespace(multi_face_landmarks=[_mp_face((460, 220), 90), _mp_face((205, 200), 60)])
    second = FaceObservation.from_mediapipe(res2, (640, 480), 90.0, first.center_px)
    assert second.center_px[0] == pytest.approx(205)


def test_no_face_gives_empty_observation():
    obs = FaceObservation.from_mediapipe(SimpleNamespace(multi_face_landmarks=None), (640, 480), 12.0)
    assert not obs.face_found and obs.faces == 0 and obs.brightness == 12.0


def test_torso_angles_from_shoulders():
    from neckcoach.core.torso import torso_angles

    pose = np.zeros((33, 4))
    pose[:, 3] = 1.0
    pose[11] = (400, 300, 0, 1)  # left shoulder (image right)
    pose[12] = (240, 300, 0, 1)
    assert torso_angles(pose) == pytest.approx((0.0, 0.0))
    pose[11] = (400, 330, 40, 1)  # left shoulder lower and further back
    yaw, roll = torso_angles(pose)
    assert yaw > 10 and roll > 10  # turned and leaning to the subject's left
    pose[12, 3] = 0.1  # shoulder not visible: no guess
    assert torso_angles(pose) == (None, None)


def test_before_a_neutral_there_is_no_retraction_to_trust():
    """Until a neutral is taken, angles are read from facing the camera squarely, but the
    "retraction" from no neutral is the head's distance from the camera: a chin-tuck session's
    trace read 747 mm, trusted, before its neutral, and the report's depth axis ran to 800."""
    from neckcoach.core.samples import HeadPose

    rng = np.random.default_rng(0)
    poses = [HeadPose(t_s=i / 30, face_found=True, yaw_deg=n[0], pitch_deg=n[1], roll_deg=n[2],
                      position_mm=(0.0, 0.0, 600.0), reliable=True)
             for i, n in enumerate(rng.normal(0, 0.1, (121, 3)))]
    m = Measurement(detector=object(), neutral_s=2.0)
    kins = [m.update_pose(p) for p in poses]
    before = [k for k in kins if not k.extra["calibrated"]]
    after = [k for k in kins if k.extra["calibrated"]]
    assert before and after
    assert not any(k.retraction_reliable for k in before)
    trusted = [k for k in after if k.retraction_reliable]
    assert trusted and all(abs(k.retraction_mm) < 1.0 for k in trusted)
