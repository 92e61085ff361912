"""CLI for symptoms: `diary`, check-in flags of `run`, symptoms in `progress`, `history` and `export`."""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from neckcoach.cli.main import cli
from neckcoach.core.outcome import EXIT_NO_NEUTRAL
from neckcoach.io import history
from tests import symptoms_synth as synth


@pytest.fixture(autouse=True)
def _home(home):
    return home


def run(*args, input=None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


@pytest.mark.parametrize("args", [["diary"], ["diary", "add"], ["diary", "list"], ["diary", "remove"]])
def test_diary_help_has_examples(args):
    for flag in ("-h", "--help"):
        result = run(*args, flag)
        assert result.exit_code == 0 and "Example" in result.output
        assert f"neckcoach {' '.join(args)}" in result.output


def test_run_help_lists_the_check_in_flags():
    result = run("run", "-h")
    assert result.exit_code == 0
    for flag in ("--pain-before N", "--pain-after N", "--headache-before / --no-headache-before",
                 "--headache-after / --no-headache-after", "--no-checkin"):
        assert flag in result.output
    assert "--pain-before 3 --no-headache-before --pain-after 2" in result.output
    assert "press S if you feel unwell" in result.output


def test_diary_add_list_remove_exact_output(home):
    assert run("diary", "list").output == (f"No diary entries yet (database: {home / 'history.sqlite3'}). "
                                           "Add one with `neckcoach diary add`.\n")
    result = run("diary", "add", "--date", "2026-03-02", "--headaches", "2", "--worst", "6", "--hours", "3.5",
                 "--medication", "--note", "after a long drive")
    assert (result.exit_code, result.output) == (0, "Diary 2026-03-02: 2 headaches, worst 6/10, 3.5 h, "
                                                    "medication taken.\n")
    result = run("diary", "add", "--date", "2026-03-03", "--headaches", "0")
    assert (result.exit_code, result.output) == (0, "Diary 2026-03-03: no headache, no medication.\n")
    result = run("diary", "add", "--date", "2026-03-02", "--headaches", "1", "--worst", "4")
    assert (result.exit_code, result.output) == (0, "Diary 2026-03-02: 1 headache, worst 4/10, hours not given, "
                                                    "medication not given (replaced the earlier entry).\n")
    assert run("diary", "list").output == (
        "date        headaches  worst  hours  medication  note\n"
        "2026-03-02          1      4      -  -\n"
        "2026-03-03          0      -      -  no\n"
        "2 day(s) logged, 1 with headache.\n")
    result = run("diary", "remove", "2026-03-03")
    assert (result.exit_code, result.output) == (0, "Removed the diary entry for 2026-03-03.\n")
    result = run("diary", "remove", "2026-03-03")
    assert (result.exit_code, result.output) == (1, "Error: there is no diary entry for 2026-03-03\n")


@pytest.mark.parametrize("args, message", [
    (["--headaches", "2"], "Error: give --worst (1-10) for a day with headaches"),
    (["--headaches", "0", "--worst", "3"], "Error: --worst and --hours are for days with headaches; this day has "
                                           "--headaches 0"),
    (["--headaches", "30"], "Error: Invalid value for '--headaches': 30 is not in the range 0<=x<=24."),
    (["--headaches", "1", "--worst", "0"], "Error: Invalid value for '--worst': 0 is not in the range 1<=x<=10."),
    (["--headaches", "1", "--worst", "5", "--hours", "25"],
     "Error: Invalid value for '--hours': 25.0 is not in the range 0<=x<=24."),
    (["--date", "2026-02-30", "--headaches", "0"],
     "Error: Invalid value for '--date': give a date as YYYY-MM-DD, today or yesterday (got '2026-02-30')"),
    (["--date", "2999-01-01", "--headaches", "0"], "Error: Invalid value for '--date': 2999-01-01 is in the future"),
])
def test_diary_add_refuses_what_does_not_fit(args, message):
    result = run("diary", "add", *args)
    assert result.exit_code == 2 and result.output.splitlines()[-1] == message
    assert history.list_diary()[0] == []


def test_diary_form_asks_each_question_in_turn():
    result = run("diary", "add", "--date", "2026-03-04", input="2\n7\n1.5\ny\n")
    assert result.exit_code == 0, result.output
    assert result.output == ("Headaches on 2026-03-04: 2\nWorst intensity (1-10): 7\nTotal hours: 1.5\n"
                             "Medication taken for headache? [y/N]: y\n"
                             "Diary 2026-03-04: 2 headaches, worst 7/10, 1.5 h, medication taken.\n")
    result = run("diary", "add", "--date", "yesterday", input="0\n\n")
    yesterday = date.today() - timedelta(days=1)
    assert result.output.splitlines()[-1] == f"Diary {yesterday.isoformat()}: no headache, no medication."


def test_diary_round_trips_through_export(tmp_path):
    days = [("2026-03-02", ["--headaches", "2", "--worst", "6", "--hours", "3.5", "--medication", "--note",
                            "stress, long day"]),
            ("2026-03-03", ["--headaches", "0"]),
            ("2026-03-04", ["--headaches", "1", "--worst", "3", "--no-medication"])]
    for day, args in days:
        assert run("diary", "add", "--date", day, *args).exit_code == 0
    result = run("export", "--csv", tmp_path / "out" / "clinic.csv")
    assert result.exit_code == 0
    assert result.output == (f"Exported 0 rep(s) from 0 session(s) to {tmp_path / 'out' / 'clinic.csv'}\n"
                             f"Exported 0 check-in(s) to {tmp_path / 'out' / 'clinic_checkins.csv'}\n"
                             f"Exported 3 diary day(s) to {tmp_path / 'out' / 'clinic_diary.csv'}\n")
    with open(tmp_path / "out" / "clinic_diary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [{k: v for k, v in r.items() if k != "entered_at"} for r in rows] == [
        {"date": "2026-03-02", "headaches": "2", "worst_0_10": "6", "hours": "3.5", "medication": "1",
         "note": "stress, long day"},
        {"date": "2026-03-03", "headaches": "0", "worst_0_10": "", "hours": "", "medication": "0", "note": ""},
        {"date": "2026-03-04", "headaches": "1", "worst_0_10": "3", "hours": "", "medication": "0", "note": ""}]
    assert all(datetime.fromisoformat(r["entered_at"]) for r in rows)
    back = [history.DiaryEntry(day=date.fromisoformat(r["date"]), headaches=int(r["headaches"]),
                               worst=int(r["worst_0_10"]) if r["worst_0_10"] else None,
                               hours=float(r["hours"]) if r["hours"] else None,
                               medication=r["medication"] == "1", note=r["note"], entered_at=r["entered_at"])
            for r in rows]
    assert back == history.list_diary()[0]


def test_export_writes_every_check_in_with_its_stop_rule_answers(tmp_path):
    one = synth.write_session(tmp_path / "a", datetime(2026, 3, 2, 9), complete=True, pain_before=4, pain_after=3,
                              rotation_left=55)
    synth.write_session(tmp_path / "b", datetime(2026, 3, 3, 9), complete=False, pain_before=5, pain_after=None,
                        rotation_left=55, stop="dizziness")
    result = run("export", "--csv", tmp_path / "x.csv")
    assert result.exit_code == 0 and "Exported 4 check-in(s)" in result.output
    with open(tmp_path / "x_checkins.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[:13] == ["session_id", "session_date", "routine", "seq", "phase", "at", "status",
                                  "source", "duration_s", "pain_0_10", "headache", "baseline_pain_0_10",
                                  "stop_rule"]
    assert [(r["session_id"], r["phase"], r["pain_0_10"], r["stop_rule"], r["stop_dizziness"],
             r["stop_arm_tingling"], r["stop_pain_rise"]) for r in rows] == [
        (one.name, "before", "4", "", "0", "0", ""), (one.name, "after", "3", "", "0", "0", ""),
        ("b", "before", "5", "", "0", "0", ""), ("b", "during", "", "dizziness", "1", "0", "")]


@pytest.fixture
def eight_weeks(tmp_path):
    synth.generate(tmp_path / "sessions")
    return tmp_path / "sessions"


def test_progress_prints_the_symptom_trends(eight_weeks, tmp_path):
    result = run("progress", "--out", tmp_path / "p.png")
    assert result.exit_code == 0
    assert result.output == (
        "Rotation left            83 session(s), first 50, latest 64, best 64\n"
        "Rotation right           83 session(s), first 46, latest 60, best 60\n"
        "Headache days per week   8 week(s), first 5 of 7 logged, latest 1 of 7 logged\n"
        "Worst headache (0-10)    first 7.0, latest 3.0 (weekly mean)\n"
        "Neck pain before (0-10)  first 6.0, latest 3.0 (weekly mean)\n"
        "Neck pain after (0-10)   first 5.0, latest 2.0 (weekly mean)\n"
        "Sessions per week        latest 13 complete of 14 planned (93%)\n"
        "Stop rules answered yes  dizziness (week of 02 Feb)\n"
        f"Progress plot written: {tmp_path / 'p.png'}\n")
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_progress_with_only_a_diary(tmp_path):
    assert run("progress").exit_code == 1
    run("diary", "add", "--date", "2026-03-02", "--headaches", "1", "--worst", "5")
    result = run("progress", "--out", tmp_path / "p.png")
    assert result.exit_code == 0
    assert result.output.splitlines()[:2] == [
        "Headache days per week   1 week(s), first 1 of 1 logged, latest 1 of 1 logged",
        "Worst headache (0-10)    first 5.0, latest 5.0 (weekly mean)"]
    assert run("progress", "--movement", "rotation").exit_code == 1  # a movement asked for needs its reps


def test_history_shows_pain_and_stops(eight_weeks):
    lines = run("history").output.splitlines()
    assert lines[0].split() == ["date", "routine", "reps", "warn", "status", "pain", "folder"]
    assert lines[1].split()[-2:] == ["6->5", str(eight_weeks / "w0s00")]
    stopped = [ln for ln in lines if "STOP RULE" in ln]
    assert len(stopped) == 1 and "4->-" in stopped[0]


def _black_clip(path, seconds=2.0):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (160, 120))
    for _ in range(int(seconds * 30)):
        writer.write(np.zeros((120, 160, 3), np.uint8))
    writer.release()
    return path


