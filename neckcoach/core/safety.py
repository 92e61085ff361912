"""Safety monitor: too fast, sudden/jerky, out of range, trunk compensation.

What is sudden is judged by the movement itself, never by the prescription.
A patient who simply moves quicker than the routine's tempo is `rushed` (a
pacing matter for `core.pacing`), not in danger; one who jolts the head is in
danger whatever the tempo says. The physics that separates the two
(minimum-jerk movements, Flash & Hogan 1985: a movement of amplitude A in T
seconds peaks at speed 1.875 A/T and acceleration 5.77 A/T^2):

- the flick the coach exists to catch, 15 deg in 250 ms, peaks at 112 deg/s
  and 1,385 deg/s^2 (18 deg in 170 ms: 3,600 deg/s^2);
- the most demanding exercise movement a patient makes below its speed
  limit, at twice the bundled tempo: a 57 deg turn in 1.25 s (115 % of the
  50 deg rotation target, peaking at 86 deg/s, under the 90 deg/s limit)
  peaks at 212 deg/s^2; side bends, nods and chin nods stay under 150 deg/s^2
  and a chin tuck under 115 mm/s^2 (130 % of target at 2x tempo).

`jerk` fires when the head's velocity changes by more than `dv_deg_s`
(angles) or `dv_mm_s` (retraction) within `window_s`, i.e. a mean
acceleration over 0.2 s of 275 deg/s^2, 1.3x the most demanding smooth
movement above and a fifth of a flick's. These are constants: the same for
every exercise and every axis (a jolt is a jolt, whether it turns, nods or
tilts the head). Through the project's filter a 15 deg / 250 ms flick from
rest changes the measured speed by 62-94 deg/s within 0.2 s at 15-30 fps,
the smooth turn above by 41-58 deg/s with landmark noise and a 1 deg
tremor (benchmarks/safety_sweep.py). A sudden movement must also move the
head: the velocity criterion only counts once the angle has travelled
`min_jolt_deg` within `jolt_window_s`, so a tremor or a twitch of two or
three degrees is never called a jolt.

`too_fast` fires when the exercise's own axis moves faster than the
routine's `max_speed_deg_s` / `max_speed_mm_s`, or another angle faster than
the larger of that and 90 deg/s (the routine's limit is about its own
movement), by more than `too_fast_margin` for `too_fast_sustain_s`: over a
whole movement the measured speed carries a gain error of up to ~8 %
(MediaPipe's yaw on the rendered head) plus noise, and a movement that grazes
the limit for a fraction of a second is not worth a warning. Over a fraction
of a second the gain is wider (a known limit, benchmarks/README.md, stop 63):
a trusted face-mesh yaw moved 0.75-1.30 times as far as the head over 0.2 s in
nine windows of ten on the cached sweeps, its pitch 0.6-1.47, so a turn at 80 %
of the limit can read past it; a margin that wide would leave rushed reps read
at 0.75x unwarned, and is not taken. Only a trusted speed is
judged for it: an untrusted reading catching up with the head moves faster
than the head, and a lower bound's speed is not a measurement (below). A
chin tuck's millimetres read 0.65-1.6 times the head's, by the lens and where
the camera sees the face from (`core.depth_scale`), so its speed and its depth
are warned only once the reading passes 1.6 times the limit (`read_limit`): a
19.5 mm tuck (130 % of its 15 mm target) seen from a metre away peaked at 22
mm/s against the bundled 40 and read 66 mm/s, warned as too fast (rendered
population seed 401235: the depth read 1.2x, and its jitter at that distance,
a speed noise of 20 mm/s, added the rest). A rushed tuck is still told by its
pace, which is read from durations, not millimetres.

Every threshold that noise could cross is raised to what the measured
jitter allows (`Kinematics.speed_noise`, `noise`; `core.jitter`), so a
dim, grainy picture is not taken for sudden movement:
- the velocity change must also exceed NOISE_DV_SIGMAS x the speed's noise
  sigma (pure white jitter through the speed filter crossed 7 sigma in one
  confirmed episode per 3 h at 30 fps, none at 15 fps: benchmarks/README.md,
  "Thresholds under jitter");
- the travel must also exceed NOISE_TRAVEL_S x the speed's noise sigma
  (integrating that noise over `jolt_window_s` spanned at most 0.45 s x
  sigma in an hour of the same simulation);
- a too-fast speed must exceed the limit by NOISE_FAST_SIGMAS x the speed's
  noise where that is more than `too_fast_margin`, in frames covering
  `too_fast_sustain_s` (each frame standing for the time since the one
  before, the first for at most the run's own mean interval, at least two
  frames: 50 ms is two frames at 15-30 fps even when a webcam's frame times
  vary by 20 %, two 27 ms intervals at 30 fps; stop 28: 60 ms took a third
  frame at 30 fps whenever the two over the limit came less than 30 ms
  apart, once the time before the run was no longer credited). At rest in the
  grainiest picture measured (a chin tuck's speed noise ~22 mm/s against its
  40 mm/s limit) that is 3.3 sigma, which pure jitter did not hold for two
  frames in 3 h at 15, 20, 24 or 30 fps (2.8 sigma: 4-17 times). Before
  stop 27 the sustain was the time between the first and the last frame over,
  which takes three frames at 20-30 fps but two at 15: a chin nod rushed to
  54 deg/s against its 30 deg/s limit is over it for two frames of the
  filtered speed (0.28 s long, the speed filter takes most of its peak), and
  went unwarned at 20-24 fps. Chosen on the tuning population (kinematics
  seeds 0-599): the covered sustain with 1 sigma warned 80 of 83 rushed reps
  (was 70) but gave 3 false warnings in dim rooms (depth jitter 3.5 mm, two
  frames over 77 mm/s); with 1.5 sigma 79 of 83 and none. Held out (seeds
  400000-400199 and 500000-500399, not looked at before): 21 -> 22 of 24 and
  52 -> 52 of 63 warned, false too-fast warnings 0 -> 0 and 1 -> 0. (At stop
  20, with the old sustain: 0 sigma gave 24 false warnings on seeds 0-199.)
Where noise lifts the velocity-change threshold of the exercise's own axis
past GRAINY_DV_FACTOR x `dv_deg_s` / `dv_mm_s` (82 deg/s: a 15 deg flick
changes the speed by 60-190 deg/s) for `noisy_sustain_s`, a jolt could go
unnoticed: the monitor says so once (`grainy`), rather than implying the
movement was watched. (A tremor raises the estimate too: its speed is real
but is no jolt, so the raised threshold is right for it as well.)

Only values that can be trusted are judged (`Kinematics.is_reliable`): at a
restart, for angles read while the face is followed far from the camera, or
for a chin tuck whose depth estimate moves with pitch and yaw, a speed or an
excursion is not a fact. A value known to be a lower bound (`is_lower_bound`,
past the measurable range) shows an excursion beyond the limit when the
bound itself is beyond it. Where face mesh gives it (flexion past what it
reads fully), it moves with the head and under-reads its speed, so its
jolts are judged as a trusted value's: as an untrusted one's, the safety
sweep missed a flexion flick at 15 fps. Where the points followed past face
mesh give it, its speed is no bound on the head's: they lag a turn and then
catch up (rendered tuning sweeps, scenes 101 and 103: three `jerk` warnings
on a yaw lower bound where the head's speed had changed by only 22-37 deg/s
within the window), so it is watched for jolts as an untrusted value is,
unless face mesh saw the same change of speed outwards (`confirmed`, headpose
`CONFIRM_MAX_SHARE`; not within `warmup_s` of a change of source); so
is extension read past what face mesh follows (`Kinematics.saturated_axes`),
where the mesh stops and steps. No lower bound's speed is judged as too fast.
Of an untrusted value's change of speed only the speed it gained counts
(`_gained`): such readings stop where they saturate or lag while the head
goes on, so a sudden stop is judged only where the reading is trusted.

`out_of_range` compares the excursion with the exercise's safety limit
(`max_deg` / `max_mm`) and, where the routine states the person's own range
(`ranges` written by the therapist), with that range plus a margin (a chin
tuck's reading with 1.6 times it, as its speed above). The
default ranges of the routine model are typical adult values, not this
person's: they set targets (`target_fraction`) but are not a limit.
"""

