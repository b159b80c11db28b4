"""Flag rules and coordinator alerts: each rule fires on its scripted history and not on
its near miss, flags are never duplicated, alerts reach exactly the program's
coordinators in their language, and every button works for them and nobody else."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from bot.dispatch import Dispatcher
from conversations.kit import alerting as alerts
from conversations.kit.alert_text import alert_text, flag_goals
from conversations.kit.alerting import evaluate_and_notify, notify
from locales.translator import translator
from storage.db import Database
from storage.flag_sweep import evaluate_matches
from storage.models import (
    AlertCopy,
    Answer,
    AuditEvent,
    Flag,
    FlagStatus,
    Goal,
    Match,
    MatchStatus,
    MeetingLog,
    Membership,
    Person,
    Program,
    PromptStatus,
)
from storage.safety import safety_words
from tests.builders import (
    ALICE,
    ROBERT,
    add_coordinator,
    add_pair,
    add_prompt,
    ask,
)
from tests.conftest import FakeClock
from tests.harness import FakeTelegram

CORA, CLAUDE, OTTO = 301, 302, 303  # coordinators: EN and FR of the program, another's
FRENCH_BUTTONS = ["Prendre en charge", "Reporter de 7 jours", "Régler", "Voir le jumelage"]


async def week(
    database: Database,
    clock: FakeClock,
    person: Person,
    match: Match,
    weeks_ago: int,
    status: str = PromptStatus.ANSWERED,
    kind: str = "checkin",
    **values: str,
) -> int:
    """A check-in `weeks_ago` weeks before this one (W47), with its answers."""
    instrument = "mentor_weekly" if person.id == match.mentor_id else "mentee_weekly"
    due = clock() - timedelta(weeks=weeks_ago)
    prompt_id = await add_prompt(
        database, clock, person, match, instrument, status=status,
        period=f"2026-W{47 - weeks_ago}", due_at=due,
    )  # fmt: skip
    async with database.session() as session:
        if kind != "checkin":
            from storage.models import Prompt

            prompt = await session.get(Prompt, prompt_id)
            assert prompt is not None
            prompt.kind = kind
            session.add(prompt)
        for key, value in values.items():
            session.add(Answer(prompt_id=prompt_id, question_key=key, value=value, answered_at=due))
    return prompt_id


async def evaluate(database: Database, clock: FakeClock, match: Match) -> list[Flag]:
    async with database.session() as session:
        ids = await evaluate_matches(session, [match.id or 0], clock())
        if not ids:
            return []
        rows = await session.exec(select(Flag).where(col(Flag.id).in_(ids)))
        return list(rows.all())


def rules(flags: list[Flag]) -> set[str]:
    return {flag.rule for flag in flags}


async def contact_log(database: Database, clock: FakeClock, match: Match, days_ago: int) -> None:
    async with database.session() as session:
        session.add(
            MeetingLog(
                match_id=match.id or 0, author_id=match.mentor_id, minutes=60, mode="call",
                met_on=(clock() - timedelta(days=days_ago)).date(), created_at=clock(),
            )
        )  # fmt: skip


# --- the rules -------------------------------------------------------------------------------


async def test_missed_twice_in_a_row_fires(database: Database, clock: FakeClock, pair) -> None:
    mentee, _, match = pair
    await contact_log(database, clock, match, 1)
    first = await week(database, clock, mentee, match, 2, PromptStatus.MISSED)
    second = await week(database, clock, mentee, match, 1, PromptStatus.MISSED)
    await week(database, clock, mentee, match, 0, PromptStatus.SENT)  # this week: still open
    (flag,) = await evaluate(database, clock, match)
    assert flag.rule == "missed_checkins" and flag.severity == "medium"
    (person,) = flag.evidence["people"]
    assert person["prompts"] == [first, second]
    assert person["periods"] == ["2026-W45", "2026-W46"]


@pytest.mark.parametrize("between", [PromptStatus.SKIPPED, PromptStatus.EXPIRED, None])
async def test_a_skipped_paused_or_absent_week_breaks_the_run(
    database: Database, clock: FakeClock, pair, between: str | None
) -> None:
    mentee, _, match = pair
    await contact_log(database, clock, match, 1)
    await week(database, clock, mentee, match, 3, PromptStatus.MISSED)
    if between is not None:
        await week(database, clock, mentee, match, 2, between)
    await week(database, clock, mentee, match, 1, PromptStatus.MISSED)
    assert await evaluate(database, clock, match) == []


async def test_no_contact_for_two_weeks(database: Database, clock: FakeClock, pair) -> None:
    mentee, _, match = pair  # matched 30 days ago, nothing since
    await week(database, clock, mentee, match, 1, contact="none", progress="4")
    (flag,) = await evaluate(database, clock, match)
    assert flag.rule == "no_contact"
    assert flag.evidence["last_contact"] == "start" and flag.evidence["weeks"] == 2


@pytest.mark.parametrize("how", ["answer", "log"])
async def test_a_recent_contact_is_not_flagged(
    database: Database, clock: FakeClock, pair, how: str
) -> None:
    mentee, _, match = pair
    if how == "answer":
        await week(database, clock, mentee, match, 1, contact="call", helpful="4", progress="4")
    else:
        await contact_log(database, clock, match, 10)
    assert await evaluate(database, clock, match) == []


async def test_a_deleted_log_is_no_contact(database: Database, clock: FakeClock, pair) -> None:
    _, _, match = pair
    await contact_log(database, clock, match, 3)
    async with database.session() as session:
        log = (await session.exec(select(MeetingLog))).one()
        log.deleted_at = clock()
        session.add(log)
    assert rules(await evaluate(database, clock, match)) == {"no_contact"}


async def test_low_rating_fires_at_2_not_at_3(database: Database, clock: FakeClock, pair) -> None:
    mentee, mentor, match = pair
    await contact_log(database, clock, match, 1)
    await week(database, clock, mentor, match, 0, contact="call", going="3")
    assert await evaluate(database, clock, match) == []
    prompt_id = await week(database, clock, mentee, match, 0, contact="call", helpful="2")
    (flag,) = await evaluate(database, clock, match)
    assert flag.rule == "low_rating"
    assert flag.evidence["answers"] == [
        {"prompt_id": prompt_id, "person_id": mentee.id, "period": "2026-W47",
         "key": "helpful", "value": 2},
    ]  # fmt: skip


async def test_goal_ratings_count(database: Database, clock: FakeClock, pair) -> None:
    mentee, _, match = pair
    await contact_log(database, clock, match, 1)
    await week(database, clock, mentee, match, 0, contact="call", goal_7="1")
    assert rules(await evaluate(database, clock, match)) == {"low_rating"}


async def test_a_drop_of_two_from_the_own_average(
    database: Database, clock: FakeClock, pair
) -> None:
    mentee, _, match = pair
    await contact_log(database, clock, match, 1)
    await week(database, clock, mentee, match, 3, progress="5")
    await week(database, clock, mentee, match, 2, progress="5")
    await week(database, clock, mentee, match, 1, progress="4")  # 1 below: nothing
    assert await evaluate(database, clock, match) == []
    await week(database, clock, mentee, match, 0, progress="3")  # average 4.7: 1.7 below
    assert await evaluate(database, clock, match) == []


async def test_a_sharp_drop_fires(database: Database, clock: FakeClock, pair) -> None:
    _, mentor, match = pair
    await contact_log(database, clock, match, 1)
    await week(database, clock, mentor, match, 2, going="5")
    await week(database, clock, mentor, match, 1, going="5")
    await week(database, clock, mentor, match, 0, going="3")
    (flag,) = await evaluate(database, clock, match)
    assert flag.rule == "rating_drop"
    (hit,) = flag.evidence["answers"]
    assert (hit["value"], hit["average"], hit["key"]) == (3, 5.0, "going")


@pytest.mark.parametrize(("mentee", "mentor", "fires"), [("5", "3", True), ("5", "4", False)])
async def test_ratings_far_apart_the_same_week(
    database: Database, clock: FakeClock, pair, mentee: str, mentor: str, fires: bool
) -> None:
    mentee_row, mentor_row, match = pair
    await contact_log(database, clock, match, 1)
    await week(database, clock, mentee_row, match, 0, contact="call", helpful=mentee)
    await week(database, clock, mentor_row, match, 0, contact="call", going=mentor)
    flags = await evaluate(database, clock, match)
    assert rules(flags) == ({"rating_gap"} if fires else set())
    if fires:
        assert flags[0].evidence["weeks"][0]["period"] == "2026-W47"


async def test_different_weeks_are_not_compared(database: Database, clock: FakeClock, pair) -> None:
    mentee, mentor, match = pair
    await contact_log(database, clock, match, 1)
    await week(database, clock, mentee, match, 1, contact="call", helpful="5")
    await week(database, clock, mentor, match, 0, contact="call", going="3")
    assert await evaluate(database, clock, match) == []


async def test_asked_for_the_coordinator_and_concerns(
    database: Database, clock: FakeClock, pair
) -> None:
    mentee, mentor, match = pair
    await contact_log(database, clock, match, 1)
    await week(database, clock, mentee, match, 0, wants_contact="no")
    await week(database, clock, mentor, match, 0, concerns="none", wants_contact="no")
    assert await evaluate(database, clock, match) == []
    await week(database, clock, mentee, match, 1, wants_contact="yes")
    await week(database, clock, mentor, match, 1, concerns="reach,beyond")
    flags = {flag.rule: flag for flag in await evaluate(database, clock, match)}
    assert set(flags) == {"asked_coordinator", "concern"}
    assert flags["asked_coordinator"].severity == "high"
    assert flags["concern"].evidence["answers"][0]["concerns"] == ["reach", "beyond"]


def test_safety_words_whole_words_any_case_or_accent() -> None:
    assert safety_words("He keeps HARASSING me") == ["harassing"]
    assert safety_words("Je me sens harcelee, pas en securite.") == ["harcelée", "pas en sécurité"]
    assert safety_words("Il m’a menacé hier") == ["menace"]  # spelt as listed first
    assert safety_words("thoughts of self-harm") == ["self harm"]
    assert safety_words("Automutilation, SUICIDE") == ["automutilation", "suicide"]
    for innocent in ("grapes", "un violon", "unsafely", "threatless", "abuses", "menaçante"):
        assert safety_words(innocent) == [], innocent


async def test_safety_words_are_urgent_and_not_quoted(
    database: Database, clock: FakeClock, pair
) -> None:
    mentee, mentor, match = pair
    await contact_log(database, clock, match, 1)
    await week(database, clock, mentee, match, 0, note="Tout va bien, on a parlé de violon.")
    assert await evaluate(database, clock, match) == []
    prompt_id = await week(
        database, clock, mentor, match, 1, concerns="other",
        concern_note="She told me about harassment at her internship.",
    )  # fmt: skip
    reflection = await week(database, clock, mentee, match, 2, kind="reflection", q1="Menace")
    flags = {flag.rule: flag for flag in await evaluate(database, clock, match)}
    safety = flags["safety_words"]
    assert safety.severity == "urgent"
    found = {(hit["prompt_id"], hit["key"]): hit["words"] for hit in safety.evidence["answers"]}
    assert found == {(prompt_id, "concern_note"): ["harassment"], (reflection, "q1"): ["menace"]}
    assert "internship" not in str(safety.evidence)


async def test_no_duplicates_and_no_repeat_once_resolved(
    database: Database, clock: FakeClock, pair
) -> None:
    mentee, _, match = pair
    await contact_log(database, clock, match, 1)
    await week(database, clock, mentee, match, 1, helpful="1")
    assert rules(await evaluate(database, clock, match)) == {"low_rating"}
    assert await evaluate(database, clock, match) == []  # still open: not again
    async with database.session() as session:
        flag = (await session.exec(select(Flag))).one()
        flag.status = FlagStatus.RESOLVED
        session.add(flag)
    assert await evaluate(database, clock, match) == []  # the same answer: not again
    await week(database, clock, mentee, match, 0, helpful="2")  # a new low answer
    assert rules(await evaluate(database, clock, match)) == {"low_rating"}
    async with database.session() as session:
        assert len((await session.exec(select(Flag))).all()) == 2


async def test_program_thresholds(database: Database, clock: FakeClock, program, pair) -> None:
    mentee, _, match = pair
    async with database.session() as session:
        row = await session.get(Program, program.id)
        assert row is not None
        row.settings = {"flags": {"low_rating": 3, "no_contact_weeks": 8}}
        session.add(row)
    await week(database, clock, mentee, match, 0, progress="3")
    assert rules(await evaluate(database, clock, match)) == {"low_rating"}


# --- contact against the benchmark -------------------------------------------------------------


async def restart(
    database: Database, clock: FakeClock, match: Match, days_ago: int, status: str | None = None
) -> None:
    """Date the match's start `days_ago` days back (and change its status)."""
    async with database.session() as session:
        row = await session.get(Match, match.id)
        assert row is not None
        row.started_at = clock() - timedelta(days=days_ago)
        row.status = status or row.status
        session.add(row)


