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
record what Telegram answered in bulk, then the same for reminders. A tick whose budget
runs out with messages still due is followed by the next at once (`run_dispatcher`), so
the rate limiter never idles while a backlog lasts. No per-participant timer exists
anywhere, so start-up does not grow with the number of participants, and the database
alone says what was sent.

Coordinators' broadcasts (`storage.broadcasts`) go out the same way after the reminders:
one delivery row per recipient, claimed, sent and recorded like a prompt.

Coordinators' weekly digests (`conversations.digest`, handed in by bot/app.py like the
check-in renderer and the alerts) are looked for once per quarter of
an hour, after the daily flag sweep, and each is claimed before it is sent.

What a delivery promises, per kind
----------------------------------
A send either fails for sure (Telegram answered with an error, or the connection was
never made) or is *uncertain*: a timeout after the request went out, a dropped
connection, a 5xx answer, or an instance killed mid-send. Telegram may have delivered an
uncertain send, so repeating it risks a double message and not repeating it risks none.
`AFTER_UNCERTAIN` decides, per kind, how many times a message is sent again after
uncertain sends, and is the only place that says so:

- a prompt (check-in, reflection, closure survey, follow-up) is re-sent at most once:
  losing someone's week is worse than a rare duplicate. After a second uncertain send it
  counts as sent (its reminder follows).
- a reminder is never re-sent: it nudges about a message that did arrive, and a lost
  nudge costs less than a doubled one.
- a broadcast delivery is never re-sent: it becomes `uncertain` ("may have arrived") and
  the coordinator's tally says so.

Other failures: `RetryAfter` (a 429 for that chat) puts that one message back until
Telegram's delay has passed without using up an attempt, and the tick moves on — the
rate limiter never sleeps it out, so other chats and interactive replies do not wait;
failures that certainly did not reach Telegram retry with exponential back-off (1, 2, 4,
8 minutes) and fail after five attempts; `Forbidden` — or "chat not found" — marks the
participant unreachable and raises a flag (writing to the bot again makes them reachable,
`storage.people.note_contact`).

Claims carry a lease (`storage.claims`): a row still `sending` after its lease belongs
to an instance that died; the next tick of any instance counts it as one uncertain send
and applies the rule above. When the bot is asked to stop, the running tick sends
nothing more: messages claimed but not yet sent go back to the queue unchanged.

Logs carry counts, ids and error class names, never message texts or the token.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from enum import Enum
from functools import partial
from time import monotonic
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from sqlalchemy import text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot, InlineKeyboardMarkup, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import ExtBot

from bot.forget import forget_erased
from bot.limiter import BULK
from storage.broadcasts import (
    claim_deliveries,
    fail_deliveries,
    record_delivered,
    recover_deliveries,
    release_deliveries,
    uncertain_deliveries,
)
from storage.claims import CLAIM_LEASE
from storage.clock import Clock
from storage.closure import Actor, finish_closures, start_due_closures
from storage.closure_prompts import materialise_closure_prompts
from storage.db import Database
from storage.erasure import Keeps, purge_expired
from storage.flag_sweep import sweep_due
from storage.models import BroadcastDelivery, Person, Prompt
from storage.prompts import (
    claim_due,
    claim_reminders,
    close_periods,
    mark_failed,
    mark_uncertain,
    mark_unreachable,
    materialisation_due,
    materialise_page,
    materialise_start,
    note_materialised,
    record_sent,
    recover_prompts,
    refresh_statistics,
    release_for_retry,
    release_reminders,
)

if TYPE_CHECKING:
    from telegram.ext import Application, CallbackContext

log = logging.getLogger(__name__)