from __future__ import annotations

import math
from collections import deque

from neckcoach.core import events as ev
from neckcoach.core.checks import check_range
from neckcoach.core.depth_scale import DEPTH_READ_MAX_GAIN
from neckcoach.core.events import Event
from neckcoach.core.reps import cue_text
from neckcoach.core.samples import Kinematics

ANGULAR_AXES = ("yaw", "pitch", "roll")
# Noise multipliers (see the module docstring for where each comes from).
NOISE_DV_SIGMAS = 7.0
NOISE_TRAVEL_S = 0.5
NOISE_FAST_SIGMAS = 1.5
# Noise past this share of the nominal velocity-change threshold hides a
# flick (a 15 deg flick changes the speed by 60-190 deg/s; 1.5 x 55 = 82).
GRAINY_DV_FACTOR = 1.5
# The followed points' pitch and roll err with the yaw (a half-face seen in
# perspective): on a quick turn back they moved up to 0.6x the yaw speed with
# the head's pitch steady (rendered scene 102). Below 15 deg/s of the other
# angles that adds at most ~9 deg/s, a sixth of the velocity-change threshold.
OTHERS_STILL_DEG_S = 15.0
# Where the estimate hands over from face mesh to the followed points, a step
# in the angles of up to this is no reason to stop judging them: through the
# speed filters (two 5 Hz low-passes) a step of s deg shows as a speed blip of
# 6.9 s deg/s at 15 fps to 7.8 s at 30 fps (a step fed to `KinematicsFilter`),
# so 2 deg adds at most 16 deg/s, under a third of the 55 deg/s velocity-change
# threshold, and it moves the travel by 2 of the 5 deg a jolt must cover. A
# larger step, or an unknown one, is forgotten as before (see `warmup_s`). The
# handover itself is often set off by a flick: a nod during a 40 deg turn's hold
# pushes face mesh's yaw past where the points take over (rendered tuning clip
# 100, a 16 deg extension flick at 40 deg: the two read it within 0.6 deg at the
# switch, and the 0.3 s without judging hid the whole flick). Not the way back:
# handed back, face mesh is coming back from past its range and its reading
# settles over the next frames whatever the step (tuning scene 103: 1.7 deg from
# the points at the handback, both 5 deg past the truth, then catching up at 124
# deg/s against a true 100 -- a `jerk` if judged).
SOURCE_STEP_DEG = 2.0
# After a switch judged across (`speed_rebased`), the filtered speed still carries the speed the
# estimate it left read, fading as the new one's comes in: the speed filters (two 5 Hz low-passes)
# take ~0.12 s to pass 90 % of a change of speed. Where the one left was not trusted, its speed was
# not the head's, and a speed past the limit then is not `too_fast` (held-out sweeps 530 and 535
# combined: followed points catching up at 125 deg/s, then face mesh trusted, read 97 deg/s as
# too fast 0.03 s after the handback for a head turning at 45).
SPEED_SETTLE_S = 0.15
# A reading that stalls while the head moves on, then catches up, changes speed twice in a few
# frames though the head did not: face mesh does (fresh flick clip scene 648, a smooth 1.5 s
# turn out: its trusted yaw held at 11.3-12.0 deg for 0.1 s while the head went from 12.7 to
# 17.5, then caught up at 62 deg/s, a change of 58 deg/s within 0.2 s, "Careful!" in all 12
# clips of that scene; the depth in a chin tuck the same way, fresh sweep 642). So where the
# speed CATCH_UP_S before a change of speed was found ran the same way and faster than the
# change's base, only the speed gained beyond it counts: a flick from rest or from a steady
# movement has no such dip before it; a sudden stop is a change away from that speed, not back
# to it. 0.3 s: the velocity window (0.2 s) plus such a stall (0.1 s, three frames at 30 fps),
# so that the speed then is the one before the stall.
CATCH_UP_S = 0.3
GRAINY_MESSAGE = ("The picture is grainy, so I may not notice a sudden movement. "
                  "More light in front of you will help.")
