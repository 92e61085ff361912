"""Check-ins and the stop key in the real frame loop (SessionLoop), with fake measurement and keys.

A closed-loop virtual patient (neckcoach/sim) turns the head as the routine and the spoken cues say,
so reps are counted before a stop and the record must keep them. Time over a
held frame comes from a fake clock, so these runs are deterministic.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from neckcoach.app.checkin import CheckinOptions, PromptView, draw_prompt
from neckcoach.app.demo_clip import demo_patient, demo_routine
from neckcoach.app.runner import SessionLoop
from neckcoach.core.checkin import CHECKIN_BUDGET_S
from neckcoach.core.kinematics import KinematicsFilter, RelativePose
from neckcoach.io import history
from neckcoach.io.keys import ScriptedKeys
from neckcoach.io.records import SessionRecorder
from neckcoach.routine import load_routine
from neckcoach.sim.patient import VirtualPatient
from tests.conftest import ROUTINES
from tests.test_app_loop import FakeMeasurement, RecordingVoice, _frames

ENTER = 13
ESC = 27


class Clock:
    """Wall time for held frames: each sleep moves it on."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s


class Ears(RecordingVoice):
    """The loop's voice: records what is said and lets the patient hear it at the next tick."""

    def __init__(self, patient: VirtualPatient) -> None:
        super().__init__()
        self.patient = patient
        self._pending: list[tuple[str, str]] = []

    def say(self, text, priority=0, expires_t_s=None, kind=""):
        super().say(text, priority, expires_t_s, kind)
        self._pending.append((kind or text, text))

    def tick(self, now_t_s):
        for kind, text in self._pending:
            self.patient.hear(now_t_s, kind, text)
        self._pending.clear()


class ScriptedPatient:
    """Measurement stand-in, calibrated at once: a closed-loop virtual patient who knows the routine
    and does what it hears through `voice` (pass it to the loop); it never reads the coach."""

    def __init__(self, routine, seed: int = 1) -> None:
        self.patient = VirtualPatient(routine, demo_patient(), seed=seed)
        self.voice = Ears(self.patient)
        self.filter = KinematicsFilter()
        self.neutral = object()
        self.last_calibration = None
        self.seen: list[float] = []

    def update(self, rgb, t_s):
        self.seen.append(t_s)
        yaw, pitch, roll, retraction = self.patient.pose(t_s)
        kin = self.filter.update(RelativePose(
            t_s=t_s, face_found=True, yaw_deg=yaw, pitch_deg=pitch, roll_deg=roll, retraction_mm=retraction,
            confidence=0.95, reliable=True, faces=1, face_width_px=200.0, brightness=120.0))
        kin.extra.update(calibrated=True, calibrating=False)
        return kin

    def recalibrate(self, *, forget_patient=True):
        pass


class WindowStandIn:
    """A real window as the loop sees it: shows frames, keys come from ScriptedKeys."""

    headless = False

    def __init__(self) -> None:
        self.shown: list[np.ndarray] = []

    def show(self, image) -> None:
        self.shown.append(image)

    def poll_key(self):
        return None

    def close(self) -> None:
        pass


def rotation(reps: int = 4):
    return demo_routine(load_routine(ROUTINES / "rotation.yaml"), reps=reps)


def loop_for(routine, tmp_path, keys, *, measurement=None, index=False, live=False, ask=True, given_before=None,
             given_after=None, display=None, voice=None, clock=None):
    recorder = SessionRecorder(tmp_path / "s", {"title": routine.title}, index=index)
    clock = clock or Clock()
    options = CheckinOptions(ask=ask, live=live, clock=clock, sleep=clock.sleep, given_before=given_before or {},
                             given_after=given_after or {}, skip_reason="not asked: headless run")
    loop = SessionLoop(routine, measurement or FakeMeasurement(), recorder=recorder, keys=ScriptedKeys(keys),
                       checkins=options, display=display, voice=voice, threaded_overlay=False)
    return loop


