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
"""

from __future__ import annotations

import os
import warnings

from neckcoach.io.platforms import opengl_platform

if opengl_platform():  # before PyOpenGL is first imported
    os.environ.setdefault("PYOPENGL_PLATFORM", opengl_platform())

from dataclasses import dataclass  # noqa: E402
from functools import lru_cache  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from neckcoach.core.checks import check_range  # noqa: E402
from neckcoach.errors import MissingAsset  # noqa: E402

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


class HeadRenderer:
    """Renders the virtual patient seen by a frontal laptop webcam.

    The camera sits ``distance_m`` in front of the nose tip, 2 cm above eye
    level, looking level (straight along -z) towards the face. The torso, neck base and room stay still;
    only the head moves.
    """

    def __init__(
        self,
        width: int = 640,
        height: int = 480,
        hfov_deg: float = 60.0,
        distance_m: float = 0.6,
        seed: int = 0,
        scan_dir: str | Path | None = None,
    ) -> None:
        check_range("width", width, 64, 4096)
        check_range("height", height, 64, 4096)
        check_range("hfov_deg", hfov_deg, 20.0, 120.0)
        check_range("distance_m", distance_m, 0.25, 3.0)
        import pyrender

        self.width, self.height = int(width), int(height)
        self.hfov_deg, self.distance_m, self.seed = float(hfov_deg), float(distance_m), int(seed)
        self.geo = load_head(str(scan_dir) if scan_dir else None)
        self._rng = np.random.default_rng(self.seed)
        g = self.geo
        self._material = pyrender.MetallicRoughnessMaterial(
            baseColorTexture=pyrender.Texture(source=g.texture_rgb, source_channels="RGB"),
            metallicFactor=0.0,
            roughnessFactor=0.8,
        )
        self._shirt = pyrender.MetallicRoughnessMaterial(
            baseColorFactor=[c / 255 for c in SHIRT_RGB] + [1.0], metallicFactor=0.0, roughnessFactor=0.9)
        # The far wall never moves and covers most pixels, so it is rendered
        # once into a background image; per frame only the person is drawn
        # (on a transparent background) and laid over it: about 40 % faster.
        self.scene = pyrender.Scene(bg_color=[0.0, 0.0, 0.0, 0.0], ambient_light=[0.35, 0.35, 0.35])
        self._room_scene = pyrender.Scene(bg_color=[0.0, 0.0, 0.0, 1.0], ambient_light=[0.35, 0.35, 0.35])
        self._add_room(pyrender)
        self.camera_position = np.array([0.0, g.eye_level_y + 0.02, g.nose_tip[2] + self.distance_m])
        # The optical axis is level (no tilt), so camera axes equal world axes and
        # the true angles are also the camera-relative angles.
        target = self.camera_position - np.array([0.0, 0.0, 1.0])
        self.camera_pose = _look_at(self.camera_position, target)
        aspect = self.width / self.height
        yfov = 2 * np.arctan(np.tan(np.radians(self.hfov_deg) / 2) / aspect)
        self.camera = pyrender.PerspectiveCamera(yfov=yfov, aspectRatio=aspect, znear=0.05, zfar=10.0)
        key = pyrender.DirectionalLight(color=np.ones(3), intensity=2.2)
        fill = pyrender.PointLight(color=np.ones(3), intensity=1.2)
        fill_pose = np.eye(4)
        fill_pose[:3, 3] = self.camera_position + np.array([-0.3, 0.2, 0.0])
        for scene in (self.scene, self._room_scene):
            scene.add(self.camera, pose=self.camera_pose)
            scene.add(key, pose=_look_at(np.array([0.4, 0.8, 1.2]), np.zeros(3)))
            scene.add(fill, pose=fill_pose)
        self._background: np.ndarray | None = None
        self._head_node = None
        self._inset: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def focal_px(self) -> float:
        return self.width / 2 / np.tan(np.radians(self.hfov_deg) / 2)

    def head_points(self, points: np.ndarray, yaw_deg: float, pitch_deg: float, roll_deg: float,
                    retraction_mm: float = 0.0) -> np.ndarray:
        """Where rigid head points (world metres, neutral pose) move for this pose."""
        rot = rotation_matrix(yaw_deg, pitch_deg, roll_deg)
        out = np.atleast_2d(points) @ rot.T
        out[:, 2] -= retraction_mm / 1000.0
        return out

    def pivot_in_camera_mm(self, retraction_mm: float = 0.0) -> tuple[float, float, float]:
        """The neck pivot (moved back by retraction) in HeadPose.position_mm terms:
        x right in the image, y down, z away from the camera."""
        d = np.array([0.0, 0.0, -retraction_mm / 1000.0]) - self.camera_position
        return (1000 * d[0], -1000 * d[1], -1000 * d[2])

    def project(self, points: np.ndarray) -> np.ndarray:
        """Pixel coordinates (x right, y down) of world points in the raw image."""
        world_to_cam = np.linalg.inv(self.camera_pose)
        p = np.atleast_2d(points) @ world_to_cam[:3, :3].T + world_to_cam[:3, 3]
        f = self.focal_px
        return np.stack([self.width / 2 + f * p[:, 0] / -p[:, 2],
                         self.height / 2 - f * p[:, 1] / -p[:, 2]], axis=1)

    def render(
        self,
        yaw_deg: float = 0.0,
        pitch_deg: float = 0.0,
        roll_deg: float = 0.0,
        retraction_mm: float = 0.0,
        *,
        noise: float = 0.0,
        brightness: float = 1.0,
        blur: float = 0.0,
        jpeg_quality: int | None = None,
        occlusion: float = 0.0,
        second_face: bool | float = False,
    ) -> np.ndarray:
        """One RGB uint8 frame (H, W, 3) of the head in this pose.

        noise: gaussian pixel noise sigma in grey levels; brightness: scale on
        all pixels; blur: gaussian blur sigma in pixels; jpeg_quality: 1-100
        to add compression artefacts; occlusion: 0-1 share of the face covered
        by a skin-coloured "hand" blob from the image's left (0.5 already
        defeats MediaPipe); second_face: another person in the background,
        True = 0.8 x the patient's size, or a scale in [0.1, 1.5] (MediaPipe's
        face detector found it at 0.8 and 1.0, not at 0.6 or 1.2).
        """
        check_range("noise", noise, 0.0, 100.0)
        check_range("brightness", brightness, 0.0, 4.0)
        check_range("blur", blur, 0.0, 20.0)
        check_range("occlusion", occlusion, 0.0, 1.0)
        if jpeg_quality is not None:
            check_range("jpeg_quality", jpeg_quality, 1, 100)
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
        if noise > 0:
            img += self._rng.normal(0.0, noise, img.shape).astype(np.float32)
        out = np.clip(img, 0, 255).astype(np.uint8)
        if jpeg_quality is not None:
            ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)])
            out = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
        return np.ascontiguousarray(out)

    def _render_pose(self, yaw, pitch, roll, retraction_mm, with_depth: bool = False):
        import pyrender

        g = self.geo
        rot = rotation_matrix(yaw, pitch, roll)
        w = g.head_weight[:, None]
        moved = g.vertices @ rot.T
        moved[:, 2] -= retraction_mm / 1000.0
        pos = (1 - w) * g.vertices + w * moved
        nrm = (1 - w) * g.normals + w * (g.normals @ rot.T)
        nrm /= np.linalg.norm(nrm, axis=1, keepdims=True) + 1e-12
        pos32, nrm32, uv32 = pos.astype(np.float32), nrm.astype(np.float32), g.uv.astype(np.float32)
        prims = [
            pyrender.Primitive(positions=pos32, normals=nrm32, texcoord_0=uv32,
                               indices=g.faces[~g.shirt_faces], material=self._material),
            pyrender.Primitive(positions=pos32, normals=nrm32,
                               indices=g.faces[g.shirt_faces], material=self._shirt),
        ]
        if self._head_node is not None:
            self.scene.remove_node(self._head_node)
        self._head_node = self.scene.add(pyrender.Mesh(prims))
        if self._background is None:
            self._background = self._draw(self._room_scene, pyrender.RenderFlags.NONE)[0][:, :, :3].copy()
        rgba, depth = self._draw(self.scene, pyrender.RenderFlags.RGBA)
        # Anti-aliased edges come out premultiplied by alpha over black.
        alpha = rgba[:, :, 3:4].astype(np.float32) / 255.0
        color = rgba[:, :, :3] + self._background * (1.0 - alpha)
        color = np.ascontiguousarray(np.clip(color + 0.5, 0, 255).astype(np.uint8))
        return (color, depth) if with_depth else color

    def _draw(self, scene, flags):
        renderer = _offscreen(self.width, self.height)
        with warnings.catch_warnings():
            # PyOpenGL's read-back still calls numpy's deprecated tostring().
            warnings.simplefilter("ignore", DeprecationWarning)
            return renderer.render(scene, flags=flags)

    def _add_room(self, pyrender) -> None:
        import trimesh

        g = self.geo
        rng = np.random.default_rng(self.seed + 7919)
        wall_z, wall_w, wall_h = -1.2, 3.2, 2.4
        tex = _room_texture(rng, 512, 384)
        quad = trimesh.Trimesh(
            vertices=[[-wall_w / 2, -wall_h / 2, 0], [wall_w / 2, -wall_h / 2, 0],
                      [wall_w / 2, wall_h / 2, 0], [-wall_w / 2, wall_h / 2, 0]],
            faces=[[0, 1, 2], [0, 2, 3]], process=False,
        )
        quad.visual = trimesh.visual.TextureVisuals(uv=[[0, 0], [1, 0], [1, 1], [0, 1]])
        wall_mat = pyrender.MetallicRoughnessMaterial(
            baseColorTexture=pyrender.Texture(source=tex, source_channels="RGB"),
            metallicFactor=0.0, roughnessFactor=1.0,
        )
        prim = pyrender.Primitive(
            positions=np.asarray(quad.vertices, np.float32), texcoord_0=np.asarray(quad.visual.uv, np.float32),
            normals=np.tile(np.float32([0, 0, 1]), (4, 1)), indices=np.asarray(quad.faces, np.uint32),
            material=wall_mat,
        )
        pose = np.eye(4)
        pose[:3, 3] = [0.0, g.eye_level_y, wall_z]
        self._room_scene.add(pyrender.Mesh([prim]), pose=pose)
        shirt = self._shirt
        # Torso: a flattened ellipsoid dressing the scan's bare chest, plus
        # upper arms, all fixed in the world.
        half_w = g.shoulder_half_width
        torso = trimesh.creation.icosphere(subdivisions=3, radius=1.0)
        torso.apply_scale([half_w * 1.08, 0.30, 0.13])
        torso.apply_translation([0.0, g.shoulder_y - 0.30 + 0.015, g.chest_front_z - 0.13 + 0.005])
        self.scene.add(pyrender.Mesh.from_trimesh(torso, material=shirt, smooth=True))
        for side in (-1, 1):
            arm = trimesh.creation.capsule(height=0.35, radius=0.06)
            arm.apply_translation([side * (half_w * 0.95), g.shoulder_y - 0.25, g.chest_front_z - 0.12])
            self.scene.add(pyrender.Mesh.from_trimesh(arm, material=shirt, smooth=True))

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


def _room_texture(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A plain indoor wall with a door, a shelf with books and a framed picture."""
    base = rng.integers(170, 225, 3)
    img = np.empty((height, width, 3), np.uint8)
    img[:] = base
    shade = np.linspace(0.92, 1.05, width)[None, :, None]
    img = np.clip(img * shade, 0, 255).astype(np.uint8)
    door_x = int(rng.integers(width // 20, width // 5))
    door_col = tuple(int(c) for c in rng.integers(90, 150, 3))
    cv2.rectangle(img, (door_x, height // 6), (door_x + width // 7, height), door_col, -1)
    cv2.circle(img, (door_x + width // 8, height // 2 + 20), 4, (200, 190, 90), -1)
    shelf_y = int(rng.integers(height // 5, height // 3))
    sx0 = int(rng.integers(width // 2 + 40, width - 170))
    cv2.rectangle(img, (sx0, shelf_y), (sx0 + 150, shelf_y + 8), (110, 80, 50), -1)
    x = sx0 + 6
    while x < sx0 + 140:
        bw = int(rng.integers(6, 14))
        bh = int(rng.integers(22, 40))
        col = tuple(int(c) for c in rng.integers(30, 220, 3))
        cv2.rectangle(img, (x, shelf_y - bh), (x + bw, shelf_y - 1), col, -1)
        x += bw + 2
    px0 = int(rng.integers(width // 3, width // 2 - 40))
    py0 = int(rng.integers(height // 8, height // 4))
    cv2.rectangle(img, (px0, py0), (px0 + 70, py0 + 50), (60, 50, 40), -1)
    art = rng.integers(40, 230, (3, 4, 3)).astype(np.uint8)
    img[py0 + 5:py0 + 45, px0 + 5:px0 + 65] = cv2.resize(art, (60, 40), interpolation=cv2.INTER_LINEAR)
    return img
