"""Movement smoothness metrics computed from a speed profile.

Implemented from the published definitions:
- SPARC, spectral arc length (Balasubramanian et al. 2012, J NeuroEng Rehabil;
  2015 revision with the adaptive cut-off): arc length of the normalised
  Fourier magnitude spectrum of the speed profile. A smooth single movement
  has a compact spectrum and a short arc (-1.41 for minimum jerk with the
  adaptive cut-off, whatever the duration or sampling rate: the arc can be no
  shorter than sqrt(1 + 0.95^2) = 1.38; with the 2012 fixed cut-off the same
  profile gives -1.74 to -2.03 for 0.5-2 s movements, i.e. it depends on the
  duration, which is why the adaptive form is used); extra sub-movements add
  spectral ripples and lengthen the arc (more negative).
- LDLJ, log dimensionless jerk (Hogan & Sternad 2009; speed-based form of
  Balasubramanian 2015): -ln(T^3 / v_peak^2 * integral(dv/dt^2 squared)).
  Duration and peak speed normalise away amplitude and tempo, which is why a
  slow movement is not penalised merely for being slow.
- Velocity peaks: local maxima of the speed above a prominence, i.e. the number
  of sub-movements (1 for a single minimum-jerk movement).

They describe ONE movement, from rest to rest: a rep's way out and its way
back are two movements, and the hold between them is not part of either
(over out + hold + back a perfect rep has two speed peaks and a long flat
stretch of landmark noise, which is how exactly minimum-jerk reps came to
score SPARC -5 and 2-3 peaks). `split_rep` finds the two movements of a rep
from its position trace; `movement_metrics` scores one of them from a speed
smoothed enough that frame noise does not dominate (see `MOVEMENT_SMOOTH_S`).
"""

from __future__ import annotations

import math

import numpy as np


def resample_uniform(t_s, values, fs_hz: float | None = None) -> tuple[np.ndarray, float]:
    """Resample an unevenly timed signal onto a uniform grid (linear).

    Frames arrive with uneven spacing; spectra and derivatives need a uniform
    grid. The default rate is the inverse of the median spacing.
    """
    t = np.asarray(t_s, dtype=float)
    v = np.asarray(values, dtype=float)
    if t.shape != v.shape or t.ndim != 1:
        raise ValueError(f"t_s and values must be 1-D of equal length, got {t.shape} and {v.shape}")
    if t.size < 2:
        return v.copy(), float(fs_hz or 30.0)
    if fs_hz is None:
        dt = float(np.median(np.diff(t)))
        fs_hz = 1.0 / dt if dt > 0 else 30.0
    if fs_hz <= 0:
        raise ValueError(f"fs_hz must be > 0, got {fs_hz}")
    n = max(2, int(math.floor((t[-1] - t[0]) * fs_hz)) + 1)
    grid = t[0] + np.arange(n) / fs_hz
    return np.interp(grid, t, v), float(fs_hz)


def sparc(speed, fs_hz: float, pad_level: int = 4, fc_hz: float = 10.0,
          amp_threshold: float = 0.05) -> float:
    """Spectral arc length of a uniformly sampled speed profile (<= 0).

    The spectrum is zero-padded to 2**(ceil(log2 N) + pad_level) points for a
    fine frequency grid, normalised by its DC value, then cut at the highest
    frequency below `fc_hz` where it still exceeds `amp_threshold` (the
    adaptive cut-off of the 2015 paper, so noise far above the movement band
    does not count). Frequencies are normalised by that cut-off.
    """
    if fs_hz <= 0:
        raise ValueError(f"fs_hz must be > 0, got {fs_hz}")
    if fc_hz <= 0:
        raise ValueError(f"fc_hz must be > 0, got {fc_hz}")
    if not 0 < amp_threshold < 1:
        raise ValueError(f"amp_threshold must be in (0, 1), got {amp_threshold}")
    v = np.abs(np.asarray(speed, dtype=float))
    if v.size < 3 or not np.any(v > 0):
        return 0.0
    nfft = int(2 ** (math.ceil(math.log2(v.size)) + pad_level))
    mag = np.abs(np.fft.rfft(v, nfft))
    freq = np.fft.rfftfreq(nfft, 1.0 / fs_hz)
    mag = mag / mag.max()
    band = freq <= fc_hz
    f_band, m_band = freq[band], mag[band]
    above = np.nonzero(m_band >= amp_threshold)[0]
    last = int(above[-1]) if above.size else 1
    last = max(last, 1)
    f_sel, m_sel = f_band[: last + 1], m_band[: last + 1]
    df = np.diff(f_sel) / (f_sel[-1] - f_sel[0])
    dm = np.diff(m_sel)
    return float(-np.sum(np.sqrt(df * df + dm * dm)))


