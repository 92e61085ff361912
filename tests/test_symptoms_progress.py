"""Symptoms per week on generated data with known trends: the numbers, the plotted numbers, the report."""

from __future__ import annotations

import base64
import re
from datetime import date, datetime, timedelta

import pytest

from neckcoach.io import history
from neckcoach.report.figures import build_progress_figure
from neckcoach.report.html import build_report
from neckcoach.report.norms import DIRECTION_ORDER
from neckcoach.report.symptoms import (DiaryDay, SessionPoint, describe_weeks, has_symptom_data, load_weeks,
                                       planned_in_week, weekly_symptoms)
from tests import symptoms_synth as synth
from tests import test_records_synth as reps_synth


@pytest.fixture
def eight_weeks(home, tmp_path):
    synth.generate(tmp_path / "sessions")
    return tmp_path / "sessions"


def test_weekly_numbers_follow_the_generated_trends(eight_weeks):
    notes: list[str] = []
    weeks, entries = load_weeks(notes)
    assert notes == [] and len(entries) == sum(synth.COMPLETE) + sum(synth.STOPPED_EARLY)
    assert [w.start for w in weeks] == [synth.FIRST_MONDAY + timedelta(weeks=k) for k in range(synth.WEEKS)]
    for week, expected in zip(weeks, synth.expected_weekly()):
        assert {k: getattr(week, k) for k in expected} == expected, week.start
    assert [round(w.adherence, 3) for w in weeks] == [round(c / 14, 3) for c in synth.COMPLETE]


def _axis(fig, title_start: str):
    (ax,) = [a for a in fig.axes if a.get_title().startswith(title_start)]
    return ax


def test_the_figure_plots_exactly_those_numbers(eight_weeks):
    weeks, entries = load_weeks([])
    series = history.progress_series(entries)
    fig = build_progress_figure(series, [d for d in DIRECTION_ORDER if d in series], weeks)
    titles = [a.get_title() for a in fig.axes if a.get_title()]
    assert titles[:4] == [
        "Headaches per week: 5 \u2192 1 days, intensity 7.0 \u2192 3.0",
        "Neck pain at sessions, weekly mean: before 6.0 \u2192 3.0, after 5.0 \u2192 2.0",
        "Sessions per week (black: planned; % = complete of planned, last week 93%)",
        "Rotation: best range per session (shaded: typical adult range)"]
    headache = _axis(fig, "Headaches per week")
    assert [p.get_height() for p in headache.patches] == synth.HEADACHE_DAYS
    assert [t.get_text() for t in headache.texts] == ["4/7 logged"]
    (twin,) = [a for a in fig.axes if a is not headache and a.bbox.bounds == headache.bbox.bounds]
    assert list(twin.lines[0].get_ydata()) == [float(w) for w in synth.WORST]
    pain = _axis(fig, "Neck pain at sessions")
    before, after, stop = pain.lines
    assert list(before.get_ydata()) == synth.PAIN_BEFORE and list(after.get_ydata()) == synth.PAIN_AFTER
    assert len(stop.get_xdata()) == 1 and [t.get_text() for t in pain.texts] == ["dizziness"]
    sessions = _axis(fig, "Sessions per week")
    heights = [p.get_height() for p in sessions.patches]
    assert heights == synth.COMPLETE + synth.STOPPED_EARLY
    assert [line.get_ydata()[0] for line in sessions.lines] == [14.0] * synth.WEEKS
    assert [t.get_text() for t in sessions.texts] == [f"{100 * c / 14:.0f}%" for c in synth.COMPLETE]
    rotation = _axis(fig, "Rotation: best range")
    left = [line for line in rotation.lines if line.get_label() == "Rotation left"][0]
    assert sorted(set(left.get_ydata())) == synth.ROTATION_LEFT


def test_without_symptom_data_the_figure_is_as_before(home, tmp_path):
    days = reps_synth.record_days(tmp_path / "s", days=2)
    weeks, entries = load_weeks([])
    assert len(entries) == len(days) and not has_symptom_data(weeks)
    series = history.progress_series(entries)
    fig = build_progress_figure(series, [d for d in DIRECTION_ORDER if d in series], weeks)
    assert not [a for a in fig.axes if "per week" in a.get_title() or "Neck pain" in a.get_title()]


