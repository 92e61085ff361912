"""A laptop camera raised and angled at the face again after the neutral was taken, rendered
through the whole measurement: the readings move with the camera, and the room behind the
patient says so (`io.room_watch`, `core.view_move`)."""

import numpy as np
import pytest

from neckcoach.core.samples import AXES

pytest.importorskip("pyrender")

pytestmark = pytest.mark.slow

FPS = 15.0


def _session(move_at_s: float | None, seconds: float = 8.0):
    """A patient still at neutral (breathing sway) in front of a camera 38 cm below the eyes,
    aimed below the face; at `move_at_s` they raise it a few books' height and angle it at
    their face (`RoomActor`, one second). Returns [(t, kin)] and the actor."""
    from neckcoach.measure import Measurement
    from neckcoach.sim.render import HeadRenderer
    from neckcoach.sim.room_actor import RoomActor
    from neckcoach.sim.scene import SceneSpec

    scene = SceneSpec(distance_m=0.8, camera_height_m=-0.38, camera_pitch_deg=8.0, background="bookshelf",
                      wall_distance_m=1.6, sensor_noise=2.0, room_seed=11)
    actor = RoomActor(scene, lambda spec: HeadRenderer(seed=3, scene=spec), reaction_s=0.0,
                      rng=np.random.default_rng(4))
    measurement = Measurement()
    out = []
    for i in range(int(seconds * FPS)):
        t = i / FPS
        if move_at_s is not None and abs(t - move_at_s) < 0.5 / FPS:
            actor.hear(t, "raise it nearer to eye level")
        sway = 0.4 * np.sin(2 * np.pi * 0.25 * t)
        out.append((t, measurement.update(actor.render((0.0, sway, 0.0, 0.0), t), t)))
    measurement.detector.close()
    return out, actor


def test_the_camera_raised_after_the_neutral_is_told_once_it_rests_and_not_without_a_move():
    moved, actor = _session(move_at_s=4.0)
    assert [c for _, c in actor.moves] == ["raise"]
    calibrated = [t for t, k in moved if k.extra.get("calibrated")]
    assert calibrated and calibrated[0] < 4.0  # the neutral was taken before the move
    before = np.median([k.pitch_deg for t, k in moved if 3.0 <= t < 4.0])
    after = np.median([k.pitch_deg for t, k in moved if t >= 6.0])
    assert abs(after - before) > 2.0  # every reading is off by the camera's turn
    told = [(t, k.extra["camera_moved_deg"]) for t, k in moved if "camera_moved_deg" in k.extra]
    assert len(told) == 1
    t, deg = told[0]
    assert 4.9 <= t <= 5.8 and deg >= 2.0
    # While the camera moves its readings are the camera's turn: nothing is trusted.
    during = [k for t, k in moved if 4.3 <= t <= 4.8]
    assert during and all(k.extra["camera_moving"] and not k.reliable for k in during)
    assert not any(k.is_reliable(a) or k.is_lower_bound(a) for k in during for a in AXES)

    still, _ = _session(move_at_s=None)
    assert not any("camera_moved_deg" in k.extra for _, k in still)
    assert not any(k.extra["camera_moving"] for _, k in still)
