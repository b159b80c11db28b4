"""Exports: the tables hold exactly what the database holds, with timestamps as dates in
the program's zone beside UTC, ratings as numbers and option labels in the program's
language; one wide sheet per questionnaire agrees with the long tables; the file carries
its own column guide; the XLSX opens in openpyxl with real date and number cells, the CSV
zip keeps French accents for Excel; `tandem export` and `/export` work, only a program's
coordinators get its data, and every export is an audit event."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import sqlalchemy
from sqlmodel import select

from bot import cli
from conversations.export import export_codebook
from conversations.instruments import parse_instrument
from storage.db import Database
from storage.export_answers import Codebook
from storage.export_files import write_csv_zip, write_xlsx
from storage.export_table import ExportTable
from storage.exports import export_tables, file_name, slug
from storage.models import (
    Answer,
    AuditEvent,
    Flag,
    Goal,
    MeetingLog,
    Membership,
    Program,
    Prompt,
    PromptKind,
    PromptStatus,
    Role,
)
from storage.pairing import create_match
from tests.conftest import Bots, FakeClock
from tests.harness import FakeTelegram, FakeUser
from tests.test_cli import CLEAN_ENV, refused, succeeded, tandem
from tests.test_coordinator import (
    NOT_YOURS,
    NOT_YOURS_FR,
    REFUSAL,
    REFUSAL_FR,
    Invite_,
    join,
    onboard_coordinator_in_english,
    person_of,
    second_program,
)
from tests.test_pairing import add_person
from tests.test_pairing import join as join_program

TORONTO = ZoneInfo("America/Toronto")
WIDE = ["mentee_weekly", "mentor_weekly", "relationship_pulse", "reflection_mentee_first"]
TABLES = [
    "columns",
    "participants",
    "matches",
    *WIDE,
    "checkin_answers",
    "meeting_logs",
    "reflections",
    "closure_followup_answers",
    "outcomes",
    "outcomes_by_mentee",
    "goals",
    "flags",
    "audit_events",
]
NOTE = "Très utile : on a révisé mon CV en français, déjà l’entrevue!"
FORMULA = '=HYPERLINK("http://example.com","clic")'
GOAL = "Décrocher un poste en comptabilité à Montréal"
MENTEE_ANSWERS = {"contact": "call", "helpful": "4", "progress": "3", "note": NOTE}
MENTOR_ANSWERS = {
    "contact": "in_person",
    "duration": "h1_2",
    "going": "5",
    "concerns": "reach,schedule",
    "wants_contact": "no",
}


@pytest.fixture
async def coordinator(tg: FakeTelegram, invite: Invite_) -> FakeUser:
    """Claire, who coordinates Career Bridge Toronto (as in test_coordinator)."""
    claire = tg.user(7001, "Claire", last_name="Roy", username="claire_r")
    await onboard_coordinator_in_english(claire, await invite("coordinator"))
    return claire


@pytest.fixture
async def pair_of(tg: FakeTelegram, invite: Invite_) -> tuple[FakeUser, FakeUser]:
    """An English mentor and a French mentee."""
    robert = tg.user(7002, "Robert", last_name="Tremblay", language_code="en")
    await join(robert, await invite("mentor"), "mentor")
    alice = tg.user(7003, "Alice", last_name="Martin", language_code="fr")
    await join(alice, await invite("mentee"), "mentee", "fr")
    return robert, alice


@dataclass
class Seeded:
    program_id: int
    mentor_id: int
    mentee_id: int
    match_id: int
    flag_id: int
    log_id: int


async def seed(database: Database, clock: FakeClock, program_id: int) -> Seeded:
    """A mentor, a French mentee, their match, two check-ins (three answers), a reflection,
    a meeting log and a deleted one, a goal and a flag, in `program_id`."""
    now = clock()
    async with database.session() as session:
        program = await session.get(Program, program_id)
        assert program is not None
        robert = await add_person(session, now, 8101, "Robert Tremblay", username="rob")
        amelie = await add_person(
            session, now, 8102, "Amélie Côté", locale="fr", timezone="America/Montreal"
        )
        await join_program(session, now, robert, program, Role.MENTOR, field="Comptabilité")
        mentee = await join_program(session, now, amelie, program, Role.MENTEE, field="Fiscalité")
        match = await create_match(
            session, program=program, mentor=robert, mentee=amelie, now=now, actor_label="cli"
        )
        assert match.id and robert.id and amelie.id and mentee.id
        for person, instrument, answers, kind, period in (
            (amelie, "mentee_weekly", MENTEE_ANSWERS, PromptKind.CHECKIN, "2026-W47"),
            (robert, "mentor_weekly", MENTOR_ANSWERS, PromptKind.CHECKIN, "2026-W47"),
            (
                amelie,
                "reflection_mentee_first",
                {"comfort": "J’ai appris à négocier"},
                PromptKind.REFLECTION,
                "2026-W48",
            ),
        ):
            prompt = Prompt(
                person_id=person.id or 0,
                match_id=match.id,
                kind=kind,
                period=period,
                instrument=instrument,
                due_at=now + timedelta(hours=1),
                closes_at=now + timedelta(days=6),
                status=PromptStatus.ANSWERED,
                sent_at=now + timedelta(hours=1),
                answered_at=now + timedelta(hours=2),
            )
            session.add(prompt)
            await session.flush()
            for key, value in answers.items():
                session.add(
                    Answer(
                        prompt_id=prompt.id or 0,
                        question_key=key,
                        value=value,
                        answered_at=now + timedelta(hours=2),
                    )
                )
        log = MeetingLog(
            match_id=match.id,
            author_id=amelie.id,
            met_on=date(2026, 11, 15),
            minutes=45,
            mode="video",
            topics=["cv", "interview"],
            notes=FORMULA,
            created_at=now,
        )
        deleted = MeetingLog(
            match_id=match.id,
            author_id=robert.id,
            met_on=date(2026, 11, 14),
            minutes=30,
            mode="call",
            created_at=now,
            deleted_at=now,
        )
        session.add_all([log, deleted])
        session.add(Goal(membership_id=mentee.id, text=GOAL, created_at=now))
        flag = Flag(
            match_id=match.id,
            rule="low_rating",
            severity="high",
            evidence={"weeks": ["2026-W47"], "note": "évaluation 1/5"},
            opened_at=now,
        )
        session.add(flag)
        await session.flush()
        assert flag.id and log.id
        return Seeded(program_id, robert.id, amelie.id, match.id, flag.id, log.id)


async def other_program(database: Database, clock: FakeClock) -> int:
    """A second program with its own match and answer, which no export of the first shows."""
    program_id = await second_program(database, clock)
    await seed_elsewhere(database, clock, program_id)
    return program_id


async def seed_elsewhere(database: Database, clock: FakeClock, program_id: int) -> None:
    await more_matches(database, clock, program_id, [("Halifax Mentor", "Halifax Mentee")], 8201)


@pytest.fixture
async def seeded(database: Database, clock: FakeClock, program: Program) -> Seeded:
    assert program.id is not None
    found = await seed(database, clock, program.id)
    await other_program(database, clock)
    return found


async def tables_of(
    database: Database, program_id: int, codebook: Codebook | None = None
) -> dict[str, ExportTable]:
    async with database.session() as session:
        return await export_tables(session, program_id, codebook or export_codebook())


def column(table: ExportTable, name: str) -> list[object]:
    index = table.columns.index(name)
    return [row[index] for row in table.rows]


def records(table: ExportTable) -> list[dict[str, object]]:
    return [dict(zip(table.columns, row, strict=True)) for row in table.rows]


# --- the tables ---------------------------------------------------------------------------


def local(hour: int, day: int = 16) -> datetime:
    """A moment of November 2026 in Toronto (UTC−5), as the export gives it."""
    return datetime(2026, 11, day, hour, tzinfo=TORONTO)


def utc(hour: int, day: int = 16) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


async def test_tables_hold_exactly_what_the_database_holds(
    database: Database, seeded: Seeded
) -> None:
    tables = await tables_of(database, seeded.program_id)
    assert list(tables) == TABLES
    counts = {name: len(table.rows) for name, table in tables.items() if name != "columns"}
    assert counts == {
        "participants": 2,
        "matches": 1,
        "mentee_weekly": 1,
        "mentor_weekly": 1,
        "relationship_pulse": 0,  # the program uses it, nobody has had one yet
        "reflection_mentee_first": 1,
        "checkin_answers": 9,
        "meeting_logs": 1,  # the deleted one is left out
        "reflections": 1,
        "closure_followup_answers": 0,
        "outcomes": 0,  # no match has closed (tests/test_outcomes.py)
        "outcomes_by_mentee": 0,
        "goals": 1,
        "flags": 1,
        "audit_events": 1,  # match.create; the other program's are not here
    }
    for table in tables.values():
        assert all(len(row) == len(table.columns) for row in table.rows)

    (mentor, mentee) = records(tables["participants"])
    assert mentor["person_id"] == seeded.mentor_id and mentor["role"] == "mentor"
    assert mentee["name"] == "Amélie Côté" and mentee["field"] == "Fiscalité"
    assert mentee["checkin_slot"] == "Mon 09:00"  # the program's, she has none of her own
    # 14:00 UTC is 9:00 in Toronto: the local moment, then the same one in UTC.
    assert (mentee["consent_at"], mentee["consent_at_utc"]) == (local(9), utc(14))
    assert mentee["onboarding_completed_at"] == local(9)

    (match,) = records(tables["matches"])
    assert match == {
        "match_id": seeded.match_id,
        "mentor_id": seeded.mentor_id,
        "mentor_name": "Robert Tremblay",
        "mentee_id": seeded.mentee_id,
        "mentee_name": "Amélie Côté",
        "status": "active",
        "started_at": local(9),
        "started_at_utc": utc(14),
        "planned_end": date(2027, 2, 8),
        "closed_at": None,
        "closed_at_utc": None,
        "closure_reason": None,
    }

    answers = records(tables["checkin_answers"])
    found = {
        (row["name"], row["role"], row["question_key"], row["value"], row["value_label"])
        for row in answers
    }
    assert found == {
        ("Amélie Côté", "mentee", "contact", "call", "Yes, by video or phone"),
        ("Amélie Côté", "mentee", "helpful", 4, None),  # a rating is a number
        ("Amélie Côté", "mentee", "progress", 3, None),
        ("Amélie Côté", "mentee", "note", NOTE, None),
        ("Robert Tremblay", "mentor", "contact", "in_person", "Yes, in person"),
        ("Robert Tremblay", "mentor", "duration", "h1_2", "1 to 2 hours"),
        ("Robert Tremblay", "mentor", "going", 5, None),
        (
            "Robert Tremblay",
            "mentor",
            "concerns",
            "reach,schedule",
            "Hard to reach; Finding a time",
        ),
        ("Robert Tremblay", "mentor", "wants_contact", "no", "No"),
    }
    assert {row["kind"] for row in answers} == {"checkin"}
    assert answers[0]["question_label"] == "Contact"
    assert (answers[0]["due_at"], answers[0]["due_at_utc"]) == (local(10), utc(15))
    assert answers[0]["period"] == "2026-W47"
    assert (answers[0]["answered_at"], answers[0]["answered_at_utc"]) == (local(11), utc(16))

    (reflection,) = records(tables["reflections"])
    assert (reflection["kind"], reflection["value"]) == ("reflection", "J’ai appris à négocier")
    assert reflection["question_label"] == "Feeling at ease"

    (log,) = records(tables["meeting_logs"])
    assert log["log_id"] == seeded.log_id
    assert (log["met_on"], log["minutes"], log["mode"]) == (date(2026, 11, 15), 45, "video")
    assert log["mode_label"] == "Video"
    assert (log["topics"], log["notes"], log["author_name"]) == (
        "cv, interview",
        FORMULA,
        "Amélie Côté",
    )

    (goal,) = records(tables["goals"])
    assert (goal["mentee_id"], goal["text"], goal["status"]) == (seeded.mentee_id, GOAL, "open")

    (flag,) = records(tables["flags"])
    assert flag["flag_id"] == seeded.flag_id and flag["rule"] == "low_rating"
    assert flag["evidence"] == '{"note": "évaluation 1/5", "weeks": ["2026-W47"]}'
    assert (flag["opened_at"], flag["opened_at_utc"]) == (local(9), utc(14))

    (event,) = records(tables["audit_events"])
    assert (event["action"], event["subject"]) == ("match.create", f"match:{seeded.match_id}")
    assert event["at_utc"] == utc(14)


async def test_wide_sheets_hold_one_row_per_checkin_and_agree_with_the_answers(
    database: Database, seeded: Seeded
) -> None:
    tables = await tables_of(database, seeded.program_id)
    (mentee,) = records(tables["mentee_weekly"])
    assert tables["mentee_weekly"].columns[-7:] == [
        "contact",
        "contact_label",
        "helpful",
        "progress",
        "note",
        "wants_contact",
        "wants_contact_label",
    ]
    assert mentee["program"] == "Career Bridge Toronto"
    assert (mentee["name"], mentee["role"], mentee["period"]) == (
        "Amélie Côté",
        "mentee",
        "2026-W47",
    )
    assert (mentee["status"], mentee["match_id"]) == ("answered", seeded.match_id)
    assert (mentee["sent_at"], mentee["sent_at_utc"]) == (local(10), utc(15))
    assert (mentee["answered_at"], mentee["answered_at_utc"]) == (local(11), utc(16))
    assert (mentee["contact"], mentee["contact_label"]) == ("call", "Yes, by video or phone")
    assert (mentee["helpful"], mentee["progress"], mentee["note"]) == (4, 3, NOTE)
    assert (mentee["wants_contact"], mentee["wants_contact_label"]) == (None, None)  # not asked

    (mentor,) = records(tables["mentor_weekly"])
    assert mentor["going"] == 5
    assert mentor["concerns_label"] == "Hard to reach; Finding a time"
    assert mentor["wants_contact_label"] == "No"
    assert mentor["concern_note"] is None

    # Every answer of the long tables is in its wide sheet, with the same value and label.
    long = records(tables["checkin_answers"]) + records(tables["reflections"])
    wide = {(row["prompt_id"], name): row for name in WIDE for row in records(tables[name])}
    for answer in long:
        row = wide[(answer["prompt_id"], answer["instrument"])]
        assert row[str(answer["question_key"])] == answer["value"]
        if answer["value_label"] is not None:
            assert row[f"{answer['question_key']}_label"] == answer["value_label"]
    assert len(wide) == 3


async def test_an_unknown_question_and_a_number_question_are_kept(
    database: Database, seeded: Seeded
) -> None:
    """A typed number is a number; an answer to a question the file no longer has stays."""
    mentee_weekly = parse_instrument(
        {
            "key": "mentee_weekly",
            "title": "Weekly check-in",
            "questions": [
                {
                    "key": "hours",
                    "kind": "number",
                    "text": "Hours?",
                    "label": "Hours",
                    "min": 0,
                    "max": 40,
                    "integer": False,
                },
                {
                    "key": "helpful",
                    "kind": "number",
                    "text": "Helpful?",
                    "label": "Helpful",
                    "min": 0,
                    "max": 10,
                },
            ],
        }
    )
    async with database.session() as session:
        prompt = (
            await session.exec(
                select(Prompt).where(
                    Prompt.instrument == "mentee_weekly", Prompt.match_id == seeded.match_id
                )
            )
        ).one()
        session.add(
            Answer(
                prompt_id=prompt.id or 0,
                question_key="hours",
                value="1.5",
                answered_at=prompt.due_at,
            )
        )
    codebook = export_codebook()
    instruments = {**codebook.instruments, "mentee_weekly": mentee_weekly}
    tables = await tables_of(
        database, seeded.program_id, Codebook(instruments, codebook.translator)
    )
    (row,) = records(tables["mentee_weekly"])
    assert (row["hours"], row["helpful"]) == (1.5, 4)
    assert (row["contact"], row["progress"], row["note"]) == ("call", "3", NOTE)
    guide = {(r[0], r[1]): r[2] for r in tables["columns"].rows}
    assert guide[("mentee_weekly", "contact")] == (
        "Answers to “contact”, a question this questionnaire no longer asks."
    )
    assert guide[("mentee_weekly", "hours")] == "Hours? (a number)"


async def test_an_empty_program_exports_headers_only(database: Database, program: Program) -> None:
    assert program.id is not None
    tables = await tables_of(database, program.id)
    assert list(tables) == [name for name in TABLES if name != "reflection_mentee_first"]
    assert tables["columns"].rows
    assert all(
        table.rows == [] and table.columns for name, table in tables.items() if name != "columns"
    )


# --- the files ----------------------------------------------------------------------------


SHEETS = ["Columns", *TABLES[1:]]


async def test_xlsx_has_real_dates_numbers_and_a_column_guide(
    database: Database, seeded: Seeded, tmp_path: Path
) -> None:
    tables = await tables_of(database, seeded.program_id)
    path = tmp_path / "export.xlsx"
    write_xlsx(tables, path)
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == SHEETS
    for sheet_name, table in zip(SHEETS, tables.values(), strict=True):
        sheet = workbook[sheet_name]
        header = [cell.value for cell in sheet[1]]
        assert header == table.columns
        assert all(cell.font.bold for cell in sheet[1])
        assert sheet.freeze_panes == "A2"
        assert sheet.max_row == len(table.rows) + 1
        assert sheet.column_dimensions["A"].width >= len(table.columns[0])
    answers = workbook["checkin_answers"]
    header = [cell.value for cell in answers[1]]
    first = {name: cell for name, cell in zip(header, answers[2], strict=True)}
    # A spreadsheet date in Toronto time (Excel has no zones), the UTC one beside it.
    assert first["due_at"].is_date and first["due_at"].value == datetime(2026, 11, 16, 10)
    assert first["due_at_utc"].is_date and first["due_at_utc"].value == datetime(2026, 11, 16, 15)
    assert first["due_at"].number_format == "yyyy-mm-dd hh:mm"
    ratings = [
        row[header.index("value")]
        for row in answers.iter_rows(min_row=2)
        if row[header.index("question_key")].value in ("helpful", "going")
    ]
    assert [(cell.value, cell.data_type) for cell in ratings] == [(4, "n"), (5, "n")]
    wide = workbook["mentee_weekly"]
    row = dict(zip([c.value for c in wide[1]], wide[2], strict=True))
    assert (row["helpful"].value, row["helpful"].data_type) == (4, "n")
    assert row["contact_label"].value == "Yes, by video or phone"
    assert row["sent_at"].value == datetime(2026, 11, 16, 10)
    log = workbook["meeting_logs"]
    met_on = log.cell(row=2, column=5)
    assert met_on.is_date and met_on.value == datetime(2026, 11, 15)
    notes = log.cell(row=2, column=[c.value for c in log[1]].index("notes") + 1)
    assert (notes.value, notes.data_type) == (FORMULA, "s")  # text, never a formula
    guide = [[cell.value for cell in row] for row in workbook["Columns"].iter_rows()]
    assert guide[0] == ["Sheet", "Column", "What it holds"]
    assert "Dates and times are in the program's time zone (America/Toronto)" in guide[2][2]
    described = {(sheet, column) for sheet, column, _ in guide[1:] if column}
    assert described == {
        (name, column) for name, t in tables.items() if name != "columns" for column in t.columns
    }
    assert all(text for _, _, text in guide[1:])  # every sheet and column is described
    assert [
        "mentee_weekly",
        "helpful",
        "How helpful was your time with your mentor? (a number from 1 to 5)",
    ] in guide


async def test_a_french_program_exports_french_labels_and_guide(
    database: Database, clock: FakeClock, program: Program, tmp_path: Path
) -> None:
    async with database.session() as session:
        french = await session.get(Program, program.id)
        assert french is not None
        french.default_locale = "fr"
    seeded = await seed(database, clock, program.id or 0)
    tables = await tables_of(database, seeded.program_id)
    path = tmp_path / "export.xlsx"
    write_xlsx(tables, path)
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["Colonnes", *TABLES[1:]]
    guide = [[cell.value for cell in row] for row in workbook["Colonnes"].iter_rows()]
    assert guide[0] == ["Feuille", "Colonne", "Contenu"]
    assert "Les dates et heures sont dans le fuseau horaire du programme" in guide[2][2]
    wide = workbook["mentor_weekly"]
    row = {c.value: v.value for c, v in zip(wide[1], wide[2], strict=True)}
    assert (row["contact"], row["contact_label"]) == ("in_person", "Oui, en personne")
    assert row["concerns_label"] == "Difficile à joindre; Trouver un moment"
    assert row["wants_contact_label"] == "Non"
    assert row["going"] == 5
    answers = records(tables["checkin_answers"])
    assert {row["question_label"] for row in answers} >= {"Utilité", "Contact"}
    assert records(tables["meeting_logs"])[0]["mode_label"] == "Vidéo"


async def test_csv_zip_keeps_french_accents_for_excel(
    database: Database, seeded: Seeded, tmp_path: Path
) -> None:
    tables = await tables_of(database, seeded.program_id)
    path = tmp_path / "export.zip"
    write_csv_zip(tables, path)
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == [f"{name}.csv" for name in TABLES]
        read = {
            name: list(
                csv.reader(io.StringIO(archive.read(f"{name}.csv").decode("utf-8-sig"), newline=""))
            )
            for name in TABLES
        }
        assert all(archive.read(f"{name}.csv").startswith(b"\xef\xbb\xbf") for name in TABLES)
    for name, table in tables.items():
        assert read[name][0] == table.columns
        assert len(read[name]) == len(table.rows) + 1
    answers = [
        dict(zip(read["checkin_answers"][0], row, strict=True))
        for row in read["checkin_answers"][1:]
    ]
    assert answers[0]["due_at"] == "2026-11-16T10:00:00-05:00"  # local, with its offset
    assert answers[0]["due_at_utc"] == "2026-11-16T15:00:00Z"
    assert {(a["question_key"], a["value"], a["value_label"]) for a in answers} >= {
        ("helpful", "4", ""),
        ("contact", "call", "Yes, by video or phone"),
    }
    assert NOTE in {a["value"] for a in answers}
    (wide,) = [
        dict(zip(read["mentee_weekly"][0], row, strict=True)) for row in read["mentee_weekly"][1:]
    ]
    assert (wide["helpful"], wide["contact_label"], wide["name"]) == (
        "4",
        "Yes, by video or phone",
        "Amélie Côté",
    )
    (log,) = [
        dict(zip(read["meeting_logs"][0], row, strict=True)) for row in read["meeting_logs"][1:]
    ]
    assert log["notes"] == "'" + FORMULA  # Excel must not run it: an apostrophe disarms it
    assert log["met_on"] == "2026-11-15"
    assert read["columns"][0] == ["Sheet", "Column", "What it holds"]
    assert ["meeting_logs", "mode_label", "How they met, in words."] in read["columns"]


async def more_matches(
    database: Database,
    clock: FakeClock,
    program_id: int,
    pairs: list[tuple[str, str]],
    telegram_id: int = 8300,
) -> None:
    """A match in the program for each (mentor, mentee) pair of names, each with an answered
    check-in and a meeting log."""
    now = clock()
    async with database.session() as session:
        program = await session.get(Program, program_id)
        assert program is not None
        for n, (mentor_name, mentee_name) in enumerate(pairs):
            mentor = await add_person(session, now, telegram_id + 2 * n, mentor_name)
            mentee = await add_person(session, now, telegram_id + 2 * n + 1, mentee_name)
            await join_program(session, now, mentor, program, Role.MENTOR)
            await join_program(session, now, mentee, program, Role.MENTEE)
            match = await create_match(
                session, program=program, mentor=mentor, mentee=mentee, now=now, actor_label="cli"
            )
            prompt = Prompt(
                person_id=mentee.id or 0,
                match_id=match.id or 0,
                kind=PromptKind.CHECKIN,
                period="2026-W47",
                instrument="mentee_weekly",
                due_at=now,
                closes_at=now + timedelta(days=6),
            )
            session.add(prompt)
            await session.flush()
            session.add(
                Answer(prompt_id=prompt.id or 0, question_key="helpful", value="2", answered_at=now)
            )
            session.add(
                MeetingLog(
                    match_id=match.id or 0,
                    author_id=mentor.id or 0,
                    met_on=date(2026, 11, 15),
                    minutes=30,
                    mode="phone",
                    created_at=now,
                )
            )


async def test_export_queries_do_not_grow_with_the_program(
    database: Database, clock: FakeClock, program: Program
) -> None:
    """The same handful of statements for one match as for three: no query per row."""
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    engine = database.engine.sync_engine
    await seed(database, clock, program.id or 0)
    sqlalchemy.event.listen(engine, "before_cursor_execute", count)
    await tables_of(database, program.id or 0)
    one = len(statements)
    sqlalchemy.event.remove(engine, "before_cursor_execute", count)
    pairs = [(f"Mentor {n}", f"Mentee {n}") for n in range(3)]
    await more_matches(database, clock, program.id or 0, pairs)
    statements.clear()
    sqlalchemy.event.listen(engine, "before_cursor_execute", count)
    await tables_of(database, program.id or 0)
    assert len(statements) == one <= 12


def test_file_names_are_plain() -> None:
    assert slug("Carrière Montréal 2026 — ÉPE!") == "carriere-montreal-2026-epe"
    assert slug("日本") == "program"
    assert file_name("Career Bridge Toronto", date(2026, 11, 16), "csv") == (
        "tandem-career-bridge-toronto-2026-11-16.zip"
    )


# --- tandem export ------------------------------------------------------------------------


@pytest.fixture
def at_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clock: FakeClock) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "clock", clock)
    return tmp_path


async def export_events(database: Database) -> list[AuditEvent]:
    async with database.session() as session:
        statement = select(AuditEvent).where(AuditEvent.action == "export")
        return list((await session.exec(statement)).all())


async def test_cli_exports_both_formats_and_records_them(
    database_url: str, database: Database, seeded: Seeded, at_home: Path
) -> None:
    out = at_home / "data.xlsx"
    result = await tandem(
        database_url, "export", "Career Bridge Toronto", "--format", "xlsx", "--out", str(out)
    )
    assert succeeded(result).strip() == str(out)
    assert "checkin_answers: 9 rows" in result.stderr
    assert "mentee_weekly: 1 row" in result.stderr
    assert "meeting_logs: 1 row" in result.stderr
    assert openpyxl.load_workbook(out).sheetnames == SHEETS

    result = await tandem(database_url, "export", str(seeded.program_id), "--format", "csv")
    default = at_home / "tandem-career-bridge-toronto-2026-11-16.zip"
    assert succeeded(result).strip() == default.name
    with zipfile.ZipFile(default) as archive:
        text = archive.read("audit_events.csv").decode("utf-8-sig")
    assert "export" in text  # the first export is in the second one's audit table

    events = await export_events(database)
    assert [(event.actor_label, event.detail["format"]) for event in events] == [
        ("cli ana", "xlsx"),  # the command line and the OS user who ran it
        ("cli ana", "csv"),
    ]
    assert events[0].subject == f"program:{seeded.program_id}"
    assert events[0].detail["rows"]["checkin_answers"] == 9
    assert events[0].detail["actor"] == "cli ana"


async def test_cli_refuses_a_bad_format_or_program(
    database_url: str, database: Database, seeded: Seeded, at_home: Path
) -> None:
    line = refused(await tandem(database_url, "export", "Career Bridge Toronto", "--format", "pdf"))
    assert line == "--format must be xlsx or csv, not 'pdf'."
    line = refused(await tandem(database_url, "export", "Nowhere"))
    assert "No program has the id or name 'Nowhere'" in line
    line = refused(
        await tandem(database_url, "export", "1", "--out", str(at_home / "missing" / "x.xlsx"))
    )
    assert line.startswith("Cannot write the export to ")
    assert await export_events(database) == []
    assert set(CLEAN_ENV)  # the CLI runs with a clean environment


# --- /export ------------------------------------------------------------------------------


def documents(bots: Bots) -> list[tuple[str, bytes, str]]:
    return [
        (*call.files["document"], str(call.params.get("caption", "")))
        for call in bots.api.calls_to("sendDocument")
        if not call.failed
    ]


async def test_coordinator_downloads_both_formats(
    bots: Bots, database: Database, clock: FakeClock, coordinator: FakeUser, program: Program
) -> None:
    assert program.id is not None
    seeded = await seed(database, clock, program.id)
    await coordinator.send("/export")
    assert "<b>Career Bridge Toronto</b>" not in coordinator.last.text  # rendered, not raw
    assert "Career Bridge Toronto: in which format" in coordinator.last.text
    assert coordinator.buttons == ["Excel (.xlsx)", "CSV (.zip)"]
    await coordinator.tap("Excel (.xlsx)")
    await coordinator.send("/export")
    await coordinator.tap("CSV (.zip)")

    (xlsx, archive) = documents(bots)
    assert xlsx[0] == "tandem-career-bridge-toronto-2026-11-16.xlsx"
    assert xlsx[2] == (
        "<b>Career Bridge Toronto</b>: your program's data on November 16, 2026. Times are in "
        "the program's time zone (America/Toronto), with UTC beside them. The first sheet "
        "describes every sheet and column."
    )
    assert "README" not in xlsx[2] + archive[2]
    assert archive[2].endswith("columns.csv describes every file and column.")
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx[1]))
    assert workbook.sheetnames == SHEETS
    assert workbook["participants"].max_row == 1 + 3  # Claire, Robert, Amélie
    assert archive[0] == "tandem-career-bridge-toronto-2026-11-16.zip"
    with zipfile.ZipFile(io.BytesIO(archive[1])) as files:
        assert GOAL in files.read("goals.csv").decode("utf-8-sig")
    assert coordinator.last.kind == "document"

    claire = await person_of(database, coordinator)
    events = await export_events(database)
    assert [(e.actor_id, e.actor_label, e.detail["format"]) for e in events] == [
        (claire.id, "coordinator", "xlsx"),
        (claire.id, "coordinator", "csv"),
    ]
    assert events[0].detail["rows"]["matches"] == 1
    assert events[0].subject == f"program:{seeded.program_id}"


async def test_french_coordinator_gets_a_french_caption(
    tg: FakeTelegram, bots: Bots, database: Database, invite: Invite_
) -> None:
    josee = tg.user(7010, "Josée", language_code="fr-CA")
    await join(josee, await invite("coordinator"), "coordinator", "fr")
    await josee.send("/export")
    assert "quel format" in josee.last.text
    assert josee.buttons == ["Excel (.xlsx)", "CSV (.zip)"]
    await josee.tap("CSV (.zip)")
    ((name, _, caption),) = documents(bots)
    assert name.endswith(".zip")
    assert "16 novembre 2026" in caption
    assert "fuseau horaire du programme (America/Toronto)" in caption
    assert caption.endswith("columns.csv décrit chaque fichier et chaque colonne.")


async def test_coordinator_of_two_programs_picks_one(
    tg: FakeTelegram, bots: Bots, database: Database, clock: FakeClock, coordinator: FakeUser
) -> None:
    halifax = await other_program(database, clock)
    claire = await person_of(database, coordinator)
    async with database.session() as session:
        session.add(
            Membership(
                person_id=claire.id or 0,
                program_id=halifax,
                role=Role.COORDINATOR,
                joined_at=clock(),
                completed_at=clock(),
            )
        )
    await coordinator.send("/export")
    assert coordinator.buttons == ["Career Bridge Toronto", "ECE Halifax"]
    await coordinator.tap("ECE Halifax")
    assert coordinator.buttons == ["Excel (.xlsx)", "CSV (.zip)"]
    await coordinator.tap("Excel (.xlsx)")
    ((name, content, _),) = documents(bots)
    assert name == "tandem-ece-halifax-2026-11-16.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(content))["participants"]
    names = {row[1] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert names == {"Claire Roy", "Halifax Mentor", "Halifax Mentee"}


async def test_participants_are_refused(
    bots: Bots, database: Database, program: Program, pair_of: tuple[FakeUser, FakeUser]
) -> None:
    robert, alice = pair_of
    await robert.send("/export")
    assert REFUSAL in robert.texts
    await alice.send("/export")
    assert REFUSAL_FR in alice.texts
    # Buttons forged with the program's id change nothing either.
    await alice.press(f"exp:xlsx:{program.id}")
    assert alice.answers[-1] == NOT_YOURS_FR
    await robert.press(f"exp:prog:{program.id}")
    assert robert.answers[-1] == NOT_YOURS
    assert documents(bots) == []
    assert await export_events(database) == []


async def test_forged_buttons_for_another_program_are_refused(
    bots: Bots, database: Database, clock: FakeClock, coordinator: FakeUser
) -> None:
    halifax = await other_program(database, clock)
    await coordinator.send("/export")
    for forged in (f"exp:xlsx:{halifax}", f"exp:csv:{halifax}", f"exp:prog:{halifax}"):
        await coordinator.press(forged)
        assert coordinator.answers[-1] == NOT_YOURS
    await coordinator.press("exp:pdf:1")
    await coordinator.press("exp:xlsx:99999999999")
    assert coordinator.answers[-1] == (
        "That button belongs to an earlier question, so it no longer works."
    )
    assert documents(bots) == []
    assert await export_events(database) == []


async def test_menu_offers_export_to_coordinators(coordinator: FakeUser, bots: Bots) -> None:
    menus = [
        [command["command"] for command in call.params["commands"]]
        for call in bots.api.calls_to("setMyCommands")
        if "scope" in call.params
    ]
    assert menus and "export" in menus[-1]
