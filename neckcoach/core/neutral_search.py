"""Find a recording's neutral: the stillest, most frontal stretch anywhere in it.

A recording made without the coach has no calibration step, so the neutral
must be found in it. Every stretch of at least `min_duration_s` is judged by
the live calibration's own rules (`NeutralCalibrator`: still, facing the
camera within its limits of turn, tilt and nod, the face seen in most frames) plus the coach's picture rules (one face, good
light, a usable distance). Among the stretches that pass:

1. the most frontal: the least turned and tilted (yaw and roll) away from
   the camera, counting every stretch within `frontal_tolerance_deg` of the
   best as equally frontal (3 deg is about the estimator's angle error). Nod
   (pitch) is left out of this ranking: webcams sit below the eyes and tilt
   up (a laptop lid leaned back, a phone on a table), so a relaxed neutral
   reads as looking up by 10-30 deg and the hold of a chin nod towards the
   chest can read nearer zero than the neutral itself. Pitch only has to be
   within the calibration's own limit;
2. of those, the stillest, within `still_tolerance_deg` (about the
   frame-to-frame jitter of a person sitting still on a webcam);
3. of those, the earliest: people start a recording facing the screen, and
   the holds of a chin tuck or a chin nod are as still and as frontal (in
   turn and tilt) as the neutral, so only time tells them apart.

The chosen stretch is then grown (up to `max_duration_s`) while it still
passes, so the neutral is the median of as many frames as possible.

Known limit: a recording that starts with a still stretch that is not the
patient's neutral but passes these rules (looking down at a phone by less
than the calibration's pitch limit, say) takes that stretch. The chosen stretch is
printed and stored, and `--neutral START-END` overrides the search.

Pure: poses in, a choice out; no clock, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from neckcoach.core.calibration import Neutral, NeutralCalibrator
from neckcoach.core.checks import check_range
from neckcoach.core.quality import PictureQuality
from neckcoach.core.samples import HeadPose


@dataclass(frozen=True)
class NeutralChoice:
    """The neutral found in a recording, or why there is none.

    `found` says whether a stretch passed; `start_t_s`/`end_t_s` delimit the
    chosen stretch (or, without one, the closest candidate, if any);
    `reason` is a plain sentence: how the neutral was chosen, or what was
    wrong with the closest stretch.
    """

    found: bool
    neutral: Neutral | None
    start_t_s: float | None
    end_t_s: float | None
    reason: str
    std_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)
    how: str = "found"

    def to_dict(self) -> dict:
        d: dict = {"accepted": self.found, "how": self.how, "reason": self.reason,
                   "start_t_s": _round(self.start_t_s), "end_t_s": _round(self.end_t_s)}
        if self.neutral is not None:
            n = self.neutral
            d.update(yaw_deg=round(n.yaw_deg, 3), pitch_deg=round(n.pitch_deg, 3), roll_deg=round(n.roll_deg, 3),
                     std_deg=[round(s, 3) for s in self.std_deg])
        return d


def _round(v: float | None) -> float | None:
    return None if v is None else round(float(v), 3)


# Growing the chosen stretch: a frame is still at the rest pose if it is within
# this many standard deviations of the stretch's median (3: a still person's
# jitter stays inside), plus a floor of 0.5 deg / 1 mm so that a very clean
# stretch (a noiseless render) still admits the estimator's own wobble.
GROW_SIGMAS = 3.0
GROW_FLOOR = (0.5, 0.5, 0.5, 1.0)


class NeutralSearch:
    """Finds the neutral of a whole recording (see the module docstring)."""

    def __init__(self, *, min_duration_s: float = 0.8, max_duration_s: float = 2.5,
                 frontal_tolerance_deg: float = 3.0, still_tolerance_deg: float = 0.5,
                 calibrator_options: dict | None = None, quality: PictureQuality | None = None) -> None:
        """`calibrator_options` go to `NeutralCalibrator` (the live calibration's own limits by default)."""
        self.min_duration_s = check_range("min_duration_s", min_duration_s, 0.2, 30.0)
        self.max_duration_s = check_range("max_duration_s", max_duration_s, self.min_duration_s, 60.0)
        self.frontal_tolerance_deg = check_range("frontal_tolerance_deg", frontal_tolerance_deg, 0.0, 20.0)
        self.still_tolerance_deg = check_range("still_tolerance_deg", still_tolerance_deg, 0.0, 5.0)
        options = dict(calibrator_options or {})
        options.pop("duration_s", None)
        self.calibrator = NeutralCalibrator(duration_s=self.min_duration_s, **options)
        self.quality = quality if quality is not None else PictureQuality()

    def usable(self, pose: HeadPose) -> bool:
        """A frame the neutral may come from: a trusted face, alone, in a good picture."""
        return pose.face_found and pose.reliable and self.quality.assess(pose, framing=False) is None

    def find(self, poses: Sequence[HeadPose]) -> NeutralChoice:
        if not poses:
            return NeutralChoice(False, None, None, None, "the recording has no frames")
        cal = self.calibrator
        t = np.array([p.t_s for p in poses], dtype=float)
        ok = np.array([self.usable(p) for p in poses], dtype=bool)
        if not ok.any():
            return NeutralChoice(False, None, None, None, _no_face_reason(poses, self.quality))
        ang = np.array([(p.yaw_deg, p.pitch_deg, p.roll_deg) for p in poses], dtype=float)
        ang[~ok] = 0.0
        # Window [i, j): the shortest stretch from frame i lasting min_duration_s.
        starts = np.arange(len(poses))
        ends = np.searchsorted(t, t + cal.duration_s, side="left") + 1
        valid = ends <= len(poses)
        starts, ends = starts[valid], ends[valid]
        if not starts.size:
            return NeutralChoice(False, None, None, None,
                                 f"the recording is shorter than {self.min_duration_s:g} s")
        n_all = (ends - starts).astype(float)
        cum_ok = np.concatenate([[0], np.cumsum(ok)])
        n_ok = (cum_ok[ends] - cum_ok[starts]).astype(float)
        cum = np.vstack([np.zeros(3), np.cumsum(ang, axis=0)])
        cum2 = np.vstack([np.zeros(3), np.cumsum(ang ** 2, axis=0)])
        safe_n = np.maximum(n_ok, 1.0)[:, None]
        mean = (cum[ends] - cum[starts]) / safe_n
        var = np.maximum((cum2[ends] - cum2[starts]) / safe_n - mean ** 2, 0.0)
        std = np.sqrt(var)
        seen = (n_ok >= 3) & (n_ok >= cal.min_detection_rate * n_all)
        limits = np.array([cal.max_offset_deg, cal.max_pitch_offset_deg, cal.max_offset_deg])
        still = (std <= cal.max_std_deg).all(axis=1)
        facing = (np.abs(mean) <= limits).all(axis=1)
        frontal = np.hypot(mean[:, 0], mean[:, 2])  # turn and tilt; see rule 1 on pitch
        stillness = std.max(axis=1)
        passing = np.flatnonzero(seen & still & facing)
        for k in self._ranked(passing, frontal, stillness):
            choice = self._grow(poses, t, ok, int(starts[k]), int(ends[k]))
            if choice is not None:
                return choice
        return self._closest(poses, starts, ends, seen, stillness, mean)

    def _ranked(self, passing: np.ndarray, frontal: np.ndarray, stillness: np.ndarray) -> list[int]:
        """Passing windows in the order of the module docstring's rules: the chosen tier
        (equally frontal and still) earliest first, then the others, most frontal first."""
        if not passing.size:
            return []
        front, still = frontal[passing], stillness[passing]
        tier = front <= front.min() + self.frontal_tolerance_deg
        tier &= still <= still[tier].min() + self.still_tolerance_deg
        order = np.lexsort((passing, np.where(tier, 0.0, still), np.where(tier, 0.0, front), ~tier))
        return [int(k) for k in passing[order]]

    def _grow(self, poses, t: np.ndarray, ok: np.ndarray, i: int, j: int) -> NeutralChoice | None:
        """The stretch from frame i (at least to j), or None if it does not pass after all.

        It is extended (up to max_duration_s) while each next usable frame stays
        at the same rest pose: within `grow_sigmas` standard deviations (plus a
        small floor) of the first stretch's median on every angle and on depth,
        so the slow start of the first movement is not taken into the neutral.
        """
        cal = self.calibrator
        core = [p for p, good in zip(poses[i:j], ok[i:j]) if good]
        result = cal.evaluate(core) if core else None
        if result is None or not result.ok:
            return None
        values = np.array([(p.yaw_deg, p.pitch_deg, p.roll_deg, p.position_mm[2]) for p in core])
        centre = np.median(values, axis=0)
        band = GROW_SIGMAS * values.std(axis=0) + np.array(GROW_FLOOR)
        end = j
        limit = int(np.searchsorted(t, t[i] + self.max_duration_s, side="right"))
        while end < limit:
            p = poses[end]
            if ok[end]:
                v = np.array((p.yaw_deg, p.pitch_deg, p.roll_deg, p.position_mm[2]))
                if (np.abs(v - centre) > band).any():
                    break
            elif (end - i + 1) * cal.min_detection_rate > sum(ok[i:end + 1]):
                break
            end += 1
        if end > j:
            grown = cal.evaluate([p for p, good in zip(poses[i:end], ok[i:end]) if good])
            result = grown if grown.ok else result
            end = end if grown.ok else j
        start_t, end_t = float(t[i]), float(t[end - 1])
        reason = (f"the stillest, most frontal stretch: {start_t:.1f}-{end_t:.1f} s "
                  f"(head still within {max(result.std_deg):.1f} deg)")
        return NeutralChoice(True, result.neutral, start_t, end_t, reason, result.std_deg)

    def _closest(self, poses, starts, ends, seen, stillness, mean) -> NeutralChoice:
        """No stretch passed: say what was wrong with the closest one."""
        cal = self.calibrator
        if not seen.any():
            return NeutralChoice(False, None, None, None, _no_face_reason(poses, self.quality))
        k = int(np.flatnonzero(seen)[np.argmin(stillness[seen])])
        start_t, end_t = poses[int(starts[k])].t_s, poses[int(ends[k]) - 1].t_s
        where = f"the stillest moment, at {start_t:.1f} s,"
        if stillness[k] > cal.max_std_deg:
            reason = f"you were moving all the time: {where} still moved by {stillness[k]:.1f} deg"
        else:
            reason = f"{where} {_facing_words(mean[k], cal)}"
        return NeutralChoice(False, None, float(start_t), float(end_t), reason)

    def given(self, poses: Sequence[HeadPose], start_s: float, end_s: float) -> NeutralChoice:
        """The neutral from a stretch the user named (`--neutral START-END`), checked by the same rules."""
        window = [p for p in poses if start_s <= p.t_s <= end_s]
        usable = [p for p in window if self.usable(p)]
        if not usable:
            return NeutralChoice(False, None, start_s, end_s,
                                 f"I could not see your face clearly between {start_s:g} and {end_s:g} s",
                                 how="given")
        cal = self.calibrator
        result = NeutralCalibrator(duration_s=max(end_s - start_s, 1e-3), max_std_deg=cal.max_std_deg,
                                   max_offset_deg=cal.max_offset_deg, max_pitch_offset_deg=cal.max_pitch_offset_deg,
                                   min_detection_rate=cal.min_detection_rate).evaluate(usable)
        if not result.ok:
            return NeutralChoice(False, None, start_s, end_s,
                                 f"between {start_s:g} and {end_s:g} s: {result.reason}", result.std_deg, how="given")
        return NeutralChoice(True, result.neutral, start_s, end_s,
                             f"the stretch you gave: {start_s:g}-{end_s:g} s "
                             f"(head still within {max(result.std_deg):.1f} deg)", result.std_deg, how="given")


def _facing_words(mean_deg, cal: NeutralCalibrator) -> str:
    """What was off about a still stretch, in the person's terms (yaw > 0 is a turn to their left)."""
    yaw, pitch, roll = (float(v) for v in mean_deg)
    parts = []
    if abs(yaw) > cal.max_offset_deg:
        parts.append(f"your head was turned {abs(yaw):.0f} deg to your {'left' if yaw > 0 else 'right'}")
    if abs(pitch) > cal.max_pitch_offset_deg:
        parts.append(f"you were looking {'down' if pitch > 0 else 'up'} by {abs(pitch):.0f} deg")
    if abs(roll) > cal.max_offset_deg:
        parts.append(f"your head was tilted {abs(roll):.0f} deg to your {'left' if roll > 0 else 'right'}")
    return " and ".join(parts) or "you were not facing the screen"


def _no_face_reason(poses: Sequence[HeadPose], quality: PictureQuality) -> str:
    """Why no frame could give a neutral: the most common picture problem."""
    counts: dict[str, int] = {}
    for p in poses:
        problem = quality.assess(p, framing=False) if p.face_found else (
            "two_faces" if p.faces > 1 else "face_lost")
        if problem is None and not p.reliable:
            problem = "unreliable"
        if problem is not None:
            counts[problem] = counts.get(problem, 0) + 1
    worst = max(counts, key=counts.get) if counts else "face_lost"
    return NO_FACE_WORDS.get(worst, "I could not see your face clearly")


NO_FACE_WORDS = {
    "face_lost": "I could not see your face in the recording",
    "two_faces": "there was more than one face in view",
    "too_far": "you were too far from the camera",
    "too_close": "you were too close to the camera",
    "poor_light": "the picture was too dark",
    "too_bright": "there was too much light behind you",
    "unreliable": "your head was turned too far for me to measure it",
}


__all__ = ["NeutralChoice", "NeutralSearch"]