async def benchmark(database: Database, clock: FakeClock, match: Match) -> list[Flag]:
    return [
        flag for flag in await evaluate(database, clock, match) if flag.rule == "contact_benchmark"
    ]


FIRST_MONTH = {"month": 1, "first": "2026-10-07", "last": "2026-11-06", "expected": 2}


@pytest.mark.parametrize(
    ("second", "contacts"),
    [
        ("log the same day", 1),  # two logs of one day: one contact
        ("reports that week", 1),  # both check-ins of the log's week: the same contact
        ("log another day", 2),
        ("report another week", 2),
    ],
)
async def test_two_days_of_contact_in_the_first_month(
    database: Database, clock: FakeClock, pair, second: str, contacts: int
) -> None:
    mentee, mentor, match = pair
    await restart(database, clock, match, 40)  # month 1: October 7 to November 6
    await contact_log(database, clock, match, 33)  # Wednesday October 14 (2026-W42)
    await contact_log(database, clock, match, 3)  # in month 2: no "no contact" flag
    if second == "log the same day":
        await contact_log(database, clock, match, 33)
    elif second == "reports that week":
        await week(database, clock, mentee, match, 5, contact="call")
        await week(database, clock, mentor, match, 5, contact="in_person")
    elif second == "log another day":
        await contact_log(database, clock, match, 32)
    else:
        await week(database, clock, mentee, match, 3, contact="messages")  # 2026-W44
    flags = await evaluate(database, clock, match)
    if contacts == 2:
        assert flags == []
        return
    (flag,) = flags
    assert (flag.rule, flag.severity) == ("contact_benchmark", "medium")
    assert flag.evidence == {"months": [{**FIRST_MONTH, "contacts": 1}], "marks": ["bm:2026-10-07"]}


