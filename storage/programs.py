"""Programs: creating them, finding them by id or name, listing them with their numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, case, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from locales.translator import SUPPORTED_LANGUAGES
from storage.db import clean_text
from storage.models import Match, MatchStatus, Membership, Person, PersonStatus, Program, Role

MAX_WEEKS = 260
NAME_LENGTH = 120
TRACK_LENGTH = 60
DEFAULT_ZONE = "America/Toronto"


def zone_or_none(name: str | None) -> ZoneInfo | None:
    """The zone named `name` (an IANA name such as America/Toronto), or None when zoneinfo
    does not know it."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


# Abbreviations and fixed offsets name no place: EST is UTC−5 all year, so a check-in set
# in EST would come an hour off all summer. Each is refused, with the zone of a place
# suggested where one is meant (Canada first, then the usual European ones).
ABBREVIATIONS: dict[str, str | None] = {
    **dict.fromkeys(("EST", "EDT", "EST5EDT", "ET"), "America/Toronto"),
    **dict.fromkeys(("CST", "CDT", "CST6CDT", "CT"), "America/Winnipeg"),
    **dict.fromkeys(("MST", "MDT", "MST7MDT", "MT"), "America/Edmonton"),
    **dict.fromkeys(("PST", "PDT", "PST8PDT", "PT"), "America/Vancouver"),
    **dict.fromkeys(("AST", "ADT"), "America/Halifax"),
    **dict.fromkeys(("NST", "NDT"), "America/St_Johns"),
    "HST": "Pacific/Honolulu",
    **dict.fromkeys(("CET", "CEST", "MET", "MEST"), "Europe/Paris"),
    **dict.fromkeys(("WET", "WEST"), "Europe/Lisbon"),
    **dict.fromkeys(("EET", "EEST"), "Europe/Athens"),
    **dict.fromkeys(("GMT", "BST", "GMT0", "GMT+0", "GMT-0", "GREENWICH"), "Europe/London"),
    **dict.fromkeys(("UTC", "UCT", "UT", "Z", "ZULU", "UNIVERSAL", "FACTORY"), None),
}
OFFSET = re.compile(r"^(?:UTC|GMT|UT)?\s*[+\-−]\s*\d{1,2}(?::?\d{2})?$", re.IGNORECASE)


def is_fixed_zone(name: str) -> bool:
    """Whether `name` is a time zone abbreviation or a fixed UTC offset (EST, CET, UTC,
    UTC-5, Etc/GMT+5) rather than the zone of a place, which follows daylight saving time."""
    candidate = name.strip()
    return (
        candidate.upper() in ABBREVIATIONS
        or OFFSET.match(candidate) is not None
        or candidate.lower().startswith("etc/")
    )


def suggested_zone(name: str) -> str | None:
    """The zone of a place meant by an abbreviation (EST -> America/Toronto), if any."""
    return ABBREVIATIONS.get(name.strip().upper())


def fixed_zone_advice(name: str) -> str:
    """One English sentence saying why `name` is refused and what to give instead."""
    example = suggested_zone(name)
    instead = (
        f"use {example}, or the zone of your place"
        if example
        else "give the zone of a place, such as America/Toronto or Europe/Paris"
    )
    return (
        f"{name.strip()!r} is an abbreviation or a fixed UTC offset, which ignores daylight "
        f"saving time: {instead}."
    )


def zone_of(person: Person, program: Program | None) -> ZoneInfo:
    """The person's time zone, else their program's."""
    return (
        zone_or_none(person.timezone)
        or zone_or_none(program.timezone if program else None)
        or ZoneInfo(DEFAULT_ZONE)
    )


class ProgramProblem(StrEnum):
    BAD_NAME = "bad_name"
    DUPLICATE_NAME = "duplicate_name"
    BAD_WEEKS = "bad_weeks"
    BAD_WEEKDAY = "bad_weekday"
    BAD_TIMEZONE = "bad_timezone"
    BAD_LOCALE = "bad_locale"
    BAD_TRACK = "bad_track"


