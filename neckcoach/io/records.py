"""Session record: one folder per session with session.json, reps.csv, trace.csv.

The recorder is fed by the pipeline (trace rows every frame, reps and warnings
as the coach emits them) and keeps the folder crash-safe: trace.csv is appended
and fsynced at least once per second of *session* time, session.json and
reps.csv are rewritten atomically at most once per second. A crash therefore
loses at most the last second, and session.json always parses with
`complete: false` until `close()`.

A disk that fills up (or fails) mid-session must not end the coaching: the
recorder catches the error, says so once (log + `problem`, for the app to
show), keeps the unsaved trace rows in memory (up to `max_unsaved_trace_mb`)
and retries every second, so writing resumes where it stopped when space
returns. Meanwhile the last good session.json stays in place, readable by
`neckcoach report`.
"""

from __future__ import annotations

import copy
import csv
import errno
import io
import json
import logging
import math
import os
import re
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from neckcoach.core.reps import WITHHELD_BEYOND
from neckcoach.io.atomic import atomic_write_json, atomic_write_text, fsync_dir

SESSION_FILE = "session.json"
REPS_FILE = "reps.csv"
TRACE_FILE = "trace.csv"
VIDEO_FILE = "overlay.mp4"
SCHEMA_VERSION = 1

TRACE_FIELDS: tuple[str, ...] = (
    "t_s", "face_found", "yaw_deg", "pitch_deg", "roll_deg", "retraction_mm",
    "yaw_speed_deg_s", "pitch_speed_deg_s", "roll_speed_deg_s", "retraction_speed_mm_s",
    "confidence", "reliable", "faces", "brightness", "torso_yaw_deg", "torso_roll_deg",
    # Per measure: is the value within 5 deg / 5 mm of the truth, and is it only a lower bound
    # (see Kinematics.is_reliable / is_lower_bound).
    "yaw_reliable", "pitch_reliable", "roll_reliable", "retraction_reliable",
    "yaw_lower_bound", "pitch_lower_bound",
)
# Rep fields as the coach writes them; angle metrics are suffixed with the
# exercise's unit (peak_deg / peak_mm for chin tucks), see `rep_metric`.
REP_FIELDS: tuple[str, ...] = (
    "index", "side", "complete", "start_t_s", "end_t_s", "peak_deg", "target_deg",
    "time_to_target_s", "hold_s", "peak_speed_deg_s", "mean_speed_deg_s", "sparc", "ldlj",
    "velocity_peaks", "warnings",
)
# reps.csv mixes degrees and millimetres across exercises, so it names metrics
# without a unit and carries the unit in its own column.
REP_CSV_FIELDS: tuple[str, ...] = (
    "exercise_id", "exercise_name", "movement", "unit", "index", "side", "complete", "reason",
    "start_t_s", "end_t_s", "peak", "peak_lower_bound", "target", "time_to_target_s", "hold_s",
    "peak_speed_per_s", "mean_speed_per_s", "sparc", "ldlj", "velocity_peaks", "sparc_out", "sparc_back",
    "ldlj_out", "ldlj_back", "velocity_peaks_out", "velocity_peaks_back", "move_out_s", "move_back_s",
    "smoothness_withheld_out", "smoothness_withheld_back", "warnings",
)
_METRIC_KEYS = {
    "peak": ("peak_deg", "peak_mm"),
    "peak_abs": ("peak_abs_deg", "peak_abs_mm"),
    "target": ("target_deg", "target_mm"),
    "peak_speed": ("peak_speed_deg_s", "peak_speed_mm_s"),
    "mean_speed": ("mean_speed_deg_s", "mean_speed_mm_s"),
}
WARNING_FIELDS: tuple[str, ...] = ("t_s", "kind", "magnitude", "rep", "exercise_id", "message")

DEFAULT_MIN_FREE_MB = 50.0
# At most this many save problems are kept in session.json (one per episode).
MAX_RECORDED_PROBLEMS = 20

log = logging.getLogger(__name__)


class RecordError(RuntimeError):
    """The session record cannot be written or read; the message says what to do."""


