"""Extension read past what face mesh follows from a camera below the eyes: a saturated lower bound.

From a camera well below the eyes a neutral head is already seen 10-25 deg from below, and face
mesh stops following extension past `headpose.MAX_EXTENSION_DEG` of the camera-relative reading.
There the reading is given as a lower bound `EXTENSION_BOUND_SLACK_DEG` nearer neutral than it
reads (it may run that far past the truth), so that an extension rep that goes well past the
target still counts, as "at least", and a shallow one is not counted on a bound short of the band
(rendered population seeds 400951 and 400969: 33 and 38 deg extensions held for 6 s went
unmeasured, "I could not see how far you went").
"""

from __future__ import annotations

import numpy as np
import pytest

from neckcoach.core import events as ev
from neckcoach.core.headpose import EXTENSION_BOUND_SLACK_DEG
from neckcoach.core.kinematics import KinematicsFilter, RelativePose
from neckcoach.core.reps import UNMEASURED_MESSAGE, WITHHELD_BEYOND, RepCounter

try:
    from tests.test_coach_support import exercise, kinds, rep_train, routine, timeline
except ImportError:  # tests/ on sys.path (pytest rootdir-less import mode)
    from test_coach_support import exercise, kinds, rep_train, routine, timeline


def frames(t, pitch, saturated_from_deg: float | None, seed: int = 3):
    """Kinematics of a pitch trace through the filter; readings more extended than
    `saturated_from_deg` (negative) come as the estimator gives them there."""
    rng = np.random.default_rng(seed)
    noisy = np.asarray(pitch, dtype=float) + rng.normal(0.0, 0.3, len(t))
    filt = KinematicsFilter()
    out = []
    for ti, p in zip(t, noisy):
        sat = saturated_from_deg is not None and p < saturated_from_deg
        out.append(filt.update(RelativePose(
            t_s=float(ti), face_found=True, pitch_deg=float(p), confidence=0.9, reliable=True, faces=1,
            face_width_px=200.0, brightness=120.0, pitch_reliable=not sat, yaw_reliable=not sat,
            roll_reliable=not sat, lower_bounds=("pitch",) if sat else (),
            saturated=("pitch",) if sat else ())))
    return out


def nods(extension_deg: float, seed: int = 3):
    """A 32 deg flexion, then an extension of `extension_deg`, each held 2 s."""
    t = timeline(24.0, seed=seed)
    x, _ = rep_train(t, start_s=2.0, amplitudes=[32.0, -extension_deg], tempo_s=7.0, hold_s=2.0)
    return t, x


def count(kins):
    ex = exercise(id="fe", name="Look down and up", movement="flexion_extension", sides="alternate", reps=2,
                  target_deg=30.0, max_deg=55.0, hold_s=2.0, tempo_s=7.0)
    c = RepCounter(ex, routine(ex).ranges)
    out = [e for k in kins for e in c.update(k)]
    return c, out


def test_a_saturated_bound_is_given_nearer_neutral_with_the_readings_speed():
    t, x = nods(38.0)
    plain, saturated = frames(t, x, None), frames(t, x, -24.0)
    n = 0
    for a, b in zip(plain, saturated):
        assert b.pitch_speed_deg_s == pytest.approx(a.pitch_speed_deg_s, abs=1e-9)
        if "pitch" in b.saturated_axes:
            n += 1
            assert b.is_lower_bound("pitch") and not b.is_reliable("pitch")
            assert b.pitch_deg == pytest.approx(a.pitch_deg + EXTENSION_BOUND_SLACK_DEG, abs=1e-9)
        else:
            assert b.pitch_deg == pytest.approx(a.pitch_deg, abs=1e-9)
    assert n > 60  # the whole extension's hold and more


def test_an_extension_well_past_the_target_counts_as_at_least_what_can_be_vouched_for():
    t, x = nods(38.0)
    c, out = count(frames(t, x, -24.0))
    assert len(kinds(out, ev.REP)) == 2 and not kinds(out, ev.PARTIAL)
    ext = c.records[1].to_dict()
    assert ext["complete"] and ext["peak_lower_bound"] is True
    assert 38.0 - EXTENSION_BOUND_SLACK_DEG - 1.0 < -ext["peak_deg"] < 38.0 - EXTENSION_BOUND_SLACK_DEG + 1.0
    # The saturated reading's steps are not the head's: its shape is not scored.
    assert c.records[1].metrics()["out"].get("withheld") == WITHHELD_BEYOND


def test_a_shallow_extension_read_only_as_a_saturated_bound_is_not_counted():
    """27 deg for a 30 deg target, saturating from 20: the bound (21) is short of the band (25.5),
    so nothing says the head got there: unmeasured, as before the bound existed."""
    t, x = nods(27.0)
    c, out = count(frames(t, x, -20.0))
    assert len(kinds(out, ev.REP)) == 1
    ext = c.records[1].to_dict()
    assert not ext["complete"] and ext["reason"] == "unmeasured" and ext["peak_lower_bound"] is True
    assert [e.message for e in kinds(out, ev.PARTIAL)] == [UNMEASURED_MESSAGE]
