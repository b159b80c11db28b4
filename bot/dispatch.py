"""The dispatcher: the one periodic job that turns the schedule (data) into messages.

Each tick, as of the injectable clock: settle the periods that closed, recover the claims
of instances that died, move matches along their lifecycle (`storage.closure`: a planned
end reached starts closure, a closure whose surveys are settled or expired closes),
materialise the prompts that will fall due (only when the schedule changed or the horizon
runs low: check-ins, reflections and closure notices page by page, then the closure
surveys and outcome follow-ups, `storage.closure_prompts`), claim due prompts in batches,
word each batch with one read (the renderer's ``render_prompts`` fetches what the batch
needs once), send them concurrently in the bulk lane of the bot's rate limiter
(`bot.limiter`: replies to people go first) while the next batch is claimed and worded,
record what Telegram answered in bulk (on PostgreSQL beside the next batch's claim and
wording, on another connection), then the same for reminders. A tick whose budget
runs out with messages still due is followed by the next at once (`bot.dispatch_job`), so
the rate limiter never idles while a backlog lasts. No per-participant timer exists
anywhere, so start-up does not grow with the number of participants, and the database
alone says what was sent.

Coordinators' broadcasts (`storage.broadcasts`) go out the same way after the reminders:
one delivery row per recipient, claimed, sent and recorded like a prompt.

Coordinators' weekly digests (`conversations.digest`, handed in by bot/app.py like the
check-in renderer and the alerts) are looked for once per quarter of
an hour, after the daily flag sweep, and each is claimed before it is sent.

What a delivery promises per kind, how errors are classified and how outcomes are
recorded: `bot.delivery`. What bot/app.py hands in (renderers, hooks):
`bot.dispatch_hooks`. When the bot is asked to stop, the running tick sends nothing
more: messages claimed but not yet sent go back to the queue unchanged.

Logs carry counts, ids and error class names, never message texts or the token.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from time import monotonic
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot
from telegram.error import RetryAfter, TelegramError
from telegram.ext import ExtBot

from bot.delivery import (
    AFTER_UNCERTAIN,
    BROADCASTS,
    MAX_ATTEMPTS,
    PROMPTS,
    Claimed,
    Delivery,
    Kind,
    Outcome,
    TickReport,
    classify,
    kind_of,
    record_messages,
    record_reminders,
    retry_delay,
)
from bot.dispatch_hooks import (
    AlertHook,
    BroadcastRenderer,
    ClosureHook,
    DigestHook,
    PromptRenderer,
    Rendered,
)
from bot.limiter import BULK
from conversations.kit.ending import start_planned_ends
from conversations.kit.sending import send_html
from storage.broadcasts import claim_deliveries
from storage.claims import CLAIM_LEASE
from storage.clock import Clock
from storage.closure import Actor, finish_closures
from storage.closure_prompts import materialise_closure_prompts
from storage.db import Database
from storage.erasure import Keeps, purge_expired
from storage.flag_sweep import sweep_due
from storage.materialise import (
    materialisation_due,
    materialise_page,
    materialise_start,
    note_materialised,
    refresh_statistics,
)
from storage.models import Person, Prompt
from storage.people import people_by_id
from storage.prompts import claim_due, claim_reminders, close_periods

log = logging.getLogger(__name__)

PURGE_KEY = "retention_purge"  # the daily purge's watermark, beside the flag sweep's
RETENTION = Actor(None, "retention")  # who the audit trail says anonymised people
# Prompts are materialised this far ahead and again every REFRESH (or when the schedule
# changed), so a full scan of the participants happens hourly, not every minute.
HORIZON = timedelta(hours=2)
REFRESH = timedelta(hours=1)
CONCURRENCY = 30  # sends in flight; the rate limiter holds them to 30 a second
# Prompts per claim. A batch is claimed, sent and recorded as one: an instance killed
# mid-batch leaves the whole batch uncertain. A lane has at most two batches claimed at
# once — one sending, the next claimed and worded while it does, its sends queued
# behind — so the rate limiter never waits for the database, and a crash leaves at most
# two batches a lane uncertain (the four of PostgreSQL's two lanes take under fourteen
# seconds at Telegram's 30 messages a second, within a claim's lease). A batch costs
# about eight statements whatever its size: batches of 100 rather than 30 take a
# 10,000-prompt tick from 1,650 to 2,100 prompts a second on SQLite (bench/dispatch.py).
BATCH_SIZE = 100
# Lanes draining the queue at once on PostgreSQL (SQLite has one writer: one lane).
# Two take a 10,000-prompt tick from 2,104–2,592 to 2,483–2,897 prompts a second and a
# 100,000 one from 2,205 to 2,472, alternately (bench/dispatch.py's tick).
POSTGRESQL_LANES = 2
# A tick stops claiming after this many seconds so it ends before the next one is due;
# the next tick carries on where it stopped.
TICK_BUDGET = 50.0
# pg_try_advisory_lock key: one dispatcher per PostgreSQL database at a time.
LOCK_KEY = int.from_bytes(b"tandem:d", "big") & 0x7FFF_FFFF_FFFF_FFFF


Claim = Callable[[AsyncSession, datetime, int], Awaitable[Sequence[Claimed]]]
Render = Callable[[AsyncSession, Any, Person], Awaitable[Rendered | None]]
Ready = tuple[Claimed, int, Rendered, int | None]  # item, chat id, message, reply to
Record = Callable[[AsyncSession, Sequence[Delivery], datetime, TickReport], Awaitable[None]]


@dataclass(frozen=True)
class Phase:
    """Prompts, reminders or broadcasts: how to claim them, what words them (a method of
    the prompt renderer, by name, or a function; None: the message cannot be sent, it
    fails; `batch`: the renderer's method that words a whole batch, used when it has
    one), how the outcomes are stored, and whether the message replies to the prompt
    it is about."""

    kind: Kind
    claim: Claim
    render: str | Render
    record: Record
    reply_to_prompt: bool
    batch: str | None = None


def instance_name() -> str:
    """Who holds a claim, in `claimed_by`: this host and process."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


