"""How far the room behind the patient has shifted in the picture: the camera's own turn.

Why and what is decided from it: `neckcoach.core.view_move`. Here the shift is measured,
as video stabilisers measure a camera's motion: corners of the room (outside the
patient's head and shoulders) are picked in a key frame, followed into every frame by
pyramidal Lucas-Kanade optical flow from the key frame itself (so the offset does not
drift frame by frame; the last frame's positions are only the starting guess), and the
shift most of them agree on is taken (the median, then the median of the corners within
`AGREE_PX` of it), so that a few corners on the patient's own shoulder are outvoted by
the wall. Where many move otherwise (a person walking past covers a side of the room),
the picture holds two motions and which is the room's is not known: no offset is given
(`OTHER_MOTION_FRACTION`). The offset is the camera's turn in degrees, sideways (pan) and
up or down (tilt): the median of the agreeing corners' turns, each from where it lies in
the picture.

Only a shift is fitted, not a rotation of the picture: a laptop lid tilts, a camera on a
monitor is turned or pushed, and neither rolls; on a real clip whose corners lay along
one side of the picture (tests/data/clips/cap13_edit2.mp4, a still camera) a fitted roll
wandered by 1.8 deg with the compression noise of a few corners.

The key frame is taken afresh when fewer than half of its corners still agree (the
room's offset carries on from the old key frame's), and a new chain starts after the
room was lost for `LOST_S` (too few agreeing corners: a bare wall, the room covered,
the camera shaken past following).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from neckcoach.core.view_move import RoomView

# Half a 640x480 frame: corners of a room's furniture, frames and shelves are found at
# this size; following 40 of them there and back costs about 0.7 ms of CPU a frame (80
# cost 1.6 ms, and 12 are needed).
WORK_WIDTH_PX = 320
MAX_CORNERS = 40
WINDOW_PX = (15, 15)
# A picture without corners enough is looked at again this often, not every frame.
RETRY_S = 0.5
# Fewer agreeing corners than this and the room's shift is not trusted.
MIN_AGREEING = 8
# A key frame needs this many corners: room for a third of them to be covered or lost.
KEY_CORNERS = 12
# A corner follows the wall when it moved within this of the room's shift (working
# pixels; about 0.2 deg at a 60 deg field of view).
AGREE_PX = 1.5
# Corners followed there and back but moving otherwise than the room: more than this
# share of them and the picture holds two motions (a person walking past, a key frame
# taken while they were in it): neither is taken for the room's, and no key frame is
# taken from it. With the shift taken from the larger group, a textured walker covering
# half the room was followed as the room and its offset carried into the next key frame:
# rendered population seed 401308 (a person passing behind at 1.4 m/s) then read a
# still camera 7.6 deg turned and told a move; tests/test_room_watch.py, 12-36 deg.
# A quarter: a few corners on the edge of the patient's moving head or shoulders are
# outvoted, a person covering a side of the room is not.
OTHER_MOTION_FRACTION = 0.25
# "Otherwise" is farther from the room's shift than AGREE_PX or this share of the shift,
# whichever is more: a turned camera sees the room through a homography, not a shift, and
# its corners' shifts spread around their median by up to 0.44 of its length (60-78 deg
# lenses, turns of 6-20 deg, computed from the homography; 0.22 at 60 deg). Held to
# AGREE_PX, a lid tilted 13.6 deg behind a rendered patient read as two motions, and the
# move was never told (stop 53). A walker's shift differs from the wall's by all of it.
OTHER_MOTION_SPREAD = 0.5
# Followed back into the key frame, a corner lands within this of where it started.
FB_MAX_PX = 0.5
# Where the patient is, in face widths from the face's centre: the head (hair about 1.3
# above the centre; sideways the skull reaches about 0.6, and 0.75 from the face's centre of
# a head turned 60 deg, whose face slides towards the turn), the neck down to where the
# shoulders begin (the chin about 0.65 below the centre, the neck about half a face width
# more), and from there down the trunk and arms (a person's shoulders are about 2.5-3 face
# widths across, the rendered patient's arms 4.2). The room beside the head, above the
# shoulders, is kept: with a person 0.7 m from the camera, a head-and-shoulders box 3.6
# face widths wide left only a blank wall beside a bookcase behind them, and no camera move
# could be seen (stop 52).
HEAD_HALF_WIDTH = 0.8
HEAD_ABOVE = 1.3
SHOULDERS_BELOW = 1.1
BODY_HALF_WIDTH = 2.5
LOST_S = 1.0
# A corner is the room's, not the sensor's noise, when its smaller gradient eigenvalue
# (cv2.cornerMinEigenVal, 7x7 block) is that of a step of at least `CORNER_CONTRAST_SIGMAS`
# times the picture's noise. Measured: a step corner of contrast C gives 3.6e-6 C^2, and
# the largest over a 320x240 picture of noise alone (sigma) 2.4e-5 sigma^2, that of a step
# of 2.6 sigma; on a bare wall, corners picked by a threshold relative to the best one were
# noise, followed by noise, and the fit found "agreement" among them at random offsets.
BLOCK_PX = 7
EIGEN_PER_CONTRAST2 = 3.6e-6
CORNER_CONTRAST_SIGMAS = 6.0
# Noise below one grey level (a smoothed or compressed picture) is counted as one.
MIN_NOISE_GREY = 1.0
# Immerkaer's noise estimate: this kernel on white noise of sigma has sigma 6 sigma.
_NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
_MAD = 0.6745


def noise_grey(grey: np.ndarray) -> float:
    """The picture's noise in grey levels (robust: the median, so edges barely count)."""
    response = cv2.filter2D(grey.astype(np.float32), -1, _NOISE_KERNEL)
    return float(np.median(np.abs(response))) / (_MAD * 6.0)


