"""A quick head turn past face mesh's range, rendered in a population session's room.

Why: on rendered population seed 401327 (a light from the patient's side) the followed
points (`neckcoach/io/headtrack.py`) read a quick turn to 59.6 deg as about 20; this replays
that turn alone in the session's scene and in variants of it, so what changes the reading
can be seen (benchmarks/README.md, "Stop 54: a quick turn under a light from one side").

For each variant: the head turns from 0 to `--target` deg over `--move-s` s (minimum jerk) at
`--fps`, after 3 s at neutral (the measurement's calibration), and holds. Printed at the end of
the hold: the truth, the measurement's relative yaw and whether it is trusted or a lower bound,
and, in the camera's frame, face mesh's fit and the followed points' fit.

    PYOPENGL_PLATFORM=egl .venv/bin/python benchmarks/quick_turn.py [--seed 401327] [--target 59.6] [--move-s 0.7]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from population import plan  # noqa: E402

from neckcoach.core.headpose import angles_from_rotation  # noqa: E402
from neckcoach.measure import Measurement  # noqa: E402
from neckcoach.sim.closed_loop import session_budget_s  # noqa: E402
from neckcoach.sim.motion import min_jerk  # noqa: E402
from neckcoach.sim.render import HeadRenderer  # noqa: E402
from neckcoach.sim.scene import SceneSpec  # noqa: E402

NEUTRAL_S = 3.0
HOLD_S = 1.0


def session_scene(seed: int) -> SceneSpec:
    """The scene `benchmarks/population.py` renders session `seed` in (nobody passing by)."""
    _, routine, traits, *_, rng = plan(seed, 2, 3.0)
    scene = SceneSpec.random(rng, duration_s=session_budget_s(routine, traits) / 3.0, passerby_prob=0.3)
    return scene.replace(passerby=None)


def variants(scene: SceneSpec) -> dict[str, SceneSpec]:
    default = SceneSpec()
    level = scene.replace(camera_x_m=0.0, camera_yaw_deg=0.0, camera_height_m=default.camera_height_m,
                          camera_pitch_deg=0.0)
    return {
        "the session's scene": scene,
        "camera centred and level": level,
        "centred, level, the default scene's light": level.replace(key_azimuth_deg=default.key_azimuth_deg,
                                                                  fill_ratio=default.fill_ratio),
        "the default scene": default,
    }


def turn(scene: SceneSpec, seed: int, target_deg: float, move_s: float, fps: float) -> dict:
    renderer = HeadRenderer(seed=seed, scene=scene)
    measurement = Measurement()
    estimator = measurement.estimator
    readings: dict = {}
    estimate = estimator.update

    def update(obs, t_s, **kw):
        pose = estimate(obs, t_s, **kw)
        readings["frame"] = dict(estimator._readings)  # this frame's mesh / followed angles, where read
        return pose

    estimator.update = update
    kin = None
    for i in range(int((NEUTRAL_S + move_s + HOLD_S) * fps)):
        t = i / fps
        yaw = target_deg * min_jerk((t - NEUTRAL_S) / move_s) if t > NEUTRAL_S else 0.0
        kin = measurement.update(renderer.render(yaw, 0.0, 0.0, 0.0, t_s=t), t)
    frame = readings.get("frame", {})
    return dict(truth=yaw, yaw=kin.yaw_deg, trusted=kin.is_reliable("yaw"), bound=kin.is_lower_bound("yaw"),
                mesh=frame["mesh"][0] if frame.get("mesh") else None,
                followed=frame["followed"][0] if frame.get("followed") else None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=401327, help="population session whose room is used")
    parser.add_argument("--target", type=float, default=59.6, help="turn, deg (+ = the patient's left)")
    parser.add_argument("--move-s", type=float, default=0.7, help="duration of the turn, s")
    parser.add_argument("--fps", type=float, default=24.0)
    args = parser.parse_args()
    if not 0.1 <= args.move_s <= 10.0:
        parser.error(f"--move-s must be in [0.1, 10], got {args.move_s}")
    peak = 1.875 * abs(args.target) / args.move_s
    print(f"turn 0 -> {args.target:g} deg in {args.move_s:g} s (peak {peak:.0f} deg/s) at {args.fps:g} fps; "
          f"the room of population seed {args.seed}")
    fmt = lambda v: "   -  " if v is None else f"{v:6.1f}"  # noqa: E731
    for name, scene in variants(session_scene(args.seed)).items():
        r = turn(scene, args.seed, args.target, args.move_s, args.fps)
        flag = "trusted" if r["trusted"] else ("lower bound" if r["bound"] else "untrusted")
        print(f"  {name:45s} truth {r['truth']:5.1f}  read {r['yaw']:6.1f} ({flag:11s})  "
              f"camera frame: face mesh {fmt(r['mesh'])}, followed {fmt(r['followed'])}")


if __name__ == "__main__":
    main()
