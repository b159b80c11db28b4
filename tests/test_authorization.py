"""Who may do what: every role × every registered command and every button prefix.

One world: program A with its coordinator, a mentor and a mentee matched together (with
marker strings planted in a goal, a meeting note, a reflection, a flag's note and the
mentee's name), program B with its own coordinator, someone still joining A, a stranger
and an admin. Program A's people first use their commands, which collects the buttons
they are shown; then each role (one test each) sends every command and presses every
button that belongs to someone else — real ones and forged ones with A's ids. Nothing
the role must not read appears in what they are sent, and nothing they must not change
changes in the database.

The commands and prefixes come from the built Application, so a new command or button
prefix without a row in `COMMANDS` or `PREFIXES` fails `test_every_command_and_prefix_has_a_row`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select as sa_select
from sqlmodel import SQLModel, select
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler

from storage.db import Database
from storage.models import (
    Answer,
    AuditEvent,
    ExtensionStatus,
    Flag,
    FlagStatus,
    Goal,
    MatchExtension,
    MeetingLog,
    Membership,
    PersonStatus,
    Program,
    Prompt,
    PromptKind,
    PromptStatus,
    Role,
)
from tests.builders import MONDAY_NINE_IN_TORONTO, add_match, ask, onboarded
from tests.conftest import ADMIN_ID, FakeClock
from tests.harness import FakeTelegram, FakeUser
from tests.test_fuzz import COMMANDS as FUZZED_COMMANDS

STRANGER, JOINING, MENTEE, MENTOR, COORD_A, COORD_B, ADMIN = (
    "stranger", "joining", "mentee", "mentor", "coordinator A", "coordinator B", "admin",
)  # fmt: skip
ROLES = (STRANGER, JOINING, MENTEE, MENTOR, COORD_A, COORD_B, ADMIN)
IDS = {STRANGER: 9001, JOINING: 9002, MENTEE: 9003, MENTOR: 9004, COORD_A: 9005, COORD_B: 9006}
OWNERS = (MENTEE, MENTOR, COORD_A)  # program A's people, whose buttons others forge

GOAL, NOTE, REFLECTION, FLAG_NOTE, NAME = (
    "GOALMARK", "NOTEMARK", "REFLECTMARK", "FLAGNOTEMARK", "NAMEMARK",
)  # fmt: skip
# Which markers each role may read; every other marker must never reach them.
MAY_READ: dict[str, set[str]] = {
    STRANGER: set(),
    JOINING: set(),
    MENTEE: {GOAL, NOTE, REFLECTION, NAME},
    MENTOR: {GOAL, NOTE, NAME},  # the introduction shows the mentee's goals
    COORD_A: {GOAL, NOTE, REFLECTION, FLAG_NOTE, NAME},
    COORD_B: set(),
    ADMIN: {NAME},  # /people of any program, to erase someone (as `tandem people` shows)
}

EVERYONE = set(ROLES)
PARTICIPANTS = {MENTEE, MENTOR}
COORDINATORS = {COORD_A, COORD_B}
# command -> (argument, the roles it serves). Everyone else is refused: no marker, and
# nothing in the database changes.
COMMANDS: dict[str, tuple[str, set[str]]] = {
    "start": ("", EVERYONE),
    "help": ("", EVERYONE),
    "settings": ("", EVERYONE),
    "language": ("", EVERYONE),
    "cancel": ("", EVERYONE),
    "checkin": ("", PARTICIPANTS),
    "skip": ("", PARTICIPANTS),
    "pause": ("", PARTICIPANTS),
    "resume": ("", PARTICIPANTS),
    "log": ("45m yesterday video: forged", PARTICIPANTS),
    "logs": ("", PARTICIPANTS),
    "goals": ("", {MENTEE}),
    "reflect": ("", PARTICIPANTS),
    "journal": ("", PARTICIPANTS),
    "endmatch": ("", PARTICIPANTS),
    "certificate": ("", PARTICIPANTS | COORDINATORS),
    "flags": ("", COORDINATORS),
    "matches": ("", COORDINATORS),
    "match": ("{match}", COORDINATORS),
    "dashboard": ("", COORDINATORS),
    "report": ("", COORDINATORS),
    "broadcast": ("", COORDINATORS),
    "invite": ("", COORDINATORS | {ADMIN}),
    "pair": ("", COORDINATORS),
    "people": ("", COORDINATORS | {ADMIN}),
    "export": ("", COORDINATORS),
    "newprogram": ("Forged Program", {ADMIN}),
    "mydata": ("", EVERYONE),  # one's own data only: markers of others never show
    "deleteme": ("", EVERYONE),  # asks first; nothing changes until the confirmation
}
# prefix -> data forged with program A's ids, and whose it is (who may press it), beyond
# the buttons A's people are shown (those are whoever was shown them).
A_COORD, A_MENTEE, A_PAIR, ANYONE = {COORD_A}, {MENTEE}, {MENTEE, MENTOR}, set(ROLES)
# An admin invites people to any program, and lists and erases its people (the erasure
# itself needs the reason typed next).
ADMIN_MAY_PRESS = ("co:inv:", "co:new:", "co:ppl:", "co:erl:", "co:era:", "co:erq:")
# Buttons that name nobody and act on the presser alone: /deleteme's confirmation erases
# whoever presses it, which is each person's right (tests/test_deleteme.py).
SELF_ONLY = frozenset({"del:yes"})

PREFIXES: dict[str, tuple[tuple[str, set[str]], ...]] = {
    "onb": (("onb:role:mentee", ANYONE), ("onb:consent:yes", ANYONE)),
    "lang": (("lang:fr", ANYONE),),
    "set": (("set:menu:name", ANYONE),),
    "ci": (("ci:{prompt}:contact:yes", A_MENTEE), ("ci:{prompt}:_control:submit", A_MENTEE)),
    "pause": (("pause:{match}:1", A_PAIR),),
    "ml": (("ml:1:_control:save", ANYONE),),  # a draft lives in its author's own chat data
    "mlg": (("mlg:del:{log}", {MENTOR}), ("mlg:edit:{log}", {MENTOR})),
    "goal": (("goal:done:{goal}", A_MENTEE), ("goal:drop:{goal}", A_MENTEE)),
    "journal": (("journal:1", ANYONE),),  # the presser's own journal
    "end": (
        ("end:yes:{match}", A_PAIR),
        ("end:pick:{match}", A_PAIR),
        ("end:skip:{match}", A_PAIR),
    ),
    "fl": tuple(
        (f"fl:{action}:{{open_flag}}", A_COORD) for action in ("ack", "snz", "res", "nonote")
    ),
    # A coordinator's decision to end a match, on an end request's alert or a timeline.
    "mx": (
        ("mx:e:{open_flag}", A_COORD),
        ("mx:k:{open_flag}", A_COORD),
        ("mx:r:{open_flag}:goals_met", A_COORD),
        ("mx:t:{match}", A_COORD),
        ("mx:tr:{match}:no_time", A_COORD),
        ("mx:ty:{match}:no_time", A_COORD),
    ),
    "ov": (("ov:mt:{match}", A_COORD), ("ov:f:{flag}", A_COORD)),
    "co": (
        ("co:pick:0:pair:{program}", A_COORD),
        # Erasing someone from /people: the choice, the terms, the wait for the reason
        # (the erasure itself needs the reason typed next, by the same coordinator).
        ("co:erl:{program}:0", A_COORD),
        ("co:era:{program}:{mentee_person}", A_COORD),
        ("co:erq:{program}:{mentee_person}", A_COORD),
    ),
    "bc": (("bc:prog:{program}:x", A_COORD),),
    "dash": (("dash:pick:{program}", A_COORD),),
    "rep": (("rep:{program}:12", A_COORD),),
    "exp": (("exp:{program}", A_COORD),),
    "cert": (("cert:{match}", A_PAIR | A_COORD),),
    # An extension request's Approve / Decline, sent to the match's coordinators only.
    # The request's id, so that a button of an earlier round cannot decide a later one.
    "ext": (("ext:y:{extension}", A_COORD), ("ext:n:{extension}", A_COORD)),
    # The re-asked consent: agreeing when one's consent is current changes nothing.
    "cst": (("cst:yes", ANYONE), ("cst:no", ANYONE)),
    # Erasing oneself: "no" leaves everything as it was (the yes is tested in
    # tests/test_deleteme.py, since it erases the presser).
    "del": (("del:no", ANYONE),),
}


# --- what the Application registers -------------------------------------------------------


def _handlers(handlers: list[Any]) -> list[Any]:
    found: list[Any] = []
    for handler in handlers:
        if isinstance(handler, ConversationHandler):
            inner = [*handler.entry_points, *handler.fallbacks]
            inner += [h for state in handler.states.values() for h in state]
            found += _handlers(inner)
        else:
            found.append(handler)
    return found


def registered(application: Any) -> tuple[set[str], set[str]]:
    """The commands and callback prefixes the built Application answers."""
    handlers = _handlers([h for group in application.handlers.values() for h in group])
    commands = {c for h in handlers if isinstance(h, CommandHandler) for c in h.commands}
    prefixes = set()
    for handler in handlers:
        if isinstance(handler, CallbackQueryHandler) and handler.pattern is not None:
            pattern = getattr(handler.pattern, "pattern", handler.pattern)
            if found := re.match(r"\^([a-z_]+):", str(pattern)):
                prefixes.add(found.group(1))
    return commands, prefixes


def test_every_command_and_prefix_has_a_row(tg: FakeTelegram) -> None:
    commands, prefixes = registered(tg.application)
    assert commands == set(COMMANDS)
    # Onboarding's handler takes every press while someone is joining (no pattern): its
    # own buttons are `onb:`.
    assert prefixes | {"onb"} == set(PREFIXES)
    assert commands <= set(FUZZED_COMMANDS), "tests/test_fuzz.py should send it too"


# --- the world ------------------------------------------------------------------------------


@dataclass
class World:
    tg: FakeTelegram
    database: Database
    users: dict[str, FakeUser]
    ids: dict[str, int]
    owned_data: dict[str, set[str]] = field(default_factory=dict)  # role -> callback data


async def build(tg: FakeTelegram, database: Database, clock: FakeClock) -> World:
    now = clock()
    async with database.session() as session:
        programs = [
            Program(name=name, weeks=12, created_at=now, **MONDAY_NINE_IN_TORONTO)
            for name in ("Program A", "Program B")
        ]
        session.add_all(programs)
        await session.flush()
        a, b = (program.id or 0 for program in programs)

        def person(role: str, name: str, program_id: int, kind: str, **extra: Any) -> Any:
            return onboarded(
                session, now, program_id=program_id, role=kind, telegram_id=IDS[role],
                name=name, locale="en", **MONDAY_NINE_IN_TORONTO, **extra,
            )  # fmt: skip

        mentee = await person(MENTEE, f"Alice {NAME}", a, Role.MENTEE)
        mentor = await person(MENTOR, "Robert Tremblay", a, Role.MENTOR)
        coordinator = await person(COORD_A, "Chloé A", a, Role.COORDINATOR)
        await person(COORD_B, "Bruno B", b, Role.COORDINATOR)
        joining = await person(JOINING, "Jo", a, Role.MENTEE)
        joining.status = PersonStatus.ONBOARDING
        for membership in await session.exec(
            select(Membership).where(Membership.person_id == joining.id)
        ):
            membership.completed_at = None
        match = await add_match(
            session, a, mentor, mentee, now - timedelta(days=30),
            planned_end=(now + timedelta(weeks=8)).date(),
        )  # fmt: skip
        extension = MatchExtension(  # both said yes: for A's coordinators to decide
            match_id=match.id or 0, planned_end=match.planned_end, weeks=4,
            status=ExtensionStatus.AGREED, mentee_wants=True, mentor_wants=True, created_at=now,
        )  # fmt: skip
        membership = (
            await session.exec(select(Membership).where(Membership.person_id == mentee.id))
        ).one()
        goal = Goal(membership_id=membership.id or 0, text=f"Get a job {GOAL}", created_at=now)
        log = MeetingLog(
            match_id=match.id or 0, author_id=mentor.id or 0, minutes=45, mode="video",
            met_on=(now - timedelta(days=2)).date(), notes=f"Mock interview {NOTE}",
            created_at=now,
        )  # fmt: skip
        reflection = Prompt(
            person_id=mentee.id or 0, match_id=match.id or 0, kind=PromptKind.REFLECTION,
            period="2026-W45", instrument="reflection_mentee_middle",
            due_at=now - timedelta(days=9),
            closes_at=now - timedelta(days=2), status=PromptStatus.ANSWERED,
            sent_at=now - timedelta(days=9), answered_at=now - timedelta(days=8),
        )  # fmt: skip
        flag = Flag(
            match_id=match.id or 0, rule="missed", severity="high", evidence={},
            status=FlagStatus.RESOLVED, opened_at=now - timedelta(days=3),
            handled_by=coordinator.id, handled_at=now, note=f"Called them {FLAG_NOTE}",
        )  # fmt: skip
        open_flag = Flag(
            match_id=match.id or 0, rule="no_contact", severity="medium",
            evidence={"weeks": 3, "since": "2026-10-26"}, opened_at=now - timedelta(days=1),
        )  # fmt: skip
        session.add_all([goal, log, reflection, flag, open_flag, extension])
        await session.flush()
        session.add(
            Answer(
                prompt_id=reflection.id or 0,
                question_key="learned",
                value=f"I learned {REFLECTION}",
                answered_at=now - timedelta(days=8),
            )
        )
        session.add(
            AuditEvent(
                actor_id=coordinator.id,
                action="flag.resolve",
                subject=f"flag:{flag.id}",
                detail={"match_id": match.id, "rule": flag.rule, "with_note": True},
                at=now,
            )
        )
        ids = {
            "program": a, "match": match.id or 0, "goal": goal.id or 0, "log": log.id or 0,
            "flag": flag.id or 0, "open_flag": open_flag.id or 0, "mentee_person": mentee.id or 0,
            "extension": extension.id or 0,
        }  # fmt: skip
    users = {role: tg.user(IDS[role], role.split()[0].title()) for role in IDS}
    users[ADMIN] = tg.user(ADMIN_ID, "Admin")
    world = World(tg, database, users, ids)
    world.ids["prompt"] = (await ask(tg, database, clock, mentee, match)).prompt_id
    for role in OWNERS:  # A's people use their commands, showing them their buttons
        for command, (argument, roles) in COMMANDS.items():
            if role in roles and command not in {"cancel", "start"}:
                await users[role].send(f"/{command} {argument.format(**world.ids)}".rstrip())
                await users[role].send("/cancel")
        world.owned_data[role] = {
            button.callback_data
            for message in users[role].messages
            for row in message.buttons
            for button in row
            if button.callback_data
        }
    return world


async def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every table but people's own rows (last contact, language) and the bot's stored
    conversation state."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    async with database.session() as session:
        for name, table in SQLModel.metadata.tables.items():
            if name in {"person", "stored_state"}:
                continue
            rows = (await session.exec(sa_select(table))).all()  # type: ignore[call-overload]
            tables[name] = sorted(tuple(map(repr, row)) for row in rows)
    return tables


def read_by(user: FakeUser, since: int) -> str:
    seen = [m.text for m in user.messages[since:]] + [e for m in user.messages for e in m.edits]
    return "\n".join([*seen, *user.answers])


def forbidden(role: str) -> set[str]:
    return {GOAL, NOTE, REFLECTION, FLAG_NOTE, NAME} - MAY_READ[role]


@pytest.mark.parametrize("role", ROLES)
async def test_role_sees_and_changes_only_what_it_may(
    role: str, tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    world = await build(tg, database, clock)
    owners_read = "\n".join(read_by(world.users[owner], 0) for owner in OWNERS)
    for marker in (GOAL, NOTE, REFLECTION, FLAG_NOTE, NAME):  # the markers are readable
        assert marker in owners_read, marker
    user = world.users[role]
    since = len(user.messages)
    for command, (argument, roles) in COMMANDS.items():
        before = await snapshot(database)
        await user.send(f"/{command} {argument.format(**world.ids)}".rstrip())
        if role not in roles:
            assert await snapshot(database) == before, f"/{command} by {role} changed data"
        await user.send("/cancel")
    if not user.messages:
        await user.send("/help")  # a press needs a message of the bot's to come from
    others = set().union(*(data for owner, data in world.owned_data.items() if owner != role))
    forged = {
        template.format(**world.ids)
        for rows in PREFIXES.values()
        for template, whose in rows
        if role not in whose
    }
    for data in sorted((others | forged) - world.owned_data.get(role, set()) - SELF_ONLY):
        if role == ADMIN and data.startswith(ADMIN_MAY_PRESS):
            continue
        before = await snapshot(database)
        await user.press(data)
        after = await snapshot(database)
        assert after == before, f"{role} pressing {data!r} changed data"
    read = read_by(user, since)
    for marker in forbidden(role):
        assert marker not in read, f"{role} read {marker}"