def test_run_headless_records_the_flags_and_a_pain_rise_stop(tmp_path):
    clip = _black_clip(tmp_path / "black.mp4")
    out = tmp_path / "s"
    result = CliRunner().invoke(cli, [
        "run", "rotation", "--video", str(clip), "--headless", "--no-voice", "--out", str(out), "--no-report",
        "--pain-before", "2", "--no-headache-before", "--pain-after", "5", "--headache-after"])
    assert result.exit_code == EXIT_NO_NEUTRAL, result.output  # a black video: nobody to calibrate on
    assert result.stdout.splitlines()[-3:] == [
        "  check-in before: neck pain 2/10; no headache; stop symptoms not asked: no window to answer in",
        "  check-in after: neck pain 5/10; headache; stop: pain_rise",
        "STOP RULE (pain_rise): Your neck pain went up from 2 to 5. Stop the exercises for today and contact "
        "your therapist before your next session."]
    rows, _ = history.list_checkins()
    assert [(r.phase, r.pain, r.headache, r.stop_rule) for r in rows] == [("before", 2, False, None),
                                                                          ("after", 5, True, "pain_rise")]
    plain = CliRunner().invoke(cli, [
        "run", "rotation", "--video", str(clip), "--headless", "--no-voice", "--out", str(tmp_path / "t"),
        "--no-report"])
    assert plain.exit_code == EXIT_NO_NEUTRAL and plain.stdout.splitlines()[-3:] == [
        "  check-in before: neck pain, headache, stop symptoms not asked: no window to answer in",
        "  check-in after: neck pain, headache, stop symptoms not asked: no window to answer in",
        "  (give --pain-before N / --pain-after N to record neck pain in a run without a window)"]
    bad = run("run", "rotation", "--video", clip, "--headless", "--pain-before", "11")
    assert bad.exit_code == 2 and "Invalid value for '--pain-before': 11 is not in the range 0<=x<=10." in bad.output
