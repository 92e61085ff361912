"""History of all sessions in an embedded SQLite index in the user's data dir.

Session folders may live anywhere (`--out`), so the index remembers where each
one is plus a small summary (reps, warnings, range and smoothness per movement
direction) that `history` and `progress` read without opening every folder.
WAL mode and a busy timeout let two sessions index at the same time. Damaged
rows and vanished folders are skipped with a note: history must never crash
the coach or the report.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sqlite3
import statistics
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Mapping

from neckcoach.core.checkin import MAX_HEADACHES_PER_DAY
from neckcoach.core.checks import check_range

log = logging.getLogger(__name__)

DB_NAME = "history.sqlite3"
BUSY_TIMEOUT_MS = 15000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    dir TEXT PRIMARY KEY,
    session_id TEXT,
    started_at TEXT,
    routine_title TEXT,
    complete INTEGER,
    ended_reason TEXT,
    reps_done INTEGER,
    reps_target INTEGER,
    warnings INTEGER,
    summary_json TEXT,
    indexed_at TEXT
)
"""

# Symptoms: one row per check-in of a session (refreshed from session.json
# whenever the session is indexed), and the headache diary, one row per day.
_SYMPTOM_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS checkins (
    dir TEXT NOT NULL,
    seq INTEGER NOT NULL,
    session_id TEXT,
    started_at TEXT,
    routine_title TEXT,
    phase TEXT,
    status TEXT,
    source TEXT,
    t_s REAL,
    pain INTEGER,
    headache INTEGER,
    stop_rule TEXT,
    record_json TEXT,
    PRIMARY KEY (dir, seq)
)""",
    """CREATE TABLE IF NOT EXISTS diary (
    day TEXT PRIMARY KEY,
    headaches INTEGER NOT NULL,
    worst INTEGER,
    hours REAL,
    medication INTEGER,
    note TEXT,
    entered_at TEXT
)""",
)

# Movement + rep side -> (axis, direction label used by norms and plots).
_DIRECTION = {
    ("rotation", "left"): "rotation_left", ("rotation", "right"): "rotation_right",
    ("side_bend", "left"): "side_bend_left", ("side_bend", "right"): "side_bend_right",
    ("flexion", None): "flexion", ("extension", None): "extension",
    ("chin_nod", None): "flexion", ("retraction", None): "retraction",
    ("flexion_extension", "flexion"): "flexion", ("flexion_extension", "extension"): "extension",
}


def direction_of(movement: str | None, side: str | None) -> str | None:
    """Map an exercise movement and rep side to a direction name (see norms)."""
    if not isinstance(movement, str):
        return None
    side = side.lower() if isinstance(side, str) and side else None
    if (movement, side) in _DIRECTION:
        return _DIRECTION[(movement, side)]
    if (movement, None) in _DIRECTION:
        return _DIRECTION[(movement, None)]
    if movement == "flexion_extension" and side in ("flexion", "extension"):
        return side
    return None


def data_home() -> Path:
    """NeckCoach's data dir; `NECKCOACH_HOME` overrides it (tests, portable installs)."""
    from neckcoach.io.platforms import data_dir

    return data_dir()


def db_path() -> Path:
    return data_home() / DB_NAME


def _connect(path: Path | None = None) -> sqlite3.Connection:
    path = path or db_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    _retry(lambda: conn.execute("PRAGMA journal_mode=WAL"))
    _retry(lambda: conn.execute(_SCHEMA))
    for statement in _SYMPTOM_SCHEMA:
        _retry(lambda: conn.execute(statement))
    return conn


def _retry(fn, attempts: int = 20):
    """SQLite can report 'locked' despite busy_timeout (WAL setup); back off and retry."""
    for i in range(attempts):
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or i == attempts - 1:
                raise
            time.sleep(0.05 * (i + 1))


