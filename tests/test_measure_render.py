"""Estimator + calibration against the virtual patient's known angles."""

import numpy as np
import pytest

pytest.importorskip("pyrender")


@pytest.fixture(scope="module")
def renderer():
    from neckcoach.sim.render import HeadRenderer

    return HeadRenderer(seed=3)


@pytest.fixture(scope="module")
def detector():
    from neckcoach.io.detector import FaceDetector

    det = FaceDetector(static_image_mode=True, max_faces=1)
    yield det
    det.close()


POSES = [(40, 0, 0, 0), (-40, 0, 0, 0), (0, 25, 0, 0), (0, -25, 0, 0), (0, 0, 25, 0),
         (0, 0, -25, 0), (25, 15, 10, 0), (0, 0, 0, 20)]


def test_estimator_tracks_known_angles(renderer, detector):
    from neckcoach.core.calibration import NeutralCalibrator
    from neckcoach.core.headpose import HeadPoseEstimator

    est = HeadPoseEstimator()
    neutral_poses = [est.update(detector.update(renderer.render(0, 0, 0, noise=2.0)), i / 30)
                     for i in range(4)]
    cal = NeutralCalibrator(duration_s=0.1).evaluate(neutral_poses)
    assert cal.ok, cal.reason
    for k, (y, p, r, m) in enumerate(POSES):
        detector.reset()  # unrelated still images, not a video: no patient to follow between them
        pose = est.update(detector.update(renderer.render(y, p, r, m, noise=2.0)), 1 + k)
        rel = cal.neutral.relative(pose)
        assert rel.face_found and rel.reliable
        got = np.array([rel.yaw_deg, rel.pitch_deg, rel.roll_deg])
        assert np.abs(got - [y, p, r]).max() < 6.0, (y, p, r, got)
        if (y, p, r) == (0, 0, 0):  # retraction is only measured near neutral angles
            assert abs(rel.retraction_mm - m) < 5.0, (m, rel.retraction_mm)


def test_turned_neutral_is_rejected_on_rendered_frames(renderer, detector):
    from neckcoach.core.calibration import NeutralCalibrator
    from neckcoach.core.headpose import HeadPoseEstimator

    est = HeadPoseEstimator()
    poses = [est.update(detector.update(renderer.render(20, 0, 0)), i / 30) for i in range(3)]
    result = NeutralCalibrator(duration_s=0.1).evaluate(poses)
    assert not result.ok and "not facing" in result.reason
