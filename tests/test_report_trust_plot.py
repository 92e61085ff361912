"""The report's angle plot draws only trusted readings as fact (issue #14).

A reading flagged not reliable is a best guess and must not look like a
measurement; a lower bound says only "at least this far"; a frame without a
face is a gap. The figure is inspected through its matplotlib lines (no
picture is compared), on a small trace made here.
"""

from __future__ import annotations

import csv
import json
import math

import pytest

from neckcoach.report import build_report, figures

# The kinds of `neckcoach.report.trace_trust`, spelled out so this file also runs (and fails) on a
# report that does not know them.
TRUSTED, UNTRUSTED, LOWER_BOUND = "trusted", "untrusted", "lower_bound"

FPS = 10.0
N = 120
# (from s, to s, what the frames are): a stuck, untrusted stretch holds the largest
# value of the rep, so drawing it as fact would also move the rep's dot onto it.
STRETCHES = ((0.0, 3.0, TRUSTED), (3.0, 5.0, UNTRUSTED), (5.0, 6.0, TRUSTED), (6.0, 8.0, LOWER_BOUND),
             (8.0, 9.0, TRUSTED), (9.0, 10.0, None), (10.0, 12.0, TRUSTED))
STUCK_DEG, BOUND_DEG = 80.0, 55.0
LEGEND_UNTRUSTED = "not measured reliably (a rough guess)"
LEGEND_BOUND = "at least this far (beyond what the camera can measure)"


def _kind_at(t: float):
    return next(kind for start, end, kind in STRETCHES if start <= t + 1e-9 < end)


def _trace() -> dict[str, list[float]]:
    cols: dict[str, list[float]] = {name: [] for name in (
        "t_s", "face_found", "reliable", "yaw_deg", "yaw_reliable", "yaw_lower_bound")}
    for i in range(N):
        t = i / FPS
        kind = _kind_at(t)
        yaw = {UNTRUSTED: STUCK_DEG, LOWER_BOUND: BOUND_DEG, None: 0.0}.get(kind, 4.0 * t)
        for name, value in (("t_s", t), ("face_found", kind is not None), ("reliable", kind is not None),
                            ("yaw_deg", yaw), ("yaw_reliable", kind == TRUSTED),
                            ("yaw_lower_bound", kind == LOWER_BOUND)):
            cols[name].append(float(value))
    return cols


SESSION = {"complete": True, "warnings": [], "exercises": [
    {"id": "rot", "name": "Neck rotation", "movement": "rotation", "reps_target": 1, "reps_completed": 0,
     "reps": [{"index": 1, "side": "left", "complete": False, "start_t_s": 1.0, "end_t_s": 11.5,
               "peak_deg": BOUND_DEG, "peak_lower_bound": True, "target_deg": 60.0}]}]}


@pytest.fixture(scope="module")
def figure():
    """The angle figure as drawn, caught before it becomes a PNG."""
    drawn = []
    real = figures._png
    figures._png = lambda fig: drawn.append(fig) or b""
    try:
        figures.angle_figure(SESSION, _trace())
    finally:
        figures._png = real
    return drawn[0]


def _runs(line) -> list[list[tuple[float, float]]]:
    """The unbroken pieces of a line: matplotlib draws nothing between two points across a NaN."""
    runs: list[list[tuple[float, float]]] = [[]]
    for t, y in zip(line.get_xdata(), line.get_ydata()):
        if math.isfinite(t) and math.isfinite(y):
            runs[-1].append((float(t), float(y)))
        elif runs[-1]:
            runs.append([])
    return [run for run in runs if run]


def _traces(fig):
    """(line, [(t, y) finite points]) of every drawn line that follows the trace over time."""
    out = []
    for ax in fig.axes:
        for line in ax.get_lines():
            pts = [p for run in _runs(line) for p in run]
            if len(pts) > 2:
                out.append((line, pts))
    return out


def _kinds_of(pts):
    return {_kind_at(t) for t, _ in pts}


def _is_solid(line) -> bool:
    return line.get_linestyle() in ("-", "solid")


def test_solid_lines_hold_only_trusted_readings(figure):
    solid = [(line, pts) for line, pts in _traces(figure) if _is_solid(line)]
    assert solid, "the trusted readings are drawn as a solid line"
    for _, pts in solid:
        assert _kinds_of(pts) == {TRUSTED}, "an untrusted or 'at least' reading is drawn as fact"
    drawn = {round(t, 3) for _, pts in solid for t, _ in pts}
    trusted = {round(i / FPS, 3) for i in range(N) if _kind_at(i / FPS) == TRUSTED}
    assert drawn == trusted


