"""Commands that run the virtual patient: simulate (clip + truth) and preview."""

from __future__ import annotations

import os
import shlex
import sys

import click

from neckcoach.cli.errors import UserError
from neckcoach.routine import RoutineError, load_routine, resolve_routine
from neckcoach.sim.scripted import MISTAKES, script_for_routine


def _mistakes(_ctx, _param, value: str | None) -> tuple[str, ...]:
    items = tuple(m.strip() for m in (value or "").split(",") if m.strip())
    bad = [m for m in items if m not in MISTAKES]
    if bad:
        raise click.BadParameter(f"unknown mistake(s) {', '.join(bad)}; choose from {', '.join(MISTAKES)}")
    return items


def _script(routine_name: str, seed: int, mistakes, max_reps: int | None, max_sets: int | None,
            max_rest_s: float | None):
    try:
        routine = load_routine(resolve_routine(routine_name))
    except RoutineError as exc:
        raise click.ClickException(f"cannot load routine {routine_name}:\n{exc}") from None
    try:
        return routine, script_for_routine(routine, seed=seed, mistakes=mistakes, max_reps_per_exercise=max_reps,
                                           max_sets=max_sets, max_rest_s=max_rest_s)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


_common = [
    click.argument("routine"),
    click.option("--mistakes", callback=_mistakes, default="", metavar="LIST",
                 help=f"Comma-separated mistakes to make once each: {', '.join(MISTAKES)}."),
    click.option("--seed", type=int, default=0, show_default=True, help="Seed: same seed, same clip."),
    click.option("--fps", type=click.FloatRange(1, 120), default=30.0, show_default=True, help="Frame rate."),
    click.option("--max-reps", type=click.IntRange(1, 50), default=None, help="Cap reps per set (per side)."),
    click.option("--max-sets", type=click.IntRange(1, 10), default=None, help="Cap sets per exercise."),
    click.option("--max-rest", "max_rest_s", type=click.FloatRange(0, 600), default=None,
                 help="Cap rests between sets, seconds."),
]


def _with_common(f):
    for deco in reversed(_common):
        f = deco(f)
    return f


@click.command()
@_with_common
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--noise", type=click.FloatRange(0, 100), default=0.0, help="Pixel noise sigma (grey levels).")
@click.option("--drop", "drop_prob", type=click.FloatRange(0, 0.9), default=0.0, help="Share of frames dropped.")
def simulate(routine, mistakes, seed, fps, max_reps, max_sets, max_rest_s, out_dir, noise, drop_prob):
    """Render the virtual patient doing ROUTINE: clip.mp4 + truth.csv + events.json.

    ROUTINE is a file or the name of a bundled routine. truth.csv has one row
    per video frame with the exact angles rendered. The patient in the clip
    keeps to the routine's timing, not to a coach's cues, so count it with
    `neckcoach review`: `run --video` coaches it as if live, and a rep made
    before the coach's own start (its camera check and neutral) is not counted.

    \b
    Examples:
      neckcoach simulate rotation --out /tmp/rot --max-reps 2 --mistakes jerky
      neckcoach simulate my_routine.yaml --out clip_dir --seed 3 --fps 15
    """
    from neckcoach.sim.clip import write_clip

    _routine, script = _script(routine, seed, mistakes, max_reps, max_sets, max_rest_s)
    summary = write_clip(script, out_dir, fps=fps, seed=seed, drop_prob=drop_prob,
                         render={"noise": noise} if noise else None)
    click.echo(f"wrote {summary['frames']} frames ({summary['duration_s']:.1f} s at {fps:g} fps), "
               f"{summary['events']} events, mistakes: {','.join(mistakes) or 'none'} -> {out_dir}")
    clip = os.path.join(out_dir, "clip.mp4")
    click.echo(f"count it with: neckcoach review {shlex.quote(routine)} {shlex.quote(clip)}")


@click.command()
@_with_common
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Write preview.mp4 here instead of opening a window.")
def preview(routine, mistakes, seed, fps, max_reps, max_sets, max_rest_s, out_dir):
    """Play the virtual patient performing ROUTINE in a window (q quits).

    Without a display, give --out to write a preview video instead.

    \b
    Examples:
      neckcoach preview rotation --max-reps 2
      neckcoach preview headache_programme --out /tmp/preview --max-reps 1
    """
    import cv2

    from neckcoach.io.display import display_available
    from neckcoach.sim.clip import VirtualPatientSource

    shown, why = display_available()
    if out_dir is None and not shown:
        raise UserError(f"{why}; use --out DIR to write a preview video instead")
    routine_obj, script = _script(routine, seed, mistakes, max_reps, max_sets, max_rest_s)
    source = VirtualPatientSource(script, fps, seed=seed)
    writer = None
    if out_dir is not None:
        os.makedirs(out_dir, exist_ok=True)
        path = os.path.join(out_dir, "preview.mp4")
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), fps,
                                 (source.renderer.width, source.renderer.height))
    frames = 0
    try:
        for t, frame, truth in source:
            bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
            text = (f"{routine_obj.title}  t={t:5.1f}s  yaw {truth.yaw_deg:+5.1f}  pitch {truth.pitch_deg:+5.1f}"
                    f"  roll {truth.roll_deg:+5.1f}  retr {truth.retraction_mm:+4.1f}mm")
            cv2.putText(bgr, text, (8, bgr.shape[0] - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1,
                        cv2.LINE_AA)
            frames += 1
            if writer is not None:
                writer.write(bgr)
                continue
            cv2.imshow("NeckCoach virtual patient", bgr)
            if cv2.waitKey(max(1, int(1000 / fps))) & 0xFF == ord("q"):
                break
    finally:
        if writer is not None:
            writer.release()
        else:
            cv2.destroyAllWindows()
    where = f" -> {os.path.join(out_dir, 'preview.mp4')}" if out_dir else ""
    click.echo(f"previewed {frames} frames ({script.duration_s:.1f} s){where}")
    sys.stdout.flush()
