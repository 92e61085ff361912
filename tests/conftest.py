"""Shared test fixtures: where the repo, the bundled routines and ../shared live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CLIPS = SHARED / "data" / "clips"
ROUTINES = REPO / "neckcoach" / "routines"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Keep session history and data out of the real user's data dir."""
    monkeypatch.setenv("NECKCOACH_HOME", str(tmp_path_factory.mktemp("neckcoach_home")))


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh NeckCoach data dir for this test (history database, sessions)."""
    monkeypatch.setenv("NECKCOACH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def clip(name: str) -> Path:
    path = CLIPS / name
    if not path.exists():
        pytest.skip(f"shared clip {name} not available")
    return path


from hypothesis import settings  # noqa: E402

# Property tests explore the same examples on every run: CI stays deterministic.
settings.register_profile("neckcoach", derandomize=True, print_blob=True)
settings.load_profile("neckcoach")
