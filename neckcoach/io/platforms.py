"""What differs between Windows, macOS and Linux outside the devices: folders and signals.

Each function takes the platform (a ``sys.platform`` value) so tests can ask for
another one; the camera backends live in ``sources``, the speech drivers in
``voice`` and the window check in ``display``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

APP_NAME = "neckcoach"


def _user_dirs(platform: str) -> Any:
    """platformdirs for `platform`. No app author: on Windows it would nest the folder
    twice (``AppData\\Local\\neckcoach\\neckcoach``)."""
    if platform == "win32":
        from platformdirs.windows import Windows as Dirs
    elif platform == "darwin":
        from platformdirs.macos import MacOS as Dirs
    else:
        from platformdirs.unix import Unix as Dirs
    return Dirs(APP_NAME, appauthor=False)


def data_dir(platform: str = sys.platform) -> Path:
    """Sessions and the history database: ``NECKCOACH_HOME`` if set, else the user's data
    folder (``~/.local/share/neckcoach``, ``~/Library/Application Support/neckcoach``,
    ``%LOCALAPPDATA%\\neckcoach``; not the roaming profile, as session videos are large)."""
    override = os.environ.get("NECKCOACH_HOME")
    if override:
        return Path(override).expanduser()
    return Path(_user_dirs(platform).user_data_dir)


def cache_dir(platform: str = sys.platform) -> Path:
    """Files that can be made again (the demo's rendered clip): ``NECKCOACH_HOME/cache``, else
    the user's cache folder (``~/.cache/neckcoach``, ``~/Library/Caches/neckcoach``,
    ``%LOCALAPPDATA%\\neckcoach\\Cache``)."""
    override = os.environ.get("NECKCOACH_HOME")
    if override:
        return Path(override).expanduser() / "cache"
    return Path(_user_dirs(platform).user_cache_dir)


def opengl_platform(platform: str = sys.platform) -> str | None:
    """PyOpenGL platform for the off-screen renderer when the user set none.

    Linux and other X11 systems: EGL, which renders without any display (Mesa's CPU
    renderer where there is no GPU). Windows and macOS have no EGL in PyOpenGL; left
    unset, pyrender opens a hidden pyglet window on the native OpenGL (WGL, CGL).
    """
    return None if platform in ("win32", "darwin") else "egl"


def make_pyopengl_compatible(byref_type: type | None = None) -> None:
    """Let PyOpenGL 3.1.0 take ctypes' by-reference arguments on Python 3.12 too.

    pyrender 0.1.45 pins PyOpenGL 3.1.0, which finds its handler for `ctypes.byref(...)`
    values by the type's qualified name, `builtins.CArgObject` until Python 3.11 and
    `_ctypes.CArgObject` from 3.12; without it every glGen*/glGet* call with an output
    argument fails ("No array-type handler"), so the virtual patient cannot render. This
    adds the running Python's name to that handler (as PyOpenGL 3.1.7 does); where the
    name is already known it changes nothing.
    """
    import ctypes

    try:
        from OpenGL.plugins import FormatHandler
    except ImportError:  # no OpenGL: nothing renders, and nothing to adapt
        return
    kind = byref_type or type(ctypes.byref(ctypes.c_int()))
    handler = FormatHandler.by_name("ctypesparameter")
    name = f"{kind.__module__}.{kind.__name__}"
    if handler is not None and isinstance(handler.check, list) and name not in handler.check:
        handler.check.append(name)


def termination_signals(platform: str = sys.platform) -> tuple[str, ...]:
    """Names of the signals that ask a running session to end (and save its record).

    POSIX: SIGTERM (kill, a logout, a service manager) and SIGHUP (the terminal closed).
    Windows delivers neither from outside the process; closing the console window or
    Ctrl+Break reaches Python as SIGBREAK (the C runtime maps every console control
    event but Ctrl+C to it). SIGTERM stays for a raise from inside the process.
    """
    if platform == "win32":
        return ("SIGBREAK", "SIGTERM")
    return ("SIGTERM", "SIGHUP")


def on_termination(handler: Callable[[int, Any], None], platform: str = sys.platform,
                   signals: ModuleType = signal) -> Callable[[], None]:
    """Route the platform's termination signals to `handler`; returns a function that
    puts the previous handlers back. Off the main thread nothing is installed
    (Python only lets the main thread set handlers)."""
    previous: dict[int, Any] = {}
    for name in termination_signals(platform):
        number = getattr(signals, name, None)
        if number is None:
            continue
        try:
            previous[number] = signals.signal(number, handler)
        except (ValueError, OSError):  # not the main thread, or not settable here
            continue

    def restore() -> None:
        for number, old in previous.items():
            if old is not None:  # None: set outside Python, nothing to put back
                with contextlib.suppress(ValueError, OSError):
                    signals.signal(number, old)

    return restore
