"""What the package ships beside its code: the head scan with its licence, the routines and schema."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

import neckcoach
from neckcoach.errors import MissingAsset
from neckcoach.routine import bundled_routines, load_routine, routines_dir

PACKAGE = Path(neckcoach.__file__).resolve().parent
HEAD = PACKAGE / "assets" / "head"
# The intact glb as distributed with three.js (see HEAD_SCAN_CREDIT.md); some public copies
# were re-encoded through UTF-8 and are ~673 kB of broken bytes.
GLB_SHA256 = "402b8a8ac9f03232e6d64b5962929703a069daf99d3c49ac8eb0e48bedc9c576"


def test_head_scan_ships_intact_with_its_licence_and_credit():
    from neckcoach.sim.render import SCAN_FILES, default_scan_dir

    assert default_scan_dir() == HEAD
    assert sorted(p.name for p in HEAD.iterdir()) == sorted([*SCAN_FILES, "LeePerrySmith_License.txt"])
    glb = HEAD / "LeePerrySmith.glb"
    assert glb.stat().st_size == 404_976
    assert hashlib.sha256(glb.read_bytes()).hexdigest() == GLB_SHA256
    licence = (HEAD / "LeePerrySmith_License.txt").read_text()
    assert "Creative Commons Attribution 3.0 Unported License" in licence
    credit = (PACKAGE / "sim" / "HEAD_SCAN_CREDIT.md").read_text()
    assert "neckcoach/assets/head/" in credit and GLB_SHA256 in credit
    assert "Lee Perry-Smith" in credit and "www.triplegangers.com" in credit


def test_routines_and_schema_are_package_data():
    assert routines_dir() == PACKAGE / "routines"
    names = [p.stem for p in bundled_routines()]
    assert names == sorted(["chin_nod", "flexion_extension", "headache_programme", "retraction",
                            "rotation", "side_bend"])
    json.loads((PACKAGE / "routines" / "schema.json").read_text())
    for path in bundled_routines():  # the editor hint resolves to the schema beside the file
        assert path.read_text().splitlines()[0] == "# yaml-language-server: $schema=./schema.json"
        load_routine(path)


@pytest.fixture
def scan_copy(tmp_path):
    folder = tmp_path / "scan"
    shutil.copytree(HEAD, folder)
    return folder


def _load(folder):
    pytest.importorskip("trimesh")
    from neckcoach.sim.render import load_head

    return load_head(str(folder))


@pytest.mark.parametrize("env", [False, True], ids=["installed", "NECKCOACH_HEAD_SCAN"])
def test_a_missing_scan_says_what_to_do(scan_copy, monkeypatch, env):
    (scan_copy / "Map-COL.jpg").unlink()
    if env:
        monkeypatch.setenv("NECKCOACH_HEAD_SCAN", str(scan_copy))
        fix = (f"NECKCOACH_HEAD_SCAN points at {scan_copy}: unset it, or point it at a folder holding "
               "LeePerrySmith.glb and Map-COL.jpg")
    else:
        monkeypatch.delenv("NECKCOACH_HEAD_SCAN", raising=False)
        fix = ("this installation is incomplete: reinstall NeckCoach (pip install --force-reinstall "
               "neckcoach, or a fresh clone)")
    with pytest.raises(MissingAsset) as err:
        _load(scan_copy)
    assert str(err.value) == (f"the virtual patient's head scan is missing ({scan_copy / 'Map-COL.jpg'}); {fix}")


def test_a_corrupted_scan_or_texture_is_named(scan_copy, monkeypatch):
    monkeypatch.delenv("NECKCOACH_HEAD_SCAN", raising=False)
    (scan_copy / "Map-COL.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(MissingAsset, match=r"texture cannot be read \(.*Map-COL.jpg is not an image\)"):
        _load(scan_copy)
    glb = scan_copy / "LeePerrySmith.glb"
    # the known broken public copies: bytes replaced by a UTF-8 round trip
    glb.write_bytes(HEAD.joinpath("LeePerrySmith.glb").read_bytes().decode("latin-1").encode("utf-8"))
    with pytest.raises(MissingAsset, match=r"head scan cannot be read \(.*LeePerrySmith.glb: "):
        _load(scan_copy)


def test_no_test_reads_data_from_outside_the_repository():
    """A clone alone runs every test: no path to ../shared, no skip when the scan or a clip is absent."""
    tests = Path(__file__).resolve().parent
    outside = re.compile(r"""["']shared["']|\.\./shared|skip\([^)]*(head scan|clip)[^)]*not available""")
    offenders = [f"{path.name}:{n}" for path in sorted(tests.glob("*.py")) if path.name != Path(__file__).name
                 for n, line in enumerate(path.read_text().splitlines(), 1) if outside.search(line)]
    assert offenders == []
