"""How far each reading of a recorded trace can be trusted, split for drawing (issue #14).

A reading the measurement flagged not reliable is a best guess (e.g. followed
points that stuck while the head went on turning), and one flagged a lower
bound says only "at least this far". Drawn in one line with the trusted ones
they read as fact, so a measure's trace is split here into one polyline per
kind, each drawn in its own style, with a gap wherever no face was found.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from neckcoach.core.compat import SLOTS
from neckcoach.core.samples import reliable_field, value_field

TRUSTED, LOWER_BOUND, UNTRUSTED = "trusted", "lower_bound", "untrusted"
KINDS = (TRUSTED, LOWER_BOUND, UNTRUSTED)
"""From most to least trusted: a line between two kinds is drawn as the less trusted one."""
_RANK = {kind: i for i, kind in enumerate(KINDS)}
_BOUND_FIELD = {"yaw": "yaw_lower_bound", "pitch": "pitch_lower_bound"}


def _flag(column: Sequence[Any] | None, k: int) -> bool | None:
    """A 0/1 trace cell as a bool; None where the column or the cell is missing (older records)."""
    if column is None or k >= len(column):
        return None
    try:
        v = float(column[k])
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v != 0.0


def _face(found: Sequence[Any] | None, k: int) -> bool:
    """Whether frame `k` had a face; a blank cell counts as none, a record without the column as all."""
    return found is None or _flag(found, k) is True


def frame_kinds(trace: Mapping[str, Sequence[Any]], axis: str) -> list[str | None]:
    """Per frame of `trace`: TRUSTED, LOWER_BOUND, UNTRUSTED, or None (no face, or no value written).

    A lower bound wins over the reliable flag: the value is a floor either way.
    A record without the per-measure flag falls back to the overall `reliable`
    column, and one without either to trusted, as `measure_reliable` does for
    callers that know less: older records keep drawing as they did.
    """
    t = trace.get("t_s") or []
    values = trace.get(value_field(axis)) or []
    found, overall = trace.get("face_found"), trace.get("reliable")
    per_axis, bound = trace.get(reliable_field(axis)), trace.get(_BOUND_FIELD.get(axis, ""))
    kinds: list[str | None] = []
    for k in range(min(len(t), len(values))):
        v = values[k]
        if not _face(found, k) or v is None or not math.isfinite(float(v)):
            kinds.append(None)
        elif _flag(bound, k):
            kinds.append(LOWER_BOUND)
        else:
            ok = _flag(per_axis, k)
            ok = _flag(overall, k) if ok is None else ok
            kinds.append(UNTRUSTED if ok is False else TRUSTED)
    return kinds


@dataclass(frozen=True, **SLOTS)
class TrustLines:
    """One measure's trace as polylines per kind, ready for `Axes.plot`.

    `lines[kind]` is (times, values) with NaN between pieces, so matplotlib
    leaves a gap there; `dots[kind]` holds readings with no neighbour of their
    own kind (a lone frame makes no line, yet must not vanish).
    """

    lines: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)
    dots: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)

    def kinds_drawn(self) -> list[str]:
        return [k for k in KINDS if self.lines[k][0] or self.dots[k][0]]


def trust_lines(trace: Mapping[str, Sequence[Any]], axis: str) -> TrustLines:
    """Split `axis`'s trace into one polyline per kind (see the module docstring).

    The segment between two frames takes the less trusted kind of its ends, so
    the trusted line joins trusted readings only, and a guess starts from the
    last trusted point instead of leaving a hole. No segment touches a frame
    without a face.
    """
    kinds = frame_kinds(trace, axis)
    t = [float(v) for v in trace.get("t_s", [])[:len(kinds)]]
    y = [float(v) for v in trace.get(value_field(axis), [])[:len(kinds)]]
    n = len(kinds)
    seg: list[str | None] = [None] * max(n - 1, 0)
    for k in range(n - 1):
        a, b = kinds[k], kinds[k + 1]
        if a is not None and b is not None:
            seg[k] = a if _RANK[a] >= _RANK[b] else b
    lines = {kind: ([], []) for kind in KINDS}
    dots = {kind: ([], []) for kind in KINDS}
    k = 0
    while k < n - 1:
        kind = seg[k]
        if kind is None:
            k += 1
            continue
        end = k
        while end < n - 1 and seg[end] == kind:
            end += 1
        xs, ys = lines[kind]
        if xs:
            xs.append(math.nan)
            ys.append(math.nan)
        xs.extend(t[k:end + 1])
        ys.extend(y[k:end + 1])
        k = end
    for k, kind in enumerate(kinds):
        joined = (k > 0 and seg[k - 1] == kind) or (k < n - 1 and seg[k] == kind)
        if kind is not None and not joined:
            dots[kind][0].append(t[k])
            dots[kind][1].append(y[k])
    return TrustLines(lines, dots)


def no_face_spans(trace: Mapping[str, Sequence[Any]]) -> list[tuple[float, float]]:
    """(from, to) of each stretch without a face: from the last frame with one to the next.

    These are the stretches the lines leave blank; shading them tells a gap
    from a head that simply held still.
    """
    t = [float(v) for v in trace.get("t_s") or []]
    found = trace.get("face_found")
    spans: list[tuple[float, float]] = []
    k = 0
    while k < len(t):
        if _face(found, k):
            k += 1
            continue
        end = k
        while end < len(t) and not _face(found, end):
            end += 1
        spans.append((t[k - 1] if k > 0 else t[k], t[end] if end < len(t) else t[end - 1]))
        k = end
    return spans


def measured(kinds: Sequence[str | None]) -> list[bool]:
    """Per frame: a reading the report may quote (trusted, or 'at least'), as the rep counter uses."""
    return [kind in (TRUSTED, LOWER_BOUND) for kind in kinds]


__all__ = ["KINDS", "LOWER_BOUND", "TRUSTED", "TrustLines", "UNTRUSTED", "frame_kinds", "measured",
           "no_face_spans", "trust_lines"]
