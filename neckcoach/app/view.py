"""Turn the coach's state, the live kinematics and the active cue into what the overlay draws.

Pure: no drawing, no clock. Kept apart from the frame loop so that the mapping
can be tested with plain dictionaries.
"""

from __future__ import annotations

from typing import Any

from neckcoach.core.coach import QUALITY_MESSAGES
from neckcoach.core.quality import CHECKING_MESSAGE, CheckStatus
from neckcoach.core.samples import Kinematics
from neckcoach.io.overlay import (PAUSE_TITLE, RECALIBRATE_PAUSE_MESSAGE, USER_PAUSE_MESSAGE, WAITING_TITLE,
                                  OverlayState)

# How far either side of the target still counts as "on target" on the gauge,
# as a fraction of the target: the same tolerance the rep counter uses for a
# complete rep (85 %), so the green band and the counting agree.
TARGET_BAND_LOW = 0.85
TARGET_BAND_HIGH = 1.15

SIDE_WORDS = {"left": "LEFT", "right": "RIGHT", "flexion": "DOWN", "extension": "UP", "back": "BACK"}
AXIS_NAMES = {"yaw": "rotation", "pitch": "flexion / extension", "roll": "side bend", "retraction": "retraction"}


def overlay_state(
    coach_state: dict[str, Any],
    kin: Kinematics | None,
    *,
    exercise=None,
    cue_text: str = "",
    cue_severity: str = "info",
    safety_banner: str = "",
    calibrating_progress: float | None = None,
    calibration_message: str = "",
    fps: float | None = None,
    camera_check: CheckStatus | None = None,
) -> OverlayState:
    """The overlay for one frame, from the coach snapshot (`Coach.state()`).

    With `camera_check` (the check before calibration has not passed) the
    overlay shows only its instruction: no gauge needle and no calibration
    progress, since nothing is being measured yet.
    """
    if camera_check is not None:
        return _camera_check_state(camera_check, kin, fps)
    side = coach_state.get("expected_side") or ""
    target = coach_state.get("target")
    sign = exercise.sign(side) if exercise is not None and side else 1
    signed_target = None if target is None else sign * float(target)
    band = None
    if signed_target is not None:
        a, b = signed_target * TARGET_BAND_LOW, signed_target * TARGET_BAND_HIGH
        band = (min(a, b), max(a, b))
    limit = exercise.safety_limit if exercise is not None else None
    axis = coach_state.get("axis", "yaw")
    live, trust = None, "measured"
    if kin is not None and kin.face_found:
        live = float(kin.value(axis))
        trust = live_trust(kin, axis)
    hold_s = float(coach_state.get("hold_s") or 0.0)
    hold_done = float(coach_state.get("hold_progress_s") or 0.0)
    holding = hold_s > 0 and coach_state.get("rep_state") == "at_target"
    phase = coach_state.get("phase", "")
    tempo_label = {"count_in": "get ready", "rest": "rest"}.get(phase, "")
    if coach_state.get("rep_state"):
        tempo_label = {"out": "out", "at_target": "hold" if hold_s > 0 else "back",
                       "returning": "back", "neutral": "ready"}.get(coach_state["rep_state"], tempo_label)
    text = cue_text
    if calibrating_progress is not None:
        # The calibrator's reasons are clauses ("the camera is well below your eyes: ..."): shown as a sentence.
        text = calibration_message[:1].upper() + calibration_message[1:] or "Sit tall and look at the screen"
    if phase == "done":
        text = cue_text or "Routine complete - well done!"
    return OverlayState(
        exercise_name=coach_state.get("exercise_name", "Calibration" if calibrating_progress is not None else ""),
        side=SIDE_WORDS.get(side, side.upper()),
        rep=int(coach_state.get("reps_done", 0)),
        reps_total=int(coach_state.get("reps_target", 0)),
        set_index=int(coach_state.get("set", 0)),
        sets_total=int(coach_state.get("sets", 0)),
        axis=axis,
        unit=coach_state.get("unit", "deg"),
        live_value=live,
        live_trust=trust,
        target_value=signed_target,
        target_band=band,
        safety_limit=None if limit is None else sign * float(limit),
        hold_progress=min(1.0, hold_done / hold_s) if holding else None,
        hold_s_left=max(0.0, hold_s - hold_done) if holding else None,
        rest_s_left=coach_state.get("rest_remaining_s"),
        tempo_phase=None,
        tempo_label=tempo_label,
        cue_text=text,
        cue_severity=cue_severity,
        safety_banner=safety_banner,
        face_lost=kin is not None and not kin.face_found,
        paused=bool(coach_state.get("paused")) and coach_state.get("pause_reason") == "user",
        pause_message=pause_message(coach_state),
        pause_title=WAITING_TITLE if not coach_state.get("paused") else PAUSE_TITLE,
        calibrating_progress=calibrating_progress,
        fps=fps,
    )


def live_trust(kin: Kinematics, axis: str) -> str:
    """How the gauge may show this frame's reading (see `OverlayState.live_trust`): the patient
    watches it to know how far they went, so an untrusted reading is not shown as a number."""
    if kin.is_lower_bound(axis):
        return "at_least"
    return "measured" if kin.is_reliable(axis) else "unsure"


# Counting that never starts although the person sits still facing the screen can
# be a neutral captured on a wrong reading (rendered population seed 400437: face
# mesh read a frontal head as turned 15 deg for its first 7 s, the neutral was taken
# there, and every chin tuck after it read as turned): the way out is a new capture.
RECALIBRATE_HINT = "Already still and facing the screen? Press C to measure your straight-ahead position again."
# Where the camera's place is why (the coach's waiting reason "camera_view"), the person has just
# been asked to move it, and the neutral must be taken again from the new view.
CAMERA_MOVED_HINT = "Moved it? Press C to measure your straight-ahead position again."
_NEUTRAL_HINTS = {"unmeasurable": RECALIBRATE_HINT, "restless": RECALIBRATE_HINT, "camera_view": CAMERA_MOVED_HINT}


def pause_message(coach_state: dict[str, Any]) -> str:
    """While counting is paused, or has not started: why, and what to do (the coach's own words,
    and where the neutral may be at fault, the key that captures it again)."""
    if not coach_state.get("paused"):
        waiting = str(coach_state.get("waiting_message") or "")
        hint = _NEUTRAL_HINTS.get(coach_state.get("waiting_reason"))
        return f"{waiting} {hint}" if waiting and hint else waiting
    reason = coach_state.get("pause_reason")
    if reason == "user":
        return USER_PAUSE_MESSAGE
    if reason == "recalibrate":
        return RECALIBRATE_PAUSE_MESSAGE
    return (coach_state.get("pause_advice")
            or QUALITY_MESSAGES.get(reason, "Counting waits until I can measure you again."))


def _camera_check_state(status: CheckStatus, kin: Kinematics | None, fps: float | None) -> OverlayState:
    face_lost = kin is not None and not kin.face_found
    return OverlayState(
        exercise_name="Camera check",
        cue_text="" if face_lost else status.message,
        cue_severity="warn" if status.problem is not None else "info",
        face_lost=face_lost,
        face_lost_message=status.message or CHECKING_MESSAGE,
        fps=fps,
    )
