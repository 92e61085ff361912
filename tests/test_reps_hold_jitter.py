"""Holds judged in a grainy picture: the target band's exit widens with the reading's jitter,
and the hold's own readings keep a short rep out (see reps.BAND_EXIT_SIGMAS)."""

from __future__ import annotations

import numpy as np
import pytest

from neckcoach.core import events as ev
from neckcoach.core.reps import RepCounter

try:
    from tests.test_coach_support import exercise, min_jerk, raw_frames, routine, timeline
except ImportError:  # tests/ on sys.path (pytest rootdir-less import mode)
    from test_coach_support import exercise, min_jerk, raw_frames, routine, timeline

SEEDS = range(8)
FPS = (15.0, 24.0, 30.0)
HOLD_S = 3.0


def tuck():
    return exercise(id="tuck", name="Chin tuck", movement="retraction", sides=None, target_deg=None,
                    target_mm=15.0, reps=1, hold_s=HOLD_S, tempo_s=7.0)


def jittery_tuck(fps: float, seed: int, amplitude_mm: float, held_s: float, sigma_mm: float,
                 reported_mm: float | None = None):
    """A chin tuck out in 1.5 s, held `held_s`, back in 1.5 s, read with correlated jitter of
    `sigma_mm` (time constant 65 ms, as `sim.closed_loop.MeasurementNoise`) and that jitter
    (or `reported_mm`) reported as the reading's noise, every frame trusted."""
    t = timeline(14.0, fps=fps, seed=seed)
    x = min_jerk(t, 2.0, 1.5, amplitude_mm) - min_jerk(t, 3.5 + held_s, 1.5, amplitude_mm)
    rng = np.random.default_rng(seed)
    jitter = np.zeros_like(t)
    for i in range(1, len(t)):
        a = np.exp(-(t[i] - t[i - 1]) / 0.065)
        jitter[i] = a * jitter[i - 1] + np.sqrt(1.0 - a * a) * sigma_mm * rng.standard_normal()
    return raw_frames(t, "retraction", x + jitter, noise=sigma_mm if reported_mm is None else reported_mm)


def run(frames):
    ex = tuck()
    c = RepCounter(ex, routine(ex).ranges)
    out = [e for k in frames for e in c.update(k)]
    return c, out


@pytest.mark.parametrize("sigma_mm", [1.0, 1.5, 2.5])
def test_a_tuck_held_at_the_target_in_a_grainy_picture_counts(sigma_mm):
    """Held 4.6 s at 14.5 of 15 mm (reach 12.75, past the population benchmark's tolerance): the
    jitter dips the reading below a 1 mm hysteresis time and again. Before the change, over these
    24 runs: all counted at 1.5 mm but with 2 "Stay at the target" cues, at 2.5 mm 19 counted and
    28 such cues (kinematics population seed 675 heard it six times in one hold)."""
    counted = broken = runs = 0
    for seed in SEEDS:
        for fps in FPS:
            c, out = run(jittery_tuck(fps, seed, 14.5, 4.6, sigma_mm))
            runs += 1
            counted += sum(1 for r in c.records if r.complete)
            broken += sum(1 for e in out if e.kind == ev.HOLD_BROKEN)
    if sigma_mm <= 1.5:
        assert counted >= runs - 1 and broken == 0
    else:  # 2.5 mm: near what is trusted at all; most, and hardly a cue
        assert counted >= 0.75 * runs and broken <= 2


def test_a_tuck_held_still_just_short_of_the_target_hears_almost_not_hold_broken():
    """Held 4.6 s at 12.0 of 15 mm, inside the band's exit but short of its reach, with 1.5 mm of
    jitter: its readings' median is short of the reach when the hold's time is up, so it is not
    counted, and the patient hears "almost" (once), not "Stay at the target" again and again
    (before the change: 2 of these 24 counted, and 128 such cues)."""
    for seed in SEEDS:
        for fps in FPS:
            c, out = run(jittery_tuck(fps, seed, 12.0, 4.6, 1.5))
            assert not any(r.complete for r in c.records), (seed, fps)
            assert sum(1 for e in out if e.kind == ev.ALMOST) <= 1, (seed, fps)
            assert sum(1 for e in out if e.kind == ev.HOLD_BROKEN) <= 1, (seed, fps)


@pytest.mark.parametrize("sigma_mm", [1.0, 1.5, 2.5])
@pytest.mark.parametrize("amplitude_mm,held_s", [(10.2, 4.6), (14.5, 1.5)])
def test_a_short_tuck_or_a_short_hold_is_not_counted_however_grainy(sigma_mm, amplitude_mm, held_s):
    """What the wider exit lets in stays out: a tuck 68 % of the way, which the jitter carries into
    the band, and a hold let go after 1.5 of its 3 s (credited until the reading left the band's
    exit, not until the jitter-wide exit noticed)."""
    for seed in SEEDS:
        for fps in FPS:
            c, _ = run(jittery_tuck(fps, seed, amplitude_mm, held_s, sigma_mm))
            assert not any(r.complete for r in c.records), (seed, fps)
            if held_s < HOLD_S:
                assert all(r.hold_s < HOLD_S for r in c.records), (seed, fps)


def test_a_hold_whose_jitter_is_under_reported_is_judged_by_its_own_spread():
    """The reading says half the jitter it has (as a slowly wandering depth reading does: rendered
    population seed 401387, 0.56 mm said for 1.0 mm): held 4.6 s at 12.0 of 15 mm, short of the
    reach, the exit widened by the said jitter alone was crossed again and again. Over these 24
    runs, before the change: 4 counted, 39 "Stay at the target" and 11 "almost"; after: none
    counted, 10 and 23. A let-go hold still ends: held 1.5 of 3 s, none counted."""
    broken = almost = 0
    for seed in SEEDS:
        for fps in FPS:
            c, out = run(jittery_tuck(fps, seed, 12.0, 4.6, 1.0, reported_mm=0.5))
            assert not any(r.complete for r in c.records), (seed, fps)
            broken += sum(1 for e in out if e.kind == ev.HOLD_BROKEN)
            almost += sum(1 for e in out if e.kind == ev.ALMOST)
            c, out = run(jittery_tuck(fps, seed, 14.5, 1.5, 1.0, reported_mm=0.5))
            assert not any(r.complete for r in c.records), (seed, fps)
            assert all(r.hold_s < HOLD_S for r in c.records), (seed, fps)
    assert broken <= 12 and almost >= 20
