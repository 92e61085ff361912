"""Which face is the patient, frame after frame, whatever else the face detector reports.

Why: homes have photos, posters and televisions, and people walk behind the
patient. MediaPipe reports every face it finds (some of them pictures, some
false detections on a bookshelf); the angles must only ever come from the
calibrated patient, and counting must not stop because a picture is in view.
So each face is followed from frame to frame and judged by what a face
detector cannot fake:

- where and how big: the patient is where it was last seen, at about the
  same distance (size); between frames a seated head moves far less than
  that (PATIENT_MAX_SHIFT_SIZES, PATIENT_MAX_SIZE_RATIO), at a size its face had
  lately (face mesh's size changes at profile, PATIENT_SIZE_MEMORY_FRAMES);
- who was there together: a face seen in the same frame as the patient is
  somebody (or something) else, and never becomes the patient later;
- stillness: a picture does not move while the patient turns and bends; a
  living person sways (PICTURE_MAX_DRIFT, PICTURE_PATIENT_MOVED_SIZES);
- size relative to the patient: a face under PERSON_MIN_SIZE_RATIO of the
  patient's cannot be mistaken for the patient and is not counted as a
  person (see below);
- before anyone is followed, when two faces are about as big and as central
  (a poster of a head behind the patient): the one that turns a little and
  comes back when the camera check asks for it, while the other stays
  still (SHOWN_BACK_SIZES).

MediaPipe's face mesh always returns a face-shaped mesh (it fits a template),
so the landmarks' shape says nothing about whether a face is real; these
rules do not use it.

The patient counts as not found, and the coach pauses, only when it cannot
be told apart: another face that is not a known picture sits where the
patient could be (inside its position and size gate), or the patient is
hidden or gone. Persistence over time is judged downstream, where timestamps
are: the coach pauses only for a problem lasting `pause_after_s`.

Pure numpy on (centre, size) pairs; no MediaPipe here.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from neckcoach.core.compat import SLOTS

PATIENT_MAX_SHIFT_SIZES = 1.2
"""The patient is where it was last seen: centre within 1.2 face sizes (a
`face_size_px` is ~0.8 face widths). A head turning or bending at its fastest
(~300 deg/s) moves the face centre ~0.5 m/s x 0.1 m lever: a few hundredths of
a face size per frame; 1.2 also covers re-finding the patient after a short
loss (a turn past the detector's range), when the centre may have moved."""
PATIENT_MAX_SIZE_RATIO = 1.5
"""And at about the same distance: size within a factor 1.5 (a seated patient
leaning in or back by ~0.2 m at 0.45-1 m). A person beside is further off
than the shift limit, one behind is smaller, one leaning in close is bigger."""
PATIENT_SIZE_MEMORY_FRAMES = 90
"""... at about a size its face had in the last 90 frames it was found in (3-6 s at 15-30 fps): face
mesh's size of one face changes with the pose at the edge of its range, not only with
distance. On rendered accuracy scene 500 (0.76 m, camera below the eyes) it shrank from
55 to 49 px before losing the face at profile, and the mesh found again at profile (on a
wrong half-face) grew to 88; the face back at the front, 58 px, was then outside the
1.5x gate of 88, taken for somebody else, and the patient was not found for 2.6 s while
facing the camera. The gate's size test takes the range of sizes seen meanwhile.

Distances are measured in the face's typical size over the same frames (their median,
`PatientTracker.patient_scale`), not its last one: a mesh collapsing at profile shrinks while
the head stays where it is. On rendered population seed 401358 (a 62 deg turn) face mesh
found the turned face again and shrank with it from 56 to 31 px in 0.7 s before losing it;
the face back at the front, 63 px, 47 px from there, was outside a gate of 1.2 x 31 px,
followed as somebody else from then on, and the session stalled with the patient in front
of the camera. Their median was 63."""
SECOND_FACE_NEAR_SIZES = 0.25
SECOND_FACE_APART_SIZES = 0.5
"""Two faces where the patient could be, in one frame: one within 0.25 face sizes
of where the patient was last taken, another at least 0.5 away. A head moves a
few hundredths of a face size per frame (`PATIENT_MAX_SHIFT_SIZES`), so they are two heads, and the
further one is followed as somebody else from then on. Left untracked, it was
the only face in the gate the next frame the patient was not found, and taken
for the patient (rendered population seed 400585: a poster beside the head,
found as the head extended, followed as the patient for 12 s, "Other way" for
its stillness and a stall when the patient came back). Where the patient was
also seen the frame before, the near one is the patient and is taken: nobody
else can have come to where its head was. Otherwise (the patient back from
out of view beside a face not yet known) the two stay ambiguous, nobody taken,
until the other has shown itself a picture (`PICTURE_MAX_DRIFT`) or gone.
Keeping them ambiguous while both are in the gate stalled a session: rendered
population seed 401144, a bookshelf with a face on it 1.2 of the patient's
face sizes from its head (at the gate's edge), reached by the patient's side
bend; a bend moves the face centre under the 0.25 face sizes that show a
picture (`PICTURE_PATIENT_MOVED_SIZES`), so nothing was counted for 20 s."""
FIRST_CHOICE_CENTRE_FRAC = 0.3
"""Before anyone is followed (after calibration is reset), the patient is
sought among faces whose centre is within 0.3 of the frame from the middle:
the person in front of the laptop, not a poster or a TV at the side (the
camera check asks for the same framing, `PictureQuality.max_centre_offset_frac`)."""
FIRST_CHOICE_MIN_SIZE_RATIO = 0.75
"""... and the largest of them is taken unless another is nearly as big and
as near the middle: adult heads differ in breadth by up to ~1.3x (about
130-170 mm), so a face over 0.75 of the largest may be a person at the same
distance; if it is also about as central (FIRST_CHOICE_CENTRE_MARGIN_FRAC),
nothing says which one sits in front of the laptop, and nobody is chosen."""
FIRST_CHOICE_CENTRE_MARGIN_FRAC = 0.1
"""A face further from the frame's middle than the largest one by more than a
tenth of the frame (about half a face width at a laptop's distance) is beside
the patient, not in front of the laptop: posters, photos and people at the side."""
PICTURE_MAX_DRIFT = 0.03
"""A picture's detected centre stays within 3 % of its size (measured on
rendered posters with camera noise: about 1 %); a living head sways more than
that even sitting still (postural sway of the head ~2-5 mm against a ~150 mm
face)."""
PICTURE_PATIENT_MOVED_SIZES = 0.25
"""... judged only once the patient itself has moved 0.25 face sizes (a turn
or bend of ~15-20 deg) while the other face was in view, so that a still
patient and a still picture are not compared with each other's noise."""
PATIENT_STILL_SIZES = 0.05
"""The patient has not started to move while its face centre stays within 5 %
of a face size of where it was (a few times its landmark noise)."""
DUPLICATE_MAX_SHIFT_SIZES = 0.3
"""Two faces whose centres lie within 0.3 face sizes of each other are one face
found twice (face mesh does so around a picture, at two scales: 49 and 56 px
3 px apart on rendered population seed 400310): two heads cannot be in one
place, the nearer would hide the other. Only the larger is kept, so a second
copy of a known face is never taken for a new one (there, for the patient).
Only at about the same size (DUPLICATE_MAX_SIZE_RATIO): a face twice as big
in the same place is somebody leaning in between the patient and the camera."""
DUPLICATE_MAX_SIZE_RATIO = 1.3
SHOWN_BACK_SIZES = 0.1
"""When two faces about the same size are in view before anyone is followed,
the camera check asks the person to turn their head a little and back
(`neckcoach.core.quality`): the face that moved at least
PICTURE_PATIENT_MOVED_SIZES (a turn of ~15-20 deg), no further than a seated
head can take its face (PATIENT_MAX_SHIFT_SIZES), and came back within 0.1
face sizes of where it rested (twice PATIENT_STILL_SIZES: a head turned back
to the screen does not return to the millimetre) is the patient, provided
every rival stayed as still as a picture (PICTURE_MAX_DRIFT). A person
walking past moves too, but does not come back to where they were."""
CONTENDER_STILL_STEP_SIZES = 0.005
"""A face whose centre moves under 0.5 % of its size between frames is still: landmark
jitter on a still face is ~0.1-0.3 % (rendered posters: drift within 1 % over seconds), a
head turning at 20 deg/s moves its centre ~1 % a frame at 30 fps."""
CONTENDER_REST_FRAMES = 45
"""Still this many frames (1.5-3 s at 15-30 fps) away from its rest, a face has settled there:
longer than anyone holds "a little to one side" before turning back."""
PERSON_MIN_SIZE_RATIO = 0.25
"""A face under a quarter of the patient's size is a photo, or a person four
times the patient's distance away (3 m and more behind a laptop user): it can
never be taken for the patient and is not counted as a person in view."""


def _centre_and_size(landmarks_px: np.ndarray) -> tuple[np.ndarray | None, float]:
    """(x, y) centroid and `face_size_px` from one pass: the detector needs both every frame.

    The mean squared distance from the centroid is E|p|^2 - |E p|^2, one dot
    product instead of a centred copy (coordinates are a few hundred pixels and
    the spread tens, so nothing is lost to cancellation in float64).
    """
    lm = np.asarray(landmarks_px, dtype=float)
    n = lm.shape[0]
    if n == 0:
        return None, 0.0
    mean = lm.sum(0) / n
    flat = lm.ravel()
    spread = float(flat @ flat) / n - float(mean @ mean)
    centre = mean[:2]
    centre.flags.writeable = False  # shared by the observation and the detector's history
    return centre, 2.0 * math.sqrt(max(spread, 0.0))


def face_size_px(landmarks_px: np.ndarray) -> float:
    """Twice the RMS distance of the landmarks from their centroid, in 3D.

    About the face width, but it barely changes when the head turns or nods
    (the x extent alone shrinks with yaw), so it tells distance, not pose.
    """
    return _centre_and_size(landmarks_px)[1]


def _in_gate(centre, size: float, ref_centre, ref_size: float) -> bool:
    """Whether a face (centre, size) could be the one last seen at (ref_centre, ref_size)."""
    if not ref_size > 0 or not size > 0:
        return False
    d = math.hypot(float(centre[0]) - float(ref_centre[0]), float(centre[1]) - float(ref_centre[1]))
    ratio = size / ref_size
    return d <= PATIENT_MAX_SHIFT_SIZES * ref_size and 1.0 / PATIENT_MAX_SIZE_RATIO <= ratio <= PATIENT_MAX_SIZE_RATIO


def _distance(a, b) -> float:
    return math.hypot(float(a[0]) - float(b[0]), float(a[1]) - float(b[1]))


def _same_face(a: tuple[np.ndarray | None, float], b: tuple[np.ndarray | None, float]) -> bool:
    """Whether faces a and b are one face found twice (DUPLICATE_MAX_SHIFT_SIZES)."""
    (ca, sa), (cb, sb) = a, b
    big, small = max(sa, sb), min(sa, sb)
    return (ca is not None and cb is not None and _distance(ca, cb) <= DUPLICATE_MAX_SHIFT_SIZES * big
            and big <= DUPLICATE_MAX_SIZE_RATIO * small)


def duplicates(geometry: list[tuple[np.ndarray | None, float]]) -> set[int]:
    """Indices of faces that are a smaller copy of another face in the same place
    (DUPLICATE_MAX_SHIFT_SIZES)."""
    out: set[int] = set()
    order = sorted(range(len(geometry)), key=lambda i: -geometry[i][1])
    for k, i in enumerate(order):
        if i in out or geometry[i][0] is None:
            continue
        for j in order[k + 1:]:
            if j not in out and _same_face(geometry[i], geometry[j]):
                out.add(j)
    return out


def fresh_copies(landmarks: list[np.ndarray], geometry: list[tuple[np.ndarray | None, float]],
                 previous_px: np.ndarray | None) -> set[int]:
    """Indices of the copies of the face whose mesh continues `previous_px` (the patient's
    landmarks last frame), that mesh excepted: each a second finding of the same face.

    Why not the larger copy (`duplicates`): face mesh follows a face from its last mesh, and
    when its detector also finds that face afresh it can report both. The fresh copy's mesh
    starts from a rougher box and lands off the face's shape (rendered population seed 400645,
    12 doubled frames: the followed copy lay 0.2-0.5 px, mean over the landmarks, from the meshes
    of the frames before and after; the fresh one 2.8-3.5 px, 5 % of a 60 px face, and was the
    larger 8 times in 12). Taken for the patient, its pitch read 6-8 deg off for one frame
    and was warned as a jerk, twice. Between frames a head at exercise speed moves its
    landmarks under about 1 px at that size (30 deg/s at 15 fps), so the copy nearest the last
    mesh is the followed one.

    A smaller face centred where the followed one is (within DUPLICATE_MAX_SHIFT_SIZES of its
    size) is a copy however much smaller: a face behind the patient's, in the same place, is
    hidden by it. (The size limit of `_same_face` is for a larger face there, somebody leaning in
    front.) Rendered population seed 400944, a camera 45 cm below the eyes: from 70.6 s face mesh
    also put a mesh 0.73 times the patient's size 20 px off its centre, on the patient's face, in
    most frames; counted as a second person, every such frame lost the patient, and the session
    paused on "two faces" and stalled.
    """
    if previous_px is None or len(landmarks) < 2:
        return set()
    prev = np.asarray(previous_px, dtype=float)
    near = [float(np.mean(np.hypot(*(a[:, :2] - prev[:, :2]).T))) if a.shape == prev.shape else math.inf
            for a in landmarks]
    keep = int(np.argmin(near))
    if not math.isfinite(near[keep]):
        return set()
    return {j for j in range(len(geometry)) if j != keep
            and (_same_face(geometry[keep], geometry[j]) or _behind(geometry[j], geometry[keep]))}


def _behind(a: tuple[np.ndarray | None, float], b: tuple[np.ndarray | None, float]) -> bool:
    """Whether face a is smaller than face b and centred where b is (see `fresh_copies`)."""
    (ca, sa), (cb, sb) = a, b
    return (ca is not None and cb is not None and sa < sb
            and _distance(ca, cb) <= DUPLICATE_MAX_SHIFT_SIZES * sb)


def first_choice(geometry: list[tuple[np.ndarray | None, float]],
                 image_size: tuple[int, int] | None = None) -> tuple[int | None, bool]:
    """(index, ambiguous) of the patient among faces when nobody is followed yet.

    The largest face near the middle of the frame (any face if none is near
    the middle), unless another there is nearly as big and as central
    (FIRST_CHOICE_*).
    Without an image size, the largest face.
    """
    if not geometry:
        return None, False
    indices = list(range(len(geometry)))
    if image_size is not None and image_size[0] > 0 and image_size[1] > 0:
        w, h = image_size
        central = [i for i in indices
                   if abs(float(geometry[i][0][0]) - w / 2) <= FIRST_CHOICE_CENTRE_FRAC * w
                   and abs(float(geometry[i][0][1]) - h / 2) <= FIRST_CHOICE_CENTRE_FRAC * h]
        indices = central or indices
    best = max(indices, key=lambda i: geometry[i][1])
    if image_size is None:
        return best, False
    w, h = image_size

    def off_centre(i: int) -> float:
        return math.hypot(float(geometry[i][0][0]) / w - 0.5, float(geometry[i][0][1]) / h - 0.5)

    rivals = [i for i in indices if i != best
              and geometry[i][1] >= FIRST_CHOICE_MIN_SIZE_RATIO * geometry[best][1]
              and off_centre(i) <= off_centre(best) + FIRST_CHOICE_CENTRE_MARGIN_FRAC]
    return (None, True) if rivals else (best, False)


def choose_patient(faces_px: list[np.ndarray], previous_center_px: np.ndarray | None = None,
                   previous_size_px: float | None = None) -> int | None:
    """Index of the patient among (N, 3) landmark arrays, or None if none of them is (one frame, no memory).

    Without history the largest face (the person nearest the camera). With
    a previous centre only, the nearest face. With centre and size, the
    nearest face that passes the position and size gate.
    """
    return _choose([_centre_and_size(a) for a in faces_px], previous_center_px, previous_size_px)


def _choose(geometry: list[tuple[np.ndarray | None, float]], previous_center_px: np.ndarray | None,
            previous_size_px: float | None) -> int | None:
    """`choose_patient` on each face's (centre, size), so callers can keep them."""
    if not geometry:
        return None
    sizes = [size for _, size in geometry]
    if previous_center_px is None:
        return int(np.argmax(sizes))
    dists = [_distance(centre, previous_center_px) for centre, _ in geometry]
    if previous_size_px is None or not previous_size_px > 0:
        return int(np.argmin(dists))
    fits = [i for i, (centre, size) in enumerate(geometry)
            if _in_gate(centre, size, previous_center_px, previous_size_px)]
    return min(fits, key=lambda i: dists[i]) if fits else None


@dataclass(frozen=True, **SLOTS)
class PatientChoice:
    """One frame's verdict: which face is the patient and who else is in view.

    index: the patient's face, or None (not found, hidden, or not told apart);
    people: faces that may be people, the patient included when found
    (pictures and faces too small to be anyone near are left out);
    pictures: faces judged to be pictures (still while the patient moved)
    or too small; ambiguous: another face could be the patient, so neither
    is taken.
    """

    index: int | None
    people: int
    pictures: int = 0
    ambiguous: bool = False


class _Track:
    """Another face followed from frame to frame, and whether it has shown itself a picture."""

    __slots__ = ("centre", "size", "origin", "step", "drift", "patient_origin", "patient_moved", "picture", "seen")

    def __init__(self, centre, size: float, patient_centre) -> None:
        self.centre, self.size = np.asarray(centre, float), float(size)
        self.origin = self.centre.copy()
        self.step = np.zeros(2)
        self.drift = 0.0
        self.patient_origin = None if patient_centre is None else np.asarray(patient_centre, float)
        self.patient_moved = 0.0
        self.picture = False
        self.seen = True

    @property
    def expected(self) -> np.ndarray:
        """Where this face should be next frame: people walk on (one frame's step ahead)."""
        return self.centre + self.step if self.seen else self.centre

    def follow(self, centre, size: float) -> None:
        centre = np.asarray(centre, float)
        self.step = centre - self.centre if self.seen else np.zeros(2)
        self.centre, self.size, self.seen = centre, float(size), True
        self.drift = max(self.drift, _distance(self.centre, self.origin) / max(self.size, 1e-9))

    def watch_patient(self, centre, size: float) -> None:
        """The patient was seen in the same frame: how far has it moved since this face appeared?"""
        if self.patient_origin is None:
            self.patient_origin = np.asarray(centre, float)
        self.patient_moved = max(self.patient_moved, _distance(centre, self.patient_origin) / max(size, 1e-9))
        if self.patient_moved < PATIENT_STILL_SIZES:
            # Stillness counts from when the patient starts to move: a new face's
            # landmarks settle over its first frames, and that is not a movement.
            self.origin, self.drift = self.centre.copy(), 0.0
        if not self.picture and self.drift <= PICTURE_MAX_DRIFT and self.patient_moved >= PICTURE_PATIENT_MOVED_SIZES:
            self.picture = True
        elif self.drift > PICTURE_MAX_DRIFT:
            self.picture = False  # it moved after all: somebody who had been sitting still


class _Contender(_Track):
    """A face followed while nobody can be chosen: where it rests, and how far it went from there.

    Its rest is where it last stayed still (steps under CONTENDER_STILL_STEP_SIZES a frame)
    before it moved PICTURE_PATIENT_MOVED_SIZES: a person still settling (coming closer when
    asked) turns from where they settle, not from where they were first seen (rendered seed
    400585). A face that then stays still for CONTENDER_REST_FRAMES away from its rest has
    settled somewhere else, and rests there.
    """

    __slots__ = ("start", "moved", "still_frames")

    def __init__(self, centre, size: float) -> None:
        super().__init__(centre, size, None)
        self.start = self.centre.copy()
        self.moved = 0.0
        self.still_frames = 0

    def follow(self, centre, size: float) -> None:
        previous = self.centre
        super().follow(centre, size)
        still = _distance(self.centre, previous) / max(self.size, 1e-9) < CONTENDER_STILL_STEP_SIZES
        self.still_frames = self.still_frames + 1 if still else 0
        if still and (self.moved < PICTURE_PATIENT_MOVED_SIZES or self.still_frames >= CONTENDER_REST_FRAMES):
            self.start, self.moved = self.centre.copy(), 0.0
        self.moved = max(self.moved, self.away)

    @property
    def away(self) -> float:
        """Distance from where it rests, in its own face sizes."""
        return _distance(self.centre, self.start) / max(self.size, 1e-9)


class PatientTracker:
    """Follows the patient and every other face between `reset()`s (recalibrations).

    `update(geometry, image_size)` takes each face's (centre, size) of one
    frame and returns a `PatientChoice`. Frame by frame, no clock: time-based
    persistence is the coach's (a problem must last `pause_after_s`).
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget everyone: the next patient is chosen afresh (`first_choice`)."""
        self.patient_centre: np.ndarray | None = None
        # The face size distances are measured in: the median of the sizes the patient's face had
        # in the last `PATIENT_SIZE_MEMORY_FRAMES` frames it was found in (see there).
        self.patient_scale: float | None = None
        self._patient_sizes: deque[float] = deque(maxlen=PATIENT_SIZE_MEMORY_FRAMES)
        self.patient_found = False
        self.patient_seen = False  # its likeliest face was there last frame (taken or not)
        self.others: list[_Track] = []
        self.contenders: list[_Contender] = []  # faces followed while the first choice is ambiguous
        self._matched: dict[int, _Contender] = {}  # this frame's face -> its contender

    @property
    def following(self) -> bool:
        return self.patient_centre is not None

    def update(self, geometry: list[tuple[np.ndarray | None, float]],
               image_size: tuple[int, int] | None = None) -> PatientChoice:
        twice = duplicates(geometry)
        if self.patient_centre is None:
            kept = [i for i in range(len(geometry)) if i not in twice]
            faces = [geometry[i] for i in kept]
            k, ambiguous = first_choice(faces, image_size)
            shown = None
            if ambiguous or self.contenders:
                shown = self._shown_patient(faces, image_size)
                if shown is not None:
                    k = shown
                elif ambiguous or self._turned_away(k):
                    k = None  # not while someone is turned away: the check asked them to
                else:
                    self.contenders, self._matched = [], {}
            if k is None:
                return PatientChoice(None, len(kept), 0, ambiguous)
            index = kept[k]
            centre, size = geometry[index]
            self._set_patient(centre, size)
            self.patient_seen = True
            self.others = [_Track(*geometry[i], centre) for i in kept if i != index]
            if shown is not None:
                self._keep_pictures(shown)
            return PatientChoice(index, len(kept))
        pictures = self._picture_faces(geometry)
        live = [i for i in range(len(geometry)) if i not in pictures and i not in twice]
        assigned = self._assign(geometry, live)
        gate = [i for i in live if self._in_patient_gate(*geometry[i])]
        candidate = next((i for i, j in assigned.items() if j < 0), None)
        # Another face where the patient could be: identities may swap, so take neither -- unless
        # the patient was seen last frame and the others are too far from there for its head to
        # have moved (`SECOND_FACE_APART_SIZES`).
        apart = self._apart(geometry, gate, candidate) if candidate is not None and len(gate) > 1 else set()
        told_apart = self.patient_seen and len(apart) == len(gate) - 1
        ambiguous = candidate is not None and len(gate) > 1 and not told_apart
        index = None if ambiguous else candidate
        self.patient_seen = candidate is not None
        followed = {j for j in assigned.values() if j >= 0}
        for i, j in assigned.items():
            if j >= 0:
                self.others[j].follow(*geometry[i])
        for i, track in pictures.items():
            track.follow(*geometry[i])
            followed.add(next(j for j, t in enumerate(self.others) if t is track))
        for j, track in enumerate(self.others):
            if j not in followed:
                track.seen = False
        kept = [t for t in self.others if t.seen or t.picture]  # pictures stay where they hang
        apart = apart if ambiguous else set()
        for i in live:
            # An unplaced face starts a track, unless it may be the patient (in the gate while
            # the patient is not taken): the patient must never become "somebody else".
            if i in apart:
                kept.append(_Track(*geometry[i], geometry[candidate][0]))
            elif i not in assigned and not (index is None and i in gate):
                kept.append(_Track(*geometry[i], self.patient_centre if index is not None else None))
        self.others = kept
        if index is not None:
            self._set_patient(*geometry[index])
        if candidate is not None:
            # Stillness is judged against the patient's likeliest face even while it is not
            # taken (a poster in the gate would otherwise hold the pause for ever); a swap
            # could only make a moving face look less still, never a person a picture.
            for track in self.others:
                if track.seen:
                    track.watch_patient(*geometry[candidate])
        self.patient_found = index is not None
        pictures = self._picture_faces(geometry)  # including any judged just now
        small = [i for i, (_, s) in enumerate(geometry) if i != index and i not in pictures and i not in twice
                 and s < PERSON_MIN_SIZE_RATIO * self.patient_scale]
        not_people = len(pictures) + len(small)
        people = len(geometry) - not_people - len(twice - set(pictures))
        return PatientChoice(index, people, not_people, ambiguous)

    def _shown_patient(self, faces: list[tuple[np.ndarray | None, float]],
                       image_size: tuple[int, int] | None) -> int | None:
        """Follow every face while nobody can be chosen; the index of the one that turned
        and came back while its rivals stayed still (SHOWN_BACK_SIZES), else None."""
        followed: list[_Contender] = []
        matched: dict[int, _Contender] = {}
        for i, (centre, size) in enumerate(faces):
            if centre is None:
                continue
            near = [t for t in self.contenders if t not in followed and _in_gate(centre, size, t.centre, t.size)]
            track = min(near, key=lambda t: _distance(centre, t.centre), default=None)
            if track is None:
                track = _Contender(centre, size)
            else:
                track.follow(centre, size)
            followed.append(track)
            matched[i] = track
        self.contenders, self._matched = followed, matched
        if all(t.moved < PATIENT_STILL_SIZES for t in followed):
            # Stillness counts from when somebody starts to move, as for pictures (_Track).
            for track in followed:
                track.origin, track.drift = track.centre.copy(), 0.0
            return None
        movers = [i for i, t in matched.items() if t.moved >= PICTURE_PATIENT_MOVED_SIZES]
        if len(movers) != 1:
            return None
        i = movers[0]
        mover = matched[i]
        if mover.moved > PATIENT_MAX_SHIFT_SIZES or mover.away > SHOWN_BACK_SIZES:
            return None
        if image_size is not None and first_choice([(mover.start, mover.size)], image_size)[0] is None:
            return None
        rivals = [t for t in followed if t is not mover and t.size >= FIRST_CHOICE_MIN_SIZE_RATIO * mover.size]
        return i if all(t.drift <= PICTURE_MAX_DRIFT for t in rivals) else None

    def _turned_away(self, k: int | None) -> bool:
        """Whether a face other than the k-th is away from where it was when the faces were
        first ambiguous: someone doing the check's "turn your head a little", who must not
        lose the choice to a picture for being turned away."""
        return any(t is not self._matched.get(k) and t.away > SHOWN_BACK_SIZES for t in self.contenders)

    def _keep_pictures(self, shown: int) -> None:
        """The rivals that stayed still while the patient turned are pictures from the start."""
        mover = self._matched[shown]
        rest = [k for k in range(len(self.others) + 1) if k != shown]
        for track, k in zip(self.others, rest):
            twin = self._matched.get(k)
            if twin is not None and twin.drift <= PICTURE_MAX_DRIFT:
                track.origin, track.drift = twin.origin, twin.drift
                track.patient_origin, track.patient_moved = mover.start, mover.moved
                track.picture = True
        self.contenders, self._matched = [], {}

    def _apart(self, geometry, gate: list[int], candidate: int) -> set[int]:
        """The faces in the gate that cannot be the patient's head, seen in the same frame as
        one that is near where the patient was taken (`SECOND_FACE_APART_SIZES`)."""
        size = self.patient_scale
        near = _distance(geometry[candidate][0], self.patient_centre) / size
        if near > SECOND_FACE_NEAR_SIZES:
            return set()
        return {i for i in gate if i != candidate
                and _distance(geometry[i][0], self.patient_centre) / size >= SECOND_FACE_APART_SIZES}

    def crowded(self) -> bool:
        """Whether another face followed last frame sits where the patient was last seen.

        Face mesh looks for new faces only away from those it follows: such a
        face can hide the patient from its detector for as long as it is followed."""
        if self.patient_centre is None:
            return False
        reach = PATIENT_MAX_SHIFT_SIZES * self.patient_scale
        return any(t.seen and _distance(t.centre, self.patient_centre) <= reach for t in self.others)

    def _set_patient(self, centre, size: float) -> None:
        self.patient_centre, self.patient_found = np.asarray(centre, float), True
        self._patient_sizes.append(float(size))
        self.patient_scale = float(np.median(self._patient_sizes))

    def _in_patient_gate(self, centre, size: float) -> bool:
        """`_in_gate` of where the patient was last taken, its size within
        `PATIENT_MAX_SIZE_RATIO` of a size its face had in the last
        `PATIENT_SIZE_MEMORY_FRAMES` frames it was found in."""
        sizes = self._patient_sizes
        return (size > 0 and _distance(centre, self.patient_centre) <= PATIENT_MAX_SHIFT_SIZES * self.patient_scale
                and min(sizes) / PATIENT_MAX_SIZE_RATIO <= size <= max(sizes) * PATIENT_MAX_SIZE_RATIO)

    def _picture_faces(self, geometry) -> dict[int, _Track]:
        """Faces sitting where a known picture hangs (within its own noise), with their picture."""
        out: dict[int, _Track] = {}
        for track in self.others:
            if not track.picture:
                continue
            for i, (c, s) in enumerate(geometry):
                if i not in out and _distance(c, track.origin) <= 2 * PICTURE_MAX_DRIFT * track.size \
                        and abs(s / track.size - 1.0) <= 2 * PICTURE_MAX_DRIFT + 0.05:
                    out[i] = track
                    break
        return out

    def _assign(self, geometry, live: list[int]) -> dict[int, int]:
        """Face index -> track (-1 = the patient, j = self.others[j]), nearest first in each one's gate.

        Distances are in each track's own face sizes, from where it should be
        now: a person walking on is expected one step further, the patient
        where it was last taken (a seated head's face barely travels). While
        the patient was seen last frame, the nearest claim wins; while it was
        not, the people followed until then claim their faces first, so one
        who moves into the empty place stays who they are.
        """
        def pairs(refs):
            out = []
            for i in live:
                c, s = geometry[i]
                for j, centre, size in refs:
                    if self._in_patient_gate(c, s) if j < 0 else _in_gate(c, s, centre, size):
                        out.append((_distance(c, centre) / size, i, j))
            return sorted(out)

        others = [(j, t.expected, t.size) for j, t in enumerate(self.others) if not t.picture]
        patient = [(-1, self.patient_centre, self.patient_scale)]
        rounds = [pairs(patient + others)] if self.patient_seen else [pairs(others), pairs(patient)]
        faces: dict[int, int] = {}
        taken: set[int] = set()
        for candidates in rounds:
            for _, i, j in candidates:
                if i not in faces and j not in taken:
                    faces[i] = j
                    taken.add(j)
        return faces


__all__ = ["CONTENDER_REST_FRAMES", "CONTENDER_STILL_STEP_SIZES", "DUPLICATE_MAX_SHIFT_SIZES",
           "DUPLICATE_MAX_SIZE_RATIO", "FIRST_CHOICE_CENTRE_FRAC", "FIRST_CHOICE_CENTRE_MARGIN_FRAC",
           "FIRST_CHOICE_MIN_SIZE_RATIO",
           "PATIENT_MAX_SHIFT_SIZES", "PATIENT_MAX_SIZE_RATIO", "PATIENT_SIZE_MEMORY_FRAMES", "PATIENT_STILL_SIZES", "PERSON_MIN_SIZE_RATIO",
           "PICTURE_MAX_DRIFT", "PICTURE_PATIENT_MOVED_SIZES", "PatientChoice", "PatientTracker",
           "SECOND_FACE_APART_SIZES", "SECOND_FACE_NEAR_SIZES", "SHOWN_BACK_SIZES",
           "choose_patient", "duplicates", "face_size_px", "first_choice", "fresh_copies"]
