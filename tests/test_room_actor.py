"""The virtual patient's answers to requests about the room (`neckcoach.sim.room_actor`)."""

from __future__ import annotations

import numpy as np
import pytest

from neckcoach.core import events as ev
from neckcoach.core.quality import CHECK_MESSAGES, TILT_BACK_MESSAGE
from neckcoach.sim.room_actor import MOVE_S, RoomActor
from neckcoach.sim.scene import SceneSpec


class Renderer:
    """Stands in for `HeadRenderer`: remembers the scene it was built for."""

    def __init__(self, scene) -> None:
        self.scene = scene

    def render(self, *pose, t_s: float) -> np.ndarray:
        return np.zeros((2, 2, 3), np.uint8)


def run(actor: RoomActor, until_s: float, fps: float = 30.0) -> list[tuple[float, SceneSpec]]:
    seen = []
    for t in np.arange(0.0, until_s, 1.0 / fps):
        actor.render((0.0, 0.0, 0.0, 0.0), float(t))
        seen.append((float(t), actor.scene))
    return seen


def test_told_how_far_the_patient_slides_about_that_far_over_a_second():
    actor = RoomActor(SceneSpec(distance_m=0.95), Renderer, reaction_s=1.0, rng=np.random.default_rng(3))
    actor.hear(0.5, "Please come about 30 cm closer.")
    seen = run(actor, 4.0)
    distances = [s.distance_m for _, s in seen]
    assert all(d == 0.95 for t, d in zip((t for t, _ in seen), distances) if t < 1.5)
    moving = [d for t, d in zip((t for t, _ in seen), distances) if 1.5 < t < 1.5 + MOVE_S - 0.05]
    assert len(moving) >= 25 and all(a >= b for a, b in zip(moving, moving[1:]))
    assert all(abs(a - b) < 0.03 for a, b in zip(distances, distances[1:]))  # no jump between frames
    assert 0.95 - 0.30 * 1.3 <= distances[-1] <= 0.95 - 0.30 * 0.7
    assert actor.moves == [(pytest.approx(1.5, abs=0.04), "closer")]


def test_without_a_distance_the_step_is_a_hands_width():
    actor = RoomActor(SceneSpec(distance_m=0.9), Renderer, reaction_s=0.5)
    actor.hear(0.0, CHECK_MESSAGES[ev.TOO_FAR])
    assert run(actor, 3.0)[-1][1].distance_m == pytest.approx(0.75)


def test_tilting_the_screen_points_the_camera_at_the_eyes():
    scene = SceneSpec(distance_m=0.5, camera_height_m=-0.35, camera_pitch_deg=12.0)
    actor = RoomActor(scene, Renderer, reaction_s=0.5, rng=np.random.default_rng(1))
    actor.hear(0.0, TILT_BACK_MESSAGE)
    after = run(actor, 3.0)[-1][1]
    assert abs(after.camera_pitch_deg - scene.camera_elevation_deg) <= 4.0
    assert after.camera_pitch_deg > scene.camera_pitch_deg + 10


def test_a_light_goes_on_at_once_and_requests_stop_after_max_moves():
    actor = RoomActor(SceneSpec(light_level=0.2), Renderer, reaction_s=0.5, max_moves=1)
    actor.hear(0.0, CHECK_MESSAGES[ev.POOR_LIGHT])
    actor.hear(1.0, CHECK_MESSAGES[ev.TOO_FAR])
    seen = dict(run(actor, 3.0))
    first_lit = min(t for t, s in seen.items() if s.light_level == 0.8)
    assert first_lit == pytest.approx(0.5, abs=0.04)
    assert [c for _, c in actor.moves] == ["light"]
    assert seen[max(seen)].distance_m == SceneSpec().distance_m


def test_told_to_raise_the_camera_the_patient_puts_it_on_books_and_angles_it_at_the_face():
    """What calibration says to a still head seen from well below (rendered seed 400460)."""
    scene = SceneSpec(distance_m=0.9, camera_height_m=-0.45, camera_pitch_deg=18.0)
    actor = RoomActor(scene, Renderer, reaction_s=0.5, rng=np.random.default_rng(2))
    actor.hear(0.0, "not facing the camera: nod (pitch) is -40.0 deg (max 30); look straight at the screen; "
                    "if you are, the camera is well below your eyes: raise it nearer to eye level (a laptop on a "
                    "few books)")
    seen = run(actor, 3.0)
    heights = [s.camera_height_m for _, s in seen]
    assert all(abs(a - b) < 0.02 for a, b in zip(heights, heights[1:]))  # slid, not jumped
    after = seen[-1][1]
    assert -0.45 + 0.07 <= after.camera_height_m <= -0.45 + 0.13
    assert abs(after.camera_pitch_deg - after.camera_elevation_deg) <= 4.0
    assert [c for _, c in actor.moves] == ["raise"]


def test_told_the_routines_extension_cannot_be_seen_the_patient_raises_the_camera():
    """The calibration's advice when a camera below the eyes cannot see the routine's extension
    (`calibration.VIEW_ASKS`): a few books under the laptop, the screen angled at the face again."""
    from neckcoach.core.calibration import NeutralCalibrator
    from neckcoach.core.samples import HeadPose

    cal = NeutralCalibrator(duration_s=0.5)
    cal.require_extension(30.0, 40.0)
    result = next(r for r in (cal.update(HeadPose(t_s=i / 30, face_found=True, pitch_deg=-18.0,
                                                   position_mm=(0.0, 0.0, 600.0), reliable=True))
                              for i in range(30)) if r is not None)
    scene = SceneSpec(distance_m=0.9, camera_height_m=-0.3, camera_pitch_deg=15.0)
    actor = RoomActor(scene, Renderer, reaction_s=0.5, rng=np.random.default_rng(2))
    actor.hear(0.0, result.reason)
    after = run(actor, 3.0)[-1][1]
    assert [c for _, c in actor.moves] == ["raise"]
    assert 0.07 <= after.camera_height_m - scene.camera_height_m <= 0.13
    assert abs(after.camera_pitch_deg - after.camera_elevation_deg) <= 4.0


class HangingRenderer(Renderer):
    """Also remembers whose room it was told to hang its pictures as."""

    def __init__(self, scene) -> None:
        super().__init__(scene)
        self.hung_as = None

    def hang_room_as(self, other) -> None:
        self.hung_as = other


def test_a_moved_camera_sees_the_same_room_not_one_hung_around_its_new_view():
    actor = RoomActor(SceneSpec(camera_height_m=-0.3), HangingRenderer, reaction_s=0.2, rng=np.random.default_rng(1))
    first = actor.renderer
    actor.hear(0.0, "raise it nearer to eye level")
    chain = [first]
    for t in np.arange(0.0, 2.0, 1.0 / 30):
        actor.render((0.0, 0.0, 0.0, 0.0), float(t))
        if actor.renderer is not chain[-1]:
            chain.append(actor.renderer)
    assert len(chain) > 10  # re-rendered on every frame of the move
    assert all(r.hung_as is prev for prev, r in zip(chain, chain[1:]))
