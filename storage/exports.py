"""A program's data as plain tables, for coordinators and their funders: an XLSX workbook
(one sheet per table) or a zip of CSV files (one file per table).

The file opens with a column guide (`columns`, a sheet named in the program's language),
then the participants and matches, one wide sheet per questionnaire (one row per
check-in, one column per question: export_answers), and the long tables (one row per
answer, meeting log, goal, flag, audit event), with the outcome figures and the mentees'
latest follow-up answers beside the closure and follow-up answers (export_outcomes).
Timestamps are in the program's time zone with a `_utc` twin beside each; ratings and
numbers are numbers; an option's key has its label beside it. Words (labels, the guide)
are in the program's default language (`Program.default_locale`), even when the program
speaks several. Soft-deleted meeting logs are left out.
"""

from __future__ import annotations

import io
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from locales.translator import SUPPORTED_LANGUAGES
from storage.export_answers import (
    AnswerSource,
    Codebook,
    Labels,
    StoredAnswer,
    group_answers,
    long_table,
    wide_instruments,
    wide_table,
)
from storage.export_files import write_csv_zip, write_xlsx
from storage.export_guide import GUIDE, guide_table
from storage.export_outcomes import outcome_tables
from storage.export_table import ExportTable, Stamp, timed
from storage.models import (
    Answer,
    AuditEvent,
    Flag,
    Goal,
    Match,
    MeetingLog,
    Membership,
    Person,
    PersonStatus,
    Program,
    Prompt,
    PromptKind,
    Role,
)
from storage.pairing import ERASED_NAME
from storage.programs import zone_or_none
from storage.schedule import instrument_for

FORMATS = ("xlsx", "csv")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
TABLES = (
    "participants",
    "matches",
    "checkin_answers",
    "meeting_logs",
    "reflections",
    "closure_followup_answers",
    "outcomes",
    "outcomes_by_mentee",
    "goals",
    "flags",
    "audit_events",
)
"""The long tables; the wide sheets (one per questionnaire) come after `matches`."""
CHECKINS = (("mentee", False), ("mentor", False), ("mentee", True))
"""(role, pulse): the check-ins whose questionnaires always get a wide sheet."""
MEETING_INSTRUMENT = "meeting_log"  # its `mode` options label a meeting log's mode


def program_language(program: Program) -> str:
    """The language an export speaks: the program's default language, else the first
    of its languages Tandem speaks."""
    for code in (program.default_locale, *program.languages.split(",")):
        language = code.strip().lower()[:2]
        if language in SUPPORTED_LANGUAGES:
            return language
    return SUPPORTED_LANGUAGES[0]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _slot(weekday: int | None, at: time | None) -> str | None:
    if weekday is None or at is None or not 0 <= weekday < len(DAYS):
        return None
    return f"{DAYS[weekday]} {at:%H:%M}"


async def _people(session: AsyncSession, ids: Iterable[int]) -> dict[int, Person]:
    wanted = set(ids)
    if not wanted:
        return {}
    statement = select(Person).where(col(Person.id).in_(wanted))
    return {person.id or 0: person for person in (await session.exec(statement)).all()}


async def _prompts_and_answers(
    session: AsyncSession, program_id: int
) -> tuple[list[Prompt], dict[int, list[StoredAnswer]]]:
    """Every prompt of the program in due order, and its answers: two queries."""
    prompts = (
        await session.exec(
            select(Prompt)
            .join(Match, col(Match.id) == col(Prompt.match_id))
            .where(Match.program_id == program_id)
            .order_by(col(Prompt.due_at), col(Prompt.id))
        )
    ).all()
    answers = (
        await session.exec(
            select(
                Answer.id, Answer.prompt_id, Answer.question_key, Answer.value, Answer.answered_at
            )
            .join(Prompt, col(Prompt.id) == col(Answer.prompt_id))
            .join(Match, col(Match.id) == col(Prompt.match_id))
            .where(Match.program_id == program_id)
            .order_by(col(Answer.id))
        )
    ).all()
    return list(prompts), group_answers(StoredAnswer(*row) for row in answers)


