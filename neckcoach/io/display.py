"""The on-screen window, or a headless stand-in when there is no display.

Opening a HighGUI window without a display aborts or raises deep inside cv2,
so the display is probed first (on Linux and other X11 systems: an X server
must be reachable, since OpenCV's Qt window talks X11, through XWayland on a
Wayland desktop; Windows and macOS always have their own window system), then
a real window is attempted, and the app falls back to headless with one
message instead of crashing: coaching, voice and the session record still work.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Mapping

import numpy as np

from neckcoach.io.keys import PollKeySource

log = logging.getLogger(__name__)

X11_SOCKETS = Path("/tmp/.X11-unix")
"""Where a local X server (Xorg, XWayland, Xvfb) listens: X<display number>."""


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


def display_available(platform: str = sys.platform,
                      environ: Mapping[str, str] | None = None) -> tuple[bool, str]:
    """(available, reason) without touching cv2's GUI: Qt aborts the process, uncatchably,
    when it cannot reach the X server, so a window is only tried where one is reachable."""
    if platform in ("win32", "darwin"):
        return True, ""
    env = os.environ if environ is None else environ
    display = env.get("DISPLAY", "")
    if not display:
        if env.get("WAYLAND_DISPLAY"):
            return False, "no X display (DISPLAY is not set): the window needs XWayland on a Wayland desktop"
        return False, "no display found (DISPLAY is not set)"
    host, _, number = display.rpartition(":")
    if host in ("", "unix"):  # a local server listens on /tmp/.X11-unix/X<number>
        socket = X11_SOCKETS / f"X{number.split('.')[0]}"
        if not socket.exists():
            return False, f"no X server answers at DISPLAY={display} ({socket} does not exist)"
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
