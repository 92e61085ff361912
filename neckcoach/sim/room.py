"""The back wall of the virtual patient's room, painted as one texture.

Why: homes have bookcases, posters, photos, televisions and windows, and a
face detector can take some of them for faces. Everything is drawn here with
OpenCV primitives or rendered from the head scan (no copied images).

The wall is painted in world metres (x to the patient's left, y up, origin
at the patient's neck pivot) at `px_per_m`; image row 0 is the top of the
wall. `paint_wall` also says where it put the window and every face-like
picture, so tests can tell a false detection from the patient.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np

Rect = tuple[float, float, float, float]  # x0, y0, x1, y1 in world metres (y up)
Portrait = Callable[[int, int, np.random.Generator], np.ndarray]
"""portrait(width_px, height_px, rng) -> an RGB uint8 photo of a head (rendered)."""

DECOY_KINDS = ("photo", "poster", "tv", "shelf_photo", "drawing")


@dataclass(frozen=True)
class Wall:
    """A painted wall and where its notable things are."""

    image: np.ndarray
    rect_m: Rect
    window_m: Rect | None = None
    sky_rgb: tuple[int, int, int] = (215, 230, 245)
    faces_m: tuple[tuple[str, Rect], ...] = field(default_factory=tuple)


class _Canvas:
    """Draws on the wall image in metres, keeping track of what is taken."""

    def __init__(self, rect_m: Rect, px_per_m: float, base_rgb, rng: np.random.Generator) -> None:
        self.rect_m, self.px_per_m, self.rng = rect_m, float(px_per_m), rng
        x0, y0, x1, y1 = rect_m
        w, h = int(round((x1 - x0) * px_per_m)), int(round((y1 - y0) * px_per_m))
        img = np.empty((h, w, 3), np.float32)
        img[:] = np.asarray(base_rgb, np.float32)
        # Paint is never perfectly even: a faint, smooth mottling.
        blotch = cv2.resize(rng.normal(0.0, 1.0, (max(2, h // 60), max(2, w // 60))).astype(np.float32),
                            (w, h), interpolation=cv2.INTER_CUBIC)
        img *= (1.0 + 0.025 * blotch)[:, :, None]
        self.img = img
        self.taken: list[Rect] = []

    def px(self, x: float, y: float) -> tuple[int, int]:
        x0, _, _, y1 = self.rect_m
        return int(round((x - x0) * self.px_per_m)), int(round((y1 - y) * self.px_per_m))

    def box(self, r: Rect) -> tuple[int, int, int, int]:
        """Pixel (left, top, right, bottom) of a metre rect, clipped to the image."""
        h, w = self.img.shape[:2]
        a, b = self.px(r[0], r[3])
        c, d = self.px(r[2], r[1])
        return max(a, 0), max(b, 0), min(c, w), min(d, h)

    def fill(self, r: Rect, rgb) -> None:
        left, top, right, bottom = self.box(r)
        if right > left and bottom > top:
            self.img[top:bottom, left:right] = np.asarray(rgb, np.float32)

    def paste(self, r: Rect, image: np.ndarray) -> None:
        left, top, right, bottom = self.box(r)
        if right <= left or bottom <= top:
            return
        full_l, full_t = self.px(r[0], r[3])
        full_r, full_b = self.px(r[2], r[1])
        scaled = cv2.resize(image, (max(1, full_r - full_l), max(1, full_b - full_t)), interpolation=cv2.INTER_AREA)
        self.img[top:bottom, left:right] = scaled[top - full_t:bottom - full_t, left - full_l:right - full_l]

    def free(self, r: Rect, margin: float = 0.04) -> bool:
        x0, y0, x1, y1 = self.rect_m
        if r[0] < x0 or r[2] > x1 or r[1] < y0 or r[3] > y1:
            return False
        return all(r[2] + margin <= t[0] or t[2] + margin <= r[0] or r[3] + margin <= t[1] or t[3] + margin <= r[1]
                   for t in self.taken)

    def place(self, w: float, h: float, region: Rect, tries: int = 60) -> Rect | None:
        """A free w x h rect inside `region`, or None."""
        for _ in range(tries):
            if region[2] - region[0] < w or region[3] - region[1] < h:
                return None
            x = self.rng.uniform(region[0], region[2] - w)
            y = self.rng.uniform(region[1], region[3] - h)
            r = (x, y, x + w, y + h)
            if self.free(r):
                self.taken.append(r)
                return r
        return None

    def image(self) -> np.ndarray:
        return np.clip(self.img + 0.5, 0, 255).astype(np.uint8)


def _colour(rng, lo=30, hi=220) -> tuple[int, int, int]:
    return tuple(int(c) for c in rng.integers(lo, hi, 3))


def _frame(canvas: _Canvas, r: Rect, content: np.ndarray, border_m: float, rgb) -> None:
    canvas.fill(r, rgb)
    canvas.paste((r[0] + border_m, r[1] + border_m, r[2] - border_m, r[3] - border_m), content)


def _abstract(rng, w: int, h: int) -> np.ndarray:
    art = rng.integers(30, 235, (int(rng.integers(2, 5)), int(rng.integers(2, 6)), 3)).astype(np.uint8)
    return cv2.resize(art, (w, h), interpolation=cv2.INTER_LINEAR)


def _landscape(rng, w: int, h: int) -> np.ndarray:
    img = np.empty((h, w, 3), np.float32)
    top, low = np.array(_colour(rng, 120, 230), np.float32), np.array(_colour(rng, 150, 250), np.float32)
    ramp = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    img[:] = top * (1 - ramp) + low * ramp
    for k in range(int(rng.integers(2, 4))):
        base = h * (0.45 + 0.15 * k)
        xs = np.arange(w)
        ys = base + h * 0.08 * np.sin(xs / w * rng.uniform(3, 9) + rng.uniform(0, 6))
        col = np.array(_colour(rng, 20, 140), np.float32)
        mask = np.arange(h)[:, None] >= ys[None, :]
        img[mask] = col
    return np.clip(img, 0, 255).astype(np.uint8)


def _poster(rng, w: int, h: int) -> np.ndarray:
    img = np.empty((h, w, 3), np.uint8)
    img[:] = _colour(rng)
    for _ in range(int(rng.integers(2, 6))):
        c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.circle(img, c, int(rng.integers(w // 10, w // 3 + 2)), _colour(rng), -1, cv2.LINE_AA)
    y = int(h * 0.75)
    while y < h - 6:  # lines of "text"
        cv2.rectangle(img, (w // 10, y), (int(w * rng.uniform(0.4, 0.9)), y + max(2, h // 40)), _colour(rng, 0, 80), -1)
        y += max(5, h // 18)
    return img


def drawn_face(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A drawn (cartoon) face on a plain ground: a child's drawing or a smiley poster."""
    img = np.empty((h, w, 3), np.uint8)
    img[:] = _colour(rng, 150, 250)
    cx, cy = w // 2, h // 2
    rx, ry = int(w * 0.36), int(h * 0.42)
    tone = rng.uniform(0.35, 1.0)
    skin = (int(235 * tone), int(190 * tone), int(160 * tone))
    hair = _colour(rng, 10, 120)
    cv2.ellipse(img, (cx, cy - ry // 4), (int(rx * 1.08), int(ry * 0.95)), 0, 180, 360, hair, -1, cv2.LINE_AA)
    cv2.ellipse(img, (cx, cy), (rx, ry), 0, 0, 360, skin, -1, cv2.LINE_AA)
    shade = tuple(int(c * 0.8) for c in skin)
    cv2.ellipse(img, (cx + rx // 3, cy + ry // 8), (rx // 2, int(ry * 0.7)), 0, -60, 60, shade, -1, cv2.LINE_AA)
    ey = cy - ry // 5
    for side in (-1, 1):
        ex = cx + side * rx // 2
        cv2.ellipse(img, (ex, ey), (rx // 5, ry // 9), 0, 0, 360, (245, 245, 245), -1, cv2.LINE_AA)
        cv2.circle(img, (ex, ey), max(1, ry // 12), _colour(rng, 20, 110), -1, cv2.LINE_AA)
        cv2.circle(img, (ex, ey), max(1, ry // 30), (10, 10, 10), -1, cv2.LINE_AA)
        cv2.line(img, (ex - rx // 5, ey - ry // 6), (ex + rx // 5, ey - ry // 5), hair, max(1, h // 60), cv2.LINE_AA)
    nose = np.array([[cx, ey + ry // 10], [cx - rx // 8, cy + ry // 5], [cx + rx // 10, cy + ry // 5]], np.int32)
    cv2.fillConvexPoly(img, nose, tuple(int(c * 0.85) for c in skin), cv2.LINE_AA)
    cv2.ellipse(img, (cx, cy + int(ry * 0.48)), (rx // 3, ry // 10), 0, 0, 180, (150, 50, 60), -1, cv2.LINE_AA)
    return img


def _books(canvas: _Canvas, shelf: Rect) -> None:
    """Book spines standing on a shelf board, left to right, with the odd gap."""
    rng = canvas.rng
    x = shelf[0] + 0.02
    while x < shelf[2] - 0.03:
        if rng.random() < 0.08:
            x += rng.uniform(0.05, 0.15)
            continue
        bw = rng.uniform(0.02, 0.06)
        bh = min(rng.uniform(0.16, 0.30), shelf[3] - shelf[1] - 0.02)
        col = _colour(rng)
        canvas.fill((x, shelf[1], min(x + bw, shelf[2]), shelf[1] + bh), col)
        # A band across the spine (title, rings) and a darker edge between books.
        band_y = shelf[1] + bh * rng.uniform(0.6, 0.85)
        canvas.fill((x, band_y, min(x + bw, shelf[2]), band_y + 0.012), _colour(rng, 0, 255))
        canvas.fill((min(x + bw, shelf[2]) - 0.003, shelf[1], min(x + bw, shelf[2]), shelf[1] + bh),
                    tuple(int(c * 0.5) for c in col))
        x += bw + rng.uniform(0.0, 0.006)


def _bookcase(canvas: _Canvas, region: Rect, view: Rect, shelf_photos: int,
              portrait: Portrait | None, faces: list) -> None:
    rng = canvas.rng
    width = rng.uniform(0.8, 1.6)
    x0 = rng.uniform(max(region[0], view[0] - 0.3), min(region[2], view[2] + 0.3) - width)
    top = rng.uniform(0.5, 0.95)
    case = (x0, region[1], x0 + width, top)
    wood = _colour(rng, 60, 170)
    canvas.fill(case, tuple(int(c * 0.6) for c in wood))  # the case's dark inside
    canvas.taken.append(case)
    board = 0.025
    y = top - rng.uniform(0.30, 0.36)
    shelves = []
    while y > region[1] + 0.1:
        shelves.append((x0 + board, y + board, x0 + width - board, y + rng.uniform(0.30, 0.36)))
        canvas.fill((x0, y, x0 + width, y + board), wood)
        y -= rng.uniform(0.30, 0.38)
    for side in (x0, x0 + width - board):
        canvas.fill((side, region[1], side + board, top), wood)
    canvas.fill((x0, top - board, x0 + width, top), wood)
    for shelf in shelves:
        _books(canvas, shelf)
    for _ in range(shelf_photos):
        if portrait is None or not shelves:
            break
        visible = [s for s in shelves if view[1] < s[1] < view[3]] or shelves
        s = visible[int(rng.integers(0, len(visible)))]
        ph = rng.uniform(0.15, 0.25)
        pw = ph * 0.8
        px0 = rng.uniform(s[0], s[2] - pw)
        r = (px0, s[1], px0 + pw, s[1] + ph)
        _frame(canvas, r, portrait(max(8, int(pw * canvas.px_per_m)), max(8, int(ph * canvas.px_per_m)), rng),
               0.012, _colour(rng, 20, 200))
        faces.append(("shelf_photo", r))


def _door(canvas: _Canvas, region: Rect) -> None:
    rng = canvas.rng
    r = canvas.place(0.85, 2.0, (region[0], region[1], region[2], region[1] + 2.05))
    if r is None:
        return
    col = _colour(rng, 90, 170)
    canvas.fill(r, col)
    canvas.fill((r[0] + 0.07, r[1] + 0.9, r[0] + 0.11, r[1] + 0.94), (200, 190, 90))


def _window(canvas: _Canvas, view: Rect) -> tuple[Rect, tuple[int, int, int]]:
    """A daylight window behind the patient: frame, panes of sky and a tree line."""
    rng = canvas.rng
    w, h = rng.uniform(0.9, 1.6), rng.uniform(1.0, 1.4)
    cx = rng.uniform(-0.35, 0.35)
    y0 = rng.uniform(-0.45, -0.2)
    r = (cx - w / 2, y0, cx + w / 2, y0 + h)
    canvas.fill((r[0] - 0.05, r[1] - 0.05, r[2] + 0.05, r[3] + 0.05), (235, 235, 230))
    sky = (int(rng.integers(200, 235)), int(rng.integers(220, 242)), int(rng.integers(235, 250)))
    left, top, right, bottom = canvas.box(r)
    ramp = np.linspace(0.0, 1.0, bottom - top, dtype=np.float32)[:, None, None]
    canvas.img[top:bottom, left:right] = np.asarray(sky, np.float32) * (1 - 0.08 * ramp)
    trees = _colour(rng, 60, 130)
    for _ in range(int(rng.integers(3, 8))):
        tx = rng.uniform(r[0], r[2])
        ty = r[1] + rng.uniform(0.1, 0.4) * h
        tx_px, ty_px = canvas.px(tx, ty)
        cv2.circle(canvas.img, (tx_px, ty_px), int(rng.uniform(0.1, 0.25) * canvas.px_per_m),
                   tuple(float(c) for c in trees), -1, cv2.LINE_AA)
    canvas.fill((r[0], r[1], r[2], r[1] + 0.1 * h), tuple(int(c * 0.8) for c in trees))
    # Re-crop the painted trees to the pane and draw the mullions.
    canvas.fill(((r[0] + r[2]) / 2 - 0.02, r[1], (r[0] + r[2]) / 2 + 0.02, r[3]), (235, 235, 230))
    canvas.fill((r[0], (r[1] + r[3]) / 2 - 0.02, r[2], (r[1] + r[3]) / 2 + 0.02), (235, 235, 230))
    canvas.taken.append((r[0] - 0.05, r[1] - 0.05, r[2] + 0.05, r[3] + 0.05))
    return r, sky


def _decoy(canvas: _Canvas, kind: str, view: Rect, portrait: Portrait | None, faces: list) -> None:
    """Hang one face-like picture where the camera sees it."""
    rng = canvas.rng
    ppm = canvas.px_per_m
    region = (view[0] + 0.05, max(view[1], -0.3), view[2] - 0.05, view[3] - 0.05)
    if kind == "photo" and portrait is not None:
        h = rng.uniform(0.25, 0.5)
        r = canvas.place(h * 0.8, h, region)
        if r is not None:
            _frame(canvas, r, portrait(int(h * 0.8 * ppm), int(h * ppm), rng), 0.02, _colour(rng, 20, 200))
            faces.append((kind, r))
    elif kind == "poster" and portrait is not None:
        h = rng.uniform(0.6, 1.0)
        r = canvas.place(h * 0.7, h, region)
        if r is not None:
            img = _poster(rng, int(h * 0.7 * ppm), int(h * ppm))
            face = portrait(int(h * 0.6 * ppm), int(h * 0.65 * ppm), rng)
            fy, fx = int(h * 0.05 * ppm), int(h * 0.05 * ppm)
            img[fy:fy + face.shape[0], fx:fx + face.shape[1]] = face[:img.shape[0] - fy, :img.shape[1] - fx]
            canvas.paste(r, img)
            faces.append((kind, r))
    elif kind == "tv" and portrait is not None:
        w = rng.uniform(0.8, 1.4)
        h = w * 9 / 16
        r = canvas.place(w + 0.04, h + 0.04, region)
        if r is not None:
            frame = portrait(int(w * ppm), int(h * ppm), rng)
            _frame(canvas, r, frame, 0.02, (15, 15, 18))
            faces.append((kind, r))
    elif kind == "drawing":
        h = rng.uniform(0.3, 0.6)
        r = canvas.place(h * 0.8, h, region)
        if r is not None:
            _frame(canvas, r, drawn_face(rng, int(h * 0.8 * ppm), int(h * ppm)), 0.015, _colour(rng, 20, 230))
            faces.append((kind, r))


def paint_wall(background: str, rng: np.random.Generator, *, rect_m: Rect, view_m: Rect,
               px_per_m: float = 320.0, face_decoys: int = 0, window: bool = False,
               portrait: Portrait | None = None, base_image: np.ndarray | None = None) -> Wall:
    """Paint the wall `rect_m` for one of scene.BACKGROUNDS.

    view_m is the part of the wall the camera sees; pictures are hung there.
    face_decoys pictures of faces are spread over the kinds that suit the
    background (a photo on a bookcase shelf, a television in a living room).
    base_image (the original "room" wall) is painted over instead of a bare wall.
    """
    if base_image is not None:
        canvas = _Canvas(rect_m, px_per_m, (0, 0, 0), rng)
        h, w = canvas.img.shape[:2]
        canvas.img = cv2.resize(base_image, (w, h), interpolation=cv2.INTER_NEAREST).astype(np.float32)
    else:
        base = (int(rng.integers(170, 235)), int(rng.integers(165, 230)), int(rng.integers(150, 225)))
        canvas = _Canvas(rect_m, px_per_m, base, rng)
        # Skirting board along the floor.
        canvas.fill((rect_m[0], rect_m[1], rect_m[2], rect_m[1] + 0.08), (235, 235, 230))
    faces: list[tuple[str, Rect]] = []
    window_rect, sky = (None, (215, 230, 245))
    if window:
        window_rect, sky = _window(canvas, view_m)
    kinds = ["photo", "drawing", "poster"]
    shelf_photos = 0
    if background in ("bookshelf", "living"):
        shelf_photos = sum(1 for _ in range(face_decoys) if rng.random() < 0.5)
        _bookcase(canvas, (rect_m[0], rect_m[1], rect_m[2], rect_m[3]), view_m, shelf_photos, portrait, faces)
    if background == "living":
        kinds.insert(0, "tv")
    # Faces first, so that a busy wall never leaves them out.
    for k in range(max(0, face_decoys - len(faces))):
        _decoy(canvas, kinds[k % len(kinds)] if k else kinds[int(rng.integers(0, len(kinds)))], view_m,
               portrait, faces)
    if background in ("pictures", "living"):
        for _ in range(int(rng.integers(2, 5))):
            h = rng.uniform(0.25, 0.7)
            w = h * rng.uniform(0.6, 1.5)
            r = canvas.place(w, h, (view_m[0], max(view_m[1], -0.2), view_m[2], view_m[3]))
            if r is None:
                continue
            paint = [_abstract, _landscape, _poster][int(rng.integers(0, 3))]
            _frame(canvas, r, paint(rng, max(2, int(w * px_per_m)), max(2, int(h * px_per_m))), 0.02,
                   _colour(rng, 20, 230))
    if background == "plain" and rng.random() < 0.5:
        _door(canvas, rect_m)
    return Wall(canvas.image(), rect_m, window_rect, sky, tuple(faces))


def legacy_room_texture(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """The original wall: a plain wall with a door, a shelf with books and a framed picture."""
    base = rng.integers(170, 225, 3)
    img = np.empty((height, width, 3), np.uint8)
    img[:] = base
    shade = np.linspace(0.92, 1.05, width)[None, :, None]
    img = np.clip(img * shade, 0, 255).astype(np.uint8)
    door_x = int(rng.integers(width // 20, width // 5))
    door_col = tuple(int(c) for c in rng.integers(90, 150, 3))
    cv2.rectangle(img, (door_x, height // 6), (door_x + width // 7, height), door_col, -1)
    cv2.circle(img, (door_x + width // 8, height // 2 + 20), 4, (200, 190, 90), -1)
    shelf_y = int(rng.integers(height // 5, height // 3))
    sx0 = int(rng.integers(width // 2 + 40, width - 170))
    cv2.rectangle(img, (sx0, shelf_y), (sx0 + 150, shelf_y + 8), (110, 80, 50), -1)
    x = sx0 + 6
    while x < sx0 + 140:
        bw = int(rng.integers(6, 14))
        bh = int(rng.integers(22, 40))
        col = tuple(int(c) for c in rng.integers(30, 220, 3))
        cv2.rectangle(img, (x, shelf_y - bh), (x + bw, shelf_y - 1), col, -1)
        x += bw + 2
    px0 = int(rng.integers(width // 3, width // 2 - 40))
    py0 = int(rng.integers(height // 8, height // 4))
    cv2.rectangle(img, (px0, py0), (px0 + 70, py0 + 50), (60, 50, 40), -1)
    art = rng.integers(40, 230, (3, 4, 3)).astype(np.uint8)
    img[py0 + 5:py0 + 45, px0 + 5:px0 + 65] = cv2.resize(art, (60, 40), interpolation=cv2.INTER_LINEAR)
    return img


__all__ = ["DECOY_KINDS", "Wall", "drawn_face", "legacy_room_texture", "paint_wall"]
