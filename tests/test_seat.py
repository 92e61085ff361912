"""A patient who moves their seat: retraction is measured from where they sit now.

The move is the one rendered population seed 400251 made when the coach asked
"Please come a little closer": the whole head 150 mm nearer the camera. Before,
every later chin tuck read 150 mm forward and none was counted.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from neckcoach.app.review import review_poses
from neckcoach.core import events as ev
from neckcoach.core.calibration import Neutral
from neckcoach.core.coach import Coach
from neckcoach.core.samples import HeadPose, Kinematics
from neckcoach.core.seat import SEAT_SHIFT_MM, SEAT_STILL_S, SeatFollower, seat_move, shifted
from neckcoach.measure import Measurement
from neckcoach.routine import load_routine
from neckcoach.sim.scripted import script_for_routine
from tests.conftest import ROUTINES
from tests.review_support import counted_by_side, poses_from_script


def moved(poses: list[HeadPose], at_s: float, mm: float, over_s: float = 1.5) -> list[HeadPose]:
    """The same poses, the whole head coming `mm` closer to the camera from `at_s` over `over_s`."""
    out = []
    for p in poses:
        k = float(np.clip((p.t_s - at_s) / over_s, 0.0, 1.0))
        x, y, z = p.position_mm
        out.append(replace(p, position_mm=(x, y, z - mm * k)) if p.face_found else p)
    return out


def tucks_routine(reps: int = 4):
    r = load_routine(ROUTINES / "retraction.yaml")
    return r.model_copy(update={"exercises": [r.exercises[0].model_copy(update={"reps": reps})]})


def live_count(poses, routine) -> tuple[int, list, Measurement, list]:
    m = Measurement(detector=object())
    coach = Coach(routine)
    events, kins = [], []
    for pose in poses:
        kin = m.update_pose(pose)
        kins.append(kin)
        if kin.extra["calibrated"]:
            events += coach.update(kin)
    return sum(e.kind == ev.REP for e in events), events, m, kins


def test_chin_tucks_are_counted_after_the_patient_comes_closer():
    """The move itself may draw a warning (while it happens it looks like a fast slide of
    the head); after it, nothing but the four tucks."""
    r = tucks_routine()
    script = script_for_routine(r, seed=40, lead_in_s=12.0)
    poses = moved(poses_from_script(script, seed=41), at_s=4.0, mm=150.0)
    n, events, m, kins = live_count(poses, r)
    assert n == 4
    assert not [e for e in events if e.kind == ev.NOT_SETTLED]
    assert not [e for e in events if e.kind in ev.SAFETY_KINDS and e.t_s > 4.0 + 1.5 + 0.5]
    assert abs(m.neutral.position_mm[2] - 450.0) < 5.0, m.neutral
    moves = [seat_move(k) for k in kins if seat_move(k) is not None]
    assert len(moves) == 1 and abs(moves[0]["retraction_mm"] + 150.0) < 5.0, moves


def test_without_following_the_seat_the_same_tucks_are_not_counted(monkeypatch):
    """So the test above can fail: the old behaviour, kept by a follower that never fires."""
    r = tucks_routine()
    script = script_for_routine(r, seed=40, lead_in_s=12.0)
    poses = moved(poses_from_script(script, seed=41), at_s=4.0, mm=150.0)
    monkeypatch.setattr("neckcoach.measure.SeatFollower", lambda: SeatFollower(shift_mm=1000.0))
    n, _, _, _ = live_count(poses, r)
    assert n == 0


def test_a_review_counts_the_tucks_made_after_the_patient_sat_back():
    """Two sets of two; in the rest between them the patient sits back 120 mm."""
    r = tucks_routine(2)
    ex = r.exercises[0].model_copy(update={"sets": 2, "rest_s": 12.0})
    r = r.model_copy(update={"exercises": [ex]})
    script = script_for_routine(r, seed=42)
    starts = sorted(s.t0_s for s in script.segments)
    ends = sorted(s.t0_s + s.duration_s for s in script.segments)
    gap = max(zip(ends[:-1], starts[1:]), key=lambda g: g[1] - g[0])
    assert gap[1] - gap[0] > 10.0, gap  # the rest between the sets
    poses = moved(poses_from_script(script, seed=43), at_s=gap[0] + 1.0, mm=-120.0)
    _, _, _, session, outcome = review_poses(r, poses)
    assert sum(counted_by_side(session)["chin-tuck"].values()) == 4, session["exercises"]
    assert outcome.exit_code == 0


# ------------------------------------------------------------------ the follower itself
def still_head(x_mm: float, seconds: float, *, fps: float = 30.0, t0: float = 0.0, wobble_mm: float = 0.0,
               reliable: bool = True) -> list[Kinematics]:
    n = int(seconds * fps)
    return [Kinematics(t_s=t0 + i / fps, face_found=True, retraction_mm=x_mm + wobble_mm * np.sin(i / 3.0),
                       retraction_reliable=reliable) for i in range(n)]


def first_shift(frames) -> tuple[float, float] | None:
    f = SeatFollower()
    for k in frames:
        shift = f.update(k)
        if shift is not None:
            return k.t_s, shift
    return None


def test_a_still_head_far_from_neutral_is_taken_as_a_new_seat_after_the_still_time():
    t, shift = first_shift(still_head(-150.0, 5.0))
    assert shift == pytest.approx(-150.0)
    assert 0.95 * SEAT_STILL_S <= t <= SEAT_STILL_S + 0.1


@pytest.mark.parametrize("frames", [
    still_head(25.0, 20.0),                      # a long-held deep chin tuck is a chin tuck
    still_head(-40.0, 20.0),                     # a forward head of 40 mm: posture, not a new seat
    still_head(-150.0, 20.0, wobble_mm=8.0),     # moving about: not still
    still_head(-150.0, 20.0, reliable=False),    # depth not trusted (turned, too grainy)
], ids=["held_tuck", "forward_head", "moving", "untrusted"])
def test_what_is_not_a_new_seat(frames):
    assert first_shift(frames) is None


def test_an_untrusted_frame_restarts_the_still_time():
    frames = still_head(-150.0, 2.0) + still_head(-150.0, 0.1, t0=2.0, reliable=False) + still_head(
        -150.0, 3.0, t0=2.1)
    t, _ = first_shift(frames)
    assert t >= 2.1 + 0.95 * SEAT_STILL_S


def test_the_shifted_neutral_reads_zero_where_the_head_now_rests():
    n = Neutral(5.0, -15.0, 2.0, (10.0, 40.0, 700.0))
    pose = HeadPose(1.0, True, 5.0, -15.0, 2.0, (10.0, 40.0, 550.0), faces=1)
    before = n.relative(pose).retraction_mm
    assert abs(before) > SEAT_SHIFT_MM
    assert shifted(n, before).relative(pose).retraction_mm == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("kw,name", [({"shift_mm": 0.0}, "shift_mm"), ({"still_mm": -1.0}, "still_mm"),
                                     ({"still_s": 0.0}, "still_s")])
def test_the_follower_validates_its_arguments(kw, name):
    with pytest.raises(ValueError, match=name):
        SeatFollower(**kw)


def test_without_following_the_seat_the_review_counts_the_move_or_misses_the_tucks(monkeypatch):
    """So the review test above can fail."""
    monkeypatch.setattr("neckcoach.app.review.SeatFollower", lambda: SeatFollower(shift_mm=1000.0))
    with pytest.raises(AssertionError):
        test_a_review_counts_the_tucks_made_after_the_patient_sat_back()


def test_the_new_seat_is_the_rest_not_a_tuck_held_longer_than_the_rest():
    """Rendered population seed 400659: 210 mm closer, 1 s of rest, then a chin tuck 15 mm back
    held for 3 s. The still time is first met on the tuck; the seat is where the head rested."""
    frames = (still_head(-210.0, 1.0, wobble_mm=1.0) + ramp(-210.0, -195.0, 0.5, t0=1.0)
              + still_head(-195.0, 4.0, t0=1.5, wobble_mm=1.0))
    t, shift = first_shift(frames)
    assert t > 1.5  # the still time was met on the tuck
    assert shift == pytest.approx(-210.0, abs=1.5)


def test_a_seat_taken_further_back_is_the_rest_there_and_not_the_tucks_beyond_it():
    """Sitting back 120 mm: the rest is at +120, a held tuck at +135; the rest wins either way round."""
    frames = (still_head(120.0, 1.0) + ramp(120.0, 135.0, 0.5, t0=1.0) + still_head(135.0, 3.0, t0=1.5))
    assert first_shift(frames)[1] == pytest.approx(120.0)


def test_places_the_head_rested_at_before_it_came_back_to_the_neutral_are_forgotten():
    """A lean forward of 150 mm, back to the neutral, then a new seat 100 mm closer: the seat is -100."""
    frames = (still_head(-150.0, 1.0) + still_head(0.0, 2.0, t0=1.0) + still_head(-100.0, 3.0, t0=3.0))
    assert first_shift(frames)[1] == pytest.approx(-100.0)


def ramp(a_mm: float, b_mm: float, seconds: float, *, t0: float, fps: float = 30.0) -> list[Kinematics]:
    n = int(seconds * fps)
    return [Kinematics(t_s=t0 + i / fps, face_found=True, retraction_mm=a_mm + (b_mm - a_mm) * i / n,
                       retraction_reliable=True) for i in range(n)]
