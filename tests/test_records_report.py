"""HTML reports render from recorded sessions, including interrupted and damaged ones."""

from __future__ import annotations

import base64
import json
import re
import shutil
import signal
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from neckcoach.io.records import SessionData, load_session
from neckcoach.report import build_report, patient_summary

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import test_records_synth as synth  # noqa: E402


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("NECKCOACH_HOME", str(tmp_path / "home"))


@pytest.fixture(scope="module")
def session_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp("rec")
    return synth.record(base / "s", fps=20.0, index=False)


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


def _embedded_pngs(text: str) -> dict[str, bytes]:
    return {alt: base64.b64decode(b64) for alt, b64 in
            re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)">', text)}


def _ink_fraction(png: bytes) -> float:
    import io
    import matplotlib.image as mpimg
    img = mpimg.imread(io.BytesIO(png))
    return float((img[..., :3].mean(axis=2) < 0.9).mean())


def test_report_embeds_three_figures_and_writes_pngs(session_dir, tmp_path):
    out = build_report(session_dir, tmp_path / "r" / "report.html")
    text = out.read_text()
    pngs = _embedded_pngs(text)
    assert set(pngs) == {"angle over time", "range per direction", "speed and smoothness per rep"}
    for name, png in pngs.items():
        w, h = _png_size(png)
        assert w >= 800 and h >= 300, name
        assert _ink_fraction(png) > 0.01, f"{name} looks blank"
    for suffix in ("angles", "range", "reps"):
        beside = tmp_path / "r" / f"report_{suffix}.png"
        assert beside.read_bytes() in pngs.values()
    assert "http://" not in text and "https://" not in text  # self-contained
    assert text.count("<tr class=") == 17  # one row per rep


def test_patient_summary_speaks_plainly(session_dir):
    lines = patient_summary(load_session(session_dir))
    text = "\n".join(lines)
    assert "Neck rotation: you did 9 of 10 rotations (4 to the left, 5 to the right)." in lines
    assert "Chin tuck: you did 3 of 3 chin tucks." in lines
    assert "Three warnings: two for moving too quickly, one for a jerky movement" in text
    best_left = max(r["peak_deg"] for r in synth.plan(0)[0]
                    if r["exercise_id"] == "rot" and r["side"] == "left")
    assert f"Your best rotation left was {best_left:.0f}°" in text
    assert "typical adult range (70–80°)" in text


def test_patient_summary_says_why_an_exercise_was_not_counted(tmp_path):
    session = {"complete": True, "warnings": [], "exercises": [
        {"id": "tuck", "name": "Chin tuck", "movement": "retraction", "reps_target": 3, "reps_completed": 0,
         "reps": [], "note": "the picture was too grainy to tell when your head was still"}]}
    lines = patient_summary(SessionData(tmp_path, session, {}))
    assert lines[0] == ("Chin tuck: you did 0 of 3 chin tucks. Counting could not start: "
                        "the picture was too grainy to tell when your head was still.")


@pytest.mark.parametrize("moves, said", [
    ([], None),
    ([{"t_s": 41.5, "moved_deg": 13.5}], "The camera was moved once; your starting position was taken "
     "again from where it then stood, so every number is measured from your own neutral."),
    ([{"t_s": 41.5, "moved_deg": 13.5}, {"t_s": 90.0, "moved_deg": 3.1}], "The camera was moved two times; "
     "each time your starting position was taken again from where it then stood, so every number is "
     "measured from your own neutral."),
])
def test_patient_summary_says_the_camera_moved_and_what_was_done(tmp_path, moves, said):
    session = {"complete": True, "warnings": [], "exercises": [], "calibration": {"accepted": True, "camera_moves": moves}}
    lines = patient_summary(SessionData(tmp_path, session, {}))
    camera = [line for line in lines if "camera" in line]
    assert camera == ([said] if said else [])


def test_report_on_interrupted_session_with_truncated_trace(tmp_path):
    out = synth.record(tmp_path / "s", fps=20.0, stop_at_s=20.0, close=False, index=False)
    with open(out / "trace.csv", "a") as fh:
        fh.write("20.05,1,33.2,0.1")  # half-written last line, no newline
    data = load_session(out)
    assert not data.complete
    assert data.trace["t_s"][-1] == pytest.approx(20.0, abs=0.06)
    assert any("incomplete line" in n for n in data.notes)
    text = build_report(out).read_text()
    assert "stopped early" in text and "stopped before the end" in text
    assert len(_embedded_pngs(text)) == 3


def test_report_without_session_json_or_reps(tmp_path):
    out = synth.record(tmp_path / "s", fps=10.0, stop_at_s=3.0, index=False)
    (out / "session.json").unlink()
    text = build_report(out).read_text()
    assert "session.json is missing" in text
    assert "No repetitions were recorded." in text
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "session.json").write_text(json.dumps({"complete": True, "exercises": []}))
    text = build_report(empty).read_text()
    assert "No warnings" in text and len(_embedded_pngs(text)) == 3


