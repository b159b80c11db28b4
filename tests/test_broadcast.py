"""/broadcast through the real application, the fake Bot API and the dispatcher: the
audience and the preview in English and French, exactly the chosen participants receive
the message in their own language (the coordinator's text escaped), Telegram's errors
are retried or mark the person unreachable, forged and repeated buttons change nothing,
and every broadcast is an audit event with a tally the coordinator can read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.dispatch import Dispatcher
from conversations import broadcast as broadcast_dialogue
from conversations import checkin
from conversations.broadcast import TEXT_LIMIT
from conversations.kit import alerting as alerts
from storage.broadcasts import claim_deliveries
from storage.db import Database
from storage.models import (
    AuditEvent,
    Broadcast,
    BroadcastDelivery,
    DeliveryStatus,
    Flag,
    Match,
    Membership,
    Person,
    PersonStatus,
    Program,
    Role,
)
from tests.conftest import ADMIN_ID, Bots, FakeClock
from tests.harness import FakeTelegram, FakeUser
from tests.test_coordinator import (
    NOT_YOURS,
    NOT_YOURS_FR,
    REFUSAL,
    REFUSAL_FR,
    STALE,
    add_member,
    count,
    second_program,
)

CLAIRE, CLAUDE = 7001, 7002  # coordinators: English, French
ROBERT, ALICE, BOB, ZOE = 7101, 7102, 7103, 7104  # a mentor, three mentees (Alice: French)
NADIA, OTTO = 7105, 7106  # still joining; a mentee of another program
HEADER_EN = "📣 Message from your coordinator · Career Bridge Toronto"
HEADER_FR = "📣 Message de l’équipe de coordination · Career Bridge Toronto"
TEXT = "Pizza night <b>Friday</b> & bring a friend!"


class World:
    """The program's people, each with a chat, and a dispatcher on the test clock."""

    def __init__(self, tg: FakeTelegram, database: Database, clock: FakeClock) -> None:
        self.tg, self.database, self.clock = tg, database, clock
        self.users: dict[int, FakeUser] = {}
        self.ids: dict[int, int] = {}
        self.dispatcher = Dispatcher(
            tg.application.bot,
            database,
            checkin,
            clock,
            alerts=alerts,
            broadcasts=broadcast_dialogue,
        )

    async def add(
        self,
        program_id: int,
        role: Role,
        telegram_id: int,
        name: str,
        locale: str = "en",
        *,
        finished: bool = True,
    ) -> FakeUser:
        person_id = await add_member(
            self.database, self.clock, program_id, role, telegram_id, name, locale=locale
        )
        if not finished:
            async with self.database.session() as session:
                membership = (
                    await session.exec(select(Membership).where(Membership.person_id == person_id))
                ).one()
                membership.completed_at = None
                session.add(membership)
        self.ids[telegram_id] = person_id
        user = self.tg.user(telegram_id, name.split()[0], language_code=locale)
        self.users[telegram_id] = user
        return user

    def __getitem__(self, telegram_id: int) -> FakeUser:
        return self.users[telegram_id]

    async def set_status(self, telegram_id: int, status: str) -> None:
        async with self.database.session() as session:
            person = await session.get(Person, self.ids[telegram_id])
            assert person is not None
            person.status = status
            session.add(person)


@pytest.fixture
async def world(tg: FakeTelegram, database: Database, program: Program, clock: FakeClock) -> World:
    """Claire coordinates Career Bridge Toronto: Robert mentors; Alice (French), Bob and
    Zoé are mentees; Nadia is still joining; Otto is a mentee of another program."""
    world = World(tg, database, clock)
    assert program.id is not None
    await world.add(program.id, Role.COORDINATOR, CLAIRE, "Claire Roy")
    await world.add(program.id, Role.MENTOR, ROBERT, "Robert Tremblay")
    await world.add(program.id, Role.MENTEE, ALICE, "Alice Martin", "fr")
    await world.add(program.id, Role.MENTEE, BOB, "Bob Singh")
    await world.add(program.id, Role.MENTEE, ZOE, "Zoé Gagnon")
    await world.add(program.id, Role.MENTEE, NADIA, "Nadia Haddad", finished=False)
    other = await second_program(database, clock)
    await world.add(other, Role.MENTEE, OTTO, "Otto Weber")
    return world


async def deliveries(database: Database) -> list[BroadcastDelivery]:
    async with database.session() as session:
        statement = select(BroadcastDelivery).order_by(col(BroadcastDelivery.person_id))
        return list((await session.exec(statement)).all())


