"""Prompts as a queue in the database: materialising the weekly check-ins, claiming them
for sending, recording what Telegram said, closing periods, and giving up on people who
blocked the bot.

Each function does its work in the caller's transaction with a handful of statements,
whatever the number of rows: the dispatcher handles a week of 100,000 participants with
bulk INSERTs and UPDATEs, never one ORM object at a time. Claims are single
``WITH chosen AS (SELECT … LIMIT n FOR UPDATE SKIP LOCKED) UPDATE … RETURNING``
statements, so two dispatchers can never claim (and send) the same prompt: on PostgreSQL
the row locks keep them apart, on SQLite writers are serialised and the statement is
atomic.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import chain
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.claims import CLAIM_LEASE, claim_rows, lease, recover_expired
from storage.closure_schedule import NOTICE_INSTRUMENT, closure_settings, notice_window
from storage.db import GENERATED, upsert
from storage.models import (
    Flag,
    FlagStatus,
    Match,
    MatchStatus,
    Membership,
    Person,
    PersonStatus,
    Program,
    Prompt,
    PromptKind,
    PromptStatus,
    Role,
    StoredState,
)
from storage.programs import zone_or_none
from storage.schedule import (
    WEEK,
    Occurrence,
    PlannedPrompt,
    Slot,
    occurrences,
    plan,
    plan_reflections,
    reflection_slot,
)

# How far back materialise looks for a period that is still open: a week, plus the hour a
# DST change can add to it, plus slack.
LOOKBACK = WEEK + timedelta(days=1)
DEFAULT_PROGRAM_WEEKS = 12
# Matches per page when materialising: bounds the memory of the hourly full scan.
PAGE_MATCHES = 5000
# New prompts after which PostgreSQL's statistics of the queue are gathered at once
# (`refresh_statistics`).
ANALYZE_AFTER = 1000
UNREACHABLE_RULE = "unreachable"
UNREACHABLE_SEVERITY = "high"
# The materialisation watermark, in stored_state.
DISPATCH_NAMESPACE = "dispatch"
WATERMARK_KEY = "materialised"

_prompt = Prompt.__table__  # type: ignore[attr-defined]
_flag = Flag.__table__  # type: ignore[attr-defined]
_state = StoredState.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Participant:
    """Someone who takes part in an open match, with everything their schedule needs.

    `slot` is the person's own check-in slot and zone, each part falling back to the
    program's; None when the zone is unknown. `starts_at` is when they became eligible
    (the later of the match start, the end of their onboarding and a week after an
    earlier match of theirs ended): no check-in is due for a week that began before they
    were matched, nor in the week after a match ended.
    """

    person_id: int
    match_id: int
    program_id: int
    role: str
    name: str | None
    username: str | None
    status: str
    paused_until: date | None
    slot: Slot | None
    starts_at: datetime
    match_started_at: datetime | None = None
    planned_end: date | None = None


# --- who is scheduled -----------------------------------------------------------------


def _slot(
    zone_name: str | None, weekday: int | None, at: time | None, program: tuple[str, int, time]
) -> Slot | None:
    zone = zone_or_none(zone_name or program[0])
    if zone is None:
        return None
    return Slot(
        weekday=program[1] if weekday is None else weekday,
        at=program[2] if at is None else at,
        zone=zone,
    )


async def scheduled_participants(
    session: AsyncSession,
    *,
    program_id: int | None = None,
    active_only: bool = True,
    match_ids: tuple[int, int] | None = None,
    matches: Sequence[sa.ColumnElement[bool]] = (col(Match.status) == MatchStatus.ACTIVE,),
) -> list[Participant]:
    """Mentees and mentors who finished onboarding and are in an active match (or one
    that meets the `matches` criteria instead), ordered by match.

    `active_only` keeps people whose status is active; otherwise everyone still taking
    part is listed (paused and unreachable people included) for the schedule preview.
    `match_ids` (first, last) limits the matches to an id range, for paging.
    """
    found: list[Participant] = []
    earlier = sa.orm.aliased(Match)
    last_ended = (
        select(sa.func.max(earlier.closing_at))
        .where(
            sa.or_(earlier.mentee_id == col(Person.id), earlier.mentor_id == col(Person.id)),
            earlier.id != col(Match.id),
        )
        .scalar_subquery()
    )
    for role, side in ((Role.MENTEE, Match.mentee_id), (Role.MENTOR, Match.mentor_id)):
        statement = (
            select(
                Person.id,
                Match.id,
                Match.program_id,
                Person.name,
                Person.username,
                Person.status,
                Person.paused_until,
                Person.timezone,
                Person.checkin_weekday,
                Person.checkin_time,
                Program.timezone,
                Program.checkin_weekday,
                Program.checkin_time,
                Match.started_at,
                Membership.completed_at,
                Match.planned_end,
                last_ended,
            )
            .select_from(Match)
            .join(Person, col(Person.id) == col(side))
            .join(
                Membership,
                sa.and_(
                    col(Membership.person_id) == col(Person.id),
                    col(Membership.program_id) == col(Match.program_id),
                    col(Membership.role) == role,
                ),
            )
            .join(Program, col(Program.id) == col(Match.program_id))
            .where(*matches, col(Membership.completed_at).is_not(None))
        )
        if program_id is not None:
            statement = statement.where(Match.program_id == program_id)
        if match_ids is not None:
            statement = statement.where(col(Match.id).between(*match_ids))
        if active_only:
            statement = statement.where(Person.status == PersonStatus.ACTIVE)
        else:
            statement = statement.where(
                col(Person.status).not_in((PersonStatus.CLOSED, PersonStatus.ERASED))
            )
        for row in (await session.exec(statement)).all():
            (person_id, match_id, prog_id, name, username, status, paused_until) = row[:7]
            zone_name, weekday, at, program_zone, program_day, program_at = row[7:13]
            started_at, completed_at, planned_end, ended = row[13:]
            after_ended = started_at if ended is None else ended + WEEK
            found.append(
                Participant(
                    person_id=person_id,
                    match_id=match_id,
                    program_id=prog_id,
                    role=role,
                    name=name,
                    username=username,
                    status=status,
                    paused_until=paused_until,
                    slot=_slot(zone_name, weekday, at, (program_zone, program_day, program_at)),
                    starts_at=max(started_at, completed_at, after_ended),
                    match_started_at=started_at,
                    planned_end=planned_end,
                )
            )
    found.sort(key=lambda someone: (someone.match_id, someone.role))
    return found


async def match_pages(session: AsyncSession, size: int = PAGE_MATCHES) -> list[tuple[int, int]]:
    """The active matches as (first id, last id) ranges of at most `size` matches each,
    so a scan of 100,000 participants never holds them all in memory at once."""
    statement = select(Match.id).where(Match.status == MatchStatus.ACTIVE).order_by(col(Match.id))
    ids = [match_id for match_id in (await session.exec(statement)).all() if match_id is not None]
    return [
        (ids[start], ids[min(start + size, len(ids)) - 1]) for start in range(0, len(ids), size)
    ]


async def program_settings(session: AsyncSession) -> dict[int, Mapping[str, Any]]:
    """Every program's settings by id (there are a handful of programs)."""
    statement = select(Program.id, Program.settings)
    return {program_id: settings or {} for program_id, settings in await session.exec(statement)}


