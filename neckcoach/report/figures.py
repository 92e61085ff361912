"""Report and progress figures as PNG bytes (matplotlib's Agg canvas, no display).

We use `Figure` + `FigureCanvasAgg` directly instead of pyplot so rendering
never touches a GUI backend or global state shared with the live overlay.
"""

from __future__ import annotations

import io
import math
from datetime import datetime, timedelta
from typing import Any, Mapping, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from neckcoach.core.samples import MOVEMENT_AXIS
from neckcoach.io.records import iter_reps, rep_metric, rep_warning_kinds, shape_past_range
from neckcoach.report.norms import DIRECTION_ORDER, LABELS, NORMS, UNITS
from neckcoach.report.trace_trust import (KINDS, LOWER_BOUND, TRUSTED, UNTRUSTED, frame_kinds, measured,
                                          no_face_spans, trust_lines)

AXIS_LABEL = {"yaw": "Rotation (yaw) °\n+ left / − right", "pitch": "Flex/ext (pitch) °\n+ chin down",
              "roll": "Side bend (roll) °\n+ left / − right", "retraction": "Retraction mm\n+ chin tuck"}
AXIS_FIELD = {"yaw": "yaw_deg", "pitch": "pitch_deg", "roll": "roll_deg",
              "retraction": "retraction_mm"}
