"""Cue policy: which events are worth saying or showing, in what order, and when.

Speech is slow (a short phrase takes ~1 s) and a warning about a movement
that is already over only confuses, so every cue has a priority (safety >
form > guidance > encouragement), a per-kind minimum interval (the same
warning is not repeated every frame of a long episode) and an expiry time;
a cue whose condition has cleared (e.g. "I can't see you" after the face is
back) is cancelled before it is spoken.
"""

from __future__ import annotations

from dataclasses import dataclass

from neckcoach.core import events as ev
from neckcoach.core.compat import SLOTS
from neckcoach.core.events import Event

SAFETY, FORM, GUIDANCE, ENCOURAGEMENT = "safety", "form", "guidance", "encouragement"
PRIORITY = {SAFETY: 3, FORM: 2, GUIDANCE: 1, ENCOURAGEMENT: 0}

# Kinds the person need not hear (the overlay shows the state anyway).
SILENT_KINDS = frozenset({ev.REP_START, ev.AT_TARGET, ev.EXERCISE_SKIPPED})


def category(kind: str) -> str:
    if kind in ev.SAFETY_KINDS:
        return SAFETY
    if kind == ev.RUSHED:
        return GUIDANCE  # a pacing reminder, said gently: never shown as a warning
    if kind in ev.FORM_KINDS or kind in ev.QUALITY_KINDS:
        return FORM
    if kind in ev.ENCOURAGEMENT_KINDS:
        return ENCOURAGEMENT
    return GUIDANCE


# Minimum seconds between two cues of the same kind: long enough not to nag
# during one long episode, short enough that a new episode is still named.
DEFAULT_RATE_LIMITS_S = {
    ev.TOO_FAST: 4.0, ev.JERK: 3.0, ev.OUT_OF_RANGE: 4.0, ev.COMPENSATION: 8.0,
    ev.ALMOST: 6.0, ev.RUSHED: 10.0, ev.WRONG_SIDE: 4.0, ev.HOLD_BROKEN: 4.0, ev.PARTIAL: 4.0,
    **{kind: 5.0 for kind in ev.QUALITY_KINDS},
}

# Minimum seconds between two spoken cues of the same kind about the same rep: a hold let go and
# taken up again a moment later is one hold to the patient. Where jitter moves the reading across
# the band's edge (kinematics seed 600569, a dim room: 1.7 mm of smoothed depth jitter) "Hold." was
# said 65 times in the session, 0.1-2 s apart. Still shown, and said again after this long.
SAME_REP_QUIET_S = {ev.HOLD: 5.0}

# Seconds a cue stays worth saying: a warning about a movement is useless
# once the movement is over; a count-in beat is useless after the next beat.
DEFAULT_LIFETIMES_S = {
    SAFETY: 2.0, FORM: 3.0, GUIDANCE: 3.0, ENCOURAGEMENT: 2.5,
    ev.COUNT_IN: 0.9, ev.GO: 2.0, ev.REST_COUNTDOWN: 0.9, ev.EXERCISE_START: 20.0, ev.REST: 5.0,
    ev.HOLD: 1.5, ev.RELEASE: 1.5, ev.AND_BACK: 1.5, ev.ROUTINE_DONE: 10.0,
    **{kind: 10.0 for kind in ev.QUALITY_KINDS},
}

# An event of the key kind means the conditions behind these cue kinds are over.
CLEARS = {
    ev.RESUMED: ev.QUALITY_KINDS | {ev.PAUSED},
    ev.REP: {ev.ALMOST, ev.HOLD, ev.AND_BACK, ev.RELEASE, ev.REP, ev.HOLD_BROKEN},
    ev.PARTIAL: {ev.ALMOST, ev.HOLD, ev.AND_BACK, ev.RELEASE, ev.HOLD_BROKEN},
    ev.AT_TARGET: {ev.ALMOST},
    ev.RELEASE: {ev.HOLD},
    ev.HOLD_BROKEN: {ev.HOLD},
    ev.GO: {ev.COUNT_IN},
    ev.COUNT_IN: {ev.COUNT_IN},
    ev.REST_COUNTDOWN: {ev.REST_COUNTDOWN},
    ev.EXERCISE_START: ev.FORM_KINDS | {ev.REP, ev.REST, ev.REST_COUNTDOWN, ev.EXERCISE_DONE, ev.SET_DONE},
    ev.PAUSED: ev.FORM_KINDS | {ev.COUNT_IN, ev.GO, ev.HOLD, ev.AND_BACK, ev.RELEASE, ev.REP_START},
}

