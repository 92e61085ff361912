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
least `almost_fraction` of its target (a real attempt, not a glance), was not
a jolt (the counter's reason "sudden": the monitor warned a jerk or too-fast
movement and the head never reached the target -- a flick sideways in a rest
is not a move on to side bends; seed 400043 of
benchmarks/review_population.py skipped the turns for one) and fits
its target better than any rep the current exercise started meanwhile
(|log(peak / target)|: a chin tuck's small nod is a poor chin nod but a good
chin tuck). The current exercise then ends where the candidate began; what it
counted or warned from that moment on is dropped, so every movement is
counted and judged once, by the exercise it belongs to. Until a candidate is
decided, events from its start on are held back: `update` returns them late,
with their own times; so are those from where a probe's head has left
neutral, where a candidate would begin (the current exercise's warning of a
jerk as the next exercise sets off would otherwise be kept beside the
candidate's own of the same jerk). An exercise followed by one with the same
movement hands over once all its reps are counted (the movements cannot tell
them apart).

Motion is judged as exercise motion only while the person is exercising. A
safety warning is about a movement made *while doing the exercise*: the live
coach knows when that is (it asked for the movement), a recording does not.
On real clips of people talking (benchmarks/README.md, "Reviewing a
recording") the monitor finds what it is built to find -- a turn from 1 to
14 deg in 0.32 s, a nod whose speed jumps by 66 deg/s, leaning towards the
screen at 117 mm/s -- as quick as the 15 deg / 250 ms flick it must catch
during an exercise, so no threshold can tell them apart; only the context
can. Talking also crosses the counter's start threshold (a 23 deg glance is
an "attempt" at a 50 deg turn), so an attempt alone is no evidence. What a
conversation never holds and an exercise always does is the exercise's own
signature, the hold: a complete repetition (reached, held for the
prescription, brought back), or, for a patient who cannot reach the target,
attempts that went at least `almost_fraction` of the way and stayed at their
furthest point for half the prescribed hold (`held_attempt`). So the safety
warnings of a recording are kept only while the person is doing the
routine: from the first to the last exercising run (`exercising_spans`), the
rests between sets and exercises included, as the live coach judges through
its rests. An exercising run is a run of one exercise's attempts, each
widened by one tempo on either side and chained where they overlap, that
holds a complete repetition or two held attempts; it starts a tempo before
its first attempt (whatever that reached: a flick on the first attempt of a
set is part of the set) and ends a tempo after its last. On the clips, no
attempt that went 60 % of the way stayed at its furthest point for more than
0.28 of the hold; in the kinematics population (seeds 300000-300199) every
run without a complete repetition, from patients who stop short, had at
least two held attempts. (The rests are included because the live coach
judges them: on seed 400043 a flick in the rest before an exercise was warned
live, and that exercise's rep, miscounted by the review, left it outside any
run.) What the monitor found outside that stretch is recorded apart
(`SessionRecord.outside_exercises`, "quick head movements outside the
exercises") for the therapist to look at, not as safety warnings. The price:
in a recording without one complete repetition or two held attempts in a
row, quick movements are listed, not warned. The decision needs the whole
recording, so it is made at `finish`: from the first safety warning on,
`update` holds every event back and `finish` returns them.

Without a neutral (`count=False`) nothing is counted, but the speed of the
movements is still judged: `too_fast` and `jerk` do not depend on where
neutral is (a 260 deg/s head shake is one whatever the head's rest pose),
while `out_of_range` and `compensation` do and are left out. The first
exercise's monitor judges, as the routine would begin with it. No attempt can
be recognised without a neutral, so these are all kept as warnings: such a
recording already ends with "I could not start counting", and a 100 deg/s
swing in it is shown, not filed away.

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
# The warnings that mark the attempt they fall in as a jolt (`RepCounter.mark_jolt`), as live.
_JOLTS = (ev.JERK, ev.TOO_FAST)


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
        items = [_Item(e, self, e.t_s) for e in self.judge(self.safety.update(kin, t, rep=self.rep_of(kin)))]
        events = self.counter.update(kin, t)
        events += self.pacer.on_rep_events(events)
        for e in events:
            rec = self._record_of(e)
            items.append(_Item(e, self, rec.start_t_s if rec is not None else e.t_s,
                               rec if e.kind in _REP_ENDS else None))
        return items

    def judge(self, warnings: list[Event]) -> list[Event]:
        """Tell the counter and the pacer of each jolt its monitor warned, as the live coach does
        (`Coach._run_safety`): an attempt that jolted and never reached the target is then
        "sudden", not an attempt, and a rep warned is not also told it rushed."""
        for e in warnings:
            if e.kind in _JOLTS:
                self.counter.mark_jolt(e.t_s, e.data.get("axis"))
                self.pacer.note_warning(e)
        return warnings

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
    warm-up and its 0.5 s travel window. exercising_only: keep safety warnings
    only inside exercising stretches (see the module docstring); False judges
    the whole recording as before (for comparison in benchmarks).
    """

    def __init__(self, routine, *, count: bool = True, pause_after_s: float = 0.5, resume_after_s: float = 0.5,
                 prime_s: float = 1.0, counter_options: dict | None = None,
                 safety_options: dict | None = None, quality: PictureQuality | None = None,
                 min_face_width_px: float = 80.0, min_brightness: float = 40.0,
                 exercising_only: bool = True) -> None:
        if not getattr(routine, "exercises", None):
            raise ValueError("routine must have at least one exercise")
        if not isinstance(count, bool):
            raise TypeError(f"count must be True or False, got {count!r}")
        if not isinstance(exercising_only, bool):
            raise TypeError(f"exercising_only must be True or False, got {exercising_only!r}")
        self.count = count
        self.exercising_only = exercising_only
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
        # Released, but returned only once every safety warning before them is decided (at `finish`).
        self._queue: list[_Item] = []
        self._undecided: list[_Item] = []
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
        if "seat_moved_mm" in sample.extra:  # see `RepCounter.seat_moved`
            for counter in [self.current.counter, *self._probes.values()]:
                counter.seat_moved()
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
            found = track.judge(track.safety.update(
                past, past.t_s, rep=rep.index if past.face_found and past.t_s >= boundary else None))
            if past.t_s >= boundary:
                self._held.extend(_Item(e, track, e.t_s) for e in found)
        self._held.extend(_Item(e, track, e.t_s) for e in track.judge(track.safety.update(kin, t, rep=rep.index)))
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
        # A jolt is not an attempt at the exercise (the counter's reason "sudden"): a head that
        # jerked sideways once during a rest has not moved on to side bends.
        if cand.rep.peak < self.almost_fraction * cand.rep.target or cand.rep.reason == "sudden":
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
        problem = self.quality.assess(s, framing=False, standing=self.quality_problem or self._problem)
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
        """Events before the earliest undecided candidate began, in time order.

        Nor any from where a probe's head has left neutral: a candidate opened there would begin
        at that moment, and the current exercise's warnings from it on, already released, would
        stay beside the candidate's own of the same movement (one jerk recorded twice)."""
        starts = [c.boundary_t_s for c in self._candidates]
        starts += [p.leaving_t_s for p in self._probes.values() if p.leaving_t_s is not None]
        limit = math.inf if everything or not starts else min(starts)
        ready = sorted((h for h in self._held if h.event.t_s < limit), key=lambda h: h.event.t_s)
        if not ready:
            return []
        self._held = [h for h in self._held if h.event.t_s >= limit]
        for item in ready:
            if self._judged_at_the_end(item):
                self._undecided.append(item)
            else:
                self._apply(item)
            self._queue.append(item)
        if self._undecided:
            return []
        out, self._queue = [item.event for item in self._queue], []
        return out

    def _judged_at_the_end(self, item: _Item) -> bool:
        """A safety warning whose stretch may or may not turn out to be exercise (module docstring)."""
        return self.count and self.exercising_only and item.event.kind in ev.SAFETY_KINDS

    def _decide(self, t: float) -> None:
        """The recording is over: keep the safety warnings made while exercising, file the rest apart."""
        attempts = []
        for ex, rec in zip(self.routine.exercises, self.session.exercises):
            reps = list(rec.reps)
            now = self.current.counter.current if self.current.record is rec else None
            if now is not None and now not in reps:  # the recording ended during this attempt
                reps.append(now)
            attempts.append((float(ex.tempo_s), [
                (r.start_t_s, r.end_t_s if r.end_t_s is not None else t, r.complete,
                 held_attempt(r, float(ex.hold_s), self.almost_fraction)) for r in reps]))
        spans = exercising_spans(attempts)
        first, last = (spans[0][0], max(b for _, b in spans)) if spans else (math.inf, -math.inf)
        outside = []
        for item in self._undecided:
            if first <= item.event.t_s <= last:
                self._apply(item)
            else:
                outside.append(item)
        self._undecided = []
        gone = set(map(id, outside))
        self._queue = [item for item in self._queue if id(item) not in gone]
        self.session.warnings.sort(key=lambda w: w["t_s"])
        self.session.outside_exercises = [_outside(item.event) for item in outside]

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
        self._release(everything=True)
        if self.exercising_only:
            self._decide(t)
        out, self._queue = [item.event for item in self._queue], []
        for ex, rec in zip(self.routine.exercises, self.session.exercises):
            rec.sets_completed = _sets_done(ex, rec)
        self.session.completed = all(_sets_done(ex, rec) >= ex.sets
                                     for ex, rec in zip(self.routine.exercises, self.session.exercises))
        self._finished = True
        return out


def exercising_spans(exercises, held_needed: int = 2) -> list[tuple[float, float]]:
    """(start, end) of the runs of attempts that show the person exercising (see the module docstring).

    `exercises`: per exercise, (tempo_s, [(start_t_s, end_t_s, complete, held) of each attempt]).
    Each attempt is widened by one tempo on either side -- the rest between two reps of a set is
    shorter than two reps, and a jolt as the head leaves neutral is warned before the counter
    sees the attempt start -- and overlapping attempts form one run. A run with a complete
    repetition, or `held_needed` held attempts, is a stretch of exercise, whatever its other
    attempts reached: one held tilt of the head while listening is not yet an exercise, two in
    the exercise's rhythm are.
    """
    spans: list[tuple[float, float]] = []
    for tempo_s, attempts in exercises:
        runs: list[list] = []
        for start, end, complete, held in sorted(attempts):
            a, b = start - tempo_s, end + tempo_s
            if runs and a <= runs[-1][1]:
                run = runs[-1]
                run[1], run[2], run[3] = max(run[1], b), run[2] or complete, run[3] + int(held)
            else:
                runs.append([a, b, complete, int(held)])
        spans.extend((a, b) for a, b, complete, held in runs if complete or held >= held_needed)
    return sorted(spans)


def held_attempt(rep: RepRecord, hold_s: float, almost_fraction: float) -> bool:
    """The attempt went `almost_fraction` of the way and stayed at its furthest point for half the hold.

    "At its furthest point": within 10 % of the target of it (at least 1.5 deg / 1 mm, well
    above the filtered jitter of a held head), for a continuous `hold_s` / 2 -- a patient who
    stops short still holds there as prescribed; talking does not stay put.
    """
    if rep.peak < almost_fraction * rep.target:
        return False
    tolerance = max(0.1 * rep.target, 1.0 if rep.unit == "mm" else 1.5)
    since = None
    for t, x in zip(rep._t, rep._x):
        if rep._sign * x >= rep.peak - tolerance:
            since = t if since is None else since
            if t - since >= 0.5 * hold_s:
                return True
        else:
            since = None
    return False


def _outside(e: Event) -> dict[str, Any]:
    """What the session record keeps of a quick movement made outside the exercises."""
    data = e.data or {}
    return {"t_s": round(float(e.t_s), 3), "kind": e.kind, "axis": data.get("axis"),
            "magnitude": None if e.magnitude is None else round(float(e.magnitude), 2), "unit": e.unit,
            "exercise_id": e.exercise_id}


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


__all__ = ["ReviewCoach", "exercising_spans", "held_attempt", "review_kinematics"]
