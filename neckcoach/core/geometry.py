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

import math
from dataclasses import dataclass
from functools import cached_property

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
    """Ry(-yaw) @ Rx(pitch) @ Rz(roll), multiplied out (runs every frame in calibration)."""
    y, p, r = math.radians(yaw_deg), math.radians(pitch_deg), math.radians(roll_deg)
    ca, sa = math.cos(y), -math.sin(y)
    cp, sp = math.cos(p), math.sin(p)
    cr, sr = math.cos(r), math.sin(r)
    return np.array([[ca * cr + sa * sp * sr, sa * sp * cr - ca * sr, sa * cp],
                     [cp * sr, cp * cr, -sp],
                     [ca * sp * sr - sa * cr, sa * sr + ca * sp * cr, ca * cp]])


def angles_from_rotation(rot: np.ndarray) -> tuple[float, float, float]:
    """Inverse of `rotation_from_angles`: (yaw, pitch, roll) in degrees.

    Well defined for |pitch| < 90 deg, so yaw up to +-180 deg does not collapse.
    """
    # math on five floats: numpy's per-call cost is ~10x the arithmetic here,
    # and this runs twice a frame (estimator, calibration).
    (_, r01, r02), (r10, r11, r12), (_, _, r22) = rot.tolist()
    pitch = math.asin(min(max(-r12, -1.0), 1.0))
    return (-math.degrees(math.atan2(r02, r22)), math.degrees(pitch),
            math.degrees(math.atan2(r10, r11)))


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

    @cached_property
    def focal_px(self) -> float:
        return self.width / 2.0 / math.tan(math.radians(self.hfov_deg) / 2.0)

    @cached_property
    def center(self) -> np.ndarray:
        """(cx, cy), read-only: computed once per camera (the fit uses it every frame)."""
        c = np.array([self.width / 2.0, self.height / 2.0])
        c.flags.writeable = False
        return c

    def project(self, points_cam: np.ndarray) -> np.ndarray:
        p = np.atleast_2d(points_cam)
        return self.focal_px * p[:, :2] / p[:, 2:3] + self.center


