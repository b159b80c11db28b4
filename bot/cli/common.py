"""What every `tandem` command shares: the command groups, settings and database
plumbing, lookups that fail with one sentence, plain tables and the audit trail."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import time
from typing import NoReturn, TypeVar

import typer
from sqlalchemy.exc import DBAPIError
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot

from bot import cli
from bot.config import ConfigError, Settings, load_settings
from storage.db import Database, DatabaseUrlError
from storage.models import AuditEvent, Person, Program
from storage.pairing import PairingError, resolve_person
from storage.programs import ProgramError, program_by_ref

T = TypeVar("T")
EXIT_PROBLEM = 2
MAX_INVITES = 1000
DAY_ABBREVIATIONS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
NOTHING = "—"

app = typer.Typer(
    name="tandem",
    help="Tandem mentorship bot: run it, and manage programs, invites and matches.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals could hold the bot token
)
db_app = typer.Typer(help="Create or upgrade the database schema.", no_args_is_help=True)
program_app = typer.Typer(help="Create, list and configure programs.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(program_app, name="program")
match_app = typer.Typer(help="Manage matches.", no_args_is_help=True)
app.add_typer(match_app, name="match")
person_app = typer.Typer(help="Manage people: erase one on request.", no_args_is_help=True)
app.add_typer(person_app, name="person")


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """'1 row', '3 rows', '2 people': the CLI speaks English, with real plurals."""
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def fail(message: str) -> NoReturn:
    """Print one sentence for the admin and stop with exit code 2."""
    typer.echo(message, err=True)
    raise typer.Exit(EXIT_PROBLEM)


def _load_settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as error:
        fail(str(error))


def _database_problem(error: Exception, database: Database) -> str:
    original = getattr(error, "orig", None) or error
    text = (str(original).strip().splitlines() or [type(original).__name__])[0]
    if "no such table" in text or ("relation" in text and "does not exist" in text):
        return "The database has no Tandem tables yet: run `tandem db upgrade` first."
    where = database.url.render_as_string(hide_password=True)
    return f"Cannot use the database at {where}: {text}"


def run_with_database(work: Callable[[Database, Settings], Awaitable[T]]) -> T:
    """Load the settings, open the database, run `work` in a fresh event loop and close the
    database again, turning configuration, database and domain errors into `fail`."""
    settings = _load_settings()
    try:
        database = Database(settings.database_url)
    except DatabaseUrlError as error:
        fail(str(error))

    async def scoped() -> T:
        try:
            return await work(database, settings)
        finally:
            await database.dispose()

    try:
        return asyncio.run(scoped())
    except (ProgramError, PairingError) as error:
        fail(str(error))
    except (DBAPIError, OSError) as error:
        fail(_database_problem(error, database))


async def program_or_fail(session: AsyncSession, ref: str) -> Program:
    program = await program_by_ref(session, ref)
    if program is None:
        fail(f"No program has the id or name {ref!r}; `tandem program list` shows them.")
    return program


async def person_or_fail(session: AsyncSession, ref: str) -> Person:
    person = await resolve_person(session, ref)
    if person is None:
        fail(
            f"Nobody matches {ref!r}; give an @username, a Telegram id or #<person id> "
            "(see `tandem people PROGRAM`)."
        )
    return person


def _cell(value: object) -> str:
    """A table cell on one line: names and notes can hold newlines and runs of spaces."""
    return NOTHING if value is None or value == "" else " ".join(str(value).split())


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Plain left-aligned columns, a rule under the headers."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in cells:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    lines = [headers, ["-" * width for width in widths], *cells]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def format_slot(weekday: int, at: time) -> str:
    return f"{DAY_ABBREVIATIONS[weekday]} {at:%H:%M}"


def audit(session: AsyncSession, action: str, subject: str, detail: dict[str, object]) -> None:
    """Record a command-line action the way the chat records its own (actor_id None)."""
    session.add(
        AuditEvent(
            actor_id=None,
            actor_label=cli.cli_actor(),
            action=action,
            subject=subject,
            detail={**detail, "source": "cli"},
            at=cli.clock(),
        )
    )


@asynccontextmanager
async def telegram_bot(settings: Settings) -> AsyncIterator[Bot | None]:
    """The bot to send through, or None without a bot token."""
    if settings.telegram_bot_token is None:
        yield None
        return
    request = cli.telegram_request()
    try:
        yield Bot(
            settings.require_token(),
            base_url=settings.telegram_api_base_url,
            request=request,
            get_updates_request=request,
        )
    finally:
        await request.shutdown()
