"""Disk full / I/O errors in the middle of a session (issue 8).

The recorder must never stop the coaching: a failed write is reported once
(log + `recorder.problem`), the last good session.json stays readable, unsaved
trace rows wait in memory and are written, in order and untorn, when space
returns. Simulated with OSError(ENOSPC / EIO) on the recorder's writes, and
once for real on a tiny tmpfs when this process may mount one.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from neckcoach.io import records
from neckcoach.io.records import SessionRecorder, load_session

FPS = 30.0


class Faults:
    """Switchable ENOSPC on one recorder's trace writes (after a short write, as a
    filling disk does) and on its atomic session.json / reps.csv writes."""

    def __init__(self, monkeypatch, rec: SessionRecorder, err: int = errno.ENOSPC):
        self.rec, self.err = rec, err
        self.trace = self.summary = self.fsync = False
        self.short_write_bytes = 37  # ends mid-line
        real_write, real_fsync = os.write, os.fsync
        real_json, real_text = records.atomic_write_json, records.atomic_write_text

        def write(fd, data):
            if self.trace and fd == rec._trace_fh.fileno():
                if self.short_write_bytes:
                    n = real_write(fd, bytes(data[:self.short_write_bytes]))
                    self.short_write_bytes = 0
                    return n
                raise OSError(self.err, os.strerror(self.err))
            return real_write(fd, data)

        def fsync(fd):
            if self.fsync and fd == rec._trace_fh.fileno():
                raise OSError(self.err, os.strerror(self.err))
            return real_fsync(fd)

        def guarded(real):
            def atomic(path, obj, **kw):
                if self.summary and Path(path).parent == rec.out_dir:
                    raise OSError(self.err, os.strerror(self.err))
                return real(path, obj, **kw)
            return atomic

        monkeypatch.setattr(records.os, "write", write)
        monkeypatch.setattr(records.os, "fsync", fsync)
        monkeypatch.setattr(records, "atomic_write_json", guarded(real_json))
        monkeypatch.setattr(records, "atomic_write_text", guarded(real_text))


def _row(t: float) -> dict:
    return {"t_s": t, "face_found": True, "yaw_deg": 30 * np.sin(t), "confidence": 0.9}


def _feed(rec, start_s, end_s, on_frame=None):
    for k in range(int(round(start_s * FPS)), int(round(end_s * FPS))):
        t = k / FPS
        rec.update(_row(t), t)
        if on_frame is not None:
            on_frame(t)
        rec.checkpoint(t)


def _times_on_disk(out: Path) -> tuple[list[float], list[str]]:
    data = load_session(out)
    return data.trace["t_s"], data.notes


def test_full_disk_mid_session_is_reported_once_and_nothing_is_lost(tmp_path, monkeypatch, caplog):
    rec = SessionRecorder(tmp_path / "s", {"title": "T"}, index=False)
    faults = Faults(monkeypatch, rec)
    caplog.set_level(logging.WARNING, logger="neckcoach.io.records")
    _feed(rec, 0.0, 2.0)
    rec.add_rep({"index": 1, "side": "left", "complete": True}, exercise_id="rot")
    _feed(rec, 2.0, 2.5)
    faults.trace = faults.summary = True
    rec.add_rep({"index": 2, "side": "right", "complete": True}, exercise_id="rot")
    _feed(rec, 2.5, 6.0)  # 3.5 s of a full disk: a write attempt every second
    assert rec.problem is not None and "No space left on device" in rec.problem
    saved = json.loads((tmp_path / "s" / "session.json").read_text())
    assert len(saved["exercises"][0]["reps"]) == 1  # the last good version, intact
    on_disk, notes = _times_on_disk(tmp_path / "s")
    assert on_disk[-1] < 2.5 and any("incomplete line" in n for n in notes)  # the torn tail
    faults.trace = faults.summary = False  # space returns
    _feed(rec, 6.0, 8.0)
    assert rec.problem is None
    rec.close("completed")
    failures = [r for r in caplog.records if "cannot save the session record" in r.getMessage()]
    recoveries = [r for r in caplog.records if "works again" in r.getMessage()]
    assert len(failures) == 1 and len(recoveries) == 1
    times, notes = _times_on_disk(tmp_path / "s")
    assert times == pytest.approx([k / FPS for k in range(int(8 * FPS))], abs=1e-4)
    assert not [n for n in notes if "incomplete line" in n]  # the cut line was completed
    final = load_session(tmp_path / "s").session
    assert final["complete"] is True and len(final["exercises"][0]["reps"]) == 2
    assert [p["error"] for p in final["record_problems"]] == ["No space left on device"]
    assert "trace_rows_lost" not in final


def test_disk_stays_full_until_the_end(tmp_path, monkeypatch):
    """Close never raises; the folder holds the last good record and `report` renders it."""
    from neckcoach.report.html import build_report

    rec = SessionRecorder(tmp_path / "s", {"title": "T"}, index=False)
    faults = Faults(monkeypatch, rec)
    rec.add_rep({"index": 1, "side": "left", "complete": True}, exercise_id="rot")
    _feed(rec, 0.0, 3.0)
    faults.trace = faults.summary = True
    rec.add_rep({"index": 2, "side": "left", "complete": True}, exercise_id="rot")
    _feed(rec, 3.0, 5.0)
    rec.close("interrupted")
    assert rec.problem is not None
    data = load_session(tmp_path / "s")
    assert data.session["complete"] is False and len(data.reps) == 1
    assert 2.0 <= data.trace["t_s"][-1] < 3.0
    html = build_report(tmp_path / "s", tmp_path / "elsewhere" / "report.html")
    assert html.exists() and html.stat().st_size > 0


def test_unsaved_trace_is_capped_in_memory_and_the_loss_is_recorded(tmp_path, monkeypatch):
    rec = SessionRecorder(tmp_path / "s", {"title": "T"}, index=False, max_unsaved_trace_mb=0.002)
    faults = Faults(monkeypatch, rec)
    faults.short_write_bytes = 0
    _feed(rec, 0.0, 1.0)
    faults.trace = True
    _feed(rec, 1.0, 4.0)
    assert rec.trace_rows_lost > 0
    faults.trace = False
    _feed(rec, 4.0, 5.0)
    rec.close()
    times, notes = _times_on_disk(tmp_path / "s")
    assert all(b > a for a, b in zip(times, times[1:])) and not notes[1:]
    session = load_session(tmp_path / "s").session
    assert session["trace_rows_lost"] == rec.trace_rows_lost == int(5 * FPS) - len(times)


def test_io_error_on_fsync_is_reported_and_coaching_goes_on(tmp_path, monkeypatch):
    rec = SessionRecorder(tmp_path / "s", {"title": "T"}, index=False)
    faults = Faults(monkeypatch, rec, err=errno.EIO)
    faults.fsync = True
    _feed(rec, 0.0, 2.0)
    assert rec.problem is not None and "Input/output error" in rec.problem
    faults.fsync = False
    _feed(rec, 2.0, 3.5)
    assert rec.problem is None
    rec.close()


def test_session_loop_keeps_coaching_on_a_full_disk(tmp_path, monkeypatch):
    from neckcoach.app.runner import SessionLoop
    from neckcoach.routine import load_routine
    from tests.conftest import ROUTINES
    from tests.test_app_loop import FakeMeasurement

    routine = load_routine(ROUTINES / "rotation.yaml")
    rec = SessionRecorder(tmp_path / "s", {"title": routine.title}, index=False)
    faults = Faults(monkeypatch, rec)
    frame = np.zeros((120, 160, 3), np.uint8)

    def frames():
        for k in range(int(12 * FPS)):
            faults.trace = faults.summary = 3.0 <= k / FPS < 8.0
            yield k / FPS, frame

    result = SessionLoop(routine, FakeMeasurement(), recorder=rec).run(frames())
    assert result.ended_reason == "source ended" and result.frames == int(12 * FPS)
    assert rec.problem is None
    times, _ = _times_on_disk(tmp_path / "s")
    assert len(times) == result.frames


def test_max_unsaved_trace_is_validated(tmp_path):
    with pytest.raises(ValueError, match="max_unsaved_trace_mb"):
        SessionRecorder(tmp_path / "s", {"title": "T"}, max_unsaved_trace_mb=0)


@pytest.fixture
def tiny_disk(tmp_path):
    """A real 512 kB tmpfs, where this process may mount one (root in a container)."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mnt)],
                              capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        pytest.skip("cannot run mount")
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {done.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=10)