def saved(tmp_path) -> dict:
    return json.loads((tmp_path / "s" / "session.json").read_text())


def test_check_in_by_keys_before_and_after_over_a_held_frame(tmp_path):
    """A file source: the first frame is held for the check-in, the last one after the video ends."""
    keys = {0.5: "3", 0.9: ENTER, 1.4: "n", 2.0: "n",           # before: over the held first frame
            11.0: "2", 11.3: ENTER, 11.8: "y", 12.5: "n"}         # after: the video ended at 10 s
    voice = RecordingVoice()
    loop = loop_for(rotation(), tmp_path, keys, voice=voice)
    result = loop.run(_frames(10))
    assert result.ended_reason == "source ended" and result.frames == 300  # no frame lost to the check-in
    before, after = saved(tmp_path)["checkins"]
    assert (before["phase"], before["status"], before["pain_0_10"], before["headache"]) == ("before", "complete", 3,
                                                                                          False)
    assert before["duration_s"] == pytest.approx(2.0, abs=0.05)
    assert before["stop_rules"] == {"dizziness": False, "arm_tingling": False, "visual_disturbance": False,
                                    "pain_rise": None}
    assert (after["phase"], after["status"], after["pain_0_10"], after["headache"]) == ("after", "complete", 2, True)
    assert after["baseline_pain_0_10"] == 3 and after["stop_rules"]["pain_rise"] is False
    assert after["t_s"] == pytest.approx(299 / 30, abs=1e-3)
    assert result.checkins == saved(tmp_path)["checkins"]
    assert voice.said[:3] == [
        "Before we start: how bad is your neck pain right now, from 0 to 10? Type a number and press Enter.",
        "Do you have a headache right now? Press Y or N.",
        "Do you have any of these right now? Press its number, or N for none."]
    assert "If you feel dizzy or unwell during the exercises, press S." in voice.said
    assert "How bad is your neck pain now, from 0 to 10?" in voice.said


def test_live_camera_check_in_shows_the_live_picture_and_the_session_starts_after_it(tmp_path):
    keys = {1.0: "4", 1.5: ENTER, 2.0: "n", 2.5: "0"}
    patient = FakeMeasurement()
    seen = []
    update = patient.update
    patient.update = lambda rgb, t: (seen.append(t), update(rgb, t))[1]
    window = WindowStandIn()
    loop = loop_for(rotation(), tmp_path, keys, measurement=patient, live=True, display=window)
    frames = [(t, np.full((120, 160, 3), int(t * 20) % 255, np.uint8)) for t, _ in _frames(8)]
    result = loop.run(frames)
    before = saved(tmp_path)["checkins"][0]
    assert before["status"] == "complete" and before["duration_s"] == pytest.approx(2.5, abs=0.04)
    assert seen[0] == pytest.approx(2.5 + 1 / 30)  # the coach gets the frames after the check-in
    assert result.frames == len(frames) - len(frames[:76])
    # Each check-in frame shows that frame's picture (dimmed, under the question), not a frozen one.
    first, later = window.shown[0], window.shown[30]
    assert abs(float(first[-5:, :5].mean()) - float(later[-5:, :5].mean())) > 3


def test_a_video_that_ends_or_a_camera_that_fails_still_gets_the_after_check_in_in_the_window(tmp_path):
    keys = {0.2: ESC, 4.5: "5", 4.8: ENTER, 5.0: "n", 5.5: "n"}
    window = WindowStandIn()
    loop = loop_for(rotation(), tmp_path, keys, live=True, display=window)

    def camera():  # delivers 3 s, then fails
        yield from _frames(3)

    result = loop.run(camera())
    before, after = result.checkins
    assert before["status"] == "skipped" and before["duration_s"] == pytest.approx(0.2, abs=0.04)
    assert after["status"] == "complete" and after["pain_0_10"] == 5
    assert after["t_s"] == pytest.approx(89 / 30, abs=1e-3)
    assert len(window.shown) > 60  # the question stayed on screen over the last picture


