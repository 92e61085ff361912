"""Where the bundled routines live and how a routine is named on the command line."""

from __future__ import annotations

import os
from pathlib import Path

ROUTINES_DIR = Path(os.environ.get("NECKCOACH_ROUTINES", Path(__file__).resolve().parents[2] / "routines"))


def bundled_routines() -> list[Path]:
    return sorted(ROUTINES_DIR.glob("*.yaml"))


def resolve_routine(name: str | Path) -> Path:
    """A path as given, or the name of a bundled routine (with or without .yaml)."""
    p = Path(name)
    if p.exists() or p.suffix in (".yaml", ".yml") and p.parent != Path("."):
        return p
    for candidate in (ROUTINES_DIR / f"{name}.yaml", ROUTINES_DIR / str(name)):
        if candidate.exists():
            return candidate
    return p
