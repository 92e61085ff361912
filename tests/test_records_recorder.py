"""SessionRecorder: format, crash-safety guarantees, preflight errors."""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path

import pytest

import neckcoach
from neckcoach.core.samples import Kinematics
from neckcoach.io import atomic, records
from neckcoach.io.records import RecordError, SessionRecorder, load_session, preflight

sys.path.insert(0, str(Path(__file__).resolve().parent))
import test_records_synth as synth  # noqa: E402


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("NECKCOACH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _disk_rows(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_record_roundtrip_has_binding_format(tmp_path):
    out = synth.record(tmp_path / "s", fps=20.0)
    session = json.loads((out / "session.json").read_text())
    assert session["complete"] is True and session["ended_reason"] == "completed"
    assert session["software_version"] == neckcoach.__version__
    assert session["routine_title"] == "Daily neck routine"
    assert session["source"] == {"kind": "virtual", "fps": 20.0}
    reps_plan, warnings_plan, duration = synth.plan(0)
    ex = {e["id"]: e for e in session["exercises"]}
    assert [len(ex[i]["reps"]) for i in ("rot", "nod", "tuck")] == [10, 4, 3]
    assert ex["rot"]["reps_completed"] == 9 and ex["rot"]["reps_target"] == 10
    rep = ex["rot"]["reps"][0]
    for key in records.REP_FIELDS:
        assert key in rep
    assert len(session["warnings"]) == len(warnings_plan)
    assert set(session["warnings"][0]) >= set(records.WARNING_FIELDS)
    rows = _disk_rows(out / "trace.csv")
    assert len(rows) == int(duration * 20.0) == session["frames"]
    assert list(rows[0]) == list(records.TRACE_FIELDS)
    times = [float(r["t_s"]) for r in rows]
    assert times == sorted(times)
    csv_reps = _disk_rows(out / "reps.csv")
    assert len(csv_reps) == len(reps_plan) and list(csv_reps[0]) == list(records.REP_CSV_FIELDS)
    tuck = [r for r in csv_reps if r["exercise_id"] == "tuck"]
    assert [r["unit"] for r in tuck] == ["mm"] * 3 and float(tuck[0]["peak"]) > 14
    assert [r["warnings"] for r in csv_reps if r["warnings"]] == ["too_fast", "too_fast", "jerk"]
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    assert (out / "session.json").stat().st_mode & 0o777 == 0o644


def test_session_json_says_incomplete_until_close(tmp_path):
    rec = SessionRecorder(tmp_path / "s", {"title": "T"}, index=False)
    rec.update({"t_s": 0.0, "face_found": True, "yaw_deg": 1.0}, 0.0)
    assert json.loads((tmp_path / "s" / "session.json").read_text())["complete"] is False
    rec.close("stopped by user")
    final = json.loads((tmp_path / "s" / "session.json").read_text())
    assert final["complete"] is False and final["ended_reason"] == "stopped by user"


def test_trace_on_disk_lags_at_most_one_second_of_session_time(tmp_path):
    reps, _, duration = synth.plan(0)
    rec = SessionRecorder(tmp_path / "s", {"title": "T"}, index=False)
    for row in synth.trace_rows(reps, 7.3, fps=30.0):
        rec.update(row, row["t_s"])
        on_disk = _disk_rows(tmp_path / "s" / "trace.csv") if int(row["t_s"] * 30) % 17 == 0 \
            else None
        if on_disk:
            assert float(on_disk[-1]["t_s"]) >= row["t_s"] - 1.0 - 1e-9
    last = float(_disk_rows(tmp_path / "s" / "trace.csv")[-1]["t_s"])
    assert last >= 7.3 - 1 / 30 - 1.0


def test_checkpoints_at_most_once_per_second_of_session_time(tmp_path, monkeypatch):
    writes = []
    real = records.atomic_write_json
    monkeypatch.setattr(records, "atomic_write_json",
                        lambda path, obj, **kw: (writes.append(obj.get("duration_s")),
                                                 real(path, obj, **kw)))
    rec = SessionRecorder(tmp_path / "s", {"title": "T"}, index=False)
    writes.clear()
    for k in range(150):  # 5 s at 30 fps, a rep and a checkpoint request every frame
        t = k / 30
        rec.update({"t_s": t, "face_found": True}, t)
        rec.add_rep({"index": k, "side": "left", "complete": True}, exercise_id="rot")
        rec.checkpoint(t)
    assert 4 <= len(writes) <= 6
    assert rec.checkpoint(5.0, force=True) is True
    reps = json.loads((tmp_path / "s" / "session.json").read_text())["exercises"][0]["reps"]
    assert len(reps) == 150


def test_update_accepts_kinematics_objects(tmp_path):
    rec = SessionRecorder(tmp_path / "s", {"title": "T"}, index=False)
    rec.update(Kinematics(t_s=0.5, face_found=True, yaw_deg=12.5, retraction_mm=3.0,
                          yaw_speed_deg_s=40.0, confidence=0.9))
    rec.update(Kinematics.lost(0.6))
    rec.close()
    data = load_session(tmp_path / "s")
    assert data.trace["yaw_deg"] == [12.5, 0.0]
    assert data.trace["face_found"] == [1.0, 0.0]
    assert data.trace["yaw_speed_deg_s"][0] == 40.0
    assert data.session["frames_with_face"] == 1


def test_keyboard_interrupt_marks_session_interrupted(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with SessionRecorder(tmp_path / "s", {"title": "T"}, index=False) as rec:
            rec.update({"t_s": 0.0, "face_found": True}, 0.0)
            raise KeyboardInterrupt
    session = json.loads((tmp_path / "s" / "session.json").read_text())
    assert session["complete"] is False and session["ended_reason"] == "interrupted"


def test_failed_atomic_write_keeps_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "session.json"
    atomic.atomic_write_json(target, {"complete": False, "n": 1})

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", boom)
    with pytest.raises(OSError):
        atomic.atomic_write_json(target, {"complete": True, "n": 2})
    assert json.loads(target.read_text()) == {"complete": False, "n": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["session.json"]


def test_nan_is_written_as_null():
    import io as _io
    text = json.dumps(atomic._finite({"a": float("nan"), "b": [float("inf"), 1.5]}))
    assert json.load(_io.StringIO(text)) == {"a": None, "b": [None, 1.5]}


def test_preflight_reports_unusable_folder_and_full_disk(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RecordError, match="cannot create the session folder"):
        preflight(blocker / "sub")
    with pytest.raises(RecordError, match=r"MB free.*--out"):
        preflight(tmp_path / "ok", min_free_mb=1e15)
    assert preflight(tmp_path / "ok") == tmp_path / "ok"
    assert list((tmp_path / "ok").iterdir()) == []
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        with pytest.raises(RecordError, match="not writable"):
            preflight(ro)
    with pytest.raises(RecordError):
        SessionRecorder(blocker / "sub", {"title": "T"})


def test_constructor_validates_arguments(tmp_path):
    with pytest.raises(ValueError, match="flush_interval_s"):
        SessionRecorder(tmp_path / "s", {"title": "T"}, flush_interval_s=5.0)
    with pytest.raises(ValueError, match="routine_info"):
        SessionRecorder(tmp_path / "s", "T")
    with pytest.raises(ValueError, match="min_free_mb"):
        preflight(tmp_path, min_free_mb=-1)
    rec = SessionRecorder(tmp_path / "s2", {"title": "T"}, index=False)
    with pytest.raises(ValueError, match="t_s and kind"):
        rec.add_warning(kind="too_fast")


def test_new_session_dir_name_and_collisions(tmp_path):
    from datetime import datetime
    now = datetime(2026, 3, 1, 10, 15, 0)
    first = records.new_session_dir("Daily Neck (v2)", tmp_path, now)
    assert first.name == "20260301-101500-daily-neck-v2"
    first.mkdir()
    assert records.new_session_dir("Daily Neck (v2)", tmp_path, now).name.endswith("-v2-2")


def test_default_sessions_dir_follows_neckcoach_home(home):
    assert records.default_sessions_dir() == home / "sessions"


def test_unchanged_per_frame_summaries_do_not_rewrite_session_json(tmp_path, monkeypatch):
    """The loop hands over exercises/warnings every frame; only changes cost a write."""
    writes = []
    real = records.atomic_write_json
    monkeypatch.setattr(records, "atomic_write_json",
                        lambda path, obj, **kw: (writes.append(1), real(path, obj, **kw)))
    rec = SessionRecorder(tmp_path / "s", {"title": "T"}, index=False)
    stubs = synth.exercise_stubs()
    writes.clear()
    for k in range(90):
        rec.update({"t_s": k / 30, "face_found": True}, k / 30)
        rec.set_exercises(stubs)
        rec.update_summary({"warnings": [], "pauses": []})
        rec.checkpoint(k / 30)
    assert len(writes) == 1  # the first set_exercises only
    stubs[0]["reps"].append({"index": 1, "side": "left", "complete": True})
    rec.set_exercises(stubs)
    rec.update({"t_s": 3.5, "face_found": True}, 3.5)
    assert len(writes) == 2
    saved = json.loads((tmp_path / "s" / "session.json").read_text())
    assert saved["exercises"][0]["reps"][0]["side"] == "left"