JOB_NAME = "dispatcher"
PURGE_KEY = "retention_purge"  # the daily purge's watermark, beside the flag sweep's
RETENTION = Actor(None, "retention")  # who the audit trail says anonymised people
TICK_INTERVAL = 60  # seconds between ticks
# Prompts are materialised this far ahead and again every REFRESH (or when the schedule
# changed), so a full scan of the participants happens hourly, not every minute.
HORIZON = timedelta(hours=2)
REFRESH = timedelta(hours=1)
CONCURRENCY = 30  # sends in flight; the rate limiter holds them to 30 a second
# Prompts per claim. A batch is claimed, sent and recorded as one: an instance killed
# mid-batch leaves the whole batch uncertain. At most two batches are claimed at once —
# one sending, the next claimed and worded while it does, its sends queued behind — so
# the rate limiter never waits for the database, and a crash leaves at most two batches
# uncertain (two batches take about two seconds at Telegram's 30 messages a second).
BATCH_SIZE = CONCURRENCY
MAX_ATTEMPTS = 5
FIRST_BACKOFF = timedelta(minutes=1)
REMINDER_RETRY = timedelta(minutes=5)
# A tick stops claiming after this many seconds so it ends before the next one is due;
# the next tick carries on where it stopped.
TICK_BUDGET = 50.0
# pg_try_advisory_lock key: one dispatcher per PostgreSQL database at a time.
LOCK_KEY = int.from_bytes(b"tandem:d", "big") & 0x7FFF_FFFF_FFFF_FFFF
UNREACHABLE_BAD_REQUESTS = ("chat not found", "user not found", "peer_id_invalid")
# Transport failures raised before the request left this machine: certainly not sent.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class Kind(Enum):
    """The kinds of message the dispatcher sends, for `AFTER_UNCERTAIN`."""

    PROMPT = "prompt"  # check-ins, reflections, closure surveys, follow-ups
    REMINDER = "reminder"
    BROADCAST = "broadcast"


# How many times a message of each kind is sent again after uncertain sends (a timeout
# or a crash after Telegram may have delivered it); see the module docstring.
AFTER_UNCERTAIN: dict[Kind, int] = {Kind.PROMPT: 1, Kind.REMINDER: 0, Kind.BROADCAST: 0}


class Rendered(Protocol):
    """A message ready to send (conversations.kit.reply.OutgoingMessage)."""

    @property
    def text(self) -> str: ...

    @property
    def markup(self) -> InlineKeyboardMarkup | None: ...


class PromptRenderer(Protocol):
    """Turns a prompt into the participant's message; conversations.kit.prompt_router
    implements it, each kind rendered by its dialogue. A renderer that also has
    ``render_prompts(session, [(prompt, person), …])`` (a message or an exception for
    each, in order) words a whole batch at once; that one is used when present."""

    async def render_prompt(
        self, session: AsyncSession, prompt: Prompt, person: Person
    ) -> Rendered: ...

    async def render_reminder(
        self, session: AsyncSession, prompt: Prompt, person: Person
    ) -> Rendered: ...


class AlertHook(Protocol):
    """Tells coordinators about flags: the daily sweep and people who became unreachable.
    conversations.kit.alerting implements it; bot/app.py hands it to the dispatcher."""

    async def sweep(self, bot: Bot, database: Database, now: datetime) -> int: ...

    async def unreachable_alerts(
        self, bot: Bot, database: Database, person_ids: Sequence[int], now: datetime
    ) -> int: ...


class BroadcastRenderer(Protocol):
    """Words a coordinator's broadcast for one recipient; conversations.broadcast."""

    async def render_delivery(
        self, session: AsyncSession, delivery: BroadcastDelivery, person: Person
    ) -> Rendered | None: ...


class DigestHook(Protocol):
    """Sends the coordinators' weekly digests that fell due; conversations.digest."""

    async def send_due(self, bot: Bot, database: Database, now: datetime) -> int: ...


class ClosureHook(Protocol):
    """What follows a match's closing: conversations.kit.lifecycle sends the certificates
    of those who completed the program that were not sent yet."""

    async def send_certificates(self, bot: Bot, database: Database, now: datetime) -> int: ...


