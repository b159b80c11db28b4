"""A program's data as plain tables, for coordinators and their funders: an XLSX workbook
(one sheet per table) or a zip of CSV files (one file per table).

Every value is what the database holds, flattened for a spreadsheet: timestamps as ISO 8601
UTC strings (`2026-11-16T14:00:00Z`), dates as `YYYY-MM-DD`, lists and JSON as text.
Soft-deleted meeting logs are left out. The README documents every column.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import IO, Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Answer,
    AuditEvent,
    Flag,
    Goal,
    Match,
    MeetingLog,
    Membership,
    Person,
    Program,
    Prompt,
    PromptKind,
    Role,
)

Cell = str | int | float | None
FORMATS = ("xlsx", "csv")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
ANSWER_COLUMNS = [
    "answer_id",
    "prompt_id",
    "person_id",
    "name",
    "role",
    "match_id",
    "kind",
    "instrument",
    "period",
    "due_at",
    "question_key",
    "value",
    "answered_at",
]
MAX_COLUMN_WIDTH = 60
WIDTH_SAMPLE = 500  # rows looked at to size a column
# Characters that make Excel read a CSV cell as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Control characters XLSX (XML) cannot hold.
ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass
class ExportTable:
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)


def iso(moment: datetime | date | None) -> str | None:
    """ISO 8601: a UTC timestamp ending in Z, or a date."""
    if moment is None:
        return None
    if isinstance(moment, datetime):
        return moment.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"
    return moment.isoformat()


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


async def export_tables(session: AsyncSession, program_id: int) -> dict[str, ExportTable]:
    """Every table of the export, in the order of the workbook's sheets."""
    program = await session.get(Program, program_id)
    if program is None:
        raise LookupError(f"no program {program_id}")
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

    def name_of(person_id: int | None) -> str | None:
        person = people.get(person_id or 0)
        return None if person is None else person.name

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
            "joined_at",
            "onboarding_completed_at",
            "consent_at",
            "consent_version",
        ],
        [
            [
                person.id,
                person.name,
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
                iso(person.paused_until),
                membership.field,
                membership.goals,
                membership.can_help_with,
                membership.experience_years,
                iso(membership.joined_at),
                iso(membership.completed_at),
                iso(person.consent_at),
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
            "started_at",
            "planned_end",
            "closed_at",
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
                iso(match.started_at),
                iso(match.planned_end),
                iso(match.closed_at),
                match.closure_reason,
            ]
            for match in matches
        ],
    )
    tables["checkin_answers"] = await _answers(session, match_ids, (PromptKind.CHECKIN,))
    tables["meeting_logs"] = ExportTable(
        [
            "log_id",
            "match_id",
            "author_id",
            "author_name",
            "met_on",
            "minutes",
            "mode",
            "topics",
            "notes",
            "source",
            "created_at",
            "updated_at",
        ],
        [
            [
                log.id,
                log.match_id,
                log.author_id,
                name_of(log.author_id),
                iso(log.met_on),
                log.minutes,
                log.mode,
                ", ".join(log.topics or []),
                log.notes,
                log.source,
                iso(log.created_at),
                iso(log.updated_at),
            ]
            for log in logs
        ],
    )
    tables["reflections"] = await _answers(session, match_ids, (PromptKind.REFLECTION,))
    tables["closure_followup_answers"] = await _answers(
        session, match_ids, (PromptKind.CLOSURE, PromptKind.FOLLOWUP)
    )
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
            "created_at",
            "updated_at",
            "achieved_at",
        ],
        [
            [
                goal.id,
                mentee_memberships[goal.membership_id].id,
                mentee_memberships[goal.membership_id].name,
                goal.text,
                goal.status,
                goal.position,
                iso(goal.created_at),
                iso(goal.updated_at),
                iso(goal.achieved_at),
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
            "opened_at",
            "snoozed_until",
            "handled_by_id",
            "handled_by_name",
            "handled_at",
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
                iso(flag.opened_at),
                iso(flag.snoozed_until),
                flag.handled_by,
                name_of(flag.handled_by),
                iso(flag.handled_at),
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
    )
    return tables


async def _answers(
    session: AsyncSession, match_ids: Sequence[int], kinds: Sequence[str]
) -> ExportTable:
    """One row per answer to the program's prompts of these kinds."""
    statement = (
        select(Answer, Prompt, Match)
        .join(Prompt, col(Prompt.id) == col(Answer.prompt_id))
        .join(Match, col(Match.id) == col(Prompt.match_id))
        .where(col(Prompt.match_id).in_(match_ids), col(Prompt.kind).in_(kinds))
        .order_by(col(Prompt.due_at), col(Prompt.id), col(Answer.id))
    )
    found = (await session.exec(statement)).all()
    people = await _people(session, {prompt.person_id for _, prompt, _ in found})
    rows: list[list[Cell]] = []
    for answer, prompt, match in found:
        person = people.get(prompt.person_id)
        role = (
            Role.MENTOR
            if prompt.person_id == match.mentor_id
            else Role.MENTEE
            if prompt.person_id == match.mentee_id
            else None
        )
        rows.append(
            [
                answer.id,
                prompt.id,
                prompt.person_id,
                None if person is None else person.name,
                None if role is None else str(role),
                prompt.match_id,
                prompt.kind,
                prompt.instrument,
                prompt.period,
                iso(prompt.due_at),
                answer.question_key,
                answer.value,
                iso(answer.answered_at),
            ]
        )
    return ExportTable(list(ANSWER_COLUMNS), rows)


async def _audit(
    session: AsyncSession,
    program_id: int,
    match_ids: Sequence[int],
    flag_ids: Sequence[int],
    person_ids: Sequence[int],
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
        ["event_id", "at", "actor_id", "actor_label", "action", "subject", "detail"],
        [
            [
                event.id,
                iso(event.at),
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


def _xlsx_value(value: Cell) -> Cell:
    return ILLEGAL_XML.sub("", value) if isinstance(value, str) else value


def _width(table: ExportTable, index: int) -> int:
    longest = len(table.columns[index])
    for row in table.rows[:WIDTH_SAMPLE]:
        value = row[index]
        if value is not None:
            longest = max(longest, max(len(line) for line in str(value).splitlines() or [""]))
    return min(longest, MAX_COLUMN_WIDTH) + 2


def write_xlsx(tables: dict[str, ExportTable], path: Path | str | IO[bytes]) -> None:
    """One sheet per table: a bold, frozen header row, columns sized to their content.
    Text is always stored as text, never as a formula, whatever it starts with."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    bold = Font(bold=True)
    for name, table in tables.items():
        sheet = workbook.create_sheet(title=name[:31])
        sheet.append(table.columns)
        for cell in sheet[1]:
            cell.font = bold
        for row in table.rows:
            sheet.append([_xlsx_value(value) for value in row])
        for line in sheet.iter_rows(min_row=2):
            for cell in line:
                if cell.data_type == "f":  # "=…" typed by a participant stays text
                    cell.data_type = "s"
        sheet.freeze_panes = "A2"
        for index in range(len(table.columns)):
            sheet.column_dimensions[get_column_letter(index + 1)].width = _width(table, index)
    workbook.save(path)  # type: ignore[arg-type]


def _csv_value(value: Cell) -> Cell:
    """Text Excel would run as a formula gets a leading apostrophe (CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_text(table: ExportTable) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.columns)
    writer.writerows([_csv_value(value) for value in row] for row in table.rows)
    return buffer.getvalue()


def write_csv_zip(tables: dict[str, ExportTable], path: Path | str | IO[bytes]) -> None:
    """A zip of `<table>.csv` files: UTF-8 with a byte order mark (so Excel reads accents
    right), comma-separated, CRLF line ends."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, table in tables.items():
            archive.writestr(f"{name}.csv", "\ufeff" + csv_text(table))


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