_SIDE_SIGN = {"left": 1.0, "right": -1.0, "flexion": 1.0, "extension": -1.0, "back": 1.0}
GOOD, PARTIAL, WARN, LINE = "#2e7d32", "#ef6c00", "#c62828", "#1f4e79"
GUESS, BOUND, NO_FACE = "#9e9e9e", "#7b1fa2", "#bdbdbd"
# How each kind of reading is drawn (issue #14): only a trusted one as the solid line of fact.
TRUST_STYLE = {
    TRUSTED: {"color": LINE, "lw": 1.2, "ls": "-", "zorder": 2.3, "label": "your head"},
    UNTRUSTED: {"color": GUESS, "lw": 1.1, "ls": "--", "zorder": 2.1,
                "label": "not measured reliably (a rough guess)"},
    LOWER_BOUND: {"color": BOUND, "lw": 2.2, "ls": ":", "zorder": 2.2,
                  "label": "at least this far (beyond what the camera can measure)"},
}
NO_FACE_LABEL = "face not in view"


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def _f(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def session_axes(session: Mapping[str, Any], trace: Mapping[str, Sequence[float]]) -> list[str]:
    """Axes the routine exercised, else the axes on which the head clearly moved."""
    axes: list[str] = []
    for ex in session.get("exercises") or []:
        axis = MOVEMENT_AXIS.get(str(ex.get("movement")))
        if axis and axis not in axes:
            axes.append(axis)
    if not axes:
        for axis, name in AXIS_FIELD.items():
            values = [abs(v) for v in trace.get(name, []) if v == v]
            if values and max(values) > 3.0:
                axes.append(axis)
    return [a for a in AXIS_FIELD if a in axes] or ["yaw"]


def _rep_sign(rep: Mapping[str, Any]) -> float:
    side = str(rep.get("side") or "").lower()
    if side in _SIDE_SIGN:
        return _SIDE_SIGN[side]
    peak = _f(rep_metric(rep, "peak"))
    return -1.0 if peak is not None and peak < 0 else 1.0


def angle_figure(session: Mapping[str, Any], trace: Mapping[str, Sequence[float]]) -> bytes:
    """Angle over time per exercised axis, with target bands, rep peaks and warnings.

    Only trusted readings make the solid line; a guess and an 'at least' are
    drawn in styles of their own and a stretch without a face is left blank
    and shaded (`trace_trust`), so no untrusted number is shown as fact.
    """
    axes = session_axes(session, trace)
    fig = Figure(figsize=(11, 2.6 * len(axes) + 0.9))
    t = list(trace.get("t_s", []))
    warnings = [w for w in session.get("warnings") or [] if _f(w.get("t_s")) is not None]
    gaps = no_face_spans(trace)
    drawn: set[str] = set()
    for i, axis in enumerate(axes):
        ax = fig.add_subplot(len(axes), 1, i + 1)
        values = list(trace.get(AXIS_FIELD[axis], []))
        kinds = frame_kinds(trace, axis)
        ok = measured(kinds)
        n = len(kinds)
        _draw_trust_lines(ax, trace, axis, drawn)
        for start, end in gaps:
            ax.axvspan(start, end, facecolor="none", edgecolor=NO_FACE, hatch="////", lw=0, zorder=0.5)
        ax.axhline(0, color="#999", lw=0.6)
        for ex in session.get("exercises") or []:
            if MOVEMENT_AXIS.get(str(ex.get("movement"))) != axis:
                continue
            times = [_f(r.get(k)) for r in ex.get("reps") or [] for k in ("start_t_s", "end_t_s")]
            times = [v for v in times if v is not None]
            if times:
                ax.axvspan(min(times), max(times), color="#e3f2fd", alpha=0.6, lw=0, zorder=0)
                ax.text(min(times), 1.02, str(ex.get("name") or ex.get("id")),
                        transform=ax.get_xaxis_transform(), ha="left", va="bottom",
                        fontsize=8, color="#1f4e79", clip_on=False)
            for rep in ex.get("reps") or []:
                start, end = _f(rep.get("start_t_s")), _f(rep.get("end_t_s"))
                target = _f(rep_metric(rep, "target"))
                if start is None or end is None:
                    continue
                sign = _rep_sign(rep)
                if target is not None:
                    lo, hi = sorted((sign * abs(target) * 0.9, sign * abs(target) * 1.1))
                    ax.fill_between([start, end], lo, hi, color="#a5d6a7", alpha=0.5, lw=0)
                # The dot marks the furthest reading the rep counter could use, never a guess.
                window = [k for k in range(n) if ok[k] and start <= t[k] <= end]
                if window:
                    k = max(window, key=lambda j: sign * values[j])
                    tp, yp = t[k], values[k]
                else:
                    peak = _f(rep_metric(rep, "peak_abs"))
                    tp, yp = (start + end) / 2, sign * abs(peak) if peak is not None else 0.0
                color = GOOD if rep.get("complete") else PARTIAL
                ax.plot([tp], [yp], "o", color=color, ms=6, zorder=3)
                ax.annotate(str(rep.get("index", "")), (tp, yp), textcoords="offset points",
                            xytext=(0, 6 if yp >= 0 else -12), ha="center", fontsize=7,
                            color=color)
        for w in warnings:
            wt = _f(w.get("t_s"))
            if axis == MOVEMENT_AXIS.get(_movement_of(session, w.get("exercise_id")), axis):
                ax.axvline(wt, color=WARN, lw=0.8, ls="--", alpha=0.7)
                ax.plot([wt], [1.0], "v", color=WARN, ms=7, transform=ax.get_xaxis_transform(),
                        clip_on=False)
        ax.margins(y=0.12)
        ax.set_ylabel(AXIS_LABEL[axis], fontsize=8)
        ax.grid(alpha=0.3)
        if i == len(axes) - 1:
            ax.set_xlabel("time since start (s)")
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Line2D([], [], color=TRUST_STYLE[k]["color"], lw=TRUST_STYLE[k]["lw"], ls=TRUST_STYLE[k]["ls"],
                      label=TRUST_STYLE[k]["label"]) for k in KINDS if k == TRUSTED or k in drawn]
    if gaps:
        handles.append(Patch(facecolor="none", edgecolor=NO_FACE, hatch="////", label=NO_FACE_LABEL))
    handles += [Patch(color="#a5d6a7", label="target zone"),
                Line2D([], [], marker="o", ls="", color=GOOD, label="rep reached target"),
                Line2D([], [], marker="o", ls="", color=PARTIAL, label="rep short of target"),
                Line2D([], [], marker="v", ls="--", color=WARN, label="warning")]
    fig.legend(handles=handles, loc="upper center", ncol=4, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.55 / fig.get_figheight()))
    return _png(fig)


