"""Every view that lists what people wrote, or what grows with time, fits Telegram's
limits however long or many the entries: 4,096 characters after entity parsing, 64 bytes
of callback data, 100 buttons. The fake Bot API refuses anything over (a test that sends
one fails), so each test fills one view with oversized content, opens it through the real
Application and reads it — pages included — as the participant would."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from conversations.digest import digest_texts
from conversations.end_request import REASON_LENGTH
from conversations.kit.buttons import MAX_ID
from locales.translator import translator
from storage.db import Database
from storage.flags import Rule, Severity
from storage.goals import MAX_GOAL_LENGTH, MAX_OPEN_GOALS, import_onboarding_goals
from storage.metrics import Rate
from storage.models import (
    Answer,
    Flag,
    FlagStatus,
    Goal,
    GoalStatus,
    MeetingLog,
    Membership,
    Person,
    Program,
    Prompt,
    PromptKind,
    PromptStatus,
    Role,
)
from storage.summary import FlagCounts, Review
from tests.builders import (
    ALICE,
    MONDAY_NINE_IN_TORONTO,
    ROBERT,
    add_coordinator,
    add_flag,
    add_match,
    add_pair,
    add_participant,
    onboarded,
)
from tests.conftest import FakeClock
from tests.fakebot import MESSAGE_TEXT_LIMIT, utf16_len
from tests.harness import FakeTelegram

COORDINATOR = 303
LONG = "Décrocher un poste en comptabilité <&> à Montréal. " * 80  # over any limit
WITH_EMOJI = "Un poste en comptabilité <&> à Montréal 👩🏽‍💼 " * 100  # each emoji counts 7


def long_text(index: int, length: int, filler: str = LONG) -> str:
    """A distinct long entry: its number first, so a clipped one still says which it is."""
    return f"#{index} {filler}"[:length]


def fits(text: str) -> bool:
    return 0 < utf16_len(text) <= MESSAGE_TEXT_LIMIT


async def mentee_goals(
    database: Database,
    clock: FakeClock,
    person: Person,
    open_: int,
    achieved: int = 0,
    filler: str = LONG,
) -> None:
    async with database.session() as session:
        membership = (
            await session.exec(select(Membership).where(Membership.person_id == person.id))
        ).one()
        for index in range(open_ + achieved):
            done = index >= open_
            session.add(
                Goal(
                    membership_id=membership.id or 0,
                    text=long_text(index, MAX_GOAL_LENGTH, filler),
                    position=index,
                    status=GoalStatus.ACHIEVED if done else GoalStatus.OPEN,
                    created_at=clock() - timedelta(days=60 - index),
                    achieved_at=clock() - timedelta(days=30 - index) if done else None,
                )
            )


async def test_goals_with_every_open_goal_long_and_many_achieved(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    """Issue 11: ten open goals of 300 characters and six achieved made 4,770 characters."""
    mentee, _, _ = await add_pair(database, program, clock)
    await mentee_goals(database, clock, mentee, open_=MAX_OPEN_GOALS, achieved=16)
    alice = tg.user(ALICE, "Alice")

    await alice.send("/goals")
    listing = alice.last.text
    assert fits(listing)
    for index in range(MAX_OPEN_GOALS):  # open goals in full
        assert f"{index + 1}. {' '.join(long_text(index, MAX_GOAL_LENGTH).split())}" in listing
    assert "#25 " in listing and "#21 " in listing and "#20 " not in listing  # the latest five
    assert "…and 11 more achieved earlier." in listing

    await alice.tap("🎉 Achieved")  # the picker, then a goal, then the list again
    await alice.tap(alice.last.labels[0])
    assert "Congratulations" in alice.last.text and fits(alice.last.text)
    await alice.tap("➕ Add a goal")
    assert "What is your new goal?" in alice.last.text
    await alice.send(LONG)
    assert fits(alice.last.text)


async def test_onboarding_answer_gives_at_most_the_open_goals_a_list_shows(
    database: Database, program: Program, clock: FakeClock
) -> None:
    mentee, _, _ = await add_pair(database, program, clock)
    async with database.session() as session:
        membership = (
            await session.exec(select(Membership).where(Membership.person_id == mentee.id))
        ).one()
        membership.goals = "\n".join(f"{n}. Goal number {n}" for n in range(1, 16))
        assert await import_onboarding_goals(session, membership, clock()) == MAX_OPEN_GOALS
    async with database.session() as session:
        texts = (await session.exec(select(Goal.text).order_by(Goal.position))).all()
    assert texts == [f"Goal number {n}" for n in range(1, MAX_OPEN_GOALS + 1)]


async def test_reflection_summary_with_every_answer_at_its_longest(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    """Two answers of 2,000 characters each: the saved summary quotes them clipped, and
    the answers themselves are kept whole."""
    await add_pair(database, program, clock)
    alice = tg.user(ALICE, "Alice")
    await alice.send("/reflect")
    first, second = long_text(1, 2000, WITH_EMOJI), long_text(2, 2000, "😀" * 2000)
    await alice.send(first)
    await alice.send(second)
    summary = alice.last.text
    assert "Thank you! Your reflection is saved." in summary and fits(summary)
    assert "#1 Un poste" in summary and "#2 😀😀" in summary
    async with database.session() as session:
        values = set((await session.exec(select(Answer.value))).all())
    assert {" ".join(first.split()), " ".join(second.split())} <= {
        " ".join(value.split()) for value in values
    }

    await alice.tap("✏️ Edit an answer")  # and back to the summary
    await alice.tap(alice.last.labels[-1])
    assert fits(alice.last.text)

    await alice.send("/journal")  # both answers, each on a page of its own if need be
    pages = [alice.last.text]
    while "Older ›" in alice.last.labels:
        await alice.tap("Older ›")
        pages.append(alice.last.text)
    assert all(fits(page) for page in pages)
    assert "#1 Un poste" in pages[0] + pages[-1] and "#2 😀😀" in pages[0] + pages[-1]


async def test_goals_written_in_emoji_count_as_telegram_counts_them(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    """300 characters outside the Basic Multilingual Plane are 600 for Telegram."""
    mentee, _, _ = await add_pair(database, program, clock)
    await mentee_goals(database, clock, mentee, MAX_OPEN_GOALS, filler="🎯" * MAX_GOAL_LENGTH)
    alice = tg.user(ALICE, "Alice")
    await alice.send("/goals")
    assert fits(alice.last.text) and "10. #9 🎯🎯" in alice.last.text


async def test_broadcast_text_is_measured_as_telegram_counts_it(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    """2,000 emoji are within a 3,500-character limit by Python's count, but 4,000 by
    Telegram's: refused with the limit, and a text just under it previews and sends."""
    await add_pair(database, program, clock)
    await add_coordinator(database, program, clock, COORDINATOR, "Claire Roy")
    claire = tg.user(COORDINATOR, "Claire")
    await claire.send("/broadcast " + "😀" * 2000)
    assert claire.last.text == "That's a bit long: please keep it under 3500 characters."
    await claire.send("/broadcast " + "😀" * 1749)
    await claire.tap("Mentors (1)")
    assert claire.last.text.startswith("Preview") and fits(claire.last.text)


