"""`tandem pair`, `tandem match close` and `tandem people`."""

from collections.abc import Sequence
from typing import Annotated

import typer

from bot import cli
from bot.cli.common import (
    app,
    fail,
    match_app,
    person_or_fail,
    program_or_fail,
    run_with_database,
    table,
    telegram_bot,
)
from bot.config import Settings
from conversations.kit.ending import AlreadyEnded, NotInProgram, close_match
from conversations.kit.introductions import Letter, introductions, send_letters
from storage.closure import Actor, ClosureReason
from storage.db import Database
from storage.models import Match, Program
from storage.pairing import create_match, participants, person_label


@app.command()
def pair(
    program: Annotated[str, typer.Argument(help="Program id or exact name.")],
    mentor: Annotated[str, typer.Argument(help="@username, Telegram id or #person-id.")],
    mentee: Annotated[str, typer.Argument(help="@username, Telegram id or #person-id.")],
) -> None:
    """Match a mentor with a mentee, and introduce them.

    Each partner gets an introduction to the other in their own language, as in the chat.
    """

    async def work(
        database: Database, settings: Settings
    ) -> tuple[Program, Match, str, str, list[str] | None]:
        async with database.session() as session:
            found = await program_or_fail(session, program)
            mentor_person = await person_or_fail(session, mentor)
            mentee_person = await person_or_fail(session, mentee)
            match = await create_match(
                session,
                program=found,
                mentor=mentor_person,
                mentee=mentee_person,
                now=cli.clock(),
                actor_label=cli.cli_actor(),
            )
            letters = await introductions(session, match)
        unreached = await _introduce(settings, letters)  # once the match is committed
        return found, match, person_label(mentor_person), person_label(mentee_person), unreached

    found, match, mentor_name, mentee_name, unreached = run_with_database(work)
    typer.echo(
        f"Match {match.id} in {found.name}: mentor {mentor_name}, mentee {mentee_name}, "
        f"planned end {match.planned_end:%Y-%m-%d}."
    )
    if unreached is None:
        typer.echo(
            "TELEGRAM_BOT_TOKEN is not set, so neither person was told: introduce them yourself.",
            err=True,
        )
    elif unreached:
        typer.echo(f"Could not reach {' and '.join(unreached)}: introduce them yourself.", err=True)
    else:
        typer.echo(f"Introduced {mentor_name} and {mentee_name} to each other.", err=True)


async def _introduce(settings: Settings, letters: list[Letter]) -> list[str] | None:
    """Send the new match's introductions; the names of those not reached, or None
    without a bot token."""
    async with telegram_bot(settings) as bot:
        return None if bot is None else await send_letters(bot, letters)


@match_app.command("close")
def match_close(
    program: Annotated[str, typer.Argument(help="Program id or exact name.")],
    match_id: Annotated[int, typer.Argument(help="The match id `tandem pair` printed.")],
    reason: Annotated[
        ClosureReason, typer.Option(help="Why the match ends.", case_sensitive=False)
    ],
) -> None:
    """End a match: both people get their closure survey.

    The match closes once both answered, or when the survey window is over.
    """

    async def work(database: Database, settings: Settings) -> tuple[Program, Match]:
        async with database.session() as session:
            found = await program_or_fail(session, program)
        actor = Actor(None, cli.cli_actor())
        async with telegram_bot(settings) as bot:  # edits the end request's alert copies
            try:
                ended = await close_match(
                    bot, database, found.id or 0, match_id, reason, actor, cli.clock()
                )
            except NotInProgram:
                fail(f"{found.name} has no match {match_id}.")
            except AlreadyEnded as error:
                fail(f"Match {match_id} is already {error.status}; nothing to close.")
        return found, ended.match

    found, match = run_with_database(work)
    typer.echo(f"Match {match.id} in {found.name} is closing ({match.closure_reason}).")


@app.command()
def people(program: Annotated[str, typer.Argument(help="Program id or exact name.")]) -> None:
    """Show everyone in a program.

    Shows each person's role, status, onboarding, language, time zone and partner.
    """

    async def work(database: Database, _: Settings) -> tuple[Program, list[Sequence[object]]]:
        async with database.session() as session:
            found = await program_or_fail(session, program)
            assert found.id is not None
            rows = await participants(session, found.id)
        return found, [
            (
                row.person.id,
                row.person.name,
                f"@{row.person.username}" if row.person.username else None,
                row.membership.role,
                row.person.status,
                "yes" if row.onboarded else "no",
                row.person.locale,
                row.person.timezone,
                row.partner_name,
            )
            for row in rows
        ]

    found, rows = run_with_database(work)
    if not rows:
        typer.echo(f"Nobody has joined {found.name} yet; `tandem invite` makes links.", err=True)
        return
    headers = ("ID", "NAME", "USERNAME", "ROLE", "STATUS", "ONBOARDED", "LOCALE", "TIME ZONE")
    typer.echo(table((*headers, "PARTNER"), rows))
