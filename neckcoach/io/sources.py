"""Frame sources: a video file or a live camera, both yielding (t_s, frame_bgr).

t_s is session seconds since the source's first frame. Files take their
timestamps from the video (so analysis is reproducible and independent of
processing speed); cameras stamp frames with a monotonic clock at capture, in a
capture thread, so a slow consumer never stalls the camera: the latest frame
wins and skipped frames are counted. Either way the timestamps pass through a
`SessionClock` (`source.clock`) before they leave the source, so the session
never sees time repeat, go back or leap forward (see `neckcoach.core.clock`).

Cameras open through the platform's own capture backend first (`camera_backends`):
DirectShow then Media Foundation on Windows, AVFoundation on macOS, V4L2 on Linux,
then whatever OpenCV picks.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import cv2
import numpy as np

from neckcoach.core.clock import SessionClock
from neckcoach.errors import UserFacingError

CaptureFactory = Callable[..., Any]


class SourceError(UserFacingError, RuntimeError):
    """A frame source that cannot be opened or read."""


# Backends by sys.platform, best first. Windows: DirectShow opens in well under a second
# and honours the requested size on most webcams, while Media Foundation (OpenCV's own
# first choice) can take seconds to open; it stays as the fallback for cameras only it
# drives. Linux: V4L2 directly rather than through a GStreamer pipeline.
_BACKENDS = {"win32": ("DSHOW", "MSMF"), "darwin": ("AVFOUNDATION",)}
_BACKEND_NAMES = {"DSHOW": "DirectShow", "MSMF": "Media Foundation", "AVFOUNDATION": "AVFoundation",
                  "V4L2": "V4L2", "ANY": "OpenCV's default"}
_CAMERA_HINTS = {
    "win32": "check that no other program (video calls, the Camera app) is using it and that Settings > "
             "Privacy & security > Camera lets desktop apps use the camera",
    "darwin": "allow camera access for the app you started NeckCoach from (Terminal, iTerm, VS Code) in "
              "System Settings > Privacy & Security > Camera, and quit other programs using the camera",
}
_LINUX_CAMERA_HINT = ("check that /dev/video{index} exists, that you may read it (the 'video' group) and "
                      "that no other program is using it")


def camera_backends(platform: str = sys.platform) -> list[tuple[str, int]]:
    """(name, OpenCV API id) of the capture backends to try on `platform`, best first."""
    names = _BACKENDS.get(platform, ("V4L2",)) + ("ANY",)
    return [(name, int(getattr(cv2, f"CAP_{name}"))) for name in names]


def camera_hint(index: int, platform: str = sys.platform) -> str:
    """What to check when camera `index` cannot be opened on `platform`."""
    return _CAMERA_HINTS.get(platform, _LINUX_CAMERA_HINT).format(index=index)


@contextlib.contextmanager
def _quiet_opencv():
    """OpenCV logs a warning per backend that fails to open; our one message says it all."""
    level = cv2.getLogLevel()
    cv2.setLogLevel(0)
    try:
        yield
    finally:
        cv2.setLogLevel(level)


def open_camera(index: int, platform: str = sys.platform,
                capture: CaptureFactory = cv2.VideoCapture) -> tuple[Any, str]:
    """(opened capture, backend name) from the first backend that opens camera `index`.

    Raises SourceError naming the backends tried and what to check on this platform.
    """
    tried = []
    with _quiet_opencv():
        for name, api in camera_backends(platform):
            try:
                cap = capture(index, api)
            except Exception:  # a backend missing from this OpenCV build
                cap = None
            if cap is not None and cap.isOpened():
                return cap, name
            if cap is not None:
                cap.release()
            tried.append(_BACKEND_NAMES[name])
    raise SourceError(f"camera {index} could not be opened (tried {', '.join(tried)}): "
                      f"{camera_hint(index, platform)}; another camera may have another number (--camera 1)")


def to_bgr(frame: np.ndarray) -> np.ndarray:
    """3-channel uint8 BGR from grayscale, BGRA or (h, w, 1) frames."""
    if frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] == 1):
        return cv2.cvtColor(frame.reshape(frame.shape[:2]), cv2.COLOR_GRAY2BGR)
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    return frame


class _Source:
    clock: SessionClock

    def _read_raw(self) -> tuple[float, np.ndarray] | None:
        raise NotImplementedError

    def read(self) -> tuple[float, np.ndarray] | None:
        """Next frame in session time; frames whose timestamp repeats or steps back are skipped."""
        while True:
            item = self._read_raw()
            if item is None:
                return None
            t_s = self.clock.update(item[0])
            if t_s is not None:
                return t_s, item[1]

    def close(self) -> None:
        raise NotImplementedError

    def __iter__(self) -> Iterator[tuple[float, np.ndarray]]:
        while True:
            item = self.read()
            if item is None:
                return
            yield item

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class VideoFileSource(_Source):
    """Frames of a video file with timestamps from the file itself."""

    def __init__(self, path: str | Path, capture_factory: CaptureFactory = cv2.VideoCapture,
                 *, clock: SessionClock | None = None) -> None:
        self.clock = clock if clock is not None else SessionClock()
        self.path = Path(path)
        if not self.path.is_file():
            raise SourceError(f"video file not found: {self.path}")
        self._cap = capture_factory(str(self.path))
        if not self._cap.isOpened():
            raise SourceError(f"cannot open video file {self.path}: not a readable video")
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if 1.0 <= fps <= 1000.0 else 30.0
        self.frame_index = 0
        self._t0: float | None = None
        self._last_t = -1.0
        first = self._grab()
        if first is None:
            self._cap.release()
            raise SourceError(f"video file {self.path} has no decodable frames")
        self._first = first

    @property
    def frame_count(self) -> int | None:
        """Frames in the file as its container reports them (an estimate), None if unknown."""
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if self._cap is not None else 0
        return count if count > 0 else None

    def _grab(self) -> tuple[float, np.ndarray] | None:
        ok, frame = self._cap.read()
        if not ok or frame is None:
            return None
        pos_ms = float(self._cap.get(cv2.CAP_PROP_POS_MSEC) or 0.0)
        # OpenCV reports the decoded frame's position; it can be <= 0 for the first
        # frame of some containers, and stale for others: fall back to index / fps
        t = pos_ms / 1000.0 if pos_ms > 0 else self.frame_index / self.fps
        if t <= self._last_t:
            t = self._last_t + 1.0 / self.fps
        self._last_t = t
        self.frame_index += 1
        if self._t0 is None:
            self._t0 = t
        return t - self._t0, to_bgr(frame)

    def _read_raw(self) -> tuple[float, np.ndarray] | None:
        if self._first is not None:
            item, self._first = self._first, None
            return item
        if self._cap is None:
            return None
        return self._grab()

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class CameraSource(_Source):
    """Live camera captured on its own thread; `read()` returns the newest frame.

    `read()` waits at most `stall_timeout_s` for a frame newer than the last one
    returned; if none comes (camera unplugged, driver stalled) it returns None
    and `failed` says why.
    """

    def __init__(self, index: int = 0, width: int = 640, height: int = 480, fps: float = 30.0,
                 *, stall_timeout_s: float = 2.0, open_timeout_s: float = 5.0,
                 capture_factory: CaptureFactory | None = None,
                 clock: SessionClock | None = None) -> None:
        if index < 0:
            raise ValueError(f"index must be >= 0, got {index!r}")
        if not (16 <= width <= 7680 and 16 <= height <= 4320):
            raise ValueError(f"width/height must be within 16..7680 x 16..4320, got {width}x{height}")
        if not 1.0 <= fps <= 240.0:
            raise ValueError(f"fps must be in [1, 240], got {fps!r}")
        if stall_timeout_s <= 0:
            raise ValueError(f"stall_timeout_s must be > 0 seconds, got {stall_timeout_s!r}")
        self.index = index
        self.stall_timeout_s = stall_timeout_s
        self.clock = clock if clock is not None else SessionClock()
        if capture_factory is None:
            self._cap, self.backend = open_camera(index)
        else:
            self._cap, self.backend = capture_factory(index), "custom"
            if self._cap is None or not self._cap.isOpened():
                raise SourceError(f"camera {index} could not be opened: no such camera, or it is in "
                                  f"use by another program")
        for prop, value in ((cv2.CAP_PROP_FRAME_WIDTH, width), (cv2.CAP_PROP_FRAME_HEIGHT, height),
                            (cv2.CAP_PROP_FPS, fps), (cv2.CAP_PROP_BUFFERSIZE, 1)):
            self._cap.set(prop, value)
        self.dropped = 0
        self.captured = 0
        self.failed: str | None = None
        self._cond = threading.Condition()
        self._latest: tuple[float, np.ndarray] | None = None
        self._seq = 0
        self._returned_seq = 0
        self._t0: float | None = None
        self._running = True
        self._capture_ended = False
        self._thread = threading.Thread(target=self._run, name=f"camera-{index}", daemon=True)
        self._thread.start()
        with self._cond:
            self._cond.wait_for(lambda: self._seq > 0 or self.failed is not None, open_timeout_s)
        if self._seq == 0:
            reason = self.failed or f"no frame within {open_timeout_s:.1f} s"
            self.close()
            raise SourceError(f"camera {index} opened but delivers no frames: {reason}")

    def _run(self) -> None:
        failures = 0
        while self._running:
            try:
                ok, frame = self._cap.read()
            except Exception as exc:
                ok, frame = False, None
                self.failed = f"capture error: {exc}"
            now = time.monotonic()
            if not ok or frame is None:
                failures += 1
                if failures >= 50:
                    with self._cond:
                        self.failed = self.failed or "camera stopped delivering frames"
                        self._capture_ended = True
                        self._cond.notify_all()
                    return
                time.sleep(0.01)
                continue
            failures = 0
            with self._cond:
                if self._t0 is None:
                    self._t0 = now
                if self._seq > self._returned_seq:
                    self.dropped += 1
                self._latest = (now - self._t0, frame)
                self._seq += 1
                self.captured += 1
                self._cond.notify_all()

    def _read_raw(self) -> tuple[float, np.ndarray] | None:
        with self._cond:
            got = self._cond.wait_for(
                lambda: self._seq > self._returned_seq or not self._running
                or self._capture_ended,
                self.stall_timeout_s)
            if not got or self._seq <= self._returned_seq:
                if self.failed is None and self._running:
                    self.failed = f"no new frame for {self.stall_timeout_s:.1f} s"
                return None
            self._returned_seq = self._seq
            t, frame = self._latest
        return t, to_bgr(frame)

    def close(self) -> None:
        self._running = False
        with self._cond:
            self._cond.notify_all()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=2.0)
        if self._cap is not None:
            self._cap.release()
