"""Routine model semantics, schema freshness and YAML round trips."""

from __future__ import annotations

import json

import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from neckcoach.cli.cmd_routine import routine_schema
from neckcoach.routine import Exercise, Ranges, Routine, load_routine, routine_from_text
from tests.conftest import ROUTINES


def test_schema_file_is_current():
    on_disk = json.loads((ROUTINES / "schema.json").read_text())
    assert on_disk == routine_schema(), "run: neckcoach schema > neckcoach/routines/schema.json"


def test_bundled_routines_reference_schema_and_say_what_they_are_for():
    for path in ROUTINES.glob("*.yaml"):
        text = path.read_text()
        assert text.startswith("# yaml-language-server: $schema=./schema.json\n"), path
        assert text.splitlines()[1].startswith("# "), f"{path}: say in a comment what it is for"


def test_directions_signs_and_targets():
    rot = Exercise(id="r", name="R", movement="rotation", reps=4, target_fraction=0.5)
    assert rot.resolved_sides == "alternate" and rot.directions() == ["left", "right"]
    assert rot.axis == "yaw" and rot.sign("left") == 1 and rot.sign("right") == -1
    assert rot.target_value("left", Ranges(rotation_deg=80)) == 40.0
    fe = Exercise(id="f", name="F", movement="flexion_extension", reps=4, target_fraction=0.5)
    assert fe.directions() == ["flexion", "extension"]
    assert fe.target_value("flexion") == 25.0 and fe.target_value("extension") == 30.0
    tuck = Exercise(id="t", name="T", movement="retraction", reps=4, target_mm=12)
    assert tuck.axis == "retraction" and tuck.directions() == ["back"] and tuck.unit == "mm"
    both = Exercise(id="b", name="B", movement="side_bend", sides="both", reps=5, sets=2, target_deg=20)
    assert both.reps_target() == 20


def test_sides_must_fit_movement():
    for movement, sides in [("retraction", "left"), ("chin_nod", "alternate"), ("flexion_extension", "left")]:
        kwargs = {"target_mm": 10} if movement == "retraction" else {"target_deg": 10}
        try:
            Exercise(id="x", name="X", movement=movement, sides=sides, reps=3, **kwargs)
        except ValidationError as exc:
            assert "sides" in str(exc)
        else:
            raise AssertionError(f"{movement} with sides={sides} accepted")


def test_bundled_programme_loads():
    r = load_routine(ROUTINES / "headache_programme.yaml")
    assert [e.movement for e in r.exercises] == ["chin_nod", "retraction", "rotation", "side_bend"]
    assert 300 < r.estimated_duration_s() < 900


# Printable text: the schema refuses control characters and YAML line breaks.
_line = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), max_codepoint=0x2FFF),
                min_size=1, max_size=30).map(str.strip).filter(bool)

_exercise = st.fixed_dictionaries(
    {
        "id": st.from_regex(r"[a-z][a-z0-9_-]{0,10}", fullmatch=True),
        "name": _line,
        "movement": st.sampled_from(["rotation", "side_bend", "flexion", "extension", "flexion_extension", "chin_nod"]),
        "reps": st.integers(1, 50),
        "sets": st.integers(1, 10),
        "rest_s": st.floats(0, 600, allow_nan=False),
        "target_deg": st.floats(1, 25, allow_nan=False),
        "hold_s": st.floats(0, 10, allow_nan=False),
        "tempo_s": st.floats(12, 120, allow_nan=False),
        "max_speed_deg_s": st.floats(20, 400, allow_nan=False),
    },
    optional={"max_deg": st.floats(26, 90, allow_nan=False), "instructions": _line},
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=_line, exercises=st.lists(_exercise, min_size=1, max_size=4))
def test_any_accepted_routine_round_trips_through_yaml(title, exercises):
    for i, ex in enumerate(exercises):
        ex["id"] = f"{ex['id']}-{i}"
        if ex["movement"] == "flexion_extension":
            ex["sides"] = "both"
    try:
        routine = Routine.model_validate({"title": title, "exercises": exercises})
    except ValidationError:
        assume(False)
        return
    text = yaml.safe_dump(routine.model_dump(mode="json", exclude_none=True), allow_unicode=True, sort_keys=False)
    assert routine_from_text(text, "roundtrip.yaml") == routine
