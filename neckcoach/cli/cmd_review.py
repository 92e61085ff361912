"""`neckcoach review ROUTINE VIDEO...`: count and judge recordings made without the coach."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import click

from neckcoach.cli.cmd_run import EXIT_CODES_HELP, _load, _print_summary

_WINDOW = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*-\s*(\d+(?:\.\d*)?)\s*$")
# The progress bar is redrawn at most this often (a terminal write per frame costs more than it shows).
PROGRESS_EVERY_S = 0.2
_PROBLEM_NAMES = {"face_lost": "face lost", "two_faces": "two faces", "not_patient": "someone else in view",
                  "too_far": "too far", "too_close": "too close", "poor_light": "too dark",
                  "too_bright": "too bright"}


def _window(_ctx, _param, value: str | None) -> tuple[float, float] | None:
    if value is None:
        return None
    match = _WINDOW.match(value)
    if not match:
        raise click.BadParameter(f"expected START-END in seconds, e.g. 1.5-3, got {value!r}")
    start, end = float(match.group(1)), float(match.group(2))
    if not end - start >= 0.5:
        raise click.BadParameter(f"END must be at least 0.5 s after START, got {value!r}")
    return start, end


def _session_dirs(videos: tuple[str, ...], out_dir: str | None, routine_id: str) -> list[Path]:
    """--out is the session folder for one video, the parent of one folder per video for several."""
    from neckcoach.io.records import new_session_dir

    if out_dir is None:  # <data dir>/sessions/<time>-<routine>-<video name>, -2, -3... if taken
        dirs: list[Path] = []
        for video in videos:
            d = new_session_dir(f"{routine_id}-{Path(video).stem}")
            base, n = d, 2
            while d in dirs:
                d, n = base.with_name(f"{base.name}-{n}"), n + 1
            dirs.append(d)
        return dirs
    if len(videos) == 1:
        return [Path(out_dir)]
    dirs, seen = [], set()
    for video in videos:
        name, n = Path(video).stem or "video", 2
        while name in seen:
            name, n = f"{Path(video).stem}-{n}", n + 1
        seen.add(name)
        dirs.append(Path(out_dir) / name)
    return dirs


def _problem_lines(result) -> tuple[str, ...]:
    spans = [f"{_PROBLEM_NAMES.get(p['kind'], p['kind'])} {p['start_t_s']:.1f}-"
             + (f"{p['end_t_s']:.1f} s" if p.get("end_t_s") is not None else "end")
             for p in result.picture_problems]
    return ("picture problems: " + (", ".join(spans) if spans else "none"),) + _outside_lines(result)


def _outside_lines(result) -> tuple[str, ...]:
    """Quick movements made outside the exercises: listed for the therapist, not warned (see core.review).

    Said only when there were some, so that a recording of exercises alone reads as before."""
    moves = result.outside_exercises
    if not moves:
        return ()
    times = ", ".join(f"{m['t_s']:.1f}" for m in moves)
    return (f"quick head movements outside the exercises (not judged as exercise movements): "
            f"{len(moves)}, at {times} s",)


@click.command("review", epilog=EXIT_CODES_HELP + "\n\nWith several videos, the highest code of any.")
@click.argument("routine")
@click.argument("videos", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Session folder (with several videos: one folder per video inside it, named after "
                   "the video). Default: a new folder per video in your data dir.")
@click.option("--neutral", "neutral_window", callback=_window, default=None, metavar="START-END",
              help="Take the neutral from this stretch (seconds) instead of searching for it.")
@click.option("--report/--no-report", default=True, help="Write the HTML report for each video.")
def review(routine, videos, out_dir, neutral_window, report):
    """Count and judge ROUTINE in VIDEO(s) recorded without the coach.

    No calibration pause, count-in or rests are needed: the neutral is the
    stillest, most frontal stretch of at least 0.8 s anywhere in the video,
    each exercise is counted, in the routine's order, until the next one's
    movement starts, and the movements made while exercising are judged by
    the live coach's safety monitor (quick movements outside the exercises,
    such as talking, are listed apart, not warned). Each video gets the same
    session folder as `neckcoach run` (session.json, reps.csv, trace.csv,
    report.html).

    \b
    Examples:
      neckcoach review rotation home.mp4
      neckcoach review headache_programme mon.mp4 tue.mp4 --out week1
      neckcoach review rotation home.mp4 --neutral 2-4 --out checked --no-report
    """
    routine_path, r = _load(routine)
    dirs = _session_dirs(tuple(videos), out_dir, routine_path.stem)
    worker = None
    if report:
        from neckcoach.app.report_worker import ReportWorker

        worker = ReportWorker()  # forked now, before any frame or MediaPipe thread exists
    code = 0
    try:
        for i, (video, target) in enumerate(zip(videos, dirs), start=1):
            if len(videos) > 1:
                click.echo(f"[{i}/{len(videos)}] {video}")
            code = max(code, _review_one(r, routine_path, video, target, neutral_window, worker))
    finally:
        if worker is not None:
            worker.close()
    if code:
        sys.exit(code)


def _review_one(routine, routine_path: Path, video: str, target: Path, neutral_window, worker) -> int:
    from neckcoach.app.review import review_recording
    from neckcoach.io.records import RecordError
    from neckcoach.io.sources import SourceError

    stderr = sys.stderr
    try:
        count = _frame_count(video)  # None when the container does not say: no bar then
        bar = click.progressbar(length=count or 1, label=Path(video).name, file=stderr,
                                hidden=count is None or not stderr.isatty(), show_pos=True)
        with bar:
            last = [time.monotonic(), 0]

            def advance(index: int, _t_s: float) -> None:
                now = time.monotonic()
                if now - last[0] >= PROGRESS_EVERY_S:
                    bar.update(index + 1 - last[1])
                    last[:] = [now, index + 1]

            result = review_recording(routine, routine_path, video, target, neutral_window=neutral_window,
                                      on_frame=advance)
            bar.update(max(0, result.frames - last[1]))
    except (SourceError, ValueError) as exc:
        click.echo(f"neckcoach: {exc}", err=True)
        return 2
    except (RecordError, OSError) as exc:
        click.echo(f"neckcoach: cannot write the session record: {exc}", err=True)
        return 2
    click.echo(f"Neutral: {result.neutral.reason}" if result.neutral.found
               else "Neutral: none found")
    _print_summary(result, _problem_lines(result))
    if worker is not None:
        try:
            click.echo(f"Report: {worker.build(result.out_dir)}")
        except Exception as exc:  # the record is safe; a report can be rebuilt with `neckcoach report`
            click.echo(f"neckcoach: the report could not be written ({exc}); "
                       f"try: neckcoach report {result.out_dir}", err=True)
    return result.outcome.exit_code


def _frame_count(video: str) -> int | None:
    """The container's frame count for the progress bar (an estimate; None if unknown)."""
    import cv2

    cap = cv2.VideoCapture(str(video))
    try:
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    finally:
        cap.release()
    return count if count > 0 else None
