"""Face landmarks -> absolute head pose (`HeadPose`) with a real camera model.

Three fits are available (compared in benchmarks/README.md):
- "pnp": full-perspective Levenberg-Marquardt fit of the 2D landmarks to the
  3D face model, started from the weak-perspective fit;
- "weak": similarity alignment (Umeyama) of MediaPipe's 3D landmarks to the
  model, corrected for the viewing ray;
- "mixed" (the default): the weak fit's pitch and roll with the turn (yaw) of
  the full-perspective fit (see `_turn_from_image`).
Head position is the estimated neck pivot (an anatomical offset from the model
origin), so that pure rotations about the neck barely move it and a chin tuck
shows up as a change in depth.

Past the face mesh's range the head is followed from the last trustworthy
mesh (`tracked_motion` of points the detector follows, see
neckcoach/io/headtrack.py), and every measure carries its own trust flag and,
beyond what can be measured, a lower bound (tables below; figures in
benchmarks/README.md).
"""

from __future__ import annotations

import dataclasses
from collections import deque
import math
from typing import TYPE_CHECKING

import numpy as np

from neckcoach.core import face_model
from neckcoach.core.geometry import (Camera, OutlineFit, angles_from_rotation, ray_rotation,
                                     rotation_from_angles, solve_pnp, weak_perspective_pose,
                                     width_depth_mm)
from neckcoach.core.motion_limits import impossible_step
from neckcoach.core.samples import HeadPose
from neckcoach.core.torso import torso_angles

if TYPE_CHECKING:
    from neckcoach.io.detector import FaceObservation

METHODS = ("mixed", "pnp", "weak")
# Levenberg-Marquardt steps of the full-perspective fit that gives the "mixed" fit its
# turn: started from the weak fit it has a few degrees to go, and four steps agreed with
# ten within 0.005 deg (2,404 frames of six tuning clips).
TURN_FIT_ITERATIONS = 4
# Upper-neck pivot relative to the model origin (face edge at ear level), mm:
# roughly 7 cm below and 3 cm behind it (C1/C2 sits below and behind the tragus).
DEFAULT_PIVOT_OFFSET_MM = (0.0, 70.0, 30.0)


# How far the mesh's yaw may stray, RMS, from a constant-acceleration path over the
# gate's hold before it is trusted again. Over 0.4 s a head's turn is close to such
# a path; what is not: landmark noise (a trusted mesh within 6 deg of the truth on
# stop 35's ten rendered tuning sweeps: 0.17 median, 0.81 at most), tremor (up to 1
# deg at 4-6 Hz, ~0.7 RMS) and, on real talking heads (../shared clips), speech and
# expression: 1.07 at the 99th percentile, 1.57 at the 99.9th. A mesh collapsing
# while found strays 2-5 (scene 508, benchmarks/README.md "Stop 36"); jitter of 3.5
# RMS passes a 2 deg limit by chance in 21 % of 0.8 s spells at 15 fps (0.4 s is 6
# samples), a 1.5 deg limit in 7 %. Stricter costs a few frames' wait after a turn past
# the gate, in 0.1-0.2 % of real-face windows.
MAX_UNSTEADY_DEG = 1.5
# A quadratic through fewer than 4 samples fits any readings exactly.
STEADY_MIN_SAMPLES = 5


def head_path(samples) -> tuple[np.ndarray, float] | None:
    """The constant-acceleration path that fits (t, deg) readings best, as polynomial coefficients in
    the time before the last reading (so the second is the speed now), and the readings' RMS distance
    from it: how far they stray from how a head moves (see `MAX_UNSTEADY_DEG`); None for fewer than
    `STEADY_MIN_SAMPLES`."""
    if len(samples) < STEADY_MIN_SAMPLES:
        return None
    t = np.array([a for a, _ in samples])
    y = np.array([b for _, b in samples])
    t = t - t[-1]
    coefficients = np.polyfit(t, y, 2)
    residual = y - np.polyval(coefficients, t)
    return coefficients, math.sqrt(float(residual @ residual) / (len(t) - 3))


def path_residual_deg(samples) -> float | None:
    """RMS distance of (t, deg) readings from the head's path through them (`head_path`); None for
    fewer than `STEADY_MIN_SAMPLES`."""
    path = head_path(samples)
    return path[1] if path is not None else None


def moves_as_a_head(samples, max_unsteady_deg: float) -> bool:
    """Whether (t, deg) readings, enough to judge, stray no more than `max_unsteady_deg` from a
    head's path (`path_residual_deg`)."""
    stray = path_residual_deg(samples)
    return stray is not None and stray <= max_unsteady_deg


def keep_recent(samples: deque, t_s: float, span_s: float) -> None:
    """Drop (t, value) samples older than `span_s` before `t_s`, keeping at least
    `STEADY_MIN_SAMPLES` (at a low frame rate the window grows rather than thins)."""
    while len(samples) > STEADY_MIN_SAMPLES and samples[1][0] <= t_s - span_s:
        samples.popleft()


class YawGate:
    """Hysteresis on large yaw: why a single-frame threshold is not enough.

    Face mesh follows the head to ~55 deg of yaw, then saturates and even
    collapses back (a 70 deg turn can read 50 deg) before losing the face, and
    on re-acquisition at large yaw it may lock onto a wrong half-face. So once
    the estimate passes `enter_deg` (or the face is lost from there), frames
    stay unreliable until the estimate has been below `exit_deg` for `hold_s`,
    and has moved over that time as a head moves (`max_unsteady_deg`): a mesh
    collapsing slowly, found in every frame, can come back inside the gate
    reading a head 55 deg round as 0-15 deg, but it jumps about by 4-10 deg
    from frame to frame as it does (scene 508, benchmarks/README.md "Stop 36").
    """

    def __init__(self, enter_deg: float = 50.0, exit_deg: float = 40.0,
                 hold_s: float = 0.4, max_unsteady_deg: float | None = None) -> None:
        if not 0 < exit_deg < enter_deg <= 90:
            raise ValueError("need 0 < exit_deg < enter_deg <= 90, "
                             f"got exit_deg={exit_deg!r}, enter_deg={enter_deg!r}")
        if hold_s < 0:
            raise ValueError(f"hold_s must be >= 0, got {hold_s!r}")
        if max_unsteady_deg is None:
            max_unsteady_deg = MAX_UNSTEADY_DEG
        if not max_unsteady_deg > 0:
            raise ValueError(f"max_unsteady_deg must be > 0, got {max_unsteady_deg!r}")
        self.enter_deg, self.exit_deg, self.hold_s = enter_deg, exit_deg, hold_s
        self.max_unsteady_deg = max_unsteady_deg
        self._since_below: deque[tuple[float, float]] = deque()
        self.reset()

    def reset(self) -> None:
        self.edge = False
        self._below_since: float | None = None
        self._since_below.clear()

    def update(self, face_found: bool, yaw_deg: float, t_s: float,
               reading_deg: float | None = None) -> bool:
        """Returns True if this frame's yaw can be trusted.

        `reading_deg`: the continuous reading whose steadiness is judged (the camera-frame
        yaw), when `yaw_deg` is not one (a seen turn, signed, steps where the yaw crosses 0).
        """
        if not face_found:
            self._below_since = None
            return False
        if abs(yaw_deg) > self.enter_deg:
            self.edge = True
            self._below_since = None
        elif self.edge:
            if abs(yaw_deg) >= self.exit_deg:
                self._below_since = None
            else:
                if self._below_since is None:
                    self._below_since = t_s
                    self._since_below.clear()
                self._since_below.append((t_s, yaw_deg if reading_deg is None else reading_deg))
                keep_recent(self._since_below, t_s, self.hold_s)
                if (t_s - self._below_since >= self.hold_s
                        and moves_as_a_head(self._since_below, self.max_unsteady_deg)):
                    self.edge = False
        return not self.edge


