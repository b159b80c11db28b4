"""The error handler without the database (issue 11, point 7): during an outage a
participant who writes gets an apology in their Telegram language, each failed update is
logged once, and no log line carries what they wrote."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.logs import LIBRARY_LEVELS, quiet_libraries
from conversations.kit.context import SERVICES
from storage.db import Database
from storage.models import Program
from tests.conftest import Bots, FakeClock
from tests.harness import FakeTelegram
from tests.test_checkin import ALICE, add_pair

SECRET = "my-secret-words-4242"


@pytest.fixture
def production_logging(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Everything logged at DEBUG and above, with the library levels the bot runs with."""
    saved = {name: logging.getLogger(name).level for name in LIBRARY_LEVELS}
    quiet_libraries()
    caplog.set_level(logging.DEBUG)
    yield caplog
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


async def cut_the_database(bots: Bots, tmp_path: Path) -> Database:
    """Every later read and write fails, as in an outage (a file that cannot be opened)."""
    broken = Database(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'gone.db'}")
    application = bots.application
    services = application.bot_data[SERVICES]
    application.bot_data[SERVICES] = dataclasses.replace(services, database=broken)
    application.persistence.database = broken
    return broken


@pytest.mark.parametrize(
    ("language_code", "apology"),
    [("fr-CA", "Désolé"), ("en", "Sorry, something went wrong on my side.")],
)
async def test_outage_apology_in_telegram_language_logged_once_without_the_text(
    bots: Bots,
    tg: FakeTelegram,
    database: Database,
    program: Program,
    clock: FakeClock,
    tmp_path: Path,
    production_logging: pytest.LogCaptureFixture,
    language_code: str,
    apology: str,
) -> None:
    await add_pair(database, program, clock)  # Alice's stored language is English
    tg.raise_errors = False
    alice = tg.user(ALICE, "Alice", language_code=language_code)
    broken = await cut_the_database(bots, tmp_path)

    await alice.send(f"45m yesterday video: {SECRET}")

    assert apology in alice.last.text
    records = production_logging.records
    errors = [record for record in records if record.levelno >= logging.WARNING]
    assert len(errors) == 1, [record.getMessage() for record in errors]
    assert SECRET not in production_logging.text
    await broken.dispose()


async def test_a_failed_write_never_logs_its_parameters(
    database: Database, production_logging: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(DBAPIError) as failure:
        async with database.session() as session:
            await session.exec(  # type: ignore[call-overload]
                text("INSERT INTO no_such_table (note) VALUES (:note)"), params={"note": SECRET}
            )
    logging.getLogger("test").error("failed", exc_info=failure.value)
    assert SECRET not in str(failure.value)
    assert SECRET not in production_logging.text