async def export_tables(
    session: AsyncSession, program_id: int, codebook: Codebook
) -> dict[str, ExportTable]:
    """Every table of the export, in the order of the workbook's sheets, the column
    guide first. `codebook`: the instruments and translator (storage cannot import them)."""
    program = await session.get(Program, program_id)
    if program is None:
        raise LookupError(f"no program {program_id}")
    stamp = Stamp(zone_or_none(program.timezone) or UTC)
    labels = Labels(codebook, program_language(program))
    memberships = (
        await session.exec(
            select(Membership, Person)
            .join(Person, col(Person.id) == col(Membership.person_id))
            .where(Membership.program_id == program_id)
            .order_by(col(Membership.person_id), col(Membership.id))
        )
    ).all()
    matches = (
        await session.exec(
            select(Match).where(Match.program_id == program_id).order_by(col(Match.id))
        )
    ).all()
    match_ids = [match.id or 0 for match in matches]
    flags = (
        await session.exec(
            select(Flag).where(col(Flag.match_id).in_(match_ids)).order_by(col(Flag.id))
        )
    ).all()
    logs = (
        await session.exec(
            select(MeetingLog)
            .where(col(MeetingLog.match_id).in_(match_ids), col(MeetingLog.deleted_at).is_(None))
            .order_by(col(MeetingLog.id))
        )
    ).all()
    named = {person.id or 0 for _, person in memberships}
    named |= {match.mentor_id for match in matches} | {match.mentee_id for match in matches}
    named |= {log.author_id for log in logs} | {flag.handled_by or 0 for flag in flags}
    people = await _people(session, named)

    def named(person: Person) -> str | None:
        """The name column: "Erased participant" (in the export's language) once erased."""
        erased = person.status == PersonStatus.ERASED
        return labels.tr.gettext(ERASED_NAME) if erased else person.name

    def name_of(person_id: int | None) -> str | None:
        person = people.get(person_id or 0)
        return None if person is None else named(person)

    mode_question = labels.question(MEETING_INSTRUMENT, "mode")
    tables: dict[str, ExportTable] = {}
    tables["participants"] = ExportTable(
        [
            "person_id",
            "name",
            "username",
            "role",
            "status",
            "locale",
            "timezone",
            "checkin_slot",
            "paused_until",
            "field",
            "goals",
            "can_help_with",
            "experience_years",
            *timed("joined_at", "onboarding_completed_at", "consent_at"),
            "consent_version",
        ],
        [
            [
                person.id,
                named(person),
                person.username,
                membership.role,
                person.status,
                person.locale,
                person.timezone,
                _slot(
                    program.checkin_weekday
                    if person.checkin_weekday is None
                    else person.checkin_weekday,
                    person.checkin_time or program.checkin_time,
                ),
                person.paused_until,
                membership.field,
                membership.goals,
                membership.can_help_with,
                membership.experience_years,
                *stamp(membership.joined_at),
                *stamp(membership.completed_at),
                *stamp(person.consent_at),
                person.consent_version,
            ]
            for membership, person in memberships
        ],
    )
    tables["matches"] = ExportTable(
        [
            "match_id",
            "mentor_id",
            "mentor_name",
            "mentee_id",
            "mentee_name",
            "status",
            *timed("started_at"),
            "planned_end",
            *timed("closed_at"),
            "closure_reason",
        ],
        [
            [
                match.id,
                match.mentor_id,
                name_of(match.mentor_id),
                match.mentee_id,
                name_of(match.mentee_id),
                match.status,
                *stamp(match.started_at),
                match.planned_end,
                *stamp(match.closed_at),
                match.closure_reason,
            ]
            for match in matches
        ],
    )
    prompts, answers = await _prompts_and_answers(session, program_id)
    source = AnswerSource(
        program.name, prompts, answers, {m.id or 0: m for m in matches}, name_of, stamp, labels
    )
    used = [instrument_for(role, pulse, program.settings or {}) for role, pulse in CHECKINS]
    for instrument in wide_instruments(source, used):
        tables[f"{instrument}_wide" if instrument in TABLES else instrument] = wide_table(
            source, instrument
        )
    tables["checkin_answers"] = long_table(source, (PromptKind.CHECKIN,))
    tables["meeting_logs"] = ExportTable(
        [
            "log_id",
            "match_id",
            "author_id",
            "author_name",
            "met_on",
            "minutes",
            "mode",
            "mode_label",
            "topics",
            "notes",
            "source",
            *timed("created_at", "updated_at"),
        ],
        [
            [
                log.id,
                log.match_id,
                log.author_id,
                name_of(log.author_id),
                log.met_on,
                log.minutes,
                log.mode,
                labels.label(mode_question, log.mode),
                ", ".join(log.topics or []),
                log.notes,
                log.source,
                *stamp(log.created_at),
                *stamp(log.updated_at),
            ]
            for log in logs
        ],
    )
    tables["reflections"] = long_table(source, (PromptKind.REFLECTION,))
    tables["closure_followup_answers"] = long_table(
        source, (PromptKind.CLOSURE, PromptKind.FOLLOWUP)
    )
    tables |= await outcome_tables(session, program, labels, stamp)
    mentee_memberships = {
        membership.id: person
        for membership, person in memberships
        if membership.role == Role.MENTEE
    }
    goals = (
        await session.exec(
            select(Goal)
            .where(col(Goal.membership_id).in_([i for i in mentee_memberships if i is not None]))
            .order_by(col(Goal.id))
        )
    ).all()
    tables["goals"] = ExportTable(
        [
            "goal_id",
            "mentee_id",
            "mentee_name",
            "text",
            "status",
            "position",
            *timed("created_at", "updated_at", "achieved_at"),
        ],
        [
            [
                goal.id,
                mentee_memberships[goal.membership_id].id,
                named(mentee_memberships[goal.membership_id]),
                goal.text,
                goal.status,
                goal.position,
                *stamp(goal.created_at),
                *stamp(goal.updated_at),
                *stamp(goal.achieved_at),
            ]
            for goal in goals
        ],
    )
    tables["flags"] = ExportTable(
        [
            "flag_id",
            "match_id",
            "rule",
            "severity",
            "status",
            *timed("opened_at", "snoozed_until"),
            "handled_by_id",
            "handled_by_name",
            *timed("handled_at"),
            "note",
            "evidence",
        ],
        [
            [
                flag.id,
                flag.match_id,
                flag.rule,
                flag.severity,
                flag.status,
                *stamp(flag.opened_at),
                *stamp(flag.snoozed_until),
                flag.handled_by,
                name_of(flag.handled_by),
                *stamp(flag.handled_at),
                flag.note,
                _json(flag.evidence or {}),
            ]
            for flag in flags
        ],
    )
    tables["audit_events"] = await _audit(
        session,
        program_id,
        match_ids,
        [flag.id or 0 for flag in flags],
        sorted({person.id or 0 for _, person in memberships}),
        stamp,
    )
    guide = guide_table(tables, labels.tr, program=program.name, zone=str(stamp.zone))
    return {GUIDE: guide, **tables}


