"""Joining a program through Telegram, in English and French: what people see, what is
stored, and what happens with bad codes, bad input and restarts."""

from __future__ import annotations

from datetime import time

import pytest
from sqlmodel import func, select

from storage.db import Database
from storage.models import AuditEvent, Invite, Match, Membership, Person, StoredState
from tests.conftest import Bots, FakeClock
from tests.harness import FakeTelegram, FakeUser


async def count(database: Database, table: type) -> int:
    async with database.session() as session:
        return (await session.exec(select(func.count()).select_from(table))).one()


async def person_of(database: Database, user: FakeUser) -> Person | None:
    async with database.session() as session:
        statement = select(Person).where(Person.telegram_id == user.id)
        return (await session.exec(statement)).first()


async def membership_of(database: Database, person: Person) -> Membership:
    async with database.session() as session:
        statement = select(Membership).where(Membership.person_id == person.id)
        return (await session.exec(statement)).one()


async def onboard_mentee_in_english(user: FakeUser, code: str) -> None:
    await user.send(f"/start {code}")
    await user.tap("English")
    await user.tap("Yes, I agree")
    await user.tap("Keep “Alice Martin”")
    await user.send("Accounting")
    await user.send("Find a job in accounting\nBuild a professional network")
    await user.tap("Eastern (Toronto, Montréal, Ottawa)")
    await user.tap("Keep the suggestion")


async def test_mentee_joins_in_english(tg: FakeTelegram, database: Database, invite) -> None:
    code = await invite("mentee")
    alice = tg.user(101, "Alice", last_name="Martin", username="alice_m", language_code="en")

    await alice.send(f"/start {code}")
    assert "Which language do you prefer?" in alice.last.text
    assert alice.buttons == ["English", "Français"]
    await alice.tap("English")
    assert "what Tandem keeps" in alice.last.text
    assert "coordinators" in alice.last.text
    await alice.tap("Yes, I agree")
    assert "What name should your match" in alice.last.text
    await alice.tap("Keep “Alice Martin”")
    assert "What field do you work in" in alice.last.text
    await alice.send("Accounting")
    assert "What do you hope to get out of this program?" in alice.last.text
    await alice.send("Find a job in accounting\nBuild a professional network")
    assert "Which time zone are you in?" in alice.last.text
    await alice.tap("Eastern (Toronto, Montréal, Ottawa)")
    assert "Monday at 9:00" in alice.last.text
    await alice.tap("Keep the suggestion")

    summary = alice.last.text
    assert "Here is what you told me" in summary
    assert "Alice Martin" in summary and "Accounting" in summary
    assert "Find a job in accounting" in summary
    assert "Eastern (Toronto, Montréal, Ottawa)" in summary
    await alice.tap("✅ All good")
    welcome = alice.last.text
    assert "You're all set, Alice Martin! Welcome to Career Bridge Toronto." in welcome
    assert "Every week on Monday at 9:00" in welcome
    assert "introduce you to your match soon" in welcome

    person = await person_of(database, alice)
    assert person is not None
    assert (person.name, person.username, person.locale) == ("Alice Martin", "alice_m", "en")
    assert person.timezone == "America/Toronto"
    assert (person.checkin_weekday, person.checkin_time) == (0, time(9, 0))
    assert person.consent_version and person.consent_at is not None
    assert person.status == "active"
    membership = await membership_of(database, person)
    assert membership.role == "mentee"
    assert membership.field == "Accounting"
    assert membership.goals == "Find a job in accounting\nBuild a professional network"
    assert membership.completed_at is not None
    async with database.session() as session:
        used = (await session.exec(select(Invite).where(Invite.code == code))).one()
        events = (await session.exec(select(AuditEvent))).all()
    assert used.uses == 1
    assert [event.action for event in events] == ["consent.given"]