# Per-measure trust, from the accuracy sweeps (benchmarks/README.md, tuning seed
# only): a measure is "reliable" when it is expected within 5 deg / 5 mm of the
# truth. Angles here are the camera-relative (absolute) readings, because what
# limits face mesh is how the face is seen, not where the person's neutral is.
# - Yaw: the mesh under-reads by up to ~3.5 deg at a 45-50 deg reading, then
#   saturates (a 63 deg turn reads 52-58) and collapses (70 deg read as 38-46)
#   before the face is lost: seen as it is below 50 deg, with hysteresis
#   (`YawGate`), and trusted to `MAX_TRUSTED_YAW_DEG` (below).
# - Pitch: extension is followed to -40 deg (`MAX_EXTENSION_DEG`); flexion is
#   under-read by the mesh, more than 5 deg once the reading passes ~20 deg,
#   where the reading becomes a lower bound of the true flexion. At large yaw
#   the pitch of a half-seen face is not trusted either. (Measured with an
#   unweighted fit: 30 deg read ~24, 40 read ~33. Most of that was the face
#   outline sliding, see `face_model`; with `OutlineFit` the tuning scenes read
#   24-29 and 34-37, and extension up to 4 deg past the truth at -30 to -40
#   on the default scene, where it had been within 1. The limits here were
#   not re-chosen for it.)
# - Roll: within `MAX_ROLL_DEG` while yaw is trusted.
# - Position (hence retraction): depth comes from the face's apparent size,
#   which rotating the face also changes (a 12 deg turn or extension moves the
#   estimated pivot by 10-25 mm while moving), so it is trusted only near the
#   frontal view; KinematicsFilter further requires all angles near neutral.
# Extension seen from the camera: past ~40 deg face mesh saturates and, deeper
# in, can run past the truth. On the tuning sweeps (scenes 100-103, camera-relative
# readings): within 2 deg (median) to -36, 17 % of readings at -36..-40 and 42 %
# at -40..-44 more than 5 deg off (up to 19 short), 6.5 deg over (median) at
# -56..-60. Past it neither the pitch nor the turn and tilt of a face seen from that
# far below are measurements (rendered population seed 400447: a 37 deg extension
# from a camera 44 cm below the eyes read 18, trusted, and was called short). Figures
# in benchmarks/README.md ("Deep extension seen from below").
MAX_EXTENSION_DEG = 40.0
# Past MAX_EXTENSION_DEG the pitch is a lower bound ("saturated", `HeadPose.saturated`),
# given this much nearer neutral than it reads (`KinematicsFilter`): there the filtered
# reading ran past the truth by up to 8.7 deg (tuning scenes 100-103, random pitch
# sweeps, 302 frames: 95th percentile 5.7, 99th 7.1); at 7 the bound was past the truth
# in 1.7 % of them and never by more than 2. Without a bound, extension reps from a
# camera well below the eyes went unmeasured however far they went (rendered
# population seeds 400951 and 400969: 33 and 38 deg held 6 s for a 30 deg target, "I
# could not see how far you went"). A bound short of the target band still counts
# nothing (`RepCounter`): from a camera that low the bound begins 15-20 deg from
# neutral (seed 400459 once counted a 16 deg extension for a 30 deg target on the
# reading itself as the bound).
EXTENSION_BOUND_SLACK_DEG = 7.0
# A head read past MAX_EXTENSION_DEG is measured again only once read this much inside it
# (within EXTENSION_LATCH_S of the last reading past it): there, at -36 and nearer, the
# tuning sweeps' readings were within 2 deg (median) and none more than 5 off, while 17 %
# of those at -36..-40 were (the table above). Face mesh collapsing on a head held 50 deg
# back jitters across the limit frame by frame (held-out accuracy scene 541, a camera 22
# cm below the eyes: readings of -37 to -45 for a head at -50 camera-relative, eight single
# frames inside -40 trusted 21-30 deg short, their turn and tilt 8 deg off). On tuning
# scenes 100-103 (random pitch and combined sweeps) the latch changed no trusted reading's
# verdict of more than 6 deg off (pitch 1, yaw 1, roll 1 before and after).
EXTENSION_REENTRY_DEG = 4.0
EXTENSION_LATCH_S = 0.5
MAX_FLEXION_DEG = 20.0
# Roll is trusted as far as the tuning sweeps reached: readings of 35-40 deg on the
# pure roll sweeps of scenes 100-103 were within 1.1 deg of the truth (30-35: within
# 1.9). At 35 (before), a 16 deg side-bend flick from a 25 deg hold, read within 1 deg
# all the way, was judged as untrusted at 1.5x the threshold and missed (rendered
# population seed 400481, 15 fps: 78 deg/s against 82).
MAX_ROLL_DEG = 40.0
# Pitch and roll are trusted only while the face is seen turned no further than this:
# the further half of a turned face is foreshortened and the mesh's nod and tilt are
# read from the nearer half. On tuning sweeps (scenes 100-102 yaw and combined, 103 yaw,
# 500-502 combined; the frames whose pitch was trusted before this limit, weak and mixed
# fits), the pitch error's 95th percentile was 0.8-2.8 deg up to 20 deg of turn, 4.1-5.4
# at 20-30, 5.2-7.1 at 30-35 and 10.5-13.2 at 35-40; roll's mean error passed 3 deg
# from 30 on. Past it, a bend or a tilt of a turned head is shown but not trusted (an
# exercise's nod or tilt starts at the front).
MAX_TILT_TRUST_TURN_DEG = 30.0
MAX_POSITION_ANGLE_DEG = 25.0
# Physiology: the neck bends sideways 35-50 deg each way (normative cervical lateral
# flexion), and a seated person's lean and a tilted laptop add perhaps 15 deg each:
# a mesh fit seen rolled further than this in the camera's frame is not the head.
# Face mesh does give such fits: lost at profile and found again, its points came
# back rotated, the fit reading 135-177 deg of roll while the reading of the turn
# followed the head 10-15 deg off (held-out scene 515, camera 42 cm below the eyes:
# 14 yaw and 38 pitch frames trusted 6-17 deg off, benchmarks/README.md "Stop 36").
MAX_PLAUSIBLE_ROLL_DEG = 75.0
# How long a face lost at the edge of the measurable yaw is still taken as
# "turned at least that far" (a held end-range rotation); longer, and the
# person may have left.
EDGE_HOLD_S = 5.0
# Something moving just around the face (`FaceObservation.surround_motion`, the share of a ring
# around it that changed since the last frame; neckcoach/io/surround.py) disturbs face mesh's
# landmarks enough to move the depth read from the face's size by 10-15 mm within 0.2 s while
# the head holds still (rendered population seed 401031: a person crossing behind a chin tuck,
# warned as a jolt). The position is not trusted while more than `SURROUND_MOVING_SHARE` of the
# ring changes: three times the most the patient's own movements changed on the rendered
# sweeps (0.013, nods to 55 deg), above all but two of 7,143 frames of real people talking at a
# webcam (tests/data/clips but WolfgangLanger, and franck: 0.059 in franck, 0.044 with a hand
# over the face; a still face 0.034 at most; WolfgangLanger's hands pass it often), under what a
# person walking past behind did at the peak on the tuning clips (0.05-0.15); nor for
# `SURROUND_SETTLE_S` after: the filtered depth still carries the disturbance (the retraction
# filter's time constant at rest is 0.3 s) and a velocity change is judged over 0.2 s. The angles,
# moved by 1-1.5 deg, stay trusted. Figures in benchmarks/README.md ("Stop 44: a person passing
# behind a chin tuck").
SURROUND_MOVING_SHARE = 0.04
SURROUND_SETTLE_S = 0.5


def seen_turn_deg(rotation: np.ndarray, origin_mm: np.ndarray) -> float:
    """How far the head is turned, |yaw|, as the camera's frame gives it or as it is seen
    along the face's viewing ray, whichever is further.

    What limits face mesh and the followed points is how the face is seen, and a face
    off the image centre is seen turned by the ray's angle as well: 20 cm to the side of
    a camera 0.6 m away that faces straight ahead (18 deg off-centre), a 60 deg turn away
    from that side is seen 78 deg turned, where face mesh has collapsed (read as 30 and
    trusted when judged by the camera-frame yaw alone). The trust limits were measured
    with faces near the image centre, where the two agree; judging by the further of
    the two only ever trusts less. (The followed points and the mesh still hand over by
    the camera-frame yaw: judged by the seen yaw alone, a face off-centre the other way
    kept an over-reading mesh where the followed points read the turn within 1 deg.)
    """
    seen = ray_rotation(origin_mm).T @ rotation
    return max(abs(angles_from_rotation(rotation)[0]), abs(angles_from_rotation(seen)[0]))


def anchor_points_mm(landmarks_px: np.ndarray, camera: Camera, depth_mm: float) -> np.ndarray:
    """Face-mesh landmarks (x, y px; z px in x scale) -> camera-frame millimetres.

    Each point's depth is the face's depth plus its own relative depth (z px
    scaled like x, so z_px * depth / f mm); x and y are then back-projected
    through the pinhole at that depth.
    """
    lm = np.asarray(landmarks_px, float)
    f = camera.focal_px
    cx, cy = camera.center.tolist()
    z = depth_mm + lm[:, 2] * (depth_mm / f)
    return np.column_stack([(lm[:, 0] - cx) * z / f, (lm[:, 1] - cy) * z / f, z])