async def test_a_month_is_judged_once_it_has_ended(
    database: Database, clock: FakeClock, pair
) -> None:
    _, _, match = pair  # matched 30 days ago: the first month ends tonight
    await contact_log(database, clock, match, 1)
    assert await evaluate(database, clock, match) == []
    clock.advance(days=1)
    (flag,) = await evaluate(database, clock, match)
    assert flag.evidence["months"] == [
        {"month": 1, "first": "2026-10-17", "last": "2026-11-16", "contacts": 1, "expected": 2}
    ]


@pytest.mark.parametrize("reported", [False, True])
async def test_a_later_month_expects_one_contact(
    database: Database, clock: FakeClock, pair, reported: bool
) -> None:
    mentee, _, match = pair
    await restart(database, clock, match, 70)  # months: Sep 7, Oct 7 (judged), Nov 7
    for days_ago in (60, 50, 3):  # two in month 1 (ended long ago), one in month 3
        await contact_log(database, clock, match, days_ago)
    if reported:
        await week(database, clock, mentee, match, 4, contact="call")  # 2026-W43
        assert await evaluate(database, clock, match) == []
        return
    (flag,) = await evaluate(database, clock, match)
    assert flag.evidence["months"] == [
        {"month": 2, "first": "2026-10-07", "last": "2026-11-06", "contacts": 0, "expected": 1}
    ]


