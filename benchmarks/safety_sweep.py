"""Safety monitor on synthetic kinematics: flicks caught, smooth movements and twitches left alone.

No rendering and no MediaPipe: analytic minimum-jerk angles with 0.5 deg
landmark-like noise and +-25 % frame-time jitter go through the project's real
`KinematicsFilter` and `SafetyMonitor` (the same generator as the unit tests),
so thousands of cases run in a minute. Prints detection rate and latency of
flicks (15-20 deg in 0.15-0.25 s, step or out-and-back, on the exercise's axis
or another one, at rest or mid-rep, at 15/20/24/30 fps, on each bundled
exercise), false warnings on smooth reps of every bundled exercise at 0.5-2x
its tempo and 70-130 % of its target wherever they stay under its speed
limit (with breathing sway and a 1 deg tremor), on small quick twitches
(2-4 deg, as while talking) and on noise and tremor at rest. The thresholds
are constants (core/safety.py): the tempo plays no part.

    .venv/bin/python benchmarks/safety_sweep.py            # ~1 min on 2 cores
    .venv/bin/python benchmarks/safety_sweep.py --seeds 1  # quicker
    .venv/bin/python benchmarks/safety_sweep.py --features # what the filter leaves of each candidate feature
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from neckcoach.core import events as ev  # noqa: E402
from neckcoach.core.safety import SafetyMonitor  # noqa: E402
from tests.test_coach_support import exercise, min_jerk, rep_train, routine, stream, timeline  # noqa: E402

MOVEMENT = {"yaw": ("rotation", "alternate"), "pitch": ("flexion_extension", "alternate"),
            "roll": ("side_bend", "alternate")}
MOTION = (ev.JERK, ev.TOO_FAST)


def shaped(t, t0, amp, dur, shape):
    if shape == "step":
        return min_jerk(t, t0, dur, amp)
    return min_jerk(t, t0, dur / 2, amp) - min_jerk(t, t0 + dur / 2, dur / 2, amp)


def motion_events(ex, frames):
    m = SafetyMonitor(ex, routine(ex).ranges)
    return [e for k in frames for e in m.update(k) if e.kind in MOTION]


def bundled_exercises():
    """Every exercise of the bundled routines (deduplicated by id), as prescribed."""
    from neckcoach.routine import bundled_routines, load_routine

    seen = {}
    for path in bundled_routines():
        r = load_routine(path)
        for ex in r.exercises:
            seen.setdefault(ex.id, (ex, r.ranges))
    return list(seen.values())


def flicks(seeds: int) -> None:
    """15 deg / 250 ms (and quicker) flicks on each bundled exercise, on its axis and the others."""
    rows = []
    cases = itertools.product(bundled_exercises(), (15.0, 20.0, 24.0, 30.0), ("yaw", "pitch", "roll"),
                              ("rest", "mid_rep"), ("step", "bump"), ((15.0, 0.25), (15.0, 0.15), (20.0, 0.2)),
                              range(seeds))
    for (ex, ranges), fps, axis, context, shape, (amp, dur), seed in cases:
        own = ex.axis
        t = timeline(12.0, fps=fps, seed=seed * 7919 + int(fps))
        signals = {}
        onset = 6.0
        if context == "mid_rep":
            target = float(ex.target_value(ex.directions()[0], ranges))
            signals[own], _ = rep_train(t, start_s=2.0, amplitudes=[target * ex.sign(ex.directions()[0])],
                                        tempo_s=float(ex.tempo_s), hold_s=float(ex.hold_s))
            onset = 2.0 + 0.4 * (float(ex.tempo_s) - float(ex.hold_s)) / 2
        signals[axis] = signals.get(axis, 0.0) + shaped(t, onset, amp, dur, shape)
        m = SafetyMonitor(ex, ranges)
        evs = [e for k in stream(t, **signals, noise_deg=0.5, seed=seed) for e in m.update(k)
               if e.kind in MOTION and e.t_s >= onset - 0.05]
        lat = evs[0].t_s - onset if evs else None
        rows.append((ex.id, fps, axis == own, lat))
    for fps in (15.0, 20.0, 24.0, 30.0):
        lats = [r[3] for r in rows if r[1] == fps]
        got = [x for x in lats if x is not None and x <= 0.3]
        missed = sorted({r[0] for r in rows if r[1] == fps and (r[3] is None or r[3] > 0.3)})
        print(f"flicks at {fps:.0f} fps on the bundled exercises: warned within 300 ms {len(got)}/{len(lats)}, "
              f"latency median {1000 * np.median(got):.0f} ms, max {1000 * max(got):.0f} ms"
              + (f"; missed on {', '.join(missed)}" if missed else ""))


def clean(seeds: int) -> None:
    """Smooth reps of every bundled exercise at 0.5-2x its tempo, 70-130 % of its target, under its limit."""
    runs = false = 0
    for (ex, ranges), fps, pace, amp, seed in itertools.product(bundled_exercises(), (15.0, 20.0, 24.0, 30.0),
                                                                (0.5, 0.8, 1.25, 1.6, 2.0), (0.7, 1.0, 1.3),
                                                                range(seeds)):
        move = (float(ex.tempo_s) - float(ex.hold_s)) / 2 / pace
        dirs = ex.directions()
        target = float(ex.target_value(dirs[0], ranges))
        if 1.875 * amp * target / move >= float(ex.speed_limit):
            continue  # faster than the routine's limit: too_fast is right there
        tempo = 2 * move + float(ex.hold_s)
        signed = [amp * ex.sign(dirs[i % len(dirs)]) * ex.target_value(dirs[i % len(dirs)], ranges) for i in range(3)]
        t = timeline(3 * tempo + 5.0, fps=fps, seed=seed * 31 + int(pace * 100 + amp * 10 + fps))
        x, _ = rep_train(t, start_s=2.0, amplitudes=signed, tempo_s=tempo, hold_s=float(ex.hold_s), gap_s=0.4)
        tremor = 0.5 * np.sin(2 * np.pi * 5.0 * t + seed)
        signals = {a: tremor for a in ("yaw", "pitch", "roll") if a != ex.axis}
        signals[ex.axis] = x + (0.5 * np.sin(2 * np.pi * 0.25 * t) if ex.axis != "retraction" else 0.0)
        m = SafetyMonitor(ex, ranges)
        evs = [e for k in stream(t, **signals, noise_deg=0.5, noise_mm=0.6, seed=seed) for e in m.update(k)
               if e.kind in MOTION]
        runs += 1
        false += len(evs)
    print(f"smooth reps (every bundled exercise, 0.5-2x tempo, 70-130 % of target, under the limit, 15-30 fps, "
          f"sway and tremor): {runs} runs, {false} jerk/too-fast warnings")


def twitches(seeds: int) -> None:
    runs = false = 0
    for axis, amp, dur, shape, seed in itertools.product(("yaw", "pitch", "roll"), (2.0, 3.0, 4.0),
                                                         (0.1, 0.15, 0.25), ("step", "bump"), range(seeds)):
        ex = exercise(movement="side_bend", sides="alternate", target_deg=25.0, tempo_s=8.0)
        t = timeline(10.0, fps=30.0, seed=seed * 13 + int(amp * 10))
        x = sum(shaped(t, t0, amp * (-1) ** i, dur, shape) for i, t0 in enumerate((2.0, 4.0, 6.0, 8.0)))
        evs = motion_events(ex, stream(t, **{axis: x}, noise_deg=0.5, seed=seed))
        runs += 1
        false += len(evs)
    print(f"small quick twitches (2-4 deg in 0.1-0.25 s, 4 per run): {runs} runs, {false} warnings")


def rest(seeds: int) -> None:
    n = 0
    for seed in range(max(seeds, 3)):
        ex = exercise(tempo_s=10.0, target_deg=30.0)
        t = timeline(120.0, seed=seed)
        tremor = 0.5 * np.sin(2 * np.pi * 6.0 * t)
        n += len(motion_events(ex, stream(t, yaw=tremor, pitch=tremor, noise_deg=0.5, seed=seed)))
    print(f"noise and a 1 deg tremor at rest ({max(seeds, 3)} x 120 s, 0.5 deg): {n} warnings")


def features(seeds: int) -> None:
    """What the filter leaves of a flick and of the most demanding smooth movement, per feature.

    For 15 deg flicks in 0.25 s (step or out-and-back, at rest, mid-movement with or against it,
    and ending with the movement) and for smooth turns of 57.5 deg in 1.25 s (the most demanding
    movement under a 90 deg/s limit at 2x a 2.5 s way out) and 39 deg in 1.25 s, each with 0.5 deg
    noise and a 0 / 0.5 / 1 deg (peak to peak) 5 Hz tremor: the largest measured value of each
    candidate feature (flicks: within 300 ms of onset). A usable feature has its smallest flick
    value above its largest smooth one.
    """
    from neckcoach.core.kinematics import KinematicsFilter, RelativePose

    def kin(t, x):
        f = KinematicsFilter()
        ks = [f.update(RelativePose(float(ti), True, float(xi), 0, 0, 0, 0.9, True, 1, 200, 120)) for ti, xi in zip(t, x)]
        return (np.array([k.yaw_speed_deg_s for k in ks]), np.array([k.yaw_accel_deg_s2 for k in ks]),
                np.array([k.yaw_jerk_deg_s3 for k in ks]))

    def dv(t, v, w=0.2):
        out = np.zeros_like(v)
        for i in range(len(t)):
            lo = t[i] - w
            vals = list(v[(t > lo) & (t <= t[i])]) + [float(np.interp(lo, t, v))]
            out[i] = max(v[i] - min(vals), max(vals) - v[i])
        return out

    rng = np.random.default_rng(0)
    for fps in (15.0, 30.0):
        fl: dict[str, list[float]] = {}
        sm: dict[str, list[float]] = {}
        for seed in range(seeds * 4):
            t = timeline(8.0, fps=fps, seed=seed + int(fps) * 100)
            for shape in ("step", "bump"):
                for ctx, base, onset, sign in (("rest", 0 * t, 4.0, 1), ("mid", min_jerk(t, 2.0, 1.25, 50), 2.5, 1),
                                               ("against", min_jerk(t, 2.0, 1.25, 50), 2.5, -1),
                                               ("late", min_jerk(t, 2.0, 1.25, 50), 2.9, 1)):
                    x = base + shaped(t, onset, sign * 15.0, 0.25, shape) + rng.normal(0, 0.5, t.size)
                    v, a, j = kin(t, x)
                    m = (t >= onset) & (t <= onset + 0.3)
                    for name, val in (("velocity change in 0.2 s", dv(t, v)), ("|accel|", np.abs(a)),
                                      ("|jerk|", np.abs(j))):
                        fl.setdefault(name, []).append(float(val[m].max()))
            for amp in (57.5, 39.0):
                for trem in (0.0, 0.25, 0.5):
                    x = (min_jerk(t, 2.0, 1.25, amp) - min_jerk(t, 3.75, 1.25, amp)
                         + trem * np.sin(2 * np.pi * 5.0 * t) + rng.normal(0, 0.5, t.size))
                    v, a, j = kin(t, x)
                    for name, val in (("velocity change in 0.2 s", dv(t, v)), ("|accel|", np.abs(a)),
                                      ("|jerk|", np.abs(j))):
                        sm.setdefault(name, []).append(float(val.max()))
        for name in fl:
            print(f"{fps:.0f} fps, {name}: flicks min {min(fl[name]):.0f} (median {np.median(fl[name]):.0f}), "
                  f"smooth max {max(sm[name]):.0f} (median {np.median(sm[name]):.0f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3, help="noise/timing seeds per case")
    parser.add_argument("--features", action="store_true", help="compare candidate jolt features instead")
    args = parser.parse_args()
    if args.features:
        features(args.seeds)
        return
    flicks(args.seeds)
    clean(args.seeds)
    twitches(args.seeds)
    rest(args.seeds)


if __name__ == "__main__":
    main()
