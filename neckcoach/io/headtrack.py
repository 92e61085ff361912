"""Follow face-mesh points with optical flow past the point where face mesh gives up.

Why: beyond about 55-65 deg of yaw face mesh saturates, then collapses (a
70 deg turn read as 40) and loses the face, while the near half of the face
(eye, brow, nose, cheek, ear) stays in view up to full profile. Points of the
last trustworthy mesh (the anchor) are followed frame to frame with
pyramidal Lucas-Kanade flow; the estimator fits the head's rotation from the
anchor's 3D landmarks to where those points are now (see
`core.headpose.tracked_rotation`). Drift is limited because every frame is
fitted to the anchor's shape, not added to the previous frame's estimate.

Cost: nothing while the head is near the front (the estimator asks for
tracking only at large yaw); there, one grey conversion and a forward and a
backward flow call on up to `max_points` points in the face's neighbourhood,
plus the estimator's fit: together about a third of a face-mesh inference on
a followed frame (benchmarks/README.md), far less than a second network such
as MediaPipe Pose.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Callable

import cv2
import numpy as np

# Landmarks that move with speech or gaze, or sit on the silhouette (where flow
# slides along the edge): never followed. Face oval and lips per MediaPipe's
# face-mesh topology, irises 468-477.
_FACE_OVAL = (10, 21, 54, 58, 67, 93, 103, 109, 127, 132, 136, 148, 149, 150, 152, 162, 172, 176,
              234, 251, 284, 288, 297, 323, 332, 338, 356, 361, 365, 377, 378, 379, 389, 397, 400,
              454)
_EYES_OUTER = (33, 263)
_MOUTH = (13, 14)  # inner lip midpoints
_NOSE_TIP = 1
_GAZE = tuple(range(468, 478))


@dataclass(frozen=True)
class TrackedPoints:
    """Where the anchor's points are in this frame."""

    anchor_id: int
    anchor_landmarks_px: np.ndarray  # (478, 3) face mesh of the anchor frame (x, y, z px)
    indices: np.ndarray  # (N,) landmark indices still followed
    points_px: np.ndarray  # (N, 2) their image positions now
    frames: int  # frames followed since the anchor


@lru_cache(maxsize=4)
def _excluded(n: int) -> np.ndarray:
    mask = np.zeros(n, bool)
    for i in (*_FACE_OVAL, *_GAZE):
        if i < n:
            mask[i] = True
    mask.flags.writeable = False
    return mask


def rigid_candidates(landmarks_px: np.ndarray) -> np.ndarray:
    """Indices of landmarks that stay rigid with the skull: above the mouth (the
    jaw moves with speech), not on the silhouette, not the irises."""
    lm = np.asarray(landmarks_px, float)
    n = len(lm)
    if n <= max(*_EYES_OUTER, *_MOUTH):
        return np.arange(0)
    eyes = lm[list(_EYES_OUTER), :2].mean(0)
    mouth = lm[list(_MOUTH), :2].mean(0)
    down = mouth - eyes
    length2 = float(down @ down)
    if length2 < 1.0:
        return np.arange(0)
    # 0 at the eye line, 1 at the mouth: keep the upper face and the nose.
    along = (lm[:, :2] - eyes) @ down / length2
    keep = (along < 0.75) & ~_excluded(n)
    # The half of the face turned towards the camera: the far half slides behind
    # the nose as the head turns on, and its points end on the silhouette,
    # where the flow sticks to the background's edge. Across = signed distance
    # from the midline (nose bridge to mouth), positive on the side the nose
    # points to.
    across_dir = np.array([-down[1], down[0]]) / np.sqrt(length2)
    nose_off = float((lm[_NOSE_TIP, :2] - (eyes + mouth) / 2) @ across_dir)
    across = (lm[:, :2] - (eyes + mouth) / 2) @ across_dir
    if abs(nose_off) > 0.05 * np.sqrt(length2):
        near = across * np.sign(nose_off) <= 0.1 * np.sqrt(length2)
        keep &= near
    return np.flatnonzero(keep)