def test_report_survives_sigkill_mid_session(tmp_path):
    """A recorder killed with SIGKILL leaves a parseable record that loses <= ~1 s."""
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, str(HERE / "test_records_synth.py"), str(out), "0.3"],
                            stdout=subprocess.PIPE, text=True,
                            env={**__import__("os").environ, "PYTHONPATH": str(HERE.parent)})
    last_t = 0.0
    try:
        for line in proc.stdout:
            if line.startswith("t="):
                last_t = float(line[2:])
            if last_t >= 12.0:
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL and last_t >= 12.0
    session = json.loads((out / "session.json").read_text())
    assert session["complete"] is False and session["ended_reason"] is None
    data = load_session(out)
    assert data.trace["t_s"][-1] >= last_t - 1.0 - 1 / 30
    plan_reps = synth.plan(0)[0]
    saved = len(data.reps)
    assert saved >= sum(1 for r in plan_reps if r["end_t_s"] <= last_t - 1.0 - 1 / 30)
    assert saved <= sum(1 for r in plan_reps if r["end_t_s"] <= data.trace["t_s"][-1] + 1.0)
    text = build_report(out).read_text()
    assert "stopped before the end" in text and len(_embedded_pngs(text)) == 3


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")
def test_report_renders_in_headless_chromium(session_dir, tmp_path):
    page = build_report(session_dir, tmp_path / "report.html")
    shot = tmp_path / "shot.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                    f"--screenshot={shot}", "--window-size=1200,2000", page.as_uri()],
                   capture_output=True, timeout=90, check=False)
    assert _png_size(shot.read_bytes()) == (1200, 2000)
    assert _ink_fraction(shot.read_bytes()) > 0.05


