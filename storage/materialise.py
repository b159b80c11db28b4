"""Materialising prompts: the check-ins, reflections and closure notices due within the
horizon are planned once per distinct slot and inserted page by page of matches with one
bulk ``INSERT … ON CONFLICT DO NOTHING`` (a prompt exists once per person, match, kind
and period), and a watermark in stored_state says when that was last done so the hourly
full scan is skipped in between, unless the schedule changed (`schedule_changed`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import chain
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.closure_schedule import NOTICE_INSTRUMENT, closure_settings, notice_window
from storage.db import GENERATED, JsonRows, dialect_of, unnested, upsert
from storage.models import PersonStatus, Program, Prompt, PromptKind, PromptStatus, StoredState
from storage.participants import (
    PAGE_MATCHES,
    Participant,
    match_pages,
    program_settings,
    resume_ended_pauses,
    scheduled_participants,
)
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
# New prompts after which PostgreSQL's statistics of the queue are gathered at once
# (`refresh_statistics`).
ANALYZE_AFTER = 1000
# The materialisation watermark, in stored_state.
DISPATCH_NAMESPACE = "dispatch"
WATERMARK_KEY = "materialised"

_prompt = Prompt.__table__  # type: ignore[attr-defined]
_state = StoredState.__table__  # type: ignore[attr-defined]


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
    rows.sort(key=WRITE_ORDER)
    return rows


WRITE_ORDER = itemgetter("due_at", "match_id", "person_id", "kind", "period")
"""The order prompts are inserted in, page after page. One order for every writer, so
two concurrent inserts on PostgreSQL wait for each other on the unique key instead of
deadlocking. Due date first, so the prompts a claim takes together (by due date) lie
together in the table: claiming 100,000 on SQLite in batches of 1,000 went from 9.21
and 7.63 s to 5.89 and 6.88 s (`bench.dispatch --participants 100000 --skip-ticks`,
alternately), since each batch rewrites fewer pages."""


async def insert_prompts(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert prompt rows, skipping any whose (person, match, kind, period) exists;
    returns how many were new.

    One statement for all the rows, prepared once: on SQLite the rows as one JSON array
    (`_FROM_JSON`), on PostgreSQL one array per column (`_UNNESTED`), where SQLAlchemy's
    executemany binds and converts every value of every row and sends statements of
    thousands of parameters for the database to parse, one per thousand rows."""
    if not rows:
        return 0
    if dialect_of(session) == "postgresql":
        columns = {name: [row[name] for row in rows] for name in _COLUMNS}
        return len((await session.exec(_UNNESTED, params=columns)).all())
    return len((await session.exec(_FROM_JSON, params=_JSON.params(rows))).all())


_COLUMNS = (  # what `_prompt_rows` gives for each prompt
    "person_id", "match_id", "kind", "period", "instrument",
    "due_at", "closes_at", "status", "attempts", "remind_at",
)  # fmt: skip
_UNIQUE = ["person_id", "match_id", "kind", "period"]
_TYPES = {name: _prompt.c[name].type for name in _COLUMNS}


def _inserting_new(insert: Any, rows: Any) -> Any:
    """``INSERT … SELECT`` of `rows` (columns `_COLUMNS`), skipping the prompts that
    exist, returning the new ones' ids."""
    return (
        insert(_prompt)
        .from_select(list(_COLUMNS), rows)
        .on_conflict_do_nothing(index_elements=_UNIQUE)
        .returning(_prompt.c.id)
        .execution_options(**{GENERATED: True})  # nothing in them was typed by anyone
    )


_PLANNED = unnested("planned", _TYPES)
_UNNESTED = _inserting_new(postgresql.insert, sa.select(*(_PLANNED.c[name] for name in _COLUMNS)))
"""`insert_prompts` on PostgreSQL, built once (`storage.db.unnested`)."""
_JSON = JsonRows("planned", _TYPES)
_FROM_JSON = _inserting_new(sqlite.insert, _JSON.rows)
"""`insert_prompts` on SQLite, built once (`storage.db.JsonRows`)."""


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
    if created < threshold or dialect_of(session) != "postgresql":
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
