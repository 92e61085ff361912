"""A virtual patient that listens to the coach and moves on its own traits.

Why: a simulated patient driven by the coach's own state (which side it
expects, its targets, when it counts) agrees with the coach by construction,
so a wrong target or a wrong alternation goes unnoticed. This patient knows
only what a real one knows: the routine its therapist gave it (exercises,
reps, sides, targets, hold and tempo), its own habits (`PatientTraits`) and
what it hears the coach say (`hear(t_s, kind, text)`: "go", "and slowly
back", "almost there", "other side", "rest"...). It decides when to move from
those, after its own reaction time, and `pose(t_s)` says where its head is.

Every movement is a sum of minimum-jerk sub-movements on the exercise's
axis, plus breathing sway, tremor, a slow drift of its neutral and a little
cross-talk on the other angles. Everything it does is logged as ground truth
(`PerformedRep`, injected `FlickTruth`), with which a benchmark scores the
coach.
"""

from __future__ import annotations

import heapq
import itertools
import math
import re
from dataclasses import dataclass, field

import numpy as np

from neckcoach.core import events as ev
from neckcoach.sim.motion import AXES, min_jerk
from neckcoach.sim.population import Mistake, PatientTraits

# Seconds a patient told to hold still (the coach's `not_settled`) stays still before going on.
SETTLE_S = 2.0
STOP_KINDS = frozenset({ev.SET_DONE, ev.REST, ev.EXERCISE_DONE, ev.ROUTINE_DONE, ev.PAUSED}) | ev.QUALITY_KINDS
# A patient waiting for "and slowly back" gives up after this long past the hold.
GIVE_UP_AFTER_HOLD_S = 4.0
MIN_MOVE_S = 0.35
# What a patient hears in "turn your head a little to one side and back", and what it does:
# a turn of 15-30 deg, taking about a second each way at the prescribed pace.
SHOW_REQUEST = "turn your head a little"
SHOW_TURN_DEG = (15.0, 30.0)
SHOW_MOVE_S = 1.0


