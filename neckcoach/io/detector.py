"""MediaPipe adapter: RGB frame -> typed `FaceObservation` (+ optional pose landmarks).

Kept at the I/O edge so that the core never imports mediapipe. Landmarks are
returned in pixels, z in the same pixel scale as x (MediaPipe normalises z by
the image width), so the core can treat them as a weak-perspective 3D point set.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Pose landmark indices we use (MediaPipe Pose topology).
POSE_NOSE, POSE_LEFT_EAR, POSE_RIGHT_EAR = 0, 7, 8
POSE_LEFT_SHOULDER, POSE_RIGHT_SHOULDER = 11, 12


@dataclass(frozen=True)
class FaceObservation:
    """One frame of detector output for the chosen face (the patient)."""

    landmarks_px: np.ndarray  # (N, 3) x, y in pixels, z in pixels (x scale)
    image_size: tuple[int, int]  # (width, height)
    faces: int
    brightness: float  # mean luma 0..255
    confidence: float
    face_found: bool
    pose_px: np.ndarray | None = field(default=None)  # (33, 4) x, y, z px + visibility

    @classmethod
    def empty(cls, image_size: tuple[int, int], faces: int = 0, brightness: float = 0.0,
              pose_px: np.ndarray | None = None) -> "FaceObservation":
        return cls(np.zeros((0, 3)), image_size, faces, brightness, 0.0, False, pose_px)

    @classmethod
    def from_mediapipe(cls, face_results, image_size: tuple[int, int], brightness: float,
                       previous_center_px: np.ndarray | None = None,
                       pose_results=None) -> "FaceObservation":
        """Build from `FaceMesh.process` (and optionally `Pose.process`) results.

        With several faces the patient is the one closest to the previous face
        centre, or the largest face when there is no history, so the choice is
        stable across frames.
        """
        w, h = image_size
        pose_px = _pose_array(pose_results, w, h)
        faces = list(getattr(face_results, "multi_face_landmarks", None) or [])
        if not faces:
            return cls.empty(image_size, 0, brightness, pose_px)
        arrays = [_landmarks_array(f, w, h) for f in faces]
        if previous_center_px is not None and len(arrays) > 1:
            dists = [np.linalg.norm(a[:, :2].mean(0) - previous_center_px) for a in arrays]
            chosen = arrays[int(np.argmin(dists))]
        else:
            widths = [np.ptp(a[:, 0]) * np.ptp(a[:, 1]) for a in arrays]
            chosen = arrays[int(np.argmax(widths))]
        conf = _face_confidence(chosen, w, h)
        return cls(chosen, image_size, len(arrays), brightness, conf, True, pose_px)

    @property
    def center_px(self) -> np.ndarray | None:
        return self.landmarks_px[:, :2].mean(0) if self.face_found else None

    @property
    def width_px(self) -> float:
        return float(np.ptp(self.landmarks_px[:, 0])) if self.face_found else 0.0


def _landmarks_array(face, w: int, h: int) -> np.ndarray:
    arr = np.array([(p.x, p.y, p.z) for p in face.landmark], dtype=float)
    arr[:, 0] *= w
    arr[:, 1] *= h
    arr[:, 2] *= w
    return arr


def _pose_array(pose_results, w: int, h: int) -> np.ndarray | None:
    lms = getattr(pose_results, "pose_landmarks", None) if pose_results is not None else None
    if lms is None:
        return None
    arr = np.array([(p.x * w, p.y * h, p.z * w, p.visibility) for p in lms.landmark], dtype=float)
    return arr


def _face_confidence(lm: np.ndarray, w: int, h: int) -> float:
    """Heuristic 0..1: face mesh gives no score, so penalise tiny or clipped faces."""
    width = np.ptp(lm[:, 0])
    size_score = float(np.clip(width / 60.0, 0.0, 1.0))
    inside = np.mean((lm[:, 0] >= 0) & (lm[:, 0] < w) & (lm[:, 1] >= 0) & (lm[:, 1] < h))
    return float(size_score * inside)


class FaceDetector:
    """Wraps MediaPipe face mesh (refined landmarks) and optionally pose (complexity 1).

    Frames are passed as C-contiguous RGB uint8 arrays because MediaPipe raises
    on strided views (e.g. a BGR->RGB slice).
    """

    def __init__(self, *, max_faces: int = 2, use_pose: bool = False,
                 static_image_mode: bool = False, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5) -> None:
        if not 1 <= max_faces <= 5:
            raise ValueError(f"max_faces must be in 1..5, got {max_faces!r}")
        for name, v in (("min_detection_confidence", min_detection_confidence),
                        ("min_tracking_confidence", min_tracking_confidence)):
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {v!r}")
        import mediapipe as mp

        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=static_image_mode, max_num_faces=max_faces, refine_landmarks=True,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence)
        self._pose = (mp.solutions.pose.Pose(static_image_mode=static_image_mode,
                                             model_complexity=1) if use_pose else None)
        self._prev_center: np.ndarray | None = None

    def update(self, frame_rgb: np.ndarray) -> FaceObservation:
        if frame_rgb.ndim != 3 or frame_rgb.shape[2] != 3:
            raise ValueError("frame_rgb must be an (H, W, 3) RGB array, "
                             f"got shape {frame_rgb.shape}")
        frame = np.ascontiguousarray(frame_rgb, dtype=np.uint8)
        h, w = frame.shape[:2]
        brightness = float(frame[::4, ::4].mean())
        face_res = self._mesh.process(frame)
        pose_res = self._pose.process(frame) if self._pose is not None else None
        obs = FaceObservation.from_mediapipe(face_res, (w, h), brightness, self._prev_center,
                                             pose_res)
        self._prev_center = obs.center_px if obs.face_found else self._prev_center
        return obs

    def reset(self) -> None:
        self._prev_center = None

    def close(self) -> None:
        self._mesh.close()
        if self._pose is not None:
            self._pose.close()