# --- pauses ---------------------------------------------------------------------------


def pause_over(paused_until: date | None, zone_name: str | None, now: datetime) -> bool:
    """A pause lasts until the morning of `paused_until` in the person's zone: from that
    local date on they are active again. No date means paused until they resume."""
    if paused_until is None:
        return False
    zone = zone_or_none(zone_name)
    today = now.astimezone(zone).date() if zone else now.date()
    return today >= paused_until


async def resume_ended_pauses(session: AsyncSession, now: datetime) -> int:
    """Make people whose pause is over active again; returns how many."""
    # No zone is more than 14 h ahead of UTC: anyone resuming today locally is in here.
    horizon = (now + timedelta(days=1)).date()
    statement = select(Person.id, Person.paused_until, Person.timezone).where(
        Person.status == PersonStatus.PAUSED,
        col(Person.paused_until).is_not(None),
        col(Person.paused_until) <= horizon,
    )
    ids = [
        person_id
        for person_id, until, zone in await session.exec(statement)
        if pause_over(until, zone, now)
    ]
    if ids:
        await session.exec(
            sa.update(Person)
            .where(col(Person.id).in_(ids), Person.status == PersonStatus.PAUSED)
            .values(status=PersonStatus.ACTIVE, paused_until=None)
        )
    return len(ids)


