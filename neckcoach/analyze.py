"""Headless analysis of a recorded video -> trace.csv + summary.json.

Two passes: first every frame's absolute pose, then the neutral (from the
first `neutral_s` seconds or an explicit window) and the filtered kinematics.
Times come from the container's timestamps, not from frame counts.
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from neckcoach.core.calibration import Neutral, NeutralCalibrator
from neckcoach.core.headpose import HeadPoseEstimator
from neckcoach.core.kinematics import KinematicsFilter
from neckcoach.core.samples import HeadPose, Kinematics

TRACE_COLUMNS = (
    "t_s", "face_found", "yaw_deg", "pitch_deg", "roll_deg", "retraction_mm",
    "yaw_speed_deg_s", "pitch_speed_deg_s", "roll_speed_deg_s", "retraction_speed_mm_s",
    "confidence", "reliable", "faces", "torso_yaw_deg", "torso_roll_deg",
    "raw_yaw_deg", "raw_pitch_deg", "raw_roll_deg",
    "yaw_reliable", "pitch_reliable", "roll_reliable", "retraction_reliable",
    "yaw_lower_bound", "pitch_lower_bound",
)
# summary.json "ranges": key -> (axis, sign of the movement in that direction).
RANGE_KEYS: dict[str, tuple[str, float]] = {
    "rotation_left_deg": ("yaw", 1.0), "rotation_right_deg": ("yaw", -1.0),
    "flexion_deg": ("pitch", 1.0), "extension_deg": ("pitch", -1.0),
    "side_bend_left_deg": ("roll", 1.0), "side_bend_right_deg": ("roll", -1.0),
    "retraction_mm": ("retraction", 1.0),
}


@dataclass
class AnalysisResult:
    poses: list[HeadPose]
    kinematics: list[Kinematics]
    neutral: Neutral
    calibration_ok: bool
    calibration_reason: str
    summary: dict


def read_video(path: str | Path):
    """Yield (t_s, rgb) with t_s from the container timestamps, relative to the first frame."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise FileNotFoundError(f"cannot open video: {path}")
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    t0 = None
    index = 0
    last_t = -np.inf
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            t_ms = cap.get(cv2.CAP_PROP_POS_MSEC)
            t = t_ms / 1000.0 if t_ms and t_ms > 0 else index / fps
            if t0 is None:
                t0 = t
            t_rel = t - t0
            if t_rel <= last_t:  # broken timestamps: fall back to the nominal rate
                t_rel = last_t + 1.0 / fps
            last_t = t_rel
            index += 1
            yield t_rel, np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    finally:
        cap.release()


def poses_from_frames(frames, *, hfov_deg: float = 60.0, use_pose: bool = False,
                      detector=None, method: str = "mixed") -> list[HeadPose]:
    if detector is None:
        from neckcoach.io.detector import FaceDetector

        detector = FaceDetector(use_pose=use_pose)
    from neckcoach.measure import pose_of_frame

    est = HeadPoseEstimator(hfov_deg=hfov_deg, method=method)
    return [pose_of_frame(detector, est, rgb, t) for t, rgb in frames]


def neutral_from_window(poses: list[HeadPose], start_s: float, end_s: float
                        ) -> tuple[Neutral, bool, str]:
    """Calibrate on [start_s, end_s]; if the check fails, still use the median but say why."""
    window = [p for p in poses if start_s <= p.t_s <= end_s]
    result = NeutralCalibrator(duration_s=max(end_s - start_s, 1e-3)).evaluate(window)
    if result.ok:
        return result.neutral, True, result.reason
    found = [p for p in (window or poses) if p.face_found] or [p for p in poses if p.face_found]
    if not found:
        return Neutral(0.0, 0.0, 0.0, (0.0, 0.0, 0.0)), False, "no face found in the video"
    return Neutral.median_of(found), False, result.reason


def kinematics_from_poses(poses: list[HeadPose], neutral: Neutral) -> list[Kinematics]:
    filt = KinematicsFilter()
    return [filt.update(neutral.relative(p)) for p in poses]


def ranges(kins: list[Kinematics]) -> tuple[dict[str, float | None], list[str]]:
    """Largest movement each way from trustworthy values only, and which are lower bounds.

    A direction's range is the largest value flagged reliable for its axis, or
    a lower bound (`Kinematics.is_lower_bound`) if one goes further: the head
    went at least that far. None where nothing trustworthy was measured that
    way (e.g. retraction while the head was always turned), never a guess.
    """
    out: dict[str, float | None] = {}
    bounds: list[str] = []
    for key, (axis, sign) in RANGE_KEYS.items():
        best, best_is_bound = None, False
        for k in kins:
            if not k.face_found:
                continue
            bound = k.is_lower_bound(axis)
            if not (bound or k.is_reliable(axis)):
                continue
            v = sign * k.value(axis)
            if v > 0 and (best is None or v > best or (v == best and bound)):
                best, best_is_bound = v, bound
        out[key] = None if best is None else round(float(best), 2)
        if best is not None and best_is_bound:
            bounds.append(key)
    return out, bounds


