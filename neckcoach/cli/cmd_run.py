"""`neckcoach run` (a routine on a camera or a video) and `neckcoach demo` (no camera needed)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from neckcoach.cli.errors import UserError
from neckcoach.routine import RoutineError, load_routine, resolve_routine

DEMO_ROUTINE = "rotation"
DEMO_REPS = 4

# Shown in -h of every command that coaches or reviews (see neckcoach.core.outcome).
EXIT_CODES_HELP = """\b
Exit codes:
  0  repetitions were counted
  1  the routine has errors
  2  the camera, video or session folder cannot be used (or a wrong option)
  3  no neutral: you were never still and facing the screen long enough
  4  a neutral was taken but no repetition was counted (the summary says why)"""


def _session_options(f):
    for opt in reversed([
        click.option("--headless", is_flag=True, help="No window (servers, CI, batch review)."),
        click.option("--no-voice", is_flag=True, help="Cues on screen only."),
        click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
                     help="Session folder (default: a new folder in your data dir)."),
        click.option("--record", "record_path", type=click.Path(dir_okay=False), default=None,
                     help="Also write the overlay video to this .mp4 file."),
        click.option("--no-mirror", is_flag=True, help="Show the raw camera view instead of a mirror."),
        click.option("--big", is_flag=True, help="Extra-large text for demos at a distance."),
        click.option("--rate", "rate_wpm", type=click.IntRange(80, 300), default=None,
                     help="Speech rate, words per minute (default: the routine's)."),
        click.option("--volume", type=click.FloatRange(0, 1), default=None, help="Speech volume 0..1."),
        click.option("--voice", "voice_name", default=None, help="Speech engine voice id."),
        click.option("--report/--no-report", default=True, help="Write the HTML report at the end."),
        click.option("--pain-before", type=click.IntRange(0, 10), default=None, metavar="N",
                     help="Neck pain 0-10 before the session (answers the check-in; for headless runs)."),
        click.option("--pain-after", type=click.IntRange(0, 10), default=None, metavar="N",
                     help="Neck pain 0-10 after the session."),
        click.option("--headache-before/--no-headache-before", default=None,
                     help="A headache is (not) present before the session."),
        click.option("--headache-after/--no-headache-after", default=None,
                     help="A headache is (not) present after the session."),
        click.option("--no-checkin", is_flag=True,
                     help="Do not ask the check-in questions (answers given by flags are still kept)."),
    ]):
        f = opt(f)
    return f


def _load(routine: str):
    path = resolve_routine(routine)
    try:
        return path, load_routine(path)
    except RoutineError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)


def run_session(routine_path: Path, routine, frames, source_info: dict, *, headless: bool, no_voice: bool,
                out_dir, record_path, no_mirror: bool, big: bool, rate_wpm, volume, voice_name, report: bool,
                pace_to_source: bool = False, keys=None, measurement=None, pain_before=None, pain_after=None,
                headache_before=None, headache_after=None, no_checkin: bool = False,
                checkin_not_asked: str = ""):
    """Set up every stage, run the loop, print where the record is. Returns the RunResult."""
    from neckcoach.app.runner import SessionLoop
    from neckcoach.io.records import RecordError, SessionRecorder, new_session_dir

    try:
        target = Path(out_dir) if out_dir else new_session_dir(routine_path.stem)
        routine_info = {"title": routine.title, "path": str(routine_path), "id": routine_path.stem}
        if routine.schedule is not None:  # adherence in `progress`: sessions done against planned
            routine_info["sessions_per_week"] = routine.schedule.per_week
        recorder = SessionRecorder(target, routine_info, source=source_info)
    except (RecordError, OSError) as exc:
        raise UserError(f"cannot write the session record: {exc}") from exc

    display = None
    if not headless:
        from neckcoach.io.display import open_display

        display = open_display("NeckCoach", headless=False)
        if getattr(display, "message", ""):
            click.echo(f"neckcoach: {display.message}", err=True)
    voice = None
    if not no_voice:
        from neckcoach.io.voice import Voice

        v = routine.voice
        voice = Voice(rate_wpm=rate_wpm or v.rate_wpm, volume=v.volume if volume is None else volume,
                      voice=voice_name or v.voice)
    writer = None
    if record_path:
        writer = _video_writer(record_path, source_info)
    if measurement is None:
        from neckcoach.measure import Measurement

        measurement = Measurement()
    checkins = _checkin_options(display, source_info, no_checkin=no_checkin, not_asked=checkin_not_asked,
                                given_before={"pain": pain_before, "headache": headache_before},
                                given_after={"pain": pain_after, "headache": headache_after}, keys=keys)
    loop = SessionLoop(routine, measurement, recorder=recorder, voice=voice, display=display, keys=keys,
                       video_writer=writer, mirror=not no_mirror, big=big, pace_to_source=pace_to_source,
                       checkins=checkins, ask_for_view=source_info.get("kind") == "camera")
    result = loop.run(frames)
    if voice is not None and not voice.available:
        click.echo(f"neckcoach: {voice.status_message}", err=True)
    _print_summary(result)
    if result.outcome is not None and result.outcome.code == "no_neutral" and source_info.get("kind") == "video":
        click.echo("To count a recording made without the coach, use: neckcoach review ROUTINE VIDEO")
    _print_checkins(result)
    if report:
        from neckcoach.report.html import build_report

        try:
            html = build_report(result.out_dir)
            click.echo(f"Report: {html}")
        except Exception as exc:  # the record is safe; a report can be rebuilt with `neckcoach report`
            click.echo(f"neckcoach: the report could not be written ({exc}); "
                       f"try: neckcoach report {result.out_dir}", err=True)
    return result


NO_WINDOW = "not asked: no window to answer in"


def _checkin_options(display, source_info: dict, *, no_checkin: bool, not_asked: str, given_before: dict,
                     given_after: dict, keys=None):
    """Ask in the window when there is one; otherwise keep what the flags say and record why not asked."""
    from neckcoach.app.checkin import CheckinOptions

    window = display is not None and not getattr(display, "headless", True)
    ask = (window or keys is not None) and not no_checkin and not not_asked
    if not_asked:
        reason = not_asked
    elif no_checkin:
        reason = "not asked: --no-checkin"
    else:
        reason = NO_WINDOW
    return CheckinOptions(ask=ask, given_before=given_before, given_after=given_after,
                          live=source_info.get("kind") == "camera", skip_reason=reason)


def _checkin_line(entry: dict) -> str:
    if entry.get("phase") == "during":
        head = f"  stop key at {entry.get('t_s') or 0:.0f} s:"
    else:
        head = f"  check-in {entry.get('phase')}:"
    parts = []
    if entry.get("pain_0_10") is not None:
        parts.append(f"neck pain {entry['pain_0_10']}/10")
    if entry.get("headache") is not None:
        parts.append("headache" if entry["headache"] else "no headache")
    rules = entry.get("stop_rules") or {}
    said_yes = [r for r, v in rules.items() if v]
    if said_yes:
        parts.append("stop: " + ", ".join(said_yes))
    elif rules and all(v is False for r, v in rules.items() if r != "pain_rise"):
        parts.append("no stop symptoms")
    status = entry.get("status")
    missing = [_QUESTION_WORDS.get(a.get("id"), str(a.get("id"))) for a in entry.get("answers") or []
               if a.get("status") not in ("answered", "not_needed")]
    if status not in ("complete", "stopped") and missing:
        why = {"timed_out": ": no answer within 20 s", "skipped": ": skipped"}.get(
            status, " " + (entry.get("note") or "not answered"))
        parts.append(", ".join(missing) + why)
    return head + " " + "; ".join(parts)


_QUESTION_WORDS = {"pain": "neck pain", "headache": "headache", "symptoms": "stop symptoms",
                   "symptoms_now": "symptom"}


def _print_checkins(result) -> None:
    for entry in result.checkins:
        click.echo(_checkin_line(entry))
    if result.checkins and all(c.get("status") == "not_asked" and c.get("note") == NO_WINDOW
                               for c in result.checkins):
        click.echo("  (give --pain-before N / --pain-after N to record neck pain in a run without a window)")
    if result.stop:
        click.echo(f"STOP RULE ({result.stop['rule']}): {result.stop['message']}")


class _LazyVideoWriter:
    """Opens the mp4 writer at the first frame, when the overlay size is known."""

    def __init__(self, path: str, fps: float):
        self.path, self.fps, self._writer = path, fps, None

    def write(self, image) -> None:
        import cv2

        if self._writer is None:
            h, w = image.shape[:2]
            self._writer = cv2.VideoWriter(self.path, cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (w, h))
        self._writer.write(image)

    def release(self) -> None:
        if self._writer is not None:
            self._writer.release()


def _video_writer(path: str, source_info: dict) -> _LazyVideoWriter:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return _LazyVideoWriter(path, float(source_info.get("fps") or 30.0))


def _print_summary(result, details: tuple[str, ...] = ()) -> None:
    """The end-of-session summary (`run`, `demo` and `review`): counts, warnings, what it means.

    `details` are extra indented lines after the warnings (review: picture problems).
    """
    session = result.session
    click.echo(f"Session ended: {result.ended_reason} ({result.frames} frames, "
               f"{result.processing_fps:.1f} frames/s processed)")
    for ex in session.get("exercises", []):
        partial = sum(1 for r in ex.get("reps", []) if not r.get("complete"))
        click.echo(f"  {ex.get('name')}: {ex.get('reps_completed')} / {ex.get('reps_target')} reps"
                   + (f", {partial} partial" if partial else "")
                   + ("" if ex.get("seen", True) else " (not seen)"))
    warnings = session.get("warnings", [])
    kinds: dict[str, int] = {}
    for w in warnings:
        kinds[w["kind"]] = kinds.get(w["kind"], 0) + 1
    click.echo("  warnings: " + (", ".join(f"{k} x{n}" for k, n in sorted(kinds.items())) or "none"))
    for line in details:
        click.echo(f"  {line}")
    outcome = getattr(result, "outcome", None)
    if outcome is not None:
        click.echo(outcome.message)
    if result.out_dir is not None:
        click.echo(f"Session record: {result.out_dir}")


def _exit_with(result) -> None:
    """Exit with the outcome's code (0 when something was counted)."""
    outcome = getattr(result, "outcome", None)
    if outcome is not None and outcome.exit_code:
        sys.exit(outcome.exit_code)


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("routine")
@click.option("--camera", type=int, default=None, help="Camera index (default 0 unless --video is given).")
@click.option("--video", type=click.Path(dir_okay=False), default=None, help="Run on a recorded video instead.")
@click.option("--width", type=int, default=640, show_default=True, help="Camera frame width.")
@click.option("--height", type=int, default=480, show_default=True, help="Camera frame height.")
@click.option("--fps", type=float, default=30.0, show_default=True, help="Camera frame rate.")
@click.option("--hfov-deg", type=click.FloatRange(30.0, 120.0), default=60.0, show_default=True,
              help="The camera's horizontal field of view, from its specification. Chin-tuck depths "
                   "scale with it: a 78 deg camera taken for 60 reads tucks about 1.4x too deep.")
