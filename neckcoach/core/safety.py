"""Safety monitor: too fast, sudden/jerky, out of range, trunk compensation.

Thresholds come from the physics of the prescribed movement, not from one
recording. A rep of amplitude A done as a minimum-jerk movement in T seconds
each way (T = (tempo_s - hold_s) / 2) peaks at speed 1.875 A / T and at
acceleration 5.77 A / T^2. A flick (15 deg in 250 ms) peaks at ~110 deg/s and
~1400 deg/s^2: one to two orders of magnitude above a 45 deg rep at tempo 6 s
(28 deg/s, 29 deg/s^2). The detector therefore compares what it measures with
what the tempo implies, scaled so that a rep done up to twice as fast as
prescribed is still "smooth" (that is `rushed`, not `jerk`), plus a floor
above filtered landmark noise so that noise at rest never triggers.

A jolt is a jolt whatever its direction, so the other angular axes are judged
against the same tempo-derived tolerance as the exercise's own axis (a nod
during a rotation exercise is not held to a stricter standard than the turn).
A chin tuck prescribes no angle at all; its angular axes are judged as a
`reference_angle_deg` (30 deg, mid-range of the bundled angular targets of
8-50 deg) movement at the exercise's tempo, rather than by the noise floors
alone, which would make it several times stricter about a glance aside than
any turning exercise. Every such tolerance still catches the 15 deg / 250 ms
flick (benchmarks/safety_sweep.py: a 50 deg rotation at tempo 7 s does).
A sudden movement must also move the head: the velocity criteria only count
once the angle has travelled `min_jolt_deg` within `jolt_window_s`. A quick
twitch of two or three degrees, as people make all the time while talking, is
neither a risk nor something to nag about; the flick the coach exists to catch
(15 deg in 250 ms) covers 5 deg in its first ~110 ms, so the gate costs it no
latency beyond that.
"""

from __future__ import annotations

from collections import deque

from neckcoach.core import events as ev
from neckcoach.core.checks import check_range
from neckcoach.core.events import Event
from neckcoach.core.reps import cue_text
from neckcoach.core.samples import Kinematics

ANGULAR_AXES = ("yaw", "pitch", "roll")
# Minimum-jerk profile constants: peak speed and peak acceleration relative to
# amplitude / duration and amplitude / duration^2.
MJ_PEAK_SPEED = 1.875
MJ_PEAK_ACCEL = 5.7735
# Default too-fast limit for home exercise, and the limit on the axes the
# exercise does not move (the routine's max_speed is about its own movement).
HOME_MAX_SPEED_DEG_S = 90.0


class _Episode:
    """Emit once per episode; re-arm after the condition has been clear for `rearm_s`.

    Triggering needs the condition on for `sustain_s` of consecutive frames,
    or (if `confirm_s` > 0) on in at least two frames within `confirm_s`: at
    15 fps a 250 ms flick spans 3-4 frames and its filtered speed can dip
    between two exceedances, while a lone noisy frame still never warns.
    """

    __slots__ = ("sustain_s", "rearm_s", "confirm_s", "since", "active", "clear_since", "hits")

    def __init__(self, sustain_s: float, rearm_s: float, confirm_s: float = 0.0):
        self.sustain_s, self.rearm_s, self.confirm_s = sustain_s, rearm_s, confirm_s
        self.reset()

    def reset(self) -> None:
        self.since: float | None = None
        self.active = False
        self.clear_since: float | None = None
        self.hits: deque[float] = deque()

    def step(self, t: float, on: bool) -> bool:
        if on:
            self.clear_since = None
            if self.since is None:
                self.since = t
            self.hits.append(t)
            while self.hits and t - self.hits[0] > self.confirm_s:
                self.hits.popleft()
            confirmed = self.confirm_s > 0 and len(self.hits) >= 2
            if not self.active and (t - self.since >= self.sustain_s or confirmed):
                self.active = True
                return True
            return False
        self.since = None
        if self.active:
            self.clear_since = self.clear_since if self.clear_since is not None else t
            if t - self.clear_since >= self.rearm_s:
                self.active = False
                self.hits.clear()
        return False


