"""Overlay drawing: region/colour checks, not pixel snapshots of fonts."""

from __future__ import annotations

import dataclasses
import math
import time

import cv2
import numpy as np
import pytest

from neckcoach.io import overlay
from neckcoach.io.overlay import OverlayState, banner_rows, draw_overlay, gauge_geometry


def _frame(w=640, h=480):
    img = np.zeros((h, w, 3), np.uint8)
    img[:, : w // 2] = (200, 120, 40)  # left half blue-ish, right half dark: flip is visible
    img[:, w // 2:] = (20, 20, 20)
    return img


STATE = OverlayState("Neck rotation", "left", 3, 10, 1, 2, "yaw", "deg", live_value=20.0,
                     target_value=35.0, target_band=(30.0, 40.0), safety_limit=60.0,
                     cue_text="Turn slowly", cue_severity="info")


def _red_fraction(img, y0, y1):
    band = img[y0:y1].astype(int)
    red = (band[..., 2] > 180) & (band[..., 1] < 80) & (band[..., 0] < 80)
    return red.mean()


def test_safety_banner_is_red_only_when_active():
    y0, y1 = banner_rows((480, 640))
    rows = (y0 + 3, y1 - 3)
    plain = draw_overlay(_frame(), STATE)
    warned = draw_overlay(_frame(), dataclasses.replace(STATE, safety_banner="STOP - too fast"))
    assert _red_fraction(warned, *rows) > 0.6
    assert _red_fraction(plain, *rows) < 0.05


def _needle_hits(img, centre, r, ang_deg):
    """Mean brightness along the ray at screen angle (0 = up, + = right)."""
    a = math.radians(ang_deg)
    pts = [(int(centre[0] + t * r * math.sin(a)), int(centre[1] - t * r * math.cos(a)))
           for t in np.linspace(0.3, 0.85, 20)]
    return np.mean([img[y, x].astype(int).sum() / 3 for x, y in pts])


@pytest.mark.parametrize("axis, mirror, screen_side", [
    ("yaw", True, -1), ("yaw", False, +1), ("roll", True, -1), ("pitch", True, +1),
    ("pitch", False, +1)])
def test_needle_follows_live_value_and_mirror(axis, mirror, screen_side):
    """yaw/roll > 0 (subject's left) point to the screen LEFT in the mirrored view,
    where the patient sees their own left; pitch is not a left/right axis."""
    base = np.zeros((480, 640, 3), np.uint8)
    state = dataclasses.replace(STATE, axis=axis, live_value=30.0, target_band=None,
                                target_value=None, safety_limit=None, cue_text="")
    centre, r = gauge_geometry(base.shape)
    img = draw_overlay(base, state, mirror=mirror)
    span = 30.0 * 1.15  # gauge span is the largest magnitude shown, +15 %
    expected = screen_side * 90.0 * 30.0 / span
    assert _needle_hits(img, centre, r, expected) > 150
    assert _needle_hits(img, centre, r, -expected) < 60
    moved = draw_overlay(base, dataclasses.replace(state, live_value=0.0), mirror=mirror)
    assert _needle_hits(moved, centre, r, expected) < 60
    assert _needle_hits(moved, centre, r, 0.0) > 150


def test_mirror_flips_camera_image():
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[200:260, 20:80] = (0, 255, 255)  # marker on the image's left
    state = OverlayState()
    mirrored = draw_overlay(frame, state, mirror=True)
    straight = draw_overlay(frame, state, mirror=False)
    assert (mirrored[230, 640 - 50] == (0, 255, 255)).all()
    assert (straight[230, 50] == (0, 255, 255)).all()
    assert frame[230, 50, 1] == 255  # input untouched


def _amber(img) -> np.ndarray:
    b, g, r = (img[..., i].astype(int) for i in range(3))
    return (r > 200) & (g > 150) & (b < 60)


def test_face_lost_and_paused_dim_the_frame_and_say_so_above_the_face():
    bright = np.full((480, 640, 3), 200, np.uint8)
    normal = draw_overlay(bright, OverlayState())
    lost = draw_overlay(bright, OverlayState(face_lost=True))
    paused = draw_overlay(bright, OverlayState(paused=True))
    region = (slice(380, 470), slice(10, 100))  # a corner no widget covers
    assert normal[region].mean() > 180
    # Dimmed, not blacked out: the patient still sees how they sit.
    assert 90 < lost[region].mean() < 0.7 * normal[region].mean()
    assert 90 < paused[region].mean() < 0.7 * normal[region].mean()
    top, face = slice(64, 200), slice(200, 480)
    assert _amber(lost[top]).mean() > 0.01 and not _amber(lost[face]).any()  # the message, above the face
    assert _amber(paused[top]).mean() > 0.01  # "Counting paused"


def test_grayscale_input_and_draw_time():
    gray = np.full((480, 640), 90, np.uint8)
    out = draw_overlay(gray, STATE)
    assert out.shape == (480, 640, 3)
    full = dataclasses.replace(STATE, hold_progress=0.5, hold_s_left=3.0, tempo_phase=0.3,
                               tempo_label="out", fps=30.0)
    frame = _frame()
    draw_overlay(frame, full)
    t0 = time.perf_counter()
    for _ in range(30):
        draw_overlay(frame, full)
    per_frame_ms = (time.perf_counter() - t0) / 30 * 1e3
    print(f"overlay draw 640x480: {per_frame_ms:.2f} ms/frame")
    assert per_frame_ms < 40  # generous bound for a loaded CI box; typical ~0.5 ms


# -- text label cache --------------------------------------------------------------

WHITE_BGR = (255, 255, 255)
BUSY = dataclasses.replace(STATE, hold_progress=0.5, hold_s_left=3.0, tempo_phase=0.3, tempo_label="out",
                           fps=30.0, safety_banner="Too fast - slow down")


def test_label_cache_is_bounded_by_entries_and_bytes():
    by_count = overlay._LabelCache(max_entries=5)
    labels = [by_count.get(f"label {i}", 0.8, 2, 2, WHITE_BGR) for i in range(20)]
    assert len(by_count) == 5 and by_count.misses > 20  # each two-word string also renders its words
    assert by_count.nbytes == sum(lb.nbytes for lb in by_count._items.values())
    misses = by_count.misses
    assert by_count.get("label 19", 0.8, 2, 2, WHITE_BGR) is labels[-1]  # most recent kept: no render
    assert by_count.misses == misses
    by_bytes = overlay._LabelCache(max_bytes=3 * labels[0].nbytes)
    for i in range(20):
        by_bytes.get(f"label{i}", 0.8, 2, 2, WHITE_BGR)
        assert by_bytes.nbytes <= by_bytes.max_bytes
    assert 1 <= len(by_bytes) <= 3


def test_cached_and_uncached_drawing_are_identical(monkeypatch):
    frame = _frame()
    monkeypatch.setattr(overlay, "_LABELS", overlay._LabelCache(max_entries=0))  # renders every time
    uncached = draw_overlay(frame, BUSY)
    cache = overlay._LabelCache()
    monkeypatch.setattr(overlay, "_LABELS", cache)
    first = draw_overlay(frame, BUSY)
    misses = cache.misses
    second = draw_overlay(frame, BUSY)
    assert cache.misses == misses > 0  # the second frame renders no text
    assert np.array_equal(first, uncached) and np.array_equal(second, uncached)


def test_new_number_renders_only_the_new_word(monkeypatch):
    cache = overlay._LabelCache()
    monkeypatch.setattr(overlay, "_LABELS", cache)
    draw_overlay(_frame(), STATE)
    rendered = []
    real = overlay._render_label
    monkeypatch.setattr(overlay, "_render_label", lambda text, *a: rendered.append(text) or real(text, *a))
    draw_overlay(_frame(), dataclasses.replace(STATE, live_value=23.0))
    assert rendered == ["+23"]  # "deg" and every other label come from the cache


def test_composed_words_sit_where_puttext_puts_them():
    """A string assembled from cached words matches putText of the whole string to a pixel."""
    text = "Calibrating - look straight ahead  67%"
    whole = overlay._render_label(text, 0.8, 3, 2, WHITE_BGR)
    composed = overlay._LabelCache().get(text, 0.8, 3, 2, WHITE_BGR)
    assert composed.keep.shape == whole.keep.shape
    assert (composed.left, composed.baseline_row, composed.width, composed.height) == \
        (whole.left, whole.baseline_row, whole.width, whole.height)
    a, b = whole.keep[..., 0] < 128, composed.keep[..., 0] < 128  # outlined ink
    assert abs(int(a.sum()) - int(b.sum())) < 0.01 * a.sum()

    def grow(mask):  # by one pixel in every direction
        return cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)

    assert not (a & ~grow(b)).any() and not (b & ~grow(a)).any()
    cols_a, cols_b = np.flatnonzero(a.any(0)), np.flatnonzero(b.any(0))
    assert abs(cols_a[0] - cols_b[0]) <= 1 and abs(cols_a[-1] - cols_b[-1]) <= 1


def test_blit_matches_float_blending_and_clips_at_the_border():
    label = overlay._render_label("Hold 3", 1.0, 3, 2, (0, 190, 255))
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    ref = img.astype(np.float32)
    x, y = 50, -10  # runs off the right and top edges
    h, w = label.keep.shape[:2]
    ys, xs = slice(max(0, y), min(60, y + h)), slice(max(0, x), min(80, x + w))
    keep = label.keep[ys.start - y:ys.stop - y, xs.start - x:xs.stop - x].astype(np.float32) / 255
    paint = label.paint[ys.start - y:ys.stop - y, xs.start - x:xs.stop - x].astype(np.float32)
    ref[ys, xs] = ref[ys, xs] * keep + paint
    out = img.copy()
    overlay._blit(out, label, x, y)
    assert np.abs(out.astype(np.float32) - ref).max() <= 1.0
    assert (out[:, :x] == img[:, :x]).all() and (out != img).any()
    before = out.copy()
    overlay._blit(out, label, 500, 500)  # wholly outside: nothing happens
    assert np.array_equal(out, before)


def test_a_long_instruction_wraps_onto_lines_inside_the_frame_instead_of_shrinking():
    from neckcoach.io.overlay import _Style, _wrap

    text = ("Turn your head, about 50 degrees, 10 times, alternating left and right. "
            "Hold each one for 2 seconds. Take about 7 seconds for each.")
    frame = np.full((480, 640, 3), 90, np.uint8)
    state = OverlayState("Head turns", "LEFT", 0, 10, 1, 1, cue_text=text)
    img = draw_overlay(frame, state, mirror=False)
    white = (img.min(axis=2) > 230)
    rows = np.nonzero(white[70:260].any(axis=1))[0]
    assert rows.size and rows.max() - rows.min() > 60, "three lines of text, not one"
    assert not white[70:260, :6].any() and not white[70:260, -6:].any(), "nothing cut off at the edges"
    lines, k = _wrap(text, _Style(480, False), 1.2, 1.3, 640 - 40)
    assert len(lines) == 3 and " ".join(lines) == text and k >= 0.9


# -- layout: the face stays clear ------------------------------------------------

FRAME_SIZES = [(640, 480), (1280, 720), (400, 300), (480, 640), (720, 1280)]
EVERYTHING = dataclasses.replace(STATE, cue_text="Turn your head slowly to the left, about 50 degrees.",
                                 hold_progress=0.5, hold_s_left=1.0, tempo_phase=0.4, tempo_label="hold",
                                 fps=30.0)


def _face_mask(w: int, h: int) -> np.ndarray:
    """Pixels of the virtual patient's face (brows to chin) at a laptop's distance, turning
    +-45 deg, in the raw camera image; the union over the turn."""
    pytest.importorskip("pyrender")
    from neckcoach.sim.render import HeadRenderer

    r = HeadRenderer(width=w, height=h, hfov_deg=60.0 if w >= h else 45.0)
    mask = np.zeros((h, w), bool)
    g = r.geo
    for yaw in (-45.0, 0.0, 45.0):
        _, depth = r._render_pose(yaw, 0.0, 0.0, 0.0, with_depth=True)
        brow = r.project(r.head_points(np.array([0.0, g.eye_level_y + 0.03, g.nose_tip[2]]), yaw, 0, 0))[0, 1]
        chin = r.project(r.head_points(g.chin, yaw, 0.0, 0.0))[0, 1]
        rows = np.zeros((h, 1), bool)
        rows[int(brow):int(chin) + 1] = True
        mask |= (depth > 0) & rows
    return mask


@pytest.mark.parametrize("w,h", FRAME_SIZES, ids=[f"{w}x{h}" for w, h in FRAME_SIZES])
def test_the_face_stays_clear_at_every_frame_size(w, h):
    """Gauge, hold ring, header, tempo bar and a two-line instruction: none of it over the face."""
    face = _face_mask(w, h)[:, ::-1]  # mirrored, as the overlay shows it
    frame = np.full((h, w, 3), 90, np.uint8)
    drawn = draw_overlay(frame, EVERYTHING, mirror=True)
    touched = np.abs(drawn.astype(int) - 90).max(axis=2) > 2
    assert face.sum() > 0.02 * w * h
    assert not (touched & face).any(), f"{int((touched & face).sum())} face pixels covered"
    assert touched.sum() > 0.03 * w * h  # the overlay is there
    lay = overlay.layout((h, w))
    assert lay.side_column == (w > h)
    x0, y0, x1, y1 = lay.gauge_box
    assert 0 <= x0 and x1 <= w and y1 >= 0.75 * h  # the whole gauge in the frame, at the bottom
    hx, hy = lay.hold_centre
    assert lay.hold_radius <= hx <= w - lay.hold_radius and hy >= lay.hold_radius


@pytest.mark.parametrize("w,h", FRAME_SIZES, ids=[f"{w}x{h}" for w, h in FRAME_SIZES])
def test_a_pause_says_why_above_the_face_and_only_dims_it(w, h):
    face = _face_mask(w, h)[:, ::-1]
    frame = np.full((h, w, 3), 150, np.uint8)
    state = dataclasses.replace(STATE, pause_message="There's too much light behind you. Please close the "
                                "curtains or turn on a light in front of you.")
    drawn = draw_overlay(frame, state, mirror=True).astype(int)
    assert np.all(np.abs(drawn[face] - 90) <= 1)  # 150 dimmed to 60 %: seen, not covered
    top = drawn[: int(0.4 * h)]
    assert _amber(top.astype(np.uint8)).sum() > 50  # "Counting paused", in amber
    white = (top.min(axis=2) > 230).sum()
    assert white > 200  # the reason and what to do


def test_gauge_geometry_is_the_layouts():
    for w, h in FRAME_SIZES:
        centre, r = gauge_geometry((h, w, 3))
        lay = overlay.layout((h, w))
        assert (centre, r) == (lay.gauge_centre, lay.gauge_radius) and r >= 40 * min(h / 480, w / 640)


def test_a_narrow_header_keeps_the_title_and_the_count():
    img = draw_overlay(np.full((640, 360, 3), 90, np.uint8), STATE)
    header = np.abs(img[:40].astype(int) - 90).max(axis=2) > 2
    assert header[:, :120].any() and header[:, -120:].any()


def _pause_window_script() -> str:
    from tests.test_io_keys_display import window_script

    return window_script("""OverlayState("Head turns", "LEFT", 4, 10, 1, 1, live_value=3.0, target_band=(42.0, 58.0),
                     target_value=50.0, safety_limit=80.0,
                     pause_message="Someone else is where you are sitting and I can't tell you apart.")""")


@pytest.mark.skipif(__import__("shutil").which("Xvfb") is None or __import__("shutil").which("ffmpeg") is None,
                    reason="needs Xvfb and ffmpeg")
def test_a_real_window_under_xvfb_shows_why_counting_is_paused():
    from pathlib import Path

    from tests.test_io_keys_display import _run_in_xvfb

    img, code, _, err = _run_in_xvfb(_pause_window_script(), 6, Path("/tmp/neckcoach_xvfb_pause.png"),
                                     lambda im: _amber(im).sum() > 300)
    assert code == 0, err
    assert img is not None and _amber(img).sum() > 300  # "Counting paused" reached the screen


GAUGE_CASES = [
    # (kinematics flags, trust, gauge text)
    (dict(yaw_reliable=True), "measured", "+46 deg"),
    (dict(yaw_reliable=False, lower_bound_axes=("yaw",)), "at_least", "at least 46 deg"),
    (dict(yaw_reliable=False), "unsure", "unsure"),  # e.g. followed points that stuck (seed 400236)
]


@pytest.mark.parametrize("value,text", [(-0.3, "0 deg"), (0.4, "0 deg"), (-0.6, "-1 deg"), (0.6, "+1 deg")])
def test_a_head_at_rest_reads_0_not_minus_0(value, text):
    """The demo's gauge read "-0 deg" for a head at rest (stop 58, the recorded overlay)."""
    assert overlay.gauge_text(overlay.OverlayState(live_value=value, live_trust="measured")) == text


@pytest.mark.parametrize("flags,trust,text", GAUGE_CASES)
def test_the_gauge_shows_a_number_only_as_far_as_it_was_measured(flags, trust, text):
    from neckcoach.app.view import overlay_state
    from neckcoach.core.samples import Kinematics

    kin = Kinematics(t_s=1.0, face_found=True, reliable=True, yaw_deg=46.0, **flags)
    state = overlay_state({"axis": "yaw", "target": 50.0, "expected_side": "left"}, kin)
    assert (state.live_trust, overlay.gauge_text(state)) == (trust, text)
    img = draw_overlay(_frame(), state)
    assert img.shape == (480, 640, 3)


def test_an_unsure_needle_is_grey_even_in_the_target_band():
    base = OverlayState(axis="yaw", live_value=50.0, target_value=50.0, target_band=(45.0, 55.0))
    green = draw_overlay(_frame(), base)
    grey = draw_overlay(_frame(), dataclasses.replace(base, live_trust="unsure"))
    is_green = lambda img: int(np.count_nonzero((img[:, :, 1] > 180) & (img[:, :, 0] < 90) & (img[:, :, 2] < 90)))
    assert is_green(green) > is_green(grey) + 20