def ldlj(speed, fs_hz: float) -> float:
    """Log dimensionless jerk from a uniformly sampled speed profile.

    Jerk of a speed profile is its second derivative; the integral of its
    square is scaled by duration^3 / peak_speed^2 so that the value depends
    only on the shape (minimum jerk: -ln(720/1.875^2) = -5.32).
    """
    if fs_hz <= 0:
        raise ValueError(f"fs_hz must be > 0, got {fs_hz}")
    v = np.abs(np.asarray(speed, dtype=float))
    if v.size < 5:
        return 0.0
    vpeak = float(v.max())
    if vpeak <= 0:
        return 0.0
    dt = 1.0 / fs_hz
    duration = (v.size - 1) * dt
    jerk = np.diff(v, 2) / (dt * dt)
    integral = float(np.sum(jerk * jerk) * dt)
    if integral <= 0:
        return 0.0
    return float(-math.log(duration ** 3 / vpeak ** 2 * integral))


def velocity_peaks(speed, min_prominence: float = 0.1, min_prominence_abs: float = 0.0) -> int:
    """Number of speed peaks whose prominence is >= min_prominence x peak speed
    (and >= min_prominence_abs, in the speed's own unit).

    Prominence (drop to the higher of the two surrounding minima) ignores the
    small ripples that landmark noise adds on top of one smooth movement; the
    absolute floor matters for slow movements, whose peak speed is only a few
    times the measurement noise.
    """
    if not 0 < min_prominence < 1:
        raise ValueError(f"min_prominence must be in (0, 1), got {min_prominence}")
    if min_prominence_abs < 0:
        raise ValueError(f"min_prominence_abs must be >= 0, got {min_prominence_abs}")
    v = np.abs(np.asarray(speed, dtype=float))
    if v.size < 3 or v.max() <= 0:
        return 0
    thr = max(min_prominence * float(v.max()), min_prominence_abs)
    # Walk the signal tracking the running minimum since the last accepted peak.
    count = 0
    left_min = v[0]
    candidate = None
    for x in v[1:]:
        if candidate is None:
            if x < left_min:
                left_min = x
            elif x - left_min >= thr:
                candidate = x
        else:
            if x > candidate:
                candidate = x
            elif candidate - x >= thr:
                count += 1
                left_min = x
                candidate = None
    if candidate is not None and candidate - v[-1] >= thr * 0.999:
        count += 1
    elif candidate is not None and candidate - left_min >= thr:
        # A profile cut off at its peak still contains that peak.
        count += 1
    return count


def gaussian_smooth(values, fs_hz: float, sigma_s: float) -> np.ndarray:
    """Zero-phase Gaussian smoothing (offline: the whole movement is known).

    A webcam speed signal carries frame-to-frame noise of a few deg/s, which
    jerk-based metrics amplify enormously. The default sigma of 0.08 s
    (-3 dB near 2.3 Hz) keeps a neck movement done at any tempo the routine
    model allows (>= 1 s each way, content below ~1.5 Hz) and removes most of
    that noise: on simulated clean reps with 0.5 deg angle noise, 188 of 192
    then show exactly the two velocity peaks of out-and-back.
    """
    if sigma_s < 0:
        raise ValueError(f"sigma_s must be >= 0, got {sigma_s}")
    x = np.asarray(values, dtype=float)
    half = int(math.ceil(3 * sigma_s * fs_hz))
    if half < 1 or x.size < 3:
        return x.copy()
    k = np.exp(-0.5 * (np.arange(-half, half + 1) / (sigma_s * fs_hz)) ** 2)
    k /= k.sum()
    # Mirrored, not repeated: a noisy end sample repeated over 3 sigma is a step the signal
    # never made, and smoothing turns it into a lump of speed at the end.
    padded = np.pad(x, half, mode="reflect")
    return np.convolve(padded, k, mode="valid")


