"""Scene variety for the virtual patient: every SceneSpec knob is checked and shows in the frame.

Statistics, not pixels: each knob is changed alone from a base scene and the
frame must change the way the knob says (face position and size from the
renderer's silhouette, brightness of the face or the wall, noise).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from neckcoach.sim.scene import BACKGROUNDS, SKIN_ITA_RANGE_DEG, Passerby, SceneSpec

pytest.importorskip("pyrender")

from neckcoach.sim.render import (  # noqa: E402
    HeadRenderer,
    angles_from_rotation,
    rotation_matrix,
)


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize("field, value", [
    ("distance_m", 0.1), ("camera_height_m", 1.0), ("camera_x_m", -2.0), ("camera_pitch_deg", 60.0),
    ("camera_yaw_deg", 45.0), ("camera_roll_deg", 30.0), ("hfov_deg", 150.0), ("light_level", 0.0),
    ("key_azimuth_deg", 180.0), ("fill_ratio", -0.1), ("window_behind", 1.5), ("auto_exposure", 1),
    ("sensor_noise", 50.0), ("skin_ita_deg", 80.0), ("background", "garden"), ("wall_distance_m", 0.2),
    ("face_decoys", 7), ("face_decoys", 1.5), ("face_decoys", True), ("room_seed", "x"),
    ("passerby", "somebody"), ("distance_m", True),
])
def test_scene_knobs_are_validated(field, value):
    with pytest.raises(ValueError, match=field):
        SceneSpec(**{field: value})


@pytest.mark.parametrize("field, value", [
    ("speed_m_s", 0.0), ("direction", 0), ("behind_m", 0.05), ("head_height_m", 2.0),
    ("face_yaw_deg", 120.0), ("skin_ita_deg", -70.0), ("bob_m", 0.5), ("cross_s", float("nan")),
])
def test_passerby_knobs_are_validated(field, value):
    with pytest.raises(ValueError, match=field):
        Passerby(**{"cross_s": 1.0, field: value})


def test_passerby_must_walk_in_front_of_the_wall():
    with pytest.raises(ValueError, match="behind_m"):
        SceneSpec(wall_distance_m=1.0, passerby=Passerby(cross_s=1.0, behind_m=0.95))


def test_renderer_takes_a_scene_and_its_overrides():
    spec = SceneSpec(distance_m=0.8, hfov_deg=70.0)
    r = HeadRenderer(scene=spec, distance_m=0.5)
    assert r.spec.distance_m == 0.5 and r.spec.hfov_deg == 70.0 and r.distance_m == 0.5
    with pytest.raises(ValueError, match="scene"):
        HeadRenderer(scene={"distance_m": 0.5})


# -------------------------------------------------------------- default scene
# The original renderer's frames (seed 0), measured before scenes existed:
# whole-frame mean RGB and the mean of an 80 px box round the nose tip.
ORIGINAL = {
    (0, 0, 0): ([167.80, 173.99, 172.52], [220.41, 170.80, 157.60]),
    (30, 10, -5): ([167.86, 173.78, 172.23], [202.96, 176.54, 169.38]),
}


@pytest.fixture(scope="module")
def default():
    return HeadRenderer(seed=0)


@pytest.mark.parametrize("pose", sorted(ORIGINAL))
def test_default_scene_reproduces_the_original_frames(default, pose):
    img = default.render(*pose).astype(float)
    x, y = default.project(default.head_points(default.geo.nose_tip, *pose))[0].astype(int)
    frame_mean, face_mean = ORIGINAL[pose]
    assert img.mean(axis=(0, 1)) == pytest.approx(frame_mean, abs=0.5)
    assert img[y - 40:y + 40, x - 40:x + 40].mean(axis=(0, 1)) == pytest.approx(face_mean, abs=0.5)


def test_an_explicit_default_scene_is_the_same_scene(default):
    assert np.array_equal(HeadRenderer(seed=0, scene=SceneSpec()).render(10, 5, 0), default.render(10, 5, 0))


# ----------------------------------------------------------- what knobs do
def _silhouette(r: HeadRenderer, pose=(0.0, 0.0, 0.0)) -> tuple[np.ndarray, float]:
    """Centre (x, y) and width in pixels of the patient's head, from the renderer's depth."""
    _, depth = r._render_pose(*pose, 0.0, with_depth=True)
    chin_y = r.project(r.head_points(r.geo.chin, *pose))[0, 1]
    ys, xs = np.nonzero(depth > 0)
    keep = ys < chin_y
    return np.array([xs[keep].mean(), ys[keep].mean()]), float(np.ptp(xs[keep]))


def _face_box(r: HeadRenderer, img: np.ndarray, half: int = 30) -> np.ndarray:
    x, y = r.project(r.geo.nose_tip)[0].astype(int)
    return img[y - half:y + half, x - half:x + half].astype(float)


def _render(spec: SceneSpec, pose=(0.0, 0.0, 0.0), **kw) -> tuple[HeadRenderer, np.ndarray]:
    r = HeadRenderer(seed=1, scene=spec)
    return r, r.render(*pose, **kw)


BASE = SceneSpec(background="plain", room_seed=5)


def test_distance_and_field_of_view_set_the_head_size():
    _, near = _silhouette(HeadRenderer(scene=BASE.replace(distance_m=0.45)))
    _, far = _silhouette(HeadRenderer(scene=BASE.replace(distance_m=0.9)))
    _, wide = _silhouette(HeadRenderer(scene=BASE.replace(distance_m=0.45, hfov_deg=78.0)))
    # The head's outline is ~0.1 m behind the nose tip: size ~ 1 / (distance + 0.1).
    assert near / far == pytest.approx((0.9 + 0.1) / (0.45 + 0.1), rel=0.1)
    assert near / wide == pytest.approx(math.tan(math.radians(39)) / math.tan(math.radians(30)), rel=0.05)


def test_camera_below_and_pitched_up_moves_the_face_in_the_image():
    level, _ = _silhouette(HeadRenderer(scene=BASE))
    below, _ = _silhouette(HeadRenderer(scene=BASE.replace(camera_height_m=-0.2)))
    tilted, _ = _silhouette(HeadRenderer(scene=BASE.replace(camera_height_m=-0.2, camera_pitch_deg=15.0)))
    assert below[1] < level[1] - 80  # seen from below, the face rides up the frame
    f = HeadRenderer(scene=BASE).focal_px
    # A face `a` above the optical axis is `a` - 15 deg above it once the
    # camera tilts up 15 deg: it moves down by f (tan a - tan(a - 15 deg)).
    a = math.atan((240 - below[1]) / f)
    assert tilted[1] - below[1] == pytest.approx(f * (math.tan(a) - math.tan(a - math.radians(15))), rel=0.1)


def test_camera_offset_and_turn_move_the_face_sideways():
    centre, _ = _silhouette(HeadRenderer(scene=BASE))
    to_left, _ = _silhouette(HeadRenderer(scene=BASE.replace(camera_x_m=0.15)))
    turned, _ = _silhouette(HeadRenderer(scene=BASE.replace(camera_yaw_deg=10.0)))
    f = HeadRenderer(scene=BASE).focal_px
    assert to_left[0] < centre[0] - 60  # camera on the patient's left: patient on the image's left
    assert centre[0] - turned[0] == pytest.approx(f * math.tan(math.radians(10)), rel=0.1)


def test_camera_roll_rotates_the_whole_image():
    import cv2

    _, flat = _render(BASE)
    _, rolled = _render(BASE.replace(camera_roll_deg=8.0))
    # Rolling about the optical axis is an image rotation about the centre:
    # the room appears turned anticlockwise when the camera's top leans right.
    turn = cv2.getRotationMatrix2D((320, 240), 8.0, 1.0)
    expected = cv2.warpAffine(flat, turn, (640, 480))
    inner = np.s_[120:360, 160:480]
    err_rotated = np.abs(expected[inner].astype(float) - rolled[inner]).mean()
    err_plain = np.abs(flat[inner].astype(float) - rolled[inner]).mean()
    assert err_rotated < 0.4 * err_plain


def test_light_level_and_direction_light_the_face():
    r, bright = _render(BASE)
    _, dim = _render(BASE.replace(light_level=0.3))
    _, dimmer = _render(BASE.replace(light_level=0.15))
    # Less than in proportion: the bright face's highlights clip at 255.
    assert _face_box(r, dimmer).mean() < _face_box(r, dim).mean() < 0.65 * _face_box(r, bright).mean()
    for azimuth in (-80.0, 80.0):
        r, img = _render(BASE.replace(key_azimuth_deg=azimuth, fill_ratio=0.2))
        box = _face_box(r, img, 40).mean(axis=2)
        # Positive azimuth lights the patient's left, the image's right half of the face.
        right_minus_left = box[:, 40:].mean() - box[:, :40].mean()
        assert math.copysign(1, right_minus_left) == math.copysign(1, azimuth)
        assert abs(right_minus_left) > 25


def test_fill_ratio_sets_the_shadow_side():
    r, soft = _render(BASE.replace(key_azimuth_deg=80.0, fill_ratio=1.5))
    _, hard = _render(BASE.replace(key_azimuth_deg=80.0, fill_ratio=0.1))
    shadow = np.s_[:, :30]  # the image's left half of the face: away from the key light
    assert _face_box(r, hard)[shadow].mean() < _face_box(r, soft)[shadow].mean() - 20


def test_window_behind_is_bright_and_darkens_the_exposed_face():
    r, plain = _render(BASE.replace(auto_exposure=True))
    rw, lit = _render(BASE.replace(auto_exposure=True, window_behind=1.0))
    assert rw.wall.window_m is not None and r.wall.window_m is None
    assert (lit.min(axis=2) > 250).mean() > 0.1 > (plain.min(axis=2) > 250).mean()  # clipped daylight
    assert rw.exposure_gain < 0.8 * r.exposure_gain
    assert _face_box(rw, lit).mean() < 0.75 * _face_box(r, plain).mean()


def test_auto_exposure_brings_a_dim_room_up_to_mid_grey():
    _, dark = _render(BASE.replace(light_level=0.25))
    r, exposed = _render(BASE.replace(light_level=0.25, auto_exposure=True))
    assert r.exposure_gain > 1.3
    assert abs(exposed.mean() - 120) < 10 < abs(dark.mean() - 120)


def test_sensor_noise_grows_with_the_gain():
    r = HeadRenderer(seed=1, scene=BASE.replace(light_level=0.25, auto_exposure=True, sensor_noise=3.0))
    a, b = r.render(0, 0, 0).astype(float), r.render(0, 0, 0).astype(float)
    inner = np.s_[100:380, 100:540]  # no clipping at 0 or 255 here
    assert np.std(a[inner] - b[inner]) / math.sqrt(2) == pytest.approx(3.0 * r.exposure_gain, rel=0.1)


def test_skin_tone_spans_light_to_dark():
    import cv2

    lightness = []
    for ita in (SKIN_ITA_RANGE_DEG[1], 25.0, -10.0, SKIN_ITA_RANGE_DEG[0]):
        r, img = _render(BASE.replace(skin_ita_deg=ita))
        lab = cv2.cvtColor(_face_box(r, img).astype(np.float32) / 255, cv2.COLOR_RGB2LAB)
        lightness.append(float(np.median(lab[..., 0])))
    assert all(np.diff(lightness) < -4), lightness
    assert lightness[0] - lightness[-1] > 30, lightness


def _background_std(r: HeadRenderer, img: np.ndarray) -> float:
    _, depth = r._render_pose(0.0, 0.0, 0.0, 0.0, with_depth=True)
    return float(img[depth == 0].std())


@pytest.mark.parametrize("background", BACKGROUNDS)
def test_backgrounds_differ_and_plain_is_plainest(background):
    r, img = _render(SceneSpec(background=background, room_seed=3))
    rp, plain = _render(SceneSpec(background="plain", room_seed=3))
    if background == "plain":
        assert _background_std(r, img) < 25
    else:
        assert _background_std(r, img) > _background_std(rp, plain) + 5


def test_wall_distance_moves_the_wall():
    near = HeadRenderer(scene=BASE.replace(wall_distance_m=0.8))
    far = HeadRenderer(scene=BASE.replace(wall_distance_m=3.0))
    depths = []
    for r in (near, far):
        r.render(0, 0, 0)
        _, depth = r._draw(r._room_scene, 0)
        depths.append(float(np.median(depth[depth > 0])))
    camera_to_pivot = near.camera_position[2]
    assert depths[0] == pytest.approx(camera_to_pivot + 0.8, rel=0.05)
    assert depths[1] == pytest.approx(camera_to_pivot + 3.0, rel=0.05)


def test_face_decoys_hang_in_view():
    r, img = _render(SceneSpec(background="pictures", face_decoys=3, room_seed=11))
    _, bare = _render(SceneSpec(background="pictures", face_decoys=0, room_seed=11))
    assert len(r.wall.faces_m) == 3
    z = -r.spec.wall_distance_m
    for kind, (x0, y0, x1, y1) in r.wall.faces_m:
        (u, v), = r.project(np.array([[(x0 + x1) / 2, (y0 + y1) / 2, z]]))
        assert 0 <= u < 640 and 0 <= v < 480, kind
        iu, iv = int(u), int(v)
        assert np.abs(img[iv - 5:iv + 5, iu - 5:iu + 5].astype(float) - bare[iv - 5:iv + 5, iu - 5:iu + 5]).mean() > 5


def test_room_seed_lays_out_the_room():
    _, a = _render(SceneSpec(background="living", room_seed=1))
    _, b = _render(SceneSpec(background="living", room_seed=2))
    _, c = _render(SceneSpec(background="living", room_seed=1))
    assert np.array_equal(a, c) and np.abs(a.astype(float) - b).mean() > 5


def test_passerby_walks_through_the_frame_in_the_time_geometry_says():
    walker = Passerby(cross_s=5.0, speed_m_s=1.0, direction=1, behind_m=0.6, head_height_m=0.3, face_yaw_deg=0.0)
    r = HeadRenderer(seed=1, scene=BASE.replace(passerby=walker))
    t_in, t_out = r.passerby_view_interval()
    # The frame is 2 (camera-to-walker depth) tan(hfov / 2) wide at the walker's depth.
    depth = r.camera_position[2] + 0.6 - (r.geo.nose_tip[2] - 0.02)  # to the walker's face
    assert t_out - t_in == pytest.approx(2 * depth * math.tan(math.radians(30)) / 1.0, rel=0.05)
    assert t_in < 5.0 < t_out and not r.passerby_in_view(t_in - 0.5) and r.passerby_in_view(t_in + 0.5)
    empty = r.render(0, 0, 0, t_s=t_in - 1.0)
    assert np.array_equal(empty, r.render(0, 0, 0))  # out of view: the frame without anyone
    x, y = r.passerby_face_px(t_in + 0.4).astype(int)
    there = r.render(0, 0, 0, t_s=t_in + 0.4)
    box = np.s_[max(y - 15, 0):y + 15, max(x - 15, 0):x + 15]
    assert np.abs(there[box].astype(float) - empty[box]).mean() > 20
    assert walker.x_at(5.0) == 0.0 and walker.x_at(6.0) == pytest.approx(1.0)


# ------------------------------------------------------------ random scenes
def test_random_scenes_are_seeded_and_within_the_stated_ranges():
    assert SceneSpec.random(np.random.default_rng(4)) == SceneSpec.random(np.random.default_rng(4))
    specs = [SceneSpec.random(np.random.default_rng(k)) for k in range(300)]
    d = np.array([s.distance_m for s in specs])
    pitch = np.array([s.camera_pitch_deg for s in specs])
    elevation = np.array([s.camera_elevation_deg for s in specs])
    assert d.min() >= 0.45 and d.max() <= 1.0 and np.ptp(d) > 0.5
    assert pitch.min() >= 10 and pitch.max() <= 20
    assert np.all(np.array([s.camera_height_m for s in specs]) < 0)  # laptop camera below the eyes
    assert np.all(np.abs(elevation - pitch) < 9)  # the face within ~8 deg of the optical axis
    assert {s.background for s in specs} == set(BACKGROUNDS)
    assert 0.15 < np.mean([s.passerby is not None for s in specs]) < 0.45
    assert 0.1 < np.mean([s.window_behind > 0 for s in specs]) < 0.3
    assert 0.15 < np.mean([s.light_level < 0.5 for s in specs]) < 0.5
    ita = np.array([s.skin_ita_deg for s in specs])
    assert ita.min() < -40 and ita.max() > 45


def test_random_scenes_frame_the_patient():
    for k in range(40):
        r = HeadRenderer(scene=SceneSpec.random(np.random.default_rng(k)))
        u, v = r.project(r.geo.nose_tip)[0]
        assert abs(u - 320) < 0.3 * 640 and abs(v - 240) < 0.3 * 480, (k, u, v)
        # Head wide enough for MediaPipe's detector (MIN_HEAD_FRACTION), seen from the camera.
        z = r.geo.nose_tip[2] - 0.1
        left, right = r.project(np.array([[-0.0835, 0.09, z], [0.0835, 0.09, z]]))
        assert (right[0] - left[0]) / 640 > 0.13, k


# ------------------------------------------------------------- ground truth
def test_truth_is_relative_to_the_trunk_and_the_camera_is_stated():
    r = HeadRenderer(scene=SceneSpec(camera_pitch_deg=15.0, camera_height_m=-0.2, camera_yaw_deg=5.0))
    for pose in [(0, 0, 0), (40, 10, -5), (-30, -20, 15)]:
        assert angles_from_rotation(rotation_matrix(*pose)) == pytest.approx(pose, abs=1e-9)
        assert np.allclose(r.camera_rotation @ r.head_rotation_in_camera(*pose), rotation_matrix(*pose))
    # A camera pitched up sees a pure turn as a turn with a sideways bend.
    yaw, pitch, roll = r.camera_frame_angles(60.0, 0.0, 0.0)
    assert abs(roll) > 5 and yaw == pytest.approx(60.0, abs=3.0)
    assert HeadRenderer().camera_frame_angles(60.0, 10.0, 5.0) == pytest.approx((60.0, 10.0, 5.0), abs=1e-9)


# ----------------------------------------------------- MediaPipe on scenes
@pytest.fixture(scope="module")
def face_mesh():
    mp = pytest.importorskip("mediapipe")
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=4, refine_landmarks=True) as fm:
        yield fm


def _faces(fm, img: np.ndarray) -> list[np.ndarray]:
    h, w = img.shape[:2]
    found = fm.process(img).multi_face_landmarks or []
    return [np.array([(p.x * w, p.y * h) for p in f.landmark]) for f in found]


def test_the_rendered_camera_matches_its_projection(face_mesh):
    """Under a pitched, turned, rolled, off-centre camera MediaPipe's nose tip is where `project` puts it."""
    spec = SceneSpec(camera_pitch_deg=15.0, camera_height_m=-0.18, camera_x_m=0.08, camera_yaw_deg=-6.0,
                     camera_roll_deg=4.0, background="plain", room_seed=2)
    r = HeadRenderer(scene=spec)
    for pose in [(0.0, 0.0, 0.0), (30.0, 10.0, 0.0)]:
        faces = _faces(face_mesh, r.render(*pose))
        nose = r.project(r.head_points(r.geo.nose_tip, *pose))[0]
        assert min(np.hypot(*(f[1] - nose)) for f in faces) < 6


