"""Per-frame cost of the live pipeline against bare MediaPipe face-mesh inference.

Frames are 640x480 virtual-patient renders held in memory (rendering is not
timed). For each frame it times (a) bare `FaceMesh.process` with the app's
`FaceDetector` settings and (b) one whole session step: detection + pose +
calibration + kinematics + coach + cues + overlay drawing (not encoded or
shown). Both include the BGR->RGB conversion the app does. The two are timed
on the same frame one after the other, in alternating order, so load from
other jobs on a shared machine hits both alike; the first `--warmup` frames
are processed but not timed. Prints median and p95 ms, frames/s, the
pipeline/bare ratio of medians (target: <= 1.25), process CPU time (less
sensitive to other jobs than wall time) and the load average. `--breakdown`
adds the main thread's CPU time per pipeline stage.

    PYOPENGL_PLATFORM=egl .venv/bin/python benchmarks/realtime.py [--frames 300] [--voice] [--breakdown]
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict

import cv2
import numpy as np

import neckcoach.app.runner as runner
from neckcoach.app.demo_clip import coach_paced_script, demo_routine
from neckcoach.app.runner import SessionLoop
from neckcoach.io import overlay
from neckcoach.io.detector import FaceDetector
from neckcoach.measure import Measurement
from neckcoach.routine import load_routine, resolve_routine
from neckcoach.sim.clip import VirtualPatientSource


class _DrawOnly:
    """A video writer that keeps nothing, so the overlay is drawn but not encoded."""

    def write(self, image) -> None:
        pass

    def release(self) -> None:
        pass


def frames(n: int) -> list[tuple[float, np.ndarray]]:
    routine = demo_routine(load_routine(resolve_routine("rotation")), reps=2)
    script = coach_paced_script(routine, seed=5)
    source = VirtualPatientSource(script, 30.0, seed=5, bgr=True)
    out = []
    for t, frame, _ in source:
        out.append((t, frame))
        if len(out) >= n:
            break
    return out


def stats(name: str, times_s: list[float]) -> tuple[float, float]:
    ms = np.array(times_s) * 1000
    med, p95 = float(np.median(ms)), float(np.percentile(ms, 95))
    print(f"{name:<34} median {med:6.2f} ms   p95 {p95:6.2f} ms   {1000 / med:5.1f} frames/s")
    return med, p95


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


class StageClock:
    """Main-thread CPU time per stage of each step (wrapping the stages' methods).

    CPU time of the calling thread is not inflated by other jobs taking the
    core, so the split is comparable across runs on a busy machine.
    """

    def __init__(self, loop: SessionLoop) -> None:
        self.frames: list[dict[str, float]] = []
        self._now: dict[str, float] = defaultdict(float)
        m = loop.measurement
        self._wrap(m.detector._mesh, "process", "mesh")
        self._wrap(m.detector, "update", "detector")
        self._wrap(m.estimator, "update", "estimator")
        self._wrap(m, "update_pose", "calibration")
        self._wrap(m, "update", "measurement")
        self._wrap(loop.coach, "update", "coach")
        self._wrap(runner, "draw_overlay", "overlay")

    def _wrap(self, owner, name: str, key: str) -> None:
        fn = getattr(owner, name)

        def timed(*args, **kwargs):
            start = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self._now[key] += time.thread_time() - start

        setattr(owner, name, timed)

    def end_frame(self, step_s: float) -> None:
        self._now["step"] = step_s
        self.frames.append(dict(self._now))
        self._now.clear()

    def report(self) -> None:
        rows = {k: np.array([f.get(k, 0.0) for f in self.frames]) * 1000 for k in
                ("mesh", "detector", "estimator", "calibration", "measurement", "coach", "overlay", "step")}
        split = {
            "face mesh (main-thread share)": rows["mesh"],
            "detector adapter (excl. mesh)": rows["detector"] - rows["mesh"],
            "pose estimator": rows["estimator"],
            "calibration + kinematics filter": rows["calibration"],
            "rest of measurement": rows["measurement"] - rows["detector"] - rows["estimator"]
            - rows["calibration"],
            "coach": rows["coach"],
            "overlay drawing": rows["overlay"],
            "rest of step (colour conversion, cues, ...)": rows["step"] - rows["measurement"]
            - rows["coach"] - rows["overlay"],
        }
        print("main-thread CPU per pipeline step, ms (median / mean):")
        for name, ms in split.items():
            print(f"  {name:<44} {np.median(ms):6.3f} / {ms.mean():6.3f}")
        print(f"  {'step':<44} {np.median(rows['step']):6.3f} / {rows['step'].mean():6.3f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=300, help="frames rendered (incl. warm-up)")
    parser.add_argument("--warmup", type=int, default=10, help="first frames processed, not timed")
    parser.add_argument("--cv-threads", type=int, default=None,
                        help="cv2.setNumThreads for this run (default: OpenCV's, as the app)")
    parser.add_argument("--voice", action="store_true",
                        help="speak the cues with the real voice worker (pyttsx3) during the run")
    parser.add_argument("--breakdown", action="store_true",
                        help="also time the pipeline's stages (adds a little wrapping overhead)")
    args = parser.parse_args()
    if args.cv_threads is not None:
        cv2.setNumThreads(args.cv_threads)
    clip = frames(args.frames)
    print(f"{len(clip)} frames of {clip[0][1].shape[1]}x{clip[0][1].shape[0]}, "
          f"{max(0, len(clip) - args.warmup)} timed; cv2 threads {cv2.getNumThreads()}, "
          f"{os.cpu_count()} CPUs; load average {load()}")

    # the app's own detector class, so bare inference has exactly its MediaPipe settings
    detector = FaceDetector()
    mesh = detector._mesh
    voice = None
    if args.voice:
        from neckcoach.io.voice import Voice

        voice = Voice()
    routine = demo_routine(load_routine(resolve_routine("rotation")), reps=2)
    loop = SessionLoop(routine, Measurement(), video_writer=_DrawOnly(), voice=voice)
    stages = StageClock(loop) if args.breakdown else None

    def bare(t: float, frame: np.ndarray) -> None:
        mesh.process(np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)))

    def pipeline(t: float, frame: np.ndarray) -> None:
        start = time.thread_time()
        loop.step(t, frame)
        if stages is not None:
            stages.end_frame(time.thread_time() - start)

    times: dict = {bare: [], pipeline: []}
    cpu: dict = {bare: [], pipeline: []}
    for i, (t, frame) in enumerate(clip):
        if stages is not None and i == args.warmup:
            stages.frames.clear()
        for fn in ((bare, pipeline) if i % 2 == 0 else (pipeline, bare)):
            start, start_cpu = time.perf_counter(), time.process_time()
            fn(t, frame)
            if i >= args.warmup:
                times[fn].append(time.perf_counter() - start)
                cpu[fn].append(time.process_time() - start_cpu)
    if voice is not None:
        print(f"voice: {voice.status_message}; spoke {len(voice.spoken)} cues")
        voice.close()
    detector.close()

    b, _ = stats("bare MediaPipe face mesh", times[bare])
    f, f95 = stats("pipeline incl. overlay", times[pipeline])
    paired = np.array(times[pipeline]) / np.array(times[bare])
    print(f"ratio pipeline / bare (medians): {f / b:.2f} (target <= 1.25); "
          f"median overhead {f - b:.2f} ms; median of per-frame ratios {np.median(paired):.2f}")
    cb, cf = np.median(cpu[bare]) * 1000, np.median(cpu[pipeline]) * 1000
    print(f"process CPU time (all threads), medians: bare {cb:.2f} ms, pipeline {cf:.2f} ms, "
          f"ratio {cf / cb:.2f}")
    print(f"keeps a 30 fps camera at 30 fps: {'yes' if f95 < 1000 / 30 else 'no'} "
          f"(p95 {f95:.1f} ms vs 33.3 ms budget)")
    print(f"overlay text renders (label cache misses): {overlay._LABELS.misses}")
    if stages is not None:
        stages.report()
    print(f"load average at the end {load()}")


if __name__ == "__main__":
    main()
