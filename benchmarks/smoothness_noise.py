"""How much measurement noise a movement's smoothness figure survives: the figures behind MIN_SNR.

Exactly minimum-jerk reps (no tremor, no sway: the shape the issue's target
names, SPARC -1.41 and one speed peak) go through the project's filter
(`KinematicsFilter`, via the tests' `stream`) with white jitter on the
reading, and through `RepCounter`, which scores each way out and back. The
jitter is what makes them differ from -1.41, so every movement's error is
the measurement's. Each movement is binned by its shape SNR: peak speed over
the noise of the same smoothed speed while the head rests
(`core/reps.py`); the smoothness is withheld below `MIN_SNR` of it. With the
withholding switched off here, the table shows, per SNR band, the share of
movements that score within 0.3 of -1.41 and with one speed peak, and the
share of those scored at or above each candidate threshold.

Grid: rotation 50 deg, side bend 25, flexion 30, chin nod 8 and chin tuck 15 mm,
each at 0.5, 1 and 2x its tempo, 15, 20, 24 and 30 fps, jitter 0.1-1.0 deg
(0.2-2.0 mm for the tuck), several seeds; amplitudes 70-130 % of the target.
None of it is the patient population (benchmarks/population.py), which is
where the chosen threshold is checked afterwards.

    .venv/bin/python benchmarks/smoothness_noise.py            # ~1 minute
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import neckcoach.core.reps as reps  # noqa: E402
from neckcoach.core.smoothness import SPARC_MINIMUM_JERK  # noqa: E402
from tests.test_coach_support import exercise_for, rep_train, routine, stream, timeline  # noqa: E402

# movement, target, tempo_s, hold_s, jitter levels (deg or mm)
MOVEMENTS = (
    ("rotation", 50.0, 7.0, 2.0, (0.1, 0.25, 0.5, 1.0)),
    ("side_bend", 25.0, 8.0, 3.0, (0.1, 0.25, 0.5, 1.0)),
    ("flexion_extension", 30.0, 7.0, 2.0, (0.1, 0.25, 0.5, 1.0)),
    ("chin_nod", 8.0, 14.0, 10.0, (0.1, 0.25, 0.4, 0.6)),
    ("retraction", 15.0, 7.0, 3.0, (0.2, 0.5, 1.0, 2.0)),
)
PACES = (0.5, 1.0, 2.0)
FPS = (15.0, 20.0, 24.0, 30.0)
TOLERANCE = 0.3
BANDS = (0.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 12.0, 15.0, 20.0, 30.0, np.inf)
CANDIDATES = (5.0, 6.0, 7.0, 8.0, 10.0, 12.0)  # MIN_SNR: 5 before stop 49, 8 since


def one_session(movement, target, tempo, hold, jitter, pace, fps, seed) -> list[tuple[float, float, int]]:
    """(shape SNR, SPARC, speed peaks) of each way of each rep of one synthetic session."""
    rng = np.random.default_rng(seed)
    ex = exercise_for(movement, target, tempo, hold, reps=2)
    move = (tempo - hold) / 2 / pace
    rep_tempo = 2 * move + hold
    amplitudes = [ex.sign(ex.directions()[0]) * target * float(rng.uniform(0.7, 1.3)) for _ in range(2)]
    t = timeline(3.0 + 2 * (rep_tempo + 3.0) + 3.0, fps=fps, seed=seed)
    x, _ = rep_train(t, start_s=3.0, amplitudes=amplitudes, tempo_s=rep_tempo, hold_s=hold, gap_s=3.0)
    axis = "retraction" if movement == "retraction" else ex.axis
    frames = stream(t, **{axis: x}, noise_deg=jitter, noise_mm=jitter, seed=seed + 1)
    counter = reps.RepCounter(ex, routine(ex).ranges)
    for k in frames:
        counter.update(k)
    out = []
    for rec in counter.records:
        m = reps._rep_metrics(rec)
        for way in ("out", "back"):
            d = m[way]
            if d.get("shape_snr") is not None and d.get("withheld") is None:
                out.append((float(d["shape_snr"]), float(d["sparc"]), int(d["velocity_peaks"])))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3, help="sessions per grid cell")
    parser.add_argument("--fraction", type=float, default=None,
                        help="score every shape over this share of the movement (default: the product's rule)")
    args = parser.parse_args()
    reps.MIN_SNR = 0.0  # score everything; the table says where to stop
    if args.fraction is not None:
        reps.SHAPE_FRACTIONS = (args.fraction,)
    rows = []
    for (movement, target, tempo, hold, jitters), pace, fps in itertools.product(MOVEMENTS, PACES, FPS):
        for jitter, k in itertools.product(jitters, range(args.seeds)):
            seed = int(1000 * fps + 100 * pace + 10 * jitters.index(jitter) + k)
            rows += [(movement,) + r for r in one_session(movement, target, tempo, hold, jitter, pace, fps, seed)]
    snr = np.array([r[1] for r in rows])
    ok = np.array([abs(r[2] - SPARC_MINIMUM_JERK) <= TOLERANCE for r in rows])
    one = np.array([r[3] == 1 for r in rows])
    print(f"{len(rows)} movements, exactly minimum jerk, through the filter with white jitter")
    print("\n| shape SNR | movements | SPARC within 0.3 of -1.41 | one speed peak |")
    print("|---|---|---|---|")
    unmeasured = snr == 0.0  # no still stretch or hold to measure the noise on: withheld whatever MIN_SNR is
    if unmeasured.any():
        print(f"| noise not measured | {unmeasured.sum()} | {100 * ok[unmeasured].mean():.0f} % | "
              f"{100 * one[unmeasured].mean():.0f} % |")
    for a, b in zip(BANDS[:-1], BANDS[1:]):
        s = (snr >= max(a, 1e-9)) & (snr < b)
        if s.any():
            print(f"| {a:g}-{b:g} | {s.sum()} | {100 * ok[s].mean():.0f} % | {100 * one[s].mean():.0f} % |")
    print("\n| withheld below | shown | shown within 0.3 | shown with one peak | per movement: shown, within 0.3 |")
    print("|---|---|---|---|---|")
    names = [m[0] for m in MOVEMENTS]
    for c in CANDIDATES:
        s = snr >= c
        per = []
        for name in names:
            g = s & np.array([r[0] == name for r in rows])
            n_all = sum(r[0] == name for r in rows)
            per.append(f"{name} {100 * g.sum() / max(n_all, 1):.0f} % / {100 * ok[g].mean() if g.any() else 0:.0f} %")
        print(f"| {c:g} | {100 * s.mean():.0f} % | {100 * ok[s].mean():.1f} % | {100 * one[s].mean():.1f} % | "
              + "; ".join(per) + " |")


if __name__ == "__main__":
    main()