def test_damaged_session_json_falls_back_to_reps_csv(session_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(session_dir, copy)
    (copy / "session.json").write_text('{"complete": tru')
    data = load_session(copy)
    assert any("could not be read" in n for n in data.notes)
    by_ex = {}
    for rep in data.reps:
        by_ex.setdefault(rep["exercise_id"], []).append(rep)
    assert [len(by_ex[k]) for k in ("rot", "nod", "tuck")] == [10, 4, 3]
    assert by_ex["tuck"][0]["unit"] == "mm" and by_ex["tuck"][0]["peak_mm"] > 14
    assert by_ex["rot"][1]["peak_deg"] < 0 and by_ex["rot"][8]["complete"] is False
    text = build_report(copy).read_text()
    assert text.count("<tr class=") == 17 and "9 of 10" not in text  # targets are unknown
    assert "you did 9 rotations (4 to the left, 5 to the right)" in text


@pytest.mark.parametrize("session", [
    {"exercises": "oops", "warnings": [1, None, {"t_s": "x", "kind": None}], "pauses": {}},
    {"exercises": [None, {"id": 3, "movement": "twirl", "reps": [{"side": 5, "peak_deg": "big"},
                                                                  "junk"]}],
     "warnings": [{"t_s": 1.0, "kind": "too_fast", "exercise_id": 3, "rep": "1"}]},
    {"exercises": [{"id": "r", "movement": "rotation", "reps_target": "ten",
                    "reps": [{"side": "left", "complete": True, "peak_deg": float("nan"),
                              "start_t_s": 5.0, "end_t_s": 1.0, "warnings": "many"}]}]},
])
def test_malformed_session_json_still_reports(tmp_path, session):
    folder = tmp_path / "odd"
    folder.mkdir()
    (folder / "session.json").write_text(json.dumps(session))
    (folder / "trace.csv").write_text("t_s,yaw_deg\n0,1\n0.1,2\nnot,numbers\n")
    text = build_report(folder).read_text()
    assert len(_embedded_pngs(text)) == 3 and "stopped early" in text


@pytest.mark.parametrize("reasons, why", [
    (["short_of_target"] * 4, "without reaching the target."),
    (["unmeasured"] * 3 + ["short_of_target"], "that the camera could not see reach the target."),
    (["unmeasured"] * 2 + ["hold_short"] * 2, "without reaching the target."),
])
def test_the_summary_says_a_set_ended_on_its_tries(tmp_path, reasons, why):
    """coach.TRIES_PER_REP: the therapist reads why the set ended with reps uncounted, and whether
    the camera saw the tries fall short (reps.mostly_unmeasured)."""
    from neckcoach.io.records import SessionData

    session = {"exercises": [{"id": "rot", "name": "Head turns", "movement": "rotation", "reps_target": 2,
                              "reps_completed": 0, "sets_stopped": 1,
                              "reps": [{"side": "left", "complete": False, "reason": r} for r in reasons]}],
               "warnings": [], "pauses": [], "complete": True}
    lines = patient_summary(SessionData(tmp_path, session, {}))
    assert lines[0] == "Head turns: you did 0 of 2 rotations. The set ended after two tries for each repetition " + why


def test_a_movement_past_the_measurable_range_reads_past_range_not_a_number(tmp_path):
    """A turn's way out read past what the camera measures has no shape (`reps._rep_metrics`): the
    table says so, and the legend says what it means; a shape too faint to measure stays "–"."""
    from neckcoach.report.html import _rep_table

    rep = {"side": "left", "complete": True, "peak_deg": 48.5, "peak_abs_deg": 48.5, "peak_lower_bound": True,
           "sparc_out": None, "sparc_back": -1.41, "ldlj_out": None, "ldlj_back": -4.8,
           "velocity_peaks_out": None, "velocity_peaks_back": 1, "smoothness_withheld_out": "beyond",
           "smoothness_withheld_back": None}
    faint = dict(rep, smoothness_withheld_out="noise")
    session = {"exercises": [{"id": "rot", "name": "Head turns", "movement": "rotation", "reps": [rep, faint]}],
               "warnings": [], "pauses": [], "complete": True}
    cells = re.findall(r"<td>([^<]*)</td>", _rep_table(SessionData(tmp_path, session, {})))
    assert "past range / -1.41" in cells
    assert "past range / -4.8" in cells and "past range / 1" in cells
    assert "– / -1.41" in cells and "– / 1" in cells
    (tmp_path / "session.json").write_text(json.dumps(session))
    assert '"past range": part of the movement was beyond what the camera' in build_report(tmp_path).read_text()


@pytest.mark.parametrize("withheld, cell", [("beyond", "past range"), ("noise", "–")])
def test_the_range_table_says_why_a_direction_has_no_smoothness(tmp_path, withheld, cell):
    """The demo's patient turns 50 deg, past the 42 deg the camera measures, every rep: the range
    table's median SPARC read "–", which its legend gives as too faint to measure."""
    from neckcoach.io.history import summarize
    from neckcoach.report.html import _range_table

    rep = {"side": "left", "complete": True, "peak_deg": 48.5, "peak_lower_bound": True,
           "sparc": None, "sparc_out": None, "sparc_back": None,
           "smoothness_withheld_out": withheld, "smoothness_withheld_back": withheld}
    measured = dict(rep, side="right", sparc=-1.5, sparc_out=-1.5, sparc_back=-1.4,
                    smoothness_withheld_out=None, smoothness_withheld_back=None)
    session = {"exercises": [{"id": "rot", "name": "Head turns", "movement": "rotation",
                              "reps": [rep, rep, measured]}], "warnings": [], "pauses": [], "complete": True}
    rows = re.findall(r"<tr><td class=l>([^<]*)</td>(.*?)</tr>", _range_table(summarize(session)))
    cells = {name: re.findall(r"<td>([^<]*)</td>", rest) for name, rest in rows}
    assert cells["Rotation left"][-2:] == ["2", cell]
    assert cells["Rotation right"][-2:] == ["1", "-1.50"]


def test_a_session_with_chin_tucks_says_what_its_millimetres_are_worth(tmp_path):
    """A tuck's depth is read from the face's apparent size: its scale follows the lens and where
    the camera sits (0.65-1.6x on the rendered sessions), so the report says so beside the ranges;
    a session without chin tucks has no such note."""
    from neckcoach.report.html import depth_note

    tuck = {"id": "tuck", "name": "Chin tucks", "movement": "retraction", "reps": []}
    turn = {"id": "rot", "name": "Head turns", "movement": "rotation", "reps": []}
    session = {"exercises": [turn, tuck], "warnings": [], "pauses": [], "complete": True,
               "source": {"kind": "video", "fps": 30.0, "hfov_deg": 60.0}}
    note = depth_note(session)
    assert note == ("Chin tucks in millimetres: read from how much larger your face looks as it moves back, "
                    "with the camera taken as 60° across (--hfov-deg). Depending on the camera's lens and where "
                    "it sees your face from, a tuck can read about 0.65 to 1.6 times its real depth. Compare "
                    "tucks between sessions made with the same camera and seat; the millimetres are not a ruler's.")
    assert "field of view unknown" in depth_note(dict(session, source={"kind": "camera"}))
    assert depth_note(dict(session, exercises=[turn])) is None
    (tmp_path / "session.json").write_text(json.dumps(session))
    assert "the millimetres are not a ruler&#x27;s." in build_report(tmp_path).read_text()
    (tmp_path / "session.json").write_text(json.dumps(dict(session, exercises=[turn])))
    assert "Chin tucks in millimetres" not in build_report(tmp_path).read_text()
