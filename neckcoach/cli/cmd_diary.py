"""`neckcoach diary`: the headache diary, one day per entry, in the session history database."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import click

from neckcoach.core.checkin import MAX_HEADACHES_PER_DAY
from neckcoach.io.history import DiaryEntry, db_path, delete_diary, list_diary, put_diary

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _today() -> date:
    return datetime.now().date()


def parse_day(text: str) -> date:
    """today, yesterday or YYYY-MM-DD; never a day in the future."""
    word = text.strip().lower()
    if word == "today":
        day = _today()
    elif word == "yesterday":
        day = _today() - timedelta(days=1)
    else:
        try:
            day = date.fromisoformat(word)
        except ValueError:
            raise click.BadParameter(f"give a date as YYYY-MM-DD, today or yesterday (got {text!r})") from None
    if day > _today():
        raise click.BadParameter(f"{day.isoformat()} is in the future")
    return day


class _Day(click.ParamType):
    name = "DATE"

    def convert(self, value, param, ctx):
        return value if isinstance(value, date) else parse_day(str(value))


@click.group("diary", context_settings=CONTEXT_SETTINGS)
def diary() -> None:
    """Headache diary: each day's headaches, worst intensity, hours and medication.

    Your therapist sees it next to your exercise sessions in `neckcoach progress` and the report.
    Log headache-free days too (--headaches 0): a day left out is unknown, not headache-free.

    \b
    Examples:
      neckcoach diary add --headaches 2 --worst 6 --hours 3.5 --medication
      neckcoach diary add --headaches 0                    a day without headache
      neckcoach diary add --date yesterday                 asks each question in turn
      neckcoach diary list --weeks 4
      neckcoach diary remove 2026-03-01
    """


@diary.command("add", context_settings=CONTEXT_SETTINGS)
@click.option("--date", "day", type=_Day(), default="today", show_default=True,
              help="The day: YYYY-MM-DD, today or yesterday.")
@click.option("--headaches", type=click.IntRange(0, MAX_HEADACHES_PER_DAY), default=None,
              help="How many headaches that day (0 for none). Asked when left out.")
@click.option("--worst", type=click.IntRange(1, 10), default=None,
              help="Worst headache intensity, 1-10 (0 = no pain, 10 = worst imaginable).")
@click.option("--hours", type=click.FloatRange(0, 24), default=None, help="Total hours with a headache.")
@click.option("--medication/--no-medication", default=None, help="Medication taken for headache.")
@click.option("--note", default="", help="A few words, e.g. a trigger (at most 500 characters).")
def add(day: date, headaches: int | None, worst: int | None, hours: float | None, medication: bool | None,
        note: str) -> None:
    """Record one day of the headache diary (replaces an earlier entry for that day).

    \b
    Examples:
      neckcoach diary add --headaches 1 --worst 4 --hours 2 --no-medication
      neckcoach diary add --date 2026-03-01 --headaches 0
      neckcoach diary add                                  asks each question in turn
    """
    if headaches is None:  # the form: asked one by one
        headaches = click.prompt(f"Headaches on {day.isoformat()}", type=click.IntRange(0, MAX_HEADACHES_PER_DAY))
        if headaches:
            worst = click.prompt("Worst intensity (1-10)", type=click.IntRange(1, 10)) if worst is None else worst
            hours = click.prompt("Total hours", type=click.FloatRange(0, 24)) if hours is None else hours
        if medication is None:
            medication = click.confirm("Medication taken for headache?", default=False)
    if headaches == 0 and (worst is not None or hours):
        raise click.UsageError("--worst and --hours are for days with headaches; this day has --headaches 0")
    if headaches and worst is None:
        raise click.UsageError("give --worst (1-10) for a day with headaches")
    if len(note) > 500:
        raise click.UsageError(f"--note is {len(note)} characters; at most 500")
    if headaches == 0 and medication is None:
        medication = False
    entry = DiaryEntry(day=day, headaches=headaches, worst=worst if headaches else None,
                       hours=(hours if hours is not None else None) if headaches else None,
                       medication=medication, note=note)
    replaced = put_diary(entry)
    click.echo(f"Diary {day.isoformat()}: {entry.summary()}"
               + (" (replaced the earlier entry)." if replaced else "."))


@diary.command("list", context_settings=CONTEXT_SETTINGS)
@click.option("--weeks", type=click.IntRange(1, 520), default=None,
              help="Only the last N weeks (default: everything).")
def list_cmd(weeks: int | None) -> None:
    """Show the diary, oldest day first.

    \b
    Examples:
      neckcoach diary list
      neckcoach diary list --weeks 4
    """
    since = _today() - timedelta(days=7 * weeks - 1) if weeks else None
    entries, notes = list_diary(since)
    if not entries:
        click.echo(f"No diary entries yet (database: {db_path()}). Add one with `neckcoach diary add`.")
    else:
        click.echo(f"{'date':10}  {'headaches':>9}  {'worst':>5}  {'hours':>5}  medication  note")
        for e in entries:
            med = {True: "yes", False: "no", None: "-"}[e.medication]
            worst = "-" if e.worst is None else str(e.worst)
            hours = "-" if e.hours is None else f"{e.hours:.1f}"
            click.echo(f"{e.day.isoformat():10}  {e.headaches:>9}  {worst:>5}  {hours:>5}  {med:10}  {e.note}"
                       .rstrip())
        days = sum(1 for e in entries if e.headaches)
        click.echo(f"{len(entries)} day(s) logged, {days} with headache.")
    for note in notes:
        click.echo(f"note: {note}", err=True)


@diary.command("remove", context_settings=CONTEXT_SETTINGS)
@click.argument("day", type=_Day())
def remove(day: date) -> None:
    """Delete one day's entry (e.g. one entered for the wrong day).

    \b
    Example:
      neckcoach diary remove 2026-03-01
    """
    if not delete_diary(day):
        raise click.ClickException(f"there is no diary entry for {day.isoformat()}")
    click.echo(f"Removed the diary entry for {day.isoformat()}.")


__all__ = ["diary", "parse_day"]
