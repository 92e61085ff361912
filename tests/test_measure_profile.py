"""Following the head past face mesh's range, with exact synthetic landmarks.

The fake detector gives face-mesh landmarks of a known rigid face while the
mesh would work, then (as face mesh does past ~60 deg) a collapsed face that
reads far less turned, then none; the follower's points are the anchor's 3D
points projected at the true pose. The estimator must follow the truth, never
trust the collapsed mesh, and call the far end a lower bound.
"""

from dataclasses import replace

import numpy as np
import pytest

from neckcoach.core import face_model
from neckcoach.core.geometry import Camera, angles_from_rotation, rotation_from_angles, rotation_to
from neckcoach.core.headpose import (AHEAD_OFFSET_RATE_DEG_S, CONFIRM_WINDOW_S, MAX_TRACKED_YAW_DEG,
                                     HELD_MARGIN_DEG, MESH_AHEAD_MARGIN_DEG,
                                     HeadPoseEstimator, anchor_points_mm, tracked_motion)
from neckcoach.io.detector import FaceObservation
from neckcoach.io.headtrack import TrackedPoints
from neckcoach.measure import pose_of_frame
from tests.face_synth import perspective_landmarks

CAM = Camera(640, 480, 60.0)
DEPTH_MM = 600.0
CENTRE_MM = np.array([0.0, 0.0, DEPTH_MM])


def _face_points() -> np.ndarray:
    """478 rigid points (model mm): the face model's own, the rest spread over the face's front."""
    rng = np.random.default_rng(0)
    pts = np.zeros((478, 3))
    x = rng.uniform(-60, 60, 478)
    y = rng.uniform(-60, 30, 478)
    pts[:] = np.column_stack([x, y, -70 + 0.012 * x * x - 25 * np.exp(-(x * x) / 300)])
    pts[face_model.MODEL_INDICES] = face_model.MODEL_POINTS_MM
    return pts


FACE = _face_points()


def _landmarks(yaw: float, depth_mm: float = DEPTH_MM, pitch: float = 0.0, roll: float = 0.0) -> np.ndarray:
    """MediaPipe-like landmarks (x, y px; z px in x scale) of FACE turned by `yaw` (and `pitch`,
    `roll`), `depth_mm` away."""
    return perspective_landmarks(FACE, rotation_from_angles(yaw, pitch, roll),
                                 np.array([0.0, 0.0, depth_mm]), CAM)


def _over_the_face(lm: np.ndarray, face_yaw: float, depth_mm: float, pitch: float) -> np.ndarray:
    """Landmarks `lm` of a misread turn laid over the face actually in view, turned `face_yaw`: as
    wide as that face's landmarks are across the image, their nose tip where its is. Face mesh fits
    the face it reads to the face in view, so a half-face read as a small turn is narrower, hence
    further, and aside from where a face turned that little would be (over the cached accuracy
    sweeps' collapses their pivot was 88-203 mm from home)."""
    nose = 1  # MediaPipe's nose tip
    seen = _landmarks(face_yaw, depth_mm, pitch)
    scale = np.ptp(seen[:, 0]) / np.ptp(lm[:, 0])
    out = lm.copy()
    out[:, :2] = seen[nose, :2] + (lm[:, :2] - lm[nose, :2]) * scale
    out[:, 2] *= scale
    return out


class FollowingDetector:
    """Mesh while it works, a collapsed mesh past `collapse_deg`, none past `lost_deg`;
    the follower's points exactly where the anchor's 3D points are at the true pose.
    `face_yaw`, where set, is the turn of the face in view when `yaw` is what face mesh
    misreads it as: the mesh is drawn over that face (`_over_the_face`)."""

    def __init__(self, collapse_deg=58.0, lost_deg=68.0):
        self.collapse_deg, self.lost_deg = collapse_deg, lost_deg
        self.yaw = 0.0
        self.face_yaw: float | None = None
        self.pitch = self.mesh_pitch = 0.0  # what the followed points and face mesh see
        self.depth_mm = DEPTH_MM
        self.tracking_wanted = False
        self._anchor = None
        self._anchor_id = 0
        self._last = None

    def update(self, frame):
        yaw = self.yaw
        if abs(yaw) >= self.lost_deg:
            obs = FaceObservation.empty((640, 480), brightness=100.0)
            self._last = None
        else:
            shown = yaw if abs(yaw) < self.collapse_deg else np.sign(yaw) * (2 * self.collapse_deg - abs(yaw) - 15)
            lm = _landmarks(shown, self.depth_mm, self.mesh_pitch)
            if self.face_yaw is not None and self.face_yaw != shown:
                lm = _over_the_face(lm, self.face_yaw, self.depth_mm, self.mesh_pitch)
            obs = FaceObservation(lm, (640, 480), 1, 100.0, 1.0, True)
            self._last = lm if abs(yaw) < self.collapse_deg else None
        if self.tracking_wanted and self._anchor is not None:
            lm0, yaw0 = self._anchor
            idx = np.arange(0, 478, 5)
            # Where the anchor's points are now: rotate them by the turn since the anchor.
            rel = rotation_from_angles(yaw, self.pitch, 0) @ rotation_from_angles(yaw0, 0, 0).T
            head_mm = (FACE @ rotation_from_angles(yaw0, 0, 0).T)[idx]
            now = CAM.project(head_mm @ rel.T + np.array([0.0, 0.0, self.depth_mm]))
            obs = FaceObservation(obs.landmarks_px, obs.image_size, obs.faces, obs.brightness,
                                  obs.confidence, obs.face_found,
                                  tracked=TrackedPoints(self._anchor_id, lm0, idx, now, 1))
        return obs

    def confirm_anchor(self):
        if self._last is not None:
            self._anchor_id += 1
            self._anchor = (self._last, self.yaw)

    def reset(self):
        pass


def _with_followed(mesh: FaceObservation, followed: FaceObservation) -> FaceObservation:
    """Face mesh's view of one head with the follower's points of another view of it."""
    return FaceObservation(mesh.landmarks_px, mesh.image_size, mesh.faces, mesh.brightness,
                           mesh.confidence, mesh.face_found, tracked=followed.tracked)


def _turn(det, est, peaks, rate_deg_s=40.0, fps=30.0):
    """Out to each peak and back at a steady rate; yields (true yaw, HeadPose)."""
    t, yaw = 0.0, 0.0
    path = [0.0] * 10
    for peak in peaks:
        n = int(abs(peak) / rate_deg_s * fps)
        path += list(np.linspace(0, peak, n)) + [peak] * 15 + list(np.linspace(peak, 0, n)) + [0.0] * 15
    for yaw in path:
        det.yaw = float(yaw)
        yield yaw, pose_of_frame(det, est, np.zeros((480, 640, 3), np.uint8), t)
        t += 1 / fps


@pytest.mark.parametrize("peak", [85.0, -85.0])
def test_followed_through_profile_and_never_trusts_the_collapsed_mesh(peak):
    det, est = FollowingDetector(), HeadPoseEstimator()
    rows = list(_turn(det, est, [peak]))
    for true, pose in rows:
        assert pose.face_found, true  # followed even where face mesh finds nothing
        if pose.is_reliable("yaw"):
            assert abs(pose.yaw_deg - true) <= 5.0, (true, pose)
    followed = [(true, p) for true, p in rows if p.tracked and p.is_reliable("yaw")]
    assert followed and max(abs(true) for true, _ in followed) >= MAX_TRACKED_YAW_DEG - 6.0
    beyond = [p for true, p in rows if abs(true) > MAX_TRACKED_YAW_DEG + 3]
    assert beyond and not any(p.is_reliable("yaw") for p in beyond)
    # a lower bound, except while the collapsing mesh contradicts the followed points (withheld)
    assert sum("yaw" in p.lower_bounds for p in beyond) > 0.6 * len(beyond)
    assert all(abs(p.yaw_deg) <= abs(true) + 5.0 for true, p in rows if "yaw" in p.lower_bounds)
    # back near the front the mesh takes over again
    assert not rows[-1][1].tracked and rows[-1][1].is_reliable("yaw")


def test_without_a_follower_the_edge_is_a_lower_bound_not_a_measurement():
    class MeshOnly(FollowingDetector):
        def confirm_anchor(self):
            pass  # nothing is ever followed

    det, est = MeshOnly(), HeadPoseEstimator()
    rows = list(_turn(det, est, [80.0]))
    for true, pose in rows:
        if pose.face_found and pose.is_reliable("yaw"):
            assert abs(pose.yaw_deg - true) <= 5.0, (true, pose.yaw_deg)
    lost = [p for true, p in rows if true >= det.lost_deg]
    assert lost and all(p.face_found and "yaw" in p.lower_bounds for p in lost)  # held: "at least"
    assert all(p.yaw_deg <= true + 5.0 for true, p in rows if "yaw" in p.lower_bounds)


