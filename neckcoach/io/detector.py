"""MediaPipe adapter: RGB frame -> typed `FaceObservation` (+ optional pose landmarks).

Kept at the I/O edge so that the core never imports mediapipe. Landmarks are
returned in pixels, z in the same pixel scale as x (MediaPipe normalises z by
the image width), so the core can treat them as a weak-perspective 3D point set.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import Callable

import cv2
import numpy as np

from neckcoach.core.compat import SLOTS
from neckcoach.io.headtrack import FeatureTracker, FollowsProfile, ProfileFollower, TrackedPoints, grey_of
from neckcoach.io.surround import SurroundMotion, small_grey, watched
# Which face is the patient: see neckcoach/io/patient.py (these names are re-exported here).
from neckcoach.io.patient import (
    PATIENT_MAX_SHIFT_SIZES,
    PATIENT_MAX_SIZE_RATIO,
    PatientTracker,
    _centre_and_size,
    _choose,
    choose_patient,
    face_size_px,
    fresh_copies,
)

# Pose landmark indices we use (MediaPipe Pose topology).
POSE_NOSE, POSE_LEFT_EAR, POSE_RIGHT_EAR = 0, 7, 8
POSE_LEFT_SHOULDER, POSE_RIGHT_SHOULDER = 11, 12


@dataclass(frozen=True)
class FaceObservation:
    """One frame of detector output for the chosen face (the patient)."""

    landmarks_px: np.ndarray  # (N, 3) x, y in pixels, z in pixels (x scale)
    image_size: tuple[int, int]  # (width, height)
    faces: int
    brightness: float  # mean luma 0..255
    confidence: float
    face_found: bool
    pose_px: np.ndarray | None = field(default=None)  # (33, 4) x, y, z px + visibility
    # Faces in view judged to be pictures (or too small to be anyone near): not in `faces`.
    pictures: int = 0
    # Another face could be the patient, so the patient is not taken (face_found False).
    ambiguous: bool = False
    # Anchor points followed into this frame (see neckcoach/io/headtrack.py), or None.
    tracked: TrackedPoints | None = field(default=None, compare=False)
    # Share of the frame blown out to white (see `picture_light`): a window or lamp in view.
    glare_share: float = 0.0
    # Width (px) of the box of a face MediaPipe's full-range face detector found in a frame where
    # face mesh found none: someone too far away for face mesh (see `FaceDetector.far_face_px`).
    far_face_px: float = 0.0
    # Share of the picture just around the face that changed since the last frame: something
    # moving behind or beside the head (see neckcoach/io/surround.py).
    surround_motion: float = 0.0

    @classmethod
    def empty(cls, image_size: tuple[int, int], faces: int = 0, brightness: float = 0.0,
              pose_px: np.ndarray | None = None, glare_share: float = 0.0) -> "FaceObservation":
        return cls(np.zeros((0, 3)), image_size, faces, brightness, 0.0, False, pose_px, glare_share=glare_share)

    @classmethod
    def from_mediapipe(cls, face_results, image_size: tuple[int, int], brightness: float,
                       previous_center_px: np.ndarray | None = None,
                       pose_results=None, *,
                       previous_size_px: float | None = None,
                       tracker: PatientTracker | None = None,
                       glare_share: float = 0.0,
                       previous_landmarks_px: np.ndarray | None = None) -> "FaceObservation":
        """Build from `FaceMesh.process` (and optionally `Pose.process`) results.

        With a `PatientTracker` (as `FaceDetector` has), the tracker follows
        the patient and every other face across frames: `faces` then counts
        the people in view (the patient included when found; pictures are in
        `pictures`), and the patient is not found while it cannot be told
        apart (`ambiguous`). Without one, the patient is chosen by
        `choose_patient` from where (and how big) it was last seen, and
        `faces` counts every face in view. A face found twice keeps the copy
        that continues `previous_landmarks_px` (`fresh_copies`).
        """
        w, h = image_size
        pose_px = _pose_array(pose_results, w, h)
        faces = list(getattr(face_results, "multi_face_landmarks", None) or [])
        if not faces:
            if tracker is not None:
                tracker.update([], image_size)
            return cls.empty(image_size, 0, brightness, pose_px, glare_share)
        arrays = [_landmarks_array(f, w, h) for f in faces]
        geometry = [_centre_and_size(a) for a in arrays]
        fresh = fresh_copies(arrays, geometry, previous_landmarks_px)
        if fresh:
            arrays = [a for i, a in enumerate(arrays) if i not in fresh]
            geometry = [g for i, g in enumerate(geometry) if i not in fresh]
        if tracker is not None:
            choice = tracker.update(geometry, image_size)
            index, people, pictures, ambiguous = choice.index, choice.people, choice.pictures, choice.ambiguous
        else:
            index = _choose(geometry, previous_center_px, previous_size_px)
            people, pictures, ambiguous = len(arrays), 0, False
        if index is None:
            return cls(np.zeros((0, 3)), image_size, people, brightness, 0.0, False, pose_px,
                       pictures=pictures, ambiguous=ambiguous, glare_share=glare_share)
        chosen = arrays[index]
        box = _bbox(chosen)
        conf = _face_confidence(chosen, w, h, box)
        obs = cls(chosen, image_size, people, brightness, conf, True, pose_px, pictures=pictures,
                  glare_share=glare_share)
        # Seed the cached properties with what the choice already computed.
        vars(obs)["center_px"], vars(obs)["size_px"] = geometry[index]
        vars(obs)["bbox_px"] = box
        return obs

    @cached_property
    def center_px(self) -> np.ndarray | None:
        """Centroid (x, y); computed once (cached_property writes the instance dict, which frozen allows)."""
        return _centre_and_size(self.landmarks_px)[0] if self.face_found else None

    @cached_property
    def bbox_px(self) -> tuple[float, float, float, float] | None:
        """(x0, y0, x1, y1) of the landmarks, or None without a face; shared by
        the confidence, the face width and the face-brightness box."""
        return _bbox(self.landmarks_px) if self.face_found and len(self.landmarks_px) else None

    @property
    def width_px(self) -> float:
        box = self.bbox_px
        return box[2] - box[0] if box is not None else 0.0

    @cached_property
    def size_px(self) -> float:
        return _centre_and_size(self.landmarks_px)[1] if self.face_found else 0.0


# A serialised NormalizedLandmarkList with only x, y, z set is a run of 17-byte
# records: field 1 (length 15), then x, y, z as float32, each after its tag
# byte. So x, y and z sit 5 bytes apart and the records 17 bytes apart: one
# strided float32 view reads them all.
_WIRE_RECORD = 17
_WIRE_TAGS = ((0, 0x0A), (1, 0x0F), (2, 0x0D), (7, 0x15), (12, 0x1D))  # (offset, byte)
_WIRE_X_OFFSET, _WIRE_FIELD_STRIDE = 3, 5
_wire_tag_runs: dict[int, tuple[tuple[int, bytes], ...]] = {}


def _landmarks_from_wire(face) -> np.ndarray | None:
    """(N, 3) normalised x, y, z: a float32 view into the protobuf bytes.

    Reading 478 messages field by field costs ~0.25 ms a face, ~10x this. None
    when the bytes are not exactly x/y/z records (another field set, a fake
    object), so the caller falls back to the field-by-field read.
    """
    serialise = getattr(face, "SerializeToString", None)
    if serialise is None:
        return None
    raw = serialise()
    n, rest = divmod(len(raw), _WIRE_RECORD)
    if not n or rest:
        return None
    runs = _wire_tag_runs.get(n)
    if runs is None:  # one face mesh has one landmark count: built once
        runs = _wire_tag_runs.setdefault(n, tuple((o, bytes((tag,)) * n) for o, tag in _WIRE_TAGS))
    for offset, run in runs:
        if raw[offset::_WIRE_RECORD] != run:
            return None
    return np.ndarray((n, 3), dtype="<f4", buffer=raw, offset=_WIRE_X_OFFSET,
                      strides=(_WIRE_RECORD, _WIRE_FIELD_STRIDE))


def _landmarks_array(face, w: int, h: int) -> np.ndarray:
    """(N, 3) float64 pixels: one multiply converts and scales (z by the width, as MediaPipe)."""
    arr = _landmarks_from_wire(face)
    if arr is None:
        arr = np.array([(p.x, p.y, p.z) for p in face.landmark], dtype=float).reshape(-1, 3)
    return np.multiply(arr, _pixel_scale(w, h), dtype=float)


@lru_cache(maxsize=8)
def _pixel_scale(w: int, h: int) -> np.ndarray:
    scale = np.array([w, h, w], dtype=float)
    scale.flags.writeable = False
    return scale


def _pose_array(pose_results, w: int, h: int) -> np.ndarray | None:
    lms = getattr(pose_results, "pose_landmarks", None) if pose_results is not None else None
    if lms is None:
        return None
    arr = np.array([(p.x * w, p.y * h, p.z * w, p.visibility) for p in lms.landmark], dtype=float)
    return arr


def sampled_grey(image: np.ndarray, step: int) -> float:
    """Mean of the three channels over every `step`-th pixel and row of a uint8 image (0..255).

    A nearest-neighbour resize to 1/step samples exactly those pixels when the
    size divides by `step` (within one otherwise), and with cv2.mean it costs
    about half of numpy's mean over a strided view. Works on a view into a
    larger frame (an ROI) without copying it.
    """
    c0, c1, c2, _ = cv2.mean(_every_nth(image, step))
    return (c0 + c1 + c2) / 3.0


def _every_nth(image: np.ndarray, step: int) -> np.ndarray:
    """Every `step`-th pixel and row (see `sampled_grey`)."""
    h, w = image.shape[:2]
    return cv2.resize(image, (max(1, -(-w // step)), max(1, -(-h // step))), interpolation=cv2.INTER_NEAREST)


# A pixel at or above this in every channel is blown out (clipped white).
CLIPPED_GREY = 250


def picture_light(frame: np.ndarray) -> tuple[float, float]:
    """Mean of all channels, and the share of pixels blown out to white, over every 8th
    pixel and row: 4,800 samples at 640x480, plenty for the light checks.

    The blown-out share is what says "a window or lamp behind you" when no face is found
    (no face box to compare with the frame); webcam frames of people indoors clip
    almost nothing (the real clips in tests: at most 0.1 %)."""
    small = _every_nth(frame, 8)
    c0, c1, c2, _ = cv2.mean(small)
    clipped = cv2.countNonZero(cv2.inRange(small, (CLIPPED_GREY,) * 3, (255, 255, 255)))
    return (c0 + c1 + c2) / 3.0, clipped / float(small.shape[0] * small.shape[1])


def _bbox(lm: np.ndarray) -> tuple[float, float, float, float]:
    x, y = lm[:, 0], lm[:, 1]  # per-column reductions: faster than min/max over axis 0
    return float(x.min()), float(y.min()), float(x.max()), float(y.max())


def _face_confidence(lm: np.ndarray, w: int, h: int,
                     box: tuple[float, float, float, float] | None = None) -> float:
    """Heuristic 0..1: face mesh gives no score, so penalise tiny or clipped faces."""
    x0, y0, x1, y1 = box if box is not None else _bbox(lm)
    size_score = min(max((x1 - x0) / 60.0, 0.0), 1.0)
    if x0 >= 0 and y0 >= 0 and x1 < w and y1 < h:
        return size_score  # every landmark inside the frame
    x, y = lm[:, 0], lm[:, 1]
    inside = np.count_nonzero((x >= 0) & (x < w) & (y >= 0) & (y < h)) / len(x)
    return float(size_score * inside)


class _GraphWithHook:
    """Stands in for a MediaPipe solution's calculator graph to run `hook` while it infers.

    `SolutionBase.process` hands the frame to the graph and then blocks in
    `wait_until_idle` while the graph's own threads run the model; the hook
    runs in between, on the caller's thread, so that thread's I/O (showing the
    window, handing the overlay to its worker) overlaps the inference instead
    of adding to it. Everything else is the graph's own.
    """

    def __init__(self, graph, hook: Callable[[], None]) -> None:
        self._graph = graph
        self._hook = hook

    def wait_until_idle(self) -> None:
        try:
            self._hook()
        finally:
            self._graph.wait_until_idle()

    def __getattr__(self, name: str):
        return getattr(self._graph, name)


@dataclass(frozen=True, **SLOTS)
class Inference:
    """What the models returned for one frame (`FaceDetector.infer`), and the frame."""

    frame: np.ndarray
    face_results: object
    pose_results: object = None
    far_face_px: float = 0.0


class FaceDetector(FollowsProfile):
    """Wraps MediaPipe face mesh (refined landmarks) and optionally pose (complexity 1).

    Frames are passed as C-contiguous RGB uint8 arrays because MediaPipe raises
    on strided views (e.g. a BGR->RGB slice). `during_inference`, if set, is
    called once per `update` while face mesh runs its model (see
    `_GraphWithHook`; before the inference if this MediaPipe has no graph to
    hook, so it is called either way).
    """

    def __init__(self, *, max_faces: int = 3, use_pose: bool = False,
                 static_image_mode: bool = False, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5) -> None:
        if not 1 <= max_faces <= 5:
            raise ValueError(f"max_faces must be in 1..5, got {max_faces!r}")
        for name, v in (("min_detection_confidence", min_detection_confidence),
                        ("min_tracking_confidence", min_tracking_confidence)):
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {v!r}")
        import mediapipe as mp

        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=static_image_mode, max_num_faces=max_faces, refine_landmarks=True,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence)
        self._pose = (mp.solutions.pose.Pose(static_image_mode=static_image_mode,
                                             model_complexity=1) if use_pose else None)
        self._prev_center: np.ndarray | None = None
        self._prev_size: float | None = None
        self._prev_landmarks: np.ndarray | None = None  # the patient's mesh last frame, if found
        self.patient = PatientTracker()
        self.max_faces = int(max_faces)
        # Following the head past face mesh's range: the estimator says when
        # (`tracking_wanted`, only at large yaw, so near the front it costs
        # nothing) and which frames' meshes may anchor it (`confirm_anchor`).
        self.follower = ProfileFollower()
        self.surround = SurroundMotion()
        self.during_inference: Callable[[], None] | None = None
        self._restart_mesh = False
        self._far = None  # the full-range face detector, made when first needed (see far_face_px)
        self.look_far = False
        self._hooked = getattr(self._mesh, "_graph", None) is not None
        if self._hooked:
            self._mesh._graph = _GraphWithHook(self._mesh._graph, self._run_during_inference)

    @property
    def tracker(self) -> FeatureTracker:
        return self.follower.tracker

    def _run_during_inference(self) -> None:
        if self.during_inference is not None:
            self.during_inference()

    def update(self, frame_rgb: np.ndarray) -> FaceObservation:
        return self.observe(self.infer(frame_rgb))

    def infer(self, frame_rgb: np.ndarray) -> "Inference":
        """Run the models on one frame; `observe` turns the result into an observation.

        Split from `update` so that a caller working through a recording can
        read frame N's result while the models run on frame N+1 (in
        `during_inference`): the results do not depend on the graph once returned.
        """
        if frame_rgb.ndim != 3 or frame_rgb.shape[2] != 3:
            raise ValueError("frame_rgb must be an (H, W, 3) RGB array, "
                             f"got shape {frame_rgb.shape}")
        frame = np.ascontiguousarray(frame_rgb, dtype=np.uint8)
        if self._restart_mesh:
            # Asked for by `observe`, which may run during an inference (a recording's
            # pass reads frame N while frame N+1 infers): never restart a busy graph.
            self._restart_mesh = False
            self._mesh.reset()
        if not self._hooked:
            self._run_during_inference()
        face_res = self._mesh.process(frame)
        pose_res = self._pose.process(frame) if self._pose is not None else None
        far = (self.far_face_px(frame) if self.look_far and not getattr(face_res, "multi_face_landmarks", None)
               else 0.0)
        return Inference(frame, face_res, pose_res, far)

    def far_face_px(self, frame: np.ndarray) -> float:
        """Box width (px) of the largest face the full-range face detector finds, 0 if none.

        Why: face mesh looks for faces with MediaPipe's short-range detector, which sees the
        frame at 128 px: a face under about 65 px wide in a 640 px frame (a person a metre or
        more from a laptop's camera) is not found at all, and the app said "I can't see you.
        Please sit in front of the screen" to someone sitting there (rendered population seed
        400521: 0.98 m away, 20 s, never started). The full-range detector (in the same wheel)
        finds such a face (there: score 0.92, a 78 px box), so the camera check can say "come
        closer". Run only while `look_far` (the camera check before calibration: what it finds
        is not used during the exercises) and face mesh found no face: it costs more than face
        mesh's own search (7.6 against 4.5 ms a frame on the 2-core machine).
        """
        if self._far is None:
            import mediapipe as mp

            self._far = mp.solutions.face_detection.FaceDetection(model_selection=1,
                                                                 min_detection_confidence=0.5)
        found = self._far.process(frame).detections or []
        widths = [d.location_data.relative_bounding_box.width * frame.shape[1] for d in found]
        return float(max(widths, default=0.0))

    def observe(self, inference: "Inference") -> FaceObservation:
        """The patient's face in one inference (in frame order: the patient is followed)."""
        frame = inference.frame
        h, w = frame.shape[:2]
        brightness, glare = picture_light(frame)  # after inference: see SessionLoop._release_overlay
        obs = FaceObservation.from_mediapipe(inference.face_results, (w, h), brightness, self._prev_center,
                                             inference.pose_results, previous_size_px=self._prev_size,
                                             tracker=self.patient, glare_share=glare,
                                             previous_landmarks_px=self._prev_landmarks)
        self._prev_landmarks = obs.landmarks_px if obs.face_found else None
        if obs.face_found:
            self._prev_center, self._prev_size = obs.center_px, obs.size_px
        elif inference.far_face_px > 0:  # only looked for where face mesh found no face at all
            obs = replace(obs, far_face_px=inference.far_face_px)
        obs = watched(self.follow(obs, lambda: grey_of(frame)), self.surround, small_grey(frame))
        self._keep_a_place_for_the_patient(obs)
        return obs

    def _keep_a_place_for_the_patient(self, obs: FaceObservation) -> None:
        """Make face mesh look for faces again when pictures and others hold all its places.

        Face mesh follows at most `max_faces` faces and looks for new ones
        only while it follows fewer; with pictures on the wall filling every
        place while the patient is turned away, it would never find the
        patient again. Nor does it find a face where one it follows already is
        (its detections are merged with the faces it follows): a picture on the
        wall just behind the patient's head, followed while the patient bends
        away, then hides the patient (rendered population seed 400310: six
        seconds, until the coach gave up). Restarting its graph (~10-15 ms)
        makes it look afresh on the next frame; done only while the followed
        patient is missing.
        """
        if self.patient.following and not obs.face_found and (
                obs.faces + obs.pictures >= self.max_faces or self.patient.crowded()):
            self._restart_mesh = True  # before the next frame's inference (see `infer`)

    def reset(self) -> None:
        """Forget the patient: the next face chosen is the largest in view."""
        self._prev_center = None
        self._prev_size = None
        self._prev_landmarks = None
        self.patient.reset()
        self.follower.reset()
        self.surround.reset()

    def close(self) -> None:
        self._mesh.close()
        if self._pose is not None:
            self._pose.close()
        if self._far is not None:
            self._far.close()


__all__ = ["PATIENT_MAX_SHIFT_SIZES", "PATIENT_MAX_SIZE_RATIO", "FaceDetector", "FaceObservation",
           "PatientTracker", "choose_patient", "face_size_px", "sampled_grey"]