def summarize(session: Mapping[str, Any]) -> dict[str, Any]:
    """Per-direction best range (deg/mm) and median smoothness of one session.

    A rep whose peak was beyond what can be measured carries
    `"peak_lower_bound": true` (the rep counter's record); when the best range
    comes from such a rep, `range_lower_bound` is True and the range is said
    as "at least" it. A jolt that never reached the target (reason "sudden")
    was not an attempt at the exercise, so neither its reach nor its roughness
    is the person's range or smoothness (a conversation's quick glance
    reviewed as a rotation read as "best rotation 15 deg, 20 % of an adult's").
    """
    from neckcoach.io.records import rep_metric, shape_past_range

    by_dir: dict[str, dict[str, list[float]]] = {}
    for ex in session.get("exercises") or []:
        if not isinstance(ex, Mapping):
            continue
        for rep in ex.get("reps") or []:
            if not isinstance(rep, Mapping) or rep.get("reason") == "sudden":
                continue
            direction = direction_of(ex.get("movement"), rep.get("side"))
            if direction is None:
                continue
            slot = by_dir.setdefault(direction, {"peak": [], "sparc": [], "ldlj": [],
                                                 "peak_speed": [], "bound": [], "past": []})
            slot["past"].append(any(shape_past_range(rep, way) for way in ("out", "back")))
            for key, value in (("peak", rep_metric(rep, "peak_abs")), ("sparc", rep.get("sparc")),
                               ("ldlj", rep.get("ldlj")),
                               ("peak_speed", rep_metric(rep, "peak_speed"))):
                value = _finite(value)
                if value is not None:
                    slot[key].append(abs(value) if key in ("peak", "peak_speed") else value)
                    if key == "peak":
                        slot["bound"].append(rep.get("peak_lower_bound") is True)
    out: dict[str, Any] = {}
    for direction, slot in by_dir.items():
        out[direction] = {
            "range": max(slot["peak"]) if slot["peak"] else None,
            "range_lower_bound": _best_is_bound(slot["peak"], slot["bound"]),
            "sparc": statistics.median(slot["sparc"]) if slot["sparc"] else None,
            # Why there is no SPARC: every rep's movements were read past the measurable range.
            "sparc_past_range": not slot["sparc"] and any(slot["past"]),
            "ldlj": statistics.median(slot["ldlj"]) if slot["ldlj"] else None,
            "peak_speed": max(slot["peak_speed"]) if slot["peak_speed"] else None,
            "reps": len(slot["peak"]),
        }
    return out


def _best_is_bound(peaks: list[float], bounds: list[bool]) -> bool:
    """Whether the largest peak is only a lower bound (a measured peak as large wins)."""
    if not peaks:
        return False
    best = max(peaks)
    return any(b for p, b in zip(peaks, bounds) if p == best) and not any(
        not b for p, b in zip(peaks, bounds) if p == best)


def describe_range(stats: Mapping[str, Any], unit: str) -> str | None:
    """"52°" or "at least 45°" for a direction's summary, None without a range."""
    value = _finite(stats.get("range"))
    if value is None:
        return None
    text = f"{value:.0f}{unit}"
    return f"at least {text}" if stats.get("range_lower_bound") is True else text


