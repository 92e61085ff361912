"""Review a recording made without the coach: one measuring pass over the video, then counting.

The pass is the only part that touches the video, and it is as close to bare
face-mesh inference as the machine allows (see benchmarks/README.md):

- frames are decoded and converted to RGB on a thread (`PrefetchedFrames`),
  while face mesh infers on the previous frame (OpenCV releases the GIL);
- each frame's landmarks are read and its head pose estimated during the
  *next* frame's inference (`FaceDetector.infer`/`observe` and the
  `during_inference` hook), when the loop would otherwise only wait for
  MediaPipe's threads.

Then, from the stored poses: the neutral (`core.neutral_search`), the
kinematics (the live `KinematicsFilter`), the counting and judging
(`core.review.ReviewCoach`) and the outcome (`core.outcome`); finally the
same session folder as `neckcoach run` (session.json, reps.csv, trace.csv).
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import cv2
import numpy as np

from neckcoach.core import events as ev
from neckcoach.core.calibration import IDENTITY
from neckcoach.core.headpose import HeadPoseEstimator
from neckcoach.core.kinematics import KinematicsFilter
from neckcoach.core.neutral_search import NeutralChoice, NeutralSearch
from neckcoach.core.outcome import Outcome, explain
from neckcoach.core.review import ReviewCoach
from neckcoach.core.samples import HeadPose, Kinematics
from neckcoach.core.seat import SeatFollower, follow_seat, seat_move
from neckcoach.core.view_move import CameraRest, RoomView, camera_rests
from neckcoach.io.sources import VideoFileSource

_END = object()


class PrefetchedFrames:
    """(t_s, frame_rgb) of a video file, decoded `depth` frames ahead on a thread.

    Timestamps are `VideoFileSource`'s (the file's own, through a
    `SessionClock`), so a reviewed recording has the same times as `run`
    gives it. Raises `SourceError` at once if the file cannot be read.
    """

    def __init__(self, path: str | Path, depth: int = 4) -> None:
        if not 1 <= depth <= 64:
            raise ValueError(f"depth must be in 1..64, got {depth!r}")
        self._source = VideoFileSource(path)
        self.path = Path(path)
        self.fps = self._source.fps
        self.frame_count = self._source.frame_count
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="video-decoder", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                item = self._source.read()
                if item is None:
                    break
                t, bgr = item
                self._put((t, np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))))
        except BaseException as exc:  # handed to the consumer, which raises it
            self._error = exc
        finally:
            self._put(_END)

    def _put(self, item) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[tuple[float, np.ndarray]]:
        while True:
            item = self._queue.get()
            if item is _END:
                if self._error is not None:
                    raise self._error
                return
            yield item

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)
        self._source.close()

    def __enter__(self) -> "PrefetchedFrames":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def measure_poses(frames, *, detector=None, estimator: HeadPoseEstimator | None = None,
                  on_frame: Callable[[int, float], None] | None = None,
                  room_views: list | None = None) -> list[HeadPose]:
    """Head pose of every frame; each frame's result is read while face mesh infers on the next.

    With `FaceDetector.infer`/`observe`, only the models' own work stays on
    the loop's path: reading the landmarks, choosing the face, the picture
    measures and the pose fit of frame N run in the `during_inference` hook of
    frame N+1. A detector with only `update` (a test fake) is used as it is.
    The detector follows one face; when it loses it, it takes the largest face
    next (a recording has no calibrated patient to protect, see `Measurement.pose`).
    With `room_views` (a list), the room behind the person is watched as well
    (`io.room_watch`) and each frame's `RoomView` appended to it, for `review_poses`.
    """
    from neckcoach.measure import pose_of_frame

    own = detector is None
    if own:
        from neckcoach.io.detector import FaceDetector

        detector = FaceDetector()
    estimator = estimator or HeadPoseEstimator()
    room = None
    if room_views is not None:
        from neckcoach.io.room_watch import RoomWatcher

        room = RoomWatcher(hfov_deg=estimator.hfov_deg)
    split = hasattr(detector, "infer") and hasattr(detector, "observe")
    poses: list[HeadPose] = []
    pending: list[tuple[float, np.ndarray, Any]] = []

    def finish_pending() -> None:
        if not pending:
            return
        t, rgb, result = pending.pop()
        # The live measurement's own frame step (detector <-> estimator feedback included).
        pose = pose_of_frame(detector, estimator, rgb, t,
                             observe=(lambda: detector.observe(result)) if split else (lambda: result))
        if not pose.face_found:
            detector.reset()
        poses.append(pose)
        if room is not None:
            room_views.append(room.update(rgb, t))
            room.patient_at(pose.face_center_px if pose.face_found else None, pose.face_width_px)

    previous_hook = getattr(detector, "during_inference", None)
    detector.during_inference = finish_pending
    try:
        for i, (t, rgb) in enumerate(frames):
            result = detector.infer(rgb) if split else detector.update(rgb)  # frame i-1 is finished inside
            finish_pending()  # a detector that never called the hook
            pending.append((t, rgb, result))
            if on_frame is not None:
                on_frame(i, t)
        finish_pending()
    finally:
        detector.during_inference = previous_hook
        if own:
            detector.close()
    return poses


@dataclass
class ReviewResult:
    """What a review found; field names shared with `RunResult` for the printed summary."""

    ended_reason: str
    frames: int
    session: dict[str, Any]
    outcome: Outcome
    neutral: NeutralChoice
    out_dir: Path | None = None
    events: list = field(default_factory=list)
    processing_fps: float = 0.0
    kinematics: list[Kinematics] = field(default_factory=list)

    @property
    def outside_exercises(self) -> list[dict[str, Any]]:
        """Quick movements the safety monitor found while the person was not exercising (see core.review)."""
        return list(self.session.get("quick_movements_outside_exercises") or [])

    @property
    def picture_problems(self) -> list[dict[str, Any]]:
        """Spans when counting paused for the picture: kind, start_t_s, end_t_s."""
        return [{"kind": p.get("reason"), "start_t_s": p.get("start_t_s"), "end_t_s": p.get("end_t_s")}
                for p in self.session.get("pauses") or [] if p.get("reason") in ev.QUALITY_KINDS]


def review_poses(routine, poses: list[HeadPose], *, neutral_window: tuple[float, float] | None = None,
                 search: NeutralSearch | None = None, coach_options: dict | None = None,
                 views: list[RoomView | None] | None = None):
    """(neutral choice, kinematics, events, session dict, outcome) of measured poses. Pure.

    With `views` (the room behind the person per pose, see `measure_poses`), a camera moved
    during the recording splits it where it stood (`core.view_move.camera_rests`): each
    place has its own neutral, found there by the same search (a neutral from before the
    move would put every later reading off by the camera's turn), and nothing read while the
    camera moved, or where no neutral was found, is trusted. The choice returned is the first
    place's that has one; each later place's is in the session's `camera_moves`.
    """
    search = search or NeutralSearch()
    rests = _rests(poses, views)
    choices = []
    for rest in rests:
        part = [p for p in poses if rest.start_s <= p.t_s <= rest.end_s]
        if neutral_window is not None and rest.start_s <= neutral_window[0] <= rest.end_s:
            choices.append(search.given(poses, *neutral_window))
        elif neutral_window is not None:
            choices.append(NeutralChoice(False, None, None, None, "the camera stood elsewhere during the "
                                         "neutral named"))
        else:
            choices.append(search.find(part))
    choice = next((c for c in choices if c.found), choices[0])
    found = choice.found
    kins = []
    place = -1
    filt, seat, neutral = KinematicsFilter(), None, IDENTITY
    for p in poses:
        here = next((i for i, r in enumerate(rests) if p.t_s <= r.end_s), len(rests) - 1)
        if here != place:
            place = here
            chosen = choices[here]
            neutral = chosen.neutral if chosen.found else IDENTITY
            filt.reset()
            seat = SeatFollower() if chosen.found else None
        neutral, kin = follow_seat(neutral, filt, seat, p)
        if p.t_s < rests[here].start_s or (len(rests) > 1 and not choices[here].found):
            kin = kin.distrusted()  # the camera moving, or no neutral for where it stood
        kins.append(kin)
    # Without a neutral nothing is counted, but speeds and picture problems are still judged.
    coach = ReviewCoach(routine, count=found, **dict(coach_options or {}))
    events: list = []
    for k in kins:
        events.extend(coach.update(k))
    events.extend(coach.finish(kins[-1].t_s if kins else None))
    session = coach.session.to_dict()
    needed_s = (neutral_window[1] - neutral_window[0]) if neutral_window else search.min_duration_s
    outcome = explain(session, neutral_found=found, neutral_s=round(needed_s, 2),
                      neutral_detail="" if found else choice.reason, ended_reason="source ended")
    coach.session.outcome = outcome.to_dict()
    session = coach.session.to_dict()
    if len(rests) > 1:
        session["camera_moves"] = [{"t_s": round(r.start_s, 2), "moved_deg": round(r.moved_deg, 1),
                                    "neutral": c.to_dict()} for r, c in zip(rests[1:], choices[1:])]
    return choice, kins, events, session, outcome


def _rests(poses: list[HeadPose], views) -> list[CameraRest]:
    """Where the camera stood; one place for the whole recording without views."""
    if not poses:
        return [CameraRest(0.0, 0.0)]
    if views is None or len(views) != len(poses):
        return [CameraRest(poses[0].t_s, poses[-1].t_s)]
    return camera_rests([p.t_s for p in poses], list(views))


def review_recording(routine, routine_path: Path, video: str | Path, out_dir: str | Path, *,
                     neutral_window: tuple[float, float] | None = None,
                     on_frame: Callable[[int, float], None] | None = None, detector=None) -> ReviewResult:
    """Measure, count and record one video into `out_dir` (the session folder)."""
    from neckcoach.io.records import SessionRecorder, preflight

    preflight(out_dir)  # an unusable folder is said before the pass, not after it
    started = time.perf_counter()
    with PrefetchedFrames(video) as frames:
        fps = frames.fps
        views: list = []
        poses = measure_poses(frames, detector=detector, on_frame=on_frame, room_views=views)
    elapsed = time.perf_counter() - started
    if not poses:
        raise ValueError(f"{video} has no frames")
    choice, kins, events, session, outcome = review_poses(routine, poses, neutral_window=neutral_window,
                                                          views=views)
    source = {"kind": "recording", "path": str(video), "fps": fps, "frames": len(poses),
              "duration_s": round(poses[-1].t_s, 3)}
    calibration = choice.to_dict()
    moves = [m for m in map(seat_move, kins) if m is not None]
    if moves:
        calibration["seat_moves"] = moves
    if session.get("camera_moves"):
        calibration["camera_moves"] = session.pop("camera_moves")
    recorder = SessionRecorder(out_dir, {"title": routine.title, "path": str(routine_path), "id": routine_path.stem},
                               source=source, calibration=calibration)
    ended = "completed" if session.get("completed") else "recording ended"
    try:
        recorder.extend(kins)
        recorder.set_exercises(session.get("exercises", []))
        summary = {"warnings": session.get("warnings", []), "pauses": session.get("pauses", []),
                   "outcome": outcome.to_dict(), "frames_processed": len(poses)}
        if "quick_movements_outside_exercises" in session:  # see core.review: not safety warnings
            summary["quick_movements_outside_exercises"] = session["quick_movements_outside_exercises"]
        recorder.update_summary(summary)
    finally:
        recorder.close(ended)
    return ReviewResult(ended_reason=ended, frames=len(poses), session=recorder.session, outcome=outcome,
                        neutral=choice, out_dir=recorder.out_dir, events=events,
                        processing_fps=len(poses) / elapsed if elapsed > 0 else 0.0, kinematics=kins)


__all__ = ["PrefetchedFrames", "ReviewResult", "measure_poses", "review_poses", "review_recording"]
