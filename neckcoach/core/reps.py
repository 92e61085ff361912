"""Rep counting and hold timing for one exercise: a small state machine.

States: unarmed -> neutral -> out -> at_target (holding) -> returning -> neutral.
Why each guard exists:
- `unarmed` until the head has rested near neutral for `settle_s`: getting into
  position (leaning in, sitting down) must never count as a rep.
- Hysteresis (leave neutral beyond `start_fraction` x target, be back in
  neutral below `neutral_fraction` x target; leave the target band only
  `band_hysteresis_fraction` below where it was entered) and a time-based
  dwell (`dwell_s`) on every boundary: landmark jitter of a degree or two
  around any threshold cannot produce two transitions.
- A rep is counted only when it returns to neutral, so one movement is one rep
  however long it lingers at the target.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neckcoach.core import events as ev
from neckcoach.core.checks import check_range
from neckcoach.core.compat import SLOTS
from neckcoach.core.events import Event
from neckcoach.core.samples import Kinematics
from neckcoach.core.smoothness import (FINE_SHAPE_MIN_SNR, MIN_SNR, SHAPE_FRACTIONS, gaussian_smooth, movement_bounds,
                                       movement_metrics, resample_uniform, smoothing_for, split_rep)


# Speed peaks must stand out by this much (deg/s, or mm/s for a chin tuck)
# in the smoothed speed of one movement: ~3x what landmark noise leaves after
# MOVEMENT_SMOOTH_S, and below the peak speed of the slowest movement the
# routine model allows (an 8 deg chin nod at half its tempo peaks at 3.8 deg/s,
# scored as its one peak by the floor in `_movement`).
PEAK_PROMINENCE_DEG_S = 2.0
PEAK_PROMINENCE_MM_S = 1.5
# Axes whose reading past the measurable range says nothing of a movement's shape (see
# `_rep_metrics`): the turn, past which face mesh collapses and followed points take over.
SHAPE_LOST_PAST_RANGE = ("yaw",)
# Why a movement's shape was withheld (`RepRecord.to_dict`'s smoothness_withheld_out/back).
WITHHELD_NOISE, WITHHELD_BEYOND = "noise", "beyond"
# Seconds of samples kept before a rep leaves neutral (at least; the counter
# keeps a whole prescribed tempo, since a patient at half the tempo takes
# ~2 s to cross the start threshold) and after it is back, so each movement
# can be scored from rest to rest.
PRE_S = 1.5
_USE_POS = True
# A jolt warned up to JOLT_LEAD_S before a rep left neutral belongs to that rep:
# the safety monitor sees the velocity change as the head sets off, before the
# counter sees the head leave the neutral band.
JOLT_LEAD_S = 0.5
# Where the head rests is the mean over REST_S (half a breath or more, so
# breathing sway averages out rather than setting the zero at one end of it)
# of a head that moved less than STILL_RANGE (deg, or mm: 0.8 deg of breathing
# sway and a 1 deg tremor pass, any exercise movement does not); once armed,
# also only while its trend over REST_S stays under REST_RANGE: posture drifts
# at a few deg per minute (<0.1 deg/s), the slowest exercise's start (a chin
# nod at half its tempo) moves at 0.5 deg/s or more within a second, and
# measurement jitter (0.1-0.4 deg per frame) moves a 2 s trend fit by less
# than 0.2 deg.
STILL_RANGE = 2.0
REST_RANGE = 0.5
REST_S = 2.0
# Once armed, the rest follows the head no faster than posture drifts (the same
# figure: a few deg, or mm, per minute, under 0.1 per second). A still place
# short of the start threshold may be a short rep held for its hold time, not
# a new rest: followed at once, a short chin nod (4.3 deg of 8) held still for
# 13 s moved the zero 2.8 deg in one step, the head back at rest was then
# outside the neutral band of it, and every later nod read 3 deg short and went
# uncounted (kinematics population seeds 601630, 601804).
REST_DRIFT_PER_S = 0.1
# In a grainy picture the smoothed value itself jitters (`Kinematics.noise`,
# sigma), and the fixed figures above would call a still head moving: over
# REST_S a still head's smoothed jitter spans 4-6 sigma at the median and its
# trend is ~1 sigma (white jitter through the project's filters at 15-30 fps,
# benchmarks/README.md "Thresholds under jitter"), and it stays within 3 sigma
# of its mean in 97-99 % of frames. So "still" allows STILL_SIGMAS, the trend
# TREND_SIGMAS and the neutral band NEUTRAL_SIGMAS of it. The band never
# reaches NEUTRAL_MAX_OF_START of the start threshold: past that, rest and the
# start of a rep cannot be told apart and the counter says it is
# `noise_limited` (the coach tells the person why nothing is counted).
STILL_SIGMAS = 6.0
TREND_SIGMAS = 2.0
NEUTRAL_SIGMAS = 3.0
NEUTRAL_MAX_OF_START = 0.8
# A rep that ends short of its target after the axis went unmeasured for this
# long on the way (face mesh gave up at the end of a turn, the face was lost)
# is "unmeasured", not "short": where the head turned round was not seen, so
# telling the patient to go further would be a guess. A shorter gap (a few
# frames at 15-30 fps) is bridged by the readings around it: the head is
# slowest at its turn-round, where it stays for well over 0.3 s in a rep done
# in one go at up to twice the tempo.
UNMEASURED_S = 0.3
UNMEASURED_MESSAGE = "I could not see how far you went on that one, so it did not count."
# A head seen again after such a gap, already in the target band, may be arriving or coming
# back from an unseen hold (rendered population seed 400885: a look-up held 8 s past what a
# camera below the eyes reads, first seen again at 26 of its 30 deg on the way back at
# 26 deg/s; it was told "Hold", "Stay at the target until I say release" and "Hold it a
# little longer next time"). It is coming back when its speed towards neutral is past what
# a head held still shows: the jitter's speed sigma times BACK_SPEED_SIGMAS (judged at the
# frames after a gap only: pure jitter passes 3 sigma one way in 0.13 % of frames) plus
# BACK_SPEED_MIN_DEG_S (breathing sway of up to 1 deg, or mm, at 0.2-0.4 Hz moves the
# head at up to 2.5 deg/s). Slower returns are not told apart from a hold; but a hold seen
# only after such a gap may have begun unseen, so one that ends short by no more than the
# gap is not "broken" nor "short": it is unmeasured too. Without a hold to time, reaching
# the band is the whole rep: a value there, measured or a lower bound, counts whichever way
# the head moves (tests/test_faults_room.py: a turn whose way out was untrusted, first seen
# again as "at least 34 deg" of a 34 deg reach on its way back).
BACK_SPEED_SIGMAS = 3.0
BACK_SPEED_MIN_DEG_S = 2.5
# A hold ends when the reading leaves the target band (its exit a hysteresis below the reach), or,
# in a grainy picture, BAND_EXIT_SIGMAS x the value's jitter sigma below the reach, whichever is
# further: the smoothed jitter of a still head stays within 3 sigma of its mean in 97-99 % of
# frames (benchmarks/README.md, "Thresholds under jitter"; the neutral band's NEUTRAL_SIGMAS), where
# it crosses a fixed 1 mm hysteresis in a third of them (kinematics population seed 675: a chin
# tuck in a dim room heard "Stay at the target until I say release" six times in one hold, and
# was not counted). A hold's time runs only while the reading is inside the band's exit, so a head
# that leaves it is credited until it did, not until the jitter-wide exit noticed. Where the exit
# was widened, where the head held is judged by the hold's readings, not by a frame
# (`_held_at_target`): their median over the hold (after its first HOLD_MEDIAN_AFTER_S) must be at
# the reach, for a median has far less jitter than a frame and the share of the hysteresis that
# was there for the jitter is not given to it (with the exit as its line, kinematics seeds 411963
# and 410465 counted tucks held at 11.0 of 15 mm, read 1 mm long with 2 mm of jitter). Held still
# short of it, the patient hears "almost" once and the hold goes on, judged again over each further
# `hold_s` (not frame by frame: a median slid along a long hold would sooner or later cross the
# line on the jitter alone); let go, the rep is short of the target, not short of hold.
BAND_EXIT_SIGMAS = 3.0
# The jitter sigma the exit is widened by is the larger of the one the reading comes with and the
# spread the hold's own readings show (1.4826 x their median absolute deviation, once
# HOLD_SPREAD_MIN_S of them are in; taken from the hold's start and from after its first
# HOLD_MEDIAN_AFTER_S, the larger: the arrival's last millimetres only widen it, early in a hold,
# where letting go is rare). The first is estimated from frame-to-frame differences as white
# noise, and a reading that also wanders slowly jitters more after smoothing than it says
# (rendered population seed 401387, a grainy picture: a chin tuck held still at 11 mm read 11.9
# mm with a sigma of 1.0 mm where it said 0.56; the hold was judged broken six times in 8 s, each
# time "Stay at the target until I say release"). A head that lets go moves most of the way out of
# the band in a fraction of the hold, which moves the median deviation of the hold's readings
# little: it is still judged to have let go, later by the time the wider exit takes to cross, and
# credited only until it left the band's exit, as above.
HOLD_SPREAD_MIN_S = 0.5
# The hold's first this long is not judged for where the head held: the reading that entered the
# band may be the jitter's, with the head still arriving (a chin tuck's last millimetres take a
# few tenths of a second at the bundled tempo).
HOLD_MEDIAN_AFTER_S = 0.5
_MOVING = ("out", "at_target", "returning")
# A rep's record goes on after the rep has ended, so that its way back is scored from rest to
# rest: at least TAIL_S, and TAIL_OF_MOVEMENT of the way out's duration (from its 20-80 % time,
# as the smoothness takes it). The rep ends when the head is back in the neutral band, which for
# a small movement leaves up to ~40 % of the way back's duration to go (an 8 deg nod at half its
# tempo: 1.5 s of 4), and the shape's smoothing (an eighth of the movement, 3 sigma each side)
# needs some of it at rest after that. Cut at 1 s, that nod scored its way back -1.5 to -1.7
# where its way out, smoothed the same, scored -1.41. Longer is not better: the rest after the
# way back is noise, which the way back's bounds can then take in (a 30 deg extension at half
# its tempo with 1 deg of jitter at 15 fps, kept for 0.8 of its way out: -1.70 and two speed
# peaks where 0.7 scored -1.54 and one). 0.7 is what was chosen at stop 49 as 0.8 of the
# duration as it was read then, ~0.85 of the true one.
TAIL_S = 1.0
TAIL_OF_MOVEMENT = 0.7
# A minimum-jerk movement goes from 20 % to 80 % of its way in this share of its duration: its
# position 10u^3 - 15u^4 + 6u^5 passes 0.2 at u = 0.3266 and 0.8 at 0.6734. (Until stop 50 this was
# 0.43, which read every duration at 0.81 of the movement's.)
MJ_20_80_SHARE = 0.3468


def mostly_unmeasured(reasons) -> bool:
    """Whether most of the uncounted attempts among these reasons (`RepRecord.reason`, None for a
    counted rep) went where the camera could not measure them; a jolt is not an attempt."""
    missed = [r for r in reasons if r is not None and r != "sudden"]
    return 2 * missed.count("unmeasured") > len(missed)


@dataclass(**SLOTS)
class RepRecord:
    """One attempt at a rep (complete or partial), as stored in session.json.

    `peak_lower_bound` is True when the furthest point was beyond what the
    camera can measure: the true peak is at least `peak`.
    """

    index: int
    side: str
    start_t_s: float
    target: float
    unit: str
    complete: bool = False
    end_t_s: float | None = None
    peak_signed: float = 0.0
    peak: float = 0.0
    peak_lower_bound: bool = False
    time_to_target_s: float | None = None
    hold_s: float = 0.0
    reason: str | None = None
    warnings: int = 0
    jolted: bool = False
    unmeasured_s: float = 0.0
    _t: list[float] = field(default_factory=list)
    _x: list[float] = field(default_factory=list)
    _speed: list[float] = field(default_factory=list)
    _bound: list[bool] = field(default_factory=list)
    _sign: int = 1
    _metrics: dict[str, Any] | None = None
    _tail_s: float | None = None

    def add(self, t_s: float, value: float, velocity: float, bound: bool = False) -> None:
        """One sample; `bound` when the value is only a lower bound (past the measurable range)."""
        self._t.append(float(t_s))
        self._x.append(float(value))
        self._speed.append(float(velocity))
        self._bound.append(bool(bound))
        self._metrics = None

    def finish(self, t_s: float) -> None:
        self.end_t_s = float(t_s)
        self._metrics = None

    @property
    def duration_s(self) -> float:
        return (self.end_t_s if self.end_t_s is not None else self.start_t_s) - self.start_t_s

    def tail_s(self) -> float:
        """How long to keep recording after the rep ended (see TAIL_OF_MOVEMENT)."""
        if self._tail_s is None:
            x = np.asarray(self._x, dtype=float) * self._sign
            way_out = _movement_duration_s(np.asarray(self._t, dtype=float), x, float(x.max()), True) if x.size else 0.0
            self._tail_s = max(TAIL_S, TAIL_OF_MOVEMENT * way_out)
        return self._tail_s

    def metrics(self) -> dict[str, Any]:
        """Speed and smoothness, per movement (out, back): computed from the samples so far."""
        if self._metrics is None:
            self._metrics = _rep_metrics(self)
        return self._metrics

    def to_dict(self) -> dict[str, Any]:
        u = self.unit
        m = self.metrics()
        r = lambda x, n=3: None if x is None else round(float(x), n)  # noqa: E731
        out, back = m["out"], m["back"]
        worse = [x for x in (out, back) if x.get("sparc") is not None]
        return {
            "index": self.index,
            "side": self.side,
            "complete": self.complete,
            "reason": self.reason,
            "start_t_s": r(self.start_t_s),
            "end_t_s": r(self.end_t_s),
            f"peak_{u}": r(self.peak_signed, 2),
            f"peak_abs_{u}": r(self.peak, 2),
            "peak_lower_bound": self.peak_lower_bound,
            "unmeasured_s": r(self.unmeasured_s),
            f"target_{u}": r(self.target, 2),
            "time_to_target_s": r(self.time_to_target_s),
            "hold_s": r(self.hold_s),
            f"peak_speed_{u}_s": r(m.get("peak_speed"), 2),
            f"mean_speed_{u}_s": r(m.get("mean_speed"), 2),
            # The rep's smoothness is that of its less smooth movement.
            "sparc": r(min(x["sparc"] for x in worse)) if worse else None,
            "ldlj": r(min(x["ldlj"] for x in worse)) if worse else None,
            "velocity_peaks": max(x["velocity_peaks"] for x in worse) if worse else None,
            "sparc_out": r(out.get("sparc")), "sparc_back": r(back.get("sparc")),
            "ldlj_out": r(out.get("ldlj")), "ldlj_back": r(back.get("ldlj")),
            "velocity_peaks_out": out.get("velocity_peaks"), "velocity_peaks_back": back.get("velocity_peaks"),
            "move_out_s": r(out.get("duration_s")), "move_back_s": r(back.get("duration_s")),
            "smoothness_withheld_out": out.get("withheld"), "smoothness_withheld_back": back.get("withheld"),
            "warnings": self.warnings,
        }


def _rep_metrics(rec: RepRecord) -> dict[str, Any]:
    """Peak/mean speed over the rep, and SPARC, LDLJ and speed peaks of its way out and back.

    Each movement is found from the position trace (`split_rep`), extended to
    where it rests, and its shape scored from the speed smoothed over a
    twentieth of its own duration where the noise allows, else an eighth
    (`SHAPE_FRACTIONS`). Where the movement's peak speed is less than MIN_SNR
    times the noise of that smoothed speed while the head was still before the
    rep or held, the shape is not measured and the metrics are None (with
    "withheld": "noise"): a chin tuck's depth estimate is noisy enough for
    that on a dim, grainy picture. So is a movement whose noise could not be
    measured at all (no still stretch before it, no hold of 1 s). Nor where
    part of a turn was read past the measurable range ("withheld": "beyond"):
    there face mesh under-reads more and more, collapses, and the followed
    points take over, so the reading, a lower bound, steps where the head does
    not (the demo's virtual patient, exactly minimum-jerk, turning 50 deg: its
    third turn's way out read two speed peaks, the second where the reading, a
    lower bound from 39 deg on, stalled and then stepped 3.8 deg in a frame).
    Flexion past its trusted reading is a lower bound for another reason, face
    mesh reading it short by a steady fraction (30 deg read ~28), which keeps
    its shape: those samples count (`SHAPE_LOST_PAST_RANGE`). Extension past
    what face mesh follows from a camera below (`Kinematics.saturated_axes`)
    does not: there the mesh stops and steps where the head does not.
    """
    t = np.asarray(rec._t, dtype=float)
    v = np.asarray(rec._speed, dtype=float) * rec._sign
    bound = np.asarray(rec._bound, dtype=float)
    x = np.asarray(rec._x, dtype=float) * rec._sign
    empty = {"sparc": None, "ldlj": None, "velocity_peaks": None, "duration_s": None, "peak_speed": None}
    inside = (t >= rec.start_t_s) & (t <= (rec.end_t_s if rec.end_t_s is not None else np.inf))
    sp = np.abs(v[inside])
    m: dict[str, Any] = {"peak_speed": float(sp.max()) if sp.size else 0.0,
                         "mean_speed": float(sp.mean()) if sp.size else 0.0,
                         "out": dict(empty), "back": dict(empty)}
    if t.size < 8 or t[-1] <= t[0]:
        return m
    grid, fs = resample_uniform(t, v)
    tg = t[0] + np.arange(grid.size) / fs
    xs = np.interp(tg, t, x)
    beyond = np.interp(tg, t, bound) > 0.0
    spans = split_rep(tg, xs)
    if spans is None:
        return m
    floor = PEAK_PROMINENCE_MM_S if rec.unit == "mm" else PEAK_PROMINENCE_DEG_S
    peak = float(xs.max())
    (o0, o1), (b0, b1) = spans
    left = np.nonzero(xs >= 0.2 * peak)[0]
    core_out = (int(left[0]), o1) if left.size else (o0, o1)
    core_back = (b0, int(left[-1])) if left.size else (b0, b1)
    for name, (lo, hi), sign, limit in (("out", core_out, 1.0, (0, b0)),
                                        ("back", core_back, -1.0, (o1, grid.size - 1))):
        if hi <= lo:
            continue
        duration = _movement_duration_s(tg[limit[0]:limit[1] + 1], xs[limit[0]:limit[1] + 1], peak, name == "out")
        # Pacing's "move_out_s" is this duration too: the movement's speed bounds, widened by the
        # smoothing and cut by the noise floor, read a 2x-tempo movement 1.18-1.25x long and a
        # 0.5x one 0.83-0.95x (the synthetic grid), where this reads 0.96-1.1x at any pace.
        moved_s = duration if duration > 0 else None
        sigma = smoothing_for(duration)  # light: a flick inside the movement stays a peak of its own
        vs = gaussian_smooth(grid, fs, sigma)
        noise = _noise(_rest_noise(tg, vs, xs, peak, duration, sigma), _hold_noise(vs, o1, b0, fs)) or 0.0
        i, j = _padded_bounds(np.maximum(sign * vs, 0.0), lo, hi, 2.0 * noise, limit)
        if j - i < 4:
            continue
        peak_speed = float(np.max(sign * vs[i:j + 1]))
        # The shape (SPARC, LDLJ) is taken from a speed smoothed over a twentieth of the
        # movement where landmark noise leaves that clean enough (a flick inside it keeps more
        # of its roughness), else over an eighth; the speed peaks from the light smoothing,
        # where a flick inside the movement is a peak of its own.
        for fraction in SHAPE_FRACTIONS:
            shape_sigma = max(sigma, fraction * duration)
            shaped = vs if shape_sigma == sigma else gaussian_smooth(grid, fs, shape_sigma)
            shape_noise = _noise(_rest_noise(tg, shaped, xs, peak, duration, shape_sigma),
                                 _hold_noise(shaped, o1, b0, fs))
            # The shape's own start and stop, found on the shaped speed: on the light one the
            # noise floor of a slow movement (a chin nod at half its tempo peaks at 3.8 deg/s)
            # can be a third of its peak, and the movement was cut there, a truncated profile
            # that scores rough.
            si, sj = _padded_bounds(np.maximum(sign * shaped, 0.0), lo, hi, 2.0 * (shape_noise or 0.0), limit)
            if shape_noise is not None and 0 < FINE_SHAPE_MIN_SNR * shape_noise <= peak_speed:
                break
        if beyond[min(i, si):max(j, sj) + 1].any():
            m[name] = dict(empty, duration_s=moved_s, peak_speed=peak_speed, withheld=WITHHELD_BEYOND)
            continue
        snr = float(peak_speed / noise) if noise > 0 else float("inf")
        # Noise never seen (no still stretch before the rep, no hold of 1 s: a picture so
        # noisy that the head never reads as resting) is not noise known to be small.
        shape_snr = (0.0 if shape_noise is None else float(peak_speed / shape_noise) if shape_noise > 0
                     else float("inf"))
        if shape_snr < MIN_SNR or sj - si < 4:
            m[name] = dict(empty, duration_s=moved_s, peak_speed=peak_speed, withheld=WITHHELD_NOISE,
                           shape_snr=shape_snr)
            continue
        # Both from the whole record's smoothed speed, cut to the movement: smoothing the cut
        # alone pads it with its own end samples, and one noisy sample repeated over 3 sigma
        # (up to 2 s of a slow chin tuck) becomes a lump of speed at the movement's start or end
        # that no head made (benchmarks/smoothness_noise.py: the slower the movement and the
        # higher the frame rate, the worse; 0.5x-tempo side bends at 1 deg of jitter scored
        # within 0.3 of -1.41 in 44 % of movements).
        mm = movement_metrics(tg[si:sj + 1], sign * shaped[si:sj + 1], smooth_s=0.0)
        mm["duration_s"] = moved_s
        peaks = movement_metrics(tg[i:j + 1], sign * vs[i:j + 1], smooth_s=0.0,
                                 min_prominence_abs=max(floor, 5.0 * noise))
        mm["velocity_peaks"] = max(peaks["velocity_peaks"] or 0, 1 if mm["peak_speed"] else 0)
        mm["stop_starts"] = peaks["stop_starts"]
        mm["snr"] = snr
        mm["shape_snr"] = shape_snr
        m[name] = mm
    return m


def _padded_bounds(speed: np.ndarray, lo: int, hi: int, floor: float, limit: tuple[int, int]) -> tuple[int, int]:
    """`movement_bounds`, then out to where a minimum-jerk movement really starts and stops: its
    speed is 10 % of peak at 8.7 % of its duration from each end."""
    i, j = movement_bounds(speed, lo, hi, floor, limit=limit)
    pad = int(round(0.105 * (j - i)))
    return max(limit[0], i - pad), min(limit[1], j + pad)


def _movement_duration_s(t: np.ndarray, x: np.ndarray, peak: float, outward: bool) -> float:
    """A movement's duration from the time it takes from 20 % to 80 % of the way (MJ_20_80_SHARE
    of a minimum-jerk movement's duration), found from the position, which is far less noisy than
    the speed; 0 if unseen. Out: the last time below 20 % before first reaching 80 %; back: from
    the last time above 80 % to the first time below 20 % after it (later sway near neutral does
    not count). Each crossing is placed between the two samples around it: taken at the samples,
    the time read up to a frame long (at 15 fps, +15 % for a 1.25 s movement)."""
    if t.size < 3 or peak <= 0:
        return 0.0
    lo, hi = 0.2 * peak, 0.8 * peak
    above = np.nonzero(x >= hi)[0]
    if not above.size:
        return 0.0
    if outward:
        below = np.nonzero(x[: above[0]] < lo)[0]
        if not below.size:
            return 0.0
        b, a = int(below[-1]), int(above[0])
        return (_crossing_t(t, x, a - 1, hi) - _crossing_t(t, x, b, lo)) / MJ_20_80_SHARE
    a = int(above[-1])
    below = np.nonzero(x[a:] < lo)[0]
    if not below.size:
        return 0.0
    b = a + int(below[0])
    return (_crossing_t(t, x, b - 1, lo) - _crossing_t(t, x, a, hi)) / MJ_20_80_SHARE


def _crossing_t(t: np.ndarray, x: np.ndarray, i: int, level: float) -> float:
    """When x crossed `level` between samples i and i + 1 (linearly)."""
    i = min(max(i, 0), t.size - 2)
    dx = float(x[i + 1] - x[i])
    f = (level - float(x[i])) / dx if dx != 0 else 0.5
    return float(t[i] + min(max(f, 0.0), 1.0) * (t[i + 1] - t[i]))


def _noise(*estimates: float | None) -> float | None:
    """The largest of the noise estimates that could be made; None if none could."""
    seen = [e for e in estimates if e is not None]
    return max(seen) if seen else None


def _hold_noise(vs: np.ndarray, o1: int, b0: int, fs: float) -> float | None:
    """Standard deviation of the smoothed speed during the hold (breathing sway and tremor
    included), away from the movements at either end; None without a hold of 1 s."""
    margin = int(0.3 * fs)
    seg = vs[o1 + margin: b0 - margin]
    return float(np.std(seg)) if seg.size >= int(fs) else None


def _rest_noise(t: np.ndarray, vs: np.ndarray, xs: np.ndarray, peak: float, duration: float,
                smooth_s: float) -> float | None:
    """Standard deviation of the smoothed speed while the head rested near neutral before the rep
    (None where it never did for 8 frames).

    A minimum-jerk movement covers 10 % of its way in its first quarter (0.247): the
    rest ends that long (plus 3 sigma of the speed's smoothing `smooth_s`,
    which spreads a movement's speed that far) before the head first
    passes 10 % of its peak, and begins as long after the head last came
    within 10 % of it from further away, the end of the previous rep's way
    back (the demo's third and fourth turns, each a turn to the other side
    2 s after the last: the tail of that return in the "rest" read 7 deg/s of
    noise, and their smoothness was withheld as unmeasurable). Nor is the
    rest where the speed is still half the movement's peak: a record that
    begins as the previous return comes within 10 % (the third of those
    turns at 15 fps, its record starting at 42 deg/s) read 8.5 deg/s of
    "noise" in the shaped speed, 7x its hold's.
    """
    start = np.nonzero(xs >= 0.1 * peak)[0]
    if not start.size or t.size < 2:
        return None
    dt = max(t[1] - t[0], 1e-6)
    lead = int((0.25 * duration + 3.0 * smooth_s) / dt)
    s0 = int(start[0])
    end = max(0, s0 - lead)
    moving = np.abs(vs[:end]) >= 0.5 * float(np.max(np.abs(vs[s0:])))
    before = np.nonzero((np.abs(xs[:end]) >= 0.1 * peak) | moving)[0]
    first = int(before[-1]) + 1 + lead if before.size else 0
    rest = vs[first:end]
    if rest.size < 8:
        return None
    return float(np.std(rest))


def _trend(samples) -> float:
    """Least-squares slope (units per second) of (t, x) samples."""
    ts = np.fromiter((t for t, _ in samples), float)
    xs = np.fromiter((x for _, x in samples), float)
    dt = ts - ts.mean()
    den = float(dt @ dt)
    return float(dt @ (xs - xs.mean()) / den) if den > 0 else 0.0


class RepCounter:
    """Counts reps of one exercise set from calibrated kinematics.

    `update(sample)` returns events (rep_start, at_target, hold, release,
    hold_broken, almost, partial, rep, wrong_side). The coach stops feeding it while the measurement is
    unusable and calls `suspend()`, which abandons the rep in progress (never
    counted) but keeps the count.

    Only values that can be trusted move the count: a frame whose exercise
    axis is neither reliable nor a lower bound (`Kinematics.is_reliable`,
    `is_lower_bound`) is skipped like a frame without a face. A lower bound
    in the rep's direction means the head is beyond what can be measured: it
    is at least as far as shown, so once that reaches the target band the rep
    is in it, and the rep's peak is recorded as a lower bound. A bound short
    of the band says nothing of whether the head got there: where the camera
    sits to one side, the turn is a bound from 28 deg on that side (rendered
    population seed 400506: a 39 deg turn counted for a 50 deg target), and
    from a camera far below, extension from 16 deg (seed 400459). Its time
    counts as unmeasured, so a rep that never reaches the band ends
    "unmeasured": not counted, and not called short either.

    A rep "stalls" (the cue "almost there") when the head has made no
    progress for `stall_s`, i.e. moved less than `stall_progress_fraction` of
    the target (at least 0.5 deg / 0.5 mm, above the filtered jitter of a
    still head): judged on position, not on a speed threshold, because the
    smallest, slowest exercises (an 8 deg chin nod at half its tempo peaks
    at 3.8 deg/s) never move faster than a fixed "still" speed would allow.

    `any_order=True` counts a rep in any of the exercise's directions whatever
    came before (a recording made without the coach: nobody asked for the
    next side, so a left turn after a left turn is still a turn done); only a
    movement in none of its directions is the wrong way.
    """

    def __init__(self, exercise, ranges=None, *, reach_fraction: float = 0.85,
                 start_fraction: float = 0.3, neutral_fraction: float = 0.15,
                 band_hysteresis_fraction: float = 0.05, dwell_s: float = 0.1,
                 settle_s: float = 0.5, almost_fraction: float = 0.6, stall_s: float = 0.6,
                 stall_progress_fraction: float = 0.03, rep_offset: int = 0, rest_offset: float = 0.0,
                 rest_origin: float = 0.0, rezero: bool = False, any_order: bool = False):
        if not isinstance(any_order, bool):
            raise TypeError(f"any_order must be True or False, got {any_order!r}")
        self.any_order = any_order
        self.exercise = exercise
        self.reach_fraction = check_range("reach_fraction", reach_fraction, 0.5, 1.0)
        self.start_fraction = check_range("start_fraction", start_fraction, 0.05, 0.6)
        self.neutral_fraction = check_range("neutral_fraction", neutral_fraction, 0.02, 0.5)
        if self.neutral_fraction >= self.start_fraction:
            raise ValueError(f"neutral_fraction must be < start_fraction ({start_fraction}), got {neutral_fraction}")
        self.band_hysteresis_fraction = check_range("band_hysteresis_fraction", band_hysteresis_fraction, 0.0, 0.3)
        self.dwell_s = check_range("dwell_s", dwell_s, 0.0, 2.0)
        self.settle_s = check_range("settle_s", settle_s, 0.0, 10.0)
        self.almost_fraction = check_range("almost_fraction", almost_fraction, 0.1, 0.99)
        self.stall_s = check_range("stall_s", stall_s, 0.1, 10.0)
        self.stall_progress_fraction = check_range("stall_progress_fraction", stall_progress_fraction, 0.0, 0.5)
        self.rep_offset = int(rep_offset)
        self.axis = exercise.axis
        self.unit = exercise.unit
        self.directions: list[str] = list(exercise.directions())
        self.sides: str = exercise.resolved_sides
        self.hold_s = float(exercise.hold_s)
        self.targets = {d: float(exercise.target_value(d, ranges)) for d in self.directions}
        # Floors in the measured unit: below a few degrees (or mm) the landmark
        # jitter of a webcam is comparable to the movement itself. The start
        # floor (4 deg, ~8x the filtered jitter of a still person on a real
        # clip) stays below a short attempt at the smallest bundled exercise
        # (60 % of an 8 deg chin nod), so that attempt is recorded as partial.
        floor_start, floor_neutral, floor_hyst = (4.0, 3.0, 1.5) if self.unit == "deg" else (3.0, 2.0, 1.0)
        self._start = {d: max(self.start_fraction * t, floor_start) for d, t in self.targets.items()}
        self._neutral = min(max(self.neutral_fraction * t, floor_neutral) for t in self.targets.values())
        self._reach = {d: self.reach_fraction * t for d, t in self.targets.items()}
        self._band_exit = {d: self._reach[d] - max(self.band_hysteresis_fraction * t, floor_hyst)
                           for d, t in self.targets.items()}
        self._stall_progress = {d: max(self.stall_progress_fraction * t, 0.5) for d, t in self.targets.items()}
        self._prominence = PEAK_PROMINENCE_MM_S if self.unit == "mm" else PEAK_PROMINENCE_DEG_S
        self._pre_s = max(PRE_S, float(exercise.tempo_s))
        # How far the resting head may drift from the calibrated neutral and still
        # be "at rest": well inside the start threshold, so a rep is never taken for rest.
        self.max_rest_offset = 0.8 * self.start_threshold
        # Where the rest may be looked for: around the calibrated neutral, or where the person
        # rested after being asked to come closer or move back (see `suspend`).
        self.rest_origin = float(rest_origin)
        self.rest = float(min(max(rest_offset, self.rest_origin - self.max_rest_offset),
                              self.rest_origin + self.max_rest_offset))
        self._rezero = bool(rezero) and self.unit == "mm"
        self._after_move = self._rezero
        self.records: list[RepRecord] = []
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        self.state = "unarmed"
        self.completed: dict[str, int] = {d: 0 for d in self.directions}
        self.records = []
        self._clear_rep()
        self._settle_since: float | None = None
        self._wrong_positive = False  # the side of neutral a wrong-side movement went to
        self._pre: deque[tuple[float, float, float]] = deque()
        self._tail: RepRecord | None = None
        self._still: deque[tuple[float, float]] = deque()
        self._armed_span: tuple[float, float] | None = None  # values seen in neutral since arming
        self._unseen = False
        self._jolt_t: float | None = None
        self._sigma = 0.0
        self._speed_sigma = 0.0

    def _clear_rep(self) -> None:
        self.current: RepRecord | None = None
        self._dir: str | None = None
        self._pending_since: float | None = None
        self._pending_dir: str | None = None
        self._exit_since: float | None = None
        self._below_since: float | None = None  # since when below the band's exit, in this run
        self._hold_due_s = 0.0  # when (from the hold's start) its readings are next judged
        self._held_short = False  # a hold's readings were judged short of the target (`_held_at_target`)
        self._hold_values: deque[tuple[float, float]] = deque()  # (t, reading) over the last hold_s of the hold
        self._progress: deque[tuple[float, float]] = deque()
        self._bound_t: float | None = None  # the last frame of this rep read as "at least"
        self._almost_sent = False
        self._hold_start: float | None = None
        self._hold_done = False
        self._lead: list[tuple[float, float, float]] = []
        self._blind_since: float | None = None
        self._lead_unmeasured_s = 0.0
        self._bound_since: float | None = None
        # The gap just before the head was seen again on its way out or back, and the one before
        # the hold in progress began (see BACK_SPEED_SIGMAS).
        self._gap_s = 0.0
        self._hold_gap_s = 0.0
        self._seen_again_t: float | None = None
        self._back = False

    def suspend(self, moved: bool = False, keep_held: bool = False) -> None:
        """Measurement became unusable: drop the rep in progress, keep the count.

        `keep_held`: except a rep already held for its time (`held`): what
        counts in it was seen, and only its way back was not (rendered
        population seed 400561: "two faces" for 2 s as a nod held to its
        release came back, and the held rep was lost). It ends as usual once
        the head is seen back at neutral, or through it on the way to the
        next rep.

        The patient may well have finished the dropped rep unseen, so the next
        one may go either way (see `expected_direction`). `moved`: the person
        was asked to come closer or move back. A chin tuck's depth is measured
        from where the head was at calibration, so after such a move the head
        rests tens of millimetres from it (rendered population seed 400431: 15
        cm closer, every tuck then read as a forward slide and drew "Other
        way"). The next still place then becomes the zero wherever it is, and,
        until a tuck has started from it, a still place further forward
        replaces it (the first may have been a held tuck).
        """
        if moved and self.unit == "mm":
            self._rezero = self._after_move = True
        elif keep_held and self.held:
            self._pending_since = self._exit_since = None
            return
        self._unseen = True
        self.state = "unarmed"
        self._clear_rep()
        self._settle_since = None
        self._pre.clear()
        self._still.clear()  # where the head rested before is not where it rests now
        self._tail = None

    def seat_moved(self) -> None:
        """The measurement's zero moved to where the head now rests (`neckcoach.core.seat`):
        depth is measured from there, and a rest this counter found in the old frame, or was
        still looking for since the person moved, is that place (rendered population seed
        400659: the counter kept a rest found 210 mm forward of the old zero, every reading
        after the seat was followed looked 210 mm back of it, and nothing more was counted)."""
        if self.unit != "mm":
            return
        self.rest = self.rest_origin = 0.0
        self._rezero = False
        self._still.clear()

    @property
    def held(self) -> bool:
        """Whether the rep in progress has reached its target and been held for its time."""
        return self.current is not None and self._hold_done and self.current.time_to_target_s is not None

    @property
    def rezeroed(self) -> bool:
        """Whether a chin tuck's rest has been found again since the person moved (or never had to)."""
        return not self._rezero

    @property
    def leaving_t_s(self) -> float | None:
        """When the head left neutral, while it is out of the band and no rep has started yet
        (the start a rep would have if it started now); None otherwise."""
        if self.state != "neutral" or len(self._lead) < 2:
            return None
        return self._lead[0][0]

    @property
    def total_completed(self) -> int:
        return sum(self.completed.values())

    @property
    def reps_target(self) -> int:
        return int(self.exercise.reps_per_set)

    @property
    def start_threshold(self) -> float:
        """How far from rest (deg, or mm) the head must go for a rep to have begun, any direction."""
        return min(self._start.values())

    @property
    def neutral_band(self) -> float:
        """Half-width of the neutral band (deg, or mm): inside it the head is back at rest.

        Widened to NEUTRAL_SIGMAS x the value's jitter, up to NEUTRAL_MAX_OF_START of the start threshold."""
        wide = min(NEUTRAL_SIGMAS * self._sigma, NEUTRAL_MAX_OF_START * self.start_threshold)
        return max(self._neutral, wide)

    @property
    def noise_limited(self) -> bool:
        """The value jitters so much that rest and the start of a rep cannot be told apart."""
        return NEUTRAL_SIGMAS * self._sigma > NEUTRAL_MAX_OF_START * self.start_threshold

    def done(self) -> bool:
        if self.sides == "both":
            return all(n >= self.exercise.reps for n in self.completed.values())
        return self.total_completed >= self.exercise.reps

    def expected_direction(self) -> str | None:
        """Direction of the next rep, None when any unfinished direction will do."""
        if self.sides == "both":
            left = [d for d in self.directions if self.completed[d] < self.exercise.reps]
            return left[0] if len(left) == 1 else None
        if len(self.directions) == 1:
            return self.directions[0]
        if self._unseen:
            return None  # after a gap in what was seen: either side is the next one
        # Alternation follows the last attempt, complete or not: after a short
        # turn to the left the person (rightly) turns right next, and that rep
        # must count; the missing left one is made up at the end of the set.
        # A sudden jolt (of this exercise's angle) that never reached the target was not an
        # attempt at a rep.
        attempts = [r for r in self.records if r.reason != "sudden"]
        if not attempts:
            return self.directions[0]
        last = self.directions.index(attempts[-1].side)
        return self.directions[(last + 1) % len(self.directions)]

    def _allowed(self, direction: str) -> bool:
        if direction not in self.directions:
            return False
        if self.any_order:
            return True
        if self.sides == "both":
            return self.completed[direction] < self.exercise.reps
        expected = self.expected_direction()
        return expected is None or direction == expected

    def hold_progress_s(self, t_s: float) -> float:
        if self._hold_start is None or self.state != "at_target":
            return 0.0
        return max(0.0, t_s - self._hold_start)

    # ----------------------------------------------------------------- update
    def _event(self, t_s: float, kind: str, **kw) -> Event:
        rep = kw.pop("rep", None)
        if rep is None and self.current is not None:
            rep = self.current.index
        side = kw.pop("side", None) or self._dir
        target = self.targets.get(side or "", next(iter(self.targets.values())))
        if "message" not in kw:
            kw["message"] = cue_text(self.exercise, kind, side or "", target)
        return Event(t_s=t_s, kind=kind, exercise_id=self.exercise.id, rep=rep, side=side, **kw)

    def relative(self, sample: Kinematics) -> float:
        """The exercise-axis value measured from where the head rests now (see `_track_rest`)."""
        return float(sample.value(self.axis)) - self.rest

    def _track_rest(self, t: float, x: float) -> None:
        """Follow a slow drift of the resting head (slumping, turning a little towards the screen).

        Patients' posture drifts by a few degrees over a session; measured
        from the calibrated neutral, a head resting 4 deg off would never be
        "back at rest" and the next rep would never arm. While no rep is in
        progress and the head is still, where it rests (its mean over REST_S)
        becomes the zero of the reps: before the counter has armed, any place
        within `max_rest_offset` where the head stayed within STILL_RANGE;
        once armed, only a place within the neutral band where it stayed
        still and did not trend by REST_RANGE over REST_S, so the slow start
        of a slow movement (a chin nod at half its tempo) never drags the zero
        along, while measurement jitter does not stop the zero following;
        and, once a rep of the set has begun, it moves towards that place no
        faster than REST_DRIFT_PER_S, so a short rep held still is not taken
        for where the head rests. So it does before the first rep, unless the
        head has stayed that still ever since the counter armed: a head that
        moved after arming and stopped inside the band may be the first rep
        paused on its way out (kinematics population seed 433048, a chin nod
        at half its tempo paused 2 s at 3 deg of 8.7, inside the 3 deg band:
        taken for the rest, the nod read 3 deg short, "almost", not counted).
        A still place nearer the calibrated neutral
        than the rest is taken at once, from anywhere: a rest taken 1 deg off
        just before a set's first nod (kinematics seed 602488) is given up as
        soon as the head is still nearer where it was calibrated.
        """
        if self.state not in ("unarmed", "neutral"):
            self._still.clear()
            return
        still = self._still
        dt = max(0.0, t - still[-1][0]) if still else 0.0  # since the last frame looked at for rest
        still.append((t, x))
        while still and t - still[0][0] > REST_S:
            still.popleft()
        if self.state == "unarmed":
            self._armed_span = None
        if self.state == "unarmed" and self._rezero:
            # After a move the head is looked for where it settles, for as long as the counter
            # needs to arm (a held tuck may be taken first; see `suspend`).
            xs = [q for tq, q in still if t - tq <= self.settle_s]
            if t - still[0][0] >= 0.95 * self.settle_s and (
                    max(xs) - min(xs) < max(STILL_RANGE, STILL_SIGMAS * self._sigma)):
                self.rest = self.rest_origin = sum(xs) / len(xs)
                self._rezero = False
            return
        if self.state == "neutral":
            lo, hi = self._armed_span if self._armed_span is not None else (x, x)
            self._armed_span = (min(lo, x), max(hi, x))
        if t - still[0][0] < 0.95 * REST_S:
            return
        xs = [q for _, q in still]
        m = sum(xs) / len(xs)
        still_range = max(STILL_RANGE, STILL_SIGMAS * self._sigma)
        is_still = max(xs) - min(xs) < still_range
        if self.state == "unarmed":
            if is_still and abs(m - self.rest_origin) <= self.max_rest_offset:
                self.rest = m
            return
        nearer_origin = abs(m - self.rest_origin) < abs(self.rest - self.rest_origin)
        if (is_still and abs(_trend(still)) * REST_S < max(REST_RANGE, TREND_SIGMAS * self._sigma)
                and (abs(m - self.rest) < self.neutral_band or nearer_origin)
                and abs(m - self.rest_origin) <= self.max_rest_offset):
            span = self._armed_span
            settled = span is None or span[1] - span[0] < still_range  # still ever since arming
            if nearer_origin or (not self.records and self.current is None and settled):
                # Back towards where the head was calibrated, or where it has rested since the
                # counter armed, before any rep of the set: where it rests, not a rep held.
                self.rest = m
            else:
                step = REST_DRIFT_PER_S * dt
                self.rest += min(max(m - self.rest, -step), step)

    def _shape_lost(self, sample: Kinematics) -> bool:
        """Whether a sample read as a lower bound on this axis says nothing of the movement's shape."""
        return sample.is_lower_bound(self.axis) and (self.axis in SHAPE_LOST_PAST_RANGE
                                                     or self.axis in sample.saturated_axes)

    def usable(self, sample: Kinematics) -> bool:
        """Whether this frame's value on the exercise axis may move the count."""
        return bool(sample.face_found and (sample.is_reliable(self.axis) or sample.is_lower_bound(self.axis)))

    def update(self, sample: Kinematics, t_s: float | None = None) -> list[Event]:
        t = float(sample.t_s if t_s is None else t_s)
        if not self.usable(sample):
            # No face (a frame without one carries zeros, which would look like
            # a return to neutral) or a value that cannot be trusted.
            watched = (self.current is not None and self.state in _MOVING) or self.state == "neutral"
            if watched and self._blind_since is None:
                self._blind_since = t
            return []
        blind_s = 0.0 if self._blind_since is None else max(0.0, t - self._blind_since)
        self._blind_since = None
        lower = sample.is_lower_bound(self.axis)
        if not lower:
            self._sigma = float(sample.noise(self.axis))
            self._speed_sigma = float(sample.speed_noise(self.axis))
            self._track_rest(t, float(sample.value(self.axis)))
        x = self.relative(sample)
        if self.current is not None:
            self.current.unmeasured_s += blind_s
            if blind_s >= UNMEASURED_S and self.state in ("out", "returning"):
                self._gap_s, self._seen_again_t, self._back = blind_s, t, False
        elif self.state == "neutral" and blind_s and abs(x) >= self.neutral_band:
            # The head left neutral while it could not be measured (rendered population seed
            # 400621: a quick extension past what a camera below the face can read, seen only
            # on its way back): the rep that starts from here went unmeasured for that long.
            self._lead_unmeasured_s += blind_s
        v = float(sample.speed(self.axis))
        out: list[Event] = []
        self._pre.append((t, x, v))
        while self._pre and t - self._pre[0][0] > self._pre_s:
            self._pre.popleft()
        out.extend(self.feed_tail(sample, t))
        if self.state == "unarmed":
            # Staying inside the neutral band for settle_s already implies the
            # head is nearly still; speed is not used (it is noisy at rest).
            if abs(x) < self.neutral_band:
                if self._settle_since is None:
                    self._settle_since = t
                if t - self._settle_since >= self.settle_s:
                    self.state = "neutral"
            else:
                self._settle_since = None
            return out
        if self.state == "neutral":
            if abs(x) < self.neutral_band:
                self._lead = [(t, x, v)]
                self._lead_unmeasured_s = 0.0
            else:
                self._lead.append((t, x, v))
                # Lingering just outside neutral is not part of the next rep.
                while self._lead and t - self._lead[0][0] > float(self.exercise.tempo_s):
                    self._lead.pop(0)
            self._update_neutral(t, x, v, out)
        elif self.state == "wrong":
            if abs(x) >= self.neutral_band and (x > 0) != self._wrong_positive:
                # Straight through neutral to the other side, as "Other way" asked: a responsive
                # patient does not stop at neutral first, and waiting for that dwell lost the
                # whole rep that followed (rendered population seed 400929: a chin tuck begun
                # before "go", read 4.6 mm forward for a moment, "Other way: now back", then a
                # 18 mm tuck held 9 s that was never counted). The new side is judged afresh.
                self.state = "neutral"
                self._clear_rep()
                self._lead = [(t, x, v)]
                self._update_neutral(t, x, v, out)
            elif abs(x) < self.neutral_band:
                self._pending_since = self._pending_since if self._pending_since is not None else t
                if t - self._pending_since >= self.dwell_s:
                    self.state = "neutral"
                    self._clear_rep()
            else:
                self._pending_since = None
        else:
            self._update_moving(t, x, v, lower, self._shape_lost(sample), out)
        return out

    def _update_neutral(self, t: float, x: float, v: float, out: list[Event]) -> None:
        cand = None
        sign_x = 1 if x > 0 else -1
        for d in self.directions:
            if self.exercise.sign(d) == sign_x and abs(x) > self._start[d]:
                cand = d
        if cand is None and abs(x) > self.start_threshold:
            cand = "opposite"
        if cand is None:
            self._pending_since = None
            self._pending_dir = None
            return
        if cand != self._pending_dir:
            self._pending_dir, self._pending_since = cand, t
        if t - self._pending_since < self.dwell_s:
            return
        self._pending_since = None
        self._pending_dir = None
        if cand == "opposite" and self._after_move:
            # The first still place after the move may have been a held tuck: the head coming
            # forward from it is going back to rest, whose place is looked for again.
            self.state = "unarmed"
            self._rezero = True
            self._settle_since = None
            return
        if cand == "opposite" or not self._allowed(cand):
            self.state = "wrong"
            self._wrong_positive = x > 0
            exp = self.expected_direction()
            if exp is None:
                exp = next((d for d in self.directions if self.completed[d] < self.exercise.reps), "")
            out.append(Event(t_s=t, kind=ev.WRONG_SIDE, exercise_id=self.exercise.id, side=cand,
                             message=_wrong_side_text(self.exercise, exp), data={"expected": exp}))
            return
        if self._tail is not None:
            self._close_tail(t, out)
        self._after_move = False  # a rep the right way: the rest found after the move holds
        self._dir = cand
        index = self.rep_offset + len(self.records) + 1
        # The rep began when the head last left the neutral band, not when it
        # crossed the (later) start threshold: time to target and the speed
        # profile for smoothness cover the whole movement.
        start_t = self._lead[0][0] if self._lead else t
        self.current = RepRecord(index=index, side=cand, start_t_s=start_t, target=self.targets[cand], unit=self.unit,
                                 _sign=self.exercise.sign(cand))
        self.current.unmeasured_s = self._lead_unmeasured_s
        # The rest before it: the samples in the neutral band just before it began
        # (not the previous rep's way back).
        rest = []
        for tp, xp, vp in reversed(self._pre):
            if tp >= start_t:
                continue
            if abs(xp) >= self.neutral_band:
                break
            rest.append((tp, xp, vp))
        for tp, xp, vp in reversed(rest):
            self.current.add(tp, xp, vp)
        for tl, xl, vl in self._lead:
            self.current.add(tl, xl, vl)
        self.current.peak_signed = x
        self.current.peak = abs(x)
        self.current.jolted = self._jolt_t is not None and self._jolt_t >= start_t - JOLT_LEAD_S
        self.state = "out"
        out.append(self._event(t, ev.REP_START, data={"count": self.total_completed}))

    def _update_moving(self, t: float, x: float, v: float, lower: bool, shape_lost: bool,
                       out: list[Event]) -> None:
        d = self._dir
        rec = self.current
        assert d is not None and rec is not None
        p = self.exercise.sign(d) * x
        rec.add(t, x, v, bound=shape_lost)
        beyond = lower and p > 0  # at least this far, in the rep's direction
        if beyond:
            self._bound_t = t
        if p > rec.peak or (beyond and p >= rec.peak):
            rec.peak, rec.peak_signed = p, x
            rec.peak_lower_bound = beyond
        reach = p >= self._reach[d]
        short_bound = beyond and not reach  # how far past it the head went is unknown
        if short_bound and self._bound_since is None:
            self._bound_since = t
        elif not short_bound and self._bound_since is not None:
            rec.unmeasured_s += t - self._bound_since
            self._bound_since = None
        # Back in neutral (or through it to the other side): the rep ends.
        crossed = p < -self.neutral_band
        if (abs(x) < self.neutral_band or crossed) and not beyond:
            if self._pending_since is None:
                self._pending_since = t
            if t - self._pending_since >= self.dwell_s or crossed:
                self._end_rep(t, out)
                return
        else:
            self._pending_since = None
        if not reach:
            self._gap_s = 0.0  # seen short of the band since the gap: whatever comes next is seen
        back = reach and self.hold_s > 0 and self._coming_back(t, v)
        if self.state == "out":
            if reach and not back:
                self._enter_band(t, out)
            elif (p >= self.almost_fraction * self.targets[d] and self._stalled(t, p, d)
                  and (self._bound_t is None or t - self._bound_t > self.stall_s)):
                # Not where the stall was read as a lower bound ("at least"): where the head
                # stopped was not measured, so "almost" would be a guess, and it pushes a head
                # that may already be at its target past it (rendered population seed 401328: a
                # turn held at 48.7 of 50 deg read "at least 39.4"; told "almost", the patient went
                # on to 56.3). Held there, the rep ends unmeasured (`UNMEASURED_S`).
                if not self._almost_sent:
                    self._almost_sent = True
                    out.append(self._event(t, ev.ALMOST, magnitude=rec.peak, unit=self.unit,
                                           data={"target": self.targets[d]}))
            if p < rec.peak - self.band_hysteresis_fraction * self.targets[d] - 2.0 and rec.time_to_target_s is None:
                self.state = "returning"
        elif self.state == "at_target":
            if (not self._hold_done and self._hold_start is not None and t - self._hold_start >= self._hold_due_s
                    and (self._below_since is None or self._below_since - self._hold_start >= self.hold_s)):
                self._hold_due_s += self.hold_s  # judged once per hold_s of readings
                if self._held_at_target(d, t):
                    self._hold_done = True
                    rec.hold_s = max(rec.hold_s, t - self._hold_start)
                    out.append(self._event(t, ev.RELEASE))
                else:
                    self._held_short = True
                    if not self._almost_sent:
                        self._almost_sent = True  # held still just short of the target: say so, once
                        out.append(self._event(t, ev.ALMOST, magnitude=rec.peak, unit=self.unit,
                                               data={"target": self.targets[d]}))
            below = p < self._band_exit[d] and not beyond
            self._below_since = (self._below_since if self._below_since is not None else t) if below else None
            if not beyond and not self._hold_done:
                self._hold_values.append((t, p))
                while self._hold_values[0][0] < t - self.hold_s:  # older than `_held_at_target` looks
                    self._hold_values.popleft()
            if below and p < self._noisy_exit(d):
                self._exit_since = self._exit_since if self._exit_since is not None else t
                if t - self._exit_since >= self.dwell_s:
                    left = self._below_since  # set: this frame is below the band's exit
                    held = left - (self._hold_start or left)
                    rec.hold_s = max(rec.hold_s, held)
                    if not self._hold_done and not self._hold_maybe_unseen(held):
                        out.append(self._event(t, ev.HOLD_BROKEN, magnitude=held, unit="s",
                                               data={"hold_s": self.hold_s}))
                    self._hold_start = None
                    self.state = "returning"
            else:
                self._exit_since = None
        elif self.state == "returning":
            if reach and (not self._hold_done or rec.time_to_target_s is None) and not back:
                self._enter_band(t, out)

    def _noisy_exit(self, direction: str) -> float:
        """Where a hold ends: the band's exit, or further below the reach where the reading's jitter
        would cross it (see BAND_EXIT_SIGMAS and HOLD_SPREAD_MIN_S)."""
        sigma = max(self._sigma, self._hold_spread())
        return min(self._band_exit[direction], self._reach[direction] - BAND_EXIT_SIGMAS * sigma)

    def _hold_spread(self) -> float:
        """Sigma of the hold's readings about their median: from its start, and after its first
        HOLD_MEDIAN_AFTER_S, whichever is larger (each 0 until HOLD_SPREAD_MIN_S of readings)."""
        if self._hold_start is None or not self._hold_values:
            return 0.0
        last = self._hold_values[-1][0]
        spread = 0.0
        for since in (self._hold_start, self._hold_start + HOLD_MEDIAN_AFTER_S):
            held = [p for tp, p in self._hold_values if tp >= since]
            if len(held) >= 3 and last - max(since, self._hold_values[0][0]) >= HOLD_SPREAD_MIN_S:
                values = np.asarray(held)
                spread = max(spread, 1.4826 * float(np.median(np.abs(values - np.median(values)))))
        return spread

    def _held_at_target(self, direction: str, t_s: float) -> bool:
        """Whether the last `hold_s` of readings put the head at the target: their median at least
        as far as the band's exit plus as much of the hysteresis as the jitter's widening of the
        exit took (see BAND_EXIT_SIGMAS). Always where the exit was not widened."""
        exit_at = self._band_exit[direction]
        widened = exit_at - self._noisy_exit(direction)
        if widened <= 0.0:
            return True
        since = max(t_s - self.hold_s, (self._hold_start or 0.0) + HOLD_MEDIAN_AFTER_S)  # not the arrival
        recent = [p for tp, p in self._hold_values if tp >= since]
        if not recent:
            return True  # nothing seen but bounds: judged as before the jitter was known
        line = exit_at + min(widened, self._reach[direction] - exit_at)
        return float(np.median(recent)) >= line

    def _hold_maybe_unseen(self, held_s: float) -> bool:
        """Whether a hold seen for `held_s` may have lasted its time, counting the gap before it
        was first seen (see BACK_SPEED_SIGMAS)."""
        return held_s + self._hold_gap_s >= self.hold_s

    def _coming_back(self, t: float, v: float) -> bool:
        """Seen again after a gap and, in any frame since, moving towards neutral faster than a
        head held still (see BACK_SPEED_SIGMAS); or seen again less than `dwell_s` ago, too few
        frames to tell."""
        if self._gap_s <= 0.0 or self._dir is None or self._seen_again_t is None:
            return False
        towards = -self.exercise.sign(self._dir) * v
        self._back = self._back or towards > BACK_SPEED_SIGMAS * self._speed_sigma + BACK_SPEED_MIN_DEG_S
        return self._back or t - self._seen_again_t < self.dwell_s

    def _stalled(self, t: float, p: float, d: str) -> bool:
        """No progress for stall_s: the head moved less than the stall threshold in that time."""
        prog = self._progress
        prog.append((t, p))
        while prog and t - prog[0][0] > self.stall_s:
            prog.popleft()
        if t - prog[0][0] < 0.9 * self.stall_s:
            return False
        ps = [q for _, q in prog]
        return max(ps) - min(ps) < self._stall_progress[d]

    def _enter_band(self, t: float, out: list[Event]) -> None:
        rec = self.current
        assert rec is not None
        first = rec.time_to_target_s is None
        if first:
            rec.time_to_target_s = t - rec.start_t_s
            out.append(self._event(t, ev.AT_TARGET, magnitude=rec.peak, unit=self.unit,
                                   data={"time_to_target_s": rec.time_to_target_s}))
        self.state = "at_target"
        self._exit_since = self._below_since = None
        self._hold_values.clear()
        self._hold_due_s = self.hold_s
        self._hold_start = t
        self._hold_gap_s, self._gap_s = self._gap_s, 0.0
        if self.hold_s > 0:
            out.append(self._event(t, ev.HOLD, data={"hold_s": self.hold_s}))
        else:
            self._hold_done = True

    def _end_rep(self, t: float, out: list[Event]) -> None:
        rec = self.current
        assert rec is not None and self._dir is not None
        if self._bound_since is not None:
            rec.unmeasured_s += t - self._bound_since
            self._bound_since = None
        if self.state == "at_target" and self._hold_start is not None:
            left = self._below_since if self._below_since is not None else t
            rec.hold_s = max(rec.hold_s, left - self._hold_start)
        reached = rec.time_to_target_s is not None
        rec.complete = reached and self._hold_done
        short = not reached or (self._held_short and rec.hold_s >= self.hold_s)
        rec.reason = None if rec.complete else ("short_of_target" if short else "hold_short")
        if not reached and rec.jolted:
            rec.reason = "sudden"  # a jolt, already warned about: not an attempt at the exercise
        # Whatever else happened on the way, where the head turned round was not seen, or the
        # hold may have begun unseen: it went at least as far as measured, so its peak is a
        # lower bound (said "at least").
        unseen_hold = reached and not rec.complete and not short and self._hold_maybe_unseen(rec.hold_s)
        if (not reached and rec.unmeasured_s >= UNMEASURED_S) or unseen_hold:
            rec.reason = "unmeasured"
            rec.peak_lower_bound = True
        rec.finish(t)
        self.records.append(rec)
        self._unseen = False
        data = {"duration_s": rec.duration_s, "peak": rec.peak, "target": rec.target,
                "hold_s": rec.hold_s, "reason": rec.reason, "peak_lower_bound": rec.peak_lower_bound,
                "move_out_s": rec.metrics()["out"].get("duration_s")}
        if rec.complete:
            self.completed[self._dir] += 1
            data["count"] = self.total_completed
            data["count_side"] = self.completed[self._dir]
            out.append(self._event(t, ev.REP, magnitude=rec.peak, unit=self.unit, data=data,
                                   message=f"{self.total_completed}"))
        else:
            msg = ("Not quite far enough. Go a little further next time." if short
                   else "Hold it a little longer next time.")
            if rec.reason == "unmeasured":
                msg = UNMEASURED_MESSAGE
            if rec.reason == "sudden":
                msg = ""  # the safety warning has said what matters
            out.append(self._event(t, ev.PARTIAL, magnitude=rec.peak, unit=self.unit, data=data, message=msg))
        self.state = "neutral"
        self._clear_rep()
        self._tail = rec

    def _close_tail(self, t: float, out: list[Event]) -> None:
        """The movement after the rep has had time to come to rest: its record is final.

        (Speed peaks per movement are recorded for the therapist, not spoken:
        on slow movements with breathing sway and tremor, judging stop-starts
        online raised 0.2 false warnings per 100 reps in the tuning population,
        while the sudden movements that matter are caught by the safety monitor.)
        """
        self._tail = None

    def mark_jolt(self, t_s: float, axis: str | None = None) -> None:
        """A sudden movement was warned at t_s: it belongs to the rep in progress, or to the one
        about to start (the jolt is warned before the head has crossed the start threshold).

        t_s may be in the past (the review replays a monitor over frames the counter has
        already seen), so the rep in progress takes it only if it is no earlier than
        JOLT_LEAD_S before the rep began, as a rep about to start does.

        A jolt on another axis (`axis`, None when not known) did not move this exercise's
        angle: the rep around it is still an attempt, and alternation goes on from it
        (rendered seed 401165: a yaw flick during a side bend that then stopped short made
        the coach ask for the same side again, and the patient's next, complete bend to
        the other side was "wrong side")."""
        if axis is not None and axis != self.axis:
            return
        self._jolt_t = float(t_s)
        if self.current is not None and self._jolt_t >= self.current.start_t_s - JOLT_LEAD_S:
            self.current.jolted = True

    def feed_tail(self, sample: Kinematics, t_s: float | None = None) -> list[Event]:
        """Keep recording the movement after the last rep until it rests (`RepRecord.tail_s`); only that.

        The coach calls it on a finished set's counter, whose last rep ended
        as the set did, so its way back is scored from rest to rest too.
        """
        out: list[Event] = []
        if self._tail is None or not self.usable(sample):
            return out
        t = float(sample.t_s if t_s is None else t_s)
        self._tail.add(t, self.relative(sample), float(sample.speed(self.axis)),
                       bound=self._shape_lost(sample))
        if t - (self._tail.end_t_s or t) >= self._tail.tail_s():
            self._close_tail(t, out)
        return out

    @property
    def finishing(self) -> bool:
        """The last rep's movement is still being recorded (see `feed_tail`)."""
        return self._tail is not None

    def flush(self, t_s: float) -> list[Event]:
        """End of the set: judge the last rep's movements with what has been seen."""
        out: list[Event] = []
        if self._tail is not None:
            self._close_tail(t_s, out)
        return out


_EXTRA_DEFAULTS = {
    ev.HOLD_BROKEN: "Stay at the target until I say release.",
    ev.RUSHED: "Nice and slow: take your time.",
    ev.COMPENSATION: "Keep your shoulders still, move only your head.",
    ev.REP_START: "",
    ev.AT_TARGET: "",
}


def cue_text(exercise, kind: str, side: str = "", target: float = 0.0) -> str:
    """Routine-defined text for `kind`, with the routine model's defaults."""
    cues = getattr(exercise, "cues", None)
    if cues is not None and hasattr(cues, "text"):
        try:
            return cues.text(kind, exercise.movement, side=side, target=target)
        except KeyError:
            pass
    return _EXTRA_DEFAULTS.get(kind, "")


def _wrong_side_text(exercise, expected: str) -> str:
    if exercise.movement in ("rotation", "side_bend") and expected in ("left", "right"):
        return f"Other side: now to your {expected}."
    if expected:
        return f"Other way: now {expected}."
    return "That's not this exercise's direction."
