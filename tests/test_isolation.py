"""Tests never touch the real user's data dir, not even from fixtures wider than one test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from neckcoach.io.platforms import data_dir


@pytest.fixture(scope="module")
def home_seen_by_a_module_fixture(tmp_path_factory) -> Path:
    return data_dir()


def test_a_module_fixture_writes_under_the_test_run_not_the_users_home(home_seen_by_a_module_fixture,
                                                                          tmp_path_factory):
    base = tmp_path_factory.getbasetemp().resolve()
    assert base in home_seen_by_a_module_fixture.resolve().parents
    assert Path(os.environ["NECKCOACH_HOME"]).resolve() != home_seen_by_a_module_fixture.resolve()


def test_many_missing_folders_make_one_note(tmp_path):
    from neckcoach.io import history

    for i in range(5):
        folder = tmp_path / f"s{i}"
        folder.mkdir()
        (folder / "session.json").write_text(
            '{"session_id": "s%d", "started_at": "2026-03-0%dT09:00:00+00:00", "exercises": []}' % (i, i + 1))
        history.index_session(folder)
    for i in range(4):
        (tmp_path / f"s{i}" / "session.json").unlink()
        (tmp_path / f"s{i}").rmdir()
    entries, notes = history.list_sessions()
    assert [e.session_id for e in entries] == ["s4"]
    assert notes == ["skipped 4 sessions whose folders no longer exist (moved or deleted; "
                     "`neckcoach history --scan FOLDER` indexes moved ones again)"]
