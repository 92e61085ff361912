"""Virtual-patient frames with ground truth: a live frame source and a clip writer.

Why: the same scripted motion feeds the pipeline directly (no file, exact
timestamps) or becomes an mp4 + truth.csv + events.json that any later run,
or a person, can replay and check.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from neckcoach.sim.motion import MotionScript

TRUTH_COLUMNS = ("t_s", "yaw_deg", "pitch_deg", "roll_deg", "retraction_mm", "event")


@dataclass(frozen=True)
class FrameTruth:
    """The exact pose rendered in one frame and the events that fall in it."""

    t_s: float
    yaw_deg: float
    pitch_deg: float
    roll_deg: float
    retraction_mm: float
    events: tuple[str, ...] = ()

    def row(self) -> list:
        return [f"{self.t_s:.6f}", f"{self.yaw_deg:.4f}", f"{self.pitch_deg:.4f}",
                f"{self.roll_deg:.4f}", f"{self.retraction_mm:.4f}", ";".join(self.events)]


def _event_label(e) -> str:
    label = e.kind
    if e.direction:
        label += f":{e.direction}"
    if e.kind == "mistake":
        label += f":{e.detail.get('mistake')}"
    return label


class VirtualPatientSource:
    """Iterates ``(t_s, frame_rgb, truth)`` for a script at a fixed frame rate.

    drop_prob drops frames at random (seeded) like a busy laptop camera: the
    timestamps of the frames that remain are unchanged, so gaps show up as
    larger t_s steps. Events of a dropped frame move to the next kept frame.
    `render` holds extra renderer knobs (noise, blur, occlusion...), applied
    to every frame; `knobs_at(t_s)` may return per-frame overrides. `scene`
    (a `neckcoach.sim.scene.SceneSpec`) replaces hfov_deg and distance_m;
    each frame is rendered at its time, which moves the scene's passer-by.

    It also speaks the ``neckcoach.io.sources`` protocol: ``read()`` returns
    ``(t_s, frame)`` or None at the end (``last_truth`` holds that frame's
    truth), ``close()`` and ``with``; pass ``bgr=True`` for OpenCV order there.
    """

    def __init__(self, script: MotionScript, fps: float = 30.0, *, seed: int = 0, drop_prob: float = 0.0,
                 width: int = 640, height: int = 480, hfov_deg: float = 60.0, distance_m: float = 0.6,
                 renderer=None, render: dict | None = None, knobs_at=None,
                 duration_s: float | None = None, bgr: bool = False, scene=None) -> None:
        if not (1.0 <= fps <= 240.0):
            raise ValueError(f"fps must be in [1, 240], got {fps!r}")
        if not (0.0 <= drop_prob < 1.0):
            raise ValueError(f"drop_prob must be in [0, 1), got {drop_prob!r}")
        self.script, self.fps, self.seed, self.drop_prob = script, float(fps), int(seed), float(drop_prob)
        self.duration_s = script.duration_s if duration_s is None else float(duration_s)
        if renderer is None:
            from neckcoach.sim.render import HeadRenderer

            if scene is None:
                renderer = HeadRenderer(width=width, height=height, hfov_deg=hfov_deg,
                                        distance_m=distance_m, seed=seed)
            else:  # a SceneSpec sets the camera, light, skin, room and passer-by
                renderer = HeadRenderer(width=width, height=height, seed=seed, scene=scene)
        self.renderer = renderer
        self.render_kwargs = dict(render or {})
        self.knobs_at = knobs_at
        self.bgr = bool(bgr)
        self.last_truth: FrameTruth | None = None
        self._reader: Iterator[tuple[float, np.ndarray, FrameTruth]] | None = None

    @property
    def frame_count(self) -> int:
        """Frames before dropping: one every 1/fps from t = 0 to duration_s inclusive."""
        return int(np.floor(self.duration_s * self.fps + 1e-9)) + 1

    def truths(self) -> Iterator[FrameTruth]:
        """Ground truth of every kept frame, without rendering."""
        rng = np.random.default_rng(self.seed + 104729)
        pending: list[str] = []
        for i in range(self.frame_count):
            t = i / self.fps
            # Same float boundaries on both sides, so each event lands in exactly one frame.
            pending += [_event_label(e) for e in self.script.events_between(t, (i + 1) / self.fps)]
            if i > 0 and self.drop_prob > 0 and rng.random() < self.drop_prob:
                continue
            yaw, pitch, roll, retr = self.script.pose_at(t)
            yield FrameTruth(t, yaw, pitch, roll, retr, tuple(pending))
            pending = []

    def __iter__(self) -> Iterator[tuple[float, np.ndarray, FrameTruth]]:
        for truth in self.truths():
            kwargs = dict(self.render_kwargs)
            if self.knobs_at is not None:
                kwargs.update(self.knobs_at(truth.t_s) or {})
            frame = self.renderer.render(truth.yaw_deg, truth.pitch_deg, truth.roll_deg,
                                         truth.retraction_mm, t_s=truth.t_s, **kwargs)
            yield truth.t_s, frame, truth

    def __len__(self) -> int:
        return sum(1 for _ in self.truths())

    def read(self) -> tuple[float, np.ndarray] | None:
        """Next (t_s, frame) in the configured colour order, None when done."""
        if self._reader is None:
            self._reader = iter(self)
        item = next(self._reader, None)
        if item is None:
            return None
        t, frame, self.last_truth = item
        return t, (np.ascontiguousarray(frame[:, :, ::-1]) if self.bgr else frame)

    def close(self) -> None:
        self._reader = None

    def __enter__(self) -> "VirtualPatientSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_clip(script: MotionScript, out_dir: str | Path, fps: float = 30.0, **source_kwargs) -> dict:
    """Write ``clip.mp4`` (mp4v), ``truth.csv`` (one row per video frame) and
    ``events.json`` into out_dir; returns a small summary dict.

    With drop_prob the video still plays at a constant fps (mp4 cannot hold
    gaps); truth.csv keeps each frame's real t_s so the gaps are known.
    """
    import cv2

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    source = VirtualPatientSource(script, fps, **source_kwargs)
    size = (source.renderer.width, source.renderer.height)
    video_path = out / "clip.mp4"
    writer = cv2.VideoWriter(str(video_path), cv2.VideoWriter_fourcc(*"mp4v"), source.fps, size)
    if not writer.isOpened():
        raise OSError(f"cannot open a video writer for {video_path}")
    frames = 0
    try:
        with open(out / "truth.csv", "w", newline="") as fh:
            rows = csv.writer(fh)
            rows.writerow(TRUTH_COLUMNS)
            for _t, frame, truth in source:
                writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
                rows.writerow(truth.row())
                frames += 1
    finally:
        writer.release()
    summary = {"frames": frames, "fps": source.fps, "duration_s": source.duration_s,
               "seed": source.seed, "width": size[0], "height": size[1],
               "rotation_order": "R = R_y(yaw) R_x(pitch) R_z(-roll), intrinsic yaw first",
               "events": [e.to_dict() for e in script.events]}
    (out / "events.json").write_text(json.dumps(summary, indent=1))
    return {k: v for k, v in summary.items() if k != "events"} | {"events": len(script.events),
                                                                 "dir": str(out)}


def read_truth(path: str | Path) -> list[FrameTruth]:
    """Read a truth.csv back into FrameTruth rows."""
    with open(path, newline="") as fh:
        return [FrameTruth(float(r["t_s"]), float(r["yaw_deg"]), float(r["pitch_deg"]), float(r["roll_deg"]),
                           float(r["retraction_mm"]), tuple(x for x in r["event"].split(";") if x))
                for r in csv.DictReader(fh)]
