"""The session loop's camera check before calibration and bad pictures mid-session (issues 6 and 8).

Runs the real `Measurement` (estimator, calibrator, filter) and the real loop
on synthetic frames: a scripted detector returns exact landmarks of the face
model, and each frame is painted with the scene's background and face grey
levels, so frame and face brightness are measured as they would be live. No
camera and no MediaPipe, except in the one test on a real clip at the end.
"""

from __future__ import annotations

import json
import re

import cv2
import numpy as np
import pytest

from neckcoach.app.runner import CALIBRATION_INSTRUCTION, SessionLoop
from neckcoach.app.view import overlay_state
from neckcoach.core import events as ev
from neckcoach.core.coach import QUALITY_MESSAGES
from neckcoach.core.quality import CHECK_MESSAGES, CheckStatus
from neckcoach.core.samples import Kinematics
from neckcoach.io.detector import FaceObservation
from neckcoach.io.keys import ScriptedKeys
from neckcoach.io.records import SessionRecorder
from neckcoach.measure import Measurement
from tests.conftest import clip
from tests.test_app_loop import KeepFrames, RecordingVoice
from neckcoach.sim.patient import VirtualPatient
from tests.test_coach_flow import STEADY
from tests.test_coach_support import exercise, routine
from tests.test_measure_pipeline import _landmarks

FPS = 30.0
NORMAL = dict(face=True, faces=1, depth_mm=600.0, background=120, face_level=120)


class Scene:
    """What the camera sees at time t: `script(t)` gives changes to NORMAL; the patient moves the head."""

    def __init__(self, script=lambda t: {}, moving: bool = False):
        self.script = script
        self.moving = moving
        self.patient: VirtualPatient | None = None  # set by make_loop from the routine
        self.now = dict(NORMAL, t=0.0, yaw=0.0, pitch=0.0, roll=0.0)
        self._frames: dict[tuple[int, int, bool], np.ndarray] = {}

    def at(self, t: float) -> np.ndarray:
        state = dict(NORMAL, **self.script(t), t=t, yaw=0.0, pitch=0.0, roll=0.0)
        if self.patient is not None:
            state["yaw"], state["pitch"], state["roll"], _ = self.patient.pose(t)
        self.now = state
        return self._frame(state)

    def _frame(self, s) -> np.ndarray:
        key = (s["background"], s["face_level"], s["face"])
        if key not in self._frames:
            frame = np.full((480, 640, 3), s["background"], np.uint8)
            if s["face"]:
                lm = _landmarks(0.0, 0.0, 0.0, s["depth_mm"])
                (x0, y0), (x1, y1) = lm[:, :2].min(0).astype(int), lm[:, :2].max(0).astype(int)
                frame[y0:y1 + 1, x0:x1 + 1] = s["face_level"]
            self._frames[key] = frame
        return self._frames[key]

    def frames(self, seconds: float):
        for i in range(int(seconds * FPS)):
            t = i / FPS
            yield t, self.at(t)


class SceneDetector:
    """Stands in for MediaPipe: exact landmarks of the scene's head, brightness from the frame."""

    def __init__(self, scene: Scene):
        self.scene = scene

    def update(self, frame_rgb):
        s = self.scene.now
        brightness = float(frame_rgb[::4, ::4].mean())
        if not s["face"]:
            return FaceObservation.empty((640, 480), faces=s["faces"] if s["faces"] > 1 else 0,
                                         brightness=brightness)
        lm = _landmarks(s["yaw"], s["pitch"], s["roll"], s["depth_mm"])
        return FaceObservation(lm, (640, 480), s["faces"], brightness, 1.0, True)

    def reset(self):
        pass


