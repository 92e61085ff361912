"""Trunk orientation from the pose model's shoulders.

Why: a patient who turns the whole trunk instead of the neck shows a large
head yaw without moving the neck; the coach can compare head and trunk angles.
"""

from __future__ import annotations

import numpy as np

LEFT_SHOULDER, RIGHT_SHOULDER = 11, 12


def torso_angles(pose_px: np.ndarray | None, min_visibility: float = 0.5
                 ) -> tuple[float | None, float | None]:
    """(yaw_deg, roll_deg) of the shoulder line in camera terms, or (None, None).

    pose_px: (33, 4) x, y, z (pixels, z in x scale, from the pose model) and
    visibility. Yaw > 0 when the trunk turns to the subject's left (the left
    shoulder moves away from the camera); roll > 0 when the trunk leans to the
    subject's left (left shoulder lower). Both are absolute; compare to neutral.
    """
    if pose_px is None or len(pose_px) <= max(LEFT_SHOULDER, RIGHT_SHOULDER):
        return None, None
    left, right = pose_px[LEFT_SHOULDER], pose_px[RIGHT_SHOULDER]
    if min(left[3], right[3]) < min_visibility:
        return None, None
    dx = left[0] - right[0]
    roll = np.degrees(np.arctan2(left[1] - right[1], dx))
    yaw = np.degrees(np.arctan2(left[2] - right[2], dx))
    return float(yaw), float(roll)