def preflight(out_dir: str | os.PathLike[str], min_free_mb: float = DEFAULT_MIN_FREE_MB) -> Path:
    """Fail fast, before any exercise starts, if the record could not be written.

    Creates `out_dir`, writes+fsyncs+removes a probe file and checks free space,
    so a read-only folder or a full disk is reported up front, not mid-session.
    """
    if min_free_mb < 0:
        raise ValueError(f"min_free_mb must be >= 0, got {min_free_mb!r}")
    path = Path(out_dir).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RecordError(f"cannot create the session folder {path}: {exc.strerror or exc}. "
                          "Choose another folder with --out.") from exc
    probe = path / ".neckcoach-write-probe"
    try:
        with open(probe, "wb") as fh:
            fh.write(b"probe\n" * 64)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise RecordError(f"the session folder {path} is not writable: {exc.strerror or exc}. "
                          "Choose another folder with --out.") from exc
    finally:
        try:
            probe.unlink()
        except OSError:
            pass
    free_mb = shutil.disk_usage(path).free / 1e6
    if free_mb < min_free_mb:
        raise RecordError(f"only {free_mb:.0f} MB free on the disk holding {path}; "
                          f"a session needs at least {min_free_mb:.0f} MB. Free some space "
                          "or choose another folder with --out.")
    return path


