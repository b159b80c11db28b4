"""Pairing mentors with mentees: finding people, creating matches, the people table,
who is still waiting for a match, and suggested pairs."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import product
from typing import NamedTuple

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from locales.translator import N_
from storage.closure import waiting_for_rematch
from storage.materialise import schedule_changed
from storage.models import (
    AuditEvent,
    Match,
    MatchStatus,
    Membership,
    Person,
    PersonStatus,
    Program,
    Role,
)
from storage.people import active_match_of, person_by_telegram_id
from storage.programs import zone_or_none

MAX_PERSON_ID = 2**31 - 1  # INTEGER primary keys on PostgreSQL
MAX_TELEGRAM_ID = 2**63 - 1  # BIGINT
# People in these states cannot be matched, suggested or listed as waiting.
UNAVAILABLE = (PersonStatus.CLOSED, PersonStatus.ERASED)
ROLE_ORDER: dict[str, int] = {Role.COORDINATOR: 0, Role.MENTOR: 1, Role.MENTEE: 2}


# How views name an erased person (conversations.kit.text, the exports), in the reader's
# language: their name and username are gone, and a bare "#12" reads as a glitch.
ERASED_NAME = N_("Erased participant")


def person_label(person: Person) -> str:
    """How to name a person to an admin: their name, else @username, else #id."""
    if person.name and person.name.strip():
        return " ".join(person.name.split())
    if person.username:
        return f"@{person.username}"
    return f"#{person.id}"


async def resolve_person(session: AsyncSession, ref: str) -> Person | None:
    """The person an admin means by `ref`: "@username" (case-insensitive; the newest
    holder if several people have had it), "#<person id>", or a plain number, tried as a
    Telegram id first and then as a person id."""
    ref = ref.strip()
    if ref.startswith("@"):
        username = ref[1:]
        if not username:
            return None
        statement = (
            select(Person)
            .where(func.lower(Person.username) == username.lower())
            .order_by(col(Person.id).desc())
        )
        return (await session.exec(statement)).first()
    if ref.startswith("#"):
        number = ref[1:]
        if number.isdecimal() and int(number) <= MAX_PERSON_ID:
            return await session.get(Person, int(number))
        return None
    if not ref.isdecimal():
        return None
    number_value = int(ref)
    if number_value <= MAX_TELEGRAM_ID:
        person = await person_by_telegram_id(session, number_value)
        if person is not None:
            return person
    if number_value <= MAX_PERSON_ID:
        return await session.get(Person, number_value)
    return None


class PairingProblem(StrEnum):
    SAME_PERSON = "same_person"
    NOT_MEMBER = "not_member"
    WRONG_ROLE = "wrong_role"
    UNAVAILABLE = "unavailable"
    ALREADY_MATCHED = "already_matched"


class PairingError(Exception):
    """A match cannot be made. `reason` is a code for the chat layer to translate; `person`
    is the one the problem is about and `role` the role they were asked to take."""

    def __init__(
        self,
        reason: PairingProblem,
        *,
        program: Program,
        person: Person,
        role: Role,
        match: Match | None = None,
    ) -> None:
        self.reason = reason
        self.program = program
        self.person = person
        self.role = role
        self.match = match
        super().__init__(self._sentence())

    def _sentence(self) -> str:
        who, where = person_label(self.person), self.program.name
        match self.reason:
            case PairingProblem.SAME_PERSON:
                return f"{who} cannot mentor themselves."
            case PairingProblem.NOT_MEMBER:
                return f"{who} is not a member of {where}."
            case PairingProblem.WRONG_ROLE:
                return f"{who} is not a {self.role} in {where}."
            case PairingProblem.UNAVAILABLE:
                return f"{who} has left ({self.person.status}) and cannot be matched."
            case PairingProblem.ALREADY_MATCHED:
                number = self.match.id if self.match else "?"
                return f"{who} is already in open match {number} in {where}."


