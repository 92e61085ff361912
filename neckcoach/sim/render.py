"""Off-screen renderer of a real 3D head scan moving on a neck with known angles.

Why: the measurement engine needs frames whose true head angles are known
exactly. We render the Lee Perry-Smith scan (see HEAD_SCAN_CREDIT.md), shipped
in the package (``neckcoach/assets/head/``) under its CC BY 3.0 licence.

World frame (metres): x to the subject's LEFT (the raw image's right), y up,
z towards the camera; the origin is the neck pivot (roughly C1/C2).

Rotation convention (binding; the engine is compared to these numbers)::

    R = R_y(yaw) @ R_x(pitch) @ R_z(-roll)

i.e. intrinsic yaw about the neck's vertical axis first, then pitch about
the turned head's left-right axis, then roll about the turned and pitched
face axis. Signs: yaw > 0 turns to the subject's left (nose moves to the
image's right); pitch > 0 is flexion (chin down); roll > 0 bends towards
the left shoulder (top of the head moves to the image's right). A head point
p moves to ``pivot + R (p - pivot) - (0, 0, retraction_mm / 1000)``.
The scan's shoulders stay still; the neck blends between the two smoothly.

The angles are relative to the trunk, which is upright and still in the
world: the ground truth is what a therapist means, whatever the camera does.
Where the camera is, how it is turned, the light, the skin, the room and a
passer-by are a `neckcoach.sim.scene.SceneSpec`; `HeadRenderer` explains what
a tilted or off-centre camera does to angles measured in its frame.
"""

from __future__ import annotations

import os
import warnings

from neckcoach.io.platforms import make_pyopengl_compatible, opengl_platform

if opengl_platform():  # before PyOpenGL is first imported
    os.environ.setdefault("PYOPENGL_PLATFORM", opengl_platform())
make_pyopengl_compatible()

from dataclasses import dataclass  # noqa: E402
from functools import lru_cache  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from neckcoach.core.checks import check_range  # noqa: E402
from neckcoach.errors import MissingAsset  # noqa: E402
from neckcoach.sim.room import Wall, legacy_room_texture, paint_wall  # noqa: E402
from neckcoach.sim.scene import SKIN_ITA_RANGE_DEG, SceneSpec  # noqa: E402
from neckcoach.sim.skin import retint_skin  # noqa: E402

HEAD_HEIGHT_M = 0.23
"""Chin-to-crown height the scan is scaled to."""
PIVOT_BELOW_EYES_M = 0.09
PIVOT_BEHIND_EARS_M = 0.03
SHIRT_RGB = (38, 62, 100)


SCAN_FILES = ("LeePerrySmith.glb", "Map-COL.jpg")
"""What rendering reads from the scan folder: the mesh with UVs and its colour texture."""


def default_scan_dir() -> Path:
    """The head scan shipped in the package; ``NECKCOACH_HEAD_SCAN`` points elsewhere."""
    env = os.environ.get("NECKCOACH_HEAD_SCAN")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1] / "assets" / "head"


def _missing_scan(problem: str, folder: Path) -> MissingAsset:
    """One line that says what is wrong with the scan and what to do about it."""
    if os.environ.get("NECKCOACH_HEAD_SCAN"):
        fix = (f"NECKCOACH_HEAD_SCAN points at {folder}: unset it, or point it at a folder "
               f"holding {' and '.join(SCAN_FILES)}")
    else:
        fix = ("this installation is incomplete: reinstall NeckCoach (pip install --force-reinstall "
               "neckcoach, or a fresh clone)")
    return MissingAsset(f"the virtual patient's head scan {problem}; {fix}")


