"""`report`, `history`, `progress`, `export`, `archive`: session records for patient and clinic."""

from __future__ import annotations

import csv
import os
import zipfile
from pathlib import Path

import click

from neckcoach.cli.errors import UserError
from neckcoach.io.history import (data_home, db_path, direction_of, list_checkins, list_diary,
                                  list_sessions, progress_series, scan_folder)
from neckcoach.io.records import (REP_CSV_FIELDS, RecordError, csv_cell, load_session,
                                  rep_csv_row)

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
MOVEMENT_DIRECTIONS = {
    "rotation": ("rotation_left", "rotation_right"),
    "flexion": ("flexion",), "extension": ("extension",),
    "flexion_extension": ("flexion", "extension"),
    "side_bend": ("side_bend_left", "side_bend_right"),
    "retraction": ("retraction",), "chin_nod": ("flexion",),
}


def _notes(notes: list[str]) -> None:
    for note in notes:
        click.echo(f"note: {note}", err=True)


@click.command("report", context_settings=CONTEXT_SETTINGS)
@click.argument("session_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              help="HTML file to write (default: SESSION_DIR/report.html).")
def report_cmd(session_dir: Path, out_file: Path | None) -> None:
    """Write a self-contained HTML report of one session (also works on interrupted ones).

    \b
    Example:
      neckcoach report ~/.local/share/neckcoach/sessions/20260301-101500-daily-neck
      neckcoach report SESSION_DIR --out for_my_physio.html
    """
    from neckcoach.report import build_report

    try:
        out = build_report(session_dir, out_file)
    except RecordError as exc:
        raise UserError(str(exc)) from exc
    except OSError as exc:
        raise UserError(f"could not write the report: {exc}") from exc
    click.echo(f"Report written: {out}")


@click.command("history", context_settings=CONTEXT_SETTINGS)
@click.option("--scan", "scan_dir", type=click.Path(file_okay=False, path_type=Path),
              help="First (re-)index every session folder found below this folder.")
def history_cmd(scan_dir: Path | None) -> None:
    """List all recorded sessions, oldest first.

    \b
    Example:
      neckcoach history
      neckcoach history --scan /media/usb/neckcoach-sessions
    """
    if scan_dir is not None:
        if not scan_dir.is_dir():
            raise UserError(f"folder not found: {scan_dir}")
        click.echo(f"Indexed {scan_folder(scan_dir)} session folder(s) below {scan_dir}.")
    entries, notes = list_sessions()
    pain = _pain_by_session(notes)
    if not entries:
        click.echo(f"No sessions recorded yet (index: {db_path()}).")
    else:
        click.echo(f"{'date':16}  {'routine':24}  {'reps':>7}  {'warn':>4}  {'status':9}  {'pain':>6}  folder")
        for e in entries:
            date = e.started_at.strftime("%Y-%m-%d %H:%M") if e.started_at else "?"
            reps = f"{e.reps_done}/{e.reps_target}" if e.reps_target else str(e.reps_done)
            status = "complete" if e.complete else "stopped"
            if (e.ended_reason or "").startswith("stop rule"):
                status = "STOP RULE"
            click.echo(f"{date:16}  {e.routine_title[:24]:24}  {reps:>7}  {e.warnings:>4}  "
                       f"{status:9}  {pain.get(str(e.dir), '-'):>6}  {e.dir}")
    _notes(notes)


def _pain_by_session(notes: list[str]) -> dict[str, str]:
    """'3->2': neck pain at the check-ins before and after each session ('-' where not given)."""
    rows, more = list_checkins()
    notes.extend(more)
    pain: dict[str, dict[str, int]] = {}
    for row in rows:
        if row.phase in ("before", "after") and row.pain is not None:
            pain.setdefault(str(row.dir), {})[row.phase] = row.pain
    return {d: f"{p.get('before', '-')}->{p.get('after', '-')}" for d, p in pain.items()}


@click.command("progress", context_settings=CONTEXT_SETTINGS)
@click.option("--movement", type=click.Choice(sorted(MOVEMENT_DIRECTIONS)), default=None,
              help="Only this movement (default: all recorded).")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="PNG to write (default: progress.png in the data folder).")