class RoomWatcher:
    """`update(frame_rgb, t_s)` -> `RoomView` (see above); `patient_at(...)` after each frame.

    The patient's place kept out of a key frame is the one last given (the previous
    frame's face), so a frame can be watched before its own face is found: the live loop
    watches it while face mesh infers (`Measurement.watch_room`), and a recording's
    review reads it the same way. Between frames a head moves by a tenth of a face width
    at most (a flick of 7 deg in a 15 fps frame), within the room left around the skull
    (`HEAD_HALF_WIDTH`).
    """

    def __init__(self, *, hfov_deg: float = 60.0) -> None:
        if not 10.0 <= hfov_deg <= 170.0:
            raise ValueError(f"hfov_deg must be in [10, 170], got {hfov_deg!r}")
        self.hfov_deg = float(hfov_deg)
        self.chain = 0
        self.reset()

    def patient_at(self, face_center_px: tuple[float, float] | None, face_width_px: float) -> None:
        """Where the patient's face is (full-frame pixels). None (no face found this frame)
        keeps the last place: a head turned past what face mesh follows is still there."""
        if face_center_px is not None and face_width_px > 0:
            self._patient = (face_center_px, float(face_width_px))

    def reset(self) -> None:
        self._key: np.ndarray | None = None
        self._key_points: np.ndarray | None = None
        self._guess: np.ndarray | None = None
        self._key_offset = (0.0, 0.0)  # the key frame's own offset in its chain
        self._seen_t: float | None = None
        self._tried_t: float | None = None  # the last look for a key frame that found none
        self._patient: tuple[tuple[float, float], float] | None = None
        self._size: tuple[int, int] | None = None  # the frames' (height, width)

    def update(self, frame_rgb: np.ndarray, t_s: float) -> RoomView:
        height, width = frame_rgb.shape[:2]
        if self._size != (height, width):
            if self._size is not None:
                # Another frame size (a camera opened again at another resolution): its key
                # frame and the patient's place, in the old frame's pixels, are taken afresh.
                self.reset()
            self._size = (height, width)
        if self._key is None and (self._patient is None or (
                self._tried_t is not None and 0.0 <= t_s - self._tried_t < RETRY_S)):
            # No key frame before the patient's place is known: corners on their face would
            # move with every exercise.
            return RoomView.unseen(self.chain)
        scale = WORK_WIDTH_PX / width if width > WORK_WIDTH_PX else 1.0
        grey = cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2GRAY)
        if scale != 1.0:
            grey = cv2.resize(grey, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
        focal = grey.shape[1] / 2.0 / math.tan(math.radians(self.hfov_deg) / 2.0)
        if self._key is None:
            self._tried_t = t_s
            self._rekey(grey, scale, (0.0, 0.0))
            if self._key is None:
                return RoomView.unseen(self.chain)
            self.chain += 1  # a new key frame from scratch: its offsets start a new chain
            self._seen_t = t_s
            return RoomView((0.0, 0.0), self.chain)
        fit = self._fit(grey, focal)
        if fit is None:
            if self._seen_t is not None and t_s - self._seen_t > LOST_S:
                self._key = None  # a new chain at the next frame
            return RoomView.unseen(self.chain)
        own, agreeing = fit
        offset = tuple(k + o for k, o in zip(self._key_offset, own))
        self._seen_t = t_s
        if agreeing < max(MIN_AGREEING, len(self._key_points) // 2):
            self._rekey(grey, scale, offset)
        return RoomView(offset, self.chain)

    def _rekey(self, grey, scale, offset) -> None:
        mask = np.full(grey.shape, 255, np.uint8)
        (x, y), width = self._patient  # known before any key frame is taken (see update)
        cx, cy, w = x * scale, y * scale, width * scale
        shoulders = max(int(cy + SHOULDERS_BELOW * w), 0)
        mask[max(int(cy - HEAD_ABOVE * w), 0):shoulders,
             max(int(cx - HEAD_HALF_WIDTH * w), 0):max(int(cx + HEAD_HALF_WIDTH * w) + 1, 0)] = 0
        mask[shoulders:, max(int(cx - BODY_HALF_WIDTH * w), 0):max(int(cx + BODY_HALF_WIDTH * w) + 1, 0)] = 0
        need = EIGEN_PER_CONTRAST2 * (CORNER_CONTRAST_SIGMAS * max(noise_grey(grey), MIN_NOISE_GREY)) ** 2
        eigen = cv2.cornerMinEigenVal(grey, BLOCK_PX, ksize=3)
        best = float(eigen[mask > 0].max()) if mask.any() else 0.0
        corners = (cv2.goodFeaturesToTrack(grey, MAX_CORNERS, max(0.01, need / best), 8, mask=mask,
                                           blockSize=BLOCK_PX) if best >= need else None)
        if corners is None or len(corners) < KEY_CORNERS:
            self._key = None
            return
        self._key, self._key_points = grey, corners.astype(np.float32)
        self._guess = self._key_points.copy()
        self._key_offset = offset

    def _fit(self, grey, focal: float) -> tuple[tuple[float, float], int] | None:
        """The camera's turn since the key frame (pan, tilt degrees) and how many corners agree."""
        moved, status, _ = cv2.calcOpticalFlowPyrLK(
            self._key, grey, self._key_points, self._guess.copy(), winSize=WINDOW_PX, maxLevel=3,
            flags=cv2.OPTFLOW_USE_INITIAL_FLOW)
        back, back_status, _ = cv2.calcOpticalFlowPyrLK(grey, self._key, moved, self._key_points.copy(),
                                                        winSize=WINDOW_PX, maxLevel=3,
                                                        flags=cv2.OPTFLOW_USE_INITIAL_FLOW)
        keys, moved, back = (a.reshape(-1, 2) for a in (self._key_points, moved, back))
        # Followed there and back to where it started: a corner of the room, not a patch of
        # compression noise or one covered by someone passing (forward-backward error).
        good = ((status.ravel() == 1) & (back_status.ravel() == 1)
                & (np.linalg.norm(back - keys, axis=1) <= FB_MAX_PX))
        if good.sum() < MIN_AGREEING:
            return None
        shifts = moved[good] - keys[good]
        shift = np.median(shifts, axis=0)
        spread = np.linalg.norm(shifts - shift, axis=1)
        agree = spread <= AGREE_PX
        agreeing = int(agree.sum())
        if agreeing < MIN_AGREEING:
            return None
        others = int((spread > max(AGREE_PX, OTHER_MOTION_SPREAD * float(np.linalg.norm(shift)))).sum())
        if others > OTHER_MOTION_FRACTION * good.sum():
            return None  # two motions in the picture: which is the room's is not known
        shift = np.median(shifts[agree], axis=0)
        # Each agreeing corner's turn, from where it lies: a corner off the picture's middle
        # shifts by more for the same turn (f (tan(a + t) - tan a)); the shift itself read
        # as at the middle over-read a 4 deg pan by 0.34 deg (tests/test_room_watch.py).
        centre = np.array(grey.shape[::-1], np.float32) / 2.0
        was, now = keys[good][agree] - centre, moved[good][agree] - centre
        turn = np.degrees(np.median(np.arctan2(now, focal) - np.arctan2(was, focal), axis=0))
        # Every corner's next starting guess is where the room has gone: a corner lost for a
        # frame (covered, blurred) is looked for again there.
        self._guess = (self._key_points + shift.astype(np.float32)).astype(np.float32)
        return (float(turn[0]), float(turn[1])), agreeing


__all__ = ["RoomWatcher"]
