"""The frame loop of a coaching session: source → measurement → coach → cues → voice/overlay/record.

Every stage is injected so the same loop runs live on a camera, on a video file
and in tests with fakes. Before each neutral capture (the first one and every
`c` recalibration) a camera check must pass: until the person is in view, at a
good distance and in good light, the capture is held and the voice and overlay
say what to change. The record is closed whatever ends the loop (routine
done, `q`, Ctrl-C, SIGTERM, camera loss, an exception in a later stage), so the
therapist always gets the session up to that point.

By default the overlay is drawn, recorded and shown on a second thread
(`OverlayWorker`) while face mesh runs inference on the next frame: on two
cores that keeps the per-frame cost close to bare face-mesh inference (see
benchmarks/README.md). `threaded_overlay=False` does it all in `step`.
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Iterator

import cv2
import numpy as np

from neckcoach.app.checkin import (DIARY_OFFER_S, FRAME_INTERVAL_S, STOP_SHOWN_MAX_S, STOP_SHOWN_MIN_S,
                                   CheckinOptions, PromptRun, PromptView, draw_prompt, save_diary_answers,
                                   stop_view)
from neckcoach.app.overlay_worker import OverlayWorker
from neckcoach.app.view import TARGET_BAND_HIGH, overlay_state
from neckcoach.core import events as ev
from neckcoach.core.checkin import (DIARY_IDLE_S, CheckIn, CheckinPlan, StopDecision, diary_questions,
                                    session_questions)
from neckcoach.core.coach import Coach
from neckcoach.core.cues import CuePolicy
from neckcoach.core.outcome import PROBLEM_WORDS, Outcome, explain
from neckcoach.core.quality import CameraCheck, CheckStatus
from neckcoach.core.samples import Kinematics
from neckcoach.core.seat import seat_move
from neckcoach.io.keys import Action, action_for
from neckcoach.io.overlay import draw_overlay
from neckcoach.io.platforms import on_termination

log = logging.getLogger(__name__)

# Cue-policy priority (0 encouragement .. 3 safety) → voice queue priority.
VOICE_PRIORITY = {0: 0, 1: 10, 2: 20, 3: 100}
CUE_SHOWN_S = 3.0
# How long the end-of-session summary may keep speaking before the app exits.
SUMMARY_SPEECH_MAX_S = 10.0
BANNER_SHOWN_S = 2.5
CALIBRATION_INSTRUCTION = "Sit tall, relax your shoulders and look at the screen."
RECALIBRATION_NOTICE = "Recalibrating."
# Said when the room behind the patient shows the camera itself moved after the neutral
# was taken (see core.view_move): every reading would be off by the camera's turn.
CAMERA_MOVED_NOTICE = ("The camera moved, so I will take your starting position again: "
                       "sit tall and look at the screen.")
STOP_KEY_REMINDER = "If you feel dizzy or unwell during the exercises, press S."


@dataclass
class _Shown:
    """The cue on screen now and until when."""

    text: str
    severity: str
    until_t_s: float
    priority: int = 0


class Terminated(Exception):
    """A termination signal arrived (SIGTERM, SIGHUP; SIGBREAK on Windows): end the
    session like Ctrl-C, keeping the record."""


@dataclass
class RunResult:
    ended_reason: str
    frames: int
    session: dict[str, Any]
    out_dir: Any = None
    events: list = field(default_factory=list)
    processing_fps: float = 0.0
    outcome: Outcome | None = None
    checkins: list = field(default_factory=list)
    stop: dict | None = None


class SessionLoop:
    """Runs one routine over a stream of (t_s, frame_bgr)."""

    def __init__(self, routine, measurement, *, recorder=None, voice=None, display=None, keys=None,
                 video_writer=None, mirror: bool = True, big: bool = False, pace_to_source: bool = False,
                 keep_events: bool = True, camera_check: CameraCheck | None = None,
                 threaded_overlay: bool = True, checkins: CheckinOptions | None = None,
                 ask_for_view: bool = True):
        if not isinstance(threaded_overlay, bool):
            raise TypeError(f"threaded_overlay must be True or False, got {threaded_overlay!r}")
        self.routine = routine
        self.measurement = measurement
        # Someone in front of the camera can raise it when the routine's extension cannot be
        # seen from there (`calibration.VIEW_ASKS`); a recording cannot (`ask_for_view=False`).
        # As far as the green band the screen shows as on target reaches: a patient holding
        # anywhere in it is doing what was asked, and a hold must be measured to be timed.
        extension_deg = routine.largest_target("extension") if hasattr(routine, "largest_target") else 0.0
        if ask_for_view and extension_deg and hasattr(measurement, "require_extension"):
            measurement.require_extension(extension_deg * TARGET_BAND_HIGH)
        # A recording cannot be helped either, but the coach still says why its tucks go uncounted.
        if any(e.movement == "retraction" for e in routine.exercises) and hasattr(measurement, "require_depth"):
            measurement.require_depth(ask=ask_for_view)
        self.coach = Coach(routine)
        self.camera_check = camera_check if camera_check is not None else CameraCheck()
        self.cues = CuePolicy()
        self.recorder = recorder
        self.voice = voice
        self.display = display
        self.keys = keys
        self.video_writer = video_writer
        self.mirror = mirror
        self.big = big
        self.pace_to_source = pace_to_source
        self.keep_events = keep_events
        self.events: list = []
        self._shown: _Shown | None = None
        self._banner: _Shown | None = None
        self._neutral_recorded = None
        self._last_cal_msg = None
        self._seat_moves: list[dict] = []
        # When the room behind the patient showed the camera moved (and how far), each
        # answered by a new neutral: also kept in the record's calibration.
        self.camera_moves: list[dict] = []
        self._recalibrating = False
        self._announced_calibration = False
        self._check_status: CheckStatus | None = None
        self._check_log: list[dict[str, Any]] = []
        self._frames = 0
        self._closed = False
        self._outcome: Outcome | None = None
        self._last_image = None
        self._fps = None
        self._last_frame_t = None
        # Started at the first frame drawn. The window itself stays on this
        # thread (HighGUI paints only from the thread that owns the window).
        self.overlay: OverlayWorker | None = None
        self._overlay_pending: tuple[np.ndarray, Any, int] | None = None  # see _release_overlay
        # Window and overlay I/O run while face mesh infers (see _during_inference)
        # when the detector offers the hook (FaceDetector calls it once per
        # update); otherwise, e.g. for fakes in tests, just before measuring.
        detector = getattr(measurement, "detector", None)
        self._hooked = detector is not None and hasattr(detector, "during_inference")
        if self._hooked:
            detector.during_inference = self._during_inference
        self._hook_key: int | None = None
        if threaded_overlay and (display is not None or video_writer is not None):
            self.overlay = OverlayWorker(self._render, video_writer=video_writer,
                                         keep_latest=display is not None)
        self._hold_calibration(True)
        self._init_checkins(checkins)

    # -- one frame -----------------------------------------------------------------
    def step(self, t_s: float, frame_bgr: np.ndarray) -> bool:
        """Process one frame; False when the session should end."""
        rgb = np.ascontiguousarray(cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB))
        if not self._hooked:
            self._during_inference()
        kin = self.measurement.update(rgb, t_s)
        self._frames += 1
        if self._last_frame_t is not None and t_s > self._last_frame_t:
            inst = 1.0 / (t_s - self._last_frame_t)
            self._fps = inst if self._fps is None else 0.9 * self._fps + 0.1 * inst
        self._last_frame_t = t_s
        if self.recorder is not None:
            self.recorder.update(kin, t_s)

        moved = seat_move(kin)
        if moved is not None:
            self._seat_moves.append(moved)
        calibrated = bool(kin.extra.get("calibrated"))
        calibrating = bool(kin.extra.get("calibrating"))
        if kin.extra.get("camera_moved_deg") is not None and calibrated and not calibrating:
            self.camera_moves.append({"t_s": round(float(t_s), 2), "moved_deg": kin.extra["camera_moved_deg"]})
            self._recalibrate(t_s, CAMERA_MOVED_NOTICE, forget_patient=False)
            calibrating = True
        new_events: list = []
        self._check_status = self._run_camera_check(kin, t_s) if calibrating else None
        if calibrated and not calibrating:
            if self._recalibrating:
                self._recalibrating = False
                self.coach.resume(t_s)
            if self.measurement.neutral is not self._neutral_recorded:
                self._neutral_recorded = self.measurement.neutral
                self._last_cal_msg = kin.extra.get("calibration")  # "ok" is no news at the next capture
                self._record_calibration()
            new_events = self.coach.update(kin, t_s)
        elif calibrating and kin.extra.get("calibration") not in (None, self._last_cal_msg):
            self._last_cal_msg = kin.extra["calibration"]
            self._say_now(self._last_cal_msg, t_s, priority=20)

        self._pass_on(new_events, t_s)
        if self.recorder is not None:
            self._sync_record(t_s)
        if self._prompt is not None:
            return self._symptom_step(t_s, frame_bgr)
        self._draw(frame_bgr, kin, t_s, calibrating)
        if self._handle_keys(t_s) is False:
            return False
        return self.coach.phase != "done"

    # -- camera check --------------------------------------------------------------
    def _run_camera_check(self, kin: Kinematics, t_s: float) -> CheckStatus:
        """Hold the neutral capture until the picture is good; say what to change meanwhile."""
        status = self.camera_check.update(kin, t_s)
        self._hold_calibration(not status.ready)
        if status.announce:
            self._say_now(status.message, t_s, priority=20, severity="warn")
            self._log_check({"t_s": round(t_s, 3), "kind": status.problem})
        if status.ready and not self._announced_calibration:
            self._announced_calibration = True
            self._say_now(CALIBRATION_INSTRUCTION, t_s, priority=10)
            self._log_check({"t_s": round(t_s, 3), "kind": "ready"})
        elif not status.ready:
            self._announced_calibration = False
        return status

    def _hold_calibration(self, held: bool) -> None:
        self.measurement.hold_calibration = held

    def _log_check(self, entry: dict[str, Any]) -> None:
        """Keep what the camera check asked for in the record (why setting up took long)."""
        self._check_log.append(entry)
        if self.recorder is not None:
            self.recorder.update_summary({"camera_check": list(self._check_log)})

    def _record_calibration(self) -> None:
        neutral = getattr(self.measurement, "neutral", None)
        result = getattr(self.measurement, "accepted_calibration", None)  # the neutral in use's, as `outcome` reads
        if self.recorder is None or neutral is None:
            return
        info = {"accepted": True, "reason": getattr(result, "reason", "")}
        for name in ("yaw_deg", "pitch_deg", "roll_deg", "t_s", "distance_mm"):
            if hasattr(neutral, name):
                info[name] = float(getattr(neutral, name))
        room = getattr(result, "extension_room_deg", None)
        if room is not None:
            # How far looking up could be measured from this neutral: less than the routine
            # asks means its extension reps cannot count (see `calibration.VIEW_ASKS`).
            info["extension_room_deg"] = round(float(room), 1)
        if self._seat_moves:
            info["seat_moves"] = list(self._seat_moves)
        if self.camera_moves:
            info["camera_moves"] = list(self.camera_moves)
        self.recorder.update_summary({"calibration": info})

    def _sync_record(self, t_s: float) -> None:
        """Hand the coach's record to the recorder (which writes at most once a second)."""
        session = self.coach.session.to_dict()
        self.recorder.set_exercises(session.get("exercises", []))
        self.recorder.update_summary({"warnings": session.get("warnings", []), "pauses": session.get("pauses", [])})
        self.recorder.checkpoint(t_s)

    # -- cues ----------------------------------------------------------------------
    def _say_now(self, text: str, t_s: float, priority: int, severity: str = "info") -> None:
        if self.voice is not None:
            self.voice.say(text, priority=priority, expires_t_s=t_s + 6.0, kind=text)
        self._shown = _Shown(text, severity, t_s + CUE_SHOWN_S, priority)

    def _pass_on(self, new_events: list, t_s: float) -> None:
        """The coach's events of this moment: cued (a menu's own pause is not), and kept if asked."""
        self._handle_cues(self._without_menu_pause(new_events), t_s)
        if self.keep_events:
            self.events.extend(new_events)

    def _handle_cues(self, new_events: list, t_s: float) -> None:
        for cue in self.cues.update(new_events):
            if cue.category == "safety":
                self._banner = _Shown(cue.text, cue.severity, t_s + BANNER_SHOWN_S, cue.priority)
            shown = self._shown
            if shown is None or cue.priority >= shown.priority or shown.until_t_s <= t_s:
                self._shown = _Shown(cue.text, cue.severity, t_s + CUE_SHOWN_S, cue.priority)
        if self.voice is not None:
            cue = self.cues.next_cue(t_s)
            while cue is not None:
                self.voice.say(cue.speech, priority=VOICE_PRIORITY.get(cue.priority, 10),
                               expires_t_s=cue.expires_t_s, kind=cue.kind)
                cue = self.cues.next_cue(t_s)
            self.voice.tick(t_s)

    # -- overlay -------------------------------------------------------------------
    def _draw(self, frame_bgr: np.ndarray, kin: Kinematics, t_s: float, calibrating: bool) -> None:
        if self.display is None and self.video_writer is None:
            return
        cue_text, severity = "", "info"
        if self._shown is not None and self._shown.until_t_s > t_s:
            cue_text, severity = self._shown.text, self._shown.severity
        banner = self._banner.text if self._banner is not None and self._banner.until_t_s > t_s else ""
        if cue_text == banner:
            cue_text = ""
        checking = self._check_status if self._check_status is not None and not self._check_status.ready else None
        progress = None
        cal_message = ""
        if calibrating and checking is None:
            cal = self.measurement.calibrator
            t0 = getattr(cal, "_t0", None)
            progress = 0.0 if t0 is None else min(1.0, (t_s - t0) / cal.duration_s)
            if not getattr(self.measurement.last_calibration, "ok", False):  # a rejection, not the last "ok"
                cal_message = kin.extra.get("calibration", "")
        state = overlay_state(
            self.coach.state(), kin, exercise=self.coach.exercise, cue_text=cue_text, cue_severity=severity,
            safety_banner=banner, calibrating_progress=progress, calibration_message=cal_message, fps=self._fps,
            camera_check=checking,
        )
        self._last_image = frame_bgr
        self._emit(frame_bgr, state)

    def _render(self, frame_bgr: np.ndarray, state) -> np.ndarray:
        # draw_overlay never writes into its input (it flips or copies first), so
        # the frame needs no copy, also when the worker draws it later.
        if isinstance(state, PromptView):
            return draw_prompt(frame_bgr, state, mirror=self.mirror, big=self.big)
        return draw_overlay(frame_bgr, state, mirror=self.mirror, big=self.big)

    def _emit(self, frame_bgr: np.ndarray, state, copies: int = 1) -> None:
        """Draw, record (`copies` times) and show one frame, here or on the overlay worker."""
        if self.overlay is not None:
            if not self.overlay.started:
                self.overlay.start()
            self._release_overlay()
            self._overlay_pending = (frame_bgr, state, copies)
            return
        image = self._render(frame_bgr, state)
        if self.video_writer is not None:
            for _ in range(copies):
                self.video_writer.write(image)
        if self.display is not None:
            self.display.show(image)

    def _during_inference(self) -> None:
        """The loop's I/O for the previous frame, run while face mesh infers on this one.

        The detector calls it between handing the frame to MediaPipe and
        waiting for the result, when the interpreter is otherwise idle: the
        overlay worker gets the previous frame (`_release_overlay`), this frame's
        room is watched (`Measurement.watch_room`, cv2 without the GIL), and with
        a window that frame is shown once drawn and the window's events are
        pumped (`pollKey` waits for the X server: ~3 ms a frame under Xvfb),
        all overlapping the inference rather than adding to the step.
        """
        self._release_overlay()
        watch_room = getattr(self.measurement, "watch_room", None)
        if watch_room is not None:
            watch_room()
        if self.display is None:
            return
        if self.overlay is not None and self.overlay.started:
            self.overlay.flush()  # the frame just handed over: shown one frame behind, as before
            self._show_latest()
        if self.keys is None:
            self._hook_key = self.display.poll_key()

    def _release_overlay(self) -> None:
        """Hand the held-back overlay frame to the worker.

        Called during the next frame's inference (`_during_inference`), so the
        worker draws while the interpreter is idle instead of competing with
        the loop's own Python work for the GIL: drawn straight after `_emit`,
        the next frame's colour conversion and packet set-up waited ~0.5 ms
        for it (benchmarks/README.md).
        """
        pending, self._overlay_pending = self._overlay_pending, None
        if pending is not None:
            frame_bgr, state, copies = pending
            self.overlay.submit(frame_bgr, state, copies=copies)

    def _show_latest(self) -> None:
        """Show the newest image the worker has drawn (one frame behind the camera at most)."""
        if self.display is not None and self.overlay is not None:
            image = self.overlay.take_latest()
            if image is not None:
                self.display.show(image)

    def flush_overlay(self) -> None:
        """Wait until every frame handed to the overlay is drawn and recorded.

        `run` calls it at the end, so a drawing error ends the session as an error.
        """
        if self.overlay is not None and self.overlay.started:
            self._release_overlay()
            self.overlay.flush()
            self._show_latest()

    def _stop_overlay(self) -> bool:
        """Drain and join the worker; False if it is stuck (then nothing it uses is released)."""
        if self.overlay is None:
            return True
        try:
            if self.overlay.started and not self.overlay.failed:
                self._release_overlay()
            return self.overlay.close()
        except Exception:  # raised on the worker, not seen by a submit: keep it in the log
            log.exception("the overlay worker failed")
            return True

    # -- keyboard ------------------------------------------------------------------
    def _poll_key(self) -> int | None:
        if self.keys is not None:
            if hasattr(self.keys, "advance"):
                self.keys.advance(self._last_frame_t or 0.0)
            return self.keys.poll()
        key, self._hook_key = self._hook_key, None  # the window was polled during inference
        return key

    def _handle_keys(self, t_s: float) -> bool:
        action = action_for(self._poll_key())
        if action is None:
            return True
        if action is Action.QUIT:
            return False
        if action is Action.PAUSE_TOGGLE:
            if self.coach.user_paused:
                self.coach.resume(t_s)
            else:
                self.coach.pause(t_s)
        elif action is Action.SKIP:
            self.coach.skip_exercise(t_s)
        elif action is Action.SYMPTOMS:
            self._open_symptom_menu(t_s)
        elif action is Action.RECALIBRATE:
            self._recalibrate(t_s, RECALIBRATION_NOTICE)
        return True

    def _recalibrate(self, t_s: float, notice: str, forget_patient: bool = True) -> None:
        """Pause the coach (the count is kept), check the camera and take a new neutral."""
        self._recalibrating = True
        self.coach.pause(t_s, reason="recalibrate")
        # Paused now, not when the coach is next fed (after the new neutral): the rep under way
        # is dropped, the pause recorded from here, and "Paused." heard while the patient may
        # still be holding a movement that the new neutral must not be taken from.
        self._pass_on(self.coach.apply_commands(t_s), t_s)
        self.camera_check.reset()
        self._announced_calibration = False
        self._hold_calibration(True)
        self.measurement.recalibrate(forget_patient=forget_patient)
        self._say_now(notice, t_s, priority=10)

    # -- whole session -------------------------------------------------------------
    def run(self, frames: Iterable[tuple[float, np.ndarray]]) -> RunResult:
        """Run to the end of the routine or the source; the record is closed in every case."""
        reason = "source ended"
        started = time.perf_counter()
        first_t = None
        restore_signals = on_termination(_raise_terminated)
        frames = iter(frames)
        try:
            frames = self._checkin_before(frames)
            started = time.perf_counter()  # pacing and the processing rate start after the check-in
            for t_s, frame in frames if self._stop is None else ():
                if first_t is None:
                    first_t = t_s
                if self.pace_to_source:
                    _sleep_until(started, t_s - first_t)
                if not self.step(t_s, frame):
                    reason = "completed" if self.coach.phase == "done" else "quit"
                    break
            else:
                if self.coach.phase == "done":
                    reason = "completed"
            if self._stop is not None:
                reason = f"stop rule: {self._stop.rule}"
            self.flush_overlay()
            self._checkin_after(frames, reason)
            self._show_stop()
        except KeyboardInterrupt:
            reason = "interrupted"
        except Terminated:
            reason = "terminated"
        except Exception as exc:
            reason = f"error: {type(exc).__name__}: {exc}"
            log.exception("session ended by an error")
            self._close(reason)
            raise
        finally:
            restore_signals()
        elapsed = time.perf_counter() - started
        self._close(reason)
        return RunResult(
            ended_reason=reason, frames=self._frames, session=self.coach.session.to_dict(),
            out_dir=getattr(self.recorder, "out_dir", None), events=self.events,
            processing_fps=self._frames / elapsed if elapsed > 0 else 0.0, outcome=self._outcome,
            checkins=list(self.checkin_records), stop=None if self._stop is None else self._stop.to_dict(),
        )

    def outcome(self, ended_reason: str = "") -> Outcome:
        """How the session ended for the person: what was counted, or why nothing was."""
        session = self.coach.session.to_dict()
        neutral_found = getattr(self.measurement, "neutral", None) is not None
        calibrator = getattr(self.measurement, "calibrator", None)
        neutral_s = float(getattr(calibrator, "duration_s", 2.5))
        coach = self.coach
        before_go = coach.exercise_index == 0 and coach.set_index == 0 and coach.phase in ("start", "count_in")
        room = getattr(getattr(self.measurement, "accepted_calibration", None), "extension_room_deg", None)
        return explain(session, neutral_found=neutral_found, neutral_s=neutral_s,
                       neutral_detail="" if neutral_found else self._no_neutral_detail(),
                       ended_reason=ended_reason, counting_started=not before_go, extension_room_deg=room)

    def _no_neutral_detail(self) -> str:
        """Why no neutral was taken: the camera check's last problem, or the last capture's reason."""
        if self._frames == 0:
            return "no picture came from the camera"
        result = getattr(self.measurement, "last_calibration", None)
        if result is not None and not getattr(result, "ok", True):
            return f"the last try: {result.reason}"
        problems = [e["kind"] for e in self._check_log if e.get("kind") != "ready"]
        ready = any(e.get("kind") == "ready" for e in self._check_log)
        if problems and not ready:
            return PROBLEM_WORDS.get(problems[-1], "the picture was not good enough")
        return "the session ended before I had seen you still for long enough"

    def summary(self) -> tuple[str, str]:
        """(spoken, on-screen) end-of-session summary."""
        session = self.coach.session.to_dict()
        done = sum(int(ex.get("reps_completed") or 0) for ex in session.get("exercises", []))
        target = sum(int(ex.get("reps_target") or 0) for ex in session.get("exercises", []))
        safety = sum(1 for w in session.get("warnings", []) if w.get("kind") in ev.SAFETY_KINDS)
        outcome = self._outcome or self.outcome()
        spoken = f"Session over: {done} of {target} repetitions done."
        shown = f"Done: {done} / {target} reps"
        if outcome.code != "counted":  # nothing was counted: say why
            return f"{spoken} {outcome.message}", outcome.message
        if safety:
            spoken += f" {safety} warning{'s' if safety != 1 else ''} for moving too fast or suddenly: go gently next time."
            shown += f", {safety} warning{'s' if safety != 1 else ''}"
        elif done and not outcome.note:
            spoken += " Smooth and steady, well done."
        if outcome.note:  # what did not count, and what to change (a camera too low, say)
            spoken += f" {outcome.note}"
            shown += f". {outcome.note}"
        return spoken, shown

    def _finish_out_loud(self) -> None:
        """Show the summary on the last frame and let the voice say it (bounded wait)."""
        spoken, shown = self.summary()
        worker_failed = self.overlay is not None and self.overlay.failed  # its error is raised or logged
        if self._last_image is not None and not worker_failed:
            state = overlay_state({"phase": "done", "exercise_name": "Session over"}, None,
                                  cue_text=shown, cue_severity="success")
            self._emit(self._last_image, state, copies=30)
            self.flush_overlay()  # the summary must reach the window before the voice reads it out
            self._pump_window()
        if self.voice is not None and self.voice.available:
            self.voice.say(spoken, priority=VOICE_PRIORITY[3], expires_t_s=None, kind="summary")
            deadline = time.monotonic() + SUMMARY_SPEECH_MAX_S
            while self.voice.busy and time.monotonic() < deadline:
                self.voice.tick(self._last_frame_t or 0.0)
                self._pump_window()
                time.sleep(0.05)

    def _pump_window(self) -> None:
        """Let the window paint what it was given: HighGUI paints only while its events are polled."""
        if self.display is not None:
            self.display.poll_key()

    def _close(self, reason: str) -> None:
        if self._closed:
            return
        self._closed = True
        self._end_open_checkin(reason)
        try:
            self._outcome = self.outcome(reason)
        except Exception:  # never let the explanation stop the record from closing
            log.exception("could not work out the session's outcome")
        try:
            self._finish_out_loud()
        except Exception:  # the record below matters more than the goodbye
            log.exception("could not give the end-of-session summary")
        if self.recorder is not None:
            try:
                summary = {"frames_processed": self._frames}
                if self._outcome is not None:
                    summary["outcome"] = self._outcome.to_dict()
                self.recorder.update_summary(summary)
                self._sync_record(self._last_frame_t or 0.0)
            finally:
                self.recorder.close(reason)
        self._offer_diary(reason)
        if self.voice is not None:
            self.voice.close()
        overlay_stopped = self._stop_overlay()  # after the record: a stuck worker must not delay it
        if not overlay_stopped:
            log.error("the overlay worker did not stop: the video and window are left open")
        elif self.video_writer is not None:
            self.video_writer.release()
        if overlay_stopped and self.display is not None:
            self.display.close()


    # -- check-ins, stop rules and the diary (neckcoach/app/checkin.py) ---------------
    def _init_checkins(self, options: CheckinOptions | None) -> None:
        """Check-ins run only when `options` is given (the app always gives it); the stop key always works."""
        self.checkin_options = options
        self.plan = CheckinPlan.of(self.routine)
        self.checkin_records: list[dict[str, Any]] = []
        self._prompt: PromptRun | None = None
        self._open_flow: CheckIn | None = None
        self._stop: StopDecision | None = None
        self._baseline_pain: float | None = None
        self._resume_after_menu = False
        self._flows: list[CheckIn] = []  # index = the check-in's seq in the record
        self._menu_paused = False
        self._last_prompt_t: float | None = None
        self.diary_saved: dict[str, Any] | None = None

    @property
    def _window(self) -> bool:
        """A real window the patient can see and type in (not a headless stand-in)."""
        return self.display is not None and not getattr(self.display, "headless", False)

    def _record_flow(self, flow: CheckIn) -> None:
        """Store a check-in's answers now (write-through): session.json and the history at once."""
        entry = flow.result()
        seq = next((i for i, f in enumerate(self._flows) if f is flow), None)
        if seq is None:
            seq = len(self._flows)
            self._flows.append(flow)
            self.checkin_records.append(entry)
        entry["seq"] = seq
        entry["at"] = datetime.now().astimezone().isoformat(timespec="seconds")
        self.checkin_records[seq] = entry
        if flow.stop is not None and self._stop is None:
            self._stop = flow.stop
        if flow.phase == "before" and entry.get("pain_0_10") is not None:
            self._baseline_pain = float(entry["pain_0_10"])
        if self.recorder is not None:
            self.recorder.record_checkin(entry, stop=None if flow.stop is None else flow.stop.to_dict())

    def _session_flow(self, phase: str, t_s: float) -> CheckIn | None:
        opts = self.checkin_options
        if opts is None:
            return None
        given = dict(opts.given_before if phase == "before" else opts.given_after)
        questions = self.plan.before if phase == "before" else self.plan.after
        if not questions and given:  # `checkin: false`, but the answers were given on the command line
            questions = session_questions(phase, self.plan.rules)
        if not questions:
            return None
        ids = {q.id for q in questions}
        flow = CheckIn(phase, questions, rules=self.plan.rules,
                       given={k: v for k, v in given.items() if k in ids and v is not None},
                       baseline_pain=self._baseline_pain if phase == "after" else None)
        self._open_flow = flow
        return flow

    def _checkin_before(self, frames: Iterator) -> Iterator:
        """Ask the before check-in; returns the frames the session goes on with."""
        flow = self._session_flow("before", 0.0)
        if flow is None:
            return frames
        if not self.checkin_options.ask:
            self._ask_without_window(flow, 0.0)
            return frames
        first = next(frames, None)
        if first is None:
            self._end_flow(flow, 0.0, "the video or camera gave no picture")
            return frames
        rest = self._run_prompt(PromptRun(flow, voice=self.voice, on_change=self._record_flow), frames, first,
                                live=self.checkin_options.live)
        if flow.stop is None and self.plan.during:  # said at the time the session goes on from
            self._say_now(STOP_KEY_REMINDER, self._now_t() if self.checkin_options.live else first[0], priority=10)
        if self.checkin_options.live:
            return rest
        return itertools.chain([first], frames)

    def _checkin_after(self, frames: Iterator, reason: str) -> None:
        if self.checkin_options is None:
            return
        t_s = self._now_t()
        flow = self._session_flow("after", t_s)
        if flow is None:
            return
        if self._stop is not None:
            self._end_flow(flow, t_s, "not asked: the session was ended by a stop rule")
            return
        if not self.checkin_options.ask:
            self._ask_without_window(flow, t_s)
            return
        first = next(frames, None) if self.checkin_options.live else None
        if first is None:
            image = self._last_image if self._last_image is not None else np.zeros((480, 640, 3), np.uint8)
            first = (t_s, image)
        self._run_prompt(PromptRun(flow, voice=self.voice, on_change=self._record_flow), frames, first,
                         live=self.checkin_options.live)

    def _ask_without_window(self, flow: CheckIn, t_s: float) -> None:
        """No window to answer in: what the flags gave is recorded, the rest as not asked, with why."""
        flow.start(t_s)
        self._end_flow(flow, t_s, self.checkin_options.skip_reason or "not asked: no window to answer in")

    def _end_flow(self, flow: CheckIn, t_s: float, note: str) -> None:
        flow.end(t_s, note)
        self._record_flow(flow)
        self._open_flow = None

    def _end_open_checkin(self, reason: str) -> None:
        """A check-in cut short by Ctrl-C, SIGTERM or an error is recorded as such."""
        flow, self._open_flow = self._open_flow, None
        if flow is not None and not flow.done and flow.started_t_s is not None:
            try:
                self._end_flow(flow, self._last_frame_t or flow.started_t_s, f"not finished: {reason}")
            except Exception:
                log.exception("could not record the unfinished check-in")

    def _run_prompt(self, prompt: PromptRun, frames: Iterator, first: tuple[float, np.ndarray],
                    live: bool) -> Iterator:
        """Run a flow in the window: over live frames while `live` and they come, then over the last one held."""
        t_s, frame = first
        prompt.start(t_s)
        while live and not prompt.flow.done:
            self._show_prompt(frame, prompt.view(t_s))
            if not prompt.update(self._prompt_key(t_s), t_s):
                break
            nxt = next(frames, None)
            if nxt is None:
                break
            t_s, frame = nxt
        self._last_prompt_t = t_s
        if not prompt.flow.done:
            t_s = self._held(frame, t_s, prompt.view, lambda t: prompt.update(self._prompt_key(t), t))
        self._show_prompt(frame, prompt.view(t_s))
        self._open_flow = None
        return frames

    def _held(self, frame: np.ndarray, t0: float, view, keep_going, max_s: float | None = None) -> float:
        """Show `view(t)` over a held frame until `keep_going(t)` is False (or max_s); returns the end time.

        Time runs on the options' clock from the session time t0, so voice
        expiry and scripted keys keep one time base.
        """
        opts = self.checkin_options or CheckinOptions()
        clock0 = opts.clock()
        t = t0
        while True:
            self._show_prompt(frame, view(t))
            if not keep_going(t) or (max_s is not None and t - t0 >= max_s):
                break
            opts.sleep(FRAME_INTERVAL_S)
            t = t0 + (opts.clock() - clock0)
        self._last_prompt_t = t
        return t

    def _now_t(self) -> float:
        """The latest session time seen, by frames or by a check-in over a held frame."""
        return max(t for t in (self._last_prompt_t, self._last_frame_t, 0.0) if t is not None)

    def _show_prompt(self, frame: np.ndarray, view: PromptView) -> None:
        self._last_image = frame
        if self.display is None and self.video_writer is None:
            return
        self._emit(frame, view)
        self._during_inference()  # no inference runs here: hand over, show and pump the window now

    def _prompt_key(self, t_s: float) -> int | None:
        if self.keys is not None:
            if hasattr(self.keys, "advance"):
                self.keys.advance(t_s)
            return self.keys.poll()
        key, self._hook_key = self._hook_key, None
        return key

    def _open_symptom_menu(self, t_s: float) -> None:
        """The stop key: pause the coach and ask what the patient feels."""
        if not self.plan.during:
            self._say_now("No stop questions in this routine. Press Q to stop the session.", t_s, priority=20)
            return
        self._resume_after_menu = self._menu_paused = not self.coach.user_paused
        self.coach.pause(t_s)
        flow = CheckIn("during", self.plan.during, rules=self.plan.rules, budget_s=None,
                       baseline_pain=self._baseline_pain)
        self._open_flow = flow
        self._prompt = PromptRun(flow, voice=self.voice, on_change=self._record_flow)
        self._prompt.start(t_s)

    def _symptom_step(self, t_s: float, frame_bgr: np.ndarray) -> bool:
        """One frame with the stop menu open: measuring and recording go on, the coach waits."""
        prompt = self._prompt
        self._last_prompt_t = t_s
        self._show_prompt(frame_bgr, prompt.view(t_s))
        if prompt.update(self._prompt_key(t_s), t_s):
            return True
        self._prompt = self._open_flow = None
        if prompt.flow.stop is not None:
            return False
        if self._resume_after_menu:
            self.coach.resume(t_s)
        return True

    def _without_menu_pause(self, events: list) -> list:
        """The stop menu pauses the coach itself: its "Paused. Press space" would contradict the menu."""
        if not self._menu_paused:
            return events
        kept = [e for e in events if not (e.kind == ev.PAUSED and (e.data or {}).get("reason") == "user")]
        if len(kept) != len(events):
            self._menu_paused = False
        return kept

    def _show_stop(self) -> None:
        """Keep the stop instruction on screen while it is read out (a key ends it after the minimum)."""
        if self._stop is None or self._last_image is None:
            return
        view = stop_view(self._stop.shown, self._stop.message)
        if not self._window:
            if self.video_writer is not None:
                self._emit(self._last_image, view, copies=int(STOP_SHOWN_MIN_S / FRAME_INTERVAL_S))
                self.flush_overlay()
            return
        t0 = self._now_t()

        def keep_going(t: float) -> bool:
            key = self._prompt_key(t)
            if t - t0 < STOP_SHOWN_MIN_S:
                return True
            speaking = self.voice is not None and self.voice.available and self.voice.busy
            return key is None and speaking

        self._held(self._last_image, t0, lambda t: view, keep_going, max_s=STOP_SHOWN_MAX_S)

    def _offer_diary(self, reason: str) -> None:
        """End-of-session screen: D opens the headache diary for today or yesterday."""
        opts = self.checkin_options
        if (opts is None or not opts.ask or not opts.offer_diary or not self._window or self._stop is not None
                or self._last_image is None or reason in ("interrupted", "terminated")
                or reason.startswith("error")):
            return
        try:
            self._diary_screen(opts)
        except Exception:  # the session record is closed already; a diary problem must not hide it
            log.exception("the headache diary could not be filled in")

    def _diary_screen(self, opts: CheckinOptions) -> None:
        offer = PromptView("Session over", "Press D to add today's headaches to your diary.",
                           hint="Any other key: close")
        pressed: list[int] = []
        t0 = self._now_t()

        def waiting(t: float) -> bool:
            key = self._prompt_key(t)
            if key is not None:
                pressed.append(key)
            return not pressed

        t = self._held(self._last_image, t0, lambda _t: offer, waiting, max_s=DIARY_OFFER_S)
        if not pressed or (pressed[0] & 0xFF) not in (ord("d"), ord("D")):
            return
        flow = CheckIn("diary", diary_questions(), budget_s=None, idle_s=DIARY_IDLE_S)
        prompt = PromptRun(flow, voice=self.voice)
        prompt.start(t)
        t = self._held(self._last_image, t, prompt.view, lambda tt: prompt.update(self._prompt_key(tt), tt))
        saved = save_diary_answers(flow.values(), datetime.now().date())
        self.diary_saved = saved
        if saved is not None:
            note = PromptView("Headache diary", f"Saved for {saved['day']}: {saved['summary']}.")
            self._held(self._last_image, t, lambda _t: note, lambda _t: True, max_s=2.0)


def _sleep_until(started: float, offset_s: float) -> None:
    delay = started + offset_s - time.perf_counter()
    if delay > 0:
        time.sleep(min(delay, 1.0))


def _raise_terminated(signum, frame):  # noqa: ARG001 - signal handler signature
    raise Terminated()


__all__ = ["RunResult", "SessionLoop", "Terminated", "ev"]