SEVERITY = {SAFETY: "danger", FORM: "warning", GUIDANCE: "info", ENCOURAGEMENT: "success"}

# One movement, one spoken warning: a flick is often both a jolt and faster than the limit, and
# the monitor names both within a few frames (the demo's 16 deg flick: `jerk`, then `too_fast`
# 0.13 s later), so "Careful! ..." would be followed by "Slowly. ..." about the same movement.
# Within this long of a jolt on the same axis a too-fast is shown and recorded but not said (and
# one not yet said when the jolt comes is dropped): a flick is over within 0.25 s and the speed
# filter settles within ~0.2 s more, so both warnings of one flick fall within half a second.
JOLT_FOLD_S = 1.0

DEFAULT_TEXTS = {
    ev.TOO_FAST: "Slowly. Move more slowly.",
    ev.JERK: "Careful! Smooth and steady, no sudden moves.",
    ev.OUT_OF_RANGE: "That's far enough. Come back a little.",
    ev.COMPENSATION: "Keep your shoulders still, move only your head.",
    ev.ALMOST: "Almost there, a little further if it's comfortable.",
    ev.RUSHED: "Nice and slow: take your time.",
    ev.HOLD: "Hold.",
    ev.RELEASE: "And slowly back.",
    ev.AND_BACK: "And back.",
    ev.PAUSED: "Paused.",
    ev.RESUMED: "Let's continue.",
    ev.ROUTINE_DONE: "Well done!",
}


@dataclass(**SLOTS)
class Cue:
    """One thing to say and show. `speech` is short; `text` is for the overlay."""

    t_s: float
    kind: str
    category: str
    priority: int
    text: str
    speech: str
    severity: str
    expires_t_s: float
    exercise_id: str | None = None
    rep: int | None = None
    cancelled: bool = False
    axis: str | None = None

    def is_stale(self, t_s: float) -> bool:
        """Past its expiry or its condition has cleared: do not say it any more."""
        return self.cancelled or t_s >= self.expires_t_s


