"""Calibrated angles -> smoothed values and their time derivatives (`Kinematics`)."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from statistics import median_low

from neckcoach.core.compat import SLOTS
from neckcoach.core.filters import Differentiator, LowPass, OneEuroFilter
from neckcoach.core.headpose import EXTENSION_BOUND_SLACK_DEG
from neckcoach.core.jitter import JitterEstimate, speed_noise
from neckcoach.core.motion_limits import impossible_step
from neckcoach.core.samples import AXES, Kinematics, kinematic_fields, measure_reliable, noise_fields

# A trusted value is expected within 5 deg (5 mm) of the truth (issue #14's definition); one whose
# smoothed value jitters by more than a third of that (3 sigma past 5) is not, whatever else says so.
TRUSTED_ERROR = 5.0
TRUST_SIGMAS = 3.0
# The retraction is the head's depth, read from the face's size in face mesh's fit, and that size
# depends on how the model's heights and relief fit the face as it nods or tilts: on the random
# tuning sweeps (accuracy scenes 100-103; 100, 101, 550, 551 for chin tucks and nods) a nod of 2-7
# deg inside the retraction window moved it by 5-10 mm, trusted (by scene -3.6 to +1.7 mm per
# degree). The depth read from the face's width alone does not depend on a nod
# (`geometry.width_depth_mm`). Where the two have moved apart since neutral by more than
# `DEPTH_AGREE_MM`, smoothed at `DEPTH_GAP_CUTOFF_HZ`, the retraction is not trusted. The limit
# trades what is withheld against what is wrong. On those tuning sweeps, retraction trusted and
# more than 6 mm off: 229 frames without the check, 97 at 2 mm, 149 at 3 mm, 209 at 4 mm, keeping
# 84, 90 and 96 % of the trusted frames. On real people the width's depth is less steady than on
# the rendered head (single_face: in MediaPipe's first 0.8 s it moved 11 mm, the whole size's 1 mm),
# and near-neutral retraction trust on the real clips fell 14-23 points at 2 mm, 2-19 at 3 mm. 3 mm.
# Held-out figures in benchmarks/README.md ("Stop 45").
DEPTH_AGREE_MM = 3.0
DEPTH_GAP_CUTOFF_HZ = 2.0
# The depth read while the head turns, nods or tilts quickly is off however square the head is:
# face mesh's landmarks trail a moving face. On stop 56's fresh tuning yaw sweeps (accuracy scenes
# 600-613, turns at up to 80 deg/s), inside the retraction window, the raw retraction was off by
# 3.6 mm (90th percentile) with the head turning at 1-5 deg/s, 4.1 at 5-10, 5.2 at 10-20, 8.3 at
# 20-30 and 18.6 at 30-50: trusted on the way back from a turn it read -8 to -11 mm for a head at
# rest (18 frames more than 6 mm off on scene 601). A chin tuck moves the head's angles by a few
# degrees over a second or more, well under this. So where the smoothed speed of any angle passes
# `RETRACTION_MAX_TURN_DEG_S` the head counts as not square (its depth is held, as turned, see
# `_square_depth`), and for `RETRACTION_TURN_SETTLE_S` after: the smoothed speed trails the
# head's (two 5 Hz stages) and landmarks that trailed the face take a few frames to catch up.
RETRACTION_MAX_TURN_DEG_S = 15.0
RETRACTION_TURN_SETTLE_S = 0.2
# ... and faster than the angle's jitter alone reads it: a still head whose angles jitter by 1 deg
# reads speeds past 15 deg/s (the speed's jitter sigma times this; 3 sigma, as the rest of the
# thresholds under jitter, see `core.jitter`).
TURN_NOISE_SIGMAS = 3.0
# A face turned and tilted back is seen from below and aside at once, and face mesh under-reads the
# turn: on stop 56's fresh tuning sweeps (accuracy scenes 600-613, yaw, pitch and combined), of the
# trusted yaw readings with the extension read at 15-20 deg and the turn at 35 deg or more, 27 of 33
# were more than 6 deg short of the truth (median 10, up to 16; 604 combined: a head at 55-60 deg,
# tilted back 24, read 43-45, trusted); at 10-15 deg of extension 2 of 18, and turned less than 35
# deg none at any extension (the pitch as read, trusted or not: at such a turn it is untrusted, yet
# the tilt it reads is there). Where the head reads extended past EXTENDED_TURN_PITCH_DEG and turned
# at least EXTENDED_TURN_YAW_DEG the yaw is a lower bound (always short there, never over; a pitch
# misread by the followed points costs a measurement shown as "at least" what it is).
EXTENDED_TURN_PITCH_DEG = 15.0
EXTENDED_TURN_YAW_DEG = 35.0


@dataclass(frozen=True, **SLOTS)
class RelativePose:
    """One frame's calibrated (neutral-relative) head values before filtering.

    The picture fields of `HeadPose` ride along so the filter can hand them to
    `Kinematics` directly (copying a 29-field record per frame to add them was
    a measurable share of the frame loop).

    The per-measure flags mean what they do on `HeadPose` (None: as
    `reliable`); `retraction_reliable` comes from the pose's position flag.
    """

    t_s: float
    face_found: bool
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    roll_deg: float = 0.0
    retraction_mm: float = 0.0
    confidence: float = 0.0
    reliable: bool = False
    faces: int = 0
    face_width_px: float = 0.0
    brightness: float = 0.0
    torso_yaw_deg: float | None = None
    torso_roll_deg: float | None = None
    image_size_px: tuple[int, int] = (0, 0)
    face_center_px: tuple[float, float] | None = None
    face_brightness: float = 0.0
    yaw_reliable: bool | None = None
    pitch_reliable: bool | None = None
    roll_reliable: bool | None = None
    retraction_reliable: bool | None = None
    lower_bounds: tuple[str, ...] = ()
    tracked: bool = False
    source_step_deg: float = 0.0
    glare_share: float = 0.0
    far_face_px: float = 0.0
    unconfirmed: tuple[str, ...] = ()
    confirmed: tuple[str, ...] = ()
    disputed: tuple[str, ...] = ()
    switched_from_deg: tuple[float, float, float] | None = None
    saturated: tuple[str, ...] = ()
    depth_gap_mm: float | None = None  # `HeadPose.depth_gap_mm` less neutral's
    mesh_yaw_dv_deg_s: float = 0.0


class _AxisChain:
    def __init__(self, min_cutoff_hz: float, beta: float, speed_cutoff_hz: float) -> None:
        self.value = OneEuroFilter(min_cutoff_hz, beta, d_cutoff_hz=1.0)
        self.speed = Differentiator(speed_cutoff_hz, speed_cutoff_hz)
        self.accel = Differentiator(None, speed_cutoff_hz / 2)
        self.jerk = Differentiator(None, speed_cutoff_hz / 3)

    def reset(self) -> None:
        for f in (self.value, self.speed, self.accel, self.jerk):
            f.reset()

    def update(self, x: float, t_s: float) -> tuple[float, float, float, float]:
        v = self.value.update(x, t_s)
        s = self.speed.update(x, t_s)
        a = self.accel.update(s, t_s)
        j = self.jerk.update(a, t_s)
        return v, s, a, j


class KinematicsFilter:
    """Smooths each axis (One Euro) and estimates speed/accel/jerk from timestamps.

    Speed uses its own light low-pass of the raw value (not the One Euro output)
    so that a flick shows up in speed within ~100 ms. A gap longer than
    `max_gap_s` since the last face (no face, or no frames at all) resets the
    history instead of differentiating across it, which would fake a huge
    speed; so does time going backwards, and a repeated timestamp returns the
    previous result.

    A jump with the face in view on both sides that is also far longer than
    the usual frame spacing (`restart_gap_factor` times it: a stalled camera,
    a suspended laptop, not a steadily slow computer) goes unnoticed
    downstream otherwise, so the first sample after it carries
    `extra["tracking_restarted"] = True` (what happened in between was not
    seen: a movement in progress should be dropped, as after a lost face), and
    samples are flagged unreliable for `restart_settle_s` while the speeds
    climb back from rest, so that the restart transient is not judged as a
    sudden movement.

    Where the estimate changes source (face mesh <-> the followed points, `source_step_deg`), the
    step between the two is taken out of the speeds (`_rebase`; `extra["speed_rebased"]`): the
    angle shows the new reading, the speed carries on as the head's.

    Each measure's flag is the estimator's (see `HeadPose.is_reliable`) and
    not settling. Retraction comes from the head's depth, estimated from the
    face's apparent size, which turning the face also changes: in the
    accuracy sweeps (benchmarks/README.md) a turn or side bend beyond
    ~5 deg, or an extension beyond ~3 deg, moved the estimate by more than
    5 mm while moving (flexion to 10 deg did not). So `retraction_reliable`
    further needs all angles reliable and within that window of neutral
    (`retraction_max_angle_deg` for yaw and roll, `retraction_pitch_window_deg`),
    and the depth by the face's size and by its width to agree (`DEPTH_AGREE_MM`).
    Flexion beyond `max_flexion_deg` from neutral is a lower bound: face mesh
    under-reads it whether the camera is level or looks up at the face (the
    estimator's own limit is on the camera-relative reading, which a camera
    below the eyes shifts by its tilt). With the outline fit (`OutlineFit`) it
    reads 30 deg as ~28 and 40 as ~37 on held-out scenes, so the limit was
    re-chosen on the tuning scenes' random pitch and combined sweeps (100-103):
    20 -> 25 deg trusted 86 instead of 49 of 460 frames flexed 15 deg or more,
    with no frame more than 6 deg off (30 added two); held out (300, 301) 57
    instead of 39 of 376, none off by more than 6. Yaw and roll stop being
    measurements past `max_flexion_turn_deg` of flexion (the face is seen from
    above: up to 10 deg off at 40-55 deg on the tuning scenes); moving that to
    25 as well added three roll readings more than 6 deg off on the tuning sweeps.
    Extension beyond `max_extension_deg` is a lower bound too: deep extension
    is under-read once the face is seen from below (held-out scene 300: 45-50
    deg read 30-35, trusted). Chosen on the same tuning sweeps: 30 deg left 2
    pitch readings more than 6 deg off instead of 6, with 5 bounds overstating
    the truth (the mesh over-reads 15-25 deg of extension by ~3 deg); 25 the
    same 2 with 9 overstated. Held out (300, 301): 24 instead of 51 pitch and
    68 instead of 89 yaw readings more than 6 deg off, 4 bounds overstated.
    For `acquire_settle_s` after the face is (re)acquired retraction is not
    trusted: face mesh's first frames after a detection put the pivot 8-12 mm
    off in the sweeps, and its smoothing starts from them (the angles were
    within 1 deg from the first frame). One Euro's `beta` of 0.2 keeps the smoothed angle within ~1 deg of
    a 55 deg/s turn (0.05 lagged 2.5-3 deg, enough to push a reading that was
    4 deg off past the 5 deg a trusted value may be off). A yaw beyond the measurable range
    (`lower_bounds`) is listed in `lower_bound_axes`.
    """

    def __init__(self, *, min_cutoff_hz: float = 0.8, beta: float = 0.2,
                 retraction_min_cutoff_hz: float = 0.5, retraction_beta: float = 0.05,
                 speed_cutoff_hz: float = 5.0, max_gap_s: float = 0.5,
                 retraction_max_angle_deg: float = 5.0,
                 retraction_pitch_window_deg: tuple[float, float] = (-3.0, 10.0),
                 max_flexion_deg: float = 25.0, max_flexion_turn_deg: float = 20.0,
                 max_extension_deg: float = 30.0,
                 restart_settle_s: float = 0.3,
                 restart_gap_factor: float = 3.0, acquire_settle_s: float = 0.3) -> None:
        for name, v in (("min_cutoff_hz", min_cutoff_hz), ("speed_cutoff_hz", speed_cutoff_hz),
                        ("retraction_min_cutoff_hz", retraction_min_cutoff_hz),
                        ("max_gap_s", max_gap_s)):
            if not v > 0:
                raise ValueError(f"{name} must be > 0, got {v!r}")
        if not 0.0 <= restart_settle_s <= 5.0:
            raise ValueError(f"restart_settle_s must be in [0, 5], got {restart_settle_s!r}")
        if not 1.0 <= restart_gap_factor <= 100.0:
            raise ValueError(f"restart_gap_factor must be in [1, 100], got {restart_gap_factor!r}")
        if not 0.0 <= acquire_settle_s <= 5.0:
            raise ValueError(f"acquire_settle_s must be in [0, 5], got {acquire_settle_s!r}")
        self.max_gap_s = max_gap_s
        self.acquire_settle_s = acquire_settle_s
        self.restart_settle_s = restart_settle_s
        self.restart_gap_factor = restart_gap_factor
        # Recent frame spacing: a property of the source, so kept across resets.
        self._steps_s: deque[float] = deque(maxlen=15)
        self.retraction_max_angle_deg = retraction_max_angle_deg
        if not 0.0 < max_flexion_deg <= 90.0:
            raise ValueError(f"max_flexion_deg must be in (0, 90], got {max_flexion_deg!r}")
        if not 0.0 < max_flexion_turn_deg <= max_flexion_deg:
            raise ValueError(f"max_flexion_turn_deg must be in (0, max_flexion_deg = {max_flexion_deg}], "
                             f"got {max_flexion_turn_deg!r}")
        self.max_flexion_deg = max_flexion_deg
        self.max_flexion_turn_deg = max_flexion_turn_deg
        if not 0.0 < max_extension_deg <= 90.0:
            raise ValueError(f"max_extension_deg must be in (0, 90], got {max_extension_deg!r}")
        self.max_extension_deg = max_extension_deg
        lo, hi = retraction_pitch_window_deg
        if not -90.0 <= lo <= 0.0 <= hi <= 90.0:
            raise ValueError("retraction_pitch_window_deg must be (low <= 0, high >= 0) within +-90, "
                             f"got {retraction_pitch_window_deg!r}")
        self.retraction_pitch_window_deg = (float(lo), float(hi))
        self._chains = {a: _AxisChain(min_cutoff_hz, beta, speed_cutoff_hz) for a in AXES}
        self._chains["retraction"] = _AxisChain(retraction_min_cutoff_hz, retraction_beta,
                                                speed_cutoff_hz)
        self.speed_cutoff_hz = float(speed_cutoff_hz)
        self._jitter = {a: JitterEstimate() for a in AXES}
        self._torso = {"yaw": LowPass(1.0), "roll": LowPass(1.0)}  # pose-model z is noisy
        self._depth_gap = LowPass(DEPTH_GAP_CUTOFF_HZ)
        # Per axis: the output fields (value, speed, accel, jerk; the value field is also
        # the input's) and the chain.
        self._outputs = tuple((kinematic_fields(a), self._chains[a]) for a in AXES)
        self._noise_fields = {a: noise_fields(a) for a in AXES}
        # Each angle's speed field and its jitter's, read every frame by `_turning`.
        self._angle_speed_fields = tuple((kinematic_fields(a)[1], self._noise_fields[a][1])
                                         for a in ("yaw", "pitch", "roll"))
        self.reset()

    def reset(self) -> None:
        for c in self._chains.values():
            c.reset()
        for f in (*self._torso.values(), self._depth_gap):
            f.reset()
        for j in self._jitter.values():
            j.reset()
        self._last_t: float | None = None
        self._last_out: Kinematics | None = None
        self._tracking = False
        self._settle_until_s: float | None = None
        self._acquired_s: float | None = None
        self._last_angles: tuple[float, float, float, float] | None = None
        # The last depth read with the head square to neutral (within the retraction window). A
        # depth read turned, nodded or tilted further is the face's size at that angle, not where
        # the head is: a 16 deg side-bend flick during a held 15 mm chin tuck read -4.6 mm in its
        # one frame (rendered population seed 401247, 0.9 m away), the filtered depth still read
        # 2.6 mm, trusted, in the next, and the tuck's hold was broken. The depth filter is fed
        # this one instead meanwhile (its jitter estimate nothing), so it carries no such reading
        # into the frames trusted after. Its jitter estimate goes on reading the depth as read: the
        # jitter is the picture's, whatever the angle, and an estimate left without readings while
        # the head is turned starts again from whatever the head does next (real clip cap12, a
        # person leaning in 130 mm/s as they came square: read as 5.6 mm of jitter and held for
        # 6 s, near-neutral depth trusted 65 -> 53 % of frames).
        self._square_depth: float | None = None
        self._depth_held = False  # the depth filter was fed `_square_depth` last frame
        self._turning_until_s: float | None = None  # see RETRACTION_MAX_TURN_DEG_S

    def _jump(self, rel: RelativePose) -> bool:
        last = self._last_angles
        self._last_angles = (rel.t_s, rel.yaw_deg, rel.pitch_deg, rel.roll_deg)
        if last is None or not 0 < rel.t_s - last[0] <= self.max_gap_s:
            return False
        moved = max(abs(rel.yaw_deg - last[1]), abs(rel.pitch_deg - last[2]), abs(rel.roll_deg - last[3]))
        return impossible_step(moved, rel.t_s - last[0])

    def _jumped(self, t_s: float) -> bool:
        return self._last_t is not None and (t_s - self._last_t > self.max_gap_s or t_s < self._last_t)

    def _restarted_in_view(self, t_s: float) -> bool:
        if not (self._tracking and self._jumped(t_s)):
            return False
        if t_s < self._last_t or not self._steps_s:
            return True
        return t_s - self._last_t > self.restart_gap_factor * median_low(self._steps_s)

    def update(self, rel: RelativePose) -> Kinematics:
        if not math.isfinite(rel.t_s):
            return self._lost(rel)
        if not rel.face_found:
            if self._jumped(rel.t_s):
                self.reset()
            self._tracking = False
            return self._lost(rel)
        if self._tracking and self._last_out is not None and rel.t_s == self._last_t:
            return self._last_out
        restarted = self._restarted_in_view(rel.t_s)
        before = self._last_angles
        rebased = False
        if self._jump(rel):
            # The estimate switched source (the mesh taking over from followed points that
            # had slid off, or a re-lock): a step no head makes. Differentiating it would
            # fake a violent movement, so the history restarts from here, settling first.
            self.reset()
            self._settle_until_s = rel.t_s + self.restart_settle_s
        elif rel.source_step_deg and self._tracking and before is not None and not self._jumped(rel.t_s):
            self._rebase(rel, before)
            rebased = True
        if self._tracking and self._last_t is not None and rel.t_s > self._last_t:
            self._steps_s.append(rel.t_s - self._last_t)
        if self._jumped(rel.t_s):
            self.reset()
            if restarted:
                self._settle_until_s = rel.t_s + self.restart_settle_s
        settling = self._settle_until_s is not None and rel.t_s < self._settle_until_s
        if not self._tracking:
            self._acquired_s = rel.t_s
        acquiring = self._acquired_s is not None and rel.t_s - self._acquired_s < self.acquire_settle_s
        self._last_t = rel.t_s
        self._tracking = True
        extra: dict = {}
        out: dict[str, float] = {}
        dt = median_low(self._steps_s) if self._steps_s else 0.0
        lo, hi = self.retraction_pitch_window_deg
        square = (max(abs(rel.yaw_deg), abs(rel.roll_deg)) <= self.retraction_max_angle_deg
                  and lo <= rel.pitch_deg <= hi)
        for (names, chain), axis in zip(self._outputs, AXES):
            raw = read = getattr(rel, names[0])
            if axis == "retraction" and not acquiring:  # (the angles' speeds, AXES order, are in `out`;
                square = square and not self._turning(out, rel.t_s)  # while acquiring they start up)
            held = axis == "retraction" and not square and self._square_depth is not None
            if held:
                raw = self._square_depth  # see _square_depth in reset()
            elif axis == "retraction" and square:
                if self._depth_held:
                    self._resume_depth(chain, raw)
                self._square_depth = raw
            if axis == "retraction":
                self._depth_held = held
            out.update(zip(names, chain.update(raw, rel.t_s)))
            sigma = self._jitter[axis].update(read, rel.t_s)  # the picture's jitter, held or not
            a = chain.value.alpha
            out[self._noise_fields[axis][0]] = sigma * math.sqrt(a / (2.0 - a))
            out[self._noise_fields[axis][1]] = speed_noise(sigma, dt, self.speed_cutoff_hz, self.speed_cutoff_hz)
        near = square and self._depths_agree(rel)
        reliable = rel.reliable and not settling
        if rel.tracked:
            extra["tracked"] = True
        if rel.source_step_deg:
            extra["source_step_deg"] = rel.source_step_deg
        if rebased:
            extra["speed_rebased"] = True
        if rel.unconfirmed:
            extra["unconfirmed"] = rel.unconfirmed
        if rel.confirmed:
            extra["confirmed"] = rel.confirmed
        if rel.mesh_yaw_dv_deg_s:
            extra["mesh_yaw_dv_deg_s"] = rel.mesh_yaw_dv_deg_s
        if rel.disputed:
            extra["disputed"] = rel.disputed
        calm = {a: TRUST_SIGMAS * out[self._noise_fields[a][0]] <= TRUSTED_ERROR for a in AXES}
        yaw_ok, pitch_ok, roll_ok, position_ok = (
            reliable and measure_reliable(rel, m) and calm[m] for m in ("yaw", "pitch", "roll", "retraction"))
        bounds = rel.lower_bounds
        flexed = pitch_ok and rel.pitch_deg > self.max_flexion_turn_deg
        if pitch_ok and (rel.pitch_deg > self.max_flexion_deg or rel.pitch_deg < -self.max_extension_deg):
            # Face mesh under-reads flexion, and deep extension, by how far the head has
            # moved from neutral wherever the camera is: past these the reading is a lower bound.
            pitch_ok = False
            bounds = bounds if "pitch" in bounds else bounds + ("pitch",)
        if "pitch" in bounds or flexed:
            # Flexed (or extended) past what face mesh reads faithfully, the face is seen
            # from above (below) and its turn and tilt are off too (up to 10 deg at 40-55
            # deg of flexion on the tuning scenes; with the extension bound, held-out yaw
            # readings more than 6 deg off went 89 -> 68): not measurements either.
            yaw_ok = roll_ok = False
        if yaw_ok and rel.pitch_deg < -EXTENDED_TURN_PITCH_DEG and abs(rel.yaw_deg) >= EXTENDED_TURN_YAW_DEG:
            yaw_ok = False
            bounds = bounds if "yaw" in bounds else bounds + ("yaw",)
        position_ok = position_ok and not acquiring
        saturated = () if settling else tuple(a for a in rel.saturated if a in bounds)
        for axis in saturated:
            # The reading may run past the truth here (see EXTENSION_BOUND_SLACK_DEG): the bound
            # given is the reading that much nearer neutral. Speeds stay the reading's.
            name = kinematic_fields(axis)[0]
            out[name] = math.copysign(max(abs(out[name]) - EXTENSION_BOUND_SLACK_DEG, 0.0), out[name])
        if restarted:
            extra["tracking_restarted"] = True
        self._last_out = Kinematics(
            extra=extra,
            t_s=rel.t_s, face_found=True, confidence=rel.confidence, reliable=reliable,
            faces=rel.faces, face_width_px=rel.face_width_px, brightness=rel.brightness,
            torso_yaw_deg=self._smooth_torso("yaw", rel.torso_yaw_deg, rel.t_s),
            torso_roll_deg=self._smooth_torso("roll", rel.torso_roll_deg, rel.t_s),
            image_size_px=rel.image_size_px, face_center_px=rel.face_center_px,
            face_brightness=rel.face_brightness, yaw_reliable=yaw_ok, pitch_reliable=pitch_ok,
            roll_reliable=roll_ok,
            retraction_reliable=bool(position_ok and yaw_ok and pitch_ok and roll_ok and near),
            lower_bound_axes=() if settling else bounds, saturated_axes=saturated,
            glare_share=rel.glare_share, **out)
        return self._last_out

    def _resume_depth(self, chain: _AxisChain, raw: float) -> None:
        """The head square again after its depth was held: a depth moved on meanwhile by more
        than a trusted one may be off (TRUSTED_ERROR) was not followed, so the filter starts
        again from it, and the step is taken out of the speed as a change of source is
        (`_rebase`). Filtered through, the step read as a movement that did not happen (real
        clip cap12, a person who sat back while turned and leaned in 130 mm/s as they came
        square: the trusted depth read 25 mm for a reading of 37, moving away at 418 mm/s);
        a smaller step, as after a flick, is filtered as before."""
        step = raw - self._square_depth
        if abs(step) > TRUSTED_ERROR:
            chain.value.reset()
            chain.speed.shift(step)

    def _turning(self, out: dict[str, float], t_s: float) -> bool:
        """Whether the head's angles move, or moved within RETRACTION_TURN_SETTLE_S, faster than
        its depth can be read (see RETRACTION_MAX_TURN_DEG_S) and than their jitter alone reads."""
        if any(abs(out[speed]) > max(RETRACTION_MAX_TURN_DEG_S, TURN_NOISE_SIGMAS * out[noise])
               for speed, noise in self._angle_speed_fields):
            self._turning_until_s = t_s + RETRACTION_TURN_SETTLE_S
        return self._turning_until_s is not None and t_s < self._turning_until_s

    def _rebase(self, rel: RelativePose, before: tuple[float, float, float, float]) -> None:
        """The estimate changed source: take the step between the two out of the speeds.

        The step is what the two read apart in this frame (`switched_from_deg`); where the one
        left had no reading, it is the new reading's distance from where the last one was
        heading (its last value moved on at the current speed), which puts this one frame's
        change of speed into the step too. Differentiated, a step of s deg reads as a speed
        blip of ~7 s deg/s (two 5 Hz low-passes), which the safety monitor would otherwise have
        to wait out, blind to a flick that set off the switch (rendered population seeds 400830
        and 400842: two flicks missed)."""
        now = (rel.yaw_deg, rel.pitch_deg, rel.roll_deg)
        left = rel.switched_from_deg
        dt = rel.t_s - before[0]
        for i, axis in enumerate(("yaw", "pitch", "roll")):
            speed = self._chains[axis].speed
            was = left[i] if left is not None else before[i + 1] + speed.value * dt
            speed.shift(now[i] - was)

    @staticmethod
    def _lost(rel: RelativePose) -> Kinematics:
        return Kinematics.lost(rel.t_s, rel.faces, rel.brightness, image_size_px=rel.image_size_px,
                               face_center_px=rel.face_center_px, face_brightness=rel.face_brightness,
                               glare_share=rel.glare_share, far_face_px=rel.far_face_px)

    def _depths_agree(self, rel: RelativePose) -> bool:
        """The depth by the face's size and by its width moved alike since neutral (see
        `DEPTH_AGREE_MM`); True where either is unknown (no face mesh fit, no neutral yet)."""
        if rel.depth_gap_mm is None:
            self._depth_gap.reset()
            return True
        return abs(self._depth_gap.update(rel.depth_gap_mm, rel.t_s)) <= DEPTH_AGREE_MM

    def _smooth_torso(self, axis: str, value: float | None, t_s: float) -> float | None:
        if value is None:
            self._torso[axis].reset()
            return None
        return self._torso[axis].update(value, t_s)