async def test_mentor_joins_in_french_and_meets_their_mentee(
    tg: FakeTelegram, database: Database, invite, clock: FakeClock
) -> None:
    alice = tg.user(101, "Alice", last_name="Martin")
    await onboard_mentee_in_english(alice, await invite("mentee"))
    await alice.tap("✅ All good")

    bob = tg.user(202, "Robert", language_code="fr-CA")
    await bob.send(f"/start {await invite('mentor')}")
    assert bob.last.text.startswith("Bienvenue dans Tandem")
    await bob.tap("Français")
    assert "ce que Tandem conserve" in bob.last.text
    await bob.tap("Oui, j’accepte")
    assert "Quel nom" in bob.last.text
    await bob.send("Robert Tremblay")
    await bob.send("Génie civil")
    assert "années d’expérience" in bob.last.text
    await bob.send("12 ans")
    await bob.send("CV, entrevues, réseautage")
    await bob.send("Montréal")
    await bob.tap("Mercredi")
    assert "À quelle heure, le mercredi" in bob.last.text
    await bob.send("18 h 30")
    assert "mercredi à 18 h 30" in bob.last.text
    summary = bob.last.text.splitlines()
    assert "Nom\u00a0: Robert Tremblay" in summary  # the colon as French writes it
    assert "Peut vous aider en\u00a0: CV, entrevues, réseautage" in summary

    # The coordinator pairs them before Robert confirms his summary.
    mentee, mentor = await person_of(database, alice), await person_of(database, bob)
    assert mentee and mentor
    async with database.session() as session:
        membership = await membership_of(database, mentor)
        session.add(
            Match(
                program_id=membership.program_id,
                mentor_id=mentor.id,
                mentee_id=mentee.id,
                started_at=clock(),
            )
        )
    await bob.tap("✅ C’est parfait")
    assert "Vous accompagnerez Alice Martin dans ce programme." in bob.last.text
    assert "Chaque semaine, le mercredi à 18 h 30" in bob.last.text

    mentor = await person_of(database, bob)
    assert mentor is not None
    assert (mentor.locale, mentor.name, mentor.timezone) == (
        "fr",
        "Robert Tremblay",
        "America/Toronto",
    )
    assert (mentor.checkin_weekday, mentor.checkin_time) == (2, time(18, 30))
    membership = await membership_of(database, mentor)
    assert (membership.role, membership.field) == ("mentor", "Génie civil")
    assert (membership.experience_years, membership.can_help_with) == (
        12,
        "CV, entrevues, réseautage",
    )


async def test_declining_consent_stores_nothing(
    tg: FakeTelegram, database: Database, invite
) -> None:
    code = await invite("mentee")
    carol = tg.user(303, "Carol")
    await carol.send(f"/start {code}")
    await carol.tap("English")
    await carol.tap("No thanks")
    assert "nothing about you was saved" in carol.last.text
    assert await count(database, Person) == 0
    assert await count(database, Membership) == 0
    assert await count(database, AuditEvent) == 0
    async with database.session() as session:
        assert (await session.exec(select(Invite))).one().uses == 0
    # Typing afterwards does not restart anything.
    await carol.send("hello?")
    assert "not waiting for an answer" in carol.last.text
    assert await count(database, Person) == 0


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("unknown", "I don't recognize this invitation link."),
        ("expired", "This invitation link has expired."),
        ("used", "This invitation link has already been used."),
    ],
)
async def test_bad_codes_explain_and_store_nothing(
    tg: FakeTelegram, database: Database, invite, clock: FakeClock, setup: str, expected: str
) -> None:
    code = "no-such-code"
    if setup == "expired":
        code = await invite("mentee", expires_days=1)
        clock.advance(days=2)
    elif setup == "used":
        code = await invite("mentee")
        first = tg.user(1, "First")
        await first.send(f"/start {code}")
        await first.tap("English")
        await first.tap("Yes, I agree")
    dave = tg.user(404, "Dave")
    await dave.send(f"/start {code}")
    assert expected in dave.last.text
    assert "ask your program coordinator for a new one" in dave.last.text
    assert await person_of(database, dave) is None


async def test_start_without_code_explains_how_to_join(tg: FakeTelegram) -> None:
    eve = tg.user(505, "Ève", language_code="fr")
    await eve.send("/start")
    assert "ouvrez le lien d’invitation" in eve.last.text


async def test_repeated_bad_codes_are_slowed_down(
    tg: FakeTelegram, invite, clock: FakeClock
) -> None:
    mallory = tg.user(666, "Mallory")
    for attempt in range(5):
        await mallory.send(f"/start guess{attempt}")
        assert "I don't recognize" in mallory.last.text
    good = await invite("mentee")
    await mallory.send(f"/start {good}")
    assert "Please wait a few minutes" in mallory.last.text
    clock.advance(minutes=16)
    await mallory.send(f"/start {good}")
    assert "Which language do you prefer?" in mallory.last.text


async def test_two_people_cannot_share_a_single_use_code(
    tg: FakeTelegram, database: Database, invite
) -> None:
    code = await invite("mentee")
    first, second = tg.user(1, "First"), tg.user(2, "Second")
    await first.send(f"/start {code}")
    await second.send(f"/start {code}")
    await first.tap("English")
    await second.tap("English")
    await first.tap("Yes, I agree")
    await second.tap("Yes, I agree")
    assert "already been used" in second.last.text
    assert await count(database, Person) == 1