class OffCentreDetector(FollowingDetector):
    """A face `x_mm` to the side of a camera that faces straight ahead (18 deg off the image
    centre at 200 mm): face mesh sees it along its viewing ray, so it collapses (reads far
    less turned) once the face is *seen* turned past `collapse_deg`, which a turn away from
    the camera's side reaches 18 deg sooner. The followed points see the true pose."""

    def __init__(self, x_mm: float = 200.0):
        super().__init__()
        self.centre = np.array([x_mm, 0.0, DEPTH_MM])
        self.ray = rotation_to(np.array([0.0, 0.0, 1.0]), self.centre)

    def _seen(self, yaw: float) -> np.ndarray:
        return self.ray.T @ rotation_from_angles(yaw, 0.0, 0.0)

    def _project(self, apparent: np.ndarray) -> np.ndarray:
        return perspective_landmarks(FACE, self.ray @ apparent, self.centre, CAM)

    def update(self, frame):
        seen_yaw = angles_from_rotation(self._seen(self.yaw))[0]
        if abs(seen_yaw) >= self.lost_deg:
            obs = FaceObservation.empty((640, 480), brightness=100.0)
            self._last = None
        else:
            collapsed = abs(seen_yaw) >= self.collapse_deg
            shown = np.sign(seen_yaw) * (2 * self.collapse_deg - abs(seen_yaw) - 15) if collapsed else seen_yaw
            lm = self._project(rotation_from_angles(float(shown), 0.0, 0.0))
            obs = FaceObservation(lm, (640, 480), 1, 100.0, 1.0, True)
            self._last = None if collapsed else lm
        if self.tracking_wanted and self._anchor is not None:
            lm0, yaw0 = self._anchor
            idx = np.arange(0, 478, 5)
            head0 = FACE @ rotation_from_angles(yaw0, 0, 0).T
            rel = rotation_from_angles(self.yaw, 0, 0) @ rotation_from_angles(yaw0, 0, 0).T
            now = CAM.project((head0 @ rel.T)[idx] + self.centre)
            obs = FaceObservation(obs.landmarks_px, obs.image_size, obs.faces, obs.brightness,
                                  obs.confidence, obs.face_found,
                                  tracked=TrackedPoints(self._anchor_id, lm0, idx, now, 1))
        return obs


@pytest.mark.parametrize("follower", [True, False])
def test_a_face_off_the_image_centre_is_judged_by_how_far_it_is_seen_turned(follower):
    """Turned 60 deg away from the camera's side, the face is seen 78 deg turned and face mesh
    has collapsed (a reading of ~20 deg): not trusted, though its camera-frame yaw is small."""
    det, est = OffCentreDetector(), HeadPoseEstimator()
    if not follower:
        det.confirm_anchor = lambda: None
    rows = list(_turn(det, est, [60.0, -60.0]))
    for true, pose in rows:
        if pose.face_found and pose.is_reliable("yaw"):
            assert abs(pose.yaw_deg - true) <= 5.0, (true, pose.yaw_deg, pose.tracked)
    # at rest it is trusted, and a turn towards the camera's side (seen less turned) as far as
    # a centred one; coming back from the collapse, only once the gate's hysteresis lets go
    assert all(p.is_reliable("yaw") for _, p in rows[:10] + rows[-15:])
    towards = [true for true, p in rows if true < 0 and p.is_reliable("yaw")]
    assert min(towards) <= -35.0


class MeshMissingDetector(FollowingDetector):
    """Past the turn's peak face mesh reports no face (rendered accuracy scene 500: the
    detector took the face back at the front for somebody else for 2.6 s) while the
    followed points lag the head by `lag_deg` on its way back."""

    def __init__(self, lag_deg: float = 20.0):
        super().__init__(collapse_deg=90.0, lost_deg=95.0)
        self.lag_deg, self.peak = lag_deg, 0.0

    def update(self, frame):
        true = self.yaw
        self.peak = max(self.peak, true)
        if true >= self.peak:
            return super().update(frame)
        self.yaw = min(true + self.lag_deg, self.peak)  # the follower's view only
        followed = super().update(frame)
        self.yaw = true
        return FaceObservation(np.zeros((0, 3)), followed.image_size, 1, followed.brightness, 0.0, False,
                               tracked=followed.tracked)


def test_followed_points_inside_face_meshs_range_with_no_mesh_to_check_them_are_not_trusted():
    """Inside face mesh's range the followed points are trusted only where face mesh is found:
    with no mesh, nothing shows that they still follow (they read 20 deg at the front, trusted)."""
    det, est = MeshMissingDetector(), HeadPoseEstimator()
    rows = list(_turn(det, est, [50.0]))
    back = [(true, p) for true, p in rows if p.tracked and true < det.peak]
    assert back and any(abs(p.yaw_deg - true) > 10.0 for true, p in back)  # the points lag
    for true, pose in rows:
        if pose.face_found and pose.is_reliable("yaw"):
            assert abs(pose.yaw_deg - true) <= 5.0, (true, pose.yaw_deg, pose.tracked)


def test_tracked_motion_recovers_a_rotation_and_drops_outliers():
    rng = np.random.default_rng(1)
    anchor = anchor_points_mm(_landmarks(25.0), CAM, DEPTH_MM)[::4]
    rot = rotation_from_angles(30.0, 5.0, -3.0)
    centre = anchor.mean(0)
    moved = (anchor - centre) @ rot.T + centre + np.array([10.0, -5.0, 20.0])
    px = CAM.project(moved) + rng.normal(0, 0.2, (len(anchor), 2))
    px[:6] += 25.0  # flow that slid along an edge
    got, t, rms, kept = tracked_motion(anchor, px, CAM)
    assert kept <= len(anchor) - 6 and rms < 1.0
    assert np.degrees(np.arccos((np.trace(got.T @ rot) - 1) / 2)) < 0.5


class DriftingDetector(FollowingDetector):
    """The follower's points drift off (as when they slide onto the silhouette): after the turn's
    peak they keep saying the head turns on while it comes back."""

    def __init__(self):
        super().__init__(collapse_deg=90.0, lost_deg=95.0)
        self.peak_seen = 0.0

    def update(self, frame):
        true = self.yaw
        self.peak_seen = max(self.peak_seen, true)
        drifted = self.peak_seen + (self.peak_seen - true) * 0.8
        self.yaw = drifted  # the follower's view only
        followed = super().update(frame)
        self.yaw = true
        mesh = super().update(frame)
        return _with_followed(mesh, followed)


def test_a_follower_that_drifts_off_is_dropped_when_the_mesh_is_back():
    det, est = DriftingDetector(), HeadPoseEstimator()
    rows = list(_turn(det, est, [50.0]))
    for true, pose in rows:
        if pose.is_reliable("yaw"):
            assert abs(pose.yaw_deg - true) <= 5.0, (true, pose.yaw_deg)
        if "yaw" in pose.lower_bounds and abs(true) < 30:  # never "at least 80" for a head at 20
            assert abs(pose.yaw_deg) <= abs(true) + 5.0, (true, pose.yaw_deg)
    # within MESH_SETTLED_S of the mesh reading inside its range again, it is in charge
    back = [p for _, p in rows[-12:]]
    assert all(not p.tracked and p.is_reliable("yaw") for p in back)


class StallingDetector(FollowingDetector):
    """The follower's points stop following at `stall_deg` (LK flow on low-textured skin stays
    put, rendered population seed 400391) while the head turns on and face mesh still reads it."""

    def __init__(self, stall_deg=30.0):
        super().__init__()
        self.stall_deg = stall_deg

    def update(self, frame):
        true = self.yaw
        self.yaw = float(np.sign(true) * min(abs(true), self.stall_deg))  # the follower's view only
        followed = super().update(frame)
        self.yaw = true
        mesh = super().update(frame)
        return _with_followed(mesh, followed)


@pytest.mark.parametrize("peak", [75.0, -75.0])
def test_points_that_stop_following_are_not_trusted_once_the_mesh_reads_ahead_of_them(peak):
    """A mesh reading the turn further than the followed points means they lag (rendered: they
    were the ones off, see `COLLAPSE_YAW_DEG`): their yaw is not trusted from then on, also where the mesh is lost (before,
    the stalled points' 30 deg was trusted there for a head at 70), and the mesh hands back only
    once it agrees with them."""
    det, est = StallingDetector(), HeadPoseEstimator()
    rows = list(_turn(det, est, [peak]))
    for true, pose in rows:
        if pose.is_reliable("yaw"):
            assert abs(pose.yaw_deg - true) <= 5.0, (true, pose.yaw_deg)
        if "yaw" in pose.lower_bounds:
            assert abs(pose.yaw_deg) <= abs(true) + 5.0, (true, pose.yaw_deg)
    lost = [p for true, p in rows if abs(true) >= det.lost_deg]
    assert lost and not any(p.is_reliable("yaw") for p in lost)
    # back near the front the mesh takes over again
    assert not rows[-1][1].tracked and rows[-1][1].is_reliable("yaw")