async def _audit(
    session: AsyncSession,
    program_id: int,
    match_ids: Sequence[int],
    flag_ids: Sequence[int],
    person_ids: Sequence[int],
    stamp: Stamp,
) -> ExportTable:
    """Events about the program itself, its matches and flags, and its participants."""
    subjects = [f"program:{program_id}"]
    subjects += [f"match:{i}" for i in match_ids] + [f"flag:{i}" for i in flag_ids]
    subjects += [f"person:{i}" for i in person_ids]
    events: list[AuditEvent] = []
    chunk = 1000  # keep the IN list well under any driver's parameter limit
    for start in range(0, len(subjects), chunk):
        statement = select(AuditEvent).where(
            col(AuditEvent.subject).in_(subjects[start : start + chunk])
        )
        events.extend((await session.exec(statement)).all())
    events.sort(key=lambda event: (event.at, event.id or 0))
    return ExportTable(
        ["event_id", *timed("at"), "actor_id", "actor_label", "action", "subject", "detail"],
        [
            [
                event.id,
                *stamp(event.at),
                event.actor_id,
                event.actor_label,
                event.action,
                event.subject,
                _json(event.detail or {}),
            ]
            for event in events
        ],
    )


def row_counts(tables: dict[str, ExportTable]) -> dict[str, int]:
    return {name: len(table.rows) for name, table in tables.items()}


def record_export(
    session: AsyncSession,
    program_id: int,
    tables: dict[str, ExportTable],
    *,
    export_format: str,
    actor_id: int | None,
    actor_label: str,
    now: datetime,
) -> AuditEvent:
    """The audit event every export writes (added to the session, committed with it)."""
    event = AuditEvent(
        actor_id=actor_id,
        actor_label=actor_label,
        action="export",
        subject=f"program:{program_id}",
        detail={"format": export_format, "rows": row_counts(tables), "actor": actor_label},
        at=now,
    )
    session.add(event)
    return event


# --- files ----------------------------------------------------------------------------


def export_bytes(tables: dict[str, ExportTable], export_format: str) -> bytes:
    buffer = io.BytesIO()
    (write_xlsx if export_format == "xlsx" else write_csv_zip)(tables, buffer)
    return buffer.getvalue()


def extension(export_format: str) -> str:
    return "xlsx" if export_format == "xlsx" else "zip"


def slug(name: str, limit: int = 60) -> str:
    """'Carrière Montréal 2026!' -> 'carriere-montreal-2026'."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    words = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")
    return words[:limit].rstrip("-") or "program"


def file_name(program_name: str, on: date, export_format: str) -> str:
    return f"tandem-{slug(program_name)}-{on.isoformat()}.{extension(export_format)}"