def data_of(user: FakeUser, label: str) -> str:
    """The callback data of the button labelled `label` on the user's latest message."""
    (data,) = [
        button.callback_data
        for row in user.last.buttons
        for button in row
        if button.text == label and button.callback_data
    ]
    return data


async def write(claire: FakeUser, audience: str, text: str = TEXT) -> None:
    await claire.send("/broadcast")
    await claire.tap(audience)
    await claire.send(text)


# --- the dialogue ---------------------------------------------------------------------------


async def test_preview_send_and_delivery_in_each_language(
    world: World, database: Database, clock: FakeClock
) -> None:
    await world.set_status(ZOE, PersonStatus.UNREACHABLE)
    claire = world[CLAIRE]
    await claire.send("/broadcast")
    assert claire.last.text.startswith("Career Bridge Toronto: who should receive your message?")
    assert "1 person who blocked Tandem is left out." in claire.last.text
    assert claire.buttons == ["Everyone (3)", "Mentors (1)", "Mentees (2)", "Cancel"]

    await claire.tap("Mentees (2)")
    assert claire.last.text.startswith("Career Bridge Toronto · Mentees (2 people)")
    assert "Send the message text now, up to 3,500 characters." in claire.last.text
    await claire.send(TEXT)
    preview = claire.last.text
    assert preview == "\n\n".join(
        [
            "Preview: this is what they will receive.",
            f"{HEADER_EN}\n\n{TEXT}",
            "2 people will receive it: 1 in English, 1 in French.",
            "Each of them reads the first line in their own language.",
            "1 person who blocked Tandem is left out.",
        ]
    )
    assert claire.buttons == ["Send to 2 people", "Edit text", "Cancel"]
    assert await count(database, Broadcast) == 0, "nothing is created before Send"

    await claire.tap("Send to 2 people")
    assert claire.last.text == (
        f"{HEADER_EN}\n\n{TEXT}\n\n"
        "📤 Sending to 2 people… Send /broadcast later to see how it went."
    )
    assert claire.last.labels == []
    rows = await deliveries(database)
    assert [(row.person_id, row.status) for row in rows] == [
        (world.ids[ALICE], DeliveryStatus.PENDING),
        (world.ids[BOB], DeliveryStatus.PENDING),
    ]
    async with database.session() as session:
        (broadcast,) = (await session.exec(select(Broadcast))).all()
        (event,) = (
            await session.exec(select(AuditEvent).where(AuditEvent.action == "broadcast.create"))
        ).all()
    assert (broadcast.role, broadcast.text, broadcast.created_by) == (
        Role.MENTEE, TEXT, world.ids[CLAIRE],
    )  # fmt: skip
    assert (event.actor_id, event.actor_label, event.subject) == (
        world.ids[CLAIRE], "coordinator", f"broadcast:{broadcast.id}",
    )  # fmt: skip
    assert event.detail == {"program_id": broadcast.program_id, "role": "mentee", "recipients": 2}

    seen = len(claire.messages)
    report = await world.dispatcher.tick()
    assert report.sent == 2
    assert world[ALICE].last.text == f"{HEADER_FR}\n\n{TEXT}"
    assert world[BOB].last.text == f"{HEADER_EN}\n\n{TEXT}"
    # The coordinator's markup is shown as typed, never read as formatting.
    assert "&lt;b&gt;Friday&lt;/b&gt; &amp; bring" in world[BOB].last.raw
    for nobody in (ROBERT, ZOE, NADIA, OTTO):
        assert world[nobody].messages == [], nobody
    assert len(claire.messages) == seen, "the author is not a recipient"
    assert {row.status for row in await deliveries(database)} == {DeliveryStatus.SENT}
    assert (await world.dispatcher.tick()).sent == 0, "sent once"

    clock.advance(hours=1)
    await claire.send("/broadcast")
    assert "Last message (November 16, 2026, Mentees): sent to 2 of 2 people." in claire.last.text


