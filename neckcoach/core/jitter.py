"""How much one raw reading jitters, estimated from the readings themselves.

A dim, grainy picture can make the head's measured depth jitter by a
millimetre or two from frame to frame where a well-lit one jitters by a few
tenths. Thresholds fixed for a good picture then fire on noise (a "sudden"
velocity change that is only jitter) or never fire (a head that never looks
still). Each consumer therefore scales its threshold by the jitter measured
now, and a threshold that noise would push past what it exists to catch
says so instead of pretending.

The estimate is the median absolute second difference of the raw readings
over the last `window_s`, divided by 0.6745 * sqrt(6) (the median absolute
value of a second difference of white noise of unit variance): a head
movement barely enters it (an exercise movement accelerates by at most
~250 deg/s^2, which moves a second difference at 15-30 fps by 0.3-1 deg,
and the median ignores the few frames of a flick), while jitter enters in
full.
"""

from __future__ import annotations

import math
from collections import deque
from functools import lru_cache
from statistics import median

from neckcoach.core.checks import check_range

# Median |N(0, 6)| = 0.6745 * sqrt(6): converts a median |second difference| to sigma.
_MAD_D2 = 0.6745 * math.sqrt(6.0)


class JitterEstimate:
    """Sigma of the white jitter of one raw signal, over the last `window_s` seconds.

    `update(x, t_s)` returns the estimate, 0.0 until `min_samples` readings
    are in the window (0 means "not measured": consumers keep their fixed
    thresholds). The value returned is the largest estimate of the last
    `hold_s`: a median over 3 s of readings still wanders by ~20 % about the
    true sigma, and a threshold set from a momentary dip would let jitter
    through, while the light in a room changes over minutes, not seconds.
    """

    def __init__(self, window_s: float = 3.0, min_samples: int = 10, hold_s: float = 6.0) -> None:
        self.window_s = check_range("window_s", window_s, 0.2, 30.0)
        self.hold_s = check_range("hold_s", hold_s, 0.0, 120.0)
        if not isinstance(min_samples, int) or not 5 <= min_samples <= 1000:
            raise ValueError(f"min_samples must be an int in [5, 1000], got {min_samples!r}")
        self.min_samples = min_samples
        self.reset()

    def reset(self) -> None:
        self._recent: deque[tuple[float, float]] = deque(maxlen=3)
        # |second difference| of each run of three readings, with the time of its oldest one.
        self._d2: deque[tuple[float, float]] = deque()
        self._held: deque[tuple[float, float]] = deque()
        self.sigma = 0.0

    def update(self, x: float, t_s: float) -> float:
        if not (math.isfinite(x) and math.isfinite(t_s)):
            return self.sigma
        recent, d2 = self._recent, self._d2
        if recent and t_s <= recent[-1][0]:
            if t_s < recent[-1][0]:
                recent.clear()
                d2.clear()
                self._held.clear()
            else:
                return self.sigma
        recent.append((t_s, x))
        if len(recent) == 3:  # each reading adds one second difference: no array rebuilt per frame
            (t0, x0), (_, x1), (_, x2) = recent
            d2.append((t0, abs(x2 - 2.0 * x1 + x0)))
        while d2 and t_s - d2[0][0] > self.window_s:
            d2.popleft()
        if len(d2) + 2 < self.min_samples:  # readings in the window: two more than their differences
            self.sigma = 0.0
            return 0.0
        now = median([d for _, d in d2]) / _MAD_D2  # ~100 values: sorting beats numpy's per-call cost
        held = self._held  # a sliding maximum: decreasing values, oldest first
        while held and held[-1][1] <= now:
            held.pop()
        held.append((t_s, now))
        while t_s - held[0][0] > self.hold_s:
            held.popleft()
        self.sigma = held[0][1]
        return self.sigma


@lru_cache(maxsize=256)
def _speed_gain(pre_hz: float, post_hz: float, dt_ms: int) -> float:
    dt = dt_ms / 1000.0
    a1 = 1.0 / (1.0 + 1.0 / (2 * math.pi * pre_hz * dt))
    a2 = 1.0 / (1.0 + 1.0 / (2 * math.pi * post_hz * dt))
    y_prev = y = v = 0.0
    total = 0.0
    for n in range(int(20.0 / (min(pre_hz, post_hz) * dt)) + 50):
        x = 1.0 if n == 0 else 0.0
        y = y_prev + a1 * (x - y_prev)
        v += a2 * ((y - y_prev) / dt - v)
        y_prev = y
        total += v * v
    return math.sqrt(total)


def speed_noise(sigma: float, dt_s: float, pre_hz: float, post_hz: float) -> float:
    """Sigma of the speed that white jitter `sigma` leaves after `filters.Differentiator(pre_hz, post_hz)`
    at frame spacing `dt_s` (the root sum of squares of its impulse response)."""
    if not (sigma > 0 and dt_s > 0):
        return 0.0
    return sigma * _speed_gain(float(pre_hz), float(post_hz), max(1, int(round(dt_s * 1000))))


__all__ = ["JitterEstimate", "speed_noise"]
