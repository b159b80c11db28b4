"""The admin command line: `tandem run`, `tandem db upgrade`, programs, invites, pairing.

Output is for admins and stays in English. Anything a script may want to capture (a new
program's id, invite links) goes to stdout alone; notes go to stderr. Every expected
problem is one sentence on stderr and exit code 2, never a traceback.
"""

import asyncio
import getpass
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot
from telegram.error import InvalidToken, TelegramError
from telegram.request import BaseRequest, HTTPXRequest

from bot import program_settings
from bot.config import ConfigError, Settings, bot_username, load_settings
from bot.qr import write_captioned_qr
from conversations.export import export_codebook
from conversations.kit.departure import Notice, erase, refresh_named_copies, send_notices
from conversations.kit.ending import AlreadyEnded, NotInProgram, close_match
from conversations.kit.erasure import erasure_keeps
from conversations.kit.introductions import Letter, introductions, send_letters
from storage.clock import Clock, utcnow
from storage.closure import Actor, ClosureReason
from storage.db import Database, DatabaseUrlError
from storage.erasure import Erased, purge_expired
from storage.exports import (
    FORMATS,
    export_bytes,
    export_tables,
    record_export,
    row_counts,
)
from storage.exports import file_name as export_file_name
from storage.invites import create_invites, invite_link
from storage.migrate import Migration, head_revision, upgrade
from storage.models import AuditEvent, Invite, Match, Person, PersonStatus, Program, Role
from storage.pairing import (
    PairingError,
    ParticipantRow,
    create_match,
    participants,
    person_label,
    resolve_person,
)
from storage.people import memberships_of
from storage.programs import (
    ProgramError,
    create_program,
    fixed_zone_advice,
    is_fixed_zone,
    list_programs_with_counts,
    program_by_ref,
    zone_or_none,
)
from storage.prompts import (
    Participant,
    pause_over,
    planned_checkins,
    schedule_changed,
    scheduled_participants,
)
from storage.retention import due_for_purge
from storage.schedule import parse_slot, resolve_zone
from storage.state import BOT_USERNAME, recall, remember

T = TypeVar("T")
EXIT_PROBLEM = 2
MAX_INVITES = 1000
DAY_ABBREVIATIONS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
NOTHING = "—"

# Where "now" comes from; tests replace it with their clock.
clock: Clock = utcnow
# How messages reach the Bot API; tests replace it with their fake Bot API.
telegram_request: Callable[[], BaseRequest] = HTTPXRequest

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


def main() -> None:
    """Entry point of the `tandem` console script."""
    app()


# --- shared plumbing -------------------------------------------------------------------


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


async def _program(session: AsyncSession, ref: str) -> Program:
    program = await program_by_ref(session, ref)
    if program is None:
        fail(f"No program has the id or name {ref!r}; `tandem program list` shows them.")
    return program


async def _person(session: AsyncSession, ref: str) -> Person:
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


def cli_actor() -> str:
    """How the audit trail names an action taken on the command line: "cli" and the
    operating-system user who ran it ("cli ana"); no person row stands behind it."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (some containers)
        return "cli"
    return f"cli {' '.join(user.split())}"[:120]


def audit(session: AsyncSession, action: str, subject: str, detail: dict[str, object]) -> None:
    """Record a command-line action the way the chat records its own (actor_id None)."""
    session.add(
        AuditEvent(
            actor_id=None,
            actor_label=cli_actor(),
            action=action,
            subject=subject,
            detail={**detail, "source": "cli"},
            at=clock(),
        )
    )


# --- run and db -----------------------------------------------------------------------


@app.command()
def run() -> None:
    """Run the bot: long polling, or a webhook when WEBHOOK_URL is set."""
    try:
        from bot.runner import run_bot  # lazily: the admin commands work without it
    except ModuleNotFoundError as error:
        if error.name != "bot.runner":
            raise
        fail("This installation has no bot runner (bot/runner.py is missing).")
    try:
        run_bot()
    except (ConfigError, DatabaseUrlError) as error:
        fail(str(error))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the missing migrations and name them (safe to repeat)."""

    async def work(database: Database, _: Settings) -> tuple[str, list[Migration]]:
        applied = await upgrade(database)
        return database.url.render_as_string(hide_password=True), applied

    where, applied = run_with_database(work)
    if not applied:
        typer.echo(f"Database {where} is already up to date (revision {head_revision()}).")
        return
    typer.echo(f"Applied {counted(len(applied), 'migration')} to {where}:")
    for migration in applied:
        typer.echo(f"  {migration.revision}  {migration.message}")
    typer.echo(f"The database is now at revision {applied[-1].revision}.")


