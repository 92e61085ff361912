"""The virtual patient: a real head scan rendered moving with known angles.

`motion` and `scripted` are pure numpy; `render` and `clip` need pyrender
(imported lazily so `import neckcoach.sim` stays light).
"""

from neckcoach.sim.motion import Event, Flick, MotionScript, ScriptBuilder, Segment, min_jerk
from neckcoach.sim.scene import BACKGROUNDS, Passerby, SceneSpec
from neckcoach.sim.scripted import MISTAKES, script_for_routine

__all__ = [
    "Event", "Flick", "MotionScript", "ScriptBuilder", "Segment", "min_jerk",
    "MISTAKES", "script_for_routine", "BACKGROUNDS", "Passerby", "SceneSpec",
    "HeadRenderer", "VirtualPatientSource", "write_clip", "read_truth", "FrameTruth",
]


def __getattr__(name: str):
    if name == "HeadRenderer":
        from neckcoach.sim.render import HeadRenderer

        return HeadRenderer
    if name in ("VirtualPatientSource", "write_clip", "read_truth", "FrameTruth"):
        from neckcoach.sim import clip

        return getattr(clip, name)
    raise AttributeError(f"module 'neckcoach.sim' has no attribute {name!r}")
