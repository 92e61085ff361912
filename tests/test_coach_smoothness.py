"""Smoothness metrics against known properties of minimum-jerk movements."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neckcoach.core.smoothness import ldlj, metrics, resample_uniform, sparc, velocity_peaks

FS = 100.0


def mj_speed(t, t0: float, duration_s: float, amplitude: float = 1.0) -> np.ndarray:
    tau = np.clip((t - t0) / duration_s, 0.0, 1.0)
    return amplitude / duration_s * 30 * tau**2 * (1 - tau) ** 2


def submovements(n: int, spacing_s: float, duration_s: float = 1.0) -> np.ndarray:
    t = np.arange(0.0, (n - 1) * spacing_s + duration_s + 1e-9, 1 / FS)
    return sum(mj_speed(t, i * spacing_s, duration_s) for i in range(n))


def test_single_minimum_jerk_values():
    v = submovements(1, 0.0)
    # LDLJ of minimum jerk is exactly -ln(720 / 1.875^2) = -5.32.
    assert ldlj(v, FS) == pytest.approx(-math.log(720 / 1.875**2), abs=0.1)
    assert sparc(v, FS) == pytest.approx(-1.408, abs=0.01)
    assert velocity_peaks(v) == 1


@pytest.mark.parametrize("fs_hz,duration_s", [(30.0, 0.5), (30.0, 3.0), (100.0, 1.0), (1000.0, 1.0)])
def test_sparc_of_minimum_jerk_converges_to_its_analytic_floor(fs_hz, duration_s):
    """The normalised spectrum falls from 1 to the 0.05 cut-off over a unit frequency span, so
    the arc is at least sqrt(1 + 0.95^2) = 1.379 long; minimum jerk's gentle roll-off adds
    little: -1.408 on a fine grid (pad 8), whatever the sampling rate or duration."""
    t = np.arange(0.0, duration_s + 1e-9, 1 / fs_hz)
    v = mj_speed(t, 0.0, duration_s)
    fine = sparc(v, fs_hz, pad_level=8)
    assert fine == pytest.approx(-1.408, abs=0.002)
    assert fine < -math.sqrt(1 + 0.95**2)
    assert sparc(v, fs_hz) == pytest.approx(fine, abs=0.015)


@pytest.mark.parametrize("amplitude,duration", [(10.0, 0.5), (45.0, 3.0), (70.0, 5.0)])
def test_metrics_are_dimensionless(amplitude, duration):
    t = np.arange(0.0, duration + 1e-9, 1 / FS)
    v = mj_speed(t, 0.0, duration, amplitude)
    ref = submovements(1, 0.0)
    assert sparc(v, FS) == pytest.approx(sparc(ref, FS), abs=0.03)
    # Finite differences on 50 samples (0.5 s) cost a few hundredths.
    assert ldlj(v, FS) == pytest.approx(ldlj(ref, FS), abs=0.1)


def test_more_submovements_are_less_smooth():
    one = submovements(1, 0.0)
    two = submovements(2, 0.7)
    three = submovements(3, 0.7)
    assert sparc(one, FS) > sparc(two, FS) > sparc(three, FS)
    assert ldlj(one, FS) > ldlj(two, FS) > ldlj(three, FS)
    assert (velocity_peaks(one), velocity_peaks(two), velocity_peaks(three)) == (1, 2, 3)


def test_noise_ripple_is_not_a_peak():
    rng = np.random.default_rng(0)
    v = submovements(1, 0.0) + rng.normal(0, 0.01, 101)
    assert velocity_peaks(v) == 1


def test_uneven_sampling_is_resampled():
    rng = np.random.default_rng(1)
    t = np.sort(rng.uniform(0, 1, 60))
    t[0], t[-1] = 0.0, 1.0
    m = metrics(t, mj_speed(t, 0.0, 1.0), smooth_s=0.0)
    assert m["velocity_peaks"] == 1
    assert m["ldlj"] == pytest.approx(-5.32, abs=0.5)
    grid, fs = resample_uniform([0.0, 0.1, 0.3], [0.0, 1.0, 3.0], fs_hz=10.0)
    assert fs == 10.0 and np.allclose(grid, [0.0, 1.0, 2.0, 3.0])


def test_too_short_profiles_give_none():
    assert metrics([0.0, 0.1], [1.0, 2.0]) == {"sparc": None, "ldlj": None, "velocity_peaks": None}


@pytest.mark.parametrize("fn,kw,name", [(sparc, {"fs_hz": 0.0}, "fs_hz"), (ldlj, {"fs_hz": -1.0}, "fs_hz")])
def test_invalid_rate_rejected(fn, kw, name):
    with pytest.raises(ValueError, match=name):
        fn(np.ones(10), **kw)


def test_smoothing_removes_noise_peaks_but_keeps_submovements():
    rng = np.random.default_rng(2)
    t = np.arange(0.0, 3.0 + 1e-9, 1 / 30)
    clean = mj_speed(t, 0.0, 3.0, 45.0)  # 45 deg in 3 s, peak 28 deg/s
    noisy = clean + rng.normal(0, 3.0, t.size)
    assert metrics(t, noisy, smooth_s=0.0, min_prominence_abs=5.0)["velocity_peaks"] > 1
    assert metrics(t, noisy, min_prominence_abs=5.0)["velocity_peaks"] == 1
    two = mj_speed(t, 0.0, 1.5, 20.0) + mj_speed(t, 1.5, 1.5, 20.0) + rng.normal(0, 3.0, t.size)
    assert metrics(t, two, min_prominence_abs=5.0)["velocity_peaks"] == 2
