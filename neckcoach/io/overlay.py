"""On-screen coaching overlay drawn with cv2 onto a BGR frame (no window).

Drawing is separate from display so it can be tested headless and reused for
recorded demo videos. Sizes scale with the frame (its height, or its width
where that is narrower than 4:3) and the default is already large: the
patient stands or sits up to 2 m from a laptop screen.

Layout (`layout`): the patient watches their own head, so nothing but the
thin header, tempo bar and one or two lines of instruction sits above it,
and nothing at all over the face. The face is in the middle of the picture
(the camera check asks for that): in a landscape frame the gauge and the
hold ring stand in the column to the right of the face, down to the shoulder
line; in a portrait frame (or one too narrow for a column) the gauge sits
at the bottom, below the chin, where the chest is. Messages (a pause and
why, calibration, rest) go in the top band or the bottom band.

Mirroring: the camera image is flipped (selfie view) by default because people
move more naturally against a mirror. The gauge is laid out in the patient's
frame: a positive value of a left/right axis (yaw/roll > 0 = towards the
subject's LEFT) moves the needle to the LEFT of the screen when mirrored, which
is where the patient sees their own left side; without mirroring it moves right.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

SEVERITY_BGR = {
    "info": (255, 255, 255),
    "ok": (80, 220, 80),
    "warn": (0, 200, 255),
    "danger": (40, 40, 235),
}
RED = (30, 30, 220)
GREEN = (60, 200, 60)
WHITE = (255, 255, 255)
GREY = (150, 150, 150)
PANEL = (30, 30, 30)
AMBER = (0, 190, 255)
FONT = cv2.FONT_HERSHEY_DUPLEX
LATERAL_AXES = ("yaw", "roll")
# (negative end, positive end) of each axis, in the project's sign conventions
AXIS_END_LABELS = {"yaw": ("R", "L"), "roll": ("R", "L"), "pitch": ("up", "down"),
                   "retraction": ("fwd", "back")}
_HEADER = 64  # layout in units of the style scale (1 unit = 1 px at 480 p)
_TEMPO_Y = _HEADER + 18
_CUE_Y = _TEMPO_Y + 44
_GAUGE_BOTTOM = 50
FACE_ZONE_FRAC = 0.38
"""Share of the frame's width kept clear for the face, centred: a face up to
~0.25 of the width (a laptop user at 0.45-1 m) turning +-50 deg (its centre
moves about half a face width) stays inside it."""
SIDE_COLUMN_MIN_PX = 150
"""At 480 p, the narrowest column beside the face that holds a readable gauge
(radius ~50 px): below it the gauge goes to the bottom instead."""
PAUSE_TITLE = "Counting paused"
WAITING_TITLE = "Not counting yet"
USER_PAUSE_MESSAGE = "Press space to continue."
RECALIBRATE_PAUSE_MESSAGE = "Taking your starting position again: sit tall and look at the screen."


@dataclass
class OverlayState:
    """Everything the overlay shows for one frame; None hides an element.

    Gauge values (`live_value`, `target_value`, `target_band`) are SIGNED values
    on `axis` in the project conventions (e.g. extension is negative pitch), so
    the needle and the green band sit on the side the patient moves to;
    `safety_limit` is a magnitude drawn on both sides. `unit` is "deg" or "mm".
    """

    exercise_name: str = ""
    side: str = ""
    rep: int = 0
    reps_total: int = 0
    set_index: int = 0
    sets_total: int = 0
    axis: str = "yaw"
    unit: str = "deg"
    live_value: float | None = None
    live_trust: str = "measured"  # or "at_least" (a lower bound) or "unsure" (not measured reliably)
    target_value: float | None = None
    target_band: tuple[float, float] | None = None
    safety_limit: float | None = None
    hold_progress: float | None = None
    hold_s_left: float | None = None
    rest_s_left: float | None = None
    tempo_phase: float | None = None
    tempo_label: str = ""
    cue_text: str = ""
    cue_severity: str = "info"
    safety_banner: str = ""
    face_lost: bool = False
    face_lost_message: str = "Face not found - look at the camera"
    paused: bool = False
    pause_message: str = ""  # while counting is paused: why, and what to do (shown all along)
    pause_title: str = PAUSE_TITLE  # "Counting paused", or "Not counting yet" before counting has started
    calibrating_progress: float | None = None
    fps: float | None = None


class _Style:
    """Sizes for one frame height; equal (and hashable) by scale, so layouts can be cached."""

    def __init__(self, h: int, big: bool, w: int | None = None) -> None:
        fit = h / 480.0 if w is None else min(h / 480.0, w / 640.0)
        self.s = fit * (1.5 if big else 1.0)
        self.pad = int(12 * self.s)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Style) and other.s == self.s

    def __hash__(self) -> int:
        return hash(self.s)

    def font(self, k: float) -> float:
        return 0.8 * k * self.s

    def thick(self, k: float = 1.0) -> int:
        return max(1, int(round(2 * k * self.s)))


@dataclass(frozen=True)
class _Label:
    """A string rendered once in one colour, blended as `roi * keep / 255 + paint`."""

    keep: np.ndarray  # (h, w, 3) uint8: 255 * (1 - outline coverage)
    paint: np.ndarray  # (h, w, 3) uint8: fill coverage * colour
    left: int  # sprite column of the text origin
    baseline_row: int  # sprite row of the text baseline
    width: int  # text size at the fill thickness, as cv2.getTextSize gives it
    height: int  # including the descent below the baseline

    @property
    def nbytes(self) -> int:
        return self.keep.nbytes + self.paint.nbytes


def _new_label(text: str, scale: float, th: int, outline: int,
               draw: Callable[[np.ndarray, np.ndarray, tuple[int, int]], None]) -> _Label:
    """An empty sprite for `text`, filled by `draw(keep, paint, origin)`.

    The text origin is at (m, m + cap height), m = th + outline, so all labels of
    one size share their rows and baseline and words can be pasted into strings.
    """
    (w, h), base = cv2.getTextSize(text, FONT, scale, th + outline)
    m = outline + th
    keep = np.full((h + base + 2 * m, w + 2 * m, 3), 255, np.uint8)
    paint = np.zeros_like(keep)
    draw(keep, paint, (m, m + h))
    (tw, th_), tb = cv2.getTextSize(text, FONT, scale, th)
    return _Label(keep, paint, (keep.shape[1] - tw) // 2, m + h, tw, th_ + tb)


def _render_label(text: str, scale: float, th: int, outline: int, color: tuple) -> _Label:
    """Anti-aliased fill over a dark outline `outline` px wide (readable on any image)."""

    def draw(keep, paint, org):
        edge = np.zeros(keep.shape[:2], np.uint8)
        fill = np.zeros_like(edge)
        cv2.putText(edge, text, org, FONT, scale, 255, th + outline, cv2.LINE_AA)
        cv2.putText(fill, text, org, FONT, scale, 255, th, cv2.LINE_AA)
        cv2.cvtColor(255 - edge, cv2.COLOR_GRAY2BGR, dst=keep)
        paint[:] = np.round(fill[..., None] * (np.asarray(color, np.float32) / 255.0))

    return _new_label(text, scale, th, outline, draw)


class _LabelCache:
    """Bounded LRU of rendered labels, limited by entry count and by bytes.

    The overlay redraws the same few strings every frame; rendering thick
    anti-aliased Hershey text costs 0.2-3 ms a string, blending a cached label
    ~25 us. Strings that change (a percentage, a live angle) are assembled from
    cached words, so only the new word is rendered. The byte limit matters for
    big text on large frames.
    """

    def __init__(self, max_entries: int = 512, max_bytes: int = 32 << 20) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.nbytes = 0
        self.misses = 0
        self._items: OrderedDict[tuple, _Label] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, text: str, scale: float, th: int, outline: int, color: tuple) -> _Label:
        key = (text, scale, th, outline, tuple(color))
        label = self._items.get(key)
        if label is not None:
            self._items.move_to_end(key)
            return label
        self.misses += 1
        label = self._compose(*key) if " " in text.strip(" ") else _render_label(*key)
        self._items[key] = label
        self.nbytes += label.nbytes
        while self._items and (len(self._items) > self.max_entries or self.nbytes > self.max_bytes):
            _, old = self._items.popitem(last=False)
            self.nbytes -= old.nbytes
        return label

    def _compose(self, text: str, scale: float, th: int, outline: int, color: tuple) -> _Label:
        """Several words, each from the cache, placed at its advance in the string.

        putText places a word to 1/65536 px, here it is rounded to the pixel: the
        same text within half a pixel. A space is wider than the outline, so
        words do not overlap (a few edge pixels at the smallest sizes) and
        min/max merges their masks.
        """
        words = []
        start = 0
        for word in text.split(" "):
            if word:
                x = cv2.getTextSize(text[:start], FONT, scale, 0)[0][0] if start else 0
                words.append((x, self.get(word, scale, th, outline, color)))
            start += len(word) + 1

        def draw(keep, paint, org):
            for x, part in words:
                w = min(part.keep.shape[1], keep.shape[1] - x)
                if w <= 0:
                    continue
                box = (slice(None), slice(x, x + w))
                np.minimum(keep[box], part.keep[:, :w], out=keep[box])
                np.maximum(paint[box], part.paint[:, :w], out=paint[box])

        return _new_label(text, scale, th, outline, draw)


_LABELS = _LabelCache()


def _blit(img, label: _Label, x: int, y: int) -> None:
    """Blend a label with its top-left corner at (x, y), clipped to the image.

    Two saturating uint8 cv2 calls on the label's box only (within 1 grey level
    of float blending, ~25x faster than numpy float32).
    """
    h, w = label.keep.shape[:2]
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(img.shape[1], x + w), min(img.shape[0], y + h)
    if x1 <= x0 or y1 <= y0:
        return
    roi = img[y0:y1, x0:x1]
    box = (slice(y0 - y, y1 - y), slice(x0 - x, x1 - x))
    cv2.multiply(roi, label.keep[box], dst=roi, scale=1 / 255)
    cv2.add(roi, label.paint[box], dst=roi)


def _text(img, text, org, st, k=1.0, color=WHITE, weight=1.0, anchor="left") -> tuple[int, int]:
    scale, th = round(st.font(k), 3), st.thick(weight)
    label = _LABELS.get(text, scale, th, max(1, min(st.thick(1.2), th)), color)
    x, y = org
    if anchor == "center":
        x -= label.width // 2
    elif anchor == "right":
        x -= label.width
    _blit(img, label, x - label.left, y - label.baseline_row)
    return label.width, label.height


def _panel(img, x0, y0, x1, y1, color=PANEL, alpha=0.6) -> None:
    """Darken a box towards a grey level (one fused cv2 call: cheap per frame)."""
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(img.shape[1], x1), min(img.shape[0], y1)
    if x1 <= x0 or y1 <= y0:
        return
    roi = img[y0:y1, x0:x1]
    cv2.convertScaleAbs(roi, dst=roi, alpha=1.0 - alpha, beta=sum(color) / len(color) * alpha)


@dataclass(frozen=True)
class Layout:
    """Where everything goes on a frame of one size (pixels); see the module docstring."""

    face_zone: tuple[int, int]  # (x0, x1): columns kept clear for the face
    gauge_centre: tuple[int, int]
    gauge_radius: int
    gauge_box: tuple[int, int, int, int]  # the gauge's panel (x0, y0, x1, y1)
    hold_centre: tuple[int, int]
    hold_radius: int
    side_column: bool  # the gauge stands beside the face (landscape), else below it
    cue_y: int  # first baseline of the instruction lines under the header
    bottom_y: int  # baseline of a message in the bottom band (calibration, rest)


@lru_cache(maxsize=32)
def layout(frame_shape: tuple[int, ...], big: bool = False) -> Layout:
    """The overlay's layout for a frame of `frame_shape` ((h, w[, 3]))."""
    h, w = frame_shape[:2]
    st = _Style(h, big, w)
    face_x0, face_x1 = int(w * (1 - FACE_ZONE_FRAC) / 2), int(w * (1 + FACE_ZONE_FRAC) / 2)
    column = w - face_x1
    cy = h - st.pad - int(_GAUGE_BOTTOM * st.s)
    side = column >= SIDE_COLUMN_MIN_PX * st.s and w >= h
    hold_r = int(40 * st.s)
    label_h = int(28 * st.s)
    if side:
        r = int(max(10, min(column / 2 - 2 * st.pad, 0.17 * h)))
        cx = w - column // 2
        box = (cx - r - 2 * st.pad, cy - r - 2 * st.pad, cx + r + 2 * st.pad, cy + int(55 * st.s))
        hold = (cx, box[1] - st.pad - label_h - hold_r)
    else:
        r = int(max(10, min(0.22 * w, 0.14 * h)))
        cx = w // 2
        box = (cx - r - 2 * st.pad, cy - r - 2 * st.pad, cx + r + 2 * st.pad, cy + int(55 * st.s))
        beside = box[2] + st.pad + hold_r
        hold = (beside, cy - r // 3) if beside + hold_r <= w else (cx + r, box[1] - st.pad - label_h - hold_r)
    return Layout((face_x0, face_x1), (cx, cy), r, box, hold, hold_r, side, int(_CUE_Y * st.s),
                  h - st.pad - int(30 * st.s))


def gauge_geometry(frame_shape, big: bool = False) -> tuple[tuple[int, int], int]:
    """(centre, radius) of the angle gauge, exposed so tests can probe it."""
    lay = layout(tuple(frame_shape[:2]), big)
    return lay.gauge_centre, lay.gauge_radius


def _gauge_span(state: OverlayState) -> float:
    vals = [abs(v) for v in (state.safety_limit, state.target_value, state.live_value) if v is not None]
    if state.target_band:
        vals += [abs(v) for v in state.target_band]
    return max([30.0] + [v * 1.15 for v in vals])


def _clip(v: float, lo: float = 0.0, hi: float = 1.0) -> float:
    """np.clip for one number, which costs ~5 us there (called several times a frame)."""
    return min(max(float(v), lo), hi)


def gauge_text(state: OverlayState) -> str:
    """The gauge's number as the measurement stands (issue #14): a reading not measured
    reliably is not shown as a number, and one beyond what the camera can measure is
    "at least" it."""
    unit = "mm" if state.unit == "mm" else "deg"
    if state.live_value is None:
        return ""
    if state.live_trust == "unsure":
        return "unsure"
    if state.live_trust == "at_least":
        return f"at least {abs(state.live_value):.0f} {unit}"
    if round(state.live_value) == 0:
        return f"0 {unit}"  # not "-0": a head at rest reads a few tenths either side
    return f"{state.live_value:+.0f} {unit}"


def _value_to_angle(v: float, span: float, screen_sign: int) -> float:
    """Gauge angle in degrees: 0 = straight up, positive = towards screen right."""
    return _clip(v / span, -1.0) * 90.0 * screen_sign


def _pt(c, r, ang_deg):
    a = math.radians(ang_deg)
    return int(round(c[0] + r * math.sin(a))), int(round(c[1] - r * math.cos(a)))


def _arc(img, c, r, a0, a1, color, th) -> None:
    # cv2.ellipse measures angles clockwise from +x; ours are from "up", clockwise
    lo, hi = sorted((a0 - 90.0, a1 - 90.0))
    cv2.ellipse(img, c, (r, r), 0, lo, hi, color, th, cv2.LINE_AA)


def _draw_gauge(img, st, state: OverlayState, mirror: bool, big: bool) -> None:
    lay = layout(img.shape[:2], big)
    c, r = lay.gauge_centre, lay.gauge_radius
    span = _gauge_span(state)
    lateral = state.axis in LATERAL_AXES
    # lateral: subject's left is screen left when mirrored, screen right otherwise
    sign = (-1 if mirror else 1) if lateral else 1
    _panel(img, *lay.gauge_box, alpha=0.55)
    _arc(img, c, r, -90, 90, GREY, st.thick(3))
    if state.target_band is not None:
        lo, hi = state.target_band
        _arc(img, c, r, _value_to_angle(lo, span, sign), _value_to_angle(hi, span, sign),
             GREEN, st.thick(7))
    if state.target_value is not None:
        a = _value_to_angle(state.target_value, span, sign)
        cv2.line(img, _pt(c, r - st.thick(6), a), _pt(c, r + st.thick(6), a), GREEN, st.thick(2),
                 cv2.LINE_AA)
    if state.safety_limit is not None:
        for lim in (abs(state.safety_limit), -abs(state.safety_limit)):
            a = _value_to_angle(lim, span, sign)
            cv2.line(img, _pt(c, r - st.thick(9), a), _pt(c, r + st.thick(9), a), RED,
                     st.thick(3), cv2.LINE_AA)
    cv2.line(img, _pt(c, r - st.thick(4), 0), _pt(c, r + st.thick(4), 0), WHITE, st.thick(1))
    if state.live_value is not None and not state.face_lost:
        a = _value_to_angle(state.live_value, span, sign)
        colour = WHITE
        if state.live_trust == "unsure":
            colour = GREY  # where the head seems to be, not a measurement: no colour judges it
        elif state.safety_limit is not None and abs(state.live_value) >= abs(state.safety_limit):
            colour = RED
        elif state.target_band and min(state.target_band) <= state.live_value <= max(state.target_band):
            colour = GREEN
        cv2.line(img, c, _pt(c, r - st.thick(2), a), colour, st.thick(3), cv2.LINE_AA)
        cv2.circle(img, c, st.thick(5), colour, -1, cv2.LINE_AA)
        label = gauge_text(state)  # inside the end labels (L / R) at the dial's ends
        _text(img, label, (c[0], c[1] + int(40 * st.s)), st, _fit(label, st, 1.1, 1.2, int(1.6 * r)), colour, 1.2,
              "center")
    neg_label, pos_label = AXIS_END_LABELS.get(state.axis, ("", ""))
    pos_x, neg_x = (c[0] + sign * r, c[0] - sign * r)
    for label, x in ((pos_label, pos_x), (neg_label, neg_x)):
        if label:
            _text(img, label, (x, c[1] + int(30 * st.s)), st, 0.7, GREY, 1.0, "center")
    if state.hold_progress is not None:
        _draw_hold_ring(img, st, state, lay.hold_centre, lay.hold_radius)


def _draw_hold_ring(img, st, state: OverlayState, centre, rr: int) -> None:
    p = _clip(state.hold_progress)
    cv2.circle(img, centre, rr, GREY, st.thick(3), cv2.LINE_AA)
    if p > 0:
        cv2.ellipse(img, centre, (rr, rr), 0, -90, -90 + 360 * p, GREEN, st.thick(5), cv2.LINE_AA)
    label = f"{state.hold_s_left:.0f}" if state.hold_s_left is not None else "hold"
    _text(img, label, (centre[0], centre[1] + int(12 * st.s)), st, 1.1, WHITE, 1.2, "center")
    _text(img, "HOLD", (centre[0], centre[1] + rr + int(28 * st.s)), st, 0.6, GREEN, 1.0, "center")


def _fit(text: str, st: _Style, k: float, weight: float, width: int) -> float:
    """Largest font factor <= k at which `text` fits in `width` pixels."""
    while k > 0.4 and cv2.getTextSize(text, FONT, st.font(k), st.thick(weight))[0][0] > width:
        k -= 0.05
    return k


def greedy_lines(items, fits, sep: str = " ") -> list[str]:
    """`items` joined by `sep` into lines, each taking the next item while `fits(line)`; an item
    that does not fit on its own stands alone on its line (the caller decides what to do then)."""
    lines: list[str] = []
    for item in items:
        candidate = f"{lines[-1]}{sep}{item}" if lines else item
        if lines and fits(candidate):
            lines[-1] = candidate
        else:
            lines.append(item)
    return lines


@lru_cache(maxsize=256)
def _wrap(text: str, st: _Style, k: float, weight: float, width: int,
          max_lines: int = 3) -> tuple[tuple[str, ...], float]:
    """Lines of at most `width` pixels and the font factor used.

    Instructions run to two or three sentences ("Turn your head, about 50
    degrees, 10 times..."): shrinking them onto one line makes them unreadable
    at 2 m, so they wrap first and shrink only if `max_lines` still do not fit.
    A cue stays on screen for seconds, so the layout is cached, not redone per frame.
    """
    words = text.split()
    while True:
        lines = greedy_lines(words, lambda line: cv2.getTextSize(line, FONT, st.font(k), st.thick(weight))[0][0]
                             <= width)
        if len(lines) <= max_lines or k <= 0.6:
            return tuple(lines), _fit(max(lines, key=len) if lines else "", st, k, weight, width)
        k -= 0.1


def _text_block(img, st, text: str, centre_x: int, first_baseline_y: int, k: float, color, weight: float,
                width: int, max_lines: int = 3) -> None:
    """`text` wrapped (see `_wrap`) and centred, first line's baseline at `first_baseline_y`."""
    lines, k = _wrap(text, st, k, weight, width, max_lines)
    step = int(cv2.getTextSize("Ag", FONT, st.font(k), st.thick(weight))[0][1] * 1.6)
    for i, line in enumerate(lines):
        _text(img, line, (centre_x, first_baseline_y + i * step), st, k, color, weight, "center")


def _draw_header(img, st, state: OverlayState) -> int:
    h, w = img.shape[:2]
    bar_h = int(_HEADER * st.s)
    _panel(img, 0, 0, w, bar_h, alpha=0.7)
    rep_w = 0
    if state.reps_total:
        rep_w, _ = _text(img, f"{state.rep} / {state.reps_total}", (w - st.pad, int(52 * st.s)),
                         st, 1.8, WHITE, 1.8, "right")
    set_w = 0
    set_label = f"set {state.set_index}/{state.sets_total}" if state.sets_total else ""
    set_room = cv2.getTextSize(set_label, FONT, st.font(0.8), st.thick(1.0))[0][0] if set_label else 0
    if set_label and w - rep_w - set_room - 7 * st.pad >= w // 3:  # else the title needs the room
        set_w, _ = _text(img, set_label, (w - rep_w - 3 * st.pad, int(42 * st.s)), st, 0.8, WHITE, 1.0, "right")
    title = state.exercise_name or "NeckCoach"
    if state.side:
        title = f"{title} - {state.side}"
    avail = w - rep_w - set_w - 7 * st.pad
    _text(img, title, (st.pad, int(42 * st.s)), st, _fit(title, st, 1.0, 1.0, avail), WHITE, 1.0)
    if state.fps is not None:
        _text(img, f"{state.fps:.0f} fps", (st.pad, h - st.pad), st, 0.55, GREY, 0.8)
    return bar_h


def _draw_tempo(img, st, state: OverlayState, y: int) -> None:
    w = img.shape[1]
    x0, x1 = int(w * 0.2), int(w * 0.8)
    bh = int(14 * st.s)
    cv2.rectangle(img, (x0, y), (x1, y + bh), GREY, st.thick(1), cv2.LINE_AA)
    p = _clip(state.tempo_phase)
    cv2.rectangle(img, (x0, y), (x0 + int((x1 - x0) * p), y + bh), AMBER, -1)
    if state.tempo_label:
        _text(img, state.tempo_label, (x0 - st.pad, y + bh), st, 0.7, AMBER, 1.0, "right")


def banner_rows(frame_shape, big: bool = False, with_cue: bool = False) -> tuple[int, int]:
    """(top, bottom) pixel rows of the red safety banner, exposed for tests."""
    st = _Style(frame_shape[0], big, frame_shape[1])
    y0 = int((_TEMPO_Y + 20) * st.s)
    return y0, y0 + int((122 if with_cue else 84) * st.s)


def _draw_banner(img, st, text: str, cue: str, big: bool) -> None:
    """Red band over the cue line; the current cue, if any, becomes its second line."""
    w = img.shape[1]
    y0, y1 = banner_rows(img.shape, big, bool(cue))
    cv2.rectangle(img, (0, y0), (w, y1), RED, -1)
    k = _fit(text, st, 1.5, 1.6, w - 2 * st.pad)
    _text(img, text, (w // 2, y0 + int(58 * st.s)), st, k, WHITE, 1.6, "center")
    if cue:
        _text(img, cue, (w // 2, y0 + int(100 * st.s)), st, _fit(cue, st, 0.9, 1.0, w - 2 * st.pad),
              WHITE, 1.0, "center")


def _centre_message(img, st, text: str, k: float, color, y: int) -> None:
    w = img.shape[1]
    _text_block(img, st, text, w // 2, y, k, color, 1.4, w - 2 * st.pad, 2)


def _top_notice(img, st, lay: Layout, title: str, text: str, color) -> None:
    """A title and up to three lines under the header, on a dark band so they read on any picture."""
    w = img.shape[1]
    lines, k = _wrap(text, st, 0.9, 1.1, w - 2 * st.pad, 3) if text else ((), 0.9)
    step = int(cv2.getTextSize("Ag", FONT, st.font(k), st.thick(1.1))[0][1] * 1.6)
    top = int(_HEADER * st.s)
    bottom = lay.cue_y + (len(lines) - (0 if title else 1)) * step + st.pad
    _panel(img, 0, top, w, bottom, alpha=0.6)
    if title:  # the title in `color`, the explanation under it in white
        _text(img, title, (w // 2, lay.cue_y), st, _fit(title, st, 1.1, 1.4, w - 2 * st.pad), color, 1.4, "center")
    first = 1 if title else 0
    for i, line in enumerate(lines):
        _text(img, line, (w // 2, lay.cue_y + (i + first) * step), st, k, WHITE if title else color, 1.1, "center")


def draw_overlay(frame_bgr: np.ndarray, state: OverlayState, *, mirror: bool = True,
                 big: bool = False) -> np.ndarray:
    """Return a new BGR frame: the (mirrored) camera image with the coaching overlay."""
    if frame_bgr.ndim == 2:
        frame_bgr = cv2.cvtColor(frame_bgr, cv2.COLOR_GRAY2BGR)
    img = cv2.flip(frame_bgr, 1) if mirror else frame_bgr.copy()
    h, w = img.shape[:2]
    st = _Style(h, big, w)
    lay = layout((h, w), big)
    pause_message = state.pause_message or (USER_PAUSE_MESSAGE if state.paused else "")
    if state.face_lost or state.paused or pause_message:
        # Dimmed, not hidden: the patient must still see how they sit to put it right.
        cv2.convertScaleAbs(img, dst=img, alpha=0.6)
    _draw_header(img, st, state)
    if state.rest_s_left is None and state.calibrating_progress is None:
        _draw_gauge(img, st, state, mirror, big)
    if state.tempo_phase is not None and not pause_message:
        _draw_tempo(img, st, state, int(_TEMPO_Y * st.s))
    if pause_message:  # why counting waits and what to do, for as long as it waits
        _top_notice(img, st, lay, state.pause_title, pause_message, AMBER)
    elif state.face_lost:
        _top_notice(img, st, lay, "", state.face_lost_message, AMBER)
    elif state.cue_text and not state.safety_banner:
        color = SEVERITY_BGR.get(state.cue_severity, WHITE)
        _text_block(img, st, state.cue_text, w // 2, lay.cue_y, 1.1, color, 1.3, w - 2 * st.pad)
    if state.rest_s_left is not None:
        _centre_message(img, st, f"Rest {state.rest_s_left:.0f} s", 2.0, AMBER, lay.bottom_y - int(10 * st.s))
    if state.calibrating_progress is not None:
        p = _clip(state.calibrating_progress)
        yb = h - st.pad - int(16 * st.s)
        _centre_message(img, st, f"Calibrating - look straight ahead  {p * 100:.0f}%", 1.0, WHITE,
                        yb - int(14 * st.s))
        x0, x1 = int(w * 0.2), int(w * 0.8)
        cv2.rectangle(img, (x0, yb), (x1, yb + int(12 * st.s)), GREY, st.thick(1))
        cv2.rectangle(img, (x0, yb), (x0 + int((x1 - x0) * p), yb + int(12 * st.s)), GREEN, -1)
    if state.safety_banner:
        _draw_banner(img, st, state.safety_banner, state.cue_text, big)
    return img