def test_real_full_disk_mid_session(tiny_disk, tmp_path):
    from neckcoach.report.html import build_report

    rec = SessionRecorder(tiny_disk / "s", {"title": "T"}, index=False, min_free_mb=0.1)
    rec.add_rep({"index": 1, "side": "left", "complete": True}, exercise_id="rot")
    _feed(rec, 0.0, 2.0)
    filler = tiny_disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for chunk in (b"\0" * 4096, b"\0"):  # pages, then the last bytes
            try:
                while True:
                    os.write(fd, chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    rec.add_rep({"index": 2, "side": "left", "complete": True}, exercise_id="rot")
    _feed(rec, 2.0, 5.0)
    assert rec.problem is not None and "No space left" in rec.problem
    data = load_session(tiny_disk / "s")  # readable while the disk is full
    assert len(data.reps) == 1  # the last session.json that fitted
    times = data.trace["t_s"]  # what fitted in the trace's last page: an untorn prefix
    assert times == pytest.approx([k / FPS for k in range(len(times))], abs=1e-4)
    assert not [p for p in (tiny_disk / "s").iterdir() if p.name.endswith(".tmp")]
    assert build_report(tiny_disk / "s", tmp_path / "report.html").exists()
    filler.unlink()  # space returns
    _feed(rec, 5.0, 7.0)
    assert rec.problem is None
    rec.close()
    data = load_session(tiny_disk / "s")
    assert data.session["complete"] is True and len(data.reps) == 2
    assert data.trace["t_s"] == pytest.approx([k / FPS for k in range(int(7 * FPS))], abs=1e-4)
