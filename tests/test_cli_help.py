"""Every command explains itself with -h and shows an example."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from neckcoach.cli.main import COMMANDS, cli


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help_with_example(name):
    result = CliRunner().invoke(cli, [name, "-h"])
    assert result.exit_code == 0, result.output
    assert f"Usage: cli {name}" in result.output or f"Usage: neckcoach {name}" in result.output
    assert "Example" in result.output


def test_top_level_help_lists_commands():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output


def test_python_dash_m_works():
    out = subprocess.run([sys.executable, "-m", "neckcoach", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip().startswith("neckcoach, version ")