def slugify(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return slug[:40] or "session"


def default_sessions_dir() -> Path:
    from neckcoach.io.history import data_home

    return data_home() / "sessions"


def new_session_dir(routine_id: str, base: str | os.PathLike[str] | None = None,
                    now: datetime | None = None) -> Path:
    """`<base>/<YYYYmmdd-HHMMSS>-<routine-id>`, suffixed -2, -3… if it exists."""
    base_path = Path(base) if base is not None else default_sessions_dir()
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    name = f"{stamp}-{slugify(routine_id)}"
    candidate, n = base_path / name, 2
    while candidate.exists():
        candidate, n = base_path / f"{name}-{n}", n + 1
    return candidate


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return "" if not math.isfinite(value) else f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return ";".join(csv_cell(v) for v in value)
    return str(value)


def _trace_row(sample: Any, t_s: float) -> dict[str, Any]:
    if isinstance(sample, Mapping):
        row = dict(sample)
    else:
        row = {name: getattr(sample, name) for name in TRACE_FIELDS if hasattr(sample, name)}
        if row.get("retraction_reliable") is False:
            # Not measured (head turned, or just found): withheld, not written as a number.
            row["retraction_mm"] = row["retraction_speed_mm_s"] = None
    row["t_s"] = t_s
    return row


class SessionRecorder:
    """Writes one session folder incrementally; see the module docstring.

    Times are session seconds passed in by the caller (sample timestamps), never
    clock reads, so a replayed video produces the same record as the live run.
    """

    def __init__(self, out_dir: str | os.PathLike[str], routine_info: Mapping[str, Any],
                 source: Mapping[str, Any] | None = None,
                 calibration: Mapping[str, Any] | None = None,
                 device: Mapping[str, Any] | None = None,
                 started_at: datetime | None = None,
                 flush_interval_s: float = 1.0,
                 min_free_mb: float = DEFAULT_MIN_FREE_MB,
                 index: bool = True,
                 max_unsaved_trace_mb: float = 16.0) -> None:
        if not isinstance(routine_info, Mapping):
            raise ValueError(f"routine_info must be a mapping (title, path, id…), got {routine_info!r}")
        if not 0 < flush_interval_s <= 1.0:
            raise ValueError(f"flush_interval_s must be in (0, 1.0] (at most 1 s may be lost), "
                             f"got {flush_interval_s!r}")
        if not 0 < max_unsaved_trace_mb <= 1024:
            raise ValueError(f"max_unsaved_trace_mb must be in (0, 1024], got {max_unsaved_trace_mb!r}")
        from neckcoach import __version__

        self.out_dir = preflight(out_dir, min_free_mb)
        self.flush_interval_s = float(flush_interval_s)
        self.max_unsaved_trace_bytes = int(max_unsaved_trace_mb * 1e6)
        self._index = index
        started = started_at or datetime.now(timezone.utc).astimezone()
        routine = dict(routine_info)
        self.session: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "session_id": self.out_dir.name,
            "software_version": __version__,
            "started_at": started.isoformat(timespec="seconds"),
            "routine": routine,
            "routine_title": routine.get("title"),
            "routine_path": routine.get("path"),
            "source": dict(source or {}),
            "device": dict(device or {}),
            "calibration": dict(calibration or {}),
            "exercises": [],
            "warnings": [],
            "pauses": [],
            "complete": False,
            "ended_reason": None,
            "duration_s": 0.0,
            "frames": 0,
            "frames_with_face": 0,
        }
        self._last_t_s: float | None = None
        self._last_flush_t_s: float | None = None
        self._last_checkpoint_t_s: float | None = None
        self._dirty = True
        self._closed = False
        self._reps_written: str | None = None
        self.problem: str | None = None
        self._failing: set[str] = set()
        self.trace_rows_lost = 0
        self._unsaved = bytearray()
        self._row_text = io.StringIO()
        self._row_writer = csv.writer(self._row_text, lineterminator="\n")
        self._trace_fh = open(self.out_dir / TRACE_FILE, "wb", buffering=0)
        self._append_row(TRACE_FIELDS)
        self._sync_trace()
        self._write_summary()
        self._dirty = False
        self._index_now()

    # -- per-frame -------------------------------------------------------------------
    def update(self, sample: Any, t_s: float | None = None) -> None:
        """Append one trace row (a `Kinematics` or a mapping with the trace fields)."""
        if self._closed:
            raise RecordError("the session record is already closed")
        t = float(t_s if t_s is not None else (sample["t_s"] if isinstance(sample, Mapping)
                                                else sample.t_s))
        row = _trace_row(sample, t)
        cells = [csv_cell(row.get(k)) for k in TRACE_FIELDS]
        cells[0] = f"{t:.4f}"
        self._append_row(cells)
        self.session["frames"] += 1
        if row.get("face_found"):
            self.session["frames_with_face"] += 1
        self._last_t_s = t
        self.session["duration_s"] = max(self.session["duration_s"], t)
        if self._last_flush_t_s is None or t - self._last_flush_t_s >= self.flush_interval_s \
                or t < self._last_flush_t_s:
            self._attempt("trace", self._sync_trace, t)
            self._last_flush_t_s = t
        if self._dirty:
            self.checkpoint(t)

    def extend(self, samples: Iterable[Any]) -> None:
        """Append many trace rows at once, then sync once.

        For a recording reviewed after the fact: every row is known already,
        so there is no second of session time to protect between syncs, and a
        sync a second of video (`update`) would cost more than the rows.
        """
        if self._closed:
            raise RecordError("the session record is already closed")
        session = self.session
        for sample in samples:
            t = float(sample["t_s"] if isinstance(sample, Mapping) else sample.t_s)
            row = _trace_row(sample, t)
            cells = [csv_cell(row.get(k)) for k in TRACE_FIELDS]
            cells[0] = f"{t:.4f}"
            self._append_row(cells)
            session["frames"] += 1
            if row.get("face_found"):
                session["frames_with_face"] += 1
            self._last_t_s = t
            session["duration_s"] = max(session["duration_s"], t)
        self._dirty = True
        if self._last_t_s is not None:
            self._attempt("trace", self._sync_trace, self._last_t_s)
            self._last_flush_t_s = self._last_t_s

    # -- events ----------------------------------------------------------------------
    def _exercise(self, exercise_id: str | None) -> dict[str, Any]:
        exercises = self.session["exercises"]
        for ex in exercises:
            if ex.get("id") == exercise_id:
                return ex
        if exercise_id is None and exercises:
            return exercises[-1]
        ex = {"id": exercise_id or "exercise", "name": exercise_id or "exercise", "movement": None,
              "reps_target": None, "reps_completed": 0, "sets_target": None, "reps": []}
        exercises.append(ex)
        return ex

    def add_rep(self, rep: Mapping[str, Any], exercise_id: str | None = None) -> None:
        """Record a finished (or abandoned) rep under its exercise."""
        ex = self._exercise(exercise_id if exercise_id is not None else rep.get("exercise_id"))
        entry = {k: v for k, v in rep.items() if k != "exercise_id"}
        reps = ex.setdefault("reps", [])
        entry.setdefault("index", len(reps) + 1)
        entry.setdefault("warnings", [])
        reps.append(entry)
        ex["reps_completed"] = sum(1 for r in reps if r.get("complete"))
        self._dirty = True

    def add_warning(self, warning: Mapping[str, Any] | None = None, **fields: Any) -> None:
        """Record a safety/quality warning: t_s, kind, magnitude, rep, exercise_id, message."""
        data = dict(warning or {})
        data.update(fields)
        if "t_s" not in data or "kind" not in data:
            raise ValueError(f"a warning needs at least t_s and kind, got {sorted(data)}")
        entry = {k: data.get(k) for k in WARNING_FIELDS}
        entry.update({k: v for k, v in data.items() if k not in entry})
        entry["message"] = entry.get("message") or ""
        self.session["warnings"].append(entry)
        self._dirty = True

    def add_pause(self, start_t_s: float, end_t_s: float | None, reason: str) -> None:
        self.session["pauses"].append({"start_t_s": start_t_s, "end_t_s": end_t_s,
                                       "reason": reason})
        self._dirty = True

    def set_exercises(self, exercises: Iterable[Mapping[str, Any]]) -> None:
        """Replace the per-exercise records (the coach's authoritative view)."""
        new = [copy.deepcopy(dict(ex)) for ex in exercises]
        if new != self.session["exercises"]:  # called every frame by the loop: write on change
            self.session["exercises"] = new
            self._dirty = True

    def update_summary(self, session: Mapping[str, Any]) -> None:
        """Merge top-level fields (calibration, device, source, …) into session.json."""
        for key, value in session.items():
            if key == "complete" or self.session.get(key) == value:
                continue
            self.session[key] = copy.deepcopy(value)
            self._dirty = True

    def record_checkin(self, checkin: Mapping[str, Any], stop: Mapping[str, Any] | None = None) -> None:
        """Add or update one check-in (by its `seq`) and write it through at once.

        Symptom answers, stop-rule answers above all, must survive a crash the
        moment they are given: session.json is rewritten and fsynced now (not
        at the next once-a-second checkpoint) and the history index updated.
        """
        if not isinstance(checkin, Mapping) or not isinstance(checkin.get("seq"), int):
            raise ValueError(f"a check-in needs an integer seq, got {checkin!r}")
        entries = self.session.setdefault("checkins", [])
        entry = copy.deepcopy(dict(checkin))
        for i, old in enumerate(entries):
            if old.get("seq") == entry["seq"]:
                entries[i] = entry
                break
        else:
            entries.append(entry)
        if stop is not None:
            self.session["stop"] = copy.deepcopy(dict(stop))
        self._dirty = True
        if not self._closed:
            self.checkpoint(force=True)
        else:
            self._attempt("summary", self._write_summary, self._last_t_s or 0.0)
        self._index_now()

    # -- persistence -----------------------------------------------------------------
    @property
    def video_path(self) -> Path:
        return self.out_dir / VIDEO_FILE

    def checkpoint(self, t_s: float | None = None, force: bool = False) -> bool:
        """Atomically rewrite session.json + reps.csv, at most once per second of session time.

        True when the files were written; a failed write (disk full) is kept
        for a retry a second later.
        """
        if self._closed:
            return False
        t = t_s if t_s is not None else (self._last_t_s or 0.0)
        if not force:
            if not self._dirty:
                return False
            if self._last_checkpoint_t_s is not None and 0 <= t - self._last_checkpoint_t_s < 1.0:
                return False
        self._last_checkpoint_t_s = t
        self._attempt("trace", self._sync_trace, t)
        if not self._attempt("summary", self._write_summary, t):
            return False
        self._dirty = False
        return True

    def close(self, reason: str = "completed", complete: bool | None = None) -> Path:
        """Final write. `complete` defaults to True only for reason 'completed'."""
        if self._closed:
            return self.out_dir
        self.session["complete"] = bool(reason == "completed" if complete is None else complete)
        self.session["ended_reason"] = reason
        self.session["ended_at"] = datetime.now(timezone.utc).astimezone().isoformat(
            timespec="seconds")
        if self.video_path.exists():
            self.session["video"] = VIDEO_FILE
        t = self._last_t_s or 0.0
        self._attempt("trace", self._sync_trace, t)
        try:
            self._trace_fh.close()
        except OSError:
            pass
        self._attempt("summary", self._write_summary, t)
        self._closed = True
        if self.problem is not None:
            log.error("the session record in %s is incomplete: %s; what was saved before "
                      "can still be read with `neckcoach report`", self.out_dir, self.problem)
        self._index_now()
        return self.out_dir

    def __enter__(self) -> "SessionRecorder":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close("completed")
        elif issubclass(exc_type, KeyboardInterrupt):
            self.close("interrupted")
        else:
            self.close(f"error: {exc_type.__name__}: {exc}")

    def _append_row(self, cells: Iterable[str]) -> None:
        """Queue one trace line; past the memory cap a line is dropped whole, so the
        file stays a clean prefix of the stream."""
        self._row_text.seek(0)
        self._row_text.truncate()
        self._row_writer.writerow(cells)
        line = self._row_text.getvalue().encode("utf-8")
        if len(self._unsaved) + len(line) > self.max_unsaved_trace_bytes:
            self.trace_rows_lost += 1
            self.session["trace_rows_lost"] = self.trace_rows_lost
            self._dirty = True
            return
        self._unsaved += line

    def _sync_trace(self) -> None:
        """Write the queued lines and fsync. A short write leaves the rest queued, so a
        line cut by a full disk is completed, not repeated, when space returns."""
        fd = self._trace_fh.fileno()
        while self._unsaved:
            written = os.write(fd, self._unsaved)
            if written <= 0:
                raise OSError(errno.EIO, "the trace file accepted no data")
            del self._unsaved[:written]
        os.fsync(fd)

    def _attempt(self, what: str, write: Callable[[], None], t_s: float) -> bool:
        """Run one write; on OSError record the problem (logged once per episode), never raise."""
        try:
            write()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            if not self._failing:
                self.problem = (f"cannot save the session record in {self.out_dir}: {reason}. "
                                "Coaching continues; saving is retried every second")
                log.warning("%s (while writing the %s at t=%.1f s)", self.problem, what, t_s)
                problems = self.session.setdefault("record_problems", [])
                if len(problems) < MAX_RECORDED_PROBLEMS:
                    problems.append({"t_s": round(float(t_s), 3), "writing": what, "error": reason})
                self._dirty = True
            self._failing.add(what)
            return False
        if what in self._failing:
            self._failing.discard(what)
            if not self._failing:
                log.warning("saving the session record in %s works again", self.out_dir)
                self.problem = None
        return True

    def _write_summary(self) -> None:
        """session.json every time; reps.csv only when its content changed (fewer fsyncs)."""
        atomic_write_json(self.out_dir / SESSION_FILE, self.session, sync_dir=False)
        reps_text = reps_csv_text(self.session)
        if reps_text != self._reps_written:
            atomic_write_text(self.out_dir / REPS_FILE, reps_text, sync_dir=False)
            self._reps_written = reps_text
        fsync_dir(self.out_dir)

    def _index_now(self) -> None:
        if not self._index:
            return
        from neckcoach.io.history import index_session

        index_session(self.out_dir)


