"""While the camera turns, what is read is the camera's turn: the rep counter is not moved by it.

Whole rendered chin-nod session, a laptop lid tilted 13.6 deg during a held nod (stop 52):
the readings were marked unreliable as a whole but kept their per-axis flags, which the
counter reads, and the patient heard "Stay at the target", "Hold it a little longer next
time" and "Other way" for a head that had not moved.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from neckcoach.core import events as ev
from neckcoach.core.reps import RepCounter

try:
    from tests.test_coach_support import exercise, rep_train, routine, stream, timeline
except ImportError:
    from test_coach_support import exercise, rep_train, routine, stream, timeline

FPS = 20.0
TURN_S = (4.5, 5.2)  # the camera turning, inside the first rep's hold (3.5-6.5 s)


def held_turn_with_a_camera_turned(fps: float, mark) -> list:
    """A 40 deg turn held 3 s; during TURN_S the reading slides 14 deg back towards neutral
    (the camera turned) and each frame then is `mark`ed."""
    t = timeline(12.0, fps=fps, seed=3)
    x, _ = rep_train(t, start_s=2.0, amplitudes=[40.0], tempo_s=6.0, hold_s=3.0)
    u = np.clip((t - TURN_S[0]) / (TURN_S[1] - TURN_S[0]), 0.0, 1.0)
    frames = stream(t, yaw=x - 14.0 * u * u * (3 - 2 * u), seed=3)
    return [mark(k) if TURN_S[0] <= k.t_s <= TURN_S[1] else k for k in frames]


def events_while_turning(frames) -> list[str]:
    ex = exercise(reps=1, target_deg=40.0, tempo_s=6.0, hold_s=3.0)
    counter = RepCounter(ex, routine(ex).ranges)
    return [e.kind for k in frames for e in counter.update(k) if TURN_S[0] <= k.t_s <= TURN_S[1] + 0.05]


@pytest.mark.parametrize("fps", [15.0, 20.0, 30.0])
def test_a_held_rep_is_not_judged_from_what_a_turning_camera_reads(fps):
    said = events_while_turning(held_turn_with_a_camera_turned(fps, lambda k: k.distrusted()))
    assert not {ev.HOLD_BROKEN, ev.PARTIAL, ev.WRONG_SIDE} & set(said), said


def test_marking_only_the_whole_frame_unreliable_left_the_counter_judging_it():
    """The control: the same frames with only `reliable` cleared (before this fix) break the hold."""
    said = events_while_turning(held_turn_with_a_camera_turned(FPS, lambda k: replace(k, reliable=False)))
    assert ev.HOLD_BROKEN in said


def test_a_distrusted_frame_trusts_nothing_not_even_a_lower_bound():
    k = replace(stream(timeline(0.1, fps=FPS), yaw=np.array([60.0, 60.0, 60.0]))[0], lower_bound_axes=("yaw",))
    d = k.distrusted()
    assert not d.reliable
    assert not any(d.is_reliable(a) or d.is_lower_bound(a) for a in ("yaw", "pitch", "roll", "retraction"))
    assert d.yaw_deg == k.yaw_deg  # the value itself is kept, for the trace
