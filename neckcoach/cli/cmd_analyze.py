"""`neckcoach analyze VIDEO --out DIR`: headless measurement of a recording."""

from __future__ import annotations

import click


def _window(value: str | None) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        start, end = (float(v) for v in value.split(":"))
    except ValueError:
        raise click.BadParameter(f"expected START:END in seconds, got {value!r}")
    if not 0 <= start < end:
        raise click.BadParameter(f"need 0 <= START < END, got {value!r}")
    return start, end


@click.command("analyze")
@click.argument("video", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for trace.csv and summary.json.")
@click.option("--neutral-s", type=click.FloatRange(0.2, 60.0), default=2.0, show_default=True,
              help="Seconds at the start of the video taken as the neutral pose.")
@click.option("--neutral-from", "neutral_from", default=None, metavar="START:END",
              help="Take the neutral from this time window (seconds) instead.")
@click.option("--hfov-deg", type=click.FloatRange(20.0, 150.0), default=60.0, show_default=True,
              help="Horizontal field of view of the camera that recorded the video.")
@click.option("--pose/--no-pose", "use_pose", default=False, show_default=True,
              help="Also run the body pose model (trunk angles; slower).")
def analyze_cmd(video: str, out_dir: str, neutral_s: float, neutral_from: str | None,
                hfov_deg: float, use_pose: bool) -> None:
    """Measure head angles in VIDEO and write DIR/trace.csv and DIR/summary.json.

    \b
    Example:
      neckcoach analyze session.mp4 --out results/ --neutral-from 1:3
    """
    from neckcoach.analyze import analyze_video, describe_range
    from neckcoach.io.sources import VideoFileSource

    window = _window(neutral_from)
    VideoFileSource(video).close()  # a missing or unreadable file is named before MediaPipe loads
    result = analyze_video(video, out_dir, neutral_s=neutral_s, neutral_window=window,
                           hfov_deg=hfov_deg, use_pose=use_pose)
    s = result.summary
    if not result.calibration_ok:
        click.echo(f"warning: neutral check failed ({result.calibration_reason}); "
                   "used the median of the window anyway", err=True)
    r, bounds = s["ranges"], set(s["ranges_lower_bound"])

    def rng(key: str) -> str:
        return describe_range(r[key], key in bounds, "mm" if key.endswith("_mm") else "°")

    click.echo(f"{s['frames']} frames, detection {100 * s['detection_rate']:.0f}%, "
               f"{s['fps_processed']} fps processed")
    click.echo(f"ranges from trusted values only: rotation left {rng('rotation_left_deg')}, "
               f"right {rng('rotation_right_deg')}; flexion {rng('flexion_deg')}, "
               f"extension {rng('extension_deg')}; side bend left {rng('side_bend_left_deg')}, "
               f"right {rng('side_bend_right_deg')}; retraction {rng('retraction_mm')}")
    click.echo(f"wrote {out_dir}/trace.csv and {out_dir}/summary.json")
