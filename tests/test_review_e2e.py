"""End to end with MediaPipe: `neckcoach review` on rendered virtual-patient recordings.

Two clips at 15 frames/s keep rendering short:
- a home recording of the headache programme (all four movements, one rep
  each, at twice the tempo) after a still start of only 1 s: every rep is
  counted on its side and every exercise starts where its movement starts;
- a patient following the live coach with one sudden flick: the review warns
  within 50 ms of when `neckcoach run` warns on the same video.
"""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from neckcoach.app.demo_clip import demo_routine, record_demo_clip
from neckcoach.cli.main import cli
from neckcoach.routine import load_routine
from neckcoach.sim.clip import write_clip
from tests.conftest import ROUTINES
from tests.review_support import counted_by_side, expected_by_side, home_script

pytestmark = pytest.mark.slow
FPS = 15.0

@pytest.fixture(scope="module")
def home(tmp_path_factory):
    base = tmp_path_factory.mktemp("home")
    routine = load_routine(ROUTINES / "headache_programme.yaml")
    script = home_script(routine, still_s=1.0, pace=2.0, seed=51, max_reps=1)
    write_clip(script, base / "clip", fps=FPS, seed=51)
    out = base / "session"
    result = CliRunner().invoke(cli, ["review", "headache_programme", str(base / "clip" / "clip.mp4"),
                                      "--out", str(out), "--no-report"], catch_exceptions=False)
    return script, json.loads((out / "session.json").read_text()), result


def test_home_recording_counted_exactly_by_side(home):
    script, session, result = home
    assert result.exit_code == 0, result.output
    expected = {k: dict(v) for k, v in expected_by_side(script).items()}
    assert {k: dict(v) for k, v in counted_by_side(session).items()} == expected
    assert session["calibration"]["start_t_s"] == 0.0 and session["calibration"]["accepted"]
    assert [w for w in session["warnings"] if w["kind"] in ("jerk", "too_fast", "out_of_range")] == []
    assert "You did 4 of 36 repetitions." in result.output


def test_home_recording_exercises_start_with_their_movement(home):
    script, session, _ = home
    starts = {}
    for e in script.events:
        if e.kind == "rep_start":
            starts.setdefault(e.detail["exercise"], e.t_s)
    for ex in session["exercises"][1:]:
        assert starts[ex["id"]] - 0.2 <= ex["start_t_s"] <= starts[ex["id"]] + 1.0, ex["id"]


def test_a_flick_is_warned_within_50_ms_of_the_live_coach(tmp_path):
    bundled = demo_routine(load_routine(ROUTINES / "rotation.yaml"), reps=2)
    routine_file = tmp_path / "rotation2.yaml"
    routine_file.write_text(yaml.safe_dump(bundled.model_dump(mode="json", exclude_none=True)))
    made = record_demo_clip(bundled, tmp_path / "clip", mistakes=("jerky",), seed=52, fps=FPS)  # closed loop
    video = str(tmp_path / "clip" / "clip.mp4")
    runner = CliRunner()
    live = runner.invoke(cli, ["run", str(routine_file), "--video", video, "--headless", "--no-voice",
                               "--out", str(tmp_path / "live"), "--no-report"], catch_exceptions=False)
    review = runner.invoke(cli, ["review", str(routine_file), video, "--out", str(tmp_path / "review"),
                                 "--no-report"], catch_exceptions=False)
    assert live.exit_code == 0 and review.exit_code == 0, (live.output, review.output)
    (flick,) = made["flicks"]

    def first_warning(folder):
        warnings = json.loads((tmp_path / folder / "session.json").read_text())["warnings"]
        times = [w["t_s"] for w in warnings if w["kind"] in ("jerk", "too_fast")
                 and flick["onset_s"] <= w["t_s"] <= flick["onset_s"] + 1.0]
        return min(times)

    assert abs(first_warning("review") - first_warning("live")) <= 0.05
