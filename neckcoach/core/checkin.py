"""Check-ins as a pure state machine: a few questions answered by keys, with a time budget.

Before and after a session the patient gives neck pain now (0-10), whether a
headache is present and whether they have any stop symptom; during the session
the stop key opens the same symptom list. A stop-rule "yes" ends the flow at
once with a plain instruction. The same machine runs the headache diary form.

Pure: no clock (time is passed in), no window, no voice. Keys arrive as names
(`KEY_NAMES`, mapped from key codes in neckcoach/io/keys.py); the edge speaks
and shows the question each `Asked` event names and stores each answer as it
comes (`answers_changed`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Literal, Mapping, Sequence, Union

from neckcoach.core.checks import check_range

# Issue 17's target: a check-in adds at most 20 s to a session. Three questions
# answered by one or two keys each take 5-10 s, spoken prompts included.
CHECKIN_BUDGET_S = 20.0
DIGITS = tuple("0123456789")
KEY_NAMES = frozenset({*DIGITS, ".", "y", "n", "enter", "backspace", "skip_all"})
Phase = Literal["before", "during", "after", "diary"]
QuestionKind = Literal["number", "yes_no", "choice"]


@dataclass(frozen=True)
class Option:
    """One numbered answer of a choice question."""

    id: str
    label: str
    key: str


@dataclass(frozen=True)
class Question:
    """One question: shown as `text`, spoken as `speech`.

    number: digits (and "." when `decimals`) then Enter, within [low, high].
    yes_no: Y or N. choice: an option's digit, or N / 0 for `none_label`.
    Enter on nothing typed skips the question; `only_if` (on the answers so
    far) leaves a question out when it does not apply.
    """

    id: str
    text: str
    speech: str
    kind: QuestionKind
    low: float = 0.0
    high: float = 10.0
    decimals: int = 0
    options: tuple[Option, ...] = ()
    none_label: str = ""
    only_if: Callable[[Mapping[str, Any]], bool] | None = None

    def hint(self) -> str:
        if self.kind == "number":
            return f"Type a number from {self.low:g} to {self.high:g}, then Enter"
        if self.kind == "yes_no":
            return "Y: yes   N: no"
        return "Press the number" + (f"   N: {self.none_label}" if self.none_label else "")


@dataclass
class Answer:
    """What became of one question: answered (by a key or a flag), skipped, timed out, not asked."""

    id: str
    value: Any = None
    status: Literal["answered", "skipped", "timed_out", "not_asked", "not_needed"] = "not_asked"
    source: Literal["key", "flag", ""] = ""
    t_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "value": self.value, "status": self.status, "source": self.source,
                "t_s": None if self.t_s is None else round(self.t_s, 3)}


@dataclass(frozen=True)
class StopDecision:
    """A stop rule answered yes: which, when, and what the patient is told to do."""

    rule: str
    phase: str
    t_s: float
    detail: str
    message: str
    shown: str

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "phase": self.phase, "t_s": round(self.t_s, 3),
                "detail": self.detail, "message": self.message}


@dataclass(frozen=True)
class StopRules:
    """The routine's stop rules: symptoms the patient names, and a pain rise in points."""

    symptoms: tuple[tuple[str, str], ...] = ()
    pain_rise_points: int | None = None

    def __post_init__(self) -> None:
        if self.pain_rise_points is not None:
            check_range("pain_rise_points", self.pain_rise_points, 1, 10)
        if len(self.symptoms) + (self.pain_rise_points is not None) > 9:
            raise ValueError(f"at most 9 stop rules fit on the number keys, got {len(self.symptoms)} "
                             "symptoms and a pain rise")

    @classmethod
    def of(cls, routine: Any) -> "StopRules":
        """The routine's stop rules (none for a routine object without them, e.g. a test stand-in)."""
        symptoms = getattr(routine, "stop_symptoms", None)
        return cls(tuple(symptoms()) if callable(symptoms) else (), getattr(routine, "pain_rise_stop", None))

    @property
    def ids(self) -> list[str]:
        return [s for s, _ in self.symptoms] + (["pain_rise"] if self.pain_rise_points else [])

    def label(self, rule: str) -> str:
        return dict(self.symptoms).get(rule, rule.replace("_", " "))