@_session_options
def run(routine, camera, video, width, height, fps, hfov_deg, **options):
    """Coach a routine live on the webcam, or on a video of someone following the coach.

    A video recorded without the coach (no calibration pause, no count-in) is
    counted with `neckcoach review` instead.

    \b
    Examples:
      neckcoach run rotation                      webcam 0, window and voice
      neckcoach run my_routine.yaml --camera 1 --big
      neckcoach run rotation --video clip.mp4 --headless --no-voice --out session1
      neckcoach run rotation --video clip.mp4 --headless --pain-before 3 --no-headache-before --pain-after 2
      neckcoach run retraction --hfov-deg 78      a camera whose specification gives 78 deg across

    
    Before and after the session the window asks neck pain (0-10), headache and the routine's stop
    symptoms (number keys, Y/N, Enter; Esc skips). During the session press S if you feel unwell.
    """
    from neckcoach.io.sources import CameraSource, VideoFileSource

    if video is not None and camera is not None:
        raise click.UsageError("give --camera or --video, not both")
    routine_path, r = _load(routine)
    try:
        if video is not None:
            source = VideoFileSource(video)
            info = {"kind": "video", "path": str(video), "fps": getattr(source, "fps", None)}
        else:
            index = 0 if camera is None else camera
            source = CameraSource(index, width, height, fps)
            info = {"kind": "camera", "index": index, "fps": fps, "backend": source.backend}
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    from neckcoach.measure import Measurement

    info["hfov_deg"] = hfov_deg  # kept in the record: the depths read depend on it
    with source:
        result = run_session(routine_path, r, source, info, measurement=Measurement(hfov_deg=hfov_deg),
                             **options)
    _exit_with(result)