def test_the_check_in_can_always_be_skipped_and_never_holds_the_session_more_than_20_s(tmp_path):
    clock = Clock()
    loop = loop_for(rotation(), tmp_path, {}, clock=clock)
    start = clock()
    result = loop.run(_frames(2))
    before, after = result.checkins
    for entry in (before, after):
        assert entry["status"] == "timed_out"
        assert CHECKIN_BUDGET_S <= entry["duration_s"] <= CHECKIN_BUDGET_S + 1 / 30 + 1e-9
        assert [a["status"] for a in entry["answers"]] == ["timed_out", "not_asked", "not_asked"]
    assert clock() - start <= 2 * (CHECKIN_BUDGET_S + 1 / 30) + 1e-6
    skipped = loop_for(rotation(), tmp_path / "esc", {0.0: ESC, 2.0: ESC}).run(_frames(2))
    assert [c["status"] for c in skipped.checkins] == ["skipped", "skipped"]
    assert skipped.checkins[0]["duration_s"] == 0.0 and skipped.checkins[1]["duration_s"] < 0.07


def test_headless_runs_record_the_flags_and_why_the_rest_was_not_asked(tmp_path):
    loop = loop_for(rotation(), tmp_path, {}, ask=False, given_before={"pain": 4, "headache": True},
                    given_after={"pain": None, "headache": False})
    result = loop.run(_frames(2))
    before, after = result.checkins
    assert (before["status"], before["source"], before["pain_0_10"], before["headache"]) == ("partial", "flag", 4,
                                                                                            True)
    assert before["note"] == "not asked: headless run"
    assert [a["status"] for a in before["answers"]] == ["answered", "answered", "not_asked"]
    assert (after["pain_0_10"], after["headache"], after["status"]) == (None, False, "partial")
    nothing = loop_for(rotation(), tmp_path / "n", {}, ask=False).run(_frames(1))
    assert [c["status"] for c in nothing.checkins] == ["not_asked", "not_asked"]
    assert all(c["note"] == "not asked: headless run" for c in nothing.checkins)


def test_pain_rise_given_by_flags_is_a_stop_recorded_after_the_session(tmp_path):
    loop = loop_for(rotation(), tmp_path, {}, ask=False, given_before={"pain": 2}, given_after={"pain": 5})
    result = loop.run(_frames(2))
    assert result.ended_reason == "source ended"  # the session itself had already ended
    assert result.stop["rule"] == "pain_rise" and result.stop["phase"] == "after"
    assert saved(tmp_path)["stop"]["detail"] == "neck pain 2 -> 5"


def test_stop_key_ends_the_session_safely_and_the_record_keeps_everything(tmp_path):
    routine = rotation(reps=6)
    patient = ScriptedPatient(routine)
    voice = patient.voice
    keys = {0.3: "2", 0.5: ENTER, 0.7: "n", 0.9: "n"}
    probe_patient = ScriptedPatient(routine)
    probe = SessionLoop(routine, probe_patient, keys=ScriptedKeys({}), voice=probe_patient.voice)
    probe.run(_frames(40))
    reps_by_t = [r["end_t_s"] for r in probe.coach.session.to_dict()["exercises"][0]["reps"]]
    assert len(reps_by_t) >= 3, reps_by_t
    stop_at = reps_by_t[2] + 0.5  # after three reps
    keys.update({stop_at: "s", stop_at + 1.0: "1"})
    loop = loop_for(routine, tmp_path, keys, measurement=patient, index=True, voice=voice)
    result = loop.run(_frames(60))
    assert result.ended_reason == "stop rule: dizziness"
    record = saved(tmp_path)
    assert record["complete"] is False and record["ended_reason"] == "stop rule: dizziness"
    assert record["stop"] == {"rule": "dizziness", "phase": "during", "t_s": pytest.approx(stop_at + 1.0, abs=0.04),
                              "detail": "Dizziness or light-headedness", "message": result.stop["message"]}
    assert [c["phase"] for c in record["checkins"]] == ["before", "during", "after"]
    assert record["checkins"][1]["stop_rules"]["dizziness"] is True
    assert record["checkins"][2]["note"] == "not asked: the session was ended by a stop rule"
    reps = record["exercises"][0]["reps"]
    assert [r["complete"] for r in reps] == [True] * 3  # counted before the stop, kept
    trace = (tmp_path / "s" / "trace.csv").read_text().splitlines()
    assert float(trace[-1].split(",")[0]) == pytest.approx(stop_at + 1.0, abs=0.04)  # nothing counted after it
    assert "Stop the exercises now. You told me about dizziness or light-headedness." in voice.said[-2]
    assert "contact your therapist" in voice.said[-2]
    rows, notes = history.list_checkins()
    assert notes == [] and [(r.phase, r.stop_rule) for r in rows] == [("before", None), ("during", "dizziness"),
                                                                     ("after", None)]
    (entry,), _ = history.list_sessions()
    assert entry.ended_reason == "stop rule: dizziness"


