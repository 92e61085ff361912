"""Safety monitor on synthetic kinematics: flicks caught, clean reps and twitches left alone.

No rendering and no MediaPipe: analytic minimum-jerk angles with 0.5 deg
landmark-like noise and +-25 % frame-time jitter go through the project's real
`KinematicsFilter` and `SafetyMonitor` (the same generator as the unit tests),
so thousands of cases run in a minute. Prints detection rate and latency of
flicks (15-20 deg in 0.15-0.25 s, on the exercise's axis or another one, at
rest or mid-rep, 15/24/30 fps, each bundled exercise as prescribed), false warnings on clean reps over the tempo /
amplitude grid the routine model accepts, on small quick twitches (2-4 deg,
as while talking) and on noise at rest.

    .venv/bin/python benchmarks/safety_sweep.py            # ~1 min on 2 cores
    .venv/bin/python benchmarks/safety_sweep.py --seeds 1  # quicker
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
    cases = itertools.product(bundled_exercises(), (15.0, 24.0, 30.0), ("yaw", "pitch", "roll"),
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
    for fps in (15.0, 24.0, 30.0):
        lats = [r[3] for r in rows if r[1] == fps]
        got = [x for x in lats if x is not None and x <= 0.3]
        missed = sorted({r[0] for r in rows if r[1] == fps and (r[3] is None or r[3] > 0.3)})
        print(f"flicks at {fps:.0f} fps on the bundled exercises: warned within 300 ms {len(got)}/{len(lats)}, "
              f"latency median {1000 * np.median(got):.0f} ms, max {1000 * max(got):.0f} ms"
              + (f"; missed on {', '.join(missed)}" if missed else ""))


def clean(seeds: int) -> None:
    runs = false = 0
    for fps, axis, tempo, amp, seed in itertools.product((15.0, 30.0), ("yaw", "pitch", "roll"), (4.0, 6.0, 8.0, 10.0),
                                                         (30.0, 50.0, 70.0), range(seeds)):
        amp = min(amp, {"yaw": 70.0, "pitch": 45.0, "roll": 40.0}[axis])
        if 1.875 * amp / (tempo / 2) > 90.0:
            continue
        movement, sides = MOVEMENT[axis]
        ex = exercise(movement=movement, sides=sides, target_deg=amp * 0.95, tempo_s=tempo, reps=4)
        t = timeline(4 * tempo + 6.0, fps=fps, seed=seed * 31 + int(tempo * 10 + amp))
        x, _ = rep_train(t, start_s=2.0, amplitudes=[amp, -amp, amp, -amp], tempo_s=tempo, gap_s=0.2)
        # Natural cross-talk: a little pitch and roll ride along with every rep.
        others = {a: 0.1 * x for a in ("yaw", "pitch", "roll") if a != axis}
        evs = motion_events(ex, stream(t, **{axis: x}, **others, noise_deg=0.5, seed=seed))
        runs += 1
        false += len(evs)
    print(f"clean reps (tempo 4-10 s, 30-70 deg, 15/30 fps, 0.5 deg noise): {runs} runs, {false} jerk/too-fast warnings")


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
        n += len(motion_events(ex, stream(t, noise_deg=0.5, seed=seed)))
    print(f"noise at rest ({max(seeds, 3)} x 120 s, 0.5 deg): {n} warnings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3, help="noise/timing seeds per case")
    args = parser.parse_args()
    flicks(args.seeds)
    clean(args.seeds)
    twitches(args.seeds)
    rest(args.seeds)


if __name__ == "__main__":
    main()
