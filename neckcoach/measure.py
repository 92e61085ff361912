"""The measurement pipeline: frame -> detector -> estimator -> calibration -> kinematics.

Used by `neckcoach analyze` and by the live app. Until a neutral is accepted,
angles are reported relative to facing the camera squarely and
`extra["calibrated"]` is False; `extra["calibration"]` carries the last
calibration message (e.g. the rejection reason) for the UI/voice.
"""

from __future__ import annotations

import numpy as np

from neckcoach.core.calibration import IDENTITY, CalibrationResult, Neutral, NeutralCalibrator
from neckcoach.core.headpose import HeadPoseEstimator
from neckcoach.core.kinematics import KinematicsFilter
from neckcoach.core.samples import HeadPose, Kinematics


class Measurement:
    """Stateful per-frame measurement; time comes in as `t_s`, never from a clock."""

    def __init__(self, *, hfov_deg: float = 60.0, neutral_s: float = 2.5, use_pose: bool = False,
                 method: str = "weak", detector=None, auto_calibrate: bool = True) -> None:
        if detector is None:
            from neckcoach.io.detector import FaceDetector

            detector = FaceDetector(use_pose=use_pose)
        self.detector = detector
        self.estimator = HeadPoseEstimator(hfov_deg=hfov_deg, method=method)
        self.calibrator = NeutralCalibrator(duration_s=neutral_s)
        self.filter = KinematicsFilter()
        self.auto_calibrate = auto_calibrate
        self.neutral: Neutral | None = None
        self.last_calibration: CalibrationResult | None = None
        self.last_pose: HeadPose | None = None
        self._calibrating = auto_calibrate

    def pose(self, frame_rgb: np.ndarray, t_s: float) -> HeadPose:
        """Detector + estimator only (absolute, uncalibrated)."""
        return self.estimator.update(self.detector.update(frame_rgb), t_s)

    def update(self, frame_rgb: np.ndarray, t_s: float) -> Kinematics:
        pose = self.pose(frame_rgb, t_s)
        self.last_pose = pose
        return self.update_pose(pose)

    def update_pose(self, pose: HeadPose) -> Kinematics:
        if self._calibrating:
            result = self.calibrator.update(pose)
            if result is not None:
                self.last_calibration = result
                if result.ok:
                    self.neutral = result.neutral
                    self._calibrating = False
                    self.filter.reset()
        kin = self.filter.update((self.neutral or IDENTITY).relative(pose))
        kin.extra["calibrated"] = self.neutral is not None
        kin.extra["calibrating"] = self._calibrating
        if self.last_calibration is not None:
            kin.extra["calibration"] = self.last_calibration.reason
        return kin

    def set_neutral(self, neutral: Neutral) -> None:
        self.neutral = neutral
        self._calibrating = False
        self.filter.reset()

    def recalibrate(self) -> None:
        """Start a new neutral capture; the old neutral stays in use until one is accepted."""
        self.calibrator.reset()
        self._calibrating = True

    def reset(self) -> None:
        self.detector.reset()
        self.estimator.reset()
        self.calibrator.reset()
        self.filter.reset()
        self.neutral = None
        self.last_calibration = None
        self._calibrating = self.auto_calibrate
