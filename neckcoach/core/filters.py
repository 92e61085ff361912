"""Timestamp-driven low-lag filters (uneven frame intervals are the norm on webcams).

Time guards shared by every filter: a sample at the same instant as the
previous one adds nothing and is ignored (dt = 0 would divide by zero), a
sample earlier than the previous one restarts the filter (its history no
longer precedes it), and a non-finite time or value is ignored so that one
bad sample cannot poison the state for the rest of the session.
"""

from __future__ import annotations

import math


def _alpha(cutoff_hz: float, dt_s: float) -> float:
    tau = 1.0 / (2 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt_s)


def _usable(x: float, t_s: float) -> bool:
    return math.isfinite(x) and math.isfinite(t_s)


def _check_positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")


class LowPass:
    """First-order low-pass whose smoothing adapts to each frame's dt."""

    def __init__(self, cutoff_hz: float) -> None:
        _check_positive("cutoff_hz", cutoff_hz)
        self.cutoff_hz = cutoff_hz
        self.reset()

    def reset(self) -> None:
        self.value: float | None = None
        self._t: float | None = None

    def update(self, x: float, t_s: float) -> float:
        if not _usable(x, t_s) or t_s == self._t:
            return self.value if self.value is not None else x
        if self.value is None or self._t is None or t_s < self._t:
            self.value, self._t = x, t_s
            return x
        a = _alpha(self.cutoff_hz, t_s - self._t)
        self.value = self.value + a * (x - self.value)
        self._t = t_s
        return self.value


class OneEuroFilter:
    """One Euro filter (Casiez et al. 2012): smooth at rest, little lag when moving.

    The cutoff rises with the (smoothed) speed: cutoff = min_cutoff + beta*|dx/dt|.
    `alpha` is the last step's smoothing factor: white jitter of sigma s in the
    input leaves about s * sqrt(alpha / (2 - alpha)) in the value.
    """

    def __init__(self, min_cutoff_hz: float = 1.0, beta: float = 0.02,
                 d_cutoff_hz: float = 1.0) -> None:
        _check_positive("min_cutoff_hz", min_cutoff_hz)
        _check_positive("d_cutoff_hz", d_cutoff_hz)
        if beta < 0:
            raise ValueError(f"beta must be >= 0, got {beta!r}")
        self.min_cutoff_hz, self.beta, self.d_cutoff_hz = min_cutoff_hz, beta, d_cutoff_hz
        self.reset()

    def reset(self) -> None:
        self.value: float | None = None
        self._dx = 0.0
        self._t: float | None = None
        self.alpha = 1.0  # the last step's smoothing factor (1: the value is the input)

    def update(self, x: float, t_s: float) -> float:
        if not _usable(x, t_s) or t_s == self._t:
            return self.value if self.value is not None else x
        if self.value is None or self._t is None or t_s < self._t:
            self.value, self._t, self._dx = x, t_s, 0.0
            return x
        dt = t_s - self._t
        dx = (x - self.value) / dt
        self._dx += _alpha(self.d_cutoff_hz, dt) * (dx - self._dx)
        cutoff = self.min_cutoff_hz + self.beta * abs(self._dx)
        self.alpha = _alpha(cutoff, dt)
        self.value += self.alpha * (x - self.value)
        self._t = t_s
        return self.value


class Differentiator:
    """Time derivative of a lightly low-passed signal, itself low-passed.

    Differentiating the heavily smoothed display value would make speed late;
    a separate light pre-filter keeps flick detection fast while taming noise.
    """

    def __init__(self, pre_cutoff_hz: float | None = 6.0, post_cutoff_hz: float = 6.0) -> None:
        """`pre_cutoff_hz=None` differentiates the input as it comes (it is already smooth,
        e.g. a speed from another Differentiator)."""
        self._pre = LowPass(pre_cutoff_hz) if pre_cutoff_hz is not None else None
        self._post = LowPass(post_cutoff_hz)
        self.reset()

    def reset(self) -> None:
        if self._pre is not None:
            self._pre.reset()
        self._post.reset()
        self._last: tuple[float, float] | None = None
        self.value = 0.0

    def shift(self, offset: float) -> None:
        """Move the input's history by `offset`: the next input is read as continuing from
        there, so a step in the input that is not a movement (a change of estimator) adds
        no speed, and the speed so far carries on."""
        if self._pre is not None and self._pre.value is not None:
            self._pre.value += offset
        if self._last is not None:
            self._last = (self._last[0] + offset, self._last[1])

    def update(self, x: float, t_s: float) -> float:
        if not _usable(x, t_s) or (self._last is not None and t_s == self._last[1]):
            return self.value
        if self._last is not None and t_s < self._last[1]:
            self.reset()
        y = self._pre.update(x, t_s) if self._pre is not None else x
        if self._last is None:
            self._post.update(0.0, t_s)  # start from rest: no spike from first-frame noise
            self._last = (y, t_s)
            return self.value
        d = (y - self._last[0]) / (t_s - self._last[1])
        self._last = (y, t_s)
        self.value = self._post.update(d, t_s)
        return self.value
