"""The overlay worker: every frame recorded in order, the newest one shown, keys and errors handed back,
and a bounded close; and the session loop using it ends every way the sync loop does."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

from neckcoach.app.overlay_worker import OverlayWorker
from neckcoach.app.runner import SessionLoop
from neckcoach.io.keys import ScriptedKeys
from neckcoach.io.records import SessionRecorder
from neckcoach.routine import load_routine
from tests.conftest import ROUTINES
from tests.test_app_loop import FakeMeasurement


def frame(value: int) -> np.ndarray:
    return np.full((48, 64, 3), value % 256, np.uint8)


def value_of(image: np.ndarray) -> int:
    return int(image[0, 0, 0])


def identity(frame, state):
    return frame


class Writer:
    def __init__(self, delay_s: float = 0.0):
        self.frames: list = []
        self.threads: set = set()
        self.released = False
        self.delay_s = delay_s

    def write(self, image):
        if self.delay_s:
            time.sleep(self.delay_s)
        self.threads.add(threading.current_thread().name)
        self.frames.append(image)

    def release(self):
        self.released = True


class Display:
    """Records what is shown and on which thread; `poll_key` pops scripted keys."""

    def __init__(self, keys=()):
        self.shown: list = []
        self.threads: set = set()
        self.keys = list(keys)
        self.closed = False

    def show(self, image):
        self.threads.add(threading.current_thread().name)
        self.shown.append(image)

    def poll_key(self):
        self.threads.add(threading.current_thread().name)
        return self.keys.pop(0) if self.keys else None

    def close(self):
        self.closed = True


def test_every_frame_is_written_in_order_even_when_the_writer_is_slower_than_the_caller():
    writer = Writer(delay_s=0.002)
    worker = OverlayWorker(identity, video_writer=writer, queue_size=2).start()
    for i in range(40):
        worker.submit(frame(i), None)
    assert worker.close()
    assert [value_of(f) for f in writer.frames] == list(range(40))
    assert worker.submitted == worker.drawn == worker.written == 40 and worker.dropped == 0
    assert worker.blocked > 0  # the caller waited for room instead of dropping frames
    assert writer.threads == {"overlay"}


def test_copies_repeat_a_frame_in_the_video_only():
    writer = Writer()
    worker = OverlayWorker(identity, video_writer=writer, keep_latest=True).start()
    worker.submit(frame(1), None)
    worker.submit(frame(2), None, copies=5)
    assert worker.close()
    assert [value_of(f) for f in writer.frames] == [1, 2, 2, 2, 2, 2]
    assert value_of(worker.take_latest()) == 2 and worker.take_latest() is None


def test_display_only_the_newest_frame_wins_and_stale_ones_are_dropped():
    release = threading.Event()
    started = threading.Event()

    def render(frame, state):
        if value_of(frame) == 0:
            started.set()
            release.wait(5.0)
        return frame

    worker = OverlayWorker(render, keep_latest=True).start()
    worker.submit(frame(0), None)
    assert started.wait(5.0)
    for i in range(1, 11):
        worker.submit(frame(i), None)  # never blocks without a writer
    release.set()
    assert worker.close()
    assert value_of(worker.take_latest()) == 10
    assert worker.dropped == 9 and worker.drawn == 2


def test_an_exception_on_the_worker_is_raised_on_the_caller_at_the_next_submit():
    class Boom(RuntimeError):
        pass

    def render(frame, state):
        if value_of(frame) == 2:
            raise Boom("drawing failed")
        return frame

    writer = Writer()
    worker = OverlayWorker(render, video_writer=writer).start()
    with pytest.raises(Boom, match="drawing failed"):
        for i in range(100):
            worker.submit(frame(i), None)
            worker.flush()
    assert worker.failed
    with pytest.raises(RuntimeError, match="stopped after an error"):
        worker.submit(frame(5), None)
    assert worker.close()  # already raised once: not again
    assert [value_of(f) for f in writer.frames] == [0, 1]


def test_an_exception_not_yet_seen_is_raised_by_close():
    def render(frame, state):
        raise ValueError("bad state")

    worker = OverlayWorker(render, video_writer=Writer()).start()
    worker.submit(frame(0), None)
    with pytest.raises(ValueError, match="bad state"):
        worker.close()


def test_close_is_bounded_when_drawing_hangs():
    unblock = threading.Event()

    def render(frame, state):
        unblock.wait(30.0)
        return frame

    worker = OverlayWorker(render, video_writer=Writer(), timeout_s=0.2).start()
    worker.submit(frame(0), None)
    start = time.monotonic()
    assert worker.close() is False
    assert time.monotonic() - start < 2.0
    unblock.set()


def test_submit_gives_up_when_the_queue_stays_full():
    unblock = threading.Event()

    def render(frame, state):
        unblock.wait(30.0)
        return frame

    worker = OverlayWorker(render, video_writer=Writer(), queue_size=1, timeout_s=0.2).start()
    worker.submit(frame(0), None)  # taken by the worker, which hangs
    worker.submit(frame(1), None)  # fills the queue
    with pytest.raises(TimeoutError, match="stuck"):
        worker.submit(frame(2), None)
    unblock.set()
    assert worker.close()


@pytest.mark.parametrize("kwargs, message", [
    ({}, "nothing to do"),
    ({"keep_latest": True, "queue_size": 0}, r"queue_size must be an int in 1\.\.64 frames, got 0"),
    ({"keep_latest": True, "timeout_s": 0.0}, r"timeout_s must be in \(0, 60\] seconds, got 0\.0"),
])
def test_arguments_are_checked_when_constructed(kwargs, message):
    with pytest.raises(ValueError, match=message):
        OverlayWorker(identity, **kwargs)


def test_submit_before_start_and_bad_copies_are_refused():
    worker = OverlayWorker(identity, keep_latest=True)
    with pytest.raises(RuntimeError, match="not started"):
        worker.submit(frame(0), None)
    worker.start()
    with pytest.raises(ValueError, match=r"copies must be an int in 1\.\.10000, got 0"):
        worker.submit(frame(0), None, copies=0)
    with pytest.raises(RuntimeError, match="already started"):
        worker.start()
    assert worker.close()


# -- the session loop with the worker ------------------------------------------------

def _distinct_frames(seconds: float, fps: float = 30.0):
    return [(i / fps, frame(i)) for i in range(int(seconds * fps))]


def test_threaded_and_sync_loops_record_the_same_video():
    routine = load_routine(ROUTINES / "rotation.yaml")
    videos = []
    for threaded in (True, False):
        writer = Writer()
        loop = SessionLoop(routine, FakeMeasurement(), video_writer=writer, threaded_overlay=threaded,
                           keys=ScriptedKeys({2.0: "q"}))
        result = loop.run(_distinct_frames(3))
        assert result.ended_reason == "quit" and writer.released
        videos.append(writer.frames)
    threaded_video, sync_video = videos
    assert len(threaded_video) == len(sync_video) == 61 + 30
    assert all(np.array_equal(a, b) for a, b in zip(threaded_video, sync_video))


def test_the_window_is_shown_and_polled_on_the_loop_thread_while_the_worker_draws():
    """HighGUI paints only from the thread owning the window (a blank window under Xvfb otherwise)."""
    routine = load_routine(ROUTINES / "rotation.yaml")
    display = Display(keys=[None] * 5 + [ord("q")])

    def frames():
        for item in _distinct_frames(10):
            time.sleep(0.002)  # a camera is not instant: the worker gets to draw and poll
            yield item

    loop = SessionLoop(routine, FakeMeasurement(), display=display)
    result = loop.run(frames())
    assert result.ended_reason == "quit" and result.frames < 300
    assert display.threads == {threading.current_thread().name} and display.closed
    assert loop.overlay.drawn >= len(display.shown) > 0
    assert not loop.overlay.running


def test_a_drawing_error_ends_the_session_as_an_error_and_keeps_the_record(tmp_path):
    class BrokenWriter(Writer):
        def write(self, image):
            if len(self.frames) == 20:
                raise OSError("disk full")
            super().write(image)

    routine = load_routine(ROUTINES / "rotation.yaml")
    recorder = SessionRecorder(tmp_path / "s", {"title": routine.title}, index=False)
    writer = BrokenWriter()
    loop = SessionLoop(routine, FakeMeasurement(), recorder=recorder, video_writer=writer)
    with pytest.raises(OSError, match="disk full"):
        loop.run(_distinct_frames(3))
    saved = json.loads((tmp_path / "s" / "session.json").read_text())
    assert saved["ended_reason"] == "error: OSError: disk full"
    assert writer.released and len(writer.frames) == 20


def test_ctrl_c_drains_the_worker_before_the_video_is_released():
    class CheckedWriter(Writer):
        def release(self):
            self.worker_alive_at_release = loop.overlay.running
            super().release()

    def frames():
        yield from _distinct_frames(2)
        raise KeyboardInterrupt

    routine = load_routine(ROUTINES / "rotation.yaml")
    writer = CheckedWriter(delay_s=0.001)
    loop = SessionLoop(routine, FakeMeasurement(), video_writer=writer)
    assert loop.run(frames()).ended_reason == "interrupted"
    assert len(writer.frames) == 60 + 30  # every frame, then the summary held for a second
    assert writer.released and writer.worker_alive_at_release is False


def test_a_hung_worker_does_not_hold_up_the_record_and_its_video_is_not_released(tmp_path):
    unblock = threading.Event()

    class HangingWriter(Writer):
        def write(self, image):
            if len(self.frames) == 5:
                unblock.wait(30.0)
            super().write(image)

    routine = load_routine(ROUTINES / "rotation.yaml")
    recorder = SessionRecorder(tmp_path / "s", {"title": routine.title}, index=False)
    writer = HangingWriter()
    loop = SessionLoop(routine, FakeMeasurement(), recorder=recorder, video_writer=writer)
    loop.overlay.timeout_s = 0.3
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        loop.run(_distinct_frames(3))
    assert time.monotonic() - start < 5.0
    saved = json.loads((tmp_path / "s" / "session.json").read_text())
    assert saved["ended_reason"].startswith("error: TimeoutError")
    assert not writer.released
    unblock.set()


# -- window and overlay I/O during the detector's inference --------------------------

class HookedMeasurement(FakeMeasurement):
    """A measurement whose detector calls `during_inference` inside `update`, as FaceDetector does."""

    def __init__(self, log: list):
        super().__init__()
        self.log = log
        self.detector = type("Detector", (), {"during_inference": None})()

    def update(self, rgb, t_s):
        self.log.append(("inference starts", t_s))
        self.detector.during_inference()
        self.log.append(("inference ends", t_s))
        return super().update(rgb, t_s)


class LoggingDisplay(Display):
    def __init__(self, log: list, keys=()):
        super().__init__(keys)
        self.log = log

    def show(self, image):
        super().show(image)
        self.log.append(("show", value_of(image)))

    def poll_key(self):
        self.log.append(("poll", None))
        return super().poll_key()


@pytest.mark.parametrize("threaded", [True, False])
def test_window_is_shown_and_polled_once_a_step_while_the_detector_infers(threaded, monkeypatch):
    monkeypatch.setattr("neckcoach.app.runner.draw_overlay", lambda f, state, **kw: f.copy())  # frames stay identifiable
    log: list = []
    routine = load_routine(ROUTINES / "rotation.yaml")
    display = LoggingDisplay(log, keys=[None] * 29 + [ord("q")])
    writer = Writer()
    loop = SessionLoop(routine, HookedMeasurement(log), display=display, video_writer=writer,
                       threaded_overlay=threaded)
    result = loop.run(_distinct_frames(3))
    assert result.ended_reason == "quit" and result.frames == 30  # q from the 30th poll, acted on in that step
    steps = [i for i, (what, _) in enumerate(log) if what == "inference starts"]
    assert len(steps) == 30
    for start in steps:  # every step's poll (and showing) sits inside its inference
        end = log.index(("inference ends", log[start][1]), start)
        inside = [what for what, _ in log[start + 1:end]]
        assert inside.count("poll") == 1 and set(inside) <= {"poll", "show"}, inside
    shown = [v for what, v in log if what == "show"]
    assert shown[:28] == list(range(28)), shown  # frame i appears while frame i + 1 is measured
    assert [value_of(f) for f in writer.frames[:30]] == list(range(30))
    assert display.threads == {threading.current_thread().name}


def test_the_room_is_watched_once_a_step_while_the_detector_infers():
    class Watching(HookedMeasurement):
        def watch_room(self):
            self.log.append(("watch", None))

    log: list = []
    routine = load_routine(ROUTINES / "rotation.yaml")
    result = SessionLoop(routine, Watching(log), keys=ScriptedKeys({0.9: "q"})).run(_distinct_frames(3))
    assert result.ended_reason == "quit"
    whats = [what for what, _ in log]
    assert whats.count("watch") == result.frames
    assert whats[:3] == ["inference starts", "watch", "inference ends"]
    assert all(whats[i - 1] == "inference starts" for i, what in enumerate(whats) if what == "watch")


def test_without_the_detector_hook_the_window_is_still_polled_once_a_step():
    routine = load_routine(ROUTINES / "rotation.yaml")
    log: list = []
    display = LoggingDisplay(log, keys=[None] * 9 + [ord("q")])
    result = SessionLoop(routine, FakeMeasurement(), display=display).run(_distinct_frames(3))
    assert result.ended_reason == "quit" and result.frames == 10
    assert sum(1 for what, _ in log if what == "poll") == 10 + 1  # one a step, one to paint the summary