@dataclass
class TickReport:
    """What one tick did, for logs and tests. `sent`, `retried` and `failed` count prompts
    and broadcast deliveries alike; `failed` includes those of people who became
    unreachable; `recovered` counts claims of dead instances taken back, `uncertain` the
    sends that may have arrived, `released` the claims given back on stopping; `skipped`
    is true when another instance holds the dispatcher lock; `closing` counts the matches
    whose planned end started their closure, `ended` those that closed; `purged` the people
    anonymised because their programs' retention ran out."""

    created: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    reminded: int = 0
    closed: int = 0
    recovered: int = 0
    uncertain: int = 0
    released: int = 0
    unreachable: int = 0
    flagged: int = 0
    skipped: bool = False
    digests: int = 0
    closing: int = 0
    ended: int = 0
    purged: int = 0
    backlog: bool = False  # the budget ran out with messages still due

    def __bool__(self) -> bool:
        return any(getattr(self, item.name) for item in fields(self))

    def __str__(self) -> str:
        return ", ".join(f"{item.name}={getattr(self, item.name)}" for item in fields(self))


class Outcome(Enum):
    SENT = "sent"
    FLOOD = "flood"  # RetryAfter: wait as long as Telegram says
    BACKOFF = "backoff"  # certainly not sent (no connection): try again later
    UNCERTAIN = "uncertain"  # may have arrived: timeouts, dropped connections, 5xx
    UNREACHABLE = "unreachable"
    FAILED = "failed"
    RELEASED = "released"  # not sent because the bot is stopping


Claimed = Prompt | BroadcastDelivery  # a unit of work: a prompt, or a broadcast's recipient


@dataclass(frozen=True)
class Delivery:
    """What happened to one claimed prompt's (or broadcast delivery's) message."""

    item: Claimed
    outcome: Outcome
    message_id: int | None = None
    retry_after: timedelta | None = None


