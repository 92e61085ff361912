"""Detector adapter speed-ups: protobuf bytes -> landmarks, frame brightness.

The fast paths must give exactly what the field-by-field read and the
strided mean gave, and fall back whenever the bytes are not plain x/y/z.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from neckcoach.io import detector

landmark_pb2 = pytest.importorskip("mediapipe.framework.formats.landmark_pb2")


def _face(n=478, seed=0):
    rng = np.random.default_rng(seed)
    xyz = rng.uniform(-0.2, 1.2, (n, 3)).astype(np.float32)
    xyz[0] = 0.0  # zeros are still written (proto2 presence)
    face = landmark_pb2.NormalizedLandmarkList()
    for x, y, z in xyz:
        face.landmark.add(x=float(x), y=float(y), z=float(z))
    return face


def _slow(face, w, h):
    return np.array([(p.x * w, p.y * h, p.z * w) for p in face.landmark], dtype=float)


def test_wire_decoding_equals_field_by_field_read():
    face = _face()
    assert detector._landmarks_from_wire(face) is not None
    fast = detector._landmarks_array(face, 640, 480)
    assert fast.shape == (478, 3) and fast.dtype == np.float64
    assert np.array_equal(fast, _slow(face, 640, 480))


@pytest.mark.parametrize("change", ["visibility", "no_z", "fake"])
def test_anything_but_plain_xyz_falls_back(change):
    face = _face(seed=1)
    if change == "visibility":
        face.landmark[7].visibility = 0.5
    elif change == "no_z":
        face.landmark[300].ClearField("z")
    else:
        face = SimpleNamespace(landmark=list(face.landmark))
    assert detector._landmarks_from_wire(face) is None
    assert np.array_equal(detector._landmarks_array(face, 320, 240), _slow(face, 320, 240))


def test_empty_landmark_list_gives_no_points():
    assert detector._landmarks_array(landmark_pb2.NormalizedLandmarkList(), 640, 480).shape == (0, 3)


def test_brightness_is_the_mean_of_every_8th_pixel():
    rng = np.random.default_rng(2)
    frame = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    assert detector.picture_light(frame)[0] == pytest.approx(frame[::8, ::8].mean(), abs=1e-9)
    h, w = 479, 641  # not multiples of 8: nearly the same pixels, so nearly the same mean
    odd = np.empty((h, w, 3), np.uint8)
    odd[..., 0] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
    odd[..., 1] = np.linspace(0, 255, h, dtype=np.uint8)[:, None]
    odd[..., 2] = 200
    assert detector.picture_light(odd)[0] == pytest.approx(odd[::8, ::8].mean(), abs=1.0)


def test_the_blown_out_share_counts_pixels_white_in_every_channel():
    frame = np.full((480, 640, 3), 90, np.uint8)
    frame[:, :160] = 255  # a window filling a quarter of the picture
    frame[:240, 160:320, 0] = 255  # saturated red only: not blown out
    frame[240:, 160:320] = 249  # just under the clip level
    assert detector.picture_light(frame)[1] == pytest.approx(0.25, abs=1e-9)
    assert detector.picture_light(np.full((480, 640, 3), 250, np.uint8))[1] == 1.0


def _clip_frames(n: int) -> list[np.ndarray]:
    import cv2

    from tests.conftest import clip

    cap = cv2.VideoCapture(str(clip("single_face.mp4")))
    frames = []
    while len(frames) < n:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
    cap.release()
    return frames


def test_during_inference_runs_once_per_frame_on_the_callers_thread_and_changes_nothing():
    """The hook sits between handing MediaPipe the frame and waiting for it; results are unchanged."""
    import threading

    frames = _clip_frames(15)
    plain, hooked = detector.FaceDetector(), detector.FaceDetector()
    calls: list = []
    hooked.during_inference = lambda: calls.append(threading.current_thread().name)
    try:
        for i, frame in enumerate(frames):
            a, b = plain.update(frame), hooked.update(frame)
            assert len(calls) == i + 1
            assert a.face_found and np.array_equal(a.landmarks_px, b.landmarks_px)
        assert set(calls) == {threading.current_thread().name}
        assert isinstance(hooked._mesh._graph, detector._GraphWithHook)  # this MediaPipe is hooked
    finally:
        plain.close()
        hooked.close()


def test_an_error_in_during_inference_propagates_and_the_detector_keeps_working():
    frames = _clip_frames(3)
    det = detector.FaceDetector()

    def boom():
        raise RuntimeError("window gone")

    try:
        det.during_inference = boom
        with pytest.raises(RuntimeError, match="window gone"):
            det.update(frames[0])
        det.during_inference = None
        assert det.update(frames[1]).face_found and det.update(frames[2]).face_found
    finally:
        det.close()