# Default too-fast limit for home exercise, and the limit on the axes the
# exercise does not move (the routine's max_speed is about its own movement).
HOME_MAX_SPEED_DEG_S = 90.0


class _Episode:
    """Emit once per episode; re-arm after the condition has been clear for `rearm_s`.

    Triggering needs the condition on for `sustain_s` of consecutive frames,
    or (if `confirm_s` > 0) on in at least two frames within `confirm_s`: at
    15 fps a 250 ms flick spans 3-4 frames and its filtered speed can dip
    between two exceedances, while a lone noisy frame still never warns.

    With `covered`, the sustain is the time the frames in the run stand for, each the interval
    since the one before it (at least two frames): two frames 50 ms apart at 20 fps cover 100 ms,
    where the time between them alone (50 ms) would ask for a third frame at 20-30 fps but not at
    15 fps. The first frame stands for at most the run's own mean interval: the step before the
    run may be old (the axis was not judged for a while), and crediting that gap would let two
    frames pass at any frame rate.
    """

    __slots__ = ("sustain_s", "rearm_s", "confirm_s", "covered", "since", "active", "clear_since", "hits",
                 "last_t", "lead_s", "run")

    def __init__(self, sustain_s: float, rearm_s: float, confirm_s: float = 0.0, covered: bool = False):
        self.sustain_s, self.rearm_s, self.confirm_s, self.covered = sustain_s, rearm_s, confirm_s, covered
        self.reset()

    def reset(self) -> None:
        self.since: float | None = None
        self.active = False
        self.clear_since: float | None = None
        self.hits: deque[float] = deque()
        self.last_t: float | None = None
        self.lead_s = 0.0  # time from the step before the run to its first frame
        self.run = 0

    def step(self, t: float, on: bool) -> bool:
        before, self.last_t = self.last_t, t
        if on:
            self.clear_since = None
            if self.since is None:
                self.since = t
                self.lead_s = t - before if before is not None else 0.0
                self.run = 0
            self.run += 1
            self.hits.append(t)
            while self.hits and t - self.hits[0] > self.confirm_s:
                self.hits.popleft()
            confirmed = self.confirm_s > 0 and len(self.hits) >= 2
            span = t - self.since
            if self.covered:
                span = span + min(self.lead_s, span / (self.run - 1)) if self.run >= 2 else 0.0
            sustained = span >= self.sustain_s and (not self.covered or self.run >= 2)
            if not self.active and (sustained or confirmed):
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
    """Watches every frame for movements that could hurt, independent of reps and of the tempo.

    Parameters (all validated; the reasons are in the module docstring):
    - dv_deg_s / dv_mm_s: velocity change within `window_s` that is sudden.
    - window_s: 0.2 s, shorter than a flick's rise and long enough to
      average frame noise; the change is measured against the speed at the
      start of the window (interpolated between frames), so at 15 fps the
      window is not cut to the two frames inside it.
    - hold_fraction: once sudden, the change stays "on" while it is at least
      this share of the threshold, for at most window_s + confirm_s, so the
      next frame can confirm it (15 fps) and a jolt ends even if the speed
      never returns to where it was.
    - jerk_sustain_s / confirm_s: a jolt is warned when on for
      jerk_sustain_s (0: at once; the change is measured over 0.2 s of
      filtered speed, several frames, and landmark noise moves it by ~6
      deg/s, a ninth of the threshold), or on in two frames within confirm_s.
    - min_jolt_deg / min_jolt_mm / jolt_window_s: travel a sudden movement
      must cover within the window (a 15 deg flick covers 5 deg in ~110 ms).
    - too_fast_margin / too_fast_sustain_s: see the module docstring.
    - range_margin_fraction: beyond the person's own range by this fraction
      (at least 5 deg / 3 mm) counts as out of range.
    - torso_limit_deg: 10 deg of trunk turn/tilt means the shoulders, not the
      neck, are doing the movement.
    - warmup_s: speeds are not judged for 0.3 s after tracking (re)starts,
      because a differentiator's first frames carry a start-up transient,
      nor for 0.3 s after an axis becomes trustworthy again (coming back
      from past the measurable range, the estimate can step), nor, for the
      angles, for 0.3 s after the estimate changes source (face mesh <->
      points followed past it, `extra["tracked"]`): the two estimators read
      the same head differently (the followed points under-read a quick
      50 deg turn by up to 25 deg on rendered seed 400236), so the speed
      across the switch is the step between them, not a movement -- unless,
      handing over to the points, the two read it within SOURCE_STEP_DEG of
      each other then (`extra["source_step_deg"]`), or the filter took the
      step out of the speeds (`extra["speed_rebased"]`, `KinematicsFilter`).
      Then the angles are judged across the switch, with the wider margin
      (uncertain_factor) for warmup_s: what is left there is how differently
      the two read the speed (points stuck at 25 deg while the head came
      back at 75 deg/s, seed 400236's case, is within it). Waiting out every
      switch hid flicks that set one off (rendered population seeds 400830,
      a nod in a 45 deg hold that lost the followed points, and 400842, a
      flick on the way back that brought face mesh back: both missed).
    - uncertain_factor: an angle flagged not reliable (e.g. pitch and roll
      while the face is followed far out in a turn) is still watched for
      jolts, with the velocity change and travel thresholds this many times
      larger, and so is a trusted one while an untrusted frame is within the
      velocity window: a 15 deg flick changes the speed by 60-190 deg/s,
      1.5x the threshold is 82.
    - steady_untrusted_s: pitch or roll read by the points followed past
      face mesh (`extra["tracked"]`), untrusted for this long, is judged with
      the plain thresholds again while the other angles hold still. The
      wider margin is for a step between a trusted and an untrusted reading
      (one frame read 8 deg off in a smooth turn); the followed points are
      tracked frame to frame, so they carry no such step, and their noise
      already raises the thresholds. They under-read a 16 deg nod or tilt
      flick during a 40-60 deg turn's hold (a 10-15 deg swing, speed peaks
      of 57-90 deg/s against a true 150): with the wider margin 12 of 27
      such flicks went unwarned and 6 more were warned only at 367 ms
      (rendered, tuning scenes baseline, 100 and 101). 0.5 s: the velocity
      window plus the speed filter's settling (two 5 Hz low-passes, ~0.2 s)
      plus a margin. So is face mesh's own pitch or roll of a face turned
      past where it trusts them (headpose `MAX_TILT_TRUST_TURN_DEG`, 30 deg)
      while it trusts the turn: one fit, read frame by frame, no step between
      sources (tuning clip 'baseline 40 pitch+16': face mesh's pitch changed
      speed by 81 deg/s for a 16 deg nod, unwarned against the wider
      margin's 82.5; stop 62). Not face mesh's values past its range: it
      saturates and then catches up (scene 102: a 49 deg extension read 35
      and flat, then 60 deg/s on the way back; a lower bound, below). Not
      while another angle moves (see OTHERS_STILL_DEG_S), nor while the
      angle itself was moving as the window began: a flick in a hold starts
      from rest, and a lagging yaw lower bound catching up with a turn it
      had stopped following does not. With the lower bound judged as untrusted, this
      removes two of the three warnings above (scene 103) and loses none of
      the 27 tuning flicks. Nor for a lower bound at all, however steady:
      points that lagged a turn (the mesh reading 8 deg further) snapped
      forward 9 deg in two frames while the head turned at 35 deg/s, a 66
      deg/s change judged at the plain threshold (rendered population seed
      400487, a false `jerk`) -- unless face mesh saw the change (`confirmed`, see the
      module docstring). A followed pitch or roll change face mesh saw as well
      (`confirmed`, headpose `CONFIRM_WINDOW_S`) is judged with the plain
      thresholds too, in the frames it is, while the other angles move or
      before 0.5 s untrusted: face mesh trails the points by about a frame,
      so a flick's first frame can be `unconfirmed` (tuning flick clips: 2 of
      27 tilts missed so).
    """

    def __init__(self, exercise, ranges=None, *, dv_deg_s: float = 55.0, dv_mm_s: float = 75.0,
                 window_s: float = 0.2, hold_fraction: float = 0.7, jerk_sustain_s: float = 0.0,
                 confirm_s: float = 0.2, min_jolt_deg: float = 5.0, min_jolt_mm: float = 6.0,
                 jolt_window_s: float = 0.5, too_fast_margin: float = 0.05, too_fast_sustain_s: float = 0.05,
                 range_margin_fraction: float = 0.1, range_sustain_s: float = 0.1,
                 torso_limit_deg: float = 10.0, torso_sustain_s: float = 0.3,
                 rearm_s: float = 0.5, warmup_s: float = 0.3, uncertain_factor: float = 1.5,
                 steady_untrusted_s: float = 0.5, noisy_sustain_s: float = 2.0):
        self.exercise = exercise
        self.dv_deg_s = check_range("dv_deg_s", dv_deg_s, 10.0, 500.0)
        self.dv_mm_s = check_range("dv_mm_s", dv_mm_s, 5.0, 500.0)
        self.window_s = check_range("window_s", window_s, 0.05, 1.0)
        self.hold_fraction = check_range("hold_fraction", hold_fraction, 0.1, 1.0)
        self.jerk_sustain_s = check_range("jerk_sustain_s", jerk_sustain_s, 0.0, 0.5)
        self.confirm_s = check_range("confirm_s", confirm_s, 0.0, 1.0)
        self.min_jolt_deg = check_range("min_jolt_deg", min_jolt_deg, 0.0, 45.0)
        self.min_jolt_mm = check_range("min_jolt_mm", min_jolt_mm, 0.0, 45.0)
        self.jolt_window_s = check_range("jolt_window_s", jolt_window_s, 0.1, 2.0)
        # The path reaches back past the travel's window to CATCH_UP_S before the oldest change of
        # speed still held (`_beyond_stall`).
        self._path_kept_s = max(self.jolt_window_s, self.window_s + self.confirm_s + CATCH_UP_S)
        self.too_fast_margin = check_range("too_fast_margin", too_fast_margin, 0.0, 1.0)
        self.too_fast_sustain_s = check_range("too_fast_sustain_s", too_fast_sustain_s, 0.0, 1.0)
        self.range_margin_fraction = check_range("range_margin_fraction", range_margin_fraction, 0.0, 1.0)
        self.range_sustain_s = check_range("range_sustain_s", range_sustain_s, 0.0, 2.0)
        self.torso_limit_deg = check_range("torso_limit_deg", torso_limit_deg, 1.0, 90.0)
        self.torso_sustain_s = check_range("torso_sustain_s", torso_sustain_s, 0.0, 5.0)
        self.rearm_s = check_range("rearm_s", rearm_s, 0.0, 10.0)
        self.warmup_s = check_range("warmup_s", warmup_s, 0.0, 5.0)
        self.uncertain_factor = check_range("uncertain_factor", uncertain_factor, 1.0, 5.0)
        self.steady_untrusted_s = check_range("steady_untrusted_s", steady_untrusted_s, 0.0, 60.0)
        self.noisy_sustain_s = check_range("noisy_sustain_s", noisy_sustain_s, 0.0, 60.0)
        self._noisy_since: float | None = None
        self.grainy_said = False
        self.axis = exercise.axis
        self.unit = exercise.unit
        dirs = list(exercise.directions())
        self.axes = ANGULAR_AXES + (("retraction",) if self.axis == "retraction" else ())
        self._limits = self._range_limits(exercise, ranges, dirs)
        self.reset()

    def _range_limits(self, exercise, ranges, dirs) -> dict[int, float]:
        """Largest safe excursion on the exercise axis for each sign."""
        limits: dict[int, float] = {}
        opposite = {"left": "right", "right": "left", "flexion": "extension", "extension": "flexion", "back": "back"}
        stated = getattr(ranges, "model_fields_set", set()) if ranges is not None else set()
        for d in set(dirs) | {opposite[d] for d in dirs}:
            lim = float("inf")
            key = _range_key(exercise.movement, d)
            if ranges is not None and hasattr(ranges, "for_direction") and key in stated:
                rng = float(ranges.for_direction(exercise.movement, d))
                lim = rng + max(self.range_margin_fraction * rng, 5.0 if self.unit == "deg" else 3.0)
            safety = exercise.safety_limit
            if safety is not None:
                lim = min(lim, float(safety))
            s = exercise.sign(d)
            limits[s] = min(limits.get(s, float("inf")), lim)
        return limits

    def reset(self) -> None:
        self._fast = {a: _Episode(self.too_fast_sustain_s, self.rearm_s, covered=True) for a in self.axes}
        self._jerk = {a: _Episode(self.jerk_sustain_s, self.rearm_s, self.confirm_s) for a in self.axes}
        self._range = _Episode(self.range_sustain_s, self.rearm_s)
        self._torso = _Episode(self.torso_sustain_s, self.rearm_s)
        self._hist: dict[str, deque[tuple[float, float]]] = {a: deque() for a in self.axes}
        self._path: dict[str, deque[tuple[float, float, float]]] = {a: deque() for a in self.axes}
        self._base: dict[str, tuple[float, float] | None] = {}
        self._judged_since: dict[str, float] = {}
        self._uncertain_until: dict[str, float] = {}
        self._untrusted_since: dict[str, float] = {}
        self._angle_speeds: deque[tuple[float, dict[str, float]]] = deque()
        self._tracking_since: float | None = None
        self._tracked: bool | None = None
        self._switch_t: float | None = None  # the estimate's last change of source, seamless or not
        self._confirmed_until: dict[str, float] = {}
        self._was_reliable: dict[str, bool] = {}
        self._carried_until: dict[str, float] = {}
        self._across_until: dict[str, float] = {}
        # Per angle, while a dispute may still be lifted (`confirmed` within warmup_s): its last
        # frame, and the angle's judged-since, speed history and path as they were before it began.
        self._disputed: dict[str, tuple] = {}

    def speed_limit(self, axis: str) -> float:
        """The too-fast limit on `axis` (deg/s, or mm/s for retraction), before the margin."""
        if axis == self.axis:
            return float(self.exercise.speed_limit)
        if self.unit == "deg":
            return max(float(self.exercise.max_speed_deg_s), HOME_MAX_SPEED_DEG_S)
        return float(self.exercise.max_speed_deg_s)

    @staticmethod
    def read_limit(axis: str, limit: float) -> float:
        """What the reading must pass for the head to be past `limit`: a chin tuck's depth reads
        up to DEPTH_READ_MAX_GAIN times the head's (`core.depth_scale`), so a reading of 1.3-1.6
        times a limit in millimetres says nothing; a speed or depth short of this is not warned.
        (A rushed tuck is still told by its pace, which is read from durations: `core.pacing`.)"""
        return limit * DEPTH_READ_MAX_GAIN if axis == "retraction" else limit

    def update(self, sample: Kinematics, t_s: float | None = None, rep: int | None = None) -> list[Event]:
        t = float(sample.t_s if t_s is None else t_s)
        out: list[Event] = []
        if not sample.face_found:
            self.reset()
            return out
        if self._tracking_since is None:
            self._tracking_since = t
        warm = t - self._tracking_since >= self.warmup_s
        tracked = bool(sample.extra.get("tracked"))
        changed = self._tracked is not None and tracked != self._tracked  # the estimate's source
        if changed:
            self._switch_t = t
        switching = self._switch_t is not None and t - self._switch_t <= self.warmup_s
        # A handover to the points with no step between the two is not a switch to wait out.
        seamless = tracked and float(sample.extra.get("source_step_deg", math.inf)) <= SOURCE_STEP_DEG
        switched = changed and not seamless
        # With the step between the two taken out of the speeds (`speed_rebased`), what is left
        # across the switch is how differently the two read the speed: judged, with the wider
        # margin, for warmup_s, where the new one's reading is trusted (see the class docstring).
        rebased = switched and bool(sample.extra.get("speed_rebased"))
        self._tracked = tracked
        window_start = self._speeds_at_window_start(t, sample)
        was_reliable, self._was_reliable = self._was_reliable, {a: sample.is_reliable(a) for a in ANGULAR_AXES}
        for a in self.axes:
            if a != "retraction":
                # Judged across a switch whose step is out of the speed where the new reading is
                # trusted, or is a followed yaw whose change of speed face mesh saw the same way
                # in that frame (`confirmed`): that change is the head's, not the two's difference.
                if rebased and (sample.is_reliable(a) or (a == "yaw" and a in sample.extra.get("confirmed", ()))):
                    if not was_reliable.get(a, False):
                        self._carried_until[a] = t + SPEED_SETTLE_S
                    self._uncertain_until[a] = self._across_until[a] = t + self.warmup_s
                    self._untrusted_since[a] = t
                    # A change of speed found before the switch is not carried across it: the new
                    # source's travel would complete a jolt the old one's misreading began (tuning
                    # sweep 502 combined: face mesh's pitch swung 49 -> -45 deg/s, too short to be
                    # a jolt; 0.2 s after the handover the followed turn's travel made it one).
                    self._base.pop(a, None)
                elif switched or (t < self._across_until.get(a, -1.0) and not sample.is_reliable(a)
                                  and not self._seen_alone(a, sample)):
                    # Judged again after warmup_s (see the class docstring); so is a reading judged
                    # across a switch that is no longer trusted soon after it (held-out sweep 532
                    # combined: face mesh, trusted in the frame it took over, a lower bound in the
                    # next, then stepped 13 deg closer to the truth: a 158 deg/s velocity change),
                    # unless face mesh by itself read its change of speed as a jolt (`_seen_alone`).
                    self._across_until.pop(a, None)
                    self._forget(a)
            # An angle that is not trusted is still watched for jolts, with a wider margin; so is
            # a lower bound read by the followed points (see the module docstring).
            bound = sample.is_lower_bound(a)
            strict = sample.is_reliable(a) or (bound and not tracked and a not in sample.saturated_axes)
            if not (warm and sample.reliable) or (a == "retraction" and not strict):
                self._forget(a)
                continue
            # A followed change face mesh did not see, while face mesh also contradicts the followed
            # yaw, is the fit's, not the head's (`disputed`): rendered population seed 400674, a head
            # held still at 51 deg, the followed yaw 27 and face mesh's 45; the followed pitch
            # dipped 3 deg and rose 12 in 0.13 s, 109 deg/s, past even the wider margin. Not every
            # unconfirmed change: in a flick the mesh may saturate while the points go on (tuning clip scene
            # 100, a 16 deg nod at a 40 deg hold: mesh 11 of the points' 20 deg, the yaws agreeing);
            # judging none of those warned it at 600 ms instead of 167. Forgotten, as across a
            # change of source (`warmup_s`): the filtered speed carries the step for a few frames
            # after it -- unless face mesh sees the change within warmup_s after all (`confirmed`):
            # it trails the followed points by about a frame, so a flick's first frame can be
            # disputed (tuning flick clip scene 101, a 16 deg nod in a 40 deg hold: the points'
            # pitch moved 3.3 deg, face mesh's -0.8 within its noise, then 5.6 with the head's
            # 4.6; waiting out warmup_s missed it). Then it is judged as if never disputed; not
            # across a change of source, which is waited out (or rebased) on its own.
            held = self._disputed.get(a)
            if a in sample.extra.get("disputed", ()):
                if held is None or t - held[0] > self.warmup_s:
                    held = (t, self._judged_since.get(a), deque(self._hist[a]), deque(self._path[a]))
                self._forget(a)
                self._disputed[a] = (t,) + held[1:]
                continue
            if held is not None:
                liftable = t - held[0] <= self.warmup_s and not switching
                if not liftable or a in sample.extra.get("confirmed", ()):
                    del self._disputed[a]
                    if liftable:
                        _, since, self._hist[a], self._path[a] = held
                        if since is not None:
                            self._judged_since[a] = since
            # Judged again after a stretch without trustworthy values (past the measurable
            # range, say): the first frames carry the switch back, not a movement.
            since = self._judged_since.setdefault(a, t)
            if t - since < self.warmup_s:
                # ... but a change of the followed yaw's speed that face mesh by itself read as a
                # jolt is the head's (`_seen_alone`): rendered population seed 401556 (30 fps), a 19
                # deg flick outwards 0.11 s after a handover to the points (they lagged face mesh by
                # 5 deg, `disputed` for two frames): both confirmed it, face mesh's speed changing by
                # 58-77 deg/s, but inside the warmup nothing was judged: missed.
                if self._seen_alone(a, sample) and self._jerk[a].step(t, True):
                    out.append(self._event(t, ev.JERK, rep, float(sample.extra["mesh_yaw_dv_deg_s"]), "deg/s",
                                           axis=a, measure="velocity_change"))
                continue
            unit = "mm/s" if a == "retraction" else "deg/s"
            limit = self.speed_limit(a)
            v = float(sample.speed(a))
            sv = float(sample.speed_noise(a))
            if a == self.axis and strict:
                self._watch_noise(t, sv, unit, out)
            read_limit = self.read_limit(a, limit)
            over = max(read_limit * self.too_fast_margin, NOISE_FAST_SIGMAS * sv)
            # A speed is a measurement only where the value is: the speed of an untrusted
            # reading catching up with the head (face mesh re-found, followed points
            # lagging) is the estimate's, not the head's (rendered seed 400404: 136 and
            # 150 deg/s of pitch and roll as the face came back, every angle untrusted).
            measured = sample.is_reliable(a) and t >= self._carried_until.get(a, -1.0)
            if self._fast[a].step(t, measured and abs(v) > read_limit + over):
                out.append(self._event(t, ev.TOO_FAST, rep, abs(v), unit, axis=a, limit=limit))
            # A velocity change is measured between trusted speeds only (see _window), and the
            # filtered speed of the frames after an untrusted value still carries some of its
            # error, so the wider margin holds for as long as such a frame is inside the window.
            if strict:
                self._untrusted_since.pop(a, None)
                sure = t > self._uncertain_until.get(a, -1.0)
            else:
                self._uncertain_until[a] = max(self._uncertain_until.get(a, -1.0), t + self.window_s)
                steady = t - self._untrusted_since.setdefault(a, t) >= self.steady_untrusted_s
                # (Retraction never gets here: it is judged only while trusted, above.)
                # A lower bound keeps the margin however steady: its speed is the estimate's
                # (points that lagged the turn catching up, see the class docstring).
                if a in sample.extra.get("unconfirmed", ()):
                    self._untrusted_since[a] = t  # not steady: see CONFIRM_WINDOW_S (headpose)
                    steady = False
                # A followed change face mesh saw as well is the head's (headpose `CONFIRM_MAX_SHARE`),
                # but not within warmup_s of a switch between the two, however seamless: the speed
                # then mixes the two's readings of it (tuning sweep 103 yaw: face mesh under-read a
                # quickening turn, the points took over within 2 deg and read it in full, both
                # confirming the change: the speed rose by 58 deg/s within 0.2 s, the head's by 7).
                # The yaw's, a change of speed, stays confirmed while it is inside the velocity
                # window, as the jolt's travel accrues after it (401105: the travel reached 5 deg
                # 0.07 s after the followed speed stopped rising, and face mesh's speed with it).
                # A pitch or roll is confirmed by how far face mesh saw it move, which says nothing
                # of a change of speed after: only in the frames it is (held-out sweep 554 yaw, the
                # lagging points' roll surging 7 deg unseen 0.1 s after both read 3 deg of roll
                # that was not there; fresh sweep 568 combined, the points' pitch turning back
                # while the head's nod went on, 0.03 s after a confirmed frame: "Careful!" twice
                # for smooth movements, kept for the window).
                seen = a in sample.extra.get("confirmed", ()) and (not switching or self._seen_alone(a, sample))
                if seen and a == "yaw":
                    self._confirmed_until[a] = t + self.window_s
                confirmed = seen or t <= self._confirmed_until.get(a, -1.0)
                # Face mesh's own pitch or roll of a face turned past what it reads them at, its turn
                # trusted (headpose `MAX_TILT_TRUST_TURN_DEG`), is steady as the points' is.
                turned = not tracked and sample.is_reliable("yaw")
                sure = confirmed or (steady and (tracked or turned) and not bound and window_start is not None
                                     and all(v < OTHERS_STILL_DEG_S for v in window_start.values()))
            on, mag = self._sudden(a, t, v, 1.0 if sure else self.uncertain_factor, strict, sv)
            if self._jerk[a].step(t, on):
                out.append(self._event(t, ev.JERK, rep, mag, unit, axis=a, measure="velocity_change"))
        x = float(sample.value(self.axis))
        lim = self._limits.get(1 if x >= 0 else -1, float("inf"))
        judged = sample.is_reliable(self.axis) or sample.is_lower_bound(self.axis)
        if self._range.step(t, judged and abs(x) > self.read_limit(self.axis, lim)):
            out.append(self._event(t, ev.OUT_OF_RANGE, rep, abs(x), self.unit, limit=lim,
                                   lower_bound=sample.is_lower_bound(self.axis)))
        torso = max(abs(sample.torso_yaw_deg or 0.0), abs(sample.torso_roll_deg or 0.0))
        if self._torso.step(t, torso > self.torso_limit_deg):
            out.append(self._event(t, ev.COMPENSATION, rep, torso, "deg",
                                   torso_yaw_deg=sample.torso_yaw_deg, torso_roll_deg=sample.torso_roll_deg))
        return out

    def _seen_alone(self, axis: str, sample: Kinematics) -> bool:
        """Whether face mesh, by its own readings, saw the followed yaw's change of speed (headpose
        `mesh_yaw_dv_deg_s`) as large as a jolt's threshold: one source's reading, not the two's
        mixed, so judged as the head's even just after a switch between them. Rendered population
        seed 401430 (20 fps): a 19 deg flick outwards in 0.23 s set off the handover to the
        followed points; face mesh's speed changed by 101-107 deg/s within 0.25 s, the points' by
        50-76, the speed across the switch by 81. Waited out as a switch, then judged with the
        wider margin (83), it went unwarned."""
        return (axis == "yaw" and axis in sample.extra.get("confirmed", ())
                and float(sample.extra.get("mesh_yaw_dv_deg_s", 0.0))
                >= self._dv_threshold(axis, float(sample.speed_noise(axis))))

    def _speeds_at_window_start(self, t: float, sample: Kinematics) -> dict[str, float] | None:
        """The angles' speeds (absolute) at the start of the velocity window, before a jolt
        being judged began; None until the history reaches back that far."""
        hist = self._angle_speeds
        hist.append((t, {a: abs(float(sample.speed(a))) for a in ANGULAR_AXES}))
        lo = t - self.window_s
        while len(hist) >= 2 and hist[1][0] <= lo:
            hist.popleft()
        t0, speeds = hist[0]
        return speeds if t0 <= lo else None

    def _forget(self, axis: str) -> None:
        self._disputed.pop(axis, None)  # what is forgotten for another reason is not put back
        self._judged_since.pop(axis, None)
        self._confirmed_until.pop(axis, None)
        self._hist[axis].clear()
        self._path[axis].clear()
        self._base.pop(axis, None)
        self._untrusted_since.pop(axis, None)

    def _travel(self, axis: str, t: float, v: float) -> float:
        """How far the head moved on `axis` within the last `jolt_window_s`.

        The path is the integral of the measured speed, not the smoothed angle:
        the angle's adaptive filter trails a flick by ~100 ms, the speed by ~60.
        """
        path = self._path[axis]
        x = 0.0
        if path:
            t0, x0, _ = path[-1]
            x = x0 + v * (t - t0)
        path.append((t, x, v))
        while path and t - path[0][0] > self._path_kept_s:
            path.popleft()
        xs = [p[1] for p in path if t - p[0] <= self.jolt_window_s]
        return max(xs) - min(xs)

    def _window(self, axis: str, t: float, v: float, trusted: bool = True) -> list[float]:
        """Speeds within the last `window_s`, plus the speed interpolated at exactly t - window_s
        (at 15 fps only two frames fall inside 0.2 s; the window must still span 0.2 s).

        A trusted speed is compared with trusted speeds only: the speed of a frame whose value
        was not trusted is not a measurement of the head."""
        hist = self._hist[axis]
        hist.append((t, v, trusted))
        lo = t - self.window_s
        while len(hist) >= 2 and hist[1][0] <= lo:
            hist.popleft()
        speeds = [h[1] for h in hist if h[0] > lo and (h[2] or not trusted)]
        if len(hist) >= 2 and hist[0][0] <= lo and (not trusted or (hist[0][2] and hist[1][2])):
            (t0, v0, _), (t1, v1, _) = hist[0], hist[1]
            speeds.append(v0 + (v1 - v0) * (lo - t0) / (t1 - t0))
        return speeds

    def _nominal_dv(self, axis: str) -> float:
        return self.dv_mm_s if axis == "retraction" else self.dv_deg_s

    def _dv_threshold(self, axis: str, speed_noise: float) -> float:
        """The velocity change a jolt on `axis` must pass, with the plain margin: the nominal one,
        raised to what the speed's jitter allows (see the module docstring)."""
        return max(self._nominal_dv(axis), NOISE_DV_SIGMAS * speed_noise)

    def _watch_noise(self, t: float, speed_noise: float, unit: str, out: list[Event]) -> None:
        """Say once when jitter hides jolts on the exercise's axis (see the module docstring)."""
        if NOISE_DV_SIGMAS * speed_noise <= GRAINY_DV_FACTOR * self._nominal_dv(self.axis):
            self._noisy_since = None
            return
        self._noisy_since = t if self._noisy_since is None else self._noisy_since
        if not self.grainy_said and t - self._noisy_since >= self.noisy_sustain_s:
            self.grainy_said = True
            out.append(Event(t_s=t, kind=ev.GRAINY, exercise_id=self.exercise.id, magnitude=float(speed_noise),
                             unit=unit, message=GRAINY_MESSAGE,
                             data={"axis": self.axis, "speed_noise": round(float(speed_noise), 2),
                                   "threshold": round(NOISE_DV_SIGMAS * float(speed_noise), 1)}))

    def _sudden(self, axis: str, t: float, v: float, factor: float = 1.0, trusted: bool = True,
                speed_noise: float = 0.0) -> tuple[bool, float]:
        """The velocity changed by more than the threshold within `window_s`, and the head travelled.
        An untrusted reading's change counts only as far as it gained speed (`_gained`)."""
        speeds = self._window(axis, t, v, trusted)
        thr = factor * self._dv_threshold(axis, speed_noise)
        held = self._base.get(axis)
        base = change = None
        if held is not None and t - held[1] <= self.window_s + self.confirm_s:
            change = self._counted(axis, v, held, trusted)
            if change >= self.hold_fraction * thr:
                base = held
        if base is None:
            change = 0.0
            lo, hi = min(speeds), max(speeds)
            if v - lo >= thr:
                base = (lo, t)
            elif hi - v >= thr:
                base = (hi, t)
            if base is not None:
                change = self._counted(axis, v, base, trusted)
                if change < thr:
                    base, change = None, 0.0
        self._base[axis] = base
        travel = self._travel(axis, t, v)
        min_travel = factor * max(self.min_jolt_mm if axis == "retraction" else self.min_jolt_deg,
                                  NOISE_TRAVEL_S * speed_noise)
        if base is not None and travel >= min_travel:
            return True, change
        return False, 0.0

    def _counted(self, axis: str, v: float, base: tuple[float, float], trusted: bool) -> float:
        """The change of speed from `base` that counts as the head's: less a stall's
        (`_beyond_stall`) and, of an untrusted reading's, only the speed gained (`_gained`)."""
        change = self._beyond_stall(axis, v, base, abs(v - base[0]))
        return change if trusted else _gained(v, base, change)

    def _beyond_stall(self, axis: str, v: float, base: tuple[float, float], change: float) -> float:
        """The change of speed from `base`, less a stall's (see CATCH_UP_S): where the speed
        CATCH_UP_S before the change was found ran the same way as now and faster than the base,
        only what the speed gained beyond it counts."""
        before = None
        for entry in self._path[axis]:
            if entry[0] > base[1] - CATCH_UP_S:
                break
            before = entry[2]
        if before is None or before * v <= 0 or abs(base[0]) >= abs(before):
            return change
        return abs(v) - abs(before)

    def _event(self, t: float, kind: str, rep: int | None, magnitude: float, unit: str, **data) -> Event:
        return Event(t_s=t, kind=kind, exercise_id=self.exercise.id, rep=rep, magnitude=float(magnitude),
                     unit=unit, message=cue_text(self.exercise, kind), data=data)


