"""Check-ins at the edge: a core `CheckIn` shown over the camera picture, spoken, answered by keys.

The frame loop (neckcoach/app/runner.py) decides when a check-in runs and
which picture is under it: the live camera, or the last frame held when the
source is a file or has ended. This module turns key codes into the core's key
names, speaks each question as it is asked, stores the answers as they come
(write-through, so a stop-rule answer survives a kill) and draws the question.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Callable

import cv2
import numpy as np

from neckcoach.core.checkin import Asked, CheckIn, Rejected, Stopped
from neckcoach.io.keys import checkin_key
from neckcoach.io.overlay import greedy_lines

# Voice priorities (see neckcoach/io/voice.py): a question outranks coaching
# guidance; a stop instruction is a safety message and cuts off anything else.
QUESTION_PRIORITY = 20
STOP_PRIORITY = 100
# How long a stop instruction stays on screen at least, and at most while the
# voice still reads it, before the end-of-session summary.
STOP_SHOWN_MIN_S = 6.0
STOP_SHOWN_MAX_S = 30.0
# The end-of-session offer to fill in the headache diary waits this long for D.
DIARY_OFFER_S = 8.0
FRAME_INTERVAL_S = 1 / 30

TITLES = {"before": "Before we start", "after": "How are you now?", "during": "Are you all right?",
          "diary": "Headache diary"}
HINT_SKIP = {"before": "Enter: skip question   Esc: skip check-in",
             "after": "Enter: skip question   Esc: skip check-in",
             "during": "Enter: skip", "diary": "Enter: skip question   Esc: cancel"}


@dataclass
class CheckinOptions:
    """How this run asks its check-ins.

    ask: there is a window with keys to answer in (else only `given_*` answers
    count and the rest is recorded as not asked, with `skip_reason`).
    given_before / given_after: answers from command-line flags, e.g.
    {"pain": 3, "headache": False}. live: a camera, whose live picture is shown
    under the question; otherwise (a file) the last frame is held, so no video
    is consumed while the patient answers. clock / sleep: wall time for held
    frames (injected in tests).
    """

    ask: bool = True
    given_before: dict[str, Any] = field(default_factory=dict)
    given_after: dict[str, Any] = field(default_factory=dict)
    live: bool = False
    skip_reason: str = ""
    offer_diary: bool = True
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class PromptView:
    """What the check-in screen shows over the picture."""

    title: str
    question: str = ""
    options: tuple[str, ...] = ()
    typed: str = ""
    input_box: bool = False
    hint: str = ""
    feedback: str = ""
    severity: str = "info"
    time_left: float | None = None  # fraction of the budget left


class PromptRun:
    """One core flow at the edge: speaks what is asked, feeds keys, reports answers as they change."""

    def __init__(self, flow: CheckIn, *, voice=None, on_change: Callable[[CheckIn], None] | None = None,
                 title: str | None = None) -> None:
        self.flow = flow
        self.voice = voice
        self.on_change = on_change
        self.title = title or TITLES[flow.phase]
        self.message = ""

    def start(self, t_s: float) -> None:
        self._handle(self.flow.start(t_s), t_s)

    def update(self, key_code: int | None, t_s: float) -> bool:
        """One polled key code (or None) at t_s; True while the flow still runs."""
        if self.voice is not None:
            self.voice.tick(t_s)
        self._handle(self.flow.update(checkin_key(key_code), t_s), t_s)
        return not self.flow.done

    def _handle(self, events: list, t_s: float) -> None:
        if self.flow.answers_changed and self.on_change is not None:
            self.flow.answers_changed = False
            self.on_change(self.flow)  # written through before anything is said
        for event in events:
            if isinstance(event, Asked):
                self._say(event.question.speech, QUESTION_PRIORITY, t_s + 15.0, "checkin")
            elif isinstance(event, Rejected):
                self._say(event.text, QUESTION_PRIORITY, t_s + 6.0, "checkin")
            elif isinstance(event, Stopped):
                self.message = event.decision.message
                self._say(event.decision.message, STOP_PRIORITY, None, "stop")

    def _say(self, text: str, priority: int, expires_t_s: float | None, kind: str) -> None:
        if self.voice is not None:
            self.voice.say(text, priority=priority, expires_t_s=expires_t_s, kind=kind)

    def view(self, t_s: float) -> PromptView:
        flow = self.flow
        if flow.stop is not None:
            return stop_view(flow.stop.shown, flow.stop.message)
        q = flow.current
        if q is None:
            return PromptView(self.title, "Thank you.")
        left = flow.time_left_s(t_s)
        options = tuple(f"{o.key}  {o.label}" for o in q.options)
        if q.kind == "choice" and q.none_label:
            options += (f"N  {q.none_label[0].upper()}{q.none_label[1:]}",)
        if q.kind == "yes_no":
            options = ("Y  yes", "N  no")
        return PromptView(
            title=self.title, question=q.text, options=options, typed=flow.typed,
            input_box=q.kind == "number", hint=f"{q.hint()}   {HINT_SKIP[flow.phase]}",
            feedback=flow.feedback,
            time_left=None if left is None or flow.budget_s is None else left / flow.budget_s)


def stop_view(shown: str, message: str) -> PromptView:
    return PromptView("STOP", shown, hint=message, severity="danger")


# -- drawing -----------------------------------------------------------------------------
FONT = cv2.FONT_HERSHEY_DUPLEX
WHITE, GREY, AMBER, RED, GREEN = (255, 255, 255), (190, 190, 190), (0, 190, 255), (60, 60, 235), (80, 220, 80)


def _put(img: np.ndarray, text: str, x: int, y: int, scale: float, color, thick: int) -> None:
    """Text with a dark outline, readable on any picture."""
    cv2.putText(img, text, (x, y), FONT, scale, (0, 0, 0), thick + 3, cv2.LINE_AA)
    cv2.putText(img, text, (x, y), FONT, scale, color, thick, cv2.LINE_AA)


def _fits(scale: float, thick: int, width_px: int):
    return lambda line: cv2.getTextSize(line, FONT, scale, thick)[0][0] <= width_px


def _wrap(text: str, scale: float, thick: int, width_px: int) -> list[str]:
    """Greedy word wrap by the rendered width of each line."""
    return greedy_lines(text.split(), _fits(scale, thick, width_px))


def _pack(parts: list[str], scale: float, thick: int, width_px: int) -> list[str]:
    """Whole hint parts ("Enter: skip question") per line, three spaces apart, wrapped only if one is too long."""
    fits = _fits(scale, thick, width_px)
    lines = greedy_lines((p.strip() for p in parts if p.strip()), fits, sep="   ")
    return [w for line in lines for w in ([line] if fits(line) else _wrap(line, scale, thick, width_px))]


def draw_prompt(frame_bgr: np.ndarray, view: PromptView, *, mirror: bool = True, big: bool = False) -> np.ndarray:
    """The picture (mirrored like the overlay), dimmed, with the question in a panel over it."""
    img = cv2.flip(frame_bgr, 1) if mirror else frame_bgr.copy()
    h, w = img.shape[:2]
    s = h / 480.0 * (1.4 if big else 1.0)
    margin = int(24 * s)
    cv2.convertScaleAbs(img, dst=img, alpha=0.45, beta=0)
    x0, x1 = margin, w - margin
    text_w = x1 - x0 - 2 * margin
    title_color = RED if view.severity == "danger" else AMBER
    y = margin + int(34 * s)
    _put(img, view.title, x0 + margin, y, 1.0 * s, title_color, max(1, int(2 * s)))
    y += int(14 * s)
    if view.time_left is not None:
        bar_w = int((x1 - x0 - 2 * margin) * max(0.0, min(1.0, view.time_left)))
        cv2.rectangle(img, (x0 + margin, y), (x0 + margin + bar_w, y + max(2, int(4 * s))), GREY, -1)
    y += int(30 * s)
    q_scale = 0.85 * s
    for line in _wrap(view.question, q_scale, max(1, int(2 * s)), text_w):
        _put(img, line, x0 + margin, y, q_scale, RED if view.severity == "danger" else WHITE,
             max(1, int(2 * s)))
        y += int(34 * s)
    o_scale = 0.7 * s
    for option in view.options:
        y += int(4 * s)
        key, _, label = option.partition("  ")
        indent = x0 + 2 * margin + int(34 * s)
        _put(img, key, x0 + 2 * margin, y, o_scale, AMBER, max(1, int(1.5 * s)))
        for k, line in enumerate(_wrap(label, o_scale, max(1, int(1.5 * s)), x1 - indent - margin)):
            y += int(26 * s) if k else 0
            _put(img, line, indent, y, o_scale, WHITE, max(1, int(1.5 * s)))
        y += int(26 * s)
    if view.input_box:
        y += int(8 * s)
        box_h = int(44 * s)
        cv2.rectangle(img, (x0 + 2 * margin, y), (x0 + 2 * margin + int(140 * s), y + box_h), WHITE,
                      max(1, int(2 * s)))
        _put(img, view.typed + "_", x0 + 2 * margin + int(12 * s), y + box_h - int(12 * s), 1.0 * s, WHITE,
             max(1, int(2 * s)))
        y += box_h + int(30 * s)
    if view.feedback:
        _put(img, view.feedback, x0 + margin, y, 0.6 * s, AMBER, max(1, int(1.5 * s)))
        y += int(28 * s)
    hint_scale = 0.55 * s
    hint_lines = _pack(view.hint.split("   "), hint_scale, 1, text_w)
    y_hint = max(y + int(10 * s), h - margin - int(24 * s) * len(hint_lines))
    for line in hint_lines:
        _put(img, line, x0 + margin, y_hint, hint_scale, GREY if view.severity != "danger" else WHITE, 1)
        y_hint += int(24 * s)
    return img


def save_diary_answers(values: dict[str, Any], today: date) -> dict[str, Any] | None:
    """Store the diary form's answers (nothing without the number of headaches); what was saved, or None."""
    from neckcoach.io.history import DiaryEntry, put_diary

    if values.get("headaches") is None:
        return None
    day = today - timedelta(days=1) if values.get("day") == "yesterday" else today
    count = int(values["headaches"])
    entry = DiaryEntry(day=day, headaches=count, worst=values.get("worst") if count else None,
                       hours=values.get("hours") if count else None, medication=values.get("medication"))
    replaced = put_diary(entry)
    return {"day": day.isoformat(), "replaced": replaced, "summary": entry.summary()}


__all__ = ["CheckinOptions", "PromptRun", "PromptView", "draw_prompt", "save_diary_answers", "stop_view"]
