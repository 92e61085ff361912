"""The edges `neckcoach review` adds: native-log filtering, prefetched frames, bulk trace rows, report workers."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from neckcoach.app.report_worker import ReportWorker
from neckcoach.app.review import PrefetchedFrames
from neckcoach.core.samples import Kinematics
from neckcoach.io.native_logs import is_native_log_line
from neckcoach.io.records import SessionRecorder, load_session
from neckcoach.io.sources import SourceError, VideoFileSource
from tests.conftest import clip


@pytest.mark.parametrize("line, native", [
    (b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.", True),
    (b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR", True),
    (b"W0000 00:00:1796121301.900326   24380 inference_feedback_manager.cc:114] Feedback manager", True),
    (b"I1201 10:22:33.123456 123 gl_context.cc:12] Successfully initialized", True),
    (b"E0000 00:00:1796121301.900326   24380 calculator_graph.cc:1] Graph failed", False),  # errors stay
    (b"F0000 00:00:1796121301.900326   24380 x.cc:1] Check failed", False),
    (b"ERROR: the TFLite interpreter failed", False),
    (b"neckcoach: cannot write the session record", False),
    (b"Traceback (most recent call last):", False),
    (b"", False),
])
def test_only_informational_native_lines_are_dropped(line, native):
    assert is_native_log_line(line) is native


def test_prefetched_frames_have_the_video_sources_times_and_rgb_frames():
    path = clip("single_face.mp4")
    with VideoFileSource(path) as source:
        expected = [(t, frame[:, :, ::-1]) for t, frame in source]
    with PrefetchedFrames(path, depth=2) as frames:
        got = list(frames)
        assert frames.frame_count == len(expected)
    assert [t for t, _ in got] == [t for t, _ in expected]
    assert all(np.array_equal(a, b) and a.flags.c_contiguous for (_, a), (_, b) in zip(got, expected))


def test_prefetched_frames_stop_early_and_refuse_a_missing_file(tmp_path):
    with PrefetchedFrames(clip("face_noface.mov"), depth=1) as frames:
        first = next(iter(frames))
    assert first[0] == 0.0
    with pytest.raises(SourceError, match="not found"):
        PrefetchedFrames(tmp_path / "missing.mp4")
    with pytest.raises(ValueError, match="depth must be in 1..64, got 0"):
        PrefetchedFrames(clip("single_face.mp4"), depth=0)


def test_extend_writes_the_same_trace_as_update(tmp_path):
    samples = [Kinematics(i / 30, i % 7 != 0, 1.5 * i, -0.5, 0.25, 2.0, brightness=100.0) for i in range(90)]
    one = SessionRecorder(tmp_path / "one", {"title": "t"}, index=False)
    for k in samples:
        one.update(k)
    one.close()
    bulk = SessionRecorder(tmp_path / "bulk", {"title": "t"}, index=False)
    bulk.extend(samples)
    bulk.close()
    assert (tmp_path / "one" / "trace.csv").read_text() == (tmp_path / "bulk" / "trace.csv").read_text()
    for key in ("frames", "frames_with_face", "duration_s"):
        assert one.session[key] == bulk.session[key]
    with pytest.raises(Exception, match="already closed"):
        bulk.extend(samples)


@pytest.mark.parametrize("fork", [True, False])
def test_report_workers_build_the_same_page(tmp_path, fork):
    rec = SessionRecorder(tmp_path / "s", {"title": "Head turns"}, index=False)
    rec.extend(Kinematics(i / 30, True, 20 * np.sin(i / 15)) for i in range(120))
    rec.close()
    with ReportWorker(fork=fork) as worker:
        assert worker.forked is fork
        page = worker.build(tmp_path / "s")
    assert page == tmp_path / "s" / "report.html"
    text = page.read_text()
    assert "Your head angle over time" in text and text.count("data:image/png;base64,") == 3
    assert load_session(tmp_path / "s").complete
    rows = list(csv.reader(open(tmp_path / "s" / "trace.csv")))
    assert len(rows) == 121