def rotation_matrix(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """Head rotation in world coordinates, R = R_y(yaw) R_x(pitch) R_z(-roll)."""
    y, p, r = np.radians([yaw_deg, pitch_deg, -roll_deg])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return ry @ rx @ rz


@dataclass(frozen=True)
class HeadGeometry:
    """The scan in world metres plus the landmarks the renderer needs."""

    vertices: np.ndarray
    normals: np.ndarray
    faces: np.ndarray
    uv: np.ndarray
    head_weight: np.ndarray
    shirt_faces: np.ndarray
    texture_rgb: np.ndarray
    nose_tip: np.ndarray
    eye_level_y: float
    chin: np.ndarray
    crown_y: float
    shoulder_y: float
    shoulder_half_width: float
    chest_front_z: float
    bottom_y: float


@lru_cache(maxsize=2)
def load_head(scan_dir: str | None = None) -> HeadGeometry:
    """Load and scale the scan once per process (it is read-only afterwards)."""
    import trimesh

    folder = Path(scan_dir) if scan_dir else default_scan_dir()
    missing = [str(folder / name) for name in SCAN_FILES if not (folder / name).is_file()]
    if missing:
        raise _missing_scan(f"is missing ({', '.join(missing)})", folder)
    glb = folder / SCAN_FILES[0]
    try:
        mesh = trimesh.load(str(glb), force="mesh", process=False)
    except Exception as exc:  # a truncated or re-encoded download
        raise _missing_scan(f"cannot be read ({glb}: {type(exc).__name__}: {exc})", folder) from exc
    v = np.asarray(mesh.vertices, dtype=np.float64)
    front = v[v[:, 2] > 0.5 * v[:, 2].max()]
    chin = front[np.argmin(front[:, 1])]
    crown_y = v[:, 1].max()
    scale = HEAD_HEIGHT_M / (crown_y - chin[1])
    nose = v[np.argmax(v[:, 2])]
    eye_y = nose[1] + 0.15 * (crown_y - chin[1])
    band = v[np.abs(v[:, 1] - nose[1]) < 0.6]
    ear_z = band[np.argmax(np.abs(band[:, 0])), 2]
    pivot = np.array([0.0, eye_y - PIVOT_BELOW_EYES_M / scale, ear_z - PIVOT_BEHIND_EARS_M / scale])
    world = (v - pivot) * scale
    # The neck blends from still shoulders to the rigid head between the top of
    # the shoulders and just under the chin.
    y0 = (v[:, 1].min() + 0.45 * (chin[1] - v[:, 1].min()) - pivot[1]) * scale
    y1 = (chin[1] - pivot[1]) * scale - 0.005
    s = np.clip((world[:, 1] - y0) / (y1 - y0), 0.0, 1.0)
    weight = s * s * (3 - 2 * s)
    shoulders = world[world[:, 1] < y0]
    faces = np.asarray(mesh.faces, dtype=np.uint32)
    # The scan is a bare bust: dress its chest and shoulders in a shirt with a
    # round neckline so the still torso reads as clothing.
    neck_half_w = 0.06
    collar_y = (chin[1] - pivot[1]) * scale - 0.05
    x, y = world[:, 0], world[:, 1]
    dressed = (y < collar_y - 0.035) | ((y < collar_y) & (np.abs(x) > neck_half_w))
    shirt_faces = dressed[faces].all(axis=1)
    texture_bgr = cv2.imread(str(folder / SCAN_FILES[1]))
    if texture_bgr is None:
        raise _missing_scan(f"texture cannot be read ({folder / SCAN_FILES[1]} is not an image)", folder)
    texture = cv2.cvtColor(texture_bgr, cv2.COLOR_BGR2RGB)
    return HeadGeometry(
        vertices=world,
        normals=np.asarray(mesh.vertex_normals, dtype=np.float64),
        faces=faces,
        # pyrender puts the image's first row at v = 1; this scan's UVs count from the top.
        uv=np.column_stack([mesh.visual.uv[:, 0], 1.0 - mesh.visual.uv[:, 1]]),
        shirt_faces=shirt_faces,
        head_weight=weight,
        texture_rgb=texture,
        nose_tip=(nose - pivot) * scale,
        eye_level_y=float((eye_y - pivot[1]) * scale),
        chin=(chin - pivot) * scale,
        crown_y=float((crown_y - pivot[1]) * scale),
        shoulder_y=float(shoulders[:, 1].max()),
        shoulder_half_width=float(np.abs(world[:, 0]).max()),
        chest_front_z=float(shoulders[:, 2].max()),
        bottom_y=float(world[:, 1].min()),
    )


_OFFSCREEN: dict[str, object] = {}


def _offscreen(width: int, height: int):
    """One process-wide OffscreenRenderer: a second one fails in eglMakeCurrent."""
    import pyrender

    r = _OFFSCREEN.get("renderer")
    if r is None:
        r = pyrender.OffscreenRenderer(width, height)
        _OFFSCREEN["renderer"] = r
    else:
        r.viewport_width, r.viewport_height = width, height
    return r


# Lights of the original scene; a SceneSpec scales and moves them.
KEY_POSITION = np.array([0.4, 0.8, 1.2])
KEY_INTENSITY, FILL_INTENSITY, AMBIENT = 2.2, 1.2, 0.35
RIM_INTENSITY = 3.0
"""Daylight from a window behind at window_behind = 1: brighter than the room's key light."""
WINDOW_GAIN = 3.0
"""A window at window_behind = 1 is 1 + 3 = 4x a white wall: daylight through a window is
several times the light a room's lamps put on its walls, so it clips in any exposure that suits the face."""
EXPOSURE_TARGET_GREY = 120.0
"""Average metering aims the frame's mean at mid-grey, about 120 of 255 for webcams."""
EXPOSURE_GAIN_RANGE = (0.35, 4.0)
WALL_PX_PER_M = 320.0
"""The wall texture's resolution: finer than the ~280 px/m a 60 deg 640 px camera sees at 2 m."""
ROOM_HALF_WIDTH_M = 3.5
FLOOR_BELOW_EYES_M = 1.2
"""A seated adult's eyes are ~1.2 m above the floor."""
CEILING_ABOVE_EYES_M = 1.35
"""A 2.5 m ceiling above them."""


def angles_from_rotation(rot: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees of a rotation, the inverse of `rotation_matrix`.

    R = R_y(yaw) R_x(pitch) R_z(-roll): its middle row is
    (cos p sin(-r), cos p cos(-r), -sin p) and its last column
    (sin y cos p, -sin p, cos y cos p).
    """
    r = np.asarray(rot, dtype=float)
    pitch = np.degrees(np.arcsin(np.clip(-r[1, 2], -1.0, 1.0)))
    yaw = np.degrees(np.arctan2(r[0, 2], r[2, 2]))
    roll = -np.degrees(np.arctan2(r[1, 0], r[1, 1]))
    return float(yaw), float(pitch), float(roll)


def camera_rotation(spec: SceneSpec) -> np.ndarray:
    """Camera-to-world rotation of a scene's camera (OpenGL camera axes: x right, y up, z backwards).

    C = R_y(-yaw) R_x(pitch) R_z(-roll): turned towards the patient's left by
    camera_yaw_deg, tilted up by camera_pitch_deg, its top leaning to the
    image's right by camera_roll_deg. Level and straight (C = I) by default.
    """
    y, p, r = np.radians([-spec.camera_yaw_deg, spec.camera_pitch_deg, -spec.camera_roll_deg])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return ry @ rx @ rz


class HeadRenderer:
    """Renders the virtual patient in a `SceneSpec` (the default: the original scene).

    The camera sits ``distance_m`` in front of the nose tip (along the room's
    depth), ``camera_height_m`` above eye level and ``camera_x_m`` to the
    patient's left, turned and tilted as the scene says; by default level,
    2 cm above eye level, looking straight along -z. The torso, neck base and
    room stay still; only the head moves (and a passer-by, if any, walks).

    Ground truth and the camera
    ---------------------------
    The angles given to `render` are the head's rotation relative to the
    trunk, which is upright and still in the world: what a therapist means
    by "turned 40 degrees", whatever the camera does. With the default level,
    centred camera the camera's axes are the world's, so these are also the
    camera-frame angles. With a scene camera of rotation C (`camera_rotation`,
    camera to world) the camera sees the head rotated by C^T R
    (`head_rotation_in_camera`), and from a point below and beside the face
    it looks along a ray that is itself tilted (up by the camera's elevation
    angle, `SceneSpec.camera_elevation_deg`, sideways by its offset). So:
    - the neutral head already looks pitched (seen from below, about the
      elevation angle, plus the tilt of the optical axis);
    - a rotation measured relative to the calibrated neutral as
      R0^T R (composed on the head's side) equals the truth R for any fixed
      camera, but one composed on the camera's side, R R0^T, is the truth
      seen in the camera's axes, C^T R C, whose Euler angles mix: a pure 60
      deg turn under a camera pitched 15 deg up reads as a turn with a
      sideways bend (see `camera_frame_angles`).
    Whoever estimates angles from these frames must undo the camera, not the
    renderer: the truth here is never expressed in camera axes.
    """

    def __init__(
        self,
        width: int = 640,
        height: int = 480,
        hfov_deg: float | None = None,
        distance_m: float | None = None,
        seed: int = 0,
        scan_dir: str | Path | None = None,
        *,
        scene: SceneSpec | None = None,
    ) -> None:
        check_range("width", width, 64, 4096)
        check_range("height", height, 64, 4096)
        if scene is not None and not isinstance(scene, SceneSpec):
            raise ValueError(f"scene must be a SceneSpec or None, got {scene!r}")
        spec = scene if scene is not None else SceneSpec()
        changes = {k: v for k, v in (("hfov_deg", hfov_deg), ("distance_m", distance_m)) if v is not None}
        self.spec = spec.replace(**changes) if changes else spec  # hfov_deg/distance_m override the scene's
        import pyrender

        self.width, self.height = int(width), int(height)
        self.hfov_deg, self.distance_m, self.seed = self.spec.hfov_deg, self.spec.distance_m, int(seed)
        self.geo = load_head(str(scan_dir) if scan_dir else None)
        self._rng = np.random.default_rng(self.seed)
        spec, g = self.spec, self.geo
        texture = g.texture_rgb if spec.skin_ita_deg is None else retint_skin(g.texture_rgb, spec.skin_ita_deg)
        self._material = _skin_material(pyrender, texture)
        self._shirt = _plain_material(pyrender, SHIRT_RGB, 0.9)
        # The far wall never moves and covers most pixels, so it is rendered
        # once into a background image; per frame only the people are drawn
        # (on a transparent background) and laid over it: about 40 % faster.
        ambient = [AMBIENT * spec.light_level * spec.fill_ratio] * 3
        self.scene = pyrender.Scene(bg_color=[0.0, 0.0, 0.0, 0.0], ambient_light=ambient)
        self._room_scene = pyrender.Scene(bg_color=[0.0, 0.0, 0.0, 1.0], ambient_light=ambient)
        self.camera_rotation = camera_rotation(spec)
        self.camera_position = np.array([spec.camera_x_m, g.eye_level_y + spec.camera_height_m,
                                         g.nose_tip[2] + spec.distance_m])
        self.camera_pose = np.eye(4)
        self.camera_pose[:3, :3], self.camera_pose[:3, 3] = self.camera_rotation, self.camera_position
        aspect = self.width / self.height
        yfov = 2 * np.arctan(np.tan(np.radians(self.hfov_deg) / 2) / aspect)
        self.camera = pyrender.PerspectiveCamera(yfov=yfov, aspectRatio=aspect, znear=0.05, zfar=12.0)
        key = pyrender.DirectionalLight(color=np.ones(3), intensity=KEY_INTENSITY * spec.light_level)
        fill = pyrender.PointLight(color=np.ones(3), intensity=FILL_INTENSITY * spec.light_level * spec.fill_ratio)
        fill_pose = np.eye(4)
        fill_pose[:3, 3] = self.camera_position + np.array([-0.3, 0.2, 0.0])
        for scene_ in (self.scene, self._room_scene):
            scene_.add(self.camera, pose=self.camera_pose)
            scene_.add(key, pose=_look_at(_key_position(spec.key_azimuth_deg), np.zeros(3)))
            scene_.add(fill, pose=fill_pose)
        if spec.window_behind > 0:  # daylight from the window rims the people, not the wall it is in
            rim = pyrender.DirectionalLight(color=np.ones(3), intensity=RIM_INTENSITY * spec.window_behind)
            self.scene.add(rim, pose=_look_at(np.array([0.0, 0.6, -1.5]), np.zeros(3)))
        self._wall: Wall | None = None  # painted at the first frame (it may render photos)
        self.hung_view_m: tuple[float, float, float, float] | None = None  # see `hang_room_as`
        self._add_torso(self.scene, self._shirt)
        self._passerby = self._add_passerby(pyrender) if spec.passerby is not None else None
        self._background: np.ndarray | None = None
        self._gain: float | None = None if spec.auto_exposure else 1.0
        self._head_node = None
        self._inset: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def focal_px(self) -> float:
        return self.width / 2 / np.tan(np.radians(self.hfov_deg) / 2)

    @property
    def wall(self) -> Wall:
        """The room's back wall: its picture and where its window and face-like pictures are."""
        if self._wall is None:
            import pyrender

            self._wall = self._add_room(pyrender)
        return self._wall

    def hang_room_as(self, other: "HeadRenderer") -> None:
        """Hang the room's pictures where `other` hung them (call before the first frame).

        Pictures are hung in the part of the wall the camera sees; a camera moved in the
        same room must see the same wall shifted, not the pictures re-hung around its new
        view (a moved camera is told from the room behind the patient,
        neckcoach/io/room_watch.py)."""
        if self._wall is not None:
            raise RuntimeError("hang_room_as must be called before the room is painted")
        self.hung_view_m = other.hung_view_m

    @property
    def exposure_gain(self) -> float:
        """The camera's gain (1 without auto exposure); fixed once, from the first frame's light."""
        if self._gain is None:
            self._render_pose(0.0, 0.0, 0.0, 0.0)
        return float(self._gain)

    def head_points(self, points: np.ndarray, yaw_deg: float, pitch_deg: float, roll_deg: float,
                    retraction_mm: float = 0.0) -> np.ndarray:
        """Where rigid head points (world metres, neutral pose) move for this pose."""
        rot = rotation_matrix(yaw_deg, pitch_deg, roll_deg)
        out = np.atleast_2d(points) @ rot.T
        out[:, 2] -= retraction_mm / 1000.0
        return out

    def head_rotation_in_camera(self, yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
        """The head's rotation as the camera sees it, C^T R (camera axes: x right, y up, z backwards)."""
        return self.camera_rotation.T @ rotation_matrix(yaw_deg, pitch_deg, roll_deg)

    def camera_frame_angles(self, yaw_deg: float, pitch_deg: float, roll_deg: float) -> tuple[float, float, float]:
        """The true rotation expressed in the camera's axes, C^T R C, as (yaw, pitch, roll).

        What an estimator that compares camera-frame rotations as R R0^T
        reports for a head calibrated at neutral (before any perspective
        effect): equal to the truth for the default camera.
        """
        c = self.camera_rotation
        return angles_from_rotation(c.T @ rotation_matrix(yaw_deg, pitch_deg, roll_deg) @ c)

    def pivot_in_camera_mm(self, retraction_mm: float = 0.0) -> tuple[float, float, float]:
        """The neck pivot (moved back by retraction) in HeadPose.position_mm terms:
        x right in the image, y down, z away from the camera."""
        d = self.camera_rotation.T @ (np.array([0.0, 0.0, -retraction_mm / 1000.0]) - self.camera_position)
        return (1000 * d[0], -1000 * d[1], -1000 * d[2])

    def project(self, points: np.ndarray) -> np.ndarray:
        """Pixel coordinates (x right, y down) of world points in the raw image."""
        p = self._to_camera(points)
        f = self.focal_px
        return np.stack([self.width / 2 + f * p[:, 0] / -p[:, 2],
                         self.height / 2 - f * p[:, 1] / -p[:, 2]], axis=1)

    def _to_camera(self, points: np.ndarray) -> np.ndarray:
        return (np.atleast_2d(points) - self.camera_position) @ self.camera_rotation

    # ----------------------------------------------------------- passer-by
    def passerby_pose(self, t_s: float) -> np.ndarray:
        """4x4 world pose of the passer-by's neck pivot at t_s (its head turned by face_yaw_deg)."""
        p = self.spec.passerby
        if p is None:
            raise ValueError("this scene has no passerby")
        pose = np.eye(4)
        pose[:3, :3] = rotation_matrix(p.face_yaw_deg, 0.0, 0.0)
        pose[:3, 3] = [p.x_at(t_s), p.head_height_m + p.y_at(t_s), -p.behind_m]
        return pose

    def passerby_face_px(self, t_s: float) -> np.ndarray | None:
        """Pixel position of the passer-by's face (midway between eyes and nose tip), None without one."""
        if self.spec.passerby is None:
            return None
        g = self.geo
        face = np.array([g.nose_tip[0], (g.nose_tip[1] + g.eye_level_y) / 2, g.nose_tip[2] - 0.02, 1.0])
        world = (self.passerby_pose(t_s) @ face)[:3]
        if self._to_camera(world)[0, 2] >= -0.05:
            return None  # behind the camera
        return self.project(world)[0]

    def passerby_in_view(self, t_s: float) -> bool:
        """Whether the passer-by's face is inside the frame at t_s (hidden behind the patient or not)."""
        px = self.passerby_face_px(t_s)
        return px is not None and 0 <= px[0] < self.width and 0 <= px[1] < self.height

    def passerby_view_interval(self, step_s: float = 0.01) -> tuple[float, float] | None:
        """(first, last) time the passer-by's face is in the frame, to `step_s`; None if never."""
        p = self.spec.passerby
        if p is None:
            return None
        half = (ROOM_HALF_WIDTH_M + 1.0) / p.speed_m_s
        ts = np.arange(p.cross_s - half, p.cross_s + half, step_s)
        seen = [t for t in ts if self.passerby_in_view(float(t))]
        return (float(seen[0]), float(seen[-1])) if seen else None

    def _place_passerby(self, t_s: float | None) -> None:
        if self._passerby is None:
            return
        node, meshes = self._passerby
        visible = False
        if t_s is not None:
            pose = self.passerby_pose(t_s)
            # Drawn while any of its head or shoulders could be in the frame.
            body = np.array([[0.0, 0.1, 0.0, 1.0], [0.3, -0.15, 0.0, 1.0], [-0.3, -0.15, 0.0, 1.0]]) @ pose.T
            cam = self._to_camera(body[:, :3])
            front = cam[:, 2] < -0.05
            if front.any():
                px = self.project(body[front, :3])
                margin = 0.5 * self.width
                visible = bool(((px[:, 0] > -margin) & (px[:, 0] < self.width + margin)).any())
            if visible:
                self.scene.set_pose(node, pose)
        for mesh in meshes:
            mesh.is_visible = visible

    # ------------------------------------------------------------- render
    def render(
        self,
        yaw_deg: float = 0.0,
        pitch_deg: float = 0.0,
        roll_deg: float = 0.0,
        retraction_mm: float = 0.0,
        *,
        t_s: float | None = None,
        noise: float = 0.0,
        brightness: float = 1.0,
        blur: float = 0.0,
        jpeg_quality: int | None = None,
        occlusion: float = 0.0,
        second_face: bool | float = False,
    ) -> np.ndarray:
        """One RGB uint8 frame (H, W, 3) of the head in this pose.

        t_s: the frame's time, which places the scene's passer-by (without it
        nobody walks by). noise: gaussian pixel noise sigma in grey levels,
        on top of the scene's sensor noise; brightness: scale on all pixels;
        blur: gaussian blur sigma in pixels; jpeg_quality: 1-100
        to add compression artefacts; occlusion: 0-1 share of the face covered
        by a skin-coloured "hand" blob from the image's left (0.5 already
        defeats MediaPipe); second_face: another person in the background,
        True = 0.8 x the patient's size, or a scale in [0.1, 1.5] (MediaPipe's
        face detector found it at 0.8 and 1.0, not at 0.6 or 1.2); a flat
        cut-out pasted in the top-left corner (a scene's `passerby` is a
        person standing in the room instead).
        """
        check_range("noise", noise, 0.0, 100.0)
        check_range("brightness", brightness, 0.0, 4.0)
        check_range("blur", blur, 0.0, 20.0)
        check_range("occlusion", occlusion, 0.0, 1.0)
        if jpeg_quality is not None:
            check_range("jpeg_quality", jpeg_quality, 1, 100)
        if t_s is not None:
            check_range("t_s", t_s, -1e9, 1e9)
        self._place_passerby(t_s)
        rgb = self._render_pose(yaw_deg, pitch_deg, roll_deg, retraction_mm)
        if second_face:
            scale = 0.8 if second_face is True else float(second_face)
            check_range("second_face", scale, 0.1, 1.5)
            rgb = self._add_second_face(rgb, scale)
        if occlusion > 0:
            rgb = self._occlude(rgb, occlusion, yaw_deg, pitch_deg, roll_deg, retraction_mm)
        img = rgb.astype(np.float32)
        if brightness != 1.0:
            img *= brightness
        if blur > 0:
            img = cv2.GaussianBlur(img, (0, 0), blur)
        sigma = noise
        if self.spec.sensor_noise > 0:  # read noise, amplified by the camera's gain
            sigma = float(np.hypot(noise, self.spec.sensor_noise * self._gain))
        if sigma > 0:
            img += self._rng.normal(0.0, sigma, img.shape).astype(np.float32)
        out = np.clip(img, 0, 255).astype(np.uint8)
        if jpeg_quality is not None:
            ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)])
            out = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
        return np.ascontiguousarray(out)

    def _posed(self, yaw, pitch, roll, retraction_mm):
        """Vertex positions and normals of the scan with the head in this pose, the neck blended."""
        g = self.geo
        rot = rotation_matrix(yaw, pitch, roll)
        w = g.head_weight[:, None]
        moved = g.vertices @ rot.T
        moved[:, 2] -= retraction_mm / 1000.0
        pos = (1 - w) * g.vertices + w * moved
        nrm = (1 - w) * g.normals + w * (g.normals @ rot.T)
        nrm /= np.linalg.norm(nrm, axis=1, keepdims=True) + 1e-12
        return pos, nrm

    def _bust_mesh(self, pyrender, pos, nrm, skin, shirt):
        g = self.geo
        pos32, nrm32, uv32 = pos.astype(np.float32), nrm.astype(np.float32), g.uv.astype(np.float32)
        return pyrender.Mesh([
            pyrender.Primitive(positions=pos32, normals=nrm32, texcoord_0=uv32,
                               indices=g.faces[~g.shirt_faces], material=skin),
            pyrender.Primitive(positions=pos32, normals=nrm32,
                               indices=g.faces[g.shirt_faces], material=shirt),
        ])

    def _render_pose(self, yaw, pitch, roll, retraction_mm, with_depth: bool = False):
        import pyrender

        pos, nrm = self._posed(yaw, pitch, roll, retraction_mm)
        if self._head_node is not None:
            self.scene.remove_node(self._head_node)
        self._head_node = self.scene.add(self._bust_mesh(pyrender, pos, nrm, self._material, self._shirt))
        if self._background is None:
            if self._wall is None:
                self._wall = self._add_room(pyrender)
            self._background = self._render_background(pyrender)
        if self._gain is None:
            self._gain = self._metered_gain(yaw, pitch, roll, retraction_mm)
        rgba, depth = self._draw(self.scene, pyrender.RenderFlags.RGBA)
        # Anti-aliased edges come out premultiplied by alpha over black.
        alpha = rgba[:, :, 3:4].astype(np.float32) / 255.0
        color = rgba[:, :, :3] + self._background * (1.0 - alpha)
        if self._gain != 1.0:
            color *= self._gain
        color = np.ascontiguousarray(np.clip(color + 0.5, 0, 255).astype(np.uint8))
        return (color, depth) if with_depth else color

    def _metered_gain(self, yaw, pitch, roll, retraction_mm) -> float:
        """Auto exposure, set once: the gain that brings the frame's mean to mid-grey.

        Metered on the patient in the pose of the first frame, without a passer-by.
        """
        import pyrender

        hidden = []
        if self._passerby is not None:
            hidden = [m for m in self._passerby[1] if m.is_visible]
            for m in hidden:
                m.is_visible = False
        rgba, _ = self._draw(self.scene, pyrender.RenderFlags.RGBA)
        for m in hidden:
            m.is_visible = True
        alpha = rgba[:, :, 3:4].astype(np.float32) / 255.0
        color = rgba[:, :, :3] + self._background * (1.0 - alpha)
        mean = float(np.clip(color, 0, None).mean())
        lo, hi = EXPOSURE_GAIN_RANGE
        return float(np.clip(EXPOSURE_TARGET_GREY / max(mean, 1e-3), lo, hi))

    def _render_background(self, pyrender) -> np.ndarray:
        """The room without people, float RGB; a window shines as bright as daylight (above white)."""
        bg = self._draw(self._room_scene, pyrender.RenderFlags.NONE)[0][:, :, :3].astype(np.float32)
        win = self.wall.window_m
        if win is not None and self.spec.window_behind > 0:
            z = -self.spec.wall_distance_m + 1e-3
            corners = np.array([[win[0], win[1], z], [win[2], win[1], z], [win[2], win[3], z], [win[0], win[3], z]])
            mask = np.zeros((self.height, self.width), np.uint8)
            cv2.fillConvexPoly(mask, np.round(self.project(corners) * 16).astype(np.int32), 255, cv2.LINE_AA, 4)
            m = (mask.astype(np.float32) / 255.0)[:, :, None]
            sky = np.asarray(self.wall.sky_rgb, np.float32) * (1.0 + WINDOW_GAIN * self.spec.window_behind)
            bg = bg * (1.0 - m) + sky * m
        return bg

    def _draw(self, scene, flags):
        renderer = _offscreen(self.width, self.height)
        with warnings.catch_warnings():
            # PyOpenGL's read-back still calls numpy's deprecated tostring().
            warnings.simplefilter("ignore", DeprecationWarning)
            return renderer.render(scene, flags=flags)

    # --------------------------------------------------------------- room
    def _wall_view(self, wall_z: float) -> tuple[float, float, float, float]:
        """The part of the plane z = wall_z the camera sees: (x0, y0, x1, y1), world metres."""
        f = self.focal_px
        us = np.array([0, self.width / 2, self.width])
        vs = np.array([0, self.height / 2, self.height])
        rays = np.array([[(u - self.width / 2) / f, -(v - self.height / 2) / f, -1.0] for u in us for v in vs])
        world = rays @ self.camera_rotation.T
        t = (wall_z - self.camera_position[2]) / world[:, 2]
        hits = self.camera_position + world * t[:, None]
        return (float(hits[:, 0].min()), float(hits[:, 1].min()), float(hits[:, 0].max()), float(hits[:, 1].max()))

    def _add_room(self, pyrender) -> Wall:
        spec, g = self.spec, self.geo
        rng = np.random.default_rng((self.seed if spec.room_seed is None else spec.room_seed) + 7919)
        wall_z, eye = -spec.wall_distance_m, g.eye_level_y
        room = (-ROOM_HALF_WIDTH_M, eye - FLOOR_BELOW_EYES_M, ROOM_HALF_WIDTH_M, eye + CEILING_ABOVE_EYES_M)
        view = self._wall_view(wall_z)
        view = (max(view[0], room[0]), max(view[1], room[1]), min(view[2], room[2]), min(view[3], room[3]))
        if self.hung_view_m is None:
            self.hung_view_m = view
        view = self.hung_view_m
        window = spec.window_behind > 0
        if spec.background == "room":
            rect = (-1.6, eye - 1.2, 1.6, eye + 1.2)
            texture = legacy_room_texture(rng, 512, 384)
            if spec.face_decoys or window:
                wall = paint_wall("room", rng, rect_m=rect, view_m=view, px_per_m=WALL_PX_PER_M,
                                  face_decoys=spec.face_decoys, window=window, portrait=self._portrait,
                                  base_image=texture)
            else:
                wall = Wall(texture, rect)
        else:
            wall = paint_wall(spec.background, rng, rect_m=room, view_m=view, px_per_m=WALL_PX_PER_M,
                              face_decoys=spec.face_decoys, window=window, portrait=self._portrait)
        x0, y0, x1, y1 = wall.rect_m
        self._room_scene.add(_quad(pyrender, [[x0, y0, wall_z], [x1, y0, wall_z], [x1, y1, wall_z], [x0, y1, wall_z]],
                                   texture=wall.image))
        # The rest of the room, plain, for cameras that see past the wall:
        # the wall's colour beyond it, a ceiling, a floor and side walls.
        paint = tuple(int(c) for c in np.median(wall.image.reshape(-1, 3), axis=0))
        (rx0, ry0, rx1, ry1), near = room, self.camera_position[2] + 1.0
        if wall.rect_m != room:
            z = wall_z - 0.01
            self._room_scene.add(_quad(pyrender, [[rx0, ry0, z], [rx1, ry0, z], [rx1, ry1, z], [rx0, ry1, z]], paint))
        self._room_scene.add(_quad(pyrender, [[rx0, ry1, wall_z], [rx1, ry1, wall_z], [rx1, ry1, near],
                                              [rx0, ry1, near]], (238, 238, 234)))
        self._room_scene.add(_quad(pyrender, [[rx0, ry0, near], [rx1, ry0, near], [rx1, ry0, wall_z],
                                              [rx0, ry0, wall_z]], (120, 92, 64)))
        self._room_scene.add(_quad(pyrender, [[rx0, ry0, near], [rx0, ry0, wall_z], [rx0, ry1, wall_z],
                                              [rx0, ry1, near]], paint))
        self._room_scene.add(_quad(pyrender, [[rx1, ry0, wall_z], [rx1, ry0, near], [rx1, ry1, near],
                                              [rx1, ry1, wall_z]], paint))
        return wall

    def _add_torso(self, scene, shirt, parent=None) -> list:
        """Torso: a flattened ellipsoid dressing the scan's bare chest, plus upper arms, fixed to the trunk."""
        import pyrender
        import trimesh

        g = self.geo
        half_w = g.shoulder_half_width
        torso = trimesh.creation.icosphere(subdivisions=3, radius=1.0)
        torso.apply_scale([half_w * 1.08, 0.30, 0.13])
        torso.apply_translation([0.0, g.shoulder_y - 0.30 + 0.015, g.chest_front_z - 0.13 + 0.005])
        # Below the ellipsoid's equator the body goes on down out of the frame
        # (seen from a camera below the face); a level camera never sees it.
        waist_y, mid_y = g.bottom_y - 0.9, g.shoulder_y - 0.30 + 0.015
        body = trimesh.creation.cylinder(radius=1.0, height=mid_y - waist_y, sections=48)
        body.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, [1, 0, 0]))
        body.apply_scale([half_w * 1.08, 1.0, 0.13])
        body.apply_translation([0.0, (mid_y + waist_y) / 2, g.chest_front_z - 0.13 + 0.005])
        parts = [torso, body]
        for side in (-1, 1):
            arm = trimesh.creation.capsule(height=0.35, radius=0.06)
            arm.apply_translation([side * (half_w * 0.95), g.shoulder_y - 0.25, g.chest_front_z - 0.12])
            lower = trimesh.creation.cylinder(radius=0.06, height=0.5, sections=24)
            lower.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, [1, 0, 0]))
            lower.apply_translation([side * (half_w * 0.95), g.shoulder_y - 0.25 - 0.25, g.chest_front_z - 0.12])
            parts += [arm, lower]
        meshes = [pyrender.Mesh.from_trimesh(part, material=shirt, smooth=True) for part in parts]
        for mesh in meshes:
            scene.add(mesh, parent_node=parent)
        return meshes

    def _add_passerby(self, pyrender):
        """A second person (the scan again, its own skin and shirt) whose pose `_place_passerby` sets."""
        p = self.spec.passerby
        g = self.geo
        rng = np.random.default_rng((self.seed if self.spec.room_seed is None else self.spec.room_seed) + 31337)
        skin = _skin_material(pyrender, retint_skin(g.texture_rgb, p.skin_ita_deg))
        shirt = _plain_material(pyrender, tuple(int(c) for c in rng.integers(30, 200, 3)), 0.9)
        node = pyrender.Node(name="passerby", matrix=np.eye(4))
        self.scene.add_node(node)
        bust = self._bust_mesh(pyrender, g.vertices, g.normals, skin, shirt)
        self.scene.add(bust, parent_node=node)
        meshes = [bust] + self._add_torso(self.scene, shirt, parent=node)
        for mesh in meshes:
            mesh.is_visible = False
        return node, meshes

    def _portrait(self, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
        """A photo of another person (the scan with its own skin, pose, light and backdrop): RGB uint8."""
        import pyrender

        g = self.geo
        zoom = max(1.0, 256.0 / max(width, height))
        w, h = int(round(width * zoom)), int(round(height * zoom))
        skin = _skin_material(pyrender, retint_skin(g.texture_rgb, float(rng.uniform(*SKIN_ITA_RANGE_DEG))))
        shirt = _plain_material(pyrender, tuple(int(c) for c in rng.integers(20, 220, 3)), 0.9)
        backdrop = list(rng.uniform(0.15, 0.9, 3)) + [1.0]
        scene = pyrender.Scene(bg_color=backdrop, ambient_light=[0.35] * 3)
        pos, nrm = self._posed(rng.uniform(-30, 30), rng.uniform(-10, 10), rng.uniform(-8, 8), 0.0)
        scene.add(self._bust_mesh(pyrender, pos, nrm, skin, shirt))
        self._add_torso(scene, shirt)
        frame_h = rng.uniform(0.24, 0.36)  # metres of the person the photo's height spans: head and shoulders
        distance = 0.8
        yfov = 2 * np.arctan(frame_h / 2 / distance)
        camera = pyrender.PerspectiveCamera(yfov=yfov, aspectRatio=w / h, znear=0.05, zfar=5.0)
        centre = np.array([rng.uniform(-0.03, 0.03), g.eye_level_y - 0.02 + rng.uniform(-0.03, 0.03), 0.0])
        cam_pose = np.eye(4)
        cam_pose[:3, 3] = centre + [0.0, 0.0, distance]
        scene.add(camera, pose=cam_pose)
        key = pyrender.DirectionalLight(color=np.ones(3), intensity=float(rng.uniform(1.8, 3.0)))
        scene.add(key, pose=_look_at(_key_position(float(rng.uniform(-50, 50))), np.zeros(3)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            rgb = _offscreen(w, h).render(scene, flags=pyrender.RenderFlags.NONE)[0][:, :, :3]
        return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA) if zoom > 1 else rgb.copy()

    # -------------------------------------------------- flat extras
    def _face_box(self, yaw, pitch, roll, retraction_mm) -> tuple[np.ndarray, float]:
        g = self.geo
        nose = self.head_points(g.nose_tip, yaw, pitch, roll, retraction_mm)
        chin = self.head_points(g.chin, yaw, pitch, roll, retraction_mm)
        px = self.project(np.vstack([nose, chin]))
        return px[0], float(np.linalg.norm(px[1] - px[0]))

    def _occlude(self, rgb, amount, yaw, pitch, roll, retraction_mm) -> np.ndarray:
        """A skin-toned "hand" coming in from the image's left, covering about
        `amount` of the face's width."""
        centre, size = self._face_box(yaw, pitch, roll, retraction_mm)
        out = rgb.copy()
        face_w = 3.4 * size
        rx, ry = 0.6 * face_w, 0.75 * face_w
        right_edge = centre[0] - face_w / 2 + amount * face_w
        cx, cy = int(right_edge - rx), int(centre[1] + 0.1 * size)
        cv2.ellipse(out, (cx, cy), (int(rx), int(ry)), 10, 0, 360, (196, 150, 120), -1, cv2.LINE_AA)
        return out

    def _add_second_face(self, rgb, scale: float) -> np.ndarray:
        """Composite a copy of the person, turned away and `scale` times the
        patient's size, into the top-left background (someone walking past),
        cut out by depth so the room stays behind it."""
        if self._inset is None:
            color, depth = self._render_pose(-25.0, 5.0, 0.0, 0.0, with_depth=True)
            centre, size = self._face_box(-25.0, 5.0, 0.0, 0.0)
            half = int(2.2 * size)
            cx, cy = int(centre[0]), int(centre[1] - 0.6 * size)
            ys = slice(max(cy - half, 0), cy + half)
            xs = slice(max(cx - half, 0), cx + half)
            near = (depth > 0) & (depth < self.distance_m + 0.35)
            self._inset = (color[ys, xs].copy(), near[ys, xs].astype(np.uint8))
        color, near = self._inset
        side = max(16, int(color.shape[0] * scale))
        crop = cv2.resize(color, (side, side), interpolation=cv2.INTER_AREA)
        mask = cv2.resize(near, (side, side), interpolation=cv2.INTER_NEAREST).astype(bool)
        out = rgb.copy()
        x, y = self.width // 40, self.height // 40
        patch = out[y:y + side, x:x + side]
        h, w = patch.shape[:2]
        patch[:] = np.where(mask[:h, :w, None], crop[:h, :w], patch)
        return out


def _key_position(azimuth_deg: float) -> np.ndarray:
    """The key light's position: the original (0.4, 0.8, 1.2) turned about the vertical to `azimuth_deg`."""
    radius = float(np.hypot(KEY_POSITION[0], KEY_POSITION[2]))
    a = np.radians(azimuth_deg)
    return np.array([radius * np.sin(a), KEY_POSITION[1], radius * np.cos(a)])


def _skin_material(pyrender, texture_rgb: np.ndarray):
    return pyrender.MetallicRoughnessMaterial(
        baseColorTexture=pyrender.Texture(source=texture_rgb, source_channels="RGB"),
        metallicFactor=0.0, roughnessFactor=0.8)


def _plain_material(pyrender, rgb, roughness: float = 1.0):
    return pyrender.MetallicRoughnessMaterial(
        baseColorFactor=[c / 255 for c in rgb] + [1.0], metallicFactor=0.0, roughnessFactor=roughness)


def _quad(pyrender, corners, rgb=None, texture: np.ndarray | None = None):
    """A flat rectangle from four world corners (anticlockwise seen from its front), plain or textured.

    Texture row 0 lands on the edge from corner 3 to corner 2 (pyrender puts
    an image's first row at v = 1).
    """
    v = np.asarray(corners, np.float32)
    normal = np.cross(v[1] - v[0], v[3] - v[0])
    normal = (normal / np.linalg.norm(normal)).astype(np.float32)
    if texture is not None:
        material = pyrender.MetallicRoughnessMaterial(
            baseColorTexture=pyrender.Texture(source=texture, source_channels="RGB"),
            metallicFactor=0.0, roughnessFactor=1.0)
        uv = np.float32([[0, 0], [1, 0], [1, 1], [0, 1]])
    else:
        material, uv = _plain_material(pyrender, rgb), None
    prim = pyrender.Primitive(positions=v, normals=np.tile(normal, (4, 1)), texcoord_0=uv,
                              indices=np.array([[0, 1, 2], [0, 2, 3]], np.uint32), material=material)
    return pyrender.Mesh([prim])


def _look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Camera-to-world pose of a camera at `eye` looking at `target`, y up (OpenGL)."""
    forward = target - eye
    forward = forward / np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, up, -forward, eye
    return pose
