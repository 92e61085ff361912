"""Tempo rhythm: count-in before a set, "and back" at the turn, rushed reps.

The prescribed tempo_s is one whole cycle (out, hold, back). The pacer turns
it into spoken timing: a count-in so the first rep starts on a beat, an
"and back" cue when the target is reached (or the hold is over, where the
routine's release cue already says it), and a gentle `rushed` reminder for
a patient who keeps moving much quicker than prescribed. Rushing is a
pacing matter, never a safety warning: what is sudden is the safety
monitor's business, judged from the movement itself.
"""

from __future__ import annotations

from neckcoach.core import events as ev
from neckcoach.core.events import Event
from neckcoach.core.reps import JOLT_LEAD_S


class Pacer:
    """Rhythm for one exercise.

    rushed_fraction: a way out that takes less than this share of the
    prescribed (tempo_s - hold_s) / 2 is rushed. 0.55 is ~1.8x quicker than
    prescribed: patients' own pace varies 0.5-2x around any prescription, so
    only the quickest are reminded. The measured way out (`RepRecord`
    "move_out_s") is the duration its 20-80 % time gives a minimum-jerk
    movement, so neither the hold nor the time spent inside the neutral band
    counts; through the filter with jitter it reads 0.96-1.1x the movement's
    duration at 0.5-2x the tempo and 15-30 fps (benchmarks/README.md, "Stop
    50"). Until stop 50 it read 1.18-1.25x at 2x the tempo, and a patient
    moving out in half the prescribed time was reminded in 5 of 49 sessions.
    rushed_after: said only after this many rushed reps in a row, and at most
    once per set: a reminder, not a nag.
    rushed_at_once_fraction: a counted rep's way out quicker than this share
    of the prescribed one is said at once (still once per set), unless the
    safety monitor warned of a movement during that rep or just before it
    (`note_warning`: "slowly" twice for one movement is a nag, and a jolt's
    own return can be the next rep's way out: kinematics held-out seeds
    432532 and 432951, a chin nod's and a chin tuck's rep begun by a flick's
    return, read 0.23 and 0.59 s). A third is 3x quicker than prescribed, past
    the 0.5-2x patients' own pace spans, so no patient at their own pace
    hears it; a rep rushed that much is also the one rushed rep a chin
    tuck's too-fast check may not see, its millimetres being read up to 1.6x
    (`core.depth_scale`, `SafetyMonitor.read_limit`), while its duration is
    read from time alone.
    """

    def __init__(self, exercise, *, count_in_beats: int = 3, beat_s: float = 1.0,
                 rushed_fraction: float = 0.55, rushed_after: int = 2, rushed_at_once_fraction: float = 1 / 3):
        if not 0 <= count_in_beats <= 10:
            raise ValueError(f"count_in_beats must be in [0, 10], got {count_in_beats!r}")
        if not 0.2 <= beat_s <= 5.0:
            raise ValueError(f"beat_s must be in [0.2, 5.0], got {beat_s!r}")
        if not 0.0 < rushed_fraction < 1.0:
            raise ValueError(f"rushed_fraction must be in (0, 1), got {rushed_fraction!r}")
        if not 1 <= rushed_after <= 10:
            raise ValueError(f"rushed_after must be in [1, 10], got {rushed_after!r}")
        if not 0.0 <= rushed_at_once_fraction <= rushed_fraction:
            raise ValueError(f"rushed_at_once_fraction must be in [0, rushed_fraction ({rushed_fraction!r})], "
                             f"got {rushed_at_once_fraction!r}")
        self.exercise = exercise
        self.count_in_beats = int(count_in_beats)
        self.beat_s = float(beat_s)
        self.rushed_fraction = float(rushed_fraction)
        self.rushed_after = int(rushed_after)
        self.rushed_at_once_fraction = float(rushed_at_once_fraction)
        self.reset()

    def reset(self) -> None:
        self._count_in_start: float | None = None
        self._beats_sent = 0
        self.counting_in = False
        self._rushed_run = 0
        self._rushed_said = False
        self._warned_t: float | None = None

    def note_warning(self, e: Event) -> None:
        """A motion warning (too fast, jolt) the patient was given, on any axis."""
        if e.kind in (ev.TOO_FAST, ev.JERK):
            self._warned_t = float(e.t_s)

    def _warned_during(self, e: Event) -> bool:
        """Whether a motion warning came during rep event `e`'s rep or before it began by up to
        `reps.JOLT_LEAD_S`, the lead within which the counter takes a jolt as the rep's own."""
        start = e.t_s - float(e.data.get("duration_s") or 0.0) - JOLT_LEAD_S
        return self._warned_t is not None and self._warned_t >= start

    @property
    def count_in_s(self) -> float:
        return (self.count_in_beats + 1) * self.beat_s

    @property
    def go_t_s(self) -> float | None:
        """When "go" is (or was) due in the current count-in."""
        return None if self._count_in_start is None else self._count_in_start + self.count_in_s

    @property
    def count_in_start_t_s(self) -> float | None:
        """When this set's count-in began: the set's start."""
        return self._count_in_start

    def start_count_in(self, t_s: float) -> None:
        """A new set: count in again; the rushed reminder may be said again in it."""
        self._count_in_start = float(t_s)
        self._beats_sent = 0
        self.counting_in = True
        self._rushed_run = 0
        self._rushed_said = False

    def update(self, t_s: float) -> list[Event]:
        """Count-in beats ("3", "2", "1", then go) at whole beats after the start."""
        out: list[Event] = []
        if not self.counting_in or self._count_in_start is None:
            return out
        elapsed = t_s - self._count_in_start
        while self.counting_in and elapsed >= (self._beats_sent + 1) * self.beat_s:
            self._beats_sent += 1
            remaining = self.count_in_beats - self._beats_sent + 1
            if remaining >= 1:
                out.append(Event(t_s=t_s, kind=ev.COUNT_IN, exercise_id=self.exercise.id,
                                 magnitude=float(remaining), message=str(remaining),
                                 data={"count": remaining}))
            else:
                self.counting_in = False
                out.append(Event(t_s=t_s, kind=ev.GO, exercise_id=self.exercise.id,
                                 message=self.exercise.cues.text("start", self.exercise.movement,
                                                                 side=self._first_side(),
                                                                 target=0.0)))
        return out

    def _first_side(self) -> str:
        return self.exercise.directions()[0]

    def on_rep_events(self, events: list[Event]) -> list[Event]:
        """Rhythm cues that follow from rep events."""
        out: list[Event] = []
        for e in events:
            if e.kind == ev.AT_TARGET and float(self.exercise.hold_s) <= 0:
                out.append(Event(t_s=e.t_s, kind=ev.AND_BACK, exercise_id=e.exercise_id, rep=e.rep,
                                 side=e.side, message=self.exercise.cues.text("release", self.exercise.movement)))
            elif e.kind in (ev.REP, ev.PARTIAL):
                move_s = e.data.get("move_out_s")
                prescribed = max((float(self.exercise.tempo_s) - float(self.exercise.hold_s)) / 2.0, 0.5)
                if move_s is None or move_s >= self.rushed_fraction * prescribed:
                    self._rushed_run = 0
                    continue
                self._rushed_run += 1
                # Not on a partial rep's: in a grainy chin tuck, jitter alone made "partial reps" of
                # 6 mm whose way out read 0.3-0.6 s (kinematics tuning seeds 33 and 573, clean and
                # short: the reminder at once for a patient at 0.6-0.9x the tempo).
                at_once = (e.kind == ev.REP and move_s < self.rushed_at_once_fraction * prescribed
                           and not self._warned_during(e))
                if (self._rushed_run >= self.rushed_after or at_once) and not self._rushed_said:
                    self._rushed_said = True
                    out.append(Event(t_s=e.t_s, kind=ev.RUSHED, exercise_id=e.exercise_id, rep=e.rep,
                                     side=e.side, magnitude=float(move_s), unit="s",
                                     message="Nice and slow: take your time.",
                                     data={"move_out_s": float(move_s), "prescribed_s": prescribed}))
        return out
