"""`neckcoach review` and the end-of-session reason, as a user runs them: exact output, exit codes.

The videos are the short real clips in tests/data/clips (72 and 169 frames), so
MediaPipe runs on few frames. Native log lines are checked in a real
subprocess: they are written by C++ straight to descriptor 2.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from neckcoach.cli.main import cli
from tests.conftest import clip

FPS = re.compile(r"\d+\.\d frames/s processed")
NATIVE = ("INFO: Created TensorFlow Lite", "inference_feedback_manager.cc", "landmark_projection_calculator.cc",
          "absl::InitializeLog")


def _invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_help_documents_the_exit_codes():
    for name in ("review", "run", "demo"):
        out = _invoke(name, "-h").output
        assert ("Exit codes:\n"
                "    0  repetitions were counted\n"
                "    1  the routine has errors\n"
                "    2  the camera, video or session folder cannot be used (or a wrong option)\n"
                "    3  no neutral: you were never still and facing the screen long enough\n"
                "    4  a neutral was taken but no repetition was counted (the summary says why)") in out, name
    assert "With several videos, the highest code of any." in _invoke("review", "-h").output


def test_two_videos_each_get_a_record_a_summary_and_a_reason(tmp_path):
    still, gone = clip("single_face.mp4"), clip("face_noface.mov")
    result = _invoke("review", "rotation", str(still), str(gone), "--out", str(tmp_path), "--no-report")
    assert result.exit_code == 4
    assert FPS.sub("N frames/s processed", result.output) == (
        f"[1/2] {still}\n"
        "Neutral: the stillest, most frontal stretch: 0.7-2.3 s (head still within 0.5 deg)\n"
        "Session ended: recording ended (72 frames, N frames/s processed)\n"
        "  Head turns: 0 / 10 reps\n"
        "  warnings: none\n"
        "  picture problems: none\n"
        "I did not see a single head turn: your head stayed close to where it started.\n"
        f"Session record: {tmp_path / 'single_face'}\n"
        f"[2/2] {gone}\n"
        "Neutral: the stillest, most frontal stretch: 0.7-2.3 s (head still within 0.5 deg)\n"
        "Session ended: recording ended (169 frames, N frames/s processed)\n"
        "  Head turns: 0 / 10 reps\n"
        "  warnings: face_lost x1\n"
        "  picture problems: face lost 2.9-6.4 s\n"
        "I could not count any repetitions: for 3 of 6 s your face was out of view, "
        "and I only count what I can see.\n"
        f"Session record: {tmp_path / 'face_noface'}\n")
    session = json.loads((tmp_path / "face_noface" / "session.json").read_text())
    assert session["source"]["kind"] == "recording" and session["source"]["frames"] == 169
    assert session["calibration"]["accepted"] is True and session["calibration"]["how"] == "found"
    assert session["outcome"]["exit_code"] == 4 and session["outcome"]["code"] == "no_reps"
    (pause,) = session["pauses"]
    assert pause["reason"] == "face_lost" and pause["start_t_s"] == pytest.approx(2.9, abs=0.05)
    trace = (tmp_path / "face_noface" / "trace.csv").read_text().splitlines()
    assert len(trace) == 1 + 169
    assert (tmp_path / "face_noface" / "reps.csv").exists()


def test_the_report_is_written_by_the_worker(tmp_path):
    result = _invoke("review", "rotation", str(clip("single_face.mp4")), "--out", str(tmp_path / "s"))
    assert result.exit_code == 4, result.output
    assert result.output.endswith(f"Report: {tmp_path / 's' / 'report.html'}\n")
    assert "Head turns" in (tmp_path / "s" / "report.html").read_text()


@pytest.mark.parametrize("value, message", [("3", "expected START-END in seconds"),
                                            ("2-2.2", "END must be at least 0.5 s after START")])
def test_a_bad_neutral_window_is_refused(tmp_path, value, message):
    result = CliRunner().invoke(cli, ["review", "rotation", str(clip("single_face.mp4")), "--neutral", value])
    assert result.exit_code == 2 and message in result.output


def test_a_given_neutral_that_is_not_still_is_explained(tmp_path):
    result = _invoke("review", "rotation", str(clip("face_noface.mov")), "--neutral", "3-5", "--out",
                     str(tmp_path), "--no-report")
    assert result.exit_code == 3
    assert "Neutral: none found\n" in result.output
    assert ("I never saw you hold still facing the screen for 2 s, so I could not start counting. "
            "(I could not see your face clearly between 3 and 5 s.)\n") in result.output


def test_an_unwritable_folder_is_said_before_the_video_is_measured(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    result = CliRunner().invoke(cli, ["review", "rotation", str(clip("single_face.mp4")), "--out",
                                      str(blocked / "s"), "--no-report"])
    assert result.exit_code == 2
    assert "neckcoach: cannot write the session record: cannot create the session folder" in result.output
    assert "Session ended" not in result.output


def test_a_missing_video_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(cli, ["review", "rotation", str(tmp_path / "nope.mp4")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_run_on_a_video_without_a_neutral_says_why_and_exits_3(tmp_path):
    result = _invoke("run", "rotation", "--video", str(clip("single_face.mp4")), "--headless", "--no-voice",
                     "--out", str(tmp_path), "--no-report")
    assert result.exit_code == 3
    assert FPS.sub("N frames/s processed", result.output) == (
        "Session ended: source ended (72 frames, N frames/s processed)\n"
        "  warnings: none\n"
        "I never saw you hold still facing the screen for 2.5 s, so I could not start counting. "
        "(The session ended before I had seen you still for long enough.)\n"
        f"Session record: {tmp_path}\n"
        "To count a recording made without the coach, use: neckcoach review ROUTINE VIDEO\n"
        "  check-in before: neck pain, headache, stop symptoms not asked: no window to answer in\n"
        "  check-in after: neck pain, headache, stop symptoms not asked: no window to answer in\n"
        "  (give --pain-before N / --pain-after N to record neck pain in a run without a window)\n")
    outcome = json.loads((tmp_path / "session.json").read_text())["outcome"]
    assert outcome["code"] == "no_neutral" and outcome["exit_code"] == 3


@pytest.mark.parametrize("verbose", [False, True])
@pytest.mark.parametrize("command, code, said", [
    (["review", "rotation", "{video}", "--out", "{out}", "--no-report"], 4, "I did not see a single head turn"),
    (["analyze", "{video}", "--out", "{out}"], 0, "72 frames, detection 100%"),
])
def test_native_log_lines_only_with_verbose(tmp_path, verbose, command, code, said):
    args = [a.format(video=clip("single_face.mp4"), out=tmp_path) for a in command]
    cmd = [sys.executable, "-m", "neckcoach", *(["--verbose"] if verbose else []), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == code, proc.stderr
    shown = [marker for marker in NATIVE if marker in proc.stderr + proc.stdout]
    if verbose:
        assert "INFO: Created TensorFlow Lite" in proc.stderr
    else:
        assert shown == [] and proc.stderr == ""
    assert said in proc.stdout


def test_default_folders_are_named_after_routine_and_video(home):
    from neckcoach.cli.cmd_review import _session_dirs

    dirs = _session_dirs(("a/home.mp4", "b/home.mp4", "c/tue.mov"), None, "rotation")
    assert [d.parent for d in dirs] == [home / "sessions"] * 3
    names = [d.name.split("-", 2)[2] for d in dirs]  # after the date and time
    assert names == ["rotation-home", "rotation-home-2", "rotation-tue"]
    assert _session_dirs(("a/home.mp4", "b/home.mp4"), "out", "rotation") == [Path("out/home"), Path("out/home-2")]
    assert _session_dirs(("a/home.mp4",), "out", "rotation") == [Path("out")]
