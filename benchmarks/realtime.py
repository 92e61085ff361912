"""Per-frame cost of the live pipeline against bare MediaPipe face-mesh inference.

Frames are 640x480 virtual-patient renders held in memory (rendering is not
timed). Three things are timed on every frame, each with its own MediaPipe
graph in tracking mode: (a) bare `FaceMesh.process` with the app's
`FaceDetector` settings; (b) "threaded": the main thread's wall time of one
`SessionLoop.step` as the app runs it -- detection + pose + calibration +
kinematics + coach + cues, with the overlay drawn (not encoded or shown) by the
`OverlayWorker` thread during the next frame's inference; (c) "sync": the same
step drawing the overlay itself (`threaded_overlay=False`), or with
`--room-after-inference` the threaded step with the room watched after face
mesh's inference instead of during it. All include the BGR->RGB conversion the
app does.

They run in alternating chunks of `--chunk` consecutive frames (the order
rotates every chunk), so load from other jobs on a shared machine hits all
three alike, while consecutive threaded steps overlap the worker's drawing
with the next frame's inference as in the app. After a threaded chunk the
loop's overlay is flushed (untimed, reported) so the worker never runs into
the next chunk.
The first `--warmup` frames are processed but not timed. Prints median and p95
ms, frames/s, the ratio of medians to bare (target: <= 1.25), process CPU per
frame over whole chunks (all threads, the worker included; less sensitive to
other jobs than wall time), whether the worker drew every frame, and the load
average. `--breakdown` adds the main thread's CPU time per stage of the sync
step and the worker's CPU per overlay.

    PYOPENGL_PLATFORM=egl .venv/bin/python benchmarks/realtime.py [--frames 300] [--voice] [--breakdown] [--encode]
    PYOPENGL_PLATFORM=egl .venv/bin/python benchmarks/realtime.py --room-after-inference
    PYOPENGL_PLATFORM=egl xvfb-run -a .venv/bin/python benchmarks/realtime.py --window
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import defaultdict

import cv2
import numpy as np

from neckcoach.app.demo_clip import demo_routine
from neckcoach.app.runner import SessionLoop
from neckcoach.io import overlay
from neckcoach.io.detector import FaceDetector
from neckcoach.measure import Measurement
from neckcoach.routine import load_routine, resolve_routine
from neckcoach.sim.clip import VirtualPatientSource
from neckcoach.sim.scripted import script_for_routine


class _DrawOnly:
    """A video writer that keeps nothing (the overlay is drawn, not encoded), or with
    `path` encodes mp4v like `neckcoach run --record`; counts frames either way."""

    def __init__(self, path: str | None = None) -> None:
        self.frames = 0
        self.path = path
        self._writer = None

    def write(self, image) -> None:
        self.frames += 1
        if self.path is not None:
            if self._writer is None:
                h, w = image.shape[:2]
                self._writer = cv2.VideoWriter(self.path, cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (w, h))
            self._writer.write(image)

    def release(self) -> None:
        if self._writer is not None:
            self._writer.release()


def frames(n: int) -> list[tuple[float, np.ndarray]]:
    routine = demo_routine(load_routine(resolve_routine("rotation")), reps=2)
    script = script_for_routine(routine, seed=5, lead_in_s=5.0, between_exercises_s=5.0)
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
    core, so the split is comparable across runs on a busy machine. Meant for
    the sync loop, where every stage runs on the calling thread.
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
        self._wrap(loop, "_render", "overlay")

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
        print("main-thread CPU per stage of the sync step, ms (median / mean):")
        for name, ms in split.items():
            print(f"  {name:<44} {np.median(ms):6.3f} / {ms.mean():6.3f}")
        print(f"  {'step':<44} {np.median(rows['step']):6.3f} / {rows['step'].mean():6.3f}")


def worker_cpu_clock(loop: SessionLoop) -> list[float]:
    """Wrap the overlay worker's drawing; returns the list its thread CPU times go to."""
    spent: list[float] = []
    worker = loop.overlay
    render = worker._render

    def timed(frame, state):
        start = time.thread_time()
        try:
            return render(frame, state)
        finally:
            spent.append(time.thread_time() - start)

    worker._render = timed
    return spent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=300, help="frames rendered (incl. warm-up)")
    parser.add_argument("--warmup", type=int, default=10, help="first frames processed, not timed")
    parser.add_argument("--chunk", type=int, default=10,
                        help="consecutive frames per variant before switching (default 10)")
    parser.add_argument("--cv-threads", type=int, default=None,
                        help="cv2.setNumThreads for this run (default: OpenCV's, as the app)")
    parser.add_argument("--voice", action="store_true",
                        help="speak the cues with the real voice worker (pyttsx3) during the run")
    parser.add_argument("--encode", action="store_true",
                        help="also encode the overlay video (mp4v, to a temporary folder) as --record does")
    parser.add_argument("--window", action="store_true",
                        help="also show the overlay in a real window (cv2.imshow + pollKey on the loop's "
                             "thread, as `neckcoach run`); needs a display, e.g. under xvfb-run")
    parser.add_argument("--room-after-inference", action="store_true",
                        help="the third variant is the threaded loop with the room watched after face "
                             "mesh's inference instead of during it (what the watch costs in frame time)")
    parser.add_argument("--breakdown", action="store_true",
                        help="also time the stages (adds a little wrapping overhead)")
    args = parser.parse_args()
    if args.chunk < 1:
        parser.error(f"--chunk must be >= 1, got {args.chunk}")
    if args.room_after_inference and args.breakdown:
        parser.error("--breakdown times the sync loop's stages, which --room-after-inference replaces")
    if args.cv_threads is not None:
        cv2.setNumThreads(args.cv_threads)
    clip = frames(args.frames)
    print(f"{len(clip)} frames of {clip[0][1].shape[1]}x{clip[0][1].shape[0]}, "
          f"{max(0, len(clip) - args.warmup)} timed, chunks of {args.chunk}, overlay "
          f"{'encoded (mp4v)' if args.encode else 'drawn, not encoded'}"
          f"{', shown in a window' if args.window else ''}; cv2 threads "
          f"{cv2.getNumThreads()}, {os.cpu_count()} CPUs; load average {load()}")

    # the app's own detector class, so bare inference has exactly its MediaPipe settings
    detector = FaceDetector()
    mesh = detector._mesh
    voice = None
    if args.voice:
        from neckcoach.io.voice import Voice

        voice = Voice()
    routine = demo_routine(load_routine(resolve_routine("rotation")), reps=2)
    tmp = tempfile.TemporaryDirectory() if args.encode else None
    threaded_writer, sync_writer = (_DrawOnly(os.path.join(tmp.name, f"{n}.mp4") if tmp else None)
                                    for n in ("threaded", "sync"))
    windows: list = [None, None]
    if args.window:
        from neckcoach.io.display import WindowDisplay, display_available

        ok, why = display_available()
        if not ok:
            parser.error(f"--window needs a display ({why}); run it under xvfb-run")
        windows = [WindowDisplay(f"NeckCoach benchmark {n}") for n in ("threaded", "sync")]
    threaded = SessionLoop(routine, Measurement(), video_writer=threaded_writer, voice=voice,
                           display=windows[0])
    sync = SessionLoop(routine, Measurement(), video_writer=sync_writer,
                       threaded_overlay=args.room_after_inference, display=windows[1])
    if args.room_after_inference:
        # The hook hands over the overlay only: `Measurement.update` then watches the room itself.
        sync.measurement.detector.during_inference = sync._release_overlay
    stages = StageClock(sync) if args.breakdown else None
    worker_cpu = worker_cpu_clock(threaded)

    def bare(t: float, frame: np.ndarray) -> None:
        mesh.process(np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)))

    def threaded_step(t: float, frame: np.ndarray) -> None:
        threaded.step(t, frame)

    def sync_step(t: float, frame: np.ndarray) -> None:
        start = time.thread_time()
        sync.step(t, frame)
        if stages is not None:
            stages.end_frame(time.thread_time() - start)

    variants = {"bare": bare, "threaded": threaded_step, "sync": sync_step}
    names = list(variants)
    times: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    worker_waits: list[float] = []
    for c, first in enumerate(range(0, len(clip), args.chunk)):
        chunk = list(enumerate(clip[first:first + args.chunk], start=first))
        if stages is not None and first <= args.warmup < first + len(chunk):
            stages.frames.clear()
        for name in names[c % 3:] + names[:c % 3]:
            fn = variants[name]
            start_cpu = time.process_time()
            for i, (t, frame) in chunk:
                start = time.perf_counter()
                fn(t, frame)
                if i >= args.warmup:
                    times[name].append(time.perf_counter() - start)
            if name == "threaded" or (name == "sync" and args.room_after_inference):
                start = time.perf_counter()
                (threaded if name == "threaded" else sync).flush_overlay()
                worker_waits.append(time.perf_counter() - start)
            if chunk[0][0] >= args.warmup:
                cpu[name].append((time.process_time() - start_cpu) / len(chunk))
    worker = threaded.overlay
    worker.close()
    if sync.overlay is not None:
        sync.overlay.close()
    if voice is not None:
        print(f"voice: {voice.status_message}; spoke {len(voice.spoken)} cues")
        voice.close()
    for d in (detector, threaded.measurement.detector, sync.measurement.detector):
        d.close()
    for w in (threaded_writer, sync_writer):
        w.release()
    for window in windows:
        if window is not None:
            window.close()
    if tmp is not None:
        tmp.cleanup()

    b, _ = stats("bare MediaPipe face mesh", times["bare"])
    f, f95 = stats("pipeline, threaded overlay (app)", times["threaded"])
    s, _ = stats("pipeline, room watched after inference" if args.room_after_inference
                 else "pipeline, overlay in step (sync)", times["sync"])
    paired = np.array(times["threaded"]) / np.array(times["bare"])
    print(f"ratio threaded / bare (medians): {f / b:.2f} (target <= 1.25); median overhead "
          f"{f - b:.2f} ms; median of per-frame ratios {np.median(paired):.2f}")
    print(f"ratio sync / bare (medians): {s / b:.2f}; median of per-frame ratios "
          f"{np.median(np.array(times['sync']) / np.array(times['bare'])):.2f}")
    cb, cf, cs = (np.median(cpu[n]) * 1000 for n in names)
    print(f"process CPU per frame (all threads, worker included), medians over chunks: bare {cb:.2f} ms, "
          f"threaded {cf:.2f} ms (ratio {cf / cb:.2f}), sync {cs:.2f} ms (ratio {cs / cb:.2f})")
    wait = np.array(worker_waits) * 1000
    complete = worker.drawn == worker.submitted == threaded_writer.frames
    print(f"overlay worker: submitted {worker.submitted}, drawn {worker.drawn}, written "
          f"{threaded_writer.frames}, dropped {worker.dropped} "
          f"({'every frame' if complete else 'FRAMES LOST'}); submits that waited for room "
          f"{worker.blocked}; drawing CPU median {np.median(worker_cpu) * 1000:.2f} ms; wait for it "
          f"after a chunk median {np.median(wait):.2f} ms, max {wait.max():.2f} ms")
    print(f"keeps a 30 fps camera at 30 fps: {'yes' if f95 < 1000 / 30 else 'no'} "
          f"(threaded p95 {f95:.1f} ms vs 33.3 ms budget)")
    print(f"overlay text renders (label cache misses): {overlay._LABELS.misses}")
    if stages is not None:
        stages.report()
    print(f"load average at the end {load()}")


if __name__ == "__main__":
    main()
