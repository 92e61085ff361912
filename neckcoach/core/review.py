"""Counting a routine in a recording made without the coach: no timeline, only movements.

The live coach leads: it checks the camera, calibrates, counts in, rests, and
only then counts. A recording made on the patient's own has none of that, so
`ReviewCoach` follows the movements instead, frame by frame from the neutral
found in the recording:

- The routine's exercises are taken in the order it lists them, from the
  first frame, each counted until the next one's movement starts (or the
  recording ends); there is no count-in, no rest and no wait. Reps count in
  any of an exercise's directions (`RepCounter(any_order=True)`): nobody asked
  the patient for the next side.
- The motion is judged by the live coach's own `SafetyMonitor`, one per
  exercise with the same options, and reps done much quicker than the tempo
  are flagged `rushed` by the same `Pacer` rule.
- Picture problems (face lost, another face, too dark...) pause counting and
  are recorded with their times exactly as the live coach does (same
  `PictureQuality`, same 0.5 s before a pause and 0.5 s before resuming).

How the next exercise is recognised: for every later exercise with another
movement a probe `RepCounter` watches its axis. When a probe starts a rep, a
candidate track opens at the moment the head left neutral (its safety monitor
primed on the second before, so it judges the movement from its start) and
both tracks run. When the candidate's rep ends it is adopted if it reached at
least `almost_fraction` of its target (a real attempt, not a glance) and fits
its target better than any rep the current exercise started meanwhile
(|log(peak / target)|: a chin tuck's small nod is a poor chin nod but a good
chin tuck). The current exercise then ends where the candidate began; what it
counted or warned from that moment on is dropped, so every movement is
counted and judged once, by the exercise it belongs to. Until a candidate is
decided, events from its start on are held back: `update` returns them late,
with their own times. An exercise followed by one with the same movement
hands over once all its reps are counted (the movements cannot tell them
apart).

Without a neutral (`count=False`) nothing is counted, but the speed of the
movements is still judged: `too_fast` and `jerk` do not depend on where
neutral is (a 260 deg/s head shake is one whatever the head's rest pose),
while `out_of_range` and `compensation` do and are left out. The first
exercise's monitor judges, as the routine would begin with it.

Pure: kinematics in, events and a `SessionRecord` out; time is passed in.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from neckcoach.core import events as ev
from neckcoach.core.checks import check_range
from neckcoach.core.coach import QUALITY_MESSAGES
from neckcoach.core.events import Event
from neckcoach.core.pacing import Pacer
from neckcoach.core.quality import PictureQuality
from neckcoach.core.reps import RepCounter, RepRecord
from neckcoach.core.safety import SafetyMonitor
from neckcoach.core.samples import Kinematics
from neckcoach.core.session_model import ExerciseRecord, SessionRecord, is_recorded_warning

_REP_ENDS = (ev.REP, ev.PARTIAL)
# Judged without a neutral: speeds do not depend on it (see the module docstring).
_NEUTRAL_FREE = frozenset({ev.TOO_FAST, ev.JERK})


@dataclass(eq=False)
class _Track:
    """One exercise being counted and judged."""

    index: int
    exercise: Any
    counter: RepCounter
    safety: SafetyMonitor
    pacer: Pacer
    record: ExerciseRecord | None = None
    rep_warnings: dict[int, int] = field(default_factory=dict)

    def step(self, kin: Kinematics, t: float) -> list["_Item"]:
        """Safety first (as the live coach), then the counter and the pacer."""
        items = [_Item(e, self, e.t_s) for e in self.safety.update(kin, t, rep=self.rep_of(kin))]
        events = self.counter.update(kin, t)
        events += self.pacer.on_rep_events(events)
        for e in events:
            rec = self._record_of(e)
            items.append(_Item(e, self, rec.start_t_s if rec is not None else e.t_s,
                               rec if e.kind in _REP_ENDS else None))
        return items

    def rep_of(self, kin: Kinematics) -> int | None:
        """The rep a warning at this frame belongs to (the live coach's rule)."""
        c = self.counter
        if not kin.face_found:
            return None
        if c.current is not None:
            return c.current.index
        if c.state == "neutral" and abs(float(kin.value(c.axis))) >= c._neutral:
            return c.rep_offset + len(c.records) + 1
        return None

    def _record_of(self, e: Event) -> RepRecord | None:
        c = self.counter
        if e.rep is None:
            return None
        if c.current is not None and c.current.index == e.rep:
            return c.current
        return next((r for r in reversed(c.records) if r.index == e.rep), None)

    def complete(self) -> bool:
        ex, c = self.exercise, self.counter
        if ex.resolved_sides == "both":
            return all(c.completed[d] >= ex.reps * ex.sets for d in c.directions)
        return c.total_completed >= ex.reps * ex.sets


@dataclass(eq=False)
class _Item:
    """An event held until it is certain which exercise it belongs to."""

    event: Event
    track: _Track | None
    anchor_t_s: float  # the start of its rep, or its own time
    rep: RepRecord | None = None


@dataclass(eq=False)
class _Candidate:
    track: _Track
    rep: RepRecord
    boundary_t_s: float


class ReviewCoach:
    """Counts and judges a whole routine from the kinematics of a recording (see the module docstring).

    counter_options / safety_options: passed to every `RepCounter` / `SafetyMonitor`
    (the live coach's defaults when empty). pause_after_s / resume_after_s and
    the picture thresholds: as `Coach`. prime_s: how much of the recording before a
    candidate exercise's first movement its safety monitor is fed (silently), so it
    judges that movement like a monitor that was running: 1 s covers its 0.3 s
    warm-up and its 0.5 s travel window.
    """

    def __init__(self, routine, *, count: bool = True, pause_after_s: float = 0.5, resume_after_s: float = 0.5,
                 prime_s: float = 1.0, counter_options: dict | None = None,
                 safety_options: dict | None = None, quality: PictureQuality | None = None,
                 min_face_width_px: float = 80.0, min_brightness: float = 40.0) -> None:
        if not getattr(routine, "exercises", None):
            raise ValueError("routine must have at least one exercise")
        if not isinstance(count, bool):
            raise TypeError(f"count must be True or False, got {count!r}")
        self.count = count
        self.routine = routine
        self.ranges = getattr(routine, "ranges", None)
        self.pause_after_s = check_range("pause_after_s", pause_after_s, 0, 10)
        self.resume_after_s = check_range("resume_after_s", resume_after_s, 0, 10)
        self.prime_s = check_range("prime_s", prime_s, 0, 10)
        self.counter_options = dict(counter_options or {})
        self.counter_options.pop("any_order", None)
        self.safety_options = dict(safety_options or {})
        self.quality = quality if quality is not None else PictureQuality(
            min_face_width_px=min_face_width_px, min_brightness=min_brightness)
        probe = RepCounter(routine.exercises[0], self.ranges, **self.counter_options)
        self.almost_fraction = probe.almost_fraction
        # A candidate's first rep must end within this many tempos to be decided;
        # otherwise (a slow drift, a posture change) it is dropped.
        self.candidate_timeout_tempos = 3.0
        self._ring_s = max(float(ex.tempo_s) for ex in routine.exercises) + self.prime_s + 1.0
        self.reset()

    # ------------------------------------------------------------------ setup
    def reset(self) -> None:
        self.session = SessionRecord(getattr(self.routine, "title", None))
        self._ring: deque[Kinematics] = deque()
        self._held: list[_Item] = []
        self._candidates: list[_Candidate] = []
        self._probes: dict[int, RepCounter] = {}
        self.current: _Track | None = None
        self.quality_problem: str | None = None
        self._problem: str | None = None
        self._problem_since: float | None = None
        self._ok_since: float | None = None
        self._last_t: float | None = None
        self._finished = False

    def _counter(self, exercise) -> RepCounter:
        return RepCounter(exercise, self.ranges, any_order=True, **self.counter_options)

    def _track(self, index: int, counter: RepCounter | None = None) -> _Track:
        ex = self.routine.exercises[index]
        return _Track(index, ex, counter or self._counter(ex), SafetyMonitor(ex, self.ranges, **self.safety_options),
                      Pacer(ex))

    def _begin(self, track: _Track, t: float) -> None:
        """`track` becomes the exercise being counted; exercises it passed over were not seen."""
        self.current = track
        if not self.count:
            return
        done = len(self.session.exercises)
        for skipped in self.routine.exercises[done:track.index]:
            rec = self.session.start_exercise(skipped, t)
            rec.end_t_s, rec.seen = t, False
        track.record = self.session.start_exercise(track.exercise, t)
        moving = track.exercise.movement
        self._probes = {j: self._counter(ex) for j, ex in enumerate(self.routine.exercises)
                        if j > track.index and ex.movement != moving}

    # ------------------------------------------------------------------ frame
    def update(self, sample: Kinematics, t_s: float | None = None) -> list[Event]:
        """Feed one frame; returns the events that are now certain (possibly from earlier frames)."""
        if self._finished:
            raise RuntimeError("the review is finished; call reset() to start another")
        t = float(sample.t_s if t_s is None else t_s)
        self.session.observe(t)
        self._last_t = t
        self._ring.append(sample)
        while self._ring and t - self._ring[0].t_s > self._ring_s:
            self._ring.popleft()
        if self.current is None:
            self._begin(self._track(0), t)
        self._check_quality(sample, t)
        if sample.extra.get("tracking_restarted"):
            self._suspend()  # what happened during the stall was not seen
        if self.quality_problem is None and self.count:
            self._count(sample, t)
        elif self.quality_problem is None:
            self._held.extend(_Item(e, self.current, e.t_s) for e in self.current.safety.update(sample, t)
                              if e.kind in _NEUTRAL_FREE)
        return self._release()

    def _count(self, kin: Kinematics, t: float) -> None:
        current = self.current
        for item in current.step(kin, t):
            self._held.append(item)
        for cand in list(self._candidates):
            self._held.extend(cand.track.step(kin, t))
        for j, probe in list(self._probes.items()):
            events = probe.update(kin, t)
            if probe.current is not None and any(e.kind == ev.REP_START for e in events):
                self._open_candidate(j, probe, events, kin, t)
        for cand in list(self._candidates):
            if cand in self._candidates:  # an adoption ends the others
                self._judge(cand, t)
        if not self._candidates and current is self.current and current.complete():
            nxt = current.index + 1
            if nxt < len(self.routine.exercises) and self.routine.exercises[nxt].movement == current.exercise.movement:
                self._hand_over(nxt, t)

    # --------------------------------------------------------------- candidates
    def _open_candidate(self, j: int, probe: RepCounter, events: list[Event], kin: Kinematics, t: float) -> None:
        """A later exercise's movement began: follow it as a candidate from where it left neutral."""
        del self._probes[j]
        track = self._track(j, counter=probe)
        rep = probe.current
        boundary = rep.start_t_s
        for past in list(self._ring)[:-1]:
            found = track.safety.update(past, past.t_s,
                                        rep=rep.index if past.face_found and past.t_s >= boundary else None)
            if past.t_s >= boundary:
                self._held.extend(_Item(e, track, e.t_s) for e in found)
        self._held.extend(_Item(e, track, e.t_s) for e in track.safety.update(kin, t, rep=rep.index))
        events = events + track.pacer.on_rep_events(events)
        self._held.extend(_Item(e, track, boundary if e.rep is not None else e.t_s) for e in events)
        self._candidates.append(_Candidate(track, rep, boundary))

    def _judge(self, cand: _Candidate, t: float, final: bool = False) -> None:
        counter = cand.track.counter
        ended = cand.rep in counter.records
        if not ended and counter.current is not cand.rep:
            self._drop(cand)  # suspended: the attempt was not seen whole
            return
        if not ended and not final:
            if t - cand.rep.start_t_s > self.candidate_timeout_tempos * float(cand.track.exercise.tempo_s):
                self._drop(cand)
            return
        if cand.rep.peak < self.almost_fraction * cand.rep.target:
            self._drop(cand)
            return
        fit = _fit(cand.rep)
        # The current exercise's reps that overlap the candidate's: the same movement seen on two axes.
        rivals = [r for r in (*self.current.counter.records, self.current.counter.current)
                  if r is not None and (r.end_t_s is None or r.end_t_s > cand.boundary_t_s) and r.peak > 0]
        if rivals and min(_fit(r) for r in rivals) <= fit:
            self._drop(cand)
            return
        self._adopt(cand)

    def _drop(self, cand: _Candidate) -> None:
        self._candidates.remove(cand)
        self._held = [h for h in self._held if h.track is not cand.track]
        self._probes[cand.track.index] = self._counter(cand.track.exercise)

    def _adopt(self, cand: _Candidate) -> None:
        old, b = self.current, cand.boundary_t_s
        others = {c.track for c in self._candidates if c is not cand}
        self._held = [h for h in self._held
                      if h.track not in others and not (h.track is old and h.anchor_t_s >= b)]
        self._candidates = []
        old.record.end_t_s = b
        self._begin(cand.track, b)

    def _hand_over(self, index: int, t: float) -> None:
        """The current exercise is done and the next has the same movement: it starts now."""
        self.current.record.end_t_s = t
        track = self._track(index)
        for past in list(self._ring)[:-1]:
            track.safety.update(past, past.t_s)  # primed silently: these frames were judged already
        self._begin(track, t)

    # ----------------------------------------------------------------- quality
    def _suspend(self) -> None:
        """Counting stops: the attempts in progress were not seen whole."""
        current = self.current
        current.counter.suspend()
        current.safety.reset()
        current.rep_warnings.clear()
        for cand in list(self._candidates):
            self._drop(cand)
        for probe in self._probes.values():
            probe.suspend()

    def _check_quality(self, s: Kinematics, t: float) -> None:
        """Pause on a lasting picture problem and resume once it is gone (as `Coach`)."""
        problem = self.quality.assess(s, framing=False)
        if problem is not None:
            self._ok_since = None
            if problem != self._problem:
                self._problem, self._problem_since = problem, t
            if t - self._problem_since >= self.pause_after_s and problem != self.quality_problem:
                if self.quality_problem is not None:
                    self.session.end_pause(t)
                self.quality_problem = problem
                self._suspend()
                self.session.start_pause(t, problem)
                e = Event(t_s=t, kind=problem, exercise_id=self.current.exercise.id,
                          message=QUALITY_MESSAGES[problem], data={"reason": problem})
                self._held.append(_Item(e, None, t))
            return
        self._problem = self._problem_since = None
        if self.quality_problem is not None:
            self._ok_since = self._ok_since if self._ok_since is not None else t
            if t - self._ok_since >= self.resume_after_s:
                self.quality_problem = None
                self._ok_since = None
                self.session.end_pause(t)
                self._held.append(_Item(Event(t_s=t, kind=ev.RESUMED, exercise_id=self.current.exercise.id,
                                              message="Good, I can see you again.", data={"reason": "quality"}),
                                        None, t))

    # ----------------------------------------------------------------- output
    def _release(self, everything: bool = False) -> list[Event]:
        """Events before the earliest undecided candidate began, in time order."""
        limit = math.inf if everything or not self._candidates else min(c.boundary_t_s for c in self._candidates)
        ready = sorted((h for h in self._held if h.event.t_s < limit), key=lambda h: h.event.t_s)
        if not ready:
            return []
        self._held = [h for h in self._held if h.event.t_s >= limit]
        out = []
        for item in ready:
            self._apply(item)
            out.append(item.event)
        return out

    def _apply(self, item: _Item) -> None:
        """Put a released event into the session record (as `Coach._record`)."""
        e, track = item.event, item.track
        if e.kind in _REP_ENDS and item.rep is not None and track is not None:
            item.rep.warnings += track.rep_warnings.pop(item.rep.index, 0)
            track.record.reps.append(item.rep)
        if is_recorded_warning(e):
            self.session.add_warning(e)
            if e.rep is not None and track is not None:
                match = next((r for r in reversed(track.record.reps) if r.index == e.rep), None)
                if match is not None:
                    match.warnings += 1
                else:
                    track.rep_warnings[e.rep] = track.rep_warnings.get(e.rep, 0) + 1

    def finish(self, t_s: float | None = None) -> list[Event]:
        """The recording ended: decide what is pending, close the record, return the last events."""
        if self._finished:
            return []
        t = float(t_s if t_s is not None else (self._last_t or 0.0))
        for cand in list(self._candidates):
            if cand in self._candidates:
                self._judge(cand, t, final=True)
        if self.current is None:
            self._finished = True
            return []
        if self.quality_problem is not None:
            self.session.end_pause(t)
        if not self.count:
            self._finished = True
            return self._release(everything=True)
        self.current.record.end_t_s = t
        for ex in self.routine.exercises[len(self.session.exercises):]:
            rec = self.session.start_exercise(ex, t)
            rec.end_t_s, rec.seen = t, False
        out = self._release(everything=True)
        for ex, rec in zip(self.routine.exercises, self.session.exercises):
            rec.sets_completed = _sets_done(ex, rec)
        self.session.completed = all(_sets_done(ex, rec) >= ex.sets
                                     for ex, rec in zip(self.routine.exercises, self.session.exercises))
        self._finished = True
        return out


def _fit(rep: RepRecord) -> float:
    """How far a rep's peak is from its target, as a ratio (0 = on target)."""
    return abs(math.log(max(rep.peak, 1e-6) / max(rep.target, 1e-6)))


def _sets_done(exercise, record: ExerciseRecord) -> int:
    done: dict[str, int] = {}
    for r in record.reps:
        if r.complete:
            done[r.side] = done.get(r.side, 0) + 1
    if exercise.resolved_sides == "both":
        per_side = min((done.get(d, 0) for d in exercise.directions()), default=0)
        return min(exercise.sets, per_side // max(exercise.reps, 1))
    return min(exercise.sets, sum(done.values()) // max(exercise.reps_per_set, 1))


def review_kinematics(routine, kinematics, **options) -> tuple[list[Event], dict[str, Any]]:
    """Review recorded kinematics in one go: (all events, session dict)."""
    coach = ReviewCoach(routine, **options)
    events: list[Event] = []
    last = None
    for k in kinematics:
        events.extend(coach.update(k))
        last = k.t_s
    events.extend(coach.finish(last))
    return events, coach.session.to_dict()


__all__ = ["ReviewCoach", "review_kinematics"]
