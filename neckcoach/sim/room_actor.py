"""What the virtual patient does about the room when the app asks: sit closer, move back, move
to the middle, tilt the screen, raise or lower the camera, turn on a light, close the curtains.

A real patient moves when told, after their reaction time, and a move takes
time: shifting a chair, leaning in or tilting a laptop lid takes about a
second, during which the camera sees the head slide, not jump. (Rendered
as a jump, face mesh's tracking was left on a wrong region for seconds,
population seed 400349: a difficulty no real patient creates.) A light
switched on or curtains drawn do change at once.
"""

from __future__ import annotations

import re

import numpy as np

# Moving a chair or a laptop lid: about a second (a seated person's reach and shift).
MOVE_S = 1.0
# "A little closer" with no distance given: about a hand's width.
DEFAULT_STEP_M = 0.15
# How well a person judges a distance they are told ("about 25 cm"): within about
# a third either way (distance estimation in peripersonal space).
STEP_ERROR = 0.3
# After tilting the screen until they see their face in the middle, the camera
# points within this of their eyes (what a person judges "in the middle").
TILT_ERROR_DEG = 4.0
# "Raise it nearer to eye level (a laptop on a few books)": a few books, about 10 cm,
# judged like a distance (STEP_ERROR); never past the eyes. The screen is then angled
# at the face again, as after a tilt.
BOOKS_M = 0.10
# The scene's numbers a move changes gradually.
GLIDING = ("distance_m", "camera_x_m", "camera_yaw_deg", "camera_pitch_deg", "camera_height_m")

_ASKS = (("closer", "closer"), ("move back", "back"), ("middle", "middle"), ("tilt the screen", "tilt"),
         ("raise it", "raise"), ("lower it", "lower"), ("too dark", "light"), ("curtains", "curtains"))
_CM = re.compile(r"about (\d+) cm")


class RoomActor:
    """Does what the patient is asked about the room, each request at most `max_moves` times in
    all (a person gives up fiddling with the room eventually); the scene is re-rendered from its
    new state (`make_renderer(SceneSpec)`) on every frame of a move."""

    def __init__(self, scene, make_renderer, reaction_s: float, max_moves: int = 4,
                 rng: np.random.Generator | None = None) -> None:
        self.scene = scene
        self.make_renderer = make_renderer
        self.renderer = make_renderer(scene)
        self.reaction_s = float(reaction_s)
        self.max_moves = int(max_moves)
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.moves: list[tuple[float, str]] = []
        self._pending: list[tuple[float, str, float | None]] = []
        self._glide: tuple[float, object, object] | None = None  # (start, from scene, to scene)

    def hear(self, t_s: float, text: str) -> None:
        words = text.lower()
        for key, change in _ASKS:
            if key in words:
                said = _CM.search(words)
                self._pending.append((t_s + self.reaction_s, change,
                                      int(said.group(1)) / 100.0 if said else None))

    def render(self, pose, t_s: float) -> np.ndarray:
        due = [(c, m) for when, c, m in self._pending if when <= t_s]
        self._pending = [p for p in self._pending if p[0] > t_s]
        if due and len(self.moves) < self.max_moves:
            change, metres = due[-1]
            target = self.moved(self._glide[2] if self._glide else self.scene, change, metres)
            self.moves.append((t_s, change))
            if change in ("light", "curtains"):
                self._set(target)
                self._glide = None
            else:
                self._glide = (t_s, self.scene, target)
        if self._glide is not None:
            start, before, after = self._glide
            a = min(max((t_s - start) / MOVE_S, 0.0), 1.0)
            a = a * a * (3 - 2 * a)  # eases in and out, as a body moves
            self._set(after if a >= 1.0 else before.replace(
                **{k: getattr(before, k) + a * (getattr(after, k) - getattr(before, k)) for k in GLIDING}))
            if a >= 1.0:
                self._glide = None
        return self.renderer.render(*map(float, pose), t_s=t_s)

    def _set(self, scene) -> None:
        if scene != self.scene:
            self.scene = scene
            renderer = self.make_renderer(scene)
            if hasattr(renderer, "hang_room_as"):  # the same room, seen from the moved camera
                renderer.hang_room_as(self.renderer)
            self.renderer = renderer

    def moved(self, scene, change: str, metres: float | None = None):
        """The scene after the patient did what it was asked (told how far, or a hand's width)."""
        if change in ("closer", "back"):
            step = (metres * (1.0 + self.rng.uniform(-STEP_ERROR, STEP_ERROR)) if metres is not None
                    else DEFAULT_STEP_M)
            d = scene.distance_m - step if change == "closer" else scene.distance_m + step
            return scene.replace(distance_m=float(np.clip(d, 0.45, 1.0)))
        if change == "middle":
            return scene.replace(camera_x_m=0.0, camera_yaw_deg=0.0)
        if change in ("raise", "lower"):
            step = BOOKS_M * (1.0 + self.rng.uniform(-STEP_ERROR, STEP_ERROR))
            h = scene.camera_height_m
            scene = scene.replace(camera_height_m=float(min(h + step, -0.02) if change == "raise"
                                                        else max(h - step, 0.02)))
            change = "tilt"
        if change == "tilt":
            elevation = scene.camera_elevation_deg
            return scene.replace(camera_pitch_deg=float(np.clip(
                elevation + self.rng.uniform(-TILT_ERROR_DEG, TILT_ERROR_DEG), -30.0, 40.0)))
        if change == "light":
            return scene.replace(light_level=max(scene.light_level, 0.8))
        return scene.replace(window_behind=0.3 * scene.window_behind)


__all__ = ["MOVE_S", "RoomActor"]
