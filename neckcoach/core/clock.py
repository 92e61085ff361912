"""Session time from source timestamps: it only moves forward, in bounded steps.

Every timer in the core (holds, rests, dwell, count-in beats, pauses) and
every speed is a difference of timestamps, so a source clock that repeats,
goes back or leaps forward would otherwise complete a hold, skip a rest,
freeze the coach or fake a speed. One guard at the edge where time enters
keeps all of that out of the core:

- a repeated or slightly earlier timestamp (a duplicated or reordered frame)
  is dropped: the same instant seen twice adds nothing;
- a timestamp more than `max_backstep_s` earlier means the source clock
  restarted (a camera reopened, a counter reset to 0): time carries on from
  where the session was, as after a stall of unknown length;
- a step longer than the stall threshold (a laptop suspend, a frozen camera,
  one very slow frame) advances session time by the threshold only, so a
  stall can add at most that much to a hold or a rest. The threshold is
  `max_step_s`, or `stall_factor` times the median recent step when frames
  are slow all the time (an overloaded computer at 1 frame/s keeps real time).

`max_step_s` (1 s) is longer than `KinematicsFilter.max_gap_s` (0.5 s), so
a clamped stall still reads downstream as a tracking gap: speeds restart from
rest instead of differentiating across the jump.
"""

from __future__ import annotations

import math
from collections import deque
from statistics import median_low
from typing import Any

from neckcoach.core.checks import check_range


class SessionClock:
    """Maps source timestamps (seconds) to session seconds; see the module docstring.

    `update(t_source_s)` returns the session time of that frame, starting at
    0.0, or None when the frame must be skipped. Counters say what was
    repaired, for the session record (`summary()`).
    """

    def __init__(self, *, max_step_s: float = 1.0, stall_factor: float = 3.0,
                 max_backstep_s: float = 0.25, history_steps: int = 15) -> None:
        self.max_step_s = check_range("max_step_s", max_step_s, 0.0, 60.0, lo_open=True)
        self.stall_factor = check_range("stall_factor", stall_factor, 1.0, 100.0, lo_open=True)
        if not 0.0 <= max_backstep_s <= 10.0:
            raise ValueError(f"max_backstep_s must be in [0, 10], got {max_backstep_s!r}")
        self.max_backstep_s = float(max_backstep_s)
        if not isinstance(history_steps, int) or not 1 <= history_steps <= 1000:
            raise ValueError(f"history_steps must be an integer in [1, 1000], got {history_steps!r}")
        self.history_steps = history_steps
        self.reset()

    def reset(self) -> None:
        self._last_source_s: float | None = None
        self._offset_s = 0.0
        self._last_session_s = 0.0
        self._steps: deque[float] = deque(maxlen=self.history_steps)
        self.dropped_frames = 0
        self.stalls = 0
        self.restarts = 0
        self.skipped_s = 0.0

    def stall_threshold_s(self) -> float:
        """Longest step taken at face value now."""
        if not self._steps:
            return self.max_step_s
        # The lower median: with few steps so far, one stall must not raise the bar.
        return max(self.max_step_s, self.stall_factor * median_low(self._steps))

    def update(self, t_source_s: float) -> float | None:
        t = float(t_source_s)
        if not math.isfinite(t):
            self.dropped_frames += 1
            return None
        if self._last_source_s is None:
            self._last_source_s, self._offset_s = t, t
            return self._last_session_s
        step = t - self._last_source_s
        repeat = -self.max_backstep_s <= step <= 0.0
        # A step lost to rounding (a tiny step on a large clock) is a repeat too.
        if repeat or (step > 0.0 and t - self._offset_s <= self._last_session_s):
            self.dropped_frames += 1
            return None
        threshold = self.stall_threshold_s()
        if step < 0.0:
            self.restarts += 1
            self._offset_s = t - (self._last_session_s + threshold)
        else:
            self._steps.append(step)
            if step > threshold:
                self.stalls += 1
                self.skipped_s += step - threshold
                self._offset_s += step - threshold
        self._last_source_s = t
        self._last_session_s = t - self._offset_s
        return self._last_session_s

    def summary(self) -> dict[str, Any]:
        """What was repaired so far, for session.json (JSON-friendly)."""
        return {"dropped_frames": self.dropped_frames, "stalls": self.stalls,
                "clock_restarts": self.restarts, "time_skipped_s": round(self.skipped_s, 3)}
