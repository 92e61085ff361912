"""The kinematics population recorded and reviewed: does the review warn what the live coach warns?

Each session of `benchmarks/population.py --mode kinematics` (same seeds, same
patients, same injected flicks, jolts and too-fast reps) is coached live as
there; the kinematics the live coach saw, from the end of its calibration, are
then reviewed as a recording (`ReviewCoach`, which counts them without the
coach's timeline) twice: judging every movement (`exercising_only=False`, the
review before issue #16's rule) and only inside exercising stretches (the
default, `core.review.exercising_spans`). Each of the three is scored by the
population's own rules (`score_session`): flicks warned within 300 ms, jolts,
too-fast reps warned, false safety warnings, and for the review the warnings it
filed as "outside the exercises" that the live coach warned.

    .venv/bin/python benchmarks/review_population.py --sessions 200 --seed-base 300000   # tuning
    .venv/bin/python benchmarks/review_population.py --sessions 200 --seed-base 400000   # report
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import population  # noqa: E402
from neckcoach.core import events as ev  # noqa: E402
from neckcoach.core.coach import Coach  # noqa: E402
from neckcoach.core.review import ReviewCoach  # noqa: E402
from neckcoach.sim import closed_loop  # noqa: E402
from neckcoach.sim.closed_loop import FLICK_DEADLINE_S, MeasurementNoise, score_session  # noqa: E402


class _Taped(Coach):
    """The live coach, keeping every frame it was given."""

    tape: list = []

    def update(self, kin, *args, **kwargs):
        _Taped.tape.append(kin)
        return super().update(kin, *args, **kwargs)


def run_one(seed: int, reps: int, max_rest: float) -> dict:
    name, routine, traits, variant, mistakes, fps, rng = population.plan(seed, reps, max_rest)
    _Taped.tape = []
    live_coach, closed_loop.Coach = closed_loop.Coach, _Taped
    try:
        outcome = closed_loop.run_kinematics_session(routine, traits, seed=seed, mistakes=mistakes, fps=fps,
                                                     noise=MeasurementNoise.random(rng))
    finally:
        closed_loop.Coach = live_coach
    kins = list(_Taped.tape)
    row = {"seed": seed, "routine": name, "variant": variant, "live": score_session(outcome, name, seed).to_dict()}
    row["live"]["safety"] = sum(w["kind"] in ev.SAFETY_KINDS for w in outcome.session["warnings"])
    for key, only in (("review_all", False), ("review", True)):
        coach = ReviewCoach(routine, exercising_only=only)
        for k in kins:
            coach.update(k)
        coach.finish(kins[-1].t_s if kins else None)
        session = coach.session.to_dict()
        row[key] = score_session(replace(outcome, session=session), name, seed).to_dict()
        row[key]["safety"] = sum(w["kind"] in ev.SAFETY_KINDS for w in session["warnings"])
        row[key]["outside"] = session.get("quick_movements_outside_exercises") or []
        row[key]["reps_counted"] = sum(e["reps_completed"] for e in session["exercises"])
    return row


def _flicks(rows, key, retraction: bool):
    group = [f for r in rows for f in r[key]["flicks"] if (f[1] == "retraction") == retraction]
    lat = [f[2] for f in group if f[2] is not None and f[2] <= FLICK_DEADLINE_S]
    return (f"{len(lat)}/{len(group)}" + (f" (median {1000 * np.median(lat):.0f} ms, max {1000 * max(lat):.0f} ms)"
                                         if lat else ""))


def table(rows: list[dict]) -> str:
    lines = ["| measure | live coach | review, every movement judged | review, judged while exercising |",
             "|---|---|---|---|"]

    def line(label, f):
        lines.append(f"| {label} | " + " | ".join(f(k) for k in ("live", "review_all", "review")) + " |")

    line("flicks warned within 300 ms", lambda k: _flicks(rows, k, False))
    line("chin-tuck jolts warned within 300 ms", lambda k: _flicks(rows, k, True))
    line("too-fast reps warned", lambda k: f"{sum(r[k]['too_fast_warned'] for r in rows)}/"
                                           f"{sum(r[k]['too_fast_reps'] for r in rows)}")
    line("false safety warnings", lambda k: str(sum(r[k]["false_safety"] for r in rows)))
    line("safety warnings in all", lambda k: str(sum(r[k]["safety"] for r in rows)))
    line("complete reps counted", lambda k: str(sum(r[k]["counted"] for r in rows)))
    line("filed outside the exercises", lambda k: "-" if k != "review" else str(sum(len(r[k]["outside"]) for r in rows)))
    # A flick the live coach warned and the review (with the rule) did not, with why.
    missed = []
    for r in rows:
        for fl, fr in zip(r["live"]["flicks"], r["review"]["flicks"]):
            warned_live = fl[2] is not None and fl[2] <= FLICK_DEADLINE_S
            warned_rev = fr[2] is not None and fr[2] <= FLICK_DEADLINE_S
            if warned_live and not warned_rev:
                missed.append(f"seed {r['seed']} {r['routine']} {fl[1]} {fl[3]} (review_all "
                              f"{'warned' if r['review_all']['flicks'][r['live']['flicks'].index(fl)][2] is not None else 'missed'})")
    lines.append("")
    lines.append(f"flicks warned live but not by the review (with the rule): {len(missed)}"
                 + ("".join(f"\n- {m}" for m in missed)))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--seed-base", type=int, default=300000)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--max-rest", type=float, default=3.0)
    args = parser.parse_args()
    rows = [run_one(args.seed_base + i, args.reps, args.max_rest) for i in range(args.sessions)]
    print(table(rows))


if __name__ == "__main__":
    main()