def _draw_trust_lines(ax: Any, trace: Mapping[str, Sequence[float]], axis: str, drawn: set[str]) -> None:
    """One line per kind of reading (`TRUST_STYLE`); lone readings as dots. Adds the kinds drawn."""
    parts = trust_lines(trace, axis)
    for kind in KINDS:
        style = dict(TRUST_STYLE[kind])
        xs, ys = parts.lines[kind]
        if xs:
            ax.plot(xs, ys, gid=kind, **style)
        dx, dy = parts.dots[kind]
        if dx:
            ax.plot(dx, dy, gid=kind, marker=".", ms=4, ls="", color=style["color"], zorder=style["zorder"],
                    label=style["label"])
    drawn.update(parts.kinds_drawn())


def _movement_of(session: Mapping[str, Any], exercise_id: Any) -> str | None:
    for ex in session.get("exercises") or []:
        if ex.get("id") == exercise_id:
            return ex.get("movement")
    return None


def range_figure(summary: Mapping[str, Mapping[str, Any]]) -> bytes:
    """Best range per direction against the typical adult band."""
    dirs = [d for d in DIRECTION_ORDER if d in summary and _f(summary[d].get("range")) is not None]
    deg = [d for d in dirs if UNITS[d] == "°"]
    mm = [d for d in dirs if UNITS[d] == "mm"]
    rows = [r for r in (deg, mm) if r]
    fig = Figure(figsize=(9, 0.55 * max(len(dirs), 1) + 1.3 * max(len(rows), 1)))
    if not rows:
        ax = fig.add_subplot(1, 1, 1)
        ax.text(0.5, 0.5, "no repetitions recorded", ha="center", va="center")
        ax.set_axis_off()
        return _png(fig)
    heights = [len(r) + 1 for r in rows]
    grid = fig.add_gridspec(len(rows), 1, height_ratios=heights)
    for i, group in enumerate(rows):
        ax = fig.add_subplot(grid[i])
        ypos = list(range(len(group)))[::-1]
        values = [_f(summary[d]["range"]) or 0.0 for d in group]
        top = max(values + [NORMS[d].high for d in group if d in NORMS] + [1.0]) * 1.2
        for y, d, v in zip(ypos, group, values):
            norm = NORMS.get(d)
            if norm:
                ax.barh(y, norm.high - norm.low, left=norm.low, height=0.8, color="#ddd",
                        zorder=1)
                color = GOOD if v >= norm.low * 0.8 else PARTIAL
            else:
                color = LINE
            ax.barh(y, v, height=0.45, color=color, zorder=2)
            # A range beyond what could be measured is a lower bound: "at least".
            bound = "≥ " if summary[d].get("range_lower_bound") is True else ""
            ax.text(v + top * 0.01, y, f"{bound}{v:.0f}{UNITS[d]}", va="center", fontsize=9, zorder=3)
        ax.set_yticks(ypos, [LABELS[d] for d in group])
        ax.set_ylim(-0.7, len(group) - 0.3)
        ax.set_xlim(0, top)
        ax.set_xlabel("degrees" if UNITS[group[0]] == "°" else "millimetres")
        ax.grid(axis="x", alpha=0.3)
        if i == 0:
            ax.set_title("Your best range per direction (grey: typical adult range)", fontsize=10)
    fig.tight_layout()
    return _png(fig)


