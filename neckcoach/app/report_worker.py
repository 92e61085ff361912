"""Build report.html in worker processes that loaded matplotlib while the video was measured.

Importing matplotlib and the report code costs about 0.5 s of CPU, and
drawing the three figures another 0.5 s; face mesh keeps only about one core
busy during the measuring pass. So two workers are forked before the pass,
each importing (and warming up) matplotlib on the spare core meanwhile; once
the session is written, they draw the figures in parallel (angle trace and
ranges in one, the per-rep figure in the other) and one of them writes the
page. Forking happens before MediaPipe or any frame thread starts (forking a
process with those running is unsafe). Where `fork` is not available, or a
worker dies, the report is built in this process, as `neckcoach run` does.
"""

from __future__ import annotations

import importlib
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

# What each worker draws: two groups of about the same cost (angle trace + ranges; reps).
FIGURE_GROUPS = (("angles", "range"), ("reps",))


def _warm_up() -> None:
    """Run in each worker as it starts: import the report code and draw a throwaway figure
    (the first figure of a process pays for font loading and text layout set-up)."""
    import io

    importlib.import_module("neckcoach.report.html")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 1))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], label="warm-up")
    ax.set_title("warm-up")
    ax.legend()
    fig.savefig(io.BytesIO(), format="png")


def _ready() -> bool:
    return True


def _figures(session_dir: str, names: tuple[str, ...]) -> dict[str, bytes]:
    from neckcoach.io.records import load_session
    from neckcoach.report.html import render_figures

    return render_figures(load_session(session_dir), names)


def _build(session_dir: str, pngs: dict[str, bytes] | None = None) -> str:
    from neckcoach.report.html import build_report

    return str(build_report(session_dir, pngs=pngs))


class ReportWorker:
    """`build(session_dir)` returns the report's path; `close()` ends the workers."""

    def __init__(self, *, fork: bool = True) -> None:
        self._pool: ProcessPoolExecutor | None = None
        if fork and "fork" in multiprocessing.get_all_start_methods():
            self._pool = ProcessPoolExecutor(max_workers=len(FIGURE_GROUPS),
                                             mp_context=multiprocessing.get_context("fork"),
                                             initializer=_warm_up)
            self._pool.submit(_ready)  # with fork, every worker process starts now

    @property
    def forked(self) -> bool:
        return self._pool is not None

    def build(self, session_dir: str | Path) -> Path:
        """The report of one session folder; errors from `build_report` are raised here."""
        if self._pool is not None:
            try:
                parts = [self._pool.submit(_figures, str(session_dir), group) for group in FIGURE_GROUPS]
                pngs = {name: png for part in parts for name, png in part.result().items()}
                return Path(self._pool.submit(_build, str(session_dir), pngs).result())
            except BrokenProcessPool:  # a worker died (e.g. killed): build it here instead
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