def _finite(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _counts(session: Mapping[str, Any]) -> tuple[int, int]:
    done = target = 0
    for ex in session.get("exercises") or []:
        if not isinstance(ex, Mapping):
            continue
        reps = [r for r in ex.get("reps") or [] if isinstance(r, Mapping)]
        done_ex = ex.get("reps_completed")
        done += int(done_ex) if isinstance(done_ex, (int, float)) else \
            sum(1 for r in reps if r.get("complete"))
        tgt = ex.get("reps_target")
        sets = ex.get("sets_target") or 1
        if isinstance(tgt, (int, float)):
            target += int(tgt) * (int(sets) if isinstance(sets, (int, float)) else 1)
    return done, target


def index_session(session_dir: str | os.PathLike[str]) -> bool:
    """Insert/refresh one session in the index. Never raises: returns False on failure."""
    from neckcoach.io.records import SESSION_FILE

    path = Path(session_dir).resolve()
    try:
        with open(path / SESSION_FILE, encoding="utf-8") as fh:
            session = json.load(fh)
        if not isinstance(session, dict):
            raise ValueError("session.json is not an object")
        done, target = _counts(session)
        values = (str(path), session.get("session_id") or path.name, session.get("started_at"),
                  session.get("routine_title") or (session.get("routine") or {}).get("title"),
                  int(bool(session.get("complete"))), session.get("ended_reason"),
                  done, target, len(session.get("warnings") or []),
                  json.dumps(summarize(session)), datetime.now().isoformat(timespec="seconds"))
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        log.warning("could not index session %s: %s", path, exc)
        return False
    try:
        conn = _connect()
        try:
            with conn:
                _retry(lambda: conn.execute(
                    "INSERT INTO sessions VALUES (?,?,?,?,?,?,?,?,?,?,?) "
                    "ON CONFLICT(dir) DO UPDATE SET session_id=excluded.session_id, "
                    "started_at=excluded.started_at, routine_title=excluded.routine_title, "
                    "complete=excluded.complete, ended_reason=excluded.ended_reason, "
                    "reps_done=excluded.reps_done, reps_target=excluded.reps_target, "
                    "warnings=excluded.warnings, summary_json=excluded.summary_json, "
                    "indexed_at=excluded.indexed_at", values))
                _retry(lambda: _index_checkins(conn, str(path), session))
        finally:
            conn.close()
    except sqlite3.Error as exc:
        log.warning("could not write the history index %s: %s", db_path(), exc)
        return False
    return True


@dataclass
class HistoryEntry:
    dir: Path
    session_id: str
    started_at: datetime | None
    routine_title: str
    complete: bool
    ended_reason: str | None
    reps_done: int
    reps_target: int
    warnings: int
    summary: dict[str, Any] = field(default_factory=dict)


def _parse_time(text: Any) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(str(text))


def _read_rows(query: str, what: str, hint: str = "") -> tuple[list, list[str]]:
    """All rows of `query`, or none and a note saying why `what` could not be read.

    No history file yet is not a problem: no rows, no note.
    """
    path = db_path()
    if not path.exists():
        return [], []
    try:
        conn = _connect(path)
        try:
            return conn.execute(query).fetchall(), []
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return [], [f"{what} {path} could not be read ({exc}){hint}"]


def list_sessions(include_missing: bool = False) -> tuple[list[HistoryEntry], list[str]]:
    """All indexed sessions, oldest first, plus notes on rows that were skipped."""
    rows, notes = _read_rows("SELECT * FROM sessions", "the history index",
                             "; rebuild it with `neckcoach history --scan FOLDER`")
    entries: list[HistoryEntry] = []
    missing: list[HistoryEntry] = []
    for row in rows:
        try:
            entry = HistoryEntry(
                dir=Path(row[0]), session_id=str(row[1]), started_at=_parse_time(row[2]),
                routine_title=str(row[3] or "?"), complete=bool(row[4]), ended_reason=row[5],
                reps_done=int(row[6] or 0), reps_target=int(row[7] or 0),
                warnings=int(row[8] or 0), summary=json.loads(row[9] or "{}"))
            if not isinstance(entry.summary, dict):
                raise ValueError("summary is not an object")
        except (TypeError, ValueError, IndexError) as exc:
            notes.append(f"skipped a damaged history row ({row[0] if row else '?'}): {exc}")
            continue
        if not include_missing and not entry.dir.is_dir():
            missing.append(entry)
            continue
        entries.append(entry)
    notes.extend(_missing_notes(missing))
    entries.sort(key=lambda e: (e.started_at.timestamp() if e.started_at else 0.0,
                                e.session_id))
    return entries, notes


def _missing_notes(missing: list[HistoryEntry], named: int = 2) -> list[str]:
    """One note per indexed session whose folder is gone, or one for all of them when there are
    more than `named`: a history of folders since moved or deleted would otherwise fill a report."""
    if len(missing) <= named:
        return [f"skipped {e.session_id}: its folder {e.dir} no longer exists" for e in missing]
    return [f"skipped {len(missing)} sessions whose folders no longer exist (moved or deleted; "
            "`neckcoach history --scan FOLDER` indexes moved ones again)"]


def scan_folder(folder: str | os.PathLike[str]) -> int:
    """(Re-)index every session folder below `folder`; returns how many were indexed."""
    from neckcoach.io.records import SESSION_FILE

    count = 0
    for session_file in sorted(Path(folder).rglob(SESSION_FILE)):
        count += index_session(session_file.parent)
    return count


def progress_series(entries: list[HistoryEntry]) -> dict[str, list[tuple[datetime, dict]]]:
    """Per direction, the (date, summary) points in time order."""
    series: dict[str, list[tuple[datetime, dict]]] = {}
    for entry in entries:
        if entry.started_at is None:
            continue
        for direction, stats in entry.summary.items():
            if isinstance(stats, dict):
                series.setdefault(direction, []).append((entry.started_at, stats))
    return series



# -- symptoms: check-ins and the headache diary ------------------------------------------

def _index_checkins(conn: sqlite3.Connection, path: str, session: Mapping[str, Any]) -> None:
    """Replace this session's check-in rows with those in its session.json."""
    conn.execute("DELETE FROM checkins WHERE dir=?", (path,))
    title = session.get("routine_title") or (session.get("routine") or {}).get("title")
    for entry in session.get("checkins") or []:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("seq"), int):
            continue
        stop = entry.get("stop") if isinstance(entry.get("stop"), Mapping) else {}
        conn.execute(
            "INSERT OR REPLACE INTO checkins VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (path, entry["seq"], session.get("session_id"), session.get("started_at"), title,
             entry.get("phase"), entry.get("status"), entry.get("source"), _finite(entry.get("t_s")),
             _int_or_none(entry.get("pain_0_10")), _bool_int(entry.get("headache")), stop.get("rule"),
             json.dumps(entry)))