@pytest.mark.parametrize("peak", [52.0, -52.0])
def test_a_mesh_reading_ahead_of_stalled_points_gives_the_turn_as_a_lower_bound(peak):
    """Points stuck at 30 deg while the mesh still reads the turn (rendered seed 400427: a held
    49 deg turn read 22 and "I could not see how far you went"): held at 52, the turn shows
    as at least the mesh's reading less `MESH_AHEAD_MARGIN_DEG`, never past the truth, and it
    gets there without a step (a step would read as a sudden movement downstream)."""
    det, est = StallingDetector(), HeadPoseEstimator()
    rows = list(_turn(det, est, [peak]))
    held = [p for true, p in rows if true == peak]
    assert held and all("yaw" in p.lower_bounds and not p.is_reliable("yaw") for p in held)
    assert all(abs(p.yaw_deg) <= abs(peak) for p in held)
    # reached at AHEAD_OFFSET_RATE_DEG_S: within the hold's first 0.4 s here
    assert all(abs(p.yaw_deg) >= abs(peak) - MESH_AHEAD_MARGIN_DEG - 1.0 for p in held[12:])
    # no step while followed (at the handback the monitor waits the switch out anyway), and a
    # bound let go of slowly stays "at least" within the 5 deg a value may be off
    followed = [(t, p) for t, p in rows if p.tracked]
    shown = np.array([p.yaw_deg for _, p in followed])
    true = np.array([t for t, _ in followed])
    assert np.max(np.abs(np.diff(shown))) <= np.max(np.abs(np.diff(true))) + 1.0
    assert all(abs(p.yaw_deg) <= abs(t) + 5.0 for t, p in rows if "yaw" in p.lower_bounds)


class MeshAtDepth:
    """Face mesh reading `shown` deg of yaw (None: no face found) of FACE `depth_mm` from the camera."""

    def __init__(self):
        self.shown, self.depth_mm = 0.0, DEPTH_MM

    def update(self, frame):
        if self.shown is None:
            return FaceObservation.empty((640, 480), brightness=100.0)
        return FaceObservation(_landmarks(self.shown, self.depth_mm), (640, 480), 1, 100.0, 1.0, True)


def _run(det, est, script, fps=30.0, seconds=8.0):
    """script(t) -> (true yaw, mesh reading or None, depth mm); yields (t, true yaw, HeadPose)."""
    frame = np.zeros((480, 640, 3), np.uint8)
    for i in range(int(seconds * fps)):
        t = i / fps
        true, det.shown, det.depth_mm = script(t)
        det.yaw = true
        yield t, true, pose_of_frame(det, est, frame, t)


def _ramp(t, t0, t1, a, b):
    return a + (b - a) * min(max((t - t0) / (t1 - t0), 0.0), 1.0)


def test_a_person_who_came_closer_while_turned_is_trusted_again_once_back():
    """Asked to come closer during a turn, the person moved 160 mm nearer while turned past the
    gate (rendered population seed 400458): face mesh saw one face throughout, so the head
    back at the front is trusted as soon as the gate allows, not seconds later when a slow
    drift could explain the move (then the next rep went uncounted)."""
    def script(t):
        yaw = _ramp(t, 0.5, 1.875, 0.0, 55.0) if t < 4.375 else _ramp(t, 4.375, 5.75, 55.0, 0.0)
        return yaw, yaw, _ramp(t, 2.0, 4.0, DEPTH_MM, DEPTH_MM - 160.0)

    rows = list(_run(MeshAtDepth(), HeadPoseEstimator(), script))
    assert any(not p.is_reliable("yaw") for _, true, p in rows if true == 55.0)  # past the gate
    back = [(t, p) for t, true, p in rows if t >= 5.45]  # within SUSPECT_CLEAR_YAW_DEG of home
    assert back and all(p.is_reliable("yaw") for _, p in back), [t for t, p in back if not p.is_reliable("yaw")]
    assert all(abs(p.yaw_deg - true) <= 1.0 for _, true, p in rows if p.is_reliable("yaw"))


def test_a_mesh_found_again_nearer_at_profile_is_still_not_trusted():
    """What the pivot test is for: lost at profile, face mesh found the face again on a wrong
    half-face, reading a small turn at a wrong scale (130 mm nearer) while the head stayed at
    80 deg. Its reading must not be trusted, though it is inside the gate and near home."""
    def script(t):
        yaw = _ramp(t, 0.5, 1.83, 0.0, 80.0) if t < 5.0 else _ramp(t, 5.0, 6.33, 80.0, 0.0)
        if yaw >= 62.0 and 1.9 <= t < 3.4:
            return yaw, 14.0, DEPTH_MM - 130.0
        return yaw, (yaw if yaw < 62.0 else None), DEPTH_MM

    rows = list(_run(MeshAtDepth(), HeadPoseEstimator(), script))
    refound = [p for t, true, p in rows if 1.9 <= t < 3.4]
    assert refound and all(p.face_found for p in refound)
    assert not any(p.is_reliable("yaw") for p in refound)
    assert rows[-1][2].is_reliable("yaw")  # home again at the end


class FollowedThenLost(FollowingDetector):
    """The follower's points follow the head exactly until `points_lost_s`; face mesh reads
    `shown` deg (None: no face) `depth_mm` from the camera, as `MeshAtDepth`."""

    def __init__(self, points_lost_s):
        super().__init__()
        self.points_lost_s, self.t = points_lost_s, 0.0
        self.shown = 0.0

    def update(self, frame):
        followed = super().update(frame) if self.t < self.points_lost_s else None
        mesh = MeshAtDepth.update(self, frame)
        return mesh if followed is None or followed.tracked is None else _with_followed(mesh, followed)


def test_a_mesh_found_again_nearer_than_the_followed_points_last_saw_the_head_is_not_trusted():
    """Rendered population seed 401087: a turn held at 56-64 deg for 4.6 s, followed, then the
    points and the mesh lost; the mesh found again on the near half-face read 7-11 deg, 120 mm
    nearer than home. Home allowed that after so long a hold (a seated person drifts), but the
    points had seen the head where it was 0.3 s before: it is not trusted until it is back."""
    det = FollowedThenLost(points_lost_s=5.0)

    def script(t):
        det.t = t
        yaw = _ramp(t, 0.5, 2.1, 0.0, 64.0) if t < 6.2 else _ramp(t, 6.2, 7.5, 64.0, 0.0)
        if 5.3 <= t and yaw >= 12.0:
            return yaw, 10.0, DEPTH_MM - 120.0  # the wrong half-face, read at a wrong scale
        return yaw, (yaw if yaw < 55.0 else None), DEPTH_MM

    rows = list(_run(det, HeadPoseEstimator(), script))
    assert any(p.tracked and p.face_found for t, _, p in rows if 3.0 <= t < 5.0)  # followed in the hold
    refound = [p for t, true, p in rows if 5.3 <= t and true >= 12.0]
    assert refound and all(p.face_found for p in refound)
    assert not any(p.is_reliable("yaw") for p in refound), [round(t, 2) for t, true, p in rows
                                                            if 5.3 <= t and true >= 12.0 and p.is_reliable("yaw")]
    assert rows[-1][2].is_reliable("yaw")  # home again at the end


def test_a_person_who_came_closer_while_the_points_lagged_is_trusted_again_once_back():
    """The same move while followed points lagged behind the turn (seed 400458: they read 28 when
    the mesh, reading 34, took over): handed back while the two disagree, the mesh is suspect
    until it sees the head back home, and a mesh found in every frame since it was trusted
    is home by its turn, wherever the person now sits."""
    def script(t):
        yaw = _ramp(t, 0.5, 1.8, 0.0, 52.0) if t < 4.3 else _ramp(t, 4.3, 5.6, 52.0, 0.0)
        return yaw, None, _ramp(t, 2.0, 4.0, DEPTH_MM, DEPTH_MM - 160.0)

    rows = list(_run(StallingDetector(stall_deg=25.0), HeadPoseEstimator(), script))
    assert any(p.tracked for _, _, p in rows)  # followed, points lagging
    back = [(t, p) for t, true, p in rows if t >= 5.45]  # within SUSPECT_CLEAR_YAW_DEG of home
    assert back and all(p.is_reliable("yaw") for _, p in back), [t for t, p in back if not p.is_reliable("yaw")]
    assert all(abs(p.yaw_deg - true) <= 5.0 for _, true, p in rows if p.is_reliable("yaw"))


def test_a_switch_between_mesh_and_followed_points_says_how_far_apart_they_read():
    """The frame the estimate hands over to the points, and the frame it hands back, carry the
    two estimators' difference then (both read the synthetic face, a few degrees apart), every
    other frame 0."""
    det, est = FollowingDetector(), HeadPoseEstimator()
    poses = [p for _, p in _turn(det, est, [60.0])]
    switches = [i for i in range(1, len(poses)) if poses[i].tracked != poses[i - 1].tracked]
    assert len(switches) == 2
    assert all(0.0 < poses[i].source_step_deg <= 6.0 for i in switches)
    assert all(p.source_step_deg == 0.0 for i, p in enumerate(poses) if i not in switches)
    for i in switches:  # ... and what the one it left read, for the speed filters
        p = poses[i]
        left = p.switched_from_deg
        assert left is not None
        assert max(abs(a - b) for a, b in zip((p.yaw_deg, p.pitch_deg, p.roll_deg), left)) == p.source_step_deg


