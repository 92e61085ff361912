"""Picture quality: can the head be measured in this frame, and if not, what should the person do.

One definition serves two places: the camera check before calibration (which
also asks for a centred face) and the coach during exercises (which pauses
counting on a lasting problem). Pure: samples in, a problem kind out; time is
passed in, never read from a clock.

A sample is anything with the `HeadPose` / `Kinematics` picture fields
(`face_found`, `faces`, `face_width_px`, `brightness` and, when measured,
`image_size_px`, `face_center_px`, `face_brightness`). A value of 0 (or None)
means "not measured" and is never held against the person, so samples from
sources that do not fill a field still work.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass

from neckcoach.core import events as ev
from neckcoach.core.checks import check_range
from neckcoach.core.compat import SLOTS

# What to say before calibration: the person is settling in, so the
# instruction says how to sit rather than how to move.
CHECK_MESSAGES = {
    ev.FACE_LOST: "I can't see you. Please sit in front of the screen.",
    # A photo or poster behind can be as big as the patient's face; it does not move, the
    # patient does (`neckcoach.io.patient.SHOWN_BACK_SIZES`). A real person beside does not
    # turn when asked to the patient, so the same request tells the patient from them.
    ev.TWO_FACES: "I can see two faces about the same size and can't tell which one is you. "
                  "Please turn your head a little to one side and back. "
                  "If someone is beside you, please ask them to step out of view.",
    ev.TOO_FAR: "Please come a little closer.",
    ev.TOO_CLOSE: "Please move back a little.",
    ev.POOR_LIGHT: "It's too dark. Please turn on a light in front of you.",
    ev.TOO_BRIGHT: "There's too much light behind you. Please close the curtains "
                   "or turn on a light in front of you.",
    ev.OFF_CENTRE: "Please move to the middle of the picture.",
    ev.NOT_PATIENT: "I can see someone, but not where you were sitting. Please sit where you were, "
                    "or press C to start again.",
}
# Framing problems are said with the way to fix them: a face high or low in the
# picture is the laptop lid's tilt (a seated person cannot raise or lower their
# head by the tens of centimetres it would take), a face to the side is where
# the person sits.
TILT_BACK_MESSAGE = "Please tilt the screen back a little, so that your face is in the middle of the picture."
TILT_FORWARD_MESSAGE = ("Please tilt the screen forward a little, so that your face is in the middle "
                        "of the picture.")
CLOSER_MESSAGE = "Please come about {cm} cm closer."
BACK_MESSAGE = "Please move back about {cm} cm."
GOOD_MESSAGE = "Good. Stay there."
# How far to move, from the face's width in pixels: face mesh's outline spans
# about 13 cm on an adult face (bizygomatic breadth is 12.5-14.5 cm; 12.6 cm on
# the scanned head of the virtual patient), seen through a lens of about 60 deg
# (what the pose estimator assumes; laptop lenses are 55-78 deg, hence "about").
FACE_OUTLINE_MM = 130.0
ASSUMED_HFOV_DEG = 60.0
# Aim inside the limit, not at it: a person who stops just past the limit trips
# it again by leaning back; 15 % is about 10 cm at 70 cm.
DISTANCE_MARGIN = 1.15
# Said in whole steps a person can act on: 5 cm (about two fingers' width), and
# at most 40 cm at a time: a wide lens (78 deg) makes the face look a third
# further away than the estimate assumes, so a longer move could seat the person
# too close; the check asks again if it was not enough.
DISTANCE_STEP_CM = 5
MAX_MOVE_CM = 40
CHECKING_MESSAGE = "Checking the camera..."
# A limit crossed in fewer than one frame in five is the measure's own noise around the limit,
# which the person can neither see nor act on: rendered population seed 400815, a face 0.76 m
# away and 80-83 px wide, was "too far" in 7-30 % of the frames of each second; the check
# required every frame of a second to be good, so it never got ready, never named a problem, and
# showed "Good. Stay there." for 20 s. A problem in one frame in five or more is said.
NOISE_SHARE = 0.2


# The full-range face detector's box is wider than face mesh's face (`face_width_px`): 1.16-1.25x
# on the rendered head at 0.5-1.1 m from the camera (box 153, 117, 95, 73 px for a face 129, 95,
# 76, 63 px wide). A face it alone finds (`far_face_px`, see neckcoach/io/detector.py) is judged
# and measured for distance as a face this much narrower.
FAR_BOX_PER_FACE_WIDTH = 1.2

# During the exercises the exercise itself changes the outline's width at the same distance, so
# "too far" is read from the width only where the movement leaves it alone:
# - turned more than WIDTH_YAW_DEG the outline narrows with the turn (by about a fifth at 50 deg)
#   and says nothing of being too far; so does tilting the head back more than
#   WIDTH_EXTENSION_DEG: on the pitch sweeps of fresh accuracy scenes 614 and 615 (cameras 20-21
#   cm below, 0.5 and 1.0 m away) the outline was 0.97-1.0 of its width at neutral with 3-10 deg
#   of extension, 0.96-0.97 at 10-20 (down to 0.94, past the 5 % EXERCISE_WIDTH_SLACK allows),
#   0.92-0.95 at 20-30, 0.87-0.91 at 30-40 and 0.78-0.85 at 40-50; held out, scenes 616 and 617:
#   at least 0.95 at 3-10 deg, 0.93-0.96 at 10-20, 0.79-0.86 at 40-50. Rendered population seed
#   401443 (0.6 m away through a 70 deg lens): an extension held at 34 deg was stopped with
#   "Please come about 20 cm closer", and a flick in that hold went unwatched. Flexion keeps or
#   widens the outline (0.99-1.08), and a narrower face is never too close.
# - a chin tuck takes the head back by up to 40 mm (the bundled routine's out-of-range limit):
#   about 5 % narrower at the ~0.9 m where an adult face is 80 px wide through a 60 deg lens.
#   The camera check asks for the full width; the exercise may take EXERCISE_WIDTH_SLACK off it
#   (rendered population seed 400659, 0.82 m away: a 15 mm tuck's hold was stopped with
#   "Please come about 15 cm closer").
WIDTH_YAW_DEG = 15.0
WIDTH_EXTENSION_DEG = 10.0
EXERCISE_WIDTH_SLACK = 0.95


def _far_face_width(sample) -> float:
    """Face width (face mesh's measure) of a face only the full-range detector found, 0 if none."""
    return _measured(getattr(sample, "far_face_px", 0.0)) / FAR_BOX_PER_FACE_WIDTH


class PictureQuality:
    """Decides the most pressing picture problem of one sample, or None.

    Thresholds and why (grey levels are 0-255 means over the region; the
    light figures are rough, chosen to catch clearly bad pictures only):
    - min_face_width_px 80: below this the landmarks are too coarse for
      angles of a few degrees. An absolute size, because landmark precision
      is a matter of pixels, whatever the frame size.
    - max_face_width_frac 0.5 (of the frame width): turning or bending moves
      the face about half its width sideways (it pivots about the neck), so a
      wider face is cut off by the frame edge mid-exercise.
    - min_brightness 40 (frame) / min_face_brightness 25 (face box): below
      these the camera's noise swamps the facial features and landmarks jitter.
      The face limit is low so that dark skin in ordinary light never trips it.
    - max_brightness 230 (frame or face box): above this most pixels are
      clipped at 255, features wash out and the face outline disappears.
    - backlight_ratio 0.3 with backlight_min_frame_brightness 120: a face
      under a third of the frame's brightness in a bright frame means the
      camera exposed for a window or lamp behind the person. Dark skin in
      front of a white wall stays above that ratio.
    - max_centre_offset_frac 0.3: a face whose centre is in the outer fifth
      of the frame (either direction) leaves the picture when the head turns
      or bends; only checked when `framing=True` (the camera check).
    - max_glare_share 0.1, without a face, in the camera check only: a tenth
      of the frame blown out to white is a window or lamp in view, the light
      the camera exposes for, which leaves a face in front of it too dark to
      find (rendered population seed 400478: a window behind a patient seated
      in front of the screen, 16 % of the frame clipped, no face found for
      20 s while the app said "Please sit in front of the screen"). Webcam
      frames of people indoors clip almost nothing (the real clips: at most
      0.1 %). With a face found, the face-to-frame ratio above says more.
      Not during the exercises: a face found before and lost at the end of a
      movement is the movement (seed 400477, a deep extension with a window
      in view, was told of the light).
    - too far without a face, in the camera check only: a face only the
      full-range detector finds (`far_face_px`), narrower than
      min_face_width_px, is someone sitting too far away for face mesh (seed
      400521, 0.98 m: "I can't see you" for 20 s); they are asked to come
      closer, by how much measured from that face.
    """

    def __init__(self, *, min_face_width_px: float = 80.0, max_face_width_frac: float = 0.5,
                 min_brightness: float = 40.0, min_face_brightness: float = 25.0,
                 max_brightness: float = 230.0, backlight_ratio: float = 0.3,
                 backlight_min_frame_brightness: float = 120.0,
                 max_centre_offset_frac: float = 0.3, max_glare_share: float = 0.1) -> None:
        self.min_face_width_px = check_range("min_face_width_px", min_face_width_px, 0, 2000)
        self.max_face_width_frac = check_range("max_face_width_frac", max_face_width_frac, 0.05, 1.0)
        self.min_brightness = check_range("min_brightness", min_brightness, 0, 255)
        self.min_face_brightness = check_range("min_face_brightness", min_face_brightness, 0, 255)
        self.max_brightness = check_range("max_brightness", max_brightness, 0, 255)
        self.backlight_ratio = check_range("backlight_ratio", backlight_ratio, 0, 1)
        self.backlight_min_frame_brightness = check_range(
            "backlight_min_frame_brightness", backlight_min_frame_brightness, 0, 255)
        self.max_centre_offset_frac = check_range("max_centre_offset_frac", max_centre_offset_frac,
                                                   0.05, 0.5)
        self.max_glare_share = check_range("max_glare_share", max_glare_share, 0.0, 1.0)
        if not self.min_brightness < self.max_brightness:
            raise ValueError(f"min_brightness must be below max_brightness ({self.max_brightness:g}), "
                             f"got {min_brightness!r}")

    def assess(self, sample, *, framing: bool = True, standing: str | None = None) -> str | None:
        """The problem kind (an `events` quality kind or OFF_CENTRE), or None if the picture is fine.

        Order: who is in view, then light (it spoils every other measure),
        then distance, then framing. Without a face, a dark or blown-out
        frame is named as such, since that is usually why the face is missing.

        Other faces matter only while the patient is not found: the detector
        (`neckcoach.io.patient`) follows the patient among everyone and
        everything else in view, counts only people in `faces` (not pictures),
        and reports the patient not found when another face could be the
        patient. So a found patient is measurable however many others are in
        view; without it, several people means "can't tell you apart", one
        means "someone, but not where you were", none means "can't see you".

        `standing` is the problem already being acted on, which a sample that cannot tell
        (a turned or tilted-back head's width, see WIDTH_YAW_DEG) leaves standing.
        """
        frame_luma = _measured(getattr(sample, "brightness", 0.0))
        faces = int(getattr(sample, "faces", 0) or 0)
        if not sample.face_found:
            if faces > 1:
                return ev.TWO_FACES
            light = self._light(frame_luma, 0.0)
            glare = _measured(getattr(sample, "glare_share", 0.0))
            if light is None and framing and glare > self.max_glare_share:
                light = ev.TOO_BRIGHT  # a window or lamp in view, the face too dark to find
            if light is not None:
                return light
            if framing and 0 < _far_face_width(sample) < self.min_face_width_px:
                return ev.TOO_FAR  # someone in view, too far away for face mesh to find
            return ev.NOT_PATIENT if faces == 1 else ev.FACE_LOST
        light = self._light(frame_luma, _measured(getattr(sample, "face_brightness", 0.0)))
        if light is not None:
            return light
        width_px = _measured(getattr(sample, "face_width_px", 0.0))
        if 0 < width_px < self.min_face_width_px * (1.0 if framing else EXERCISE_WIDTH_SLACK):
            turned = not framing and (abs(_measured(getattr(sample, "yaw_deg", 0.0))) > WIDTH_YAW_DEG
                                      or _measured(getattr(sample, "pitch_deg", 0.0)) < -WIDTH_EXTENSION_DEG)
            if not turned or standing == ev.TOO_FAR:  # a turn or a tilt back neither raises nor clears it
                return ev.TOO_FAR
        image_w, image_h = _image_size(sample)
        if image_w > 0 and width_px > self.max_face_width_frac * image_w:
            return ev.TOO_CLOSE
        if framing and image_w > 0 and image_h > 0:
            centre = getattr(sample, "face_center_px", None)
            if centre is not None:
                dx = abs(float(centre[0]) - image_w / 2) / image_w
                dy = abs(float(centre[1]) - image_h / 2) / image_h
                if max(dx, dy) > self.max_centre_offset_frac:
                    return ev.OFF_CENTRE
        return None

    def advice(self, problem: str, sample, general: Mapping[str, str] = CHECK_MESSAGES) -> str:
        """What to say about `problem`, seen in `sample`: how far to move or which way to tilt
        the screen when the sample measures it, else the `general` instruction."""
        width_px = _measured(getattr(sample, "face_width_px", 0.0)) or _far_face_width(sample)
        image_w, image_h = _image_size(sample)
        if problem in (ev.TOO_FAR, ev.TOO_CLOSE) and width_px > 0 and image_w > 0:
            focal_px = image_w / 2 / math.tan(math.radians(ASSUMED_HFOV_DEG / 2))
            distance_mm = focal_px * FACE_OUTLINE_MM / width_px
            if problem == ev.TOO_FAR:
                wanted_px = self.min_face_width_px * DISTANCE_MARGIN
                move_mm = distance_mm * (1.0 - width_px / wanted_px)
                return CLOSER_MESSAGE.format(cm=_step_cm(move_mm))
            wanted_px = self.max_face_width_frac * image_w / DISTANCE_MARGIN
            move_mm = distance_mm * (width_px / wanted_px - 1.0)
            return BACK_MESSAGE.format(cm=_step_cm(move_mm))
        centre = getattr(sample, "face_center_px", None)
        if problem == ev.OFF_CENTRE and centre is not None and image_w > 0 and image_h > 0:
            dx = (float(centre[0]) - image_w / 2) / image_w
            dy = (float(centre[1]) - image_h / 2) / image_h
            if abs(dy) > self.max_centre_offset_frac and abs(dy) >= abs(dx):
                return TILT_BACK_MESSAGE if dy < 0 else TILT_FORWARD_MESSAGE
        return general[problem]

    def _light(self, frame_luma: float, face_luma: float) -> str | None:
        if frame_luma > self.max_brightness or face_luma > self.max_brightness:
            return ev.TOO_BRIGHT
        if (face_luma > 0 and frame_luma >= self.backlight_min_frame_brightness
                and face_luma < self.backlight_ratio * frame_luma):
            return ev.TOO_BRIGHT
        if 0 < frame_luma < self.min_brightness or 0 < face_luma < self.min_face_brightness:
            return ev.POOR_LIGHT
        return None


def _measured(value) -> float:
    """A finite number, with 0 standing for "not measured" (None, NaN)."""
    try:
        v = float(value or 0.0)
    except (TypeError, ValueError):
        return 0.0
    return v if math.isfinite(v) else 0.0


def _step_cm(move_mm: float) -> int:
    """A distance to move, in whole `DISTANCE_STEP_CM` steps (at least one), rounded up."""
    return min(MAX_MOVE_CM, DISTANCE_STEP_CM * max(1, math.ceil(move_mm / 10.0 / DISTANCE_STEP_CM)))


def _image_size(sample) -> tuple[float, float]:
    size = getattr(sample, "image_size_px", None) or (0, 0)
    try:
        return _measured(size[0]), _measured(size[1])
    except (TypeError, IndexError):
        return 0.0, 0.0


@dataclass(frozen=True, **SLOTS)
class CheckStatus:
    """What the camera check says about the latest frame.

    `problem` is a lasting problem kind (None while the picture is good or a
    problem has only just appeared); `message` is what to show now ("" once
    ready); `announce` is True on the frames where `message` should be spoken.
    """

    ready: bool
    problem: str | None
    message: str
    announce: bool


class CameraCheck:
    """The stage before calibration: is the person in view, at a good distance, in good light?

    Ready once the picture has been good in the latest frame and in all but
    `NOISE_SHARE` of the frames of the last `good_for_s` (a face that has just
    appeared is often half in view). Before that, a problem counts once it is
    in `NOISE_SHARE` of the frames of the last `window_s` or more, so that a
    check that is not ready always says why (with the defaults, good_for_s =
    window_s, every frame is one or the other). Once ready, it takes a problem
    in half the frames of the window to count: about half a second of a
    steady problem, or a face found only every other frame, but not a few
    dropped frames, so a ready check survives those and calibration is not
    restarted for them. A problem is spoken as soon as it counts, the same
    problem again at most every `repeat_s`, and nothing more often than every
    `min_gap_s`, so that a long wait is not one long nag.
    """

    def __init__(self, quality: PictureQuality | None = None, *, good_for_s: float = 1.0,
                 window_s: float = 1.0, repeat_s: float = 6.0, min_gap_s: float = 2.0) -> None:
        self.quality = quality if quality is not None else PictureQuality()
        self.good_for_s = check_range("good_for_s", good_for_s, 0, 10)
        self.window_s = check_range("window_s", window_s, 0.1, 10)
        self.repeat_s = check_range("repeat_s", repeat_s, 1, 120)
        self.min_gap_s = check_range("min_gap_s", min_gap_s, 0, 120)
        if self.min_gap_s > self.repeat_s:
            raise ValueError(f"min_gap_s must be at most repeat_s ({self.repeat_s:g} s), got {min_gap_s!r}")
        self.reset()

    def reset(self) -> None:
        """Start over (e.g. before a recalibration): not ready, nothing announced."""
        self.ready = False
        self._window: deque[tuple[float, str | None]] = deque()
        self._first_t: float | None = None
        self._announced: str | None = None
        self._announced_t: float | None = None
        self._shown = ""
        self._shown_for: str | None = None
        self._showed: dict[str, object] = {}

    def update(self, sample, t_s: float) -> CheckStatus:
        t = float(t_s)
        if self._window and t < self._window[-1][0]:
            self.reset()  # the clock went back (replayed source): the timers mean nothing
        if self._first_t is None:
            self._first_t = t
        raw = self.quality.assess(sample, framing=True)
        self._window.append((t, raw))
        if raw is not None:
            self._showed[raw] = sample
        kept_s = max(self.window_s, self.good_for_s)
        while self._window[0][0] <= t - kept_s:
            self._window.popleft()
        if not self.ready and raw is None and t - self._first_t >= self.good_for_s \
                and self._bad_share(t - self.good_for_s) < NOISE_SHARE:
            self.ready = True
        problem = self._lasting_problem(t, 0.5 if self.ready else NOISE_SHARE)
        if self.ready and problem is not None:
            self.ready = False
            problem = self._lasting_problem(t, NOISE_SHARE)
        if self.ready:
            return CheckStatus(True, None, "", False)
        announce = problem is not None and self._may_announce(problem, t)
        if announce:
            self._announced, self._announced_t = problem, t
        if problem is not None:
            if announce or problem != self._shown_for:
                # Said with the measure of the latest frame that showed the problem (a problem
                # that comes and goes may be said on a frame without it); kept until said
                # again, so the words on screen do not flicker with the measure.
                self._shown = self.quality.advice(problem, self._showed[problem])
                self._shown_for = problem
            message = self._shown
        elif raw is None:
            message = GOOD_MESSAGE
        else:
            message = self._shown or CHECKING_MESSAGE
        return CheckStatus(False, problem, message, announce)

    def _frames_since(self, since_t: float) -> list[str | None]:
        return [kind for t, kind in self._window if t > since_t]

    def _bad_share(self, since_t: float) -> float:
        kinds = self._frames_since(since_t)
        return sum(kind is not None for kind in kinds) / len(kinds) if kinds else 0.0

    def _lasting_problem(self, t: float, share: float) -> str | None:
        """The most frequent problem of the window if it is in `share` of its frames or more."""
        if t - self._first_t < self.window_s / 2:
            return None  # too little seen yet to judge
        kinds = self._frames_since(t - self.window_s)
        bad = [kind for kind in kinds if kind is not None]
        if not bad or len(bad) < share * len(kinds):
            return None
        counts = Counter(bad)
        top = max(counts.values())
        return next(kind for kind in reversed(bad) if counts[kind] == top)  # ties: the latest

    def _may_announce(self, problem: str, t: float) -> bool:
        if self._announced_t is None:
            return True
        since = t - self._announced_t
        return since >= self.min_gap_s and (problem != self._announced or since >= self.repeat_s)


__all__ = ["CHECK_MESSAGES", "GOOD_MESSAGE", "CameraCheck", "CheckStatus", "PictureQuality"]
