"""The check-in state machine (neckcoach/core/checkin.py): keys in, answers, stops and the 20 s budget out."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neckcoach.core.checkin import (CHECKIN_BUDGET_S, KEY_NAMES, Asked, CheckIn, CheckinPlan, Finished, Rejected,
                                    StopRules, Stopped, diary_questions, during_questions, session_questions)
from neckcoach.routine import load_routine, routine_from_text
from tests.conftest import ROUTINES

RULES = StopRules(symptoms=(("dizziness", "Dizziness or light-headedness"),
                            ("arm_tingling", "Tingling or numbness in your arms"),
                            ("visual_disturbance", "Blurred, double or flickering vision")),
                  pain_rise_points=2)


def run(flow: CheckIn, keys: list[tuple[float, str | None]], start: float = 0.0) -> list:
    events = flow.start(start)
    for t, key in keys:
        events += flow.update(key, t)
    return events


def before() -> CheckIn:
    return CheckIn("before", session_questions("before", RULES), rules=RULES)


# (keys, status, pain, headache, stop rule answers, stop) — each key 0.5 s after the last.
BEFORE_CASES = {
    "all answered": (["3", "enter", "n", "n"], "complete", 3, False,
                     {"dizziness": False, "arm_tingling": False, "visual_disturbance": False, "pain_rise": None},
                     None),
    "ten and a headache": (["1", "0", "enter", "y", "0"], "complete", 10, True,
                           {"dizziness": False, "arm_tingling": False, "visual_disturbance": False,
                            "pain_rise": None}, None),
    "typo corrected": (["7", "backspace", "4", "enter", "n", "n"], "complete", 4, False,
                       {"dizziness": False, "arm_tingling": False, "visual_disturbance": False,
                        "pain_rise": None}, None),
    "dizzy: stops at once": (["2", "enter", "n", "1"], "stopped", 2, False,
                             {"dizziness": True, "arm_tingling": None, "visual_disturbance": None,
                              "pain_rise": None}, "dizziness"),
    "vision: stops": (["enter", "enter", "3"], "stopped", None, None,
                      {"dizziness": None, "arm_tingling": None, "visual_disturbance": True,
                       "pain_rise": None}, "visual_disturbance"),
    "pain skipped": (["enter", "n", "n"], "partial", None, False,
                     {"dizziness": False, "arm_tingling": False, "visual_disturbance": False,
                      "pain_rise": None}, None),
    "Esc skips the rest": (["5", "enter", "skip_all"], "partial", 5, None,
                           {"dizziness": None, "arm_tingling": None, "visual_disturbance": None,
                            "pain_rise": None}, None),
    "Esc at once": (["skip_all"], "skipped", None, None,
                    {"dizziness": None, "arm_tingling": None, "visual_disturbance": None, "pain_rise": None},
                    None),
}


@pytest.mark.parametrize("name", sorted(BEFORE_CASES))
def test_before_check_in_by_keys(name):
    keys, status, pain, headache, rules, stop = BEFORE_CASES[name]
    flow = before()
    events = run(flow, [(0.5 * (i + 1), k) for i, k in enumerate(keys)])
    result = flow.result()
    assert (result["status"], result["pain_0_10"], result["headache"]) == (status, pain, headache)
    assert result["stop_rules"] == rules
    assert (result["stop"] or {}).get("rule") == stop
    assert isinstance(events[-1], Finished) and flow.done
    assert result["duration_s"] == pytest.approx(0.5 * len(keys))
    if stop:
        assert [e for e in events if isinstance(e, Stopped)][0].decision.phase == "before"
        assert "contact your therapist" in result["stop"]["message"]


def test_each_question_is_asked_once_in_order_and_answers_carry_their_time():
    flow = before()
    events = run(flow, [(1.0, "6"), (2.0, "enter"), (3.0, "y"), (4.5, "n")])
    assert [e.question.id for e in events if isinstance(e, Asked)] == ["pain", "headache", "symptoms"]
    assert [(a["id"], a["value"], a["t_s"], a["source"]) for a in flow.result()["answers"]] == [
        ("pain", 6, 2.0, "key"), ("headache", True, 3.0, "key"), ("symptoms", "none", 4.5, "key")]


def test_wrong_keys_are_refused_with_what_fits():
    flow = before()
    events = run(flow, [(0.1, "1"), (0.2, "1"), (0.3, "y")])
    assert [e.text for e in events if isinstance(e, Rejected)] == [
        "Type a number from 0 to 10, then Enter", "Type a number from 0 to 10, then Enter"]
    assert flow.typed == "1" and flow.current.id == "pain"
    events = flow.update("enter", 0.4) + flow.update("5", 0.5)
    assert flow.current.id == "headache" and isinstance(events[-1], Rejected)
    assert events[-1].text == "Y: yes   N: no"


@pytest.mark.parametrize("keys_at", [[], [(3.0, "4")], [(5.0, "4"), (6.0, "enter"), (19.9, "y")]])
def test_no_answer_ends_the_check_in_at_the_budget(keys_at):
    flow = before()
    run(flow, keys_at + [(t / 10, None) for t in range(int(keys_at[-1][0] * 10) + 1 if keys_at else 0, 400)])
    result = flow.result()
    assert result["status"] == "timed_out" and result["duration_s"] == pytest.approx(CHECKIN_BUDGET_S)
    assert [a["status"] for a in result["answers"]][-1] in ("timed_out", "not_asked")


FRAME_S = 1 / 30


@given(st.lists(st.tuples(st.integers(0, 60), st.sampled_from(sorted(KEY_NAMES))), max_size=80))
def test_any_keys_at_any_pace_end_within_the_budget(presses):
    """The issue's target: a check-in adds at most 20 s, whatever is pressed and when.

    As in the frame loop, the flow is updated every frame (30 a second), a key
    on some of them; it ends at the latest on the first frame past 20 s.
    """
    flow = before()
    flow.start(0.0)
    frame = 0
    keys = iter(presses)
    pending = next(keys, None)
    while not flow.done:
        frame += 1
        key = None
        if pending is not None:
            if pending[0] == 0:
                key, pending = pending[1], next(keys, None)
            else:
                pending = (pending[0] - 1, pending[1])
        flow.update(key, frame * FRAME_S)
        assert frame * FRAME_S < CHECKIN_BUDGET_S + 2 * FRAME_S
    assert flow.result()["duration_s"] <= CHECKIN_BUDGET_S + FRAME_S


# -- after the session: pain compared with the start -----------------------------------------
@pytest.mark.parametrize("baseline, keys, stop, rise", [
    (3, ["5", "enter", "n", "n"], "pain_rise", True),     # +2: the default rule
    (3, ["4", "enter", "n", "n"], None, False),           # +1: a wobble
    (6, ["2", "enter", "n", "n"], None, False),           # better
    (None, ["7", "enter", "n", "n"], None, None),         # no start value: no rise to judge
    (2, ["3", "enter", "y", "2"], "arm_tingling", False),
])
def test_after_check_in_pain_rise(baseline, keys, stop, rise):
    flow = CheckIn("after", session_questions("after", RULES), rules=RULES, baseline_pain=baseline)
    run(flow, [(i + 1.0, k) for i, k in enumerate(keys)])
    result = flow.result()
    assert (result["stop"] or {}).get("rule") == stop
    assert result["stop_rules"]["pain_rise"] is rise
    if stop == "pain_rise":
        assert result["stop"]["message"] == ("Your neck pain went up from 3 to 5. Stop the exercises for today "
                                             "and contact your therapist before your next session.")
        assert [a["status"] for a in result["answers"]] == ["answered", "not_asked", "not_asked"]


def test_answers_given_by_flags_are_not_asked_and_can_stop():
    flow = CheckIn("after", session_questions("after", RULES), rules=RULES, baseline_pain=1,
                   given={"pain": 4, "headache": True})
    events = flow.start(0.0)
    assert [type(e) for e in events] == [Stopped, Finished] and flow.stop.rule == "pain_rise"
    assert flow.values() == {"pain": 4, "headache": True}
    assert [(a["id"], a["source"]) for a in flow.result()["answers"]][:1] == [("pain", "flag")]
    quiet = CheckIn("before", session_questions("before", RULES), rules=RULES, given={"pain": 2})
    events = quiet.start(0.0)
    assert [e.question.id for e in events if isinstance(e, Asked)] == ["headache"]
    quiet.end(0.0, "not asked: headless")
    assert quiet.result()["status"] == "partial" and quiet.result()["note"] == "not asked: headless"


def test_flags_out_of_range_are_refused_by_name():
    with pytest.raises(ValueError, match=r"pain must be in \[0, 10\], got 11"):
        CheckIn("before", session_questions("before", RULES), rules=RULES, given={"pain": 11}).start(0.0)
    with pytest.raises(ValueError, match="given answers for questions that are not asked"):
        CheckIn("before", session_questions("before", RULES), rules=RULES, given={"mood": 3})


# -- during the session: the S key -----------------------------------------------------------
@pytest.mark.parametrize("baseline, keys, stop, detail", [
    (None, ["1"], "dizziness", "Dizziness or light-headedness"),
    (2, ["4", "5", "enter"], "pain_rise", "neck pain 2 -> 5"),
    (2, ["4", "3", "enter"], None, None),
    (None, ["4", "3", "enter"], "pain_rise", "neck pain worse, now 3, no pain given at the start"),
    (2, ["4", "enter"], "pain_rise", "neck pain worse, no number given"),
    (2, ["n"], None, None),
    (2, ["enter"], None, None),
])
def test_stop_key_menu(baseline, keys, stop, detail):
    flow = CheckIn("during", during_questions(RULES), rules=RULES, budget_s=None, baseline_pain=baseline)
    run(flow, [(100.0 + i, k) for i, k in enumerate(keys)], start=99.0)
    result = flow.result()
    assert (result["stop"] or {}).get("rule") == stop
    assert (result["stop"] or {}).get("detail") == detail
    if keys == ["n"]:
        assert result["stop_rules"] == {"dizziness": False, "arm_tingling": False, "visual_disturbance": False,
                                        "pain_rise": False}


def test_the_menu_waits_as_long_as_it_takes():
    flow = CheckIn("during", during_questions(RULES), rules=RULES, budget_s=None)
    run(flow, [(3600.0, None)])
    assert not flow.done and flow.current.id == "symptoms_now"


def test_plan_from_routines():
    plan = CheckinPlan.of(load_routine(ROUTINES / "headache_programme.yaml"))
    assert [q.id for q in plan.before] == ["pain", "headache", "symptoms"]
    assert [o.label for o in plan.before[2].options] == [
        "Dizziness or light-headedness", "Tingling or numbness in your arms",
        "Blurred, double or flickering vision"]
    assert [o.key for o in plan.during[0].options] == ["1", "2", "3", "4"]
    assert plan.during[0].options[-1].id == "pain_rise" and plan.rules.pain_rise_points == 2
    own = routine_from_text("""title: T