# The question each step asks, reached by the answers before it.
STEPS = [
    ("language", [], "Which language do you prefer?"),
    ("consent", ["tap:English"], "what Tandem keeps"),
    ("name", ["tap:English", "tap:Yes, I agree"], "What name should your match"),
    ("field", ["tap:English", "tap:Yes, I agree", "tap:Keep"], "What field"),
    ("goals", ["tap:English", "tap:Yes, I agree", "tap:Keep", "Law"], "What do you hope"),
    (
        "timezone",
        ["tap:English", "tap:Yes, I agree", "tap:Keep", "Law", "Pass the bar"],
        "time zone",
    ),
    (
        "day",
        ["tap:English", "tap:Yes, I agree", "tap:Keep", "Law", "Pass the bar", "tap:Pacific"],
        "Once a week",
    ),
    (
        "time",
        ["tap:English", "tap:Yes, I agree", "tap:Keep", "Law", "Pass", "tap:Pacific", "tap:Friday"],
        "At what time on Friday?",
    ),
    (
        "summary",
        ["tap:English", "tap:Yes, I agree", "tap:Keep", "Law", "Pass", "tap:Pacific", "tap:Keep"],
        "Here is what you told me",
    ),
]
TEXT_STEPS = {"name", "field", "goals", "timezone", "time"}


async def replay(user: FakeUser, answers: list[str]) -> None:
    for answer in answers:
        if answer.startswith("tap:"):
            await user.tap(answer.removeprefix("tap:"))
        else:
            await user.send(answer)


async def stored_snapshot(database: Database) -> list[tuple]:
    async with database.session() as session:
        people = (await session.exec(select(Person))).all()
        members = (await session.exec(select(Membership))).all()
    return [
        *((p.name, p.timezone, p.checkin_weekday, p.checkin_time, p.status) for p in people),
        *((m.field, m.goals, m.completed_at) for m in members),
    ]


@pytest.mark.parametrize(("step", "answers", "question"), STEPS, ids=[s[0] for s in STEPS])
@pytest.mark.parametrize(
    "bad", ["sticker", "huge text", "text for buttons", "stale button", "photo", "unknown command"]
)
async def test_bad_input_keeps_the_step(
    tg: FakeTelegram,
    database: Database,
    invite,
    step: str,
    answers: list[str],
    question: str,
    bad: str,
) -> None:
    if bad == "text for buttons" and step in TEXT_STEPS:
        pytest.skip("this step accepts text")
    user = tg.user(707, "Frank")
    await user.send(f"/start {await invite('mentee')}")
    await replay(user, answers)
    assert question in user.last.text
    before = await stored_snapshot(database)

    if bad == "sticker":
        await user.send_sticker()
        assert "I can't read a sticker here" in user.new_messages()[0].text
    elif bad == "photo":
        await user.send_photo()
        assert "I can't read that kind of message here" in user.new_messages()[0].text
    elif bad == "unknown command":
        await user.send("/frobnicate")
        assert "I don't know that command" in user.new_messages()[0].text
    elif bad == "huge text":
        await user.send("x" * 5000)
        reply = user.new_messages()[0].text
        assert (
            "keep it under" in reply
            or "buttons" in reply
            or "don't know that time zone" in reply
            or "time like" in reply
        )
    elif bad == "text for buttons":
        await user.send("maybe")
        assert "Please answer with one of the buttons below." in user.new_messages()[0].text
    else:
        await user.press("onb:nosuchstep:1", message_id=user.messages[0].message_id)
        assert (
            user.answers[-1] == "That button belongs to an earlier question, so it no longer works."
        )

    assert question in user.last.text, "the same question is asked again"
    assert await stored_snapshot(database) == before


async def test_restart_mid_onboarding_resumes_at_the_right_question(
    bots: Bots, database: Database, invite
) -> None:
    tg = bots.telegram
    assert tg is not None
    grace = tg.user(808, "Grace")
    await grace.send(f"/start {await invite('mentee')}")
    await grace.tap("English")
    await grace.tap("Yes, I agree")
    await grace.send("Grace Hopper")
    assert "What field" in grace.last.text

    tg = await bots.restart()  # clean restart: persisted conversation state
    grace = tg.user(808, "Grace")
    await grace.send("Computing")
    assert "What do you hope" in grace.last.text

    tg = await bots.restart(crash=True)  # crash: the stored answers alone say where she is
    async with database.session() as session:
        for row in (await session.exec(select(StoredState))).all():
            await session.delete(row)
    tg = await bots.restart(crash=True)
    grace = tg.user(808, "Grace")
    await grace.send("Lead a team")
    assert "Which time zone" in grace.last.text
    person = await person_of(database, grace)
    assert person is not None
    membership = await membership_of(database, person)
    assert (person.name, membership.field, membership.goals) == (
        "Grace Hopper",
        "Computing",
        "Lead a team",
    )