@pytest.mark.parametrize("status", [MatchStatus.PAUSED, MatchStatus.CLOSED])
async def test_a_paused_or_closed_match_is_not_judged(
    database: Database, clock: FakeClock, pair, status: str
) -> None:
    _, _, match = pair
    await restart(database, clock, match, 40, status)
    assert await evaluate(database, clock, match) == []


async def test_a_resolved_month_is_not_raised_again_a_new_one_is(
    database: Database, clock: FakeClock, pair
) -> None:
    _, _, match = pair
    await restart(database, clock, match, 40)
    await contact_log(database, clock, match, 30)
    (flag,) = await benchmark(database, clock, match)
    async with database.session() as session:
        row = await session.get(Flag, flag.id)
        assert row is not None
        row.status = FlagStatus.RESOLVED
        session.add(row)
    assert await benchmark(database, clock, match) == []
    clock.advance(days=30)  # month 2 (November 7 to December 6) passes without contact
    (flag,) = await benchmark(database, clock, match)
    assert [month["month"] for month in flag.evidence["months"]] == [2]
    assert flag.evidence["marks"] == ["bm:2026-11-07"]


async def test_benchmark_thresholds(database: Database, clock: FakeClock, program, pair) -> None:
    _, _, match = pair
    await restart(database, clock, match, 40)
    await contact_log(database, clock, match, 33)
    await contact_log(database, clock, match, 3)
    async with database.session() as session:
        row = await session.get(Program, program.id)
        assert row is not None
        row.settings = {"flags": {"first_month_contacts": 1}}
        session.add(row)
    assert await evaluate(database, clock, match) == []


async def test_the_benchmark_thresholds_can_be_configured(
    database: Database, database_url: str, program: Program
) -> None:
    from tests.test_cli import settings_shown, succeeded, tandem

    args = ("flags.first_month_contacts=3", "flags.monthly_contacts=2")
    result = await tandem(database_url, "program", "configure", str(program.id), *args)
    shown = settings_shown(succeeded(result))
    assert shown["flags.first_month_contacts"] == ("3", "program")
    assert shown["flags.monthly_contacts"] == ("2", "program")
    async with database.session() as session:
        stored = await session.get(Program, program.id)
        assert stored is not None
        assert stored.settings["flags"] == {"first_month_contacts": 3, "monthly_contacts": 2}


# --- alerts --------------------------------------------------------------------------------


async def seed_people(database: Database, program: Program, clock: FakeClock) -> dict[str, Any]:
    """The pair (matched a month ago, a meeting logged yesterday), the program's two
    coordinators (Cora in English, Claude in French) and another program's (Otto)."""
    mentee, mentor, match = await add_pair(database, program, clock)
    cora = await add_coordinator(database, program, clock, CORA, "Cora Lee")
    claude = await add_coordinator(database, program, clock, CLAUDE, "Claude Roy", "fr")
    async with database.session() as session:
        other = Program(name="Other program", created_at=clock())
        session.add(other)
    otto = await add_coordinator(database, other, clock, OTTO, "Otto")
    await contact_log(database, clock, match, 1)
    return {"mentee": mentee, "mentor": mentor, "match": match, "cora": cora,
            "claude": claude, "otto": otto}  # fmt: skip