class TimedVoice(RecordingVoice):
    """Keeps when each phrase was queued (the loop passes expiry = now + 6 s for its own phrases);
    what is said reaches the scene's patient, who acts on it (closed loop, never the coach's state)."""

    def __init__(self):
        super().__init__()
        self.timed = []
        self.listener: VirtualPatient | None = None
        self._pending = []

    def say(self, text, priority=0, expires_t_s=None, kind=""):
        super().say(text, priority, expires_t_s, kind)
        self.timed.append((text, expires_t_s))
        self._pending.append((kind or text, text))

    def tick(self, now_t_s):
        for kind, text in self._pending:
            if self.listener is not None:
                self.listener.hear(now_t_s, kind, text)
        self._pending.clear()


def make_loop(scene: Scene, rt=None, **kwargs):
    rt = rt or routine(exercise(reps=3, target_deg=40.0, tempo_s=6.0))
    if scene.moving:
        scene.patient = VirtualPatient(rt, STEADY)
        kwargs["voice"] = kwargs.get("voice") or TimedVoice()
        kwargs["voice"].listener = scene.patient
    measurement = Measurement(detector=SceneDetector(scene))
    loop = SessionLoop(rt, measurement, **kwargs)
    return loop, measurement


def said_at(voice: TimedVoice, text: str) -> list[float]:
    return [round(exp - 6.0, 3) for said, exp in voice.timed if said == text]


def test_nobody_for_3_s_then_a_face_calibration_starts_only_after_the_check(tmp_path):
    scene = Scene(lambda t: {"face": False} if t < 3.0 else {})
    voice = TimedVoice()
    recorder = SessionRecorder(tmp_path / "s", {"title": "check"}, index=False)
    loop, m = make_loop(scene, voice=voice, recorder=recorder)
    capture_started = []
    original = m.calibrator.update

    def spy(pose):
        capture_started.append(pose.t_s)
        return original(pose)

    m.calibrator.update = spy
    result = loop.run(scene.frames(8.0))
    assert result.ended_reason == "source ended"
    cant_see = said_at(voice, CHECK_MESSAGES[ev.FACE_LOST])
    assert len(cant_see) == 1 and 0.45 <= cant_see[0] <= 0.55  # once per 6 s re-announce period
    sit_tall = said_at(voice, CALIBRATION_INSTRUCTION)
    assert len(sit_tall) == 1 and 3.75 <= sit_tall[0] <= 3.85  # four frames in five of the last second good
    assert capture_started and capture_started[0] > sit_tall[0]  # no neutral taken before the check
    assert m.neutral is not None and m.last_calibration.ok
    assert 6.3 <= loop.coach.session.to_dict()["exercises"][0]["start_t_s"] <= 6.5
    saved = json.loads((tmp_path / "s" / "session.json").read_text())
    assert [e["kind"] for e in saved["camera_check"]] == [ev.FACE_LOST, "ready"]
    assert saved["calibration"]["accepted"] is True


BEFORE_CALIBRATION = [
    (ev.POOR_LIGHT, {"background": 12, "face_level": 12}),
    (ev.TOO_BRIGHT, {"background": 250, "face_level": 250}),
    (ev.TOO_BRIGHT, {"background": 210, "face_level": 40}),
    (ev.TOO_CLOSE, {"depth_mm": 200.0}),  # told how far: "Please move back about N cm."
    (ev.TWO_FACES, {"face": False, "faces": 2}),  # two people the detector cannot tell apart
]


@pytest.mark.parametrize("kind,changes", BEFORE_CALIBRATION, ids=[f"{k}-{i}" for i, (k, _) in
                                                                   enumerate(BEFORE_CALIBRATION)])
def test_a_bad_picture_before_calibration_is_named_and_holds_the_capture(kind, changes):
    scene = Scene(lambda t: changes if t < 2.5 else {})
    voice = TimedVoice()
    loop, m = make_loop(scene, voice=voice)
    during = []
    loop.run(_with(scene.frames(7.0), lambda t: during.append(
        (m.calibrator._t0, m.neutral, loop.camera_check.ready)) if t == 2.4 else None))
    said = [text for text, _ in voice.timed]
    if kind == ev.TOO_CLOSE:
        assert re.fullmatch(r"Please move back about \d+ cm\.", said[0])
    else:
        assert said_at(voice, CHECK_MESSAGES[kind])
    assert during == [(None, None, False)]
    # ready once four frames in five of the last second were good
    assert said_at(voice, CALIBRATION_INSTRUCTION) == [pytest.approx(3.3, abs=0.05)]
    assert m.neutral is not None