def metrics(t_s, velocity, smooth_s: float = 0.08, min_prominence: float = 0.2,
            min_prominence_abs: float = 0.0) -> dict[str, float | int | None]:
    """All smoothness metrics of one unevenly sampled movement.

    `velocity` may be signed (along the movement axis): it is smoothed before
    taking its magnitude, so that noise around zero speed (at the turn, in a
    hold) does not fold into spurious peaks.
    """
    t = np.asarray(t_s, dtype=float)
    if t.size < 5 or t[-1] - t[0] <= 0:
        return {"sparc": None, "ldlj": None, "velocity_peaks": None}
    v, fs = resample_uniform(t, np.asarray(velocity, dtype=float))
    speed = np.abs(gaussian_smooth(v, fs, smooth_s))
    return {"sparc": sparc(speed, fs), "ldlj": ldlj(speed, fs),
            "velocity_peaks": velocity_peaks(speed, min_prominence, min_prominence_abs)}


# Zero-phase smoothing of the speed before scoring one movement. Landmark noise
# differentiated at 15-30 fps is broadband, while a minimum-jerk movement of
# duration T has almost nothing above 1.7/T Hz (its spectrum is below 5 %
# there). Its shape (SPARC, LDLJ) is scored from a speed smoothed over T/8,
# which leaves a minimum-jerk movement at SPARC -1.41 (tested) and keeps
# noise from shaping it even for a 25 deg movement at half its tempo (lighter
# smoothing scored those 0.45 low from noise alone). Its speed peaks are
# counted on a lightly smoothed speed, sigma T/8 between MOVEMENT_SMOOTH_S and
# MOVEMENT_SMOOTH_MAX_S, so that a 0.2 s flick inside a long movement is a
# peak of its own (tests/test_coach_smoothness.py). T is the movement's duration
# from its 20-80 % time (`reps._movement_duration_s`). Until stop 50 that read
# 0.82-0.96 of the duration (median 0.85 on the synthetic grid), so "T/8" was
# ~T/9.4: on the grid, the true T/8 scores the movements whose shape SNR is
# 8-10 within 0.3 of -1.41 in 99 % (T/10: 86 %; as it was: 91 %).
MOVEMENT_SMOOTH_S = 0.06
MOVEMENT_SMOOTH_MAX_S = 0.1
MOVEMENT_SMOOTH_FRACTION = 1 / 8
# Where the noise allows, the shape is scored over a twentieth of the movement
# instead, which keeps more of a brief jolt inside it: where the movement's peak
# speed is at least FINE_SHAPE_MIN_SNR times the noise of that lighter-smoothed
# speed. Exactly minimum-jerk movements with jitter smoothed over T/20
# (benchmarks/smoothness_noise.py --fraction 0.05) score within 0.3 of -1.41 in
# 98-100 % of cases from an SNR of 20 up (96 % at 15-20, 72-90 % at 8-15). A
# 15 deg, 0.2 s jolt inside a turn or side bend then scores SPARC median -1.69
# (38 % beyond -1.71) where over T/8 alone it scores -1.52 (none beyond -1.71).
# (Chosen until stop 50 as 1/16 of a duration read at ~0.85 of it: ~T/19.)
MOVEMENT_SMOOTH_FINE_FRACTION = 1 / 20
FINE_SHAPE_MIN_SNR = 20.0
SHAPE_FRACTIONS = (MOVEMENT_SMOOTH_FINE_FRACTION, MOVEMENT_SMOOTH_FRACTION)
# A movement starts and ends where its smoothed speed is below this share of
# its peak: 10 % cuts 0.087 of a minimum-jerk movement's duration at each
# end, where it carries 0.6 % of the distance.
ONSET_FRACTION = 0.1
# Below this ratio of peak speed to the noise of the shape's smoothed speed at
# rest, the shape of the speed profile is not measured: SPARC, LDLJ and speed
# peaks are withheld. Exactly minimum-jerk movements through the filter with
# white jitter (benchmarks/smoothness_noise.py, none of it the patient
# population): from 8 up, 97-100 % of them score within 0.3 of -1.41 in every
# SNR band; at 6-8, 78-90 %; below 6, none of 16.
MIN_SNR = 8.0
# Speed peaks separated by dips of at least this share of the peak speed are
# stop-starts: the movement nearly halts between them.
STOP_START_PROMINENCE = 0.5
# Reference values a therapist can compare with (module docstring, tests).
SPARC_MINIMUM_JERK = -1.41


