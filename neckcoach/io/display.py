"""The on-screen window, or a headless stand-in when there is no display.

Opening a HighGUI window without a display aborts or raises deep inside cv2,
so the display is probed first (DISPLAY/WAYLAND_DISPLAY on Linux, then a real
window attempt) and the app falls back to headless with one message instead of
crashing: coaching, voice and the session record still work.
"""

from __future__ import annotations

import logging
import os
import sys

import numpy as np

from neckcoach.io.keys import PollKeySource

log = logging.getLogger(__name__)


class HeadlessDisplay:
    """Accepts frames and never has keys: the app runs without a window."""

    headless = True

    def __init__(self, reason: str = "headless mode") -> None:
        self.reason = reason
        self.message = ""  # open_display() already logged why; nothing more to tell
        self.frames_shown = 0

    def show(self, frame: np.ndarray) -> None:
        self.frames_shown += 1

    def poll_key(self) -> int | None:
        return None

    def close(self) -> None:
        pass


class WindowDisplay:
    """A resizable cv2 window; `poll_key()` also pumps the window's events."""

    headless = False
    message = ""

    def __init__(self, title: str) -> None:
        import cv2

        self._cv2 = cv2
        self.title = title
        # resizable, aspect kept, no Qt toolbar: the patient only needs the picture
        cv2.namedWindow(title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
        self._keys = PollKeySource()
        self.frames_shown = 0

    def show(self, frame: np.ndarray) -> None:
        if self.frames_shown == 0:
            self._cv2.resizeWindow(self.title, frame.shape[1], frame.shape[0])
        self._cv2.imshow(self.title, frame)
        self.frames_shown += 1

    def poll_key(self) -> int | None:
        return self._keys.poll()

    def closed_by_user(self) -> bool:
        """True once the window's close button was used."""
        try:
            return self._cv2.getWindowProperty(self.title, self._cv2.WND_PROP_VISIBLE) < 1
        except Exception:
            return True

    def close(self) -> None:
        try:
            self._cv2.destroyWindow(self.title)
            self._cv2.waitKey(1)
        except Exception:
            pass


def display_available() -> tuple[bool, str]:
    """(available, reason) without touching cv2's GUI."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                  or os.environ.get("WAYLAND_DISPLAY")):
        return False, "no display found (DISPLAY is not set)"
    return True, ""


def open_display(title: str = "NeckCoach", headless: bool = False) -> HeadlessDisplay | WindowDisplay:
    """A window if one can be opened, else a headless display with one warning."""
    if headless:
        return HeadlessDisplay("headless mode requested")
    ok, reason = display_available()
    if ok:
        try:
            return WindowDisplay(title)
        except Exception as exc:  # cv2 built without GUI, or the display refused us
            reason = f"cannot open a window ({type(exc).__name__}: {exc})"
    log.warning("%s; running headless (cues are spoken and recorded).", reason)
    return HeadlessDisplay(reason)
