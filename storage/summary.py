"""A program's figures at a glance, for the coordinators' /dashboard and weekly digest, and
the digest's schedule and once-a-week claim.

Every figure is read in the program's time zone, with the definitions of
`storage.metrics` (README, "Dashboard and weekly digest"):

- **Matches** by status (active, paused, closing; closed ones are left out), and the
  mentees and mentors who finished joining and wait for a match (`storage.pairing`).
- **Response rate**: weekly check-ins answered over those that reached people, this ISO
  week and the one before (`storage.metrics`).
- **Meetings** this calendar month: meeting logs (not deleted) held this month. **Hours**
  this month: those meetings' minutes, plus the mentor's check-in estimate for each of a
  match's weeks with no meeting logged (as `storage.metrics.contact_minutes` counts them);
  such a week counts in the month holding its Thursday, as ISO weeks count in the year
  holding theirs.
- **Flags**: unresolved flags by severity. Open and acknowledged flags count by severity;
  a flag snoozed and still within its snooze (`storage.health.snoozed`) is counted apart,
  since its coordinator chose to wait.

A digest (`week_in_review`) reports the last complete ISO week the same way, with the
meetings held that week, its contact hours and the active matches with no contact at all
that week (no meeting logged, no contact reported in a check-in: `storage.contacts`).

The digest goes out once a week per coordinator: `digest_check_due` lets the dispatcher
look for due digests once per quarter of an hour (an atomic watermark, so a minute's tick
costs one statement), and `claim_digests` inserts one row per (coordinator, week) with
``INSERT … ON CONFLICT DO NOTHING`` before anything is sent, so two dispatchers, or a
restart, never send one twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.contacts import CONTACT_KEY, NO_CONTACT
from storage.db import upsert
from storage.flags import SEVERITY_ORDER
from storage.metrics import Rate, meeting_days
from storage.models import (
    Answer,
    Flag,
    FlagStatus,
    Match,
    MatchStatus,
    MeetingLog,
    Membership,
    Person,
    PersonStatus,
    Program,
    Prompt,
    PromptKind,
    Role,
    StoredState,
)
from storage.pairing import unmatched
from storage.programs import zone_or_none
from storage.schedule import period_key, period_monday, wall_time_to_utc
from storage.week_figures import WeekFigures, program_weeks

WEEK = timedelta(days=7)
TOP_FLAGS = 3  # flags a digest lists by name, per program
OPEN_STATUSES = (MatchStatus.ACTIVE, MatchStatus.PAUSED, MatchStatus.CLOSING)

# --- the figures ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FlagLine:
    """One unresolved flag, named for a coordinator."""

    flag: Flag
    mentor: Person | None
    mentee: Person | None


@dataclass(frozen=True)
class FlagCounts:
    by_severity: dict[str, int] = field(default_factory=dict)  # open or acknowledged
    snoozed: int = 0
    top: tuple[FlagLine, ...] = ()  # the most severe first, then the oldest

    @property
    def total(self) -> int:
        return sum(self.by_severity.values())


@dataclass(frozen=True)
class Dashboard:
    program: Program
    today: date  # in the program's time zone
    matches: dict[str, int]  # by status: active, paused, closing
    waiting: dict[str, int]  # mentees and mentors waiting for a match
    this_week: Rate
    last_week: Rate
    month_meetings: int
    month_minutes: int
    flags: FlagCounts


@dataclass(frozen=True)
class Review:
    """One program's complete ISO week, for the digest."""

    program: Program
    week: str
    rate: Rate
    previous: Rate  # the week before
    meetings: int
    minutes: int
    active: int  # matches active now that were active before the week began
    silent: int  # … of which had no contact at all that week
    flags: FlagCounts


def program_zone(program: Program) -> tzinfo:
    return zone_or_none(program.timezone) or UTC


def local_today(program: Program, now: datetime) -> date:
    return now.astimezone(program_zone(program)).date()


