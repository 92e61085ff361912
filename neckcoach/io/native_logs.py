"""Keep the native libraries' log lines out of the user's terminal.

MediaPipe's C++ graph (absl logging) and TensorFlow Lite write their own
progress notes straight to file descriptor 2 from native threads, e.g.
`INFO: Created TensorFlow Lite XNNPACK delegate for CPU.` and
`W0000 00:00:... inference_feedback_manager.cc:114] Feedback manager ...`.
No Python setting reaches them (absl's threshold is a C++ flag, TFLite's
minimal logging has none), so `quiet_native_logs` puts a pipe on descriptor 2
and a reader thread forwards everything except those lines to the real
stderr. Python's own `sys.stderr` is pointed at a copy of the real stderr, so
the program's messages and tracebacks are never delayed or reordered.

Only informational and warning lines are dropped: an error or fatal line
(`E...`/`F...`, `ERROR:`) still reaches the user, since it is usually the
last word before something fails. `neckcoach --verbose` skips all this.
"""

from __future__ import annotations

import atexit
import io
import os
import re
import sys
import threading

# absl / glog: severity letter, MMDD, time (before absl is initialised, seconds since
# the epoch: "W0000 00:00:1796121301.900326"), thread id, file:line]
_ABSL = re.compile(rb"^[IW]\d{4} [\d:.]+\s+\d+ [^\]\s]+:\d+\] ")
# TensorFlow Lite's minimal logging, and absl's note that it is not initialised.
_TFLITE = re.compile(rb"^(INFO|VERBOSE|WARNING): ")

_state: dict[str, object] = {}


def is_native_log_line(line: bytes) -> bool:
    """True for an informational or warning line of absl/glog or TensorFlow Lite."""
    return bool(_ABSL.match(line) or _TFLITE.match(line))


def _forward(read_fd: int, write_fd: int) -> None:
    """Copy lines from the pipe to the real stderr, leaving out native log lines."""
    pending = b""
    while True:
        try:
            chunk = os.read(read_fd, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            break
        pending += chunk
        *lines, pending = pending.split(b"\n")
        kept = b"".join(line + b"\n" for line in lines if not is_native_log_line(line))
        if kept:
            _write_all(write_fd, kept)
    if pending and not is_native_log_line(pending):
        _write_all(write_fd, pending)
    os.close(read_fd)


def _write_all(fd: int, data: bytes) -> None:
    try:
        while data:
            data = data[os.write(fd, data):]
    except OSError:
        pass


def quiet_native_logs() -> bool:
    """Filter native log lines out of descriptor 2 for the rest of the process.

    Idempotent. Does nothing (and returns False) when `sys.stderr` is not the
    process's descriptor 2, e.g. under a test runner that captures output.
    """
    if _state:
        return True
    try:
        if sys.stderr is None or sys.stderr.fileno() != 2:
            return False
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return False
    sys.stderr.flush()
    real = os.dup(2)
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    reader = threading.Thread(target=_forward, args=(read_fd, real), name="native-log-filter",
                              daemon=True)
    reader.start()
    old = sys.stderr
    sys.stderr = io.TextIOWrapper(io.FileIO(os.dup(real), "w"), encoding=old.encoding,
                                  errors=old.errors, line_buffering=True)
    _state.update(reader=reader, real=real)
    atexit.register(_drain)
    return True


def _drain() -> None:
    """At exit: put /dev/null on descriptor 2 so the reader sees the pipe end, and let it finish.

    (Native teardown may still log after this; it goes nowhere.)
    """
    reader = _state.get("reader")
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except OSError:
        return
    if isinstance(reader, threading.Thread):
        reader.join(timeout=2.0)


__all__ = ["is_native_log_line", "quiet_native_logs"]
