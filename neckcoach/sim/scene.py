"""Where the virtual patient sits: camera, light, skin, room and who walks by.

Why: a coach tuned on one camera, one face and one plain room is wrong in
other homes. A `SceneSpec` names everything about a scene that is not the
patient's head movement; `HeadRenderer(scene=...)` renders it and
`SceneSpec.random(rng)` draws plausible home scenes. Pure data: no rendering
here (see `render.py` and `room.py`).

Coordinates are the renderer's world frame (metres): origin at the patient's
neck pivot, x to the patient's LEFT (the image's right for a camera in front),
y up, z towards the camera. The trunk is upright and still in this frame, so
the head angles the renderer is given are angles relative to the trunk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import numpy as np

from neckcoach.core.checks import check_range

BACKGROUNDS = ("room", "plain", "bookshelf", "pictures", "living")
"""room: the original wall (a door, one short shelf, one abstract picture);
plain: a bare painted wall; bookshelf: a tall bookcase behind the patient;
pictures: framed pictures, posters and photos; living: bookcase, pictures and
a television together."""

SKIN_ITA_RANGE_DEG = (-55.0, 60.0)
"""Individual typology angle of skin, ITA = atan((L* - 50) / b*): > 55 very
light, 41..55 light, 28..41 intermediate, 10..28 tan, -30..10 brown, < -30
dark (Chardon et al. 1991; Del Bino et al. 2013 measured about -55..+65 on
thousands of people). The scan itself is about +52 (light)."""
HEAD_WIDTH_M = 0.167
"""The scan's width at eye level, ears included (the face detector frames the whole head)."""
MIN_HEAD_FRACTION = 0.14
"""The narrowest head, as a share of the frame's width, that MediaPipe's face detector finds."""
EYES_BEHIND_NOSE_M = 0.03
"""The eyes' depth behind the nose tip (adult head, ~2-3 cm): camera aiming."""


@dataclass(frozen=True)
class Passerby:
    """A second real person walking across the room behind the patient.

    A second instance of the head scan on a torso. It walks along x at
    `speed_m_s` and passes x = 0 (straight behind the patient's neck) at
    `cross_s`; `direction` +1 walks towards the image's right. Indoor walking
    is 0.6-1.4 m/s (comfortable gait ~1.2 m/s, slower in a room).
    `behind_m` is its depth behind the patient's neck pivot; `head_height_m`
    the height of its eyes above the patient's (a standing adult behind a
    seated one: +0.3..+0.6 m); `face_yaw_deg` how far its face is turned from
    the camera (0 = it looks at the camera, 90 = profile); a small vertical
    bob at step frequency (~1.8 Hz, ~2 cm) makes it move like a walker.
    """

    cross_s: float
    speed_m_s: float = 1.0
    direction: int = 1
    behind_m: float = 0.6
    head_height_m: float = 0.4
    face_yaw_deg: float = 20.0
    skin_ita_deg: float = 30.0
    bob_m: float = 0.02

    def __post_init__(self) -> None:
        check_range("cross_s", self.cross_s, -1e6, 1e6)
        check_range("speed_m_s", self.speed_m_s, 0.1, 3.0)
        if self.direction not in (-1, 1):
            raise ValueError(f"direction must be -1 or 1, got {self.direction!r}")
        check_range("behind_m", self.behind_m, 0.15, 4.0)
        check_range("head_height_m", self.head_height_m, -0.5, 1.0)
        check_range("face_yaw_deg", self.face_yaw_deg, -90.0, 90.0)
        check_range("skin_ita_deg", self.skin_ita_deg, *SKIN_ITA_RANGE_DEG)
        check_range("bob_m", self.bob_m, 0.0, 0.1)

    def x_at(self, t_s: float) -> float:
        """Sideways position (world x, metres) of the walker at t_s."""
        return self.direction * self.speed_m_s * (float(t_s) - self.cross_s)

    def y_at(self, t_s: float) -> float:
        """Height offset of the walker's head above its mean height (the gait's bob)."""
        return self.bob_m * math.sin(2 * math.pi * 1.8 * (float(t_s) - self.cross_s))