def test_diary_alone_makes_a_figure_of_symptoms_only():
    diary = [DiaryDay(date(2026, 3, 2) + timedelta(days=k), headaches=int(k % 3 == 0), worst=5 if k % 3 == 0 else None)
             for k in range(10)]
    weeks = weekly_symptoms([], diary)
    assert [(w.days_logged, w.headache_days, w.mean_worst) for w in weeks] == [(7, 3, 5.0), (3, 1, 5.0)]
    assert [(w.sessions_planned, w.pain_before) for w in weeks] == [(None, None), (None, None)]
    fig = build_progress_figure({}, [], weeks)
    assert [a.get_title() for a in fig.axes if a.get_title()] == ["Headaches per week: 3 \u2192 1 days, "
                                                                  "intensity 5.0 \u2192 5.0"]


def test_planned_sessions_count_only_the_days_a_routine_was_in_use():
    monday = date(2026, 3, 2)
    windows = {"r": (monday + timedelta(days=3), monday + timedelta(days=12), 14)}  # from Thursday
    assert planned_in_week(monday, windows) == pytest.approx(8.0)           # Thu-Sun: 4 days x 2
    assert planned_in_week(monday + timedelta(days=7), windows) == pytest.approx(12.0)  # to Saturday
    assert planned_in_week(monday + timedelta(days=14), windows) is None
    sessions = [SessionPoint(monday + timedelta(days=3), "r", True, 14),
                SessionPoint(monday + timedelta(days=4), "other", True, None)]
    (week,) = weekly_symptoms(sessions, [])
    assert (week.sessions_complete, week.sessions_planned) == (1, pytest.approx(4.0))  # unscheduled not counted


def test_progress_in_words(eight_weeks):
    weeks, _ = load_weeks([])
    assert describe_weeks(weeks) == [
        "Headache days per week   8 week(s), first 5 of 7 logged, latest 1 of 7 logged",
        "Worst headache (0-10)    first 7.0, latest 3.0 (weekly mean)",
        "Neck pain before (0-10)  first 6.0, latest 3.0 (weekly mean)",
        "Neck pain after (0-10)   first 5.0, latest 2.0 (weekly mean)",
        "Sessions per week        latest 13 complete of 14 planned (93%)",
        "Stop rules answered yes  dizziness (week of 02 Feb)",
    ]


def _pngs(text: str) -> list[bytes]:
    return [base64.b64decode(b) for b in re.findall(r'src="data:image/png;base64,([^"]+)"', text)]


def test_report_with_symptom_data(eight_weeks, tmp_path):
    stopped = next(p for p in sorted(eight_weeks.iterdir()) if p.name.startswith(f"w{synth.STOP_WEEK}")
                   and '"stop": {' in (p / "session.json").read_text())
    text = build_report(stopped, tmp_path / "r.html").read_text()
    assert len(_pngs(text)) == 4 and (tmp_path / "r_weeks.png").exists()
    assert '<section class="card stop"><ul><li>Stopped by a stop rule (dizziness). Stop.</li></ul>' in text
    assert "<h2>Symptoms</h2>" in text and "<h2>Weeks so far</h2>" in text
    assert "<td class=l>Stop key</td>" in text and "STOP RULE" in text
    # The weeks so far end on this session's day: five weeks, not eight, and the fifth week up to that day.
    day = datetime.fromisoformat(__import__("json").loads((stopped / "session.json").read_text())["started_at"])
    logged = day.weekday() + 1
    assert f"Headache days per week   5 week(s), first 5 of 7 logged, latest 3 of {logged} logged" in text
    calm = eight_weeks / "w7s00"
    text = build_report(calm, tmp_path / "calm.html").read_text()
    assert "Neck pain was 3/10 before and 2/10 after (1 point lower)." in text
    assert "A headache before the session: no and after the session: no." in text and 'class="card stop"' not in text


def test_report_without_symptom_data_is_unchanged(home, tmp_path):
    (day,) = reps_synth.record_days(tmp_path / "s", days=1)
    text = build_report(day).read_text()
    assert len(_pngs(text)) == 3 and "<h2>Symptoms</h2>" not in text and "Neck pain was" not in text


def test_report_survives_an_unreadable_history(home, tmp_path):
    session = synth.write_session(tmp_path / "one", datetime(2026, 3, 2, 9), complete=True, pain_before=4,
                                  pain_after=3, rotation_left=55)
    history.db_path().write_bytes(b"this is not a database" * 100)
    text = build_report(session).read_text()
    assert "<h2>Symptoms</h2>" in text and "<td>4</td>" in text
    assert "could not be read (file is not a database)" in text
