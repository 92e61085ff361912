"""End to end: `neckcoach run --video` on a virtual-patient clip with known truth, headless.

One clip keeps rendering time down: three alternating rotations, one of them
with an injected sudden flick. The patient in the clip was rendered closed
loop (it heard the app's cues while the clip was made, and acted on them
with its own reaction time), so nothing in it is paced by the coach's
internals. Reps are counted exactly, the flick is warned within 300 ms of
its onset, and nothing else raises a safety warning.
"""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from neckcoach.app.demo_clip import demo_routine, record_demo_clip
from neckcoach.cli.main import cli
from neckcoach.routine import load_routine
from neckcoach.sim.clip import read_truth
from tests.conftest import ROUTINES

pytestmark = pytest.mark.slow
REPS = 3


@pytest.fixture(scope="module")
def jerky_session(tmp_path_factory):
    base = tmp_path_factory.mktemp("e2e")
    bundled = demo_routine(load_routine(ROUTINES / "rotation.yaml"), reps=REPS)
    exercise = bundled.exercises[0].model_copy(update={"target_deg": 40.0, "hold_s": 1.0, "tempo_s": 5.0})
    routine = bundled.model_copy(update={"exercises": [exercise]})
    routine_file = base / "rotation3.yaml"
    routine_file.write_text(yaml.safe_dump(routine.model_dump(mode="json", exclude_none=True)))
    made = record_demo_clip(routine, base / "clip", mistakes=("jerky",), seed=3)
    out = base / "session"
    result = CliRunner().invoke(cli, ["run", str(routine_file), "--video", str(base / "clip" / "clip.mp4"),
                                      "--headless", "--no-voice", "--out", str(out), "--no-report"])
    assert result.exit_code == 0, result.output
    return json.loads((out / "session.json").read_text()), made, out, base / "clip", result.output


def test_every_rep_counted_on_the_right_side(jerky_session):
    session, _, _, _, output = jerky_session
    ex = session["exercises"][0]
    assert ex["reps_target"] == REPS
    assert ex["reps_completed"] == REPS, output
    assert [r["side"] for r in ex["reps"]] == ["left", "right", "left"]
    assert all(r["complete"] for r in ex["reps"])
    for rep in ex["reps"]:
        assert 36 <= abs(rep["peak_deg"]) <= 48, rep
    assert session["complete"] is True and session["ended_reason"] == "completed"


def test_injected_flick_warned_within_300_ms_and_nothing_else(jerky_session):
    session, made, _, _, _ = jerky_session
    (flick,) = made["flicks"]
    onset = flick["onset_s"]
    safety = [w for w in session["warnings"] if w["kind"] in ("jerk", "too_fast", "out_of_range")]
    assert safety, session["warnings"]
    latency_s = min(w["t_s"] for w in safety) - onset
    assert 0 <= latency_s <= 0.3, latency_s
    stray = [w for w in safety if not onset <= w["t_s"] <= onset + 1.0]
    assert stray == [], stray


def test_the_patient_acted_on_what_it_heard(jerky_session):
    """It began only after "go" and went back only after "and slowly back", with a human delay."""
    _, made, _, _, _ = jerky_session
    go = min(h["t_s"] for h in made["heard"] if h["kind"] == "go")
    first = min(r["start_t_s"] for r in made["reps"])
    assert 0.3 <= first - go <= 1.5
    releases = [h["t_s"] for h in made["heard"] if h["kind"] == "release"]
    for rep in made["reps"]:
        heard_before = [t for t in releases if t <= rep["back_start_t_s"]]
        assert heard_before and 0.3 <= rep["back_start_t_s"] - max(heard_before) <= 1.5, rep


def test_trace_lines_up_with_video_time(jerky_session):
    _, _, out, clip_dir, _ = jerky_session
    truth = read_truth(clip_dir / "truth.csv")
    times = [float(line.split(",")[0]) for line in (out / "trace.csv").read_text().splitlines()[1:]]
    # The session stops when the routine is complete, before the clip's last still seconds (the pause after an exercise).
    assert len(truth) - 8 * 30 < len(times) <= len(truth)
    assert max(abs(t - row.t_s) for t, row in zip(times, truth)) < 0.002