def previous_week(period: str) -> str:
    monday = period_monday(period)
    assert monday is not None, period
    return period_key(monday - WEEK)


async def match_counts(session: AsyncSession, program_id: int) -> dict[str, int]:
    rows = await session.exec(
        select(Match.status, sa.func.count(col(Match.id)))
        .where(Match.program_id == program_id, col(Match.status).in_(OPEN_STATUSES))
        .group_by(col(Match.status))
    )
    counts = dict.fromkeys(OPEN_STATUSES, 0)
    counts.update({status: int(n) for status, n in rows.all()})
    return {str(status): n for status, n in counts.items()}


async def flag_counts(
    session: AsyncSession, program_id: int, now: datetime, top: int = 0
) -> FlagCounts:
    """The program's unresolved flags: counted by severity (snoozed ones apart), and the
    `top` most severe (the oldest first within a severity) with their match's people."""
    unresolved = [
        col(Flag.match_id).in_(select(Match.id).where(Match.program_id == program_id)),
        col(Flag.status) != FlagStatus.RESOLVED,
    ]
    resting = (col(Flag.status) == FlagStatus.SNOOZED) & (
        col(Flag.snoozed_until).is_(None) | (col(Flag.snoozed_until) > now)
    )
    rows = await session.exec(
        select(Flag.severity, resting, sa.func.count())
        .where(*unresolved)
        .group_by(col(Flag.severity), resting)
    )
    by_severity: dict[str, int] = defaultdict(int)
    snoozed_count = 0
    for severity, is_resting, count in rows.all():
        if is_resting:
            snoozed_count += int(count)
        else:
            by_severity[severity] += int(count)
    waiting: Sequence[Flag] = []
    if top:
        rank = sa.case(SEVERITY_ORDER, value=col(Flag.severity), else_=9)
        waiting = (
            await session.exec(
                select(Flag)
                .where(*unresolved, ~resting)
                .order_by(rank, col(Flag.opened_at), col(Flag.id))
                .limit(top)
            )
        ).all()
    return FlagCounts(dict(by_severity), snoozed_count, await _named(session, waiting))


async def _named(session: AsyncSession, flags: Sequence[Flag]) -> tuple[FlagLine, ...]:
    if not flags:
        return ()
    mentor, mentee = aliased(Person), aliased(Person)
    rows = await session.exec(
        select(Match.id, mentor, mentee)
        .outerjoin(mentor, mentor.id == Match.mentor_id)  # type: ignore[arg-type]
        .outerjoin(mentee, mentee.id == Match.mentee_id)  # type: ignore[arg-type]
        .where(col(Match.id).in_({flag.match_id for flag in flags}))
    )
    people = {match_id: (mentor_row, mentee_row) for match_id, mentor_row, mentee_row in rows}
    return tuple(FlagLine(flag, *people.get(flag.match_id, (None, None))) for flag in flags)


def month_weeks(today: date) -> list[str]:
    """The ISO weeks whose Thursday falls in today's month, up to today's week."""
    first = today.replace(day=1)
    thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    weeks = []
    while thursday.month == first.month and thursday - timedelta(days=3) <= today:
        weeks.append(period_key(thursday))
        thursday += WEEK
    return weeks


def _estimated(
    kept: Mapping[str, WeekFigures], days: Mapping[date, tuple[int, int]], weeks: Sequence[str]
) -> int:
    """The mentors' estimates of `weeks`, over the matches that logged no meeting there:
    each week's kept contact minutes (storage.week_figures: a match's logged minutes, or
    its mentor's estimate when it logged none) less the minutes logged that week, which
    `days` (from `meeting_days`) must cover. Counting the estimates from the check-ins
    instead read every mentor's answers of the weeks: 68 of the dashboard's 100 ms at
    10,000 matches."""
    total = 0
    for week in weeks:
        monday = period_monday(week)
        if week not in kept or monday is None:
            continue  # no figure kept: no log and no estimate that week
        sunday = monday + timedelta(days=6)
        logged = sum(minutes for day, (_, minutes) in days.items() if monday <= day <= sunday)
        total += kept[week].contact_minutes - logged
    return total


