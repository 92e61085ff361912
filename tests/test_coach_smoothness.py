"""Smoothness metrics against known properties of minimum-jerk movements."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neckcoach.core.smoothness import SPARC_MINIMUM_JERK, ldlj, metrics, resample_uniform, sparc, split_rep, velocity_peaks

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


# --------------------------------------------------------------- per movement, through the filter
def _counted(ex, frames) -> list[dict]:
    """The records of every rep a counter for `ex` saw in `frames`."""
    from neckcoach.core.reps import RepCounter

    try:
        from tests.test_coach_support import routine
    except ImportError:
        from test_coach_support import routine
    c = RepCounter(ex, routine(ex).ranges)
    for k in frames:
        c.update(k)
    assert c.records, "no rep seen"
    return [r.to_dict() for r in c.records]


def _rep_record(ex, x, t, **stream_kw):
    try:
        from tests.test_coach_support import stream
    except ImportError:
        from test_coach_support import stream
    return _counted(ex, stream(t, **{ex.axis: x}, **stream_kw))[0]


def _one_rep(ex, amplitude, pace, fps, seed):
    try:
        from tests.test_coach_support import rep_train, timeline
    except ImportError:
        from test_coach_support import rep_train, timeline
    move = (float(ex.tempo_s) - float(ex.hold_s)) / 2 / pace
    tempo = 2 * move + float(ex.hold_s)
    t = timeline(tempo + 6.0, fps=fps, seed=seed)
    x, _ = rep_train(t, start_s=2.0, amplitudes=[amplitude], tempo_s=tempo, hold_s=float(ex.hold_s))
    return t, x, move


@pytest.mark.parametrize("fps", [15.0, 24.0, 30.0])
@pytest.mark.parametrize("pace", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("movement,target,tempo,hold", [("rotation", 50.0, 7.0, 2.0), ("side_bend", 25.0, 8.0, 3.0),
                                                        ("flexion_extension", 30.0, 7.0, 2.0)])
def test_minimum_jerk_movements_score_smooth_out_and_back(movement, target, tempo, hold, pace, fps):
    """Each way of an exactly minimum-jerk rep, through the filter with 0.4 deg of landmark noise:
    SPARC within 0.3 of -1.41 and one speed peak, at any pace and frame rate (regression: over
    out + hold + back and unsmoothed noise, the same reps scored -5 and 2-3 peaks)."""
    try:
        from tests.test_coach_support import exercise
    except ImportError:
        from test_coach_support import exercise
    ex = exercise(movement=movement, sides="left" if movement != "flexion_extension" else "alternate",
                  target_deg=target, tempo_s=tempo, hold_s=hold, reps=1)
    sign = ex.sign(ex.directions()[0])
    t, x, _ = _one_rep(ex, sign * target * 1.05, pace, fps, seed=int(pace * 10 + fps))
    d = _rep_record(ex, x, t, noise_deg=0.4, seed=2)
    for way in ("out", "back"):
        assert d[f"sparc_{way}"] == pytest.approx(SPARC_MINIMUM_JERK, abs=0.3), (way, d)
        assert d[f"velocity_peaks_{way}"] == 1, (way, d)
    assert d["sparc"] == min(d["sparc_out"], d["sparc_back"]) and d["velocity_peaks"] == 1


@pytest.mark.parametrize("fps", [15.0, 30.0])
def test_a_flick_inside_a_movement_scores_clearly_worse(fps):
    """A 15 deg jolt in 0.2 s inside a 52 deg turn with 0.4 deg of jitter: two speed peaks, and a
    SPARC 0.3 below the same turn without it (over an eighth of the movement it was 0.11 below:
    since stop 49 the shape is smoothed over a sixteenth wherever the noise allows)."""
    try:
        from tests.test_coach_support import exercise, min_jerk
    except ImportError:
        from test_coach_support import exercise, min_jerk
    ex = exercise(movement="rotation", sides="left", target_deg=50.0, tempo_s=7.0, hold_s=2.0, reps=1)
    t, x, move = _one_rep(ex, 52.0, 1.0, fps, seed=5)
    smooth = _rep_record(ex, x, t, noise_deg=0.4, seed=2)
    onset = 2.0 + 0.4 * move
    jolted = x + min_jerk(t, onset, 0.1, 15.0) - min_jerk(t, onset + 0.1, 0.1, 15.0)
    rough = _rep_record(ex, jolted, t, noise_deg=0.4, seed=2)
    assert smooth["velocity_peaks_out"] == 1 and rough["velocity_peaks_out"] >= 2
    assert rough["sparc_out"] < smooth["sparc_out"] - 0.25, (smooth["sparc_out"], rough["sparc_out"])
    assert rough["sparc_back"] == pytest.approx(smooth["sparc_back"], abs=0.15)  # the way back was smooth


@pytest.mark.parametrize("gap_s", [0.5, 2.0])
@pytest.mark.parametrize("fps", [15.0, 30.0])
def test_a_turn_soon_after_one_to_the_other_side_is_scored(gap_s, fps):
    """Turns to alternate sides a moment apart (the demo's: 2 s): the end of one turn's way back
    is not the rest before the next, so the next is scored, not withheld as too noisy to measure
    (regression: the demo's third and fourth turns had no smoothness)."""
    try:
        from tests.test_coach_support import exercise, rep_train, stream, timeline
    except ImportError:
        from test_coach_support import exercise, rep_train, stream, timeline
    ex = exercise(movement="rotation", sides="alternate", target_deg=50.0, tempo_s=7.0, hold_s=3.0, reps=3)
    t = timeline(2.0 + 3 * (7.0 + gap_s) + 4.0, fps=fps, seed=11)
    signs = [ex.sign(ex.directions()[i % 2]) for i in range(3)]
    x, _ = rep_train(t, start_s=2.0, amplitudes=[52.0 * s for s in signs], tempo_s=7.0, hold_s=3.0, gap_s=gap_s)
    reps = _counted(ex, stream(t, yaw=x, noise_deg=0.4, seed=4))
    assert len(reps) == 3 and all(r["complete"] for r in reps), reps
    for d in reps:
        for way in ("out", "back"):
            assert d[f"sparc_{way}"] == pytest.approx(SPARC_MINIMUM_JERK, abs=0.3), (way, d)
            assert d[f"velocity_peaks_{way}"] == 1, (way, d)


@pytest.mark.parametrize("bound_from_deg,withheld", [(None, (None, None)), (42.0, ("beyond", "beyond"))])
def test_a_movement_read_past_the_measurable_range_has_no_shape(bound_from_deg, withheld):
    """Where part of a movement is read as a lower bound, that reading's steps are not the head's:
    its shape is withheld ("beyond"); the same turn read in full is scored."""
    from dataclasses import replace

    try:
        from tests.test_coach_support import exercise, rep_train, stream, timeline
    except ImportError:
        from test_coach_support import exercise, rep_train, stream, timeline
    ex = exercise(movement="rotation", sides="left", target_deg=50.0, tempo_s=7.0, hold_s=2.0, reps=1)
    sign = ex.sign(ex.directions()[0])
    t = timeline(12.0, fps=30.0, seed=12)
    x, _ = rep_train(t, start_s=2.0, amplitudes=[sign * 52.0], tempo_s=7.0, hold_s=2.0)
    frames = stream(t, yaw=x, noise_deg=0.4, seed=5)
    if bound_from_deg is not None:
        frames = [replace(k, yaw_reliable=False, lower_bound_axes=("yaw",)) if abs(y) > bound_from_deg else k
                  for k, y in zip(frames, x)]
    d = _counted(ex, frames)[0]
    assert d["complete"] and (d["smoothness_withheld_out"], d["smoothness_withheld_back"]) == withheld, d
    for way, reason in zip(("out", "back"), withheld):
        if reason is None:
            assert d[f"sparc_{way}"] == pytest.approx(SPARC_MINIMUM_JERK, abs=0.3), (way, d)
        else:
            assert d[f"sparc_{way}"] is None and d[f"velocity_peaks_{way}"] is None, (way, d)


@pytest.mark.parametrize("pace", [0.5, 1.0, 2.0])
def test_a_chin_nod_is_scored_or_withheld_never_shown_rough(pace):
    """An 8 deg nod peaks at 7.5 deg/s at its tempo, 3.8 at half of it: a few times the landmark
    noise. Its shape is measured as smooth or not reported. With the 0.2-0.3 deg jitter of a still
    head on real clips (benchmarks/README.md), within 0.3 of -1.41 at any pace (before stop 49 the
    nod at half its tempo needed 0.4: its ends were shaped by the noise; see below)."""
    tolerance = 0.3
    try:
        from tests.test_coach_support import exercise
    except ImportError:
        from test_coach_support import exercise
    ex = exercise(movement="chin_nod", sides="none", target_deg=8.0, max_deg=20.0, hold_s=10.0, tempo_s=14.0,
                  max_speed_deg_s=30.0, reps=1)
    t, x, _ = _one_rep(ex, 8.5, pace, 30.0, seed=7)
    d = _rep_record(ex, x, t, noise_deg=0.25, seed=3)
    for way in ("out", "back"):
        sparc_way = d[f"sparc_{way}"]
        assert sparc_way is None or sparc_way == pytest.approx(SPARC_MINIMUM_JERK, abs=tolerance), (way, d)
        assert d[f"velocity_peaks_{way}"] in (None, 1), (way, d)


def _exercise_for(movement, target, tempo, hold):
    try:
        from tests.test_coach_support import exercise_for
    except ImportError:
        from test_coach_support import exercise_for
    return exercise_for(movement, target, tempo, hold)


@pytest.mark.parametrize("fps", [15.0, 30.0])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("movement,target,tempo,hold,jitter,always_shown", [
    ("side_bend", 25.0, 8.0, 3.0, 1.0, True), ("flexion_extension", 30.0, 7.0, 2.0, 1.0, True),
    ("chin_nod", 8.0, 14.0, 10.0, 0.4, False), ("retraction", 15.0, 7.0, 3.0, 1.0, False)])
def test_a_slow_movement_in_a_noisy_reading_scores_smooth(movement, target, tempo, hold, jitter, always_shown,
                                                           seed, fps):
    """Minimum-jerk reps at half their tempo (4-5 s each way) with heavy jitter (1 deg, 0.4 deg for
    the 8 deg nod, 1 mm for the tuck): each way scores within 0.3 of -1.41 with one speed peak, or
    is withheld as too noisy, never shown rough. Regression (stop 49): each movement was cut from the
    record and smoothed alone, its ends padded with its own end samples, so one noisy sample
    repeated over 3 sigma (up to 2 s) became a lump of speed no head made; its start and stop were
    found on the lightly smoothed speed, where a slow nod's noise floor cut it short; and the record
    stopped 1 s after the rep, before the nod's way back had come to rest. These scored -1.5 to -2.4."""
    ex = _exercise_for(movement, target, tempo, hold)
    sign = ex.sign(ex.directions()[0])
    t, x, _ = _one_rep(ex, sign * target * 1.05, 0.5, fps, seed=seed)
    d = _rep_record(ex, x, t, noise_deg=jitter, noise_mm=jitter, seed=seed + 1)
    for way in ("out", "back"):
        if d[f"sparc_{way}"] is None and not always_shown:
            assert d[f"smoothness_withheld_{way}"] == "noise" and d[f"velocity_peaks_{way}"] is None, (way, d)
            continue
        assert d[f"sparc_{way}"] == pytest.approx(SPARC_MINIMUM_JERK, abs=0.3), (way, d)
        assert d[f"velocity_peaks_{way}"] == 1, (way, d)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_a_slow_nods_way_back_is_recorded_until_it_rests(seed):
    """The rep ends when the head is back in the neutral band, 1.5 s before an 8 deg nod at half its
    tempo comes to rest; its record now goes on for 0.8 of the movement, so the way back is
    scored like the way out (within 0.1 of -1.41; cut 1 s after the rep, -1.5 to -1.7)."""
    ex = _exercise_for("chin_nod", 8.0, 14.0, 10.0)
    t, x, _ = _one_rep(ex, 8.4, 0.5, 15.0, seed=seed)
    d = _rep_record(ex, x, t, noise_deg=0.4, seed=seed + 1)
    assert d["sparc_back"] == pytest.approx(SPARC_MINIMUM_JERK, abs=0.1), d


def test_smoothness_with_noise_never_measured_is_withheld():
    """A movement with neither a still stretch before it nor a hold of 1 s: how noisy the reading
    is cannot be told, so its shape is not reported (it was shown, as if the noise were nil)."""
    from neckcoach.core.reps import RepRecord

    try:
        from tests.test_coach_support import min_jerk
    except ImportError:
        from test_coach_support import min_jerk
    t = np.arange(0.0, 3.0, 1 / 30)
    x = min_jerk(t, 0.0, 1.2, 20.0) - min_jerk(t, 1.4, 1.2, 20.0) + np.random.default_rng(0).normal(0, 1.0, t.size)
    rec = RepRecord(index=1, side="left", start_t_s=0.0, target=20.0, unit="deg")
    for ti, xi, vi in zip(t, x, np.gradient(x, t)):
        rec.add(float(ti), float(xi), float(vi))
    rec.finish(2.7)
    d = rec.to_dict()
    assert d["sparc_out"] is None and d["smoothness_withheld_out"] == "noise", d


def test_split_rep_finds_out_and_back_around_a_hold():
    t = np.arange(0.0, 10.0, 0.01)
    x = np.interp(t, [0, 1, 2, 6, 7, 10], [0, 0, 40, 40, 0, 0])
    (o0, o1), (b0, b1) = split_rep(t, x)
    assert t[o1] == pytest.approx(1.95, abs=0.02) and t[b0] == pytest.approx(6.05, abs=0.02)
    assert split_rep(t, -x) is None


@pytest.mark.parametrize("fps", [15.0, 20.0, 30.0])
def test_a_minimum_jerk_movements_duration_is_read_from_its_20_80_time(fps):
    """Its position passes 20 % and 80 % of the way 0.3468 of its duration apart, each crossing
    placed between the frames around it. Before stop 50 the share was taken as 0.43 (every
    duration read at 0.81 of the movement's) and the crossings at the frames (up to a frame more)."""
    from neckcoach.core.reps import _movement_duration_s

    try:
        from tests.test_coach_support import min_jerk
    except ImportError:
        from test_coach_support import min_jerk
    for move in (0.6, 1.25, 2.5, 5.0):
        for offset in (0.0, 0.3, 0.7):
            t = np.arange(0.0, move + 2.0, 1 / fps) + offset / fps
            x = min_jerk(t, 1.0, move, 30.0)
            assert _movement_duration_s(t, x, 30.0, True) == pytest.approx(move, rel=0.03), (move, offset)
            assert _movement_duration_s(t, 30.0 - x, 30.0, False) == pytest.approx(move, rel=0.03), (move, offset)


@pytest.mark.parametrize("fps", [15.0, 20.0, 30.0])
@pytest.mark.parametrize("pace", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("movement,target,tempo,hold,jitter", [
    ("rotation", 50.0, 7.0, 2.0, 0.5), ("chin_nod", 8.0, 14.0, 10.0, 0.25), ("retraction", 15.0, 7.0, 3.0, 0.5)])
def test_the_way_out_and_back_are_timed_at_any_pace_and_frame_rate(movement, target, tempo, hold, jitter, pace, fps):
    """What pacing's "rushed" is judged on, through the filter with jitter: within 12 % of the
    movement's duration. Before stop 50 these were the movement's speed bounds, widened by the
    smoothing and cut by the noise floor: 1.18-1.25x at 2x the tempo, 0.83-0.95x at half of it."""
    ex = _exercise_for(movement, target, tempo, hold)
    sign = ex.sign(ex.directions()[0])
    t, x, move = _one_rep(ex, sign * target * 1.05, pace, fps, seed=3)
    d = _rep_record(ex, x, t, noise_deg=jitter, noise_mm=jitter, seed=4)
    assert d["move_out_s"] == pytest.approx(move, rel=0.12), d
    assert d["move_back_s"] == pytest.approx(move, rel=0.12), d