def rep_metric(rep: Mapping[str, Any], name: str) -> Any:
    """A rep metric whatever its unit suffix: name in peak, peak_abs, target, peak_speed,
    mean_speed. `peak` is signed (+ left/flexion/back); `peak_abs` its magnitude."""
    for key in _METRIC_KEYS[name]:
        if rep.get(key) is not None:
            return rep[key]
    if name == "peak_abs":
        peak = rep_metric(rep, "peak")
        try:
            return abs(float(peak))
        except (TypeError, ValueError):
            return None
    return rep.get(name)


def shape_past_range(rep: Mapping[str, Any], way: str) -> bool:
    """Whether the rep's movement `way` ("out", "back") was read past the measurable range,
    so its smoothness was withheld (core.reps)."""
    return rep.get(f"smoothness_withheld_{way}") == WITHHELD_BEYOND


def rep_warning_kinds(rep: Mapping[str, Any], session: Mapping[str, Any] | None = None
                      ) -> list[str]:
    """Kinds of the warnings raised during one (flattened) rep.

    The session's warning list is authoritative (it names exercise and rep);
    the rep's own `warnings` may be a list of kinds/dicts or just a count.
    """
    kinds = [str(w.get("kind")) for w in (session or {}).get("warnings") or []
             if isinstance(w, Mapping) and w.get("exercise_id") == rep.get("exercise_id")
             and w.get("rep") is not None and w.get("rep") == rep.get("index")]
    if kinds:
        return kinds
    own = rep.get("warnings")
    if isinstance(own, (list, tuple)):
        return [str(w.get("kind") if isinstance(w, Mapping) else w) for w in own]
    if isinstance(own, (int, float)) and not isinstance(own, bool) and own > 0:
        return ["warning"] * int(own)
    return []


