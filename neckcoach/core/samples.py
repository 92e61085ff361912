"""Typed per-frame records that flow between pipeline stages.

Every stage speaks these types so that the detector adapter, the estimator, the
filters and the coach can be developed and tested separately. Angles follow the
project sign conventions (see README): yaw > 0 turns to the subject's left,
pitch > 0 is flexion (chin down), roll > 0 bends towards the left shoulder,
retraction > 0 is a chin tuck (head moves back).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from neckcoach.core.compat import SLOTS

Axis = Literal["yaw", "pitch", "roll", "retraction"]
AXES: tuple[Axis, ...] = ("yaw", "pitch", "roll", "retraction")

# Which kinematic axis each routine movement is measured on.
MOVEMENT_AXIS: dict[str, Axis] = {
    "rotation": "yaw",
    "flexion": "pitch",
    "extension": "pitch",
    "flexion_extension": "pitch",
    "chin_nod": "pitch",
    "side_bend": "roll",
    "retraction": "retraction",
}


@dataclass(frozen=True, **SLOTS)
class HeadPose:
    """Head pose of one frame in camera terms, before calibration.

    Angles are absolute (relative to facing the camera squarely); position is
    the head pivot in camera coordinates in millimetres (x right in the image,
    y down, z away from the camera). `reliable` is False where the estimate is
    beyond what the detector can see (e.g. very large yaw): the value is then
    a best guess that must not be reported as a measurement.

    Per measure: `yaw_reliable`, `pitch_reliable`, `roll_reliable` and
    `position_reliable` (the pivot position, hence retraction) say whether each
    value is expected within 5 deg / 5 mm of the truth (see `is_reliable`;
    None means "as `reliable`", for callers that only know the overall flag).
    `lower_bounds` names the angles ("yaw", "pitch") the head has gone beyond
    what can be measured: the true angle is at least the value given, in its
    direction. `tracked` says the angles
    were followed past the face mesh's range rather than read from the mesh.
    `source_step_deg`: in a frame where the estimate switched between face
    mesh and the followed points, how far the two read the angles apart (the
    largest of the three; inf where one of them had no reading), so a step
    in the values can be told from a movement; 0 in every other frame.
    `switched_from_deg`: in that frame, the (yaw, pitch, roll) the estimate
    switched away from read, where it had a reading (None otherwise), so the
    speed filters can take the step out (`KinematicsFilter`).
    `unconfirmed` names the followed angles ("pitch", "roll") whose recent change
    face mesh, found in the same frames, did not see (see `CONFIRM_WINDOW_S`);
    `confirmed` names the followed angles face mesh saw change as well: the yaw
    whose recent change of speed outwards it saw at least as much (see
    `CONFIRM_MAX_SHARE`), the pitch or roll whose change it saw at least half
    and at most that many times as far: the head's, not the points catching up
    with it, stalling or refitting. `mesh_yaw_dv_deg_s`: where the yaw is
    confirmed, how much face mesh's own reading of its speed changed over that
    window (deg/s), a change of speed one source read by itself, which a switch
    between the two cannot have made; 0 elsewhere. `disputed` names those of the unconfirmed
    read while face mesh also contradicted the followed yaw (headpose
    `AGREE_DEG`): a fit that misreads the turn itself; and every
    angle of a mesh taken over from the followed points while the two disagreed
    (headpose `AXES_OF_A_SUSPECT_MESH`), which may be a collapsed one.
    `saturated` names the lower bounds read where the estimator no longer
    measures at all (extension past what face mesh follows from the camera):
    the reading may run a few degrees past the truth there and its steps are
    not the head's, so the filter gives the bound nearer neutral and its
    shape and speed are not judged as a measurement's.
    `depth_gap_mm`: how much nearer face mesh's fit puts the face by its whole
    size than by its width alone (`geometry.width_depth_mm`); None where face
    mesh gave no fit. Its change from neutral says how far the depth, hence the
    retraction, depends on how the face's shape is fitted (see `KinematicsFilter`).

    Picture fields, for the quality checks: `image_size_px` is (width, height),
    `face_center_px` the face's centre in the image, `face_brightness` the mean
    grey level (0-255) inside the face box, `brightness` that of the whole
    frame, `glare_share` the share of the frame blown out to white (a window
    or lamp in view), `far_face_px` the box width of a face found only by the
    full-range face detector where no face was found (someone too far away).
    0 / (0, 0) / None mean "not measured".
    """

    t_s: float
    face_found: bool
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    roll_deg: float = 0.0
    position_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    confidence: float = 0.0
    reliable: bool = False
    faces: int = 0
    face_width_px: float = 0.0
    brightness: float = 0.0
    torso_yaw_deg: float | None = None
    torso_roll_deg: float | None = None
    image_size_px: tuple[int, int] = (0, 0)
    face_center_px: tuple[float, float] | None = None
    face_brightness: float = 0.0
    yaw_reliable: bool | None = None
    pitch_reliable: bool | None = None
    roll_reliable: bool | None = None
    position_reliable: bool | None = None
    lower_bounds: tuple[str, ...] = ()
    tracked: bool = False
    source_step_deg: float = 0.0
    glare_share: float = 0.0
    far_face_px: float = 0.0
    unconfirmed: tuple[str, ...] = ()
    confirmed: tuple[str, ...] = ()
    disputed: tuple[str, ...] = ()
    switched_from_deg: tuple[float, float, float] | None = None
    saturated: tuple[str, ...] = ()
    depth_gap_mm: float | None = None
    mesh_yaw_dv_deg_s: float = 0.0

    @classmethod
    def empty(cls, t_s: float, faces: int = 0, brightness: float = 0.0) -> "HeadPose":
        return cls(t_s=t_s, face_found=False, faces=faces, brightness=brightness)

    def is_reliable(self, measure: str) -> bool:
        """Whether `measure` ("yaw", "pitch", "roll" or "position") is trustworthy this frame."""
        return measure_reliable(self, measure)


def measure_reliable(sample, measure: str) -> bool:
    """The per-measure flag of a `HeadPose` or `RelativePose`, falling back to `reliable`.

    Why the fallback: records built by callers that know only the overall flag
    (tests, replayed traces) keep meaning what they said.
    """
    if not (sample.face_found and sample.reliable):
        return False
    flag = getattr(sample, f"{measure}_reliable")
    return True if flag is None else bool(flag)


@dataclass(frozen=True, **SLOTS)
class Kinematics:
    """Calibrated, filtered head kinematics of one frame: what the coach reads.

    Angles are relative to the person's calibrated neutral. Speeds, accelerations
    and jerks are time derivatives from timestamps (not frame counts). The
    picture fields are those of `HeadPose`, passed through. `saturated_axes`:
    the lower bounds that are `HeadPose.saturated` (given nearer neutral than
    the reading by `KinematicsFilter`).
    """

    t_s: float
    face_found: bool
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    roll_deg: float = 0.0
    retraction_mm: float = 0.0
    yaw_speed_deg_s: float = 0.0
    pitch_speed_deg_s: float = 0.0
    roll_speed_deg_s: float = 0.0
    retraction_speed_mm_s: float = 0.0
    yaw_accel_deg_s2: float = 0.0
    pitch_accel_deg_s2: float = 0.0
    roll_accel_deg_s2: float = 0.0
    retraction_accel_mm_s2: float = 0.0
    yaw_jerk_deg_s3: float = 0.0
    pitch_jerk_deg_s3: float = 0.0
    roll_jerk_deg_s3: float = 0.0
    retraction_jerk_mm_s3: float = 0.0
    yaw_noise_deg: float = 0.0
    pitch_noise_deg: float = 0.0
    roll_noise_deg: float = 0.0
    retraction_noise_mm: float = 0.0
    yaw_speed_noise_deg_s: float = 0.0
    pitch_speed_noise_deg_s: float = 0.0
    roll_speed_noise_deg_s: float = 0.0
    retraction_speed_noise_mm_s: float = 0.0
    confidence: float = 0.0
    reliable: bool = False
    faces: int = 0
    face_width_px: float = 0.0
    brightness: float = 0.0
    torso_yaw_deg: float | None = None
    torso_roll_deg: float | None = None
    image_size_px: tuple[int, int] = (0, 0)
    face_center_px: tuple[float, float] | None = None
    face_brightness: float = 0.0
    yaw_reliable: bool = False
    pitch_reliable: bool = False
    roll_reliable: bool = False
    retraction_reliable: bool = False
    lower_bound_axes: tuple[str, ...] = ()
    saturated_axes: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)
    glare_share: float = 0.0
    far_face_px: float = 0.0

    def value(self, axis: Axis) -> float:
        return getattr(self, _VALUE_FIELD[axis])

    def is_reliable(self, axis: Axis) -> bool:
        """Whether this frame's `axis` value can be shown and judged as a measurement.

        `reliable` says the tracking as a whole is usable (face found, settled);
        the per-axis flags say whether each value is trustworthy on its own: a
        head turned far enough keeps a usable yaw while its retraction is
        not measured at all.
        """
        return getattr(self, _RELIABLE_FIELD[axis])

    def is_lower_bound(self, axis: Axis) -> bool:
        """The true value is at least `value(axis)` (beyond what can be measured)."""
        return axis in self.lower_bound_axes

    def distrusted(self) -> "Kinematics":
        """This frame with no value trusted, not even as a lower bound: what it read is not the
        head's (the camera turning). `reliable=False` alone leaves the per-axis flags, which
        the rep counter reads: a lid tilted during a held nod drew "Stay at the target",
        "Hold it a little longer" and "Other way" while the camera moved (stop 52)."""
        return replace(self, reliable=False, yaw_reliable=False, pitch_reliable=False, roll_reliable=False,
                       retraction_reliable=False, lower_bound_axes=())

    @property
    def yaw_lower_bound(self) -> bool:
        """Trace column: the yaw is a lower bound (turned beyond what can be measured)."""
        return "yaw" in self.lower_bound_axes

    @property
    def pitch_lower_bound(self) -> bool:
        """Trace column: the pitch is a lower bound (flexion beyond what is read faithfully)."""
        return "pitch" in self.lower_bound_axes

    def speed(self, axis: Axis) -> float:
        return getattr(self, _SPEED_FIELD[axis])

    def noise(self, axis: Axis) -> float:
        """Sigma that jitter leaves in `value(axis)` now (`core.jitter`); 0 when not measured."""
        return getattr(self, _NOISE_FIELD[axis])

    def speed_noise(self, axis: Axis) -> float:
        """Sigma that jitter leaves in `speed(axis)`; 0 when not measured."""
        return getattr(self, _SPEED_NOISE_FIELD[axis])

    def accel(self, axis: Axis) -> float:
        return getattr(self, _ACCEL_FIELD[axis])

    def jerk(self, axis: Axis) -> float:
        return getattr(self, _JERK_FIELD[axis])

    @classmethod
    def lost(cls, t_s: float, faces: int = 0, brightness: float = 0.0, *,
             image_size_px: tuple[int, int] = (0, 0), face_center_px: tuple[float, float] | None = None,
             face_brightness: float = 0.0, glare_share: float = 0.0, far_face_px: float = 0.0) -> "Kinematics":
        """No head this frame; the picture fields still say what the camera saw."""
        return cls(t_s=t_s, face_found=False, faces=faces, brightness=brightness, image_size_px=image_size_px,
                   face_center_px=face_center_px, face_brightness=face_brightness, glare_share=glare_share,
                   far_face_px=far_face_px)


def value_field(axis: Axis) -> str:
    """Name of the field holding `axis` (units differ: degrees, or mm for retraction)."""
    return _VALUE_FIELD[axis]


def kinematic_fields(axis: Axis) -> tuple[str, str, str, str]:
    """Names of the value, speed, acceleration and jerk fields of `axis`."""
    return _VALUE_FIELD[axis], _SPEED_FIELD[axis], _ACCEL_FIELD[axis], _JERK_FIELD[axis]


_UNIT = {"yaw": "deg", "pitch": "deg", "roll": "deg", "retraction": "mm"}
_VALUE_FIELD = {a: f"{a}_{_UNIT[a]}" for a in AXES}
_SPEED_FIELD = {a: f"{a}_speed_{_UNIT[a]}_s" for a in AXES}
_ACCEL_FIELD = {a: f"{a}_accel_{_UNIT[a]}_s2" for a in AXES}
_JERK_FIELD = {a: f"{a}_jerk_{_UNIT[a]}_s3" for a in AXES}
_RELIABLE_FIELD = {a: f"{a}_reliable" for a in AXES}
_NOISE_FIELD = {a: f"{a}_noise_{_UNIT[a]}" for a in AXES}
_SPEED_NOISE_FIELD = {a: f"{a}_speed_noise_{_UNIT[a]}_s" for a in AXES}


def noise_fields(axis: Axis) -> tuple[str, str]:
    """Names of the fields holding the jitter of `axis` and of its speed (`Kinematics.noise`)."""
    return _NOISE_FIELD[axis], _SPEED_NOISE_FIELD[axis]


def reliable_field(axis: Axis) -> str:
    """Name of the per-axis reliability flag of `axis` (see `Kinematics.is_reliable`)."""
    return _RELIABLE_FIELD[axis]
