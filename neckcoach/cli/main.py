"""The `neckcoach` command: a thin click layer over the library."""

from __future__ import annotations

import importlib
import os

import click

from neckcoach import __version__
from neckcoach.cli.errors import user_error

# FFmpeg (inside OpenCV) prints its own lines for an unreadable video ("moov atom not
# found"); the command says what failed in one line instead. Read when cv2 is imported.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

# command name -> (module, attribute); imported on use so that `validate`
# starts quickly and does not load MediaPipe or OpenGL.
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("neckcoach.cli.cmd_routine", "validate"),
    "schema": ("neckcoach.cli.cmd_routine", "schema"),
    "list": ("neckcoach.cli.cmd_routine", "list_routines"),
    "show": ("neckcoach.cli.cmd_routine", "show"),
    "demo": ("neckcoach.cli.cmd_run", "demo"),
    "run": ("neckcoach.cli.cmd_run", "run"),
    "simulate": ("neckcoach.cli.cmd_simulate", "simulate"),
    "preview": ("neckcoach.cli.cmd_simulate", "preview"),
    "review": ("neckcoach.cli.cmd_review", "review"),
    "analyze": ("neckcoach.cli.cmd_analyze", "analyze_cmd"),
    "report": ("neckcoach.cli.cmd_records", "report_cmd"),
    "history": ("neckcoach.cli.cmd_records", "history_cmd"),
    "progress": ("neckcoach.cli.cmd_records", "progress_cmd"),
    "export": ("neckcoach.cli.cmd_records", "export_cmd"),
    "archive": ("neckcoach.cli.cmd_records", "archive_cmd"),
    "diary": ("neckcoach.cli.cmd_diary", "diary"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr = COMMANDS[name]
        return getattr(importlib.import_module(module), attr)

    def invoke(self, ctx: click.Context):
        """Run the command; an exception escaping it becomes one line (see cli/errors.py)."""
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Abort, click.exceptions.Exit):
            raise
        except Exception as exc:
            if ctx.params.get("debug"):
                raise
            raise user_error(exc) from exc


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "-V", "--version", prog_name="neckcoach")
@click.option("--debug", is_flag=True, envvar="NECKCOACH_DEBUG",
              help="Show the full traceback when something fails (for bug reports).")
@click.option("--verbose", is_flag=True,
              help="Also show the log lines of MediaPipe and TensorFlow Lite (hidden by default).")
def cli(debug: bool, verbose: bool) -> None:
    """NeckCoach: guided neck exercises with live pose feedback.

    \b
    Examples:
      neckcoach demo                      camera-free demo on a virtual patient
      neckcoach list                      bundled routines
      neckcoach show rotation             a routine's plan in plain words
      neckcoach review rotation home.mp4  count and judge a recording made without the coach
      neckcoach validate my_routine.yaml  check a routine you wrote
    """
    if not verbose:
        from neckcoach.io.native_logs import quiet_native_logs

        quiet_native_logs()


def main() -> None:
    cli(prog_name="neckcoach")  # also under `python -m neckcoach`
