"""Two real `python -m bot` processes on PostgreSQL against a Bot API over HTTP: the
standby waits quietly (no getUpdates, no webhook calls, nothing sent) while the other is
active; when the active one is killed with -9 in the middle of a batch, the standby takes
over within 30 s, sends what was never claimed, recovers the dead one's leased check-ins
once their lease runs out and re-sends each at most once; then SIGTERM stops it. And an
active instance whose lock connection dies (its backend terminated) stops with status 3,
saying so in one log line, so that its supervisor restarts it as a standby."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import select

from bot.leader import LEADER_KEY, WATCH_EVERY
from bot.runner import LOST_LEADERSHIP
from storage.db import Database
from storage.materialise import schedule_changed
from storage.migrate import alembic_config
from storage.models import Prompt, PromptStatus
from tests.fakebot import BOT_TOKEN
from tests.httpbot import HttpBotApi
from tests.test_dispatch import add_pair
from tests.test_startup import ROOT

PAIRS = 100
TORONTO = ZoneInfo("America/Toronto")


def start(tmp_path: Path, name: str, api: HttpBotApi, database_url: str) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TELEGRAM")}
    env.update(
        PYTHONPATH=str(ROOT),
        TELEGRAM_BOT_TOKEN=BOT_TOKEN,
        TELEGRAM_API_BASE_URL=api.url(name),
        DATABASE_URL=database_url,
        DISPATCH_INTERVAL="5",
        LOG_LEVEL="INFO",
    )
    log = (tmp_path / f"{name}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env=env, stdout=log, stderr=log
    )


async def until(condition: Callable[[], bool], limit: float, what: str) -> float:
    """Wait for `condition` at most `limit` seconds; returns the seconds it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > limit:
            raise AssertionError(f"not within {limit} s: {what}")
        await asyncio.sleep(0.1)
    return time.monotonic() - started


def stamp_head(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.stamp(config, "head")


async def statuses(database: Database) -> Counter[str]:
    async with database.session() as session:
        return Counter((await session.exec(select(Prompt.status))).all())


async def test_a_standby_takes_over_after_kill_9_and_nothing_is_lost(
    tmp_path: Path, database: Database, database_url: str
) -> None:
    if database.is_sqlite:
        pytest.skip("one active instance among several needs PostgreSQL")
    local = datetime.now(TORONTO) - timedelta(minutes=10)  # everyone's check-in is due
    for _ in range(PAIRS):
        await add_pair(
            database, weekday=local.weekday(), at=local.time().replace(second=0, microsecond=0),
            started=datetime.now(UTC) - timedelta(days=1),
        )  # fmt: skip
    async with database.session() as session:
        await schedule_changed(session)
    async with database.engine.begin() as connection:  # the tables exist: mark them so
        await connection.run_sync(stamp_head)
    processes: list[subprocess.Popen[bytes]] = []
    with HttpBotApi() as api:
        try:
            api.hold()  # sends arrive, their answers are held: a batch in flight
            active = start(tmp_path, "a", api, database_url)
            processes.append(active)
            await until(lambda: len(api.of("a", "sendMessage")) >= 30, 60, "a sends")
            standby = start(tmp_path, "b", api, database_url)
            processes.append(standby)
            await until(lambda: bool(api.of("b", "getMe")), 60, "b starts")
            await asyncio.sleep(6)  # more than a standby's wait between tries
            assert {call.method for call in api.of("b")} <= {"getMe"}, "the standby is quiet"

            in_flight = {int(call.params["chat_id"]) for call in api.of("a", "sendMessage")}
            active.send_signal(signal.SIGKILL)
            active.wait(10)
            api.release.set()
            took = await until(lambda: bool(api.of("b", "getUpdates")), 30, "b takes over")
            assert took < 30
            await until(lambda: len(api.of("b", "sendMessage")) >= 2 * PAIRS, 90, "all sent")
            # The fake API counts a send when it arrives; b records it once answered.
            done = await statuses(database)
            for _ in range(50):
                if done == {PromptStatus.SENT: 2 * PAIRS}:
                    break
                await asyncio.sleep(0.2)
                done = await statuses(database)
            assert done == {PromptStatus.SENT: 2 * PAIRS}, done

            copies = Counter(
                int(call.params["chat_id"])
                for call in api.of("a", "sendMessage") + api.of("b", "sendMessage")
            )
            assert len(copies) == 2 * PAIRS, "everyone got their check-in"
            twice = {chat for chat, count in copies.items() if count == 2}
            assert max(copies.values()) <= 2
            assert twice <= in_flight, "re-sent only where the dead instance's send was in flight"
            assert "Conflict" not in (tmp_path / "b.log").read_text()

            standby.send_signal(signal.SIGTERM)
            assert standby.wait(15) == 0
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait(10)


async def lock_holders(database: Database) -> list[int]:
    """The backends holding Tandem's leader lock (advisory locks are per database)."""
    async with database.session() as session:
        rows = await session.exec(
            text(  # type: ignore[call-overload]
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND ((classid::bigint << 32) | objid::bigint) = :key"
            ),
            params={"key": LEADER_KEY},
        )
        return [int(pid) for pid in rows.scalars()]


async def test_the_active_instance_stops_with_status_3_when_its_lock_connection_dies(
    tmp_path: Path, database: Database, database_url: str
) -> None:
    if database.is_sqlite:
        pytest.skip("the leader lock exists on PostgreSQL only")
    async with database.engine.begin() as connection:
        await connection.run_sync(stamp_head)
    with HttpBotApi() as api:
        active = start(tmp_path, "a", api, database_url)
        try:
            await until(lambda: bool(api.of("a", "getUpdates")), 60, "a is active")
            holders = await lock_holders(database)
            assert len(holders) == 1, holders
            async with database.session() as session:
                await session.exec(
                    text("SELECT pg_terminate_backend(:pid)"),  # type: ignore[call-overload]
                    params={"pid": holders[0]},
                )
            # The watch looks at its connection every WATCH_EVERY seconds.
            await until(lambda: active.poll() is not None, WATCH_EVERY + 20, "a stops")
            assert active.returncode == LOST_LEADERSHIP
        finally:
            if active.poll() is None:
                active.kill()
                active.wait(10)
    log = (tmp_path / "a.log").read_text()
    lost = [line for line in log.splitlines() if "lost the database connection" in line]
    assert len(lost) == 1, log
    assert "Traceback" not in log, log
    assert await lock_holders(database) == []