@pytest.fixture
async def people(database: Database, program: Program, clock: FakeClock) -> dict[str, Any]:
    return await seed_people(database, program, clock)


async def raise_safety_flag(tg: FakeTelegram, database: Database, clock: FakeClock, people) -> int:
    await week(
        database, clock, people["mentee"], people["match"], 0,
        note="Je ne me sens pas en sécurité avec lui.",
    )  # fmt: skip
    ids = await evaluate_and_notify(tg.application.bot, database, [people["match"].id], clock())
    assert len(ids) == 1
    return ids[0]


async def flag_row(database: Database, flag_id: int) -> Flag:
    async with database.session() as session:
        flag = await session.get(Flag, flag_id)
        assert flag is not None
        return flag


async def test_alerts_reach_every_coordinator_in_their_language_and_nobody_else(
    tg: FakeTelegram, database: Database, clock: FakeClock, people
) -> None:
    await raise_safety_flag(tg, database, clock, people)
    cora, claude = tg.user(CORA, "Cora"), tg.user(CLAUDE, "Claude")
    (english,) = cora.messages
    assert english.text.splitlines()[:2] == [
        "🚨 Urgent · Worrying words in a message",
        "Robert Tremblay ↔ Alice Martin · Career Bridge Toronto (match 1)",
    ]
    assert (
        "“pas en sécurité” in a check-in note by Alice Martin (week of November 16, 2026)."
        in english.text
    )
    assert "lui" not in english.text
    assert english.labels == ["Acknowledge", "Snooze 7 days", "Resolve", "Show match"]
    (french,) = claude.messages
    assert french.text.splitlines()[0] == "🚨 Urgent · Mots préoccupants dans un message"
    expected = (
        "«\u00a0pas en sécurité\u00a0» dans une note de suivi écrite par Alice Martin "
        "(semaine du 16 novembre 2026)"
    )
    assert expected in french.text
    assert french.labels == FRENCH_BUTTONS
    for outsider in (OTTO, ALICE, ROBERT):
        assert tg.user(outsider, "x").messages == []


async def test_a_low_goal_rating_names_the_goal_in_both_languages(
    tg: FakeTelegram, database: Database, clock: FakeClock, people
) -> None:
    """Not "Progress on a goal": the coordinator sees which goal, in the mentee's words
    (escaped), and a goal that no longer exists is not named."""
    async with database.session() as session:
        membership = (
            await session.exec(
                select(Membership).where(Membership.person_id == people["mentee"].id)
            )
        ).one()
        goal = Goal(
            membership_id=membership.id or 0, text="Land a job <in> R&D", created_at=clock()
        )
        session.add(goal)
        await session.flush()
        goal_id = goal.id
    await week(database, clock, people["mentee"], people["match"], 0, **{f"goal_{goal_id}": "1"})
    await evaluate_and_notify(tg.application.bot, database, [people["match"].id], clock())
    (english,) = tg.user(CORA, "Cora").messages
    assert (
        "Alice Martin rated their progress on the goal “Land a job <in> R&D” 1 out of 5 "
        "(week of November 16, 2026)." in english.text
    )
    assert "Land a job &lt;in&gt; R&amp;D" in english.raw
    (french,) = tg.user(CLAUDE, "Claude").messages
    assert (
        "Alice Martin a évalué à 1 sur 5 ses progrès dans l’atteinte de l’objectif "
        "«\u00a0Land a job <in> R&D\u00a0» (semaine du 16 novembre 2026)." in french.text
    )
    async with database.session() as session:
        await session.delete(await session.get(Goal, goal_id))
        flag = (await session.exec(select(Flag))).one()
        parts = await alerts.flag_parts(session, flag)
        assert parts is not None
        _match, program, mentor, mentee = parts
        goals = await flag_goals(session, [flag])
    text = alert_text(translator("en"), flag, program, mentor, mentee, goals=goals)
    assert goals == {}
    assert "Land a job" not in text
    assert "rated “Progress on a goal” 1 out of 5" in text


async def test_no_alert_for_an_old_flag(
    tg: FakeTelegram, database: Database, clock: FakeClock, people
) -> None:
    await raise_safety_flag(tg, database, clock, people)
    again = await evaluate_and_notify(tg.application.bot, database, [people["match"].id], clock())
    assert again == []
    assert len(tg.user(CORA, "Cora").messages) == 1