# -- the flow ----------------------------------------------------------------------

@dataclass(frozen=True)
class Asked:
    question: Question
    t_s: float


@dataclass(frozen=True)
class Rejected:
    """A key that does not fit (a number out of range): say what does."""

    text: str
    t_s: float


@dataclass(frozen=True)
class Stopped:
    decision: StopDecision


@dataclass(frozen=True)
class Finished:
    status: str
    t_s: float


Event = Union[Asked, Rejected, Stopped, Finished]  # a run-time alias: `|` between classes needs Python 3.10


class CheckIn:
    """Asks `questions` in order; `update(key, t_s)` feeds one key name (or None) at time t_s.

    budget_s: the whole flow ends (`timed_out`) when this long has passed,
    answered or not. idle_s: it also ends when one question waits this long
    without a key. `given` answers questions without asking them (command-line
    flags). `baseline_pain` is the pain given at the start of the session, for
    the pain-rise rule.
    """

    def __init__(self, phase: Phase, questions: Sequence[Question], *, rules: StopRules | None = None,
                 budget_s: float | None = CHECKIN_BUDGET_S, idle_s: float | None = None,
                 given: Mapping[str, Any] | None = None, baseline_pain: float | None = None) -> None:
        if phase not in ("before", "during", "after", "diary"):
            raise ValueError(f"phase must be before, during, after or diary, got {phase!r}")
        if budget_s is not None:
            check_range("budget_s", budget_s, 0.0, 600.0, lo_open=True)
        if idle_s is not None:
            check_range("idle_s", idle_s, 0.0, 600.0, lo_open=True)
        ids = [q.id for q in questions]
        if len(set(ids)) != len(ids):
            raise ValueError(f"question ids must be unique, got {ids}")
        unknown = set(given or {}) - set(ids)
        if unknown:
            raise ValueError(f"given answers for questions that are not asked: {sorted(unknown)}")
        if baseline_pain is not None:
            check_range("baseline_pain", baseline_pain, 0, 10)
        self.phase = phase
        self.questions = tuple(questions)
        self.rules = rules or StopRules()
        self.budget_s = budget_s
        self.idle_s = idle_s
        self.given = dict(given or {})
        self.baseline_pain = baseline_pain
        self.reset()

    def reset(self) -> None:
        self.answers: dict[str, Answer] = {q.id: Answer(q.id) for q in self.questions}
        self.index = -1
        self.typed = ""
        self.feedback = ""
        self.stop: StopDecision | None = None
        self.status: str | None = None
        self.started_t_s: float | None = None
        self.ended_t_s: float | None = None
        self._asked_t_s: float | None = None
        self.answers_changed = False
        self.note = ""

    # -- reading -----------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.status is not None

    @property
    def current(self) -> Question | None:
        if self.done or not 0 <= self.index < len(self.questions):
            return None
        return self.questions[self.index]

    def values(self) -> dict[str, Any]:
        return {a.id: a.value for a in self.answers.values() if a.status == "answered"}

    def time_left_s(self, t_s: float) -> float | None:
        if self.budget_s is None or self.started_t_s is None:
            return None
        return max(0.0, self.budget_s - (t_s - self.started_t_s))

    def stop_rule_answers(self) -> dict[str, bool | None]:
        """Every stop rule with the patient's answer: True, False or None (not known)."""
        out: dict[str, bool | None] = {rule: None for rule in self.rules.ids}
        for qid in ("symptoms", "symptoms_now"):
            answer = self.answers.get(qid)
            if answer is None or answer.status != "answered":
                continue
            if answer.value == "none":
                for rule in out:
                    if rule != "pain_rise" or qid == "symptoms_now":
                        out[rule] = False
            elif answer.value in out:
                out[answer.value] = True
        rise = self.pain_rise()
        if "pain_rise" in out and rise is not None and self.phase != "before":
            out["pain_rise"] = rise >= self.rules.pain_rise_points
        if self.stop is not None and self.stop.rule in out:
            out[self.stop.rule] = True
        return out

    def pain_rise(self) -> float | None:
        pain = self.answers.get("pain")
        if pain is None or pain.status != "answered" or self.baseline_pain is None:
            return None
        return float(pain.value) - float(self.baseline_pain)

    def result(self) -> dict[str, Any]:
        """The record of this flow, as stored in session.json and the history."""
        values = self.values()
        end = self.ended_t_s
        sources = {a.source for a in self.answers.values() if a.status == "answered"}
        return {
            "phase": self.phase,
            "status": self.status or "in_progress",
            "source": "+".join(sorted(sources)) if sources else "",
            "t_s": None if self.started_t_s is None else round(self.started_t_s, 3),
            "duration_s": None if end is None or self.started_t_s is None
            else round(end - self.started_t_s, 3),
            "pain_0_10": values.get("pain"),
            "headache": values.get("headache"),
            "baseline_pain_0_10": self.baseline_pain,
            "stop_rules": self.stop_rule_answers(),
            "stop": None if self.stop is None else self.stop.to_dict(),
            "answers": [self.answers[q.id].to_dict() for q in self.questions],
            "note": self.note,
        }

    # -- driving -----------------------------------------------------------------------
    def start(self, t_s: float) -> list[Event]:
        """Answer what was given, then ask the first question that needs asking."""
        if self.started_t_s is not None:
            raise RuntimeError("this check-in has already started; reset() to start again")
        self.started_t_s = float(t_s)
        out: list[Event] = []
        given = [q for q in self.questions if self.given.get(q.id) is not None]
        for q in given:  # all recorded first: a stop from one must not drop the others
            self.answers[q.id] = Answer(q.id, self._validate_given(q, self.given[q.id]), "answered", "flag", t_s)
            self.answers_changed = True
        for q in given:
            self._check_stop(q, t_s, out)
            if self.done:
                return out
        self._advance(t_s, out)
        return out

    def update(self, key: str | None, t_s: float) -> list[Event]:
        """One key name (or None: time passing) at t_s; returns what happened."""
        if key is not None and key not in KEY_NAMES:
            raise ValueError(f"key must be one of {sorted(KEY_NAMES)} or None, got {key!r}")
        if self.started_t_s is None:
            raise RuntimeError("call start(t_s) before update()")
        out: list[Event] = []
        if self.done:
            return out
        if self._out_of_time(t_s):
            self._finish("timed_out", t_s, out, pending="timed_out")
            return out
        q = self.current
        if key is None or q is None:
            return out
        if key == "skip_all":
            self._finish("skipped", t_s, out, pending="skipped")
            return out
        if key == "enter" and not self.typed:
            self.answers[q.id] = Answer(q.id, None, "skipped", "key", t_s)
            self.answers_changed = True
            self._check_stop(q, t_s, out)
            if not self.done:
                self._next(t_s, out)
            return out
        handler = {"number": self._number_key, "yes_no": self._yes_no_key,
                   "choice": self._choice_key}[q.kind]
        value = handler(q, key, t_s, out)
        if value is not None:
            self.answers[q.id] = Answer(q.id, value, "answered", "key", t_s)
            self.answers_changed = True
            self.typed = ""
            self._check_stop(q, t_s, out)
            if not self.done:
                self._next(t_s, out)
        return out

    def end(self, t_s: float, note: str = "") -> list[Event]:
        """End the flow from outside (no window to ask in, the session interrupted); says why in `note`."""
        if self.started_t_s is None:
            self.start(t_s)
        out: list[Event] = []
        if self.done:
            return out
        self.note = note
        answered = any(a.status == "answered" for a in self.answers.values())
        self._finish("partial" if answered else "not_asked", t_s, out, pending="not_asked")
        return out

    # -- keys per kind -----------------------------------------------------------------
    def _number_key(self, q: Question, key: str, t_s: float, out: list[Event]) -> Any:
        if key == "backspace":
            self.typed = self.typed[:-1]
            return None
        if key in DIGITS or (key == "." and q.decimals and "." not in self.typed):
            candidate = self.typed + key
            whole, _, frac = candidate.partition(".")
            if len(frac) > q.decimals or (whole and float(whole) > q.high) or len(candidate) > 6:
                self._reject(q, t_s, out)
                return None
            self.typed = candidate
            self.feedback = ""
            return None
        if key == "enter":
            try:
                value = float(self.typed)
            except ValueError:
                self.typed = ""
                self._reject(q, t_s, out)
                return None
            if not q.low <= value <= q.high:
                self.typed = ""
                self._reject(q, t_s, out)
                return None
            return int(value) if q.decimals == 0 else round(value, q.decimals)
        self._reject(q, t_s, out)
        return None

    def _yes_no_key(self, q: Question, key: str, t_s: float, out: list[Event]) -> Any:
        if key in ("y", "n"):
            return key == "y"
        if key != "backspace":
            self._reject(q, t_s, out)
        return None

    def _choice_key(self, q: Question, key: str, t_s: float, out: list[Event]) -> Any:
        for option in q.options:
            if option.key == key:
                return option.id
        if q.none_label and key in ("n", "0"):
            return "none"
        if key != "backspace":
            self._reject(q, t_s, out)
        return None

    def _reject(self, q: Question, t_s: float, out: list[Event]) -> None:
        self.feedback = q.hint()
        out.append(Rejected(self.feedback, t_s))

    def _validate_given(self, q: Question, value: Any) -> Any:
        if q.kind == "yes_no":
            if not isinstance(value, bool):
                raise ValueError(f"the answer to {q.id!r} must be True or False, got {value!r}")
            return value
        if q.kind == "number":
            return check_range(q.id, value, q.low, q.high) if q.decimals else int(
                check_range(q.id, value, q.low, q.high))
        allowed = [o.id for o in q.options] + (["none"] if q.none_label else [])
        if value not in allowed:
            raise ValueError(f"the answer to {q.id!r} must be one of {allowed}, got {value!r}")
        return value

    # -- flow --------------------------------------------------------------------------
    def _out_of_time(self, t_s: float) -> bool:
        if self.budget_s is not None and t_s - self.started_t_s >= self.budget_s:
            return True
        return self.idle_s is not None and self._asked_t_s is not None and t_s - self._asked_t_s >= self.idle_s

    def _next(self, t_s: float, out: list[Event]) -> None:
        self.typed = ""
        self.feedback = ""
        self._advance(t_s, out)

    def _advance(self, t_s: float, out: list[Event]) -> None:
        """Move to the next question that is neither answered nor left out; finish after the last."""
        while True:
            self.index += 1
            if self.index >= len(self.questions):
                self._finish(self._final_status(), t_s, out)
                return
            q = self.questions[self.index]
            if self.answers[q.id].status == "answered":
                continue
            if q.only_if is not None and not q.only_if(self.values()):
                self.answers[q.id] = Answer(q.id, None, "not_needed", "", t_s)
                continue
            self._asked_t_s = t_s
            out.append(Asked(q, t_s))
            return

    def _final_status(self) -> str:
        statuses = [a.status for a in self.answers.values() if a.status != "not_needed"]
        if statuses and all(s == "answered" for s in statuses):
            return "complete"
        if any(s == "answered" for s in statuses):
            return "partial"
        return "skipped"

    def _finish(self, status: str, t_s: float, out: list[Event], pending: str | None = None) -> None:
        if pending is not None:
            for q in self.questions[max(self.index, 0):]:
                if self.answers[q.id].status == "not_asked":
                    self.answers[q.id] = Answer(q.id, None, pending if q is self.current else "not_asked",
                                                "", t_s if q is self.current else None)
            self.answers_changed = True
            if status == "skipped" and any(a.status == "answered" for a in self.answers.values()):
                status = "partial"
        self.status = status
        self.ended_t_s = float(t_s)
        self.typed = ""
        out.append(Finished(status, t_s))

    # -- stop rules --------------------------------------------------------------------
    def _check_stop(self, q: Question, t_s: float, out: list[Event]) -> None:
        value = self.answers[q.id].value
        decision = None
        if q.id in ("symptoms", "symptoms_now") and value in self.rules.ids and value != "pain_rise":
            decision = symptom_stop(value, self.rules.label(value), self.phase, t_s)
        elif q.id == "pain" and self.rules.pain_rise_points is not None and self.phase != "before":
            # Reported worse on the stop key but no rise can be worked out (no
            # pain at the start, or no number now): stop, to be safe.
            asked_because_worse = self.values().get("symptoms_now") == "pain_rise"
            rise = self.pain_rise()
            if rise is not None and rise >= self.rules.pain_rise_points:
                decision = pain_rise_stop(self.baseline_pain, value, self.phase, t_s)
            elif rise is None and asked_because_worse:
                decision = pain_unknown_stop(value, self.phase, t_s)
        if decision is not None:
            self.stop = decision
            out.append(Stopped(decision))
            self._finish("stopped", t_s, out, pending="not_asked")


