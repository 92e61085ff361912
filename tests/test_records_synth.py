"""Synthetic session fabricator for the records/report tests (+ its own sanity tests).

Reps are analytic minimum-jerk movements (Flash & Hogan), so range, speed and
timing are known exactly without depending on the coach modules.
"""

from __future__ import annotations

import math
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from neckcoach.io.records import SessionRecorder

EXERCISES = [
    {"id": "rot", "name": "Neck rotation", "movement": "rotation", "axis": "yaw",
     "sides": ["left", "right"] * 5, "target": 60.0, "max_speed_deg_s": 90.0},
    {"id": "nod", "name": "Nod forward and back", "movement": "flexion_extension",
     "axis": "pitch", "sides": ["flexion", "extension"] * 2, "target": 40.0,
     "max_speed_deg_s": 90.0},
    {"id": "tuck", "name": "Chin tuck", "movement": "retraction", "axis": "retraction",
     "sides": ["back"] * 3, "target": 15.0, "max_speed_deg_s": 60.0},
]
SIGN = {"left": 1.0, "right": -1.0, "flexion": 1.0, "extension": -1.0, "back": 1.0}
FIELD = {"yaw": "yaw_deg", "pitch": "pitch_deg", "roll": "roll_deg", "retraction": "retraction_mm"}
SPEED_FIELD = {"yaw": "yaw_speed_deg_s", "pitch": "pitch_speed_deg_s",
               "roll": "roll_speed_deg_s", "retraction": "retraction_speed_mm_s"}


def min_jerk(tau: float) -> float:
    tau = min(max(tau, 0.0), 1.0)
    return 10 * tau**3 - 15 * tau**4 + 6 * tau**5


def min_jerk_speed(tau: float) -> float:
    """d/dtau of min_jerk; peak 1.875 at tau=0.5."""
    if not 0.0 <= tau <= 1.0:
        return 0.0
    return 30 * tau**2 - 60 * tau**3 + 30 * tau**4


def plan(seed: int = 0, out_s: float = 1.5, hold_s: float = 1.0, rest_s: float = 0.8,
         short=(("rot", 9),), fast=(("rot", 3), ("rot", 7)), jerky=(("nod", 2),),
         left_gain_deg: float = 0.0):
    """Reps with timing and amplitudes; `short` reps stop at 60 % of target.

    `left_gain_deg` adds range to left rotations (a patient improving on that side).
    """
    rng = np.random.default_rng(seed)
    t = 1.0
    reps = []
    warnings = []
    for ex in EXERCISES:
        for i, side in enumerate(ex["sides"], start=1):
            key = (ex["id"], i)
            t_out = out_s / 2 if key in fast else out_s
            amp = ex["target"] * (0.6 if key in short else rng.uniform(1.0, 1.08))
            if ex["id"] == "rot" and side == "left":
                amp += left_gain_deg
            start = t
            end = start + 2 * t_out + hold_s
            tau_target = _solve_tau(min(1.0, ex["target"] / amp))
            u = "mm" if ex["movement"] == "retraction" else "deg"
            rep = {  # same keys as the coach's RepRecord.to_dict()
                "exercise_id": ex["id"], "axis": ex["axis"], "index": i, "side": side,
                "complete": key not in short, "reason": "short" if key in short else None,
                "start_t_s": round(start, 4), "end_t_s": round(end, 4),
                f"peak_{u}": round(SIGN[side] * amp, 3), f"peak_abs_{u}": round(amp, 3),
                f"target_{u}": ex["target"],
                "time_to_target_s": round(tau_target * t_out, 3) if key not in short else None,
                "hold_s": hold_s if key not in short else 0.0,
                f"peak_speed_{u}_s": round(1.875 * amp / t_out, 2),
                f"mean_speed_{u}_s": round(amp / t_out, 2),
                "sparc": round(-1.6 - (1.5 if key in jerky else 0.0) - rng.uniform(0, 0.2), 3),
                "ldlj": round(-6.0 - (3.0 if key in jerky else 0.0) - rng.uniform(0, 0.5), 3),
                "velocity_peaks": 3 if key in jerky else 1, "warnings": 0,
                "_t_out": t_out, "_hold": hold_s, "_amp": amp, "_target": ex["target"],
            }
            if key in fast:
                w = {"t_s": round(start + t_out / 2, 3), "kind": "too_fast",
                     "magnitude": rep["peak_speed_deg_s"], "unit": "deg/s", "rep": i, "exercise_id": ex["id"],
                     "message": "Slow down"}
                warnings.append(w)
                rep["warnings"] += 1
            if key in jerky:
                w = {"t_s": round(start + t_out * 0.4, 3), "kind": "jerk", "magnitude": 4200.0,
                     "rep": i, "exercise_id": ex["id"], "message": "Smooth and steady"}
                warnings.append(w)
                rep["warnings"] += 1
            reps.append(rep)
            t = end + rest_s
        t += 2.0
    return reps, warnings, t


def _solve_tau(fraction: float) -> float:
    lo, hi = 0.0, 1.0
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if min_jerk(mid) < fraction else (lo, mid)
    return (lo + hi) / 2


def rep_value(rep: dict, t: float) -> tuple[float, float]:
    """Signed position and speed of one rep at time t (zero outside it)."""
    s = SIGN[rep["side"]] * rep["_amp"]
    t_out, hold = rep["_t_out"], rep["_hold"]
    u = t - rep["start_t_s"]
    if u < 0 or u > 2 * t_out + hold:
        return 0.0, 0.0
    if u <= t_out:
        return s * min_jerk(u / t_out), s * min_jerk_speed(u / t_out) / t_out
    if u <= t_out + hold:
        return s, 0.0
    v = (u - t_out - hold) / t_out
    return s * (1 - min_jerk(v)), -s * min_jerk_speed(v) / t_out