def rep_quality_figure(session: Mapping[str, Any]) -> bytes:
    """Peak/mean speed per rep against the exercise's speed limit, and SPARC smoothness."""
    reps = list(iter_reps(session))
    limit_of = {ex.get("id"): _f(ex.get("max_speed_deg_s", ex.get("speed_limit")))
                for ex in session.get("exercises") or []}
    for w in session.get("warnings") or []:  # the coach puts the limit in too_fast warnings
        data = w.get("data") if isinstance(w.get("data"), Mapping) else {}
        if w.get("kind") == "too_fast" and limit_of.get(w.get("exercise_id")) is None:
            limit_of[w.get("exercise_id")] = _f(data.get("limit"))
    limits = [limit_of.get(r.get("exercise_id")) for r in reps]
    short = {"left": "L", "right": "R", "flexion": "F", "extension": "E", "back": ""}
    labels = [f"{r.get('exercise_id', '')} {r.get('index', '')}"
              f"{short.get(str(r.get('side')), str(r.get('side') or '')[:1])}" for r in reps]
    x = list(range(len(reps)))
    fig = Figure(figsize=(11, 5.4))
    ax1 = fig.add_subplot(2, 1, 1)
    ax2 = fig.add_subplot(2, 1, 2, sharex=ax1)
    peak = [_f(rep_metric(r, "peak_speed")) or 0.0 for r in reps]
    mean = [_f(rep_metric(r, "mean_speed")) or 0.0 for r in reps]
    colors = [WARN if rep_warning_kinds(r, session) else LINE for r in reps]
    ax1.bar(x, peak, width=0.6, color=colors, alpha=0.85, label="peak speed")
    ax1.plot(x, mean, "o", color="#ffb300", ms=4, label="mean speed")
    drawn = False
    for xi, lim in zip(x, limits):
        if lim is not None:
            ax1.plot([xi - 0.45, xi + 0.45], [lim, lim], color=WARN, lw=1.5,
                     label=None if drawn else "speed limit")
            drawn = True
    ax1.set_ylabel("speed (°/s; mm/s\nfor chin tucks)")
    ax1.set_title("Speed per rep (red bar: the rep had a warning)", fontsize=10)
    ax1.legend(fontsize=8, loc="upper right")
    ax1.grid(axis="y", alpha=0.3)
    ax1.tick_params(labelbottom=False)
    sparc = [_f(r.get("sparc")) for r in reps]
    ax2.bar(x, [s if s is not None else 0.0 for s in sparc], width=0.6, color="#6a1b9a",
            alpha=0.8)
    if reps and all(v is None for v in sparc):
        ax2.set_ylim(-3.0, 0.0)  # the scale a measured SPARC would have, not an empty one
    for xi, value, rep in zip(x, sparc, reps):
        if value is None:  # said where the bar would be, so a missing bar is not read as 0
            ax2.text(xi, 0.0, f" {_unmeasured_shape(rep)}", rotation=90, ha="center", va="top",
                     fontsize=8, color="#5b6b78")
    ax2.set_xlim(-0.6, max(len(x), 8) - 0.4)  # a few reps should not become huge slabs
    ax2.set_ylabel("SPARC\n(closer to 0 = smoother)")
    ax2.set_title("Smoothness per rep", fontsize=10)
    ax2.grid(axis="y", alpha=0.3)
    ax2.set_xticks(x, labels, fontsize=8, rotation=0 if len(x) <= 12 else 60,
                   ha="center" if len(x) <= 12 else "right")
    if not reps:
        ax1.text(0.5, 0.5, "no repetitions recorded", ha="center", transform=ax1.transAxes)
    fig.tight_layout()
    return _png(fig)


PAST_RANGE = "past range"


def _unmeasured_shape(rep: Mapping[str, Any]) -> str:
    """Why a rep has no smoothness: read past the measurable range, or too faint for the noise."""
    return PAST_RANGE if any(shape_past_range(rep, way) for way in ("out", "back")) else "not measured"


FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Rotation", ("rotation_left", "rotation_right")),
    ("Flexion / extension", ("flexion", "extension")),
    ("Side bend", ("side_bend_left", "side_bend_right")),
    ("Retraction", ("retraction",)),
)