def split_rep(t_s, position, *, settle_fraction: float = 0.05) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """Index spans (start, end) of a rep's way out and way back, or None.

    `position` is signed so that the rep goes positive. The way out runs from
    the start of the trace to where the head first comes within
    `settle_fraction` of its furthest point (then `movement_bounds` extends it
    to where it actually stops); the way back from where it last leaves that
    region to the end. A hold, however long, falls between the two.
    """
    x = np.asarray(position, dtype=float)
    if x.size < 5:
        return None
    peak = float(x.max())
    if peak <= 0:
        return None
    near = np.nonzero(x >= peak - settle_fraction * max(peak, 1e-9))[0]
    first, last = int(near[0]), int(near[-1])
    return (0, max(first, 1)), (min(last, x.size - 2), x.size - 1)


def movement_bounds(speed: np.ndarray, lo: int, hi: int, floor: float, fraction: float = ONSET_FRACTION,
                    limit: tuple[int, int] | None = None) -> tuple[int, int]:
    """Grow [lo, hi] outwards to where the movement rests: its speed below `fraction` of its
    peak (or `floor`), searching no further than `limit` (default: the whole signal)."""
    n = speed.size
    a, b = (0, n - 1) if limit is None else limit
    seg = speed[lo:hi + 1]
    if seg.size == 0:
        return lo, hi
    thr = max(fraction * float(seg.max()), floor)
    i = lo
    while i > a and speed[i] > thr:
        i -= 1
    j = hi
    while j < b and speed[j] > thr:
        j += 1
    # Then inwards: the rest before/after the movement is not part of it.
    while i < j and speed[i + 1] <= thr:
        i += 1
    while j > i and speed[j - 1] <= thr:
        j -= 1
    return i, j


def smoothing_for(duration_s: float) -> float:
    """Gaussian sigma (s) for scoring a movement of this duration (see MOVEMENT_SMOOTH_FRACTION)."""
    return min(MOVEMENT_SMOOTH_MAX_S, max(MOVEMENT_SMOOTH_S, MOVEMENT_SMOOTH_FRACTION * max(duration_s, 0.0)))


def movement_metrics(t_s, velocity, *, smooth_s: float = MOVEMENT_SMOOTH_S, min_prominence: float = 0.2,
                     min_prominence_abs: float = 0.0) -> dict[str, float | int | None]:
    """SPARC, LDLJ, speed peaks, duration and peak speed of ONE movement from rest to rest.

    `velocity` is the signed speed along the movement (positive in its
    direction): smoothed (zero phase) before its magnitude is taken, so
    noise around zero speed does not fold into spurious peaks.
    """
    t = np.asarray(t_s, dtype=float)
    if t.size < 5 or t[-1] - t[0] <= 0:
        return {"sparc": None, "ldlj": None, "velocity_peaks": None, "stop_starts": None, "duration_s": None,
                "peak_speed": None}
    v, fs = resample_uniform(t, np.asarray(velocity, dtype=float))
    speed = np.abs(gaussian_smooth(v, fs, smooth_s))
    return {"sparc": sparc(speed, fs), "ldlj": ldlj(speed, fs),
            "velocity_peaks": velocity_peaks(speed, min_prominence, min_prominence_abs),
            "stop_starts": velocity_peaks(speed, STOP_START_PROMINENCE, min_prominence_abs),
            "duration_s": float(t[-1] - t[0]), "peak_speed": float(speed.max())}