class SafetyMonitor:
    """Watches every frame for movements that could hurt, independent of reps.

    Parameters (all validated):
    - too_fast_sustain_s: 60 ms, so one noisy speed sample never warns, yet a
      real too-fast movement (which lasts hundreds of ms) is caught early.
    - speed_factor / accel_factor: a rep may peak at up to 1.6x the tempo
      speed and 4x the tempo acceleration (i.e. done ~2x faster) before it is
      called jerky; faster-than-tempo reps are `rushed`, a pacing matter.
    - speed_floor_deg_s / dv_floor_deg_s: margins above the tempo-implied
      values that filtered landmark noise cannot reach: with 0.5 deg of
      angle noise the filtered speed has sd ~4 deg/s and its largest change
      within 0.2 s over minutes at rest is ~28 deg/s; a 15 deg / 250 ms
      flick changes the filtered speed by ~70-100 deg/s (15-30 fps).
    - window_s: 0.2 s, the span over which a change of velocity is measured:
      shorter than a flick's rise, so its onset is seen early, long enough to
      average frame noise.
    - range_margin_fraction: beyond the person's range by this fraction (and
      at least 5 deg) counts as out of range.
    - torso_limit_deg: 10 deg of trunk turn/tilt means the shoulders, not the
      neck, are doing the movement.
    - confirm_s: two jerky frames within 0.2 s confirm a jerk even if the
      frame between them dipped below threshold (see `_Episode`).
    - warmup_s: speeds are not judged for 0.3 s after tracking (re)starts,
      because a differentiator's first frames carry a start-up transient.
    - dv_cap_deg_s: the change-of-velocity threshold never exceeds this,
      however fast the prescribed movement: through the project's filter a
      15 deg / 250 ms flick changes the angular speed by at least 59 deg/s
      within 0.2 s at 15 fps (69 at 24 fps, 72 at 30; worst of 40 noisy
      trials), so a tolerance above that would let the defining flick of a
      fast exercise pass at a low frame rate. A rep at tempo changes its
      speed by under 15 deg/s in 0.2 s, far below the cap.
    - reference_angle_deg: the angular movement a translation exercise's
      angular axes are judged against (see the module docstring).
    - min_jolt_deg / min_jolt_mm / jolt_window_s: how far the head must travel
      (max - min of the filtered angle, or retraction) within the window for
      a velocity spike to be a sudden movement (see the module docstring).
      Retraction is judged only while `sample.is_reliable("retraction")`: away
      from neutral its estimate moves with pitch and yaw.
    """

    def __init__(self, exercise, ranges=None, *, too_fast_sustain_s: float = 0.06,
                 speed_factor: float = 1.6, accel_factor: float = 4.0,
                 speed_floor_deg_s: float = 30.0, dv_floor_deg_s: float = 35.0,
                 window_s: float = 0.2, jerk_sustain_s: float = 0.03, hold_fraction: float = 0.7,
                 range_margin_fraction: float = 0.1, range_sustain_s: float = 0.1,
                 torso_limit_deg: float = 10.0, torso_sustain_s: float = 0.3,
                 rearm_s: float = 0.5, warmup_s: float = 0.3, confirm_s: float = 0.2,
                 min_jolt_deg: float = 5.0, min_jolt_mm: float = 5.0, jolt_window_s: float = 0.5,
                 reference_angle_deg: float = 30.0, dv_cap_deg_s: float = 50.0):
        self.exercise = exercise
        self.too_fast_sustain_s = check_range("too_fast_sustain_s", too_fast_sustain_s, 0.0, 1.0)
        self.speed_factor = check_range("speed_factor", speed_factor, 1.0, 10.0)
        self.accel_factor = check_range("accel_factor", accel_factor, 1.0, 50.0)
        self.speed_floor = check_range("speed_floor_deg_s", speed_floor_deg_s, 0.0, 500.0)
        self.dv_floor = check_range("dv_floor_deg_s", dv_floor_deg_s, 0.0, 500.0)
        self.window_s = check_range("window_s", window_s, 0.05, 1.0)
        self.jerk_sustain_s = check_range("jerk_sustain_s", jerk_sustain_s, 0.0, 0.5)
        self.hold_fraction = check_range("hold_fraction", hold_fraction, 0.1, 1.0)
        self.range_margin_fraction = check_range("range_margin_fraction", range_margin_fraction, 0.0, 1.0)
        self.range_sustain_s = check_range("range_sustain_s", range_sustain_s, 0.0, 2.0)
        self.torso_limit_deg = check_range("torso_limit_deg", torso_limit_deg, 1.0, 90.0)
        self.torso_sustain_s = check_range("torso_sustain_s", torso_sustain_s, 0.0, 5.0)
        self.rearm_s = check_range("rearm_s", rearm_s, 0.0, 10.0)
        self.warmup_s = check_range("warmup_s", warmup_s, 0.0, 5.0)
        self.confirm_s = check_range("confirm_s", confirm_s, 0.0, 1.0)
        self.min_jolt_deg = check_range("min_jolt_deg", min_jolt_deg, 0.0, 45.0)
        self.min_jolt_mm = check_range("min_jolt_mm", min_jolt_mm, 0.0, 45.0)
        self.jolt_window_s = check_range("jolt_window_s", jolt_window_s, 0.1, 2.0)
        self.reference_angle_deg = check_range("reference_angle_deg", reference_angle_deg, 1.0, 90.0)
        self.dv_cap_deg_s = check_range("dv_cap_deg_s", dv_cap_deg_s, 10.0, 500.0)
        self.axis = exercise.axis
        self.unit = exercise.unit
        dirs = list(exercise.directions())
        amplitude = max(float(exercise.target_value(d, ranges)) for d in dirs)
        move_s = max((float(exercise.tempo_s) - float(exercise.hold_s)) / 2.0, 0.5)
        self.expected_speed = MJ_PEAK_SPEED * amplitude / move_s
        self.expected_accel = MJ_PEAK_ACCEL * amplitude / move_s ** 2
        if self.unit == "deg":
            self.angular_expected = (self.expected_speed, self.expected_accel)
        else:
            ref = self.reference_angle_deg
            self.angular_expected = (MJ_PEAK_SPEED * ref / move_s, MJ_PEAK_ACCEL * ref / move_s ** 2)
        # Retraction is in mm; its noise floor in mm/s is set by the same reasoning.
        self.axes = ANGULAR_AXES + (("retraction",) if self.axis == "retraction" else ())
        self._limits = self._range_limits(exercise, ranges, dirs)
        self.reset()

    def _range_limits(self, exercise, ranges, dirs) -> dict[int, float]:
        """Largest safe excursion on the exercise axis for each sign."""
        limits: dict[int, float] = {}
        opposite = {"left": "right", "right": "left", "flexion": "extension", "extension": "flexion", "back": "back"}
        for d in set(dirs) | {opposite[d] for d in dirs}:
            lim = float("inf")
            if ranges is not None and hasattr(ranges, "for_direction"):
                rng = float(ranges.for_direction(exercise.movement, d))
                lim = rng + max(self.range_margin_fraction * rng, 5.0 if self.unit == "deg" else 3.0)
            safety = exercise.safety_limit
            if safety is not None:
                lim = min(lim, float(safety))
            s = exercise.sign(d)
            limits[s] = min(limits.get(s, float("inf")), lim)
        return limits

    def reset(self) -> None:
        self._fast = {a: _Episode(self.too_fast_sustain_s, self.rearm_s) for a in self.axes}
        self._jerk = {a: _Episode(self.jerk_sustain_s, self.rearm_s, self.confirm_s) for a in self.axes}
        self._range = _Episode(self.range_sustain_s, self.rearm_s)
        self._torso = _Episode(self.torso_sustain_s, self.rearm_s)
        self._hist: dict[str, deque[tuple[float, float]]] = {a: deque() for a in self.axes}
        self._path: dict[str, deque[tuple[float, float]]] = {a: deque() for a in self.axes}
        self._base: dict[str, tuple[float, float] | None] = {}
        self._tracking_since: float | None = None

    def _exp(self, axis: str) -> tuple[float, float]:
        """Tempo-implied peak speed and acceleration used as the tolerance on `axis`."""
        if axis == self.axis:
            return self.expected_speed, self.expected_accel
        if axis in ANGULAR_AXES:
            return self.angular_expected
        return 0.0, 0.0

    def _speed_limit(self, axis: str) -> float:
        if axis == self.axis:
            return float(self.exercise.speed_limit)
        if self.unit == "deg":
            return max(float(self.exercise.max_speed_deg_s), HOME_MAX_SPEED_DEG_S)
        return float(self.exercise.max_speed_deg_s)

    def _judged(self, axis: str, sample: Kinematics) -> bool:
        return axis != "retraction" or sample.is_reliable("retraction")

    def update(self, sample: Kinematics, t_s: float | None = None, rep: int | None = None) -> list[Event]:
        t = float(sample.t_s if t_s is None else t_s)
        out: list[Event] = []
        if not sample.face_found:
            self.reset()
            return out
        if self._tracking_since is None:
            self._tracking_since = t
        if sample.reliable and t - self._tracking_since >= self.warmup_s:
            for a in self.axes:
                if not self._judged(a, sample):
                    self._forget(a)
                    continue
                unit = "mm/s" if a == "retraction" else "deg/s"
                limit = self._speed_limit(a)
                v = float(sample.speed(a))
                if self._fast[a].step(t, abs(v) > limit):
                    out.append(self._event(t, ev.TOO_FAST, rep, abs(v), unit, axis=a, limit=limit))
                on, mag = self._jerky(a, t, v, float(sample.value(a)))
                if self._jerk[a].step(t, on):
                    out.append(self._event(t, ev.JERK, rep, mag, unit, axis=a))
        else:
            for a in self.axes:
                self._forget(a)
        x = float(sample.value(self.axis))
        lim = self._limits.get(1 if x >= 0 else -1, float("inf"))
        if self._range.step(t, abs(x) > lim):
            out.append(self._event(t, ev.OUT_OF_RANGE, rep, abs(x), self.unit, limit=lim))
        torso = max(abs(sample.torso_yaw_deg or 0.0), abs(sample.torso_roll_deg or 0.0))
        if self._torso.step(t, torso > self.torso_limit_deg):
            out.append(self._event(t, ev.COMPENSATION, rep, torso, "deg",
                                   torso_yaw_deg=sample.torso_yaw_deg, torso_roll_deg=sample.torso_roll_deg))
        return out

    def _forget(self, axis: str) -> None:
        self._hist[axis].clear()
        self._path[axis].clear()
        self._base.pop(axis, None)

    def _travel(self, axis: str, t: float, x: float) -> float:
        """How far the head moved on `axis` within the last `jolt_window_s`."""
        path = self._path[axis]
        path.append((t, x))
        while path and t - path[0][0] > self.jolt_window_s:
            path.popleft()
        xs = [p[1] for p in path]
        return max(xs) - min(xs)

    def _jerky(self, axis: str, t: float, v: float, x: float) -> tuple[bool, float]:
        """Velocity spike or abrupt velocity change beyond what the tempo implies.

        Speed criterion: |v| above speed_factor x expected peak + floor.
        Change criterion: the velocity moved by more than accel_factor x
        expected peak acceleration x window + floor within `window_s` (a mean
        acceleration test, far less noisy than a per-frame acceleration).
        Once entered, the change criterion holds while the velocity stays at
        least `hold_fraction` of the threshold away from where it started,
        for at most `window_s` + `confirm_s`: at 15 fps a flick spans only
        3-4 frames, and this lets the second frame confirm the first (the
        sustain rule) without lowering the entry threshold towards the noise.
        The time limit matters: after a flick the velocity may never come
        back near its pre-flick value (the rest of the movement is slower),
        and an unlimited hold would keep the jerk "on" for good, both
        silencing later jerks and re-raising this one once the episode re-arms.
        """
        v_exp, a_exp = self._exp(axis)
        hist = self._hist[axis]
        hist.append((t, v))
        while hist and t - hist[0][0] > self.window_s:
            hist.popleft()
        v_thr = self.speed_factor * v_exp + self.speed_floor
        dv_thr = self.accel_factor * a_exp * self.window_s + self.dv_floor
        if axis in ANGULAR_AXES:
            dv_thr = min(dv_thr, self.dv_cap_deg_s)
        held = self._base.get(axis)
        base = change = None
        if held is not None and t - held[1] <= self.window_s + self.confirm_s:
            change = abs(v - held[0])
            if change >= self.hold_fraction * dv_thr:
                base = held
        if base is None:
            change = 0.0
            vs = [h[1] for h in hist]
            lo, hi = min(vs), max(vs)
            if v - lo >= dv_thr:
                base, change = (lo, t), v - lo
            elif hi - v >= dv_thr:
                base, change = (hi, t), hi - v
        self._base[axis] = base
        travel = self._travel(axis, t, x)
        min_travel = self.min_jolt_mm if axis == "retraction" else self.min_jolt_deg
        if (abs(v) > v_thr or base is not None) and travel >= min_travel:
            return True, max(abs(v), change)
        return False, 0.0

    def _event(self, t: float, kind: str, rep: int | None, magnitude: float, unit: str, **data) -> Event:
        return Event(t_s=t, kind=kind, exercise_id=self.exercise.id, rep=rep, magnitude=float(magnitude),
                     unit=unit, message=cue_text(self.exercise, kind), data=data)
