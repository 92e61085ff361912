"""Keyboard control: key codes -> app actions, from an injectable key source.

The source is a tiny protocol (`poll() -> int | None`) so the live loop can be
driven by cv2.waitKey in the app and by a script of timed keys in tests.
"""

from __future__ import annotations

from enum import Enum
from typing import Callable, Protocol


class Action(str, Enum):
    PAUSE_TOGGLE = "pause_toggle"
    RECALIBRATE = "recalibrate"
    SKIP = "skip"
    QUIT = "quit"
    SYMPTOMS = "symptoms"


ESC = 27
KEYMAP: dict[int, Action] = {
    ord(" "): Action.PAUSE_TOGGLE,
    ord("c"): Action.RECALIBRATE,
    ord("C"): Action.RECALIBRATE,
    ord("n"): Action.SKIP,
    ord("N"): Action.SKIP,
    ord("q"): Action.QUIT,
    ord("Q"): Action.QUIT,
    ESC: Action.QUIT,
    ord("s"): Action.SYMPTOMS,
    ord("S"): Action.SYMPTOMS,
}

# Check-in keys -> the key names of neckcoach.core.checkin. Enter is 13 from
# HighGUI on most platforms and 10 on some; Backspace 8 or 127 (macOS). Esc and
# Q skip the rest of a check-in (they never quit the session from inside one).
CHECKIN_KEYS: dict[int, str] = {
    **{ord(d): d for d in "0123456789"},
    ord("."): ".", ord(","): ".",
    ord("y"): "y", ord("Y"): "y", ord("n"): "n", ord("N"): "n",
    13: "enter", 10: "enter", 8: "backspace", 127: "backspace",
    ESC: "skip_all", ord("q"): "skip_all", ord("Q"): "skip_all",
}


def checkin_key(key: int | None) -> str | None:
    """The check-in key name of a key code (low byte only, as for `action_for`)."""
    if key is None or key < 0:
        return None
    return CHECKIN_KEYS.get(key & 0xFF)


class KeySource(Protocol):
    def poll(self) -> int | None: ...


def action_for(key: int | None) -> Action | None:
    """The action bound to a key code (cv2 may set high bits: only the low byte counts)."""
    if key is None or key < 0:
        return None
    return KEYMAP.get(key & 0xFF)


class PollKeySource:
    """cv2.pollKey-based keys; also pumps the HighGUI event loop, so call it once per frame.

    Not cv2.waitKey(1): that sleeps at least 1 ms, which the frame loop would
    pay every frame (benchmarks/README.md).
    """

    def __init__(self, poll_key: Callable[[], int] | None = None) -> None:
        if poll_key is None:
            import cv2

            poll_key = cv2.pollKey
        self._poll_key = poll_key

    def poll(self) -> int | None:
        key = self._poll_key()
        return None if key is None or key < 0 else key & 0xFF


class ScriptedKeys:
    """Keys pressed at given times: `ScriptedKeys({2.0: ' ', 5.0: 'q'})`.

    `advance(t_s)` moves the script clock (the caller's timestamps); `poll()`
    then returns each due key once, in time order.
    """

    def __init__(self, script: dict[float, int | str]) -> None:
        items = []
        for t, key in script.items():
            if isinstance(key, str) and len(key) != 1:
                raise ValueError(f"script keys must be one character or an int code, got {key!r}")
            code = ord(key) if isinstance(key, str) else int(key)
            items.append((float(t), code))
        self._items = sorted(items)
        self._now = float("-inf")

    def advance(self, t_s: float) -> None:
        self._now = t_s

    def poll(self) -> int | None:
        if self._items and self._items[0][0] <= self._now:
            return self._items.pop(0)[1]
        return None

    @property
    def remaining(self) -> int:
        return len(self._items)
