"""SQLite session history: indexing, concurrency, damaged rows and vanished folders."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from neckcoach.io import history

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import test_records_synth as synth  # noqa: E402


@pytest.fixture(autouse=True)
def _home(home):
    return home


def _fake_session(folder: Path, n: int) -> None:
    folder.mkdir(parents=True)
    (folder / "session.json").write_text(json.dumps({
        "session_id": folder.name, "started_at": f"2026-03-{1 + n % 28:02d}T10:00:00+00:00",
        "routine_title": "R", "complete": True, "warnings": [],
        "exercises": [{"id": "rot", "movement": "rotation", "reps_target": 2, "reps": [
            {"side": "left", "complete": True, "peak_deg": 50 + n},
            {"side": "right", "complete": True, "peak_deg": 40 + n}]}]}))


def test_session_indexed_at_start_and_close(tmp_path, home):
    rec_dir = tmp_path / "elsewhere" / "s"
    synth.record(rec_dir, fps=10.0, stop_at_s=2.0, close=False)
    entries, notes = history.list_sessions()
    assert [e.complete for e in entries] == [False] and notes == []
    assert history.db_path() == home / history.DB_NAME
    synth.record(rec_dir.parent / "s2", fps=10.0)
    entries, _ = history.list_sessions()
    done = entries[-1]
    assert done.complete and done.dir == (rec_dir.parent / "s2").resolve()
    assert (done.reps_done, done.reps_target, done.warnings) == (16, 17, 3)
    plan_left = max(r["peak_deg"] for r in synth.plan(0)[0] if r["side"] == "left"
                    and r["exercise_id"] == "rot")
    assert done.summary["rotation_left"]["range"] == pytest.approx(plan_left)
    assert done.summary["flexion"]["reps"] == 2 and done.summary["retraction"]["reps"] == 3
    con = sqlite3.connect(history.db_path())
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_two_processes_index_concurrently(tmp_path, home):
    folders = [tmp_path / f"p{p}" / f"s{i}" for p in range(2) for i in range(25)]
    for n, f in enumerate(folders):
        _fake_session(f, n)
    code = ("import sys; from pathlib import Path; from neckcoach.io.history import index_session;"
            "ok=[index_session(p) for p in sorted(Path(sys.argv[1]).iterdir())];"
            "sys.exit(0 if all(ok) else 3)")
    env = {**os.environ, "NECKCOACH_HOME": str(home), "PYTHONPATH": str(HERE.parent)}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / f"p{p}")], env=env)
             for p in range(2)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    entries, notes = history.list_sessions()
    assert len(entries) == 50 and notes == []


def test_damaged_rows_and_vanished_folders_are_skipped_with_a_note(tmp_path):
    for n in range(3):
        _fake_session(tmp_path / f"s{n}", n)
        assert history.index_session(tmp_path / f"s{n}")
    con = sqlite3.connect(history.db_path())
    con.execute("UPDATE sessions SET summary_json='{broken' WHERE dir=?",
                (str((tmp_path / "s0").resolve()),))
    con.execute("UPDATE sessions SET started_at='yesterday-ish' WHERE dir=?",
                (str((tmp_path / "s1").resolve()),))
    con.commit()
    con.close()
    shutil.rmtree(tmp_path / "s2")
    _fake_session(tmp_path / "s3", 3)
    history.index_session(tmp_path / "s3")
    entries, notes = history.list_sessions()
    assert [e.session_id for e in entries] == ["s3"]
    assert len(notes) == 3
    assert any("no longer exists" in n for n in notes)
    assert sum("damaged history row" in n for n in notes) == 2


def test_unreadable_session_or_database_never_raises(tmp_path, home):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "session.json").write_text("{not json")
    assert history.index_session(tmp_path / "bad") is False
    assert history.index_session(tmp_path / "missing") is False
    home.mkdir(parents=True, exist_ok=True)
    history.db_path().write_bytes(b"this is not a database" * 100)
    _fake_session(tmp_path / "ok", 1)
    assert history.index_session(tmp_path / "ok") is False
    entries, notes = history.list_sessions()
    assert entries == [] and "could not be read" in notes[0]


def test_scan_rebuilds_the_index(tmp_path):
    for n in range(3):
        _fake_session(tmp_path / "sessions" / f"s{n}", n)
    assert history.list_sessions() == ([], [])
    assert history.scan_folder(tmp_path / "sessions") == 3
    assert len(history.list_sessions()[0]) == 3


def test_progress_series_orders_days_and_directions(tmp_path):
    synth.record_days(tmp_path, days=3)
    series = history.progress_series(history.list_sessions()[0])
    assert set(series) == {"rotation_left", "rotation_right", "flexion", "extension",
                           "retraction"}
    days = [d for d, _ in series["rotation_left"]]
    assert days == sorted(days) and len(days) == 3
    left = [s["range"] for _, s in series["rotation_left"]]
    right = [s["range"] for _, s in series["rotation_right"]]
    assert left[2] - left[0] > 4.0  # the fabricated patient gains 4° a day on the left
    assert abs(right[2] - right[0]) < 5.0


@pytest.mark.parametrize("movement,side,expected", [
    ("rotation", "left", "rotation_left"), ("rotation", "right", "rotation_right"),
    ("side_bend", "left", "side_bend_left"), ("flexion_extension", "extension", "extension"),
    ("chin_nod", "flexion", "flexion"), ("retraction", "back", "retraction"),
    ("rotation", None, None), (None, "left", None)])
def test_direction_of(movement, side, expected):
    assert history.direction_of(movement, side) == expected
