"""What a delivery promises, and how what Telegram answered is recorded.

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
and applies the rule above (`bot.dispatch` runs the ticks).

Outcomes are recorded a batch at a time: one statement per kind of outcome (and per
distinct retry time), never one per message.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from storage.broadcasts import (
    fail_deliveries,
    record_delivered,
    recover_deliveries,
    release_deliveries,
    uncertain_deliveries,
)
from storage.models import BroadcastDelivery, Prompt
from storage.prompts import (
    mark_failed,
    mark_uncertain,
    mark_unreachable,
    record_sent,
    recover_prompts,
    release_for_retry,
    release_reminders,
)

MAX_ATTEMPTS = 5
FIRST_BACKOFF = timedelta(minutes=1)
REMINDER_RETRY = timedelta(minutes=5)
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


async def record_messages(
    queue: Queue,
    session: AsyncSession,
    deliveries: Sequence[Delivery],
    now: datetime,
    report: TickReport,
    *,
    max_attempts: int = MAX_ATTEMPTS,
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
        spent = delivery.item.attempts >= max_attempts
        (exhausted if spent else retrying).append(delivery)
    for attempts, ids in _by(retrying, lambda d: d.item.attempts).items():
        await queue.release_for_retry(session, ids, now + backoff(attempts))
        report.retried += len(ids)
    failed = [*by_outcome[Outcome.FAILED], *exhausted, *by_outcome[Outcome.UNREACHABLE]]
    await queue.mark_failed(session, [_id(d) for d in failed])
    report.failed += len(failed)
    report.unreachable += await _unreachable(session, by_outcome, now)


async def record_reminders(
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
    report.unreachable += await _unreachable(session, by_outcome, now)


async def _unreachable(
    session: AsyncSession, by_outcome: dict[Outcome, list[Delivery]], now: datetime
) -> int:
    """Mark the people Telegram refused unreachable (with their flags); how many."""
    people = sorted({d.item.person_id for d in by_outcome[Outcome.UNREACHABLE]})
    for person_id in people:
        await mark_unreachable(session, person_id, now)
    return len(people)


def _id(delivery: Delivery) -> int:
    assert delivery.item.id is not None
    return delivery.item.id


def kind_of(item: Claimed) -> str:
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