def iter_reps(session: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    """Every rep flattened with its exercise id, name, movement and unit."""
    for ex in session.get("exercises") or []:
        if not isinstance(ex, Mapping):
            continue
        unit = ex.get("unit") or ("mm" if ex.get("movement") == "retraction" else "deg")
        for rep in ex.get("reps") or []:
            if isinstance(rep, Mapping):
                row = dict(rep)
                row.update(exercise_id=ex.get("id"), exercise_name=ex.get("name"),
                           movement=ex.get("movement"))
                row.setdefault("unit", unit)
                yield row


def rep_csv_row(rep: Mapping[str, Any], session: Mapping[str, Any]) -> dict[str, Any]:
    """One flattened rep in the unit-free reps.csv / export layout."""
    row = dict(rep)
    row.update(peak=rep_metric(rep, "peak"), target=rep_metric(rep, "target"),
               peak_speed_per_s=rep_metric(rep, "peak_speed"),
               mean_speed_per_s=rep_metric(rep, "mean_speed"),
               warnings=rep_warning_kinds(rep, session))
    return row


def reps_csv_text(session: Mapping[str, Any]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(REP_CSV_FIELDS), extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for rep in iter_reps(session):
        row = rep_csv_row(rep, session)
        writer.writerow({k: csv_cell(row.get(k)) for k in REP_CSV_FIELDS})
    return buf.getvalue()


# -- reading ---------------------------------------------------------------------------

@dataclass
class SessionData:
    """A session folder read back tolerantly (interrupted sessions included)."""

    path: Path
    session: dict[str, Any]
    trace: dict[str, list[float]]
    notes: list[str] = field(default_factory=list)

    @property
    def reps(self) -> list[dict[str, Any]]:
        return list(iter_reps(self.session))

    @property
    def complete(self) -> bool:
        return bool(self.session.get("complete"))


def _num(text: str) -> float:
    if text == "" or text is None:
        return math.nan
    if text in ("True", "true"):
        return 1.0
    if text in ("False", "false"):
        return 0.0
    return float(text)


def read_trace(path: Path, notes: list[str] | None = None) -> dict[str, list[float]]:
    """Columns of trace.csv as floats; a truncated or garbled line is dropped with a note."""
    notes = notes if notes is not None else []
    columns: dict[str, list[float]] = {}
    try:
        fh = open(path, encoding="utf-8", errors="replace", newline="")
    except OSError:
        notes.append(f"{path.name} is missing: no angle trace was recorded")
        return {name: [] for name in TRACE_FIELDS}
    with fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if not header:
            notes.append(f"{path.name} is empty")
            return {name: [] for name in TRACE_FIELDS}
        columns = {name: [] for name in header}
        dropped = 0
        for line in reader:
            if len(line) != len(header):
                dropped += 1
                continue
            try:
                values = [_num(v) for v in line]
            except ValueError:
                dropped += 1
                continue
            for name, value in zip(header, values):
                columns[name].append(value)
        if dropped:
            notes.append(f"{dropped} incomplete line(s) in {path.name} were skipped "
                         "(the session was probably interrupted)")
    return columns


def _reps_from_csv(path: Path) -> list[dict[str, Any]]:
    """Rebuild the per-exercise reps from reps.csv when session.json is unusable."""
    exercises: dict[str, dict[str, Any]] = {}
    renamed = {"peak": "peak_{u}", "target": "target_{u}", "peak_speed_per_s": "peak_speed_{u}_s",
               "mean_speed_per_s": "mean_speed_{u}_s"}
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        for row in csv.DictReader(fh):
            if None in row or any(v is None for v in row.values()):
                continue
            unit = row.get("unit") or "deg"
            ex = exercises.setdefault(row["exercise_id"], {
                "id": row["exercise_id"], "name": row["exercise_name"],
                "movement": row["movement"] or None, "unit": unit, "reps": []})
            rep: dict[str, Any] = {}
            for key, value in row.items():
                if key in ("exercise_id", "exercise_name", "movement", "unit"):
                    continue
                if key in ("side", "reason"):
                    rep[key] = value or None
                elif key == "warnings":
                    rep[key] = [w for w in value.split(";") if w]
                elif key == "complete":
                    rep[key] = value == "1"
                else:
                    try:
                        rep[renamed.get(key, key).format(u=unit)] = _num(value)
                    except ValueError:
                        rep[key] = None
            ex["reps"].append(rep)
    for ex in exercises.values():
        ex["reps_completed"] = sum(1 for r in ex["reps"] if r["complete"])
    return list(exercises.values())


def load_session(session_dir: str | os.PathLike[str]) -> SessionData:
    """Read a session folder; never fails on an interrupted or partly damaged record."""
    path = Path(session_dir)
    if not path.is_dir():
        raise RecordError(f"{path} is not a session folder (it does not exist)")
    notes: list[str] = []
    session: dict[str, Any] | None = None
    try:
        with open(path / SESSION_FILE, encoding="utf-8") as fh:
            loaded = json.load(fh)
        if isinstance(loaded, dict):
            session = loaded
        else:
            notes.append(f"{SESSION_FILE} does not hold a session object")
    except FileNotFoundError:
        notes.append(f"{SESSION_FILE} is missing")
    except (OSError, ValueError) as exc:
        notes.append(f"{SESSION_FILE} could not be read ({exc})")
    if session is None:
        if not (path / TRACE_FILE).exists() and not (path / REPS_FILE).exists():
            raise RecordError(f"{path} does not look like a NeckCoach session folder "
                              f"(no {SESSION_FILE}, {TRACE_FILE} or {REPS_FILE})")
        session = {"session_id": path.name, "complete": False, "exercises": [],
                   "warnings": [], "pauses": []}
        if (path / REPS_FILE).exists():
            session["exercises"] = _reps_from_csv(path / REPS_FILE)
    session.setdefault("session_id", path.name)
    for key in ("exercises", "warnings", "pauses", "checkins"):  # keep only well-formed entries
        entries = session.get(key)
        session[key] = [e for e in entries if isinstance(e, dict)] \
            if isinstance(entries, list) else []
    for ex in session["exercises"]:
        reps = ex.get("reps")
        ex["reps"] = [r for r in reps if isinstance(r, dict)] if isinstance(reps, list) else []
    trace = read_trace(path / TRACE_FILE, notes)
    times = [t for t in trace.get("t_s", []) if t == t]
    if times:  # session.json is only rewritten on events; the trace knows how far it got
        recorded = session.get("duration_s")
        session["duration_s"] = max(times[-1], recorded if isinstance(recorded, (int, float))
                                    else 0.0)
    if not session.get("complete"):
        reason = session.get("ended_reason") or "it did not finish (interrupted or crashed)"
        notes.insert(0, f"This session is incomplete: {reason}.")
    return SessionData(path=path, session=session, trace=trace, notes=notes)
