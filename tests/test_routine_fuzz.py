"""Fuzz the routine loader: whatever the bytes, only RoutineError comes out, quickly."""

from __future__ import annotations

import time

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neckcoach.routine import RoutineError, load_routine

_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20))
_trees = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=30,
)
_keys = st.sampled_from(["title", "exercises", "id", "name", "movement", "reps", "sets", "target_deg", "target_mm",
                         "hold_s", "tempo_s", "sides", "cues", "voice", "ranges", "max_deg", "rest_s"])
_routine_like = st.fixed_dictionaries({"title": _scalars, "exercises": st.lists(
    st.dictionaries(_keys, _scalars | _trees, max_size=8), max_size=3)})


def _load(tmp_path, data: bytes) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(data)
    started = time.perf_counter()
    try:
        load_routine(path)
    except RoutineError as exc:
        assert exc.problems and all(str(p).startswith(str(path)) for p in exc.problems)
    assert time.perf_counter() - started < 2.0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_random_bytes(tmp_path, data):
    _load(tmp_path, data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=_routine_like)
def test_routine_shaped_yaml(tmp_path, tree):
    _load(tmp_path, yaml.safe_dump(tree, allow_unicode=True).encode("utf-8"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.sampled_from(list("ab:-[]{}&*!|>'\"#%@`,? \n\t0123456789.")), max_size=200))
def test_yaml_punctuation_soup(tmp_path, text):
    _load(tmp_path, text.encode("utf-8"))