async def month_contact(session: AsyncSession, program_id: int, today: date) -> tuple[int, int]:
    """(meetings, minutes) this month: meetings held this calendar month up to today, and
    their minutes plus the mentor's estimates of this month's weeks without a log."""
    first = today.replace(day=1)
    weeks = month_weeks(today)
    mondays = [monday for week in weeks if (monday := period_monday(week)) is not None]
    # The days of the month's whole weeks too: a week's estimates are its kept minutes
    # less what was logged in all of it.
    start = min([first, *mondays])
    end = max([today, *(monday + timedelta(days=6) for monday in mondays)])
    days = await meeting_days(session, program_id, start, end)
    month = [held for day, held in days.items() if first <= day <= today]
    meetings = sum(count for count, _ in month)
    minutes = sum(length for _, length in month)
    kept = await program_weeks(session, program_id, weeks)
    return meetings, minutes + _estimated(kept, days, weeks)


async def _rates(session: AsyncSession, program_id: int, periods: list[str]) -> dict[str, Rate]:
    """The weeks' response rates, as kept with the weekly figures (storage.week_figures):
    two rows read, not every check-in of the weeks counted again."""
    weeks = await program_weeks(session, program_id, periods)
    return {period: week.rate for period, week in weeks.items()}


async def dashboard(session: AsyncSession, program: Program, now: datetime) -> Dashboard:
    """The program's figures as of `now`, in its time zone."""
    assert program.id is not None
    today = local_today(program, now)
    this_week = period_key(today)
    last_week = previous_week(this_week)
    rates = await _rates(session, program.id, [last_week, this_week])
    meetings, minutes = await month_contact(session, program.id, today)
    waiting = {
        role.value: len(await unmatched(session, program.id, role))
        for role in (Role.MENTEE, Role.MENTOR)
    }
    return Dashboard(
        program=program,
        today=today,
        matches=await match_counts(session, program.id),
        waiting=waiting,
        this_week=rates.get(this_week, Rate()),
        last_week=rates.get(last_week, Rate()),
        month_meetings=meetings,
        month_minutes=minutes,
        flags=await flag_counts(session, program.id, now),
    )


async def _silent(
    session: AsyncSession, program_id: int, week: str, began: datetime
) -> tuple[int, int]:
    """(active, silent): the program's matches active now that began before `began`, and
    how many of them had no contact that week (no meeting logged, none reported in a
    check-in)."""
    monday = period_monday(week)
    assert monday is not None, week
    met = (
        select(MeetingLog.id)
        .where(
            col(MeetingLog.match_id) == col(Match.id),
            col(MeetingLog.deleted_at).is_(None),
            col(MeetingLog.met_on) >= monday,
            col(MeetingLog.met_on) <= monday + timedelta(days=6),
        )
        .exists()
    )
    reported = (
        select(Answer.id)
        .join(Prompt, col(Prompt.id) == col(Answer.prompt_id))
        .where(
            col(Prompt.match_id) == col(Match.id),
            Prompt.kind == PromptKind.CHECKIN,
            Prompt.period == week,
            col(Answer.question_key) == CONTACT_KEY,
            col(Answer.value).not_in(["", NO_CONTACT]),
        )
        .exists()
    )
    row = (
        await session.exec(
            select(sa.func.count(), sa.func.sum(sa.case((~met & ~reported, 1), else_=0))).where(
                Match.program_id == program_id,
                Match.status == MatchStatus.ACTIVE,
                col(Match.started_at) < began,
            )
        )
    ).one()
    return int(row[0]), int(row[1] or 0)


