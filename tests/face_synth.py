"""MediaPipe-like landmarks of a rigid face at a known pose, as a camera sees it.

Face mesh's x and y are where each point is in the image, a full-perspective
projection (the nearer half of a turned face looks larger); its z is each
point's depth relative to the face, in the x scale. Landmarks built this way
are what the estimator meets on real frames, so tests of the whole estimator
use them; a weak-perspective shortcut would favour one fit over the other.
"""

from __future__ import annotations

import numpy as np

from neckcoach.core import face_model
from neckcoach.core.geometry import Camera


def perspective_landmarks(points_mm: np.ndarray, rotation: np.ndarray, centre_mm: np.ndarray,
                          camera: Camera) -> np.ndarray:
    """(N, 3): x, y px projected through the pinhole; z px = relative depth x focal / depth."""
    centre = np.asarray(centre_mm, float)
    rotated = np.asarray(points_mm, float) @ np.asarray(rotation, float).T
    xy = camera.project(rotated + centre)
    return np.column_stack([xy, rotated[:, 2] * camera.focal_px / centre[2]])


def mesh_array(model_landmarks: np.ndarray) -> np.ndarray:
    """(478, 3) face-mesh landmarks with the face model's points (`model_landmarks`, in the order
    of `face_model.MODEL_INDICES`) in place and every other landmark at their centre: what the
    estimator reads of a frame, and nothing it does not."""
    lm = np.zeros((478, 3))
    lm[:, :2] = model_landmarks[:, :2].mean(0)
    lm[face_model.MODEL_INDICES] = model_landmarks
    return lm
