"""Self-contained HTML session report (figures embedded as base64 PNG).

One file that a patient can open offline or e-mail to the clinic; the PNGs are
also written beside it for slides or notes.
"""

from __future__ import annotations

import base64
import html
import math
import os
from collections import Counter
from pathlib import Path
from typing import Any, Mapping

from neckcoach.core.coach import TRIES_PER_REP
from neckcoach.core.depth_scale import DEPTH_READ_MAX_GAIN, DEPTH_READ_MIN_GAIN
from neckcoach.core.reps import mostly_unmeasured
from neckcoach.io.history import describe_range, summarize
from neckcoach.io.records import SessionData, load_session, rep_metric, rep_warning_kinds, shape_past_range
from neckcoach.report import figures
from neckcoach.report.norms import DIRECTION_ORDER, LABELS, NORMS, NORMS_NOTE, UNITS

_WORDS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
          "eleven", "twelve"]
_MOVEMENT_NOUN = {"rotation": "rotations", "flexion": "chin-to-chest bends",
                  "extension": "look-ups", "flexion_extension": "forward/back bends",
                  "side_bend": "side bends", "retraction": "chin tucks", "chin_nod": "chin nods"}
_SIDE_PHRASE = {"left": "to the left", "right": "to the right", "flexion": "forward",
                "extension": "backward", "back": ""}
_WARNING_PHRASE = {"too_fast": "moving too quickly", "jerk": "a jerky movement",
                   "out_of_range": "going past your safe limit",
                   "compensation": "moving your shoulders instead of your neck",
                   "face_lost": "your face leaving the camera view",
                   "too_far": "sitting too far from the camera",
                   "too_close": "sitting too close to the camera",
                   "poor_light": "poor light", "two_faces": "a second face in view",
                   "not_patient": "someone other than you in view",
                   "too_bright": "too much light behind you or on the camera",
                   "off_centre": "your face not being in the middle of the picture",
                   "wrong_side": "turning to the wrong side", "rushed": "rushing a repetition",
                   "hold_broken": "letting go of a hold too early",
                   "grainy": "a grainy picture, in which a sudden movement could go unnoticed",
                   "not_settled": "counting held up: your head was never seen at rest"}


def _words(n: int) -> str:
    return _WORDS[n] if 0 <= n < len(_WORDS) else str(n)


def _fmt(value: Any, digits: int = 1) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "–" if value in (None, "") else html.escape(str(value))
    return "–" if not math.isfinite(v) else f"{v:.{digits}f}"