async def week_in_review(
    session: AsyncSession, program: Program, week: str, now: datetime
) -> Review:
    """The program's ISO week `week` (complete), as the digest reports it."""
    assert program.id is not None
    monday = period_monday(week)
    assert monday is not None, week
    sunday = monday + timedelta(days=6)
    before = previous_week(week)
    kept = await program_weeks(session, program.id, [before, week])
    rates = {period: figures.rate for period, figures in kept.items()}
    days = await meeting_days(session, program.id, monday, sunday)
    began = datetime.combine(monday, time.min, program_zone(program))
    active, silent = await _silent(session, program.id, week, began)
    return Review(
        program=program,
        week=week,
        rate=rates.get(week, Rate()),
        previous=rates.get(before, Rate()),
        meetings=sum(count for count, _ in days.values()),
        minutes=sum(length for _, length in days.values()) + _estimated(kept, days, [week]),
        active=active,
        silent=silent,
        flags=await flag_counts(session, program.id, now, TOP_FLAGS),
    )


# --- when digests go out ----------------------------------------------------------------------

DIGEST_NAMESPACE = "digest"  # stored_state rows: one per (coordinator, week) sent
CHECK_NAMESPACE, CHECK_KEY = "dispatch", "digest_checked"
CHECK_EVERY = timedelta(minutes=15)
# A digest that could not go out at its time (the bot was down) still goes out this long
# after it; later, that week's digest is skipped.
CATCH_UP = timedelta(hours=24)
KEEP_CLAIMS = timedelta(weeks=5)
DIGEST_DEFAULTS: dict[str, Any] = {"weekday": 0, "time": "08:00", "enabled": True}
UNAVAILABLE = (PersonStatus.UNREACHABLE, PersonStatus.CLOSED, PersonStatus.ERASED)


@dataclass(frozen=True)
class DigestSlot:
    weekday: int  # 0 = Monday
    at: time


def digest_slot(settings: Mapping[str, Any] | None) -> DigestSlot | None:
    """The program's digest day and time (``settings["digest"]``, the defaults filling in
    what is missing or invalid), or None when the program turned it off."""
    given = (settings or {}).get("digest")
    given = given if isinstance(given, Mapping) else {}
    if given.get("enabled", True) is False:
        return None
    weekday = given.get("weekday")
    if not isinstance(weekday, int) or isinstance(weekday, bool) or not 0 <= weekday <= 6:
        weekday = DIGEST_DEFAULTS["weekday"]
    try:
        at = time.fromisoformat(str(given.get("time", DIGEST_DEFAULTS["time"])))
    except ValueError:
        at = time.fromisoformat(DIGEST_DEFAULTS["time"])
    return DigestSlot(weekday, at.replace(second=0, microsecond=0, tzinfo=None))


def first_due(
    slots: Sequence[tuple[DigestSlot, ZoneInfo]], now: datetime
) -> tuple[datetime, str] | None:
    """When a digest with these slots (several programs' days and times, each in its time
    zone) last fell due, and the ISO week it fell due in: the earliest slot of this week
    (Monday to Sunday, locally), or of last week while none of this week's has come yet."""
    for weeks_back in (0, 1):
        dues = []
        for slot, zone in slots:
            today = now.astimezone(zone).date()
            day = today - timedelta(days=today.weekday() - slot.weekday, weeks=weeks_back)
            dues.append((wall_time_to_utc(day, slot.at, zone), period_key(day)))
        if dues and min(dues)[0] <= now:
            return min(dues)
    return None


@dataclass(frozen=True)
class DueDigest:
    """A coordinator whose digest is due: it covers `programs` (those with the digest on)
    and reports `week`, the ISO week before the one it falls due in."""

    person: Person
    programs: tuple[Program, ...]
    due: datetime
    period: str  # the ISO week it falls due in: the claim's key

    @property
    def key(self) -> str:
        return f"{self.person.id}:{self.period}"

    @property
    def week(self) -> str:
        return previous_week(self.period)