RANDOM_SCENE_SEEDS = range(2000, 2024)
"""Seeds never looked at while the scene ranges were chosen (those used 1000-1029)."""


@pytest.mark.slow
def test_mediapipe_finds_the_patient_in_random_scenes(face_mesh):
    """24 random scenes x 3 poses, each frame on its own (no tracking to lean on).

    Measured: the patient is found in 71 of the 72 frames; the miss is seed
    2014 turned 30 deg, a far (0.96 m), dark-skinned (ITA -16) patient in
    front of a bright window, a picture the coach must call too bright. The
    floor: every scene's neutral frame (calibration can start) and 95 % of
    all frames.
    """
    missed = []
    for k in RANDOM_SCENE_SEEDS:
        r = HeadRenderer(seed=k, scene=SceneSpec.random(np.random.default_rng(k), passerby_prob=0.0))
        for pose in [(0.0, 0.0, 0.0), (30.0, 0.0, 0.0), (0.0, 20.0, 0.0)]:
            nose = r.project(r.head_points(r.geo.nose_tip, *pose))[0]
            faces = _faces(face_mesh, r.render(*pose))
            if not any(np.hypot(*(f[1] - nose)) < 15 for f in faces):
                missed.append((k, pose))
    assert not [m for m in missed if m[1] == (0.0, 0.0, 0.0)], missed
    assert len(missed) <= 0.05 * 3 * len(RANDOM_SCENE_SEEDS), missed