def test_stop_key_with_nothing_wrong_resumes_counting(tmp_path):
    routine = rotation(reps=6)
    probe_patient = ScriptedPatient(routine)
    probe = SessionLoop(routine, probe_patient, keys=ScriptedKeys({}), voice=probe_patient.voice)
    probe.run(_frames(60))
    ends = [r["end_t_s"] for r in probe.coach.session.to_dict()["exercises"][0]["reps"]]
    opened, closed = ends[1] + 0.1, ends[1] + 0.7  # between the second and the third rep
    keys = {0.0: ESC, opened: "s", closed: "n"}
    patient = ScriptedPatient(routine)
    result = loop_for(routine, tmp_path, keys, measurement=patient, voice=patient.voice).run(_frames(60))
    during = result.checkins[1]
    assert during["phase"] == "during" and during["stop"] is None and during["status"] == "complete"
    assert during["stop_rules"] == {"dizziness": False, "arm_tingling": False, "visual_disturbance": False,
                                    "pain_rise": False}
    pauses = result.session["pauses"]
    assert any(abs(p["start_t_s"] - opened) < 0.1 and abs(p["end_t_s"] - closed) < 0.1 for p in pauses), pauses
    reps = result.session["exercises"][0]["reps"]
    assert sum(1 for r in reps if r["complete"] and r["start_t_s"] > closed) >= 2  # counting goes on


def test_stop_screen_stays_up_in_the_window(tmp_path):
    window = WindowStandIn()
    clock = Clock()
    loop = loop_for(rotation(), tmp_path, {0.0: ESC, 3.0: "s", 4.0: "3"}, display=window, clock=clock)
    before = clock()
    loop.run(_frames(10))
    assert clock() - before >= 6.0  # the instruction is on screen at least 6 s
    assert window.shown[-1].shape == (120, 160, 3)


def test_diary_from_the_end_of_session_screen(tmp_path):
    window = WindowStandIn()
    keys = {0.0: ESC, 3.0: ESC, 3.5: "d", 4.0: "2", 4.5: "1", 5.0: ENTER, 5.5: "6", 6.0: ENTER, 6.5: "2",
            6.7: ENTER, 7.0: "n"}
    loop = loop_for(rotation(), tmp_path, keys, display=window)
    loop.run(_frames(3))
    (entry,), notes = history.list_diary()
    yesterday = date.fromordinal(date.today().toordinal() - 1)
    assert (entry.day, entry.headaches, entry.worst, entry.hours, entry.medication) == (yesterday, 1, 6, 2.0, False)
    assert loop.diary_saved == {"day": yesterday.isoformat(), "replaced": False,
                                "summary": "1 headache, worst 6/10, 2 h, no medication"}