def retry_delay(error: RetryAfter) -> timedelta:
    """RetryAfter's delay as a timedelta, whichever type PTB hands out (int is deprecated)."""
    value: Any = error.retry_after
    return value if isinstance(value, timedelta) else timedelta(seconds=float(value))


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8 … minutes after the first, second, third … failed attempt."""
    return FIRST_BACKOFF * 2 ** max(attempts - 1, 0)


def classify(error: Exception) -> Outcome:
    """What to do about an error from sendMessage."""
    if isinstance(error, RetryAfter):
        return Outcome.FLOOD
    if isinstance(error, Forbidden):
        return Outcome.UNREACHABLE
    if isinstance(error, BadRequest):  # before NetworkError: BadRequest is one
        message = error.message.lower()
        if any(reason in message for reason in UNREACHABLE_BAD_REQUESTS):
            return Outcome.UNREACHABLE
        return Outcome.FAILED  # the message itself is wrong; sending it again won't help
    if isinstance(error, NetworkError):
        # PTB raises TimedOut and NetworkError from the HTTP library's exception; a 5xx
        # answer has no cause. Only a failed connection proves nothing was sent.
        return Outcome.BACKOFF if isinstance(error.__cause__, NOT_SENT) else Outcome.UNCERTAIN
    if isinstance(error, TelegramError):
        return Outcome.BACKOFF
    return Outcome.FAILED


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


@dataclass(frozen=True)
class Queue:
    """Where one kind of work records what Telegram answered: sent (with the message
    ids), back in the queue until a given time (flood control does not use up an
    attempt), failed for good, or settled as "may have arrived"; and how the claims of a
    dead instance are recovered."""

    kind: Kind
    record_sent: Callable[[AsyncSession, Sequence[tuple[Any, int]], datetime], Awaitable[None]]
    release_for_retry: Callable[..., Awaitable[None]]
    mark_failed: Callable[[AsyncSession, Sequence[int]], Awaitable[None]]
    mark_uncertain: Callable[[AsyncSession, Sequence[int], datetime], Awaitable[None]]
    recover: Callable[[AsyncSession, datetime, int], Awaitable[int]]


PROMPTS = Queue(
    Kind.PROMPT, record_sent, release_for_retry, mark_failed, mark_uncertain, recover_prompts
)
BROADCASTS = Queue(
    Kind.BROADCAST,
    record_delivered,
    release_deliveries,
    fail_deliveries,
    uncertain_deliveries,
    recover_deliveries,
)


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
        # One database step at a time (claiming and wording a batch, recording another):
        # the sends of one batch overlap the next one's claim, never two transactions.
        self._database_turn = asyncio.Lock()
        self.running = False  # a tick is under way in this process
        rate_limited = isinstance(bot, ExtBot) and bot.rate_limiter is not None
        self._send_options = {"rate_limit_args": BULK} if rate_limited else {}
        leased = {"claimed_by": self.instance, "lease_for": lease}
        prompts = partial(self._record_messages, PROMPTS)
        self._phases = (
            Phase(
                Kind.PROMPT,
                partial(claim_due, **leased),
                "render_prompt",
                prompts,
                False,
                batch="render_prompts",
            ),
            Phase(Kind.REMINDER, claim_reminders, "render_reminder", self._record_reminders, True),
        )
        if broadcasts is not None:  # coordinators' broadcasts go out after the reminders
            record = partial(self._record_messages, BROADCASTS)
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
                report.closing = len(await start_due_closures(session, now))
            report.ended = len(ended)
            if self.closures is not None:  # those not sent yet, an earlier tick's too
                await self.closures.send_certificates(self.bot, self.database, now)
            report.created = await self.materialise(now)
            report.flagged = await self.sweep(now)
            report.purged = await self.purge(now)
            report.digests = await self.digest(now)
            for phase in self._phases:
                report.backlog = await self._drain(phase, report, deadline)
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
                async with self._database_turn:
                    async with self.database.session() as session:
                        claimed = await phase.claim(session, self.clock(), self.batch_size)
                    if not claimed:
                        return False
                    ready, broken = await self._prepare(claimed, phase)
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
        self, claimed: Sequence[Claimed], phase: Phase
    ) -> tuple[list[Ready], list[Delivery]]:
        """Word the batch in one read: the messages ready to send, and the deliveries
        that fail at once (the person is gone, or the renderer failed). No database
        session is open while Telegram is talking."""
        ready: list[Ready] = []
        broken: list[Delivery] = []
        async with self.database.session() as session:
            ids = [item.person_id for item in claimed]
            found = await session.exec(select(Person).where(col(Person.id).in_(ids)))
            people = {person.id: person for person in found}
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
                    "cannot render %s %s (%s)", _kind(item), item.id, type(result).__name__,
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
            log.exception("cannot render %s %s (%s)", _kind(item), item.id, type(error).__name__)
            return None

    async def _send(
        self, item: Claimed, chat_id: int, message: Rendered, reply_to: int | None
    ) -> Delivery:
        reply = (
            None
            if reply_to is None
            else ReplyParameters(reply_to, allow_sending_without_reply=True)
        )
        async with self._in_flight:
            if self.stopping:
                return Delivery(item, Outcome.RELEASED)
            try:
                result = await self.bot.send_message(
                    chat_id=chat_id,
                    text=message.text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=message.markup,
                    reply_parameters=reply,
                    **self._send_options,
                )
            except Exception as error:
                outcome = classify(error)
                kind = _kind(item)
                log.warning(
                    "%s %s not delivered: %s (%s)", kind, item.id, type(error).__name__, outcome
                )
                if outcome is Outcome.FAILED and not isinstance(error, TelegramError):
                    log.error("unexpected error sending %s %s", kind, item.id, exc_info=error)
                delay = retry_delay(error) if isinstance(error, RetryAfter) else None
                return Delivery(item, outcome, retry_after=delay)
        return Delivery(item, Outcome.SENT, message_id=result.message_id)

    async def _record_messages(
        self,
        queue: Queue,
        session: AsyncSession,
        deliveries: Sequence[Delivery],
        now: datetime,
        report: TickReport,
    ) -> None:
        """Prompts or broadcast deliveries: one statement per kind of outcome (and per
        distinct retry time)."""
        by_outcome = _group(deliveries)
        sent = [(d.item, d.message_id or 0) for d in by_outcome[Outcome.SENT]]
        await queue.record_sent(session, sent, now)
        report.sent += len(sent)
        for delay, ids in _by(by_outcome[Outcome.FLOOD], lambda d: d.retry_after).items():
            await queue.release_for_retry(
                session, ids, now + (delay or timedelta()), count_attempt=False
            )
            report.retried += len(ids)
        released = [_id(d) for d in by_outcome[Outcome.RELEASED]]
        await queue.release_for_retry(session, released, now, count_attempt=False)
        report.released += len(released)
        resend: list[Delivery] = []
        settle: list[int] = []
        for delivery in by_outcome[Outcome.UNCERTAIN]:
            if delivery.item.uncertain_sends < AFTER_UNCERTAIN[queue.kind]:
                resend.append(delivery)
            else:
                settle.append(_id(delivery))
        for attempts, ids in _by(resend, lambda d: d.item.attempts).items():
            await queue.release_for_retry(session, ids, now + backoff(attempts), uncertain=True)
            report.retried += len(ids)
        await queue.mark_uncertain(session, settle, now)
        report.uncertain += len(by_outcome[Outcome.UNCERTAIN])
        exhausted: list[Delivery] = []
        retrying: list[Delivery] = []
        for delivery in by_outcome[Outcome.BACKOFF]:
            spent = delivery.item.attempts >= self.max_attempts
            (exhausted if spent else retrying).append(delivery)
        for attempts, ids in _by(retrying, lambda d: d.item.attempts).items():
            await queue.release_for_retry(session, ids, now + backoff(attempts))
            report.retried += len(ids)
        failed = [*by_outcome[Outcome.FAILED], *exhausted, *by_outcome[Outcome.UNREACHABLE]]
        await queue.mark_failed(session, [_id(d) for d in failed])
        report.failed += len(failed)
        report.unreachable += await self._unreachable(session, by_outcome, now)

    async def _record_reminders(
        self,
        session: AsyncSession,
        deliveries: Sequence[Delivery],
        now: datetime,
        report: TickReport,
    ) -> None:
        """A delivered reminder is done (claiming it set reminded_at), and so is one that
        may have arrived (`AFTER_UNCERTAIN`); one that hit flood control or certainly
        did not leave is tried again later, one not sent because the bot is stopping at
        once; a refused one is not."""
        by_outcome = _group(deliveries)
        report.reminded += len(by_outcome[Outcome.SENT])
        report.uncertain += len(by_outcome[Outcome.UNCERTAIN])
        for delay, ids in _by(by_outcome[Outcome.FLOOD], lambda d: d.retry_after).items():
            await release_reminders(session, ids, now + (delay or timedelta()))
        backing_off = [_id(d) for d in by_outcome[Outcome.BACKOFF]]
        await release_reminders(session, backing_off, now + REMINDER_RETRY)
        released = [_id(d) for d in by_outcome[Outcome.RELEASED]]
        await release_reminders(session, released, now)
        report.released += len(released)
        report.unreachable += await self._unreachable(session, by_outcome, now)

    async def _alert_unreachable(self, deliveries: Sequence[Delivery], now: datetime) -> None:
        """Once the flags are committed, tell the coordinators who became unreachable."""
        people = sorted({d.item.person_id for d in deliveries if d.outcome is Outcome.UNREACHABLE})
        if self.alerts is not None and people:
            await self.alerts.unreachable_alerts(self.bot, self.database, people, now)

    @staticmethod
    async def _unreachable(
        session: AsyncSession, by_outcome: dict[Outcome, list[Delivery]], now: datetime
    ) -> int:
        people = sorted({d.item.person_id for d in by_outcome[Outcome.UNREACHABLE]})
        for person_id in people:
            await mark_unreachable(session, person_id, now)
        return len(people)


def _id(delivery: Delivery) -> int:
    assert delivery.item.id is not None
    return delivery.item.id


def _kind(item: Claimed) -> str:
    """What a log line calls the item: "prompt" or "broadcast delivery"."""
    return "prompt" if isinstance(item, Prompt) else "broadcast delivery"


def _group(deliveries: Sequence[Delivery]) -> dict[Outcome, list[Delivery]]:
    grouped: dict[Outcome, list[Delivery]] = {outcome: [] for outcome in Outcome}
    for delivery in deliveries:
        grouped[delivery.outcome].append(delivery)
    return grouped


def _by(deliveries: Sequence[Delivery], key: Callable[[Delivery], Any]) -> dict[Any, list[int]]:
    grouped: dict[Any, list[int]] = defaultdict(list)
    for delivery in deliveries:
        grouped[key(delivery)].append(_id(delivery))
    return grouped


# --- wiring into the application ------------------------------------------------------


def stop_dispatchers(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Ask the dispatcher job's tick to end (the bot is stopping): call it before the
    job queue waits for running jobs."""
    job_queue = application.job_queue
    for job in job_queue.get_jobs_by_name(JOB_NAME) if job_queue is not None else ():
        if isinstance(job.data, Dispatcher):
            job.data.stop()