def _gained(v: float, base: tuple[float, float], change: float) -> float:
    """The part of a change of speed from `base` that an untrusted reading can show: the speed it
    gained, the way it moves now (from rest where it turned back), never its slowing down. An
    untrusted reading stops where it saturates or lags and turns back as it collapses, while the
    head goes on: tuning sweeps 102 standard and random pitch, extension read past what face mesh
    follows, stalled at 29-30 deg and came back 5 deg while the head went on from 33 to 45 deg (its
    speed swinging from 59 deg/s out to 43 in); tuning sweep 101 standard yaw, back from 89 deg, the
    followed points stopped at 34-36 deg while the head came on from 64 to 56 at 68-76 deg/s (their
    speed falling from 93 to 7): "Careful!" for three smooth movements. A flick gains speed, from
    rest or on top of a movement, and is counted as before; a sudden stop is judged only where the
    reading is trusted."""
    if v * base[0] > 0.0:
        return min(change, max(abs(v) - abs(base[0]), 0.0))
    return min(change, abs(v))


def _range_key(movement: str, direction: str) -> str:
    """The `Ranges` field that holds the person's range for this movement and direction."""
    if movement in ("rotation", "side_bend", "chin_nod", "retraction"):
        return {"rotation": "rotation_deg", "side_bend": "side_bend_deg", "chin_nod": "chin_nod_deg",
                "retraction": "retraction_mm"}[movement]
    return "extension_deg" if direction == "extension" else "flexion_deg"
