"""The camera's own turn, read from the room behind the patient (`io.room_watch`), and the
move after the neutral told once it has come to rest (`core.view_move`)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from neckcoach.core.view_move import MOVE_DEG, SETTLE_S, RoomView, ViewMonitor
from neckcoach.io.room_watch import RoomWatcher

WIDTH, HEIGHT, HFOV_DEG = 640, 480, 60.0
FOCAL_PX = WIDTH / 2 / math.tan(math.radians(HFOV_DEG) / 2)
FACE_CENTRE, FACE_WIDTH = (320.0, 230.0), 110.0


def _wall(seed: int, plain: bool = False) -> np.ndarray:
    """A room's back wall, larger than the view: frames, shelves and posters of many greys."""
    rng = np.random.default_rng(seed)
    wall = np.full((HEIGHT * 2, WIDTH * 2), 150, np.uint8)
    if not plain:
        for _ in range(90):
            x, y = int(rng.integers(0, 2 * WIDTH - 60)), int(rng.integers(0, 2 * HEIGHT - 60))
            w, h = int(rng.integers(15, 120)), int(rng.integers(15, 120))
            cv2.rectangle(wall, (x, y), (x + w, y + h), int(rng.integers(20, 240)), -1)
    return wall


def _frame(wall, pan_deg, tilt_deg, roll_deg, rng, head_dy_px=0.0, walker_x=None, noise=2.0):
    """The view of a camera turned (pan, tilt, roll) from straight at the wall's middle, with the
    patient (head and shoulders, still in the picture unless `head_dy_px`) and maybe a walker."""
    # A turned camera sees the wall through a homography (each pixel's ray turned), not a
    # shift: with a 60 deg lens a 12 deg tilt moves the picture's top edge 1.5x its middle.
    a, b, c = (math.radians(x) for x in (pan_deg, tilt_deg, roll_deg))
    pan = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    tilt = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    roll = np.array([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])
    lens = np.array([[FOCAL_PX, 0, WIDTH / 2], [0, FOCAL_PX, HEIGHT / 2], [0, 0, 1]])
    on_wall = np.array([[FOCAL_PX, 0, WIDTH], [0, FOCAL_PX, HEIGHT], [0, 0, 1]])  # its middle ahead
    view_to_wall = on_wall @ pan @ tilt @ roll @ np.linalg.inv(lens)
    grey = cv2.warpPerspective(wall, view_to_wall, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REFLECT)
    if walker_x is not None:
        cv2.rectangle(grey, (int(walker_x), 60), (int(walker_x) + 120, HEIGHT), 60, -1)
        cv2.circle(grey, (int(walker_x) + 60, 50), 40, 190, -1)
    cx, cy = FACE_CENTRE
    cv2.ellipse(grey, (int(cx), int(cy + head_dy_px)), (55, 72), 0, 0, 360, 205, -1)
    cv2.rectangle(grey, (int(cx - 150), int(cy + 110)), (int(cx + 150), HEIGHT), 90, -1)
    grey = np.clip(grey + rng.normal(0.0, noise, grey.shape), 0, 255).astype(np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2)


def _watch(views, fps=30.0, seed=1, plain=False, neutral=(0.5, 1.5)):
    """Feeds (pan, tilt, roll, head_dy, walker_x) per frame; returns the offsets and what the
    monitor said (t, deg)."""
    wall, rng = _wall(seed, plain), np.random.default_rng(seed)
    watcher, monitor = RoomWatcher(hfov_deg=HFOV_DEG), ViewMonitor()
    watcher.patient_at(FACE_CENTRE, FACE_WIDTH)
    offsets, said = [], []
    for i, (pan, tilt, roll, head_dy, walker) in enumerate(views):
        t = i / fps
        view = watcher.update(_frame(wall, pan, tilt, roll, rng, head_dy, walker), t)
        if neutral is not None and abs(t - neutral[1]) < 0.5 / fps:
            monitor.mark_neutral(*neutral)
        moved = monitor.update(view, t)
        offsets.append(view.offset_deg)
        if moved is not None:
            said.append((t, moved))
    return offsets, said


