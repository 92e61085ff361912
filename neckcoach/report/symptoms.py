"""Symptoms per week, for the therapist: headache days, intensity, pain at sessions, adherence.

`weekly_symptoms` is pure: it takes plain records and returns exactly the
numbers the progress figure plots, so tests check those numbers. `load_weeks`
is the one reader of the history (sessions, check-ins, diary) for `progress`
and the report.

Weeks run Monday to Sunday. A day missing from the diary is unknown, not
headache-free: headache days count only logged days, and each week says how
many days were logged.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Iterable, Mapping, Sequence


@dataclass(frozen=True)
class SessionPoint:
    """One session as the weekly summary needs it."""

    day: date
    routine: str
    complete: bool
    planned_per_week: int | None = None
    pain_before: float | None = None
    pain_after: float | None = None
    stop_rule: str | None = None


@dataclass(frozen=True)
class DiaryDay:
    day: date
    headaches: int
    worst: int | None = None
    hours: float | None = None
    medication: bool | None = None


@dataclass(frozen=True)
class Week:
    """One Monday-to-Sunday week; None where there is nothing to say."""

    start: date
    days_logged: int
    headache_days: int | None
    mean_worst: float | None
    headache_hours: float | None
    medication_days: int | None
    pain_before: float | None
    pain_after: float | None
    pain_change: float | None  # mean after - before over sessions with both
    sessions_with_pain: int
    sessions_complete: int
    sessions_stopped_early: int
    sessions_planned: float | None
    stops: tuple[str, ...]

    @property
    def middle(self) -> datetime:
        return datetime.combine(self.start, datetime.min.time()) + timedelta(days=3.5)

    @property
    def adherence(self) -> float | None:
        if not self.sessions_planned:
            return None
        return self.sessions_complete / self.sessions_planned


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _mean(values: Iterable[float | None]) -> float | None:
    vals = [float(v) for v in values if v is not None]
    return statistics.fmean(vals) if vals else None


def planned_in_week(start: date, windows: Mapping[str, tuple[date, date, int]]) -> float | None:
    """Sessions planned in the week from `start`: each scheduled routine's weekly count, for the
    days of the week on which it was in use (from its first session to the end of the record)."""
    total = 0.0
    any_plan = False
    for first, last, per_week in windows.values():
        days = sum(1 for k in range(7) if first <= start + timedelta(days=k) <= last)
        if days:
            any_plan = True
            total += per_week * days / 7.0
    return total if any_plan else None


def weekly_symptoms(sessions: Sequence[SessionPoint], diary: Sequence[DiaryDay],
                    until: date | None = None) -> list[Week]:
    """One `Week` per week from the first record to the last (or `until`), gaps included."""
    days = [s.day for s in sessions] + [d.day for d in diary]
    if not days:
        return []
    end = until or max(days)
    sessions = [s for s in sessions if s.day <= end]
    diary = [d for d in diary if d.day <= end]
    if not sessions and not diary:
        return []
    first = week_start(min([s.day for s in sessions] + [d.day for d in diary]))
    # Each scheduled routine counts as prescribed from its first session to the
    # end of the record (the last day anything was recorded, or `until`).
    windows: dict[str, tuple[date, date, int]] = {}
    for s in sorted(sessions, key=lambda s: s.day):
        if s.planned_per_week:
            start = windows[s.routine][0] if s.routine in windows else s.day
            windows[s.routine] = (start, end, int(s.planned_per_week))
    scheduled = set(windows)
    weeks: list[Week] = []
    start = first
    while start <= end:
        stop = start + timedelta(days=7)
        in_week = [s for s in sessions if start <= s.day < stop]
        logged = [d for d in diary if start <= d.day < stop]
        with_headache = [d for d in logged if d.headaches > 0]
        paired = [s.pain_after - s.pain_before for s in in_week
                  if s.pain_before is not None and s.pain_after is not None]
        counted = [s for s in in_week if s.routine in scheduled] if scheduled else in_week
        weeks.append(Week(
            start=start,
            days_logged=len(logged),
            headache_days=len(with_headache) if logged else None,
            mean_worst=_mean(d.worst for d in with_headache),
            headache_hours=_hours(logged, with_headache),
            medication_days=sum(1 for d in logged if d.medication) if logged else None,
            pain_before=_mean(s.pain_before for s in in_week),
            pain_after=_mean(s.pain_after for s in in_week),
            pain_change=_mean(paired),
            sessions_with_pain=sum(1 for s in in_week if s.pain_before is not None or s.pain_after is not None),
            sessions_complete=sum(1 for s in counted if s.complete),
            sessions_stopped_early=sum(1 for s in counted if not s.complete),
            sessions_planned=planned_in_week(start, windows),
            stops=tuple(s.stop_rule for s in in_week if s.stop_rule),
        ))
        start = stop
    return weeks


def _hours(logged: Sequence[DiaryDay], with_headache: Sequence[DiaryDay]) -> float | None:
    known = [d.hours for d in with_headache if d.hours is not None]
    if known:
        return float(sum(known))
    return 0.0 if logged and not with_headache else None


def has_symptom_data(weeks: Sequence[Week]) -> bool:
    """True when any week has diary days, pain at sessions, a stop or a plan to compare with."""
    return any(w.days_logged or w.sessions_with_pain or w.stops or w.sessions_planned for w in weeks)


def session_points(entries: Sequence[Any], checkins: Sequence[Any],
                   plans: Mapping[str, int | None] | None = None) -> list[SessionPoint]:
    """Join history sessions (`HistoryEntry`) with their check-ins (`CheckinRow`) by session folder."""
    by_dir: dict[str, dict[str, Any]] = {}
    for row in checkins:
        slot = by_dir.setdefault(str(row.dir), {})
        if row.phase in ("before", "after") and row.pain is not None:
            slot.setdefault(f"pain_{row.phase}", float(row.pain))
        if row.stop_rule and "stop" not in slot:
            slot["stop"] = row.stop_rule
    points = []
    for e in entries:
        if e.started_at is None:
            continue
        slot = by_dir.get(str(e.dir), {})
        points.append(SessionPoint(
            day=e.started_at.date(), routine=str(e.routine_title), complete=bool(e.complete),
            planned_per_week=(plans or {}).get(str(e.dir)), pain_before=slot.get("pain_before"),
            pain_after=slot.get("pain_after"), stop_rule=slot.get("stop")))
    return points


def diary_days(entries: Sequence[Any]) -> list[DiaryDay]:
    return [DiaryDay(e.day, e.headaches, e.worst, e.hours, e.medication) for e in entries]


def trend_text(first: float | None, last: float | None, unit: str = "", digits: int = 0) -> str:
    """'5 -> 2' for a title, or '' when either end is unknown."""
    if first is None or last is None:
        return ""
    return f"{first:.{digits}f}{unit} \u2192 {last:.{digits}f}{unit}"


def load_weeks(notes: list[str], until: date | None = None) -> tuple[list[Week], list[Any]]:
    """Weekly symptoms from the history (to `until`), and the sessions they came from."""
    from neckcoach.io.history import list_checkins, list_diary, list_sessions, session_plans

    entries, more = list_sessions()
    checkins, more2 = list_checkins()
    diary, more3 = list_diary()
    notes.extend(more + more2 + more3)
    if until is not None:
        entries = [e for e in entries if e.started_at is None or e.started_at.date() <= until]
    weeks = weekly_symptoms(session_points(entries, checkins, session_plans(entries)), diary_days(diary), until)
    return weeks, entries


def describe_weeks(weeks: Sequence[Week]) -> list[str]:
    """The weekly symptoms in words: first and latest week with data, as `progress` prints them."""
    def ends(name):
        values = [(w, getattr(w, name)) for w in weeks if getattr(w, name) is not None]
        return (values[0], values[-1]) if values else (None, None)

    lines = []
    first, last = ends("headache_days")
    if first:
        lines.append(f"{'Headache days per week':24} {sum(1 for w in weeks if w.days_logged)} week(s), "
                     f"first {first[1]} of {first[0].days_logged} logged, "
                     f"latest {last[1]} of {last[0].days_logged} logged")
    first, last = ends("mean_worst")
    if first:
        lines.append(f"{'Worst headache (0-10)':24} first {first[1]:.1f}, latest {last[1]:.1f} (weekly mean)")
    for name, label in (("pain_before", "Neck pain before (0-10)"), ("pain_after", "Neck pain after (0-10)")):
        first, last = ends(name)
        if first:
            lines.append(f"{label:24} first {first[1]:.1f}, latest {last[1]:.1f} (weekly mean)")
    planned = [w for w in weeks if w.sessions_planned]
    if planned:
        w = planned[-1]
        lines.append(f"{'Sessions per week':24} latest {w.sessions_complete} complete of "
                     f"{w.sessions_planned:.0f} planned ({100 * w.sessions_complete / w.sessions_planned:.0f}%)")
    stops = [(w, rule) for w in weeks for rule in w.stops]
    if stops:
        lines.append(f"{'Stop rules answered yes':24} " + ", ".join(
            f"{rule.replace('_', ' ')} (week of {w.start.strftime('%d %b')})" for w, rule in stops))
    return lines


__all__ = ["DiaryDay", "describe_weeks", "load_weeks", "SessionPoint", "Week", "diary_days", "has_symptom_data", "session_points",
           "trend_text", "week_start", "weekly_symptoms"]