def test_the_overlay_shows_the_instruction_during_the_check():
    status = CheckStatus(False, ev.TOO_CLOSE, CHECK_MESSAGES[ev.TOO_CLOSE], True)
    face = Kinematics(t_s=1.0, face_found=True, faces=1)
    state = overlay_state({"phase": "start", "exercise_name": "Head turns"}, face, camera_check=status)
    assert (state.exercise_name, state.cue_text, state.cue_severity) == ("Camera check", "Please move back a little.",
                                                                         "warn")
    assert state.calibrating_progress is None and state.live_value is None and not state.face_lost
    lost = CheckStatus(False, ev.FACE_LOST, CHECK_MESSAGES[ev.FACE_LOST], False)
    state = overlay_state({}, Kinematics(t_s=1.0, face_found=False), camera_check=lost)
    assert state.face_lost and state.face_lost_message == CHECK_MESSAGES[ev.FACE_LOST] and state.cue_text == ""


def test_the_loop_draws_the_check_then_calibration():
    scene = Scene(lambda t: {"face": False} if t < 1.0 else {})
    video = KeepFrames()
    loop, m = make_loop(scene, video_writer=video)
    loop.run(scene.frames(3.0))
    assert len(video.frames) == 90 + 30  # every frame drawn, then the summary frames
    assert not np.array_equal(video.frames[10], video.frames[80])  # instruction, then calibration


def test_recalibration_goes_through_the_check_again():
    scene = Scene(lambda t: {"face": False} if 10.0 <= t < 12.0 else {})
    voice = TimedVoice()
    loop, m = make_loop(scene, voice=voice, keys=ScriptedKeys({8.0: "c"}))
    neutrals = []
    loop.run(_with(scene.frames(17.0), lambda t: neutrals.append((t, m.neutral))))
    first = dict(neutrals)[7.0]
    assert first is not None and m.neutral is not first  # a new neutral was taken
    new_at = next(t for t, n in neutrals if t > 8.0 and n is not first)
    assert said_at(voice, "Recalibrating.") == [pytest.approx(8.0, abs=0.05)]
    sit_tall = said_at(voice, CALIBRATION_INSTRUCTION)
    assert len(sit_tall) == 3  # first calibration, after `c`, and after the face came back
    assert 8.95 <= sit_tall[1] <= 9.1 and 12.75 <= sit_tall[2] <= 12.9
    cant_see = said_at(voice, CHECK_MESSAGES[ev.FACE_LOST])  # the capture was held while nobody was there
    assert len(cant_see) == 1 and 10.4 <= cant_see[0] <= 10.6
    assert 15.3 <= new_at <= 15.5 and not loop.coach.user_paused


def _with(frames, hook):
    for t, frame in frames:
        hook(t)
        yield t, frame


MID_SESSION = [
    ("dark_face_still_found", {"background": 12, "face_level": 12}, ev.POOR_LIGHT),
    ("dark_face_lost", {"background": 12, "face_level": 12, "face": False}, ev.POOR_LIGHT),
    ("blown_out", {"background": 250, "face_level": 250}, ev.TOO_BRIGHT),
    ("backlit", {"background": 210, "face_level": 40}, ev.TOO_BRIGHT),
    ("face_leaves_and_comes_back", {"face": False}, ev.FACE_LOST),
    ("second_face_not_told_apart", {"face": False, "faces": 2}, ev.TWO_FACES),
    ("leans_in", {"depth_mm": 200.0}, ev.TOO_CLOSE),
]


