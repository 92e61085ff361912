"""The wheel carries everything the product needs.

Built from the sources, installed with its `render` extra into a fresh venv in a
temporary folder (nothing of the repository on its path, run from outside it), it
lists the bundled routines, renders the virtual patient from the head scan inside
the wheel, runs the demo and coaches a real clip.

The demo's clip (about a minute of video, 1-3 minutes to render on 2 cores) is kept
beside the venv running the tests, as the demo itself keeps it in the user's cache,
so later runs of the suite reuse it; `simulate` renders from the wheel every time.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
import warnings
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO, clip

pytestmark = pytest.mark.slow

PACKAGE_DATA = [
    "neckcoach/py.typed",
    "neckcoach/routines/schema.json",
    *(f"neckcoach/routines/{p.name}" for p in sorted((REPO / "neckcoach" / "routines").glob("*.yaml"))),
    "neckcoach/assets/head/LeePerrySmith.glb",
    "neckcoach/assets/head/Map-COL.jpg",
    "neckcoach/assets/head/LeePerrySmith_License.txt",
    "neckcoach/sim/HEAD_SCAN_CREDIT.md",
]
# pip's words for "the index cannot be reached"; anything else failing the install fails the test.
DEMO_CACHE = Path(sys.prefix) / ".neckcoach-test-cache" / "demo"
OFFLINE = re.compile(r"NewConnectionError|Network is unreachable|Temporary failure in name resolution|"
                     r"Max retries exceeded|ProxyError|\(from versions: none\)")


def _run(cmd, timeout_s: float, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout_s, **kwargs)


def _build_wheel(root: Path) -> Path:
    """From a copy of the sources (the working tree stays clean), offline: the dev extra
    brings the build backend, so no build environment is downloaded."""
    src = root / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "neckcoach", src / "neckcoach", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    done = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                 "-w", root / "dist", src], 300)
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = (root / "dist").glob("neckcoach-*.whl")
    return wheel


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _install(root: Path, wheel: Path) -> tuple[Path, str]:
    """A fresh venv with the wheel and its dependencies from the package index (pip's cache
    makes this fast). Without a reachable index, the wheel goes in alone and the
    dependencies come from the project's own venv, with a warning saying so."""
    venv = root / "venv"
    made = _run([sys.executable, "-m", "venv", venv], 300)
    assert made.returncode == 0, made.stderr
    python = _venv_python(venv)
    full = _run([python, "-m", "pip", "install", "-q", "--prefer-binary", "--timeout", "30",
                 f"neckcoach[render] @ {wheel.as_uri()}"], 1200)
    if full.returncode == 0:
        return python, "dependencies from the package index"
    assert OFFLINE.search(full.stdout + full.stderr), full.stdout + full.stderr
    alone = _run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel], 300)
    assert alone.returncode == 0, alone.stderr
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], 60)
                .stdout.strip())
    borrowed = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "neckcoach_test_dependencies.pth").write_text("\n".join(sorted(borrowed)) + "\n")
    check = _run([python, "-m", "pip", "check"], 120)
    assert check.returncode == 0, check.stdout + check.stderr
    warnings.warn("no package index reachable: the wheel was installed alone and its dependencies "
                  "borrowed from the project venv (pip check passed)")
    return python, "offline: dependencies borrowed from the project venv"


def test_wheel_carries_everything_and_runs_from_a_fresh_venv(tmp_path):
    root = tmp_path / "wheel_test"
    root.mkdir()
    try:
        _check_wheel(root)
    finally:  # the venv is over a gigabyte (mediapipe, jax, OpenCV): do not keep it around
        shutil.rmtree(root / "venv", ignore_errors=True)


def _check_wheel(root: Path) -> None:
    t0 = time.monotonic()
    wheel = _build_wheel(root)
    names = set(zipfile.ZipFile(wheel).namelist())
    assert [n for n in PACKAGE_DATA if n not in names] == []
    python, mode = _install(root, wheel)
    t_install = time.monotonic()
    bin_dir = python.parent
    neckcoach = bin_dir / ("neckcoach.exe" if os.name == "nt" else "neckcoach")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NECKCOACH_", "PYTHON", "PYOPENGL_")) and k != "VIRTUAL_ENV"}
    env.update(NECKCOACH_HOME=str(root / "home"), PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}")
    work = root / "elsewhere"
    work.mkdir()

    def neckcoach_says(*args: str, timeout_s: float = 900, code: int = 0) -> str:
        done = _run([neckcoach, *args], timeout_s, cwd=work, env=env)
        out = done.stdout + done.stderr
        assert done.returncode == code, out
        assert "Traceback" not in out, out
        return done.stdout

    where = Path(_run([python, "-c", "import neckcoach; print(neckcoach.__file__)"], 60, cwd=work, env=env)
                 .stdout.strip())
    assert root / "venv" in where.parents, where

    listed = neckcoach_says("list")
    for name in ("rotation", "flexion_extension", "side_bend", "retraction", "chin_nod", "headache_programme"):
        assert re.search(rf"^{name}\s", listed, re.M), listed
    assert f"Routine files: {where.parent / 'routines'}" in listed

    rendered = neckcoach_says("simulate", "rotation", "--max-reps", "1", "--max-sets", "1", "--fps", "10",
                              "--out", str(root / "simulated"))
    assert rendered.startswith("wrote ") and (root / "simulated" / "clip.mp4").stat().st_size > 10_000
    t_simulate = time.monotonic()

    cache = root / "home" / "cache" / "demo"
    if DEMO_CACHE.is_dir():
        shutil.copytree(DEMO_CACHE, cache)
    demo = neckcoach_says("demo", "--headless", "--no-voice")
    t_demo = time.monotonic()
    assert "Head turns: 4 / 4 reps" in demo, demo
    demo_rendered = "Rendering the virtual patient" in demo
    if demo_rendered:
        with contextlib.suppress(OSError):  # a read-only interpreter prefix: no reuse, no harm
            shutil.rmtree(DEMO_CACHE, ignore_errors=True)
            shutil.copytree(cache, DEMO_CACHE)

    # A person talking, not exercising: nothing counted, and the run says why (exit 4, see `run -h`).
    run = neckcoach_says("run", "rotation", "--video", str(clip("cap13_edit2.mp4")), "--headless", "--no-voice",
                         code=4)
    assert "Session ended: source ended" in run, run
    record = Path(re.search(r"^Session record: (.+)$", run, re.M).group(1))
    assert (record / "session.json").is_file()
    print(f"wheel {wheel.name} ({wheel.stat().st_size / 1e6:.1f} MB), install {t_install - t0:.0f} s "
          f"({mode}), simulate {t_simulate - t_install:.0f} s, demo {t_demo - t_simulate:.0f} s "
          f"({'rendered' if demo_rendered else 'clip reused from ' + str(DEMO_CACHE)}), "
          f"run {time.monotonic() - t_demo:.0f} s")