class SimilarityFit:
    """Umeyama (1991) similarity fit to a fixed source point set, e.g. the face model.

    What depends only on the source (weights, centroid, spread) is computed
    once, so a per-frame fit costs one small matrix product and one 3x3 SVD.
    Because the weighted source is centred, the cross-covariance needs no
    centring of the destination.
    """

    def __init__(self, src: np.ndarray, weights: np.ndarray | None = None) -> None:
        src = np.asarray(src, float)
        if src.ndim != 2 or src.shape[1] != 3 or len(src) < 3:
            raise ValueError(f"src must be an (N >= 3, 3) array, got shape {src.shape}")
        w = np.full(len(src), 1.0 / len(src)) if weights is None else np.asarray(weights, float)
        if w.shape != (len(src),) or not np.all(w >= 0) or not w.sum() > 0:
            raise ValueError(f"weights must be {len(src)} values >= 0 with a positive sum, got {weights!r}")
        w = w / w.sum()
        self.src = src
        self.weights = w
        self.mu_src = w @ src
        centred = src - self.mu_src
        self._weighted_centred = centred * w[:, None]
        self.var_src = float(w @ np.sum(centred * centred, axis=1))

    def fit(self, dst: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
        """(R, s, t) minimising sum w |s R src + t - dst|^2."""
        mu_d = self.weights @ dst
        cov = dst.T @ self._weighted_centred
        u, d, vt = np.linalg.svd(cov)
        # sign(det(U V^T)) is sign(det(cov)) since det(D) >= 0; the explicit
        # product is only needed when cov is singular.
        det = _det3(cov)
        sign = (1.0 if det > 0 else -1.0) if det != 0 else (float(np.sign(np.linalg.det(u @ vt))) or 1.0)
        if sign < 0:
            u[:, 2] *= -1.0  # U diag(1, 1, -1), in place: svd returned a fresh array
        rot = u @ vt
        d0, d1, d2 = d.tolist()
        scale = (d0 + d1 + sign * d2) / self.var_src
        return rot, scale, mu_d - scale * (rot @ self.mu_src)


class OutlineFit(SimilarityFit):
    """Similarity fit in which each coordinate of each point counts as far as it is measured.

    Why: face mesh keeps its outline points on the face's outline, not on the
    same patch of skin. Where the skin under such a point is seen edge-on (the
    silhouette) the point slides along the outline as the head turns out of
    plane, and an unweighted fit follows the slide (see `face_model`). So:
    - `weights` (N, 3): how much each coordinate counts (1 measured, 0 not);
    - `normals` (N, 3): for points on the face's side outline, the outward
      normal of the skin under them (zero rows elsewhere); their image y,
      which runs along that outline, counts by how much this skin faces the
      camera, c = cos(normal, towards the camera) in the fit's frame
      (`weak_perspective_pose`): nothing on the silhouette (c = 0), fully
      face on. The weight is sqrt(c), rising quickly off the silhouette: on
      the tuning clips, c itself read roll worse than the unweighted fit on
      a turned, bent head seen from below (MAE 2.93 deg against 2.58, 30
      frames over 6 deg against 23), whose near side's y was back on the
      skin; sqrt(c) read 2.55 and 24, and flexion within 0.5 deg of c.
    Solved by Gauss-Newton on rotation, scale and translation from the
    Umeyama fit of all coordinates: two steps agreed with the converged fit
    within 0.05 deg on the tuning clips (benchmarks/accuracy.py).
    """

    def __init__(self, src: np.ndarray, weights: np.ndarray, normals: np.ndarray, *,
                 max_iterations: int = 2) -> None:
        super().__init__(src)
        weights, normals = np.asarray(weights, float), np.asarray(normals, float)
        if weights.shape != self.src.shape or normals.shape != self.src.shape:
            raise ValueError(f"weights and normals must have the shape of src {self.src.shape}, "
                             f"got {weights.shape} and {normals.shape}")
        if not np.all(weights >= 0) or not weights.sum() > 0:
            raise ValueError("weights must be >= 0 with a positive sum")
        if max_iterations < 1:
            raise ValueError(f"max_iterations must be >= 1, got {max_iterations!r}")
        self.coord_weights = weights
        self._side = np.flatnonzero(np.abs(normals).sum(axis=1) > 0)
        self._normals = normals[self._side]
        self.max_iterations = max_iterations
        self.last_weights = weights

    def fit(self, dst: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
        """(R, s, t) minimising the coordinate-weighted squares; `last_weights` are the weights used."""
        dst = np.asarray(dst, float)
        rot, scale, t = super().fit(dst)
        src, n = self.src, len(self.src)
        jac = np.zeros((n, 3, 7))
        jac[:, :, 4:] = np.eye(3)
        w = self.coord_weights.copy()
        for _ in range(self.max_iterations):
            if len(self._side):
                # z is away from the camera: skin facing it has a normal with z < 0.
                w[self._side, 1] = np.sqrt(np.clip(-(self._normals @ rot[2]), 0.0, 1.0))
            rm = src @ rot.T
            srm = scale * rm
            sw = np.sqrt(w)
            res = ((srm + t - dst) * sw).ravel()
            # d(s R m)/d(rotation increment w, applied as exp([w]x) R) = -[s R m]x.
            x, y, z = srm.T
            jac[:, 0, 1], jac[:, 0, 2] = z, -y
            jac[:, 1, 0], jac[:, 1, 2] = -z, x
            jac[:, 2, 0], jac[:, 2, 1] = y, -x
            jac[:, :, 3] = rm
            jw = (jac * sw[:, :, None]).reshape(3 * n, 7)
            step = -_solve_spd(jw.T @ jw, jw.T @ res)
            rot = _small_rotation(step[0], step[1], step[2]) @ rot
            scale += float(step[3])
            t = t + step[4:]
            if max(abs(step[0]), abs(step[1]), abs(step[2])) < 1e-4:  # 0.006 deg: far below what the mesh resolves
                break
        self.last_weights = w
        return rot, scale, t


def _small_rotation(wx: float, wy: float, wz: float) -> np.ndarray:
    """`rodrigues` in plain floats (a Gauss-Newton step; numpy's per-call cost dominates here)."""
    th = math.sqrt(wx * wx + wy * wy + wz * wz)
    if th < 1e-12:
        return np.array([[1.0, -wz, wy], [wz, 1.0, -wx], [-wy, wx, 1.0]])
    kx, ky, kz = wx / th, wy / th, wz / th
    s, c = math.sin(th), 1.0 - math.cos(th)
    return np.array([[1.0 - c * (ky * ky + kz * kz), -s * kz + c * kx * ky, s * ky + c * kx * kz],
                     [s * kz + c * kx * ky, 1.0 - c * (kx * kx + kz * kz), -s * kx + c * ky * kz],
                     [-s * ky + c * kx * kz, s * kx + c * ky * kz, 1.0 - c * (kx * kx + ky * ky)]])


def _det3(m: np.ndarray) -> float:
    (a, b, c), (d, e, f), (g, h, i) = m.tolist()
    return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)


def umeyama(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None
            ) -> tuple[np.ndarray, float, np.ndarray]:
    """Similarity (R, s, t) minimising sum w |s R src + t - dst|^2 (Umeyama 1991)."""
    return SimilarityFit(src, weights).fit(dst)


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


def _rotation_from_optical_axis(x: float, y: float, z: float) -> np.ndarray:
    """`rotation_to((0, 0, 1), (x, y, z))` for a unit vector with z > 0, in closed form.

    I + [v]x + [v]x^2 / (1 + c) with v = (-y, x, 0), c = z, written out: the
    weak-perspective fit needs it every frame.
    """
    k = 1.0 / (1.0 + z)
    return np.array([[1.0 - x * x * k, -x * y * k, x],
                     [-x * y * k, 1.0 - y * y * k, y],
                     [-x, -y, z]])


def ray_rotation(point: np.ndarray) -> np.ndarray:
    """The rotation taking the optical axis onto the viewing ray of `point` (camera frame).

    `ray_rotation(p).T @ R` is a head rotation R as seen along that ray: what face
    mesh sees of a face that is off the image centre.
    """
    x, y, z = (float(v) for v in point)
    norm = math.sqrt(x * x + y * y + z * z)
    return _rotation_from_optical_axis(x / norm, y / norm, z / norm)


def weak_perspective_pose(model_mm: np.ndarray | SimilarityFit, obs_px3: np.ndarray, camera: Camera
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Pose from MediaPipe's 3D landmarks (x, y px; z px) by similarity alignment.

    The landmarks describe the face as seen along the line of sight, so the
    fitted rotation is relative to the viewing ray; we rotate it by the ray's
    direction to get the camera-frame rotation. Depth comes from the scale.
    `model_mm` may be a prepared `SimilarityFit` of the model (cheaper per frame).
    """
    fit = model_mm if isinstance(model_mm, SimilarityFit) else SimilarityFit(model_mm)
    # Rotation and scale do not depend on where the pixels' origin is, so the
    # image centre is taken off the fitted translation only.
    rot_app, scale, t = fit.fit(obs_px3)
    cx, cy = camera.center.tolist()
    f = camera.focal_px
    # The model origin's viewing ray, (x, y, 1) in normalised image coordinates.
    tx, ty, _ = t.tolist()
    dx, dy = (tx - cx) / f, (ty - cy) / f
    z_mm = f / scale
    norm = math.sqrt(dx * dx + dy * dy + 1.0)
    rot = _rotation_from_optical_axis(dx / norm, dy / norm, 1.0 / norm) @ rot_app
    return rot, np.array([dx * z_mm, dy * z_mm, z_mm])


def width_depth_mm(model_mm: np.ndarray, obs_px: np.ndarray, weights: np.ndarray, camera: Camera,
                   rot: np.ndarray, t: np.ndarray, iterations: int = 5) -> float:
    """Depth (mm) at which the model, turned by `rot` and moved along `t`'s viewing ray, best
    matches the image x-coordinates `obs_px[:, 0]` (weighted): the face's depth from its width.

    Why: a nod turns the face about its left-right axis, which leaves the points' x where
    they were (but for perspective), so this depth does not depend on how well the model's
    heights and relief match the face; the whole fit's scale does. Gauss-Newton from `t`'s depth.
    """
    pts = np.asarray(model_mm, float) @ rot.T
    ray_x = float(t[0] / t[2])
    f, cx = camera.focal_px, float(camera.center[0])
    w = np.asarray(weights, float)
    z = float(t[2])
    for _ in range(iterations):
        depth = pts[:, 2] + z
        residual = f * (pts[:, 0] + z * ray_x) / depth + cx - obs_px[:, 0]
        slope = f * (ray_x * pts[:, 2] - pts[:, 0]) / (depth * depth)
        step = float(np.sum(w * residual * slope)) / max(float(np.sum(w * slope * slope)), 1e-12)
        z -= step
        if abs(step) < 0.01:
            break
    return z


def _solve_spd(h: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve h x = b for a small symmetric positive-definite h (Cholesky).

    `np.linalg.solve` costs ~200 us on a 6x6 system here (and milliseconds on a
    busy machine) against ~3 us for `np.linalg.cholesky`; the two triangular
    solves are a few dozen multiply-adds.
    """
    low = np.linalg.cholesky(h).tolist()
    y = b.tolist()
    n = len(y)
    for i in range(n):
        row = low[i]
        y[i] = (y[i] - sum(row[k] * y[k] for k in range(i))) / row[i]
    for i in reversed(range(n)):
        y[i] = (y[i] - sum(low[k][i] * y[k] for k in range(i + 1, n))) / low[i][i]
    return np.array(y)


def solve_pnp(model_mm: np.ndarray, obs_px: np.ndarray, camera: Camera, rot0: np.ndarray,
              t0: np.ndarray, iterations: int = 10, weights: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray, float]:
    """Full-perspective pose by Levenberg-Marquardt on reprojection error.

    Returns (R, t_mm, rms_px). Starts from (rot0, t0), e.g. the weak-perspective fit.
    `weights` (N, 2), if given, weigh each point's squared x and y error (see
    `OutlineFit`); the rms is then per point over the weighted coordinates.
    """
    f = camera.focal_px
    rot, t = rot0.copy(), np.asarray(t0, float).copy()
    lam = 1e-3
    sw = None if weights is None else np.sqrt(np.asarray(weights, float)).ravel()
    n_points = len(obs_px) if weights is None else max(float(np.sum(weights)) / 2.0, 1e-9)

    def residual(r: np.ndarray, tt: np.ndarray) -> np.ndarray:
        p = model_mm @ r.T + tt
        res = (camera.project(p) - obs_px).ravel()
        return res if sw is None else res * sw

    res = residual(rot, t)
    cost = float(res @ res)
    for _ in range(iterations):
        rp = model_mm @ rot.T
        p = rp + t
        x, y, z = p[:, 0], p[:, 1], p[:, 2]
        rx, ry, rz = rp[:, 0], rp[:, 1], rp[:, 2]
        # du/dp = [[a, 0, bx], [0, a, by]] and d(w x rp)/dw = -[rp]x, multiplied
        # out per point (a Python loop over the points cost ~10x this).
        a = f / z
        bx, by = -a * x / z, -a * y / z
        zero = np.zeros_like(a)
        jac = np.empty((len(p), 2, 6))
        jac[:, 0] = np.column_stack([bx * ry, a * rz - bx * rx, -a * ry, a, zero, bx])
        jac[:, 1] = np.column_stack([by * ry - a * rz, -by * rx, a * rx, zero, a, by])
        jac = jac.reshape(2 * len(p), 6)
        if sw is not None:
            jac = jac * sw[:, None]
        h = jac.T @ jac
        g = jac.T @ res
        step = -_solve_spd(h + lam * np.diag(np.diag(h)), g)
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
    return rot, t, float(np.sqrt(cost / n_points))
