"""Broken routines get one located line each and exit 1; never a traceback."""

from __future__ import annotations

import random

import pytest
from click.testing import CliRunner

from neckcoach.cli.main import cli
from tests.conftest import ROUTINES

GOOD_HEAD = "title: T\nexercises:\n  - id: a\n    name: A\n    movement: rotation\n"


def _bomb() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join(["*" + prev] * 9) + "]")
    return "\n".join(lines + ["title: *i"]) + "\n"


def _garbage() -> bytes:
    rng = random.Random(1)
    return bytes(rng.randrange(256) for _ in range(3000))


CASES = [
    ("wrong_type", GOOD_HEAD + "    reps: ten\n    target_deg: 40\n",
     "{f}:6:11: exercises[0].reps: Input should be a valid integer, unable to parse string as an integer (got 'ten')"),
    ("unknown_key", GOOD_HEAD + "    reps: 5\n    target_deg: 40\n    speed: 3\n",
     "{f}:8:5: exercises[0].speed: unknown key (got 3)"),
    ("duplicate_key", GOOD_HEAD + "    reps: 5\n    reps: 6\n    target_deg: 40\n",
     "{f}:7:5: duplicate key 'reps' (first given on line 6)"),
    ("bad_indent", "title: T\nexercises:\n  - id: a\n    name: A\n   movement: rotation\n    reps: 5\n",
     "{f}:5:4: bad indentation: this line does not line up with the lines around it"),
    ("empty", "", "{f}:1:1: the file is empty; a routine needs a title and exercises"),
    ("garbage", _garbage(), "{f}:1:3: the file is not UTF-8 text (byte 0x82)"),
    ("latin1", "title: Übung\nexercises: []\n".encode("latin-1"), "{f}:1:8: the file is not UTF-8 text (byte 0xdc)"),
    ("huge_numbers", GOOD_HEAD + "    reps: 99999999999999999999999999999\n    target_deg: 1e400\n",
     "{f}:6:11: exercises[0].reps: Input should be less than or equal to 50 (got 99999999999999999999999999999)\n"
     "{f}:7:17: exercises[0].target_deg: Input should be a finite number (got '1e400')"),
    ("nan", GOOD_HEAD + "    reps: 5\n    target_deg: .nan\n",
     "{f}:7:17: exercises[0].target_deg: Input should be a finite number (got nan)"),
    ("negative_reps", GOOD_HEAD + "    reps: -3\n    target_deg: 40\n",
     "{f}:6:11: exercises[0].reps: Input should be greater than or equal to 1 (got -3)"),
    ("target_300", GOOD_HEAD + "    reps: 3\n    target_deg: 300\n",
     "{f}:7:17: exercises[0].target_deg: Input should be less than or equal to 90 (got 300)"),
    ("target_above_limit", GOOD_HEAD + "    reps: 3\n    target_deg: 60\n    max_deg: 50\n",
     "{f}:3:5: exercises[0]: target (60) must be below the safety limit (50)"),
    ("hold_longer_than_tempo", GOOD_HEAD + "    reps: 3\n    target_deg: 40\n    hold_s: 6\n    tempo_s: 7\n",
     "{f}:3:5: exercises[0]: tempo_s (7) leaves 1 s to move out and back after hold_s (6); allow at least 2 s"),
    ("tempo_too_quick", GOOD_HEAD + "    reps: 3\n    target_deg: 70\n    tempo_s: 2\n",
     "{f}:3:5: exercises[0]: tempo_s (2) is too quick for this target: a smooth rep would peak at 131 deg/s, "
     "above the too-fast limit (90); slow the tempo or raise the limit"),
    ("degrees_for_retraction", "title: T\nexercises:\n  - id: a\n    name: A\n    movement: retraction\n"
     "    reps: 3\n    target_deg: 10\n",
     "{f}:3:5: exercises[0]: retraction is measured in mm: use target_mm / max_mm, not target_deg / max_deg"),
    ("missing_key", "title: T\nexercises:\n  - id: a\n    movement: rotation\n    reps: 3\n    target_deg: 40\n",
     "{f}:3:5: exercises[0].name: required key is missing"),
    ("alias_bomb", _bomb(), "{f}:2:8: anchors and aliases (*name) are not allowed in routines"),
    ("deep_nesting", "title: " + "[" * 500 + "]" * 500 + "\n", "{f}:1:19: nested more than 12 levels deep"),
    ("python_tag", 'title: !!python/object/apply:os.system ["echo hi"]\nexercises: []\n',
     "{f}:1:8: tags (!!python/..., !name) are not allowed in routines"),
    ("control_character", "title: T\x01\n",
     "{f}:1:9: the file contains a control character YAML does not allow (U+0001)"),
    ("scalar", "just a sentence\n", "{f}:1:1: a routine must be a mapping with title and exercises, not a str"),
    ("ten_megabytes", "title: T\nnotes: \"" + "x" * 10_000_000 + "\"\n",
     "{f}:1:1: file is too large for a routine: 10000019 bytes (at most 1000000)"),
]


@pytest.mark.parametrize("name,content,expected", CASES, ids=[c[0] for c in CASES])
def test_broken_routine_exact_message(tmp_path, name, content, expected):
    path = tmp_path / f"{name}.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 1
    assert result.output == expected.format(f=path) + "\n"


def test_bundled_routines_validate():
    files = sorted(str(p) for p in ROUTINES.glob("*.yaml"))
    assert len(files) >= 6
    result = CliRunner().invoke(cli, ["validate", *files])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == len(files)
    assert all(": ok: " in line for line in lines)


def test_missing_file_is_located_error(tmp_path):
    result = CliRunner().invoke(cli, ["validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert result.output == f"{tmp_path / 'nope.yaml'}:0:0: cannot read the file: No such file or directory\n"


def test_good_and_bad_together_exit_1(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("")
    result = CliRunner().invoke(cli, ["validate", str(ROUTINES / "rotation.yaml"), str(bad)])
    assert result.exit_code == 1
    assert result.output.splitlines()[0].startswith(f"{ROUTINES / 'rotation.yaml'}: ok: 'Cervical rotation'")


def test_list_shows_every_bundled_routine():
    result = CliRunner().invoke(cli, ["list"])
    assert result.exit_code == 0
    for path in ROUTINES.glob("*.yaml"):
        assert path.stem in result.output
    assert "Cervical rotation" in result.output and "1 exercise(s)" in result.output


def test_show_in_plain_words():
    result = CliRunner().invoke(cli, ["show", "rotation"])
    assert result.exit_code == 0
    assert result.output.splitlines()[0] == "Cervical rotation (about 86 s)"
    assert "1. Head turns: turn your head, about 50 degrees, 10 times, alternating left and right." in result.output
    assert "Hold each one for 2 seconds." in result.output