checkin: false
stop_if: [dizziness, {id: nausea, label: Nausea}]
questions: [{id: slept, text: "Did you sleep well?"}]
exercises: [{id: a, name: A, movement: chin_nod, reps: 2, target_deg: 5}]
""")
    plan = CheckinPlan.of(own)
    assert plan.before == [] and plan.after == []
    assert [o.id for o in plan.during[0].options] == ["dizziness", "nausea"]
    asked = CheckinPlan.of(own.model_copy(update={"checkin": True}))
    assert [q.id for q in asked.before] == ["pain", "headache", "symptoms", "slept"]
    assert [q.id for q in asked.after] == ["pain", "headache", "symptoms"]
    none = CheckinPlan.of(own.model_copy(update={"stop_if": []}))
    assert none.during == [] and none.rules.ids == []


def test_diary_form_leaves_out_what_does_not_apply():
    flow = CheckIn("diary", diary_questions(), budget_s=None, idle_s=30.0)
    run(flow, [(1.0, "1"), (2.0, "0"), (3.0, "enter"), (4.0, "n")])
    assert flow.values() == {"day": "today", "headaches": 0, "medication": False}
    assert [a["status"] for a in flow.result()["answers"]] == [
        "answered", "answered", "not_needed", "not_needed", "answered"]
    flow = CheckIn("diary", diary_questions(), budget_s=None, idle_s=30.0)
    run(flow, [(1.0, "2"), (2.0, "2"), (3.0, "enter"), (4.0, "7"), (5.0, "enter"), (6.0, "3"), (6.5, "."),
               (7.0, "5"), (8.0, "enter"), (9.0, "y")])
    assert flow.values() == {"day": "yesterday", "headaches": 2, "worst": 7, "hours": 3.5, "medication": True}
    idle = CheckIn("diary", diary_questions(), budget_s=None, idle_s=30.0)
    run(idle, [(1.0, "1"), (31.5, None)])
    assert idle.result()["status"] == "timed_out" and idle.values() == {"day": "today"}


def test_constructor_arguments_are_checked_by_name():
    with pytest.raises(ValueError, match="phase must be before, during, after or diary, got 'later'"):
        CheckIn("later", [])
    with pytest.raises(ValueError, match=r"budget_s must be in \(0.0, 600.0\], got 0"):
        CheckIn("before", [], budget_s=0)
    with pytest.raises(ValueError, match=r"baseline_pain must be in \[0, 10\], got 12"):
        CheckIn("after", [], baseline_pain=12)
    with pytest.raises(ValueError, match="key must be one of"):
        flow = before()
        flow.start(0.0)
        flow.update("x", 1.0)
    with pytest.raises(ValueError, match=r"pain_rise_points must be in \[1, 10\], got 0"):
        StopRules(pain_rise_points=0)