async def test_french_coordinator_sees_everything_in_french(
    world: World, database: Database, program: Program
) -> None:
    assert program.id is not None
    claude = await world.add(program.id, Role.COORDINATOR, CLAUDE, "Claude Côté", "fr")
    await claude.send("/broadcast")
    assert claude.last.text.startswith("Career Bridge Toronto : qui doit recevoir votre message?")
    assert claude.buttons == [
        "Tout le monde (4)", "Mentors (1)", "Personnes mentorées (3)", "Annuler",
    ]  # fmt: skip
    await claude.tap("Tout le monde (4)")
    assert "jusqu’à 3\xa0500 caractères" in claude.last.text
    await claude.send(TEXT)
    assert claude.last.text == "\n\n".join(
        [
            "Aperçu : voici ce que les destinataires recevront.",
            f"{HEADER_FR}\n\n{TEXT}",
            "4 personnes le recevront : 3 en anglais, 1 en français.",
            "La première ligne s’affichera dans la langue de chaque personne.",
        ]
    )
    assert claude.buttons == ["Envoyer à 4 personnes", "Modifier le texte", "Annuler"]
    await claude.tap("Envoyer à 4 personnes")
    assert claude.last.text.endswith(
        "📤 Envoi à 4 personnes en cours… Envoyez /broadcast plus tard pour voir le résultat."
    )
    await world.dispatcher.tick()
    assert world[ROBERT].last.text == f"{HEADER_EN}\n\n{TEXT}"
    assert world[ALICE].last.text == f"{HEADER_FR}\n\n{TEXT}"
    # Claire coordinates the program too: she is not among its participants.
    assert not any(HEADER_EN in text for text in world[CLAIRE].texts)
    await claude.send("/broadcast")
    assert (
        "Dernier message (16 novembre 2026, Tout le monde) : envoyé à 4 sur 4 personnes."
        in claude.last.text
    )


async def test_the_author_never_receives_their_own_message(
    world: World, database: Database, program: Program, clock: FakeClock
) -> None:
    assert program.id is not None
    async with database.session() as session:
        session.add(
            Membership(
                person_id=world.ids[CLAIRE], program_id=program.id, role=Role.MENTOR,
                joined_at=clock(), completed_at=clock(),
            )
        )  # fmt: skip
    claire = world[CLAIRE]
    await claire.send("/broadcast")
    assert claire.buttons[:2] == ["Everyone (4)", "Mentors (1)"]
    await write(claire, "Everyone (4)")
    await claire.tap("Send to 4 people")
    seen = len(claire.messages)
    assert (await world.dispatcher.tick()).sent == 4
    recipients = {row.person_id for row in await deliveries(database)}
    assert recipients == {world.ids[who] for who in (ROBERT, ALICE, BOB, ZOE)}
    assert len(claire.messages) == seen


async def test_text_given_with_the_command_goes_straight_to_the_preview(world: World) -> None:
    claire = world[CLAIRE]
    await claire.send("/broadcast Reminder:\nno meeting next week")
    await claire.tap("Mentors (1)")
    assert claire.last.text.startswith("Preview: this is what they will receive.")
    assert f"{HEADER_EN}\n\nReminder:\nno meeting next week" in claire.last.text
    assert "1 person will receive it: 1 in English." in claire.last.text


async def test_bad_input_while_writing_keeps_waiting(world: World, database: Database) -> None:
    claire = world[CLAIRE]
    await claire.send("/broadcast")
    await claire.tap("Mentors (1)")
    await claire.send_sticker()
    assert claire.last.text == "I can't read a sticker here. Please answer in a text message."
    await claire.send_photo(caption="Our poster")
    assert claire.last.text == (
        "I can't read that kind of message here. Please answer in a text message."
    )
    await claire.send("x" * (TEXT_LIMIT + 1))
    assert claire.last.text == "That's a bit long: please keep it under 3500 characters."
    await claire.send("y" * TEXT_LIMIT)
    assert claire.last.text.startswith("Preview")
    assert claire.buttons == ["Send to 1 person", "Edit text", "Cancel"]
    await claire.send("Anything typed now is not a tap")
    assert claire.last.text == "Please answer with one of the buttons below."
    assert await count(database, Broadcast) == 0


async def test_edit_text_then_cancel(world: World, database: Database) -> None:
    claire = world[CLAIRE]
    await write(claire, "Mentees (3)", "First try")
    first_send = data_of(claire, "Send to 3 people")
    await claire.tap("Edit text")
    assert "Send the message text now" in claire.last.text
    await claire.send("Second try")
    assert "Second try" in claire.last.text
    await claire.press(first_send)  # the first preview's Send no longer works
    assert claire.answers[-1] == STALE
    await claire.tap("Cancel")
    assert claire.last.text == "Okay, nothing was sent."
    await claire.send("Third try")  # no longer writing: nothing is previewed
    assert not claire.last.text.startswith("Preview")
    assert await count(database, Broadcast) == 0