def test_untrusted_and_lower_bound_readings_have_their_own_styles(figure):
    def lines_through(kind):
        return [line for line, pts in _traces(figure) if kind in _kinds_of(pts)
                and any(_kind_at(t) == kind for t, _ in pts)]

    guess, = lines_through(UNTRUSTED)
    bound, = lines_through(LOWER_BOUND)
    for line in (guess, bound):
        assert not _is_solid(line)
    assert guess.get_color() != bound.get_color()
    assert guess.get_label() == LEGEND_UNTRUSTED and bound.get_label() == LEGEND_BOUND
    assert STUCK_DEG in guess.get_ydata() and BOUND_DEG in bound.get_ydata()
    assert STUCK_DEG not in bound.get_ydata()


def test_no_face_is_a_gap_in_every_line(figure):
    gap = [i / FPS for i in range(N) if _kind_at(i / FPS) is None]
    for line, pts in _traces(figure):
        assert not any(gap[0] - 1e-9 <= t <= gap[-1] + 1e-9 for t, _ in pts)
        for run in _runs(line):
            for (t0, _), (t1, _) in zip(run, run[1:]):
                assert not (t0 < gap[0] and t1 > gap[-1]), "a line is drawn across the frames without a face"


def test_legend_says_what_each_style_means(figure):
    texts = [t.get_text() for legend in figure.legends for t in legend.get_texts()]
    assert "your head" in texts
    assert LEGEND_UNTRUSTED in texts and LEGEND_BOUND in texts
    assert "face not in view" in texts


def test_rep_dot_sits_on_a_measured_reading_not_on_a_guess(figure):
    dots = [line for ax in figure.axes for line in ax.get_lines()
            if line.get_marker() == "o" and len(line.get_xdata()) == 1]
    assert [float(d.get_ydata()[0]) for d in dots] == [BOUND_DEG]


def test_frame_kinds_fall_back_to_the_overall_flag_then_to_trusted():
    from neckcoach.report.trace_trust import frame_kinds

    trace = {"t_s": [0.0, 0.1, 0.2, 0.3], "face_found": [1.0, 1.0, 0.0, 1.0],
             "reliable": [1.0, 0.0, 0.0, 1.0], "roll_deg": [1.0, 2.0, 0.0, math.nan]}
    assert frame_kinds(trace, "roll") == [TRUSTED, UNTRUSTED, None, None]
    old = {"t_s": [0.0, 0.1], "face_found": [1.0, 1.0], "yaw_deg": [3.0, 4.0]}
    assert frame_kinds(old, "yaw") == [TRUSTED, TRUSTED]


def test_report_explains_the_styles_in_plain_words(tmp_path):
    folder = tmp_path / "session"
    folder.mkdir()
    (folder / "session.json").write_text(json.dumps(SESSION))
    cols = _trace()
    with open(folder / "trace.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(list(cols))
        writer.writerows(zip(*cols.values()))
    text = build_report(folder, tmp_path / "report.html").read_text()
    assert "Grey dashed line: not measured reliably" in text
    assert "at least this far" in text and "face was not in view" in text
    assert (tmp_path / "report_angles.png").stat().st_size > 1000


def test_a_guess_joins_its_trusted_neighbours_and_a_lone_reading_is_a_dot():
    from neckcoach.report.trace_trust import trust_lines

    trace = {"t_s": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "face_found": [1.0] * 6, "yaw_deg": [0, 1, 9, 3, 9, 5],
             "yaw_reliable": [1, 1, 0, 1, 0, 1], "yaw_lower_bound": [0] * 6}
    parts = trust_lines(trace, "yaw")
    assert parts.lines[TRUSTED] == ([0.0, 1.0], [0.0, 1.0])
    assert parts.lines[UNTRUSTED] == ([1.0, 2.0, 3.0, 4.0, 5.0], [1.0, 9.0, 3.0, 9.0, 5.0])
    assert parts.dots[TRUSTED] == ([3.0, 5.0], [3.0, 5.0])  # trusted, but between guesses: no solid line
    assert parts.lines[LOWER_BOUND] == ([], []) and parts.dots[UNTRUSTED] == ([], [])


@pytest.mark.parametrize("flag, said", [(True, True), (1.0, True), (False, False), (0.0, False),
                                        (float("nan"), False), (None, False)])
def test_the_rep_table_says_at_least_for_a_peak_beyond_what_was_measured(flag, said):
    """The summary and the range table said "at least 33°" for a lower-bound peak while the
    repetitions table printed -33.3° as a measurement (a rendered flexion/extension review).
    `flag` as session.json (bool) or a rebuilt reps.csv (1.0 / 0.0 / NaN) holds it."""
    from neckcoach.io.records import SessionData
    from neckcoach.report.html import _rep_table

    rep = dict(SESSION["exercises"][0]["reps"][0], peak_lower_bound=flag, peak_deg=-BOUND_DEG, side="right")
    session = {**SESSION, "exercises": [{**SESSION["exercises"][0], "reps": [rep]}]}
    table = _rep_table(SessionData(path=None, session=session, trace={}))
    assert (f"at least {BOUND_DEG:.1f}°" in table) is said  # its size: the side says which way
    assert (f"-{BOUND_DEG:.1f}°" in table) is not said