@pytest.mark.parametrize("name,changes,kind", MID_SESSION, ids=[c[0] for c in MID_SESSION])
def test_a_bad_picture_mid_session_pauses_and_resumes_without_losing_the_count(tmp_path, name, changes, kind):
    # Calibrated by ~3.5 s, count-in to ~6.5 s, then 6.6 s per rep: 15-18 s is in the middle of rep 2.
    scene = Scene(lambda t: changes if 15.0 <= t < 18.0 else {}, moving=True)
    voice = TimedVoice()
    recorder = SessionRecorder(tmp_path / "s", {"title": "bad picture"}, index=False)
    loop, m = make_loop(scene, voice=voice, recorder=recorder)
    result = loop.run(scene.frames(40.0))
    assert result.ended_reason == "completed"
    warned = [e for e in result.events if e.kind in ev.QUALITY_KINDS]
    assert [e.kind for e in warned] == [kind] and 15.2 <= warned[0].t_s <= 15.6
    resumed = [e for e in result.events if e.kind == ev.RESUMED]
    assert len(resumed) == 1 and 18.2 <= resumed[0].t_s <= 18.6
    if kind == ev.TOO_CLOSE:  # told how far, from the face's width
        assert re.fullmatch(r"Please move back about \d+ cm\.", warned[0].message)
        assert warned[0].message in voice.said
    else:
        assert QUALITY_MESSAGES[kind] in voice.said
    counts = [e.data["count"] for e in result.events if e.kind == ev.REP]
    assert counts == [1, 2, 3]  # nothing lost, nothing counted twice
    saved = json.loads((tmp_path / "s" / "session.json").read_text())
    assert saved["complete"] is True and saved["ended_reason"] == "completed"
    assert saved["pauses"] == [{"start_t_s": pytest.approx(warned[0].t_s, abs=1e-3),
                                "end_t_s": pytest.approx(resumed[0].t_s, abs=1e-3), "reason": kind}]
    assert [w["kind"] for w in saved["warnings"]] == [kind]
    assert saved["exercises"][0]["reps_completed"] == 3


def test_someone_else_in_view_while_the_patient_is_followed_costs_nothing(tmp_path):
    """The detector follows the patient and counts another person in view (faces 2): no pause."""
    scene = Scene(lambda t: {"faces": 2} if 12.0 <= t < 25.0 else {}, moving=True)
    voice = TimedVoice()
    loop, m = make_loop(scene, voice=voice)
    result = loop.run(scene.frames(40.0))
    assert result.ended_reason == "completed"
    assert not [e for e in result.events if e.kind in ev.QUALITY_KINDS or e.kind == ev.RESUMED]
    assert [e.data["count"] for e in result.events if e.kind == ev.REP] == [1, 2, 3]


# ------------------------------------------------------------------- real frames (MediaPipe)
def _clip_frames(path, seconds: float, gain: float = 1.0, t0: float = 0.0):
    """`seconds` of the clip played back and forth, grey levels scaled by `gain`."""
    cap = cv2.VideoCapture(str(path))
    frames = []
    ok, frame = cap.read()
    while ok:
        frames.append(frame)
        ok, frame = cap.read()
    cap.release()
    loop = frames + frames[-2:0:-1]
    for i in range(int(seconds * FPS)):
        frame = loop[i % len(loop)]
        if gain != 1.0:
            frame = np.clip(frame.astype(np.float32) * gain, 0, 255).astype(np.uint8)
        yield t0 + i / FPS, frame