def patient_summary(data: SessionData) -> list[str]:
    """Plain-language sentences for the patient, most important first."""
    session = data.session
    lines: list[str] = []
    if not data.complete:
        reason = session.get("ended_reason") or "it was interrupted"
        lines.append(f"This session stopped before the end ({reason}); "
                     "everything recorded up to then is shown below.")
    outcome = session.get("outcome")
    if isinstance(outcome, Mapping) and outcome.get("code") not in (None, "counted") and outcome.get("message"):
        lines.append(str(outcome["message"]))  # why nothing was counted (see core.outcome)
    for ex in session.get("exercises") or []:
        reps = [r for r in ex.get("reps") or [] if isinstance(r, Mapping)]
        noun = _MOVEMENT_NOUN.get(str(ex.get("movement")), "repetitions")
        name = ex.get("name") or ex.get("id") or "Exercise"
        target = ex.get("reps_target")
        sides = [str(r.get("side") or "") for r in reps]
        done_by_side = Counter(s for s, r in zip(sides, reps) if r.get("complete"))
        by_side_target = ex.get("reps_target_by_side")
        distinct = [s for s in dict.fromkeys(sides) if _SIDE_PHRASE.get(s)]
        if isinstance(by_side_target, Mapping) and by_side_target:
            parts = [f"{done_by_side.get(s, 0)} of {int(t)} {noun} {_SIDE_PHRASE.get(s, s)}"
                     for s, t in by_side_target.items()]
            lines.append(f"{name}: you did " + " and ".join(parts) + ".")
        else:
            done = ex.get("reps_completed")
            done = int(done) if isinstance(done, (int, float)) else sum(done_by_side.values())
            text = f"{name}: you did {done}" + (f" of {int(target)}" if isinstance(
                target, (int, float)) else "") + f" {noun}"
            if len(distinct) > 1:
                text += " (" + ", ".join(f"{done_by_side.get(s, 0)} {_SIDE_PHRASE[s]}"
                                         for s in distinct) + ")"
            lines.append(text + ".")
        if ex.get("note"):  # why counting could not start (the coach said so at the time)
            lines[-1] += f" Counting could not start: {ex['note']}."
        stopped = ex.get("sets_stopped")
        if isinstance(stopped, int) and stopped > 0:  # coach.TRIES_PER_REP
            unseen = mostly_unmeasured(r.get("reason") for r in ex.get("reps") or [] if isinstance(r, Mapping))
            lines[-1] += (f" {'The set' if stopped == 1 else f'{_words(stopped).capitalize()} sets'} ended "
                          f"after {_words(TRIES_PER_REP)} tries for each repetition "
                          + ("that the camera could not see reach the target." if unseen
                             else "without reaching the target."))
    warnings = [w for w in session.get("warnings") or [] if isinstance(w, Mapping)]
    if warnings:
        kinds = Counter(_WARNING_PHRASE.get(str(w.get("kind")), str(w.get("kind")).replace("_", " "))
                        for w in warnings)
        parts = [f"{_words(n)} for {phrase}" for phrase, n in kinds.most_common()]
        total = len(warnings)
        lines.append(f"{_words(total).capitalize()} warning{'s' if total != 1 else ''}: "
                     + ", ".join(parts) + ". Slow, smooth movements are safest.")
    else:
        lines.append("No warnings: your movements stayed smooth and within your limits.")
    summary = summarize(session)
    for d in DIRECTION_ORDER:
        stats = summary.get(d)
        if not stats or stats.get("range") is None:
            continue
        norm = NORMS.get(d)
        value = stats["range"]
        text = f"Your best {LABELS[d].lower()} was {describe_range(stats, UNITS[d])}"
        if norm:
            share = "at least" if stats.get("range_lower_bound") is True else "about"
            text += (f", {share} {100 * value / ((norm.low + norm.high) / 2):.0f}% of a typical "
                     f"adult range ({norm.low:.0f}–{norm.high:.0f}°)")
        lines.append(text + ".")
    pauses = session.get("pauses") or []
    if pauses:
        lines.append(f"The session paused {_words(len(pauses))} time{'s' if len(pauses) != 1 else ''}.")
    calibration = session.get("calibration")
    moves = calibration.get("camera_moves") if isinstance(calibration, Mapping) else None
    if moves:
        # Why the session paused, or a recording was measured in parts (see core.view_move).
        n = len(moves)
        lines.append(f"The camera was moved {'once' if n == 1 else _words(n) + ' times'}; "
                     f"{'each time ' if n != 1 else ''}your starting position was taken again from where it "
                     "then stood, so every number is measured from your own neutral.")
    return lines


def _when(started_at: Any) -> str:
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(started_at)).strftime("%d %b %Y, %H:%M")
    except ValueError:
        return "unknown start"