# --- programs -------------------------------------------------------------------------


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
                now=clock(),
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
            found = await _program(session, program)
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


# --- invites --------------------------------------------------------------------------


def _scrub(text: str, secret: str) -> str:
    return text.replace(secret, "<token>")


async def ask_telegram_username(settings: Settings) -> str:
    """Ask Telegram for the bot's username with one getMe call."""
    if settings.telegram_bot_token is None:
        fail(
            "The bot's username is not known yet: pass --bot-username NAME or set BOT_USERNAME "
            "(the @username BotFather gave your bot), set TELEGRAM_BOT_TOKEN so this command "
            "can ask Telegram, or start the bot once (`tandem run`)."
        )
    token = settings.require_token()
    # One request object we close ourselves; Bot.initialize() would call getMe a second
    # time and put the token in its error message.
    request = HTTPXRequest()
    bot = Bot(
        token,
        base_url=settings.telegram_api_base_url,
        request=request,
        get_updates_request=request,
    )
    try:
        me = await bot.get_me()
    except InvalidToken:
        fail("Telegram rejected TELEGRAM_BOT_TOKEN; copy it again from @BotFather.")
    except TelegramError as error:
        fail(
            f"Could not ask Telegram for the bot's username ({_scrub(str(error), token)}); "
            "try again, or start the bot once so it remembers its username."
        )
    finally:
        await request.shutdown()
    if not me.username:
        fail("Telegram did not return a username for this bot token.")
    return me.username


def _role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        fail(f"The role must be one of {', '.join(Role)}, not {value!r}.")


def _write_qr_codes(
    directory: Path, program: Program, role: Role, links: Sequence[tuple[Invite, str]]
) -> None:
    """One PNG per invite, named <role>-<code>.png, captioned with the program, the role
    and the expiry (in the program's time zone); paths are echoed to stderr."""
    zone = zone_or_none(program.timezone) or UTC
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for item, link in links:
            path = directory / f"{role}-{item.code}.png"
            expires = item.expires_at.astimezone(zone)
            caption = (program.name, f"{role} invite", f"expires {expires:%Y-%m-%d %H:%M} {zone}")
            write_captioned_qr(path, link, caption)
            typer.echo(path, err=True)
    except OSError as error:
        fail(f"Cannot write QR codes to {directory}: {error.strerror or error}.")


@app.command()
def invite(
    program: Annotated[str, typer.Argument(help="Program id or exact name.")],
    role: Annotated[str, typer.Option(help="mentee, mentor or coordinator.")],
    count: Annotated[int, typer.Option(help="How many invite links to make.")] = 1,
    expires_days: Annotated[int, typer.Option(help="Days until the links expire.")] = 30,
    max_uses: Annotated[int, typer.Option(help="How many people may use each link.")] = 1,
    qr_dir: Annotated[
        Path | None, typer.Option(help="Also write one QR code PNG per link in this folder.")
    ] = None,
    bot_name: Annotated[
        str | None,
        typer.Option(
            "--bot-username",
            help="The bot's @username, so links can be made offline.",
            show_default="BOT_USERNAME, else the name the bot learned, else ask Telegram",
        ),
    ] = None,
) -> None:
    """Create invite links for people to join a program in a role.

    Prints one link per line; a summary goes to stderr.
    """
    chosen_role = _role(role)
    if not 1 <= count <= MAX_INVITES:
        fail(f"--count must be between 1 and {MAX_INVITES}.")
    if expires_days < 1:
        fail("--expires-days must be at least 1.")
    if max_uses < 1:
        fail("--max-uses must be at least 1.")
    try:
        given_username = None if bot_name is None else bot_username(bot_name)
    except ValueError as error:
        fail(f"--bot-username: {error}.")

    async def work(database: Database, settings: Settings) -> tuple[Program, str, list[Invite]]:
        now = clock()
        username = given_username or settings.bot_username
        async with database.session() as session:
            found = await _program(session, program)
            if username is None:
                username = await recall(session, BOT_USERNAME)
        learned = username is None
        if learned:  # outside any transaction: Telegram may be slow
            username = await ask_telegram_username(settings)
        async with database.session() as session:
            if learned:
                await remember(session, BOT_USERNAME, username, now)
            assert found.id is not None
            invites = await create_invites(
                session,
                program_id=found.id,
                role=chosen_role,
                now=now,
                count=count,
                expires_days=expires_days,
                max_uses=max_uses,
            )
            audit(
                session,
                "invite.create",
                f"program:{found.id}",
                {
                    "role": chosen_role,
                    "count": count,
                    "invites": [item.id for item in invites],
                    "max_uses": max_uses,
                    "expires_days": expires_days,
                },
            )
        return found, str(username), invites

    found, username, invites = run_with_database(work)
    links = [(item, invite_link(username, item.code)) for item in invites]
    for _, link in links:
        typer.echo(link)
    uses = "single use" if max_uses == 1 else f"up to {max_uses} uses each"
    typer.echo(
        f"{counted(len(invites), f'{chosen_role} invite')} for {found.name} (program {found.id}), "
        f"{uses}, expiring {invites[0].expires_at:%Y-%m-%d %H:%M} UTC.",
        err=True,
    )
    if qr_dir is not None:
        _write_qr_codes(qr_dir, found, chosen_role, links)