async def create_match(
    session: AsyncSession,
    *,
    program: Program,
    mentor: Person,
    mentee: Person,
    now: datetime,
    actor_id: int | None = None,
    actor_label: str,
) -> Match:
    """Pair `mentor` with `mentee` in `program` and record who did it.

    Both must be members with those roles, still taking part, and in no open match of
    the program. Their membership rows are locked first (PostgreSQL), so two coordinators
    pairing the same person at once cannot both succeed. The planned end is the start
    date in the program's time zone plus the program's weeks.
    """
    if mentor.id == mentee.id:
        raise PairingError(
            PairingProblem.SAME_PERSON, program=program, person=mentor, role=Role.MENTOR
        )
    locked = (
        select(Membership)
        .where(
            Membership.program_id == program.id,
            col(Membership.person_id).in_([mentor.id, mentee.id]),
        )
        .order_by(col(Membership.id))
        .with_for_update()
    )
    roles: dict[int | None, set[str]] = {mentor.id: set(), mentee.id: set()}
    for membership in (await session.exec(locked)).all():
        roles[membership.person_id].add(membership.role)
    for person, role in ((mentor, Role.MENTOR), (mentee, Role.MENTEE)):
        if not roles[person.id]:
            reason = PairingProblem.NOT_MEMBER
        elif role not in roles[person.id]:
            reason = PairingProblem.WRONG_ROLE
        elif person.status in UNAVAILABLE:
            reason = PairingProblem.UNAVAILABLE
        else:
            continue
        raise PairingError(reason, program=program, person=person, role=role)
    for person, role in ((mentor, Role.MENTOR), (mentee, Role.MENTEE)):
        assert person.id is not None and program.id is not None
        existing = await active_match_of(session, person.id, program.id)
        if existing is not None:
            raise PairingError(
                PairingProblem.ALREADY_MATCHED,
                program=program,
                person=person,
                role=role,
                match=existing,
            )
    zone = zone_or_none(program.timezone) or now.tzinfo
    match = Match(
        program_id=program.id,
        mentor_id=mentor.id,
        mentee_id=mentee.id,
        status=MatchStatus.ACTIVE,
        started_at=now,
        planned_end=now.astimezone(zone).date() + timedelta(weeks=program.weeks),
    )
    session.add(match)
    await session.flush()
    session.add(
        AuditEvent(
            actor_id=actor_id,
            actor_label=actor_label,
            action="match.create",
            subject=f"match:{match.id}",
            detail={"program_id": program.id, "mentor_id": mentor.id, "mentee_id": mentee.id},
            at=now,
        )
    )
    await schedule_changed(session)  # both partners' check-ins start with the match
    await session.flush()
    return match


@dataclass(frozen=True)
class ParticipantRow:
    """One line of the people table: a membership, its person, and for mentors and
    mentees their open match in the program and the partner in it."""

    person: Person
    membership: Membership
    match: Match | None
    partner: Person | None

    @property
    def onboarded(self) -> bool:
        return self.membership.completed_at is not None

    @property
    def partner_name(self) -> str | None:
        return None if self.partner is None else person_label(self.partner)


async def participants(
    session: AsyncSession, program_id: int, *, erased: bool = False
) -> list[ParticipantRow]:
    """Everyone in the program, coordinators first, then mentors and mentees, each by
    name; erased people are left out, or with `erased` listed last in their role."""
    statement = (
        select(Membership, Person)
        .join(Person, col(Person.id) == col(Membership.person_id))
        .where(Membership.program_id == program_id)
    )
    if not erased:
        statement = statement.where(Person.status != PersonStatus.ERASED)
    members = (await session.exec(statement)).all()
    matches = (
        await session.exec(
            select(Match).where(Match.program_id == program_id, Match.status != MatchStatus.CLOSED)
        )
    ).all()
    # (person id, role) -> (match, partner id)
    sides: dict[tuple[int, str], tuple[Match, int]] = {}
    for match in matches:
        sides[(match.mentor_id, Role.MENTOR)] = (match, match.mentee_id)
        sides[(match.mentee_id, Role.MENTEE)] = (match, match.mentor_id)
    people = {person.id: person for _, person in members}
    missing = {partner for _, partner in sides.values()} - people.keys()
    if missing:
        extra = await session.exec(select(Person).where(col(Person.id).in_(missing)))
        people.update({person.id: person for person in extra.all()})
    rows = []
    for membership, person in members:
        match, partner_id = sides.get((membership.person_id, membership.role), (None, None))
        partner = people.get(partner_id) if partner_id is not None else None
        rows.append(ParticipantRow(person, membership, match, partner))
    rows.sort(
        key=lambda row: (
            ROLE_ORDER.get(row.membership.role, len(ROLE_ORDER)),
            row.person.status == PersonStatus.ERASED,
            person_label(row.person).casefold(),
            row.person.id or 0,
        )
    )
    return rows


async def _waiting(
    session: AsyncSession, program_id: int, role: Role
) -> Sequence[tuple[Person, Membership]]:
    """Members in `role` who finished onboarding, are still taking part and have no open
    match in the program, longest waiting first."""
    in_open_match = (
        select(Match.id)
        .where(
            Match.program_id == program_id,
            Match.status != MatchStatus.CLOSED,
            (col(Match.mentor_id) == col(Person.id)) | (col(Match.mentee_id) == col(Person.id)),
        )
        .exists()
    )
    statement = (
        select(Person, Membership)
        .join(Membership, col(Membership.person_id) == col(Person.id))
        .where(
            Membership.program_id == program_id,
            Membership.role == role,
            col(Membership.completed_at).is_not(None),
            col(Person.status).not_in(UNAVAILABLE),
            ~in_open_match,
        )
        .order_by(col(Membership.completed_at), col(Person.id))
    )
    return (await session.exec(statement)).all()


