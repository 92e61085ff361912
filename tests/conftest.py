"""Shared test fixtures: where the repo, the bundled routines and the test clips live.

Everything a test reads is inside the repository (clips in tests/data/clips with their
licences, the head scan and routines in the package), so a clone alone runs every test.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from neckcoach.io.platforms import opengl_platform

if opengl_platform():  # before any test imports PyOpenGL (pyrender)
    os.environ.setdefault("PYOPENGL_PLATFORM", opengl_platform())

REPO = Path(__file__).resolve().parents[1]
CLIPS = REPO / "tests" / "data" / "clips"
ROUTINES = REPO / "neckcoach" / "routines"


@pytest.fixture(scope="session", autouse=True)
def _isolated_session_home(tmp_path_factory):
    """The same for module- and session-scoped fixtures, which run before any per-test fixture
    (they had indexed their sessions in the real user's history, which the next report listed)."""
    patch = pytest.MonkeyPatch()
    patch.setenv("NECKCOACH_HOME", str(tmp_path_factory.mktemp("neckcoach_session_home")))
    yield
    patch.undo()


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
    """A real clip from tests/data/clips; a test never depends on data outside the repository."""
    path = CLIPS / name
    if not path.is_file():
        pytest.fail(f"{name} is not in {CLIPS}: tests may only use the clips kept there "
                    f"(see its README.md for what may be redistributed)", pytrace=False)
    return path


from hypothesis import settings  # noqa: E402

# Property tests explore the same examples on every run: CI stays deterministic.
settings.register_profile("neckcoach", derandomize=True, print_blob=True)
settings.load_profile("neckcoach")
