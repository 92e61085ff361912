"""Commands for therapists writing routines: validate, schema, list, show."""

from __future__ import annotations

import json
import os
import sys

import click

from neckcoach.cli.errors import UserError
from neckcoach.routine import RoutineError, bundled_routines, load_routine, resolve_routine, routines_dir
from neckcoach.routine.model import Routine


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate(files: tuple[str, ...]) -> None:
    """Check routine files; print every problem as file:line:column.

    \b
    Examples:
      neckcoach validate my_routines/*.yaml
      neckcoach validate my_routine.yaml
    """
    failed = False
    for name in files:
        try:
            routine = load_routine(name)
        except RoutineError as exc:
            failed = True
            for problem in exc.problems:
                click.echo(str(problem))
            continue
        click.echo(
            f"{name}: ok: {routine.title!r}, {len(routine.exercises)} exercise(s), "
            f"about {_minutes(routine.estimated_duration_s())}"
        )
    sys.exit(1 if failed else 0)


def routine_schema() -> dict:
    schema = Routine.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "NeckCoach routine"
    return schema


@click.command()
def schema() -> None:
    """Print the JSON Schema of the routine format (for editor completion).

    \b
    Example:
      neckcoach schema > schema.json         (beside your routines, for editors)
    """
    click.echo(json.dumps(routine_schema(), indent=2, sort_keys=True))


@click.command(name="list")
def list_routines() -> None:
    """List the bundled routines with their length.

    \b
    Example:
      neckcoach list
    """
    paths = bundled_routines()
    if not paths:
        raise UserError(f"no routines found in {routines_dir()}: reinstall NeckCoach"
                        + (", or unset NECKCOACH_ROUTINES" if os.environ.get("NECKCOACH_ROUTINES") else ""))
    for path in paths:
        try:
            routine = load_routine(path)
        except RoutineError as exc:
            click.echo(f"{path.stem:<22} INVALID: {exc.problems[0]}")
            continue
        click.echo(
            f"{path.stem:<22} {routine.title:<40} {len(routine.exercises)} exercise(s)  "
            f"~{_minutes(routine.estimated_duration_s())}"
        )
    click.echo(f"Routine files: {routines_dir()} (copy one to write your own)")


@click.command()
@click.argument("routine")
def show(routine: str) -> None:
    """Print a routine's plan in plain words.

    \b
    Examples:
      neckcoach show rotation
      neckcoach show my_routine.yaml
    """
    try:
        r = load_routine(resolve_routine(routine))
    except RoutineError as exc:
        for problem in exc.problems:
            click.echo(str(problem))
        sys.exit(1)
    click.echo(f"{r.title} (about {_minutes(r.estimated_duration_s())})")
    if r.notes:
        click.echo(r.notes.strip())
    click.echo("First, sit tall and look at the screen for a few seconds so I can learn your neutral position.")
    for i, ex in enumerate(r.exercises, 1):
        click.echo(f"{i}. {ex.describe(r.ranges)}")
