"""Tempo rhythm: count-in before a set, "and back" at the turn, rushed reps.

The prescribed tempo_s is one whole cycle (out, hold, back). The pacer turns
it into spoken timing: a count-in so the first rep starts on a beat, an
"and back" cue when the target is reached (or the hold is over, where the
routine's release cue already says it), and a `rushed` flag for reps much
quicker than prescribed.
"""

from __future__ import annotations

from neckcoach.core import events as ev
from neckcoach.core.events import Event


class Pacer:
    """Rhythm for one exercise.

    rushed_fraction: a rep is rushed if it lasts less than this fraction of
    tempo_s. The measured duration runs from leaving neutral to being back in
    neutral, which for an on-tempo minimum-jerk rep is ~75% of tempo_s (the
    slow start and end inside the neutral band are not timed), so 0.5 flags
    reps done roughly 1.5x too fast or more and never an on-tempo rep.
    """

    def __init__(self, exercise, *, count_in_beats: int = 3, beat_s: float = 1.0,
                 rushed_fraction: float = 0.5):
        if not 0 <= count_in_beats <= 10:
            raise ValueError(f"count_in_beats must be in [0, 10], got {count_in_beats!r}")
        if not 0.2 <= beat_s <= 5.0:
            raise ValueError(f"beat_s must be in [0.2, 5.0], got {beat_s!r}")
        if not 0.0 < rushed_fraction < 1.0:
            raise ValueError(f"rushed_fraction must be in (0, 1), got {rushed_fraction!r}")
        self.exercise = exercise
        self.count_in_beats = int(count_in_beats)
        self.beat_s = float(beat_s)
        self.rushed_fraction = float(rushed_fraction)
        self.reset()

    def reset(self) -> None:
        self._count_in_start: float | None = None
        self._beats_sent = 0
        self.counting_in = False

    @property
    def count_in_s(self) -> float:
        return (self.count_in_beats + 1) * self.beat_s

    def start_count_in(self, t_s: float) -> None:
        self._count_in_start = float(t_s)
        self._beats_sent = 0
        self.counting_in = True

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
                duration = float(e.data.get("duration_s", 0.0))
                tempo = float(self.exercise.tempo_s)
                if duration < self.rushed_fraction * tempo:
                    out.append(Event(t_s=e.t_s, kind=ev.RUSHED, exercise_id=e.exercise_id, rep=e.rep,
                                     side=e.side, magnitude=duration, unit="s",
                                     message="A bit slower, take your time.",
                                     data={"tempo_s": tempo}))
        return out
