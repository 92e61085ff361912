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
EYE_OUTER_DISTANCE_MM = 90.0
RIGHT_EYE_OUTER, LEFT_EYE_OUTER = 33, 263