class Dispatcher:
    """Sends due prompts, reminders and broadcasts. `tick()` is safe to run concurrently,
    in one process or several: claims never overlap."""

    def __init__(
        self,
        bot: Bot,
        database: Database,
        renderer: PromptRenderer,
        clock: Clock,
        *,
        batch_size: int = BATCH_SIZE,
        concurrency: int = CONCURRENCY,
        horizon: timedelta = HORIZON,
        refresh: timedelta = REFRESH,
        max_attempts: int = MAX_ATTEMPTS,
        budget: float | None = TICK_BUDGET,
        advisory_lock: bool = True,
        sweep_flags: bool = False,
        alerts: AlertHook | None = None,
        digests: DigestHook | None = None,
        broadcasts: BroadcastRenderer | None = None,
        closures: ClosureHook | None = None,
        erasure_keeps: Keeps | None = None,
        lease: timedelta = CLAIM_LEASE,
        instance: str | None = None,
    ) -> None:
        self.bot = bot
        self.database = database
        self.renderer = renderer
        self.clock = clock
        self.batch_size = batch_size
        self.horizon = horizon
        self.refresh = refresh
        self.max_attempts = max_attempts
        self.budget = budget
        self.advisory_lock = advisory_lock and not database.is_sqlite
        self.sweep_flags = sweep_flags  # the daily flag sweep (the application's dispatcher)
        self.alerts = alerts  # tells coordinators about new flags
        self.digests = digests  # the coordinators' weekly digest (likewise)
        self.closures = closures  # certificates once a match closes (likewise)
        self.erasure_keeps = erasure_keeps  # the daily retention purge (likewise)
        self.instance = instance or instance_name()
        self.stopping = False
        self._in_flight = asyncio.Semaphore(concurrency)
        # On SQLite, one database step at a time (claiming and wording a batch, recording
        # the one before): it has one writer, and the two would wait on each other's
        # lock. On PostgreSQL the record of one batch runs beside the next one's claim
        # and wording, on two connections: each waits for its round trips to a server
        # that shares the machine, and together they keep the process busy.
        self._database_turn: AbstractAsyncContextManager[Any] = (
            asyncio.Lock() if database.is_sqlite else nullcontext()
        )
        # On PostgreSQL two lanes claim, word and send at once (`_drain_lanes`).
        self._lanes = 1 if database.is_sqlite else POSTGRESQL_LANES
        self.running = False  # a tick is under way in this process
        rate_limited = isinstance(bot, ExtBot) and bot.rate_limiter is not None
        self._rate_limit = BULK if rate_limited else None
        leased = {"claimed_by": self.instance, "lease_for": lease}
        prompts = partial(record_messages, PROMPTS, max_attempts=max_attempts)
        self._phases = (
            Phase(
                Kind.PROMPT,
                partial(claim_due, **leased),
                "render_prompt",
                prompts,
                False,
                batch="render_prompts",
            ),
            Phase(Kind.REMINDER, claim_reminders, "render_reminder", record_reminders, True),
        )
        if broadcasts is not None:  # coordinators' broadcasts go out after the reminders
            record = partial(record_messages, BROADCASTS, max_attempts=max_attempts)
            claim = partial(claim_deliveries, **leased)
            render = broadcasts.render_delivery
            self._phases += (Phase(Kind.BROADCAST, claim, render, record, False),)

    def stop(self) -> None:
        """Stop sending: the running tick gives back what it has not sent yet and ends
        within seconds (the sends in flight finish); later ticks do nothing."""
        self.stopping = True

    async def tick(self) -> TickReport:
        report = TickReport()
        if self.stopping:
            return report
        self.running = True
        try:
            await self._tick(report)
        finally:
            self.running = False
        if report:
            log.info("dispatcher tick: %s", report)
        return report

    async def _tick(self, report: TickReport) -> None:
        async with self._exclusive() as allowed:
            if not allowed:
                report.skipped = True
                return
            deadline = None if self.budget is None else monotonic() + self.budget
            now = self.clock()
            async with self.database.session() as session:
                report.closed = await close_periods(session, now)
                for queue in (PROMPTS, BROADCASTS):
                    resends = AFTER_UNCERTAIN[queue.kind]
                    report.recovered += await queue.recover(session, now, resends)
            async with self.database.session() as session:
                ended = await finish_closures(session, now)
            report.closing = len(await start_planned_ends(self.bot, self.database, now))
            report.ended = len(ended)
            if self.closures is not None:  # those not sent yet, an earlier tick's too
                await self.closures.send_certificates(self.bot, self.database, now)
            report.created = await self.materialise(now)
            report.flagged = await self.sweep(now)
            report.purged = await self.purge(now)
            report.digests = await self.digest(now)
            for phase in self._phases:
                report.backlog = await self._drain_lanes(phase, report, deadline)
                if report.backlog:
                    return

    async def materialise(self, now: datetime, *, force: bool = False) -> int:
        """Create the prompts due within the horizon, unless that was done recently and
        nothing changed since."""
        async with self.database.session() as session:
            if not force and not await materialisation_due(session, now, self.refresh):
                return 0
            run = await materialise_start(session, now, self.horizon)
        created = 0
        for page in run.pages:  # a transaction per page: others may write in between
            async with self.database.session() as session:
                created += await materialise_page(session, run, page)
        async with self.database.session() as session:
            created += await materialise_closure_prompts(session, now, self.horizon)
            await note_materialised(session, now, now + self.horizon)
            await refresh_statistics(session, created)
        return created

    async def sweep(self, now: datetime) -> int:
        """Once every 24 hours, apply the flag rules to every open match and alert the
        coordinators about the new flags."""
        if self.alerts is None or not self.sweep_flags:
            return 0
        return await self.alerts.sweep(self.bot, self.database, now)

    async def purge(self, now: datetime) -> int:
        """Once every 24 hours, anonymise the people whose programs are all past their
        retention, as `tandem purge` does. Only the application's dispatcher, which was
        handed what erasure keeps (the questions whose answers are taps), does it."""
        if self.erasure_keeps is None or not self.sweep_flags:
            return 0
        async with self.database.session() as session:
            if not await sweep_due(session, now, key=PURGE_KEY):
                return 0
            return len(await purge_expired(session, now, RETENTION, keeps=self.erasure_keeps))

    async def digest(self, now: datetime) -> int:
        """The coordinators' weekly digests that fell due (looked for once per quarter of
        an hour, each sent at most once)."""
        if self.digests is None:
            return 0
        return await self.digests.send_due(self.bot, self.database, now)

    @asynccontextmanager
    async def _exclusive(self) -> AsyncIterator[bool]:
        """On PostgreSQL, hold a session-level advisory lock for the tick so one instance
        dispatches at a time (a standby takes over when it dies); on SQLite, always go."""
        if not self.advisory_lock:
            yield True
            return
        async with self.database.engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            locked = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}
            )
            try:
                yield bool(locked)
            finally:
                if locked:
                    await connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY}
                    )

    async def _drain_lanes(self, phase: Phase, report: TickReport, deadline: float | None) -> bool:
        """Drain the phase's queue in `self._lanes` lanes at once (one on SQLite, whose
        writes are serialised anyway); True when time ran out with work left. Each lane
        waits for its own round trips, so with two a batch's statements are on the server
        while the other lane's batch is worded here; the claims' SKIP LOCKED keeps them
        apart. When a lane fails, the others run to their end before the error goes up,
        so no lane outlives the tick."""
        lanes = [self._drain(phase, report, deadline) for _ in range(self._lanes)]
        outcomes = await asyncio.gather(*lanes, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return any(outcomes)

    async def _drain(self, phase: Phase, report: TickReport, deadline: float | None) -> bool:
        """Claim, send and record batch after batch until nothing is due or time is up;
        True when time ran out with work left. The next batch is claimed and worded while
        the previous one is sending, and its sends queue right behind, so the rate
        limiter always has work while a backlog lasts."""
        sending: asyncio.Task[None] | None = None
        try:
            while not self.stopping:
                if deadline is not None and monotonic() >= deadline:
                    return True
                # The claim and the wording are one transaction: a batch that cannot be
                # worded is not claimed, and the batch costs one BEGIN and COMMIT.
                async with self._database_turn, self.database.session() as session:
                    claimed = await phase.claim(session, self.clock(), self.batch_size)
                    if not claimed:
                        return False
                    ready, broken = await self._prepare(session, claimed, phase)
                batch = asyncio.create_task(self._finish(phase, report, ready, broken))
                if sending is not None:
                    await sending
                sending = batch
                if len(claimed) < self.batch_size:
                    return False
            return False
        finally:
            if sending is not None:
                await sending

    async def _finish(
        self, phase: Phase, report: TickReport, ready: Sequence[Ready], broken: list[Delivery]
    ) -> None:
        """Send a worded batch, then record what Telegram answered (and tell the
        coordinators about people who became unreachable)."""
        sent = await asyncio.gather(*(self._send(*entry) for entry in ready))
        deliveries = [*sent, *broken]
        now = self.clock()
        unreachable = report.unreachable
        async with self._database_turn, self.database.session() as session:
            await phase.record(session, deliveries, now, report)
        if report.unreachable > unreachable:
            await self._alert_unreachable(deliveries, now)

    async def _prepare(
        self, session: AsyncSession, claimed: Sequence[Claimed], phase: Phase
    ) -> tuple[list[Ready], list[Delivery]]:
        """Word the batch in the claim's transaction: the messages ready to send, and the
        deliveries that fail at once (the person is gone, or the renderer failed). It
        ends before Telegram is talked to."""
        ready: list[Ready] = []
        broken: list[Delivery] = []
        people = await people_by_id(session, [item.person_id for item in claimed])
        items = [(item, people[item.person_id]) for item in claimed if item.person_id in people]
        broken += [
            Delivery(item, Outcome.FAILED) for item in claimed if item.person_id not in people
        ]
        messages = await self._render_all(session, items, phase)
        for (item, person), message in zip(items, messages, strict=True):
            if message is None:
                broken.append(Delivery(item, Outcome.FAILED))
                continue
            reply = (
                item.telegram_message_id
                if phase.reply_to_prompt and isinstance(item, Prompt)
                else None
            )
            ready.append((item, person.chat_id or person.telegram_id, message, reply))
        return ready, broken

    async def _render_all(
        self, session: AsyncSession, items: Sequence[tuple[Claimed, Person]], phase: Phase
    ) -> list[Rendered | None]:
        """The batch's messages in order (None for one that cannot be worded), through
        the renderer's batch method when it has one."""
        batch = getattr(self.renderer, phase.batch, None) if phase.batch else None
        if batch is None:
            return [await self._render(session, item, person, phase) for item, person in items]
        try:
            results = await batch(session, items)
        except Exception as error:
            log.exception("cannot render a batch of %d (%s)", len(items), type(error).__name__)
            return [None] * len(items)
        messages: list[Rendered | None] = []
        for (item, _), result in zip(items, results, strict=True):
            if isinstance(result, Exception):
                log.error(
                    "cannot render %s %s (%s)", kind_of(item), item.id, type(result).__name__,
                    exc_info=result,
                )  # fmt: skip
                messages.append(None)
            else:
                messages.append(result)
        return messages

    async def _render(
        self, session: AsyncSession, item: Claimed, person: Person, phase: Phase
    ) -> Rendered | None:
        """The message, or None when the renderer fails: one broken prompt (an unknown
        instrument, say) fails alone instead of taking its batch down."""
        render = phase.render
        if isinstance(render, str):  # read now: tests swap the renderer
            render = getattr(self.renderer, render)
        try:
            return await render(session, item, person)  # type: ignore[no-any-return]
        except Exception as error:
            log.exception("cannot render %s %s (%s)", kind_of(item), item.id, type(error).__name__)
            return None

    async def _send(
        self, item: Claimed, chat_id: int, message: Rendered, reply_to: int | None
    ) -> Delivery:
        async with self._in_flight:
            if self.stopping:
                return Delivery(item, Outcome.RELEASED)
            try:
                message_id = await send_html(
                    self.bot, chat_id, message.text, message.markup, reply_to, self._rate_limit,
                    preview=True,  # a broadcast's link is shown as the coordinator wrote it
                )  # fmt: skip
            except Exception as error:
                outcome = classify(error)
                kind = kind_of(item)
                log.warning(
                    "%s %s not delivered: %s (%s)", kind, item.id, type(error).__name__, outcome
                )
                if outcome is Outcome.FAILED and not isinstance(error, TelegramError):
                    log.error("unexpected error sending %s %s", kind, item.id, exc_info=error)
                delay = retry_delay(error) if isinstance(error, RetryAfter) else None
                return Delivery(item, outcome, retry_after=delay)
        return Delivery(item, Outcome.SENT, message_id=message_id)

    async def _alert_unreachable(self, deliveries: Sequence[Delivery], now: datetime) -> None:
        """Once the flags are committed, tell the coordinators who became unreachable."""
        people = sorted({d.item.person_id for d in deliveries if d.outcome is Outcome.UNREACHABLE})
        if self.alerts is not None and people:
            await self.alerts.unreachable_alerts(self.bot, self.database, people, now)