# --- materialising --------------------------------------------------------------------


def receives(someone: Participant, item: PlannedPrompt) -> bool:
    """Whether `someone` gets this check-in: not for a week that began before they were
    matched, not while paused (a pause ends on the morning of `paused_until`, local
    date), never while unreachable or not yet onboarded."""
    if item.occurrence.due_at < someone.starts_at:
        return False
    if someone.status == PersonStatus.ACTIVE:
        return True
    return (
        someone.status == PersonStatus.PAUSED
        and someone.paused_until is not None
        and item.occurrence.local_date >= someone.paused_until
    )


def planned_checkins(
    participants: Iterable[Participant],
    settings: Mapping[int, Mapping[str, Any]],
    start: datetime,
    end: datetime,
    plans: dict[tuple[Slot, str, int], list[PlannedPrompt]] | None = None,
) -> Iterator[tuple[Participant, PlannedPrompt]]:
    """Each participant's check-ins due in [start, end]. Planned once per distinct
    (slot, role, program) — thousands of people share a handful of slots — in `plans`,
    which a caller may keep across calls with the same window."""
    plans = {} if plans is None else plans
    for someone in participants:
        if someone.slot is None:
            continue
        key = (someone.slot, someone.role, someone.program_id)
        planned = plans.get(key)
        if planned is None:
            program = settings.get(someone.program_id, {})
            planned = plans[key] = plan(someone.slot, someone.role, program, start, end)
        for item in planned:
            if receives(someone, item):
                yield someone, item


def planned_reflections(
    participants: Iterable[Participant], run: MaterialisePlan
) -> Iterator[tuple[Participant, PlannedPrompt]]:
    """Each participant's reflection prompts due in the run's window. A reflection slot's
    occurrences are computed once per slot; the cadence and phase depend on the match's
    start and the program's length and settings."""
    start, end = run.now - LOOKBACK, run.now + run.horizon
    for someone in participants:
        if someone.slot is None:
            continue
        started = someone.match_started_at or someone.starts_at
        key = (someone.slot, someone.role, someone.program_id, started)
        planned = run.reflections.get(key)
        if planned is None:
            found = run.reflection_occurrences.get(someone.slot)
            if found is None:
                slot = reflection_slot(someone.slot)
                found = run.reflection_occurrences[someone.slot] = occurrences(slot, start, end)
            planned = run.reflections[key] = plan_reflections(
                found,
                someone.role,
                run.settings.get(someone.program_id, {}),
                run.weeks.get(someone.program_id, DEFAULT_PROGRAM_WEEKS),
                started,
            )
        for item in planned:
            if receives(someone, item):
                yield someone, item


def planned_notices(
    participants: Iterable[Participant], run: MaterialisePlan
) -> Iterator[tuple[Participant, PlannedPrompt]]:
    """Each participant's closure notice due by `now + horizon` (`closure.notice_weeks`
    before the match's planned end, at their check-in slot; see
    `storage.closure_schedule`). Its period is the planned end's date, so a match
    extended to a new planned end gets a new notice."""
    for someone in participants:
        if someone.slot is None or someone.planned_end is None:
            continue
        weeks = closure_settings(run.settings.get(someone.program_id)).notice_weeks
        window = notice_window(someone.slot, someone.planned_end, weeks)
        if window is None or window.due_at > run.now + run.horizon:
            continue
        local_date = window.due_at.astimezone(someone.slot.zone).date()
        occurrence = Occurrence(
            someone.planned_end.isoformat(), local_date, window.due_at, window.closes_at
        )
        item = PlannedPrompt(
            occurrence, PromptKind.CLOSURE_NOTICE, NOTICE_INSTRUMENT, window.remind_at
        )
        if receives(someone, item):
            yield someone, item


