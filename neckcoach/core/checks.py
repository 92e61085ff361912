"""Eager argument checks shared by the core stages (and the virtual patient).

One message format everywhere: the argument's name, its allowed range and the
value received, so a bad option fails where it is set, not frames later.
"""

from __future__ import annotations

import numbers


def check_range(name: str, value, lo: float, hi: float, *, lo_open: bool = False) -> float:
    """`value` as a float if it is a real number within [lo, hi] ((lo, hi] with `lo_open`)."""
    inside = isinstance(value, numbers.Real) and not isinstance(value, bool) and (
        lo < value <= hi if lo_open else lo <= value <= hi)
    if not inside:
        raise ValueError(f"{name} must be in {'(' if lo_open else '['}{lo}, {hi}], got {value!r}")
    return float(value)
