"""The certificate of completion: the PDF read back with pypdf (name with accents, the
participant's language, the figures), and /certificate through the real application for
participants (EN and FR), for someone without a completed match, and for coordinators of
the program and of another one. Matches cannot close on their own yet, so the tests set
one `closed` in the database."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pypdf
import pytest
from sqlmodel import select

from conversations.kit.certificate import file_name, render_certificate
from locales.translator import translator
from storage.certificates import SENT, CertificateFacts
from storage.db import Database
from storage.models import AuditEvent, Match, MatchStatus, MeetingLog, Program, Role
from tests.conftest import Bots, FakeClock
from tests.harness import FakeTelegram, FakeUser
from tests.test_coordinator import add_member, coordinator, second_program  # noqa: F401

AMELIE, ROBERT = 7101, 7102
CLOSED_ON = datetime(2026, 3, 31, 17, tzinfo=UTC)  # a day after the planned end
FACTS = CertificateFacts(
    name="Amélie Côté",
    program="Carrière Montréal 2026",
    role="mentee",
    started_on=date(2026, 1, 5),
    ended_on=date(2026, 3, 30),
    meetings=11,
    minutes=870,
    issued_on=date(2026, 4, 2),
)


def pdf_text(content: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(content))
    assert len(reader.pages) == 1
    return " ".join(reader.pages[0].extract_text().replace("\u00a0", " ").split())


def test_the_pdf_speaks_french_to_a_french_participant() -> None:
    content = render_certificate(translator("fr"), FACTS)
    assert content.startswith(b"%PDF-")
    text = pdf_text(content)
    assert "Certificat de réussite" in text
    assert "Amélie Côté" in text
    assert (
        "a terminé le programme de mentorat Carrière Montréal 2026 à titre de personne "
        "mentorée, du 5 janvier 2026 au 30 mars 2026."
    ) in text
    assert "Rencontres consignées : 11" in text
    assert "Heures ensemble : 14,5" in text
    assert "Délivré le 2 avril 2026" in text
    assert "Certificate" not in text and "Hours" not in text
    assert file_name(translator("fr"), FACTS) == "certificat-amelie-cote.pdf"


def test_the_pdf_speaks_english_to_an_english_mentor() -> None:
    facts = CertificateFacts(**{**FACTS.__dict__, "role": "mentor", "program": "R&D <Ottawa>"})
    text = pdf_text(render_certificate(translator("en"), facts))
    assert "Certificate of completion" in text and "Amélie Côté" in text
    assert (
        "completed the mentorship program R&D <Ottawa> as a mentor, from January 5, 2026 to "
        "March 30, 2026."
    ) in text
    assert "Meetings logged: 11" in text and "Hours together: 14.5" in text
    assert file_name(translator("en"), facts) == "certificate-amelie-cote.pdf"


# --- /certificate ------------------------------------------------------------------------------


def documents(bots: Bots) -> list[tuple[int, str, bytes, str]]:
    return [
        (int(call.params["chat_id"]), *call.files["document"], str(call.params.get("caption")))
        for call in bots.api.calls_to("sendDocument")
        if not call.failed
    ]


async def closed_match(
    database: Database, clock: FakeClock, program_id: int, *, early: bool = False
) -> int:
    """Amélie (French mentee) and Robert (English mentor), matched on January 5 for twelve
    weeks, closed on the planned end or five weeks early, with three meetings logged (one
    of them deleted)."""
    mentee = await add_member(
        database, clock, program_id, Role.MENTEE, AMELIE, "Amélie Côté", locale="fr"
    )
    mentor = await add_member(database, clock, program_id, Role.MENTOR, ROBERT, "Robert Tremblay")
    async with database.session() as session:
        match = Match(
            program_id=program_id,
            mentor_id=mentor,
            mentee_id=mentee,
            status=MatchStatus.CLOSED,
            started_at=datetime(2026, 1, 5, 15, tzinfo=UTC),
            planned_end=date(2026, 3, 30),
            closed_at=datetime(2026, 2, 23, 17, tzinfo=UTC) if early else CLOSED_ON,
        )
        session.add(match)
        await session.flush()
        for day, minutes, deleted in ((12, 60, None), (26, 45, None), (30, 90, clock())):
            session.add(
                MeetingLog(
                    match_id=match.id or 0,
                    author_id=mentor,
                    met_on=date(2026, 1, day),
                    minutes=minutes,
                    mode="video",
                    created_at=clock(),
                    deleted_at=deleted,
                )
            )
        assert match.id is not None
        return match.id


@pytest.mark.parametrize(
    ("user_id", "language", "expected"),
    [
        (
            AMELIE,
            "fr",
            ["Certificat de réussite", "Amélie Côté", "à titre de personne mentorée",
             "du 5 janvier 2026 au 31 mars 2026", "Rencontres consignées : 2",
             "Heures ensemble : 1,8"],
        ),
        (
            ROBERT,
            "en",
            ["Certificate of completion", "Robert Tremblay", "as a mentor",
             "from January 5, 2026 to March 31, 2026", "Meetings logged: 2",
             "Hours together: 1.8"],
        ),
    ],
)  # fmt: skip
async def test_a_participant_gets_their_certificate_again(
    tg: FakeTelegram,
    bots: Bots,
    database: Database,
    clock: FakeClock,
    program: Program,
    user_id: int,
    language: str,
    expected: list[str],
) -> None:
    await closed_match(database, clock, program.id or 0)
    person = tg.user(user_id, "X", language_code=language)
    await person.send("/certificate")
    ((chat, name, content, caption),) = documents(bots)
    assert chat == user_id and name.endswith(".pdf")
    text = pdf_text(content)
    for words in expected:
        assert words in text, words
    program_words = "pour <b>Career Bridge Toronto</b>" if language == "fr" else "for <b>Career"
    assert program_words in caption
    assert caption.endswith("Félicitations!" if language == "fr" else "Congratulations!")


async def test_no_certificate_without_a_completed_match(
    tg: FakeTelegram, bots: Bots, database: Database, clock: FakeClock, program: Program
) -> None:
    match_id = await closed_match(database, clock, program.id or 0, early=True)
    amelie, robert = tg.user(AMELIE, "Amélie", language_code="fr"), tg.user(ROBERT, "Robert")
    await amelie.send("/certificate")
    assert amelie.last.text.startswith("Votre certificat de réussite vous sera remis quand")
    await robert.send("/certificate")
    assert robert.last.text.startswith("Your certificate of completion comes once your match")
    await robert.press(f"cert:o:{match_id}")  # a forged button for the early end
    assert (
        robert.answers[-1] == "That button belongs to an earlier question, so it no longer works."
    )
    stranger = tg.user(7199, "Zoé", language_code="fr")
    await stranger.send("/certificate")
    assert documents(bots) == []


async def test_a_coordinator_sends_one_to_a_participant_of_their_program(
    tg: FakeTelegram,
    bots: Bots,
    database: Database,
    clock: FakeClock,
    program: Program,
    coordinator: FakeUser,  # noqa: F811
) -> None:
    match_id = await closed_match(database, clock, program.id or 0, early=True)
    await coordinator.send("/certificate")
    assert coordinator.last.text == "Which certificate do you want?"
    assert coordinator.buttons == [f"#{match_id} · Robert Tremblay & Amélie Côté"]
    await coordinator.tap(f"#{match_id} · Robert Tremblay & Amélie Côté")
    assert "match #" in coordinator.last.text
    assert coordinator.buttons == ["Mentor: Robert Tremblay", "Mentee: Amélie Côté"]
    await coordinator.tap("Mentee: Amélie Côté")
    assert coordinator.last.text == "Certificate sent to Amélie Côté."
    ((chat, name, content, caption),) = documents(bots)
    assert (chat, name) == (AMELIE, "certificat-amelie-cote.pdf")
    assert "Félicitations" in caption
    assert "du 5 janvier 2026 au 23 février 2026" in pdf_text(content)
    async with database.session() as session:
        events = (await session.exec(select(AuditEvent).where(AuditEvent.action == SENT))).all()
    assert [(e.subject, e.detail["completed"]) for e in events] == [(f"match:{match_id}", False)]


async def test_a_coordinator_of_another_program_cannot_send_one(
    tg: FakeTelegram,
    bots: Bots,
    database: Database,
    clock: FakeClock,
    coordinator: FakeUser,  # noqa: F811
) -> None:
    halifax = await second_program(database, clock)
    match_id = await closed_match(database, clock, halifax)
    await coordinator.send("/certificate")
    assert coordinator.last.text == "No match of your programs has closed yet."
    for forged in (f"cert:m:{match_id}", f"cert:s:{match_id}:1", f"cert:o:{match_id}"):
        await coordinator.press(forged)
    assert coordinator.answers[-3:] == [
        "Only this program's coordinators can do that.",
        "Only this program's coordinators can do that.",
        "That button belongs to an earlier question, so it no longer works.",
    ]
    await coordinator.press("cert:s:x:1")
    assert documents(bots) == []
    async with database.session() as session:
        assert (await session.exec(select(AuditEvent).where(AuditEvent.action == SENT))).all() == []
