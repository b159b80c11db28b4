"""Exports: the tables hold exactly what the database holds, the XLSX opens in openpyxl,
the CSV zip keeps French accents for Excel, `tandem export` and `/export` work, only a
program's coordinators get its data, and every export is an audit event."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pytest
from sqlmodel import select

from bot import cli
from storage.db import Database
from storage.exports import (
    ExportTable,
    export_tables,
    file_name,
    slug,
    write_csv_zip,
    write_xlsx,
)
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

TABLES = [
    "participants",
    "matches",
    "checkin_answers",
    "meeting_logs",
    "reflections",
    "closure_followup_answers",
    "goals",
    "flags",
    "audit_events",
]
NOTE = "Très utile : on a révisé mon CV en français, déjà l’entrevue!"
FORMULA = '=HYPERLINK("http://example.com","clic")'
GOAL = "Décrocher un poste en comptabilité à Montréal"


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
        for person, answers, kind, period in (
            (amelie, {"rating": "4", "note": NOTE}, PromptKind.CHECKIN, "2026-W47"),
            (robert, {"rating": "5"}, PromptKind.CHECKIN, "2026-W47"),
            (amelie, {"learned": "J’ai appris à négocier"}, PromptKind.REFLECTION, "2026-W48"),
        ):
            prompt = Prompt(
                person_id=person.id or 0,
                match_id=match.id,
                kind=kind,
                period=period,
                instrument="mentee_weekly" if person is amelie else "mentor_weekly",
                due_at=now + timedelta(hours=1),
                closes_at=now + timedelta(days=6),
                status=PromptStatus.ANSWERED,
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
    now = clock()
    async with database.session() as session:
        program = await session.get(Program, program_id)
        assert program is not None
        mentor = await add_person(session, now, 8201, "Halifax Mentor")
        mentee = await add_person(session, now, 8202, "Halifax Mentee")
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
            Answer(prompt_id=prompt.id or 0, question_key="rating", value="2", answered_at=now)
        )


@pytest.fixture
async def seeded(database: Database, clock: FakeClock, program: Program) -> Seeded:
    assert program.id is not None
    found = await seed(database, clock, program.id)
    await other_program(database, clock)
    return found


async def tables_of(database: Database, program_id: int) -> dict[str, ExportTable]:
    async with database.session() as session:
        return await export_tables(session, program_id)


def column(table: ExportTable, name: str) -> list[object]:
    index = table.columns.index(name)
    return [row[index] for row in table.rows]


def records(table: ExportTable) -> list[dict[str, object]]:
    return [dict(zip(table.columns, row, strict=True)) for row in table.rows]


# --- the tables ---------------------------------------------------------------------------


async def test_tables_hold_exactly_what_the_database_holds(
    database: Database, seeded: Seeded
) -> None:
    tables = await tables_of(database, seeded.program_id)
    assert list(tables) == TABLES
    counts = {name: len(table.rows) for name, table in tables.items()}
    assert counts == {
        "participants": 2,
        "matches": 1,
        "checkin_answers": 3,
        "meeting_logs": 1,  # the deleted one is left out
        "reflections": 1,
        "closure_followup_answers": 0,
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
    assert mentee["consent_at"] == "2026-11-16T14:00:00Z"
    assert mentee["onboarding_completed_at"] == "2026-11-16T14:00:00Z"

    (match,) = records(tables["matches"])
    assert match == {
        "match_id": seeded.match_id,
        "mentor_id": seeded.mentor_id,
        "mentor_name": "Robert Tremblay",
        "mentee_id": seeded.mentee_id,
        "mentee_name": "Amélie Côté",
        "status": "active",
        "started_at": "2026-11-16T14:00:00Z",
        "planned_end": "2027-02-08",
        "closed_at": None,
        "closure_reason": None,
    }

    answers = records(tables["checkin_answers"])
    assert {(row["name"], row["role"], row["question_key"], row["value"]) for row in answers} == {
        ("Amélie Côté", "mentee", "rating", "4"),
        ("Amélie Côté", "mentee", "note", NOTE),
        ("Robert Tremblay", "mentor", "rating", "5"),
    }
    assert {row["kind"] for row in answers} == {"checkin"}
    assert answers[0]["due_at"] == "2026-11-16T15:00:00Z"
    assert answers[0]["period"] == "2026-W47"
    assert answers[0]["answered_at"] == "2026-11-16T16:00:00Z"

    (reflection,) = records(tables["reflections"])
    assert (reflection["kind"], reflection["value"]) == ("reflection", "J’ai appris à négocier")

    (log,) = records(tables["meeting_logs"])
    assert log["log_id"] == seeded.log_id
    assert (log["met_on"], log["minutes"], log["mode"]) == ("2026-11-15", 45, "video")
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

    (event,) = records(tables["audit_events"])
    assert (event["action"], event["subject"]) == ("match.create", f"match:{seeded.match_id}")


async def test_an_empty_program_exports_headers_only(database: Database, program: Program) -> None:
    assert program.id is not None
    tables = await tables_of(database, program.id)
    assert list(tables) == TABLES
    assert all(table.rows == [] and table.columns for table in tables.values())


# --- the files ----------------------------------------------------------------------------


async def test_xlsx_opens_with_a_sheet_per_table(
    database: Database, seeded: Seeded, tmp_path: Path
) -> None:
    tables = await tables_of(database, seeded.program_id)
    path = tmp_path / "export.xlsx"
    write_xlsx(tables, path)
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == TABLES
    for name, table in tables.items():
        sheet = workbook[name]
        header = [cell.value for cell in sheet[1]]
        assert header == table.columns
        assert all(cell.font.bold for cell in sheet[1])
        assert sheet.freeze_panes == "A2"
        assert sheet.max_row == len(table.rows) + 1
        assert sheet.column_dimensions["A"].width >= len(table.columns[0])
    answers = workbook["checkin_answers"]
    values = [[cell.value for cell in row] for row in answers.iter_rows(min_row=2)]
    assert values == tables["checkin_answers"].rows
    notes = workbook["meeting_logs"].cell(row=2, column=9)
    assert (notes.value, notes.data_type) == (FORMULA, "s")  # text, never a formula


async def test_csv_zip_keeps_french_accents_for_excel(
    database: Database, seeded: Seeded, tmp_path: Path
) -> None:
    tables = await tables_of(database, seeded.program_id)
    path = tmp_path / "export.zip"
    write_csv_zip(tables, path)
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == [f"{name}.csv" for name in TABLES]
        for name, table in tables.items():
            raw = archive.read(f"{name}.csv")
            assert raw.startswith(b"\xef\xbb\xbf")
            rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
            assert rows[0] == table.columns
            expected = [
                ["" if value is None else str(value) for value in row] for row in table.rows
            ]
            if name == "meeting_logs":  # Excel must not run it: an apostrophe disarms it
                expected[0][8] = "'" + FORMULA
            assert rows[1:] == expected
    with zipfile.ZipFile(path) as archive:
        text = archive.read("checkin_answers.csv").decode("utf-8-sig")
    assert NOTE in text and "Amélie Côté" in text


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
    assert "checkin_answers: 3 row(s)" in result.stderr
    assert "meeting_logs: 1 row(s)" in result.stderr
    assert openpyxl.load_workbook(out).sheetnames == TABLES

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
    assert events[0].detail["rows"]["checkin_answers"] == 3
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
    assert "<b>Career Bridge Toronto</b>: your program's data on November 16, 2026." in xlsx[2]
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx[1]))
    assert workbook.sheetnames == TABLES
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