def progress_cmd(movement: str | None, out_file: Path | None) -> None:
    """Plot symptoms per week next to range and smoothness over days.

    Symptoms (when recorded): headache days per week and their worst intensity from the diary,
    neck pain before and after sessions from the check-ins, stop rules answered yes, and sessions
    done against the sessions the routine plans (its `schedule`).

    \b
    Example:
      neckcoach progress
      neckcoach progress --movement rotation --out rotation_progress.png
    """
    from neckcoach.report.figures import progress_figure
    from neckcoach.io.history import describe_range
    from neckcoach.report.norms import DIRECTION_ORDER, LABELS
    from neckcoach.report.symptoms import describe_weeks, has_symptom_data, load_weeks

    notes: list[str] = []
    weeks, entries = load_weeks(notes)
    series = progress_series(entries)
    wanted = MOVEMENT_DIRECTIONS[movement] if movement else DIRECTION_ORDER
    directions = [d for d in wanted if d in series]
    if not directions and (movement or not has_symptom_data(weeks)):
        _notes(notes)
        raise click.ClickException(
            f"no recorded repetitions{' for ' + movement if movement else ''} yet; "
            "do a session first (see `neckcoach history`).")
    out = out_file or data_home() / "progress.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(progress_figure(series, directions, weeks))
    for d in directions:
        stats = [s for _, s in series[d] if s.get("range") is not None]
        if stats:
            unit = ""  # the line's numbers stay bare, as before; a lower bound says "at least"
            best = max(stats, key=lambda s: (s["range"], s.get("range_lower_bound") is not True))
            click.echo(f"{LABELS[d]:24} {len(stats)} session(s), first "
                       f"{describe_range(stats[0], unit)}, latest {describe_range(stats[-1], unit)}, "
                       f"best {describe_range(best, unit)}")
    for line in describe_weeks(weeks):
        click.echo(line)
    click.echo(f"Progress plot written: {out}")
    _notes(notes)


