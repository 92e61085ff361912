"""Clip writer and frame source: frames line up with truth, seeds reproduce."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

pytest.importorskip("pyrender")
cv2 = pytest.importorskip("cv2")

from click.testing import CliRunner  # noqa: E402

from neckcoach.cli.cmd_simulate import preview, simulate  # noqa: E402
from neckcoach.sim.clip import TRUTH_COLUMNS, VirtualPatientSource, read_truth, write_clip  # noqa: E402
from neckcoach.sim.motion import ScriptBuilder  # noqa: E402

SMALL = {"width": 320, "height": 240}


def _script(seed=0):
    b = ScriptBuilder()
    b.event("rep_start", "yaw", "left").move("yaw", 30.0, 0.6).event("at_target", "yaw", "left")
    b.hold(0.2).move("pitch", 10.0, 0.3, profile="linear")
    return b.build(seed=seed, sway_deg=0.2)


def test_clip_frames_match_truth_rows(tmp_path):
    script = _script()
    summary = write_clip(script, tmp_path, fps=10, seed=1, **SMALL)
    rows = read_truth(tmp_path / "truth.csv")
    cap = cv2.VideoCapture(str(tmp_path / "clip.mp4"))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    assert len(frames) == len(rows) == summary["frames"] == int(script.duration_s * 10) + 1
    assert frames[0].shape == (240, 320, 3)
    assert np.allclose(np.diff([r.t_s for r in rows]), 0.1)
    assert rows[0].t_s == 0.0
    for r in rows:
        assert (r.yaw_deg, r.pitch_deg, r.roll_deg, r.retraction_mm) == pytest.approx(script.pose_at(r.t_s), abs=1e-4)
    assert rows[0].events == ("rep_start:left",)
    assert sum("at_target:left" in r.events for r in rows) == 1
    with open(tmp_path / "truth.csv") as fh:
        assert tuple(next(csv.reader(fh))) == TRUTH_COLUMNS
    meta = json.loads((tmp_path / "events.json").read_text())
    assert [e["kind"] for e in meta["events"]] == ["rep_start", "at_target"]
    assert meta["fps"] == 10 and "R_y(yaw)" in meta["rotation_order"]


def test_same_seed_same_frames_and_truth():
    def run(seed):
        src = VirtualPatientSource(_script(seed), fps=5, seed=seed, drop_prob=0.3, render={"noise": 4.0}, **SMALL)
        return [(t, f, tr) for t, f, tr in src]

    a, b, c = run(3), run(3), run(4)
    assert [x[2] for x in a] == [x[2] for x in b]
    assert all(np.array_equal(x[1], y[1]) for x, y in zip(a, b))
    assert [x[2] for x in a] != [x[2] for x in c]


def test_dropped_frames_leave_timestamp_gaps_and_keep_events():
    script = _script()
    src = VirtualPatientSource(script, fps=20, seed=2, drop_prob=0.4, **SMALL)
    truths = list(src.truths())
    t = np.array([x.t_s for x in truths])
    steps = np.round(np.diff(t) * 20).astype(int)
    assert steps.min() == 1 and steps.max() >= 2
    assert len(truths) < src.frame_count
    labels = [lbl for x in truths for lbl in x.events]
    assert labels.count("rep_start:left") == 1 and labels.count("at_target:left") == 1


def test_read_protocol_gives_bgr_frames_with_truth():
    script = _script()
    rgb = [f for _t, f, _tr in VirtualPatientSource(script, fps=2, seed=1, **SMALL)]
    with VirtualPatientSource(script, fps=2, seed=1, bgr=True, **SMALL) as src:
        items = []
        while (item := src.read()) is not None:
            items.append((item, src.last_truth))
    assert len(items) == len(rgb)
    for ((t, bgr), truth), ref in zip(items, rgb):
        assert truth.t_s == t
        assert np.array_equal(bgr[:, :, ::-1], ref)


def test_source_validation():
    with pytest.raises(ValueError, match="fps"):
        VirtualPatientSource(_script(), fps=0.5, **SMALL)
    with pytest.raises(ValueError, match="drop_prob"):
        VirtualPatientSource(_script(), fps=10, drop_prob=1.0, **SMALL)


def test_cli_simulate_writes_clip_and_truth(tmp_path):
    out = tmp_path / "sim"
    result = CliRunner().invoke(simulate, ["rotation", "--out", str(out), "--fps", "2", "--max-reps", "1",
                                           "--mistakes", "short", "--seed", "4"])
    assert result.exit_code == 0, result.output
    rows = read_truth(out / "truth.csv")
    assert f"wrote {len(rows)} frames" in result.output
    assert "mistakes: short" in result.output
    assert result.output.splitlines()[-1] == f"count it with: neckcoach review rotation {out / 'clip.mp4'}"
    events = json.loads((out / "events.json").read_text())["events"]
    make_up_t = next(e["t_s"] for e in events if e["kind"] == "rep_start" and e.get("make_up"))
    # The one rep stops short of the 50 deg target; the patient then makes it up in full.
    assert max(abs(r.yaw_deg) for r in rows if r.t_s < make_up_t) < 0.65 * 50
    assert max(abs(r.yaw_deg) for r in rows if r.t_s >= make_up_t) > 0.95 * 50
    assert (out / "clip.mp4").stat().st_size > 1000


def test_cli_rejects_unknown_mistake_and_missing_display(tmp_path, monkeypatch):
    bad = CliRunner().invoke(simulate, ["rotation", "--out", str(tmp_path), "--mistakes", "sneeze"])
    assert bad.exit_code != 0 and "sneeze" in bad.output
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    nodisp = CliRunner().invoke(preview, ["rotation", "--max-reps", "1"])
    assert nodisp.exit_code != 0 and "no display" in nodisp.output