def tracked_motion(anchor_mm: np.ndarray, points_px: np.ndarray, camera: Camera,
                   start: tuple[np.ndarray, np.ndarray] | None = None, *, outlier_px: float = 2.0
                   ) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Rigid motion (R, t) of the anchor's points to where they are now, robustly.

    Full-perspective fit (`solve_pnp`) of the anchor's 3D points to their
    followed positions; points off by more than max(`outlier_px`, 3x the
    median) are dropped and the fit redone (flow that slid along an edge or
    onto the other cheek). Returns (R, t, rms_px, points kept).
    """
    rot0, t0 = start if start is not None else (np.eye(3), np.zeros(3))
    keep = np.ones(len(anchor_mm), bool)
    rot, t, rms = rot0, t0, float("inf")
    # Started from the previous frame's fit (a frame's motion away), a few
    # Levenberg-Marquardt steps converge; the refits start from the last fit.
    for round_ in range(3):
        steps = 8 if start is None and round_ == 0 else 3
        rot, t, rms = solve_pnp(anchor_mm[keep], points_px[keep], camera, rot, t, iterations=steps)
        err = np.linalg.norm(camera.project(anchor_mm @ rot.T + t) - points_px, axis=1)
        new_keep = err <= max(outlier_px, 3.0 * float(np.median(err[keep])))
        if np.array_equal(new_keep, keep) or new_keep.sum() < 6:
            break
        keep = new_keep
    return rot, t, rms, int(keep.sum())


# Following the head past the mesh (io/headtrack.py): anchors are taken from
# meshes trusted at 20-32 deg of yaw (well inside the mesh's accurate range,
# yet turned enough that the near half of the face is the one that stays in
# view). From `HANDOVER_YAW_DEG` on, the followed points give the yaw: there
# the mesh's far half is foreshortened, its yaw saturates and then
# collapses, while the followed fit keeps following the turn to full profile
# (within 2-3 deg of the truth to 55 deg while moving on the tuning sweeps,
# and a valid lower bound beyond). The mesh also hands over whenever it
# parts from the followed points by more than 5 deg (collapsing) where
# either reads `HANDBACK_YAW_DEG` or more, passes the gate, jumps or is
# lost, and takes over again once they agree inside `HANDBACK_YAW_DEG`.
# Parting inside it is no sign of collapse: tracked points trail a quick
# flick by a few frames (rendered population seed 400685: 18 deg against the
# mesh's 9, truth 9.5, at 160 deg/s), and handing over then hid the flick.
# Followed points fit the anchor's shape less well the further the head
# turns from it: on the tuning sweeps the followed yaw under-read the truth
# by 1-2 deg at 40-55, 2.5-4.5 at 55-65, 4-6 at 65-75 and 8-11 at 85-90 (83
# read at 90; a flatter anchor depth did not remove it). So it is trusted
# while the reading is within `MAX_TRACKED_YAW_DEG` and the fit's rms within
# 2.6 px per 100 px of face width. Past either limit the reading is a lower
# bound (the values stay continuous: a step would read as a sudden movement
# downstream). Following is given up (the gate takes over) with too few
# points left, a fit worse than `LOST_TRACKED_RMS_PER_100PX`, or after
# `MAX_TRACKED_S` from the anchor. Trust itself stops earlier, at
# `MAX_TRUSTED_YAW_DEG` (below).
ANCHOR_YAW_DEG = (20.0, 32.0)
TRACK_FROM_YAW_DEG = 15.0
AGREE_DEG = 5.0
HANDOVER_YAW_DEG = 38.0
HANDBACK_YAW_DEG = 34.0
# Handing back to the mesh: a mesh read inside `HANDBACK_YAW_DEG`, with a good
# fit and no jump, takes over unless the followed points say the head is
# turned past `COLLAPSE_YAW_DEG` -- then the small reading may be the mesh's
# collapse (70 deg read as 26), and only agreement hands back. Following ends
# at once when it turns implausible: past `MAX_FOLLOWED_YAW_DEG` (no neck
# turns that far), back across the front to the other side (the anchor's near
# half is then the far half, its points hidden), or jumping like no head can.
COLLAPSE_YAW_DEG = 55.0
# Face mesh under-reads a turn past its range (saturating, collapsing). Where a
# well-fitting mesh reads the same side more than `AGREE_DEG` further than the
# followed points, it is the points that are off: in such frames of the tuning
# sweeps (scenes 100-103, 359 frames) they read a median 8 deg short of the
# truth (10th percentile 16 short), the mesh 2.3 over (90th percentile 6). LK
# flow on low-textured skin stays put (rendered population seed 400391, dark
# skin lit from the side: the points read 29-30 deg while the head went from
# 40 to 58 and the mesh read 36-57), and on a quick turn it lags. For the rest
# of that following the followed yaw is not trusted (lagging on the way out,
# it over-reads on the way back), the furthest the mesh read counts for the
# handback (above), and where following fails within `AHEAD_RECENT_S` of such
# a reading, the head is held at least as turned as the mesh read it.
AHEAD_RECENT_S = 0.2
# While the points lag, the mesh reading ahead of them, less `MESH_AHEAD_MARGIN_DEG`,
# is how far the head is at least turned: in such frames of the tuning sweeps the
# mesh read at most 12.1 deg past the truth (median 2.3, 90th percentile 6.2), so
# the bound overstates the turn by at most the 5 deg a reading may be off. Without
# it, points stuck on low-textured skin at 35 deg hid a held 49 deg turn whose mesh
# read it to within 0.5 deg (rendered population seed 400427: "I could not see how
# far you went"). Continuous: the mesh is "ahead" from `AGREE_DEG` past the points,
# which is less than this margin, so the shown value leaves the points smoothly.
MESH_AHEAD_MARGIN_DEG = 7.0
# ... reached at no more than `AHEAD_OFFSET_RATE_DEG_S` from the points' reading, and
# let go of as slowly: the mesh past its range comes and goes from frame to frame, and
# each time it did, the bound stepped by up to 10 deg (rendered population seed 400470:
# the points stuck at 39 deg, the mesh found again at 57, lost, found at 44: shown yaw
# 28 -> 36 -> 29 within 0.2 s, a 112 deg/s velocity change and "Careful!" for a smooth
# turn). A change of the shown value that is not the head's must stay well under the
# 55 deg/s a jolt takes: 20 deg/s is under half of it, also on a head moving steadily.
# A bound reached later, or let go of later, is still "at least": it lags the mesh's
# reading it comes from, and the points it rides on keep following the head. The offset keeps the
# side of that reading: points that cross the front while it is let go of would otherwise turn it
# round with them, a step of twice the offset (fresh accuracy sweeps 618 and 620 combined, coming
# back at 45 deg/s, the points 13-15 deg short: the shown yaw went from 9.1 to -9.2 deg and from
# -6.1 to 4.5 in a frame, and "Careful!" for a smooth return). Points that move on the way the
# offset lifts them make up that much of their lag at once: let go of at this rate only, the lift
# stayed on top of points catching up (fresh accuracy sweep 631 combined: stuck 30 deg short of a 60
# deg turn, lifted by 27 deg, then 30 -> 44 -> 53 deg in two frames: "at least 69-77" for a head at
# 52; 65 -> 38 lower bounds more than 5 deg past the truth over sweeps 626-633).
AHEAD_OFFSET_RATE_DEG_S = 20.0
# Where the head is held, face mesh reading further than the points on their side gives a bound closer
# to the truth than their own reading: the points under-read a held turn, the more the further it goes
# (rendered population seed 401519, camera 17 cm below: a turn held at 48.2 deg for a 49 deg target
# was shown as 41.2-41.9, untrusted or "at least", and heard "I could not see how far you went"; with
# this, "at least" 42.4-43.4, counted. Seed 401514's holds at 43-45 deg, face mesh reading 41.5-44.4
# camera-frame, stay short of their band either way).
# Held: both readings' yaw moved at most `HELD_SPEED_DEG_S` over the last `CONFIRM_WINDOW_S` (a straight
# line through them), where a held head sways and trembles by a degree or so. Then face mesh less
# `HELD_MARGIN_DEG` is how far the head is at least turned: three times the sd (at most 1.0 deg) of face
# mesh's held readings near its trust limit (`PAST_TRUST_MARGIN_DEG`'s note). Of such frames on the
# tuning sweeps (scenes 100-103, standard and random yaw and combined sweeps: 459 frames), face mesh
# read a median 2.4 deg short of the truth where it read up to `AGREE_DEG` further than the points, 2.8
# where more, and at most 3.0 past it -- a mesh lagging a slow return (102 combined: the head coming
# back at 25 deg/s, face mesh's reading stalled at 50 for a head at 51-49); the points read a median
# 5.2 and 11.2 deg short. On the other 32 cached sweeps face mesh read more than 5 deg past the truth
# in 8 of 1,075 such frames, up to 12.4 (629 combined, lagging a 30 deg/s return with both readings'
# slope under the limit; the bounds shown there were up to 5.5 deg past, frames later). Moving, lagging
# face mesh over-reads a return by up to 12 deg, hence the wider `MESH_AHEAD_MARGIN_DEG`. Only where
# the shown value is not trusted anyway: lifting a trusted reading would make it a bound.
HELD_SPEED_DEG_S = 10.0
HELD_MARGIN_DEG = 3.0
# ... but a mesh that stays inside its range, fitting well and without jumps,
# for `MESH_SETTLED_S` takes over whatever the follower says -- provided it
# has been found in every frame since it last agreed with the followed
# points: then it came back by itself (followed points that slid off would
# otherwise be believed for good), whereas a mesh lost at profile and found
# again may have locked onto a wrong half-face (-90 read as -16 for seconds).
MESH_SETTLED_S = 0.7
# A mesh that leaves the followed points for the front while they hold still has collapsed, even
# found in every frame and without a jump: both follow one head, and a head that turns `SLIDE_DEG`
# back toward the camera within `SLIDE_WINDOW_S` carries the points with it (20 deg moves a point
# 8 cm from the pivot by ~28 mm, a sixth of a face's width at any distance), while the points'
# own reading of a held head wanders by tenths of a degree. Rendered population seed 400992: a turn
# held at 59 deg, the points steady at 64 (within 0.3 deg), face mesh slid from 60 to 8.5 deg in
# 0.33 s and stayed there; taken as having come back by itself (`MESH_SETTLED_S`), it took over and,
# found throughout, passed the home test: the turn was trusted 60 deg short for 3.3 s and the hold
# cut. Such a mesh is no longer `_mesh_continuous` nor `_mesh_unbroken`, and, known to be wrong,
# makes no conflict with the points but checks them no more: they go on giving the turn as a
# bound past `MAX_TRACKED_YAW_DEG`, and nothing inside it, until the two agree again or following
# ends, also once the points read less than `COLLAPSE_YAW_DEG`. Not the way out: a mesh that reads
# further than the points is the lag rule's (below). Over the 32 cached sweeps of stop 42 (tuning
# scenes 100-103, held-out 538-545) the rule found six slides. In five the mesh had collapsed
# (15-30 deg short, then shorter); the points were within 4 deg of the truth in two, 6-7 deg short
# in two, 11 past it in one. In the sixth the points had crossed to the wrong side and the mesh,
# following the head, crossed the front: a collapse reads towards the front on its side, not
# across it. The slide is the mesh's movement less the points' (within their `AGREE_DEG`): stop
# 56's accuracy scene 613 (camera 29 cm below, side light), a turn to -90 deg at 80 deg/s, the
# mesh went from -51.6 to -33.0 deg in 0.1 s while the points went on from -37.3 to -41.1; 18.6
# deg of its own, short of the slide, and the mesh, inside `HANDBACK_YAW_DEG`, took over, went on
# to -3 and, found in every frame, was trusted reading -9 to -16 deg for a head at -90 for 1.7 s.
SLIDE_DEG = 20.0
SLIDE_WINDOW_S = 0.5
# How far back the two estimators' last clean readings may date to stand in for the one left at a
# switch it has no reading for (see `update`): a flick, the usual reason one of them misreads,
# lasts at most 0.25 s (issue #15's definition), so its start is within this, plus a frame.
CLEAN_READINGS_S = 0.3
MAX_FOLLOWED_YAW_DEG = 100.0
# A movement of the head moves the whole face, and face mesh, still found through
# most of a turn's hold though it no longer gives the turn, sees a nod or a tilt
# there too: over the out phase of 45 rendered 16 deg flicks in 40-60 deg holds
# (tuning scenes baseline, 100, 101; held-out 300, 301) it moved 0.64-3.0 times as far
# as the followed points, the same way. The followed fit also steps on its own when
# the points it uses change (rendered population seed 400602: in a held 45 deg turn
# its pitch stepped 8.5 deg in one frame while face mesh's moved 1.8, a 58 deg/s
# velocity change and "Careful!" for a head held still). So a followed pitch or roll
# change of at least `CONFIRM_MIN_DEG` within `CONFIRM_WINDOW_S` that face mesh,
# found at both ends, saw less than half of the same way is `unconfirmed`, and the
# safety monitor judges it with its wider margin (`SafetyMonitor.steady_untrusted_s`).
# One it saw at least half and at most `CONFIRM_MAX_SHARE` times as far is `confirmed`: the
# monitor judges it with the plain thresholds in that frame, and lifts a dispute of the frame
# before. Face mesh trails the points by about a frame, so a flick's first frame can be
# unconfirmed (tuning flick clip scene 101, a 16 deg tilt in a 60 deg hold: the points read 12
# deg of it, speed peaks of 73 deg/s, missed with the wider margin after its first frame; face
# mesh saw it from the next).
CONFIRM_WINDOW_S = 0.25  # a flick's out phase: 0.15-0.25 s
CONFIRM_MIN_DEG = 3.0  # under the 5 deg a jolt must cover (`SafetyMonitor.min_jolt_deg`)
CONFIRM_MIN_SHARE = 0.5
# The other way round for the yaw, and for what a jolt is, a change of speed: where the followed
# yaw's speed changed within the window (between its first and second half, by at least
# `CONFIRM_MIN_DEG` over half the window) and face mesh's changed at least as much the same way (and
# not more than `CONFIRM_MAX_SHARE` times as much), the change is `confirmed`, the head's. Past ~42
# deg the followed yaw is a lower bound, which the safety monitor judges with its wider margin,
# because points that lagged a turn snap forward (rendered population seed 400487: 9 deg in two
# frames for a head turning at 35 deg/s, face mesh reading the turn 8 deg further and moving with
# the head at a steady speed) or stall (held-out sweep 554 yaw: coming back from 60 deg at 63 deg/s
# the points read 99 deg/s, then stopped at 35 deg while face mesh went on). A flick changes both
# speeds: rendered population seed 401105, a 12.7 deg flick back out during a turn's return at
# 40-52 deg, read 8.6 deg by the points, missed with the wider margin; face mesh's speed changed by
# more. Travel alone is no confirmation: in sweep 554 face mesh moved 1.5 times as far as the
# stalling points within the window. Only a change outwards (away from the front) is confirmed:
# near the end of what they read both saturate together, so both slow down while the head turns on
# (tuning sweep 103 yaw, at 45-55 deg: the estimate's speed fell from 103 to 45 deg/s within 0.2 s,
# the head's from 83 to 65), and saturating readings never quicken outwards. Nor a change outwards
# of a movement inwards unless the points then move outwards, by `CONFIRM_MIN_DEG` over the
# window's second half: coming back, both readings stall where they saturate while the head comes
# on, and wander by a degree or so (tuning sweep 101 standard yaw: back from 89 deg, the points read
# 42 -> 34 -> 35.6 deg while the head came from 71 to 56 at 58-76 deg/s, their speed falling from 93
# to 7 deg/s, face mesh's with it: "Careful!" for a smooth return), where a flick outwards during a
# return (401105, above) carries them outwards. The upper limit
# keeps out a mesh that collapses or is found again in those frames (it steps 15-30 deg); over 45
# rendered flicks in a hold face mesh moved 0.64-3.0 times as far as the points (above).
CONFIRM_MAX_SHARE = 3.0
MIN_TRACKED_POINTS = 12
MAX_TRACKED_RMS_PER_100PX = 2.6
LOST_TRACKED_RMS_PER_100PX = 8.0
MAX_TRACKED_YAW_DEG = 42.0
# Whatever gives it, a yaw read past this is a lower bound, not a measurement:
# on a held turn face mesh and the followed fit both under-read one side of the
# virtual patient's (real, asymmetric) face -- a held 50 deg right turn read
# 44-46 deg, left 49-51, whatever the light's side -- by more than the 5 deg a
# trusted value may be off, while readings up to ~42 deg stayed within it.
# The readings stay below the truth there, so they are valid lower bounds.
MAX_TRUSTED_YAW_DEG = 42.0
# A mesh that has read this much past it is not trusted again, however little it then reads, until
# it sees the head back home (`_at_home`), as past the gate: seen from below and aside with the head
# nodded and tilted, face mesh under-reads a turn and can fall back well inside the limit with the
# head held (accuracy sweep 622 combined: a 58 deg turn read 50.5 deg camera-frame, then 35-39 with
# the head held at 60, trusted 25-33 deg short for 1 s; 624 combined: read 55-60 for a 60 deg turn,
# then 42 down to 31 as the head came back to 48-30, trusted 7-17 deg short). Latched on any reading
# past the limit, a head held just inside it lost its trust to the reading's jitter (rendered
# population seed 401496: a hold read 40-42.3 deg, one frame past 42 distrusted the rest of the hold,
# the rep went unmeasured). Held turns near the limit, read by face mesh on the cached tuning sweeps
# (14 holds of 0.8 s, 35-55 deg camera-frame): spread about their median 1-2.2 deg each way, sd at
# most 1.0 deg. 3 deg past the limit is beyond a head held at it.
PAST_TRUST_MARGIN_DEG = 3.0
MAX_TRACKED_S = 20.0
# A mesh that took over from the followed points while they still disagreed
# (by settling, above) may be the one that is wrong: a mesh can collapse slowly,
# without a jump, while the head is held at 60 deg (read as 22 for a second on a
# tuning scene, the followed points steady). It is not trusted, and anchors
# nothing, until it reads the head within this of the camera, where the whole
# face is in view and no collapse was seen.
SUSPECT_CLEAR_YAW_DEG = 15.0
# ... and whose pivot is back where it was: a mesh re-found on a wrong half-face
# at profile reads a small turn (82-87 deg read as 14-22 for 1.3 s on a tuning
# scene) but at a wrong scale, its pivot 130 mm nearer than a moment before. A
# seated person's neck moves a few centimetres, slowly: `HOME_POSITION_MM` plus
# `HOME_DRIFT_MM_S` for every second since the head was last trusted at home.
HOME_POSITION_MM = 50.0
HOME_DRIFT_MM_S = 20.0
HOME_SMOOTHING_S = 2.0
# Home follows by each frame's interval, a frame after a gap (the head turned away, the face lost)
# counting as at most this: what home follows is the head seen at rest, not the time it was away.
# Weighted by the time since home last moved, the first reading back within
# `SUSPECT_CLEAR_YAW_DEG` after a turn became home outright (rendered population seed 401472, 20 fps:
# back from a 52 deg turn, home went from 1.2 to 12.7 deg in a frame, then to 16 after the next),
# and a head back at rest from a turn past the gate the other way was not seen home for seconds.
HOME_FRAME_MAX_S = 0.1
# ... and where the head was last seen, by the followed points or a trusted mesh, give or take as
# much: the home test alone lets the pivot stray further the longer the turn is held. Rendered
# population seed 401087 (side-lit, 15 fps): a turn held at 56-64 deg for 4.6 s, the points
# stuck at 24 deg, both lost; face mesh was found again on the near half-face reading 7-11 deg,
# its pivot 120 mm nearer than home and 160 mm nearer than the points had it 0.8 s before. Home
# allowed 142 mm by then: it was trusted at -11 for a head at -64 and, when it jumped back onto
# the whole face as the head came back, "Careful!" and "too fast" for a smooth return. Where the
# points misplace the head, a mesh back home waits for the allowance to cover it (tuning sweep 101
# yaw: lagging points had the head 200 mm nearer, and the mesh back at the front was trusted 0.9 s
# later): 29 of 4,914 trusted yaw frames on the tuning sweeps, 8 of 9,340 held out.
# A suspect mesh's movements are not the head's either: taken over from the followed points while
# the two disagreed, it may be the collapsed one (rendered population seed 400824: a turn held at
# 50 deg in dim light, handed back to a mesh reading 27; for 2 s it read 17-35 deg, stepping 5-14
# deg between frames, and its 93-101 deg/s velocity changes were warned as jerks, twice, with the
# head still). Its angles are `disputed`: the safety monitor does not judge jolts from them.
AXES_OF_A_SUSPECT_MESH = ("yaw", "pitch", "roll")
# And the other way round, where face mesh gives the angles and the followed points read the head
# as well: a change of face mesh's yaw speed, or a pitch or roll movement of its own (as
# `CONFIRM_MIN_DEG` within `CONFIRM_WINDOW_S` weighs them), that the points saw less than this share
# of the same way is face mesh's, not the head's: `disputed`. Fresh accuracy sweeps, the head
# extending as it turned, seen from below: 633 combined, face mesh's yaw stopped at 16-18 deg for 0.2
# s while the points went on at 45-60 deg/s, as the head did (its speed fell from 100 to 7 deg/s);
# 631 combined, turned past 30 deg, face mesh's pitch went back 9 deg in 0.17 s while the points'
# went on 2.5 deg further with the head's: "Careful!" for both smooth movements. A flick moves the
# head under both: in 45 rendered flicks in a hold the points saw at least a third of face mesh's
# movement (`CONFIRM_MAX_SHARE`), more than this.
MESH_UNSEEN_SHARE = 0.25


class _Anchor:
    """A trusted mesh the followed points are fitted to (see `tracked_motion`)."""

    def __init__(self, anchor_id: int, points_mm: np.ndarray, rotation: np.ndarray,
                 pivot_mm: np.ndarray, width_px: float, t_s: float) -> None:
        self.anchor_id, self.points_mm, self.rotation = anchor_id, points_mm, rotation
        self.side = 1.0 if angles_from_rotation(rotation)[0] >= 0 else -1.0
        self.pivot_mm, self.width_px, self.t_s = pivot_mm, width_px, t_s
        self.motion: tuple[np.ndarray, np.ndarray] | None = None  # last fit, to start the next


class HeadPoseEstimator:
    """Per-frame pose fit with a trust flag per measure (see the tables above).

    Face mesh stops following the head beyond about 55-60 deg of yaw (the far
    half of the face is hallucinated). Where the detector follows anchor points
    (`FaceObservation.tracked`), the head is followed through profile from the
    last trusted mesh (`tracked` poses). Otherwise, or once following fails,
    poses past `max_reliable_yaw_deg` (with hysteresis, see `YawGate`), after
    an impossible jump, or with a poor fit have their yaw flagged unreliable
    and given as a lower bound (`HeadPose.lower_bounds`) in the direction the
    head went, also for up to `EDGE_HOLD_S` after the face is lost there.

    After each frame `anchor_ok` says whether its mesh may anchor the follower
    and `tracking_wanted` whether the next frame should be followed (see
    `neckcoach.measure.pose_of_frame`).
    """

    def __init__(self, *, hfov_deg: float = 60.0, method: str = "mixed",
                 max_reliable_yaw_deg: float = 50.0, max_reliable_pitch_deg: float = MAX_EXTENSION_DEG,
                 max_reliable_flexion_deg: float = MAX_FLEXION_DEG,
                 max_rms_px_per_100px: float = 10.0,
                 pivot_offset_mm: tuple[float, float, float] = DEFAULT_PIVOT_OFFSET_MM) -> None:
        if not 10.0 <= hfov_deg <= 170.0:
            raise ValueError(f"hfov_deg must be in [10, 170], got {hfov_deg!r}")
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        if not 0 < max_reliable_yaw_deg <= 90:
            raise ValueError("max_reliable_yaw_deg must be in (0, 90], "
                             f"got {max_reliable_yaw_deg!r}")
        for name, v in (("max_reliable_pitch_deg", max_reliable_pitch_deg),
                        ("max_reliable_flexion_deg", max_reliable_flexion_deg)):
            if not 0 < v <= 90:
                raise ValueError(f"{name} must be in (0, 90], got {v!r}")
        self.hfov_deg = hfov_deg
        self.method = method
        self.max_reliable_yaw_deg = max_reliable_yaw_deg
        self.max_reliable_pitch_deg = max_reliable_pitch_deg
        self.max_reliable_flexion_deg = max_reliable_flexion_deg
        self.max_rms_px_per_100px = max_rms_px_per_100px
        self.pivot_offset_mm = np.asarray(pivot_offset_mm, float)
        self._camera: Camera | None = None
        self._model_fit = OutlineFit(face_model.MODEL_POINTS_MM, face_model.COORD_WEIGHTS,
                                     face_model.SIDE_NORMALS)
        self.gate = YawGate(enter_deg=max_reliable_yaw_deg, exit_deg=0.8 * max_reliable_yaw_deg)
        self.reset()

    def camera(self, image_size: tuple[int, int]) -> Camera:
        if self._camera is None or (self._camera.width, self._camera.height) != tuple(image_size):
            self._camera = Camera(int(image_size[0]), int(image_size[1]), self.hfov_deg)
        return self._camera

    def reset(self) -> None:
        self._camera = None
        self.gate.reset()
        self._last: tuple[float, float, float, float] | None = None  # t, yaw, pitch, roll
        self._edge_sign = 0.0
        self._edge_bound = 0.0  # |yaw| last shown at the edge: what a lost face holds
        self._edge_lost_since: float | None = None
        self._anchor: _Anchor | None = None
        self._following = False
        self._mesh_ahead_max = 0.0  # furthest |yaw| the mesh read beyond the followed points
        self._mesh_ahead: tuple[float, float] | None = None  # (t, yaw) of the last such reading
        # (t, deg, the points' yaw then): how far past the points the yaw bound is shown, signed
        self._ahead_offset: tuple[float, float, float | None] = (0.0, 0.0, None)
        self._last_mesh: tuple[np.ndarray, np.ndarray, float, float] | None = None
        self._last_followed_yaw = 0.0
        self._last_followed: tuple[float, float] | None = None
        self._retired_anchor: int | None = None
        self._mesh_inside_since: float | None = None
        self._mesh_continuous = True
        self._mesh_unbroken = True  # found in every frame, without a jump, since last trusted
        self._mesh_recent: deque[tuple[float, float]] = deque()  # (t, camera-frame yaw), unbroken
        self._last_mesh_yaw: tuple[float, float] | None = None
        self._mesh_suspect = False
        self._past_trust = False  # the mesh read past MAX_TRUSTED_YAW_DEG + PAST_TRUST_MARGIN_DEG, not yet home since
        self._mesh_slid = False  # left the followed points while they held still (`SLIDE_DEG`)
        self._slid_while_followed = False  # ... at any time since following began
        self._mesh_returned = False  # ... and came back home with the head since (`_came_back`)
        self._slide_recent: deque[tuple[float, float, float]] = deque()  # (t, mesh yaw, followed yaw)
        self._extended_t: float | None = None  # last frame read past MAX_EXTENSION_DEG
        self._home: tuple[float, list[float], float] | None = None
        self._home_frame_t: float | None = None  # the last frame `_update_home` saw
        self._seen: tuple[float, list[float]] | None = None  # (t, pivot) the head was last seen at
        self._readings: dict[str, tuple[float, float, float]] = {}  # this frame's, by source
        self._both_clean: tuple[float, dict] | None = None  # (t, readings) when last both read cleanly
        self._surround_moved_t: float | None = None  # last frame with something moving around the face
        self._both: deque[tuple[float, tuple | None, tuple]] = deque()  # (t, mesh, followed) while followed
        self._both_read: deque[tuple[float, tuple, tuple]] = deque()  # (t, mesh, followed angles) where both read
        self._was_tracked = False
        self.anchor_ok = False
        self.tracking_wanted = False
        self.evidence: dict = {}

    def _jumped(self, t_s: float, yaw: float, pitch: float, roll: float) -> bool:
        """An angle moved faster than a head can (`motion_limits.impossible_step`)."""
        last = self._last
        if last is None:
            return False
        dt = t_s - last[0]
        if not 0 < dt <= 0.5:
            return False
        moved = max(abs(yaw - last[1]), abs(pitch - last[2]), abs(roll - last[3]))
        return impossible_step(moved, dt)

    def _follow(self, obs: "FaceObservation", cam: Camera, t_s: float
                ) -> tuple[np.ndarray, np.ndarray, bool, float] | None:
        """(rotation, pivot, usable, width px, fit rms per 100 px) from the followed points, or None."""
        tr = getattr(obs, "tracked", None)
        if tr is None or tr.anchor_id == self._retired_anchor:
            return None
        anchor = self._anchor
        if anchor is None or anchor.anchor_id != tr.anchor_id:
            if self._last_mesh is None:
                return None
            # The detector anchored on the previous frame's mesh, judged trustworthy.
            rot, t, width, t_prev = self._last_mesh
            anchor = _Anchor(tr.anchor_id, anchor_points_mm(tr.anchor_landmarks_px, cam, float(t[2])),
                             rot, self._pivot(rot, t), width, t_prev)
            self._anchor = anchor
        motion, move_t, rms, kept = tracked_motion(anchor.points_mm[tr.indices], tr.points_px, cam,
                                                   anchor.motion)
        anchor.motion = (motion, move_t)
        rot = motion @ anchor.rotation
        pivot = motion @ anchor.pivot_mm + move_t
        scale = anchor.points_mm[tr.indices, 2].mean() / max(float((anchor.points_mm[tr.indices] @ motion.T
                                                                       + move_t)[:, 2].mean()), 1.0)
        width = anchor.width_px * scale
        rms_rel = rms / max(width, 1.0) * 100.0
        usable = (kept >= MIN_TRACKED_POINTS and rms_rel <= LOST_TRACKED_RMS_PER_100PX
                  and t_s - anchor.t_s <= MAX_TRACKED_S)
        return rot, pivot, usable, width, rms_rel

    def update(self, obs: "FaceObservation", t_s: float, *,
               image_size_px: tuple[int, int] = (0, 0),
               face_center_px: tuple[float, float] | None = None,
               face_brightness: float = 0.0) -> HeadPose:
        """Pose of one observation; the picture fields (see `HeadPose`) are passed through.

        They are taken as arguments so the caller need not copy the pose to add them.
        Where the estimate switches between face mesh and the followed points, the pose
        says how far apart the two read the head then (`source_step_deg`) and what the
        one it left read (`switched_from_deg`).
        """
        self._readings = {}
        pose = self._estimate(obs, t_s, image_size_px, face_center_px, face_brightness)
        was_tracked, self._was_tracked = self._was_tracked, pose.tracked and pose.face_found
        if pose.face_found and pose.tracked != was_tracked:
            now = (pose.yaw_deg, pose.pitch_deg, pose.roll_deg)
            new, left = ("followed", "mesh") if pose.tracked else ("mesh", "followed")
            other = self._readings.get(left) if new in self._readings else None
            clean = self._both_clean
            if other is None and clean is not None and t_s - clean[0] <= CLEAN_READINGS_S:
                # The one left has no reading now (the points lost in the frame a nod brought face
                # mesh back, rendered population seed 400830): it is taken to read the head as far
                # from the new one as the two did when last both read it, neither known to misread
                # it, which a movement does not change (in 400830's frame before, the points' pitch
                # was `disputed`: it moved 4 deg against a true 7 deg the other way).
                other = tuple(a - (b - c) for a, b, c in zip(now, clean[1][new], clean[1][left]))
            step = max(abs(a - b) for a, b in zip(now, other)) if other is not None else math.inf
            pose = dataclasses.replace(pose, source_step_deg=float(step),
                                       switched_from_deg=tuple(map(float, other)) if other is not None else None)
        if len(self._readings) == 2 and not pose.unconfirmed and not pose.disputed:
            self._both_clean = (t_s, self._readings)  # a new dict is made each frame
        return pose

    def _estimate(self, obs: "FaceObservation", t_s: float, image_size_px: tuple[int, int],
                  face_center_px: tuple[float, float] | None, face_brightness: float) -> HeadPose:
        torso_yaw, torso_roll = torso_angles(obs.pose_px)
        picture = dict(faces=obs.faces, brightness=obs.brightness, torso_yaw_deg=torso_yaw,
                       torso_roll_deg=torso_roll, image_size_px=image_size_px,
                       face_center_px=face_center_px, face_brightness=face_brightness,
                       glare_share=getattr(obs, "glare_share", 0.0),
                       far_face_px=getattr(obs, "far_face_px", 0.0))
        if getattr(obs, "surround_motion", 0.0) > SURROUND_MOVING_SHARE:
            self._surround_moved_t = t_s
        cam = self.camera(obs.image_size)
        followed = self._follow(obs, cam, t_s)
        mesh = self._mesh_fit(obs, cam) if obs.face_found else None
        self.anchor_ok = False
        if mesh is None:
            self._last = None
        if mesh is not None:
            self._readings["mesh"] = angles_from_rotation(mesh[0])
        if followed is not None:
            self._readings["followed"] = angles_from_rotation(followed[0])
        m_yaw = self._readings["mesh"][0] if mesh is not None else None
        mesh_jumped = self._mesh_jumped(t_s, m_yaw)
        f_yaw_raw = self._readings["followed"][0] if followed is not None else None
        if m_yaw is not None and mesh[3] and not mesh_jumped and abs(m_yaw) < HANDBACK_YAW_DEG:
            if self._mesh_inside_since is None:
                self._mesh_inside_since = t_s
        else:
            self._mesh_inside_since = None
        self._keep_both_read(t_s, m_yaw is not None and not mesh_jumped and f_yaw_raw is not None)
        if self._slid_off(t_s, m_yaw, f_yaw_raw, mesh_jumped):
            self._mesh_slid = self._slid_while_followed = True
        if m_yaw is None or mesh_jumped or self._mesh_slid:
            self._mesh_continuous = False  # lost, jumped or slid: it may come back locked on wrong
            self._mesh_unbroken = False
            if not self._mesh_slid:  # a slid mesh was found throughout: `_mesh_steady` judges its path
                self._mesh_recent.clear()
        if m_yaw is not None and not mesh_jumped and (
                not self._following or (f_yaw_raw is not None and abs(m_yaw - f_yaw_raw) <= AGREE_DEG)):
            self._mesh_continuous = True
            self._mesh_slid = False
        if m_yaw is not None:
            self._mesh_recent.append((t_s, m_yaw))
            keep_recent(self._mesh_recent, t_s, self.gate.hold_s)
        if self._mesh_slid and self._following and m_yaw is not None and not mesh_jumped and mesh[3]:
            pivot = self._pivot(mesh[0], mesh[1])
            if self._came_back(m_yaw, pivot, t_s):
                self._mesh_slid = False
                self._mesh_continuous = self._mesh_returned = True
                self._seen = (t_s, pivot.tolist())
        mesh_settled = (self._mesh_continuous and self._mesh_inside_since is not None
                        and t_s - self._mesh_inside_since >= MESH_SETTLED_S)
        f_yaw = f_yaw_raw
        followed_id = self._anchor.anchor_id if followed is not None and self._anchor is not None else None
        if f_yaw is not None and not self._plausible(f_yaw, t_s):
            followed = None  # implausible: following has lost the face's points
        if followed is not None and followed[2]:
            if not self._following:
                # Hand over when the mesh parts from the followed points where it may
                # collapse, passes the gate, jumps or is lost.
                self._following = (m_yaw is None or mesh_jumped
                                   or max(abs(m_yaw), abs(f_yaw)) >= HANDOVER_YAW_DEG
                                   or (abs(m_yaw - f_yaw) > AGREE_DEG and not self._points_parted()
                                       and max(abs(m_yaw), abs(f_yaw)) >= HANDBACK_YAW_DEG))
                self._mesh_ahead_max, self._mesh_ahead = 0.0, None
                self._ahead_offset = (t_s, 0.0, None)
                self._slid_while_followed = self._mesh_returned = False
            elif self._mesh_inside_since is not None and (
                    (max(self._followed_turn(followed), self._mesh_ahead_max) < COLLAPSE_YAW_DEG
                     and not self._mesh_slid)
                    or abs(m_yaw - f_yaw) <= AGREE_DEG or mesh_settled):
                self._following = self._mesh_returned = False  # the mesh is back inside its range: it takes over
                self.gate.reset()
                self._retired_anchor = followed_id  # its points are not to be trusted again
                self._last_followed = None
                if abs(m_yaw - f_yaw) > AGREE_DEG or self._slid_while_followed:
                    # Taken over while the two still disagree: either may be wrong (see
                    # `SUSPECT_CLEAR_YAW_DEG`), so the mesh is not trusted for now. Nor a mesh that
                    # slid off (`SLIDE_DEG`) and agrees again: the points may have drifted onto its
                    # collapsed reading (held-out sweep 540 combined: both at -29 for a head at -60).
                    self._mesh_suspect = True
            if self._following:
                self._last_followed = (t_s, f_yaw)
                further = (m_yaw is not None and mesh[3] and not mesh_jumped and m_yaw * f_yaw > 0
                           and abs(m_yaw) > abs(f_yaw))  # face mesh reads the turn further
                ahead = further and abs(m_yaw) > abs(f_yaw) + AGREE_DEG
                if ahead:
                    self._mesh_ahead = (t_s, m_yaw)  # the points lag (see `COLLAPSE_YAW_DEG`)
                    self._mesh_ahead_max = max(self._mesh_ahead_max, abs(m_yaw))
                held_mesh = abs(m_yaw) if further and not self._mesh_slid and self._both_held() else 0.0
                conflict = not self._mesh_slid and self._conflict(mesh, m_yaw, f_yaw, mesh_jumped)
                self.evidence = dict(mesh_yaw=m_yaw, followed_yaw=f_yaw, following=True,
                                     conflict=conflict, followed_rms=followed[4],
                                     mesh_rms=mesh[4] if mesh is not None else None)
                return self._followed_pose(followed, f_yaw, t_s, picture, conflict, held_mesh)
        elif self._following:
            self._following = self._mesh_returned = False  # following failed: fall back to the gate
            self._last_followed = None
            self.gate.edge = True
            self._edge_sign = 1.0 if self._last_followed_yaw > 0 else -1.0
            self._edge_bound = max(abs(self._last_followed_yaw), self._recent_ahead(self._last_followed_yaw, t_s))
        self.evidence = dict(mesh_yaw=m_yaw, followed_yaw=f_yaw, following=False, conflict=False,
                             followed_rms=followed[4] if followed is not None else None,
                             mesh_rms=mesh[4] if mesh is not None else None)
        if mesh is None:
            return self._lost(t_s, picture)
        return self._mesh_pose(mesh, t_s, picture)

    def _at_home(self, yaw: float, pivot: list[float], t_s: float, moved_ok: bool = False) -> bool:
        """Whether a mesh that lost its trust (see `SUSPECT_CLEAR_YAW_DEG`) sees the head back
        home: turned within that of where the person was last seen still and trusted, and its
        pivot where it was then and where the head was last seen (`_seen`), give or take how far
        a seated person moves meanwhile.

        `moved_ok`: the mesh was found in every frame, without a jump, since it was last
        trusted (`_mesh_unbroken`), so it followed one face all along, and where that
        face's pivot went is where the person went (asked to come closer while turned,
        rendered population seed 400458 moved 150 mm nearer: distrusted for 2 s after
        the turn, the next rep was missed). The pivot test is for a mesh lost and found
        again on a wrong half-face."""
        home = self._home
        if home is None:
            return True
        home_yaw, home_pivot, home_t = home
        if abs(yaw - home_yaw) > SUSPECT_CLEAR_YAW_DEG:
            return False
        if moved_ok:
            return True
        # Home is set only from a trusted mesh, which is then also where the head was last seen.
        return all(math.dist(pivot, where) <= HOME_POSITION_MM + HOME_DRIFT_MM_S * max(t_s - t0, 0.0)
                   for t0, where in ((home_t, home_pivot), self._seen))

    def _pivot(self, rot: np.ndarray, t: np.ndarray) -> np.ndarray:
        """The neck pivot (mm, camera frame) of a fit with rotation `rot` and model origin `t`."""
        return t + rot @ self.pivot_offset_mm

    def _came_back(self, m_yaw: float, pivot: np.ndarray, t_s: float) -> bool:
        """Whether a mesh that slid off the followed points (`SLIDE_DEG`) slid because the head came
        back to the front while the points lost it: it reads the head home (`SUSPECT_CLEAR_YAW_DEG`
        of the home yaw), its pivot within `HOME_POSITION_MM` of home's however long ago that was
        (a head turned back to face the camera sits where it sat), and its readings move as a head
        does (`_mesh_steady`). A collapse at a held or continuing turn reads towards the front too,
        but the fit that makes a half-face a small turn puts its pivot aside: over the cached
        sweeps' slides (accuracy scenes 540 combined, 613 yaw), 88-203 mm from home 0.5 s on.
        Rendered population seed 401406 (20 fps): back from a 65 deg turn, the points stalled at
        44 deg, then drifted out to 59 while face mesh, found again at 49, read the way back to 3
        deg smoothly, its pivot 1-21 mm from home; taken for a slide, the head at the front was
        read as turned 57 deg for 6 s, then as 88-97 deg: "That's far enough" for a head at rest."""
        home = self._home
        return (home is not None and abs(m_yaw - home[0]) <= SUSPECT_CLEAR_YAW_DEG
                and math.dist(pivot.tolist(), home[1]) <= HOME_POSITION_MM and self._mesh_steady(t_s))

    def _mesh_steady(self, t_s: float) -> bool:
        """Whether the mesh's readings over the gate's whole hold, unbroken, move as a head does
        (`MAX_UNSTEADY_DEG`): a mesh collapsing during a held turn reads near the front but
        strays from frame to frame. The whole hold, because a jump or a loss clears them, and
        the few readings after a collapse's first jump can lie close to a path by chance (in
        a held 48 deg turn: 16.5, 15.8, 12.5, 12.2, then 7.2, 5.1, 3.4)."""
        recent = self._mesh_recent
        return (bool(recent) and recent[0][0] <= t_s - self.gate.hold_s + 1e-9
                and moves_as_a_head(recent, self.gate.max_unsteady_deg))

    def _update_home(self, trusted: bool, yaw: float, pivot: list[float], t_s: float) -> None:
        """Home: the trusted mesh's yaw and pivot while the head is near where it rests, followed
        slowly (a person settles, leans) -- what `_at_home` compares a re-found mesh with."""
        last_frame_t, self._home_frame_t = self._home_frame_t, t_s
        if not trusted:
            return
        home = self._home
        if home is None:
            self._home = (yaw, list(pivot), t_s)
            return
        home_yaw, home_pivot, _ = home
        if abs(yaw - home_yaw) > SUSPECT_CLEAR_YAW_DEG:
            return
        frame_s = HOME_FRAME_MAX_S if last_frame_t is None else min(max(t_s - last_frame_t, 0.0), HOME_FRAME_MAX_S)
        a = frame_s / HOME_SMOOTHING_S
        self._home = (home_yaw + a * (yaw - home_yaw),
                      [h + a * (v - h) for h, v in zip(home_pivot, pivot)], t_s)

    def _recent_ahead(self, followed_yaw: float, t_s: float) -> float:
        """|yaw| the mesh read ahead of the followed points on their side within
        `AHEAD_RECENT_S`, else 0: how far the head is at least turned if following fails now."""
        ahead = self._mesh_ahead
        if ahead is not None and t_s - ahead[0] <= AHEAD_RECENT_S and ahead[1] * followed_yaw > 0:
            return abs(ahead[1])
        return 0.0

    @staticmethod
    def _conflict(mesh, m_yaw: float | None, f_yaw: float, mesh_jumped: bool) -> bool:
        """The mesh and the followed points disagree (see `AGREE_DEG`): neither is trusted.

        Not when the mesh reads less far than the points past `HANDOVER_YAW_DEG`:
        that is the mesh saturating, which is why the points are followed.
        """
        if m_yaw is None or not mesh[3] or mesh_jumped or abs(m_yaw - f_yaw) <= AGREE_DEG:
            return False
        saturating = abs(m_yaw) >= HANDOVER_YAW_DEG and m_yaw * f_yaw > 0 and abs(f_yaw) > abs(m_yaw)
        return not saturating

    def _mesh_jumped(self, t_s: float, m_yaw: float | None) -> bool:
        """The mesh's yaw moved faster than a head can since the last frame with a mesh."""
        last, self._last_mesh_yaw = self._last_mesh_yaw, (t_s, m_yaw) if m_yaw is not None else None
        if last is None or m_yaw is None or not 0 < t_s - last[0] <= 0.5:
            return False
        moved = abs(m_yaw - last[1])
        return impossible_step(moved, t_s - last[0])

    def _slid_off(self, t_s: float, m_yaw: float | None, f_yaw: float | None, mesh_jumped: bool) -> bool:
        """Whether, while following, the mesh has read the head `SLIDE_DEG` nearer the front than it
        did within `SLIDE_WINDOW_S`, the followed points staying within `AGREE_DEG` all the while
        (points that lose the face wander: held-out accuracy scene 542, dim and backlit, the
        points went 69 -> 57 -> 66 deg as the head came back from 39 to 11)."""
        recent = self._slide_recent
        if not self._following or m_yaw is None or f_yaw is None or mesh_jumped:
            recent.clear()
            return False
        recent.append((t_s, m_yaw, f_yaw))
        while recent[0][0] < t_s - SLIDE_WINDOW_S:
            recent.popleft()
        low = high = f_yaw
        for _, m0, f0 in reversed(recent):
            low, high = min(low, f0), max(high, f0)
            if high - low > AGREE_DEG:
                return False  # the points moved meanwhile: a head moving, or points losing it
            side = math.copysign(1.0, m0)  # a collapse reads towards the front, not across it
            # Judged against the points' own movement: points that went on outwards while the mesh
            # came in contradict it more than points held still (see SLIDE_DEG).
            slid = side * ((m0 - m_yaw) - (f0 - f_yaw))
            if m0 * f_yaw > 0 and slid >= SLIDE_DEG and side * m_yaw >= -AGREE_DEG:
                return True
        return False

    def _plausible(self, f_yaw: float, t_s: float) -> bool:
        """Whether the followed yaw can still be the head's (see `MAX_FOLLOWED_YAW_DEG`)."""
        anchor = self._anchor
        if abs(f_yaw) > MAX_FOLLOWED_YAW_DEG or anchor is None:
            return False
        if f_yaw * anchor.side < -TRACK_FROM_YAW_DEG:
            return False  # turned back across the front: the anchor's points are hidden now
        last = self._last_followed
        if last is not None and 0 < t_s - last[0] <= 0.5:
            moved = abs(f_yaw - last[1])
            if impossible_step(moved, t_s - last[0]):
                return False
        return True

    def _mesh_fit(self, obs: "FaceObservation", cam: Camera):
        pts = obs.landmarks_px[face_model.MODEL_INDICES]
        model = face_model.MODEL_POINTS_MM
        rot, t = weak_perspective_pose(self._model_fit, pts, cam)
        # The image coordinates as far as they are measured (see `OutlineFit`).
        weights = self._model_fit.last_weights[:, :2]
        depth_gap = float(t[2]) - width_depth_mm(model, pts, weights[:, 0], cam, rot, t)
        if self.method == "pnp":
            rot, t, rms = solve_pnp(model, pts[:, :2], cam, rot, t, weights=weights)
        else:
            residual = (cam.project(model @ rot.T + t) - pts[:, :2]) * np.sqrt(weights)
            rms = math.sqrt(2.0 * float(np.sum(residual * residual)) / float(weights.sum()))
            if self.method == "mixed":
                rot = self._turn_from_image(rot, t, pts, cam, weights)
        width = obs.width_px
        rms_rel = rms / max(width, 1.0) * 100.0
        upright = abs(angles_from_rotation(rot)[2]) <= MAX_PLAUSIBLE_ROLL_DEG
        return (rot, t, width, rms_rel <= self.max_rms_px_per_100px and upright, rms_rel, obs.confidence,
                depth_gap)

    @staticmethod
    def _turn_from_image(rot: np.ndarray, t: np.ndarray, pts: np.ndarray, cam: Camera,
                         weights: np.ndarray) -> np.ndarray:
        """The weak fit `rot` with its yaw replaced by the full-perspective fit's.

        Why: the weak fit leans on MediaPipe's depth of each landmark, a learned guess,
        and treats the face as flat to the camera, though the near half of a turned
        face is centimetres nearer and looks larger; a turn is what the landmarks'
        image positions show most directly. From cameras 9-15 cm below the eyes and 5-7
        cm aside (rendered scenes 514, 516, 520) the weak fit read 15-40 deg turns to one
        side 2.9-7.5 deg long (mean per 10 deg band), trusted, the perspective fit 1.2-4.4
        (benchmarks/README.md, "Stop 37"). Pitch and roll stay the weak fit's: from the
        image positions alone flexion is under-read (40 deg read 28).
        """
        turn, _, _ = solve_pnp(face_model.MODEL_POINTS_MM, pts[:, :2], cam, rot, t,
                               iterations=TURN_FIT_ITERATIONS, weights=weights)
        _, pitch, roll = angles_from_rotation(rot)
        return rotation_from_angles(angles_from_rotation(turn)[0], pitch, roll)

    def _followed_pose(self, followed, yaw: float, t_s: float, picture: dict,
                       conflict: bool = False, held_mesh_deg: float = 0.0) -> HeadPose:
        """The followed points' pose; `held_mesh_deg`: |yaw| face mesh reads further than they do on
        their side, the head held (see `HELD_MARGIN_DEG`), else 0."""
        rot, pivot, _, width, rms_rel = followed
        _, pitch, roll = angles_from_rotation(rot)
        if not self._mesh_returned:  # then the mesh sees the head, not the points (`_came_back`)
            self._seen = (t_s, pivot.tolist())
        self._last = None
        self._last_followed_yaw = yaw
        self._edge_lost_since = None
        self.tracking_wanted = True
        lagging = self._mesh_ahead_max > 0.0
        turned = self._followed_turn(followed)
        inside = turned <= MAX_TRACKED_YAW_DEG
        # Inside the trust limit the followed points are checked against face mesh (`_conflict`);
        # with no mesh this frame nothing shows they still follow the head. On rendered accuracy
        # scene 500 the detector took the face back at the front for somebody else for 2.6 s,
        # and the points, stuck on the way back, read 20 deg for a head at the front, trusted.
        # Nor does a mesh that slid off (`SLIDE_DEG`): points drifting inside the limit would be
        # trusted unchecked (held-out sweep 540 combined: they came down 10 deg in 1 s, head held).
        unchecked = "mesh" not in self._readings or self._mesh_slid
        yaw_ok = (inside and rms_rel <= MAX_TRACKED_RMS_PER_100PX and not conflict and not lagging
                  and not unchecked)
        bounds = () if yaw_ok or conflict or ((unchecked or lagging) and inside) else ("yaw",)
        # The mesh's reading ahead, this frame's or one within AHEAD_RECENT_S (a mesh missing
        # for a frame leaves it standing).
        # Signed, on the side of the mesh's reading (see AHEAD_OFFSET_RATE_DEG_S).
        at_least = self._recent_ahead(yaw, t_s) - MESH_AHEAD_MARGIN_DEG
        if not yaw_ok:
            at_least = max(at_least, held_mesh_deg - HELD_MARGIN_DEG)
        wanted = math.copysign(max(at_least - abs(yaw), 0.0), yaw)
        t0, offset, was = self._ahead_offset
        if offset and was is not None:
            # Points that move on the way the offset lifts them make up that much of their lag, down
            # to what the mesh's reading still asks for.
            side = math.copysign(1.0, offset)
            floor = min(max(wanted * side, 0.0), abs(offset))
            offset = side * max(abs(offset) - max((yaw - was) * side, 0.0), floor)
        dt = max(t_s - t0, 0.0)
        step = wanted - offset
        rate = AHEAD_OFFSET_RATE_DEG_S
        if step * offset < 0.0 and dt > 0.0:
            # As fast as face mesh comes back, less what the points came back themselves.
            side = math.copysign(1.0, offset)
            points_back = max(side * (was - yaw) / dt, 0.0) if was is not None else 0.0
            rate = max(rate, self._mesh_coming_back_deg_s(side) - points_back)
        offset += math.copysign(min(abs(step), rate * dt), step)
        self._ahead_offset = (t_s, offset, yaw)
        unconfirmed, seen, yaw_unseen = self._followed_changes(t_s)
        speed_changes = self._yaw_speed_changes()  # its own window: both read in every frame of it
        yaw_unseen = yaw_unseen or self._yaw_speed_unseen(speed_changes)
        if offset != 0.0:
            yaw += offset  # see MESH_AHEAD_MARGIN_DEG
            bounds = ("yaw",)
        if not conflict:
            self._edge_bound = abs(yaw)
        self._edge_bound = max(self._edge_bound, self._recent_ahead(yaw, t_s))
        mesh_dv = self._yaw_confirmed(speed_changes)
        return HeadPose(t_s=t_s, face_found=True, yaw_deg=yaw, pitch_deg=pitch, roll_deg=roll,
                        unconfirmed=unconfirmed,
                        disputed=(unconfirmed + (("yaw",) if yaw_unseen else ())) if conflict else (),
                        confirmed=(("yaw",) if mesh_dv else ()) + seen, mesh_yaw_dv_deg_s=mesh_dv,
                        position_mm=tuple(pivot.tolist()),
                        confidence=0.5, reliable=True,
                        face_width_px=width, yaw_reliable=bool(yaw_ok), pitch_reliable=False,
                        roll_reliable=False, position_reliable=False, lower_bounds=bounds,
                        tracked=True, **picture)

    def _points_parted(self) -> bool:
        """Whether, over the recent frames both read (`CONFIRM_WINDOW_S`), the followed yaw moved
        further than face mesh's: the two parted because the points did, not because face mesh
        collapsed, which is what handing over on their disagreement is for. A nod or a tilt moves the
        points' fit: rendered flick clips, 16 deg nods and tilts in a 40 deg hold (scenes baseline and
        630), the points' yaw fell 34 -> 27 deg in the nod while face mesh read 35-37; handed to the
        points for a frame and taken back as a suspect mesh (`AXES_OF_A_SUSPECT_MESH`), every angle
        was disputed for the rest of the nod, unwarned."""
        both = self._both_read
        if len(both) < 2:
            return False
        (_, m0, f0), (_, m1, f1) = both[0], both[-1]
        return abs(f1[0] - f0[0]) > abs(m1[0] - m0[0])

    def _followed_turn(self, followed) -> float:
        """`seen_turn_deg` of the followed points' pose (its pivot less the pivot offset is
        the model origin face mesh's fit gives)."""
        rot, pivot = followed[0], followed[1]
        return seen_turn_deg(rot, pivot - rot @ self.pivot_offset_mm)

    def _followed_changes(self, t_s: float) -> tuple[tuple[str, ...], tuple[str, ...], bool]:
        """The followed pitch and roll whose change face mesh did not see (`unconfirmed`), those
        whose change it saw as well (confirmed; see `CONFIRM_WINDOW_S`), and whether it did not
        see the followed yaw's change either.

        The last disputes the yaw where face mesh also contradicts it (`_conflict`): the change
        is the fit's. Rendered population seed 401376, back from a 66 deg turn at 60 deg/s: the
        points' reading slid 16 deg towards the front in one frame and 8 more in the next while
        face mesh read -53.5, -51.8, -50.1 (the head -42 to -36); the 97 deg/s velocity change
        passed even a lower bound's wider margin: "Careful!" for a smooth return. Not
        `unconfirmed`: past the points' trust limit the yaw is a lower bound, judged with the
        wider margin already. A real jolt moves the head under face mesh as well where face mesh
        reads it further than the points (rendered seed 401105, a flick back out at 40-52 deg:
        face mesh's speed changed by more than the points'); where it reads it less far
        (saturating) there is no conflict.
        """
        both = self._both
        if both and t_s - both[-1][0] > CONFIRM_WINDOW_S:
            both.clear()  # not followed meanwhile: a new stretch
        both.append((t_s, self._readings.get("mesh"), self._readings["followed"]))
        while t_s - both[0][0] > CONFIRM_WINDOW_S:
            both.popleft()
        (_, m0, f0), (_, m1, f1) = both[0], both[-1]
        if m0 is None or m1 is None:
            return (), (), False
        unseen, seen = [], []
        for k, name in enumerate(("yaw", "pitch", "roll")):  # `angles_from_rotation` order
            moved = f1[k] - f0[k]
            if abs(moved) < CONFIRM_MIN_DEG:
                continue
            share = (m1[k] - m0[k]) / moved  # how far face mesh saw it, the same way
            if share < CONFIRM_MIN_SHARE:
                unseen.append(name)
            elif share <= CONFIRM_MAX_SHARE and name != "yaw":  # the yaw's: `_yaw_confirmed`
                seen.append(name)
        return tuple(a for a in unseen if a != "yaw"), tuple(seen), "yaw" in unseen

    def _keep_both_read(self, t_s: float, both_read: bool) -> None:
        """Keep this frame's readings where face mesh (found, without a jump) and the followed points
        both read the head, and the frames within `CONFIRM_WINDOW_S`."""
        both = self._both_read
        if both_read:
            both.append((t_s, self._readings["mesh"], self._readings["followed"]))
        while both and t_s - both[0][0] > CONFIRM_WINDOW_S:
            both.popleft()

    def _mesh_coming_back_deg_s(self, side: float) -> float:
        """How fast face mesh comes back towards the front from `side` (deg/s, >= 0): the speed, now, of
        the head's path through its readings over the gate's hold, found in every frame and moving as a
        head does (`head_path`); 0 otherwise. A lift is let go of at least this fast: held at its
        mesh's reading less `HELD_MARGIN_DEG`, let go of at `AHEAD_OFFSET_RATE_DEG_S` only, it stayed
        over a head coming back faster and overstated it. A mesh that comes and goes, or steps, as past
        its range, does not pass (`AHEAD_OFFSET_RATE_DEG_S`'s seed 400470)."""
        path = head_path(self._mesh_recent)
        if path is None or path[1] > self.gate.max_unsteady_deg:
            return 0.0
        return max(-side * float(path[0][1]), 0.0)

    def _both_held(self) -> bool:
        """Whether face mesh's and the followed points' yaw each moved at most `HELD_SPEED_DEG_S` (the
        slope of a straight line through the recent frames both read, at least three spanning half of
        `CONFIRM_WINDOW_S`)."""
        both = self._both_read
        if len(both) < 3 or both[-1][0] - both[0][0] < CONFIRM_WINDOW_S / 2:
            return False
        t = np.array([b[0] for b in both]) - both[-1][0]
        return all(abs(float(np.polyfit(t, [b[k][0] for b in both], 1)[0])) <= HELD_SPEED_DEG_S for k in (1, 2))

    def _yaw_speed_changes(self) -> tuple[float, float, float, float] | None:
        """(followed points', face mesh's) change of yaw speed (deg/s) between the halves of the
        window, the window's span (s) and the points' speed over its second half (deg/s); None
        without three readings spread over it."""
        both = self._both_read
        if len(both) < 3:
            return None
        start, end = both[0], both[-1]
        middle = min(both, key=lambda b: abs(b[0] - (start[0] + end[0]) / 2))
        if not start[0] < middle[0] < end[0]:
            return None

        def change(k: int) -> float:  # 1: face mesh's yaw, 2: the followed points'
            return ((end[k][0] - middle[k][0]) / (end[0] - middle[0])
                    - (middle[k][0] - start[k][0]) / (middle[0] - start[0]))

        return change(2), change(1), end[0] - start[0], (end[2][0] - middle[2][0]) / (end[0] - middle[0])

    def _yaw_confirmed(self, changes: tuple[float, float, float, float] | None) -> float:
        """How much face mesh's own yaw speed changed (deg/s, > 0) where it saw the followed yaw's
        recent change of speed (`changes`, from `_yaw_speed_changes`; see `CONFIRM_MAX_SHARE`); 0
        where it did not."""
        if changes is None:
            return 0.0
        points, mesh, span_s, points_now = changes
        side = self._both_read[-1][2][0]
        seen = (abs(points) * span_s / 2 >= CONFIRM_MIN_DEG and points * side > 0
                and points_now * math.copysign(span_s / 2, side) >= CONFIRM_MIN_DEG
                and points * points <= mesh * points <= CONFIRM_MAX_SHARE * points * points)
        return abs(mesh) if seen else 0.0

    def _mesh_unseen(self) -> tuple[str, ...]:
        """The angles whose change face mesh read and the followed points, reading the head too, saw
        less than `MESH_UNSEEN_SHARE` of the same way: the yaw's change of speed (`_yaw_speed_changes`),
        the pitch's and roll's travel over the window where both read."""
        unseen = []
        changes = self._yaw_speed_changes()
        if changes is not None:
            points, mesh, span_s, _ = changes
            if abs(mesh) * span_s / 2 >= CONFIRM_MIN_DEG and points * mesh < MESH_UNSEEN_SHARE * mesh * mesh:
                unseen.append("yaw")
        both = self._both_read
        if len(both) >= 2:
            (_, m0, f0), (_, m1, f1) = both[0], both[-1]
            for k, name in ((1, "pitch"), (2, "roll")):  # `angles_from_rotation` order
                mesh, points = m1[k] - m0[k], f1[k] - f0[k]
                if abs(mesh) >= CONFIRM_MIN_DEG and points * mesh < MESH_UNSEEN_SHARE * mesh * mesh:
                    unseen.append(name)
        return tuple(unseen)

    @staticmethod
    def _yaw_speed_unseen(changes: tuple[float, float, float, float] | None) -> bool:
        """Whether the followed yaw's speed changed (`changes`, from `_yaw_speed_changes`) by as
        much as a change `_yaw_confirmed` weighs, and face mesh saw less than `CONFIRM_MIN_SHARE` of
        it the same way. Judged on its own window, also where face mesh was not found at the start
        of the one `_followed_changes` judges travel over (fresh sweep 626 yaw).

        A jolt is a change of speed, which a change of place may not show: held-out sweep 542 yaw,
        coming back from 90 deg at 80 deg/s, the points stopped at 57 deg and went back out to 62
        within 0.1 s (their speed changed by 88 deg/s between the window's halves, over 0.6 deg of
        travel) while face mesh read the head come in at 70 deg/s on average, within 3 deg of the
        truth, its speed changing by 5: "Careful!" for a smooth return.
        """
        if changes is None:
            return False
        points, mesh, span_s, _ = changes
        return abs(points) * span_s / 2 >= CONFIRM_MIN_DEG and mesh * points < CONFIRM_MIN_SHARE * points * points

    def _lost(self, t_s: float, picture: dict) -> HeadPose:
        was_edge = self.gate.edge
        self.gate.update(False, 0.0, t_s)
        self.tracking_wanted = self.tracking_wanted and was_edge
        if was_edge and self._edge_sign and self._edge_bound > 0:
            if self._edge_lost_since is None:
                self._edge_lost_since = t_s
            if t_s - self._edge_lost_since <= EDGE_HOLD_S:
                # Lost at the edge of the measurable turn: still turned at least that far.
                return HeadPose(t_s=t_s, face_found=True, yaw_deg=self._edge_sign * self._edge_bound,
                                reliable=False, yaw_reliable=False, pitch_reliable=False,
                                roll_reliable=False, position_reliable=False,
                                lower_bounds=("yaw",), tracked=True, **picture)
        self._edge_sign = 0.0
        self.tracking_wanted = False
        return HeadPose(t_s=t_s, face_found=False, **picture)

    def _mesh_pose(self, mesh, t_s: float, picture: dict) -> HeadPose:
        rot, t, face_width, fit_ok, rms_rel, det_conf, depth_gap = mesh
        self._edge_lost_since = None
        yaw, pitch, roll = angles_from_rotation(rot)
        turned = seen_turn_deg(rot, t)
        pivot = self._pivot(rot, t).tolist()
        if self._jumped(t_s, yaw, pitch, roll):
            self.gate.edge = True  # distrust until the estimate settles back near the front
            self.gate._below_since = None
        self._last = (t_s, yaw, pitch, roll)
        was_edge = self.gate.edge
        self.gate.update(True, math.copysign(turned, yaw), t_s, reading_deg=yaw)
        if was_edge and not self.gate.edge and not self._at_home(yaw, pivot, t_s,
                                                                  moved_ok=self._mesh_unbroken):
            self.gate.edge = True  # back inside the gate, but not seen back home: not yet
        if (self._mesh_suspect and self._at_home(yaw, pivot, t_s, moved_ok=self._mesh_unbroken)
                and self._mesh_steady(t_s)):
            self._mesh_suspect = False
        seen_ok = not self.gate.edge and fit_ok and not self._mesh_suspect
        self._mesh_unbroken = self._mesh_unbroken or seen_ok
        if seen_ok:
            self._seen = (t_s, pivot)
        self._update_home(seen_ok, yaw, pivot, t_s)
        if seen_ok and turned > MAX_TRUSTED_YAW_DEG + PAST_TRUST_MARGIN_DEG:
            self._past_trust = True
        elif self._past_trust and seen_ok and self._at_home(yaw, pivot, t_s, moved_ok=self._mesh_unbroken):
            self._past_trust = False
        yaw_ok = seen_ok and turned <= MAX_TRUSTED_YAW_DEG and not self._past_trust
        if self.gate.edge:
            if abs(yaw) >= 0.8 * self.max_reliable_yaw_deg or not self._edge_sign:
                self._edge_sign = 1.0 if yaw > 0 else -1.0
        else:
            self._edge_sign = 0.0
        # Saturating past the gate, still turned the same way: the mesh under-reads
        # there, so the reading is a lower bound. (On the way back, inside the gate
        # but still distrusted, it may over-read by a few degrees: no bound.)
        lower_bound = bool(self.gate.edge and self._edge_sign and yaw * self._edge_sign > 0
                           and abs(yaw) >= self.max_reliable_yaw_deg) or (seen_ok and turned > MAX_TRUSTED_YAW_DEG)
        if self.gate.edge:
            self._edge_bound = max(abs(yaw), self._edge_bound) if lower_bound else self._edge_bound
        else:
            self._edge_bound = 0.0
        facing = seen_ok and turned <= MAX_TILT_TRUST_TURN_DEG
        pitch_ok = (facing and -self.max_reliable_pitch_deg <= pitch <= self.max_reliable_flexion_deg)
        # Flexion past the trusted reading is under-read, so the reading is a lower bound.
        bounds = (("yaw",) if lower_bound else ()) + (
            ("pitch",) if seen_ok and pitch > self.max_reliable_flexion_deg else ())
        # Extension past it is no measurement of any angle (see MAX_EXTENSION_DEG), nor
        # just inside it soon after (EXTENSION_REENTRY_DEG); the pitch is a saturated
        # lower bound (see EXTENSION_BOUND_SLACK_DEG).
        last = self._extended_t
        latched = last is not None and 0.0 <= t_s - last <= EXTENSION_LATCH_S
        extended = seen_ok and (pitch < -self.max_reliable_pitch_deg
                                or (latched and pitch < EXTENSION_REENTRY_DEG - self.max_reliable_pitch_deg))
        if extended:
            self._extended_t = t_s
            bounds += ("pitch",)
        yaw_ok, pitch_ok = yaw_ok and not extended, pitch_ok and not extended
        roll_ok = facing and abs(roll) <= MAX_ROLL_DEG and not extended
        moved = self._surround_moved_t
        disturbed = moved is not None and 0.0 <= t_s - moved <= SURROUND_SETTLE_S
        position_ok = (seen_ok and max(turned, abs(pitch), abs(roll)) <= MAX_POSITION_ANGLE_DEG
                       and not disturbed)
        in_range = seen_ok and -self.max_reliable_pitch_deg <= pitch <= self.max_reliable_pitch_deg
        fit_score = 1.0 - rms_rel / (2 * self.max_rms_px_per_100px)
        conf = det_conf * min(max(float(fit_score), 0.0), 1.0)
        if not in_range:
            conf *= 0.5
        self._last_mesh = (rot, t, face_width, t_s) if seen_ok else None
        self.anchor_ok = bool(yaw_ok and ANCHOR_YAW_DEG[0] <= abs(yaw) <= ANCHOR_YAW_DEG[1])
        self.tracking_wanted = bool(abs(yaw) >= TRACK_FROM_YAW_DEG or self.gate.edge)
        return HeadPose(t_s=t_s, face_found=True, yaw_deg=yaw, pitch_deg=pitch, roll_deg=roll,
                        position_mm=tuple(pivot), confidence=float(conf), reliable=bool(fit_ok),
                        face_width_px=face_width, yaw_reliable=bool(yaw_ok),
                        pitch_reliable=bool(pitch_ok), roll_reliable=bool(roll_ok),
                        position_reliable=bool(position_ok), lower_bounds=bounds,
                        saturated=("pitch",) if extended else (), depth_gap_mm=depth_gap,
                        disputed=AXES_OF_A_SUSPECT_MESH if self._mesh_suspect else self._mesh_unseen(), **picture)
