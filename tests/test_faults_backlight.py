"""A window behind the patient, end to end on the virtual patient with real MediaPipe.

Rendered population seed 400478: a patient seated in front of the screen, a bright window
behind them, the laptop's camera well below the face. Face mesh found no face for the whole
session, and the app kept saying "I can't see you. Please sit in front of the screen." to
someone who was. The picture itself says why: a tenth of it and more is blown out to white.
"""

from __future__ import annotations

import pytest

pytest.importorskip("pyrender")
pytest.importorskip("mediapipe")

from neckcoach.core import events as ev  # noqa: E402
from neckcoach.core.quality import CHECK_MESSAGES, CameraCheck  # noqa: E402
from neckcoach.measure import Measurement  # noqa: E402
from neckcoach.sim.render import HeadRenderer  # noqa: E402
from neckcoach.sim.scene import SceneSpec  # noqa: E402

# The room of seed 400478 (its scene, as the population benchmark drew it).
BACKLIT = SceneSpec(distance_m=0.963, camera_height_m=-0.436, camera_x_m=0.025, camera_pitch_deg=19.5,
                    camera_yaw_deg=-7.0, camera_roll_deg=0.24, hfov_deg=57.9, light_level=0.53,
                    key_azimuth_deg=-9.9, fill_ratio=0.72, window_behind=1.0, auto_exposure=True,
                    sensor_noise=1.84, skin_ita_deg=-33.1, background="room", wall_distance_m=1.32,
                    room_seed=1503954301)
FPS = 10.0


def _check(scene: SceneSpec, seconds: float = 2.5):
    renderer = HeadRenderer(seed=1, scene=scene)
    measurement = Measurement()
    check = CameraCheck()
    status, found = None, 0
    for i in range(int(seconds * FPS)):
        t = i / FPS
        kin = measurement.update(renderer.render(0.0, 0.0, 0.0, 0.0, t_s=t), t)
        found += kin.face_found
        status = check.update(kin, t)
    return status, found


def test_a_window_behind_an_unfound_face_is_named_with_what_to_do():
    status, found = _check(BACKLIT)
    assert found == 0  # the scene still defeats face mesh (else this test says nothing)
    assert status.problem == ev.TOO_BRIGHT
    assert status.message == CHECK_MESSAGES[ev.TOO_BRIGHT]
    assert "curtains" in status.message


def test_the_same_room_without_the_window_is_not_called_too_bright():
    status, _ = _check(BACKLIT.replace(window_behind=0.0))
    assert status.problem != ev.TOO_BRIGHT