async def test_cancel_command_while_writing(world: World, database: Database) -> None:
    claire = world[CLAIRE]
    await claire.send("/broadcast")
    await claire.tap("Everyone (4)")
    await claire.send("/cancel")
    assert claire.last.text == "Okay, stopped. Nothing was changed."
    await claire.send("Hello everyone")
    assert not claire.last.text.startswith("Preview")
    assert await count(database, Broadcast) == 0


async def test_a_second_tap_on_send_is_stale(world: World, database: Database) -> None:
    claire = world[CLAIRE]
    await write(claire, "Mentees (3)")
    send = data_of(claire, "Send to 3 people")
    assert send.startswith("bc:send:") and len(send.encode()) <= 64
    await claire.press(send)
    await claire.press(send)
    assert claire.answers[-1] == STALE
    assert await count(database, Broadcast) == 1
    assert await count(database, BroadcastDelivery) == 3
    assert await count(database, AuditEvent) == 1


async def test_others_and_forged_buttons_change_nothing(
    world: World, database: Database, clock: FakeClock
) -> None:
    claire, alice = world[CLAIRE], world[ALICE]
    other = await second_program(database, clock, "Youth Mentoring Halifax")
    await write(claire, "Mentees (3)")
    send = data_of(claire, "Send to 3 people")
    token = send.split(":")[3]
    for forged in (
        f"bc:send:{other}:{token}",
        f"bc:to:{other}:{token}:all",
        f"bc:prog:{other}:{token}",
    ):
        assert await claire.press(forged) == []
        assert claire.answers[-1] == NOT_YOURS, forged
    for forged in ("bc:send:1:not-the-token", "bc:send:x:y", "bc:to:1:" + token + ":coordinator"):
        await claire.press(forged)
        assert claire.answers[-1] == STALE, forged
    await world[ROBERT].send("/broadcast")
    assert world[ROBERT].last.text == REFUSAL
    admin = world.tg.user(ADMIN_ID, "Ada")  # an admin is no coordinator of the program
    await admin.send("/broadcast")
    assert admin.last.text == REFUSAL
    await alice.send("/broadcast")
    assert alice.last.text == REFUSAL_FR
    await alice.press(send)  # a mentee pressing the coordinator's button
    assert alice.answers[-1] == NOT_YOURS_FR
    assert await count(database, Broadcast) == 0
    assert await count(database, AuditEvent) == 0
    # Claire's own draft still works afterwards.
    await claire.press(send)
    assert await count(database, Broadcast) == 1


async def test_a_coordinator_of_two_programs_picks_one(
    world: World, database: Database, clock: FakeClock
) -> None:
    other = await second_program(database, clock, "Youth Mentoring Halifax")
    async with database.session() as session:
        session.add(
            Membership(
                person_id=world.ids[CLAIRE], program_id=other, role=Role.COORDINATOR,
                joined_at=clock(), completed_at=clock(),
            )
        )  # fmt: skip
    claire = world[CLAIRE]
    await claire.send("/broadcast")
    assert claire.last.text == "Which program is your message for?"
    assert claire.buttons == ["Career Bridge Toronto", "Youth Mentoring Halifax"]
    await claire.tap("Youth Mentoring Halifax")
    assert claire.buttons == ["Everyone (0)", "Mentors (0)", "Mentees (0)", "Cancel"]
    await claire.tap("Everyone (0)")
    assert claire.answers[-1] == "Nobody in this audience can receive a message right now."
    assert claire.last.text.startswith("Youth Mentoring Halifax: who should receive")
    # A forged program in a draft made for the first one is stale, not sent.
    await claire.send("/broadcast")
    await claire.tap("Career Bridge Toronto")
    await claire.tap("Mentors (1)")
    await claire.send("For mentors")
    send = data_of(claire, "Send to 1 person")
    await claire.press(send.replace(":1:", f":{other}:"))
    assert claire.answers[-1] == STALE
    assert await count(database, Broadcast) == 0


# --- delivery through the dispatcher ---------------------------------------------------------


