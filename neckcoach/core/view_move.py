"""Tell when the camera itself moved after the neutral was taken.

Why: every angle is read relative to the neutral, as the camera saw it. A laptop lid
tilted or a camera raised after the neutral was taken moves every later reading by
the camera's own turn: rendered population seed 401255 raised its camera and angled it
at the face again 0.4 s after its neutral was taken, every reading was then 11.5 deg
off, the head was never "back at neutral" and nothing was counted in 140 s. The head's
own readings cannot tell this from a patient who holds their head tilted (a camera
raised and angled at the face again keeps the face in the middle of the picture), but
the room behind the patient can: it shifts in the picture only when the camera moves
(`neckcoach.io.room_watch` measures that shift; this module decides from it).

`RoomView` is the room's offset in the picture from where it was when it was first
watched, in degrees of the camera's turn (pan, tilt), or None when the room cannot
be followed (a bare wall, a person in front of it, the camera shaken past tracking);
`chain` counts the times the watch started afresh, so that offsets of different chains
are never compared.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from neckcoach.core.checks import check_range

# A camera turned by more than this moves every reading from the neutral by more than
# the whole accuracy budget of an angle (issue #14: 2 deg MAE), so the neutral is no
# longer the patient's. A camera only pushed along the desk shifts the room as well
# (by its travel over the wall's distance); re-taking the neutral then costs the patient
# a few seconds and no reading.
MOVE_DEG = 2.0
# The room at rest again: its offset within this over `SETTLE_S`. A still camera's offset
# stayed within 0.25 deg over whole real clips (tests/data/clips, compressed webcam video)
# and 0.01 deg on rendered ones (benchmarks/README.md, stop 52); a lid let go wobbles for
# a fraction of a second.
STILL_DEG = 0.5
SETTLE_S = 0.5
# Moving, for what is read meanwhile: the room shifted by more than this within `SETTLE_S`.
# Half the move that matters: a reading off by less is within half an angle's accuracy
# budget. A real clip's room (tests/data/clips/single_face.mp4, played back and forth)
# shifted by more than 0.5 deg within half a second in 131 of 420 frames, by more than 1 deg
# in 17; when the neutral's capture was held while "moving" at 0.5 deg, no neutral was ever
# taken there (stop 52).
MOVING_DEG = 1.0


@dataclass(frozen=True)
class RoomView:
    """The room's offset in the picture (see the module docstring)."""

    offset_deg: tuple[float, float] | None
    chain: int = 0

    @classmethod
    def unseen(cls, chain: int = 0) -> "RoomView":
        return cls(None, chain)


