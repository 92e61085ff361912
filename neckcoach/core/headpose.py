"""Face landmarks -> absolute head pose (`HeadPose`) with a real camera model.

Two fits are available (compared in benchmarks/README.md):
- "pnp": full-perspective Levenberg-Marquardt fit of the 2D landmarks to the
  3D face model, started from the weak-perspective fit;
- "weak": similarity alignment (Umeyama) of MediaPipe's 3D landmarks to the
  model, corrected for the viewing ray.
Head position is the estimated neck pivot (an anatomical offset from the model
origin), so that pure rotations about the neck barely move it and a chin tuck
shows up as a change in depth.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from neckcoach.core import face_model
from neckcoach.core.geometry import (Camera, SimilarityFit, angles_from_rotation, solve_pnp,
                                     weak_perspective_pose)
from neckcoach.core.samples import HeadPose
from neckcoach.core.torso import torso_angles

if TYPE_CHECKING:
    from neckcoach.io.detector import FaceObservation

METHODS = ("pnp", "weak")
# Upper-neck pivot relative to the model origin (face edge at ear level), mm:
# roughly 7 cm below and 3 cm behind it (C1/C2 sits below and behind the tragus).
DEFAULT_PIVOT_OFFSET_MM = (0.0, 70.0, 30.0)


class YawGate:
    """Hysteresis on large yaw: why a single-frame threshold is not enough.

    Face mesh follows the head to ~55 deg of yaw, then saturates and even
    collapses back (a 70 deg turn can read 50 deg) before losing the face, and
    on re-acquisition at large yaw it may lock onto a wrong half-face. So once
    the estimate passes `enter_deg` (or the face is lost from there), frames
    stay unreliable until the estimate has been below `exit_deg` for `hold_s`.
    """

    def __init__(self, enter_deg: float = 50.0, exit_deg: float = 40.0,
                 hold_s: float = 0.4) -> None:
        if not 0 < exit_deg < enter_deg <= 90:
            raise ValueError("need 0 < exit_deg < enter_deg <= 90, "
                             f"got exit_deg={exit_deg!r}, enter_deg={enter_deg!r}")
        if hold_s < 0:
            raise ValueError(f"hold_s must be >= 0, got {hold_s!r}")
        self.enter_deg, self.exit_deg, self.hold_s = enter_deg, exit_deg, hold_s
        self.reset()

    def reset(self) -> None:
        self.edge = False
        self._below_since: float | None = None

    def update(self, face_found: bool, yaw_deg: float, t_s: float) -> bool:
        """Returns True if this frame's yaw can be trusted."""
        if not face_found:
            self._below_since = None
            return False
        if abs(yaw_deg) > self.enter_deg:
            self.edge = True
            self._below_since = None
        elif self.edge:
            if abs(yaw_deg) >= self.exit_deg:
                self._below_since = None
            elif self._below_since is None:
                self._below_since = t_s
            elif t_s - self._below_since >= self.hold_s:
                self.edge = False
        return not self.edge


class HeadPoseEstimator:
    """Per-frame pose fit; `reliable` drops where the mesh saturates.

    Face mesh stops following the head beyond about 55-60 deg of yaw (the far
    half of the face is hallucinated), so poses past `max_reliable_yaw_deg`
    (with hysteresis, see `YawGate`), or with a poor fit, are flagged
    unreliable instead of being reported as exact.
    """

    def __init__(self, *, hfov_deg: float = 60.0, method: str = "weak",
                 max_reliable_yaw_deg: float = 50.0, max_reliable_pitch_deg: float = 45.0,
                 max_rms_px_per_100px: float = 10.0,
                 pivot_offset_mm: tuple[float, float, float] = DEFAULT_PIVOT_OFFSET_MM) -> None:
        if not 10.0 <= hfov_deg <= 170.0:
            raise ValueError(f"hfov_deg must be in [10, 170], got {hfov_deg!r}")
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        if not 0 < max_reliable_yaw_deg <= 90:
            raise ValueError("max_reliable_yaw_deg must be in (0, 90], "
                             f"got {max_reliable_yaw_deg!r}")
        self.hfov_deg = hfov_deg
        self.method = method
        self.max_reliable_yaw_deg = max_reliable_yaw_deg
        self.max_reliable_pitch_deg = max_reliable_pitch_deg
        self.max_rms_px_per_100px = max_rms_px_per_100px
        self.pivot_offset_mm = np.asarray(pivot_offset_mm, float)
        self._camera: Camera | None = None
        self._model_fit = SimilarityFit(face_model.MODEL_POINTS_MM)
        self.gate = YawGate(enter_deg=max_reliable_yaw_deg, exit_deg=0.8 * max_reliable_yaw_deg)

    def camera(self, image_size: tuple[int, int]) -> Camera:
        if self._camera is None or (self._camera.width, self._camera.height) != tuple(image_size):
            self._camera = Camera(int(image_size[0]), int(image_size[1]), self.hfov_deg)
        return self._camera

    def reset(self) -> None:
        self._camera = None
        self.gate.reset()

    def update(self, obs: "FaceObservation", t_s: float, *,
               image_size_px: tuple[int, int] = (0, 0),
               face_center_px: tuple[float, float] | None = None,
               face_brightness: float = 0.0) -> HeadPose:
        """Pose of one observation; the picture fields (see `HeadPose`) are passed through.

        They are taken as arguments so the caller need not copy the pose to add them.
        """
        torso_yaw, torso_roll = torso_angles(obs.pose_px)
        if not obs.face_found:
            self.gate.update(False, 0.0, t_s)
            return HeadPose(t_s=t_s, face_found=False, faces=obs.faces,
                            brightness=obs.brightness, torso_yaw_deg=torso_yaw,
                            torso_roll_deg=torso_roll, image_size_px=image_size_px,
                            face_center_px=face_center_px, face_brightness=face_brightness)
        cam = self.camera(obs.image_size)
        pts = obs.landmarks_px[face_model.MODEL_INDICES]
        model = face_model.MODEL_POINTS_MM
        rot, t = weak_perspective_pose(self._model_fit, pts, cam)
        face_width = obs.width_px
        if self.method == "pnp":
            rot, t, rms = solve_pnp(model, pts[:, :2], cam, rot, t)
        else:
            residual = (cam.project(model @ rot.T + t) - pts[:, :2]).ravel()
            rms = math.sqrt(float(residual @ residual) / len(pts))
        yaw, pitch, roll = angles_from_rotation(rot)
        pivot = (t + rot @ self.pivot_offset_mm).tolist()
        rms_rel = rms / max(face_width, 1.0) * 100.0
        fit_ok = rms_rel <= self.max_rms_px_per_100px
        yaw_ok = self.gate.update(True, yaw, t_s)
        in_range = yaw_ok and abs(pitch) <= self.max_reliable_pitch_deg
        fit_score = 1.0 - rms_rel / (2 * self.max_rms_px_per_100px)
        conf = obs.confidence * min(max(float(fit_score), 0.0), 1.0)
        if not in_range:
            conf *= 0.5
        return HeadPose(t_s=t_s, face_found=True, yaw_deg=yaw, pitch_deg=pitch, roll_deg=roll,
                        position_mm=tuple(pivot),
                        confidence=float(conf), reliable=bool(fit_ok and in_range),
                        faces=obs.faces, face_width_px=face_width, brightness=obs.brightness,
                        torso_yaw_deg=torso_yaw, torso_roll_deg=torso_roll,
                        image_size_px=image_size_px, face_center_px=face_center_px,
                        face_brightness=face_brightness)