async def test_acknowledge_and_snooze(
    tg: FakeTelegram, database: Database, clock: FakeClock, people
) -> None:
    flag_id = await raise_safety_flag(tg, database, clock, people)
    cora = tg.user(CORA, "Cora")
    await cora.tap("Acknowledge")
    flag = await flag_row(database, flag_id)
    assert (flag.status, flag.handled_by, flag.handled_at) == (
        "acknowledged",
        people["cora"].id,
        clock(),
    )
    assert cora.answers[-1] == "Acknowledged."
    assert "👀 Acknowledged by Cora Lee." in cora.messages[0].text
    await cora.tap("Snooze 7 days")
    flag = await flag_row(database, flag_id)
    assert flag.status == "snoozed" and flag.snoozed_until == clock() + timedelta(days=7)
    async with database.session() as session:
        events = (await session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))).all()
    assert [(e.action, e.actor_id, e.subject) for e in events] == [
        ("flag.acknowledge", people["cora"].id, f"flag:{flag_id}"),
        ("flag.snooze", people["cora"].id, f"flag:{flag_id}"),
    ]


async def test_resolve_with_a_note(
    tg: FakeTelegram, database: Database, clock: FakeClock, people
) -> None:
    flag_id = await raise_safety_flag(tg, database, clock, people)
    claude = tg.user(CLAUDE, "Claude", language_code="fr")
    await claude.tap("Régler")
    assert "Envoyez une courte note" in claude.last.text
    await claude.send("Appel fait avec Alice, suivi prévu.")
    flag = await flag_row(database, flag_id)
    assert (flag.status, flag.note) == ("resolved", "Appel fait avec Alice, suivi prévu.")
    assert "✅ Réglé par Claude Roy : Appel fait avec Alice, suivi prévu." in claude.last.text
    assert claude.last.labels == ["Voir le jumelage"]
    async with database.session() as session:
        event = (await session.exec(select(AuditEvent))).one()
    assert (event.action, event.detail["with_note"]) == ("flag.resolve", True)


async def test_a_long_note_is_kept_whole_and_shown_clipped(
    tg: FakeTelegram, database: Database, clock: FakeClock, people
) -> None:
    flag_id = await raise_safety_flag(tg, database, clock, people)
    cora = tg.user(CORA, "Cora")
    await cora.tap("Resolve")
    note = "Called Alice. " * 200  # 2,800 characters: stored up to 2,000
    await cora.send(note)
    flag = await flag_row(database, flag_id)
    assert flag.note == note.strip()[:2000]
    (status,) = [line for line in cora.last.text.splitlines() if line.startswith("✅")]
    assert status == "✅ Resolved by Cora Lee: " + note.strip()[:600] + "…"
    assert len(cora.last.raw) < 4096


async def test_resolve_without_a_note_and_show_match(
    tg: FakeTelegram, database: Database, clock: FakeClock, people
) -> None:
    flag_id = await raise_safety_flag(tg, database, clock, people)
    cora = tg.user(CORA, "Cora")
    await cora.tap("Resolve")
    await cora.tap("No note")
    flag = await flag_row(database, flag_id)
    assert (flag.status, flag.note) == ("resolved", None)
    await cora.press(f"fl:ack:{flag_id}", cora.messages[0].message_id)
    assert cora.answers[-1] == "This flag is already resolved."
    assert (await flag_row(database, flag_id)).status == "resolved"
    alert = cora.messages[0]
    await cora.tap("Show match")  # the timeline, as a new message: the alert stays
    timeline = cora.last.text.splitlines()
    assert cora.messages[0].text == alert.text and len(cora.messages) == 3
    assert timeline[0] == "Robert Tremblay ↔ Alice Martin · Career Bridge Toronto (match 1)"
    assert "✅ Nov 16 · Cora Lee resolved “Worrying words in a message”." in timeline
    assert "✅ Nov 16 · Check-in, Alice Martin: answered" in timeline


@pytest.mark.parametrize("who", [ALICE, OTTO])
async def test_show_match_refused_to_others(
    tg: FakeTelegram, database: Database, clock: FakeClock, people, who: int
) -> None:
    await raise_safety_flag(tg, database, clock, people)
    intruder = tg.user(who, "Intruder")
    await tg.application.bot.send_message(who, "hello")  # a message to press on
    before = len(intruder.messages)
    await intruder.press(f"ov:mt:{people['match'].id}")
    refusal = (
        "This command is for program coordinators."
        if who == ALICE
        else "I can't find match 1 in your programs. Send /matches to see them."
    )
    assert intruder.answers[-1] == refusal
    assert len(intruder.messages) == before


@pytest.mark.parametrize("who", [ALICE, OTTO])
@pytest.mark.parametrize("action", ["ack", "snz", "res", "nonote"])
async def test_buttons_refused_to_others(
    tg: FakeTelegram, database: Database, clock: FakeClock, people, who: int, action: str
) -> None:
    flag_id = await raise_safety_flag(tg, database, clock, people)
    intruder = tg.user(who, "Intruder")
    await tg.application.bot.send_message(who, "hello")  # a message to press on
    before = len(intruder.messages)
    await intruder.press(f"fl:{action}:{flag_id}")
    assert intruder.answers[-1] == "Only this program's coordinators can do that."
    assert len(intruder.messages) == before
    flag = await flag_row(database, flag_id)
    assert (flag.status, flag.handled_by) == ("open", None)
    async with database.session() as session:
        assert (await session.exec(select(AuditEvent))).all() == []