def symptom_stop(rule: str, label: str, phase: str, t_s: float) -> StopDecision:
    what = label[0].lower() + label[1:]
    if phase == "after":
        message = (f"You told me about {what} during the exercises. Do not do these exercises again until "
                   "you have spoken to your therapist. If it is severe or does not settle, get medical "
                   "help now.")
    else:
        message = (f"Stop the exercises now. You told me about {what}. Sit down and rest, and contact your "
                   "therapist before you exercise again. If it is severe or does not settle, get medical "
                   "help now.")
    return StopDecision(rule, phase, t_s, label, message,
                        f"STOP: {what}. Rest, and contact your therapist before exercising again.")


def pain_rise_stop(before: float, after: float, phase: str, t_s: float) -> StopDecision:
    detail = f"neck pain {before:g} -> {after:g}"
    message = (f"Your neck pain went up from {before:g} to {after:g}. Stop the exercises for today and "
               "contact your therapist before your next session.")
    return StopDecision("pain_rise", phase, t_s, detail, message,
                        f"STOP: neck pain {before:g} -> {after:g}. Contact your therapist before the next session.")


def pain_unknown_stop(after: float | None, phase: str, t_s: float) -> StopDecision:
    if after is None:
        detail = "neck pain worse, no number given"
        message = ("You said your neck pain is worse. Stop the exercises for today to be safe, and tell "
                   "your therapist.")
    else:
        detail = f"neck pain worse, now {after:g}, no pain given at the start"
        message = ("You said your neck pain is worse, and I do not have your pain from the start to "
                   "compare. Stop the exercises for today to be safe, and tell your therapist.")
    return StopDecision("pain_rise", phase, t_s, detail, message,
                        "STOP: neck pain worse. Stop for today and tell your therapist.")


