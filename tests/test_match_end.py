"""A coordinator's decision on a match, through the real application: an early end from
/endmatch through to the coordinator's decision on the alert (ended with a reason, or kept
going), and an end by the coordinator from a timeline, in English and French. Every other
coordinator's copy of the alert shows who decided what; participants are told in their
language; stale, repeated, foreign and forged taps change nothing and say why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from bot import cli
from storage.closure import ClosureReason
from storage.db import Database
from storage.models import AuditEvent, Flag, FlagStatus, Match, MatchStatus, Program
from tests.builders import ALICE, ROBERT
from tests.conftest import BOT_TOKEN, FakeClock
from tests.harness import FakeTelegram, FakeUser
from tests.test_alerts import CLAUDE, CORA, OTTO, seed_people
from tests.test_cli import tandem
from tests.test_closure_dialogue import dispatcher_of

ALERT_BUTTONS = ["🏁 End the match", "▶️ Keep it going", "Acknowledge", "Snooze 7 days"]
ALERT_BUTTONS_FR = [
    "🏁 Mettre fin au jumelage",
    "▶️ Poursuivre le jumelage",
    "Prendre en charge",
    "Reporter de 7 jours",
]
REASONS = [
    "Goals met",
    "No time",
    "Not a good fit",
    "Moved away",
    "Found employment",
    "Other",
]


@pytest.fixture
async def people(database: Database, program: Program, clock: FakeClock) -> dict[str, Any]:
    return await seed_people(database, program, clock)


async def ask_to_end(user: FakeUser, yes: str, skip: str) -> None:
    await user.send("/endmatch")
    await user.tap(yes)
    await user.tap(skip)


async def the_match(database: Database, match_id: int) -> Match:
    async with database.session() as session:
        match = await session.get(Match, match_id)
        assert match is not None
        return match


async def the_flag(database: Database) -> Flag:
    async with database.session() as session:
        (flag,) = (await session.exec(select(Flag))).all()
        return flag


async def actions(database: Database) -> list[str]:
    async with database.session() as session:
        rows = await session.exec(select(AuditEvent.action).order_by(col(AuditEvent.id)))
        return list(rows.all())


async def test_an_early_end_from_endmatch_through_to_the_coordinators_decision(
    tg: FakeTelegram, database: Database, people: dict[str, Any]
) -> None:
    match_id = people["match"].id
    alice = tg.user(ALICE, "Alice")
    robert = tg.user(ROBERT, "Robert", language_code="fr")
    cora, claude = tg.user(CORA, "Cora"), tg.user(CLAUDE, "Claude", language_code="fr")
    await ask_to_end(alice, "Yes, ask the coordinator", "Skip")
    (alert,) = cora.messages
    assert alert.labels[:4] == ALERT_BUTTONS and alert.labels[-1] == "Show match"
    (copy,) = claude.messages
    assert copy.labels[:4] == ALERT_BUTTONS_FR
    # Cora chooses to end it: the reasons replace the buttons on her copy only.
    await cora.tap("🏁 End the match")
    assert cora.answers[-1] == "Why is the match ending? Choose the reason."
    assert cora.last.labels == [*REASONS, "‹ Back"]
    assert (await the_match(database, match_id)).status == MatchStatus.ACTIVE
    await cora.tap("‹ Back")
    assert cora.last.labels[:4] == ALERT_BUTTONS
    await cora.tap("🏁 End the match")
    await cora.tap("Goals met")
    match = await the_match(database, match_id)
    assert (match.status, match.closure_reason) == (MatchStatus.CLOSING, ClosureReason.GOALS_MET)
    flag = await the_flag(database)
    assert flag.status == FlagStatus.RESOLVED and flag.handled_by == people["cora"].id
    assert flag.evidence["decision"] == {"outcome": "ended", "reason": "goals_met"}
    assert (await actions(database))[-2:] == ["match.end", "flag.resolve"]
    assert cora.answers[-1] == "The match is ending: both people get their closure survey."
    assert cora.last.text.endswith("🏁 Ended by Cora Lee: goals met.")
    assert cora.last.labels == ["Show match"]
    # Claude's copy says who decided what, in French, and has no decision buttons left.
    (copy,) = claude.messages
    assert copy.text.endswith("🏁 Terminé par Cora Lee\u00a0: objectifs atteints.")
    assert copy.labels == ["Voir le jumelage"]
    # Both participants are told, each in their language.
    assert alice.last.text.startswith("Your coordinator has ended your match with Robert Tremblay.")
    assert robert.last.text.startswith(
        "L’équipe de coordination a mis fin à votre jumelage avec Alice"
    )
    # A late tap on Claude's old buttons (kept by his client), and Cora's repeated tap.
    await claude.press(f"mx:k:{flag.id}", copy.message_id)
    assert claude.answers[-1] == (
        "C’est déjà décidé. 🏁 Terminé par Cora Lee\u00a0: objectifs atteints."
    )
    await cora.press(f"mx:r:{flag.id}:other", alert.message_id)
    assert cora.answers[-1] == "This has already been decided. 🏁 Ended by Cora Lee: goals met."
    match = await the_match(database, match_id)
    assert (match.status, match.closure_reason) == (MatchStatus.CLOSING, ClosureReason.GOALS_MET)
    assert (await actions(database)).count("match.end") == 1
    tg.assert_no_errors()


async def test_a_french_coordinator_keeps_it_going_and_only_the_asker_is_told(
    tg: FakeTelegram, database: Database, people: dict[str, Any]
) -> None:
    alice = tg.user(ALICE, "Alice")
    robert = tg.user(ROBERT, "Robert", language_code="fr")
    cora, claude = tg.user(CORA, "Cora"), tg.user(CLAUDE, "Claude", language_code="fr")
    await ask_to_end(robert, "Oui, aviser l’équipe de coordination", "Passer")
    told_before = len(alice.messages)
    await claude.tap("▶️ Poursuivre le jumelage")
    assert claude.answers[-1] == "Le jumelage se poursuit."
    assert claude.last.text.endswith("▶️ Poursuite décidée par Claude Roy.")
    assert cora.last.text.endswith("▶️ Kept going by Claude Roy.")
    assert cora.last.labels == ["Show match"]
    flag = await the_flag(database)
    assert flag.evidence["decision"] == {"outcome": "kept", "reason": None}
    assert (await the_match(database, people["match"].id)).status == MatchStatus.ACTIVE
    assert robert.last.text.startswith(
        "L’équipe de coordination a examiné votre demande et garde pour l’instant votre jumelage"
    )
    assert len(alice.messages) == told_before  # she never knew of the request
    # Cora, late, tries to end it from her copy: already decided, by whom.
    await cora.press(f"mx:e:{flag.id}", cora.last.message_id)
    assert cora.answers[-1] == "This has already been decided. ▶️ Kept going by Claude Roy."
    assert (await the_match(database, people["match"].id)).status == MatchStatus.ACTIVE
    tg.assert_no_errors()


async def test_an_end_by_the_coordinator_from_a_timeline(
    tg: FakeTelegram, database: Database, people: dict[str, Any]
) -> None:
    match_id = people["match"].id
    alice = tg.user(ALICE, "Alice")
    robert = tg.user(ROBERT, "Robert", language_code="fr")
    cora, claude = tg.user(CORA, "Cora"), tg.user(CLAUDE, "Claude", language_code="fr")
    await ask_to_end(alice, "Yes, ask the coordinator", "Skip")  # an open request too
    await claude.send(f"/match {match_id}")
    timeline = claude.last
    assert "🏁 Mettre fin à ce jumelage" in timeline.labels
    await claude.tap("🏁 Mettre fin à ce jumelage")
    choice = claude.last
    assert choice.message_id != timeline.message_id
    assert choice.text.startswith("Mettre fin à ce jumelage? Robert Tremblay ↔ Alice Martin")
    await claude.tap("Annuler")
    assert claude.last.text == "D’accord, rien n’a changé\u00a0: le jumelage se poursuit."
    assert (await the_match(database, match_id)).status == MatchStatus.ACTIVE
    await claude.tap("🏁 Mettre fin à ce jumelage")
    await claude.tap("A déménagé")
    assert "Motif\u00a0: a déménagé" in claude.last.text
    assert "Cette action est irréversible." in claude.last.text
    assert (await the_match(database, match_id)).status == MatchStatus.ACTIVE
    confirm = claude.last
    await claude.tap("🏁 Oui, mettre fin au jumelage")
    match = await the_match(database, match_id)
    assert (match.status, match.closure_reason) == (MatchStatus.CLOSING, ClosureReason.MOVED_AWAY)
    assert claude.last.text.startswith("🏁 Vous avez mis fin à ce jumelage")
    assert not claude.last.has_buttons
    assert alice.last.text.startswith("Your coordinator has ended your match")
    assert robert.last.text.startswith("L’équipe de coordination a mis fin à votre jumelage")
    # The end request was resolved with it; Cora's alert says so.
    flag = await the_flag(database)
    assert flag.status == FlagStatus.RESOLVED
    assert cora.messages[0].text.endswith("🏁 Ended by Claude Roy: moved away.")
    # A repeated confirmation, and Cora's own attempt from the timeline, change nothing.
    await claude.press(f"mx:ty:{match_id}:moved_away", confirm.message_id)
    assert claude.answers[-1] == "Claude Roy a déjà mis fin à ce jumelage (a déménagé)."
    await cora.send(f"/match {match_id}")
    assert "🏁 End this match" not in cora.last.labels  # a closing match has none
    await cora.press(f"mx:t:{match_id}")
    assert cora.answers[-1] == "Claude Roy has already ended this match (moved away)."
    assert (await actions(database)).count("match.end") == 1
    tg.assert_no_errors()


async def test_foreign_participant_and_forged_presses_change_nothing(
    tg: FakeTelegram, database: Database, people: dict[str, Any]
) -> None:
    match_id = people["match"].id
    alice = tg.user(ALICE, "Alice")
    await ask_to_end(alice, "Yes, ask the coordinator", "Skip")
    flag = await the_flag(database)
    otto = tg.user(OTTO, "Otto")
    await otto.send("/help")  # a message to press on
    refused = "Only this program's coordinators can do that."
    for data in (
        f"mx:e:{flag.id}",
        f"mx:k:{flag.id}",
        f"mx:r:{flag.id}:goals_met",
        f"mx:t:{match_id}",
        f"mx:ty:{match_id}:no_time",
    ):
        await otto.press(data)
        assert otto.answers[-1] == refused
        await alice.press(data)
        assert alice.answers[-1] == refused
    cora = tg.user(CORA, "Cora")
    for forged in (
        "mx:zz:1",
        f"mx:r:{flag.id}:completed",  # not a reason a coordinator chooses
        f"mx:r:{flag.id}",
        f"mx:ty:{match_id}:nonsense",
        "mx:e:99999999999",
        "mx:e:424242",
        f"mx:k:{flag.id}:goals_met",
    ):
        await cora.press(forged)
        assert cora.answers[-1] == "That button no longer works."
    match = await the_match(database, match_id)
    assert match.status == MatchStatus.ACTIVE
    assert (await the_flag(database)).status == FlagStatus.OPEN
    assert "match.end" not in await actions(database)
    tg.assert_no_errors()


# --- every way a match ends goes through one service: the alert copies follow ----------


async def test_the_planned_end_resolves_an_open_request_and_edits_every_alert_copy(
    tg: FakeTelegram, database: Database, people: dict[str, Any], clock: FakeClock
) -> None:
    """The dispatcher's planned end while an /endmatch request waits: the request is
    resolved with an audit event, both coordinators' copies say the match ended (no
    decision buttons left), and a late tap on a copy says so and changes nothing."""
    match_id = people["match"].id
    alice = tg.user(ALICE, "Alice")
    cora, claude = tg.user(CORA, "Cora"), tg.user(CLAUDE, "Claude", language_code="fr")
    await ask_to_end(alice, "Yes, ask the coordinator", "Skip")
    (alert,), (copy,) = cora.messages, claude.messages
    assert alert.labels[:4] == ALERT_BUTTONS
    async with database.session() as session:
        match = await session.get(Match, match_id)
        assert match is not None
        match.planned_end = clock().date()  # the planned end has begun in Toronto by 14:00 UTC
        session.add(match)
    clock.advance(days=1)
    await dispatcher_of(tg).tick()
    match = await the_match(database, match_id)
    assert (match.status, match.closure_reason) == (MatchStatus.CLOSING, ClosureReason.COMPLETED)
    flag = await the_flag(database)
    assert flag.status == FlagStatus.RESOLVED and flag.handled_by is None
    assert flag.evidence["decision"] == {"outcome": "ended", "reason": "completed"}
    assert (await actions(database))[-2:] == ["match.end", "flag.resolve"]
    alert = cora.api.message(CORA, alert.message_id)
    assert alert.text.endswith("🏁 The match ended: completed the program.")
    assert alert.labels == ["Show match"]
    copy = claude.api.message(CLAUDE, copy.message_id)
    assert copy.text.endswith("🏁 Le jumelage a pris fin\u00a0: programme terminé.")
    assert copy.labels == ["Voir le jumelage"]
    await cora.press(f"mx:r:{flag.id}:goals_met", alert.message_id)
    assert cora.answers[-1] == (
        "This has already been decided. 🏁 The match ended: completed the program."
    )
    assert (await the_match(database, match_id)).closure_reason == ClosureReason.COMPLETED
    assert (await actions(database)).count("match.end") == 1
    tg.assert_no_errors()


async def test_tandem_match_close_edits_every_alert_copy(
    tg: FakeTelegram,
    database: Database,
    database_url: str,
    people: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    """`tandem match close` with an end request open: resolved, audited, and each
    coordinator's copy edited through the Bot API the command line reaches."""
    match_id = people["match"].id
    alice = tg.user(ALICE, "Alice")
    cora, claude = tg.user(CORA, "Cora"), tg.user(CLAUDE, "Claude", language_code="fr")
    await ask_to_end(alice, "Yes, ask the coordinator", "Skip")
    (alert,), (copy,) = cora.messages, claude.messages
    monkeypatch.chdir(tmp_path)  # away from any developer .env file
    monkeypatch.setattr(cli, "telegram_request", lambda: tg.api)
    monkeypatch.setattr(cli, "clock", clock)
    monkeypatch.setattr(cli, "cli_actor", lambda: "cli ana")
    args = ("match", "close", str(people["match"].program_id), str(match_id))
    result = await tandem(database_url, *args, "--reason", "found_employment",
                          TELEGRAM_BOT_TOKEN=BOT_TOKEN)  # fmt: skip
    assert result.exit_code == 0, (result.stderr, result.exception)
    flag = await the_flag(database)
    assert flag.status == FlagStatus.RESOLVED
    assert flag.evidence["decision"] == {"outcome": "ended", "reason": "found_employment"}
    async with database.session() as session:
        events = (await session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))).all()
    assert [(e.action, e.actor_label) for e in events][-2:] == [
        ("match.end", "cli ana"),
        ("flag.resolve", "cli ana"),
    ]
    alert = cora.api.message(CORA, alert.message_id)
    assert alert.text.endswith("🏁 The match ended: found employment.")
    assert alert.labels == ["Show match"]
    copy = claude.api.message(CLAUDE, copy.message_id)
    assert copy.text.endswith("🏁 Le jumelage a pris fin\u00a0: a trouvé un emploi.")
    tg.assert_no_errors()