async def test_forged_data_is_refused(
    tg: FakeTelegram, database: Database, clock: FakeClock, people
) -> None:
    flag_id = await raise_safety_flag(tg, database, clock, people)
    cora = tg.user(CORA, "Cora")
    await cora.press(f"fl:ack:{flag_id + 100}")
    assert cora.answers[-1] == "Only this program's coordinators can do that."
    for forged in ("fl:burn:1", "fl:ack:x", "fl:ack:99999999999", "fl:ack"):
        await cora.press(forged)
        assert cora.answers[-1] == "That button no longer works."
    assert (await flag_row(database, flag_id)).status == "open"


async def test_a_completed_checkin_alerts_at_once(
    tg: FakeTelegram, database: Database, clock: FakeClock, people
) -> None:
    await ask(tg, database, clock, people["mentee"], people["match"])
    alice = tg.user(ALICE, "Alice")
    await alice.tap("Not this week")
    await alice.tap("4")
    await alice.tap("Skip")
    assert tg.user(CORA, "Cora").messages == []  # nothing until the check-in is complete
    await alice.tap("Yes")
    (alert,) = tg.user(CORA, "Cora").messages
    assert alert.text.splitlines()[0] == "⚠️ Asked for the coordinator"
    assert "Alice Martin would like you to get in touch (week of November 16, 2026)." in alert.text
    assert "Thank you! Your check-in is saved." in alice.last.text


async def test_unreachable_flag_is_sent(
    tg: FakeTelegram, database: Database, clock: FakeClock, people
) -> None:
    from storage.prompts import mark_unreachable

    async with database.session() as session:
        await mark_unreachable(session, people["mentor"].id, clock())
    from conversations.kit.alerting import unreachable_alerts

    assert (
        await unreachable_alerts(tg.application.bot, database, [people["mentor"].id], clock()) == 2
    )
    assert "Robert Tremblay blocked Tandem" in tg.user(CORA, "Cora").last.text


async def test_the_daily_sweep_runs_once_a_day(
    tg: FakeTelegram, database: Database, clock: FakeClock, people
) -> None:
    from conversations import checkin

    await contact_log(database, clock, people["match"], 20)  # two in the first month
    await week(database, clock, people["mentee"], people["match"], 1, helpful="1")
    dispatcher = Dispatcher(
        tg.application.bot,
        database,
        checkin,
        clock,
        budget=None,
        advisory_lock=False,
        sweep_flags=True,
        alerts=alerts,
    )  # type: ignore[arg-type]
    assert (await dispatcher.tick()).flagged == 1
    await week(database, clock, people["mentor"], people["match"], 1, going="1")
    clock.advance(hours=23)
    assert (await dispatcher.tick()).flagged == 0
    clock.advance(hours=1)
    assert (await dispatcher.tick()).flagged == 0  # the same rule is still open
    assert len(tg.user(CORA, "Cora").messages) == 1
    assert await notify(tg.application.bot, database, []) == 0


async def test_the_benchmark_alert_in_english_and_french(
    tg: FakeTelegram, database: Database, clock: FakeClock, people
) -> None:
    await restart(database, clock, people["match"], 40)
    await contact_log(database, clock, people["match"], 35)  # month 1 (the other: month 2)
    await evaluate_and_notify(tg.application.bot, database, [people["match"].id], clock())
    (english,) = tg.user(CORA, "Cora").messages
    assert english.text.splitlines()[0] == "⚠️ Less contact than expected"
    assert (
        "Month 1 of the match (October 7, 2026 to November 6, 2026): 1 day of contact, "
        "2 expected." in english.text
    )
    (french,) = tg.user(CLAUDE, "Claude").messages
    assert french.text.splitlines()[0] == "⚠️ Moins de contacts que prévu"
    assert (
        "Mois 1 du jumelage (du 7 octobre 2026 au 6 novembre 2026) : 1 jour de contact "
        "(prévu : 2)." in french.text
    )


# --- snoozes that end, copies kept up to date, meeting logs -------------------------------------


