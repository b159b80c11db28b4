"""Start-up: every way it can fail ends with one sentence, never a traceback; the token
and participants' words never reach the logs; errors in handlers are reported."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from sqlmodel import select
from telegram import BotCommandScopeChat, Update
from telegram.error import Conflict
from telegram.ext import CommandHandler

from bot.app import build_application
from bot.config import ConfigError, Settings, load_settings
from bot.logs import RedactToken
from bot.runner import StartupError, polling_errors, preflight
from conversations.kit.context import TandemContext
from storage.db import Database, DatabaseUrlError
from storage.models import Program
from storage.state import BOT_USERNAME, recall
from tests.conftest import ADMIN_ID, Bots
from tests.fakebot import BOT_TOKEN, FakeBotApi

ROOT = Path(__file__).resolve().parents[1]
COORDINATOR_MENU = [
    "flags", "matches", "match", "dashboard", "report", "broadcast",
    "invite", "pair", "people", "export",
]  # fmt: skip


def run_bot(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot` in an empty directory (no .env), with only the given settings."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith("TELEGRAM")}
    clean.pop("DATABASE_URL", None)
    clean["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "TELEGRAM_BOT_TOKEN is not set"),
        ({"TELEGRAM_BOT_TOKEN": "not-a-token"}, "does not look like a bot token"),
        (
            {"TELEGRAM_BOT_TOKEN": BOT_TOKEN, "DATABASE_URL": "mysql://x@y/z"},
            "DATABASE_URL must point at SQLite or PostgreSQL",
        ),
        (
            {"TELEGRAM_BOT_TOKEN": BOT_TOKEN, "DATABASE_URL": "::nonsense::"},
            "is not a database URL",
        ),
        (
            {"TELEGRAM_BOT_TOKEN": BOT_TOKEN, "DEFAULT_TIMEZONE": "Mars/Olympus"},
            "is not a time zone name",
        ),
        (
            {
                "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
                "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
            },
            "Cannot open the database",
        ),
        (
            # Nothing listens on port 9 of this machine: the Bot API is unreachable.
            {"TELEGRAM_BOT_TOKEN": BOT_TOKEN, "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot"},
            "Cannot reach the Telegram Bot API",
        ),
    ],
)
def test_start_up_failures_are_one_sentence(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    result = run_bot(tmp_path, **env)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert BOT_TOKEN not in result.stderr + result.stdout


async def test_rejected_token_is_one_sentence(tmp_path: Path, settings: Settings) -> None:
    api = FakeBotApi()
    api.fail_next("getMe", error_code=401, description="Unauthorized")
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    with pytest.raises(StartupError, match="Telegram rejected TELEGRAM_BOT_TOKEN"):
        await preflight(settings, database, request=api)


async def test_preflight_migrates_and_names_the_bot(tmp_path: Path, settings: Settings) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    assert await preflight(settings, database, request=FakeBotApi()) == "tandem_test_bot"
    async with database.session() as session:
        assert (await session.exec(select(Program))).all() == []  # the schema exists
    await database.dispose()


async def test_building_the_application_warns_about_nothing(
    settings: Settings, database: Database
) -> None:
    """A warning at start-up reads as an error to a coordinator: the application, all its
    dialogues included, is built without one (PTB's per_message note among them)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        application = build_application(settings, database, request=FakeBotApi())
    assert [str(warning.message) for warning in caught] == []
    assert application.handlers[0]  # the dialogues are registered all the same


def test_settings_read_admin_ids_and_normalise_urls() -> None:
    settings = load_settings(
        _env_file=None,
        admin_telegram_ids="12, 34 56",
        database_url="postgres://u@h/db",
    )
    assert settings.admin_telegram_ids == frozenset({12, 34, 56})
    assert settings.database_url == "postgresql+asyncpg://u@h/db"
    with pytest.raises(ConfigError, match="ADMIN_TELEGRAM_IDS must be numeric"):
        load_settings(_env_file=None, admin_telegram_ids="12,abc")
    with pytest.raises(DatabaseUrlError):
        Database("oracle://x@y/z")


def test_token_is_redacted_from_logs(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("httpx-test")
    logger.addFilter(RedactToken(BOT_TOKEN))
    with caplog.at_level(logging.INFO):
        logger.info("HTTP Request: POST https://api.telegram.org/bot%s/getMe", BOT_TOKEN)
    assert BOT_TOKEN not in caplog.text
    assert "bot<token>/getMe" in caplog.text


async def test_menus_are_published_per_language(bots: Bots, database: Database) -> None:
    await bots.application.post_init(bots.application)
    english = [command["command"] for command in bots.api.commands_for(None, "en")]
    french = bots.api.commands_for(None, "fr")
    assert english == [
        "checkin", "log", "logs", "goals", "reflect", "journal", "skip", "pause", "resume",
        "endmatch", "certificate", "start", "help", "settings", "language", "cancel",
        "mydata", "deleteme",
    ]  # fmt: skip
    assert "invite" not in english
    assert french[0]["description"] == "Répondre au suivi de cette semaine"
    admin_menu = [
        command["command"] for command in bots.api.commands_for(BotCommandScopeChat(ADMIN_ID), "")
    ]
    assert admin_menu[-11:] == [*COORDINATOR_MENU, "newprogram"]
    async with database.session() as session:
        assert await recall(session, BOT_USERNAME) == "tandem_test_bot"


async def test_coordinator_menu_only_in_coordinators_chats(tg, invite, bots: Bots) -> None:
    coordinator = tg.user(42, "Nadia", language_code="fr")
    await coordinator.send(f"/start {await invite('coordinator')}")
    await coordinator.tap("Français")
    await coordinator.tap("Oui, j’accepte")
    await coordinator.tap("Garder « Nadia »")
    await coordinator.tap("Est (Montréal, Toronto, Ottawa)")
    await coordinator.tap("✅ C’est parfait")
    assert "À titre de membre de l’équipe de coordination" in coordinator.last.text
    menu = bots.api.commands_for(BotCommandScopeChat(42), "")
    assert [command["command"] for command in menu][-10:] == COORDINATOR_MENU
    assert menu[-2]["description"] == "Les personnes de vos programmes"


async def test_a_crashing_handler_apologises_logs_no_text_and_tells_admins(
    bots: Bots, caplog: pytest.LogCaptureFixture
) -> None:
    async def explode(update: Update, ctx: TandemContext) -> None:
        raise RuntimeError("boom")

    bots.application.add_handler(CommandHandler("explode", explode), group=-2)
    assert bots.telegram is not None
    bots.telegram.raise_errors = False
    user = bots.telegram.user(77, "Omar", language_code="fr")
    with caplog.at_level(logging.ERROR):
        await user.send("/explode my secret words")
    replies = [message.text for message in user.new_messages()]
    assert any("Vos réponses données jusqu’ici sont enregistrées" in text for text in replies)
    assert "secret" not in caplog.text
    assert "RuntimeError" in caplog.text
    admin_messages = [message.text for message in bots.api.visible(ADMIN_ID)]
    assert admin_messages and "RuntimeError" in admin_messages[-1]
    assert "secret" not in admin_messages[-1]


async def test_conflicts_are_logged_once_and_never_sent_to_admins(
    bots: Bots, caplog: pytest.LogCaptureFixture
) -> None:
    """Another process polling with the same token: 409 Conflict every few seconds."""
    callback = polling_errors(bots.application)
    with caplog.at_level(logging.WARNING):
        for _ in range(25):
            callback(Conflict("Conflict: terminated by other getUpdates request"))
            await bots.application.process_error(update=None, error=Conflict("Conflict"))
        await asyncio.sleep(0)
    assert bots.api.visible(ADMIN_ID) == []
    assert caplog.text.count("409 Conflict") == 2  # one line from each path, once


def test_start_up_leaves_the_one_command_libraries_unloaded(tmp_path: Path) -> None:
    """matplotlib (/report, certificates), fpdf2 (certificates), qrcode (printed invites)
    and openpyxl (exports) weigh tens of MiB; the bot imports them when a command needs
    them, not to start."""
    script = (
        "import sys\n"
        "from bot.app import build_application\n"
        "from bot.config import Settings\n"
        "from storage.db import Database\n"
        f"url = 'sqlite+aiosqlite:///{tmp_path / 'tandem.db'}'\n"
        f"settings = Settings(_env_file=None, telegram_bot_token={BOT_TOKEN!r}, database_url=url)\n"
        "build_application(settings, Database(url))\n"
        "heavy = ('matplotlib', 'fpdf', 'qrcode', 'openpyxl', 'PIL')\n"
        "print(sorted(name for name in heavy if name in sys.modules))\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert ran.stdout.strip() == "[]"