class FeatureTracker:
    """Lucas-Kanade follower of an anchor mesh's best-textured rigid landmarks.

    Per frame: `update(grey, follow)` moves the current anchor's points
    into this frame (forward-backward checked) and remembers this frame as a
    candidate anchor; `confirm(landmarks_px)` then makes the candidate the
    anchor once the estimator has judged its mesh trustworthy.
    """

    def __init__(self, *, max_points: int = 48, fb_max_px: float = 1.0, window_px: int = 21,
                 levels: int = 3, min_points: int = 8, min_spacing_px: float = 5.0) -> None:
        if not 8 <= max_points <= 478:
            raise ValueError(f"max_points must be in 8..478, got {max_points!r}")
        if not 0.1 <= fb_max_px <= 10.0:
            raise ValueError(f"fb_max_px must be in [0.1, 10], got {fb_max_px!r}")
        self.max_points, self.fb_max_px, self.min_points = max_points, fb_max_px, min_points
        self.min_spacing_px = min_spacing_px
        self._margin_px = 3 * window_px
        self._lk = dict(winSize=(window_px, window_px), maxLevel=levels,
                        criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03))
        self.reset()

    def reset(self) -> None:
        self._anchor_id = 0
        self._anchor: np.ndarray | None = None
        self._frames = 0
        self._indices = np.arange(0)
        self._points = np.zeros((0, 2), np.float32)
        self._prev_grey: np.ndarray | None = None

    @property
    def active(self) -> bool:
        return self._anchor is not None and len(self._indices) >= self.min_points

    def update(self, grey: np.ndarray | None, follow: bool) -> TrackedPoints | None:
        """Follow the anchor's points into `grey` (uint8, H x W) if `follow`; None if not tracking."""
        out = None
        if grey is None:
            self._prev_grey = None
            return None
        if follow and self.active and self._prev_grey is not None \
                and self._prev_grey.shape == grey.shape:
            self._flow(self._prev_grey, grey)
            self._frames += 1
            if self.active:
                out = TrackedPoints(self._anchor_id, self._anchor, self._indices.copy(),
                                    self._points.astype(float), self._frames)
        elif not follow:
            self._anchor = None
        self._prev_grey = grey
        return out

    def confirm(self, landmarks_px: np.ndarray) -> None:
        """Make the last frame given to `update` the anchor, with these mesh landmarks."""
        grey = self._prev_grey
        if grey is None:
            return
        lm = np.asarray(landmarks_px, float)
        cand = rigid_candidates(lm)
        h, w = grey.shape
        xy = lm[cand, :2]
        inside = (xy[:, 0] >= 2) & (xy[:, 0] < w - 2) & (xy[:, 1] >= 2) & (xy[:, 1] < h - 2)
        cand, xy = cand[inside], xy[inside]
        if len(cand) < self.min_points:
            self._anchor = None
            return
        # Texture at each point: the smaller eigenvalue of the gradient matrix
        # (Shi-Tomasi), computed on the face's box only.
        x0, y0 = np.maximum(np.floor(xy.min(0)).astype(int) - 4, 0)
        x1, y1 = np.minimum(np.ceil(xy.max(0)).astype(int) + 5, (w, h))
        eig = cv2.cornerMinEigenVal(grey[y0:y1, x0:x1], 5)
        ix = np.clip(np.rint(xy[:, 0]).astype(int) - x0, 0, x1 - x0 - 1)
        iy = np.clip(np.rint(xy[:, 1]).astype(int) - y0, 0, y1 - y0 - 1)
        order = _spread(xy, np.argsort(-eig[iy, ix], kind="stable"), self.max_points,
                        self.min_spacing_px)
        self._anchor_id += 1
        self._anchor = lm
        self._frames = 0
        self._indices = cand[order]
        self._points = xy[order].astype(np.float32)

    def _flow(self, prev: np.ndarray, cur: np.ndarray) -> None:
        # Only the face's neighbourhood: the pyramids of the whole frame cost
        # more than the flow itself. The margin covers a fast turn's motion
        # between two frames at every pyramid level.
        h, w = cur.shape
        margin = self._margin_px
        x0, y0 = np.maximum(np.floor(self._points.min(0)).astype(int) - margin, 0)
        x1, y1 = np.minimum(np.ceil(self._points.max(0)).astype(int) + margin + 1, (w, h))
        offset = np.array([x0, y0], np.float32)
        prev, cur = prev[y0:y1, x0:x1], cur[y0:y1, x0:x1]
        p0 = (self._points - offset).reshape(-1, 1, 2)
        p1, st1, _ = cv2.calcOpticalFlowPyrLK(prev, cur, p0, None, **self._lk)
        if p1 is None:
            self._indices, self._points = np.arange(0), np.zeros((0, 2), np.float32)
            return
        back, st2, _ = cv2.calcOpticalFlowPyrLK(cur, prev, p1, None, **self._lk)
        fb = np.linalg.norm((back - p0).reshape(-1, 2), axis=1)
        ok = (st1.ravel() == 1) & (st2.ravel() == 1) & (fb <= self.fb_max_px)
        self._indices = self._indices[ok]
        self._points = p1.reshape(-1, 2)[ok] + offset