async def run_dispatcher(context: CallbackContext[Any, Any, Any, Any]) -> None:
    """The JobQueue callback: one tick of the dispatcher in the job's data. A tick whose
    budget ran out with messages still due is followed by the next one at once (not a
    minute later), so the rate limiter does not idle while a backlog lasts; the repeating
    job's own run does nothing while that chain is under way."""
    assert context.job is not None
    dispatcher: Dispatcher = context.job.data  # type: ignore[assignment]
    if dispatcher.running:
        return
    report = await dispatcher.tick()
    if report.backlog and not dispatcher.stopping and context.job_queue is not None:
        context.job_queue.run_once(run_dispatcher, 0, name=JOB_NAME, data=dispatcher)
    # People erased outside the process (the command line, the tick's own purge) who do
    # not write again: what the application still holds for them goes too.
    await forget_erased(context.application, dispatcher.database)


def schedule_dispatcher(
    application: Application[Any, Any, Any, Any, Any, Any],
    database: Database,
    clock: Clock,
    renderer: PromptRenderer,
    *,
    alerts: AlertHook | None = None,
    digests: DigestHook | None = None,
    broadcasts: BroadcastRenderer | None = None,
    closures: ClosureHook | None = None,
    erasure_keeps: Keeps | None = None,
    interval: float = TICK_INTERVAL,
) -> Dispatcher:
    """Register the single repeating dispatcher job (no per-participant jobs), with what
    bot/app.py hands it: the prompt renderer, the coordinators' alerts and digests, the
    broadcasts' renderer, the certificates sent when a match closes, and what erasure
    keeps for the daily retention purge."""
    job_queue = application.job_queue
    if job_queue is None:
        raise RuntimeError("python-telegram-bot was installed without its job-queue extra")
    dispatcher = Dispatcher(
        application.bot,
        database,
        renderer,
        clock,
        sweep_flags=True,
        alerts=alerts,
        digests=digests,
        broadcasts=broadcasts,
        closures=closures,
        erasure_keeps=erasure_keeps,
    )
    job_queue.run_repeating(
        run_dispatcher,
        interval=interval,
        first=1,
        name=JOB_NAME,
        data=dispatcher,
        # A tick that overruns delays the next one instead of running twice at once.
        job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
    )
    return dispatcher