async def test_people_with_long_emoji_names_page_within_the_limit(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    await add_coordinator(database, program, clock, COORDINATOR, "Claire Roy")
    for index in range(60):
        await add_participant(
            database, program, clock, telegram_id=5000 + index, role=Role.MENTEE,
            name=long_text(index, 120, "👩🏽‍💼🎯" * 60),
        )  # fmt: skip
    claire = tg.user(COORDINATOR, "Claire")
    await claire.send("/people")
    pages = [claire.last.text]
    while "Next ›" in claire.last.labels:
        await claire.tap("Next ›")
        pages.append(claire.last.text)
    assert all(fits(page) for page in pages)
    assert all(f"#{index} " in "".join(pages) for index in range(60))


async def test_alert_with_the_longest_evidence(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    """Both partners asked to end the match with the longest reasons, in emoji, and the
    program and the people have the longest names: the alert still fits."""
    emoji_name = "👩🏽‍💼" * 24  # 120 characters for Python, 168 for Telegram
    async with database.session() as session:
        stored = await session.get(Program, program.id)
        assert stored is not None
        stored.name = "🎯" * 120
    mentee, mentor, match = await add_pair(database, program, clock)
    async with database.session() as session:
        for person in (mentee, mentor):
            person.name = emoji_name
            session.add(person)
    reason = "😀" * REASON_LENGTH
    requests = [
        {"person_id": person.id, "at": clock().isoformat(), "reason": reason}
        for person in (mentee, mentor)
    ]
    flag = await add_flag(
        database, clock, match, Rule.END_REQUEST, Severity.HIGH, evidence={"requests": requests}
    )
    await add_coordinator(database, program, clock, COORDINATOR, "Claire Roy")
    claire = tg.user(COORDINATOR, "Claire")
    await claire.send("/flags")
    assert fits(claire.last.text)
    await claire.press(f"ov:f:{flag.id}")
    alert = claire.last.text
    assert fits(alert) and "😀😀😀" in alert and "Asked to end the match" in alert


def test_digest_of_many_programs_with_emoji_names_splits_within_the_limit() -> None:
    """The digest splits between programs by Telegram's count, not Python's."""
    reviews = [
        Review(
            program=Program(id=index, name=f"#{index} " + "🎯" * 110, weeks=12),
            week="2026-W46",
            rate=Rate(3, 4),
            previous=Rate(2, 4),
            meetings=2,
            minutes=90,
            active=3,
            silent=1,
            flags=FlagCounts({"high": 1}, 1),
        )
        for index in range(40)
    ]
    texts = digest_texts(translator("fr"), "2026-W46", reviews)
    assert len(texts) > 1
    assert all(utf16_len(text) <= MESSAGE_TEXT_LIMIT for text in texts)
    assert all(any(f"#{index} " in text for text in texts) for index in range(40))


async def test_match_timeline_of_long_notes_pages_within_the_limit(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    """Thirty weeks of check-ins with the longest note, in emoji, and as many meetings
    with the longest notes: every page of the timeline fits."""
    mentee, mentor, match = await add_pair(database, program, clock)
    async with database.session() as session:
        for week in range(30):
            day = clock() - timedelta(days=7 * week + 1)
            prompt = Prompt(
                person_id=mentee.id or 0, match_id=match.id or 0, kind=PromptKind.CHECKIN,
                period=f"2026-W{week + 10:02d}", instrument="mentee_weekly", due_at=day,
                closes_at=day + timedelta(days=7), status=PromptStatus.ANSWERED, sent_at=day,
                answered_at=day,
            )  # fmt: skip
            session.add(prompt)
            await session.flush()
            note = long_text(week, 1000, "😀" * 1000)
            answer = Answer(
                prompt_id=prompt.id or 0, question_key="note", value=note, answered_at=day
            )
            session.add(answer)
            session.add(
                MeetingLog(
                    match_id=match.id or 0,
                    author_id=mentor.id or 0,
                    met_on=day.date(),
                    minutes=60,
                    mode="video",
                    notes=long_text(week, 1000, WITH_EMOJI),
                    created_at=day,
                )
            )
    await add_coordinator(database, program, clock, COORDINATOR, "Claire Roy")
    claire = tg.user(COORDINATOR, "Claire")
    await claire.send(f"/match {match.id}")
    pages = [claire.last.text]
    while "Older ›" in claire.last.labels or "Next ›" in claire.last.labels:
        await claire.tap("Older ›" if "Older ›" in claire.last.labels else "Next ›")
        pages.append(claire.last.text)
    assert len(pages) > 1 and all(fits(page) for page in pages)
    assert "#29 😀" in "".join(pages)


async def test_matches_and_flags_of_many_emoji_named_pairs_page_within_the_limit(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    name = "👩🏽‍💼" * 24  # 120 characters, 168 as Telegram counts them
    flags = []
    for index in range(40):
        mentee = await add_participant(
            database, program, clock, telegram_id=6000 + index, role=Role.MENTEE,
            name=f"#{index} {name}",
        )  # fmt: skip
        mentor = await add_participant(
            database, program, clock, telegram_id=6100 + index, role=Role.MENTOR, name=name
        )
        async with database.session() as session:
            match = await add_match(session, program.id or 0, mentor, mentee, clock())
        flag = await add_flag(database, clock, match, Rule.NO_CONTACT, Severity.MEDIUM)
        flags.append(flag.id)
    await add_coordinator(database, program, clock, COORDINATOR, "Claire Roy")
    # Acknowledged by a coordinator whose name is as long: /flags names the handler too.
    handler = await add_coordinator(database, program, clock, COORDINATOR + 1, name)
    async with database.session() as session:
        for flag_id in flags:
            acknowledged = await session.get(Flag, flag_id)
            assert acknowledged is not None
            acknowledged.status, acknowledged.handled_by = FlagStatus.ACKNOWLEDGED, handler.id
            session.add(acknowledged)
    claire = tg.user(COORDINATOR, "Claire")
    for command in ("/matches", "/flags"):
        await claire.send(command)
        pages = [claire.last.text]
        while "Next ›" in claire.last.labels:
            await claire.tap("Next ›")
            pages.append(claire.last.text)
        assert len(pages) > 1 and all(fits(page) for page in pages), command


async def test_logs_of_meetings_with_long_emoji_topics_and_names(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    """Ten meetings, each with topics typed in emoji, logged by someone whose name is
    120 emoji: /logs lists them within the limit."""
    _mentee, mentor, match = await add_pair(database, program, clock)
    async with database.session() as session:
        author = await session.get(Person, mentor.id)
        assert author is not None
        author.name = "🎯" * 120
        for index in range(12):
            session.add(
                MeetingLog(
                    match_id=match.id or 0, author_id=mentor.id or 0, minutes=90,
                    met_on=(clock() - timedelta(days=index + 1)).date(), mode="video",
                    topics=["😀" * 200, f"#{index} " + "🎯" * 100], created_at=clock(),
                )
            )  # fmt: skip
    alice = tg.user(ALICE, "Alice")
    await alice.send("/logs")
    assert fits(alice.last.text) and "…and 2 earlier meetings." in alice.last.text


async def test_buttons_naming_the_largest_ids_stay_within_64_bytes(
    tg: FakeTelegram, database: Database, clock: FakeClock
) -> None:
    """Program, people, match, goal and flag ids at the top of PostgreSQL's INTEGER: every
    button the coordinator and the mentee are shown, one level down too, is within 64
    bytes (the fake Bot API refuses longer callback data)."""
    big = MAX_ID - 100
    async with database.session() as session:
        program = Program(id=big, name="Career Bridge Toronto", weeks=12, created_at=clock())
        session.add(program)
        await session.flush()
        people = {}
        for offset, (telegram_id, role) in enumerate(
            [(ALICE, Role.MENTEE), (ROBERT, Role.MENTOR), (COORDINATOR, Role.COORDINATOR)]
        ):
            people[role] = await onboarded(
                session, clock(), program_id=big, role=role, telegram_id=telegram_id,
                name=f"Person {offset}", id=big + offset, **MONDAY_NINE_IN_TORONTO,
            )  # fmt: skip
        match = await add_match(
            session, big, people[Role.MENTOR], people[Role.MENTEE], clock(), id=big
        )
        membership = (
            await session.exec(
                select(Membership).where(Membership.person_id == people[Role.MENTEE].id)
            )
        ).one()
        session.add(
            Goal(id=big, membership_id=membership.id or 0, text="Get my CPA", created_at=clock())
        )
        session.add(
            Flag(
                id=big,
                match_id=match.id or 0,
                rule=Rule.NO_CONTACT,
                severity=Severity.MEDIUM,
                evidence={},
                opened_at=clock(),
            )
        )
    claire, alice = tg.user(COORDINATOR, "Claire"), tg.user(ALICE, "Alice")
    for user, command in ((claire, "/matches"), (claire, "/flags"), (alice, "/goals")):
        await user.send(command)
        for label in user.last.labels[:3]:
            await user.send(command)
            await user.tap(label)
    data = [b.callback_data for m in claire.messages + alice.messages for r in m.buttons for b in r]
    assert {f"goal:done:{big}", f"fl:ack:{big}"} <= set(data)
    assert all(len((item or "").encode()) <= 64 for item in data)
