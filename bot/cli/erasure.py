"""`tandem person erase` and `tandem purge`: erasure on request and after retention."""

from collections.abc import Sequence
from typing import Annotated

import typer

from bot import cli
from bot.cli.common import (
    app,
    counted,
    fail,
    person_app,
    person_or_fail,
    program_or_fail,
    run_with_database,
    table,
    telegram_bot,
)
from bot.config import Settings
from conversations.kit.departure import Notice, erase, refresh_named_copies, send_notices
from conversations.kit.erasure import erasure_keeps
from storage.closure import Actor
from storage.db import Database
from storage.erasure import Erased, purge_expired
from storage.models import PersonStatus
from storage.pairing import person_label
from storage.people import memberships_of
from storage.retention import due_for_purge


async def _tell(
    settings: Settings, database: Database, notices: list[Notice], person_id: int
) -> int | None:
    """Send the departure notices and edit the alerts that named the person; how many
    notices failed, or None without a bot token."""
    async with telegram_bot(settings) as bot:
        if bot is None:
            return None
        failed = await send_notices(bot, notices)
        await refresh_named_copies(bot, database, person_id)
        return failed


def _told(failed: int | None) -> None:
    if failed is None:
        typer.echo(
            "TELEGRAM_BOT_TOKEN is not set, so nobody was told: tell their partner and the "
            "coordinators yourself.",
            err=True,
        )
    elif failed:
        typer.echo(f"{counted(failed, 'notice')} could not be delivered.", err=True)


@person_app.command("erase")
def person_erase(
    program: Annotated[str, typer.Argument(help="Program id or exact name.")],
    person: Annotated[str, typer.Argument(help="@username, Telegram id or #person-id.")],
    reason: Annotated[
        str, typer.Option(help="Why (kept in the audit trail), e.g. 'email of 3 May'.")
    ],
) -> None:
    """Erase a person of a program at their request (made by email, by phone…).

    Their name, account, profile and typed texts go; counts and taps stay, without a name.

    Their partner and the coordinators are told that they left, without the reason.
    """
    if not reason.strip():
        fail("--reason must say why, for the audit trail.")

    async def work(database: Database, settings: Settings) -> tuple[Erased, int | None]:
        async with database.session() as session:
            found = await program_or_fail(session, program)
            someone = await person_or_fail(session, person)
            programs = {
                membership.program_id
                for membership in await memberships_of(session, someone.id or 0)
            }
            if found.id not in programs:
                fail(f"{person_label(someone)} is not part of {found.name}.")
            if someone.status == PersonStatus.ERASED:
                fail(f"Person #{someone.id} is already erased.")
            erased, notices = await erase(
                session, someone, Actor(None, cli.cli_actor()), reason.strip(), cli.clock()
            )
        return erased, await _tell(settings, database, notices, erased.person_id)

    erased, failed = run_with_database(work)
    typer.echo(f"Erased person #{erased.person_id}; {len(erased.ended)} match(es) closed.")
    _told(failed)


@app.command()
def purge(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list who would be anonymised.")
    ] = False,
) -> None:
    """Anonymise the people whose programs are all past their retention.

    A program keeps data for retention.months (24 by default) after its last match closed.
    """

    async def work(database: Database, _: Settings) -> list[Sequence[object]]:
        now = cli.clock()
        async with database.session() as session:
            due = (
                await due_for_purge(session, now)
                if dry_run
                else await purge_expired(
                    session, now, Actor(None, cli.cli_actor()), keeps=erasure_keeps()
                )
            )
            rows: list[Sequence[object]] = [
                (person.id, person_label(person), expiry.program.name,
                 f"{expiry.last_closed:%Y-%m-%d}", f"{expiry.expires_at:%Y-%m-%d}")
                for person, expiry in due
            ]  # fmt: skip
        return rows

    rows = run_with_database(work)
    if not rows:
        typer.echo("Nobody is past their program's retention.", err=True)
        return
    typer.echo(table(("ID", "NAME", "PROGRAM", "LAST CLOSED", "KEPT UNTIL"), rows))
    done = "would be anonymized (dry run)" if dry_run else "anonymized"
    typer.echo(f"{counted(len(rows), 'person', 'people')} {done}.", err=True)