class CuePolicy:
    """Turns events into prioritised, rate-limited, expiring cues.

    `update(events)` returns the new cues (for the overlay, which shows the
    latest of each) and queues the spoken ones; `next_cue(t_s)` gives the
    voice the most important non-stale cue.
    """

    def __init__(self, *, rate_limits_s: dict[str, float] | None = None,
                 lifetimes_s: dict[str, float] | None = None, silent_kinds=SILENT_KINDS,
                 max_queue: int = 8):
        self.rate_limits_s = dict(DEFAULT_RATE_LIMITS_S)
        self.lifetimes_s = dict(DEFAULT_LIFETIMES_S)
        for name, given, table in (("rate_limits_s", rate_limits_s, self.rate_limits_s),
                                   ("lifetimes_s", lifetimes_s, self.lifetimes_s)):
            for k, v in (given or {}).items():
                if not 0 <= float(v) <= 3600:
                    raise ValueError(f"{name}[{k!r}] must be in [0, 3600] s, got {v!r}")
                table[k] = float(v)
        if not 1 <= max_queue <= 100:
            raise ValueError(f"max_queue must be in [1, 100], got {max_queue!r}")
        self.silent_kinds = frozenset(silent_kinds)
        self.max_queue = int(max_queue)
        self.reset()

    def reset(self) -> None:
        self._last_t: dict[str, float] = {}
        self._said_for_rep: dict[tuple, float] = {}
        self._jolts: dict[str | None, float] = {}
        self.queue: list[Cue] = []

    def cue_for(self, e: Event) -> Cue:
        cat = category(e.kind)
        life = self.lifetimes_s.get(e.kind, self.lifetimes_s[cat])
        message = e.message or DEFAULT_TEXTS.get(e.kind, e.kind.replace("_", " ").capitalize() + ".")
        text = message
        speech = message
        if e.kind == ev.REP:
            count = e.data.get("count")
            speech = str(count) if count is not None else message
            text = f"Rep {count}" if count is not None else message
        elif e.kind in (ev.TOO_FAST, ev.JERK, ev.OUT_OF_RANGE, ev.COMPENSATION) and e.magnitude is not None:
            text = f"{message} ({e.magnitude:.0f} {e.unit or ''})".replace(" )", ")")
        return Cue(t_s=e.t_s, kind=e.kind, category=cat, priority=PRIORITY[cat], text=text, speech=speech,
                   severity=SEVERITY[cat], expires_t_s=e.t_s + life, exercise_id=e.exercise_id, rep=e.rep,
                   axis=(e.data or {}).get("axis"))

    def update(self, events: list[Event]) -> list[Cue]:
        new: list[Cue] = []
        for e in events:
            cleared = CLEARS.get(e.kind, ())
            for c in self.queue:
                if c.kind in cleared:
                    c.cancelled = True
            last = self._last_t.get(e.kind)
            limit = self.rate_limits_s.get(e.kind, 0.0)
            if last is not None and e.t_s - last < limit:
                continue
            self._last_t[e.kind] = e.t_s
            cue = self.cue_for(e)
            new.append(cue)
            if cue.kind == ev.JERK:
                self._said_jolt(cue)
            if e.kind not in self.silent_kinds and cue.speech and not self._folded(cue) and not self._repeat(e):
                self.queue.append(cue)
        self._prune(events[-1].t_s if events else None)
        return new

    def _repeat(self, e: Event) -> bool:
        """Whether `e` repeats, about the same rep, a cue said less than SAME_REP_QUIET_S ago."""
        quiet = SAME_REP_QUIET_S.get(e.kind)
        if quiet is None or e.rep is None:
            return False
        key = (e.kind, e.exercise_id, e.rep)
        last = self._said_for_rep.get(key)
        if last is not None and e.t_s - last < quiet:
            return True
        self._said_for_rep[key] = e.t_s
        return False

    def _said_jolt(self, jolt: Cue) -> None:
        """Remember a jolt's cue and drop a too-fast of the same movement still waiting to be
        said (see JOLT_FOLD_S)."""
        self._jolts[jolt.axis] = jolt.t_s
        for c in self.queue:
            if c.kind == ev.TOO_FAST and c.axis == jolt.axis and jolt.t_s - c.t_s <= JOLT_FOLD_S:
                c.cancelled = True

    def _folded(self, cue: Cue) -> bool:
        """Whether `cue` is a too-fast about a jolt already said (see JOLT_FOLD_S)."""
        jolt = self._jolts.get(cue.axis)
        return cue.kind == ev.TOO_FAST and jolt is not None and cue.t_s - jolt <= JOLT_FOLD_S

    def _prune(self, t_s: float | None) -> None:
        if t_s is not None:
            self.queue = [c for c in self.queue if not c.is_stale(t_s)]
        if len(self.queue) > self.max_queue:
            self.queue.sort(key=lambda c: (-c.priority, -c.t_s))
            self.queue = self.queue[: self.max_queue]

    def pending(self, t_s: float) -> list[Cue]:
        """Non-stale queued cues, most important (then newest) first."""
        self._prune(t_s)
        return sorted(self.queue, key=lambda c: (-c.priority, -c.t_s))

    def next_cue(self, t_s: float) -> Cue | None:
        """Pop the cue to say now, or None."""
        pending = self.pending(t_s)
        if not pending:
            return None
        cue = pending[0]
        self.queue.remove(cue)
        return cue