def _int_or_none(value: Any) -> int | None:
    v = _finite(value)
    return None if v is None else int(round(v))


def _bool_int(value: Any) -> int | None:
    return None if not isinstance(value, bool) else int(value)


@dataclass
class CheckinRow:
    """One check-in of one session, as the history holds it."""

    dir: Path
    session_id: str
    session_started_at: datetime | None
    routine_title: str
    phase: str
    status: str
    source: str
    pain: int | None
    headache: bool | None
    stop_rule: str | None
    record: dict[str, Any]


def list_checkins() -> tuple[list[CheckinRow], list[str]]:
    """Every recorded check-in, in session order then check-in order, plus notes on skipped rows."""
    rows, notes = _read_rows("SELECT * FROM checkins ORDER BY started_at, dir, seq", "the check-ins in")
    out: list[CheckinRow] = []
    for row in rows:
        try:
            record = json.loads(row[12] or "{}")
            if not isinstance(record, dict):
                raise ValueError("the check-in record is not an object")
            out.append(CheckinRow(
                dir=Path(row[0]), session_id=str(row[2]), session_started_at=_parse_time(row[3]),
                routine_title=str(row[4] or "?"), phase=str(row[5]), status=str(row[6] or ""),
                source=str(row[7] or ""), pain=row[9], headache=None if row[10] is None else bool(row[10]),
                stop_rule=row[11], record=record))
        except (TypeError, ValueError, IndexError) as exc:
            notes.append(f"skipped a damaged check-in row ({row[0] if row else '?'}): {exc}")
    return out, notes



