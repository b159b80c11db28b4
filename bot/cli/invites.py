"""`tandem invite`: invite links, and QR codes to print."""

from collections.abc import Sequence
from datetime import UTC
from pathlib import Path
from typing import Annotated

import typer
from telegram import Bot
from telegram.error import InvalidToken, TelegramError
from telegram.request import HTTPXRequest

from bot import cli
from bot.cli.common import (
    MAX_INVITES,
    app,
    audit,
    counted,
    fail,
    program_or_fail,
    run_with_database,
)
from bot.config import Settings, bot_username
from bot.qr import write_captioned_qr
from storage.db import Database
from storage.invites import create_invites, invite_link
from storage.models import Invite, Program, Role
from storage.programs import zone_or_none
from storage.state import BOT_USERNAME, recall, remember


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
        now = cli.clock()
        username = given_username or settings.bot_username
        async with database.session() as session:
            found = await program_or_fail(session, program)
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
