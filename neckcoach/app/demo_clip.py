"""The demo's virtual-patient clip: rendered once, then replayed from the cache."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import click

DEMO_FPS = 30.0
DEMO_SEED = 7
# Bump when the way demo clips are made changes, so stale cached clips are not reused.
DEMO_CLIP_VERSION = 2


def cache_dir() -> Path:
    from neckcoach.io import platforms

    return platforms.cache_dir() / "demo"


def demo_routine(routine, *, reps: int, rest_s: float = 5.0):
    """The routine cut down for a demo: `reps` per exercise, one set, short rests.

    The coach runs this same shortened routine, so the counts it shows match
    what the virtual patient does.
    """
    exercises = [ex.model_copy(update={"reps": min(ex.reps, reps), "sets": 1, "rest_s": min(ex.rest_s, rest_s)})
                 for ex in routine.exercises]
    return routine.model_copy(update={"exercises": exercises})


def coach_paced_script(routine, *, seed: int, mistakes=(), **kwargs):
    """A virtual patient who follows the coach's timing: waits for each count-in
    and for the announcement of the next exercise, as a real patient would."""
    from neckcoach.core.coach import Coach
    from neckcoach.core.pacing import Pacer
    from neckcoach.sim.scripted import script_for_routine

    coach = Coach(routine)
    count_in_s = Pacer(routine.exercises[0]).count_in_s
    return script_for_routine(routine, seed=seed, mistakes=mistakes, lead_in_s=count_in_s + 1.0,
                              between_exercises_s=coach.transition_s, **kwargs)


def demo_clip(routine, routine_path: Path, *, reps: int, mistakes: tuple[str, ...]) -> Path:
    """Path of a clip of the virtual patient doing `routine`, rendering it if not cached."""
    from neckcoach import __version__

    key = json.dumps([routine.model_dump(mode="json"), reps, sorted(mistakes), DEMO_SEED, DEMO_FPS, __version__,
                      DEMO_CLIP_VERSION])
    folder = cache_dir() / f"{routine_path.stem}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    clip = folder / "clip.mp4"
    if clip.exists() and (folder / "truth.csv").exists():
        return clip
    from neckcoach.sim.clip import write_clip

    script = coach_paced_script(routine, seed=DEMO_SEED, mistakes=mistakes)
    click.echo(f"Rendering the virtual patient ({script.duration_s:.0f} s of video; first run only)...")
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    write_clip(script, tmp, fps=DEMO_FPS, seed=DEMO_SEED)
    shutil.rmtree(folder, ignore_errors=True)
    tmp.replace(folder)
    return clip


def demo_frames(routine, routine_path: Path, *, reps: int, mistakes: tuple[str, ...]):
    """(frames, source_info) for the session loop."""
    from neckcoach.io.sources import VideoFileSource

    clip = demo_clip(routine, routine_path, reps=reps, mistakes=mistakes)
    source = VideoFileSource(clip)
    return source, {"kind": "virtual", "path": str(clip), "fps": DEMO_FPS, "mistakes": list(mistakes)}