class PointsLostOnTheWayBack(FollowingDetector):
    """The followed points vanish for good once the head comes back inside `lost_below_deg`
    after its peak (seed 400830: a nod lost them in the frame face mesh came back)."""

    def __init__(self, lost_below_deg: float = 40.0):
        super().__init__()
        self.lost_below_deg, self.peak = lost_below_deg, 0.0

    def update(self, frame):
        obs = super().update(frame)
        self.peak = max(self.peak, abs(self.yaw))
        if self.peak > 50.0 and abs(self.yaw) < self.lost_below_deg:
            obs = FaceObservation(obs.landmarks_px, obs.image_size, obs.faces, obs.brightness,
                                  obs.confidence, obs.face_found)
        return obs


def test_a_handback_with_the_points_lost_says_the_step_from_the_frame_before():
    """With no followed reading in the frame face mesh takes over, the two are taken to read the
    head as far apart as in the frame before (a movement does not change that); the step is
    known, not infinite, and the speed filters can take it out."""
    det, est = PointsLostOnTheWayBack(), HeadPoseEstimator()
    poses = [p for _, p in _turn(det, est, [60.0])]
    back = [i for i in range(1, len(poses)) if poses[i - 1].tracked and not poses[i].tracked]
    assert len(back) == 1
    p = poses[back[0]]
    assert p.switched_from_deg is not None and 0.0 < p.source_step_deg <= 6.0


class FlickeringDetector(StallingDetector):
    """Points stuck at 30 deg, and face mesh past 45 deg found only in some frames (rendered
    population seed 400470: found at 57, lost, found at 44, within 0.2 s)."""

    def __init__(self):
        super().__init__()
        self.frame = 0

    def update(self, frame):
        obs = super().update(frame)
        self.frame += 1
        if abs(self.yaw) > 45.0 and self.frame % 5 in (1, 2, 3):
            return FaceObservation(np.zeros((0, 3)), obs.image_size, 0, obs.brightness, 0.0, False,
                                   tracked=obs.tracked)
        return obs


@pytest.mark.parametrize("peak", [60.0, -60.0])
def test_a_mesh_that_comes_and_goes_ahead_of_stalled_points_moves_the_bound_smoothly(peak):
    """Each time the mesh came back ahead of the points the bound stepped by up to 10 deg and back,
    and a smooth turn drew "Careful!": now, apart from the head's own movement, it moves at under
    half the 55 deg/s velocity change the safety monitor calls a jolt."""
    det, est = FlickeringDetector(), HeadPoseEstimator()
    rows = [(t, p, i / 30.0) for i, (t, p) in enumerate(_turn(det, est, [peak]))]
    followed = [(t, p, s) for t, p, s in rows if p.tracked and p.face_found]
    assert any("yaw" in p.lower_bounds for _, p, _ in followed)
    assert any(abs(p.yaw_deg) > det.stall_deg + 5.0 for _, p, _ in followed)  # the bound did rise
    for (t0, p0, s0), (t1, p1, s1) in zip(followed, followed[1:]):
        if s1 - s0 < 0.05:
            bound_move = abs(p1.yaw_deg - p0.yaw_deg) - abs(t1 - t0)
            assert bound_move <= 27.5 * (s1 - s0), (t1, p0.yaw_deg, p1.yaw_deg)
    assert all(abs(p.yaw_deg) <= abs(t) + 5.0 for t, p, _ in rows if "yaw" in p.lower_bounds)


@pytest.mark.parametrize("mesh_gain, unconfirmed, confirmed", [(0.0, True, False), (1.0, False, True),
                                                             (4.0, False, False)])
def test_a_followed_nod_that_face_mesh_did_not_see_is_unconfirmed(mesh_gain, unconfirmed, confirmed):
    """Rendered population seed 400602: the followed fit's pitch stepped 8.5 deg in a held turn
    while face mesh's moved 1.8 (its points changed, not the head). A followed change face mesh
    did not see is `unconfirmed` while inside CONFIRM_WINDOW_S; one it saw (a nod) is `confirmed`;
    one it read far further (more than CONFIRM_MAX_SHARE times, a mesh that jumps) is neither."""
    det, est = FollowingDetector(), HeadPoseEstimator()
    fps, t, rows = 30.0, 0.0, []
    for k in range(int(50 / 40 * fps) + 40):
        det.yaw = min(50.0, 40.0 * k / fps)
        step = k >= int(50 / 40 * fps) + 15  # in the hold
        det.pitch = 8.0 if step else 0.0
        det.mesh_pitch = mesh_gain * det.pitch
        rows.append((step, pose_of_frame(det, est, np.zeros((480, 640, 3), np.uint8), t)))
        t += 1 / fps
    held = [(step, p) for step, p in rows if p.tracked]
    assert held[0][0] is False and any(step for step, _ in held)
    assert not any("pitch" in p.unconfirmed for step, p in held if not step)
    after = [p for step, p in held if step]
    assert any("pitch" in p.unconfirmed for p in after) == unconfirmed
    assert any("pitch" in p.confirmed for p in after) == confirmed
    assert not any("pitch" in p.confirmed for step, p in held if not step)
    assert not any(p.disputed for _, p in held)  # face mesh and the points agree on the yaw
    # and only while the step is inside the window
    assert not any("pitch" in p.unconfirmed for p in after[int(CONFIRM_WINDOW_S * fps) + 2:])


class SplitYawDetector(FollowingDetector):
    """Face mesh sees the head at `yaw`, the followed points at `followed_yaw` (both rigid)."""

    def __init__(self):
        super().__init__()
        self.followed_yaw = 0.0

    def update(self, frame):
        true = self.yaw
        self.yaw = self.followed_yaw
        followed = super().update(frame)
        self.yaw = true
        return _with_followed(super().update(frame), followed)


def _split_yaw_poses(path, fps: float, sign: float = 1.0) -> list:
    """The estimator's pose per frame of `path`, (face mesh's yaw, the followed points' yaw) a
    frame, each times `sign`, read by one `SplitYawDetector` at `fps`."""
    det, est = SplitYawDetector(), HeadPoseEstimator()
    frame, poses = np.zeros((480, 640, 3), np.uint8), []
    for i, (mesh, points) in enumerate(path):
        det.yaw, det.followed_yaw = sign * mesh, sign * points
        poses.append(pose_of_frame(det, est, frame, i / fps))
    return poses


def _ramp_deg(deg: float, frames: int, first: int = 1):
    """A change of `deg` spread evenly over `frames` frames from frame `first` on, then held."""
    return lambda k: deg * min(max(k - first + 1, 0), frames) / frames


def _turning(deg_s: float):
    return lambda k: deg_s * k / 30.0


def _back_then(after, deg_s: float = 45.0, frames: int = 6):
    """Coming back towards the front at `deg_s` for `frames` frames from frame 1, then `after`
    (a change outwards, from frame 1 on) from where that left it."""
    return lambda k: -deg_s * min(k, frames) / 30.0 + after(k - frames)


# name: (mesh, points, frames judged, confirmed there): the change each reads from the frame after
# a 46 deg hold on (frame 1, 30 fps), and whether any frame in the range is `confirmed`.
CHANGES = {
    # a flick both saw, the points under-reading it (seed 401105: mesh 12.8 deg, points 8.6)
    "flick": (_ramp_deg(12.0, 5), _ramp_deg(8.0, 5), range(1, 11), True),
    # a steady 35 deg/s turn the points fell 8 deg behind and then caught up with in two frames
    # (seed 400487); face mesh followed the head
    "snap": (_turning(35.0), lambda k: _turning(35.0)(k) - 0.8 * min(k, 10) + _ramp_deg(8.0, 2, 11)(k),
             range(11, 19), False),
    # points stalling while the head and face mesh turn on at 40 deg/s (held-out sweep 554 yaw)
    "stall": (_turning(40.0), lambda k: _turning(40.0)(min(k, 9)), range(10, 19), False),
    # both stopping short while the head turns on: near the end of what they read they saturate
    # together (tuning sweep 103 yaw); readings slowing down outwards are not confirmed
    "saturating": (lambda k: _turning(40.0)(min(k, 9)), lambda k: _turning(40.0)(min(k, 9)), range(10, 19), False),
    # face mesh stepping far more than any head moved: not a confirmation
    "mesh jump": (_ramp_deg(30.0, 5), _ramp_deg(8.0, 5), range(1, 13), False),
    # both coming back at 45 deg/s, then stalling where they saturate and wandering 1.5 deg out while
    # the head comes on (tuning sweep 101 standard yaw): a change outwards, but nothing moved out
    "stall back": (_back_then(_ramp_deg(1.5, 3)), _back_then(_ramp_deg(1.5, 3)), range(7, 17), False),
    # ... or flicking 10 deg back out (seed 401105): the head's
    "flick back out": (_back_then(_ramp_deg(10.0, 5)), _back_then(_ramp_deg(10.0, 5)), range(7, 17), True),
}


