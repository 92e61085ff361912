"""Every command fed its typical user mistakes, through the real entry point in a fresh process:
the exact one-line message on stderr, exit code 2 for what the user can fix, never a traceback
(only with --debug)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import REPO, clip

BUNDLED = "chin_nod, flexion_extension, headache_programme, retraction, rotation, side_bend"
LINUX_CAMERA = ("check that /dev/video99 exists, that you may read it (the 'video' group) and that no other "
                "program is using it")
RENDER_EXTRA = "pip install \"neckcoach[render]\" (./neckcoach.sh installs it)"
# A stand-in for an installation without the render extra: these imports fail as if never installed.
WITHOUT_RENDER = textwrap.dedent("""
    import sys

    class NotInstalled:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("pyrender", "trimesh"):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    sys.meta_path.insert(0, NotInstalled())
    from neckcoach.cli.main import main
    main()
""")
# A bug stood in for: `show` crashes inside the routine loader.
WITH_A_BUG = textwrap.dedent("""
    import neckcoach.cli.cmd_routine as cmd

    def load_routine(path):
        return 1 / 0

    cmd.load_routine = load_routine
    from neckcoach.cli.main import main
    main()
""")


def _neckcoach(args, cwd, code=None, **env_extra) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NECKCOACH_", "DISPLAY", "WAYLAND"))}
    env.update(NECKCOACH_HOME=str(cwd / "home"), PYTHONPATH=str(REPO), **env_extra)
    head = [sys.executable, "-c", code] if code else [sys.executable, "-m", "neckcoach"]
    return subprocess.run([*head, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def place(tmp_path):
    (tmp_path / "junk.mp4").write_bytes(b"this is not a video" * 100)
    (tmp_path / "afile").write_text("a file, not a folder")
    (tmp_path / "plain").mkdir()
    return tmp_path


MISTAKES = [
    # (id, arguments, exact stderr line(s), exit code)
    ("run: unknown routine name", ["run", "rotaton"],
     f"neckcoach: no routine file or bundled routine called 'rotaton' (bundled: {BUNDLED}); see `neckcoach list`", 2),
    ("run: routine file missing", ["run", "my_routine.yaml"], "neckcoach: routine file not found: my_routine.yaml", 2),
    ("run: video missing", ["run", "rotation", "--video", "holiday.mp4", "--headless", "--no-voice"],
     "neckcoach: video file not found: holiday.mp4", 2),
    ("run: not a video", ["run", "rotation", "--video", "junk.mp4", "--headless", "--no-voice"],
     "neckcoach: cannot open video file junk.mp4: not a readable video", 2),
    ("run: no such camera", ["run", "rotation", "--camera", "99", "--headless", "--no-voice"],
     f"neckcoach: camera 99 could not be opened (tried V4L2, OpenCV's default): {LINUX_CAMERA}; another camera "
     "may have another number (--camera 1)", 2),
    ("run: session folder blocked", ["run", "rotation", "--video", "{clip}", "--headless", "--no-voice",
                                     "--out", "afile/session"],
     "neckcoach: cannot write the session record: cannot create the session folder afile/session: Not a "
     "directory. Choose another folder with --out.", 2),
    ("run: camera and video", ["run", "rotation", "--camera", "0", "--video", "{clip}"],
     "Usage: neckcoach run [OPTIONS] ROUTINE\nTry 'neckcoach run --help' for help.\n\n"
     "Error: give --camera or --video, not both", 2),
    ("show: unknown routine", ["show", "rotaton"],
     f"neckcoach: no routine file or bundled routine called 'rotaton' (bundled: {BUNDLED}); see `neckcoach list`", 2),
    ("demo: unknown routine", ["demo", "--routine", "neck", "--headless", "--no-voice"],
     f"neckcoach: no routine file or bundled routine called 'neck' (bundled: {BUNDLED}); see `neckcoach list`", 2),
    ("simulate: output blocked", ["simulate", "rotation", "--out", "afile/clip", "--max-reps", "1"],
     "neckcoach: cannot make the folder afile/clip: a file is in the way", 2),
    ("preview: no display", ["preview", "rotation", "--max-reps", "1"],
     "neckcoach: no display found (DISPLAY is not set); use --out DIR to write a preview video instead", 2),
    ("analyze: video missing", ["analyze", "holiday.mp4", "--out", "results"],
     "neckcoach: video file not found: holiday.mp4", 2),
    ("analyze: not a video", ["analyze", "junk.mp4", "--out", "results"],
     "neckcoach: cannot open video file junk.mp4: not a readable video", 2),
    ("report: no such session", ["report", "yesterday"],
     "neckcoach: yesterday is not a session folder (it does not exist)", 2),
    ("report: not a session", ["report", "plain"],
     "neckcoach: plain does not look like a NeckCoach session folder (no session.json, trace.csv or reps.csv)", 2),
    ("archive: no such session", ["archive", "yesterday"],
     "neckcoach: {tmp}/yesterday is not a session folder (it does not exist)", 2),
    ("archive: not a session", ["archive", "plain"], "neckcoach: {tmp}/plain is not a NeckCoach session folder", 2),
    ("history: scan folder missing", ["history", "--scan", "usb"], "neckcoach: folder not found: usb", 2),
    ("export: folder blocked", ["export", "--csv", "afile/reps.csv"],
     "neckcoach: cannot make the folder afile: a file is in the way", 2),
    ("validate: file missing", ["validate", "my_routine.yaml"],
     "my_routine.yaml:0:0: cannot read the file: No such file or directory", 1),
]


@pytest.mark.parametrize("args, expected, code", [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_a_user_mistake_is_one_line_that_says_what_to_do(place, args, expected, code):
    args = [a.format(clip=clip("single_face.mp4")) for a in args]
    done = _neckcoach(args, place)
    out = done.stdout + done.stderr
    assert "Traceback" not in out
    stream = done.stdout if args[0] == "validate" else done.stderr  # validate reports on stdout, for editors
    stream = re.sub(r"Try '(.*) -h' for help", r"Try '\1 --help' for help", stream)  # click < 8.2 (Python 3.9)
    assert stream.rstrip("\n") == expected.format(tmp=place), out
    assert done.returncode == code


def test_missing_head_scan_names_the_fix(place):
    done = _neckcoach(["demo", "--headless", "--no-voice"], place, NECKCOACH_HEAD_SCAN=str(place / "scan"))
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stderr == (f"neckcoach: the virtual patient's head scan is missing ({place}/scan/LeePerrySmith.glb, "
                           f"{place}/scan/Map-COL.jpg); NECKCOACH_HEAD_SCAN points at {place}/scan: unset it, or "
                           "point it at a folder holding LeePerrySmith.glb and Map-COL.jpg\n")
    assert done.returncode == 2


@pytest.mark.parametrize("args", [["demo", "--headless", "--no-voice"],
                                  ["simulate", "rotation", "--out", "clip", "--max-reps", "1"]])
def test_missing_render_extra_names_the_install_command(place, args):
    done = _neckcoach(args, place, code=WITHOUT_RENDER)
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stderr == (f"neckcoach: the virtual patient needs the render extra (No module named 'pyrender'): "
                           f"{RENDER_EXTRA}\n")
    assert done.returncode == 2


def test_no_routines_installed(place):
    done = _neckcoach(["list"], place, NECKCOACH_ROUTINES=str(place / "plain"))
    assert done.stderr == f"neckcoach: no routines found in {place}/plain: reinstall NeckCoach, or unset NECKCOACH_ROUTINES\n"
    assert done.returncode == 2 and done.stdout == ""


def test_a_bug_is_one_line_and_debug_shows_the_traceback(place):
    quiet = _neckcoach(["show", "rotation"], place, code=WITH_A_BUG)
    assert quiet.stderr == ("neckcoach: unexpected error (ZeroDivisionError: division by zero); this is a bug in "
                            "NeckCoach: please report it with the traceback that `neckcoach --debug COMMAND ...` "
                            "prints\n")
    assert quiet.returncode == 1
    for loud in (_neckcoach(["--debug", "show", "rotation"], place, code=WITH_A_BUG),
                 _neckcoach(["show", "rotation"], place, code=WITH_A_BUG, NECKCOACH_DEBUG="1")):
        assert loud.returncode == 1
        assert "Traceback (most recent call last)" in loud.stderr
        assert loud.stderr.rstrip().endswith("ZeroDivisionError: division by zero")
