"""Routine language: the model, the safe loader and the bundled routines."""

from neckcoach.routine.bundled import bundled_routines, resolve_routine
from neckcoach.routine.loader import Problem, RoutineError, load_routine, routine_from_text
from neckcoach.routine.model import Cues, Exercise, Ranges, Routine, VoiceOptions

__all__ = [
    "Cues", "Exercise", "Problem", "Ranges", "Routine", "RoutineError", "VoiceOptions",
    "bundled_routines", "load_routine", "resolve_routine", "routine_from_text",
]