@dataclass(frozen=True)
class SceneSpec:
    """Everything about a rendered scene except the patient's head pose.

    The default reproduces the renderer's original scene: a level camera 2 cm
    above eye level, 0.6 m in front of the nose, 60 deg wide, the original
    room and lights, the scan's own skin.

    Camera (a laptop webcam):
    - distance_m: camera to the nose tip along the room's depth (z).
    - camera_height_m: camera above the patient's eye level (negative =
      below; a laptop's camera is 0.05-0.35 m below a seated person's eyes).
    - camera_x_m: camera to the patient's left (+) or right (-): the patient
      sits off-centre.
    - camera_pitch_deg: optical axis tilted up (+) from level; a laptop lid
      leant back points 10-20 deg up.
    - camera_yaw_deg: optical axis turned towards the patient's left (+).
    - camera_roll_deg: image rotated anticlockwise (+) as seen by the camera.
    - hfov_deg: horizontal field of view (laptop webcams 55-80 deg).
    Light (intensities relative to the original scene):
    - light_level: all room light together (0.2 = a dim evening room).
    - key_azimuth_deg: where the main light comes from, around the patient
      from the camera's side (0) to the patient's left (+90) or right (-90);
      about +-70 and beyond is side light from a lamp or a side window.
    - fill_ratio: the soft fill and ambient light relative to the original
      (low = hard shadows on the far side of the face).
    - window_behind: 0 = none; up to 1 = a bright daylight window in the
      wall behind the patient (up to 4x a white wall's brightness), which
      also rims the head with light from behind.
    - auto_exposure: the webcam sets its gain once from the whole frame's
      mean (average metering, as most webcams do), so a window behind darkens
      the face and a dim room comes out brighter but noisier; gain limits
      0.35-4 (a webcam's analogue plus digital gain range).
    - sensor_noise: the camera's read noise, grey levels at gain 1; it is
      multiplied by the gain.
    Person and room:
    - skin_ita_deg: the patient's skin tone as an ITA angle (see
      SKIN_ITA_RANGE_DEG), or None for the scan's own (~+52).
    - background: one of BACKGROUNDS; wall_distance_m: the back wall's
      distance behind the neck pivot.
    - face_decoys: how many face-like pictures hang in the room or stand on
      its shelves (rendered photos of other heads, a poster, a television
      showing a face, a drawn face): things MediaPipe may take for faces.
    - passerby: a second real person walking behind (None: nobody).
    - room_seed: lays out the room; None takes the renderer's seed.
    """

    distance_m: float = 0.6
    camera_height_m: float = 0.02
    camera_x_m: float = 0.0
    camera_pitch_deg: float = 0.0
    camera_yaw_deg: float = 0.0
    camera_roll_deg: float = 0.0
    hfov_deg: float = 60.0
    light_level: float = 1.0
    key_azimuth_deg: float = math.degrees(math.atan2(0.4, 1.2))
    fill_ratio: float = 1.0
    window_behind: float = 0.0
    auto_exposure: bool = False
    sensor_noise: float = 0.0
    skin_ita_deg: float | None = None
    background: str = "room"
    wall_distance_m: float = 1.2
    face_decoys: int = 0
    passerby: Passerby | None = None
    room_seed: int | None = None

    def __post_init__(self) -> None:
        check_range("distance_m", self.distance_m, 0.25, 3.0)
        check_range("camera_height_m", self.camera_height_m, -0.6, 0.4)
        check_range("camera_x_m", self.camera_x_m, -0.5, 0.5)
        check_range("camera_pitch_deg", self.camera_pitch_deg, -30.0, 40.0)
        check_range("camera_yaw_deg", self.camera_yaw_deg, -30.0, 30.0)
        check_range("camera_roll_deg", self.camera_roll_deg, -20.0, 20.0)
        check_range("hfov_deg", self.hfov_deg, 20.0, 120.0)
        check_range("light_level", self.light_level, 0.05, 3.0)
        check_range("key_azimuth_deg", self.key_azimuth_deg, -100.0, 100.0)
        check_range("fill_ratio", self.fill_ratio, 0.0, 2.0)
        check_range("window_behind", self.window_behind, 0.0, 1.0)
        if not isinstance(self.auto_exposure, bool):
            raise ValueError(f"auto_exposure must be True or False, got {self.auto_exposure!r}")
        check_range("sensor_noise", self.sensor_noise, 0.0, 30.0)
        if self.skin_ita_deg is not None:
            check_range("skin_ita_deg", self.skin_ita_deg, *SKIN_ITA_RANGE_DEG)
        if self.background not in BACKGROUNDS:
            raise ValueError(f"background must be one of {BACKGROUNDS}, got {self.background!r}")
        check_range("wall_distance_m", self.wall_distance_m, 0.5, 5.0)
        if isinstance(self.face_decoys, bool) or not isinstance(self.face_decoys, int) \
                or not 0 <= self.face_decoys <= 6:
            raise ValueError(f"face_decoys must be an integer in [0, 6], got {self.face_decoys!r}")
        if self.passerby is not None:
            if not isinstance(self.passerby, Passerby):
                raise ValueError(f"passerby must be a Passerby or None, got {self.passerby!r}")
            if self.passerby.behind_m > self.wall_distance_m - 0.1:
                raise ValueError(f"passerby.behind_m must be at least 0.1 m in front of the wall "
                                 f"(wall_distance_m {self.wall_distance_m:g}), got {self.passerby.behind_m!r}")
        if self.room_seed is not None and (isinstance(self.room_seed, bool) or not isinstance(self.room_seed, int)):
            raise ValueError(f"room_seed must be an integer or None, got {self.room_seed!r}")

    def replace(self, **changes) -> "SceneSpec":
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    @property
    def camera_elevation_deg(self) -> float:
        """Angle of the patient's eyes above (+) or below the camera, seen from the camera."""
        return math.degrees(math.atan2(-self.camera_height_m, self.distance_m + EYES_BEHIND_NOSE_M))

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        if self.passerby is not None:
            out["passerby"] = {f.name: getattr(self.passerby, f.name) for f in fields(self.passerby)}
        return out

    @classmethod
    def random(cls, rng: np.random.Generator, *, duration_s: float = 60.0,
               passerby_prob: float = 0.3) -> "SceneSpec":
        """A plausible home scene in front of a laptop.

        Camera: 0.45-1.0 m away, 10-20 deg pitched up, placed so the eyes
        are within 8 deg of the optical axis vertically (the patient sees
        themself on the screen and sits so), the patient sitting up to
        0.12 m off the camera's line and the lid turned up to 6 deg off them;
        hfov 55-78 deg, but no wider than leaves the head 14 % of the
        frame's width (MIN_HEAD_FRACTION: a patient MediaPipe cannot find is
        asked to come closer, and such a session tests nothing else).
        Light: one of normal (front), dim, backlit (a window behind) or
        side light. Skin: ITA uniform over SKIN_ITA_RANGE_DEG.
        Room: any background, 0-3 face decoys, and with `passerby_prob` a
        person walking by at a random time within `duration_s`.
        """
        check_range("duration_s", duration_s, 1.0, 1e5)
        check_range("passerby_prob", passerby_prob, 0.0, 1.0)
        u = rng.uniform
        distance = u(0.45, 1.0)
        # MediaPipe's face detector sees a 128 px square of the whole frame and
        # misses a head narrower than ~14 % of the frame's width (measured on
        # this renderer: found at 85 px of 640, not at 84 px from below), so a
        # far patient gets a narrower lens, as a person would sit closer to a
        # wide one: head width / (2 (distance + 0.1 m) tan(hfov / 2)) >= 0.14.
        widest = 2 * math.degrees(math.atan(HEAD_WIDTH_M / (2 * MIN_HEAD_FRACTION * (distance + 0.1))))
        hfov = u(55.0, max(55.0, min(78.0, widest)))
        pitch = u(10.0, 20.0)
        elevation = pitch + u(-8.0, 8.0)  # where the eyes are, seen from the camera
        height = -(distance + EYES_BEHIND_NOSE_M) * math.tan(math.radians(elevation))
        height = float(np.clip(height, -0.55, -0.03))
        camera_x = u(-0.12, 0.12)
        # The lid faces the patient give or take 6 deg.
        yaw_to_patient = math.degrees(math.atan2(-camera_x, distance + EYES_BEHIND_NOSE_M))
        yaw = yaw_to_patient + u(-6.0, 6.0)
        light = rng.choice(["normal", "dim", "backlit", "side"], p=[0.35, 0.25, 0.2, 0.2])
        level, azimuth, fill, window, noise = 1.0, u(-35.0, 35.0), u(0.7, 1.2), 0.0, u(1.0, 3.0)
        if light == "dim":
            level, fill = u(0.15, 0.45), u(0.5, 1.0)
        elif light == "backlit":
            window, level = u(0.5, 1.0), u(0.35, 0.8)  # the room lit mostly by the window itself
        elif light == "side":
            azimuth, fill = float(rng.choice([-1.0, 1.0])) * u(60.0, 90.0), u(0.2, 0.6)
        background = str(rng.choice(BACKGROUNDS))
        passerby = None
        wall = u(0.9, 2.5)
        if rng.random() < passerby_prob:
            passerby = Passerby(
                cross_s=u(0.1, 0.9) * duration_s, speed_m_s=u(0.6, 1.4),
                direction=int(rng.choice([-1, 1])), behind_m=u(0.3, max(0.31, wall - 0.25)),
                head_height_m=u(0.1, 0.6), face_yaw_deg=u(-60.0, 60.0),
                skin_ita_deg=u(*SKIN_ITA_RANGE_DEG))
        return cls(
            distance_m=distance, camera_height_m=height, camera_x_m=camera_x, camera_pitch_deg=pitch,
            camera_yaw_deg=float(np.clip(yaw, -30, 30)), camera_roll_deg=u(-3.0, 3.0),
            hfov_deg=hfov, light_level=level, key_azimuth_deg=azimuth, fill_ratio=fill,
            window_behind=window, auto_exposure=True, sensor_noise=noise,
            skin_ita_deg=u(*SKIN_ITA_RANGE_DEG), background=background, wall_distance_m=wall,
            face_decoys=int(rng.choice([0, 0, 1, 2, 3])), passerby=passerby,
            room_seed=int(rng.integers(0, 2**31 - 1)))


__all__ = ["BACKGROUNDS", "SKIN_ITA_RANGE_DEG", "Passerby", "SceneSpec"]