def test_the_question_is_drawn_over_the_picture(tmp_path):
    frame = np.full((480, 640, 3), 160, np.uint8)
    view = PromptView("Before we start", "Neck pain now: 0 (none) to 10 (worst imaginable)?", typed="7",
                      input_box=True, hint="Type a number from 0 to 10, then Enter", time_left=0.5)
    image = draw_prompt(frame, view)
    assert image.shape == frame.shape and frame.mean() == 160  # the input is untouched
    grey = image.astype(int).mean(axis=2)
    assert (grey < 90).mean() > 0.5  # the picture is dimmed under the question
    assert (grey > 200).sum() > 2000  # and the text is bright on it
    stop = draw_prompt(frame, PromptView("STOP", "STOP: dizziness.", severity="danger"))
    title = stop[30:60].astype(int)
    assert ((title[..., 2] > 200) & (title[..., 1] < 100)).sum() > 100  # a red STOP


# -- write-through: a real kill right after a stop-rule answer ---------------------------------
KILL_SCRIPT = """
import sys, time
sys.path.insert(0, {repo!r})
from pathlib import Path
from neckcoach.app.checkin import CheckinOptions
from neckcoach.app.runner import SessionLoop
from neckcoach.io.keys import ScriptedKeys
from neckcoach.io.records import SessionRecorder
from tests.test_app_loop import FakeMeasurement, _frames
from tests.test_symptoms_loop import Clock, rotation

class Voice:  # says when the loop speaks, then hangs there until killed
    available, busy = True, False
    def __init__(self, hang_on): self.hang_on = hang_on
    def say(self, text, priority=0, expires_t_s=None, kind=""):
        if text.startswith(self.hang_on):
            print("SAID", text[:40], flush=True)
            time.sleep(600)
    def tick(self, t): pass
    def close(self): pass

routine = rotation()
clock = Clock()
recorder = SessionRecorder(Path(sys.argv[1]), {{"title": routine.title}})
keys = ScriptedKeys({{0.2: "4", 0.4: 13, 0.6: "n", 0.8: sys.argv[2], 3.0: "s", 3.5: sys.argv[3]}})
loop = SessionLoop(routine, FakeMeasurement(), recorder=recorder, keys=keys, voice=Voice(sys.argv[4]),
                   checkins=CheckinOptions(clock=clock, sleep=clock.sleep))
loop.run(_frames(20))
"""


@pytest.mark.parametrize("symptom_key, menu_key, hang_on, rule", [
    ("2", "1", "Stop the exercises now", "arm_tingling"),           # yes at the check-in before
    ("n", "3", "Stop the exercises now", "visual_disturbance"),     # no before, yes on the S key
    ("n", "n", "Let's continue", None),                             # no, and no on the S key
])
def test_every_stop_rule_answer_survives_a_kill_right_after_it(tmp_path, home, symptom_key, menu_key, hang_on,
                                                               rule):
    repo = str(Path(__file__).resolve().parents[1])
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT.format(repo=repo), str(out), symptom_key, menu_key,
                             hang_on], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "NECKCOACH_HOME": str(home), "PYTHONPATH": repo})
    try:
        line = proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=20)
    assert line.startswith("SAID") and proc.returncode == -signal.SIGKILL
    record = json.loads((out / "session.json").read_text())
    assert record["complete"] is False and record["ended_reason"] is None  # killed before closing
    answers = [(c["phase"], c["stop_rules"]) for c in record["checkins"]]
    expected_before = {"dizziness": False, "arm_tingling": False, "visual_disturbance": False, "pain_rise": None}
    if rule == "arm_tingling":
        expected_before = {"dizziness": None, "arm_tingling": True, "visual_disturbance": None, "pain_rise": None}
        assert answers == [("before", expected_before)]
    else:
        during = {"dizziness": False, "arm_tingling": False, "visual_disturbance": False, "pain_rise": False}
        if rule:
            during = {"dizziness": None, "arm_tingling": None, "visual_disturbance": True, "pain_rise": None}
        assert answers == [("before", expected_before), ("during", during)]
    assert (record.get("stop") or {}).get("rule") == rule
    rows, notes = history.list_checkins()
    assert notes == [] and [(r.phase, r.record["stop_rules"]) for r in rows] == answers
    assert [r.stop_rule for r in rows][-1] == rule