def _prompt_rows(participants: Sequence[Participant], run: MaterialisePlan) -> list[dict[str, Any]]:
    """Rows for the check-ins, reflections and closure notices due up to
    `now + horizon` whose period is still open."""
    now = run.now
    checkins = planned_checkins(
        participants, run.settings, now - LOOKBACK, now + run.horizon, run.plans
    )
    notices = planned_notices(participants, run)
    rows = [
        {
            "person_id": someone.person_id,
            "match_id": someone.match_id,
            "kind": item.kind,
            "period": item.occurrence.period,
            "instrument": item.instrument,
            "due_at": item.occurrence.due_at,
            "closes_at": item.occurrence.closes_at,
            "status": PromptStatus.PENDING,
            "attempts": 0,
            "remind_at": item.remind_at,
        }
        for someone, item in chain(checkins, planned_reflections(participants, run), notices)
        if item.occurrence.closes_at > now
    ]
    # One order for every writer, page after page, so two concurrent inserts on
    # PostgreSQL wait for each other on the unique key instead of deadlocking.
    rows.sort(key=itemgetter("match_id", "person_id", "period"))
    return rows


async def insert_prompts(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert prompt rows, skipping any whose (person, match, kind, period) exists;
    returns how many were new.

    One executemany: SQLAlchemy's "insertmanyvalues" sends it as multi-row INSERTs sized
    to the driver's parameter limit. (Building one ``.values([...])`` statement per chunk
    instead is eight times slower: 24 s against 2.9 s for 100,000 rows on SQLite.)
    """
    if not rows:
        return 0
    statement = (
        upsert(session, _prompt)
        .on_conflict_do_nothing(index_elements=["person_id", "match_id", "kind", "period"])
        .returning(_prompt.c.id)
        .execution_options(**{GENERATED: True})  # nothing in them was typed by anyone
    )
    return len((await session.exec(statement, params=list(rows))).all())


@dataclass
class MaterialisePlan:
    """One materialisation run: the pages of matches to go through, the programs'
    settings and the slot plans shared by all pages (`materialise_start`)."""

    now: datetime
    horizon: timedelta
    pages: list[tuple[int, int]]
    settings: dict[int, Mapping[str, Any]]
    plans: dict[tuple[Slot, str, int], list[PlannedPrompt]] = field(default_factory=dict)
    weeks: dict[int, int] = field(default_factory=dict)
    # By check-in slot: the occurrences of its reflection slot; by (check-in slot, role,
    # program, match start): the reflections planned (matches started together share).
    reflection_occurrences: dict[Slot, list[Occurrence]] = field(default_factory=dict)
    reflections: dict[tuple[Slot, str, int, datetime], list[PlannedPrompt]] = field(
        default_factory=dict
    )


async def materialise_start(
    session: AsyncSession, now: datetime, horizon: timedelta, page_size: int = PAGE_MATCHES
) -> MaterialisePlan:
    """Resume the people whose pause is over and plan the pages of a materialisation."""
    await resume_ended_pauses(session, now)
    pages = await match_pages(session, page_size)
    run = MaterialisePlan(now, horizon, pages, await program_settings(session))
    run.weeks = dict((await session.exec(select(Program.id, Program.weeks))).all())
    return run


async def materialise_page(
    session: AsyncSession, run: MaterialisePlan, page: tuple[int, int]
) -> int:
    """Create the prompts of one page of matches; returns how many are new."""
    participants = await scheduled_participants(session, match_ids=page)
    rows = _prompt_rows(participants, run)
    return await insert_prompts(session, rows)


async def materialise(session: AsyncSession, now: datetime, horizon: timedelta) -> int:
    """Create the check-ins due up to `now + horizon` whose period is still open, for
    every active participant, in the caller's transaction; returns how many are new.

    Periods that closed while the bot was down are never created, so an outage is never
    counted against anyone; the period still open is created and caught up once. (The
    dispatcher runs the same steps with one transaction per page, so SQLite's write lock
    is never held for the whole scan.)
    """
    run = await materialise_start(session, now, horizon)
    created = 0
    for page in run.pages:
        created += await materialise_page(session, run, page)
    await refresh_statistics(session, created)
    return created


async def refresh_statistics(
    session: AsyncSession, created: int, threshold: int = ANALYZE_AFTER
) -> bool:
    """On PostgreSQL, once `threshold` prompts or more were just created, gather the
    prompt table's statistics at once instead of waiting for autovacuum. Until then the
    planner believes the queue holds the few rows it last saw, and plans each claim as
    "fetch every pending row, sort them, keep 30" instead of reading the due-date index
    for 30 rows: 300 ms instead of 0.5 ms per claim with 10,000 due, so a backlog took
    quadratic time. True when it analysed."""
    bind = session.bind
    if created < threshold or bind is None or bind.dialect.name != "postgresql":
        return False
    await session.exec(sa.text(f"ANALYZE {_prompt.name}"))
    return True


async def materialisation_due(session: AsyncSession, now: datetime, refresh: timedelta) -> bool:
    """Whether the prompts must be materialised again: never done, the schedule changed
    since (`schedule_changed`), `refresh` has passed, or the horizon is running out."""
    row = await session.get(StoredState, (DISPATCH_NAMESPACE, WATERMARK_KEY))
    if row is None or not isinstance(row.value, dict):
        return True
    try:
        scanned = datetime.fromisoformat(row.value["at"])
        until = datetime.fromisoformat(row.value["until"])
    except (KeyError, TypeError, ValueError):
        return True
    return now >= scanned + refresh or now + refresh >= until or now < scanned


async def note_materialised(session: AsyncSession, now: datetime, until: datetime) -> None:
    """Remember that every prompt due up to `until` exists as of `now` (an upsert: two
    dispatchers may write it at once)."""
    value = {"at": now.isoformat(), "until": until.isoformat()}
    statement = upsert(session, _state).values(
        namespace=DISPATCH_NAMESPACE, key=WATERMARK_KEY, value=value, updated_at=now
    )
    statement = statement.on_conflict_do_update(
        index_elements=["namespace", "key"],
        set_={"value": statement.excluded.value, "updated_at": statement.excluded.updated_at},
    )
    await session.exec(statement)


async def schedule_changed(session: AsyncSession) -> None:
    """Someone's slot, zone, pause, onboarding or match changed: the next dispatcher tick
    materialises again instead of waiting for its hourly refresh."""
    await session.exec(
        sa.delete(StoredState).where(
            col(StoredState.namespace) == DISPATCH_NAMESPACE, col(StoredState.key) == WATERMARK_KEY
        )
    )


async def invalidate_future(session: AsyncSession, person_id: int, now: datetime) -> int:
    """Delete the person's pending prompts that are not due yet (their slot, zone or pause
    changed) and have the schedule materialised again; returns how many went."""
    result = await session.exec(
        sa.delete(Prompt).where(
            col(Prompt.person_id) == person_id,
            col(Prompt.status) == PromptStatus.PENDING,
            col(Prompt.due_at) > now,
        )
    )
    await schedule_changed(session)
    return int(result.rowcount or 0)


# --- claiming -------------------------------------------------------------------------


def _reachable() -> sa.ColumnElement[bool]:
    """The prompt's person is active (not paused, unreachable or gone)."""
    return sa.exists().where(
        col(Person.id) == col(Prompt.person_id), col(Person.status) == PersonStatus.ACTIVE
    )


