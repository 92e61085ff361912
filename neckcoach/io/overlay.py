"""On-screen coaching overlay drawn with cv2 onto a BGR frame (no window).

Drawing is separate from display so it can be tested headless and reused for
recorded demo videos. Sizes scale with the frame height and the default is
already large: the patient stands or sits up to 2 m from a laptop screen.

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
_CUE_Y = _TEMPO_Y + 62
_TOP_RESERVED = _CUE_Y + 20
_GAUGE_BOTTOM = 50


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
    calibrating_progress: float | None = None
    fps: float | None = None


class _Style:
    """Sizes for one frame height; equal (and hashable) by scale, so layouts can be cached."""

    def __init__(self, h: int, big: bool) -> None:
        self.s = h / 480.0 * (1.5 if big else 1.0)
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


def gauge_geometry(frame_shape, big: bool = False) -> tuple[tuple[int, int], int]:
    """(centre, radius) of the angle gauge, exposed so tests can probe it."""
    h, w = frame_shape[:2]
    st = _Style(h, big)
    cy = h - st.pad - int(_GAUGE_BOTTOM * st.s)
    r = int(max(10, min(w * 0.2, cy - _TOP_RESERVED * st.s - 2 * st.pad)))
    return (w // 2, cy), r


def _gauge_span(state: OverlayState) -> float:
    vals = [abs(v) for v in (state.safety_limit, state.target_value, state.live_value) if v is not None]
    if state.target_band:
        vals += [abs(v) for v in state.target_band]
    return max([30.0] + [v * 1.15 for v in vals])


def _clip(v: float, lo: float = 0.0, hi: float = 1.0) -> float:
    """np.clip for one number, which costs ~5 us there (called several times a frame)."""
    return min(max(float(v), lo), hi)


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
    c, r = gauge_geometry(img.shape, big)
    span = _gauge_span(state)
    lateral = state.axis in LATERAL_AXES
    # lateral: subject's left is screen left when mirrored, screen right otherwise
    sign = (-1 if mirror else 1) if lateral else 1
    _panel(img, c[0] - r - st.pad * 2, c[1] - r - st.pad * 2, c[0] + r + st.pad * 2,
           c[1] + int(55 * st.s), alpha=0.55)
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
        if state.safety_limit is not None and abs(state.live_value) >= abs(state.safety_limit):
            colour = RED
        elif state.target_band and min(state.target_band) <= state.live_value <= max(state.target_band):
            colour = GREEN
        cv2.line(img, c, _pt(c, r - st.thick(2), a), colour, st.thick(3), cv2.LINE_AA)
        cv2.circle(img, c, st.thick(5), colour, -1, cv2.LINE_AA)
        unit = "mm" if state.unit == "mm" else "deg"
        _text(img, f"{state.live_value:+.0f} {unit}", (c[0], c[1] + int(40 * st.s)), st, 1.1,
              colour, 1.2, "center")
    neg_label, pos_label = AXIS_END_LABELS.get(state.axis, ("", ""))
    pos_x, neg_x = (c[0] + sign * r, c[0] - sign * r)
    for label, x in ((pos_label, pos_x), (neg_label, neg_x)):
        if label:
            _text(img, label, (x, c[1] + int(30 * st.s)), st, 0.7, GREY, 1.0, "center")
    if state.hold_progress is not None:
        _draw_hold_ring(img, st, state, (c[0] + r + int(70 * st.s), c[1] - r // 3))


def _draw_hold_ring(img, st, state: OverlayState, centre) -> None:
    rr = int(40 * st.s)
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
        lines: list[str] = []
        for word in words:
            candidate = f"{lines[-1]} {word}" if lines else word
            if lines and cv2.getTextSize(candidate, FONT, st.font(k), st.thick(weight))[0][0] <= width:
                lines[-1] = candidate
            else:
                lines.append(word)
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
    if state.sets_total:
        set_w, _ = _text(img, f"set {state.set_index}/{state.sets_total}",
                         (w - rep_w - 3 * st.pad, int(42 * st.s)), st, 0.8, WHITE, 1.0, "right")
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
    st = _Style(frame_shape[0], big)
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


def _centre_message(img, st, text: str, k: float = 1.3, color=WHITE, y: int | None = None) -> None:
    h, w = img.shape[:2]
    _text_block(img, st, text, w // 2, y if y is not None else h // 2, k, color, 1.4, w - 2 * st.pad, 2)


def draw_overlay(frame_bgr: np.ndarray, state: OverlayState, *, mirror: bool = True,
                 big: bool = False) -> np.ndarray:
    """Return a new BGR frame: the (mirrored) camera image with the coaching overlay."""
    if frame_bgr.ndim == 2:
        frame_bgr = cv2.cvtColor(frame_bgr, cv2.COLOR_GRAY2BGR)
    img = cv2.flip(frame_bgr, 1) if mirror else frame_bgr.copy()
    st = _Style(img.shape[0], big)
    h, w = img.shape[:2]
    if state.face_lost or state.paused:
        cv2.convertScaleAbs(img, dst=img, alpha=0.35)
    _draw_header(img, st, state)
    centre, _ = gauge_geometry(img.shape, big)
    if state.rest_s_left is None and state.calibrating_progress is None:
        _draw_gauge(img, st, state, mirror, big)
    if state.tempo_phase is not None:
        _draw_tempo(img, st, state, int(_TEMPO_Y * st.s))
    if state.cue_text and not state.safety_banner:
        color = SEVERITY_BGR.get(state.cue_severity, WHITE)
        _text_block(img, st, state.cue_text, w // 2, int(_CUE_Y * st.s), 1.2, color, 1.3, w - 2 * st.pad)
    if state.rest_s_left is not None:
        _centre_message(img, st, f"Rest {state.rest_s_left:.0f} s", 2.2, AMBER,
                        y=centre[1] - int(30 * st.s))
    if state.calibrating_progress is not None:
        p = _clip(state.calibrating_progress)
        _centre_message(img, st, f"Calibrating - look straight ahead  {p * 100:.0f}%", 1.0)
        x0, x1, yb = int(w * 0.2), int(w * 0.8), h // 2 + int(24 * st.s)
        cv2.rectangle(img, (x0, yb), (x1, yb + int(12 * st.s)), GREY, st.thick(1))
        cv2.rectangle(img, (x0, yb), (x0 + int((x1 - x0) * p), yb + int(12 * st.s)), GREEN, -1)
    if state.face_lost:
        _centre_message(img, st, state.face_lost_message, 1.1, AMBER)
    if state.paused:
        _centre_message(img, st, "PAUSED - press space", 1.6, WHITE)
    if state.safety_banner:
        _draw_banner(img, st, state.safety_banner, state.cue_text, big)
    return img