def progress_figure(series: Mapping[str, Sequence[tuple[datetime, Mapping[str, Any]]]],
                    directions: Sequence[str], weeks: Sequence[Any] = ()) -> bytes:
    """Symptoms per week (when recorded), range per movement family, smoothness and rotation asymmetry."""
    return _png(build_progress_figure(series, directions, weeks))


def build_progress_figure(series: Mapping[str, Sequence[tuple[datetime, Mapping[str, Any]]]],
                          directions: Sequence[str], weeks: Sequence[Any] = ()) -> Figure:
    """The progress figure; `weeks` (neckcoach/report/symptoms.py) adds the symptom panels on top."""
    from matplotlib.dates import MO, AutoDateLocator, DateFormatter, DayLocator, WeekdayLocator

    from neckcoach.report.symptoms import has_symptom_data

    dirs = [d for d in DIRECTION_ORDER if d in directions and d in series]
    families = [(name, [d for d in members if d in dirs]) for name, members in FAMILIES]
    families = [(name, members) for name, members in families if members]
    asym = _asymmetry(series) if "rotation_left" in dirs and "rotation_right" in dirs else []
    symptom_panels = _symptom_panels(weeks) if has_symptom_data(weeks) else []
    movement_panels = (len(families) + 1 + (1 if asym else 0)) if dirs else 0
    panels = len(symptom_panels) + movement_panels
    if panels == 0:
        fig = Figure(figsize=(10, 2))
        ax = fig.add_subplot(1, 1, 1)
        ax.text(0.5, 0.5, "nothing recorded yet", ha="center", va="center")
        ax.set_axis_off()
        return fig
    fig = Figure(figsize=(10, 2.6 * panels + 0.4))
    axes = []
    for i, draw in enumerate(symptom_panels):
        ax = fig.add_subplot(panels, 1, i + 1, sharex=axes[0] if axes else None)
        axes.append(ax)
        draw(ax, weeks)
    offset = len(symptom_panels)
    for i, (name, members) in enumerate(families):
        ax = fig.add_subplot(panels, 1, offset + i + 1, sharex=axes[0] if axes else None)
        axes.append(ax)
        for d in members:
            pts = [(day, _f(s.get("range"))) for day, s in series[d]
                   if _f(s.get("range")) is not None]
            line, = ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=LABELS[d])
            norm = NORMS.get(d)
            if norm:
                ax.axhspan(norm.low, norm.high, color=line.get_color(), alpha=0.12, lw=0)
        unit = "mm" if name == "Retraction" else "°"
        ax.set_ylabel(f"best range ({unit})")
        ax.set_title(f"{name}: best range per session"
                     + (" (shaded: typical adult range)" if unit == "°" else ""), fontsize=10)
        top = max((_f(s.get("range")) or 0.0) for d in members for _, s in series[d])
        top = max([top] + [NORMS[d].high for d in members if d in NORMS])
        ax.set_ylim(0, top * 1.15 + 1)
    if dirs:
        ax = fig.add_subplot(panels, 1, offset + len(families) + 1, sharex=axes[0] if axes else None)
        axes.append(ax)
        for d in dirs:
            pts = [(day, _f(s.get("sparc"))) for day, s in series[d] if _f(s.get("sparc")) is not None]
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=LABELS[d])
        ax.set_ylabel("median SPARC\n(closer to 0 = smoother)")
        ax.set_title("Smoothness per session", fontsize=10)
    if asym:
        ax = fig.add_subplot(panels, 1, panels, sharex=axes[0])
        axes.append(ax)
        ax.plot([a[0] for a in asym], [a[1] for a in asym], "o-", color=WARN,
                label="left − right")
        ax.axhline(0, color="#999", lw=0.8)
        for lim in (10, -10):
            ax.axhline(lim, color=WARN, lw=0.8, ls="--", alpha=0.6)
        ax.set_ylabel("left − right (°)")
        ax.set_title("Rotation asymmetry (dashed: a 10° difference, the usual flag in the "
                     "flexion-rotation test)", fontsize=10)
    days = sorted([day.date() for d in dirs for day, _ in series[d]]
                  + ([w.start for w in weeks] + [weeks[-1].start + timedelta(days=7)] if symptom_panels else []))
    span_days = (days[-1] - days[0]).days if days else 0
    if span_days < 2 and dirs:  # one or two days of sessions: the hours matter
        times = sorted(day for d in dirs for day, _ in series[d])
        span_days = (times[-1] - times[0]).days
    for i, ax in enumerate(axes):
        ax.grid(alpha=0.3)
        handles, _labels = ax.get_legend_handles_labels()
        if handles and ax.get_legend() is None:
            ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
        if span_days >= 21:  # weeks: ticks on Mondays, where the weekly symptom bars begin
            ax.xaxis.set_major_locator(WeekdayLocator(byweekday=MO, interval=max(1, span_days // 70)))
            ax.xaxis.set_major_formatter(DateFormatter("%d %b"))
        elif span_days >= 2:
            ax.xaxis.set_major_locator(DayLocator(interval=max(1, span_days // 10)))
            ax.xaxis.set_major_formatter(DateFormatter("%d %b"))
        else:
            ax.xaxis.set_major_locator(AutoDateLocator(maxticks=8))
            ax.xaxis.set_major_formatter(DateFormatter("%d %b %H:%M"))
        ax.tick_params(labelbottom=i == len(axes) - 1)
    fig.tight_layout()
    return fig


# -- symptom panels (weekly; see neckcoach/report/symptoms.py) ------------------------------
WEEK_BAR_DAYS = 6.0
PAIN_BEFORE, PAIN_AFTER, HEADACHE, PLANNED = "#6a1b9a", "#00897b", "#8d6e63", "#212121"


def _symptom_panels(weeks: Sequence[Any]) -> list:
    panels = []
    if any(w.days_logged for w in weeks):
        panels.append(_headache_panel)
    if any(w.pain_before is not None or w.pain_after is not None or w.stops for w in weeks):
        panels.append(_pain_panel)
    if any(w.sessions_complete or w.sessions_stopped_early or w.sessions_planned for w in weeks):
        panels.append(_sessions_panel)
    return panels


def _ends(weeks: Sequence[Any], name: str) -> tuple[float | None, float | None]:
    values = [getattr(w, name) for w in weeks if getattr(w, name) is not None]
    return (values[0], values[-1]) if values else (None, None)


def _headache_panel(ax, weeks: Sequence[Any]) -> None:
    """Headache days per week (bars; days logged noted when fewer than 7) and mean worst intensity."""
    from neckcoach.report.symptoms import trend_text

    logged = [w for w in weeks if w.days_logged]
    ax.bar([w.middle for w in logged], [w.headache_days for w in logged], width=WEEK_BAR_DAYS,
           color=HEADACHE, alpha=0.75, label="headache days")
    for w in logged:
        if w.days_logged < 7:
            ax.annotate(f"{w.days_logged}/7 logged", (w.middle, w.headache_days), textcoords="offset points",
                        xytext=(0, 3), ha="center", fontsize=7, color="#555")
    ax.set_ylim(0, 7.9)
    ax.set_ylabel("headache days\n(of the days logged)")
    twin = ax.twinx()
    pts = [(w.middle, w.mean_worst) for w in weeks if w.mean_worst is not None]
    twin.plot([p[0] for p in pts], [p[1] for p in pts], "o-", color=WARN, label="mean worst intensity")
    twin.set_ylim(0, 10.5)
    twin.set_ylabel("worst intensity\n(0-10)", color=WARN)
    days = trend_text(*_ends(weeks, "headache_days"))
    worst = trend_text(*_ends(weeks, "mean_worst"), digits=1)
    ax.set_title("Headaches per week" + (f": {days} days" if days else "")
                 + (f", intensity {worst}" if worst else ""), fontsize=10)
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    ax.legend(handles=handles, fontsize=8, loc="center left", bbox_to_anchor=(1.1, 0.5), frameon=False)


def _pain_panel(ax, weeks: Sequence[Any]) -> None:
    """Neck pain before and after sessions, weekly means; weeks with a stop rule marked."""
    from neckcoach.report.symptoms import trend_text

    for name, label, color, marker in (("pain_before", "before sessions", PAIN_BEFORE, "o"),
                                       ("pain_after", "after sessions", PAIN_AFTER, "^")):
        pts = [(w.middle, getattr(w, name)) for w in weeks if getattr(w, name) is not None]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker + "-", color=color, label=label)
    stopped = [w for w in weeks if w.stops]
    if stopped:
        ax.plot([w.middle for w in stopped], [10.0] * len(stopped), "X", color=WARN, ms=9,
                label="stop rule answered yes", clip_on=False)
        for w in stopped:
            ax.annotate(", ".join(sorted(set(w.stops))).replace("_", " "), (w.middle, 10.0),
                        textcoords="offset points", xytext=(0, -12), ha="center", fontsize=7, color=WARN)
    ax.set_ylim(0, 10.5)
    ax.set_ylabel("neck pain (0-10)")
    before = trend_text(*_ends(weeks, "pain_before"), digits=1)
    after = trend_text(*_ends(weeks, "pain_after"), digits=1)
    ax.set_title("Neck pain at sessions, weekly mean"
                 + (f": before {before}" if before else "") + (f", after {after}" if after else ""),
                 fontsize=10)


def _sessions_panel(ax, weeks: Sequence[Any]) -> None:
    """Sessions done per week (complete, and stopped early on top) against the sessions planned."""
    mids = [w.middle for w in weeks]
    done = [w.sessions_complete for w in weeks]
    early = [w.sessions_stopped_early for w in weeks]
    ax.bar(mids, done, width=WEEK_BAR_DAYS, color=GOOD, alpha=0.8, label="complete")
    ax.bar(mids, early, width=WEEK_BAR_DAYS, bottom=done, color=PARTIAL, alpha=0.6, label="stopped early")
    planned = [(w, w.sessions_planned) for w in weeks if w.sessions_planned is not None]
    for k, (w, value) in enumerate(planned):
        left = datetime.combine(w.start, datetime.min.time())
        ax.plot([left, left + timedelta(days=7)], [value, value], color=PLANNED, lw=2,
                label="planned" if k == 0 else None)
        ax.annotate(f"{100 * w.sessions_complete / value:.0f}%", (w.middle, max(value, w.sessions_complete
                                                                                + w.sessions_stopped_early)),
                    textcoords="offset points", xytext=(0, 3), ha="center", fontsize=7)
    ax.set_ylabel("sessions")
    rate = [w.adherence for w in weeks if w.adherence is not None]
    ax.set_title("Sessions per week" + (f" (black: planned; % = complete of planned, last week "
                                        f"{100 * rate[-1]:.0f}%)" if rate else ""), fontsize=10)
    top = max([d + e for d, e in zip(done, early)] + [v for _, v in planned] + [1])
    ax.set_ylim(0, top * 1.25 + 0.5)


def _asymmetry(series: Mapping[str, Sequence[tuple[datetime, Mapping[str, Any]]]]
               ) -> list[tuple[datetime, float]]:
    left = {day: _f(s.get("range")) for day, s in series.get("rotation_left", [])}
    right = {day: _f(s.get("range")) for day, s in series.get("rotation_right", [])}
    return [(day, left[day] - right[day]) for day in sorted(left)
            if day in right and left[day] is not None and right[day] is not None]