@click.command("export", context_settings=CONTEXT_SETTINGS)
@click.option("--csv", "csv_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="CSV file to write; the check-ins and the diary go beside it (NAME_checkins.csv, "
                   "NAME_diary.csv).")
def export_cmd(csv_file: Path) -> None:
    """Export every rep, check-in and diary day as CSV for the clinic.

    Three files, one table each: the reps in CSV, the check-ins (pain, headache, stop rules per
    session) in CSV's stem + _checkins.csv, the headache diary in stem + _diary.csv.

    \b
    Example:
      neckcoach export --csv all_reps.csv
    """
    entries, notes = list_sessions()
    fields = ["session_id", "date", "routine", "direction", *REP_CSV_FIELDS]
    rows = 0
    csv_file.parent.mkdir(parents=True, exist_ok=True)
    with open(csv_file, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for e in entries:
            try:
                data = load_session(e.dir)
            except RecordError as exc:
                notes.append(f"skipped {e.session_id}: {exc}")
                continue
            for rep in data.reps:
                rep = rep_csv_row(rep, data.session)
                rep["warnings"] = ";".join(rep["warnings"])
                rep.update(session_id=e.session_id, routine=e.routine_title,
                           date=e.started_at.isoformat() if e.started_at else "",
                           direction=direction_of(rep.get("movement"), rep.get("side")) or "")
                writer.writerow({k: csv_cell(rep.get(k)) for k in fields})
                rows += 1
    click.echo(f"Exported {rows} rep(s) from {len(entries)} session(s) to {csv_file}")
    checkins_file = csv_file.with_name(f"{csv_file.stem}_checkins.csv")
    click.echo(f"Exported {_export_checkins(checkins_file, notes)} check-in(s) to {checkins_file}")
    diary_file = csv_file.with_name(f"{csv_file.stem}_diary.csv")
    click.echo(f"Exported {_export_diary(diary_file, notes)} diary day(s) to {diary_file}")
    _notes(notes)


CHECKIN_CSV_FIELDS = ("session_id", "session_date", "routine", "seq", "phase", "at", "status", "source",
                      "duration_s", "pain_0_10", "headache", "baseline_pain_0_10", "stop_rule")
DIARY_CSV_FIELDS = ("date", "headaches", "worst_0_10", "hours", "medication", "note", "entered_at")


def _export_checkins(path: Path, notes: list[str]) -> int:
    """One row per check-in; a stop_<rule> column per stop rule (1 yes, 0 no, empty unknown)."""
    from neckcoach.routine.model import DEFAULT_STOP_IF

    rows, more = list_checkins()
    notes.extend(more)
    rules = list(DEFAULT_STOP_IF)
    for row in rows:
        for rule in (row.record.get("stop_rules") or {}):
            if rule not in rules:
                rules.append(rule)
    fields = [*CHECKIN_CSV_FIELDS, *(f"stop_{r}" for r in rules), "other_answers", "note"]
    builtin = {"pain", "headache", "symptoms", "symptoms_now"}
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            rec = row.record
            answers = [a for a in rec.get("answers") or [] if isinstance(a, dict)]
            other = ";".join(f"{a.get('id')}={_answer_text(a)}" for a in answers if a.get("id") not in builtin)
            values = {
                "session_id": row.session_id,
                "session_date": row.session_started_at.isoformat() if row.session_started_at else "",
                "routine": row.routine_title, "seq": rec.get("seq"), "phase": row.phase, "at": rec.get("at"),
                "status": row.status, "source": row.source, "duration_s": rec.get("duration_s"),
                "pain_0_10": row.pain, "headache": row.headache,
                "baseline_pain_0_10": rec.get("baseline_pain_0_10"), "stop_rule": row.stop_rule,
                "other_answers": other, "note": rec.get("note"),
                **{f"stop_{r}": (rec.get("stop_rules") or {}).get(r) for r in rules},
            }
            writer.writerow({k: csv_cell(v) for k, v in values.items()})
    return len(rows)


def _answer_text(answer: dict) -> str:
    if answer.get("status") != "answered":
        return str(answer.get("status") or "")
    value = answer.get("value")
    return {True: "yes", False: "no"}.get(value, str(value)) if isinstance(value, bool) else str(value)


def _export_diary(path: Path, notes: list[str]) -> int:
    entries, more = list_diary()
    notes.extend(more)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(DIARY_CSV_FIELDS))
        writer.writeheader()
        for e in entries:
            writer.writerow({k: csv_cell(v) for k, v in zip(DIARY_CSV_FIELDS, (
                e.day.isoformat(), e.headaches, e.worst, e.hours, e.medication, e.note, e.entered_at))})
    return len(entries)


@click.command("archive", context_settings=CONTEXT_SETTINGS)
@click.argument("session_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Zip file to write (default: SESSION_DIR.zip next to the folder).")
def archive_cmd(session_dir: Path, out_file: Path | None) -> None:
    """Zip one session folder (record, report, video) to share with your therapist.

    \b
    Example:
      neckcoach archive SESSION_DIR --out to_clinic.zip
    """
    session_dir = session_dir.resolve()
    if not session_dir.is_dir():
        raise UserError(f"{session_dir} is not a session folder (it does not exist)")
    if not (session_dir / "session.json").exists() and not (session_dir / "trace.csv").exists():
        raise UserError(f"{session_dir} is not a NeckCoach session folder")
    out = (out_file or session_dir.parent / f"{session_dir.name}.zip").resolve()
    tmp = out.with_name(f".{out.name}.tmp")
    files = 0
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(session_dir.rglob("*")):
            if path.is_file() and path.resolve() not in (out, tmp.resolve()) \
                    and not path.name.startswith("."):
                zf.write(path, Path(session_dir.name) / path.relative_to(session_dir))
                files += 1
    os.replace(tmp, out)
    click.echo(f"Archived {files} file(s) to {out}")


COMMANDS = [report_cmd, history_cmd, progress_cmd, export_cmd, archive_cmd]
__all__ = ["COMMANDS", "report_cmd", "history_cmd", "progress_cmd", "export_cmd", "archive_cmd"]
