"""Outcome figures through the real application, in English and French: five mentees whose
matches closed (two employed in their field at known dates, one back in school, one
looking, one who never answered), one of them answering her follow-up in the chat;
the figures on /dashboard, in the weekly digest, under /report and in the /export
workbook are the ones counted by hand. And the counting rules: the latest answer counts,
erasure changes no figure, someone who left before any follow-up is in no count, a job
that began before the match is left out of the median, and a program with no closed
match shows no outcomes at all."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import openpyxl
import pytest
from sqlmodel import col, select

from conversations.kit.erasure import erasure_keeps
from storage.closure import Actor
from storage.db import Database
from storage.erasure import erase_person
from storage.models import (
    Answer,
    Match,
    MatchStatus,
    Person,
    PersonStatus,
    Program,
    Prompt,
    PromptKind,
    PromptStatus,
    Role,
)
from storage.outcomes import program_outcomes
from tests import builders
from tests.builders import add_coordinator, add_participant
from tests.conftest import Bots, FakeClock
from tests.harness import FakeTelegram, FakeUser
from tests.test_closure_dialogue import dispatcher_of

CORA, CLAUDE = 401, 402  # coordinators, English and French
BEA = 603  # the mentee who answers in the chat, in French
JAN_5 = datetime(2026, 1, 5, 14, tzinfo=UTC)  # 09:00 in Toronto
# 22:00 on Sunday, March 1 in Toronto: the match began on March 1 in the program's zone.
MAR_1_EVENING = datetime(2026, 3, 2, 3, tzinfo=UTC)
NEXT_DIGEST = datetime(2026, 11, 23, 13, tzinfo=UTC)  # Monday 08:00 in Toronto
# By hand: Ana 2026-01-05 → 2026-09-01 is 239 days, Béatrice 2026-03-01 → 2026-08-03
# is 155 days; the median of two is their mean, 197.
ENGLISH = [
    "Outcomes of 5 closed matches:",
    "Follow-ups answered: 80% (4 of 5) of the mentees they reached.",
    "Exits to employment: 2 of 4 who answered (2 in their field); to school: 1.",
    "Median time to employment: 197 days from the match's start (2 people).",
    "Closure surveys answered: 67% (6 of 9).",
]
FRENCH = [
    "Résultats (5 jumelages terminés)\xa0:",
    "Sondages post-programme remplis\xa0: 80\xa0% (4 sur 5) des personnes mentorées jointes.",
    "Sorties vers l’emploi\xa0: 2 sur 4 personnes ayant répondu (2 dans leur domaine); vers "
    "les études\xa0: 1.",
    "Délai médian avant l’emploi\xa0: 197 jours depuis le début du jumelage (2 personnes).",
    "Sondages de fin de jumelage remplis\xa0: 67\xa0% (6 sur 9).",
]


async def change(database: Database, model: type[Any], row_id: int | None, **values: Any) -> Any:
    """Set columns of one stored row; returns it."""
    async with database.session() as session:
        row = await session.get(model, row_id)
        assert row is not None
        for name, value in values.items():
            setattr(row, name, value)
        session.add(row)
    return row


@dataclass
class Closed:
    mentee: Person
    mentor: Person
    match: Match


async def closed_match(
    database: Database,
    program: Program,
    clock: FakeClock,
    number: int,
    name: str,
    started: datetime,
    closed: datetime,
    locale: str = "en",
) -> Closed:
    """A mentee `name` (Telegram id 600 + number) and her mentor, their match closed."""
    mentee = await add_participant(
        database, program, clock, telegram_id=600 + number, name=name, role=Role.MENTEE,
        locale=locale,
    )  # fmt: skip
    mentor = await add_participant(
        database, program, clock, telegram_id=700 + number, name=f"Mentor {number}",
        role=Role.MENTOR,
    )  # fmt: skip
    async with database.session() as session:
        match = await builders.add_match(
            session, program.id or 0, mentor, mentee, started, status=MatchStatus.CLOSED,
            closing_at=closed - timedelta(days=14), closed_at=closed,
        )  # fmt: skip
    return Closed(mentee, mentor, match)


async def survey(
    database: Database,
    person: Person,
    match: Match,
    kind: str,
    period: str,
    due: datetime,
    status: str = PromptStatus.ANSWERED,
    **answers: str,
) -> None:
    """A closure survey or follow-up as the dispatcher left it, with its answers."""
    answered = due + timedelta(hours=3) if status == PromptStatus.ANSWERED else None
    instrument = "followup_mentee" if kind == PromptKind.FOLLOWUP else "closure_mentee"
    async with database.session() as session:
        prompt = Prompt(
            person_id=person.id or 0, match_id=match.id or 0, kind=kind, period=period,
            instrument=instrument, due_at=due, closes_at=due + timedelta(days=14),
            status=status, sent_at=due if status != PromptStatus.EXPIRED else None,
            answered_at=answered,
        )  # fmt: skip
        session.add(prompt)
        await session.flush()
        for key, value in answers.items():
            session.add(
                Answer(prompt_id=prompt.id or 0, question_key=key, value=value,
                       answered_at=answered or due)
            )  # fmt: skip


async def closure_surveys(database: Database, closed: Closed, mentee: str, mentor: str) -> None:
    due = (closed.match.closing_at or JAN_5) + timedelta(days=1)
    for person, status in ((closed.mentee, mentee), (closed.mentor, mentor)):
        answers = {"satisfaction": "4"} if status == PromptStatus.ANSWERED else {}
        await survey(database, person, closed.match, PromptKind.CLOSURE, "closure", due, status,
                     **answers)  # fmt: skip


@pytest.fixture
async def cohort(database: Database, program: Program, clock: FakeClock) -> dict[str, Closed]:
    """Five closed matches, as of Monday, November 16, 2026, 09:00 in Toronto:

    - Ana: "looking" at 3 months, then employed in her field since 2026-09-01 at 6 months
      (the latest answer counts);
    - Béatrice (French), whose match began on the evening of March 1 in Toronto (March 2
      in UTC) and closed on August 10: her 3-month follow-up is due now, and she answers
      it in the chat (employed in her field since August 3, during the mentorship);
    - Chen: studying; Dev: looking; Emma: missed her 3-month follow-up, and her 6-month
      one was never sent (an outage: it reached nobody);
    - closure surveys: the five mentees answered but Emma (missed); the mentors of Ana and
      Béatrice answered, Chen's missed, Dev's was never sent, Emma's could not be
      delivered: 6 answered of the 9 that reached people;
    - and a match still closing (its mentor has not answered yet), whose mentee's answered
      survey counts nowhere yet.
    """
    spring = datetime(2026, 3, 30, 13, tzinfo=UTC)
    ana = await closed_match(database, program, clock, 1, "Ana", JAN_5,
                             datetime(2026, 4, 6, 13, tzinfo=UTC))  # fmt: skip
    bea = await closed_match(database, program, clock, 3, "Béatrice", MAR_1_EVENING,
                             datetime(2026, 8, 10, 14, tzinfo=UTC), "fr")  # fmt: skip
    chen = await closed_match(database, program, clock, 4, "Chen", JAN_5, spring)
    dev = await closed_match(database, program, clock, 5, "Dev", JAN_5, spring)
    emma = await closed_match(database, program, clock, 6, "Emma", JAN_5, spring)
    m3, m6 = datetime(2026, 7, 6, 13, tzinfo=UTC), datetime(2026, 10, 12, 13, tzinfo=UTC)
    followup = PromptKind.FOLLOWUP
    await survey(database, ana.mentee, ana.match, followup, "m3", m3, employment="looking")
    await survey(database, ana.mentee, ana.match, followup, "m6", m6,
                 employment="employed_field", started="2026-09-01")  # fmt: skip
    await survey(database, chen.mentee, chen.match, followup, "m3", m3,
                 employment="studying", started="2026-09-08")  # fmt: skip
    await survey(database, dev.mentee, dev.match, followup, "m3", m3, employment="looking")
    await survey(database, emma.mentee, emma.match, followup, "m3", m3, PromptStatus.MISSED)
    await survey(database, emma.mentee, emma.match, followup, "m6", m6, PromptStatus.EXPIRED)
    answered, missed = PromptStatus.ANSWERED, PromptStatus.MISSED
    await closure_surveys(database, ana, answered, answered)
    await closure_surveys(database, bea, answered, answered)
    await closure_surveys(database, chen, answered, missed)
    await closure_surveys(database, dev, answered, PromptStatus.EXPIRED)
    await closure_surveys(database, emma, missed, PromptStatus.FAILED)
    closing = await closed_match(database, program, clock, 7, "Fern", JAN_5, spring)
    still = {"status": MatchStatus.CLOSING, "closing_at": clock(), "closed_at": None}
    closing.match = await change(database, Match, closing.match.id, **still)
    await closure_surveys(database, closing, answered, PromptStatus.SENT)
    await add_coordinator(database, program, clock, CORA, "Cora Lee")
    await add_coordinator(database, program, clock, CLAUDE, "Claude Roy", "fr")
    return {"ana": ana, "bea": bea, "chen": chen, "dev": dev, "emma": emma}


async def bea_answers_in_the_chat(tg: FakeTelegram, database: Database) -> None:
    """The dispatcher sends Béatrice her 3-month follow-up now; she answers it in French
    (the date typed as she would write it)."""
    await dispatcher_of(tg).tick()
    bea = tg.user(BEA, "Béatrice", language_code="fr")
    assert "Sondage post-programme" in bea.last.text
    await bea.tap("En emploi dans mon domaine")
    await bea.send("3 août 2026")
    await bea.tap("De nouveaux contacts")
    await bea.tap("Terminé")
    await bea.tap("Passer")
    async with database.session() as session:
        prompt = (
            await session.exec(
                select(Prompt)
                .join(Person, col(Person.id) == col(Prompt.person_id))
                .where(Prompt.kind == PromptKind.FOLLOWUP, Person.telegram_id == BEA)
            )
        ).one()
        assert prompt.status == PromptStatus.ANSWERED
        started = (
            await session.exec(
                select(Answer.value).where(
                    Answer.prompt_id == prompt.id, Answer.question_key == "started"
                )
            )
        ).one()
        assert started == "2026-08-03"


def outcome_part(text: str) -> list[str]:
    lines = text.splitlines()
    heads = [i for i, line in enumerate(lines) if line.startswith(("Outcomes", "Résultats"))]
    if not heads:
        return []
    (start,) = heads
    return lines[start : start + 5]


def documents(bots: Bots) -> list[bytes]:
    return [
        call.files["document"][1] for call in bots.api.calls_to("sendDocument") if not call.failed
    ]


def sheet(workbook: Any, name: str) -> list[dict[str, Any]]:
    rows = list(workbook[name].iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


@pytest.mark.parametrize("language", ["en", "fr"])
async def test_the_figures_everywhere_match_the_answers(
    tg: FakeTelegram,
    bots: Bots,
    database: Database,
    program: Program,
    clock: FakeClock,
    cohort: dict[str, Closed],
    language: str,
) -> None:
    await bea_answers_in_the_chat(tg, database)
    english = language == "en"
    coordinator = (
        tg.user(CORA, "Cora") if english else tg.user(CLAUDE, "Claude", language_code="fr")
    )
    expected = ENGLISH if english else FRENCH

    await coordinator.send("/dashboard")
    assert outcome_part(coordinator.last.text) == expected
    assert coordinator.last.text.splitlines()[-6] == ""  # a blank line before them

    clock.now = NEXT_DIGEST
    await dispatcher_of(tg).tick()
    digest = [m.text for m in coordinator.messages if m.text.startswith("📬")][-1]
    assert outcome_part(digest) == expected

    ana = cohort["ana"]  # a check-in this week, so that /report draws a chart
    await builders.add_prompt(database, clock, ana.mentee, ana.match, "mentee_weekly",
                              status=PromptStatus.ANSWERED, period="2026-W48")  # fmt: skip
    await coordinator.send("/report")
    assert coordinator.last.kind == "photo"  # its caption, as the coordinator reads it
    assert outcome_part(coordinator.last.text) == expected

    await change(database, Program, program.id, default_locale=language)
    await coordinator.send("/export")
    await coordinator.tap("Excel (.xlsx)")
    (content,) = documents(bots)
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    figures = {row["figure"]: row for row in sheet(workbook, "outcomes")}
    assert {key: (row["value"], row["out_of"]) for key, row in figures.items()} == {
        "closed_matches": (5, None),
        "followups_answered": (4, 5),
        "exits_to_employment": (2, 4),
        "exits_to_employment_in_field": (2, 4),
        "exits_to_school": (1, 4),
        "median_days_to_employment": (197, 2),
        "closure_surveys_answered": (6, 9),
    }
    assert figures["followups_answered"]["share"] == 0.8
    label = figures["exits_to_school"]["figure_label"]
    assert label == ("Exits to school" if english else "Sorties vers les études")
    mentees = {row["name"]: row for row in sheet(workbook, "outcomes_by_mentee")}
    assert sorted(mentees) == ["Ana", "Béatrice", "Chen", "Dev", "Emma"]
    ana, bea = mentees["Ana"], mentees["Béatrice"]
    assert (ana["followups_reached"], ana["followups_answered"], ana["period"]) == (2, 2, "m6")
    assert (ana["employment"], ana["days_to_employment"]) == ("employed_field", 239)
    field = "Employed in my field" if english else "En emploi dans mon domaine"
    assert bea["employment_label"] == field
    assert bea["days_to_employment"] == 155
    # Times in the program's zone, as the other sheets: March 1, 22:00 in Toronto.
    assert bea["started_at"] == datetime(2026, 3, 1, 22, 0)
    assert bea["started_at_utc"] == datetime(2026, 3, 2, 3, 0)
    assert bea["employment_started_on"] == datetime(2026, 8, 3)
    assert mentees["Emma"]["employment"] is None and mentees["Emma"]["followups_reached"] == 1
    guide = [row for row in workbook.worksheets[0].iter_rows(values_only=True) if row[0]]
    described = {(sheet_name, column) for sheet_name, column, note in guide if note}
    assert ("outcomes", None) in described and ("outcomes", "out_of") in described
    assert ("outcomes_by_mentee", "days_to_employment") in described
    new_sheets = [row for row in guide if str(row[0]).startswith("outcomes")]
    assert len(new_sheets) == 2 + 5 + 16 and all(note for _, _, note in new_sheets)
    assert isinstance(ana["answered_at"], datetime) and ana["answered_at_utc"] == datetime(
        2026, 10, 12, 16
    )  # the 6-month follow-up, answered three hours after it was due
    tg.assert_no_errors()


async def dashboard_outcomes(user: FakeUser) -> list[str]:
    await user.send("/dashboard")
    return outcome_part(user.last.text)


async def test_the_counting_rules(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    """Ana's job began before her match did: an exit to employment, but not in the
    median. Gil answered, then is erased: nothing changes. Hana left the program before
    her follow-up was due and Ida did not answer hers yet: Ida is counted, Hana is not.
    No closure survey reached anyone: no line for them. Before any match closed: nothing."""
    await add_coordinator(database, program, clock, CORA, "Cora Lee")
    cora = tg.user(CORA, "Cora")
    summer = datetime(2026, 8, 10, 14, tzinfo=UTC)  # 3-month follow-ups due now
    ida = await closed_match(database, program, clock, 1, "Ida", JAN_5, summer)
    await change(database, Match, ida.match.id, status=MatchStatus.CLOSING, closing_at=clock(),
                 closed_at=None)  # fmt: skip
    assert await dashboard_outcomes(cora) == []  # nothing has closed: no section at all
    assert "Outcomes" not in cora.last.text

    await change(database, Match, ida.match.id, status=MatchStatus.CLOSED, closed_at=summer)
    hana = await closed_match(database, program, clock, 2, "Hana", JAN_5, summer)
    await change(database, Person, hana.mentee.id, status=PersonStatus.CLOSED)  # she left
    spring = datetime(2026, 3, 30, 13, tzinfo=UTC)
    ana = await closed_match(database, program, clock, 3, "Ana", JAN_5, spring)
    gil = await closed_match(database, program, clock, 4, "Gil", JAN_5, spring)
    m3 = datetime(2026, 7, 6, 13, tzinfo=UTC)
    await survey(database, ana.mentee, ana.match, PromptKind.FOLLOWUP, "m3", m3,
                 employment="employed_other", started="2025-11-03")  # fmt: skip
    await survey(database, gil.mentee, gil.match, PromptKind.FOLLOWUP, "m3", m3,
                 employment="employed_field", started="2026-05-01")  # fmt: skip
    assert await dashboard_outcomes(cora) == [
        "Outcomes of 4 closed matches:",
        "Follow-ups answered: 100% (2 of 2) of the mentees they reached.",
        "Exits to employment: 2 of 2 who answered (1 in their field); to school: 0.",
        "Median time to employment: 116 days from the match's start (1 person).",
    ]

    await dispatcher_of(tg).tick()  # Ida's follow-up goes out; Hana gets none
    assert "Follow-up" in tg.user(601, "Ida").last.text
    assert tg.user(602, "Hana").messages == []
    expected = [
        "Outcomes of 4 closed matches:",
        "Follow-ups answered: 67% (2 of 3) of the mentees they reached.",
        "Exits to employment: 2 of 2 who answered (1 in their field); to school: 0.",
        "Median time to employment: 116 days from the match's start (1 person).",
    ]
    assert await dashboard_outcomes(cora) == expected

    async with database.session() as session:
        row = await session.get(Person, gil.mentee.id)
        assert row is not None
        await erase_person(
            session, row, Actor(None, "cli"), "asked", clock(), keeps=erasure_keeps()
        )
    assert await dashboard_outcomes(cora) == expected  # erasure keeps the figures
    await cora.send("/report")  # nothing to chart: the sentence, then the outcomes
    assert cora.last.text.startswith("Career Bridge Toronto: nothing to chart")
    assert outcome_part(cora.last.text) == expected
    async with database.session() as session:
        found = await program_outcomes(session, program)
    assert (found.closure_surveys.reached, found.median_days, found.timed) == (0, 116, 1)
    tg.assert_no_errors()
