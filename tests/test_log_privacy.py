"""What participants write never reaches the logs, at any level: a whole scenario
(onboarding, a check-in with a typed note, a meeting log, goals, a broadcast, /mydata and
/deleteme) runs with logging configured as `bot.logs` does it at DEBUG, every record of
every logger is captured, and none holds a word a participant or coordinator wrote."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.dispatch import Dispatcher
from bot.logs import LIBRARY_LEVELS, configure_logging, quiet_libraries
from conversations import broadcast, checkin
from conversations.kit import alerting as alerts
from storage.db import Database
from storage.models import Program
from tests.builders import add_coordinator, join_and_pair_in_chat
from tests.conftest import FakeClock
from tests.fakebot import BOT_TOKEN
from tests.harness import FakeTelegram

MARKERS = ("Zorblaxine", "Quuxworth", "Frobnitzology", "landWibbleJob", "noteGlorpish",
           "logSnargleNote", "broadcastFizzgig")  # fmt: skip


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.lines.append(f"{record.name} {record.levelname} {text}")


@pytest.fixture
def captured() -> Iterator[Captured]:
    """Logging as the bot sets it up at DEBUG, everything captured; restored afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in LIBRARY_LEVELS}
    configure_logging("DEBUG", BOT_TOKEN)
    handler = Captured()
    root.addHandler(handler)
    yield handler
    root.handlers[:], _ = saved
    root.setLevel(saved[1])
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


async def test_a_whole_scenario_logs_nothing_anyone_wrote(
    tg: FakeTelegram,
    database: Database,
    program: Program,
    invite,
    clock: FakeClock,
    captured: Captured,
) -> None:
    clock.now = datetime(2026, 11, 15, 20, 0, tzinfo=UTC)
    alice, _robert = await join_and_pair_in_chat(
        tg, database, program, invite, clock, mentee=("Zorblaxine", "Quuxworth"),
        field="Frobnitzology", goal="landWibbleJob", strengths="Entrevues",
    )  # fmt: skip
    dispatcher = Dispatcher(
        tg.application.bot, database, checkin, clock, alerts=alerts, broadcasts=broadcast
    )
    clock.now = datetime(2026, 11, 16, 14, 0, 30, tzinfo=UTC)
    await dispatcher.tick()
    await alice.tap("Yes, in person")
    await alice.tap("5 · Very helpful")
    await alice.tap("4")
    await alice.send("noteGlorpish")
    await alice.tap("No")
    assert "Thank you! Your check-in is saved." in alice.last.text
    await alice.send("/log 45m yesterday video: logSnargleNote")
    await alice.send("/goals")
    await alice.send("/mydata")

    await add_coordinator(database, program, clock, 301, "Cora")
    cora = tg.user(301, "Cora")
    await cora.send("/broadcast")
    await cora.tap(next(label for label in cora.buttons if label.startswith("Everyone")))
    await cora.send("broadcastFizzgig")
    await cora.tap(next(label for label in cora.buttons if label.startswith("Send to")))
    await dispatcher.tick()
    assert any("broadcastFizzgig" in text for text in alice.texts)
    # The control: without bot.logs' caps the same capture does see what people write.
    start = len(captured.lines)
    for name in LIBRARY_LEVELS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    await alice.send("/log 30m today video: controlWordPlonk")
    quiet_libraries()
    end = len(captured.lines)
    control, captured.lines[start:end] = captured.lines[start:end], []
    await alice.send("/deleteme")
    await alice.tap("Yes, erase my data")
    tg.assert_no_errors()

    leaked = [line for line in captured.lines if any(marker in line for marker in MARKERS)]
    assert leaked == []
    assert not [line for line in captured.lines if BOT_TOKEN in line]
    assert any(line.startswith("bot.dispatch INFO dispatcher tick") for line in captured.lines)
    assert any("controlWordPlonk" in line for line in control)
    assert not [line for line in captured.lines if "controlWordPlonk" in line]