async def test_language_help_and_cancel_mid_onboarding(
    tg: FakeTelegram, database: Database, invite
) -> None:
    henri = tg.user(909, "Henri")
    await henri.send(f"/start {await invite('mentor')}")
    await henri.tap("English")
    await henri.tap("Yes, I agree")
    await henri.tap("Keep “Henri”")
    assert "What field" in henri.last.text

    await henri.send("/language")
    await henri.tap("Français")
    texts = [message.text for message in henri.new_messages()]
    assert any("je vous écrirai en français" in text for text in texts)
    assert "Dans quel domaine" in henri.last.text

    await henri.send("/help")
    assert "Ce que je peux faire" in henri.new_messages()[0].text
    assert "Dans quel domaine" in henri.last.text

    await henri.send("/cancel")
    assert "Vos réponses sont enregistrées" in henri.last.text
    await henri.send("/start")
    assert "Dans quel domaine" in henri.last.text
    person = await person_of(database, henri)
    assert person is not None and person.locale == "fr"


async def test_edit_from_the_summary(tg: FakeTelegram, database: Database, invite) -> None:
    alice = tg.user(101, "Alice", last_name="Martin")
    await onboard_mentee_in_english(alice, await invite("mentee"))
    await alice.tap("Change: Time zone")
    assert "Which time zone" in alice.last.text
    await alice.send("Europe/Paris")
    assert "Here is what you told me" in alice.last.text
    assert "Europe/Paris" in alice.last.text
    person = await person_of(database, alice)
    assert person is not None and person.timezone == "Europe/Paris"


async def test_settings_change_check_in_slot(tg: FakeTelegram, database: Database, invite) -> None:
    alice = tg.user(101, "Alice", last_name="Martin")
    await onboard_mentee_in_english(alice, await invite("mentee"))
    await alice.tap("✅ All good")
    await alice.send("/settings")
    assert "Your settings" in alice.last.text
    await alice.tap("Change: Weekly check-in")
    await alice.tap("Thursday")
    await alice.send("7 pm")
    assert "Thursday at 7:00" in alice.last.text
    person = await person_of(database, alice)
    assert person is not None
    assert (person.checkin_weekday, person.checkin_time) == (3, time(19, 0))
    await alice.tap("Close")
    assert alice.last.text == "Settings closed."


async def test_start_again_after_joining_welcomes_back(tg: FakeTelegram, invite) -> None:
    alice = tg.user(101, "Alice", last_name="Martin")
    await onboard_mentee_in_english(alice, await invite("mentee"))
    await alice.tap("✅ All good")
    await alice.send("/start")
    assert "Welcome back, Alice Martin!" in alice.last.text


async def test_help_shows_what_each_person_can_do(tg: FakeTelegram, invite) -> None:
    stranger = tg.user(1, "Stranger")
    await stranger.send("/help")
    assert "open the invitation link" in stranger.last.text
    alice = tg.user(101, "Alice", last_name="Martin")
    await onboard_mentee_in_english(alice, await invite("mentee"))
    await alice.tap("✅ All good")
    await alice.send("/help")
    assert "/checkin: answer this week's check-in" in alice.last.text
    assert "/pause" in alice.last.text and "/invite" not in alice.last.text


async def test_settings_before_joining_says_what_to_do(tg: FakeTelegram, invite) -> None:
    stranger = tg.user(2, "Stranger")
    await stranger.send("/settings")
    assert [message.text for message in stranger.new_messages()] == [
        "Hi! I'm Tandem, the companion of your mentorship program. To join, open the "
        "invitation link your program coordinator sent you (it looks like "
        "t.me/…?start=…). No link yet? Ask your coordinator for one."
    ]
    frank = tg.user(707, "Frank")
    await frank.send(f"/start {await invite('mentee')}")
    await frank.tap("English")
    await frank.tap("Yes, I agree")
    await frank.send("/settings")
    replies = [message.text for message in frank.new_messages()]
    assert replies[0] == "Let's finish setting you up first."
    assert "What name should your match" in replies[1]


async def test_editing_an_earlier_answer_changes_nothing(
    tg: FakeTelegram, database: Database, invite
) -> None:
    frank = tg.user(707, "Frank", language_code="fr")
    await frank.send(f"/start {await invite('mentee')}")
    for label in ("Français", "Oui, j’accepte", "Garder « Frank »"):
        await frank.tap(label)
    await frank.send("Droit")
    before, seen = await stored_snapshot(database), len(frank.messages)
    await tg.feed(
        {
            "update_id": tg.next_update_id(),
            "edited_message": {
                "message_id": 999,
                "date": tg.now(),
                "edit_date": tg.now(),
                "chat": frank.chat,
                "from": frank.user,
                "text": "Droit des affaires",
            },
        }
    )
    assert len(frank.messages) == seen + 1, "one reply, no question answered"
    assert frank.last.text.startswith("Je ne lis pas les messages modifiés")
    assert await stored_snapshot(database) == before
    await frank.send("Devenir avocat")
    assert "Dans quel fuseau horaire" in frank.last.text
