"""Export a clip's calibrated head values (before the filter) as a golden CSV for tests.

Why: a test that replays what the real pipeline read on a rendered clip or a
real one (face mesh, the followed points, the estimator, the neutral) checks
the filter and the coach against the measurement's own errors, which
synthetic streams only imitate, without MediaPipe or rendering in the test.

    .venv/bin/python benchmarks/golden_relative.py CACHE.npz OUT.csv [--from S --to S]
    .venv/bin/python benchmarks/golden_relative.py VIDEO.mp4 OUT.csv [--from S --to S]

CACHE.npz is a clip captured by `benchmarks/accuracy.py --cache` (the neutral is
taken from its first second, as there; the truth columns are the rendered
head's). A video is read as `neckcoach analyze` reads it (the neutral from
its first 2 s; no truth, those columns empty). Columns: `GOLDEN_COLUMNS`.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import accuracy  # noqa: E402

from neckcoach.analyze import neutral_from_window, poses_from_frames, read_video  # noqa: E402

GOLDEN_COLUMNS = ("t_s", "face_found", "yaw_deg", "pitch_deg", "roll_deg", "retraction_mm", "confidence",
                  "reliable", "yaw_reliable", "pitch_reliable", "roll_reliable", "retraction_reliable",
                  "lower_bounds", "tracked", "faces", "face_width_px", "brightness", "true_yaw_deg",
                  "true_pitch_deg", "true_roll_deg", "depth_gap_mm")


def rows(poses: list, truth, neutral_s: float, t_from: float, t_to: float):
    neutral, _, _ = neutral_from_window(poses, 0.0, neutral_s)
    for pose, tr in zip(poses, truth):
        if not (t_from <= pose.t_s <= t_to):
            continue
        r = neutral.relative(pose)
        yield [f"{r.t_s:.4f}", int(r.face_found), f"{r.yaw_deg:.3f}", f"{r.pitch_deg:.3f}", f"{r.roll_deg:.3f}",
               f"{r.retraction_mm:.3f}", f"{r.confidence:.3f}", int(r.reliable),
               *(("" if v is None else int(v)) for v in (r.yaw_reliable, r.pitch_reliable, r.roll_reliable,
                                                          r.retraction_reliable)),
               ";".join(r.lower_bounds), int(r.tracked), r.faces, f"{r.face_width_px:.1f}",
               f"{r.brightness:.1f}", *("" if v is None else f"{v:.3f}" for v in tr[:3]),
               "" if r.depth_gap_mm is None else f"{r.depth_gap_mm:.3f}"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("clip", type=Path, help="a clip cached by accuracy.py (.npz), or a video")
    ap.add_argument("out", type=Path)
    ap.add_argument("--from", dest="t_from", type=float, default=0.0)
    ap.add_argument("--to", dest="t_to", type=float, default=float("inf"))
    args = ap.parse_args()
    if args.clip.suffix == ".npz":
        with np.load(args.clip) as z:
            rec = dict(z)
        poses, truth, neutral_s = accuracy.replay(rec), rec["truth"], 1.0
    else:
        poses = poses_from_frames(read_video(args.clip))
        truth, neutral_s = [(None, None, None)] * len(poses), 2.0
    with args.out.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(GOLDEN_COLUMNS)
        w.writerows(rows(poses, truth, neutral_s, args.t_from, args.t_to))


if __name__ == "__main__":
    main()
