"""Scripted head motion with exact ground truth (pure numpy, no rendering).

Why: to test the coach we need head trajectories whose every angle, rep
boundary and injected jerk is known. A script is a list of per-axis segments
(minimum-jerk, linear or hold profiles) plus injected flicks and a little
seeded sway, queried with ``pose_at(t_s)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

AXES = ("yaw", "pitch", "roll", "retraction")
PROFILES = ("min_jerk", "linear", "hold")
MAX_SWAY_DEG = 0.3


def min_jerk(s: np.ndarray | float) -> np.ndarray | float:
    """Minimum-jerk position profile 10s^3 - 15s^4 + 6s^5 on s in [0, 1]."""
    s = np.clip(s, 0.0, 1.0)
    return s**3 * (10 - 15 * s + 6 * s**2)


def _profile(name: str, s):
    if name == "min_jerk":
        return min_jerk(s)
    if name == "linear":
        return np.clip(s, 0.0, 1.0)
    return 0.0 * np.asarray(s, dtype=float)


@dataclass(frozen=True)
class Segment:
    """One axis moves from `start` to `end` over [t0_s, t0_s + duration_s]."""

    axis: str
    t0_s: float
    duration_s: float
    start: float
    end: float
    profile: str = "min_jerk"

    def __post_init__(self) -> None:
        if self.axis not in AXES:
            raise ValueError(f"axis must be one of {AXES}, got {self.axis!r}")
        if self.profile not in PROFILES:
            raise ValueError(f"profile must be one of {PROFILES}, got {self.profile!r}")
        if not self.duration_s > 0:
            raise ValueError(f"duration_s must be > 0, got {self.duration_s!r}")

    @property
    def t1_s(self) -> float:
        return self.t0_s + self.duration_s

    def value(self, t_s):
        s = (np.asarray(t_s, dtype=float) - self.t0_s) / self.duration_s
        if self.profile == "hold":
            return self.start + 0.0 * s
        return self.start + (self.end - self.start) * _profile(self.profile, s)


@dataclass(frozen=True)
class Flick:
    """A sudden jerk added on top of the movement: `amplitude` reached in
    `duration_s` (minimum-jerk, so the peak speed is 1.875 x amplitude /
    duration), then eased back over `return_s` so the rep continues."""

    axis: str
    onset_s: float
    amplitude: float
    duration_s: float = 0.2
    return_s: float = 0.6

    def __post_init__(self) -> None:
        if self.axis not in AXES:
            raise ValueError(f"axis must be one of {AXES}, got {self.axis!r}")
        if not (0.02 <= self.duration_s <= 2.0):
            raise ValueError(f"duration_s must be in [0.02, 2.0], got {self.duration_s!r}")
        if not (0.05 <= self.return_s <= 10.0):
            raise ValueError(f"return_s must be in [0.05, 10.0], got {self.return_s!r}")

    def value(self, t_s):
        t = np.asarray(t_s, dtype=float)
        up = min_jerk((t - self.onset_s) / self.duration_s)
        down = min_jerk((t - self.onset_s - self.duration_s) / self.return_s)
        return self.amplitude * (up - down)


@dataclass(frozen=True)
class Event:
    """A labelled moment of the script (rep start, at target, rep end, jerk, mistake...)."""

    t_s: float
    kind: str
    axis: str | None = None
    direction: str | None = None
    detail: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"t_s": round(self.t_s, 6), "kind": self.kind, "axis": self.axis,
                "direction": self.direction, **self.detail}


class MotionScript:
    """Poses over time: segments per axis, flicks, events and seeded sway.

    Between segments an axis keeps the end value of its last segment. Sway is
    a sum of slow seeded sinusoids, at most ``sway_deg`` (<= 0.3 deg) on the
    angles and 0.3 mm on retraction; it is part of the ground truth.
    """

    def __init__(self, segments, flicks=(), events=(), *, duration_s: float | None = None,
                 seed: int = 0, sway_deg: float = 0.0) -> None:
        if not (0.0 <= sway_deg <= MAX_SWAY_DEG):
            raise ValueError(f"sway_deg must be in [0, {MAX_SWAY_DEG}], got {sway_deg!r}")
        self.segments = sorted(segments, key=lambda s: s.t0_s)
        self.flicks = list(flicks)
        self.events = sorted(events, key=lambda e: e.t_s)
        self.seed = int(seed)
        self.sway_deg = float(sway_deg)
        ends = [s.t1_s for s in self.segments] + [f.onset_s + f.duration_s + f.return_s for f in self.flicks]
        self.duration_s = float(duration_s if duration_s is not None else max(ends, default=0.0))
        if self.duration_s < 0:
            raise ValueError(f"duration_s must be >= 0, got {self.duration_s!r}")
        rng = np.random.default_rng(self.seed)
        self._sway = {a: (rng.uniform(0.05, 0.4, 3), rng.uniform(0, 2 * np.pi, 3)) for a in AXES}
        self._by_axis = {a: [s for s in self.segments if s.axis == a] for a in AXES}

    def _axis_value(self, axis: str, t_s: float) -> float:
        value = 0.0
        for seg in self._by_axis[axis]:
            if seg.t0_s > t_s:
                break
            value = float(seg.value(min(t_s, seg.t1_s)))
        for fl in self.flicks:
            if fl.axis == axis:
                value += float(fl.value(t_s))
        if self.sway_deg > 0:
            freqs, phases = self._sway[axis]
            value += self.sway_deg / 3 * float(np.sum(np.sin(2 * np.pi * freqs * t_s + phases)))
        return value

    def pose_at(self, t_s: float) -> tuple[float, float, float, float]:
        """(yaw_deg, pitch_deg, roll_deg, retraction_mm) at time t_s."""
        return tuple(self._axis_value(a, float(t_s)) for a in AXES)  # type: ignore[return-value]

    def events_between(self, t0_s: float, t1_s: float) -> list[Event]:
        """Events with t0_s <= t < t1_s (used to label frames)."""
        return [e for e in self.events if t0_s <= e.t_s < t1_s]


class ScriptBuilder:
    """Builds a MotionScript step by step with a time cursor and current pose."""

    def __init__(self) -> None:
        self.t_s = 0.0
        self.current = {a: 0.0 for a in AXES}
        self.segments: list[Segment] = []
        self.flicks: list[Flick] = []
        self.events: list[Event] = []

    def hold(self, duration_s: float) -> "ScriptBuilder":
        if duration_s > 0:
            self.t_s += duration_s
        return self

    def move(self, axis: str, to: float, duration_s: float, profile: str = "min_jerk") -> "ScriptBuilder":
        self.segments.append(Segment(axis, self.t_s, duration_s, self.current[axis], to, profile))
        self.current[axis] = to
        self.t_s += duration_s
        return self

    def flick(self, axis: str, amplitude: float, duration_s: float = 0.2, *, at_s: float | None = None,
              return_s: float = 0.6, **detail) -> "ScriptBuilder":
        onset = self.t_s if at_s is None else at_s
        self.flicks.append(Flick(axis, onset, amplitude, duration_s, return_s))
        self.events.append(Event(onset, "jerk", axis, None,
                                 {"amplitude": amplitude, "duration_s": duration_s, **detail}))
        return self

    def event(self, kind: str, axis: str | None = None, direction: str | None = None,
              *, at_s: float | None = None, **detail) -> "ScriptBuilder":
        self.events.append(Event(self.t_s if at_s is None else at_s, kind, axis, direction, detail))
        return self

    def build(self, *, seed: int = 0, sway_deg: float = 0.0) -> MotionScript:
        return MotionScript(self.segments, self.flicks, self.events, duration_s=self.t_s,
                            seed=seed, sway_deg=sway_deg)
