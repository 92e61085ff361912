"""How a session or a reviewed recording ended, in one sentence the person understands.

A session must never end with nothing said. When no neutral was found, or
reps were expected and none was counted, the outcome says why in plain
words (the first reason that applies, most basic first) and carries the
exit code the command returns, so a script or a clinician's batch job can
tell "nothing to count" from "counted".

Pure: the session's record in, an `Outcome` out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from neckcoach.core import events as ev
from neckcoach.core.calibration import RAISE_CAMERA

# Exit codes (documented in the commands' -h). 1 and 2 are taken: a routine
# that does not load, and a video or folder that cannot be opened or written.
EXIT_COUNTED = 0
EXIT_NO_NEUTRAL = 3
EXIT_NO_REPS = 4

# A session that could not see the person for at least this share of its time
# after the neutral is explained by the picture, not by the movements.
MOSTLY_UNSEEN_FRACTION = 0.5

_NOUNS = {"rotation": "head turn", "side_bend": "side bend", "flexion": "nod towards your chest",
          "extension": "look up", "flexion_extension": "nod down or up", "chin_nod": "chin nod",
          "retraction": "chin tuck"}
PROBLEM_WORDS = {ev.FACE_LOST: "your face was out of view", ev.TWO_FACES: "more than one face was in view",
                  ev.NOT_PATIENT: "someone else was in view", ev.TOO_FAR: "you were too far from the camera",
                  ev.TOO_CLOSE: "you were too close to the camera", ev.POOR_LIGHT: "the picture was too dark",
                  ev.TOO_BRIGHT: "there was too much light behind you",
                  ev.OFF_CENTRE: "your face was not in the middle of the picture"}


@dataclass(frozen=True)
class Outcome:
    """`code` is counted / no_neutral / no_reps; `message` is what to tell the person.

    `note`: for a counted session, what went uncounted and why (the end of `message`
    after the count), so the end-of-session summary can say it after its own count.
    """

    code: str
    exit_code: int
    message: str
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = {"code": self.code, "exit_code": self.exit_code, "message": self.message}
        if self.note:
            out["note"] = self.note
        return out


def no_neutral_message(neutral_s: float, detail: str = "") -> str:
    text = (f"I never saw you hold still facing the screen for {neutral_s:g} s, "
            "so I could not start counting.")
    if detail:
        text += f" ({detail[0].upper()}{detail[1:]}.)"
    return text


def explain(session: Mapping[str, Any], *, neutral_found: bool, neutral_s: float,
            neutral_detail: str = "", ended_reason: str = "", counting_started: bool = True,
            extension_room_deg: float | None = None) -> Outcome:
    """The outcome of a session from its record (`SessionRecord.to_dict()` or session.json).

    `counting_started` is False for a live session that ended before the first
    "go" (during the first count-in): nothing could be counted yet.
    `extension_room_deg`: how far looking up could be measured from the neutral
    in use (`CalibrationResult.extension_room_deg`), when the calibration knew.
    """
    exercises = [e for e in session.get("exercises") or [] if isinstance(e, Mapping)]
    target = sum(int(e.get("reps_target") or 0) for e in exercises)
    done = sum(int(e.get("reps_completed") or 0) for e in exercises)
    low = _camera_too_low(exercises, extension_room_deg)
    if done:
        note = _uncounted(exercises) + low
        return Outcome("counted", EXIT_COUNTED, f"You did {done} of {target} repetitions." + note, note.strip())
    if ended_reason.startswith("stop rule"):  # the symptoms the person reported, not the camera
        return Outcome("no_reps", EXIT_NO_REPS, "The session stopped because of the symptoms you reported, "
                       "before any repetition was counted.")
    if not neutral_found:
        return Outcome("no_neutral", EXIT_NO_NEUTRAL, no_neutral_message(neutral_s, neutral_detail))
    if not exercises or not counting_started:
        if ended_reason in ("quit", "interrupted", "terminated"):
            text = "You ended the session before the first exercise began, so there was nothing to count yet."
        else:
            text = "The session ended before the first exercise began, so there was nothing to count yet."
        return Outcome("no_reps", EXIT_NO_REPS, text)
    return Outcome("no_reps", EXIT_NO_REPS, _why_no_reps(session, exercises, ended_reason, low))


def _why_no_reps(session: Mapping[str, Any], exercises: list[Mapping[str, Any]], ended_reason: str,
                 low: str = "") -> str:
    unseen_s, problem = _unseen(session)
    span = _span(session)
    if span > 0 and unseen_s >= MOSTLY_UNSEEN_FRACTION * span:
        words = PROBLEM_WORDS.get(problem or "", "I could not see you clearly")
        return (f"I could not count any repetitions: for {unseen_s:.0f} of {span:.0f} s {words}, "
                "and I only count what I can see.")
    noted = next((e for e in exercises if e.get("note")), None)
    if noted is not None:
        return f"I could not count any repetitions: {noted['note']}."
    moves = [(e, r) for e in exercises for r in e.get("reps") or [] if isinstance(r, Mapping)]
    # A jolt that never reached the target was not an attempt at the exercise (the counter's
    # reason "sudden"): its furthest point is where a sudden movement went, not an attempt's.
    attempts = [(e, r) for e, r in moves if r.get("reason") != "sudden"]
    held_short = [(e, r) for e, r in attempts if r.get("reason") == "hold_short"]
    if held_short:
        return (f"You reached the target {len(held_short)} time{'s' if len(held_short) != 1 else ''}, "
                "but came back before the hold was over, so none counted as a whole repetition.")
    unmeasured = [(e, r) for e, r in attempts if r.get("reason") == "unmeasured"]
    measured = [(e, r) for e, r in attempts if r.get("reason") != "unmeasured"]
    if unmeasured:
        # The furthest reading of these attempts is not where the head went: never quoted.
        n = len(unmeasured)
        said = (f"I could not see how far you went in {n} of your {len(attempts)} "
                f"attempt{'s' if len(attempts) != 1 else ''}: the camera lost the measurement near "
                f"the end of the movement, so I could not count {'it' if n == 1 else 'them'}.")
        return said + (f" The other{'s' if len(measured) != 1 else ''} did not reach the target"
                       f"{_furthest(measured)}." if measured else "") + low
    if attempts:
        return (f"You made {len(attempts)} attempt{'s' if len(attempts) != 1 else ''}, "
                f"but none reached the target{_furthest(attempts)}, so none counted.")
    if moves:
        n = len(moves)
        return (f"The only movement{'s' if n != 1 else ''} I saw {'were' if n != 1 else 'was'} sudden, "
                f"not {'attempts' if n != 1 else 'an attempt'} at the exercise, so none counted.")
    first = next((e for e in exercises if e.get("seen", True)), exercises[0])
    noun = _NOUNS.get(str(first.get("movement")), "repetition")
    if ended_reason in ("quit", "interrupted", "terminated"):
        return f"You ended the session before the first {noun}."
    return f"I did not see a single {noun}: your head stayed close to where it started."


def _camera_too_low(exercises: list[Mapping[str, Any]], room_deg: float | None) -> str:
    """Why look-ups went unmeasured, when the neutral left less room than their target.

    The calibration asked to raise the camera (`calibration.VIEW_ASKS`) and took
    the neutral as it was; every look-up past the room then ends "unmeasured".
    Said at the end so the person knows what to change next time, not only that
    those reps did not count.
    """
    if room_deg is None or not math.isfinite(room_deg):
        return ""
    targets = [_metric(r, "target", "deg") for e in exercises for r in e.get("reps") or []
               if isinstance(r, Mapping) and r.get("side") == "extension" and r.get("reason") == "unmeasured"]
    short = [t for t in targets if t is not None and t > room_deg]
    if not short:
        return ""
    return (f" The camera was well below your eyes: from there I could measure looking up only to about "
            f"{max(room_deg, 0.0):.0f} deg, and the target was {max(short):.0f} deg. Next time, "
            f"{RAISE_CAMERA}.")


def _furthest(attempts: list[tuple[Mapping[str, Any], Mapping[str, Any]]]) -> str:
    """' (your furthest was 41 deg of 50 deg)' for the attempt closest to its target."""
    e, best = max(attempts, key=lambda er: _ratio(er[1]))
    unit = "mm" if e.get("unit") == "mm" else "deg"
    peak, aim = _metric(best, "peak_abs", unit), _metric(best, "target", unit)
    return f" (your furthest was {peak:.0f} {unit} of {aim:.0f} {unit})" if peak is not None and aim is not None else ""


def _uncounted(exercises: list[Mapping[str, Any]]) -> str:
    """Why exercises with nothing counted were not counted, where the coach knew (their `note`)."""
    parts = []
    for e in exercises:
        if e.get("note") and not int(e.get("reps_completed") or 0):
            noun = _NOUNS.get(str(e.get("movement")), "repetition")
            parts.append(f" I could not count the {noun}s: {e['note']}.")
    return "".join(parts)


def _ratio(rep: Mapping[str, Any]) -> float:
    unit = "mm" if "peak_abs_mm" in rep else "deg"
    peak, aim = _metric(rep, "peak_abs", unit), _metric(rep, "target", unit)
    return peak / aim if peak is not None and aim else 0.0


def _metric(rep: Mapping[str, Any], name: str, unit: str) -> float | None:
    value = rep.get(f"{name}_{unit}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _span(session: Mapping[str, Any]) -> float:
    try:
        return max(0.0, float(session.get("end_t_s") or 0.0) - float(session.get("start_t_s") or 0.0))
    except (TypeError, ValueError):
        return 0.0


def _unseen(session: Mapping[str, Any]) -> tuple[float, str | None]:
    """Seconds paused for a picture problem, and the problem that lasted longest."""
    end = session.get("end_t_s")
    total: dict[str, float] = {}
    for p in session.get("pauses") or []:
        if not isinstance(p, Mapping) or p.get("reason") in ("user", "recalibrate"):  # not the picture
            continue
        try:
            start = float(p.get("start_t_s"))
            stop = float(p.get("end_t_s") if p.get("end_t_s") is not None else end)
        except (TypeError, ValueError):
            continue
        reason = str(p.get("reason"))
        total[reason] = total.get(reason, 0.0) + max(0.0, stop - start)
    if not total:
        return 0.0, None
    return sum(total.values()), max(total, key=total.get)


__all__ = ["EXIT_COUNTED", "EXIT_NO_NEUTRAL", "EXIT_NO_REPS", "PROBLEM_WORDS", "Outcome", "explain",
           "no_neutral_message"]
