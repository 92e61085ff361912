"""CLI: report, history, progress, export, archive (click CliRunner)."""

from __future__ import annotations

import csv
import sys
import zipfile
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from neckcoach.cli.cmd_records import COMMANDS

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import test_records_synth as synth  # noqa: E402


@pytest.fixture(autouse=True)
def _home(home):
    return home


@pytest.fixture
def cli():
    group = click.Group("neckcoach", context_settings={"help_option_names": ["-h", "--help"]})
    for cmd in COMMANDS:
        group.add_command(cmd)
    runner = CliRunner()
    return lambda *args: runner.invoke(group, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def days(tmp_path):
    return synth.record_days(tmp_path / "sessions", days=3)


@pytest.mark.parametrize("name", ["report", "history", "progress", "export", "archive"])
def test_every_command_has_help_with_example(cli, name):
    for flag in ("-h", "--help"):
        result = cli(name, flag)
        assert result.exit_code == 0
        assert "Example" in result.output and f"neckcoach {name}" in result.output


def test_report_command(cli, days, tmp_path):
    result = cli("report", days[0], "--out", tmp_path / "out" / "r.html")
    assert result.exit_code == 0, result.output
    assert f"Report written: {tmp_path / 'out' / 'r.html'}" in result.output
    assert (tmp_path / "out" / "r_angles.png").stat().st_size > 10_000
    result = cli("report", days[1])
    assert result.exit_code == 0 and (days[1] / "report.html").exists()
    missing = cli("report", tmp_path / "nope")
    assert missing.exit_code == 2 and "is not a session folder" in missing.output


def test_history_command_lists_sessions_and_notes(cli, days, tmp_path):
    lines = cli("history").output.splitlines()
    assert lines[0].split()[:3] == ["date", "routine", "reps"]
    rows = [ln for ln in lines if "Daily neck routine" in ln]
    assert len(rows) == 3
    assert rows[0].startswith("2026-03-01 09:30") and "16/17" in rows[0]
    assert str(days[2].resolve()) in rows[2]
    import shutil
    shutil.rmtree(days[1])
    result = cli("history")
    assert result.exit_code == 0
    assert sum("Daily neck routine" in ln for ln in result.output.splitlines()) == 2
    assert "no longer exists" in result.output


def test_history_scan(cli, days, home):
    (home / "history.sqlite3").unlink()
    assert "No sessions recorded yet" in cli("history").output
    result = cli("history", "--scan", days[0].parent)
    assert result.exit_code == 0 and "Indexed 3 session folder(s)" in result.output
    assert sum("Daily neck routine" in ln for ln in result.output.splitlines()) == 3


def test_progress_command(cli, days, tmp_path):
    out = tmp_path / "p.png"
    result = cli("progress", "--movement", "rotation", "--out", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000
    assert "Rotation left" in result.output and "3 session(s)" in result.output
    assert "Flexion" not in result.output
    everything = cli("progress")
    assert everything.exit_code == 0 and "Retraction" in everything.output
    nothing = cli("progress", "--movement", "side_bend")
    assert nothing.exit_code == 1 and "no recorded repetitions for side_bend" in nothing.output


def test_progress_without_history(cli):
    result = cli("progress")
    assert result.exit_code == 1 and "no recorded repetitions" in result.output


def test_export_csv(cli, days, tmp_path):
    out = tmp_path / "clinic" / "reps.csv"
    result = cli("export", "--csv", out)
    assert result.exit_code == 0 and "Exported 51 rep(s) from 3 session(s)" in result.output
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 51
    assert {r["session_id"] for r in rows} == {d.name for d in days}
    first = rows[0]
    assert first["date"].startswith("2026-03-01") and first["exercise_id"] == "rot"
    assert first["direction"] == "rotation_left" and float(first["peak"]) > 55
    assert first["unit"] == "deg" and float(first["target"]) == 60.0
    tucks = [r for r in rows if r["exercise_id"] == "tuck"]
    assert len(tucks) == 9 and {r["unit"] for r in tucks} == {"mm"}
    assert all(14 < float(r["peak"]) < 18 and r["direction"] == "retraction" for r in tucks)
    rights = [r for r in rows if r["direction"] == "rotation_right"]
    assert rights and all(float(r["peak"]) < 0 for r in rights)
    assert sum(r["warnings"] == "too_fast" for r in rows) == 6


def test_archive_zips_the_folder(cli, days, tmp_path):
    cli("report", days[0])
    out = tmp_path / "share.zip"
    result = cli("archive", days[0], "--out", out)
    assert result.exit_code == 0 and f"to {out}" in result.output
    names = set(zipfile.ZipFile(out).namelist())
    for f in ("session.json", "trace.csv", "reps.csv", "report.html"):
        assert f"{days[0].name}/{f}" in names
    default = cli("archive", days[1])
    assert default.exit_code == 0 and (days[1].parent / f"{days[1].name}.zip").exists()
    not_session = tmp_path / "plain"
    not_session.mkdir()
    bad = cli("archive", not_session)
    assert bad.exit_code == 2 and "not a NeckCoach session folder" in bad.output