def trace_rows(reps: list[dict], duration_s: float, fps: float = 30.0, seed: int = 0):
    """Per-frame trace rows; a face-lost gap of 0.5 s in the middle."""
    rng = np.random.default_rng(seed + 1)
    n = int(duration_s * fps)
    by_axis = {}
    for rep in reps:
        by_axis.setdefault(rep["axis"], []).append(rep)
    gap = (duration_s * 0.5, duration_s * 0.5 + 0.5)
    for k in range(n):
        t = k / fps
        found = not (gap[0] <= t < gap[1])
        row = {"t_s": t, "face_found": found, "confidence": 0.95 if found else 0.0,
               "reliable": found, "faces": int(found), "brightness": 120.0}
        for axis in FIELD:
            pos = spd = 0.0
            for rep in by_axis.get(axis, []):
                if rep["start_t_s"] <= t <= rep["end_t_s"]:
                    pos, spd = rep_value(rep, t)
                    break
            row[FIELD[axis]] = pos + rng.normal(0, 0.2) if found else math.nan
            row[SPEED_FIELD[axis]] = spd if found else math.nan
        yield row


def exercise_stubs() -> list[dict]:
    return [{"id": ex["id"], "name": ex["name"], "movement": ex["movement"],
             "unit": "mm" if ex["movement"] == "retraction" else "deg",
             "reps_target": len(ex["sides"]), "reps_completed": 0, "sets_target": 1,
             "max_speed_deg_s": ex["max_speed_deg_s"], "reps": []} for ex in EXERCISES]


def public_rep(rep: dict) -> dict:
    return {k: v for k, v in rep.items() if not k.startswith("_") and k not in ("axis",)}


def record(out_dir: Path, fps: float = 30.0, seed: int = 0, stop_at_s: float | None = None,
           started_at: datetime | None = None, realtime: float = 0.0, progress=None,
           close: bool = True, index: bool = True, left_gain_deg: float = 0.0) -> Path:
    """Run a synthetic session through SessionRecorder like the live pipeline would."""
    reps, warnings, duration = plan(seed, left_gain_deg=left_gain_deg)
    started = started_at or datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)
    rec = SessionRecorder(out_dir, {"title": "Daily neck routine", "path": "daily.yaml",
                                    "id": "daily"},
                          source={"kind": "virtual", "fps": fps}, started_at=started,
                          calibration={"neutral_yaw_deg": 1.2}, index=index)
    rec.set_exercises(exercise_stubs())
    pending_reps = sorted(reps, key=lambda r: r["end_t_s"])
    pending_warn = sorted(warnings, key=lambda w: w["t_s"])
    last_t = 0.0
    for row in trace_rows(reps, duration, fps, seed):
        t = row["t_s"]
        if stop_at_s is not None and t > stop_at_s:
            break
        rec.update(row, t)
        while pending_warn and pending_warn[0]["t_s"] <= t:
            rec.add_warning(pending_warn.pop(0))
        while pending_reps and pending_reps[0]["end_t_s"] <= t:
            rep = pending_reps.pop(0)
            rec.add_rep(public_rep(rep), exercise_id=rep["exercise_id"])
        if progress is not None:
            progress(t)
        if realtime:
            time.sleep(realtime / fps)
        last_t = t
    if close:
        rec.close("completed" if stop_at_s is None else "stopped by user")
    else:
        rec.checkpoint(last_t, force=True)
    return out_dir


def record_days(base: Path, days: int = 4, seed: int = 0) -> list[Path]:
    """Several sessions on consecutive days with slowly improving left rotation."""
    dirs = []
    for d in range(days):
        out = base / f"day{d}"
        record(out, fps=15.0, seed=seed + d, left_gain_deg=4.0 * d,
               started_at=datetime(2026, 3, 1 + d, 9, 30, tzinfo=timezone.utc))
        dirs.append(out)
    return dirs


# -- sanity tests of the fabricator itself -------------------------------------------------

def test_min_jerk_profile_is_smooth_and_reaches_amplitude():
    assert min_jerk(0.0) == 0.0 and min_jerk(1.0) == 1.0
    assert math.isclose(min_jerk_speed(0.5), 1.875)
    assert math.isclose(_solve_tau(0.5), 0.5, abs_tol=1e-9)


def test_plan_gives_known_targets_and_warnings():
    reps, warnings, duration = plan(0)
    assert len(reps) == 10 + 4 + 3
    short = [r for r in reps if not r["complete"]]
    assert [(r["exercise_id"], r["index"]) for r in short] == [("rot", 9)]
    assert all(r["_amp"] >= r["_target"] for r in reps if r["complete"])
    assert all(r["peak_deg"] < 0 for r in reps if r["side"] in ("right", "extension"))
    assert all("peak_mm" in r for r in reps if r["exercise_id"] == "tuck")
    assert sorted(w["kind"] for w in warnings) == ["jerk", "too_fast", "too_fast"]
    assert duration > reps[-1]["end_t_s"]


def test_trace_peak_matches_rep_amplitude():
    reps, _, duration = plan(0)
    rows = list(trace_rows(reps, duration, fps=60.0))
    rep = reps[0]
    window = [r["yaw_deg"] for r in rows if rep["start_t_s"] <= r["t_s"] <= rep["end_t_s"]
              and r["face_found"]]
    assert abs(max(window) - rep["_amp"]) < 1.0


if __name__ == "__main__":  # used by the SIGKILL test: python test_records_synth.py OUT_DIR
    record(Path(sys.argv[1]), fps=30.0, realtime=float(sys.argv[2]),
           progress=lambda t: print(f"t={t:.4f}", flush=True))
    print("finished", flush=True)