def due_digest(person: Person, programs: Sequence[Program], now: datetime) -> DueDigest | None:
    """The coordinator's digest if it fell due within `CATCH_UP` before `now`: at the
    earliest of their programs' digest times in the week, in the coordinator's time zone
    (each program's while they have none), covering every program with the digest on."""
    covered: list[Program] = []
    slots: list[tuple[DigestSlot, ZoneInfo]] = []
    for program in programs:
        slot = digest_slot(program.settings)
        zone = zone_or_none(person.timezone) or zone_or_none(program.timezone)
        if slot is not None and zone is not None:
            covered.append(program)
            slots.append((slot, zone))
    found = first_due(slots, now)
    if found is None or now - found[0] >= CATCH_UP:
        return None
    return DueDigest(person, tuple(covered), *found)


async def digest_check_due(
    session: AsyncSession, now: datetime, every: timedelta = CHECK_EVERY
) -> bool:
    """True once per `every` (aligned on the hour: 8:00, 8:15…), for one caller only: the
    watermark moves to `now` in one atomic statement. A clock set back checks again."""
    start = datetime.fromtimestamp(
        now.timestamp() // every.total_seconds() * every.total_seconds(), UTC
    )
    table = StoredState.__table__  # type: ignore[attr-defined]
    statement = (
        upsert(session, table)
        .values(namespace=CHECK_NAMESPACE, key=CHECK_KEY, value=now.isoformat(), updated_at=now)
        .on_conflict_do_update(
            index_elements=["namespace", "key"],
            set_={"value": now.isoformat(), "updated_at": now},
            where=(table.c.updated_at < start) | (table.c.updated_at > now),
        )
        .returning(table.c.key)
    )
    return (await session.exec(statement)).first() is not None  # type: ignore[call-overload]


async def digest_recipients(
    session: AsyncSession,
) -> list[tuple[Person, list[Program]]]:
    """Every coordinator who finished joining and can be reached, with their programs."""
    rows = await session.exec(
        select(Person, Program)
        .join(Membership, col(Membership.person_id) == col(Person.id))
        .join(Program, col(Program.id) == col(Membership.program_id))
        .where(
            Membership.role == Role.COORDINATOR,
            col(Membership.completed_at).is_not(None),
            col(Person.status).not_in(UNAVAILABLE),
        )
        .order_by(col(Person.id), col(Program.id))
    )
    found: dict[int, tuple[Person, list[Program]]] = {}
    for person, program in rows.all():
        found.setdefault(person.id or 0, (person, []))[1].append(program)
    return list(found.values())


async def claim_digests(session: AsyncSession, keys: Sequence[str], now: datetime) -> set[str]:
    """Claim these (coordinator, week) keys; returns those nobody claimed before. Claims
    older than `KEEP_CLAIMS` are dropped on the way."""
    if not keys:
        return set()
    table = StoredState.__table__  # type: ignore[attr-defined]
    rows = [
        {"namespace": DIGEST_NAMESPACE, "key": key, "value": now.isoformat(), "updated_at": now}
        for key in keys
    ]
    statement = (
        upsert(session, table)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["namespace", "key"])
        .returning(table.c.key)
    )
    claimed = set((await session.exec(statement)).scalars().all())  # type: ignore[call-overload]
    await session.exec(
        sa.delete(StoredState).where(
            col(StoredState.namespace) == DIGEST_NAMESPACE,
            col(StoredState.updated_at) < now - KEEP_CLAIMS,
        )
    )
    return claimed


async def release_digest(session: AsyncSession, key: str) -> None:
    """Forget a claim whose digest certainly did not go out, so a later check sends it."""
    await session.exec(
        sa.delete(StoredState).where(
            col(StoredState.namespace) == DIGEST_NAMESPACE, col(StoredState.key) == key
        )
    )