class ViewMonitor:
    """Says once, when the camera has come to rest again, that it moved `move_deg` or more
    from where it stood when the neutral was taken (`update` returns how far, else None).

    `mark_neutral(t0_s, t1_s)` names the neutral's capture: the room's offset then is the
    reference (the median of the capture's offsets, if all were seen in one chain).
    `moving` says the room moved by more than `moving_deg` within the last `settle_s`: what
    is read meanwhile is the camera's turn as much as the head's. `displaced` says it stands
    `move_deg` or more from the neutral's room and the move has not been told yet: what is
    read is off by the camera's turn. Between the two, as the camera came to rest and before
    it was still for `settle_s`, a lid tilted during a held nod drew "Hold it a little
    longer" 0.05 s before the move was told (whole rendered session, stop 53).
    """

    def __init__(self, *, move_deg: float = MOVE_DEG, still_deg: float = STILL_DEG,
                 settle_s: float = SETTLE_S, moving_deg: float = MOVING_DEG) -> None:
        self.move_deg = check_range("move_deg", move_deg, 0.1, 45.0)
        self.still_deg = check_range("still_deg", still_deg, 0.01, 10.0)
        self.settle_s = check_range("settle_s", settle_s, 0.0, 10.0)
        self.moving_deg = check_range("moving_deg", moving_deg, self.still_deg, 45.0)
        self.reset()

    def reset(self) -> None:
        self._seen: deque[tuple[float, tuple[float, float], int]] = deque()
        self._reference: tuple[tuple[float, float], int] | None = None
        self.moving = False
        self.displaced = False
        self.settled = False  # the room's offset within `still_deg` for `settle_s`

    @property
    def watching(self) -> bool:
        """Whether a camera move from the neutral could be seen now."""
        return self._reference is not None

    def mark_neutral(self, t0_s: float, t1_s: float) -> None:
        inside = [(o, c) for t, o, c in self._seen if t0_s <= t <= t1_s]
        chains = {c for _, c in inside}
        if not inside or len(chains) != 1:
            self._reference = None
            return
        median = tuple(sorted(o[i] for o, _ in inside)[len(inside) // 2] for i in range(2))
        self._reference = (median, chains.pop())

    def forget_neutral(self) -> None:
        """The neutral in use was not captured here: no camera move can be told from it."""
        self._reference = None

    def update(self, view: RoomView | None, t_s: float) -> float | None:
        if view is None or view.offset_deg is None:
            self.moving = self.settled = self.displaced = False
            return None
        if self._seen and self._seen[-1][2] != view.chain:
            self._seen.clear()
        self._seen.append((t_s, view.offset_deg, view.chain))
        # Kept long enough to cover a neutral capture (2.5 s) with its margin.
        while self._seen and self._seen[0][0] < t_s - max(self.settle_s, 10.0):
            self._seen.popleft()
        spread = 0.0
        for t, o, _ in reversed(self._seen):  # the last `settle_s` only, newest first
            if t < t_s - self.settle_s:
                break
            spread = max(spread, math.dist(o, view.offset_deg))
        self.moving = spread > self.moving_deg
        self.settled = settled = spread <= self.still_deg and self._seen[0][0] <= t_s - self.settle_s
        self.displaced = False
        if self._reference is None:
            return None
        reference, chain = self._reference
        if chain != view.chain:
            self._reference = None  # the room was lost since: offsets no longer compare
            return None
        moved = math.dist(view.offset_deg, reference)
        self.displaced = moved >= self.move_deg
        if not (self.displaced and settled):
            return None
        self._reference = None  # said once; the next neutral is the new reference
        return moved


@dataclass(frozen=True)
class CameraRest:
    """A span the camera stood in one place (`start_s`..`end_s`); `moved_deg`: how far it had
    moved from the place before (None for the first)."""

    start_s: float
    end_s: float
    moved_deg: float | None = None


def camera_rests(times_s: list[float], views: list[RoomView | None], **options) -> list[CameraRest]:
    """Where the camera of a recording stood, in order: between two rests it moved `move_deg`
    or more (`ViewMonitor` options). A room lost and found again is not compared across
    (a new chain), so it never splits a rest. At least one rest for a non-empty recording."""
    if len(times_s) != len(views):
        raise ValueError(f"times_s and views must be as long, got {len(times_s)} and {len(views)}")
    if not times_s:
        return []
    monitor = ViewMonitor(**options)
    rests: list[CameraRest] = []
    start, moved_before, move_start = float(times_s[0]), None, None
    for t, view in zip(times_s, views):
        was_moving = monitor.moving
        moved = monitor.update(view, t)
        if monitor.moving and not was_moving:
            move_start = t
        if moved is not None:
            rests.append(CameraRest(start, move_start if move_start is not None else t, moved_before))
            start, moved_before = t, moved
        if not monitor.watching and monitor.settled:
            # Still for `settle_s`: where the camera stands now is the reference.
            monitor.mark_neutral(t - monitor.settle_s, t)
    rests.append(CameraRest(start, float(times_s[-1]), moved_before))
    return rests


__all__ = ["MOVE_DEG", "CameraRest", "RoomView", "SETTLE_S", "STILL_DEG", "ViewMonitor", "camera_rests"]