@pytest.mark.parametrize("sign", [1.0, -1.0])
@pytest.mark.parametrize("change", list(CHANGES))
def test_a_followed_yaw_change_of_speed_face_mesh_saw_as_well_is_confirmed(sign, change):
    """Past ~42 deg the followed yaw is a lower bound, whose jolts the safety monitor judges with
    its wider margin (points that lag a turn snap forward, or stall). A change of speed face mesh
    saw as well, within CONFIRM_WINDOW_S, is the head's: `confirmed`, judged as a trusted one's."""
    mesh_at, points_at, judged, confirmed = CHANGES[change]
    fps = 30.0
    path = [(y, y) for y in np.linspace(0.0, 46.0, 36)] + [(46.0, 46.0)] * 30
    path += [(46.0 + mesh_at(k), 46.0 + points_at(k)) for k in range(1, 21)]
    poses = dict(enumerate(_split_yaw_poses(path, fps, sign), start=-65))  # the hold's last frame is 0
    settled = -29 + int(CONFIRM_WINDOW_S * fps) + 2  # the turn out is past the window
    held = [poses[k] for k in range(settled, 1)]
    assert all(p.tracked for p in held), "not followed in the hold: the test does not show the case"
    assert not any(p.confirmed for p in held)
    assert all(poses[k].tracked for k in judged)
    assert any("yaw" in poses[k].confirmed for k in judged) == confirmed


class LaggingPoints(FollowingDetector):
    """The followed points exactly where face mesh sees the face, or, while `lagging`, where it
    was `lag_frames` earlier: tracked points trail a quick flick by a few frames."""

    def __init__(self, lag_frames: int = 3):
        super().__init__()
        self.lag_frames, self.lagging, self.history = lag_frames, False, []

    def update(self, frame):
        self.history.append(self.yaw)
        obs = super().update(frame)
        if obs.tracked is None:
            return obs
        seen = self.history[max(0, len(self.history) - 1 - self.lag_frames)] if self.lagging else self.yaw
        tr = obs.tracked
        return replace(obs, tracked=TrackedPoints(tr.anchor_id, tr.anchor_landmarks_px, tr.indices,
                                                  _landmarks(seen)[tr.indices, :2], tr.frames))


@pytest.mark.parametrize("fps", [15.0, 24.0, 30.0])
def test_points_lagging_a_flick_well_inside_face_meshs_range_do_not_take_over(fps):
    """Rendered population seed 400685: a 16 deg yaw flick on the way back from a 45 deg turn. At
    9-18 deg the followed points lagged it (18 against face mesh's 9, truth 9.5); the estimate was
    handed to them on that disagreement alone, and across the change of source the yaw was not
    judged, so the flick went unwarned. Inside face mesh's own range it keeps the estimate."""
    det, est = LaggingPoints(), HeadPoseEstimator()

    def ramp(a, b, rate_deg_s):
        return list(np.linspace(a, b, max(2, round(abs(b - a) / rate_deg_s * fps))))

    path = [0.0] * int(fps / 3) + ramp(0.0, 45.0, 40.0) + [45.0] * int(0.7 * fps) + ramp(45.0, 25.0, 40.0)
    flick = len(path)
    path += ramp(25.0, 0.0, 150.0) + [0.0] * int(fps)
    rows, lag_deg, t = [], [], 0.0
    for i, yaw in enumerate(path):
        det.yaw, det.lagging = float(yaw), i >= flick
        rows.append((yaw, pose_of_frame(det, est, np.zeros((480, 640, 3), np.uint8), t)))
        followed = est.evidence.get("followed_yaw")
        if det.lagging and followed is not None:
            lag_deg.append(followed - yaw)
        t += 1 / fps
    assert any(p.tracked for _, p in rows[:flick])  # followed on the way out
    assert not rows[flick - 1][1].tracked  # face mesh had the estimate back before the flick
    assert max(lag_deg) > 5.0  # the points trailed the flick by more than face mesh and they may differ
    back = rows[flick:]
    assert not any(p.tracked for _, p in back), [(round(y, 1), round(p.yaw_deg, 1)) for y, p in back]
    assert all(abs(p.yaw_deg - y) <= 1.0 for y, p in back)


class MeshShownRolled(MeshAtDepth):
    """Face mesh reading `shown` deg of yaw and `roll` deg of roll for FACE."""

    def __init__(self):
        super().__init__()
        self.roll = 0.0

    def update(self, frame):
        if self.shown is None:
            return FaceObservation.empty((640, 480), brightness=100.0)
        return FaceObservation(_landmarks(self.shown, self.depth_mm, roll=self.roll), (640, 480), 1, 100.0, 1.0, True)


def test_a_mesh_found_upside_down_is_not_the_head():
    """Held-out scene 515: lost at profile and found again, face mesh's points came back rotated
    (the fit read 135-177 deg of roll) while its turn followed the head 10-15 deg off, trusted.
    No seated person's head is seen rolled past `MAX_PLAUSIBLE_ROLL_DEG`: nothing of such a fit
    is trusted, and the upright mesh afterwards is."""
    det, est = MeshShownRolled(), HeadPoseEstimator()
    frame = np.zeros((480, 640, 3), np.uint8)
    rows = []
    for i in range(150):
        t = i / 30.0
        flipped = 1.5 <= t < 3.5
        det.shown, det.roll = (12.0, 145.0) if flipped else (0.0, 0.0)
        rows.append((flipped, pose_of_frame(det, est, frame, t)))
    assert all(p.face_found for _, p in rows)
    assert not any(p.reliable or p.is_reliable(m) for f, p in rows if f for m in ("yaw", "pitch", "roll"))
    assert all(p.is_reliable("yaw") and abs(p.yaw_deg) < 1.0 for _, p in rows[-15:])


# Held-out scene 515, yaw sweep, 16.63-17.10 s: the camera-frame yaw face mesh read, found in every
# frame, for a head held 45-50 deg round (the points followed past 38 deg handed back to it).
COLLAPSED_HOLD_YAW_DEG = (22.0, 16.5, 15.8, 12.5, 12.2, 7.2, 5.1, 3.4, 4.1, 8.2, 7.8, 11.5, 10.2, 18.4, 13.5)


class CollapsingInTheHold(FollowingDetector):
    """The followed points exact; face mesh exact until the held turn passes 44 deg, then
    collapsing towards the front as in scene 515 (its readings, repeated), until the head is
    back inside 40 deg."""

    def __init__(self):
        super().__init__(collapse_deg=90.0, lost_deg=95.0)
        self.collapsed = 0

    def update(self, frame):
        true = self.yaw
        followed = super().update(frame)
        if abs(true) >= 44.0 or (self.collapsed and abs(true) >= 40.0):
            self.yaw = float(np.sign(true)) * COLLAPSED_HOLD_YAW_DEG[self.collapsed % len(COLLAPSED_HOLD_YAW_DEG)]
            self.collapsed += 1
        else:
            self.collapsed = 0
        self.face_yaw = true
        mesh = super().update(frame)
        self.yaw, self.face_yaw = true, None
        return _with_followed(mesh, followed)


@pytest.mark.parametrize("peak", [48.0, -48.0])
def test_a_mesh_collapsing_towards_the_front_in_a_held_turn_is_not_trusted(peak):
    """Scene 515: handed back to face mesh as it collapsed in a held 50 deg turn, the estimator
    waited for it to read near home, then trusted it 35-45 deg short. A mesh whose readings
    stray from frame to frame as no head moves is not trusted until they settle."""
    det, est = CollapsingInTheHold(), HeadPoseEstimator()
    rows = list(_turn(det, est, [peak], rate_deg_s=35.0))
    held = [(true, p) for true, p in rows if abs(true) >= 44.0]
    assert held and det.collapsed == 0
    for true, p in rows:
        if p.is_reliable("yaw"):
            assert abs(p.yaw_deg - true) <= 5.0, (true, p.yaw_deg)
    assert rows[-1][1].is_reliable("yaw")


class SlidingInTheHold(FollowingDetector):
    """The followed points exact; face mesh exact until `slide_from` (set by the caller, in a held
    turn), then sliding steadily to `to_deg` over `slide_s` and staying there, without jitter,
    until the head comes back inside `back_deg` (rendered population seed 400992: 60 -> 8.5 deg
    in 0.33 s, then 4-10 deg; on the way back it read 18 deg at 52 and 40 at 45)."""

    def __init__(self, to_deg=8.0, slide_s=0.33, back_deg=50.0):
        super().__init__(collapse_deg=90.0, lost_deg=95.0)
        self.to_deg, self.slide_s, self.back_deg = to_deg, slide_s, back_deg
        self.t = 0.0
        self.slide_from: float | None = None  # when the slide began

    def followed_yaw(self, true: float) -> float:
        """The turn the follower's points show."""
        return true

    def mesh_yaw(self, true: float) -> float:
        """The turn face mesh shows."""
        if self.slide_from is None or abs(true) <= self.back_deg:
            return true
        done = min((self.t - self.slide_from) / self.slide_s, 1.0)
        shown = abs(true) + (self.to_deg - abs(true)) * done
        return float(np.sign(true)) * min(abs(true), shown)

    def update(self, frame):
        true = self.yaw
        self.yaw = self.followed_yaw(true)
        followed = super().update(frame)
        self.yaw, self.face_yaw = self.mesh_yaw(true), true
        mesh = super().update(frame)
        self.yaw, self.face_yaw = true, None
        return _with_followed(mesh, followed)