def summarize(kins: list[Kinematics], elapsed_s: float) -> dict:
    found = [k for k in kins if k.face_found]
    ok = [k for k in found if k.reliable]

    def peak(values: list[float]) -> float:
        return round(float(max([0.0, *values])), 2)

    duration = kins[-1].t_s - kins[0].t_s if len(kins) > 1 else 0.0
    measured, bounds = ranges(kins)
    n = len(kins)
    return {
        "frames": n,
        "duration_s": round(duration, 3),
        "fps_processed": round(n / elapsed_s, 2) if elapsed_s > 0 else None,
        "detection_rate": round(len(found) / n, 4) if kins else 0.0,
        "reliable_rate": round(len(ok) / n, 4) if kins else 0.0,
        "reliable_rate_by_measure": {
            a: round(sum(1 for k in found if k.is_reliable(a)) / n, 4) if kins else 0.0
            for a in ("yaw", "pitch", "roll", "retraction")},
        "ranges": measured,
        "ranges_lower_bound": bounds,
        "max_speed_deg_s": {a: peak([abs(k.speed(a)) for k in found])
                            for a in ("yaw", "pitch", "roll")},
    }


def describe_range(value: float | None, lower_bound: bool, unit: str) -> str:
    """"52°", "at least 45°" or "not measured": how a range is said to a person."""
    if value is None:
        return "not measured"
    text = f"{value:.0f}{unit}"
    return f"at least {text}" if lower_bound else text


def analyze_frames(frames, *, neutral_s: float = 2.0,
                   neutral_window: tuple[float, float] | None = None,
                   hfov_deg: float = 60.0, use_pose: bool = False, detector=None) -> AnalysisResult:
    t_start = time.perf_counter()
    poses = poses_from_frames(frames, hfov_deg=hfov_deg, use_pose=use_pose, detector=detector)
    if not poses:
        raise ValueError("the video has no frames")
    start, end = neutral_window if neutral_window else (0.0, neutral_s)
    neutral, ok, reason = neutral_from_window(poses, start, end)
    kins = kinematics_from_poses(poses, neutral)
    summary = summarize(kins, time.perf_counter() - t_start)
    summary["calibration"] = {"ok": ok, "reason": reason, "window_s": [start, end],
                              "neutral": asdict(neutral)}
    return AnalysisResult(poses, kins, neutral, ok, reason, summary)


def write_outputs(result: AnalysisResult, out_dir: str | Path, source: str = "") -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "trace.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(TRACE_COLUMNS)
        for p, k in zip(result.poses, result.kinematics):
            # Retraction where it is not measured is withheld (an empty cell), not a number.
            tuck = k.retraction_reliable
            w.writerow([f"{k.t_s:.4f}", int(k.face_found), f"{k.yaw_deg:.3f}", f"{k.pitch_deg:.3f}",
                        f"{k.roll_deg:.3f}", f"{k.retraction_mm:.3f}" if tuck else "",
                        f"{k.yaw_speed_deg_s:.3f}", f"{k.pitch_speed_deg_s:.3f}",
                        f"{k.roll_speed_deg_s:.3f}",
                        f"{k.retraction_speed_mm_s:.3f}" if tuck else "", f"{k.confidence:.3f}",
                        int(k.reliable),
                        k.faces, _opt(k.torso_yaw_deg), _opt(k.torso_roll_deg),
                        f"{p.yaw_deg:.3f}", f"{p.pitch_deg:.3f}", f"{p.roll_deg:.3f}",
                        int(k.yaw_reliable), int(k.pitch_reliable), int(k.roll_reliable),
                        int(k.retraction_reliable), int(k.yaw_lower_bound), int(k.pitch_lower_bound)])
    summary = dict(result.summary, source=str(source))
    (out / "summary.json").write_text(json.dumps(summary, indent=2))


def _opt(v: float | None) -> str:
    return "" if v is None else f"{v:.3f}"


def analyze_video(path: str | Path, out_dir: str | Path, **kwargs) -> AnalysisResult:
    result = analyze_frames(read_video(path), **kwargs)
    write_outputs(result, out_dir, source=str(path))
    return result
