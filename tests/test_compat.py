"""What keeps NeckCoach the same on Python 3.9-3.12 (also run by .ci/python-versions on each)."""

from __future__ import annotations

import ctypes
import dataclasses
import sys

import pytest

from neckcoach.core.compat import SLOTS
from neckcoach.core.events import Event
from neckcoach.core.samples import Kinematics
from neckcoach.io.platforms import make_pyopengl_compatible


def test_per_frame_records_have_slots_where_python_allows():
    for cls in (Event, Kinematics):
        assert dataclasses.is_dataclass(cls)
        assert hasattr(cls, "__slots__") == (sys.version_info >= (3, 10))
    assert SLOTS == ({"slots": True} if sys.version_info >= (3, 10) else {})


def test_routine_model_reads_its_annotations_here():
    """pydantic evaluates `X | None` at run time; on 3.9 through eval_type_backport."""
    from neckcoach.routine import routine_from_text

    r = routine_from_text("title: t\nexercises:\n  - id: r\n    name: R\n    movement: rotation\n"
                          "    sides: alternate\n    reps: 2\n    target_deg: 40\n", "t.yaml")
    assert r.exercises[0].target_deg == 40 and r.author is None


def test_pyopengl_takes_byref_arguments_on_this_python():
    """The renderer's PyOpenGL (3.1.0, pinned by pyrender) finds a handler for ctypes.byref
    values once adapted, on this Python and under Python 3.12's name for their type."""
    plugins = pytest.importorskip("OpenGL.plugins")
    make_pyopengl_compatible()
    handler = plugins.FormatHandler.by_name("ctypesparameter")
    assert plugins.FormatHandler.match(type(ctypes.byref(ctypes.c_int()))) is handler
    python_312_name = type("CArgObject", (), {"__module__": "_ctypes"})
    before = list(handler.check)
    try:
        make_pyopengl_compatible(python_312_name)
        assert plugins.FormatHandler.match(python_312_name) is handler
        make_pyopengl_compatible(python_312_name)
        assert handler.check.count("_ctypes.CArgObject") == 1
    finally:
        handler.check[:] = before