def _glide(a, b, start_s, move_s, seconds, fps=30.0):
    """From a to b (pan, tilt, roll) over move_s from start_s, eased as a hand moves a lid."""
    out = []
    for i in range(int(seconds * fps)):
        u = min(max((i / fps - start_s) / move_s, 0.0), 1.0)
        u = u * u * (3 - 2 * u)
        out.append(tuple(x + u * (y - x) for x, y in zip(a, b)))
    return out


def test_a_still_camera_reads_still_while_the_patient_nods_and_nothing_is_said():
    fps = 30.0
    views = [(0.0, 0.0, 0.0, 25.0 * math.sin(2 * math.pi * 0.4 * i / fps), None) for i in range(int(6 * fps))]
    offsets, said = _watch(views)
    assert all(o is not None for o in offsets)
    assert max(max(abs(x) for x in o) for o in offsets) < 0.1
    assert said == []


@pytest.mark.parametrize("turn", [(0.0, 6.0, 0.0), (0.0, -11.5, 0.0), (4.0, 0.0, 0.0), (-3.0, 2.5, 0.0)])
def test_a_camera_turned_after_the_neutral_is_read_and_told_once_at_rest(turn):
    start, move_s = 2.5, 1.0
    views = [(*v, 0.0, None) for v in _glide((0.0, 0.0, 0.0), turn, start, move_s, 5.0)]
    offsets, said = _watch(views)
    assert offsets[-1] is not None
    # The image's content moves opposite to the camera: its offset is the camera's turn, negated.
    for got, want in zip(offsets[-1], turn[:2]):
        assert abs(abs(got) - abs(want)) < 0.3, (offsets[-1], turn)
    assert len(said) == 1
    t, moved = said[0]
    assert abs(moved - math.sqrt(sum(x * x for x in turn))) < 0.4
    # At rest again: the eased move's last tenth of a degree may still be under way.
    assert start + move_s - 0.3 <= t <= start + move_s + SETTLE_S + 0.3


def test_no_key_frame_is_taken_before_the_patient_is_placed():
    """Corners on the patient's own face would move with every exercise; a face lost for a
    frame (turned past face mesh) keeps the place last given."""
    wall, rng = _wall(1), np.random.default_rng(1)
    watcher = RoomWatcher(hfov_deg=HFOV_DEG)
    assert all(watcher.update(_frame(wall, 0, 0, 0, rng), i / 30).offset_deg is None for i in range(10))
    watcher.patient_at(None, 0.0)
    assert watcher.update(_frame(wall, 0, 0, 0, rng), 0.4).offset_deg is None
    watcher.patient_at(FACE_CENTRE, FACE_WIDTH)
    watcher.patient_at(None, 0.0)
    assert watcher.update(_frame(wall, 0, 0, 0, rng), 0.5).offset_deg is not None
    assert watcher.update(_frame(wall, 0, 0, 0, rng), 0.55).offset_deg == pytest.approx((0.0, 0.0), abs=0.05)
    small = _frame(wall, 0, 0, 0, rng)[::2, ::2]  # another frame size: the place is in the old one's pixels
    assert watcher.update(small, 0.6).offset_deg is None
    assert watcher.update(small, 0.65).offset_deg is None
    watcher.patient_at((FACE_CENTRE[0] / 2, FACE_CENTRE[1] / 2), FACE_WIDTH / 2)
    assert watcher.update(small, 0.7).offset_deg is not None


def test_a_wobble_under_the_limit_is_not_told():
    views = [(*v, 0.0, None) for v in _glide((0.0, 0.0, 0.0), (0.0, 0.6 * MOVE_DEG, 0.0), 2.5, 0.5, 5.0)]
    assert _watch(views)[1] == []


def test_a_person_walking_across_the_room_is_no_camera_move():
    fps = 30.0
    views = [(0.0, 0.0, 0.0, 0.0, -120 + 200.0 * i / fps) for i in range(int(5 * fps))]  # 200 px/s
    offsets, said = _watch(views)
    assert said == []
    seen = [o for o in offsets if o is not None]
    assert seen and max(max(abs(x) for x in o) for o in seen) < 0.3


