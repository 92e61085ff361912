"""How much of the picture just around the face changed since the last frame.

Why: something moving close behind or beside the head (a person walking past, a hand)
disturbs face mesh's landmarks without being seen as a face, and the head's depth, read
from the face's size, is where that shows: on rendered population seed 401031 a person
crossing 0.56 m behind a patient holding a chin tuck 0.96 m from the camera swung the
depth by 15 mm within 0.2 s, read as a 150 mm/s velocity change and warned as a jolt
("Careful!") with the head still; the same session rendered without the passer-by read
the depth steady within 3 mm. The angles moved by 1-1.5 deg there, within what a trusted
angle may be off. `core.headpose` distrusts the depth while the surround moves.

The share: pixels of a ring around the face's landmark box (from `RING_INNER` to
`RING_OUTER` half-sizes of the box from its centre, outside the head's own silhouette)
whose grey level changed by more than `CHANGE_SIGMAS` times the frame's pixel noise and
at least `MIN_CHANGE_GREY`, on every `SUBSAMPLE`-th pixel of every `SUBSAMPLE`-th row.
Figures (measured on rendered clips and the real clips of tests/data/clips, stop 44,
benchmarks/README.md "Stop 44: a person passing behind a chin tuck"):
- the patient's own movements at a steady camera, rendered: at most 0.004 of the ring
  over chin tucks at up to 15 deg of turn, nod and tilt, 0.013 over nods to 55 deg;
- real people talking at a webcam (cap12, cap13, franck, single_face, face_noface): the
  99th percentile of frames 0.013-0.026, 0.059 at most; hands over the face and
  expressions (WolfgangLanger): 0.09 at the 99th percentile;
- a person walking 0.3-0.9 m behind the patient: 0.04-0.15 at the peak.
The floor of 25 grey levels (a tenth of the range) keeps out the small changes of video
compression and of a real person's breathing and hair: with a noise threshold alone, set
from a mostly still frame's median, 75 % of a still real face's frames passed 0.05.
"""

from __future__ import annotations

import math
from dataclasses import replace

import cv2
import numpy as np

SUBSAMPLE = 4
RING_INNER = 1.4
RING_OUTER = 2.2
CHANGE_SIGMAS = 4.0
MIN_CHANGE_GREY = 25.0
# Median |difference of two readings of unit-variance white noise| = 0.6745 * sqrt(2).
_MAD_DIFF = 0.6745 * math.sqrt(2.0)


def small_grey(frame_rgb: np.ndarray) -> np.ndarray:
    """The grey image `SurroundMotion` reads, from an RGB frame: every `SUBSAMPLE`-th pixel.

    Grey conversion is per pixel, so this equals `full_grey[::SUBSAMPLE, ::SUBSAMPLE]`
    exactly (a replay of cached grey frames reads the same), converting a sixteenth of the pixels.
    """
    return cv2.cvtColor(np.ascontiguousarray(frame_rgb[::SUBSAMPLE, ::SUBSAMPLE]), cv2.COLOR_RGB2GRAY)


class SurroundMotion:
    """Share of the ring around the face that changed since the previous frame (see above).

    `update(grey_small, box_px)` takes `small_grey` of the frame and the face's landmark
    box (x0, y0, x1, y1) in full-frame pixels, or None without a face; it returns 0.0
    when there is nothing to compare (the first frame, no face, a change of frame size).
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._previous: np.ndarray | None = None

    def update(self, grey_small: np.ndarray, box_px: tuple[float, float, float, float] | None) -> float:
        previous, self._previous = self._previous, grey_small
        if previous is None or box_px is None or previous.shape != grey_small.shape:
            return 0.0
        diff = cv2.absdiff(grey_small, previous)
        noise = _median(diff) / _MAD_DIFF + 0.5  # + half a grey level: a perfectly still frame
        threshold = max(CHANGE_SIGMAS * noise * math.sqrt(2.0), MIN_CHANGE_GREY)
        x0, y0, x1, y1 = (v / SUBSAMPLE for v in box_px)
        cx, cy = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
        half_w, half_h = max(0.5 * (x1 - x0), 1.0), max(0.5 * (y1 - y0), 1.0)
        height, width = diff.shape
        left, right = max(int(cx - RING_OUTER * half_w), 0), min(int(cx + RING_OUTER * half_w) + 1, width)
        top, bottom = max(int(cy - RING_OUTER * half_h), 0), min(int(cy + RING_OUTER * half_h) + 1, height)
        if right <= left or bottom <= top:
            return 0.0
        ys, xs = np.ogrid[top:bottom, left:right]
        reach = np.maximum(np.abs(xs - cx) / half_w, np.abs(ys - cy) / half_h)
        ring = (reach >= RING_INNER) & (reach <= RING_OUTER)
        count = int(ring.sum())
        if not count:
            return 0.0
        changed = diff[top:bottom, left:right] > threshold
        return float(np.count_nonzero(changed & ring)) / count


def _median(values: np.ndarray) -> float:
    """`np.median` of uint8 values, from their histogram: a sixth of the cost on a frame."""
    cumulative = np.cumsum(np.bincount(values.ravel(), minlength=256))
    n = int(cumulative[-1])
    low = int(np.searchsorted(cumulative, (n - 1) // 2, side="right"))
    high = int(np.searchsorted(cumulative, n // 2, side="right"))
    return 0.5 * (low + high)


def watched(obs, surround: SurroundMotion, grey_small: np.ndarray):
    """`obs` (a `FaceObservation`) with this frame's `surround_motion`: one definition for the
    live detector and the benchmarks' replay of cached frames."""
    share = surround.update(grey_small, obs.bbox_px)
    return replace(obs, surround_motion=share) if share else obs
