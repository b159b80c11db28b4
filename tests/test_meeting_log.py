"""Meeting logs through Telegram, in English and French: /log in one message, the
questions a line leaves open (one at a time), /log step by step, Undo and Edit, /logs with
its totals, who may change or delete what, and the check-in that no longer asks about
contact once a meeting of the week is logged.

The clock starts on Monday 16 November 2026, 9:00 in Toronto; "yesterday" is Sunday the 15th.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from conversations.kit.meeting_record import program_topics
from conversations.kit.reply import ASKED
from conversations.kit.text import duration_text
from conversations.kit.topics import DEFAULT_TOPICS
from conversations.meeting_log.draft import DRAFT
from conversations.meeting_log.logs import expected_minutes
from storage.db import Database
from storage.models import Match, MeetingLog, Person, Program, Prompt, Role
from tests.builders import (
    ALICE,
    MALLORY,
    ROBERT,
    Ask,
    Pair,
    add_pair,
    add_participant,
    add_second_mentee,
)
from tests.conftest import FakeClock
from tests.fakebot import SentMessage, iter_buttons
from tests.harness import FakeTelegram
from tests.test_checkin import answers

YESTERDAY = date(2026, 11, 15)
TODAY = date(2026, 11, 16)


# --- seeding and reading ---------------------------------------------------------------------


@pytest.fixture
async def pair(database: Database, program: Program, clock: FakeClock) -> Pair:
    """Alice Martin (mentee) and Robert Tremblay (mentor), both in English."""
    return await add_pair(database, program, clock, mentor_locale="en")


async def set_locale(database: Database, person: Person, locale: str) -> None:
    async with database.session() as session:
        stored = await session.get(Person, person.id)
        assert stored is not None
        stored.locale = locale
        session.add(stored)


async def logs_of(database: Database, match: Match) -> list[MeetingLog]:
    """Every log of the match, deleted ones included, oldest first."""
    async with database.session() as session:
        statement = select(MeetingLog).where(MeetingLog.match_id == match.id)
        return list((await session.exec(statement.order_by(col(MeetingLog.id)))).all())


async def add_log(
    database: Database,
    match: Match,
    author: Person,
    *,
    met_on: date,
    minutes: int,
    mode: str,
    created_at: datetime,
    topics: tuple[str, ...] = (),
    deleted: bool = False,
) -> int:
    async with database.session() as session:
        meeting = MeetingLog(
            match_id=match.id or 0,
            author_id=author.id or 0,
            met_on=met_on,
            minutes=minutes,
            mode=mode,
            topics=list(topics),
            created_at=created_at,
            deleted_at=created_at if deleted else None,
        )
        session.add(meeting)
        await session.flush()
        assert meeting.id is not None
        return meeting.id


def fields(meeting: MeetingLog) -> dict[str, Any]:
    return {
        "met_on": meeting.met_on,
        "minutes": meeting.minutes,
        "mode": meeting.mode,
        "topics": meeting.topics,
        "notes": meeting.notes,
        "source": meeting.source,
    }


# --- /log in one message -------------------------------------------------------------------------


async def test_a_complete_line_in_english_is_logged_at_once(
    tg: FakeTelegram, database: Database, clock: FakeClock, pair
) -> None:
    _, mentor, match = pair
    robert = tg.user(ROBERT, "Robert")
    await robert.send("/log 45m yesterday video: mock interview, salary <talk>")
    (meeting,) = await logs_of(database, match)
    assert fields(meeting) == {
        "met_on": YESTERDAY,
        "minutes": 45,
        "mode": "video",
        "topics": ["interview", "salary <talk>"],
        "notes": None,
        "source": "quick",
    }
    assert (meeting.author_id, meeting.created_at, meeting.deleted_at) == (mentor.id, clock(), None)
    (reply,) = robert.new_messages()
    assert reply.text == (
        "✅ Meeting logged\n\n"
        "• Date: Sunday, November 15, 2026\n"
        "• Duration: 45 min\n"
        "• How you met: Video\n"
        "• Topics: Interview preparation, salary <talk>"
    )
    assert "salary &lt;talk&gt;" in reply.raw
    assert reply.labels == ["↩️ Undo", "✏️ Edit"]
    assert DRAFT not in tg.application.user_data[ROBERT]


@pytest.mark.parametrize(
    ("line", "expected", "reply"),
    [
        (
            "/log 1,5 h hier en personne : CV, réseautage",
            (YESTERDAY, 90, "in_person", ["resume", "networking"]),
            "✅ Rencontre consignée\n\n"
            "• Date : dimanche 15 novembre 2026\n"
            "• Durée : 1 h 30\n"
            "• Forme de la rencontre : En personne\n"
            "• Sujets : CV, Réseautage",
        ),
        (
            "/log lundi 1 h 05 vidéo",
            (TODAY, 65, "video", []),
            "✅ Rencontre consignée\n\n"
            "• Date : lundi 16 novembre 2026\n"
            "• Durée : 1 h 05\n"
            "• Forme de la rencontre : Vidéo",
        ),
    ],
    ids=["hier en personne", "lundi"],
)
async def test_a_complete_line_in_french_is_logged_at_once(
    tg: FakeTelegram,
    database: Database,
    program: Program,
    clock: FakeClock,
    line: str,
    expected: tuple[Any, ...],
    reply: str,
) -> None:
    _, _, match = await add_pair(database, program, clock)  # Robert writes in French
    robert = tg.user(ROBERT, "Robert", language_code="fr")
    await robert.send(line)
    (meeting,) = await logs_of(database, match)
    assert (meeting.met_on, meeting.minutes, meeting.mode, meeting.topics) == expected
    assert robert.last.text == reply
    assert robert.last.labels == ["↩️ Annuler", "✏️ Modifier"]


async def test_missing_pieces_are_asked_one_at_a_time(
    tg: FakeTelegram, database: Database, clock: FakeClock, pair
) -> None:
    _, _, match = pair
    robert = tg.user(ROBERT, "Robert")
    await robert.send("/log video: résumé")
    (question,) = robert.new_messages()
    assert question.text == (
        "When did you meet?\nTap one, or type the date, like “November 20” or “last Monday”."
    )
    assert question.labels == ["Today", "Yesterday"]
    assert await logs_of(database, match) == [], "nothing is stored before the log is complete"

    await robert.send("yesterday")
    assert robert.messages[-2].text == "When did you meet? — Sunday, November 15, 2026"
    assert not robert.messages[-2].has_buttons
    assert robert.last.text.startswith("How long did you meet?")
    assert robert.last.labels == ["30 min", "45 min", "1 h", "1 h 30"]
    assert await logs_of(database, match) == []

    await robert.tap("1 h 30")
    assert robert.messages[-2].text == "How long did you meet? — 1 h 30 min"
    (meeting,) = await logs_of(database, match)
    assert fields(meeting) == {
        "met_on": YESTERDAY, "minutes": 90, "mode": "video", "topics": ["resume"],
        "notes": None, "source": "quick",
    }  # fmt: skip
    assert robert.last.text.startswith("✅ Meeting logged")


async def test_a_future_date_and_unknown_words_are_explained_before_asking(
    tg: FakeTelegram, database: Database, clock: FakeClock, pair
) -> None:
    _, _, match = pair
    robert = tg.user(ROBERT, "Robert")
    await robert.send("/log 1h tomorrow blorp phone")
    (question,) = robert.new_messages()
    assert question.text.startswith(
        "I didn't understand “blorp”.\n\n"
        "That date is in the future: I can only log meetings that have already happened.\n\n"
        "When did you meet?"
    )
    await robert.send("next friday")
    notice, again = robert.new_messages()
    assert notice.text.startswith("That date is in the future")
    assert again.text.startswith("When did you meet?")
    await robert.send("blorp")
    assert robert.new_messages()[0].text.startswith("I couldn't read that date.")
    assert await logs_of(database, match) == []

    await robert.tap("Today")
    (meeting,) = await logs_of(database, match)
    assert (meeting.met_on, meeting.minutes, meeting.mode) == (TODAY, 60, "phone")


async def test_a_duration_too_long_is_explained_in_french(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    _, _, match = await add_pair(database, program, clock)
    robert = tg.user(ROBERT, "Robert", language_code="fr")
    await robert.send("/log 13h hier vidéo")
    assert robert.last.text.startswith(
        "C’est plus de 12 heures : vérifiez la durée, s’il vous plaît.\n\n"
        "Combien de temps la rencontre a-t-elle duré?"
    )
    await robert.send("90")
    assert robert.new_messages()[0].text == (
        "Des minutes ou des heures? Ajoutez l’unité, par exemple "
        "«\u00a045 min\u00a0» ou «\u00a01 h\u00a0»."
    )
    await robert.send("une heure et demie")
    assert robert.messages[-2].text == "Combien de temps la rencontre a-t-elle duré? — 1 h 30"
    (meeting,) = await logs_of(database, match)
    assert (meeting.met_on, meeting.minutes, meeting.mode) == (YESTERDAY, 90, "video")


async def test_a_complete_line_with_unknown_words_is_saved_only_when_confirmed(
    tg: FakeTelegram, database: Database, clock: FakeClock, pair
) -> None:
    _, _, match = pair
    robert = tg.user(ROBERT, "Robert")
    await robert.send("/log 45m yesterday video with Priya")
    assert robert.last.text == (
        "I didn't understand “Priya”.\n\n"
        "Here is what I understood:\n"
        "• Date: Sunday, November 15, 2026\n"
        "• Duration: 45 min\n"
        "• How you met: Video\n\n"
        "Shall I save it?"
    )
    assert robert.last.labels == ["✅ Save", "✖️ Cancel"]
    assert await logs_of(database, match) == []
    await robert.tap("✅ Save")
    (meeting,) = await logs_of(database, match)
    assert (meeting.met_on, meeting.minutes, meeting.mode) == (YESTERDAY, 45, "video")
    assert not robert.messages[-2].has_buttons
    assert robert.last.text.startswith("✅ Meeting logged")

    await robert.send("/log 30 min today phone Priya")
    await robert.tap("✖️ Cancel")
    assert robert.last.text == "Okay, nothing was logged."
    assert len(await logs_of(database, match)) == 1


# --- /log step by step ---------------------------------------------------------------------------


async def test_guided_log_in_english(
    tg: FakeTelegram, database: Database, clock: FakeClock, pair
) -> None:
    _, mentor, match = pair
    robert = tg.user(ROBERT, "Robert")
    await robert.send("/log")
    assert robert.last.text.startswith("When did you meet?")
    await robert.tap("Today")
    await robert.send("50 min")
    assert robert.last.text == "How did you meet?"
    assert robert.last.labels == ["In person", "Video", "Phone", "Messages"]
    await robert.send("en personne")  # typed, in the other language: still understood
    assert robert.last.text == "What did you talk about?\nTick all that apply, then tap Done."
    assert robert.last.labels == [
        "☐ Résumé", "☐ Networking", "☐ Interview preparation", "☐ Labour market",
        "☐ Workplace culture", "☐ Goals", "☐ Something else", "☐ Nothing in particular", "Done",
    ]  # fmt: skip
    await robert.tap("Networking")
    await robert.tap("Something else")
    assert robert.last.labels[1] == "☑ Networking"
    await robert.tap("Done")
    assert robert.last.text.startswith("What else did you talk about?")
    await robert.send("stress, CV")
    assert robert.last.labels == ["Skip"]
    assert await logs_of(database, match) == []
    await robert.tap("Skip")

    assert [message.text for message in robert.messages[-7:-1]] == [
        "When did you meet? — Monday, November 16, 2026",
        "How long did you meet? — 50 min",
        "How did you meet? — In person",
        "What did you talk about? — Networking, Something else",
        "What else did you talk about? — stress, CV",
        "Anything you'd like to note about this meeting? — Skipped",
    ]
    (meeting,) = await logs_of(database, match)
    assert fields(meeting) == {
        "met_on": TODAY, "minutes": 50, "mode": "in_person",
        "topics": ["networking", "resume", "stress"], "notes": None, "source": "guided",
    }  # fmt: skip
    assert meeting.author_id == mentor.id
    assert robert.last.text.endswith("• Topics: Networking, Résumé, stress")
    assert robert.last.labels == ["↩️ Undo", "✏️ Edit"]


async def test_guided_log_in_french_with_a_note(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    async with database.session() as session:
        stored = await session.get(Program, program.id)
        assert stored is not None
        stored.settings = {"topics": ["interview", "goals", "nope"]}
        session.add(stored)
    _, _, match = await add_pair(database, program, clock)
    robert = tg.user(ROBERT, "Robert", language_code="fr")
    await robert.send("/log")
    assert robert.last.labels == ["Aujourd’hui", "Hier"]
    await robert.tap("Hier")
    await robert.tap("45 min")
    await robert.tap("Vidéo")
    assert robert.last.labels == [
        "☐ Préparation aux entrevues", "☐ Objectifs", "☐ Autre chose", "☐ Rien de particulier",
        "Terminé",
    ]  # fmt: skip
    await robert.tap("Terminé")
    assert robert.answers[-1] == "Cochez au moins une réponse, puis touchez «\u00a0Terminé\u00a0»."
    await robert.tap("Rien de particulier")
    await robert.tap("Terminé")
    assert robert.last.text.startswith(
        "Voulez-vous noter quelque chose au sujet de cette rencontre?"
    )
    await robert.send("Elle a décroché une entrevue <enfin> !")
    (meeting,) = await logs_of(database, match)
    assert (meeting.met_on, meeting.minutes, meeting.mode, meeting.topics) == (
        YESTERDAY, 45, "video", [],
    )  # fmt: skip
    assert meeting.notes == "Elle a décroché une entrevue <enfin> !"
    assert robert.last.text == (
        "✅ Rencontre consignée\n\n"
        "• Date : dimanche 15 novembre 2026\n"
        "• Durée : 45 min\n"
        "• Forme de la rencontre : Vidéo\n"
        "• Notes : Elle a décroché une entrevue <enfin> !"
    )
    assert "&lt;enfin&gt;" in robert.last.raw


async def test_topics_can_be_typed_instead_of_ticked(
    tg: FakeTelegram, database: Database, clock: FakeClock, pair
) -> None:
    _, _, match = pair
    robert = tg.user(ROBERT, "Robert")
    await robert.send("/log")
    for label in ("Yesterday", "1 h", "Phone"):
        await robert.tap(label)
    await robert.send("CV and <stress>")
    assert robert.messages[-2].text == "What did you talk about? — Résumé, <stress>"
    assert "&lt;stress&gt;" in robert.messages[-2].raw
    assert robert.last.text.startswith("Anything you'd like to note"), "no second topic question"
    await robert.send("Prepared the interview with the hiring manager.")
    (meeting,) = await logs_of(database, match)
    assert (meeting.topics, meeting.notes) == (
        ["resume", "<stress>"],
        "Prepared the interview with the hiring manager.",
    )


# --- Undo and Edit -------------------------------------------------------------------------------


async def test_undo_right_after_logging(
    tg: FakeTelegram, database: Database, clock: FakeClock, pair
) -> None:
    _, _, match = pair
    robert = tg.user(ROBERT, "Robert")
    await robert.send("/log 45m yesterday video")
    record = robert.last
    clock.advance(minutes=1)
    await robert.tap("↩️ Undo")
    (meeting,) = await logs_of(database, match)
    assert meeting.deleted_at == clock()
    assert robert.api.message(ROBERT, record.message_id).text == (
        "↩️ Undone: that meeting is no longer logged."
    )
    assert not robert.new_messages()
    await robert.press(f"mlg:undo:{meeting.id}", message_id=record.message_id)
    assert robert.answers[-1] == "That meeting log was deleted."
    await robert.send("/logs")
    assert "No meetings logged yet. Send /log to log one." in robert.last.text
    assert "Total: 0 min of 5 h expected so far." in robert.last.text


async def test_edit_one_field_after_logging(
    tg: FakeTelegram, database: Database, clock: FakeClock, pair
) -> None:
    _, _, match = pair
    robert = tg.user(ROBERT, "Robert")
    await robert.send("/log 45m yesterday video: résumé")
    clock.advance(hours=2)
    await robert.tap("✏️ Edit")
    assert robert.last.text.startswith("What do you want to change?\n\n• Date: Sunday")
    assert robert.last.labels == [
        "Date", "Duration", "How you met", "Topics", "Notes", "← Back",
    ]  # fmt: skip
    await robert.tap("Duration")
    assert not robert.messages[-2].has_buttons
    assert robert.last.text.startswith("Your answer was: 45 min\n\nHow long did you meet?")
    await robert.send("1 h")
    (meeting,) = await logs_of(database, match)
    assert (meeting.minutes, meeting.updated_at) == (60, clock())
    assert (meeting.met_on, meeting.mode, meeting.topics) == (YESTERDAY, "video", ["resume"])
    assert robert.last.text.startswith("✅ Meeting updated\n\n")
    assert "• Duration: 1 h" in robert.last.text
    assert robert.last.labels == ["🗑️ Delete", "✏️ Edit"]

    await robert.tap("✏️ Edit")
    await robert.tap("Topics")
    assert robert.last.text.startswith("Your answer was: Résumé\n\nWhat did you talk about?")
    assert "☑ Résumé" in robert.last.labels
    await robert.tap("Résumé")
    await robert.tap("Goals")
    await robert.tap("Done")
    (meeting,) = await logs_of(database, match)
    assert (meeting.minutes, meeting.topics) == (60, ["goals"])


# --- /logs ---------------------------------------------------------------------------------------


async def seed_history(database: Database, clock: FakeClock, pair) -> dict[str, int]:
    """Both partners' logs: one each this week, an old one of Robert's, a deleted one."""
    mentee, mentor, match = pair
    now = clock()
    return {
        "robert": await add_log(
            database, match, mentor, met_on=YESTERDAY, minutes=45, mode="video",
            created_at=now - timedelta(hours=20), topics=("resume", "stress"),
        ),
        "alice": await add_log(
            database, match, mentee, met_on=date(2026, 11, 12), minutes=90, mode="in_person",
            created_at=now - timedelta(days=4),
        ),
        "old": await add_log(
            database, match, mentor, met_on=date(2026, 11, 1), minutes=60, mode="phone",
            created_at=now - timedelta(days=8),
        ),
        "deleted": await add_log(
            database, match, mentor, met_on=date(2026, 11, 14), minutes=30, mode="messages",
            created_at=now - timedelta(days=1), deleted=True,
        ),
    }  # fmt: skip


async def test_logs_lists_both_partners_meetings_and_the_total(
    tg: FakeTelegram, database: Database, clock: FakeClock, pair
) -> None:
    await seed_history(database, clock, pair)
    robert = tg.user(ROBERT, "Robert")
    await robert.send("/logs")
    assert robert.last.text == (
        "Meetings with Alice Martin\n\n"
        "1. Nov 15, 2026 · 45 min · Video · Résumé, stress — logged by you\n"
        "2. Nov 12, 2026 · 1 h 30 min · In person — logged by Alice Martin\n"
        "3. Nov 1, 2026 · 1 h · Phone — logged by you\n\n"
        "Total: 3 h 15 min of 5 h expected so far."
    )
    assert robert.last.labels == ["✏️ Edit 1", "🗑️ Delete 1"], "own logs of the last 7 days"

    mentee, _, _ = pair
    await set_locale(database, mentee, "fr")
    alice = tg.user(ALICE, "Alice", language_code="fr")
    await alice.send("/logs")
    assert alice.last.text == (
        "Rencontres avec Robert Tremblay\n\n"
        "1. 15 nov. 2026 · 45 min · Vidéo · CV, stress — consignée par Robert Tremblay\n"
        "2. 12 nov. 2026 · 1 h 30 · En personne — consignée par vous\n"
        "3. 1er nov. 2026 · 1 h · Téléphone — consignée par Robert Tremblay\n\n"
        "Total : 3 h 15 sur 5 h prévues jusqu’ici."
    )
    assert alice.last.labels == ["✏️ Modifier 2", "🗑️ Supprimer 2"]


async def test_logs_keeps_long_topics_short(
    tg: FakeTelegram, database: Database, clock: FakeClock, pair
) -> None:
    _, mentor, match = pair
    await add_log(database, match, mentor, met_on=YESTERDAY, minutes=30, mode="video",
                  created_at=clock(), topics=("x" * 300,))  # fmt: skip
    robert = tg.user(ROBERT, "Robert")
    await robert.send("/logs")
    line = robert.last.text.splitlines()[2]
    assert line == "1. Nov 15, 2026 · 30 min · Video · " + "x" * 79 + "… — logged by you"


async def test_delete_asks_first_and_leaves_the_totals(
    tg: FakeTelegram, database: Database, clock: FakeClock, pair
) -> None:
    ids = await seed_history(database, clock, pair)
    robert = tg.user(ROBERT, "Robert")
    await robert.send("/logs")
    await robert.tap("🗑️ Delete 1")
    assert robert.last.text.startswith("Delete this meeting log?\n\n• Date: Sunday, November 15")
    assert robert.last.labels == ["🗑️ Yes, delete it", "No, keep it"]
    await robert.tap("No, keep it")
    assert robert.last.text.startswith("Meetings with Alice Martin")
    assert all(meeting.deleted_at is None for meeting in (await logs_of(database, pair[2]))[:3])

    await robert.tap("🗑️ Delete 1")
    await robert.tap("🗑️ Yes, delete it")
    assert robert.answers[-1] == "Deleted."
    deleted = {m.id: m.deleted_at for m in await logs_of(database, pair[2])}
    assert deleted[ids["robert"]] == clock()
    assert robert.last.text == (
        "Meetings with Alice Martin\n\n"
        "1. Nov 12, 2026 · 1 h 30 min · In person — logged by Alice Martin\n"
        "2. Nov 1, 2026 · 1 h · Phone — logged by you\n\n"
        "Total: 2 h 30 min of 5 h expected so far."
    )
    assert not robert.last.has_buttons


NOT_YOURS = "You can only change meetings you logged yourself."
TOO_OLD = "A meeting log can only be changed in the 7 days after it was logged."
STALE = "That button belongs to an earlier question, so it no longer works."


@pytest.mark.parametrize(
    ("who", "data", "refusal"),
    [
        ("alice", "mlg:del:{robert}", NOT_YOURS),
        ("alice", "mlg:delok:{robert}", NOT_YOURS),
        ("alice", "mlg:field:{robert}:duration", NOT_YOURS),
        ("robert", "mlg:delok:{alice}", NOT_YOURS),
        ("robert", "mlg:delok:999999", NOT_YOURS),
        ("robert", "mlg:edit:{old}", TOO_OLD),
        ("robert", "mlg:delok:{old}", TOO_OLD),
        ("robert", "mlg:undo:{deleted}", "That meeting log was deleted."),
        ("robert", "mlg:zap:{robert}", STALE),
        ("robert", "mlg:del:x", STALE),
        ("robert", "ml:12:date:today", STALE),
        ("mallory", "mlg:delok:{robert}", "Meeting logs start once you have joined a program."),
    ],
)  # fmt: skip
async def test_forged_buttons_change_nothing(
    tg: FakeTelegram,
    database: Database,
    clock: FakeClock,
    pair,
    who: str,
    data: str,
    refusal: str,
) -> None:
    ids = await seed_history(database, clock, pair)
    before = [fields(m) | {"deleted": m.deleted_at} for m in await logs_of(database, pair[2])]
    telegram_id = {"alice": ALICE, "robert": ROBERT, "mallory": MALLORY}[who]
    user = tg.user(telegram_id, who.title())
    await user.send("/help")
    await user.press(data.format(**ids))
    assert user.answers[-1].startswith(refusal)
    after = [fields(m) | {"deleted": m.deleted_at} for m in await logs_of(database, pair[2])]
    assert after == before


# --- the check-in knows about a logged meeting ---------------------------------------------------


async def test_the_mentees_check_in_skips_contact_after_the_mentor_logged(
    tg: FakeTelegram, database: Database, ask: Ask
) -> None:
    robert = tg.user(ROBERT, "Robert")
    await robert.send("/log 45m yesterday video")
    alice = tg.user(ALICE, "Alice")
    prompt_id, first = await ask.mentee()
    assert "Did you and your mentor connect" not in first.text
    assert (
        "Your mentor logged a meeting on Sunday, November 15, 2026: I noted the contact.\n\n"
        "How helpful was your time with your mentor?"
    ) in first.text
    assert await answers(database, prompt_id) == {"contact": "call"}
    await alice.tap("4")
    assert await answers(database, prompt_id) == {"contact": "call", "helpful": "4"}
    assert "progress towards your goals" in alice.last.text


async def test_the_mentees_check_in_skips_contact_in_french(
    tg: FakeTelegram, database: Database, clock: FakeClock, pair
) -> None:
    """Started with /checkin; the richest contact of the week wins."""
    mentee, mentor, match = pair
    await set_locale(database, mentee, "fr")
    for day, mode in ((date(2026, 11, 10), "in_person"), (YESTERDAY, "messages")):
        await add_log(
            database, match, mentor, met_on=day, minutes=30, mode=mode, created_at=clock()
        )
    alice = tg.user(ALICE, "Alice", language_code="fr")
    await alice.send("/checkin")
    assert (
        "Votre mentor a consigné une rencontre le mardi 10 novembre 2026 : "
        "j’ai noté le contact.\n\nDans quelle mesure ce moment avec votre mentor"
    ) in alice.last.text
    (prompt_id,) = [p.id for p in await prompts(database, mentee)]
    assert await answers(database, prompt_id or 0) == {"contact": "in_person"}


async def test_the_contact_question_stays_without_a_log_of_that_week(
    tg: FakeTelegram, database: Database, ask: Ask, clock: FakeClock, pair
) -> None:
    _, mentor, match = pair
    await add_log(database, match, mentor, met_on=date(2026, 11, 8), minutes=30, mode="video",
                  created_at=clock())  # fmt: skip
    await add_log(database, match, mentor, met_on=YESTERDAY, minutes=30, mode="video",
                  created_at=clock(), deleted=True)  # fmt: skip
    tg.user(ALICE, "Alice")
    prompt_id, first = await ask.mentee()
    assert "Did you and your mentor connect this week?" in first.text
    assert await answers(database, prompt_id) == {}


async def test_the_mentors_check_in_after_the_mentee_logged(
    tg: FakeTelegram, database: Database, ask: Ask
) -> None:
    alice = tg.user(ALICE, "Alice")
    await alice.send("/log 1h today in person")
    robert = tg.user(ROBERT, "Robert")
    prompt_id, first = await ask.mentor()
    noted = "Your mentee logged a meeting on Monday, November 16, 2026: I noted the contact."
    assert noted in first.text
    assert "Roughly how much time did you spend together?" in first.text
    assert await answers(database, prompt_id) == {"contact": "in_person"}
    assert robert.last.message_id == first.message_id


async def prompts(database: Database, person: Person) -> list[Prompt]:
    async with database.session() as session:
        statement = select(Prompt).where(Prompt.person_id == person.id)
        return list((await session.exec(statement)).all())


# --- who may log, bad input, several matches -----------------------------------------------------


async def test_people_without_a_match_are_told_so(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    mallory = tg.user(MALLORY, "Mallory")
    await mallory.send("/log 45m yesterday video")
    assert mallory.last.text.startswith("Meeting logs start once you have joined a program.")
    await add_participant(
        database, program, clock, telegram_id=ALICE, name="Alice", role=Role.MENTEE
    )
    alice = tg.user(ALICE, "Alice")
    for command in ("/log 45m yesterday video", "/log", "/logs"):
        await alice.send(command)
        assert alice.last.text.startswith("You need a match before you can log meetings.")
    await alice.send("yesterday")
    assert alice.last.text.startswith("I'm not waiting for an answer right now.")


async def test_bad_input_keeps_the_question_and_the_answers(
    tg: FakeTelegram, database: Database, clock: FakeClock, pair
) -> None:
    _, _, match = pair
    robert = tg.user(ROBERT, "Robert")
    await robert.send("/log " + "x" * 2000)
    assert robert.last.text == "That's a bit long: please keep it under 1000 characters."
    await robert.send("/log")
    earlier = robert.last
    await robert.send("/log video")  # a new log replaces the one being written
    await robert.press(button_data(earlier, "Yesterday"), message_id=earlier.message_id)
    assert (
        robert.answers[-1] == "That button belongs to an earlier question, so it no longer works."
    )
    yesterday = button_data(robert.last, "Yesterday")
    await robert.tap("Yesterday")
    asked = robert.last
    assert asked.text.startswith("How long did you meet?")

    await robert.send_sticker()
    notice, again = robert.new_messages()
    assert notice.text == "I can't read a sticker here. Please answer in a text message."
    assert again.text == asked.text
    await robert.send("x" * 5000)
    assert robert.new_messages()[0].text.startswith("I couldn't read that length.")
    await robert.send("/frobnicate")
    assert robert.new_messages()[0].text.startswith("I don't know that command.")
    await robert.press(yesterday)  # the date question's button, already answered
    assert robert.answers[-1] == "You've already answered that question."
    assert await logs_of(database, match) == []

    await robert.send("45 min")
    (meeting,) = await logs_of(database, match)
    assert (meeting.met_on, meeting.minutes, meeting.mode) == (YESTERDAY, 45, "video")


async def test_cancel_and_the_typing_window(
    tg: FakeTelegram, database: Database, clock: FakeClock, pair
) -> None:
    _, _, match = pair
    robert = tg.user(ROBERT, "Robert")
    await robert.send("/log video")
    await robert.send("/cancel")
    assert robert.last.text == "Okay, nothing was logged."
    await robert.send("yesterday")
    assert robert.last.text.startswith("I'm not waiting for an answer right now.")

    await robert.send("/log video")
    clock.advance(hours=2)  # a message long after the question no longer answers it
    await robert.send("yesterday")
    assert robert.last.text.startswith("I'm not waiting for an answer right now.")
    await robert.tap("Yesterday")  # the buttons still work
    await robert.tap("45 min")
    assert len(await logs_of(database, match)) == 1


async def test_an_open_check_in_does_not_take_the_answers_of_a_log(
    tg: FakeTelegram, database: Database, ask: Ask, clock: FakeClock, pair
) -> None:
    _, _, match = pair
    alice = tg.user(ALICE, "Alice")
    prompt_id, _ = await ask.mentee()
    await alice.tap("Not this week")  # the check-in asks the next question
    assert ASKED in tg.application.user_data[ALICE]
    clock.advance(minutes=1)
    await alice.send("/log 1h video")
    await alice.send("yesterday")
    (meeting,) = await logs_of(database, match)
    assert meeting.met_on == YESTERDAY
    assert await answers(database, prompt_id) == {"contact": "none"}

    clock.advance(minutes=1)
    await alice.send("/log video")
    clock.advance(minutes=1)  # then the check-in asks its next question: that one wins
    progress = next(m for m in alice.messages if "progress towards your goals" in m.text)
    await alice.press(button_data(progress, "3"), message_id=progress.message_id)
    await alice.send("A note for my coordinator")
    assert (await answers(database, prompt_id))["note"] == "A note for my coordinator"
    assert len(await logs_of(database, match)) == 1


async def test_someone_with_two_matches_says_which(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock, pair
) -> None:
    _, mentor, _ = pair
    second = await add_second_mentee(
        database, program, clock, mentor, telegram_id=303, name="Chloé Roy"
    )
    robert = tg.user(ROBERT, "Robert")
    await robert.send("/log 45m yesterday video")
    assert robert.last.text == "Who was this meeting with?"
    assert robert.last.labels == ["Alice Martin", "Chloé Roy"]
    await robert.press(f"ml:{_draft_id(tg)}:_match:999")
    assert (
        robert.answers[-1] == "That button belongs to an earlier question, so it no longer works."
    )
    await robert.tap("Chloé Roy")
    assert robert.messages[-2].text == "Who was this meeting with? — Chloé Roy"
    (meeting,) = await logs_of(database, second)
    assert (meeting.met_on, meeting.minutes) == (YESTERDAY, 45)

    await robert.send("/logs")
    overviews = robert.new_messages()
    assert [m.text.splitlines()[0] for m in overviews] == [
        "Meetings with Alice Martin",
        "Meetings with Chloé Roy",
    ]
    assert overviews[1].text.endswith("Total: 45 min of 1 h expected so far.")


def button_data(message: SentMessage, label: str) -> str:
    (data,) = [b.callback_data for b in iter_buttons(message) if b.text == label]
    assert data is not None
    return data


def _draft_id(tg: FakeTelegram) -> int:
    return int(tg.application.user_data[ROBERT][DRAFT]["id"])


# --- small pieces --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "english", "french"),
    [(45, "45 min", "45 min"), (60, "1 h", "1 h"), (90, "1 h 30 min", "1 h 30"),
     (125, "2 h 05 min", "2 h 05"), (0, "0 min", "0 min")],
)  # fmt: skip
def test_durations_read_naturally(minutes: int, english: str, french: str) -> None:
    from locales.translator import translator

    assert duration_text(translator("en"), minutes) == english
    assert duration_text(translator("fr"), minutes) == french


@pytest.mark.parametrize(
    ("settings", "weeks", "started_days_ago", "expected"),
    [
        ({}, 12, 0, 60),
        ({}, 12, 30, 5 * 60),
        ({"expected_minutes_per_week": 90}, 12, 30, 5 * 90),
        ({}, 4, 60, 4 * 60),  # capped at the program's length
        ({"expected_minutes_per_week": "lots"}, 12, 6, 60),
    ],
)
def test_expected_contact(
    settings: dict[str, Any], weeks: int, started_days_ago: int, expected: int
) -> None:
    from zoneinfo import ZoneInfo

    program = Program(name="P", weeks=weeks, settings=settings, created_at=datetime.now(UTC))
    started = datetime(2026, 11, 16, 14, tzinfo=UTC) - timedelta(days=started_days_ago)
    match = Match(program_id=1, mentor_id=1, mentee_id=2, started_at=started)
    assert expected_minutes(program, match, TODAY, ZoneInfo("America/Toronto")) == expected


def test_a_program_chooses_its_topics() -> None:
    def topics(settings: dict[str, Any]) -> list[str]:
        program = Program(name="P", settings=settings, created_at=datetime.now(UTC))
        return [topic.key for topic in program_topics(program)]

    assert topics({}) == [topic.key for topic in DEFAULT_TOPICS]
    assert topics({"topics": ["goals", "resume", "nope", "goals"]}) == ["goals", "resume"]
    assert topics({"topics": ["nope"]}) == [topic.key for topic in DEFAULT_TOPICS]
    assert topics({"topics": "resume"}) == [topic.key for topic in DEFAULT_TOPICS]
