"""Per-frame cost of the live pipeline against bare MediaPipe face-mesh inference.

Frames are 640x480 virtual-patient renders held in memory (rendering is not
timed). For each frame it times (a) bare `FaceMesh.process` and (b) the whole
session step: detection + pose + calibration + kinematics + coach + cues +
overlay drawing. Prints median and p95 ms, frames/s, and the pipeline/bare
ratio (target: <= 1.25).

    PYOPENGL_PLATFORM=egl .venv/bin/python benchmarks/realtime.py [--frames 300]
"""

from __future__ import annotations

import argparse
import time

import cv2
import mediapipe as mp
import numpy as np

from neckcoach.app.demo_clip import coach_paced_script, demo_routine
from neckcoach.app.runner import SessionLoop
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


def stats(name: str, times_s: list[float]) -> float:
    ms = np.array(times_s) * 1000
    print(f"{name:<34} median {np.median(ms):6.1f} ms   p95 {np.percentile(ms, 95):6.1f} ms   "
          f"{1000 / np.median(ms):5.1f} frames/s")
    return float(np.median(ms))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=300)
    args = parser.parse_args()
    clip = frames(args.frames)
    print(f"{len(clip)} frames of {clip[0][1].shape[1]}x{clip[0][1].shape[0]}")

    mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=2, refine_landmarks=True,
                                           min_detection_confidence=0.5, min_tracking_confidence=0.5)
    bare = []
    for _t, frame in clip:
        start = time.perf_counter()
        mesh.process(np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)))
        bare.append(time.perf_counter() - start)
    mesh.close()

    routine = demo_routine(load_routine(resolve_routine("rotation")), reps=2)
    loop = SessionLoop(routine, Measurement(), video_writer=_DrawOnly())
    full = []
    for t, frame in clip:
        start = time.perf_counter()
        loop.step(t, frame)
        full.append(time.perf_counter() - start)

    b = stats("bare MediaPipe face mesh", bare)
    f = stats("pipeline incl. overlay", full)
    print(f"ratio pipeline / bare: {f / b:.2f} (target <= 1.25)")
    print(f"keeps a 30 fps camera at 30 fps: {'yes' if np.percentile(np.array(full), 95) < 1 / 30 else 'no'} "
          f"(p95 {np.percentile(np.array(full) * 1000, 95):.1f} ms vs 33.3 ms budget)")


if __name__ == "__main__":
    main()
