"""Routine-level coach: exercises, sets, rests, pauses and the session record.

One `update(sample)` per frame drives everything below it (rep counter,
safety monitor, pacer) and returns the events of that frame. Counting stops
whenever the measurement cannot be trusted (no face, two faces, too far or
close, too dark or bright: see `core.quality`) and resumes without losing the count: the rep in progress is dropped,
because half of it was not seen.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable

from neckcoach.core import events as ev
from neckcoach.core.calibration import depth_view_note, depth_view_words
from neckcoach.core.events import Event
from neckcoach.core.kinematics import TRUST_SIGMAS, TRUSTED_ERROR
from neckcoach.core.pacing import Pacer
from neckcoach.core.quality import PictureQuality
from neckcoach.core.reps import RepCounter, cue_text, mostly_unmeasured
from neckcoach.core.safety import SafetyMonitor
from neckcoach.core.samples import Kinematics
from neckcoach.core.session_model import SessionRecord, is_recorded_warning

QUALITY_MESSAGES = {
    ev.FACE_LOST: "I can't see your face. Please look towards the screen.",
    ev.TWO_FACES: "Someone else is where you are sitting and I can't tell you apart. "
                  "Counting waits until only you are there.",
    ev.NOT_PATIENT: "I can see someone, but not where you were sitting. Please sit where you were, "
                    "or press C to start again.",
    ev.TOO_FAR: "Please come a little closer to the camera.",
    ev.TOO_CLOSE: "Please move back a little from the camera.",
    ev.POOR_LIGHT: "It's too dark. Please turn on a light in front of you.",
    ev.TOO_BRIGHT: "There's too much light behind you. Please close the curtains "
                   "or turn on a light in front of you.",
}


# Seconds of counting without the counter ever seeing the head at rest before
# the person is told why nothing is counted: the 0.5 s settle, a slow
# patient's reaction to "go" (up to 2 s) and a slow return from the previous
# rep (a tempo of up to 3 s) all fit inside it.
NOT_SETTLED_S = 6.0
# More than this share of those frames without a usable value on the
# exercise's axis means the axis, not the person, is the problem.
UNUSABLE_SHARE = 0.5
_AXIS_HELP = {
    "retraction": "I can only measure a chin tuck with your head level and facing the screen. "
                  "Face the screen squarely, then tuck your chin straight back.",
}
NOT_SETTLED_MESSAGES = {
    "noisy": "The picture is too grainy for me to tell when your head is still, so I can't count "
             "this exercise. More light in front of you will help.",
    "unmeasurable": "I can't measure this movement from where you are. Face the screen squarely.",
    "restless": "Hold your head still, facing the screen, so I can start counting.",
}
NOT_SETTLED_NOTES = {
    "noisy": "the picture was too grainy to tell when your head was still",
    "unmeasurable": "I could not measure this movement from where you were",
    "restless": "I never saw your head settle at rest, facing the screen",
}
# A set whose reps the person cannot complete ends after this many tries per prescribed
# movement. The prescription is a dose: a patient who falls short (pain, stiffness, a target
# beyond today's range) makes each movement and may retry each once; asking again after that
# adds load the therapist did not prescribe and tells the person nothing new. Before, such a
# set never ended (rendered population seed 400704: a patient reaching 36-42 deg of a 50 deg
# target heard "Not quite far enough" 8 times in 90 s, then the session timed out). A jolt
# (reason "sudden") is not a try. The record keeps every try and how far it went.
# Tries are the counter's records, and in a grainy picture jitter can split one slow
# movement into several (held-out kinematics seed 601755: one short chin tuck recorded as
# three, and the set ended after the patient's second movement). So the set must also have
# lasted as long as those tries take at the slowest pace patients keep,
# `TRIES_SLOWEST_PACE` of the prescribed tempo (half: the population's range is 0.5-2x).
TRIES_PER_REP = 2
TRIES_SLOWEST_PACE = 0.5
TRIES_USED_MESSAGE = ("That's enough tries for this set, so we'll move on. Only go as far as is "
                      "comfortable: your record shows how far you went.")
# ... unless most of the tries went where the camera could not measure them (a look-up past what
# a camera below the eyes reads, a turn past the followed face): then how far the person went is
# not known, and "only go as far as is comfortable" would read as "you fell short" (rendered
# population seed 400879: both look-ups held 13 deg past their 30 deg target, unseen).
TRIES_UNSEEN_MESSAGE = ("That's enough tries for this set, so we'll move on. I could not see how far you "
                        "went on most of them: your record shows which.")
TRIES_EXERCISE_DONE = "That's the end of this exercise."


# What a pause says, by why it was made: the keyboard's waits for the key; one while a new
# neutral is taken ends by itself once it is taken (a "press space" there would be wrong).
PAUSE_WORDS = {"user": "Paused. Press space to continue.",
               "recalibrate": "Paused while I take your starting position again."}


class Coach:
    """Runs a whole routine from a stream of `Kinematics`.

    min_face_width_px, min_brightness and quality_options configure the
    `PictureQuality` that decides what is a bad picture (thresholds and their
    reasons are there); framing is not checked here, because turning and
    bending move the head off-centre on purpose.
    pause_after_s / resume_after_s: a problem must last this long before
    counting pauses (one dropped frame is not a pause), and the picture must
    be good this long before it resumes.
    transition_s: pause between exercises for the next instructions.
    early_start_s: a rep begun this long before "go" counts (one beat: people
    start on the last count as often as on "go"); one begun earlier is
    getting into position, and is dropped.
    """

    def __init__(self, routine, *, min_face_width_px: float = 80.0, min_brightness: float = 40.0,
                 pause_after_s: float = 0.5, resume_after_s: float = 0.5, transition_s: float = 5.0,
                 early_start_s: float = 1.0,
                 rest_countdown_at: tuple[int, ...] = (10, 5, 3, 2, 1),
                 counter_options: dict | None = None, safety_options: dict | None = None,
                 pacer_options: dict | None = None, quality_options: dict | None = None):
        self.quality = PictureQuality(min_face_width_px=min_face_width_px, min_brightness=min_brightness,
                                      **dict(quality_options or {}))
        for name, v, lo, hi in (("pause_after_s", pause_after_s, 0, 10),
                                ("resume_after_s", resume_after_s, 0, 10),
                                ("transition_s", transition_s, 0, 120),
                                ("early_start_s", early_start_s, 0, 5)):
            if not lo <= v <= hi:
                raise ValueError(f"{name} must be in [{lo}, {hi}], got {v!r}")
        if not getattr(routine, "exercises", None):
            raise ValueError("routine must have at least one exercise")
        self.routine = routine
        self.ranges = getattr(routine, "ranges", None)
        self.pause_after_s = float(pause_after_s)
        self.resume_after_s = float(resume_after_s)
        self.transition_s = float(transition_s)
        self.early_start_s = float(early_start_s)
        self.rest_countdown_at = tuple(sorted(set(int(x) for x in rest_countdown_at), reverse=True))
        self.counter_options = dict(counter_options or {})
        self.safety_options = dict(safety_options or {})
        self.pacer_options = dict(pacer_options or {})
        self.reset()

    # ------------------------------------------------------------------ setup
    def reset(self) -> None:
        self.session = SessionRecord(getattr(self.routine, "title", None))
        self.phase = "start"
        self.exercise_index = 0
        self.set_index = 0
        self.counter: RepCounter | None = None
        self._finishing: RepCounter | None = None
        self._rest_offset: dict[str, float] = {}  # where the head rests, per axis, carried from set to set
        self._rest_origin: dict[str, float] = {}  # ... and around where (see `RepCounter.suspend`)
        self._moved = False  # asked to come closer or move back since a chin tuck last found its rest
        self.safety: SafetyMonitor | None = None
        self.pacer: Pacer | None = None
        self._rest_until: float | None = None
        self._rest_sent: set[int] = set()
        self._next_after_rest = "set"
        self.quality_problem: str | None = None
        self.quality_message = ""  # what was said about it (how far to move, when measured)
        self.user_paused = False
        self._problem: str | None = None
        self._problem_since: float | None = None
        self._ok_since: float | None = None
        self._commands: list[str] = []
        self._pause_reason = "user"
        self._last_t: float | None = None
        self._last_value = 0.0
        self._rep_warnings: dict[int, int] = {}
        self._paused_at = 0.0
        self._unarmed: list[float] = []  # since, frames, unusable frames of the current unarmed stretch
        self._settle_said = False
        # Why counting has not started, shown for as long as that lasts ("" when it has),
        # and the reason's key (NOT_SETTLED_MESSAGES).
        self.waiting_message = ""
        self.waiting_reason = ""

    @property
    def exercise(self):
        if self.exercise_index >= len(self.routine.exercises):
            return None
        return self.routine.exercises[self.exercise_index]

    @property
    def paused(self) -> bool:
        return self.user_paused or self.quality_problem is not None

    def _start_exercise(self, t: float, out: list[Event]) -> None:
        ex = self.exercise
        self.set_index = 0
        self._rep_warnings = {}
        self._settle_said = False
        self.waiting_message = self.waiting_reason = ""
        self.session.start_exercise(ex, t)
        self.safety = SafetyMonitor(ex, self.ranges, **self.safety_options)
        self.pacer = Pacer(ex, **self.pacer_options)
        describe = getattr(ex, "describe", None)
        text = describe(self.ranges) if callable(describe) else ex.name
        out.append(Event(t_s=t, kind=ev.EXERCISE_START, exercise_id=ex.id, message=text,
                         data={"index": self.exercise_index, "name": ex.name, "sets": ex.sets,
                               "reps": ex.reps_per_set}))
        self._start_set(t)

    def _start_set(self, t: float) -> None:
        ex = self.exercise
        offset = len(self.session.current.reps) if self.session.current else 0
        rest = self._rest_offset.get(ex.axis, 0.0)
        self.counter = RepCounter(ex, self.ranges, rep_offset=offset, rest_offset=rest,
                                  rest_origin=self._rest_origin.get(ex.axis, 0.0), rezero=self._moved,
                                  **self.counter_options)
        self.pacer.start_count_in(t)
        self.phase = "count_in"

    # --------------------------------------------------------------- commands
    def pause(self, t_s: float | None = None, reason: str = "user") -> None:
        """Keyboard pause ("user"), or one while a new neutral is taken ("recalibrate"), which
        ends on its own; applied at `t_s` or at the next frame."""
        if reason not in PAUSE_WORDS:
            raise ValueError(f"reason must be one of {sorted(PAUSE_WORDS)}, got {reason!r}")
        self._commands.append("pause")
        self._pause_reason = reason

    def resume(self, t_s: float | None = None) -> None:
        self._commands.append("resume")

    def skip_exercise(self, t_s: float | None = None) -> None:
        self._commands.append("skip")

    def apply_commands(self, t_s: float) -> list[Event]:
        """Apply pause/resume/skip at `t_s` without a sample: while the loop feeds the coach
        nothing (a new neutral being taken), a pause must still start, and be heard, then,
        not when the next sample comes."""
        t = float(t_s)
        out: list[Event] = []
        self.session.observe(t)
        self._last_t = t
        self._apply_commands(t, out)
        return out

    def _apply_commands(self, t: float, out: list[Event]) -> None:
        for cmd in self._commands:
            if cmd == "pause" and not self.user_paused and self.phase not in ("done",):
                self.user_paused = True
                self._paused_at = t
                self._suspend()
                reason = self._pause_reason
                self.session.start_pause(t, reason)
                out.append(self._event(t, ev.PAUSED, PAUSE_WORDS[reason], reason=reason))
            elif cmd == "resume" and self.user_paused:
                self.user_paused = False
                if self.phase == "rest" and self._rest_until is not None:
                    self._rest_until += t - self._paused_at  # the rest does not run down while paused
                self.session.end_pause(t)
                if self.quality_problem is not None:
                    self.session.start_pause(t, self.quality_problem)
                out.append(self._event(t, ev.RESUMED, "Let's continue.", reason="user"))
                if self.phase == "count_in":
                    self.pacer.start_count_in(t)
            elif cmd == "skip" and self.phase not in ("done", "start"):
                ex = self.exercise
                if ex is not None and self.phase == "rest" and self._next_after_rest == "exercise":
                    self.session.start_exercise(ex, t)  # skipping the one about to start
                if ex is not None and self.session.current is not None:
                    self.session.current.skipped = True
                    out.append(self._event(t, ev.EXERCISE_SKIPPED, f"Skipping {ex.name}."))
                    self._finish_exercise(t, out, skipped=True)
        self._commands.clear()

    def _suspend(self, moved: bool = False, keep_held: bool = False) -> None:
        self._moved = self._moved or moved
        keep = keep_held and not moved and self.counter is not None and self.counter.held
        if self.counter is not None:
            self.counter.suspend(moved=moved, keep_held=keep)
        if not keep:
            self._rep_warnings.clear()  # the dropped attempt is not recorded
        if self.safety is not None:
            self.safety.reset()

    def _seat_moved(self) -> None:
        """Depth is now measured from where the head rests (see `RepCounter.seat_moved`)."""
        if "retraction" in self._rest_offset:
            self._rest_offset["retraction"] = self._rest_origin["retraction"] = 0.0
        self._moved = False
        if self.counter is not None:
            self.counter.seat_moved()

    # ---------------------------------------------------------------- quality
    def _quality(self, s: Kinematics) -> str | None:
        return self.quality.assess(s, framing=False, standing=self.quality_problem or self._problem)

    def _check_quality(self, s: Kinematics, t: float, out: list[Event], may_pause: bool = True) -> None:
        """Pause counting on a lasting problem; during a rest nobody needs to be in view."""
        problem = self._quality(s)
        if problem is not None and not may_pause and self.quality_problem is None:
            return
        if problem is not None:
            self._ok_since = None
            if problem != self._problem:
                self._problem, self._problem_since = problem, t
            if t - self._problem_since >= self.pause_after_s and problem != self.quality_problem:
                first = self.quality_problem is None
                self.quality_problem = problem
                self._suspend(moved=problem in (ev.TOO_FAR, ev.TOO_CLOSE), keep_held=True)
                if not self.user_paused:
                    if not first:
                        self.session.end_pause(t)
                    self.session.start_pause(t, problem)
                self.quality_message = self.quality.advice(problem, s, general=QUALITY_MESSAGES)
                e = self._event(t, problem, self.quality_message, reason=problem)
                out.append(e)
                self.session.add_warning(e)
        else:
            self._problem = None
            self._problem_since = None
            if self.quality_problem is not None:
                self._ok_since = self._ok_since if self._ok_since is not None else t
                if t - self._ok_since >= self.resume_after_s:
                    self.quality_problem = None
                    self._ok_since = None
                    if not self.user_paused:
                        self.session.end_pause(t)
                        out.append(self._event(t, ev.RESUMED, "Good, I can see you again. Let's continue.",
                                               reason="quality"))
                        if self.phase == "count_in":
                            self.pacer.start_count_in(t)

    # ------------------------------------------------------------------ frame
    def update(self, sample: Kinematics, t_s: float | None = None) -> list[Event]:
        t = float(sample.t_s if t_s is None else t_s)
        out: list[Event] = []
        self.session.observe(t)
        self._last_t = t
        if self.phase == "done":
            return out
        if self.phase == "start":
            self._start_exercise(t, out)
        self._apply_commands(t, out)
        if self.phase == "done":
            return out
        self._check_quality(sample, t, out, may_pause=self.phase in ("count_in", "active"))
        if sample.extra.get("tracking_restarted") and self.phase in ("count_in", "active"):
            self._suspend()  # what happened during the stall was not seen: that attempt is dropped
        if "seat_moved_mm" in sample.extra:
            self._seat_moved()
        if sample.face_found and self.exercise is not None:
            self._last_value = float(sample.value(self.exercise.axis))
        if self.paused:
            return out
        if self._finishing is not None:
            for e in self._finishing.feed_tail(sample, t):
                self._record(e, out)
            if not self._finishing.finishing:
                self._finishing = None
        if self.phase == "rest":
            self._update_rest(t, out)
            if self.phase in ("rest", "done"):
                self._run_safety(sample, t, out)
                return out
        if self.phase == "count_in":
            self._run_safety(sample, t, out)
            go_t = self.pacer.go_t_s
            early = go_t is not None and t >= go_t - self.early_start_s
            for e in self.pacer.update(t):
                out.append(e)
                if e.kind == ev.GO:
                    self.phase = "active"
            if self.phase == "count_in" and not early:
                self._prime_counter(sample, t)
                return out
            self._count(sample, t, out)
            return out
        if self.phase == "active":
            self._run_safety(sample, t, out)
            self._count(sample, t, out)
        return out

    def _count(self, sample: Kinematics, t: float, out: list[Event]) -> None:
        self._watch_settle(sample, t, out)
        rep_events = self.counter.update(sample, t)
        rep_events += self.pacer.on_rep_events(rep_events)
        for e in rep_events:
            self._record(e, out)
        if self.counter.done():
            self._finish_set(t, out)
        elif self._tries_used_up(t):
            self._finish_set(t, out, tries_used=True)

    def _tries_used_up(self, t: float) -> bool:
        """Whether this set has had `TRIES_PER_REP` tries per movement, and the time they
        take at the slowest pace (see there)."""
        c = self.counter
        tries = sum(1 for r in c.records if r.reason != "sudden")
        needed = TRIES_PER_REP * c.reps_target
        slowest_s = needed * float(self.exercise.tempo_s) / TRIES_SLOWEST_PACE
        return c.current is None and tries >= needed and t - self.pacer.count_in_start_t_s >= slowest_s

    def _watch_settle(self, sample: Kinematics, t: float, out: list[Event]) -> None:
        """Tell the person, once per exercise, why counting has not started after NOT_SETTLED_S."""
        c = self.counter
        rec = self.session.current
        if c.state != "unarmed" or self.phase != "active":
            if c.state != "unarmed" and rec is not None:
                rec.note = None  # counting started after all
                self.waiting_message = self.waiting_reason = ""
            self._unarmed = []
            return
        if not self._unarmed:
            self._unarmed = [t, 0.0, 0.0]
        self._unarmed[1] += 1
        self._unarmed[2] += 0 if c.usable(sample) else 1
        if t - self._unarmed[0] < NOT_SETTLED_S or rec is None or self._settle_said:
            return
        if c.noise_limited or TRUST_SIGMAS * sample.noise(c.axis) > TRUSTED_ERROR:
            why = "noisy"
        elif self._unarmed[2] > UNUSABLE_SHARE * self._unarmed[1]:
            why = "unmeasurable"
        else:
            why = "restless"
        text = (_AXIS_HELP.get(c.axis) if why == "unmeasurable" else None) or NOT_SETTLED_MESSAGES[why]
        note, shown_why = NOT_SETTLED_NOTES[why], why
        view = sample.extra.get("depth_view_deg")
        if why == "unmeasurable" and c.axis == "retraction" and view is not None:
            # Not the person's posture: the camera's place (calibration.depth_view_words).
            words = depth_view_words(view)
            text, note, shown_why = words[0].upper() + words[1:] + ".", depth_view_note(view), "camera_view"
        rec.note = note
        self._settle_said = True
        self.waiting_message, self.waiting_reason = text, shown_why
        e = self._event(t, ev.NOT_SETTLED, text, reason=why, axis=c.axis)
        out.append(e)
        self.session.add_warning(e)

    def _prime_counter(self, sample: Kinematics, t: float) -> None:
        """During the count-in the counter may arm (settle in neutral) but not count.

        A rep begun before the count ends disarms it: the head past the start
        threshold, where the counter itself says a rep has begun. Not merely
        out of the neutral band: in grainy depth the filtered jitter crosses
        the band now and then (rendered population seed 400751, 0.97 m in dim
        light: 2.1-2.4 mm past a 2.25 mm band twice in the count-in), each
        crossing disarmed the counter, it had not settled again when the
        patient set off on the last count, and a complete tuck went uncounted.
        """
        c = self.counter
        if c.state == "unarmed":
            c.update(sample, t)
        elif c.state != "neutral" or abs(c.relative(sample)) >= c.start_threshold:
            c.suspend()

    def _run_safety(self, sample: Kinematics, t: float, out: list[Event]) -> None:
        if self.safety is None:
            return
        rep = None
        c = self.counter
        if c is not None and self.phase in ("active", "count_in") and sample.face_found:
            if c.current is not None:
                rep = c.current.index
            elif c.state == "neutral" and abs(c.relative(sample)) >= c.neutral_band and self.phase == "active":
                # Out of neutral but not yet past the start threshold: the
                # warning belongs to the rep that is beginning.
                rep = c.rep_offset + len(c.records) + 1
        if c is not None and c.axis == "retraction" and not c.rezeroed and sample.face_found:
            # Asked to come closer or move back, the person slides the chair after the pause
            # has ended: the depth changes at 100-200 mm/s, which is no chin movement (rendered
            # population seed 400497: "too fast" and a jolt as the patient came 15 cm closer).
            # Tucks are judged again once the head has settled where it now rests.
            sample = replace(sample, retraction_reliable=False)
        for e in self.safety.update(sample, t, rep=rep):
            if e.kind in (ev.JERK, ev.TOO_FAST) and c is not None:
                c.mark_jolt(t, e.data.get("axis"))
                if self.pacer is not None:
                    self.pacer.note_warning(e)
            self._record(e, out)

    def _record(self, e: Event, out: list[Event]) -> None:
        out.append(e)
        if e.kind in (ev.REP, ev.PARTIAL):
            rec = self.counter.records[-1]
            rec.warnings += self._rep_warnings.pop(rec.index, 0)
            self.session.add_rep(rec)
        if is_recorded_warning(e):
            self.session.add_warning(e)
            if e.rep is not None:
                done = self.session.current.reps if self.session.current else []
                match = next((r for r in reversed(done) if r.index == e.rep), None)
                if match is not None:
                    match.warnings += 1
                else:
                    self._rep_warnings[e.rep] = self._rep_warnings.get(e.rep, 0) + 1

    # --------------------------------------------------------- sets and rests
    def _finish_set(self, t: float, out: list[Event], tries_used: bool = False) -> None:
        ex = self.exercise
        self._finishing = self.counter  # its last rep's way back is still being recorded
        self._rest_offset[self.counter.axis] = self.counter.rest
        self._rest_origin[self.counter.axis] = self.counter.rest_origin
        if self.counter.unit == "mm":
            self._moved = self._moved and not self.counter.rezeroed
        self.set_index += 1
        rec = self.session.current
        if tries_used:
            rec.sets_stopped += 1
        rec.sets_completed = self.set_index - rec.sets_stopped
        text = f"Set {self.set_index} of {ex.sets} done."
        if tries_used:
            unseen = mostly_unmeasured(r.reason for r in self.counter.records)
            text = TRIES_UNSEEN_MESSAGE if unseen else TRIES_USED_MESSAGE
        out.append(self._event(t, ev.SET_DONE, text, set=self.set_index, sets=ex.sets, tries_used=tries_used))
        if self.set_index < ex.sets:
            self._begin_rest(t, float(ex.rest_s), "set", out)
        else:
            self._finish_exercise(t, out)

    def _finish_exercise(self, t: float, out: list[Event], skipped: bool = False) -> None:
        ex = self.exercise
        self.session.current.end_t_s = t
        if not skipped:
            # Not "well done, complete" after a set that ran out of tries (TRIES_PER_REP).
            text = cue_text(ex, "done") if not self.session.current.sets_stopped else TRIES_EXERCISE_DONE
            out.append(self._event(t, ev.EXERCISE_DONE, text))
        self.exercise_index += 1
        self.counter = None
        if self.exercise is None:
            self.phase = "done"
            self.session.completed = True
            out.append(Event(t_s=t, kind=ev.ROUTINE_DONE, message="That's the whole routine. Well done!"))
            return
        self._begin_rest(t, self.transition_s, "exercise", out)

    def _begin_rest(self, t: float, rest_s: float, then: str, out: list[Event]) -> None:
        self.phase = "rest"
        self._rest_until = t + rest_s
        self._rest_sent = set()
        self._next_after_rest = then
        ex = self.exercise
        nxt = f" Next: {ex.name}." if then == "exercise" else ""
        out.append(Event(t_s=t, kind=ev.REST, exercise_id=ex.id, magnitude=rest_s, unit="s",
                         message=f"Rest for {rest_s:.0f} seconds.{nxt}" if rest_s >= 1 else nxt.strip(),
                         data={"rest_s": rest_s, "then": then}))
        self._update_rest(t, out)

    def _update_rest(self, t: float, out: list[Event]) -> None:
        remaining = self._rest_until - t
        for k in self.rest_countdown_at:
            if k not in self._rest_sent and remaining <= k and remaining > k - 1:
                self._rest_sent.add(k)
                out.append(Event(t_s=t, kind=ev.REST_COUNTDOWN, exercise_id=self.exercise.id,
                                 magnitude=float(k), unit="s", message=str(k), data={"remaining_s": k}))
            elif remaining <= k - 1:
                self._rest_sent.add(k)
        if remaining <= 0:
            if self._next_after_rest == "exercise":
                self._start_exercise(t, out)
            else:
                self._start_set(t)

    # ----------------------------------------------------------------- output
    def _event(self, t: float, kind: str, message: str, **data) -> Event:
        ex = self.exercise
        return Event(t_s=t, kind=kind, exercise_id=ex.id if ex is not None else None, message=message, data=data)

    def state(self) -> dict[str, Any]:
        """What the overlay shows now (a snapshot, JSON-friendly)."""
        ex = self.exercise
        c = self.counter
        t = self._last_t or 0.0
        d: dict[str, Any] = {
            "phase": self.phase,
            "paused": self.paused,
            "pause_reason": self._pause_reason if self.user_paused else self.quality_problem,
            "pause_advice": self.quality_message if self.quality_problem is not None else "",
            "waiting_message": self.waiting_message if self.phase == "active" else "",
            "waiting_reason": self.waiting_reason if self.phase == "active" else "",
            "exercise_index": self.exercise_index,
            "exercises": len(self.routine.exercises),
        }
        if ex is not None:
            d.update({
                "exercise_id": ex.id, "exercise_name": ex.name, "movement": ex.movement,
                "unit": ex.unit, "axis": ex.axis, "set": min(self.set_index + 1, ex.sets), "sets": ex.sets,
                "value": self._last_value,
            })
        if c is not None:
            exp = c.expected_direction()
            d.update({
                "reps_done": c.total_completed, "reps_target": c.reps_target,
                "reps_by_side": dict(c.completed), "expected_side": exp,
                "rep_state": c.state,
                "target": c.targets.get(exp) if exp else max(c.targets.values()),
                "hold_s": float(ex.hold_s), "hold_progress_s": c.hold_progress_s(t),
            })
        if self.phase == "rest" and self._rest_until is not None:
            d["rest_remaining_s"] = max(0.0, self._rest_until - t)
        return d


def run_coach(routine, kinematics: Iterable[Kinematics], **options) -> tuple[list[Event], dict[str, Any]]:
    """Drive a whole routine from recorded kinematics: (all events, session dict)."""
    coach = Coach(routine, **options)
    events: list[Event] = []
    for k in kinematics:
        events.extend(coach.update(k))
    return events, coach.session.to_dict()


__all__ = ["Coach", "run_coach"]
