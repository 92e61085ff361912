"""The measurement pipeline: frame -> detector -> estimator -> calibration -> kinematics.

Used by `neckcoach analyze` and by the live app. Until a neutral is accepted,
angles are reported relative to facing the camera squarely, retraction is
not measured (there is no neutral to move back from), and
`extra["calibrated"]` is False; `extra["calibration"]` carries the last
calibration message (e.g. the rejection reason) for the UI/voice. While
`hold_calibration` is True (the app's camera check has not passed) no neutral
capture runs, so a neutral is only ever taken from a good picture.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from neckcoach.core.calibration import IDENTITY, CalibrationResult, Neutral, NeutralCalibrator
from neckcoach.core.headpose import MAX_POSITION_ANGLE_DEG, HeadPoseEstimator
from neckcoach.core.kinematics import KinematicsFilter
from neckcoach.core.samples import HeadPose, Kinematics
from neckcoach.core.seat import SeatFollower, follow_seat
from neckcoach.core.view_move import RoomView, ViewMonitor
from neckcoach.io.detector import sampled_grey
from neckcoach.io.room_watch import RoomWatcher

# About this many samples per side of the face box are averaged for its
# brightness: plenty for a mean, and cheap at any resolution.
_FACE_SAMPLES_PER_SIDE = 48


class Measurement:
    """Stateful per-frame measurement; time comes in as `t_s`, never from a clock."""

    def __init__(self, *, hfov_deg: float = 60.0, neutral_s: float = 2.5, use_pose: bool = False,
                 method: str = "mixed", detector=None, auto_calibrate: bool = True,
                 hold_calibration: bool = False, watch_room: bool = True) -> None:
        if detector is None:
            from neckcoach.io.detector import FaceDetector

            detector = FaceDetector(use_pose=use_pose)
        self.detector = detector
        self.estimator = HeadPoseEstimator(hfov_deg=hfov_deg, method=method)
        self.calibrator = NeutralCalibrator(duration_s=neutral_s)
        self.filter = KinematicsFilter()
        self.seat = SeatFollower()
        # Whether the camera moved after the neutral (see core.view_move); off for callers
        # whose frames are not a camera's (a test double's blank frames).
        self.room = RoomWatcher(hfov_deg=hfov_deg) if watch_room else None
        self.view = ViewMonitor()
        self.auto_calibrate = auto_calibrate
        self.hold_calibration = bool(hold_calibration)
        self.neutral: Neutral | None = None
        self.last_calibration: CalibrationResult | None = None
        self.accepted_calibration: CalibrationResult | None = None  # the neutral in use's
        self.last_pose: HeadPose | None = None
        self._calibrating = auto_calibrate
        self._room_frame: tuple[np.ndarray, float] | None = None  # not yet watched
        self._room_view: RoomView | None = None

    def pose(self, frame_rgb: np.ndarray, t_s: float) -> HeadPose:
        """Detector + estimator only (absolute, uncalibrated), with the picture fields filled in."""
        if hasattr(self.detector, "look_far"):
            self.detector.look_far = self._calibrating  # for the camera check (see FaceDetector.far_face_px)
        pose = pose_of_frame(self.detector, self.estimator, frame_rgb, t_s)
        if not pose.face_found and self.neutral is None and pose.faces < 2:
            # Nobody has been calibrated yet, so there is no patient to protect:
            # whoever sits down next (wherever) is followed. Not while several faces
            # are in view: the detector is watching which of them is the patient
            # (neckcoach.io.patient.SHOWN_BACK_SIZES).
            self.detector.reset()
        return pose

    def update(self, frame_rgb: np.ndarray, t_s: float) -> Kinematics:
        self._room_frame, self._room_view = (frame_rgb, t_s), None
        pose = self.pose(frame_rgb, t_s)
        self.last_pose = pose
        view = self.watch_room()
        if self.room is not None:
            self.room.patient_at(pose.face_center_px if pose.face_found else None, pose.face_width_px)
        return self.update_pose(pose, view)

    def watch_room(self) -> RoomView | None:
        """The room watch of the frame `update` is measuring, done once.

        The live loop calls it while face mesh infers on that frame (`SessionLoop`'s
        `during_inference`): its optical flow (1-2 ms a frame) runs in cv2 without the GIL
        on the core the model leaves free, instead of adding to the frame's time. Otherwise
        `update` calls it once the face is found; the result is the same either way.
        """
        if self.room is not None and self._room_frame is not None:
            (frame_rgb, t_s), self._room_frame = self._room_frame, None
            self._room_view = self.room.update(frame_rgb, t_s)
        return self._room_view

    def update_pose(self, pose: HeadPose, view: RoomView | None = None) -> Kinematics:
        """`view`: the room behind the patient this frame (`RoomWatcher`), None where unknown."""
        # A camera moved during a capture moves the readings too, so the capture's own
        # stillness check refuses it; one moved just after is told once it rests.
        camera_moved_deg = self.view.update(view, pose.t_s)
        held = self._calibrating and self.hold_calibration
        if held:
            self.calibrator.reset()  # the capture starts afresh once the hold is lifted
        elif self._calibrating:
            started_s = self.calibrator.started_s
            result = self.calibrator.update(pose)
            if result is not None:
                self.last_calibration = result
                if result.ok:
                    self.accepted_calibration = result
                    self.neutral = result.neutral
                    self._calibrating = False
                    self.filter.reset()
                    self.seat.reset()
                    self.view.mark_neutral(started_s if started_s is not None else pose.t_s, pose.t_s)
                elif self.neutral is None and pose.faces >= 2:
                    # The face followed may not be the patient: with nobody calibrated yet, the
                    # first face found is followed, and it may be a photo on the wall found before
                    # the person (rendered population seed 400818: a camera 40 cm below the eyes
                    # found a poster of a head turned 21 deg first; the patient, found once they
                    # came closer, was "somebody else", and every capture was refused as "not
                    # facing the camera" until the session gave up). The choice starts over
                    # among the faces now in view (`neckcoach.io.patient.first_choice`).
                    getattr(self.detector, "reset", lambda: None)()
        if self.neutral is None:
            # Angles from facing the camera squarely mean something; a "retraction" from no
            # neutral is the head's distance from the camera (a chin-tuck session's trace read
            # 747 mm, trusted, for its first half-second, and the report's depth axis ran to 800).
            kin = replace(self.filter.update(IDENTITY.relative(pose)), retraction_reliable=False)
        else:
            # Not while a new neutral is being captured: that capture replaces it anyway.
            seat = None if self._calibrating else self.seat
            self.neutral, kin = follow_seat(self.neutral, self.filter, seat, pose)
        kin.extra["calibrated"] = self.neutral is not None
        kin.extra["calibrating"] = self._calibrating
        kin.extra["calibration_held"] = held
        kin.extra["camera_moving"] = self.view.moving
        if (self.view.moving or self.view.displaced) and self.neutral is not None:
            # The readings move with the camera's turn, not the head's: nothing read now is
            # judged or counted (a lid bumped in a tenth of a second would read as a jolt),
            # nor once it rests away from the neutral's place, until that move is told.
            kin = kin.distrusted()
        if camera_moved_deg is not None and self.neutral is not None and not self._calibrating:
            kin.extra["camera_moved_deg"] = round(camera_moved_deg, 1)
        if self.last_calibration is not None:
            kin.extra["calibration"] = self.last_calibration.reason
        accepted = self.accepted_calibration
        if accepted is not None and accepted.depth_view_deg is not None and not self._calibrating:
            kin.extra["depth_view_deg"] = accepted.depth_view_deg  # no chin tuck measured from there
        return kin

    def require_extension(self, needed_deg: float) -> None:
        """The routine asks the person to look up `needed_deg` from neutral: a neutral
        captured from where that cannot be measured is refused with advice (see
        `calibration.VIEW_ASKS`)."""
        self.calibrator.require_extension(needed_deg, self.estimator.max_reliable_pitch_deg)

    def require_depth(self, ask: bool = True) -> None:
        """The routine has chin tucks: a neutral seen from where their depth is not measured
        (`calibration.depth_view_words`) is recorded, and with `ask` refused with advice."""
        self.calibrator.require_depth(MAX_POSITION_ANGLE_DEG, ask)

    def set_neutral(self, neutral: Neutral) -> None:
        self.neutral = neutral
        self.accepted_calibration = None  # its room was not measured
        self._calibrating = False
        self.filter.reset()
        self.seat.reset()
        self.view.forget_neutral()  # where the camera stood for it is not known

    def recalibrate(self, *, forget_patient: bool = True) -> None:
        """Start a new neutral capture; the old neutral stays in use until one is accepted.

        The detector forgets whom it was following, so recalibrating is how a
        new person becomes the patient (it never adopts a stranger on its own);
        `forget_patient=False` keeps following the same person (the camera moved,
        the patient did not).
        """
        if forget_patient:
            self.detector.reset()
        self.calibrator.reset()
        self._calibrating = True

    def reset(self) -> None:
        self.detector.reset()
        self.estimator.reset()
        self.calibrator.reset()
        self.filter.reset()
        self.seat.reset()
        if self.room is not None:
            self.room.reset()
        self.view.reset()
        self.neutral = None
        self.last_calibration = None
        self.accepted_calibration = None
        self._calibrating = self.auto_calibrate


def pose_of_frame(detector, estimator: HeadPoseEstimator, frame_rgb: np.ndarray, t_s: float,
                  observe=None) -> HeadPose:
    """One frame through the detector and the estimator, with the picture fields.

    The estimator's verdict on the previous frame tells the detector whether to
    follow the head's points into this one (only at large yaw), and its verdict
    on this frame whether this frame's mesh may anchor them (see
    neckcoach/io/headtrack.py). A detector without a follower (a test double)
    is simply not asked. `observe`, if given, returns this frame's observation
    instead of `detector.update(frame_rgb)`: a recording's pass reads frame N
    (`detector.observe(inference)`) while face mesh infers on frame N+1.
    """
    if hasattr(detector, "confirm_anchor"):
        detector.tracking_wanted = estimator.tracking_wanted
    obs = observe() if observe is not None else detector.update(frame_rgb)
    height, width = frame_rgb.shape[:2]
    face_luma = face_brightness(frame_rgb, obs.bbox_px) if obs.face_found and obs.landmarks_px.size else 0.0
    return pose_of_observation(detector, estimator, obs, (int(width), int(height)), face_luma, t_s)


def pose_of_observation(detector, estimator: HeadPoseEstimator, obs, image_size_px: tuple[int, int],
                        face_luma: float, t_s: float) -> HeadPose:
    """The estimator's half of `pose_of_frame`, given the detector's observation
    (a replay of cached detector output goes through this same code)."""
    centre = None
    if obs.face_found and obs.landmarks_px.size:
        x, y = obs.center_px  # the detector computed it already, to follow the patient
        centre = (float(x), float(y))
    else:
        face_luma = 0.0
    pose = estimator.update(obs, t_s, image_size_px=image_size_px,
                            face_center_px=centre, face_brightness=face_luma)
    if hasattr(detector, "confirm_anchor") and estimator.anchor_ok:
        detector.confirm_anchor()
    return pose


def face_brightness(frame_rgb: np.ndarray, box: tuple[float, float, float, float]) -> float:
    """Mean grey level (0-255, mean of the channels like the frame's) inside the face box.

    `box` is the landmarks' (x0, y0, x1, y1) in pixels. Why the face and not
    only the frame: against a bright window the frame is bright while the face
    is in shadow, and that is what spoils the landmarks. 0.0 when the box lies
    outside the frame.
    """
    height, width = frame_rgb.shape[:2]
    if not all(math.isfinite(v) for v in box):  # a NaN or inf landmark reaches min or max
        return 0.0
    x0, x1 = max(0, math.floor(box[0])), min(width, math.ceil(box[2]) + 1)
    y0, y1 = max(0, math.floor(box[1])), min(height, math.ceil(box[3]) + 1)
    if x1 <= x0 or y1 <= y0:
        return 0.0
    step = max(1, min(x1 - x0, y1 - y0) // _FACE_SAMPLES_PER_SIDE)
    roi = frame_rgb[y0:y1, x0:x1]
    if roi.dtype != np.uint8 or roi.ndim != 3 or roi.shape[2] != 3:
        return float(roi[::step, ::step].mean())
    return sampled_grey(roi, step)
