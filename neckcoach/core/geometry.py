"""Rotations, pinhole camera model and pose fitting (numpy only).

Camera frame: x right in the image, y down, z away from the camera. A head
rotation R maps head-model coordinates (same axes when the subject faces the
camera squarely) to camera coordinates. Angles follow the project signs and
the renderer's intrinsic order yaw -> pitch -> roll::

    R = Ry(-yaw) @ Rx(pitch) @ Rz(roll)      (camera axes, y down)

so yaw > 0 moves the nose to the image's right (subject's left), pitch > 0
moves it down (flexion) and roll > 0 moves the crown to the image's right.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def rot_x(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1.0, 0, 0], [0, c, -s], [0, s, c]])


def rot_y(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1.0, 0], [-s, 0, c]])


def rot_z(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


def rotation_from_angles(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    y, p, r = np.radians([yaw_deg, pitch_deg, roll_deg])
    return rot_y(-y) @ rot_x(p) @ rot_z(r)


def angles_from_rotation(rot: np.ndarray) -> tuple[float, float, float]:
    """Inverse of `rotation_from_angles`: (yaw, pitch, roll) in degrees.

    Well defined for |pitch| < 90 deg, so yaw up to +-180 deg does not collapse.
    """
    sp = float(np.clip(-rot[1, 2], -1.0, 1.0))
    pitch = np.arcsin(sp)
    roll = np.arctan2(rot[1, 0], rot[1, 1])
    yaw = -np.arctan2(rot[0, 2], rot[2, 2])
    return float(np.degrees(yaw)), float(np.degrees(pitch)), float(np.degrees(roll))


def rodrigues(w: np.ndarray) -> np.ndarray:
    """Rotation matrix of a rotation vector (axis * angle in radians)."""
    th = float(np.linalg.norm(w))
    if th < 1e-12:
        return np.eye(3) + skew(w)
    k = skew(np.asarray(w) / th)
    return np.eye(3) + np.sin(th) * k + (1 - np.cos(th)) * (k @ k)


def skew(v: np.ndarray) -> np.ndarray:
    return np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])


def rotation_angle_deg(rot: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip((np.trace(rot) - 1) / 2, -1.0, 1.0))))


@dataclass(frozen=True)
class Camera:
    """Pinhole camera from image size and horizontal field of view (no distortion)."""

    width: int
    height: int
    hfov_deg: float = 60.0

    def __post_init__(self) -> None:
        if not 10.0 <= self.hfov_deg <= 170.0:
            raise ValueError(f"hfov_deg must be in [10, 170], got {self.hfov_deg!r}")
        if self.width < 1 or self.height < 1:
            raise ValueError(f"width/height must be >= 1, got {self.width}x{self.height}")

    @property
    def focal_px(self) -> float:
        return self.width / 2.0 / np.tan(np.radians(self.hfov_deg) / 2.0)

    @property
    def center(self) -> np.ndarray:
        return np.array([self.width / 2.0, self.height / 2.0])

    def project(self, points_cam: np.ndarray) -> np.ndarray:
        p = np.atleast_2d(points_cam)
        return self.focal_px * p[:, :2] / p[:, 2:3] + self.center

    def ray(self, pixel: np.ndarray) -> np.ndarray:
        d = np.array([*(np.asarray(pixel, float) - self.center) / self.focal_px, 1.0])
        return d / np.linalg.norm(d)


def umeyama(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None
            ) -> tuple[np.ndarray, float, np.ndarray]:
    """Similarity (R, s, t) minimising sum w |s R src + t - dst|^2 (Umeyama 1991)."""
    w = np.ones(len(src)) if weights is None else np.asarray(weights, float)
    w = w / w.sum()
    mu_s, mu_d = w @ src, w @ dst
    a, b = src - mu_s, dst - mu_d
    cov = (b * w[:, None]).T @ a
    u, d, vt = np.linalg.svd(cov)
    sign = np.sign(np.linalg.det(u @ vt)) or 1.0
    e = np.diag([1.0, 1.0, sign])
    rot = u @ e @ vt
    var_s = float(w @ np.sum(a * a, axis=1))
    scale = float(np.trace(np.diag(d) @ e) / var_s)
    return rot, scale, mu_d - scale * rot @ mu_s


def rotation_to(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest rotation taking direction a to direction b."""
    a = a / np.linalg.norm(a)
    b = b / np.linalg.norm(b)
    v = np.cross(a, b)
    c = float(a @ b)
    if np.linalg.norm(v) < 1e-12:
        return np.eye(3) if c > 0 else rodrigues(np.array([np.pi, 0.0, 0.0]))
    k = skew(v)
    return np.eye(3) + k + k @ k * ((1 - c) / float(v @ v))


def weak_perspective_pose(model_mm: np.ndarray, obs_px3: np.ndarray, camera: Camera
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Pose from MediaPipe's 3D landmarks (x, y px; z px) by similarity alignment.

    The landmarks describe the face as seen along the line of sight, so the
    fitted rotation is relative to the viewing ray; we rotate it by the ray's
    direction to get the camera-frame rotation. Depth comes from the scale.
    """
    centred = obs_px3.copy()
    centred[:, :2] -= camera.center
    rot_app, scale, t = umeyama(model_mm, centred)
    z_mm = camera.focal_px / scale
    origin_px = t[:2] + camera.center
    ray = camera.ray(origin_px)
    rot = rotation_to(np.array([0.0, 0.0, 1.0]), ray) @ rot_app
    return rot, ray * z_mm / ray[2]


def solve_pnp(model_mm: np.ndarray, obs_px: np.ndarray, camera: Camera, rot0: np.ndarray,
              t0: np.ndarray, iterations: int = 10) -> tuple[np.ndarray, np.ndarray, float]:
    """Full-perspective pose by Levenberg-Marquardt on reprojection error.

    Returns (R, t_mm, rms_px). Starts from (rot0, t0), e.g. the weak-perspective fit.
    """
    f = camera.focal_px
    rot, t = rot0.copy(), np.asarray(t0, float).copy()
    lam = 1e-3

    def residual(r: np.ndarray, tt: np.ndarray) -> np.ndarray:
        p = model_mm @ r.T + tt
        return (camera.project(p) - obs_px).ravel()

    res = residual(rot, t)
    cost = float(res @ res)
    for _ in range(iterations):
        rp = model_mm @ rot.T
        p = rp + t
        x, y, z = p[:, 0], p[:, 1], p[:, 2]
        n = len(p)
        du = np.zeros((n, 2, 3))
        du[:, 0, 0] = f / z
        du[:, 0, 2] = -f * x / z**2
        du[:, 1, 1] = f / z
        du[:, 1, 2] = -f * y / z**2
        dp_dw = -np.stack([skew(v) for v in rp])  # d(w x rp)/dw = -[rp]x
        jac = np.concatenate([du @ dp_dw, du], axis=2).reshape(2 * n, 6)
        h = jac.T @ jac
        g = jac.T @ res
        step = -np.linalg.solve(h + lam * np.diag(np.diag(h)), g)
        new_rot = rodrigues(step[:3]) @ rot
        new_t = t + step[3:]
        new_res = residual(new_rot, new_t)
        new_cost = float(new_res @ new_res)
        if new_cost < cost:
            rot, t, res, cost = new_rot, new_t, new_res, new_cost
            lam = max(lam / 10, 1e-7)
            if np.linalg.norm(step) < 1e-7:
                break
        else:
            lam *= 10
    return rot, t, float(np.sqrt(cost / len(obs_px)))
