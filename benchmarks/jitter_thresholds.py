"""What pure jitter does to the coach's tests: the figures behind the noise multipliers.

White jitter of unit sigma is run through the project's own filters (the
speed's `Differentiator`, the value's `OneEuroFilter`) at 15-30 fps, and the
statistics each threshold is compared with are printed in units of the
estimated noise (`core.jitter`):

- the velocity change within 0.2 s (core/safety.py, NOISE_DV_SIGMAS):
  confirmed episodes (two exceedances within 0.2 s) per 3 hours;
- the travel of the integrated speed within 0.5 s (NOISE_TRAVEL_S);
- |speed| above k sigma in frames covering too_fast_sustain_s (NOISE_FAST_SIGMAS);
- the smoothed value's range and trend over 2 s, and the share of frames
  within 3 sigma (core/reps.py, STILL_SIGMAS, TREND_SIGMAS, NEUTRAL_SIGMAS);
- what the too-fast noise margin trades: 18 mm chin tucks through the real
  filter and safety monitor at 1.5x and 2x the 40 mm/s limit (warned?) and
  at 0.9x (warned: false), with white depth jitter, for 0 and 1 sigma.

    .venv/bin/python benchmarks/jitter_thresholds.py          # ~2 minutes
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neckcoach.core.filters import Differentiator, OneEuroFilter  # noqa: E402
from neckcoach.core.jitter import speed_noise  # noqa: E402

FPS = (15.0, 24.0, 30.0)


def speeds(fps: float, hours: float, seed: int) -> np.ndarray:
    dt = 1.0 / fps
    d = Differentiator(5.0, 5.0)
    x = np.random.default_rng(seed).normal(0.0, 1.0, int(fps * 3600 * hours))
    return np.array([d.update(float(v), i * dt) for i, v in enumerate(x)])


def velocity_change_table() -> None:
    print("velocity change within 0.2 s: confirmed episodes per 3 h of pure jitter")
    ks = (5.0, 6.0, 6.5, 7.0, 8.0)
    print("| fps | " + " | ".join(f"{k:g} sigma" for k in ks) + " |")
    print("|---|" + "---|" * len(ks))
    for fps in FPS:
        dt = 1.0 / fps
        v = speeds(fps, 3.0, 2)
        sv = speed_noise(1.0, dt, 5.0, 5.0)
        w = sliding_window_view(v, int(round(0.2 * fps)) + 1)
        dv = np.maximum(w[:, -1] - w.min(1), w.max(1) - w[:, -1]) / sv
        row = []
        for k in ks:
            idx = np.nonzero(dv > k)[0]
            episodes, last = 0, -1e9
            for a, b in zip(idx[:-1], idx[1:]):
                if (b - a) * dt <= 0.2:
                    if (a - last) * dt > 0.7:
                        episodes += 1
                    last = a
            row.append(str(episodes))
        print(f"| {fps:g} | " + " | ".join(row) + " |")


def travel_and_too_fast_table() -> None:
    print("\ntravel of the integrated speed within 0.5 s, and |speed| over k sigma in frames covering 0.05 s (1 h)")
    ks = (1.9, 2.5, 2.9, 3.3, 3.5)
    print("| fps | travel / speed sigma: median, max (s) | " + " | ".join(f"too fast at {k:g} sigma" for k in ks)
          + " |")
    print("|---|---|" + "---|" * len(ks))
    for fps in FPS:
        dt = 1.0 / fps
        v = speeds(fps, 1.0, 3)
        sv = speed_noise(1.0, dt, 5.0, 5.0)
        p = np.cumsum(v) * dt
        w = sliding_window_view(p, int(0.5 * fps) + 1)
        travel = (w.max(1) - w.min(1)) / sv
        need = max(2, int(math.ceil(0.05 / dt - 1e-9)))  # each frame covers dt (safety._Episode, covered)
        cells = []
        for k in ks:
            run = episodes = 0
            for on in np.abs(v) / sv > k:
                run = run + 1 if on else 0
                episodes += run == need
            cells.append(str(episodes))
        print(f"| {fps:g} | {np.median(travel):.2f}, {travel.max():.2f} | " + " | ".join(cells) + " |")


def value_table() -> None:
    print("\nthe smoothed value over 2 s, in sigmas of its predicted jitter (30 min each)")
    print("| filter | fps | jitter | range: median, 99.9 % | trend x 2 s: median, 99 % | within 3 sigma |")
    print("|---|---|---|---|---|---|")
    for name, (mc, beta) in (("angles", (0.8, 0.2)), ("retraction", (0.5, 0.05))):
        for fps in (15.0, 30.0):
            for sigma in (0.3, 1.0, 2.5):
                dt = 1.0 / fps
                x = np.random.default_rng(5).normal(0.0, sigma, int(fps * 1800))
                f = OneEuroFilter(mc, beta, 1.0)
                y, alpha = [], []
                for i, xi in enumerate(x):
                    y.append(f.update(float(xi), i * dt))
                    alpha.append(f.alpha)
                y, a = np.array(y[50:]), float(np.median(alpha[50:]))
                sf = sigma * math.sqrt(a / (2.0 - a))
                w = sliding_window_view(y, int(2 * fps))[::5]
                rng = np.ptp(w, 1) / sf
                tt = np.arange(w.shape[1]) * dt
                tt -= tt.mean()
                trend = np.abs(w @ tt / (tt @ tt)) * 2.0 / sf
                inside = float(np.mean(np.abs(y - y.mean()) < 3 * sf))
                print(f"| {name} | {fps:g} | {sigma:g} | {np.median(rng):.1f}, {np.quantile(rng, .999):.1f} | "
                      f"{np.median(trend):.2f}, {np.quantile(trend, .99):.2f} | {100 * inside:.1f} % |")


def too_fast_tradeoff() -> None:
    from neckcoach.core import safety
    from neckcoach.core.kinematics import KinematicsFilter, RelativePose
    from neckcoach.routine.model import Exercise

    tuck = Exercise(id="tuck", name="Chin tuck", movement="retraction", sides="none", reps=1, target_mm=15.0,
                    max_mm=40.0, max_speed_mm_s=40.0, tempo_s=6.0, hold_s=2.0, rest_s=5.0)

    def warned(fps: float, jitter_mm: float, speed_factor: float, seed: int) -> bool:
        rng = np.random.default_rng(seed)
        t = np.cumsum(np.full(int(12 * fps), 1.0 / fps) * rng.uniform(0.75, 1.25, int(12 * fps)))
        dur = 1.875 * 18.0 / (speed_factor * 40.0)
        x = sum(sign * 18.0 * np.polyval([6, -15, 10, 0, 0, 0], np.clip((t - t0) / dur, 0, 1))
                for sign, t0 in ((1, 5.0), (-1, 8.0)))
        x = x + rng.normal(0, jitter_mm, t.size)
        f, m = KinematicsFilter(), safety.SafetyMonitor(tuck, None)
        for ti, xi in zip(t, x):
            k = f.update(RelativePose(t_s=float(ti), face_found=True, retraction_mm=float(xi), confidence=0.9,
                                      reliable=True, faces=1, face_width_px=200.0, brightness=120.0))
            if any(e.kind in (safety.ev.TOO_FAST, safety.ev.JERK) for e in m.update(k)):
                return True
        return False

    print("\ntoo-fast noise margin: 18 mm chin tucks, limit 40 mm/s, 10 seeds x (1.5x, 2x) and 10 x 0.9x")
    print("| margin | fps | jitter mm | too-fast tucks warned (too fast or jerk) | tucks at 0.9x the limit warned (false) |")
    print("|---|---|---|---|---|")
    saved = safety.NOISE_FAST_SIGMAS
    try:
        for k in (0.0, 1.0):
            safety.NOISE_FAST_SIGMAS = k
            for fps in (15.0, 30.0):
                for jitter in (0.5, 1.0, 1.5):
                    fast = sum(warned(fps, jitter, sf, seed) for seed in range(10) for sf in (1.5, 2.0))
                    false = sum(warned(fps, jitter, 0.9, 100 + seed) for seed in range(10))
                    print(f"| {k:g} sigma | {fps:g} | {jitter:g} | {fast}/20 | {false}/10 |")
    finally:
        safety.NOISE_FAST_SIGMAS = saved


if __name__ == "__main__":
    velocity_change_table()
    travel_and_too_fast_table()
    value_table()
    too_fast_tradeoff()