# --- pairing and people ---------------------------------------------------------------


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
            found = await _program(session, program)
            mentor_person = await _person(session, mentor)
            mentee_person = await _person(session, mentee)
            match = await create_match(
                session,
                program=found,
                mentor=mentor_person,
                mentee=mentee_person,
                now=clock(),
                actor_label=cli_actor(),
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


@asynccontextmanager
async def _telegram_bot(settings: Settings) -> AsyncIterator[Bot | None]:
    """The bot to send through, or None without a bot token."""
    if settings.telegram_bot_token is None:
        yield None
        return
    request = telegram_request()
    try:
        yield Bot(
            settings.require_token(),
            base_url=settings.telegram_api_base_url,
            request=request,
            get_updates_request=request,
        )
    finally:
        await request.shutdown()


async def _introduce(settings: Settings, letters: list[Letter]) -> list[str] | None:
    """Send the new match's introductions; the names of those not reached, or None
    without a bot token."""
    async with _telegram_bot(settings) as bot:
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
            found = await _program(session, program)
        actor = Actor(None, cli_actor())
        async with _telegram_bot(settings) as bot:  # edits the end request's alert copies
            try:
                ended = await close_match(
                    bot, database, found.id or 0, match_id, reason, actor, clock()
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
            found = await _program(session, program)
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


# --- erasure --------------------------------------------------------------------------


async def _tell(
    settings: Settings, database: Database, notices: list[Notice], person_id: int
) -> int | None:
    """Send the departure notices and edit the alerts that named the person; how many
    notices failed, or None without a bot token."""
    async with _telegram_bot(settings) as bot:
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
            found = await _program(session, program)
            someone = await _person(session, person)
            programs = {
                membership.program_id
                for membership in await memberships_of(session, someone.id or 0)
            }
            if found.id not in programs:
                fail(f"{person_label(someone)} is not part of {found.name}.")
            if someone.status == PersonStatus.ERASED:
                fail(f"Person #{someone.id} is already erased.")
            erased, notices = await erase(
                session, someone, Actor(None, cli_actor()), reason.strip(), clock()
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
        now = clock()
        async with database.session() as session:
            due = (
                await due_for_purge(session, now)
                if dry_run
                else await purge_expired(
                    session, now, Actor(None, cli_actor()), keeps=erasure_keeps()
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


# --- exports --------------------------------------------------------------------------


@app.command("export")
def export(
    program: Annotated[str, typer.Argument(help="Program id or exact name.")],
    export_format: Annotated[
        str, typer.Option("--format", help="xlsx (one sheet per table) or csv (a zip).")
    ] = "xlsx",
    out: Annotated[
        Path | None,
        typer.Option(help="File to write.", show_default="tandem-PROGRAM-DATE.xlsx or .zip, here"),
    ] = None,
) -> None:
    """Export a program's data for a spreadsheet.

    Participants, matches, answers, logs, goals, flags and audit events, one sheet each.
    Prints the file's path; the row counts go to stderr.
    """
    chosen = export_format.strip().lower()
    if chosen not in FORMATS:
        fail(f"--format must be xlsx or csv, not {export_format!r}.")

    async def work(database: Database, _: Settings) -> tuple[Path, dict[str, int]]:
        now = clock()
        async with database.session() as session:
            found = await _program(session, program)
            assert found.id is not None
            tables = await export_tables(session, found.id, export_codebook())
            target = out or Path(export_file_name(found.name, now.date(), chosen))
            try:
                target.write_bytes(export_bytes(tables, chosen))
            except OSError as error:
                fail(f"Cannot write the export to {target}: {error.strerror or error}.")
            record_export(
                session,
                found.id,
                tables,
                export_format=chosen,
                actor_id=None,
                actor_label=cli_actor(),
                now=now,
            )
        return target, row_counts(tables)

    target, counts = run_with_database(work)
    typer.echo(target)
    for name, rows in counts.items():
        typer.echo(f"{name}: {counted(rows, 'row')}", err=True)


# --- schedule preview -----------------------------------------------------------------

MAX_PREVIEW_DAYS = 366


def _local_time(moment: datetime, participant: Participant) -> str:
    assert participant.slot is not None
    local = moment.astimezone(participant.slot.zone)
    return (
        f"{DAY_ABBREVIATIONS[local.weekday()]} {local:%Y-%m-%d %H:%M} {participant.slot.zone.key}"
    )


def _why_not_scheduled(participant: Participant, now: datetime) -> str | None:
    """Why someone in an active match gets no check-ins now, or None when they do (a
    pause that is over ends at the dispatcher's next scan)."""
    if participant.slot is None:
        return "no valid time zone"
    if participant.status == PersonStatus.PAUSED:
        if pause_over(participant.paused_until, participant.slot.zone.key, now):
            return None
        until = participant.paused_until
        return f"paused until {until:%Y-%m-%d}" if until else "paused (no end date)"
    if participant.status != PersonStatus.ACTIVE:
        return str(participant.status)
    return None


def _why_unmatched(row: ParticipantRow) -> str:
    """Why a mentor or mentee with no open match gets no check-ins."""
    if row.person.status in (PersonStatus.CLOSED, PersonStatus.UNREACHABLE):
        return f"not matched ({row.person.status})"
    if not row.onboarded:
        return "not matched yet (onboarding not finished)"
    return "not matched yet (`tandem pair` matches them)"


@app.command()
def schedule(
    program: Annotated[str, typer.Argument(help="Program id or exact name.")],
    days: Annotated[int, typer.Option(help="How many days ahead to look.")] = 7,
) -> None:
    """Preview the check-ins of the next days, and who is not prompted.

    Shows to whom, which check-in and when, in local time and UTC.
    Computed from the participants' slots; nothing is written.
    """
    if not 1 <= days <= MAX_PREVIEW_DAYS:
        fail(f"--days must be between 1 and {MAX_PREVIEW_DAYS}.")
    now = clock()

    async def work(
        database: Database, _: Settings
    ) -> tuple[Program, list[Participant], dict[int, str], list[tuple[str, str, str]]]:
        async with database.session() as session:
            found = await _program(session, program)
            assert found.id is not None
            people = await scheduled_participants(session, program_id=found.id, active_only=False)
            ids = {someone.person_id for someone in people}
            labels = {
                person.id or 0: person_label(person)
                for person in await session.exec(select(Person).where(col(Person.id).in_(ids)))
            }
            unmatched = [
                (person_label(row.person), str(row.membership.role), _why_unmatched(row))
                for row in await participants(session, found.id)
                if row.match is None and row.membership.role in (Role.MENTOR, Role.MENTEE)
            ]
        return found, people, labels, unmatched

    found, people, labels, unmatched = run_with_database(work)
    assert found.id is not None
    end = now + timedelta(days=days)
    planned = sorted(
        planned_checkins(people, {found.id: found.settings or {}}, now, end),
        key=lambda pair: (pair[1].occurrence.due_at, labels[pair[0].person_id]),
    )
    rows = [
        (
            f"{item.occurrence.due_at:%Y-%m-%d %H:%M}",
            _local_time(item.occurrence.due_at, someone),
            labels[someone.person_id],
            someone.role,
            "pulse" if item.occurrence.pulse else "weekly",
            item.instrument,
        )
        for someone, item in planned
    ]
    waiting = sorted(
        [
            *(
                (labels[someone.person_id], str(someone.role), reason)
                for someone in people
                if (reason := _why_not_scheduled(someone, now)) is not None
            ),
            *unmatched,
        ]
    )
    span = f"{now:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
    if rows:
        typer.echo(table(("UTC", "LOCAL TIME", "NAME", "ROLE", "CHECK-IN", "INSTRUMENT"), rows))
    else:
        typer.echo(f"No check-ins in {found.name} from {span}.", err=True)
    if waiting:
        typer.echo("")
        typer.echo(table(("NOT PROMPTED NOW", "ROLE", "WHY"), waiting))
    typer.echo(f"{counted(len(rows), 'check-in')} in {found.name} from {span}.", err=True)