async def test_a_snooze_that_ends_alerts_again(
    tg: FakeTelegram, database: Database, clock: FakeClock, people
) -> None:
    from conversations import checkin

    await contact_log(database, clock, people["match"], 20)  # the first month is on track
    flag_id = await raise_safety_flag(tg, database, clock, people)
    cora, claude = tg.user(CORA, "Cora"), tg.user(CLAUDE, "Claude")
    await cora.tap("Snooze 7 days")
    dispatcher = Dispatcher(
        tg.application.bot, database, checkin, clock, budget=None, advisory_lock=False,
        sweep_flags=True,
        alerts=alerts,
    )  # type: ignore[arg-type]  # fmt: skip
    assert (await dispatcher.tick()).flagged == 0
    clock.advance(days=6, hours=23)
    assert (await dispatcher.tick()).flagged == 0
    assert (await flag_row(database, flag_id)).status == "snoozed"
    clock.advance(hours=1)
    assert (await dispatcher.tick()).flagged == 1
    flag = await flag_row(database, flag_id)
    assert (flag.status, flag.handled_by) == ("open", people["cora"].id)
    snoozed, again = cora.messages
    assert "💤 Snoozed by Cora Lee" in snoozed.text  # the earlier copy, as it was
    assert again.text.splitlines()[0] == "🚨 Urgent · Worrying words in a message"
    assert again.text.endswith(
        "⏰ Snoozed by Cora Lee until November 23, 2026: the snooze is over, this needs "
        "attention again."
    )
    assert again.labels == ["Acknowledge", "Snooze 7 days", "Resolve", "Show match"]
    assert claude.last.text.endswith(
        "⏰ Reporté par Cora Lee jusqu’au 23 novembre 2026 : le report est terminé, ce "
        "signalement demande de nouveau votre attention."
    )
    async with database.session() as session:
        events = (await session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))).all()
    assert [(e.action, e.actor_id, e.actor_label) for e in events] == [
        ("flag.snooze", people["cora"].id, "coordinator"),
        ("flag.snooze_ended", None, "tandem"),
    ]
    assert (await dispatcher.tick()).flagged == 0  # once
    assert len(cora.messages) == 2
    await cora.tap("Acknowledge")
    assert "⏰" not in cora.last.text and "👀 Acknowledged by Cora Lee." in cora.last.text


async def test_every_copy_shows_who_acted_in_its_readers_language(
    tg: FakeTelegram, database: Database, clock: FakeClock, people
) -> None:
    flag_id = await raise_safety_flag(tg, database, clock, people)
    cora, claude = tg.user(CORA, "Cora"), tg.user(CLAUDE, "Claude", language_code="fr")
    async with database.session() as session:
        copies = (await session.exec(select(AlertCopy).order_by(col(AlertCopy.id)))).all()
    assert [(c.flag_id, c.person_id, c.chat_id, c.message_id, c.sent_at) for c in copies] == [
        (flag_id, people["cora"].id, CORA, cora.messages[0].message_id, clock()),
        (flag_id, people["claude"].id, CLAUDE, claude.messages[0].message_id, clock()),
    ]
    await cora.tap("Acknowledge")
    (french,) = claude.messages
    assert french.text.endswith("👀 Pris en charge par Cora Lee.")
    assert french.labels == FRENCH_BUTTONS
    await claude.tap("Régler")
    await claude.send("Appel fait avec Alice.")
    assert cora.messages[0].text.endswith("✅ Resolved by Claude Roy: Appel fait avec Alice.")
    assert cora.messages[0].labels == ["Show match"]
    assert claude.messages[0].text.endswith("✅ Réglé par Claude Roy : Appel fait avec Alice.")


async def test_a_copy_that_cannot_be_edited_is_skipped(
    tg: FakeTelegram,
    database: Database,
    clock: FakeClock,
    people,
    caplog: pytest.LogCaptureFixture,
) -> None:
    flag_id = await raise_safety_flag(tg, database, clock, people)
    claude = tg.user(CLAUDE, "Claude")
    await tg.application.bot.delete_message(CLAUDE, claude.messages[0].message_id)
    cora = tg.user(CORA, "Cora")
    with caplog.at_level(logging.INFO, logger="conversations.alerts"):
        await cora.tap("Snooze 7 days")
    assert "could not update a copy of an alert: BadRequest" in caplog.text
    assert "💤 Snoozed by Cora Lee until November 23, 2026." in cora.messages[0].text
    assert (await flag_row(database, flag_id)).status == "snoozed"


async def test_a_meeting_log_alerts_at_once(
    tg: FakeTelegram, database: Database, clock: FakeClock, people
) -> None:
    alice = tg.user(ALICE, "Alice")
    await alice.send("/log 45m yesterday video")
    assert tg.user(CORA, "Cora").messages == []
    await alice.tap("✏️ Edit")
    await alice.tap("Notes")
    await alice.send("I felt unsafe at his office.")
    assert alice.last.text.startswith("✅ Meeting updated")
    (alert,) = tg.user(CORA, "Cora").messages
    assert alert.text.splitlines()[0] == "🚨 Urgent · Worrying words in a message"
    assert "“unsafe” in a meeting log note by Alice Martin." in alert.text
    assert "office" not in alert.text
    async with database.session() as session:  # the pair's other meeting is gone too
        other = (
            await session.exec(
                select(MeetingLog).where(MeetingLog.author_id != people["mentee"].id)
            )
        ).one()
        other.deleted_at = clock()
        session.add(other)
    await alice.tap("🗑️ Delete")
    await alice.tap("🗑️ Yes, delete it")
    alert = tg.user(CORA, "Cora").last
    assert alert.text.splitlines()[0] == "⚠️ No contact"
