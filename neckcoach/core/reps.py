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

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neckcoach.core import events as ev
from neckcoach.core.checks import check_range
from neckcoach.core.events import Event
from neckcoach.core.samples import Kinematics
from neckcoach.core.smoothness import metrics as smoothness_metrics


@dataclass(slots=True)
class RepRecord:
    """One attempt at a rep (complete or partial), as stored in session.json."""

    index: int
    side: str
    start_t_s: float
    target: float
    unit: str
    complete: bool = False
    end_t_s: float | None = None
    peak_signed: float = 0.0
    peak: float = 0.0
    time_to_target_s: float | None = None
    hold_s: float = 0.0
    reason: str | None = None
    warnings: int = 0
    _t: list[float] = field(default_factory=list)
    _speed: list[float] = field(default_factory=list)
    _metrics: dict[str, Any] = field(default_factory=dict)

    def add(self, t_s: float, velocity: float) -> None:
        self._t.append(float(t_s))
        self._speed.append(float(velocity))

    def finish(self, t_s: float) -> None:
        self.end_t_s = float(t_s)
        sp = np.abs(np.asarray(self._speed, dtype=float))
        m: dict[str, Any] = {
            "peak_speed": float(sp.max()) if sp.size else 0.0,
            "mean_speed": float(sp.mean()) if sp.size else 0.0,
        }
        # 5 deg/s (or mm/s): ~3x the speed noise left after smoothing, so
        # landmark jitter during a slow rep is not counted as a sub-movement.
        m.update(smoothness_metrics(self._t, self._speed, min_prominence_abs=5.0))
        self._metrics = m

    @property
    def duration_s(self) -> float:
        return (self.end_t_s if self.end_t_s is not None else self.start_t_s) - self.start_t_s

    def to_dict(self) -> dict[str, Any]:
        u = self.unit
        m = self._metrics
        r = lambda x, n=3: None if x is None else round(float(x), n)  # noqa: E731
        return {
            "index": self.index,
            "side": self.side,
            "complete": self.complete,
            "reason": self.reason,
            "start_t_s": r(self.start_t_s),
            "end_t_s": r(self.end_t_s),
            f"peak_{u}": r(self.peak_signed, 2),
            f"peak_abs_{u}": r(self.peak, 2),
            f"target_{u}": r(self.target, 2),
            "time_to_target_s": r(self.time_to_target_s),
            "hold_s": r(self.hold_s),
            f"peak_speed_{u}_s": r(m.get("peak_speed"), 2),
            f"mean_speed_{u}_s": r(m.get("mean_speed"), 2),
            "sparc": r(m.get("sparc")),
            "ldlj": r(m.get("ldlj")),
            "velocity_peaks": m.get("velocity_peaks"),
            "warnings": self.warnings,
        }