@dataclass
class PerformedRep:
    """What the patient actually did in one rep (ground truth, in the patient's own units)."""

    exercise_id: str
    exercise_index: int
    attempt: int
    direction: str
    moved: str
    target: float
    start_t_s: float
    out_end_t_s: float | None = None
    back_start_t_s: float | None = None
    end_t_s: float | None = None
    aim: float = 0.0
    mistake: str | None = None
    peak_speed: float = 0.0
    interruptions: int = 0
    extra_pushes: int = 0

    def to_dict(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


@dataclass
class FlickTruth:
    onset_s: float
    axis: str
    amplitude: float
    duration_s: float
    shape: str
    context: str
    exercise_index: int
    attempt: int


@dataclass(order=True)
class _Task:
    t_s: float
    seq: int
    action: str = field(compare=False)
    payload: object = field(compare=False, default=None)
    token: int = field(compare=False, default=0)


class _Axis:
    """Sum of minimum-jerk steps on one axis; steps that have ended fold into a constant."""

    def __init__(self) -> None:
        self.base = 0.0
        self.steps: list[tuple[float, float, float]] = []  # (t0, duration, delta)

    def add(self, t0: float, duration: float, delta: float) -> None:
        if delta != 0.0:
            self.steps.append((t0, max(duration, 1e-3), delta))

    def value(self, t: float) -> float:
        v = self.base
        keep = []
        for t0, d, delta in self.steps:
            if t >= t0 + d:
                self.base += delta
                v += delta
            else:
                v += delta * float(min_jerk((t - t0) / d))
                keep.append((t0, d, delta))
        self.steps = keep
        return v

    def final(self) -> float:
        """Where the axis ends once every planned step is done."""
        return self.base + sum(s[2] for s in self.steps)


class VirtualPatient:
    """One patient doing `routine` with `traits`; closed loop through `hear`.

    `pose(t_s)` must be called with non-decreasing times (one call per
    frame); it first carries out whatever the patient decided to do by then.
    `exercise_reps` caps the reps the patient believes each exercise asks
    for (the coach must run the same shortened routine).
    """

    def __init__(self, routine, traits: PatientTraits, *, seed: int = 0, mistakes=()) -> None:
        self.routine = routine
        self.traits = traits
        self.rng = np.random.default_rng(seed)
        self.mistakes = {(m.exercise_index, m.attempt): m for m in mistakes}
        self.axes = {a: _Axis() for a in AXES}
        self._tasks: list[_Task] = []
        self._seq = itertools.count()
        self._token = 0  # bumping it cancels pending rep-flow tasks
        self.exercise_index: int | None = None
        self.active = False
        self.phase = "idle"
        self.current: PerformedRep | None = None
        self.reps: list[PerformedRep] = []
        self.flicks: list[FlickTruth] = []
        self.heard: list[tuple[float, str, str]] = []
        self.log: list[tuple[float, float, float, float, float]] = []
        self._t = 0.0
        self._aim_boost = 1.0
        self._pace_scale = 1.0
        self._attempts = 0
        self._done: dict[str, int] = {}
        self._next_side: str | None = None
        self._last_side: str | None = None
        self._stop_after_rep = False
        self._resume_pending = False
        self._settle_after_back = False
        self._shown_until = 0.0
        # Slow, smooth background motion, fixed for the session.
        r = self.rng
        self._breath_phase = float(r.uniform(0, 2 * math.pi))
        self._tremor = [(traits.tremor_hz * float(r.uniform(0.9, 1.1)), float(r.uniform(0, 2 * math.pi)),
                         np.array(r.dirichlet([1.0, 1.0, 1.0]))) for _ in range(2)]
        direction = r.normal(0, 1, 3)
        self._drift_dir = direction / (np.linalg.norm(direction) + 1e-9)
        self._drift_wobble = (float(r.uniform(0.005, 0.02)), float(r.uniform(0, 2 * math.pi)))

    # ------------------------------------------------------------ perception
    def hear(self, t_s: float, kind: str, text: str = "") -> None:
        """The coach said or showed a cue at t_s; the patient acts on it after its reaction time."""
        self.heard.append((float(t_s), kind, text))
        react = self.traits.reaction_s * float(self.rng.uniform(0.8, 1.2))
        if kind == ev.EXERCISE_START:
            self._push(t_s, "exercise", text)
        elif kind == ev.COUNT_IN and self.traits.early_s > 0 and text.strip() == "1":
            self._push(t_s + max(0.05, 1.0 - self.traits.early_s), "go")
        elif kind == ev.GO:
            self._push(t_s + react, "go")
        elif kind == ev.RESUMED:
            self._push(t_s + react, "resume")
        elif kind in STOP_KINDS:
            self._push(t_s + min(react, 0.8), "stop", kind)
        elif kind == ev.RELEASE and self.traits.waits_for_release:
            self._push(t_s + react, "release")
        elif kind in (ev.ALMOST, ev.PARTIAL) and self.traits.responsive:
            self._push(t_s + react, "further", kind)
        elif kind in (ev.RUSHED, ev.TOO_FAST) and self.traits.responsive:
            self._pace_scale = max(0.6, self._pace_scale * 0.85)
        elif kind == ev.WRONG_SIDE:
            self._push(t_s + react, "other_side", text)
        elif kind == ev.NOT_SETTLED:
            self._push(t_s + react, "settle")
        if SHOW_REQUEST in text.lower():
            self._push(t_s + react, "show")

    # ------------------------------------------------------------ the body
    def pose(self, t_s: float) -> tuple[float, float, float, float]:
        """(yaw_deg, pitch_deg, roll_deg, retraction_mm) at t_s, after acting on everything due."""
        t = float(t_s)
        while self._tasks and self._tasks[0].t_s <= t:
            task = heapq.heappop(self._tasks)
            self._t = task.t_s
            self._do(task)
        self._t = t
        values = [self.axes[a].value(t) for a in AXES]
        values = [v + b for v, b in zip(values, self._background(t))]
        self.log.append((t, *values))
        return tuple(values)  # type: ignore[return-value]

    def drift(self, t: float) -> np.ndarray:
        """The slow drift of this patient's resting posture at t (yaw, pitch, roll, retraction)."""
        rate, phase = self._drift_wobble
        d = self._drift_dir * self.traits.drift_deg_min / 60.0 * t * (1 + 0.3 * math.sin(2 * math.pi * rate * t + phase))
        return np.array([d[0], d[1], d[2], 0.0])

    def _background(self, t: float) -> tuple[float, float, float, float]:
        tr = self.traits
        breath = math.sin(2 * math.pi * tr.breath_hz * t + self._breath_phase)
        tremor = np.zeros(3)
        for hz, phase, weights in self._tremor:
            tremor += weights * math.sin(2 * math.pi * hz * t + phase)
        tremor *= tr.tremor_deg / 2 / 2  # two components, peak-to-peak -> amplitude
        drift = self.drift(t)
        return (0.3 * tr.sway_deg * breath + tremor[0] + drift[0],
                tr.sway_deg * breath + tremor[1] + drift[1],
                0.2 * tr.sway_deg * breath + tremor[2] + drift[2],
                0.5 * tr.sway_deg * breath)

    # ------------------------------------------------------------ decisions
    def _push(self, t: float, action: str, payload=None, flow: bool = False) -> None:
        heapq.heappush(self._tasks, _Task(float(t), next(self._seq), action, payload,
                                          self._token if flow else -1))

    def _do(self, task: _Task) -> None:
        if task.token >= 0 and task.token != self._token:
            return  # a cancelled step of the rep flow
        getattr(self, f"_on_{task.action}")(task.payload)

    @property
    def exercise(self):
        return None if self.exercise_index is None else self.routine.exercises[self.exercise_index]

    def _on_exercise(self, text) -> None:
        nxt = 0 if self.exercise_index is None else self.exercise_index + 1
        if nxt < len(self.routine.exercises):
            self.exercise_index = nxt
        self.active = False
        self._attempts = 0
        self._done = {d: 0 for d in self.exercise.directions()}
        self._next_side = None
        self._last_side = None
        self._aim_boost = 1.0

    def _on_go(self, _payload) -> None:
        if self.exercise is None or self.active:
            return
        self.active = True
        self._stop_after_rep = False
        if self.phase == "idle":
            self._start_rep()

    def _on_resume(self, _payload) -> None:
        if self.exercise is not None and self._resume_pending:
            self._resume_pending = False
            self._on_go(None)

    def _on_stop(self, kind) -> None:
        if kind in ev.QUALITY_KINDS or kind == ev.PAUSED:
            self._resume_pending = self.active or self._resume_pending
        self.active = False
        if self.phase == "gap":
            self._token += 1
            self.phase = "idle"
        elif self.phase in ("out", "hold"):
            self._back()  # "I can't see you", "rest", "set done": back to neutral and wait

    def _on_settle(self, _payload) -> None:
        """"Hold your head still, facing the screen": back to neutral, and still there for a moment."""
        if self.phase in ("out", "hold"):
            self._settle_after_back = True
            self._back()
        elif self.phase == "gap":
            self._token += 1
            self._push(self._t + SETTLE_S, "next", flow=True)

    def _on_show(self, _payload) -> None:
        """"Turn your head a little to one side and back" (the camera check, to tell the
        patient from a picture): a small turn at this patient's pace, a moment there, back."""
        if self.active or self.phase != "idle" or self._t < self._shown_until:
            return
        r = self.rng
        amount = float(r.uniform(*SHOW_TURN_DEG)) * (1 if r.random() < 0.5 else -1)
        move_s = max(MIN_MOVE_S, SHOW_MOVE_S / self.traits.pace)
        pause_s = float(r.uniform(0.2, 0.8))
        self.axes["yaw"].add(self._t, move_s, amount)
        self.axes["yaw"].add(self._t + move_s + pause_s, move_s, -amount)
        self._shown_until = self._t + 2 * move_s + pause_s

    def _on_release(self, _payload) -> None:
        if self.phase == "hold":
            self._back()

    def _on_further(self, kind) -> None:
        cur = self.current
        if kind == ev.PARTIAL:
            # "Not quite far enough": that one did not count; go further from now on.
            self._aim_boost = min(1.5, self._aim_boost * 1.12)
            last = self.reps[-1] if self.reps else None
            if last is not None and self._done.get(last.direction, 0) > 0:
                self._done[last.direction] -= 1
            return
        if cur is None or cur.mistake == "short" or self.phase not in ("hold", "out"):
            return
        self._aim_boost = min(1.5, self._aim_boost * 1.12)
        ex = self.exercise
        axis = self.axes[ex.axis]
        extra = 0.15 * cur.target * ex.sign(cur.moved)
        axis.add(self._t, self._move_s(abs(extra)), extra)
        cur.extra_pushes += 1

    def _on_other_side(self, text) -> None:
        side = _side_named(text)
        if side is not None:
            self._next_side = side
        if self.current is not None and self.current.mistake == "wrong_side" and self.phase in ("out", "hold"):
            self._back()

    # ------------------------------------------------------------ one rep
    def _pick_side(self) -> str:
        ex = self.exercise
        dirs = ex.directions()
        if self._next_side in dirs:
            side, self._next_side = self._next_side, None
            return side
        if len(dirs) == 1:
            return dirs[0]
        if ex.resolved_sides == "both":
            return next((d for d in dirs if self._done.get(d, 0) < ex.reps), dirs[-1])
        if self._last_side is None:
            return dirs[0]
        return dirs[(dirs.index(self._last_side) + 1) % len(dirs)]

    def _move_s(self, amount: float) -> float:
        """Duration of a movement of `amount`, at this patient's pace for this exercise."""
        ex = self.exercise
        target = max(float(ex.target_value(ex.directions()[0], self.routine.ranges)), 1e-6)
        presc = max((float(ex.tempo_s) - float(ex.hold_s)) / 2.0, 0.5)
        pace = self.traits.pace * self._pace_scale * float(np.exp(self.rng.normal(0, self.traits.pace_sd)))
        # Same pace, smaller movement: proportionally shorter, as a patient keeps its speed.
        return max(MIN_MOVE_S, presc / pace * max(abs(amount) / target, 0.3) ** 0.5)

    def _start_rep(self) -> None:
        ex = self.exercise
        ei = self.exercise_index
        attempt = self._attempts
        self._attempts += 1
        mistake: Mistake | None = self.mistakes.get((ei, attempt))
        side = self._pick_side()
        moved = side
        if mistake is not None and mistake.kind == "wrong_side":
            dirs = ex.directions()
            moved = dirs[(dirs.index(side) + 1) % len(dirs)]
        self._last_side = moved
        target = float(ex.target_value(side, self.routine.ranges))
        tr = self.traits
        aim = max(tr.amplitude, 1.0) if self._aim_boost > 1.0 else tr.amplitude
        aim = aim * self._aim_boost * float(np.exp(self.rng.normal(0, tr.amplitude_sd)))
        if mistake is not None and mistake.kind == "short":
            aim = mistake.reach
        amount = aim * target
        rep = PerformedRep(ex.id, ei, attempt, side, moved, target, self._t, aim=aim,
                           mistake=None if mistake is None else mistake.kind)
        self.current = rep
        start = self._t
        if mistake is not None and mistake.kind == "flick" and mistake.context == "rest":
            # The flick happens while waiting at neutral; the rep follows a moment later.
            self._flick(mistake, start + 0.3)
            start += 0.3 + mistake.duration_s + (mistake.return_s if mistake.shape == "step" else 0.0) + 0.8
            rep.start_t_s = start
        value = ex.sign(moved) * amount
        duration = self._movement(start, value, mistake, rep)
        rep.out_end_t_s = start + duration
        if mistake is not None and mistake.kind == "flick" and mistake.context == "out":
            self._flick(mistake, start + mistake.phase * duration)
        self.phase = "out"
        self._push(start + duration, "out_done", flow=True)

    def _movement(self, t0: float, delta: float, mistake, rep: PerformedRep) -> float:
        """Plan one movement of `delta` on the exercise axis from t0; returns its duration."""
        ex = self.exercise
        tr = self.traits
        axis = ex.axis
        total = self._move_s(abs(delta))
        if mistake is not None and mistake.kind == "too_fast":
            # Peak speed 1.875 x amount / duration = speed_factor x limit.
            total = max(0.12, 1.875 * abs(delta) / (mistake.speed_factor * float(ex.speed_limit)))
        parts: list[tuple[float, float, float]] = []  # (start offset, duration, delta)
        u = self.rng.random()
        if mistake is None and u < tr.hesitation_p:
            share = float(self.rng.uniform(0.35, 0.65))
            d1, d2 = total * share ** 0.5, total * (1 - share) ** 0.5
            parts = [(0.0, d1, delta * share), (d1 * float(self.rng.uniform(0.6, 0.8)), d2, delta * (1 - share))]
            rep.interruptions += 1
        elif mistake is None and u < tr.hesitation_p + tr.pause_p:
            share = float(self.rng.uniform(0.35, 0.65))
            d1, d2 = total * share ** 0.5, total * (1 - share) ** 0.5
            parts = [(0.0, d1, delta * share), (d1 + float(self.rng.uniform(0.3, 1.2)), d2, delta * (1 - share))]
            rep.interruptions += 1
        else:
            parts = [(0.0, total, delta)]
        for off, dur, dd in parts:
            self.axes[axis].add(t0 + off, dur, dd)
            rep.peak_speed = max(rep.peak_speed, 1.875 * abs(dd) / dur)
            if axis in ("yaw", "roll", "pitch") and tr.cross_talk > 0:
                for other in ("yaw", "pitch", "roll"):
                    if other != axis:
                        self.axes[other].add(t0 + off, dur, dd * tr.cross_talk * (0.5 if other == "yaw" else 1.0))
        return max(off + dur for off, dur, _ in parts)

    def _flick(self, m: Mistake, onset: float) -> None:
        axis = self.axes[m.axis]
        if m.shape == "bump":
            half = m.duration_s / 2
            axis.add(onset, half, m.amplitude)
            axis.add(onset + half, half, -m.amplitude)
        else:
            axis.add(onset, m.duration_s, m.amplitude)
            axis.add(onset + m.duration_s + 0.1, m.return_s, -m.amplitude)
        self.flicks.append(FlickTruth(onset, m.axis, m.amplitude, m.duration_s, m.shape, m.context,
                                      m.exercise_index, m.attempt))

    def _on_out_done(self, _payload) -> None:
        ex = self.exercise
        self.phase = "hold"
        hold = float(ex.hold_s)
        m = self.mistakes.get((self.exercise_index, self.current.attempt))
        if m is not None and m.kind == "flick" and m.context == "hold":
            self._flick(m, self._t + m.phase * max(hold, 0.6))
        if hold <= 0:
            self._push(self._t + float(self.rng.uniform(0.1, 0.3)), "back", flow=True)
        elif self.traits.waits_for_release:
            self._push(self._t + hold + GIVE_UP_AFTER_HOLD_S, "back", flow=True)
        else:
            self._push(self._t + hold * self.traits.hold_factor, "back", flow=True)

    def _on_back(self, _payload) -> None:
        if self.phase == "hold":
            self._back()

    def _back(self) -> None:
        ex = self.exercise
        rep = self.current
        self._token += 1  # cancels the pending end of the hold (or of the out movement)
        t0 = self._t
        rep.back_start_t_s = t0
        m = self.mistakes.get((self.exercise_index, rep.attempt))
        # Back to where this axis started, wherever the out movement got to.
        duration = self._movement(t0, -self.axes[ex.axis].final(), m if (m is not None and m.kind == "too_fast")
                                  else None, rep)
        if m is not None and m.kind == "flick" and m.context == "back":
            self._flick(m, t0 + m.phase * duration)
        self.phase = "back"
        self._push(t0 + duration, "back_done", flow=True)

    def _on_back_done(self, _payload) -> None:
        rep = self.current
        rep.end_t_s = self._t
        self.reps.append(rep)
        self.current = None
        if rep.mistake != "wrong_side":
            self._done[rep.direction] = self._done.get(rep.direction, 0) + 1
        settle, self._settle_after_back = self._settle_after_back, False
        if self.active:
            self.phase = "gap"
            gap = self.traits.gap_s * float(np.exp(self.rng.normal(0, 0.2)))
            self._push(self._t + (max(gap, SETTLE_S) if settle else gap), "next", flow=True)
        else:
            self.phase = "idle"

    def _on_next(self, _payload) -> None:
        if self.active and self.phase == "gap":
            self._start_rep()
        else:
            self.phase = "idle"


_SIDE_WORDS = ("left", "right", "flexion", "extension")


def _side_named(text: str) -> str | None:
    """The direction a cue such as "Other side: now to your left." names, if any."""
    words = re.findall(r"[a-z]+", text.lower())
    named = [w for w in words if w in _SIDE_WORDS]
    return named[-1] if named else None
