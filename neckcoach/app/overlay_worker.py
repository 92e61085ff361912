"""Draws and records the overlay on its own thread.

Why: on a 2-core machine MediaPipe keeps about one core busy, so drawing the
overlay and encoding it can use the other core while face mesh infers on the
next frame (the session loop submits a frame at that moment, see
`SessionLoop._during_inference`). The video writer gets every frame, in order: the main thread
waits when the small queue is full rather than let the recording skip. The
window is NOT touched here: OpenCV's HighGUI (Qt in the pip wheels) only paints
windows driven from the thread that created them (under Xvfb an `imshow` from
this thread left the window blank), so the worker keeps the newest drawn image
and the main thread shows it (`take_latest`) and polls keys itself, one frame
behind the camera.

Frames are passed by reference: the caller must not modify a frame after
submitting it (sources deliver a new array per frame; `draw_overlay` draws on
its own copy).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Any, Callable

import numpy as np

log = logging.getLogger(__name__)

Render = Callable[[np.ndarray, Any], np.ndarray]


class OverlayWorker:
    """`start()`, then `submit(frame, state)` per frame; `close()` drains and joins.

    `render(frame, state)` returns the image to record and show. An exception
    on the worker stops it and is raised again on the caller's thread by the
    next `submit`, `flush` or `close`, once; after that `submit` raises a
    `RuntimeError` saying the worker stopped.
    """

    def __init__(self, render: Render, *, video_writer=None, keep_latest: bool = False,
                 queue_size: int = 4, timeout_s: float = 2.0, name: str = "overlay") -> None:
        if not callable(render):
            raise TypeError(f"render must be callable, got {render!r}")
        if not isinstance(keep_latest, bool):
            raise TypeError(f"keep_latest must be True or False, got {keep_latest!r}")
        if video_writer is None and not keep_latest:
            raise ValueError("video_writer is None and keep_latest is False: the worker would have nothing to do")
        if isinstance(queue_size, bool) or not isinstance(queue_size, int) or not 1 <= queue_size <= 64:
            raise ValueError(f"queue_size must be an int in 1..64 frames, got {queue_size!r}")
        if not 0.0 < timeout_s <= 60.0:
            raise ValueError(f"timeout_s must be in (0, 60] seconds, got {timeout_s!r}")
        self._render = render
        self.video_writer = video_writer
        self.keep_latest = keep_latest
        self.queue_size = queue_size
        self.timeout_s = float(timeout_s)
        self.name = name
        # Counters, read any time: `dropped` counts frames never drawn (replaced
        # by a newer one when only the latest is wanted, or queued when an error
        # stopped the worker); `blocked` the submits that had to wait for room
        # (the worker fell behind the caller).
        self.submitted = 0
        self.blocked = 0
        self.drawn = 0
        self.written = 0
        self.dropped = 0
        self._cond = threading.Condition()
        self._items: deque[tuple[np.ndarray, Any, int]] = deque()
        self._busy = False
        self._closing = False
        self._error: Exception | None = None
        self._error_raised = False
        self._latest: np.ndarray | None = None
        self._thread: threading.Thread | None = None

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def running(self) -> bool:
        """True while the thread is alive (started and not yet ended)."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def failed(self) -> bool:
        """True once a drawing, writing or showing call raised (the worker has stopped)."""
        return self._error is not None

    def start(self) -> "OverlayWorker":
        if self._thread is not None:
            raise RuntimeError(f"overlay worker {self.name!r} already started")
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def submit(self, frame: np.ndarray, state: Any, *, copies: int = 1) -> None:
        """Queue one frame; `copies` times into the video (e.g. a summary held on screen).

        With a video writer this waits (at most `timeout_s`) for room in the
        queue, so no frame is lost; without one, an undrawn older frame is
        dropped instead.
        """
        if isinstance(copies, bool) or not isinstance(copies, int) or not 1 <= copies <= 10_000:
            raise ValueError(f"copies must be an int in 1..10000, got {copies!r}")
        self._raise_error(again=True)
        if self._thread is None:
            raise RuntimeError(f"overlay worker {self.name!r} not started: call start() first")
        with self._cond:
            if self._closing:
                raise RuntimeError(f"overlay worker {self.name!r} is closed")
            if self.video_writer is None:
                self.dropped += len(self._items)
                self._items.clear()
            elif not self._has_room():
                self.blocked += 1
                if not self._cond.wait_for(self._has_room, self.timeout_s):
                    raise TimeoutError(f"overlay worker {self.name!r} took more than {self.timeout_s:g} s "
                                       f"to take a frame (drawing or writing is stuck)")
            if self._error is None:
                self._items.append((frame, state, copies))
                self.submitted += 1
                self._cond.notify_all()
        self._raise_error()

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until every submitted frame is done; True if so within the timeout.

        Raises a pending worker exception.
        """
        limit = self.timeout_s if timeout_s is None else timeout_s
        with self._cond:
            done = self._cond.wait_for(lambda: self._error is not None or not (self._items or self._busy),
                                       limit)
        self._raise_error()
        return bool(done)

    def take_latest(self) -> np.ndarray | None:
        """The newest drawn image not taken yet (for the caller's window), or None."""
        with self._cond:
            image, self._latest = self._latest, None
        return image

    def close(self) -> bool:
        """Finish the queued frames and stop, waiting at most `timeout_s`.

        Returns False if the thread is still busy after that (drawing, writing
        or showing hangs): the writer and display must then not be released
        under it. Raises a worker exception not raised yet.
        """
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        finished = True
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(self.timeout_s)
            finished = not self._thread.is_alive()
        if not finished:
            log.error("overlay worker %r still busy after %.1f s; %d frame(s) not drawn",
                      self.name, self.timeout_s, len(self._items))
        self._raise_error()
        return finished

    # -- internals -----------------------------------------------------------------
    def _has_room(self) -> bool:
        return self._error is not None or not self.running or len(self._items) < self.queue_size

    def _raise_error(self, again: bool = False) -> None:
        """Raise the worker's exception the first time; with `again`, say it stopped afterwards."""
        with self._cond:
            error, first = self._error, not self._error_raised
            if error is not None:
                self._error_raised = True
        if error is None or not (first or again):
            return
        if first:
            raise error
        raise RuntimeError(f"overlay worker {self.name!r} stopped after an error: {error!r}") from error

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._items or self._closing)
                if not self._items:
                    return
                frame, state, copies = self._items.popleft()
                newest = not self._items
                self._busy = True
                self._cond.notify_all()  # room in the queue
            try:
                self._handle(frame, state, copies, newest)
            except Exception as exc:  # raised again on the caller's thread
                with self._cond:
                    self._error = exc
                    self.dropped += len(self._items)
                    self._items.clear()
                    self._busy = False
                    self._cond.notify_all()
                return
            with self._cond:
                self._busy = False
                self._cond.notify_all()

    def _handle(self, frame: np.ndarray, state: Any, copies: int, newest: bool) -> None:
        image = self._render(frame, state)
        self.drawn += 1
        if self.video_writer is not None:
            for _ in range(copies):
                self.video_writer.write(image)
                self.written += 1
        if self.keep_latest and newest:  # behind (only possible with a writer): keep just the latest
            with self._cond:
                self._latest = image
