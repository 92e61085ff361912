"""Accuracy benchmark of the measurement engine against the virtual patient.

Renders sweeps of each axis (as continuous clips, so MediaPipe tracks the way
it does live) under several conditions, runs detector -> estimator ->
calibration (neutral from the first second) and reports per-axis MAE / max
error by angle bucket, detection rate, retraction error, steadiness at rest
(std over 5 s after filtering) and the filter's added delay.

    PYOPENGL_PLATFORM=egl .venv/bin/python benchmarks/accuracy.py [--quick] [--method weak|pnp] [--conditions baseline,...]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from neckcoach.analyze import neutral_from_window  # noqa: E402
from neckcoach.core.headpose import HeadPoseEstimator  # noqa: E402
from neckcoach.core.kinematics import KinematicsFilter, RelativePose  # noqa: E402

FPS = 30.0
CONDITIONS = {
    "baseline": {},
    "dim+noise": {"brightness": 0.45, "noise": 6.0},
    "blur+jpeg": {"blur": 1.5, "jpeg_quality": 40},
    "far 0.9 m": {"distance_m": 0.9},
}


def ramp(axis: int, peaks: list[float], step: float) -> list[tuple[float, float, float, float]]:
    """Neutral hold, then out-and-back ramps to each peak along one axis."""
    out = [(0.0, 0.0, 0.0, 0.0)] * int(FPS)
    for peak in peaks:
        n = int(abs(peak) / step)
        for v in [*np.linspace(0, peak, n + 1), *np.linspace(peak, 0, n + 1)[1:]]:
            pose = [0.0, 0.0, 0.0, 0.0]
            pose[axis] = float(v)
            out.append(tuple(pose))
    return out


def sweeps(step: float) -> dict[str, list[tuple[float, float, float, float]]]:
    return {
        "yaw": ramp(0, [80.0, -80.0], step),
        "pitch": ramp(1, [40.0, -40.0], step),
        "roll": ramp(2, [35.0, -35.0], step),
        "retraction": ramp(3, [30.0], step),
        "combined": [(0.0, 0.0, 0.0, 0.0)] * int(FPS) + [
            (40 * np.sin(a), 20 * np.sin(2 * a), 15 * np.sin(3 * a), 0.0)
            for a in np.linspace(0, 2 * np.pi, int(12 * 2 * np.pi / step))],
    }


def measure(renderer, truth, cond: dict, method: str):
    from neckcoach.io.detector import FaceDetector

    det = FaceDetector(max_faces=1)
    est = HeadPoseEstimator(method=method)
    poses = []
    for i, (y, p, r, m) in enumerate(truth):
        rgb = renderer.render(y, p, r, m, **cond)
        poses.append(est.update(det.update(rgb), i / FPS))
    det.close()
    neutral, ok, reason = neutral_from_window(poses, 0.0, 0.9)
    if not ok:
        print(f"    calibration check failed: {reason}")
    return poses, [neutral.relative(p) for p in poses]


def report_axis(name: str, truth, rel, buckets) -> dict:
    idx = {"yaw": 0, "pitch": 1, "roll": 2, "retraction": 3}[name]
    attr = {0: "yaw_deg", 1: "pitch_deg", 2: "roll_deg", 3: "retraction_mm"}[idx]
    t = np.array([tr[idx] for tr in truth])
    found = np.array([r.face_found for r in rel])
    reliable = np.array([r.face_found and r.reliable for r in rel])
    est = np.array([getattr(r, attr) for r in rel])
    err = np.abs(est - t)
    out = {}
    for lo, hi in buckets:
        sel = (np.abs(t) >= lo) & (np.abs(t) <= hi)
        n = int(sel.sum())
        if n == 0:
            continue
        f = sel & found
        ok = sel & reliable
        mae = float(err[ok].mean()) if ok.any() else float("nan")
        mx = float(err[ok].max()) if ok.any() else float("nan")
        mae_all = float(err[f].mean()) if f.any() else float("nan")
        out[(lo, hi)] = (mae, mx, f.sum() / n, ok.sum() / n, mae_all)
        print(f"    |{name}| {lo:>4.0f}-{hi:<4.0f}: MAE {mae:5.2f}  max {mx:5.2f}  "
              f"(all found: MAE {mae_all:5.2f})  detected {100 * f.sum() / n:5.1f}%  "
              f"reliable {100 * ok.sum() / n:5.1f}%  n={n}")
    return out


def cross_talk(truth, rel, axis: int) -> float:
    """Mean |error| on the two other angle axes during a one-axis sweep."""
    others = [a for a in (0, 1, 2) if a != axis]
    attrs = ("yaw_deg", "pitch_deg", "roll_deg")
    errs = [abs(getattr(r, attrs[a]) - tr[a]) for tr, r in zip(truth, rel)
            if r.face_found and r.reliable for a in others]
    return float(np.mean(errs)) if errs else float("nan")


def steadiness(renderer, cond: dict, method: str, seconds: float = 5.0) -> np.ndarray:
    from neckcoach.io.detector import FaceDetector

    det = FaceDetector(max_faces=1)
    est = HeadPoseEstimator(method=method)
    n = int(seconds * FPS)
    poses = [est.update(det.update(renderer.render(0, 0, 0, **cond)), i / FPS) for i in range(n)]
    det.close()
    neutral, _, _ = neutral_from_window(poses, 0.0, 1.0)
    filt = KinematicsFilter()
    kins = [filt.update(neutral.relative(p)) for p in poses]
    vals = np.array([(k.yaw_deg, k.pitch_deg, k.roll_deg, k.retraction_mm) for k in kins[15:]])
    raw = np.array([(r.yaw_deg, r.pitch_deg, r.roll_deg, r.retraction_mm)
                    for r in (neutral.relative(p) for p in poses[15:])])
    return np.vstack([raw.std(axis=0), vals.std(axis=0)])


def filter_delay() -> dict[str, float]:
    """Delay added by KinematicsFilter on synthetic signals sampled at 30 fps (uneven dt)."""
    rng = np.random.default_rng(0)
    t = np.cumsum(rng.uniform(0.8, 1.2, 900) / FPS)

    def run(sig):
        f = KinematicsFilter()
        k = [f.update(RelativePose(ti, True, yaw_deg=float(x))) for ti, x in zip(t, sig)]
        return np.array([x.yaw_deg for x in k]), np.array([x.yaw_speed_deg_s for x in k])

    lags = np.arange(0.0, 0.3, 0.001)
    m = t > 4

    def best_lag(y, ref):
        return 1000 * lags[np.argmin([np.mean((np.interp(t[m] - lag, t, ref) - y[m]) ** 2)
                                      for lag in lags])]

    out = {}
    for amp in (5.0, 30.0):
        s = amp * np.sin(2 * np.pi * 0.5 * t)
        v, sp = run(s)
        out[f"sine 0.5 Hz {amp:.0f} deg: angle delay ms"] = best_lag(v, s)
        out[f"sine 0.5 Hz {amp:.0f} deg: speed delay ms"] = best_lag(sp, np.gradient(s, t))
    step = np.where(t > 5, 10.0, 0.0)
    v, _ = run(step)
    t5 = t[t > 5][0]
    out["step 10 deg: 50% rise ms"] = 1000 * (t[np.argmax(v > 5)] - t5)
    out["step 10 deg: 90% rise ms"] = 1000 * (t[np.argmax(v > 9)] - t5)
    flick = np.clip((t - 5) / 0.2, 0, 1) * 15.0
    _, sp = run(flick)
    out["flick 15 deg/200 ms: speed > 50 deg/s after ms"] = 1000 * (t[np.argmax(sp > 50)] - 5)
    out["flick 15 deg/200 ms: peak speed deg/s (true 75)"] = float(sp.max())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="5 deg steps instead of 2.5")
    ap.add_argument("--conditions", default="", help=f"comma list of {', '.join(CONDITIONS)}")
    ap.add_argument("--method", default="weak", choices=("weak", "pnp"))
    args = ap.parse_args()
    from neckcoach.sim.render import HeadRenderer

    print("filter delay (synthetic):")
    for k, v in filter_delay().items():
        print(f"  {k}: {v:.1f}")
    step = 5.0 if args.quick else 2.5
    names = args.conditions.split(",") if args.conditions else list(CONDITIONS)
    conds = {k: CONDITIONS[k] for k in names}
    buckets = {"yaw": [(0, 50), (50, 75), (75, 80)], "pitch": [(0, 35), (35, 40)],
               "roll": [(0, 30), (30, 35)], "retraction": [(0, 30)]}
    t0 = time.perf_counter()
    for cname, cond in conds.items():
        dist = cond.get("distance_m", 0.6)
        render_cond = {k: v for k, v in cond.items() if k != "distance_m"}
        renderer = HeadRenderer(distance_m=dist, seed=1)
        print(f"\ncondition {cname} (method {args.method}):")
        for sname, truth in sweeps(step).items():
            _, rel = measure(renderer, truth, render_cond, args.method)
            if sname == "combined":
                for axis, b in (("yaw", [(0, 50)]), ("pitch", [(0, 35)]), ("roll", [(0, 30)])):
                    report_axis(axis, truth, rel, b)
                continue
            report_axis(sname, truth, rel, buckets[sname])
            if sname != "retraction":
                ct = cross_talk(truth, rel, ("yaw", "pitch", "roll").index(sname))
                print(f"    cross-talk on other axes: {ct:.2f} deg")
        std = steadiness(renderer, render_cond, args.method)
        print("    steadiness over 5 s at rest (yaw, pitch, roll deg, retraction mm): raw "
              + " ".join(f"{v:.2f}" for v in std[0]) + " | filtered "
              + " ".join(f"{v:.2f}" for v in std[1]))
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