@click.command(epilog=EXIT_CODES_HELP)
@click.option("--camera", type=int, default=None, help="Run the demo live on this camera instead.")
@click.option("--routine", "routine_name", default=DEMO_ROUTINE, show_default=True, help="Bundled routine to show.")
@click.option("--reps", type=click.IntRange(1, 20), default=DEMO_REPS, show_default=True,
              help="Repetitions the virtual patient does per exercise.")
@click.option("--clean", is_flag=True, help="Virtual patient makes no mistakes (default: one sudden flick).")
@_session_options
def demo(camera, routine_name, reps, clean, **options):
    """Demo: a virtual patient does a routine while the coach watches; no camera needed.

    The patient is a rendered 3D head scan moving with known angles; by default it makes one
    sudden, jerky movement so you can see and hear the safety warning.

    \b
    Examples:
      neckcoach demo                       window and voice where available
      neckcoach demo --headless --no-voice --out /tmp/demo
      neckcoach demo --camera 0            the same routine, live on your webcam
    """
    from neckcoach.app.demo_clip import demo_frames, demo_routine

    routine_path, r = _load(routine_name)
    r = demo_routine(r, reps=reps)
    if camera is not None:
        from neckcoach.io.sources import CameraSource

        try:
            source = CameraSource(camera)
        except ValueError as exc:
            raise UserError(str(exc)) from exc
        with source:
            result = run_session(routine_path, r, source, {"kind": "camera", "index": camera, "fps": 30.0,
                                                           "backend": source.backend}, **options)
        _exit_with(result)
        return
    mistakes = () if clean else ("jerky",)
    click.echo(f"Demo: a virtual patient does {r.title!r} ({reps} reps per exercise"
               + (", with one sudden jerky movement" if mistakes else "") + ").")
    click.echo("Head scan: 'Infinite, 3D Head Scan' by Lee Perry-Smith, CC BY 3.0 (www.triplegangers.com).")
    frames, info = demo_frames(r, routine_path, reps=reps, mistakes=mistakes)
    result = run_session(routine_path, r, frames, info, pace_to_source=not options["headless"],
                         checkin_not_asked="not asked: demo with a virtual patient", **options)
    _exit_with(result)
