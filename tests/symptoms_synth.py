"""Weeks of generated diary and session data with known trends, for the symptom tests.

Eight weeks from Monday 5 January 2026 of a routine planned twice a day (14 a
week): headache days, their worst intensity and neck pain at the sessions go
down, sessions done go up, one week is only partly logged, one session ends on
a stop rule. Session folders hold a small session.json (no trace) and are
indexed in the history like real ones; the diary goes through `put_diary`.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from neckcoach.io import history

FIRST_MONDAY = date(2026, 1, 5)
WEEKS = 8
PLANNED_PER_WEEK = 14
DAYS_LOGGED = [7, 7, 4, 7, 7, 7, 7, 7]
HEADACHE_DAYS = [5, 5, 3, 4, 3, 2, 2, 1]
WORST = [7, 7, 6, 6, 5, 4, 4, 3]  # every headache day of the week has this worst intensity
HOURS = [4.0, 4.0, 3.0, 3.0, 2.5, 2.0, 2.0, 1.0]  # per headache day
MEDICATION_DAYS = [3, 3, 2, 2, 1, 1, 0, 0]
COMPLETE = [6, 8, 9, 10, 11, 12, 12, 13]
STOPPED_EARLY = [0, 1, 0, 0, 1, 0, 0, 0]  # week 5's is the stop rule
PAIN_BEFORE = [6, 6, 5, 5, 4, 4, 3, 3]
PAIN_AFTER = [5, 5, 4, 4, 3, 3, 2, 2]
STOP_WEEK = 4
ROTATION_LEFT = [50, 52, 54, 56, 58, 60, 62, 64]  # best left rotation in every session of the week


def _checkin(seq: int, phase: str, pain: int | None, t_s: float, stop: dict | None = None) -> dict:
    rules = {"dizziness": False, "arm_tingling": False, "visual_disturbance": False, "pain_rise": None}
    if stop:
        rules[stop["rule"]] = True
    return {"seq": seq, "phase": phase, "status": "stopped" if stop else "complete", "source": "key",
            "t_s": t_s, "duration_s": 6.0, "pain_0_10": pain, "headache": False, "baseline_pain_0_10": None,
            "stop_rules": rules, "stop": stop, "answers": [], "note": ""}


def write_session(folder: Path, when: datetime, *, complete: bool, pain_before: int | None,
                  pain_after: int | None, rotation_left: float, stop: str | None = None,
                  per_week: int | None = PLANNED_PER_WEEK) -> Path:
    folder.mkdir(parents=True)
    checkins = [_checkin(0, "before", pain_before, 0.0)]
    stop_record = None
    if stop:
        stop_record = {"rule": stop, "phase": "during", "t_s": 60.0, "detail": stop, "message": "Stop."}
        checkins.append(_checkin(1, "during", None, 60.0, stop_record))
    else:
        checkins.append(_checkin(1, "after", pain_after, 300.0))
    routine = {"title": "Headache programme", "path": "headache_programme.yaml", "id": "headache_programme"}
    if per_week:
        routine["sessions_per_week"] = per_week
    session = {
        "session_id": folder.name, "started_at": when.isoformat(timespec="seconds"), "routine": routine,
        "routine_title": routine["title"], "complete": complete,
        "ended_reason": "completed" if complete else (f"stop rule: {stop}" if stop else "quit"),
        "warnings": [], "pauses": [], "checkins": checkins, "stop": stop_record,
        "exercises": [{"id": "rot", "name": "Head turns", "movement": "rotation", "reps_target": 2,
                       "reps": [{"index": 1, "side": "left", "complete": True, "peak_deg": rotation_left,
                                 "sparc": -1.6},
                                {"index": 2, "side": "right", "complete": True, "peak_deg": -rotation_left + 4,
                                 "sparc": -1.7}]}],
    }
    (folder / "session.json").write_text(json.dumps(session))
    assert history.index_session(folder)
    return folder


def generate(base: Path) -> None:
    """Write the eight weeks into the history at NECKCOACH_HOME and session folders below `base`."""
    for week in range(WEEKS):
        monday = FIRST_MONDAY + timedelta(weeks=week)
        n = COMPLETE[week] + STOPPED_EARLY[week]
        for k in range(n):
            day = monday + timedelta(days=k // 2)
            when = datetime(day.year, day.month, day.day, 9 + 9 * (k % 2), 0, tzinfo=timezone.utc)
            early = k >= COMPLETE[week]
            stop = "dizziness" if early and week == STOP_WEEK else None
            write_session(base / f"w{week}s{k:02d}", when, complete=not early, pain_before=PAIN_BEFORE[week],
                          pain_after=PAIN_AFTER[week], rotation_left=ROTATION_LEFT[week], stop=stop)
        for d in range(DAYS_LOGGED[week]):
            ache = d < HEADACHE_DAYS[week]
            history.put_diary(history.DiaryEntry(
                day=monday + timedelta(days=d), headaches=(1 + d % 2) if ache else 0,
                worst=WORST[week] if ache else None, hours=HOURS[week] if ache else None,
                medication=d < MEDICATION_DAYS[week]))


def expected_weekly() -> list[dict]:
    """What each week's numbers must be, worked out from the constants above, not by the code under test."""
    out = []
    for w in range(WEEKS):
        sessions = COMPLETE[w] + STOPPED_EARLY[w]
        stopped = 1 if w == STOP_WEEK else 0
        with_after = sessions - stopped
        out.append({
            "days_logged": DAYS_LOGGED[w], "headache_days": HEADACHE_DAYS[w], "mean_worst": float(WORST[w]),
            "headache_hours": HOURS[w] * HEADACHE_DAYS[w], "medication_days": MEDICATION_DAYS[w],
            "pain_before": float(PAIN_BEFORE[w]), "pain_after": float(PAIN_AFTER[w]),
            "pain_change": float(PAIN_AFTER[w] - PAIN_BEFORE[w]) if with_after else None,
            "sessions_complete": COMPLETE[w], "sessions_stopped_early": STOPPED_EARLY[w],
            "sessions_planned": float(PLANNED_PER_WEEK), "stops": ("dizziness",) * stopped,
        })
    return out
