"""Ranges come only from trustworthy values, and say when they are lower bounds."""

import pytest

from neckcoach.analyze import describe_range, ranges
from neckcoach.core.samples import Kinematics
from neckcoach.io import history


def _k(t, yaw=0.0, pitch=0.0, retraction=0.0, *, yaw_ok=True, pitch_ok=True, retraction_ok=True,
       bounds=(), found=True):
    return Kinematics(t_s=t, face_found=found, yaw_deg=yaw, pitch_deg=pitch, retraction_mm=retraction,
                      reliable=True, yaw_reliable=yaw_ok, pitch_reliable=pitch_ok, roll_reliable=True,
                      retraction_reliable=retraction_ok, lower_bound_axes=bounds)


def test_ranges_skip_unreliable_values_and_mark_lower_bounds():
    kins = [
        _k(0.0, yaw=40.0),
        _k(0.1, yaw=28.0, yaw_ok=False),                  # a collapsed mesh reading: never a range
        _k(0.2, yaw=45.0, yaw_ok=False, bounds=("yaw",)),  # beyond the measurable turn
        _k(0.3, yaw=-52.0),
        _k(0.4, yaw=-70.0, yaw_ok=False),
        _k(0.5, pitch=18.0, retraction=30.0, retraction_ok=False),
        _k(0.6, pitch=-30.0, retraction=12.0),
        _k(0.7, yaw=90.0, found=False),
    ]
    got, bounds = ranges(kins)
    assert got["rotation_left_deg"] == 45.0 and "rotation_left_deg" in bounds
    assert got["rotation_right_deg"] == 52.0 and "rotation_right_deg" not in bounds
    assert got["flexion_deg"] == 18.0 and got["extension_deg"] == 30.0
    assert got["retraction_mm"] == 12.0  # the untrusted 30 mm is withheld
    assert got["side_bend_left_deg"] is None  # never measured that way: said so, not 0


def test_a_measured_value_beyond_the_bound_wins():
    got, bounds = ranges([_k(0.0, yaw=45.0, yaw_ok=False, bounds=("yaw",)), _k(0.1, yaw=48.0)])
    assert got["rotation_left_deg"] == 48.0 and bounds == []


@pytest.mark.parametrize("value, bound, text", [(52.4, False, "52°"), (45.0, True, "at least 45°"),
                                                (None, False, "not measured")])
def test_describe_range(value, bound, text):
    assert describe_range(value, bound, "°") == text


def test_history_range_from_lower_bound_rep_says_at_least():
    session = {"exercises": [{"movement": "rotation", "reps": [
        {"side": "left", "peak_abs_deg": 45.0, "peak_lower_bound": True},
        {"side": "left", "peak_abs_deg": 41.0},
        {"side": "right", "peak_abs_deg": 47.0},
        {"side": "right", "peak_abs_deg": 47.0, "peak_lower_bound": True},
    ]}]}
    summary = history.summarize(session)
    assert summary["rotation_left"]["range"] == 45.0 and summary["rotation_left"]["range_lower_bound"]
    assert history.describe_range(summary["rotation_left"], "°") == "at least 45°"
    # a measured peak as large as a bound is a measurement
    assert not summary["rotation_right"]["range_lower_bound"]
    assert history.describe_range(summary["rotation_right"], "°") == "47°"


def test_a_jolt_is_neither_a_range_nor_a_smoothness():
    """A jolt that never reached the target (reason "sudden") was not an attempt at the exercise."""
    session = {"exercises": [{"movement": "rotation", "reps": [
        {"side": "left", "peak_abs_deg": 15.3, "reason": "sudden", "sparc": -3.0},
        {"side": "left", "peak_abs_deg": 12.0, "reason": "short_of_target", "sparc": -1.5},
        {"side": "right", "peak_abs_deg": 30.0, "reason": "sudden"},
    ]}]}
    summary = history.summarize(session)
    assert summary["rotation_left"]["range"] == 12.0 and summary["rotation_left"]["sparc"] == -1.5
    assert summary["rotation_left"]["reps"] == 1 and "rotation_right" not in summary


def test_session_trace_withholds_retraction_where_it_is_not_measured(tmp_path):
    import math

    from neckcoach.io.records import SessionRecorder, load_session

    rec = SessionRecorder(tmp_path / "s", {"title": "T"}, index=False)
    rec.update(_k(0.5, yaw=2.0, retraction=12.0))
    rec.update(_k(0.6, yaw=35.0, retraction=40.0, retraction_ok=False, bounds=("yaw",)))
    rec.close()
    trace = load_session(tmp_path / "s").trace
    assert trace["retraction_mm"][0] == 12.0 and math.isnan(trace["retraction_mm"][1])
    assert trace["retraction_reliable"] == [1.0, 0.0]
    assert trace["yaw_lower_bound"] == [0.0, 1.0] and trace["yaw_reliable"] == [1.0, 1.0]


def test_report_says_at_least_for_a_range_beyond_what_was_measured(tmp_path):
    from neckcoach.io.records import SessionData
    from neckcoach.report import patient_summary

    session = {"exercises": [{"id": "rot", "name": "Rotation", "movement": "rotation", "reps": [
        {"index": 1, "side": "left", "complete": True, "peak_abs_deg": 42.0, "peak_lower_bound": True},
        {"index": 2, "side": "right", "complete": True, "peak_abs_deg": 40.0},
    ]}]}
    lines = patient_summary(SessionData(tmp_path, session, {}))
    left = next(line for line in lines if "rotation left" in line.lower())
    right = next(line for line in lines if "rotation right" in line.lower())
    assert "was at least 42°" in left and "at least 56% of a typical" in left
    assert "was 40°" in right and "about 53% of a typical" in right