# -- the questions -----------------------------------------------------------------

def pain_question(speech: str) -> Question:
    return Question("pain", "Neck pain now: 0 (none) to 10 (worst imaginable)?", speech, "number", 0, 10)


def symptom_question(qid: str, rules: StopRules, text: str, speech: str, none_label: str,
                     with_pain: bool) -> Question | None:
    items = list(rules.symptoms) + ([("pain_rise", "More neck pain")] if with_pain else [])
    if not items:
        return None
    options = tuple(Option(rid, label, str(i)) for i, (rid, label) in enumerate(items, start=1))
    return Question(qid, text, speech, "choice", options=options, none_label=none_label)


def session_questions(phase: Literal["before", "after"], rules: StopRules,
                      own: Sequence[tuple[str, str]] = ()) -> list[Question]:
    """Pain, headache, the stop symptoms and the routine's own yes/no questions."""
    if phase == "before":
        questions = [pain_question("Before we start: how bad is your neck pain right now, from 0 to 10? "
                                   "Type a number and press Enter."),
                     Question("headache", "Do you have a headache right now?",
                              "Do you have a headache right now? Press Y or N.", "yes_no")]
        symptoms = symptom_question("symptoms", rules, "Do you have any of these right now?",
                                    "Do you have any of these right now? Press its number, or N for none.",
                                    "none of these", with_pain=False)
    else:
        questions = [pain_question("How bad is your neck pain now, from 0 to 10?"),
                     Question("headache", "Do you have a headache now?",
                              "Do you have a headache now? Press Y or N.", "yes_no")]
        symptoms = symptom_question("symptoms", rules, "During the exercises, did you have any of these?",
                                    "During the exercises, did you have any of these? Press its number, "
                                    "or N for none.", "none of these", with_pain=False)
    if symptoms is not None:
        questions.append(symptoms)
    for qid, text in own:
        questions.append(Question(qid, text, text, "yes_no"))
    return questions


