"""Calibrated angles -> smoothed values and their time derivatives (`Kinematics`)."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from statistics import median_low

from neckcoach.core.compat import SLOTS
from neckcoach.core.filters import Differentiator, LowPass, OneEuroFilter
from neckcoach.core.samples import AXES, Kinematics, kinematic_fields


@dataclass(frozen=True, **SLOTS)
class RelativePose:
    """One frame's calibrated (neutral-relative) head values before filtering.

    The picture fields of `HeadPose` ride along so the filter can hand them to
    `Kinematics` directly (copying a 29-field record per frame to add them was
    a measurable share of the frame loop).
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

    Retraction comes from the head's depth, which pitch and large yaw also
    change (the head pivots about the neck), so `retraction_reliable` is True
    only while all angles are within `retraction_max_angle_deg` of neutral.
    """

    def __init__(self, *, min_cutoff_hz: float = 0.8, beta: float = 0.05,
                 retraction_min_cutoff_hz: float = 0.5, retraction_beta: float = 0.05,
                 speed_cutoff_hz: float = 5.0, max_gap_s: float = 0.5,
                 retraction_max_angle_deg: float = 15.0, restart_settle_s: float = 0.3,
                 restart_gap_factor: float = 3.0) -> None:
        for name, v in (("min_cutoff_hz", min_cutoff_hz), ("speed_cutoff_hz", speed_cutoff_hz),
                        ("retraction_min_cutoff_hz", retraction_min_cutoff_hz),
                        ("max_gap_s", max_gap_s)):
            if not v > 0:
                raise ValueError(f"{name} must be > 0, got {v!r}")
        if not 0.0 <= restart_settle_s <= 5.0:
            raise ValueError(f"restart_settle_s must be in [0, 5], got {restart_settle_s!r}")
        if not 1.0 <= restart_gap_factor <= 100.0:
            raise ValueError(f"restart_gap_factor must be in [1, 100], got {restart_gap_factor!r}")
        self.max_gap_s = max_gap_s
        self.restart_settle_s = restart_settle_s
        self.restart_gap_factor = restart_gap_factor
        # Recent frame spacing: a property of the source, so kept across resets.
        self._steps_s: deque[float] = deque(maxlen=15)
        self.retraction_max_angle_deg = retraction_max_angle_deg
        self._chains = {a: _AxisChain(min_cutoff_hz, beta, speed_cutoff_hz) for a in AXES}
        self._chains["retraction"] = _AxisChain(retraction_min_cutoff_hz, retraction_beta,
                                                speed_cutoff_hz)
        self._torso = {"yaw": LowPass(1.0), "roll": LowPass(1.0)}  # pose-model z is noisy
        # Per axis: the output fields (value, speed, accel, jerk; the value field is also
        # the input's) and the chain.
        self._outputs = tuple((kinematic_fields(a), self._chains[a]) for a in AXES)
        self.reset()

    def reset(self) -> None:
        for c in self._chains.values():
            c.reset()
        for f in self._torso.values():
            f.reset()
        self._last_t: float | None = None
        self._last_out: Kinematics | None = None
        self._tracking = False
        self._settle_until_s: float | None = None

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
        if self._tracking and self._last_t is not None and rel.t_s > self._last_t:
            self._steps_s.append(rel.t_s - self._last_t)
        if self._jumped(rel.t_s):
            self.reset()
            if restarted:
                self._settle_until_s = rel.t_s + self.restart_settle_s
        settling = self._settle_until_s is not None and rel.t_s < self._settle_until_s
        self._last_t = rel.t_s
        self._tracking = True
        out: dict[str, float] = {}
        for names, chain in self._outputs:
            out.update(zip(names, chain.update(getattr(rel, names[0]), rel.t_s)))
        near = max(abs(rel.yaw_deg), abs(rel.pitch_deg), abs(rel.roll_deg))
        reliable = rel.reliable and not settling
        extra = {}
        if restarted:
            extra["tracking_restarted"] = True
        self._last_out = Kinematics(
            extra=extra,
            t_s=rel.t_s, face_found=True, confidence=rel.confidence, reliable=reliable,
            faces=rel.faces, face_width_px=rel.face_width_px, brightness=rel.brightness,
            torso_yaw_deg=self._smooth_torso("yaw", rel.torso_yaw_deg, rel.t_s),
            torso_roll_deg=self._smooth_torso("roll", rel.torso_roll_deg, rel.t_s),
            image_size_px=rel.image_size_px, face_center_px=rel.face_center_px,
            face_brightness=rel.face_brightness, yaw_reliable=reliable, pitch_reliable=reliable,
            roll_reliable=reliable,
            retraction_reliable=bool(reliable and near <= self.retraction_max_angle_deg), **out)
        return self._last_out

    @staticmethod
    def _lost(rel: RelativePose) -> Kinematics:
        return Kinematics.lost(rel.t_s, rel.faces, rel.brightness, image_size_px=rel.image_size_px,
                               face_center_px=rel.face_center_px, face_brightness=rel.face_brightness)

    def _smooth_torso(self, axis: str, value: float | None, t_s: float) -> float | None:
        if value is None:
            self._torso[axis].reset()
            return None
        return self._torso[axis].update(value, t_s)