async def unmatched(session: AsyncSession, program_id: int, role: Role) -> list[Person]:
    """People in `role` who finished onboarding and wait for a match, longest waiting first."""
    return [person for person, _ in await _waiting(session, program_id, role)]


class MatchReason(StrEnum):
    """Why a pair is suggested; keys the chat layer translates."""

    LANGUAGE = "language"
    FIELD = "field"
    TIMEZONE = "timezone"


class Suggestion(NamedTuple):
    mentor: Person
    mentee: Person
    score: int
    reasons: tuple[MatchReason, ...]
    rematch: bool = False  # the mentee asked at closure for a new match


TIMEZONE_TOLERANCE = timedelta(hours=1)
# Words too common to say two fields are alike ("gestion de projet" / "génie de logiciel").
_FILLER_WORDS = frozenset(
    {"a", "an", "and", "at", "for", "in", "of", "on", "or", "the", "to", "with"}
    | {"au", "aux", "avec", "d", "dans", "de", "des", "du", "en", "et", "l", "la", "le"}
    | {"les", "ou", "par", "pour", "sur", "un", "une"}
)


def field_words(text: str | None) -> frozenset[str]:
    """The meaningful words of a field description, lower-cased and without accents, so
    "Éducation à la petite enfance" and "early childhood education" share "education"."""
    if not text:
        return frozenset()
    folded = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(char for char in folded if not unicodedata.combining(char))
    return frozenset(word for word in re.findall(r"[^\W_]+", plain) if word not in _FILLER_WORDS)


def _language(locale: str) -> str:
    return re.split(r"[_-]", locale, maxsplit=1)[0].casefold()


async def suggested_pairs(
    session: AsyncSession,
    program_id: int,
    *,
    now: datetime,
    limit: int = 5,
    distinct: bool = True,
) -> list[Suggestion]:
    """Unmatched mentors and mentees paired by what they share, best first.

    The score counts the reasons: the same language, a word in common in their fields,
    and UTC offsets (now, from each person's time zone or else the program's) at most an
    hour apart. Ties go to more shared field words, then to the mentee who has waited
    longest. Mentees who asked at closure for a new match (`waiting_for_rematch`) come
    before everyone else, those who asked first first. With `distinct`, each person
    appears in at most one suggestion, which reads as a proposed set of matches rather
    than variations on the best one.
    """
    program = await session.get(Program, program_id)
    if program is None:
        return []
    mentors = await _waiting(session, program_id, Role.MENTOR)
    mentees = await _waiting(session, program_id, Role.MENTEE)
    asked = {
        membership.person_id: rank
        for rank, membership in enumerate(await waiting_for_rematch(session, program_id))
    }
    offsets: dict[str | None, timedelta | None] = {}

    def offset(zone_name: str | None) -> timedelta | None:
        name = zone_name or program.timezone
        if name not in offsets:
            zone = zone_or_none(name)
            offsets[name] = None if zone is None else now.astimezone(zone).utcoffset()
        return offsets[name]

    ranked: list[tuple[tuple[int, int, int, datetime, datetime, int, int], Suggestion]] = []
    for (mentor, mentorship), (mentee, menteeship) in product(mentors, mentees):
        if mentor.id == mentee.id:
            continue
        reasons: list[MatchReason] = []
        if _language(mentor.locale) == _language(mentee.locale):
            reasons.append(MatchReason.LANGUAGE)
        shared = field_words(mentorship.field) & field_words(menteeship.field)
        if shared:
            reasons.append(MatchReason.FIELD)
        mentor_offset, mentee_offset = offset(mentor.timezone), offset(mentee.timezone)
        if (
            mentor_offset is not None
            and mentee_offset is not None
            and abs(mentor_offset - mentee_offset) <= TIMEZONE_TOLERANCE
        ):
            reasons.append(MatchReason.TIMEZONE)
        rematch = mentee.id in asked
        key = (
            asked.get(mentee.id or 0, len(asked)),
            -len(reasons),
            -len(shared),
            menteeship.completed_at or now,
            mentorship.completed_at or now,
            mentee.id or 0,
            mentor.id or 0,
        )
        suggestion = Suggestion(mentor, mentee, len(reasons), tuple(reasons), rematch)
        ranked.append((key, suggestion))
    ranked.sort(key=lambda item: item[0])

    chosen: list[Suggestion] = []
    taken: set[int | None] = set()
    for _, suggestion in ranked:
        if len(chosen) >= limit:
            break
        pair = {suggestion.mentor.id, suggestion.mentee.id}
        if distinct and pair & taken:
            continue
        chosen.append(suggestion)
        taken |= pair
    return chosen
