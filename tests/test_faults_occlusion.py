"""A hand over part of the face (the virtual patient's `occlusion` knob), through the real Measurement.

Measured (15 fps, head turned 20 deg): up to a quarter of the face covered the
angles stay within a degree of the uncovered reading; at 35-45 % face mesh
still returns a confident but wrong mesh (yaw read 10-25 deg too far, not
flagged); from about 55 % the face is lost, and the coach pauses. The test
pins the two ends; the middle is a known limit reported in tests/README.md.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pyrender")
pytestmark = pytest.mark.slow

FPS = 15.0


@pytest.fixture(scope="module")
def readings():
    from neckcoach.measure import Measurement
    from neckcoach.sim.render import HeadRenderer

    renderer = HeadRenderer(seed=5)
    m = Measurement()
    t = 0.0
    for _ in range(45):  # 3 s of neutral: calibration
        kin = m.update(renderer.render(0, 0, 0, noise=2.0), t)
        t += 1 / FPS
    assert kin.extra["calibrated"]
    out = {}
    for amount in (0.0, 0.25, 0.6, 0.0):
        got = []
        for _ in range(8):
            got.append(m.update(renderer.render(20, 0, 0, noise=2.0, occlusion=amount), t))
            t += 1 / FPS
        out.setdefault(amount, []).append(got[-4:])
    return out


def test_a_quarter_of_the_face_covered_changes_the_angles_by_under_two_degrees(readings):
    clear = np.mean([k.yaw_deg for k in readings[0.0][0]])
    covered = [k for k in readings[0.25][0]]
    assert all(k.face_found and k.reliable for k in covered)
    assert abs(np.mean([k.yaw_deg for k in covered]) - clear) < 2.0


def test_most_of_the_face_covered_is_a_lost_face_and_the_coach_pauses(readings):
    from neckcoach.core import events as ev
    from neckcoach.core.quality import PictureQuality

    covered = readings[0.6][0]
    assert not any(k.face_found for k in covered)
    assert {PictureQuality().assess(k, framing=False) for k in covered} == {ev.FACE_LOST}


def test_the_angles_come_back_when_the_hand_goes(readings):
    before, after = readings[0.0]
    assert all(k.face_found and k.reliable for k in after)
    assert abs(np.mean([k.yaw_deg for k in after]) - np.mean([k.yaw_deg for k in before])) < 2.0
