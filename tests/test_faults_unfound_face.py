"""A patient in front of the screen whom face mesh cannot find, end to end on the virtual patient
with real MediaPipe: the camera check says why, with what to do.

- Rendered population seed 400478: a bright window behind the patient, the laptop's camera well
  below the face. The picture itself says why: a tenth of it and more is blown out to white.
- Rendered population seed 400521: a patient 0.98 m from a camera well below the face, too far
  for face mesh's short-range detector; MediaPipe's full-range face detector finds that face, so
  the check asks the person to come closer, by how much measured from it.

In both the app had kept saying "I can't see you. Please sit in front of the screen." to someone
who was, and the session never started.
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("pyrender")
pytest.importorskip("mediapipe")

from neckcoach.core import events as ev  # noqa: E402
from neckcoach.core.quality import CHECK_MESSAGES, CameraCheck  # noqa: E402
from neckcoach.measure import Measurement  # noqa: E402
from neckcoach.sim.render import HeadRenderer  # noqa: E402
from neckcoach.sim.scene import SceneSpec  # noqa: E402

# The rooms of seeds 400478 and 400521 (their scenes, as the population benchmark drew them).
BACKLIT = SceneSpec(distance_m=0.963, camera_height_m=-0.436, camera_x_m=0.025, camera_pitch_deg=19.5,
                    camera_yaw_deg=-7.0, camera_roll_deg=0.24, hfov_deg=57.9, light_level=0.53,
                    key_azimuth_deg=-9.9, fill_ratio=0.72, window_behind=1.0, auto_exposure=True,
                    sensor_noise=1.84, skin_ita_deg=-33.1, background="room", wall_distance_m=1.32,
                    room_seed=1503954301)
FAR = SceneSpec(distance_m=0.984, camera_height_m=-0.332, camera_x_m=-0.064, camera_pitch_deg=16.4,
                camera_yaw_deg=-2.18, camera_roll_deg=-0.2, hfov_deg=55.7, light_level=1.0,
                key_azimuth_deg=-82.3, fill_ratio=0.29, window_behind=0.0, auto_exposure=True,
                sensor_noise=1.0, skin_ita_deg=-53.9, background="pictures", wall_distance_m=1.44,
                room_seed=126891714)
FPS = 10.0


def _check(scene: SceneSpec, seconds: float = 2.5):
    """The camera check's last status, the frames with a face, and each frame's far-face box."""
    renderer = HeadRenderer(seed=1, scene=scene)
    measurement = Measurement()
    check = CameraCheck()
    status, found, far = None, 0, []
    for i in range(int(seconds * FPS)):
        t = i / FPS
        kin = measurement.update(renderer.render(0.0, 0.0, 0.0, 0.0, t_s=t), t)
        found += kin.face_found
        far.append(kin.far_face_px)
        status = check.update(kin, t)
    return status, found, far


def test_a_window_behind_an_unfound_face_is_named_with_what_to_do():
    status, found, _ = _check(BACKLIT)
    assert found == 0  # the scene still defeats face mesh (else this test says nothing)
    assert status.problem == ev.TOO_BRIGHT
    assert status.message == CHECK_MESSAGES[ev.TOO_BRIGHT]
    assert "curtains" in status.message


def test_the_same_room_without_the_window_is_not_called_too_bright():
    status, _, _ = _check(BACKLIT.replace(window_behind=0.0))
    assert status.problem != ev.TOO_BRIGHT


def test_a_face_too_far_for_face_mesh_is_asked_closer_by_a_measured_step():
    status, found, far = _check(FAR)
    assert found == 0  # the scene still defeats face mesh (else this test says nothing)
    assert min(far) > 0
    assert status.problem == ev.TOO_FAR
    cm = int(re.search(r"about (\d+) cm closer", status.message).group(1))
    assert 20 <= cm <= 40  # from 0.98 m to where the face is 80-90 px wide: 30-40 cm nearer


def test_the_same_patient_sitting_nearer_is_found_and_not_asked_to_move():
    status, found, far = _check(FAR.replace(distance_m=0.6))
    assert found > 0 and max(far) == 0.0  # the full-range detector only runs without a face
    assert status.problem is None
