"""The session loop with fake measurement: keys, pauses, recalibration and the record on every ending."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neckcoach.app.runner import SessionLoop
from neckcoach.core.samples import Kinematics
from neckcoach.io.keys import ScriptedKeys
from neckcoach.io.records import SessionRecorder
from neckcoach.measure import Measurement
from neckcoach.routine import load_routine
from tests.conftest import ROUTINES


class FakeMeasurement:
    """Calibrated, still head at neutral; counts recalibration requests."""

    def __init__(self):
        self.neutral = object()
        self.last_calibration = None
        self.recalibrations = 0
        self._calibrating_until = -1.0

    def update(self, rgb, t_s):
        calibrating = t_s < self._calibrating_until
        k = Kinematics(t_s=t_s, face_found=True, confidence=1.0, reliable=True, faces=1,
                       face_width_px=200.0, brightness=120.0)
        k.extra.update(calibrated=True, calibrating=calibrating)
        return k

    def recalibrate(self, *, forget_patient=True):
        self.recalibrations += 1
        self._calibrating_until = 1e9

    @property
    def calibrator(self):
        return type("C", (), {"_t0": None, "duration_s": 2.5})()


def _frames(seconds: float, fps: float = 30.0):
    frame = np.zeros((120, 160, 3), np.uint8)
    return [(i / fps, frame) for i in range(int(seconds * fps))]


def test_space_pauses_and_resumes_q_quits_and_the_record_is_saved(tmp_path):
    routine = load_routine(ROUTINES / "rotation.yaml")
    recorder = SessionRecorder(tmp_path / "s", {"title": routine.title}, index=False)
    keys = ScriptedKeys({6.0: " ", 8.0: " ", 10.0: "q"})
    loop = SessionLoop(routine, FakeMeasurement(), recorder=recorder, keys=keys)
    result = loop.run(_frames(20))
    assert result.ended_reason == "quit"
    assert result.frames == 301
    pauses = result.session["pauses"]
    assert any(abs(p["start_t_s"] - 6.0) < 0.05 and abs(p["end_t_s"] - 8.0) < 0.05 for p in pauses), pauses
    saved = json.loads((tmp_path / "s" / "session.json").read_text())
    assert saved["ended_reason"] == "quit" and saved["complete"] is False
    assert len((tmp_path / "s" / "trace.csv").read_text().splitlines()) == 302


def test_c_recalibrates_and_the_coach_waits(tmp_path):
    routine = load_routine(ROUTINES / "rotation.yaml")
    measurement = FakeMeasurement()
    loop = SessionLoop(routine, measurement, keys=ScriptedKeys({5.0: "c"}))
    loop.run(_frames(7))
    assert measurement.recalibrations == 1
    # While the new neutral is captured the coach sees no samples, so nothing is counted.
    assert 5.0 <= loop.coach._last_t < 5.1


class CameraMovedMeasurement(FakeMeasurement):
    """The room behind the patient shows the camera moved at `moved_at_s`; a new neutral then
    takes `capture_s`."""

    def __init__(self, moved_at_s: float, capture_s: float = 2.0):
        super().__init__()
        self.moved_at_s, self.capture_s = moved_at_s, capture_s
        self.forgot_patient = []
        self._first = self.neutral

    def update(self, rgb, t_s):
        self._now = t_s
        if self.forgot_patient and t_s >= self._calibrating_until and self.neutral is self._first:
            self.neutral = object()  # the new capture accepted
        k = super().update(rgb, t_s)
        if abs(t_s - self.moved_at_s) < 1e-6:
            k.extra["camera_moved_deg"] = 11.5
        return k

    def recalibrate(self, *, forget_patient=True):
        self.recalibrations += 1
        self.forgot_patient.append(forget_patient)
        self._calibrating_until = self._now + self.capture_s


def test_a_camera_moved_after_the_neutral_takes_it_again_and_keeps_following_the_patient(tmp_path):
    from neckcoach.app.runner import CAMERA_MOVED_NOTICE

    routine = load_routine(ROUTINES / "rotation.yaml")
    recorder = SessionRecorder(tmp_path / "s", {"title": routine.title}, index=False)
    measurement = CameraMovedMeasurement(moved_at_s=5.0)
    voice = RecordingVoice()
    loop = SessionLoop(routine, measurement, voice=voice, recorder=recorder, keys=ScriptedKeys({9.5: "q"}),
                       keep_events=True)
    result = loop.run(_frames(10))
    assert measurement.recalibrations == 1 and measurement.forgot_patient == [False]
    assert CAMERA_MOVED_NOTICE in voice.said
    # Paused when the move is told (the patient hears it and stops), resumed with the new neutral.
    kinds = [(round(e.t_s, 2), e.kind) for e in loop.events if e.kind in ("paused", "resumed")]
    assert kinds[0] == (5.0, "paused") and kinds[1][1] == "resumed" and 6.9 <= kinds[1][0] <= 7.1
    # It ends by itself: no "press space" (said or shown); not a picture problem in the record.
    assert "Paused while I take your starting position again." in voice.said
    assert not any("Press space" in text for text in voice.said)
    assert not loop.coach.user_paused
    pause = [p for p in result.session["pauses"] if p["start_t_s"] == 5.0]
    assert pause and 6.9 <= pause[0]["end_t_s"] <= 7.1 and pause[0]["reason"] == "recalibrate"
    saved = json.loads((tmp_path / "s" / "session.json").read_text())
    assert saved["calibration"]["camera_moves"] == [{"t_s": 5.0, "moved_deg": 11.5}]


def test_ctrl_c_keeps_the_record(tmp_path):
    routine = load_routine(ROUTINES / "rotation.yaml")
    recorder = SessionRecorder(tmp_path / "s", {"title": routine.title}, index=False)

    def frames():
        yield from _frames(3)
        raise KeyboardInterrupt

    result = SessionLoop(routine, FakeMeasurement(), recorder=recorder).run(frames())
    assert result.ended_reason == "interrupted"
    saved = json.loads((tmp_path / "s" / "session.json").read_text())
    assert saved["ended_reason"] == "interrupted" and saved["frames"] == 90


class RecordingVoice:
    available = True
    busy = False  # a property on the real Voice

    def __init__(self):
        self.said = []

    def say(self, text, priority=0, expires_t_s=None, kind=""):
        self.said.append(text)

    def tick(self, now_t_s):
        pass

    def close(self):
        self.closed = True


class KeepFrames:
    def __init__(self):
        self.frames = []

    def write(self, image):
        self.frames.append(image)

    def release(self):
        pass


def test_session_ends_with_a_spoken_and_shown_summary():
    routine = load_routine(ROUTINES / "rotation.yaml")
    voice, video = RecordingVoice(), KeepFrames()
    loop = SessionLoop(routine, FakeMeasurement(), voice=voice, video_writer=video, keys=ScriptedKeys({2.0: "q"}))
    loop.run(_frames(3))
    assert voice.said[-1] == ("Session over: 0 of 10 repetitions done. You ended the session before "
                              "the first exercise began, so there was nothing to count yet.")
    assert voice.closed
    assert len(video.frames) == 61 + 30
    assert not np.array_equal(video.frames[-1], video.frames[-31])


def test_sigterm_keeps_the_record(tmp_path):
    import os
    import signal

    routine = load_routine(ROUTINES / "rotation.yaml")
    recorder = SessionRecorder(tmp_path / "s", {"title": routine.title}, index=False)

    def frames():
        for i, item in enumerate(_frames(3)):
            if i == 45:
                os.kill(os.getpid(), signal.SIGTERM)
            yield item

    result = SessionLoop(routine, FakeMeasurement(), recorder=recorder).run(frames())
    assert result.ended_reason == "terminated"
    saved = json.loads((tmp_path / "s" / "session.json").read_text())
    assert saved["ended_reason"] == "terminated" and saved["complete"] is False


def test_a_crash_in_a_later_stage_keeps_the_record(tmp_path):
    class Broken(FakeMeasurement):
        def update(self, rgb, t_s):
            if t_s >= 1.0:
                raise RuntimeError("detector exploded")
            return super().update(rgb, t_s)

    routine = load_routine(ROUTINES / "rotation.yaml")
    recorder = SessionRecorder(tmp_path / "s", {"title": routine.title}, index=False)
    with pytest.raises(RuntimeError):
        SessionLoop(routine, Broken(), recorder=recorder).run(_frames(3))
    saved = json.loads((tmp_path / "s" / "session.json").read_text())
    assert saved["ended_reason"] == "error: RuntimeError: detector exploded"
    assert saved["frames"] == 30


class MovingSeat(FakeMeasurement):
    """At 5 s the person sits 150 mm closer: the neutral position moves (a new Neutral) once."""

    def update(self, rgb, t_s):
        k = super().update(rgb, t_s)
        if abs(t_s - 5.0) < 1e-9:
            self.neutral = object()
            k.extra["seat_moved_mm"] = -150.0
        return k


def test_a_seat_move_is_kept_in_the_record(tmp_path):
    routine = load_routine(ROUTINES / "retraction.yaml")
    recorder = SessionRecorder(tmp_path / "s", {"title": routine.title}, index=False)
    SessionLoop(routine, MovingSeat(), recorder=recorder, keys=ScriptedKeys({8.0: "q"})).run(_frames(10))
    saved = json.loads((tmp_path / "s" / "session.json").read_text())
    assert saved["calibration"]["seat_moves"] == [{"t_s": 5.0, "retraction_mm": -150.0}]


@pytest.mark.parametrize("name,needed", [("flexion_extension", 30.0 * 1.15), ("rotation", 0.0), ("chin_nod", 0.0)])
def test_the_session_tells_the_calibration_how_far_its_routine_looks_up(name, needed):
    measurement = Measurement(detector=object())
    SessionLoop(load_routine(ROUTINES / f"{name}.yaml"), measurement, display=None)
    assert measurement.calibrator.extension_needed_deg == pytest.approx(needed)  # to the band's top
    assert measurement.calibrator.extension_limit_deg == (None if not needed else
                                                          measurement.estimator.max_reliable_pitch_deg)


def test_a_recording_is_not_asked_to_raise_its_camera():
    measurement = Measurement(detector=object())
    SessionLoop(load_routine(ROUTINES / "flexion_extension.yaml"), measurement, display=None,
                ask_for_view=False)
    assert measurement.calibrator.extension_needed_deg == 0.0


def test_the_session_end_is_told_the_room_of_the_neutral_in_use(monkeypatch):
    """The end of a session says the camera was too low only from the accepted neutral's room (a
    refused capture's room is not the one the reps were measured from)."""
    import neckcoach.app.runner as runner
    from neckcoach.core.calibration import VIEW_WAIT_S
    from tests.test_measure_calibration import _poses

    measurement = Measurement(detector=object())
    loop = SessionLoop(load_routine(ROUTINES / "flexion_extension.yaml"), measurement, display=None)
    assert measurement.accepted_calibration is None
    told = []
    monkeypatch.setattr(runner, "explain", lambda *a, **k: told.append(k["extension_room_deg"]))
    loop.outcome()
    measurement.hold_calibration = False  # the loop holds it until the camera check passes
    for p in _poses(pitch=-20.0, wobble=0.2, seconds=VIEW_WAIT_S + 10.0):  # asked, then taken as it is
        measurement.update_pose(p)
    assert measurement.calibrator.view_asked == 1 and measurement.neutral is not None
    loop.outcome()
    assert told[0] is None
    assert told[1] == pytest.approx(measurement.estimator.max_reliable_pitch_deg - 20.0, abs=0.3)


def test_the_spoken_and_shown_summary_end_with_what_did_not_count():
    from neckcoach.core.outcome import Outcome

    loop = SessionLoop(load_routine(ROUTINES / "rotation.yaml"), FakeMeasurement())
    note = "The camera was well below your eyes."
    loop._outcome = Outcome("counted", 0, "You did 0 of 10 repetitions. " + note, note)
    spoken, shown = loop.summary()  # counted from the coach's record: nothing yet
    assert spoken == "Session over: 0 of 0 repetitions done. " + note  # said instead of "well done"
    assert shown == "Done: 0 / 0 reps. " + note
