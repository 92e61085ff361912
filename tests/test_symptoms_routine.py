"""Routine fields for symptoms: checkin, questions, stop_if, pain_rise_points, schedule."""

from __future__ import annotations

import pytest

from neckcoach.routine import RoutineError, load_routine, routine_from_text
from neckcoach.routine.model import DEFAULT_STOP_IF, Routine
from tests.conftest import ROUTINES

EXERCISE = "exercises: [{id: a, name: A, movement: chin_nod, reps: 2, target_deg: 5}]\n"


def test_defaults_ask_and_stop_on_the_four_warning_signs():
    r = routine_from_text("title: T\n" + EXERCISE)
    assert r.checkin is True and r.questions == [] and r.schedule is None
    assert r.stop_if == list(DEFAULT_STOP_IF) == ["dizziness", "arm_tingling", "visual_disturbance", "pain_rise"]
    assert r.pain_rise_stop == 2
    assert r.stop_symptoms() == [("dizziness", "Dizziness or light-headedness"),
                                 ("arm_tingling", "Tingling or numbness in your arms"),
                                 ("visual_disturbance", "Blurred, double or flickering vision")]


def test_own_fields():
    r = routine_from_text("""title: T
checkin: false
schedule: {times: 3, per: week}
pain_rise_points: 3
stop_if: [dizziness, pain_rise, {id: nausea, label: Nausea or vomiting}]
questions:
  - {id: slept, text: "Did you sleep well?", when: both}
""" + EXERCISE)
    assert r.checkin is False and r.schedule.per_week == 3 and r.pain_rise_stop == 3
    assert r.stop_symptoms() == [("dizziness", "Dizziness or light-headedness"), ("nausea", "Nausea or vomiting")]
    assert routine_from_text("title: T\nschedule: {times: 2, per: day}\n" + EXERCISE).schedule.per_week == 14
    off = routine_from_text("title: T\nstop_if: []\n" + EXERCISE)
    assert off.stop_symptoms() == [] and off.pain_rise_stop is None


@pytest.mark.parametrize("yaml_text, message", [
    ("stop_if: [dizzy]\n", "<t>:2:11: stop_if[0].symptom: Input should be 'dizziness', 'arm_tingling', "
                           "'visual_disturbance' or 'pain_rise' (got 'dizzy')"),
    ("stop_if: [3]\n", "<t>:2:11: stop_if[0]: a stop rule is dizziness, arm_tingling, visual_disturbance, "
                       "pain_rise or an own symptom with id and label (got 3)"),
    ("stop_if: [{id: nausea}]\n", "<t>:2:11: stop_if[0].own_symptom.label: required key is missing"),
    ("stop_if: [dizziness, dizziness]\n", "<t>:2:10: stop_if: 'dizziness' is listed twice"),
    ("stop_if: [{id: dizziness, label: Dizzy}]\n",
     "<t>:2:10: stop_if: 'dizziness' is a built-in name; give your own symptom another id"),
    ("stop_if: [{id: nausea, label: N}]\nquestions: [{id: nausea, text: Q}]\n",
     "<t>:3:12: questions: the id 'nausea' is already used; choose another"),
    ("questions: [{id: pain, text: How much}]\n", "<t>:2:12: questions: the id 'pain' is already used; "
                                                  "choose another"),
    ("questions: [{id: a, text: A}, {id: b, text: B}, {id: c, text: C}, {id: d, text: D}]\n",
     "<t>:2:12: questions: List should have at most 3 items after validation, not 4"),
    ("schedule: {times: 0, per: day}\n", "<t>:2:19: schedule.times: Input should be greater than or equal to 1 "
                                         "(got 0)"),
    ("schedule: {times: 2, per: month}\n", "<t>:2:27: schedule.per: Input should be 'day' or 'week' (got 'month')"),
    ("pain_rise_points: 0\n", "<t>:2:19: pain_rise_points: Input should be greater than or equal to 1 (got 0)"),
    ("checkin: sometimes\n", "<t>:2:10: checkin: Input should be a valid boolean, unable to interpret input "
                             "(got 'sometimes')"),
])
def test_mistakes_are_located_and_named(yaml_text, message):
    with pytest.raises(RoutineError) as info:
        routine_from_text("title: T\n" + yaml_text + EXERCISE, "<t>")
    assert str(info.value).splitlines()[0] == message


def test_bundled_headache_programme_plans_two_sessions_a_day():
    r = load_routine(ROUTINES / "headache_programme.yaml")
    assert r.schedule.per_week == 14 and r.checkin and r.pain_rise_stop == 2


def test_schema_describes_every_new_field():
    props = Routine.model_json_schema()["properties"]
    for name in ("checkin", "questions", "stop_if", "pain_rise_points", "schedule"):
        assert props[name].get("description"), name
    assert props["stop_if"]["items"]["oneOf"][0]["enum"] == list(DEFAULT_STOP_IF)