def _hold_with_a_slide(det, peak, hold_s, fps):
    """Out to `peak` at 40 deg/s, held `hold_s`, back; the slide starts 1 s into the hold.
    Returns (t, true yaw, HeadPose) per frame."""
    est, frame = HeadPoseEstimator(), np.zeros((480, 640, 3), np.uint8)
    out_s = abs(peak) / 40.0
    rows = []
    for i in range(int((2 * out_s + hold_s + 2.0) * fps)):
        t = det.t = i / fps
        true = peak * min(t / out_s, 1.0, max(2 * out_s + hold_s - t, 0.0) / out_s)
        if det.slide_from is None and t >= out_s + 1.0:
            det.slide_from = t
        det.yaw = float(true)
        rows.append((t, true, pose_of_frame(det, est, frame, t)))
    return rows


@pytest.mark.parametrize("peak", [60.0, -60.0])
@pytest.mark.parametrize("fps", [15.0, 30.0])
def test_a_mesh_that_slides_to_the_front_while_the_followed_points_hold_still_is_not_the_head(peak, fps):
    """Seed 400992: found in every frame, without a jump, the slid mesh took over as having come
    back by itself and was trusted 60 deg short for 3.3 s. The points, still, go on giving the
    held turn as a bound; the mesh is trusted again once the head is back."""
    det = SlidingInTheHold()
    rows = _hold_with_a_slide(det, peak, hold_s=4.0, fps=fps)
    out_s = abs(peak) / 40.0
    for t, true, p in rows:
        if p.is_reliable("yaw"):
            assert abs(p.yaw_deg - true) <= 5.0, (t, true, p.yaw_deg)
        if "yaw" in p.lower_bounds:
            assert abs(p.yaw_deg) <= abs(true) + 5.0, (t, true, p.yaw_deg)
    slid = [p for t, true, p in rows if out_s + 1.5 <= t <= out_s + 4.0]
    assert all("yaw" in p.lower_bounds and abs(p.yaw_deg) >= MAX_TRACKED_YAW_DEG for p in slid), \
        [(round(p.yaw_deg, 1), p.lower_bounds) for p in slid]
    assert not rows[-1][2].tracked and rows[-1][2].is_reliable("yaw")


class SlidingOnTheWayOut(SlidingInTheHold):
    """A quick turn to profile (stop 56's accuracy scene 613, a camera 29 cm below in side light):
    the followed points under-read it past the handover (-41 deg for a head at -61) but go on
    outwards, while face mesh, exact until `slide_at_deg`, slides to `to_deg` within `slide_s`
    (-51.6 -> -3 deg in 0.2 s) and stays there while the head is past `back_deg`."""

    # How far the mesh had come back from where it began to slide, 0-6 frames (30 fps) after.
    SLIDE_DEG_BY_FRAME = (0.0, 1.0, 6.0, 18.6, 30.0, 43.6, 48.6)

    def __init__(self, slide_at_deg=51.6):
        super().__init__(to_deg=3.0, slide_s=0.2, back_deg=45.0)
        self.slide_at_deg = slide_at_deg

    def followed_yaw(self, true: float) -> float:
        return true if abs(true) <= 38.0 else float(np.sign(true)) * (38.0 + 0.3 * (abs(true) - 38.0))

    def mesh_yaw(self, true: float) -> float:
        if self.slide_from is None and abs(true) >= self.slide_at_deg:
            self.slide_from = self.t
        if self.slide_from is None or abs(true) <= self.back_deg:
            return true
        frames = np.arange(len(self.SLIDE_DEG_BY_FRAME)) / 30.0
        back = float(np.interp(self.t - self.slide_from, frames, self.SLIDE_DEG_BY_FRAME))
        return float(np.sign(true)) * (self.slide_at_deg - back)


@pytest.mark.parametrize("peak", [90.0, -90.0])
@pytest.mark.parametrize("fps", [15.0, 30.0])
def test_a_mesh_that_slides_while_the_points_go_on_outwards_is_not_taken_back(peak, fps):
    """The mesh came inside `HANDBACK_YAW_DEG` 18.6 deg from where it read 0.1 s before, short of
    `SLIDE_DEG`, while the points went 4 deg the other way: taken back, it was trusted for 1.7 s
    reading -9 to -16 deg for a head at -90. The slide is the mesh's movement less the points'."""
    det = SlidingOnTheWayOut()
    est, frame = HeadPoseEstimator(), np.zeros((480, 640, 3), np.uint8)
    out_s, hold_s = abs(peak) / 80.0, 2.0
    seen_slid = False
    for i in range(int((2 * out_s + hold_s + 2.0) * fps)):
        t = det.t = i / fps
        true = peak * min(t / out_s, 1.0, max(2 * out_s + hold_s - t, 0.0) / out_s)
        det.yaw = float(true)
        p = pose_of_frame(det, est, frame, t)
        seen_slid = seen_slid or (det.slide_from is not None and abs(det.mesh_yaw(true)) < 10.0)
        if p.is_reliable("yaw"):
            assert abs(p.yaw_deg - true) <= 5.0, (t, true, p.yaw_deg)
    assert seen_slid, "the mesh never slid: the test does not show the case"
    assert p.is_reliable("yaw")


class PointsDriftingOntoTheSlide(SlidingInTheHold):
    """As `SlidingInTheHold`, the mesh sliding to `to_deg`; once it has, the followed points drift
    towards it at `drift_deg_s` until they read `meet_deg` (held-out accuracy sweep 540 combined:
    the points, lagging, came down onto the collapsed mesh, both -29 for a head at -60). Drawn at
    27 deg over the face in view (`_over_the_face`), the mesh reads 23 deg."""

    def __init__(self, to_deg=27.0, meet_deg=25.0, drift_deg_s=25.0):
        super().__init__(to_deg=to_deg)
        self.meet_deg, self.drift_deg_s = meet_deg, drift_deg_s

    def followed_yaw(self, true: float) -> float:
        slid = self.slide_from is not None and self.t > self.slide_from + self.slide_s
        if not slid or abs(true) <= self.back_deg:
            return true
        drifted = abs(true) - self.drift_deg_s * (self.t - self.slide_from - self.slide_s)
        return float(np.sign(true)) * max(drifted, self.meet_deg)


@pytest.mark.parametrize("peak", [60.0, -60.0])
def test_followed_points_that_drift_onto_a_slid_mesh_do_not_make_it_the_head(peak):
    """The two agree again, but on the collapse: the mesh taken back is suspect until it sees the
    head back home, so nothing is trusted at the collapsed reading."""
    rows = _hold_with_a_slide(PointsDriftingOntoTheSlide(), peak, hold_s=5.0, fps=30.0)
    met = [p for t, true, p in rows if abs(true) >= 59.0 and not p.tracked and p.face_found]
    assert met, "the mesh was never taken back in the held turn: the test does not show the case"
    for t, true, p in rows:
        if p.is_reliable("yaw"):
            assert abs(p.yaw_deg - true) <= 5.0, (t, true, p.yaw_deg)
    assert rows[-1][2].is_reliable("yaw")


class PointsDriftingOutOnTheWayBack(FollowingDetector):
    """Rendered population seed 401406 (20 fps): face mesh exact until lost past 58 deg, and found
    again on the way back; the followed points under-read the turn past 38 deg (a 65 deg turn
    read 57), so face mesh read it further than they did; on the way back they stall at
    `stall_deg` and drift outwards at `drift_deg_s` to `drift_to_deg` (there: 44 deg, then out to
    59 while the head came back to the front)."""

    def __init__(self, stall_deg=44.0, drift_deg_s=12.0, drift_to_deg=59.0):
        super().__init__(collapse_deg=90.0, lost_deg=58.0)
        self.stall_deg, self.drift_deg_s, self.drift_to_deg = stall_deg, drift_deg_s, drift_to_deg
        self.t, self.peak, self.side, self.stalled_at = 0.0, 0.0, 1.0, None

    def update(self, frame):
        true = self.yaw
        if abs(true) > self.peak:
            self.peak, self.side = abs(true), float(np.sign(true))
        seen = abs(true) if abs(true) <= 38.0 else 38.0 + 0.7 * (abs(true) - 38.0)
        if abs(true) < self.peak - 1.0 and seen <= self.stall_deg and self.stalled_at is None:
            self.stalled_at = self.t
        if self.stalled_at is not None:
            seen = min(self.stall_deg + self.drift_deg_s * (self.t - self.stalled_at), self.drift_to_deg)
        self.yaw = self.side * seen
        followed = super().update(frame)  # the points' view; face mesh's is the truth
        self.yaw = true
        return _with_followed(super().update(frame), followed)


