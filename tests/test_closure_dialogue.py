"""The end of a match through the real application and the dispatcher it scheduled: the
closure notice at each person's check-in time with the planned end's date (EN and FR),
an extension both agree to and a coordinator approves, one declined, closure surveys
answered by both (typed and tapped), the match closing and the certificates sent as
PDF documents, and an outcome follow-up months later."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pypdf
import pytest
from sqlmodel import select

from bot.dispatch import Dispatcher
from bot.dispatch_job import JOB_NAME
from storage.closure import finish_closures
from storage.db import Database
from storage.models import (
    Answer,
    CertificateDelivery,
    ExtensionStatus,
    Match,
    MatchExtension,
    MatchStatus,
    Program,
    Prompt,
    PromptKind,
    PromptStatus,
)
from tests.builders import Pair, add_coordinator
from tests.conftest import Bots, FakeClock
from tests.fakebot import SentMessage
from tests.harness import FakeTelegram, FakeUser

PLANNED_END = date(2026, 12, 14)
NOTICE_DUE = datetime(2026, 11, 30, 14, tzinfo=UTC)  # Monday 09:00 in Toronto
END_BEGINS = datetime(2026, 12, 14, 5, tzinfo=UTC)  # midnight in Toronto
SURVEY_DUE = datetime(2026, 12, 14, 14, tzinfo=UTC)  # the next 09:00 in Toronto
COORDINATOR, SECOND = 303, 304


def dispatcher_of(tg: FakeTelegram) -> Dispatcher:
    (job,) = tg.application.job_queue.get_jobs_by_name(JOB_NAME)
    return job.data  # type: ignore[no-any-return]


async def tick_at(tg: FakeTelegram, clock: FakeClock, when: datetime) -> None:
    clock.now = when
    await dispatcher_of(tg).tick()


@pytest.fixture
async def ending(database: Database, pair: Pair) -> Pair:
    """The pair, their match planned to end on Monday 2026-12-14."""
    async with database.session() as session:
        match = await session.get(Match, pair.match.id)
        assert match is not None
        match.planned_end = PLANNED_END
        session.add(match)
    return pair


def people(tg: FakeTelegram, pair: Pair) -> tuple[FakeUser, FakeUser]:
    alice = tg.user(pair.mentee.telegram_id or 0, "Alice", language_code="en")
    robert = tg.user(pair.mentor.telegram_id or 0, "Robert", language_code="fr")
    return alice, robert


def message_with(user: FakeUser, words: str) -> SentMessage:
    return next(m for m in reversed(user.messages) if words in m.text and m.has_buttons)


async def tap_in(user: FakeUser, words: str, label: str) -> list[SentMessage]:
    """Tap `label` on the latest message that says `words` (others may have come since)."""
    message = message_with(user, words)
    (data,) = [b.callback_data for row in message.buttons for b in row if b.text == label]
    assert data is not None
    return await user.press(data, message.message_id)


async def match_row(database: Database, pair: Pair) -> Match:
    async with database.session() as session:
        match = await session.get(Match, pair.match.id)
        assert match is not None
        return match


async def test_the_notice_comes_at_check_in_time_with_the_date_in_each_language(
    tg: FakeTelegram, clock: FakeClock, ending: Pair
) -> None:
    alice, robert = people(tg, ending)
    await tick_at(tg, clock, NOTICE_DUE - timedelta(minutes=1))
    assert not any("December 14" in text for text in alice.texts)
    await tick_at(tg, clock, NOTICE_DUE)
    notice = message_with(alice, "planned to end on December 14, 2026")
    assert "Your mentorship is ending soon" in notice.text
    assert "Would you like to extend your mentorship?" in notice.text
    assert notice.labels[:2] == ["Yes", "No"]
    avis = message_with(robert, "14 décembre 2026")
    assert "prolonger" in avis.text and avis.labels[:2] == ["Oui", "Non"]
    tg.assert_no_errors()


async def test_both_agree_and_the_coordinator_approves(
    tg: FakeTelegram,
    database: Database,
    clock: FakeClock,
    program: Program,
    ending: Pair,
) -> None:
    await add_coordinator(database, program, clock, COORDINATOR, "Chloé Gagnon", locale="fr")
    coordinator = tg.user(COORDINATOR, "Chloé", language_code="fr")
    alice, robert = people(tg, ending)
    await tick_at(tg, clock, NOTICE_DUE)
    await tap_in(alice, "December 14, 2026", "Yes")
    assert "also needs your partner's yes" in alice.texts[-2] + alice.texts[-1]
    # The next question is a typed one: the reflection, answered in a message.
    await alice.send("I speak up in meetings now.")
    assert not any("prolonger" in text for text in coordinator.texts)
    await tap_in(robert, "14 décembre 2026", "Oui")
    request = coordinator.last
    assert "Alice Martin" in request.text and "4\u00a0semaines" in request.text
    assert "14 décembre 2026" in request.text
    # A participant forging the coordinator's button changes nothing.
    data = request.buttons[0][0].callback_data
    await alice.press(data or "")
    assert alice.answers[-1] == "Only this program's coordinators can do that."
    assert (await match_row(database, ending)).planned_end == PLANNED_END
    await coordinator.tap("✅ Approuver")
    assert (await match_row(database, ending)).planned_end == date(2027, 1, 11)
    assert "11 janvier 2027" in coordinator.last.text and not coordinator.last.has_buttons
    assert "now ends on January 11, 2027" in alice.last.text
    assert "11 janvier 2027" in robert.last.text
    async with database.session() as session:
        (extension,) = (await session.exec(select(MatchExtension))).all()
        assert extension.status == ExtensionStatus.APPROVED
    # A second press (another coordinator's copy, say) decides nothing more.
    await coordinator.press(data or "", request.message_id)
    assert (await match_row(database, ending)).planned_end == date(2027, 1, 11)
    tg.assert_no_errors()


async def test_one_declines_and_the_match_ends_as_planned(
    tg: FakeTelegram,
    database: Database,
    clock: FakeClock,
    program: Program,
    ending: Pair,
) -> None:
    await add_coordinator(database, program, clock, COORDINATOR, "Chloé Gagnon", locale="fr")
    coordinator = tg.user(COORDINATOR, "Chloé", language_code="fr")
    alice, robert = people(tg, ending)
    await tick_at(tg, clock, NOTICE_DUE)
    await tap_in(alice, "December 14, 2026", "Yes")
    await tap_in(robert, "14 décembre 2026", "Non")
    assert "se termine comme prévu" in robert.texts[-2] + robert.texts[-1]
    assert not any("prolonger" in text for text in coordinator.texts)
    await tick_at(tg, clock, END_BEGINS)
    assert (await match_row(database, ending)).status == MatchStatus.CLOSING
    await tick_at(tg, clock, SURVEY_DUE)
    assert "End-of-mentorship survey" in alice.last.text
    assert "Sondage de fin de jumelage" in robert.last.text
    tg.assert_no_errors()


async def both_asked_two_coordinators(
    tg: FakeTelegram, database: Database, clock: FakeClock, program: Program, ending: Pair
) -> tuple[FakeUser, FakeUser, FakeUser, FakeUser]:
    """Chloé (French) and Sam (English) coordinate; both partners said yes to extending
    on their notice. Returns Chloé, Sam, Alice and Robert."""
    await add_coordinator(database, program, clock, COORDINATOR, "Chloé Gagnon", locale="fr")
    await add_coordinator(database, program, clock, SECOND, "Sam Patel", locale="en")
    chloe = tg.user(COORDINATOR, "Chloé", language_code="fr")
    sam = tg.user(SECOND, "Sam", language_code="en")
    alice, robert = people(tg, ending)
    await tick_at(tg, clock, NOTICE_DUE)
    await tap_in(alice, "December 14, 2026", "Yes")
    await tap_in(robert, "14 décembre 2026", "Oui")
    return chloe, sam, alice, robert


async def test_the_other_coordinators_copies_show_the_decision(
    tg: FakeTelegram,
    database: Database,
    clock: FakeClock,
    program: Program,
    ending: Pair,
) -> None:
    chloe, sam, _, robert = await both_asked_two_coordinators(tg, database, clock, program, ending)
    copy = chloe.last
    assert copy.labels == ["✅ Approuver", "✖️ Refuser"]
    assert sam.last.labels == ["✅ Approve", "✖️ Decline"]
    approve = copy.buttons[0][0].callback_data
    await sam.tap("✖️ Decline")
    declined = "✖️ Declined by Sam Patel: the mentorship ends on December 14, 2026 as planned."
    assert sam.last.text.endswith(declined) and not sam.last.has_buttons
    # Chloé's copy now says who decided what, in French, without its buttons.
    copy = chloe.api.message(COORDINATOR, copy.message_id)
    refused = (
        "✖️ Refusée par Sam Patel\u00a0: le mentorat se termine le 14 décembre 2026, comme prévu."
    )
    assert copy.text.endswith(refused) and not copy.has_buttons
    assert "Alice Martin" in copy.text
    # A late tap on her copy (her client still showed the buttons) decides nothing more.
    await chloe.press(approve or "", copy.message_id)
    assert chloe.answers[-1].endswith(refused)
    assert (await match_row(database, ending)).planned_end == PLANNED_END
    async with database.session() as session:
        (extension,) = (await session.exec(select(MatchExtension))).all()
        assert extension.status == ExtensionStatus.REFUSED
    assert "décidé de ne pas prolonger" in robert.last.text
    tg.assert_no_errors()


def pdf_text(content: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return " ".join(reader.pages[0].extract_text().replace("\u00a0", " ").split())


async def test_surveys_answered_by_both_close_the_match_and_certify_them(
    tg: FakeTelegram, bots: Bots, database: Database, clock: FakeClock, ending: Pair
) -> None:
    alice, robert = people(tg, ending)
    await tick_at(tg, clock, END_BEGINS)
    await tick_at(tg, clock, SURVEY_DUE)
    await alice.tap("4")
    await alice.tap("Yes")
    await alice.send("Knowing how hiring works here.")
    await alice.tap("Skip")
    await alice.tap("9")
    await alice.tap("As professional contacts")
    assert "Thank you! Your answers are saved." in alice.last.text
    await tick_at(tg, clock, SURVEY_DUE + timedelta(minutes=1))
    assert (await match_row(database, ending)).status == MatchStatus.CLOSING
    await robert.tap("5")
    await robert.tap("En partie")
    await robert.tap("Passer")
    await robert.send("Plus de rencontres de groupe.")
    await robert.tap("10")
    await robert.tap("De façon informelle")
    await robert.tap("Oui")
    await tick_at(tg, clock, SURVEY_DUE + timedelta(minutes=2))
    match = await match_row(database, ending)
    assert match.status == MatchStatus.CLOSED and match.closure_reason == "completed"
    documents = {
        int(call.params["chat_id"]): call.files["document"]
        for call in bots.api.calls_to("sendDocument")
    }
    assert set(documents) == {alice.chat_id, robert.chat_id}
    name, content = documents[alice.chat_id]
    assert name == "certificate-alice-martin.pdf" and content.startswith(b"%PDF-")
    assert "Alice Martin" in pdf_text(content) and "as a mentee" in pdf_text(content)
    name, content = documents[robert.chat_id]
    assert name.startswith("certificat-") and "Certificat" in pdf_text(content)
    # No check-in once the match has ended.
    await tick_at(tg, clock, SURVEY_DUE + timedelta(days=7))
    async with database.session() as session:
        checkins = await session.exec(
            select(Prompt).where(
                Prompt.match_id == ending.match.id,
                Prompt.kind == PromptKind.CHECKIN,
                Prompt.due_at > END_BEGINS,
            )
        )
        assert checkins.all() == []
    tg.assert_no_errors()


async def test_a_follow_up_is_answered_months_later(
    tg: FakeTelegram, database: Database, clock: FakeClock, ending: Pair
) -> None:
    alice, _ = people(tg, ending)
    await tick_at(tg, clock, END_BEGINS)
    async with database.session() as session:
        match = await session.get(Match, ending.match.id)
        assert match is not None
        match.status, match.closed_at = MatchStatus.CLOSED, END_BEGINS
        session.add(match)
    # Three months on: Sunday 2027-03-14, so the first Monday after, 09:00 in Toronto,
    # daylight saving time by then (13:00 UTC).
    await tick_at(tg, clock, datetime(2027, 3, 15, 12, 59, tzinfo=UTC))
    assert not any("Follow-up" in text for text in alice.texts)
    await tick_at(tg, clock, datetime(2027, 3, 15, 13, 0, tzinfo=UTC))
    assert "Follow-up" in alice.last.text
    await alice.tap("Employed in my field")
    await alice.send("2027-02-01")
    await alice.tap("New contacts")
    await alice.tap("Done")
    await alice.tap("Skip")
    assert "Thank you! Your answers are saved." in alice.last.text
    async with database.session() as session:
        (followup,) = (
            await session.exec(select(Prompt).where(Prompt.kind == PromptKind.FOLLOWUP))
        ).all()[:1]
        assert followup.status == PromptStatus.ANSWERED
    tg.assert_no_errors()


def documents(bots: Bots) -> list[int]:
    """The chats a certificate reached, in order (failed sends left out)."""
    return [
        int(call.params["chat_id"]) for call in bots.api.calls_to("sendDocument") if not call.failed
    ]


async def test_a_certificate_lost_to_a_stop_or_a_failure_goes_out_on_the_next_tick(
    tg: FakeTelegram, bots: Bots, database: Database, clock: FakeClock, ending: Pair
) -> None:
    alice, robert = people(tg, ending)
    await tick_at(tg, clock, END_BEGINS)
    # The surveys expire unanswered; the bot stops right after closing the match (that
    # transaction committed), before it sends anything.
    closed_at = END_BEGINS + timedelta(days=15)
    async with database.session() as session:
        assert await finish_closures(session, closed_at) == [ending.match.id]
    assert documents(bots) == []
    bots.api.refuse_next("sendDocument")  # and the first send does not reach Telegram
    await tick_at(tg, clock, closed_at + timedelta(minutes=1))
    assert documents(bots) == [robert.chat_id]
    await tick_at(tg, clock, closed_at + timedelta(minutes=2))
    assert documents(bots) == [robert.chat_id, alice.chat_id]
    await tick_at(tg, clock, closed_at + timedelta(days=1))
    assert documents(bots) == [robert.chat_id, alice.chat_id]  # never twice
    async with database.session() as session:
        rows = (await session.exec(select(CertificateDelivery))).all()
        assert sorted((row.person_id, row.status) for row in rows) == sorted(
            [(ending.mentee.id, "sent"), (ending.mentor.id, "sent")]
        )
    assert "Your certificate of completion for" in alice.last.text
    assert "certificat" in robert.last.text.lower()
    tg.assert_no_errors()


async def test_a_certificate_that_may_have_arrived_is_not_sent_again(
    tg: FakeTelegram, bots: Bots, database: Database, clock: FakeClock, ending: Pair
) -> None:
    alice, robert = people(tg, ending)
    await tick_at(tg, clock, END_BEGINS)
    bots.api.time_out_next("sendDocument", after_delivery=True)
    closed_at = END_BEGINS + timedelta(days=15)
    await tick_at(tg, clock, closed_at)
    await tick_at(tg, clock, closed_at + timedelta(minutes=1))
    # Alice's arrived, but the bot never heard back: it is not sent again.
    assert len(bots.api.calls_to("sendDocument")) == 2 and documents(bots) == [robert.chat_id]
    assert [m.text for m in alice.messages].count(alice.last.text) == 1
    assert alice.last.text.startswith("Your certificate of completion")
    async with database.session() as session:
        statuses = {
            row.person_id: row.status
            for row in (await session.exec(select(CertificateDelivery))).all()
        }
    assert statuses == {ending.mentee.id: "uncertain", ending.mentor.id: "sent"}


# --- a button of an earlier extension round acts on nothing ---------------------------

ROUND_TWO_NOTICE = datetime(2026, 12, 28, 14, tzinfo=UTC)  # two weeks before 2027-01-11


async def test_an_approve_button_of_an_earlier_round_cannot_decide_the_next_one(
    tg: FakeTelegram,
    database: Database,
    clock: FakeClock,
    program: Program,
    ending: Pair,
) -> None:
    """Round one approved by Sam; round two agreed by both. Chloé's round-one Decline (her
    client still shows it) says round one's decision and leaves round two to decide."""
    chloe, sam, alice, robert = await both_asked_two_coordinators(
        tg, database, clock, program, ending
    )
    first = chloe.last
    decline_first = first.buttons[0][1].callback_data or ""
    await sam.tap("✅ Approve")
    assert (await match_row(database, ending)).planned_end == date(2027, 1, 11)
    await tick_at(tg, clock, ROUND_TWO_NOTICE)
    await tap_in(alice, "January 11, 2027", "Yes")
    await tap_in(robert, "11 janvier 2027", "Oui")
    second = chloe.last
    assert second.message_id != first.message_id and "11 janvier 2027" in second.text
    await chloe.press(decline_first, first.message_id)
    assert chloe.answers[-1] == (
        "Cette prolongation a déjà fait l’objet d’une décision. ✅ Approuvée par Sam "
        "Patel\u00a0: le mentorat se termine maintenant le 11 janvier 2027."
    )
    assert (await match_row(database, ending)).planned_end == date(2027, 1, 11)
    async with database.session() as session:
        rounds = (await session.exec(select(MatchExtension).order_by(MatchExtension.id))).all()
    assert [(r.planned_end, r.status) for r in rounds] == [
        (PLANNED_END, ExtensionStatus.APPROVED),
        (date(2027, 1, 11), ExtensionStatus.AGREED),
    ]
    # Round two is still Chloé's to decide, with its own buttons.
    await chloe.press(second.buttons[0][0].callback_data or "", second.message_id)
    assert (await match_row(database, ending)).planned_end == date(2027, 2, 8)
    tg.assert_no_errors()


async def test_an_extend_answer_on_an_earlier_rounds_notice_changes_nothing(
    tg: FakeTelegram, database: Database, clock: FakeClock, ending: Pair
) -> None:
    """A notice about an earlier planned end, still open with its question unanswered,
    while the planned end has moved: the tap says so, in the person's language, and
    neither the answer nor an extension request is stored."""
    alice, robert = people(tg, ending)
    await tick_at(tg, clock, NOTICE_DUE)
    async with database.session() as session:
        match = await session.get(Match, ending.match.id)
        assert match is not None
        match.planned_end = date(2027, 1, 11)  # as an approved extension moves it
        session.add(match)
    await tap_in(alice, "December 14, 2026", "Yes")
    assert alice.answers[-1] == (
        "This question was about an earlier end date, so it no longer works. "
        "Your mentorship now ends on January 11, 2027."
    )
    await tap_in(robert, "14 décembre 2026", "Non")
    assert robert.answers[-1].endswith("se termine maintenant le 11 janvier 2027.")
    async with database.session() as session:
        assert (await session.exec(select(MatchExtension))).all() == []
        answers = (await session.exec(select(Answer))).all()
    assert [a for a in answers if a.question_key == "extend"] == []
    tg.assert_no_errors()
