"""Virtual patients who record themselves without the coach, for `neckcoach review` tests and benchmarks.

A home recording starts with a short still moment (the patient has just
pressed record and sits facing the screen), then the routine's reps back to
back at the patient's own pace: `pace` 2 moves twice as fast as the
prescribed tempo, 0.5 half as fast, and holds last as prescribed (people
count holds, they do not time their movements). No count-in, no rests
beyond `between_s` between exercises.

`poses_from_script` turns a script into absolute `HeadPose`s as the
estimator would give them (a neutral that is not the camera axis, a little
noise), so the whole review after the detector can be tested in
milliseconds; the rendered clips (`write_clip`) test it with MediaPipe.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from neckcoach.core.samples import HeadPose
from neckcoach.sim.motion import Event, Flick, MotionScript, Segment
from neckcoach.sim.scripted import NEUTRAL_S, script_for_routine


def paced_routine(routine, pace: float):
    """The routine as a patient at `pace` times the tempo does it (holds unchanged)."""
    if not 0.25 <= pace <= 4.0:
        raise ValueError(f"pace must be in [0.25, 4], got {pace!r}")
    exercises = [ex.model_copy(update={"tempo_s": ex.hold_s + (ex.tempo_s - ex.hold_s) / pace})
                 for ex in routine.exercises]
    return routine.model_copy(update={"exercises": exercises})


def shifted(script: MotionScript, cut_s: float) -> MotionScript:
    """The script without its first `cut_s` seconds (which must hold no movement)."""
    if any(s.t0_s < cut_s for s in script.segments) or any(f.onset_s < cut_s for f in script.flicks):
        raise ValueError(f"the first {cut_s} s of the script are not still")
    segments = [Segment(s.axis, s.t0_s - cut_s, s.duration_s, s.start, s.end, s.profile) for s in script.segments]
    flicks = [Flick(f.axis, f.onset_s - cut_s, f.amplitude, f.duration_s, f.return_s) for f in script.flicks]
    events = [Event(e.t_s - cut_s, e.kind, e.axis, e.direction, e.detail) for e in script.events if e.t_s >= cut_s]
    return MotionScript(segments, flicks, events, duration_s=script.duration_s - cut_s, seed=script.seed,
                        sway_deg=script.sway_deg)


def home_script(routine, *, still_s: float = 1.0, pace: float = 1.0, seed: int = 0, mistakes=(),
                max_reps: int | None = None, between_s: float = 1.0) -> MotionScript:
    """A home recording of `routine` (see the module docstring)."""
    if not 0.0 <= still_s <= NEUTRAL_S:
        raise ValueError(f"still_s must be in [0, {NEUTRAL_S}], got {still_s!r}")
    script = script_for_routine(paced_routine(routine, pace), seed=seed, mistakes=mistakes,
                                max_reps_per_exercise=max_reps, neutral_s=NEUTRAL_S, lead_in_s=0.0,
                                between_exercises_s=between_s, max_rest_s=between_s)
    return shifted(script, NEUTRAL_S - still_s)


def restless_script(duration_s: float = 20.0, *, amplitude_deg: float = 40.0, period_s: float = 3.0,
                    seed: int = 0) -> MotionScript:
    """A patient who never holds still: head turns from side to side from the first frame.

    Wherever the head slows down (at the turns) it is `amplitude_deg` away from
    the screen; wherever it faces the screen it is moving fast.
    """
    segments, t, start, side = [], 0.0, 0.0, 1.0
    while t < duration_s:
        segments.append(Segment("yaw", t, period_s / 2, start, side * amplitude_deg))
        t, start, side = t + period_s / 2, side * amplitude_deg, -side
    return MotionScript(segments, duration_s=duration_s, seed=seed)


def expected_by_side(script: MotionScript) -> dict[str, Counter]:
    """Complete reps the script performs, per exercise id and side moved."""
    out: dict[str, Counter] = {}
    mistaken = {(e.detail.get("exercise"), e.detail.get("set"), e.detail.get("rep")): e.detail.get("mistake")
                for e in script.events if e.kind == "mistake"}
    for e in script.events:
        if e.kind != "rep_start":
            continue
        key = (e.detail.get("exercise"), e.detail.get("set"), e.detail.get("rep"))
        mistake = None if e.detail.get("make_up") else mistaken.get(key)
        counts = out.setdefault(e.detail["exercise"], Counter())
        if mistake not in ("short", "skipped_hold"):
            counts[e.detail.get("moved") or e.direction] += 1
    return out


def counted_by_side(session: dict) -> dict[str, Counter]:
    return {ex["id"]: Counter(r["side"] for r in ex["reps"] if r["complete"]) for ex in session["exercises"]}


def poses_from_script(script: MotionScript, *, fps: float = 30.0, seed: int = 0, noise_deg: float = 0.3,
                      noise_mm: float = 0.5, neutral=(3.0, -4.0, 1.0), distance_mm: float = 600.0,
                      lost: tuple[tuple[float, float], ...] = (), jitter: float = 0.2) -> list[HeadPose]:
    """Absolute head poses of `script` as the estimator reports them (camera-relative, noisy).

    `neutral` is the head's (yaw, pitch, roll) at rest relative to the camera:
    the relative rotation is composed onto it (R = Rn Rrel), as `Neutral.relative`
    (Rn^T R) undoes.
    `lost` lists (start, end) spans without a face. Frame times are uneven by
    up to `jitter` of a frame period, as a webcam's are.
    """
    from neckcoach.core.geometry import angles_from_rotation, rotation_from_angles

    rng = np.random.default_rng(seed)
    rn = rotation_from_angles(*neutral)
    poses = []
    n = int(np.floor(script.duration_s * fps + 1e-9)) + 1
    times = np.arange(n) / fps + rng.uniform(-jitter / 2, jitter / 2, n) / fps
    times[0] = 0.0
    for t in np.minimum(np.maximum.accumulate(times), script.duration_s):
        t = float(t)
        if any(a <= t < b for a, b in lost):
            poses.append(HeadPose(t, False, image_size_px=(640, 480), brightness=110.0))
            continue
        yaw, pitch, roll, retraction = script.pose_at(t)
        n = rng.normal(0.0, noise_deg, 3)
        absolute = angles_from_rotation(rn @ rotation_from_angles(yaw + n[0], pitch + n[1], roll + n[2]))
        back = rn @ np.array([0.0, 0.0, retraction + rng.normal(0.0, noise_mm)])
        position = (float(back[0]), float(back[1]), float(distance_mm + back[2]))
        poses.append(HeadPose(t, True, *absolute, position, confidence=0.9, reliable=abs(absolute[0]) < 50,
                              faces=1, face_width_px=160.0, brightness=110.0, image_size_px=(640, 480),
                              face_center_px=(320.0, 240.0), face_brightness=120.0))
    return poses


def live_and_review_warnings(routine, poses):
    """The jerk / too-fast warnings of the live coach and of the review over the same poses,
    and the review's session record: the two must warn the same movement at the same time."""
    from neckcoach.app.review import review_poses
    from neckcoach.core import events as ev
    from neckcoach.core.coach import Coach
    from neckcoach.measure import Measurement

    motion = (ev.JERK, ev.TOO_FAST)
    live, coach, live_warnings = Measurement(detector=object()), Coach(routine), []
    for pose in poses:
        kin = live.update_pose(pose)
        if kin.extra["calibrated"]:
            live_warnings += [e for e in coach.update(kin) if e.kind in motion]
    _, _, events, session, _ = review_poses(routine, poses)
    return live_warnings, [e for e in events if e.kind in motion], session