async def _claim(
    session: AsyncSession,
    limit: int,
    criteria: Sequence[sa.ColumnElement[bool]],
    order: Any,
    changes: Mapping[str, Any],
) -> list[Prompt]:
    """Claim prompts of reachable people (see `storage.claims.claim_rows`), by due date."""
    claimed = await claim_rows(session, Prompt, [*criteria, _reachable()], [order], limit, changes)
    claimed.sort(key=lambda prompt: (prompt.due_at, prompt.id or 0))
    return claimed


async def claim_due(
    session: AsyncSession,
    now: datetime,
    limit: int,
    *,
    claimed_by: str = "",
    lease_for: timedelta = CLAIM_LEASE,
) -> list[Prompt]:
    """Claim up to `limit` pending prompts that are due, still open and not waiting for a
    retry: they become `sending`, with one more attempt, leased to `claimed_by` for
    `lease_for` (`storage.claims`)."""
    criteria = [
        col(Prompt.status) == PromptStatus.PENDING,
        col(Prompt.due_at) <= now,
        col(Prompt.closes_at) > now,
        sa.or_(col(Prompt.next_attempt_at).is_(None), col(Prompt.next_attempt_at) <= now),
    ]
    changes = {
        "status": PromptStatus.SENDING,
        "attempts": col(Prompt.attempts) + 1,
        **lease(now, claimed_by, lease_for),
    }
    return await _claim(session, limit, criteria, col(Prompt.due_at), changes)


