"""Routine language: the model, the safe loader and the bundled routines."""

from neckcoach.routine.bundled import RoutineNotFound, bundled_routines, resolve_routine, routines_dir
from neckcoach.routine.loader import Problem, RoutineError, load_routine, routine_from_text
from neckcoach.routine.model import Cues, Exercise, Ranges, Routine, VoiceOptions

__all__ = [
    "Cues", "Exercise", "Problem", "Ranges", "Routine", "RoutineError", "RoutineNotFound", "VoiceOptions",
    "bundled_routines", "load_routine", "resolve_routine", "routine_from_text", "routines_dir",
]