def _back_from_a_turn(det, peak, fps, rate_deg_s=40.0, hold_s=1.0, rest_s=5.0):
    """Out to `peak`, held, back, at rest; (t, true yaw, HeadPose) per frame."""
    est, frame = HeadPoseEstimator(), np.zeros((480, 640, 3), np.uint8)
    out_s = abs(peak) / rate_deg_s
    rows = []
    for i in range(int((2 * out_s + hold_s + rest_s) * fps)):
        t = det.t = i / fps
        true = peak * min(t / out_s, 1.0, max(2 * out_s + hold_s - t, 0.0) / out_s)
        det.yaw = float(true)
        rows.append((t, true, pose_of_frame(det, est, frame, t)))
    return rows


@pytest.mark.parametrize("peak", [65.0, -65.0])
@pytest.mark.parametrize("fps", [15.0, 20.0, 30.0])
def test_a_mesh_that_comes_back_home_with_the_head_takes_over_from_points_that_lost_it(peak, fps):
    """Seed 401406: face mesh read the way back to the front, smoothly, its pivot home, while the
    points stalled and drifted outwards; taken for a collapse (`SLIDE_DEG`), it was not taken back,
    and the head at rest in front of the camera was shown turned 57 deg for 6 s, then 88-97 deg
    ("That's far enough"). A mesh back home with the head takes over (`_came_back`)."""
    det = PointsDriftingOutOnTheWayBack()
    rows = _back_from_a_turn(det, peak, fps)
    home_from = 2 * abs(peak) / 40.0 + 1.0  # the head is back at the front
    assert det.stalled_at is not None and det.stalled_at + 1.0 < home_from, \
        "the points never stalled on the way back: the test does not show the case"
    for t, true, p in rows:
        if p.is_reliable("yaw"):
            assert abs(p.yaw_deg - true) <= 5.0, (t, true, p.yaw_deg)
    settled = [p for t, true, p in rows if t >= home_from + 1.0]
    assert all(p.is_reliable("yaw") and abs(p.yaw_deg) <= 2.0 for p in settled), \
        [(round(p.yaw_deg, 1), p.is_reliable("yaw")) for p in settled[:10]]


def test_without_seeing_the_mesh_back_home_the_head_at_rest_reads_turned(monkeypatch):
    """So the test above can fail: a mesh that slid is never found back home, and the points'
    drift is shown for the head at rest."""
    monkeypatch.setattr(HeadPoseEstimator, "_came_back", lambda self, m_yaw, pivot, t_s: False)
    rows = _back_from_a_turn(PointsDriftingOutOnTheWayBack(), 65.0, 20.0)
    settled = [p for t, true, p in rows if t >= 2 * 65.0 / 40.0 + 2.0]
    assert sum(abs(p.yaw_deg) >= 40.0 for p in settled) >= len(settled) // 2


@pytest.mark.parametrize("peak", [48.0, -48.0])
def test_a_suspect_mesh_is_not_judged_for_jolts(peak):
    """Rendered population seed 400824: handed back to a mesh that disagreed with the followed
    points, in a held turn, the mesh stepped 5-14 deg between frames and two of those steps were
    warned as jerks. While it is suspect its angles are `disputed` (the safety monitor forgets
    them); the mesh trusted again at the end disputes nothing."""
    det, est = CollapsingInTheHold(), HeadPoseEstimator()
    rows = list(_turn(det, est, [peak], rate_deg_s=35.0))
    suspect = [p for true, p in rows if p.face_found and not p.tracked and abs(true) >= 44.0
               and abs(p.yaw_deg - true) > 10.0]
    assert suspect, "the collapse was not handed back to: the test does not show the case"
    assert all(p.disputed == ("yaw", "pitch", "roll") for p in suspect), [p.disputed for p in suspect]
    assert rows[-1][1].is_reliable("yaw") and rows[-1][1].disputed == ()


# name: (face mesh, points, whether the followed yaw's change is disputed) after a hold where face
# mesh reads the turn 8 deg further than the points (frame 1 on, 30 fps).
SLIDES = {
    # the points slide 16 deg towards the front in a frame while face mesh holds (seed 401376)
    "points slide": (lambda k: 0.0, _ramp_deg(-16.0, 1), True),
    # a flick back towards the front that face mesh sees as well: the head's
    "flick both saw": (_ramp_deg(-14.0, 4), _ramp_deg(-12.0, 4), False),
}


@pytest.mark.parametrize("sign", [1.0, -1.0])
@pytest.mark.parametrize("change", list(SLIDES))
def test_a_followed_yaw_change_face_mesh_contradicts_and_did_not_see_is_disputed(sign, change):
    """Rendered population seed 401376: back from a 66 deg turn, the followed points slid 16 deg
    towards the front in one frame while face mesh, reading the turn further, held; the velocity
    change was warned as a jolt. Such a change is the fit's (`disputed`), one face mesh saw is not."""
    mesh_at, points_at, disputed = SLIDES[change]
    fps = 30.0
    path = [(y, y) for y in np.linspace(0.0, 46.0, 36)] + [(46.0 + 8.0 * min(k, 10) / 10, 46.0)
                                                             for k in range(30)]
    path += [(54.0 + mesh_at(k), 46.0 + points_at(k)) for k in range(1, 11)]
    poses = dict(enumerate(_split_yaw_poses(path, fps, sign), start=-65))  # the hold's last frame is 0
    held = [poses[k] for k in range(-10, 1)]
    assert all(p.tracked for p in held), "not followed in the hold: the test does not show the case"
    assert not any("yaw" in p.disputed for p in held)
    after = [poses[k] for k in range(1, 1 + int(CONFIRM_WINDOW_S * fps))]
    assert any("yaw" in p.disputed for p in after if p.tracked) == disputed


def _back_then_out(fps: float, points_turn_back: bool, mesh_turns_back: bool, mesh_lost_s: float = 0.0):
    """Poses of a 40 deg turn the points follow and face mesh reads 16 deg further, held 1 s; then
    both read the head coming in at 45 deg/s for 0.2 s (face mesh not found for the first
    `mesh_lost_s` of it), after which the points (and face mesh, if told) read it going back out at
    45 deg/s for 0.1 s, too short a way for travel to tell.
    Returns the poses coming in and those after the turn back."""
    rate, lost_deg = 45.0, SplitYawDetector().lost_deg
    n_in, n_out = round(0.2 * fps), round(0.1 * fps)
    path = [(y, y) for y in np.linspace(0.0, 40.0, round(1.2 * fps))]
    path += [(40.0 + 16.0 * min(k / (0.33 * fps), 1.0), 40.0) for k in range(round(fps))]
    mesh, points = path[-1]
    for k in range(1, n_in + 1):
        lost = k / fps <= mesh_lost_s + 1e-9
        path.append((lost_deg + 10.0 if lost else mesh - rate * k / fps, points - rate * k / fps))
    mesh, points = mesh - rate * n_in / fps, path[-1][1]
    for k in range(1, n_out + 1):
        path.append((mesh + (1 if mesh_turns_back else -1) * rate * k / fps,
                     points + (1 if points_turn_back else -1) * rate * k / fps))
    poses = _split_yaw_poses(path, fps)
    return poses[len(path) - n_out - 1 - n_in:len(path) - n_out], poses[len(path) - n_out:]


@pytest.mark.parametrize("mesh_lost_s", [0.0, 0.1])
@pytest.mark.parametrize("fps", [15.0, 20.0, 30.0])
def test_points_that_turn_back_out_while_face_mesh_reads_the_head_coming_in_are_disputed(fps, mesh_lost_s):
    """Held-out sweep 542 yaw: back from 90 deg at 80 deg/s the followed points stopped at 57 deg
    and went back out to 62 within 0.1 s while face mesh read the head coming in at a steady speed:
    a change of speed with next to no travel, so the change of place face mesh did not see
    disputed nothing, and the smooth return was warned as a jolt. A change of speed face mesh did
    not see, while it contradicts the points, is the fit's (`disputed`); one it saw is not. Also
    where face mesh was not found at the start of the window travel is judged over (fresh sweep
    626 yaw: found again 0.1 s into a return from profile, it read the head coming in steadily
    while the points stalled, and the change of speed went unjudged)."""
    coming_in, after = _back_then_out(fps, True, False, mesh_lost_s)
    assert all(p.tracked for p in coming_in + after), "not followed: the test does not show the case"
    assert not any("yaw" in p.disputed for p in coming_in)
    assert any("yaw" in p.disputed for p in after)
    _, both = _back_then_out(fps, True, True, mesh_lost_s)
    assert all(p.tracked for p in both) and not any("yaw" in p.disputed for p in both)


