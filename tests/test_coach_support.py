"""Synthetic head-movement streams for the coaching tests.

Angles come from analytic minimum-jerk profiles, get seeded gaussian
landmark-like noise and uneven frame timing, and pass through the project's
real `KinematicsFilter`, so the coach sees what it would see live.
"""

from __future__ import annotations

import numpy as np

from neckcoach.core.kinematics import KinematicsFilter, RelativePose
from neckcoach.core.samples import Kinematics
from neckcoach.routine.model import Exercise, Routine

AXIS_KEY = {"yaw": "yaw_deg", "pitch": "pitch_deg", "roll": "roll_deg", "retraction": "retraction_mm"}


def min_jerk(t, t0: float, duration_s: float, amplitude: float) -> np.ndarray:
    tau = np.clip((np.asarray(t, dtype=float) - t0) / duration_s, 0.0, 1.0)
    return amplitude * (10 * tau**3 - 15 * tau**4 + 6 * tau**5)


def rep_train(t, *, start_s: float, amplitudes, tempo_s: float, hold_s: float = 0.0,
              gap_s: float = 0.0) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Out-hold-back reps one after another; amplitudes are signed (one per rep).

    Each rep lasts tempo_s: out in (tempo_s-hold_s)/2, hold, back in the same time.
    Returns the angle and the (start, end) time of each rep.
    """
    t = np.asarray(t, dtype=float)
    x = np.zeros_like(t)
    move = (tempo_s - hold_s) / 2.0
    spans = []
    t0 = start_s
    for a in amplitudes:
        x += min_jerk(t, t0, move, a) - min_jerk(t, t0 + move + hold_s, move, a)
        spans.append((t0, t0 + tempo_s))
        t0 += tempo_s + gap_s
    return x, spans


def timeline(duration_s: float, fps: float = 30.0, jitter: float = 0.25, seed: int = 0) -> np.ndarray:
    """Frame times with uneven spacing (+-jitter of a frame period)."""
    rng = np.random.default_rng(seed)
    dt = 1.0 / fps
    n = int(duration_s * fps) + 1
    steps = dt * (1.0 + rng.uniform(-jitter, jitter, n))
    return np.concatenate([[0.0], np.cumsum(steps[:-1])])


def stream(t, *, yaw=None, pitch=None, roll=None, retraction=None, noise_deg: float = 0.4,
           noise_mm: float = 0.3, seed: int = 1, face=None, faces=None, face_width_px=200.0,
           brightness=120.0, torso_yaw=None, torso_roll=None):
    """Kinematics frames via the project's filter; None axes are zero."""
    t = np.asarray(t, dtype=float)
    rng = np.random.default_rng(seed)
    zeros = np.zeros_like(t)
    sig = {}
    for name, arr, noise in (("yaw", yaw, noise_deg), ("pitch", pitch, noise_deg), ("roll", roll, noise_deg),
                             ("retraction", retraction, noise_mm)):
        base = zeros if arr is None else np.asarray(arr, dtype=float)
        sig[name] = base + rng.normal(0.0, noise, t.size)
    face = np.ones(t.size, dtype=bool) if face is None else np.asarray(face, dtype=bool)
    faces_arr = np.where(face, 1, 0) if faces is None else np.asarray(faces)
    width = np.broadcast_to(np.asarray(face_width_px, dtype=float), t.shape)
    light = np.broadcast_to(np.asarray(brightness, dtype=float), t.shape)
    filt = KinematicsFilter()
    out = []
    for i, ti in enumerate(t):
        rel = RelativePose(
            t_s=float(ti), face_found=bool(face[i]), yaw_deg=float(sig["yaw"][i]),
            pitch_deg=float(sig["pitch"][i]), roll_deg=float(sig["roll"][i]),
            retraction_mm=float(sig["retraction"][i]), confidence=0.9, reliable=True,
            faces=int(faces_arr[i]), face_width_px=float(width[i]), brightness=float(light[i]),
            torso_yaw_deg=None if torso_yaw is None else float(torso_yaw[i]),
            torso_roll_deg=None if torso_roll is None else float(torso_roll[i]))
        out.append(filt.update(rel))
    return out


def raw_frames(t, axis: str, x, noise: float = 0.0):
    """Unfiltered frames (value and finite-difference speed): worst-case jitter. `noise` is the
    jitter sigma the frames report for the axis (`Kinematics.noise`), 0 by default."""
    x = np.asarray(x, dtype=float)
    v = np.gradient(x, t)
    unit = "mm" if axis == "retraction" else "deg"
    return [Kinematics(t_s=float(ti), face_found=True, reliable=True, faces=1, face_width_px=200,
                       brightness=120, **{f"{axis}_{unit}": float(xi), f"{axis}_speed_{unit}_s": float(vi),
                                          f"{axis}_reliable": True, f"{axis}_noise_{unit}": noise})
            for ti, xi, vi in zip(t, x, v)]


def exercise(**kw) -> Exercise:
    base = dict(id="rot", name="Rotation", movement="rotation", sides="alternate", reps=4,
                target_deg=45.0, tempo_s=6.0, hold_s=0.0, rest_s=5.0)
    base.update(kw)
    return Exercise(**base)


def exercise_for(movement: str, target: float, tempo_s: float, hold_s: float, reps: int = 1) -> Exercise:
    """An exercise of one of the five movements with the sides and limits it needs (target in
    mm for a chin tuck, in degrees otherwise; turns and side bends to the left)."""
    if movement == "retraction":
        return exercise(id="tuck", name="Chin tuck", movement=movement, sides="none", target_deg=None,
                        target_mm=target, max_mm=40.0, max_speed_mm_s=40.0, tempo_s=tempo_s, hold_s=hold_s,
                        reps=reps)
    extra = {"chin_nod": dict(sides="none", max_deg=20.0, max_speed_deg_s=30.0),
             "flexion_extension": dict(sides="alternate")}.get(movement, dict(sides="left"))
    return exercise(movement=movement, target_deg=target, tempo_s=tempo_s, hold_s=hold_s, reps=reps, **extra)


def routine(*exercises: Exercise) -> Routine:
    return Routine(title="Test routine", exercises=list(exercises) or [exercise()])


def kinds(events, kind: str):
    return [e for e in events if e.kind == kind]


def test_support_stream_is_deterministic_and_follows_profile():
    t = timeline(8.0, seed=3)
    x, spans = rep_train(t, start_s=1.0, amplitudes=[40.0], tempo_s=6.0)
    a = stream(t, yaw=x, seed=5)
    b = stream(t, yaw=x, seed=5)
    assert [k.yaw_deg for k in a] == [k.yaw_deg for k in b]
    peak = max(k.yaw_deg for k in a)
    assert 37.0 < peak < 42.0
    assert spans == [(1.0, 7.0)]