class RepCounter:
    """Counts reps of one exercise set from calibrated kinematics.

    `update(sample)` returns events (rep_start, at_target, hold, release,
    hold_broken, almost, partial, rep, wrong_side). The coach stops feeding it
    while the measurement is unusable and calls `suspend()`, which abandons the
    rep in progress (never counted) but keeps the count.

    `any_order=True` counts a rep in any of the exercise's directions whatever
    came before (a recording made without the coach: nobody asked for the
    next side, so a left turn after a left turn is still a turn done); only a
    movement in none of its directions is the wrong way.
    """

    def __init__(self, exercise, ranges=None, *, reach_fraction: float = 0.85,
                 start_fraction: float = 0.3, neutral_fraction: float = 0.15,
                 band_hysteresis_fraction: float = 0.05, dwell_s: float = 0.1,
                 settle_s: float = 0.5, almost_fraction: float = 0.6, stall_s: float = 0.6,
                 rep_offset: int = 0, any_order: bool = False):
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
        # A head is "still" below this speed: well under any tempo-implied
        # speed, well above filtered landmark noise.
        self._still_speed = 8.0 if self.unit == "deg" else 5.0
        self.records: list[RepRecord] = []
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        self.state = "unarmed"
        self.completed: dict[str, int] = {d: 0 for d in self.directions}
        self.records = []
        self._clear_rep()
        self._settle_since: float | None = None

    def _clear_rep(self) -> None:
        self.current: RepRecord | None = None
        self._dir: str | None = None
        self._pending_since: float | None = None
        self._pending_dir: str | None = None
        self._exit_since: float | None = None
        self._stall_since: float | None = None
        self._almost_sent = False
        self._hold_start: float | None = None
        self._hold_done = False
        self._lead: list[tuple[float, float]] = []

    def suspend(self) -> None:
        """Measurement became unusable: drop the rep in progress, keep the count."""
        self.state = "unarmed"
        self._clear_rep()
        self._settle_since = None

    @property
    def total_completed(self) -> int:
        return sum(self.completed.values())

    @property
    def reps_target(self) -> int:
        return int(self.exercise.reps_per_set)

    def done(self) -> bool:
        if self.sides == "both":
            return all(n >= self.exercise.reps for n in self.completed.values())
        return self.total_completed >= self.exercise.reps

    def expected_direction(self) -> str | None:
        """Direction of the next rep, None when any unfinished direction will do."""
        if self.sides == "both":
            left = [d for d in self.directions if self.completed[d] < self.exercise.reps]
            return left[0] if len(left) == 1 else None
        if len(self.directions) == 1 or not self.records:
            return self.directions[0]
        # Alternation follows the last attempt, complete or not: after a short
        # turn to the left the person (rightly) turns right next, and that rep
        # must count; the missing left one is made up at the end of the set.
        last = self.directions.index(self.records[-1].side)
        return self.directions[(last + 1) % len(self.directions)]

    def _allowed(self, direction: str) -> bool:
        if direction not in self.directions:
            return False
        if self.any_order:
            return True
        if self.sides == "both":
            return self.completed[direction] < self.exercise.reps
        return direction == self.expected_direction()

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

    def update(self, sample: Kinematics, t_s: float | None = None) -> list[Event]:
        t = float(sample.t_s if t_s is None else t_s)
        if not sample.face_found:
            # A frame without a face carries no angle (zeros), which would
            # otherwise look like a return to neutral.
            return []
        x = float(sample.value(self.axis))
        v = float(sample.speed(self.axis))
        out: list[Event] = []
        if self.state == "unarmed":
            # Staying inside the neutral band for settle_s already implies the
            # head is nearly still; speed is not used (it is noisy at rest).
            if abs(x) < self._neutral:
                if self._settle_since is None:
                    self._settle_since = t
                if t - self._settle_since >= self.settle_s:
                    self.state = "neutral"
            else:
                self._settle_since = None
            return out
        if self.state == "neutral":
            if abs(x) < self._neutral:
                self._lead = [(t, v)]
            else:
                self._lead.append((t, v))
                # Lingering just outside neutral is not part of the next rep.
                while self._lead and t - self._lead[0][0] > float(self.exercise.tempo_s):
                    self._lead.pop(0)
            self._update_neutral(t, x, v, out)
        elif self.state == "wrong":
            if abs(x) < self._neutral:
                self._pending_since = self._pending_since if self._pending_since is not None else t
                if t - self._pending_since >= self.dwell_s:
                    self.state = "neutral"
                    self._clear_rep()
            else:
                self._pending_since = None
        else:
            self._update_moving(t, x, v, out)
        return out

    def _update_neutral(self, t: float, x: float, v: float, out: list[Event]) -> None:
        cand = None
        sign_x = 1 if x > 0 else -1
        for d in self.directions:
            if self.exercise.sign(d) == sign_x and abs(x) > self._start[d]:
                cand = d
        if cand is None and abs(x) > min(self._start.values()):
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
        if cand == "opposite" or not self._allowed(cand):
            self.state = "wrong"
            exp = self.expected_direction()
            if exp is None:
                exp = next((d for d in self.directions if self.completed[d] < self.exercise.reps), "")
            out.append(Event(t_s=t, kind=ev.WRONG_SIDE, exercise_id=self.exercise.id, side=cand,
                             message=_wrong_side_text(self.exercise, exp), data={"expected": exp}))
            return
        self._dir = cand
        index = self.rep_offset + len(self.records) + 1
        # The rep began when the head last left the neutral band, not when it
        # crossed the (later) start threshold: time to target and the speed
        # profile for smoothness cover the whole movement.
        start_t = self._lead[0][0] if self._lead else t
        self.current = RepRecord(index=index, side=cand, start_t_s=start_t, target=self.targets[cand], unit=self.unit)
        for tl, vl in self._lead:
            self.current.add(tl, vl)
        self.current.peak_signed = x
        self.current.peak = abs(x)
        self.state = "out"
        out.append(self._event(t, ev.REP_START, data={"count": self.total_completed}))

    def _update_moving(self, t: float, x: float, v: float, out: list[Event]) -> None:
        d = self._dir
        rec = self.current
        assert d is not None and rec is not None
        p = self.exercise.sign(d) * x
        rec.add(t, v)
        if p > rec.peak:
            rec.peak, rec.peak_signed = p, x
        # Back in neutral (or through it to the other side): the rep ends.
        crossed = p < -self._neutral
        if abs(x) < self._neutral or crossed:
            if self._pending_since is None:
                self._pending_since = t
            if t - self._pending_since >= self.dwell_s or crossed:
                self._end_rep(t, out)
                return
        else:
            self._pending_since = None
        if self.state == "out":
            if p >= self._reach[d]:
                self._enter_band(t, out)
            elif p >= self.almost_fraction * self.targets[d] and abs(v) < self._still_speed:
                self._stall_since = self._stall_since if self._stall_since is not None else t
                if t - self._stall_since >= self.stall_s and not self._almost_sent:
                    self._almost_sent = True
                    out.append(self._event(t, ev.ALMOST, magnitude=rec.peak, unit=self.unit,
                                           data={"target": self.targets[d]}))
            else:
                self._stall_since = None
            if p < rec.peak - self.band_hysteresis_fraction * self.targets[d] - 2.0 and rec.time_to_target_s is None:
                self.state = "returning"
        elif self.state == "at_target":
            if not self._hold_done and self._hold_start is not None and t - self._hold_start >= self.hold_s:
                self._hold_done = True
                rec.hold_s = max(rec.hold_s, t - self._hold_start)
                out.append(self._event(t, ev.RELEASE))
            if p < self._band_exit[d]:
                self._exit_since = self._exit_since if self._exit_since is not None else t
                if t - self._exit_since >= self.dwell_s:
                    held = self._exit_since - (self._hold_start or self._exit_since)
                    rec.hold_s = max(rec.hold_s, held)
                    if not self._hold_done:
                        out.append(self._event(t, ev.HOLD_BROKEN, magnitude=held, unit="s",
                                               data={"hold_s": self.hold_s}))
                    self._hold_start = None
                    self.state = "returning"
            else:
                self._exit_since = None
        elif self.state == "returning":
            if p >= self._reach[d] and not self._hold_done:
                self._enter_band(t, out)
            elif p >= self._reach[d] and rec.time_to_target_s is None:
                self._enter_band(t, out)

    def _enter_band(self, t: float, out: list[Event]) -> None:
        rec = self.current
        assert rec is not None
        first = rec.time_to_target_s is None
        if first:
            rec.time_to_target_s = t - rec.start_t_s
            out.append(self._event(t, ev.AT_TARGET, magnitude=rec.peak, unit=self.unit,
                                   data={"time_to_target_s": rec.time_to_target_s}))
        self.state = "at_target"
        self._exit_since = None
        self._hold_start = t
        if self.hold_s > 0:
            out.append(self._event(t, ev.HOLD, data={"hold_s": self.hold_s}))
        else:
            self._hold_done = True

    def _end_rep(self, t: float, out: list[Event]) -> None:
        rec = self.current
        assert rec is not None and self._dir is not None
        if self.state == "at_target" and self._hold_start is not None:
            rec.hold_s = max(rec.hold_s, t - self._hold_start)
        reached = rec.time_to_target_s is not None
        rec.complete = reached and self._hold_done
        rec.reason = None if rec.complete else ("short_of_target" if not reached else "hold_short")
        rec.finish(t)
        self.records.append(rec)
        data = {"duration_s": rec.duration_s, "peak": rec.peak, "target": rec.target,
                "hold_s": rec.hold_s, "reason": rec.reason}
        if rec.complete:
            self.completed[self._dir] += 1
            data["count"] = self.total_completed
            data["count_side"] = self.completed[self._dir]
            out.append(self._event(t, ev.REP, magnitude=rec.peak, unit=self.unit, data=data,
                                   message=f"{self.total_completed}"))
        else:
            msg = ("Not quite far enough, let's try that one again." if not reached
                   else "Hold it a little longer next time.")
            out.append(self._event(t, ev.PARTIAL, magnitude=rec.peak, unit=self.unit, data=data, message=msg))
        self.state = "neutral"
        self._clear_rep()


_EXTRA_DEFAULTS = {
    ev.HOLD_BROKEN: "Stay at the target until I say release.",
    ev.RUSHED: "A bit slower, take your time.",
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
