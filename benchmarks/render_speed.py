"""Frames per second of the virtual patient at 640x480, plain and with realism knobs.

Run: PYOPENGL_PLATFORM=egl .venv/bin/python benchmarks/render_speed.py [--frames N]
"""

from __future__ import annotations

import argparse
import time

from neckcoach.sim.render import HeadRenderer

CASES = {
    "plain": {},
    "noise+brightness": {"noise": 6.0, "brightness": 0.8},
    "blur": {"blur": 1.5},
    "jpeg q40": {"jpeg_quality": 40},
    "occlusion 0.3": {"occlusion": 0.3},
    "second face": {"second_face": True},
    "all knobs": {"noise": 6.0, "brightness": 0.8, "blur": 1.5, "jpeg_quality": 40, "occlusion": 0.3,
                  "second_face": True},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=30, help="frames per case")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    args = parser.parse_args()
    renderer = HeadRenderer(width=args.width, height=args.height, seed=0)
    renderer.render(0, 0, 0, second_face=True)  # warm-up: shaders, texture upload, inset
    print(f"{args.width}x{args.height}, {args.frames} frames per case")
    for name, knobs in CASES.items():
        start = time.perf_counter()
        for i in range(args.frames):
            renderer.render(-40 + 80 * i / args.frames, 10.0, -5.0, **knobs)
        elapsed = time.perf_counter() - start
        print(f"{name:18s} {args.frames / elapsed:6.1f} frames/s  ({1000 * elapsed / args.frames:5.0f} ms/frame)")


if __name__ == "__main__":
    main()