async def recover_prompts(session: AsyncSession, now: datetime, resends: int) -> int:
    """Prompts a dead instance left `sending` past their lease: queued again while they
    may be re-sent, otherwise counted sent (they may have arrived; see
    `storage.claims.recover_expired`)."""
    settled = {"status": PromptStatus.SENT, "sent_at": now}
    return await recover_expired(session, Prompt, now, resends, settled)


async def claim_reminders(session: AsyncSession, now: datetime, limit: int) -> list[Prompt]:
    """Claim up to `limit` sent, unanswered prompts whose reminder is due in a period still
    open: each is reminded once (`reminded_at` is set now, and is the whole claim: a
    reminder cut off by a crash counts as sent)."""
    criteria = [
        col(Prompt.status) == PromptStatus.SENT,
        col(Prompt.remind_at) <= now,
        col(Prompt.reminded_at).is_(None),
        col(Prompt.closes_at) > now,
    ]
    return await _claim(session, limit, criteria, col(Prompt.remind_at), {"reminded_at": now})


# --- recording outcomes ---------------------------------------------------------------


async def record_sent(
    session: AsyncSession, sent: Sequence[tuple[Prompt, int]], now: datetime
) -> None:
    """Mark claimed prompts sent: `sent` holds (prompt, Telegram message id) pairs.

    The reminder delay counts from when the prompt went out, so a prompt caught up after
    an outage or a retry is not followed by its reminder at once.
    """
    if not sent:
        return
    statement = (
        sa.update(_prompt)
        .where(_prompt.c.id == sa.bindparam("prompt_id"))
        .where(_prompt.c.status == PromptStatus.SENDING)
        .values(
            status=PromptStatus.SENT,
            sent_at=now,
            telegram_message_id=sa.bindparam("message_id"),
            remind_at=sa.bindparam("new_remind_at"),
        )
    )
    params = [
        {
            "prompt_id": prompt.id,
            "message_id": message_id,
            "new_remind_at": None
            if prompt.remind_at is None
            else prompt.remind_at + max(now - prompt.due_at, timedelta()),
        }
        for prompt, message_id in sent
    ]
    await session.exec(statement, params=params)


def _sending(prompt_ids: Iterable[int]) -> list[sa.ColumnElement[bool]]:
    return [col(Prompt.id).in_(list(prompt_ids)), col(Prompt.status) == PromptStatus.SENDING]


async def release_for_retry(
    session: AsyncSession,
    prompt_ids: Sequence[int],
    next_attempt_at: datetime,
    *,
    count_attempt: bool = True,
    uncertain: bool = False,
) -> None:
    """Put claimed prompts back in the queue until `next_attempt_at`. Telegram's flood
    control (`count_attempt=False`) does not use up one of the prompt's attempts;
    `uncertain` counts a send that may have arrived."""
    if not prompt_ids:
        return
    changes: dict[str, Any] = {"status": PromptStatus.PENDING, "next_attempt_at": next_attempt_at}
    if not count_attempt:
        changes["attempts"] = col(Prompt.attempts) - 1
    if uncertain:
        changes["uncertain_sends"] = col(Prompt.uncertain_sends) + 1
    await session.exec(sa.update(Prompt).where(*_sending(prompt_ids)).values(**changes))


