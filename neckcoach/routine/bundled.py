"""Where the bundled routines live and how a routine is named on the command line.

The routines and their JSON Schema are package data (``neckcoach/routines/``),
so a wheel or pipx install carries them; ``NECKCOACH_ROUTINES`` points at
another folder (a clinic's own set).
"""

from __future__ import annotations

import os
from pathlib import Path

from neckcoach.errors import UserFacingError

ROUTINES_DIR = Path(__file__).resolve().parents[1] / "routines"
"""The routines shipped inside the package, with ``schema.json`` beside them."""


class RoutineNotFound(UserFacingError, FileNotFoundError):
    """A routine named on the command line is neither a file nor a bundled routine."""


def routines_dir() -> Path:
    return Path(os.environ.get("NECKCOACH_ROUTINES") or ROUTINES_DIR)


def bundled_routines() -> list[Path]:
    return sorted(routines_dir().glob("*.yaml"))


def resolve_routine(name: str | Path) -> Path:
    """A path as given, or the name of a bundled routine (with or without .yaml).

    Raises RoutineNotFound, whose message says what exists, when it is neither.
    """
    p = Path(name)
    if p.is_file():
        return p
    folder = routines_dir()
    for candidate in (folder / f"{name}.yaml", folder / str(name)):
        if candidate.is_file():
            return candidate
    if p.is_dir():
        raise RoutineNotFound(f"{p} is a folder, not a routine file")
    if p.suffix in (".yaml", ".yml") or any(sep in str(name) for sep in "/\\"):
        raise RoutineNotFound(f"routine file not found: {name}")
    names = ", ".join(path.stem for path in bundled_routines()) or "none found"
    raise RoutineNotFound(f"no routine file or bundled routine called {str(name)!r} "
                          f"(bundled: {names}); see `neckcoach list`")
