"""`tandem program create | list | configure`."""

from collections.abc import Sequence
from typing import Annotated, Any

import typer

from bot import cli, program_settings
from bot.cli.common import (
    audit,
    counted,
    fail,
    format_slot,
    program_app,
    program_or_fail,
    run_with_database,
    table,
)
from bot.config import Settings
from storage.db import Database
from storage.materialise import schedule_changed
from storage.models import Program
from storage.programs import (
    create_program,
    fixed_zone_advice,
    is_fixed_zone,
    list_programs_with_counts,
)
from storage.schedule import parse_slot, resolve_zone


@program_app.command("create")
def program_create(
    name: Annotated[str, typer.Argument(help="Unique program name.")],
    weeks: Annotated[int, typer.Option(help="How long a match lasts, in weeks.")] = 12,
    checkin: Annotated[
        str,
        typer.Option(help='Weekly check-in slot, e.g. "mon 09:00", "lundi 9h", "thu 18h30".'),
    ] = "mon 09:00",
    timezone: Annotated[
        str | None,
        typer.Option(
            help="Time zone of the check-in slot, e.g. America/Toronto or a city.",
            show_default="DEFAULT_TIMEZONE",
        ),
    ] = None,
    language: Annotated[
        str | None, typer.Option(help="Default language, en or fr.", show_default="DEFAULT_LOCALE")
    ] = None,
    track: Annotated[str | None, typer.Option(help="Free-text track, e.g. career, ECE.")] = None,
) -> None:
    """Create a program and print its id.

    A summary and the next step (inviting a coordinator) go to stderr.
    """
    slot = parse_slot(checkin)
    if slot is None:
        fail(
            f"Cannot read the check-in slot {checkin!r}: give a day and a time such as "
            '"mon 09:00", "monday 9am", "lundi 9h" or "jeu 18 h 30".'
        )
    weekday, at = slot
    zone = None
    if timezone is not None:
        if is_fixed_zone(timezone):
            fail(fixed_zone_advice(timezone))
        zone = resolve_zone(timezone)
        if zone is None:
            fail(
                f"{timezone!r} is not a time zone: give a name such as America/Toronto or "
                "America/Halifax, or a city such as Montreal."
            )

    async def work(database: Database, settings: Settings) -> Program:
        async with database.session() as session:
            created = await create_program(
                session,
                name=name,
                weeks=weeks,
                checkin_weekday=weekday,
                checkin_time=at,
                timezone=zone or settings.default_timezone,
                default_locale=(language or settings.default_locale).lower(),
                track=track,
                now=cli.clock(),
            )
            audit(
                session,
                "program.create",
                f"program:{created.id}",
                {"name": created.name, "weeks": created.weeks, "timezone": created.timezone},
            )
            return created

    program = run_with_database(work)
    typer.echo(program.id)
    track_note = f", track {program.track}" if program.track else ""
    typer.echo(
        f"Created program {program.id}, {program.name}: matches last {program.weeks} weeks, "
        f"weekly check-in {format_slot(program.checkin_weekday, program.checkin_time)} "
        f"{program.timezone}, language {program.default_locale}{track_note}.\n"
        "Next step: invite a coordinator (yourself first) and open the link in Telegram:\n"
        f"  tandem invite {program.id} --role coordinator",
        err=True,
    )


@program_app.command("list")
def program_list() -> None:
    """List the programs, their check-in slots and participants."""

    async def work(database: Database, _: Settings) -> list[Sequence[object]]:
        async with database.session() as session:
            summaries = await list_programs_with_counts(session)
        return [
            (
                summary.program.id,
                summary.program.name,
                summary.program.weeks,
                format_slot(summary.program.checkin_weekday, summary.program.checkin_time),
                summary.program.timezone,
                summary.participants,
            )
            for summary in summaries
        ]

    rows = run_with_database(work)
    if not rows:
        typer.echo("No programs yet; create one with `tandem program create NAME`.", err=True)
        return
    typer.echo(table(("ID", "NAME", "WEEKS", "CHECK-IN", "TIME ZONE", "PARTICIPANTS"), rows))


@program_app.command("configure")
def program_configure(
    program: Annotated[str, typer.Argument(help="Program id or exact name.")],
    assignments: Annotated[
        list[str] | None,
        typer.Argument(help="KEY=VALUE pairs, e.g. reminder_hours=12 flags.low_rating=2."),
    ] = None,
) -> None:
    """Show or change a program's settings.

    Without KEY=VALUE it lists every setting in force, the program's own and the defaults.
    Settings: reminder delay, instruments, meeting topics, expected contact, reflections.
    Flag thresholds and the weekly digest are set here too.
    """
    try:
        changes = [program_settings.parse_assignment(item) for item in assignments or []]
    except ValueError as error:
        fail(str(error))

    async def work(database: Database, _: Settings) -> tuple[Program, dict[str, Any]]:
        async with database.session() as session:
            found = await program_or_fail(session, program)
            if not changes:
                return found, dict(found.settings or {})
            settings = program_settings.apply(found.settings or {}, changes)
            found.settings = settings
            session.add(found)
            audit(
                session,
                "program.configure",
                f"program:{found.id}",
                {"changes": dict(changes)},
            )
            await schedule_changed(session)  # reminders and instruments apply from now
            return found, settings

    found, settings = run_with_database(work)
    rows = [
        (key, value, "program" if own else "default")
        for key, value, own in program_settings.in_force(settings)
    ]
    typer.echo(table(("SETTING", "VALUE", "SET BY"), rows))
    typer.echo(
        f"{counted(len(changes), 'setting')} changed in {found.name} (program {found.id})."
        if changes
        else f"Settings in force in {found.name} (program {found.id}); change one with "
        f"`tandem program configure {found.id} KEY=VALUE`.",
        err=True,
    )
