"""A small generic 3D face model (millimetres) for head-pose fitting.

Generated for this project from MediaPipe face-mesh landmarks of a still,
frontal face (tests/data/clips/single_face.mp4, all frames averaged), rotated
so the eye line is horizontal, mirror-symmetrised (left/right pairs averaged,
midline points put on x = 0) and scaled so the outer eye corners are 90 mm
apart (adult exocanthion width is ~86-92 mm). Only points that stay rigid while
talking are kept: no lips, jaw or chin (they move with speech) and no iris
(moves with gaze). Frame: x towards the subject's left (image right), y down,
z away from the camera; origin midway between the face-edge points near the
ears (234/454), close to the head's rotation centre, so that the translation
of the fit approximates the head position.

Five of the points are on face mesh's face oval, its outline: the forehead top
(10) and the face's sides at ear level (127, 234, 356, 454). Face mesh keeps
them on the outline rather than on the same skin. On the rendered virtual
patient, against where the scan's skin under them (at neutral) really went,
the sides' image y stayed behind by 15-21 px at 30-40 deg of flexion and the
forehead top's by 9-15 (eye corners 73 px apart; the other points within
4 px): seen face on, the sides are the silhouette, whose outline a nod only
slides along, and the forehead top is the border of the mesh at the hairline.
Being the model's deepest points, the sides carry most of the pitch lever, and
flexion read 20 % short (`OutlineFit`). Across the outline (x) they still say
where the face's edge is, which yaw and scale need. So all five count by their
image x (`COORD_WEIGHTS`), and the sides' y as far as the skin under them
faces the camera (`SIDE_NORMALS`, weighed by `geometry.OutlineFit`): on the
near side of a turned head it is off the silhouette and their y is on the
skin again.
"""

from __future__ import annotations

import numpy as np

# MediaPipe face-mesh index -> (x, y, z) mm.
_POINTS: dict[int, tuple[float, float, float]] = {
    1: (0.0, 22.9, -98.5),      # nose tip
    4: (0.0, 15.4, -100.8),
    6: (0.0, -17.8, -82.4),
    9: (0.0, -45.8, -79.9),
    10: (0.0, -77.8, -75.1),    # forehead
    168: (0.0, -26.9, -78.1),   # nasion
    33: (-45.0, -20.4, -55.6),  # right eye outer corner
    263: (45.0, -20.4, -55.6),  # left eye outer corner
    133: (-17.7, -18.8, -61.2),
    362: (17.7, -18.8, -61.2),
    50: (-50.9, 12.7, -60.5),   # cheeks
    280: (50.9, 12.7, -60.5),
    70: (-57.9, -37.3, -55.0),  # brow ends
    300: (57.9, -37.3, -55.0),
    98: (-20.1, 25.1, -74.4),   # nose wings
    327: (20.1, 25.1, -74.4),
    127: (-68.6, -15.2, -5.3),  # face edge near the ears
    356: (68.6, -15.2, -5.3),
    234: (-68.3, 0.0, 0.0),
    454: (68.3, 0.0, 0.0),
}

MODEL_INDICES: np.ndarray = np.array(sorted(_POINTS), dtype=int)
MODEL_POINTS_MM: np.ndarray = np.array([_POINTS[i] for i in MODEL_INDICES], dtype=float)
OUTLINE_INDICES: tuple[int, ...] = (10, 127, 234, 356, 454)
# The face's sides at ear level face sideways (model x).
_SIDE_NORMALS: dict[int, tuple[float, float, float]] = {
    127: (-1.0, 0.0, 0.0), 234: (-1.0, 0.0, 0.0), 356: (1.0, 0.0, 0.0), 454: (1.0, 0.0, 0.0)}
COORD_WEIGHTS: np.ndarray = np.array([(1.0, 0.0, 0.0) if i in OUTLINE_INDICES else (1.0, 1.0, 1.0)
                                      for i in MODEL_INDICES.tolist()])
"""Per model point, how much its landmark's x, y and z count in the fit (see above)."""
SIDE_NORMALS: np.ndarray = np.array([_SIDE_NORMALS.get(i, (0.0, 0.0, 0.0)) for i in MODEL_INDICES.tolist()])
"""Outward normal of the skin under the side outline points (zero rows for the others)."""
EYE_OUTER_DISTANCE_MM = 90.0
RIGHT_EYE_OUTER, LEFT_EYE_OUTER = 33, 263
