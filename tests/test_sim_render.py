"""The rendered virtual patient: textured, detected by MediaPipe, signs right."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pyrender")
mp = pytest.importorskip("mediapipe")

from neckcoach.sim.render import HeadRenderer, rotation_matrix  # noqa: E402

NOSE_TIP, RIGHT_EYE_OUTER, LEFT_EYE_OUTER = 1, 33, 263  # MediaPipe face-mesh indices
# Floors measured on this renderer (all frames detected in these sweeps, and
# wider: yaw -65..+60, pitch -50..+35, roll -50..+50 in 5 deg steps).
SWEEPS = {
    "yaw": [-45, -30, -15, 0, 15, 30, 45],
    "pitch": [-30, -15, 15, 30],
    "roll": [-30, -15, 15, 30],
}
MIN_DETECTION_RATE = 1.0


@pytest.fixture(scope="module")
def renderer():
    return HeadRenderer(seed=0)


@pytest.fixture(scope="module")
def face_mesh():
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=2,
                                         refine_landmarks=True) as fm:
        yield fm


def _landmarks(fm, img):
    res = fm.process(img)
    if not res.multi_face_landmarks:
        return None
    h, w = img.shape[:2]
    return np.array([(p.x * w, p.y * h) for p in res.multi_face_landmarks[0].landmark])


@pytest.fixture(scope="module")
def sweep(renderer, face_mesh):
    """Landmarks (or None) for every pose of SWEEPS, one axis at a time."""
    out = {}
    for axis, values in SWEEPS.items():
        for v in [0] + values:
            pose = {"yaw": 0.0, "pitch": 0.0, "roll": 0.0} | {axis: float(v)}
            out[(axis, v)] = _landmarks(face_mesh, renderer.render(pose["yaw"], pose["pitch"], pose["roll"]))
    return out


def test_frame_format(renderer):
    img = renderer.render(0, 0, 0)
    assert img.shape == (480, 640, 3) and img.dtype == np.uint8 and img.flags["C_CONTIGUOUS"]


def test_texture_shows_on_the_face(renderer):
    img = renderer.render(0, 0, 0).astype(float)
    x, y = renderer.project(renderer.geo.nose_tip)[0].astype(int)
    face = img[y - 40:y + 40, x - 40:x + 40]
    # Skin texture: reddish, with visible detail (eyebrows, lips), not flat white.
    assert face[..., 0].mean() > face[..., 2].mean() + 15
    assert face.mean() < 235
    assert face.std() > 12


@pytest.mark.parametrize("axis", sorted(SWEEPS))
def test_mediapipe_detects_the_sweep(sweep, axis):
    found = [sweep[(axis, v)] is not None for v in SWEEPS[axis]]
    assert np.mean(found) >= MIN_DETECTION_RATE, dict(zip(SWEEPS[axis], found))


def test_sign_yaw_left_moves_nose_to_image_right(sweep):
    xs = [sweep[("yaw", v)][NOSE_TIP, 0] for v in SWEEPS["yaw"]]
    assert np.all(np.diff(xs) > 0)


def test_sign_pitch_flexion_moves_nose_down(sweep):
    ys = [sweep[("pitch", v)][NOSE_TIP, 1] for v in [-30, -15, 0, 15, 30]]
    assert np.all(np.diff(ys) > 0)


def test_sign_roll_left_tilts_eye_line_down_to_image_right(sweep):
    for v in SWEEPS["roll"]:
        lm = sweep[("roll", v)]
        # Subject's left eye is on the image's right; bending to the left shoulder lowers it.
        dy = lm[LEFT_EYE_OUTER, 1] - lm[RIGHT_EYE_OUTER, 1]
        dx = lm[LEFT_EYE_OUTER, 0] - lm[RIGHT_EYE_OUTER, 0]
        angle = np.degrees(np.arctan2(dy, dx))
        assert np.sign(angle) == np.sign(v)
        assert angle == pytest.approx(v, abs=6.0)


def test_rotation_matrix_order_is_yaw_then_pitch_then_roll():
    r = rotation_matrix(30, 20, 10)
    ry, rx, rz = rotation_matrix(30, 0, 0), rotation_matrix(0, 20, 0), rotation_matrix(0, 0, 10)
    assert np.allclose(r, ry @ rx @ rz)
    assert np.allclose(rotation_matrix(90, 0, 0) @ [0, 0, 1], [1, 0, 0])  # nose to the subject's left (+x)
    assert np.allclose(rotation_matrix(0, 90, 0) @ [0, 0, 1], [0, -1, 0])  # chin down
    assert np.allclose(rotation_matrix(0, 0, 90) @ [0, 1, 0], [1, 0, 0])  # crown to the left shoulder


def test_head_moves_but_torso_and_room_stay_still(renderer):
    a, b = renderer.render(0, 0, 0), renderer.render(40, 20, 0)
    diff = np.abs(a.astype(int) - b.astype(int)).sum(axis=2) > 10
    x, y = renderer.project(renderer.geo.nose_tip)[0].astype(int)
    assert diff[y - 30:y + 30, x - 30:x + 30].mean() > 0.5
    assert diff[-60:].mean() < 0.01  # shirt and shoulders at the bottom of the image
    assert diff[:, :100].mean() < 0.01  # room on the left


def test_retraction_moves_the_face_away(renderer, face_mesh):
    widths = []
    for mm in (0.0, 30.0):
        lm = _landmarks(face_mesh, renderer.render(0, 0, 0, mm))
        widths.append(np.ptp(lm[:, 0]))
    assert widths[1] < widths[0] * 0.99
    assert widths[1] > widths[0] * 0.85


def test_pivot_is_in_the_upper_neck(renderer):
    g = renderer.geo
    # World origin is the pivot: 9 cm below eye level, behind the face.
    assert g.eye_level_y == pytest.approx(0.09)
    assert g.nose_tip[2] > 0.1
    assert g.crown_y - g.chin[1] == pytest.approx(0.23, abs=0.002)


def test_realism_knobs_change_the_frame_deterministically(renderer, face_mesh):
    plain = renderer.render(10, 0, 0)
    noisy = renderer.render(10, 0, 0, noise=5.0, brightness=0.7, blur=1.0, jpeg_quality=40)
    assert noisy.shape == plain.shape and noisy.dtype == np.uint8
    assert noisy.mean() < plain.mean() * 0.8
    assert _landmarks(face_mesh, noisy) is not None
    covered = renderer.render(10, 0, 0, occlusion=0.4)
    x, y = renderer.project(renderer.geo.nose_tip)[0].astype(int)
    assert (covered != plain).any(axis=2)[y - 40:y + 40, :x].mean() > 0.3
    two = face_mesh.process(renderer.render(10, 0, 0, second_face=0.8)).multi_face_landmarks
    assert len(two) == 2


def test_same_seed_same_pixels():
    a = HeadRenderer(seed=7).render(5, 5, 5, noise=3.0)
    b = HeadRenderer(seed=7).render(5, 5, 5, noise=3.0)
    c = HeadRenderer(seed=8).render(5, 5, 5, noise=3.0)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("kwargs, word", [
    ({"width": 10}, "width"), ({"hfov_deg": 170}, "hfov_deg"), ({"distance_m": 0.01}, "distance_m"),
])
def test_constructor_validation(kwargs, word):
    with pytest.raises(ValueError, match=word):
        HeadRenderer(**kwargs)


def test_render_validation(renderer):
    with pytest.raises(ValueError, match="occlusion"):
        renderer.render(0, 0, 0, occlusion=2.0)
    with pytest.raises(ValueError, match="jpeg_quality"):
        renderer.render(0, 0, 0, jpeg_quality=0)


@pytest.mark.slow
def test_wide_range_detection_is_as_measured(renderer, face_mesh):
    """Where MediaPipe stops seeing the head (measured: yaw beyond ~65 deg)."""
    found = {v: _landmarks(face_mesh, renderer.render(v, 0, 0)) is not None for v in range(-80, 81, 10)}
    assert all(found[v] for v in range(-60, 61, 10)), found
    assert not found[80] and not found[-80], found


def test_a_renderer_hung_as_another_paints_the_same_wall_from_its_moved_camera():
    from neckcoach.sim.render import HeadRenderer
    from neckcoach.sim.scene import SceneSpec

    before = SceneSpec(camera_height_m=-0.35, camera_pitch_deg=5.0, background="pictures", face_decoys=2, room_seed=9)
    after = before.replace(camera_height_m=-0.25, camera_pitch_deg=15.0)
    first = HeadRenderer(seed=2, scene=before)
    first.render(0.0, 0.0, 0.0)
    moved = HeadRenderer(seed=2, scene=after)
    moved.hang_room_as(first)
    assert np.array_equal(moved.wall.image, first.wall.image) and moved.wall.rect_m == first.wall.rect_m
    fresh = HeadRenderer(seed=2, scene=after)  # hung around its own view: pictures elsewhere
    assert not np.array_equal(fresh.wall.image, first.wall.image)
    with pytest.raises(RuntimeError, match="before the room is painted"):
        moved.hang_room_as(first)