def _spread(xy: np.ndarray, order: np.ndarray, count: int, spacing: float) -> np.ndarray:
    """Up to `count` of `order` (best texture first), at most one per `spacing`-pixel cell,
    so that the points cover the face instead of clustering on one eyebrow."""
    cells = np.floor(xy[order] / spacing).astype(np.int64)
    keys = cells[:, 0] * 100003 + cells[:, 1]
    _, first = np.unique(keys, return_index=True)  # the best point of each cell
    return order[np.sort(first)][:count]


class ProfileFollower:
    """What the detector keeps to follow the head: the tracker, whether the
    estimator wants following (`wanted`) and the last mesh, to anchor on.

    Separate from `FaceDetector` so that a replay of cached face-mesh output
    (benchmarks/accuracy.py `--cache`) follows exactly as the live detector does.
    """

    def __init__(self) -> None:
        self.tracker = FeatureTracker()
        self.wanted = False
        self._last_landmarks: np.ndarray | None = None

    def observe(self, landmarks_px: np.ndarray | None, grey: Callable[[], np.ndarray]
                ) -> TrackedPoints | None:
        """This frame's mesh (None: no face) and a way to get its grey image (only
        computed while following); returns the followed points, if any."""
        self._last_landmarks = landmarks_px
        if self.wanted or self.tracker.active:
            return self.tracker.update(grey(), self.wanted)
        self.tracker.update(None, False)
        return None

    def confirm_anchor(self) -> None:
        """The last frame's face mesh was judged trustworthy: follow its points from now on."""
        if self._last_landmarks is not None:
            self.tracker.confirm(self._last_landmarks)

    def reset(self) -> None:
        self.tracker.reset()
        self.wanted = False
        self._last_landmarks = None


class FollowsProfile:
    """What the estimator asks of a detector that follows the head with a `ProfileFollower`
    (`self.follower`): one definition for the live `FaceDetector` and the benchmark's replay
    of cached face-mesh output, so that both follow alike."""

    follower: ProfileFollower

    @property
    def tracking_wanted(self) -> bool:
        return self.follower.wanted

    @tracking_wanted.setter
    def tracking_wanted(self, wanted: bool) -> None:
        self.follower.wanted = bool(wanted)

    def confirm_anchor(self) -> None:
        """The last frame's face mesh was judged trustworthy: follow its points from now on."""
        self.follower.confirm_anchor()

    def follow(self, obs, grey: Callable[[], np.ndarray]):
        """`obs` (a `FaceObservation`) with this frame's followed points, while the head is followed."""
        tracked = self.follower.observe(obs.landmarks_px if obs.face_found else None, grey)
        return obs if tracked is None else replace(obs, tracked=tracked)


def grey_of(frame_rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2GRAY)