def _img(png: bytes, alt: str) -> str:
    b64 = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{b64}">'


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f4f6f8;
color:#1d2a35}
main{max-width:1120px;margin:0 auto;padding:24px}
h1{margin:0 0 4px;font-size:26px} h2{font-size:19px;margin:0 0 12px}
.meta{color:#5b6b78;font-size:14px;margin-bottom:16px}
.card{background:#fff;border-radius:10px;padding:18px 22px;margin:16px 0;
box-shadow:0 1px 3px rgba(0,0,0,.08)}
.summary li{font-size:17px;line-height:1.5;margin:4px 0}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;font-size:13px;font-weight:600}
.ok{background:#e8f5e9;color:#2e7d32} .stopped{background:#fff3e0;color:#e65100}
img{max-width:100%;height:auto;display:block;margin:8px auto}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:5px 8px;border-bottom:1px solid #e3e7eb;text-align:right}
th{background:#eef2f5;position:sticky;top:0} td.l,th.l{text-align:left}
tr.partial td{color:#e65100} .note{color:#5b6b78;font-size:13px}
.warn{color:#c62828}
.stop{background:#ffebee;border-left:6px solid #c62828} .stop li{color:#b71c1c;font-weight:600}
"""


def _rep_table(data: SessionData) -> str:
    head = ("<tr><th class=l>Exercise</th><th>#</th><th class=l>Side</th><th>Done</th>"
            "<th>Peak</th><th>Target</th><th>Time to target s</th><th>Hold s</th>"
            "<th>Peak speed</th><th>Mean speed</th><th>SPARC out / back</th><th>LDLJ out / back</th>"
            "<th>Speed peaks out / back</th><th class=l>Warnings</th></tr>")
    rows = []
    for r in data.reps:
        kinds = ", ".join(k.replace("_", " ") for k in rep_warning_kinds(r, data.session))
        unit = "mm" if r.get("unit") == "mm" else "°"
        rows.append(
            f"<tr class='{'' if r.get('complete') else 'partial'}'>"
            f"<td class=l>{html.escape(str(r.get('exercise_name') or r.get('exercise_id')))}</td>"
            f"<td>{html.escape(str(r.get('index', '')))}</td>"
            f"<td class=l>{html.escape(str(r.get('side') or ''))}</td>"
            f"<td>{'✔' if r.get('complete') else '✘ ' + html.escape(str(r.get('reason') or ''))}</td>"
            f"<td>{_peak_cell(r)}{unit}</td>"
            f"<td>{_fmt(rep_metric(r, 'target'))}{unit}</td>"
            f"<td>{_fmt(r.get('time_to_target_s'))}</td><td>{_fmt(r.get('hold_s'))}</td>"
            f"<td>{_fmt(rep_metric(r, 'peak_speed'), 0)} {unit}/s</td>"
            f"<td>{_fmt(rep_metric(r, 'mean_speed'), 0)} {unit}/s</td>"
            f"<td>{_pair(r, 'sparc', 2)}</td><td>{_pair(r, 'ldlj', 1)}</td>"
            f"<td>{_pair(r, 'velocity_peaks', 0)}</td>"
            f"<td class='l warn'>{html.escape(kinds)}</td></tr>")
    if not rows:
        rows.append("<tr><td class=l colspan=14>No repetitions were recorded.</td></tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _peak_cell(rep: Mapping[str, Any]) -> str:
    """The signed peak, or "at least" its size where it was beyond what the camera measures
    (the side column says which way): "at least -33" would read as less, not more."""
    if rep.get("peak_lower_bound") == 1:  # True in session.json, 1.0 from a rebuilt reps.csv
        return f"at least {_fmt(rep_metric(rep, 'peak_abs'))}"
    return _fmt(rep_metric(rep, "peak"))


def _pair(rep: Mapping[str, Any], name: str, digits: int) -> str:
    """'out / back' of a per-movement smoothness metric; older records hold one value per rep."""
    if f"{name}_out" not in rep and f"{name}_back" not in rep:
        return _fmt(rep.get(name), digits)
    return " / ".join(figures.PAST_RANGE if shape_past_range(rep, way)
                      else _fmt(rep.get(f"{name}_{way}"), digits) for way in ("out", "back"))


def _warning_list(data: SessionData) -> str:
    items = []
    for w in data.session.get("warnings") or []:
        if not isinstance(w, Mapping):
            continue
        where = ""
        if w.get("exercise_id") is not None:
            where = f" in {html.escape(str(w.get('exercise_id')))}"
            if w.get("rep") is not None:
                where += f" rep {html.escape(str(w.get('rep')))}"
        unit = f" {html.escape(str(w['unit']))}" if w.get("unit") else ""
        magnitude = f" ({_fmt(w.get('magnitude'))}{unit})" if w.get("magnitude") is not None else ""
        items.append(f"<li><b>{_fmt(w.get('t_s'))} s</b> – "
                     f"{html.escape(str(w.get('kind')).replace('_', ' '))}{magnitude}{where}"
                     f": {html.escape(str(w.get('message') or ''))}</li>")
    listed = "<ul>" + "".join(items) + "</ul>" if items else "<p>None.</p>"
    return listed + _outside_list(data)


def _outside_list(data: SessionData) -> str:
    """A reviewed recording's quick movements outside the exercises: shown, but not as warnings (core.review)."""
    moves = [m for m in data.session.get("quick_movements_outside_exercises") or [] if isinstance(m, Mapping)]
    if not moves:
        return ""
    items = []
    for m in moves:
        unit = f" {html.escape(str(m['unit']))}" if m.get("unit") else ""
        magnitude = f" ({_fmt(m.get('magnitude'))}{unit})" if m.get("magnitude") is not None else ""
        axis = f", {html.escape(str(m['axis']))}" if m.get("axis") else ""
        items.append(f"<li><b>{_fmt(m.get('t_s'))} s</b> – {html.escape(str(m.get('kind')).replace('_', ' '))}"
                     f"{axis}{magnitude}</li>")
    return ("<p>Quick head movements outside the exercises (no repetition was being done then, so they "
            "are not judged as exercise movements; worth a look):</p><ul>" + "".join(items) + "</ul>")


def _range_table(summary: Mapping[str, Mapping[str, Any]]) -> str:
    rows = []
    for d in DIRECTION_ORDER:
        if d not in summary:
            continue
        norm = NORMS.get(d)
        band = f"{norm.low:.0f}–{norm.high:.0f}{norm.unit}" if norm else "no norm"
        best = describe_range(summary[d], UNITS[d]) or _fmt(None)
        rows.append(f"<tr><td class=l>{LABELS[d]}</td><td>{html.escape(best)}"
                    f"</td><td>{band}</td><td>{summary[d].get('reps', 0)}</td>"
                    f"<td>{_median_sparc(summary[d])}</td></tr>")
    if not rows:
        return ""
    return ("<table><tr><th class=l>Direction</th><th>Your best</th><th>Typical adult</th>"
            "<th>Reps</th><th>Median SPARC</th></tr>" + "".join(rows) + "</table>")


def _median_sparc(stats: Mapping[str, Any]) -> str:
    """The direction's median SPARC, or "past range" where every rep was read past what the
    camera measures ("–" alone would read as too faint to measure, the legend's other case)."""
    if stats.get("sparc") is None and stats.get("sparc_past_range"):
        return figures.PAST_RANGE
    return _fmt(stats.get("sparc"), 2)


def depth_note(session: Mapping[str, Any]) -> str | None:
    """What a chin tuck's millimetres are worth, for a session with chin tucks; else None.

    The depth is read from how much larger the face looks as it comes back, which scales with
    the camera's lens and changes with where the camera sees the face from (`core.depth_scale`).
    Nothing in a face tells the lens, so the number is a comparison between sessions on one set-up,
    not a measurement in millimetres.
    """
    if not any(isinstance(ex, Mapping) and ex.get("movement") == "retraction"
               for ex in session.get("exercises") or []):
        return None
    lens = (session.get("source") or {}).get("hfov_deg")
    lens_text = (f"the camera taken as {float(lens):.0f}° across (--hfov-deg)" if isinstance(lens, (int, float))
                 else "the camera's field of view unknown")
    return ("Chin tucks in millimetres: read from how much larger your face looks as it moves back, with "
            f"{lens_text}. Depending on the camera's lens and where it sees your face from, a tuck can read "
            f"about {DEPTH_READ_MIN_GAIN:g} to {DEPTH_READ_MAX_GAIN:g} times its real depth. Compare tucks between "
            "sessions made with the same camera and seat; the millimetres are not a ruler's.")


FIGURES = ("angles", "range", "reps")


def render_figures(data: SessionData, names=FIGURES) -> dict[str, bytes]:
    """The report's figures as PNG bytes (a subset by `names`, so they can be drawn in parallel)."""
    session = data.session
    makers = {"angles": lambda: figures.angle_figure(session, data.trace),
              "range": lambda: figures.range_figure(summarize(session)),
              "reps": lambda: figures.rep_quality_figure(session)}
    return {name: makers[name]() for name in names}


# -- symptoms: check-ins, stop rules, weeks so far (issue 17) ------------------------------
_PHASE = {"before": "Before", "during": "Stop key", "after": "After"}
_STATUS = {"complete": "answered", "partial": "partly answered", "skipped": "skipped by you",
           "timed_out": "no answer in time", "stopped": "STOP RULE", "not_asked": "not asked"}


def _checkins(session: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [c for c in session.get("checkins") or [] if isinstance(c, Mapping)]


def stop_alert(session: Mapping[str, Any]) -> list[str]:
    """The stop rule answered yes, first and plainly: what happened and what to do."""
    stop = session.get("stop")
    if not isinstance(stop, Mapping):
        return []
    return [f"Stopped by a stop rule ({stop.get('detail') or stop.get('rule')}). {stop.get('message') or ''}".strip()]


def checkin_summary(session: Mapping[str, Any]) -> list[str]:
    """Neck pain and headache before and after, in one sentence each."""
    lines = []
    by_phase = {c.get("phase"): c for c in _checkins(session) if c.get("phase") in ("before", "after")}
    pains = {p: c.get("pain_0_10") for p, c in by_phase.items() if c.get("pain_0_10") is not None}
    if "before" in pains and "after" in pains:
        change = pains["after"] - pains["before"]
        how = "the same" if change == 0 else (f"{abs(change)} point{'s' if abs(change) != 1 else ''} "
                                              + ("lower" if change < 0 else "higher"))
        lines.append(f"Neck pain was {pains['before']}/10 before and {pains['after']}/10 after ({how}).")
    elif pains:
        phase, value = next(iter(pains.items()))
        lines.append(f"Neck pain was {value}/10 {phase} the session ({'after' if phase == 'before' else 'before'}: "
                     "not given).")
    heads = {p: c.get("headache") for p, c in by_phase.items() if c.get("headache") is not None}
    if heads:
        lines.append("A headache " + " and ".join(f"{p} the session: {'yes' if v else 'no'}"
                                                  for p, v in heads.items()) + ".")
    return lines


def _checkin_table(session: Mapping[str, Any]) -> str:
    rows = []
    for c in _checkins(session):
        rules = c.get("stop_rules") if isinstance(c.get("stop_rules"), Mapping) else {}
        said = ", ".join(r.replace("_", " ") for r, v in rules.items() if v) or (
            "none" if rules and any(v is False for v in rules.values()) else "–")
        headache = c.get("headache")
        status = _STATUS.get(str(c.get("status")), str(c.get("status")))
        note = c.get("note") or ""
        rows.append(f"<tr class='{'partial' if c.get('stop') else ''}'>"
                    f"<td class=l>{_PHASE.get(str(c.get('phase')), html.escape(str(c.get('phase'))))}</td>"
                    f"<td>{_fmt(c.get('t_s'), 0)} s</td>"
                    f"<td>{'–' if c.get('pain_0_10') is None else html.escape(str(c.get('pain_0_10')))}</td>"
                    f"<td>{'–' if headache is None else ('yes' if headache else 'no')}</td>"
                    f"<td class=l>{html.escape(said)}</td><td class=l>{html.escape(status)}</td>"
                    f"<td class=l>{html.escape(str(note))}</td></tr>")
    if not rows:
        return ""
    return ("<table><tr><th class=l>Check-in</th><th>At</th><th>Neck pain 0-10</th><th>Headache</th>"
            "<th class=l>Stop symptoms</th><th class=l>Answers</th><th class=l>Note</th></tr>"
            + "".join(rows) + "</table>")


def symptom_section(data: SessionData) -> tuple[str, dict[str, bytes]]:
    """The Symptoms card: this session's check-ins and, when the history has symptoms, the weeks so far.

    Without any check-in, stop or symptom history the card is left out. The
    history is read up to this session's day; a history that cannot be read
    leaves only this session's part, with a note.
    """
    from datetime import datetime

    from neckcoach.io.history import progress_series
    from neckcoach.report.symptoms import describe_weeks, has_symptom_data, load_weeks

    session = data.session
    notes: list[str] = []
    weeks: list = []
    series: dict = {}
    try:
        until = datetime.fromisoformat(str(session.get("started_at"))).date()
    except ValueError:
        until = None
    try:
        weeks, entries = load_weeks(notes, until)
        series = progress_series(entries)
    except Exception as exc:  # the history must never stop the report
        notes.append(f"the history could not be read ({type(exc).__name__}: {exc})")
    table = _checkin_table(session)
    with_weeks = has_symptom_data(weeks)
    if not table and not with_weeks and not session.get("stop"):
        return "", {}
    parts = ['<section class="card"><h2>Symptoms</h2>']
    if table:
        parts.append(table)
        parts.append('<p class="note">Stop symptoms: the ones answered yes ("none": all answered no; '
                     '"–": not asked). During the session the S key asks them again.</p>')
    pngs: dict[str, bytes] = {}
    if with_weeks:
        directions = [d for d in DIRECTION_ORDER if d in series]
        pngs["weeks"] = figures.progress_figure(series, directions, weeks)
        lines = "".join(f"<li>{html.escape(line)}</li>" for line in describe_weeks(weeks))
        parts.append(f"<h2>Weeks so far</h2>{_img(pngs['weeks'], 'symptoms, range and smoothness per week')}"
                     f"<ul class='note'>{lines}</ul>"
                     '<p class="note">Headache days count the days logged in the diary (a day not logged '
                     'is unknown). Neck pain is the weekly mean of the check-ins.</p>')
    parts.extend(f'<p class="note">{html.escape(n)}</p>' for n in notes)
    parts.append("</section>")
    return "".join(parts), pngs


def build_report(session_dir: str | os.PathLike[str],
                 out_file: str | os.PathLike[str] | None = None, *,
                 pngs: Mapping[str, bytes] | None = None) -> Path:
    """Render `report.html` (default: inside the session folder) and its PNGs.

    `pngs` may hold figures already drawn by `render_figures`; the others are drawn here.
    """
    data = load_session(session_dir)
    out = Path(out_file) if out_file is not None else data.path / "report.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    session = data.session
    summary = summarize(session)
    given = dict(pngs or {})
    pngs = {**render_figures(data, [n for n in FIGURES if n not in given]), **given}
    pngs = {name: pngs[name] for name in FIGURES}
    symptoms_html, symptom_pngs = symptom_section(data)
    pngs.update(symptom_pngs)
    for name, png in pngs.items():
        (out.parent / f"{out.stem}_{name}.png").write_bytes(png)
    title = session.get("routine_title") or (session.get("routine") or {}).get("title") or "Session"
    status = ("<span class='badge ok'>complete</span>" if data.complete else
              "<span class='badge stopped'>stopped early</span>")
    source = session.get("source") or {}
    meta = " · ".join(html.escape(str(x)) for x in (
        _when(session.get("started_at")),
        f"{_fmt(session.get('duration_s'), 0)} s recorded",
        f"source: {source.get('kind', '?')}" + (f" @ {_fmt(source.get('fps'), 0)} fps"
                                                if source.get("fps") else ""),
        f"NeckCoach {session.get('software_version', '?')}") if x)
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in data.notes)
    depth = depth_note(session)
    depth_html = f'<p class="note">{html.escape(depth)}</p>' if depth else ""
    summary_items = "".join(f"<li>{html.escape(s)}</li>" for s in patient_summary(data) + checkin_summary(session))
    stop_items = "".join(f"<li>{html.escape(s)}</li>" for s in stop_alert(session))
    doc = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>NeckCoach report – {html.escape(str(title))}</title><style>{_CSS}</style></head>
<body><main>
<h1>{html.escape(str(title))} {status}</h1>
<div class="meta">{meta}<br>Folder: {html.escape(str(data.path))}</div>
{f'<section class="card stop"><ul>{stop_items}</ul></section>' if stop_items else ''}
<section class="card summary"><h2>How it went</h2><ul>{summary_items}</ul></section>
{symptoms_html}
<section class="card"><h2>Your head angle over time</h2>
{_img(pngs['angles'], 'angle over time')}
<p class="note">Blue line: your head, as measured. Grey dashed line: not measured reliably (the
camera lost exactly where your head was), so it is only a rough guess, not used for counting or for your ranges.
Purple dotted line: your head went at least this far, beyond what the camera can measure. A break
in the line: nothing was measured there; shaded when your face was not in view. Green zone: the
target for each repetition. Dots: the furthest measured point of each repetition. Red dashed lines:
warnings.</p></section>
<section class="card"><h2>Range per direction</h2>{_img(pngs['range'], 'range per direction')}
{_range_table(summary)}<p class="note">{html.escape(NORMS_NOTE)}</p>{depth_html}</section>
<section class="card"><h2>Speed and smoothness per repetition</h2>
{_img(pngs['reps'], 'speed and smoothness per rep')}
<p class="note">Smoothness is measured for each movement: the way out and the way back, not the hold.
SPARC and LDLJ: closer to zero is smoother. One smooth, steady movement scores a SPARC of about
−1.4 (−1.41 in theory) and 1 speed peak; a movement with a hesitation or a jolt scores lower
(−1.8 and below) and 2 or more speed peaks. "–": the movement was too slow and small to measure its
shape over the camera's noise, or that noise could not be measured (no still moment before it and no
hold). "{figures.PAST_RANGE}": part of the movement was beyond what the camera
measures (its peak reads "at least"), so its shape was not measured.</p></section>
<section class="card"><h2>Repetitions</h2>{_rep_table(data)}</section>
<section class="card"><h2>Warnings</h2>{_warning_list(data)}</section>
{f'<section class="card"><h2>Notes on this record</h2><ul class="note">{notes}</ul></section>' if notes else ''}
</main></body></html>
"""
    out.write_text(doc, encoding="utf-8")
    return out


__all__ = ["FIGURES", "build_report", "checkin_summary", "patient_summary", "render_figures", "stop_alert",
           "symptom_section"]
