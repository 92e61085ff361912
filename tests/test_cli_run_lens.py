"""`neckcoach run --hfov-deg`: the camera's field of view reaches the estimator and the record.

Chin-tuck depth is read from the face's apparent size, so it scales with the focal length
(benchmarks/README.md, "The chin tuck's scale"); a clinic that knows its camera sets it here."""

from __future__ import annotations

import math

import pytest
from click.testing import CliRunner

import neckcoach.cli.cmd_run as cmd_run
import neckcoach.io.sources as sources
from neckcoach.cli.main import cli


class StillVideo:
    """Stands in for a video file: no frames are read, the session is stubbed out."""

    def __init__(self, path):
        self.fps = 30.0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.fixture
def seen(monkeypatch):
    calls = []

    def run_session(routine_path, routine, frames, info, *, measurement, **options):
        calls.append((info, measurement))

    monkeypatch.setattr(sources, "VideoFileSource", StillVideo)
    monkeypatch.setattr(cmd_run, "run_session", run_session)
    return calls


@pytest.mark.parametrize("args, hfov", [([], 60.0), (["--hfov-deg", "78"], 78.0)])
def test_the_lens_reaches_the_estimator_and_the_record(seen, args, hfov):
    result = CliRunner().invoke(cli, ["run", "retraction", "--video", "clip.mp4", "--headless", "--no-voice",
                                      *args])
    assert result.exit_code == 0, result.output
    ((info, measurement),) = seen
    assert info["hfov_deg"] == hfov
    assert measurement.estimator.camera((640, 480)).focal_px == pytest.approx(320.0 / math.tan(math.radians(hfov / 2)))


def test_a_lens_out_of_range_is_refused(seen):
    result = CliRunner().invoke(cli, ["run", "retraction", "--video", "clip.mp4", "--hfov-deg", "10"])
    assert result.exit_code == 2 and seen == []
    assert "Invalid value for '--hfov-deg': 10.0 is not in the range 30.0<=x<=120.0." in result.output