async def mark_uncertain(session: AsyncSession, prompt_ids: Sequence[int], now: datetime) -> None:
    """A send that may have arrived, with no re-send left: the prompt counts as sent
    (its reminder follows, and it is answered or missed like any other)."""
    if prompt_ids:
        await session.exec(
            sa.update(Prompt)
            .where(*_sending(prompt_ids))
            .values(
                status=PromptStatus.SENT,
                sent_at=now,
                uncertain_sends=col(Prompt.uncertain_sends) + 1,
            )
        )


async def mark_failed(session: AsyncSession, prompt_ids: Sequence[int]) -> None:
    """Telegram refused these prompts for good."""
    if prompt_ids:
        await session.exec(
            sa.update(Prompt).where(*_sending(prompt_ids)).values(status=PromptStatus.FAILED)
        )


async def release_reminders(
    session: AsyncSession, prompt_ids: Sequence[int], remind_at: datetime
) -> None:
    """A reminder could not be delivered: try again at `remind_at` (while the period is
    open; the claim checks that)."""
    if prompt_ids:
        await session.exec(
            sa.update(Prompt)
            .where(col(Prompt.id).in_(list(prompt_ids)))
            .values(remind_at=remind_at, reminded_at=None)
        )


async def close_periods(session: AsyncSession, now: datetime) -> int:
    """Settle the prompts whose period has closed; returns how many.

    Never sent (pending, or claimed by a dispatcher that died) → expired: an outage is
    not the participant's doing. Sent and unanswered → missed, unless the person is
    paused now (paused weeks are not counted) → expired. Answered and skipped prompts
    keep their status.
    """
    closed = col(Prompt.closes_at) <= now
    paused = sa.exists().where(
        col(Person.id) == col(Prompt.person_id), col(Person.status) == PersonStatus.PAUSED
    )
    statements = (
        (
            sa.and_(col(Prompt.status).in_((PromptStatus.PENDING, PromptStatus.SENDING)), closed),
            PromptStatus.EXPIRED,
        ),
        (sa.and_(col(Prompt.status) == PromptStatus.SENT, closed, paused), PromptStatus.EXPIRED),
        (sa.and_(col(Prompt.status) == PromptStatus.SENT, closed), PromptStatus.MISSED),
    )
    total = 0
    for criteria, status in statements:
        result = await session.exec(sa.update(Prompt).where(criteria).values(status=status))
        total += int(result.rowcount or 0)
    return total


async def mark_unreachable(session: AsyncSession, person_id: int, now: datetime) -> int:
    """The person blocked the bot (or their account is gone): stop prompting them, drop
    their pending prompts and raise one "unreachable" flag on each of their open matches
    for the coordinator (none twice while one is unresolved). Returns the flags raised."""
    await session.exec(
        sa.update(Person).where(col(Person.id) == person_id).values(status=PersonStatus.UNREACHABLE)
    )
    await session.exec(
        sa.delete(Prompt).where(
            col(Prompt.person_id) == person_id, col(Prompt.status) == PromptStatus.PENDING
        )
    )
    matches = select(Match.id).where(
        Match.status != MatchStatus.CLOSED,
        sa.or_(col(Match.mentor_id) == person_id, col(Match.mentee_id) == person_id),
    )
    match_ids = list((await session.exec(matches)).all())
    if not match_ids:
        return 0
    evidence = {"since": now.isoformat(), "person_id": person_id}
    rows = [
        {
            "match_id": match_id,
            "rule": UNREACHABLE_RULE,
            "severity": UNREACHABLE_SEVERITY,
            "evidence": evidence,
            "status": FlagStatus.OPEN,
            "opened_at": now,
        }
        for match_id in match_ids
    ]
    statement = (
        upsert(session, _flag)
        .values(rows)
        .on_conflict_do_nothing(
            index_elements=["match_id", "rule"],
            index_where=sa.text(f"status != '{FlagStatus.RESOLVED}'"),
        )
        .returning(_flag.c.id)
    )
    return len((await session.exec(statement)).all())
