"""The in-memory record of one session, serialised to session.json.

It keeps what a therapist wants to review afterwards: per exercise the reps
(complete or partial) with their range, hold, speed and smoothness, and a
routine-level list of warnings and pauses. Times are seconds from the first
frame of the source, as the pipeline passes them in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from neckcoach.core import events as ev
from neckcoach.core.events import Event
from neckcoach.core.reps import RepRecord

SCHEMA_VERSION = 1


@dataclass
class ExerciseRecord:
    id: str
    name: str
    movement: str
    sides: str
    unit: str
    reps_target: int
    sets_target: int
    start_t_s: float
    end_t_s: float | None = None
    sets_completed: int = 0
    # Sets ended after their tries were used up, reps still uncounted (`coach.TRIES_PER_REP`).
    sets_stopped: int = 0
    skipped: bool = False
    # False when a reviewed recording never showed this exercise's movement.
    seen: bool = True
    # Why counting could not start, in words for the person (None: it could).
    note: str | None = None
    reps: list[RepRecord] = field(default_factory=list)

    @property
    def reps_completed(self) -> int:
        return sum(1 for r in self.reps if r.complete)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "movement": self.movement,
            "sides": self.sides,
            "unit": self.unit,
            "reps_target": self.reps_target,
            "reps_completed": self.reps_completed,
            "reps_partial": sum(1 for r in self.reps if not r.complete),
            "sets_target": self.sets_target,
            "sets_completed": self.sets_completed,
            "sets_stopped": self.sets_stopped,
            "skipped": self.skipped,
            "seen": self.seen,
            "note": self.note,
            "start_t_s": round(self.start_t_s, 3),
            "end_t_s": None if self.end_t_s is None else round(self.end_t_s, 3),
            "reps": [r.to_dict() for r in self.reps],
        }


class SessionRecord:
    """Accumulates exercises, reps, warnings and pauses as the coach runs."""

    def __init__(self, routine_title: str | None = None):
        self.routine_title = routine_title
        self.exercises: list[ExerciseRecord] = []
        self.warnings: list[dict[str, Any]] = []
        self.pauses: list[dict[str, Any]] = []
        self.start_t_s: float | None = None
        self.end_t_s: float | None = None
        self.completed = False
        # How the session ended for the person, set at the end (see core.outcome).
        self.outcome: dict[str, Any] | None = None
        # A reviewed recording only: quick movements the safety monitor found outside any
        # exercise, kept for the therapist but not warnings (see core.review). None live.
        self.outside_exercises: list[dict[str, Any]] | None = None

    def start_exercise(self, exercise, t_s: float) -> ExerciseRecord:
        rec = ExerciseRecord(
            id=exercise.id, name=exercise.name, movement=exercise.movement,
            sides=exercise.resolved_sides, unit=exercise.unit,
            reps_target=int(exercise.reps_target()), sets_target=int(exercise.sets), start_t_s=float(t_s))
        self.exercises.append(rec)
        return rec

    @property
    def current(self) -> ExerciseRecord | None:
        return self.exercises[-1] if self.exercises else None

    def add_rep(self, rep: RepRecord) -> None:
        if self.current is None:
            raise ValueError("add_rep called before start_exercise")
        self.current.reps.append(rep)

    def add_warning(self, e: Event) -> None:
        d = e.to_dict()
        d.pop("side", None)
        self.warnings.append(d)

    def start_pause(self, t_s: float, reason: str) -> None:
        self.pauses.append({"start_t_s": round(float(t_s), 3), "end_t_s": None, "reason": reason})

    def end_pause(self, t_s: float) -> None:
        if self.pauses and self.pauses[-1]["end_t_s"] is None:
            self.pauses[-1]["end_t_s"] = round(float(t_s), 3)

    def observe(self, t_s: float) -> None:
        if self.start_t_s is None:
            self.start_t_s = float(t_s)
        self.end_t_s = float(t_s)

    def to_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for w in self.warnings:
            counts[w["kind"]] = counts.get(w["kind"], 0) + 1
        return {
            "schema_version": SCHEMA_VERSION,
            "routine_title": self.routine_title,
            "start_t_s": None if self.start_t_s is None else round(self.start_t_s, 3),
            "end_t_s": None if self.end_t_s is None else round(self.end_t_s, 3),
            "completed": self.completed,
            "exercises": [e.to_dict() for e in self.exercises],
            "warnings": list(self.warnings),
            "warning_counts": counts,
            "pauses": list(self.pauses),
            **({"outcome": dict(self.outcome)} if self.outcome is not None else {}),
            **({"quick_movements_outside_exercises": list(self.outside_exercises)}
               if self.outside_exercises is not None else {}),
        }


def is_recorded_warning(e: Event) -> bool:
    return e.kind in ev.WARNING_KINDS