class ProgramError(ValueError):
    """A program cannot be created as asked. `problem` is a code the chat layer can
    translate; the message is one English sentence for the command line."""

    def __init__(self, problem: ProgramProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem


async def _name_taken(session: AsyncSession, name: str) -> bool:
    """Names differing only in case would be confusing to pick from, so they count as taken.
    Compared in Python: SQLite's lower() folds ASCII only, so « À » and « à » (or even « À »
    twice, via the unique index) would slip past it. A Tandem has a handful of programs."""
    wanted = name.casefold()
    return any(taken.casefold() == wanted for taken in await session.exec(select(Program.name)))


async def create_program(
    session: AsyncSession,
    *,
    name: str,
    weeks: int,
    checkin_weekday: int,
    checkin_time: time,
    timezone: str,
    default_locale: str,
    track: str | None,
    now: datetime,
) -> Program:
    """Validate and insert a program; raises `ProgramError` saying what is wrong."""
    # As the database will store them (control characters dropped), so that the checks
    # below judge the name that would be written: "\x1b" is an empty name, not a new one.
    name = " ".join(clean_text(name).split())
    track = " ".join(clean_text(track).split()) if track else None
    if not name or len(name) > NAME_LENGTH:
        raise ProgramError(
            ProgramProblem.BAD_NAME, f"A program name needs 1 to {NAME_LENGTH} characters."
        )
    if name.removeprefix("#").isdecimal():
        raise ProgramError(
            ProgramProblem.BAD_NAME,
            "A program name cannot be only digits, since numbers refer to program ids.",
        )
    if not 1 <= weeks <= MAX_WEEKS:
        raise ProgramError(
            ProgramProblem.BAD_WEEKS, f"A program lasts 1 to {MAX_WEEKS} weeks, not {weeks}."
        )
    if not 0 <= checkin_weekday <= 6:
        raise ProgramError(
            ProgramProblem.BAD_WEEKDAY, "The check-in weekday must be 0 (Monday) to 6 (Sunday)."
        )
    if is_fixed_zone(timezone):
        raise ProgramError(ProgramProblem.BAD_TIMEZONE, fixed_zone_advice(timezone))
    if zone_or_none(timezone) is None:
        raise ProgramError(
            ProgramProblem.BAD_TIMEZONE,
            f"{timezone!r} is not a time zone name such as America/Toronto or America/Halifax.",
        )
    if default_locale not in SUPPORTED_LANGUAGES:
        raise ProgramError(
            ProgramProblem.BAD_LOCALE,
            f"The language must be one of {', '.join(SUPPORTED_LANGUAGES)}, "
            f"not {default_locale!r}.",
        )
    if track is not None and len(track) > TRACK_LENGTH:
        raise ProgramError(
            ProgramProblem.BAD_TRACK, f"A track is at most {TRACK_LENGTH} characters."
        )
    if await _name_taken(session, name):
        raise ProgramError(
            ProgramProblem.DUPLICATE_NAME, f"A program named {name!r} already exists."
        )
    program = Program(
        name=name,
        track=track,
        weeks=weeks,
        checkin_weekday=checkin_weekday,
        checkin_time=checkin_time,
        timezone=timezone,
        default_locale=default_locale,
        created_at=now,
    )
    session.add(program)
    await session.flush()
    return program


async def program_by_ref(session: AsyncSession, ref: str) -> Program | None:
    """The program with id `ref` ("7" or "#7"), else the one named exactly `ref`."""
    ref = ref.strip()
    number = ref.removeprefix("#")
    if number.isdecimal() and int(number) < 2**31:  # ids are 32-bit on PostgreSQL
        program = await session.get(Program, int(number))
        if program is not None:
            return program
    return (await session.exec(select(Program).where(Program.name == ref))).first()


@dataclass(frozen=True)
class ProgramSummary:
    program: Program
    mentors: int
    mentees: int
    coordinators: int
    open_matches: int

    @property
    def participants(self) -> int:
        """Mentors and mentees (someone who is both counts twice)."""
        return self.mentors + self.mentees


def _count_role(role: Role) -> ColumnElement[int]:
    return func.count(case((Membership.role == role, Membership.id)))


async def list_programs_with_counts(session: AsyncSession) -> list[ProgramSummary]:
    """Every program, oldest first, with its members by role (erased people left out)
    and its open (not closed) matches."""
    members = (
        select(
            col(Membership.program_id).label("program_id"),
            _count_role(Role.MENTOR).label("mentors"),
            _count_role(Role.MENTEE).label("mentees"),
            _count_role(Role.COORDINATOR).label("coordinators"),
        )
        .join(Person, col(Person.id) == col(Membership.person_id))
        .where(Person.status != PersonStatus.ERASED)
        .group_by(col(Membership.program_id))
        .subquery()
    )
    matches = (
        select(col(Match.program_id).label("program_id"), func.count().label("open_matches"))
        .where(Match.status != MatchStatus.CLOSED)
        .group_by(col(Match.program_id))
        .subquery()
    )
    statement = (
        select(
            Program,
            func.coalesce(members.c.mentors, 0),
            func.coalesce(members.c.mentees, 0),
            func.coalesce(members.c.coordinators, 0),
            func.coalesce(matches.c.open_matches, 0),
        )
        .outerjoin(members, members.c.program_id == col(Program.id))
        .outerjoin(matches, matches.c.program_id == col(Program.id))
        .order_by(col(Program.id))
    )
    rows = (await session.exec(statement)).all()
    return [
        ProgramSummary(program, int(mentors), int(mentees), int(coordinators), int(open_))
        for program, mentors, mentees, coordinators, open_ in rows
    ]