@dataclass(frozen=True)
class DiaryEntry:
    """One day of the headache diary: how many, the worst (0-10), total hours, medication."""

    day: date
    headaches: int
    worst: int | None = None
    hours: float | None = None
    medication: bool | None = None
    note: str = ""
    entered_at: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.day, date) or isinstance(self.day, datetime):
            raise ValueError(f"day must be a date, got {self.day!r}")
        if isinstance(self.headaches, bool) or not isinstance(self.headaches, int) \
                or not 0 <= self.headaches <= MAX_HEADACHES_PER_DAY:
            raise ValueError(f"headaches must be a whole number in [0, {MAX_HEADACHES_PER_DAY}], "
                             f"got {self.headaches!r}")
        if self.worst is not None and (isinstance(self.worst, bool) or not isinstance(self.worst, int)
                                       or not 0 <= self.worst <= 10):
            raise ValueError(f"worst must be a whole number in [0, 10], got {self.worst!r}")
        if self.hours is not None:
            check_range("hours", self.hours, 0, 24)
        if self.medication is not None and not isinstance(self.medication, bool):
            raise ValueError(f"medication must be True or False, got {self.medication!r}")
        if self.headaches == 0 and (self.worst or self.hours):
            raise ValueError(f"a day with no headaches has no worst intensity or hours "
                             f"(got worst={self.worst!r}, hours={self.hours!r})")
        if self.headaches > 0 and self.worst == 0:
            raise ValueError("worst must be at least 1 on a day with headaches, got 0")
        if not isinstance(self.note, str) or len(self.note) > 500:
            raise ValueError(f"note must be text of at most 500 characters, got {len(str(self.note))}")


    def summary(self) -> str:
        """One line for the day, as the CLI and the end-of-session screen show it."""
        if self.headaches == 0:
            text = "no headache"
        else:
            text = f"{self.headaches} headache{'s' if self.headaches != 1 else ''}"
            text += f", worst {self.worst}/10" if self.worst is not None else ", worst not given"
            text += f", {self.hours:g} h" if self.hours is not None else ", hours not given"
        med = {True: "medication taken", False: "no medication", None: "medication not given"}[self.medication]
        return f"{text}, {med}"


def put_diary(entry: DiaryEntry) -> bool:
    """Store one day (replacing an earlier entry for that day); True if it replaced one."""
    stamp = entry.entered_at or datetime.now().astimezone().isoformat(timespec="seconds")
    conn = _connect()
    try:
        with conn:
            existed = _retry(lambda: conn.execute("SELECT 1 FROM diary WHERE day=?",
                                                  (entry.day.isoformat(),)).fetchone()) is not None
            _retry(lambda: conn.execute(
                "INSERT OR REPLACE INTO diary VALUES (?,?,?,?,?,?,?)",
                (entry.day.isoformat(), entry.headaches, entry.worst, entry.hours,
                 None if entry.medication is None else int(entry.medication), entry.note, stamp)))
    finally:
        conn.close()
    return existed


def delete_diary(day: date) -> bool:
    """Remove one day's entry; True if there was one."""
    if not db_path().exists():
        return False
    conn = _connect()
    try:
        with conn:
            cur = _retry(lambda: conn.execute("DELETE FROM diary WHERE day=?", (day.isoformat(),)))
    finally:
        conn.close()
    return cur.rowcount > 0


def list_diary(since: date | None = None) -> tuple[list[DiaryEntry], list[str]]:
    """Diary entries, oldest first (from `since` on), plus notes on damaged rows."""
    rows, notes = _read_rows("SELECT * FROM diary ORDER BY day", "the headache diary in")
    entries: list[DiaryEntry] = []
    for row in rows:
        try:
            entry = DiaryEntry(day=date.fromisoformat(row[0]), headaches=int(row[1]),
                               worst=None if row[2] is None else int(row[2]),
                               hours=None if row[3] is None else float(row[3]),
                               medication=None if row[4] is None else bool(row[4]),
                               note=row[5] or "", entered_at=row[6] or "")
        except (TypeError, ValueError) as exc:
            notes.append(f"skipped a damaged diary row ({row[0] if row else '?'}): {exc}")
            continue
        if since is None or entry.day >= since:
            entries.append(entry)
    return entries, notes


def session_plans(entries: list[HistoryEntry]) -> dict[str, int | None]:
    """Sessions per week each session's routine prescribed (from its session.json), by folder."""
    from neckcoach.io.records import SESSION_FILE

    plans: dict[str, int | None] = {}
    for entry in entries:
        try:
            with open(entry.dir / SESSION_FILE, encoding="utf-8") as fh:
                routine = json.load(fh).get("routine") or {}
            per_week = routine.get("sessions_per_week")
            plans[str(entry.dir)] = int(per_week) if isinstance(per_week, (int, float)) and per_week > 0 else None
        except (OSError, ValueError, AttributeError, TypeError):
            plans[str(entry.dir)] = None
    return plans
