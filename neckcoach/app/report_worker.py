"""Build report.html in a second process that loaded matplotlib while the video was measured.

Importing matplotlib and the report code takes about as long as a few
seconds of face mesh, and face mesh keeps only about one core busy; a forked
worker does that import on the other core during the measuring pass, so only
drawing the figures is left once the session is written. The worker is
forked before MediaPipe or any frame thread starts (forking a process with
those running is unsafe). Where `fork` is not available the report is built
in this process, as `neckcoach run` does.
"""

from __future__ import annotations

import importlib
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path


def _warm_up() -> bool:
    """Import what `build_report` needs (run in the worker)."""
    importlib.import_module("neckcoach.report.html")
    return True


def _build(session_dir: str) -> str:
    from neckcoach.report.html import build_report

    return str(build_report(session_dir))


class ReportWorker:
    """`build(session_dir)` returns the report's path; `close()` ends the worker."""

    def __init__(self, *, fork: bool = True) -> None:
        self._pool: ProcessPoolExecutor | None = None
        if fork and "fork" in multiprocessing.get_all_start_methods():
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
            self._warm: Future = self._pool.submit(_warm_up)

    @property
    def forked(self) -> bool:
        return self._pool is not None

    def build(self, session_dir: str | Path) -> Path:
        """The report of one session folder; errors from `build_report` are raised here."""
        if self._pool is not None:
            try:
                return Path(self._pool.submit(_build, str(session_dir)).result())
            except BrokenProcessPool:  # the worker died (e.g. killed): build it here instead
                self._pool = None
        return Path(_build(str(session_dir)))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> "ReportWorker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["ReportWorker"]
