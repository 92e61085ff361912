"""`neckcoach analyze` on real clips: documented outputs, calm while talking."""

import csv
import json

from click.testing import CliRunner

from neckcoach.cli.cmd_analyze import analyze_cmd
from tests.conftest import clip as _clip

REQUIRED = ["t_s", "face_found", "yaw_deg", "pitch_deg", "roll_deg", "retraction_mm",
            "yaw_speed_deg_s", "pitch_speed_deg_s", "roll_speed_deg_s", "confidence", "reliable",
            "torso_yaw_deg", "torso_roll_deg"]


def test_analyze_cli_writes_documented_columns(tmp_path):
    out = tmp_path / "res"
    result = CliRunner().invoke(analyze_cmd, [str(_clip("single_face.mp4")), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(open(out / "trace.csv")))
    assert set(REQUIRED) <= set(rows[0])
    t = [float(r["t_s"]) for r in rows]
    assert t[0] == 0.0 and all(b > a for a, b in zip(t, t[1:]))
    assert abs(t[-1] - 2.4) < 0.2  # the clip's duration, from timestamps
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == len(rows) and summary["detection_rate"] > 0.95
    for key in ("rotation_left_deg", "rotation_right_deg", "flexion_deg", "extension_deg",
                "side_bend_left_deg", "side_bend_right_deg", "retraction_mm"):
        assert key in summary["ranges"]
    assert summary["ranges_lower_bound"] == []  # nobody turned past what can be measured
    assert set(summary["reliable_rate_by_measure"]) == {"yaw", "pitch", "roll", "retraction"}
    for col in ("yaw_reliable", "pitch_reliable", "roll_reliable", "retraction_reliable",
                "yaw_lower_bound", "pitch_lower_bound"):
        assert {r[col] for r in rows} <= {"0", "1"}, col
    lines = result.output.splitlines()
    assert lines[1].startswith("ranges from trusted values only: rotation left ")
    assert lines[-1] == f"wrote {out}/trace.csv and {out}/summary.json"
    # a nearly still face: every angle within 3 deg of the neutral
    assert max(abs(float(r[c])) for r in rows for c in ("yaw_deg", "pitch_deg", "roll_deg")) < 3.0


def test_analyze_cli_rejects_bad_window(tmp_path):
    result = CliRunner().invoke(analyze_cmd, [str(_clip("single_face.mp4")), "--out",
                                              str(tmp_path), "--neutral-from", "3:1"])
    assert result.exit_code != 0 and "START" in result.output


def test_talking_without_exercising_stays_near_neutral():
    """cap13_edit2.mp4, first 18 s: talking, no exercise (measured max |angle| ~5 deg)."""
    from neckcoach.analyze import analyze_frames, read_video

    frames = ((t, rgb) for t, rgb in read_video(_clip("cap13_edit2.mp4")) if t < 18.0)
    res = analyze_frames(frames, neutral_s=2.0)
    assert res.calibration_ok, res.calibration_reason
    kins = [k for k in res.kinematics if k.face_found]
    assert len(kins) > 0.95 * len(res.kinematics)
    for axis in ("yaw", "pitch", "roll"):
        assert max(abs(k.value(axis)) for k in kins) < 8.0, axis