@pytest.mark.parametrize("seed", range(1, 7))
@pytest.mark.parametrize("speed_px_s, stops_at_px", [(300.0, None), (500.0, None), (500.0, 150.0)])
def test_a_textured_person_covering_half_the_room_is_no_camera_move(seed, speed_px_s, stops_at_px):
    """A person in patterned clothes, half the picture wide, walks across behind the patient (and
    may stop there). Taken from the larger group of corners, their shift was read as the room's
    and carried into the next key frame: 12-36 deg moves told for wall seed 6 (population seed
    401308's false move). The room is unseen while it is ambiguous, never read elsewhere."""
    fps, width = 15.0, 320
    wall, rng = _wall(seed), np.random.default_rng(seed)
    cloth = _wall(seed + 100)[:HEIGHT, :width]
    watcher, monitor = RoomWatcher(hfov_deg=HFOV_DEG), ViewMonitor()
    watcher.patient_at(FACE_CENTRE, FACE_WIDTH)
    offsets, said = [], []
    for i in range(int(5.5 * fps)):
        t = i / fps
        x = -width + speed_px_s * max(t - 1.5, 0.0)
        if stops_at_px is not None:
            x = min(x, stops_at_px)
        grey = np.ascontiguousarray(_frame(wall, 0.0, 0.0, 0.0, rng)[:, :, 0])
        left, right = max(int(x), 0), min(int(x) + width, WIDTH)
        if right > left:  # over the wall, behind the patient
            grey[40:, left:right] = cloth[40:, left - int(x):right - int(x)]
            cx, cy = FACE_CENTRE
            cv2.ellipse(grey, (int(cx), int(cy)), (55, 72), 0, 0, 360, 205, -1)
            cv2.rectangle(grey, (int(cx - 150), int(cy + 110)), (int(cx + 150), HEIGHT), 90, -1)
        view = watcher.update(np.repeat(grey[:, :, None], 3, axis=2), t)
        if abs(t - 1.0) < 0.5 / fps:
            monitor.mark_neutral(0.2, 1.0)
        moved = monitor.update(view, t)
        offsets.append(view.offset_deg)
        if moved is not None:
            said.append((t, moved))
    assert said == []
    seen = [o for o in offsets if o is not None]
    assert len(seen) > len(offsets) // 2 and max(max(abs(v) for v in o) for o in seen) < 0.3
    assert offsets[-1] is not None or stops_at_px is not None


def test_a_bare_wall_cannot_be_followed_so_nothing_is_told():
    views = [(*v, 0.0, None) for v in _glide((0.0, 0.0, 0.0), (0.0, 8.0, 0.0), 2.5, 1.0, 5.0)]
    offsets, said = _watch(views, plain=True)
    assert all(o is None for o in offsets) and said == []


def test_the_room_reads_moving_while_the_camera_turns_and_not_once_it_rests():
    # What is read while the camera turns is not trusted (see Measurement).
    views = [(*v, 0.0, None) for v in _glide((0.0, 0.0, 0.0), (0.0, 6.0, 0.0), 0.5, 1.0, 4.0)]
    wall, rng = _wall(3), np.random.default_rng(3)
    watcher, monitor = RoomWatcher(hfov_deg=HFOV_DEG), ViewMonitor()
    watcher.patient_at(FACE_CENTRE, FACE_WIDTH)
    moving = []
    for i, (pan, tilt, roll, _, _) in enumerate(views):
        t = i / 30.0
        monitor.update(watcher.update(_frame(wall, pan, tilt, roll, rng), t), t)
        moving.append(monitor.moving)
    assert any(moving[20:45]) and not any(moving[-15:])


# --------------------------------------------------------------- the monitor alone
def _views(table):
    """(t, offset or None, chain) rows -> RoomViews."""
    return [(t, RoomView(o, c)) for t, o, c in table]