async def test_flood_control_and_failed_connections_are_retried(
    world: World, database: Database, clock: FakeClock
) -> None:
    await world.set_status(ZOE, PersonStatus.CLOSED)
    claire = world[CLAIRE]
    await write(claire, "Mentees (2)")
    await claire.tap("Send to 2 people")
    api = world.tg.api
    api.fail_next("sendMessage", error_code=429, description="Too Many Requests", retry_after=30)
    api.refuse_next("sendMessage")
    start = clock()
    report = await world.dispatcher.tick()
    assert (report.sent, report.retried, report.failed) == (0, 2, 0)
    rows = await deliveries(database)
    assert {row.status for row in rows} == {DeliveryStatus.PENDING}
    assert sorted((row.next_attempt_at, row.attempts) for row in rows) == [
        (start + timedelta(seconds=30), 0),  # flood control uses up no attempt
        (start + timedelta(minutes=1), 1),
    ]
    clock.advance(seconds=30)
    assert (await world.dispatcher.tick()).sent == 1
    clock.advance(seconds=30)
    assert (await world.dispatcher.tick()).sent == 1
    assert [len(world[who].messages) for who in (ALICE, BOB)] == [1, 1]
    assert {row.status for row in await deliveries(database)} == {DeliveryStatus.SENT}


async def test_a_blocked_participant_is_marked_unreachable_and_the_tally_says_so(
    world: World, database: Database, program: Program, clock: FakeClock
) -> None:
    clock.advance(days=1)  # Tuesday: the match's first check-in is next Monday
    async with database.session() as session:
        match = Match(
            program_id=program.id or 0, mentor_id=world.ids[ROBERT],
            mentee_id=world.ids[BOB], started_at=clock(),
        )  # fmt: skip
        session.add(match)
    claire = world[CLAIRE]
    await write(claire, "Mentees (3)")
    await claire.tap("Send to 3 people")
    world.tg.api.block(BOB)
    report = await world.dispatcher.tick()
    assert (report.created, report.sent, report.failed, report.unreachable) == (0, 2, 1, 1)
    rows = {row.person_id: row.status for row in await deliveries(database)}
    assert rows[world.ids[BOB]] == DeliveryStatus.FAILED
    async with database.session() as session:
        bob = await session.get(Person, world.ids[BOB])
        (flag,) = (await session.exec(select(Flag))).all()
    assert bob is not None and bob.status == PersonStatus.UNREACHABLE
    assert (flag.match_id, flag.rule) == (match.id, "unreachable")
    assert any("Unreachable" in text for text in claire.texts), "the coordinator is alerted"
    await claire.send("/broadcast")
    assert (
        "Last message (November 17, 2026, Mentees): sent to 2 of 3 people, 1 not delivered."
        in claire.last.text
    )
    assert "1 person who blocked Tandem is left out." in claire.last.text
    assert "Mentees (2)" in claire.buttons


async def test_sent_at_most_once_and_leavers_are_skipped(
    world: World, database: Database, clock: FakeClock
) -> None:
    claire = world[CLAIRE]
    await write(claire, "Mentees (3)")
    await claire.tap("Send to 3 people")
    async with database.session() as session:  # a dispatcher that died mid-send
        (claimed,) = await claim_deliveries(session, clock(), 1)
    await world.set_status(ZOE, PersonStatus.ERASED)  # left after the broadcast was written
    report = await world.dispatcher.tick()
    assert (report.sent, report.failed) == (1, 1)
    statuses = {row.person_id: row.status for row in await deliveries(database)}
    assert statuses == {
        claimed.person_id: DeliveryStatus.SENDING,  # never sent again: it may have arrived
        world.ids[BOB]: DeliveryStatus.SENT,
        world.ids[ZOE]: DeliveryStatus.FAILED,
    }
    assert claimed.person_id == world.ids[ALICE]
    assert world[ALICE].messages == [] and world[ZOE].messages == []
    await claire.send("/broadcast")
    assert "sent to 1 of 3 people, 1 not delivered, 1 still to send." in claire.last.text
    clock.advance(hours=2)
    assert (await world.dispatcher.tick()).sent == 0
    await claire.send("/broadcast")
    assert (
        "sent to 1 of 3 people, 1 not delivered, 1 interrupted (it may have arrived)."
        in claire.last.text
    )


async def test_the_preview_still_works_after_a_restart(
    bots: Bots, world: World, database: Database
) -> None:
    claire = world[CLAIRE]
    await write(claire, "Mentors (1)")
    await bots.restart()
    await claire.tap("Send to 1 person")
    assert claire.last.text.endswith(
        "📤 Sending to 1 person… Send /broadcast later to see how it went."
    )
    assert await count(database, Broadcast) == 1
