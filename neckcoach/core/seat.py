"""Move the neutral's position with the person when they move their seat.

Why: retraction is the head's backward shift from where it was at
calibration. A patient who sits back, or comes closer because the coach asked
("Please come a little closer"), moves the whole head by 100 mm or more, and
measured from the old position every later chin tuck starts 150 mm "forward":
the rep counter never finds the head at rest, and the record shows a
protrusion nobody made. A head slides on its neck by only a few centimetres
(chin tucks are prescribed at 10-25 mm, the bundled routine's out-of-range
limit is 40 mm), so a head resting still and level `shift_mm` or more from the
neutral position has moved with the trunk: that place becomes the neutral
position. The angles are left alone: they are the head's orientation, which
sitting elsewhere does not change.

Which still place is the new neutral: a chin tuck only ever moves the head
back from neutral, so of the places the head rested at since it left the old
one, the most forward is where it sits. A patient who comes closer and at once
starts tucking may hold a tuck for the whole still time before they ever rest
that long (rendered population seed 400659: 1 s of rest 210 mm closer, then a
3 s held tuck 15 mm back; taken from the tuck, every later rest read 15 mm
forward and no tuck was counted).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import replace

from neckcoach.core.calibration import Neutral
from neckcoach.core.checks import check_range
from neckcoach.core.kinematics import KinematicsFilter
from neckcoach.core.samples import HeadPose, Kinematics

# More than a head slides on its neck (see the module docstring): 1.5x the
# largest chin tuck the bundled routines allow.
SEAT_SHIFT_MM = 60.0
# Still: the smoothed depth's spread over the window. The smoothed value's
# jitter reaches ~1-2 mm in a dim room (benchmarks/README.md, seed 400001), and
# breathing sway moves the head a few millimetres; a chin tuck moves 10-25 mm.
SEAT_STILL_MM = 10.0
# As long as the neutral capture itself (`NeutralCalibrator.duration_s`).
SEAT_STILL_S = 2.5
# The shortest rest that counts as a place the head sat at: under half a second
# a 10-25 mm chin tuck made in 1-3 s moves less than `SEAT_STILL_MM` only at its
# turning points, which lie back of the neutral and so never win.
SEAT_REST_S = 0.5
# How far back the places are looked for: longer than the longest hold a
# bundled routine prescribes (10 s) plus the still time.
SEAT_LOOKBACK_S = 30.0


class SeatFollower:
    """Notices a still, level head resting far from the neutral position."""

    def __init__(self, *, shift_mm: float = SEAT_SHIFT_MM, still_mm: float = SEAT_STILL_MM,
                 still_s: float = SEAT_STILL_S) -> None:
        self.shift_mm = check_range("shift_mm", shift_mm, 1.0, 1000.0)
        self.still_mm = check_range("still_mm", still_mm, 0.0, 100.0)
        self.still_s = check_range("still_s", still_s, 0.1, 60.0)
        self._window: deque[tuple[float, float]] = deque()
        # Every frame since the head last rested near the neutral; nan where the depth was not trusted.
        self._history: deque[tuple[float, float]] = deque()

    def reset(self) -> None:
        self._window.clear()
        self._history.clear()

    def update(self, kin: Kinematics) -> float | None:
        """The retraction (mm) to take away from every later reading, once the head has moved seat."""
        x = kin.retraction_mm
        trusted = kin.face_found and kin.retraction_reliable and math.isfinite(x)
        self._remember(kin.t_s, x if trusted else math.nan)
        if not trusted:
            self._window.clear()  # only a continuous, trusted, level stretch counts
            return None
        w = self._window
        w.append((kin.t_s, x))
        while kin.t_s - w[0][0] > self.still_s:
            w.popleft()
        if kin.t_s - w[0][0] < 0.95 * self.still_s:
            return None
        xs = sorted(v for _, v in w)
        if xs[-1] - xs[0] > self.still_mm:
            return None
        median = xs[len(xs) // 2]
        if abs(median) < self.shift_mm:
            return None
        place = min([median] + [r for r in self._rests() if r * median > 0 and abs(r) >= self.shift_mm])
        w.clear()
        self._history.clear()
        return place

    def _remember(self, t_s: float, x: float) -> None:
        h = self._history
        h.append((t_s, x))
        while t_s - h[0][0] > SEAT_LOOKBACK_S:
            h.popleft()
        last = _rest(reversed(h), self.still_mm)
        if last is not None and abs(last) < self.shift_mm:
            while h[0][0] < t_s - SEAT_REST_S:  # resting near the neutral: the places before are left
                h.popleft()

    def _rests(self) -> list[float]:
        """The median depth of every `SEAT_REST_S` still stretch in the history."""
        h = list(self._history)
        rests = (_rest((h[i] for i in range(end, -1, -1)), self.still_mm) for end in range(len(h)))
        return [r for r in rests if r is not None]


def _rest(newest_first: Iterable[tuple[float, float]], still_mm: float) -> float | None:
    """The median depth of the `SEAT_REST_S` that ends with the first frame given, if the head
    was trusted and still throughout, else None."""
    xs: list[float] = []
    t_end = None
    for t, x in newest_first:
        t_end = t if t_end is None else t_end
        if math.isnan(x):
            return None
        xs.append(x)
        if t_end - t >= 0.95 * SEAT_REST_S:
            xs.sort()
            return xs[len(xs) // 2] if xs[-1] - xs[0] <= still_mm else None
    return None


def shifted(neutral: Neutral, retraction_mm: float) -> Neutral:
    """`neutral` with its position moved so that a head `retraction_mm` back now reads 0."""
    rn = neutral.rotation
    axis = rn[:, 2]  # the neutral head's z axis in camera coordinates (see Neutral.relative)
    pos = tuple(float(p + retraction_mm * a) for p, a in zip(neutral.position_mm, axis))
    return replace(neutral, position_mm=pos)


def follow_seat(neutral: Neutral, filt: KinematicsFilter, seat: SeatFollower | None,
                pose: HeadPose) -> tuple[Neutral, Kinematics]:
    """One pose through `neutral` and `filt`; if `seat` says the person moved, the
    neutral moves with them and the filter restarts from the new zero (a 150 mm
    step differentiated would be a violent movement nobody made)."""
    kin = filt.update(neutral.relative(pose))
    moved = seat.update(kin) if seat is not None else None
    if moved is None:
        return neutral, kin
    neutral = shifted(neutral, moved)
    filt.reset()
    kin = filt.update(neutral.relative(pose))
    kin.extra["seat_moved_mm"] = round(moved, 1)
    # The move that ended here was the trunk's, not a rep: the coaches drop the
    # attempt in progress, as after any restart of the measurement.
    kin.extra["tracking_restarted"] = True
    return neutral, kin


def seat_move(kin: Kinematics) -> dict | None:
    """The record of a seat move on this frame, for session.json's calibration: when, and how far
    back (negative: closer to the camera) the neutral position moved."""
    moved = kin.extra.get("seat_moved_mm")
    return None if moved is None else {"t_s": round(kin.t_s, 3), "retraction_mm": moved}