@pytest.mark.parametrize("rows, mark, want", [
    # settled 3 deg away from the neutral's room: told once
    ([(t / 10, (0.0, 0.0 if t < 30 else 3.0), 1) for t in range(60)], (0.5, 2.0), [3.5]),
    # the same move, but the room was lost and found again in between (a new chain): not compared
    ([(t / 10, (0.0, 0.0) if t < 30 else (0.0, 3.0), 1 if t < 30 else 2) for t in range(60)],
     (0.5, 2.0), []),
    # no neutral marked: nothing to compare with
    ([(t / 10, (0.0, 0.0 if t < 30 else 3.0), 1) for t in range(60)], None, []),
    # the move under the limit
    ([(t / 10, (0.0, 0.0 if t < 30 else 1.5), 1) for t in range(60)], (0.5, 2.0), []),
    # the room unseen from the move on: nothing told
    ([(t / 10, (0.0, 0.0) if t < 30 else None, 1) for t in range(60)], (0.5, 2.0), []),
])
def test_the_monitor_on_tables_of_offsets(rows, mark, want):
    monitor = ViewMonitor()
    told = []
    for t, view in _views(rows):
        moved = monitor.update(view, t)
        if mark is not None and abs(t - mark[1]) < 1e-9:
            monitor.mark_neutral(*mark)
        if moved is not None:
            told.append(round(t, 2))
    assert told == want


def test_the_room_at_rest_away_from_the_neutral_is_distrusted_until_the_move_is_told():
    """Between the camera coming to rest (no longer `moving`) and being still for SETTLE_S
    (told), the readings are off by its turn: `displaced` covers that gap."""
    monitor = ViewMonitor()
    rows = []
    for i in range(60):
        t = i / 20
        u = min(max((t - 1.5) / 1.0, 0.0), 1.0)
        tilt = 3.0 * u * u * (3 - 2 * u)  # 3 deg over 1 s from 1.5 s, eased as a hand tilts a lid
        moved = monitor.update(RoomView((0.0, tilt), 1), t)
        if i == 20:
            monitor.mark_neutral(0.0, 1.0)
        rows.append((t, tilt, monitor.moving, monitor.displaced, moved))
    told = [t for t, _, _, _, moved in rows if moved is not None]
    assert len(told) == 1
    first_off = next(t for t, tilt, *_ in rows if tilt >= MOVE_DEG)
    # Every frame from the room's passing MOVE_DEG until told is moving or displaced.
    assert all(moving or displaced for t, _, moving, displaced, _ in rows if first_off <= t <= told[0])
    assert any(displaced and not moving for t, _, moving, displaced, _ in rows if t < told[0])
    assert not any(r[3] for r in rows if r[0] > told[0])  # told: the next neutral is the reference
    assert not any(r[3] for r in rows if r[0] < first_off)


def test_the_monitor_checks_its_arguments():
    with pytest.raises(ValueError, match="move_deg must be in"):
        ViewMonitor(move_deg=0.0)
    with pytest.raises(ValueError, match="settle_s must be in"):
        ViewMonitor(settle_s=-1.0)
    with pytest.raises(ValueError, match="hfov_deg must be in"):
        RoomWatcher(hfov_deg=5.0)


def test_a_recording_is_split_where_its_camera_stood():
    from neckcoach.core.view_move import camera_rests

    times = [i / 10 for i in range(100)]
    tilt = [0.0 if t < 3.0 else (3.0 * (t - 3.0) if t < 4.0 else 3.0) for t in times]  # 3 deg over 1 s
    views = [RoomView((0.0, x), 1) for x in tilt]
    rests = camera_rests(times, views)
    assert len(rests) == 2
    # The first place ends once the camera has moved MOVING_DEG (1 deg: a third of a second in).
    assert rests[0].start_s == 0.0 and rests[0].moved_deg is None and 3.3 <= rests[0].end_s <= 3.45
    assert 4.0 <= rests[1].start_s <= 4.6 and abs(rests[1].moved_deg - 3.0) < 1e-9 and rests[1].end_s == times[-1]
    # The room lost and found again: a new chain is never compared, so nothing splits.
    chains = [RoomView((0.0, 0.0 if t < 5.0 else 7.0), 1 if t < 5.0 else 2) for t in times]
    assert len(camera_rests(times, chains)) == 1
    assert len(camera_rests(times, [RoomView.unseen() for _ in times])) == 1
    with pytest.raises(ValueError, match="as long"):
        camera_rests(times, views[:-1])