def test_real_clip_darkened_and_blown_out_before_and_during_the_session(tmp_path):
    path = clip("single_face.mp4")
    plan = [(1.5, 0.06), (5.0, 1.0), (3.0, 0.06), (2.0, 1.0), (3.0, 4.0), (2.0, 1.0)]

    def frames():
        t0 = 0.0
        for seconds, gain in plan:
            yield from _clip_frames(path, seconds, gain, t0)
            t0 += seconds

    voice = TimedVoice()
    recorder = SessionRecorder(tmp_path / "s", {"title": "real clip"}, index=False)
    loop = SessionLoop(routine(exercise(reps=3, target_deg=40.0, tempo_s=6.0)), Measurement(), voice=voice,
                       recorder=recorder)
    result = loop.run(frames())
    assert said_at(voice, CHECK_MESSAGES[ev.POOR_LIGHT])  # too dark before calibration: said, not calibrated
    assert said_at(voice, CALIBRATION_INSTRUCTION)[0] >= 2.3
    assert loop.measurement.neutral is not None
    saved = json.loads((tmp_path / "s" / "session.json").read_text())
    assert [p["reason"] for p in saved["pauses"]] == [ev.POOR_LIGHT, ev.TOO_BRIGHT]
    assert all(p["end_t_s"] is not None for p in saved["pauses"])
    assert result.ended_reason == "source ended" and saved["ended_reason"] == "source ended"


# ------------------------------------------------------------------- what the patient sees
@pytest.mark.parametrize("reason", sorted(QUALITY_MESSAGES) + ["user"])
def test_the_overlay_says_why_counting_is_paused_and_what_to_do(reason):
    from neckcoach.io.overlay import USER_PAUSE_MESSAGE

    coach = {"phase": "active", "paused": True, "pause_reason": reason, "exercise_name": "Head turns"}
    state = overlay_state(coach, Kinematics(t_s=1.0, face_found=True, faces=1))
    assert state.pause_message == (USER_PAUSE_MESSAGE if reason == "user" else QUALITY_MESSAGES[reason])
    assert overlay_state(dict(coach, paused=False), None).pause_message == ""


def test_the_overlay_keeps_saying_how_far_to_move_while_paused():
    coach = {"phase": "active", "paused": True, "pause_reason": ev.TOO_FAR, "exercise_name": "Head turns",
             "pause_advice": "Please come about 20 cm closer."}
    state = overlay_state(coach, Kinematics(t_s=1.0, face_found=True, faces=1))
    assert state.pause_message == "Please come about 20 cm closer."


def _amber_in_top_band(img) -> int:
    b, g, r = (img[:200, :, i].astype(int) for i in range(3))
    return int(((r > 200) & (g > 150) & (b < 60)).sum())


def test_the_screen_says_why_for_as_long_as_counting_is_paused():
    """Drawn frames of a session whose picture is bad from 15 to 23 s (longer than a spoken cue
    stays on screen): the pause notice is on every frame while counting waits, and on none before
    or after."""
    scene = Scene(lambda t: {"face": False, "faces": 2} if 15.0 <= t < 23.0 else {}, moving=True)
    video = KeepFrames()
    loop, m = make_loop(scene, video_writer=video, threaded_overlay=False)
    result = loop.run(scene.frames(30.0))
    warned = next(e.t_s for e in result.events if e.kind == ev.TWO_FACES)
    resumed = next(e.t_s for e in result.events if e.kind == ev.RESUMED)
    times = [i / FPS for i in range(len(video.frames))]
    shown = [_amber_in_top_band(f) > 100 for f in video.frames[:len(times)]]
    during = [s for t, s in zip(times, shown) if warned + 0.05 < t < resumed - 0.05]
    after = [s for t, s in zip(times, shown) if resumed + 3.2 < t < 30.0]  # the spoken cue has gone
    before = [s for t, s in zip(times, shown) if 10.0 < t < 15.0]
    assert during and all(during) and resumed - warned > 6.0
    assert before and not any(before) and after and not any(after)


def test_a_refused_calibration_is_shown_as_a_sentence():
    said = "the camera is well below your eyes: from there I can see you look up only about 22 degrees"
    state = overlay_state({}, None, calibrating_progress=0.3, calibration_message=said)
    assert state.cue_text == "T" + said[1:]
    assert overlay_state({}, None, calibrating_progress=0.3).cue_text == "Sit tall and look at the screen"
