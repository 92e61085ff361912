"""What a head cannot do: the limit that tells a measurement fault from a movement.

Physics and physiology: a deliberate neck movement, a flick included, stays
below `MAX_PLAUSIBLE_SPEED_DEG_S` (a flick of 15-20 deg in 0.2 s peaks near
200 deg/s; exercise tempo is 10-60 deg/s). A reading that moved further than
that speed allows over the interval, by more than the measurement's own
frame-to-frame noise, is face mesh re-locking onto a wrong half-face or
collapsing, or a switch between sources: not a movement.
"""

from __future__ import annotations

MAX_PLAUSIBLE_SPEED_DEG_S = 300.0
# Face mesh's largest frame-to-frame step on the real talking-head clips (tests/data/clips,
# 2,713 pairs of frames at 24-30 fps, people talking and turning up to ~25 deg, a hand over
# the face in one) was 9.3 deg; 10 deg covers it. At 30 fps a step is then impossible from
# 20 deg (a mesh collapsing from 56 to 28 deg between two frames of a held turn, rendered
# accuracy scene 503, was taken for a movement under the earlier fixed 30), at 15 fps from 30.
STEP_NOISE_DEG = 10.0


def impossible_step(moved_deg: float, dt_s: float) -> bool:
    """Whether a reading that moved `moved_deg` in `dt_s` (> 0) moved faster than a head can."""
    return moved_deg > MAX_PLAUSIBLE_SPEED_DEG_S * dt_s + STEP_NOISE_DEG