def test_without_judging_the_change_of_speed_the_points_turning_back_are_not_disputed(monkeypatch):
    """So the test above can fail: judged by travel alone, the turn back disputes nothing."""
    monkeypatch.setattr(HeadPoseEstimator, "_yaw_speed_unseen", staticmethod(lambda changes: False))
    _, after = _back_then_out(30.0, points_turn_back=True, mesh_turns_back=False)
    assert all(p.tracked for p in after) and not any("yaw" in p.disputed for p in after)


@pytest.mark.parametrize("sign", [1.0, -1.0])
@pytest.mark.parametrize("fps", [15.0, 30.0])
def test_the_bound_face_mesh_lifts_stays_on_its_side_when_the_points_cross_the_front(sign, fps):
    """Fresh accuracy sweeps 618 and 620 combined: coming back at 45 deg/s with the followed points
    13-15 deg short of the head and face mesh, the shown yaw (the points lifted towards face mesh's
    reading, `MESH_AHEAD_MARGIN_DEG`) stepped from 9.1 to -9.2 deg in a frame as the points crossed
    the front: the lift turned round with them. It stays on face mesh's side and is let go of at
    `AHEAD_OFFSET_RATE_DEG_S`, so the shown yaw moves no faster than the head and that."""
    rate, short = 45.0, 17.0
    path = [(y, y) for y in np.linspace(0.0, 40.0, round(1.2 * fps))]
    path += [(40.0 + short * min(k / (0.4 * fps), 1.0), 40.0) for k in range(round(fps))]
    path += [(57.0 - rate * k / fps, 40.0 - rate * k / fps) for k in range(1, round(57.0 / rate * fps))]
    rows = [(sign * points, p) for (_, points), p in zip(path, _split_yaw_poses(path, fps, sign))]
    crossed = [p for points, p in rows if p.tracked and points * sign < 0]
    assert crossed and any("yaw" in p.lower_bounds for p in crossed), \
        "the points did not cross the front lifted: the test does not show the case"
    shown = [p.yaw_deg for _, p in rows[round(2.2 * fps):] if p.tracked]  # until face mesh takes over
    steps = np.abs(np.diff(shown))
    assert steps.max() <= (rate + AHEAD_OFFSET_RATE_DEG_S) / fps + 0.5, (steps.max(), shown)


@pytest.mark.parametrize("fps", [15.0, 20.0, 30.0])
def test_a_head_back_at_rest_after_turns_past_the_gate_is_trusted_again_at_once(fps):
    """Home is what a mesh must see again before it is trusted after a turn past the gate
    (`_at_home`). It followed the first reading back within 15 deg after each turn outright,
    weighted by the seconds it had been away (rendered population seed 401472, 20 fps: 1.2 -> 12.7
    deg in one frame on the way back from a 52 deg turn, then 16): after two turns one way, the
    head back at rest from a turn the other way, read at 0.0, was not trusted for 3.75 s (20 fps). Home
    follows by the frames' own intervals."""
    turns = ((1.0, 52.0), (6.5, 52.0), (12.0, -52.0))  # (start, deg): 1.2 s out, held 1.8 s, 1.2 s back

    def script(t):
        yaw = 0.0
        for t0, deg in turns:
            yaw += _ramp(t, t0, t0 + 1.2, 0.0, deg) - _ramp(t, t0 + 3.0, t0 + 4.2, 0.0, deg)
        return yaw, yaw, DEPTH_MM

    rows = list(_run(MeshAtDepth(), HeadPoseEstimator(), script, fps, seconds=18.0))
    assert any("yaw" in p.lower_bounds for t, true, p in rows if 2.2 <= t < 4.0)  # read past its trust
    for t0, _ in turns:
        back = t0 + 4.2
        rest = [p for t, true, p in rows if back + 0.8 <= t < back + 1.3]
        assert rest and all(p.is_reliable("yaw") for p in rest), (t0, [p.yaw_deg for p in rest])


@pytest.mark.parametrize("sign", [1.0, -1.0])
@pytest.mark.parametrize("fps", [15.0, 20.0, 30.0])
def test_a_mesh_that_read_well_past_its_trust_and_falls_back_is_not_trusted_until_home(sign, fps):
    """Accuracy sweep 622 combined (camera below and aside, the head nodded and tilted as it
    turned): face mesh read a 58 deg turn as 50.5 deg (48 here), past what it is trusted at
    (`MAX_TRUSTED_YAW_DEG`), then, the head held at 60, fell back to 35-39 deg in a frame: trusted
    there, 25-33 deg short, for 1 s; the followed points fell with it. Past the limit by more than a
    held reading's jitter (`PAST_TRUST_MARGIN_DEG`), a mesh is trusted again once it sees the head
    back home."""
    def script(t):
        mesh = (_ramp(t, 0.5, 2.0, 0.0, 48.0) if t < 2.3 else _ramp(t, 2.3, 2.4, 48.0, 36.0) if t < 4.5
                else _ramp(t, 4.5, 6.0, 36.0, 0.0))
        return sign * mesh, sign * mesh, DEPTH_MM  # the points read as the mesh does

    rows = list(_run(MeshAtDepth(), HeadPoseEstimator(), script, fps))
    past = [p for t, true, p in rows if 2.0 <= t < 2.3]
    assert past and all(p.face_found and "yaw" in p.lower_bounds for p in past), \
        "the mesh never read past its trust: the test does not show the case"
    fallen = [(t, p) for t, true, p in rows if 2.4 <= t < 4.5]
    assert fallen and not [t for t, p in fallen if p.is_reliable("yaw")]
    assert not [t for t, p in fallen if "yaw" in p.lower_bounds]  # withheld, not a bound of 36
    assert all(p.is_reliable("yaw") for t, true, p in rows if t >= 6.3)  # home again


@pytest.mark.parametrize("sign", [1.0, -1.0])
@pytest.mark.parametrize("fps", [15.0, 20.0, 30.0])
def test_a_turn_held_at_the_trust_limit_keeps_its_trust_through_the_readings_jitter(sign, fps):
    """Rendered population seed 401496: a turn held for a 50 deg target at 37-40 deg, read 40-42.3
    deg; a distrust latched on the first reading past 42 left the rest of the hold unmeasured. A
    reading past the limit is a bound; the hold's readings inside it stay trusted, and so does the
    way back."""
    jitter = (0.5, 3.4, 1.0, -0.2, 2.1, 0.0)

    def script(t):
        if t < 2.0:
            mesh = _ramp(t, 0.5, 2.0, 0.0, 40.0)
        elif t < 4.5:
            mesh = 40.0 + jitter[int(round(t * fps)) % len(jitter)]
        else:
            mesh = _ramp(t, 4.5, 6.0, 40.0, 0.0)
        return sign * mesh, sign * mesh, DEPTH_MM

    rows = list(_run(MeshAtDepth(), HeadPoseEstimator(), script, fps))
    held = [(true, p) for t, true, p in rows if 2.0 <= t < 4.5]
    assert [p for true, p in held if abs(true) > 42.0 and "yaw" in p.lower_bounds], \
        "no reading of the hold went past the limit: the test does not show the case"
    assert all(p.is_reliable("yaw") for true, p in held if abs(true) <= 41.5)
    assert all(p.is_reliable("yaw") for t, true, p in rows if t >= 4.5 and abs(true) <= 41.5)


@pytest.mark.parametrize("sign", [1.0, -1.0])
@pytest.mark.parametrize("fps", [15.0, 20.0, 30.0])
def test_points_that_catch_up_make_up_the_lag_the_bound_was_lifted_for(sign, fps):
    """Fresh accuracy sweep 631 combined: the followed points stuck 30-45 deg short of a 60 deg turn
    face mesh read to within 2 deg; the bound was lifted towards face mesh's reading
    (`MESH_AHEAD_MARGIN_DEG`) by 27 deg. Then the points caught up, 30 -> 44 -> 53 in two frames,
    and the lift stayed on top of them: "at least 69-77 deg" for a head at 52. Points moving on the
    way the lift goes make up that much of it."""
    path = [(y, y) for y in np.linspace(0.0, 40.0, round(1.0 * fps))]
    path += [(min(40.0 + 40.0 * k / fps, 56.0), 40.0) for k in range(1, round(1.5 * fps))]  # under its collapse
    caught = len(path)
    path += [(56.0, 40.0 + 14.0 * min(k, 2) / 2) for k in range(1, round(1.0 * fps))]
    rows = list(zip(path, _split_yaw_poses(path, fps, sign)))
    lifted = [p for (mesh, points), p in rows[:caught] if p.tracked and sign * p.yaw_deg > points + 5.0]
    assert lifted and all("yaw" in p.lower_bounds for p in lifted), \
        "the bound was not lifted past the stuck points: the test does not show the case"
    after = [(max(points, mesh - HELD_MARGIN_DEG), p) for (mesh, points), p in rows[caught:]]
    assert all(p.tracked and "yaw" in p.lower_bounds for _, p in after)
    # No higher than the points, nor than face mesh's reading less the margin the lift keeps (face
    # mesh held at 56 while the points were stuck: `HELD_MARGIN_DEG`).
    assert max(sign * p.yaw_deg - most for most, p in after) <= 0.5, [round(p.yaw_deg, 1) for _, p in after]