def during_questions(rules: StopRules) -> list[Question]:
    """The stop key's menu: which symptom, and the pain now if it is the pain."""
    menu = symptom_question("symptoms_now", rules, "What do you feel?",
                            "What do you feel? Press its number, or N to carry on.", "nothing, carry on",
                            with_pain=rules.pain_rise_points is not None)
    if menu is None:
        return []
    pain = replace(pain_question("How bad is your neck pain now, from 0 to 10?"),
                   only_if=lambda v: v.get("symptoms_now") == "pain_rise")
    return [menu, pain]


def own_questions(routine: Any, phase: Literal["before", "after"]) -> list[tuple[str, str]]:
    return [(q.id, q.text) for q in getattr(routine, "questions", []) if q.when in (phase, "both")]


# The diary form: one day's headaches, as in a paper headache diary (count,
# worst intensity 0-10, total hours, medication).
MAX_HEADACHES_PER_DAY = 24
DIARY_IDLE_S = 30.0


def diary_questions() -> list[Question]:
    some = lambda v: bool(v.get("headaches"))  # noqa: E731 - a tiny predicate reads best inline
    return [
        Question("day", "Which day is this for?", "Which day is this diary entry for? 1 for today, "
                 "2 for yesterday.", "choice",
                 options=(Option("today", "Today", "1"), Option("yesterday", "Yesterday", "2"))),
        Question("headaches", "How many headaches that day?", "How many headaches did you have that day? "
                 "Type a number and press Enter.", "number", 0, MAX_HEADACHES_PER_DAY),
        Question("worst", "Worst headache: 0 to 10?", "How bad was the worst one, from 0 to 10?",
                 "number", 1, 10, only_if=some),
        Question("hours", "Hours with a headache in total?", "How many hours in total?", "number",
                 0, 24, decimals=1, only_if=some),
        Question("medication", "Did you take medication for it?", "Did you take medication for "
                 "headache? Y or N.", "yes_no"),
    ]


@dataclass
class CheckinPlan:
    """What the check-ins of one session ask and what flags already answered."""

    rules: StopRules = field(default_factory=StopRules)
    before: list[Question] = field(default_factory=list)
    after: list[Question] = field(default_factory=list)
    during: list[Question] = field(default_factory=list)

    @classmethod
    def of(cls, routine: Any) -> "CheckinPlan":
        rules = StopRules.of(routine)
        ask = bool(getattr(routine, "checkin", True))
        return cls(rules=rules,
                   before=session_questions("before", rules, own_questions(routine, "before")) if ask else [],
                   after=session_questions("after", rules, own_questions(routine, "after")) if ask else [],
                   during=during_questions(rules))


__all__ = [
    "Answer", "Asked", "CHECKIN_BUDGET_S", "CheckIn", "CheckinPlan", "Finished", "KEY_NAMES", "Option",
    "Question", "Rejected", "StopDecision", "StopRules", "Stopped", "diary_questions", "during_questions",
    "session_questions",
]
