"""Cue policy: priority, per-kind rate limits, staleness, routine texts."""

from __future__ import annotations

import pytest

from neckcoach.core import events as ev
from neckcoach.core.cues import PRIORITY, CuePolicy, category
from neckcoach.core.events import Event


def E(t, kind, **kw):
    return Event(t_s=t, kind=kind, exercise_id="rot", **kw)


def test_priority_order_safety_form_guidance_encouragement():
    p = CuePolicy()
    p.update([E(1.0, ev.REP, data={"count": 3}), E(1.0, ev.COUNT_IN, message="2"),
              E(1.0, ev.ALMOST, message="Almost"), E(1.0, ev.JERK, message="Careful", magnitude=120.0, unit="deg/s")])
    order = [c.kind for c in p.pending(1.0)]
    assert order == [ev.JERK, ev.ALMOST, ev.COUNT_IN, ev.REP]
    assert [category(k) for k in order] == ["safety", "form", "guidance", "encouragement"]
    assert PRIORITY["safety"] > PRIORITY["form"] > PRIORITY["guidance"] > PRIORITY["encouragement"]
    first = p.next_cue(1.0)
    assert first.kind == ev.JERK and first.severity == "danger" and first.speech == "Careful"
    assert "120" in first.text


def test_rate_limit_per_kind_is_time_based():
    p = CuePolicy(rate_limits_s={ev.TOO_FAST: 4.0})
    said = []
    for i in range(100):  # one warning per frame for 10 s at 10 fps
        t = i * 0.1
        said += p.update([E(t, ev.TOO_FAST, message="Slowly")])
    assert [round(c.t_s, 1) for c in said] == [0.0, 4.0, 8.0]
    # Another kind is not held back by the too_fast limit.
    assert p.update([E(8.05, ev.JERK, message="Careful")])


def test_cues_expire():
    p = CuePolicy()
    p.update([E(0.0, ev.JERK, message="Careful")])
    (cue,) = p.pending(0.5)
    assert not cue.is_stale(1.0) and cue.is_stale(cue.expires_t_s)
    assert p.next_cue(5.0) is None  # the movement is long over


def test_cleared_condition_makes_cue_stale():
    p = CuePolicy()
    p.update([E(0.0, ev.FACE_LOST, message="I can't see your face.")])
    (lost,) = p.pending(0.1)
    p.update([E(0.6, ev.RESUMED, message="Let's continue.")])
    assert lost.is_stale(0.7)
    assert [c.kind for c in p.pending(0.7)] == [ev.RESUMED]


def test_newer_countdown_supersedes_older():
    p = CuePolicy()
    p.update([E(0.0, ev.REST_COUNTDOWN, message="3")])
    p.update([E(0.5, ev.REST_COUNTDOWN, message="2")])
    assert [c.speech for c in p.pending(0.5)] == ["2"]


def test_rep_count_spoken_short_and_silent_kinds_not_queued():
    p = CuePolicy()
    new = p.update([E(2.0, ev.REP_START), E(3.0, ev.REP, message="4", data={"count": 4})])
    assert {c.kind for c in new} == {ev.REP_START, ev.REP}
    (rep,) = p.pending(3.0)
    assert rep.speech == "4" and rep.text == "Rep 4" and rep.severity == "success"


def test_default_text_when_event_has_none():
    p = CuePolicy()
    (cue,) = p.update([E(0.0, ev.COMPENSATION)])
    assert "shoulders" in cue.speech


@pytest.mark.parametrize("opt", ["rate_limits_s", "lifetimes_s"])
def test_invalid_options(opt):
    with pytest.raises(ValueError, match=opt):
        CuePolicy(**{opt: {ev.JERK: -1.0}})


@pytest.mark.parametrize("second,dt,axis,spoken", [
    (ev.TOO_FAST, 0.13, "yaw", [ev.JERK]),  # the demo's flick: one movement, one warning said
    (ev.TOO_FAST, 0.13, "pitch", [ev.JERK, ev.TOO_FAST]),  # another axis: another movement
    (ev.TOO_FAST, 1.5, "yaw", [ev.JERK, ev.TOO_FAST]),  # later: a rushed movement of its own
])
def test_a_too_fast_about_a_jolt_already_said_is_shown_not_said(second, dt, axis, spoken):
    p = CuePolicy()
    said, shown = [], []
    for t, kind, ax in ((1.0, ev.JERK, "yaw"), (1.0 + dt, second, axis)):
        shown += p.update([E(t, kind, data={"axis": ax})])
        cue = p.next_cue(t)  # the voice is free: says what is queued at once
        said += [cue.kind] if cue else []
    assert said == spoken
    assert [c.kind for c in shown] == [ev.JERK, second]  # the overlay (and the record) keep both


def test_a_jolt_drops_a_too_fast_of_the_same_movement_not_yet_said():
    p = CuePolicy()
    p.update([E(1.0, ev.TOO_FAST, data={"axis": "roll"}), E(1.1, ev.JERK, data={"axis": "roll"})])
    assert [c.kind for c in p.pending(1.1)] == [ev.JERK]


def test_hold_taken_up_again_in_the_same_rep_is_shown_but_said_again_only_after_a_while():
    """Seed 600569: jitter carried a held chin tuck across the band's edge, and "Hold." was said
    65 times in the session. The next rep's hold is said whenever it comes."""
    from neckcoach.core.cues import SAME_REP_QUIET_S

    quiet = SAME_REP_QUIET_S[ev.HOLD]
    p = CuePolicy()
    spoken, shown = [], []
    for t, rep in ((0.0, 1), (0.4, 1), (1.5, 1), (quiet + 0.1, 1), (quiet + 0.3, 1), (quiet + 1.0, 2)):
        shown += p.update([E(t, ev.HOLD, rep=rep)])
        cue = p.next_cue(t)
        if cue is not None:
            spoken.append((cue.t_s, cue.rep))
    assert spoken == [(0.0, 1), (quiet + 0.1, 1), (quiet + 1.0, 2)]
    assert len(shown) == 6
