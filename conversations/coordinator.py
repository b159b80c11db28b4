"""Coordinator commands: /invite, /pair and /people for a program's coordinators, and
/newprogram (plus /invite in any program) for Tandem's admins.

Buttons carry everything a step needs, as `co:<action>:<program id>[:<argument>…]`, so a
restart or a lost conversation state loses nothing. Callback data is therefore never
trusted: every press is checked again against the person pressing it — the program in
the data must be one they coordinate (any program, for an admin's invitations), and the
people named in it must be in that program in the expected role. Each step decides in
one transaction and sends once it has committed. The conversation state only records
that a tap is expected, so that text typed instead gets an explanation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import partial
from typing import TypeVar

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from conversations import onboarding
from conversations.kit.buttons import (
    BUTTON_CLIP,
    CHOICES_PER_PAGE,
    Button,
    keyboard,
    page_buttons,
    page_of,
    parse_number,
)
from conversations.kit.context import TandemContext
from conversations.kit.goal_questions import achieved_label
from conversations.kit.profile import FIELD, GOALS, HELP_WITH, slot_text, zone_label
from conversations.kit.reply import say
from conversations.kit.text import NAME_CLIP, clip, labelled, local_day_text
from conversations.kit.unusable import describe_unusable, explain_unusable
from locales.translator import N_, Html, Translator, escape, translator
from storage.goals import achieved_counts
from storage.invites import create_invites, invite_link
from storage.models import AuditEvent, Match, Membership, Person, PersonStatus, Program, Role
from storage.pairing import (
    UNAVAILABLE,
    MatchReason,
    PairingError,
    PairingProblem,
    ParticipantRow,
    Suggestion,
    create_match,
    participants,
    person_label,
    suggested_pairs,
    unmatched,
)
from storage.people import person_by_telegram_id
from storage.programs import NAME_LENGTH, ProgramError, ProgramProblem, create_program

T = TypeVar("T")

NAME = "coordinator"
WAITING = "waiting"  # a tap on one of this dialogue's buttons is expected
PREFIX = "co"
BATCH = 5  # invitation links made by the "5 links" buttons
SUGGESTIONS = 5
PEOPLE_PER_PAGE = 30
# HTML characters of list lines per /people page. Telegram allows 4096 characters once the
# markup is parsed; the rest (title, headings, a hint) stays under about 1,000 even with a
# 120-character program name made of characters that need escaping.
LINES_BUDGET = 2900

DETAIL_CLIP = 600  # a profile answer quoted in a message

ROLE_LABELS = {
    Role.MENTEE: N_("Mentee"),
    Role.MENTOR: N_("Mentor"),
    Role.COORDINATOR: N_("Coordinator"),
}
ROLES = {role.value: role for role in Role}
GROUP_HEADINGS = {
    Role.COORDINATOR: N_("Coordinators"),
    Role.MENTOR: N_("Mentors"),
    Role.MENTEE: N_("Mentees"),
}


# --- who is asking ------------------------------------------------------------------------


class Task(StrEnum):
    """What a command or button does, which decides who may do it."""

    INVITE = "invite"
    PAIR = "pair"
    PEOPLE = "people"


@dataclass(frozen=True)
class Actor:
    """The person pressing or typing. An admin may have no person row at all."""

    telegram_id: int
    person: Person | None
    admin: bool
    coordinates: frozenset[int]  # programs where they finished joining as coordinator

    @property
    def person_id(self) -> int | None:
        return None if self.person is None else self.person.id

    def may(self, task: Task, program_id: int) -> bool:
        """Admins may invite into any program; everything else is for its coordinators."""
        return program_id in self.coordinates or (self.admin and task == Task.INVITE)

    def label(self, program_id: int) -> str:
        return "coordinator" if program_id in self.coordinates else f"admin {self.telegram_id}"


async def current_actor(session: AsyncSession, update: Update, ctx: TandemContext) -> Actor:
    user = update.effective_user
    assert user is not None
    person = await person_by_telegram_id(session, user.id)
    coordinates: frozenset[int] = frozenset()
    if person is not None and person.status not in UNAVAILABLE:
        statement = select(Membership.program_id).where(
            Membership.person_id == person.id,
            Membership.role == Role.COORDINATOR,
            col(Membership.completed_at).is_not(None),
        )
        coordinates = frozenset((await session.exec(statement)).all())
    admin = user.id in ctx.services.settings.admin_telegram_ids
    return Actor(user.id, person, admin, coordinates)


async def programs_for(session: AsyncSession, actor: Actor, task: Task) -> Sequence[Program]:
    statement = select(Program).order_by(col(Program.id))
    if not (actor.admin and task == Task.INVITE):
        statement = statement.where(col(Program.id).in_(actor.coordinates))
    return (await session.exec(statement)).all()


class Refused(Exception):
    """Not allowed, or no longer possible: nothing changes and the message says why."""


def not_a_coordinator(tr: Translator) -> Refused:
    return Refused(tr.gettext("This command is for program coordinators."))


# --- what to show -------------------------------------------------------------------------


@dataclass(frozen=True)
class Letter:
    """A message to someone other than the actor, sent after the transaction commits."""

    chat_id: int | None
    text: str
    name: str


@dataclass
class Screen:
    """What one step shows: the text (Telegram HTML) and buttons that replace the message
    whose button was pressed, a pop-up answer to the press, letters to others."""

    text: str
    rows: list[list[Button]] = field(default_factory=list)
    waiting: bool = False
    notice: str | None = None
    letters: list[Letter] = field(default_factory=list)


def data(action: str, program_id: int | None, *args: object) -> str:
    return ":".join([PREFIX, action, str(program_id or 0), *(str(arg) for arg in args)])


@dataclass(frozen=True)
class Press:
    action: str
    program_id: int
    args: tuple[str, ...]


def parse_press(raw: str | None) -> Press | None:
    parts = (raw or "").split(":")
    if len(parts) < 3 or parts[0] != PREFIX:
        return None
    program_id = parse_number(parts[2])
    return None if program_id is None else Press(parts[1], program_id, tuple(parts[3:]))


@dataclass
class Turn:
    """One step's inputs: the open transaction, who acts, in which program, the
    arguments from the button."""

    session: AsyncSession
    update: Update
    ctx: TandemContext
    actor: Actor
    program: Program
    args: tuple[str, ...] = ()

    @property
    def tr(self) -> Translator:
        return self.ctx.tr

    @property
    def program_id(self) -> int:
        assert self.program.id is not None
        return self.program.id

    def stale(self) -> Refused:
        return Refused(describe_unusable(self.tr, self.update, expects_text=False))

    def number(self, index: int, default: int | None = None) -> int:
        """The argument at `index` as an id or page number; a missing or forged one makes
        the press stale."""
        value = parse_number(self.args[index]) if index < len(self.args) else default
        if value is None:
            raise self.stale()
        return value


def _name(person: Person, limit: int = NAME_CLIP) -> str:
    return clip(person_label(person), limit)


# --- choosing a program -------------------------------------------------------------------

FIRST_ACTION = {Task.INVITE: "inv", Task.PAIR: "pair", Task.PEOPLE: "ppl"}


async def _open(
    session: AsyncSession, update: Update, ctx: TandemContext, task: Task, page: int = 0
) -> Screen:
    """A command's first screen: its program's menu, or a choice of program."""
    actor = await current_actor(session, update, ctx)
    programs = await programs_for(session, actor, task)
    if not programs:
        if actor.admin and task == Task.INVITE:
            return Screen(
                ctx.tr.gettext(
                    "There are no programs yet. Create one with /newprogram followed by its name."
                )
            )
        raise not_a_coordinator(ctx.tr)
    if len(programs) == 1:
        turn = Turn(session, update, ctx, actor, programs[0])
        return await ACTIONS[FIRST_ACTION[task]][1](turn)
    shown, page, pages = page_of(programs, page, CHOICES_PER_PAGE)
    rows = [
        [(clip(program.name, NAME_CLIP), data(FIRST_ACTION[task], program.id))] for program in shown
    ]
    rows.append(page_buttons(ctx.tr, page, pages, lambda number: data("pick", 0, task, number)))
    return Screen(ctx.tr.gettext("Which program?"), rows, waiting=True)


# --- /invite ------------------------------------------------------------------------------


async def invite_menu(turn: Turn) -> Screen:
    tr, program_id = turn.tr, turn.program_id
    roles = [(tr.gettext(ROLE_LABELS[role]), data("new", program_id, role, 1)) for role in Role]
    batches = [
        (
            tr.ngettext("{n} mentee link", "{n} mentee links", BATCH),
            data("new", program_id, Role.MENTEE, BATCH),
        ),
        (
            tr.ngettext("{n} mentor link", "{n} mentor links", BATCH),
            data("new", program_id, Role.MENTOR, BATCH),
        ),
    ]
    text = tr.gettext(
        "<b>{program}</b>: who are you inviting? Each link lets one person join.",
        program=turn.program.name,
    )
    return Screen(text, [roles, batches], waiting=True)


async def make_invites(turn: Turn) -> Screen:
    tr = turn.tr
    role = ROLES.get(turn.args[0]) if turn.args else None
    count = turn.number(1)
    if role is None or count not in (1, BATCH):
        raise turn.stale()
    now = turn.ctx.now()
    invites = await create_invites(
        turn.session,
        program_id=turn.program_id,
        role=role,
        now=now,
        count=count,
        created_by=turn.actor.person_id,
    )
    turn.session.add(
        AuditEvent(
            actor_id=turn.actor.person_id,
            actor_label=turn.actor.label(turn.program_id),
            action="invite.create",
            subject=f"program:{turn.program_id}",
            detail={"role": role, "count": count, "invites": [invite.id for invite in invites]},
            at=now,
        )
    )
    username = turn.ctx.bot.username
    links = "\n".join(invite_link(username, invite.code) for invite in invites)
    zone = (turn.actor.person and turn.actor.person.timezone) or turn.program.timezone
    until = local_day_text(tr, invites[0].expires_at, zone)
    lines = [
        tr.ngettext(
            "<b>Invitation link for {program}</b> ({role})",
            "<b>{n} invitation links for {program}</b> ({role})",
            count,
            program=turn.program.name,
            role=tr.gettext(ROLE_LABELS[role]),
        ),
        "",
        escape(links),
        "",
        tr.ngettext(
            "It works once, until {date}. Send it to the person you are inviting.",
            "Each works once, until {date}. Send one to each person you are inviting.",
            count,
            date=until,
        ),
    ]
    return Screen("\n".join(lines))


# --- /pair --------------------------------------------------------------------------------


def _reason(tr: Translator, reason: MatchReason) -> str:
    match reason:
        case MatchReason.LANGUAGE:
            return tr.gettext("same language")
        case MatchReason.FIELD:
            return tr.gettext("similar field")
        case MatchReason.TIMEZONE:
            return tr.gettext("close time zones")


def _suggestion_line(tr: Translator, index: int, suggestion: Suggestion) -> str:
    reasons = ", ".join(_reason(tr, reason) for reason in suggestion.reasons)
    why = reasons or tr.gettext("nothing obvious in common")
    pair = f"<b>{escape(_name(suggestion.mentor))}</b> ↔ <b>{escape(_name(suggestion.mentee))}</b>"
    return f"{index}. {labelled(tr, Html(pair), why)}"


def _pair_label(mentor: Person, mentee: Person) -> str:
    return f"{_name(mentor, BUTTON_CLIP)} ↔ {_name(mentee, BUTTON_CLIP)}"


def _cancel_row(turn: Turn) -> list[Button]:
    return [(turn.tr.gettext("Cancel"), data("no", turn.program_id))]


async def pair_menu(turn: Turn) -> Screen:
    tr, program_id = turn.tr, turn.program_id
    mentors = await unmatched(turn.session, program_id, Role.MENTOR)
    mentees = await unmatched(turn.session, program_id, Role.MENTEE)
    waiting = tr.gettext(
        "{mentors} and {mentees} waiting for a match.",
        mentors=tr.ngettext("{n} mentor", "{n} mentors", len(mentors)),
        mentees=tr.ngettext("{n} mentee", "{n} mentees", len(mentees)),
    )
    if not mentors or not mentees:
        text = tr.gettext(
            "There's nobody to pair in {program} right now: {waiting} People appear here "
            "once they have finished joining, while they have no match. Send /invite to "
            "invite more.",
            program=turn.program.name,
            waiting=waiting,
        )
        return Screen(text)
    suggestions = await suggested_pairs(
        turn.session, program_id, now=turn.ctx.now(), limit=SUGGESTIONS
    )
    lines = [tr.gettext("<b>Pairing in {program}</b>", program=turn.program.name), waiting]
    if suggestions:
        lines += ["", tr.gettext("Suggested pairs:")]
        lines += [_suggestion_line(tr, index, item) for index, item in enumerate(suggestions, 1)]
    lines += ["", tr.gettext("Tap a pair to review it, or choose the people yourself.")]
    rows = [
        [
            (
                _pair_label(item.mentor, item.mentee),
                data("ask", program_id, item.mentor.id, item.mentee.id),
            )
        ]
        for item in suggestions
    ]
    rows += [[(tr.gettext("Choose myself"), data("mtr", program_id, 0))], _cancel_row(turn)]
    return Screen("\n".join(lines), rows, waiting=True)


async def _members(
    session: AsyncSession, program_id: int, role: Role, person_ids: Sequence[int]
) -> dict[int, tuple[Person, Membership]]:
    """Those of `person_ids` who finished joining the program in `role`."""
    statement = (
        select(Person, Membership)
        .join(Membership, col(Membership.person_id) == col(Person.id))
        .where(
            Membership.program_id == program_id,
            Membership.role == role,
            col(Membership.completed_at).is_not(None),
            col(Person.id).in_(person_ids),
        )
    )
    return {
        person.id or 0: (person, membership) for person, membership in await session.exec(statement)
    }


def _member_line(tr: Translator, person: Person, membership: Membership) -> str:
    name = Html(f"<b>{escape(_name(person))}</b>")
    if not membership.field:
        return f"• {name}"
    return f"• {labelled(tr, name, clip(membership.field, NAME_CLIP))}"


async def _choice_list(
    turn: Turn, role: Role, page: int, pick: Callable[[Person], str], to: Callable[[int], str]
) -> tuple[list[str], list[list[Button]]]:
    """Lines and buttons for one page of the people waiting in `role`."""
    waiting = await unmatched(turn.session, turn.program_id, role)
    shown, page, pages = page_of(waiting, page, CHOICES_PER_PAGE)
    members = await _members(turn.session, turn.program_id, role, [p.id or 0 for p in shown])
    lines = [_member_line(turn.tr, *members[person.id or 0]) for person in shown]
    rows = [[(_name(person, BUTTON_CLIP), pick(person))] for person in shown]
    rows += [page_buttons(turn.tr, page, pages, to), _cancel_row(turn)]
    return lines, rows


async def choose_mentor(turn: Turn) -> Screen:
    program_id = turn.program_id
    if not await unmatched(turn.session, program_id, Role.MENTOR):
        return await pair_menu(turn)
    lines, rows = await _choice_list(
        turn,
        Role.MENTOR,
        turn.number(0, 0),
        pick=lambda mentor: data("mte", program_id, mentor.id, 0),
        to=lambda page: data("mtr", program_id, page),
    )
    title = turn.tr.gettext("<b>{program}</b>: which mentor?", program=turn.program.name)
    return Screen("\n".join([title, "", *lines]), rows, waiting=True)


async def _waiting_member(
    turn: Turn, role: Role, person_id: int
) -> tuple[Person, Membership] | None:
    """The person and their membership when they still wait for a match in `role` in the
    turn's program; None for anyone else, whatever program they are in."""
    waiting = await unmatched(turn.session, turn.program_id, role)
    if all(person.id != person_id for person in waiting):
        return None
    return (await _members(turn.session, turn.program_id, role, [person_id]))[person_id]


def _gone(turn: Turn) -> str:
    return turn.tr.gettext("That person is no longer waiting for a match.")


async def choose_mentee(turn: Turn) -> Screen:
    program_id = turn.program_id
    waiting = await _waiting_member(turn, Role.MENTOR, turn.number(0))
    if waiting is None:
        screen = await choose_mentor(replace(turn, args=()))
        screen.notice = _gone(turn)
        return screen
    mentor = waiting[0]
    if not await unmatched(turn.session, program_id, Role.MENTEE):
        return await pair_menu(turn)
    lines, rows = await _choice_list(
        turn,
        Role.MENTEE,
        turn.number(1, 0),
        pick=lambda mentee: data("ask", program_id, mentor.id, mentee.id),
        to=lambda page: data("mte", program_id, mentor.id, page),
    )
    title = turn.tr.gettext(
        "<b>{program}</b>: which mentee for <b>{mentor}</b>?",
        program=turn.program.name,
        mentor=_name(mentor),
    )
    return Screen("\n".join([title, "", *lines]), rows, waiting=True)


def _profile_lines(tr: Translator, membership: Membership, role: Role) -> list[str]:
    """A participant's field and, for a mentor, what they offer; for a mentee, their goals."""
    extra = HELP_WITH if role == Role.MENTOR else GOALS
    details = [(FIELD, membership.field), (extra, getattr(membership, extra.attribute))]
    return [
        labelled(tr, Html(f"<b>{escape(tr.gettext(step.label))}</b>"), clip(value, DETAIL_CLIP))
        for step, value in details
        if value
    ]


async def confirm_pair(turn: Turn) -> Screen:
    tr, program_id = turn.tr, turn.program_id
    mentor_id, mentee_id = turn.number(0), turn.number(1)
    mentor_side = await _waiting_member(turn, Role.MENTOR, mentor_id)
    mentee_side = await _waiting_member(turn, Role.MENTEE, mentee_id)
    if mentor_side is None or mentee_side is None or mentor_id == mentee_id:
        screen = await pair_menu(turn)
        screen.notice = _gone(turn)
        return screen
    (mentor, mentorship), (mentee, menteeship) = mentor_side, mentee_side
    lines = [
        tr.gettext(
            "Pair <b>{mentor}</b> with <b>{mentee}</b>?", mentor=_name(mentor), mentee=_name(mentee)
        ),
        "",
        tr.gettext("<b>Mentor:</b> {name}", name=_name(mentor)),
        *_profile_lines(tr, mentorship, Role.MENTOR),
        "",
        tr.gettext("<b>Mentee:</b> {name}", name=_name(mentee)),
        *_profile_lines(tr, menteeship, Role.MENTEE),
        "",
        tr.gettext("Both will get an introduction to each other from me."),
    ]
    rows = [
        [(tr.gettext("✅ Yes, pair them"), data("yes", program_id, mentor_id, mentee_id))],
        _cancel_row(turn),
    ]
    return Screen("\n".join(lines), rows, waiting=True)


def _pairing_problem(tr: Translator, error: PairingError) -> str:
    name, program = _name(error.person), error.program.name
    match error.reason:
        case PairingProblem.ALREADY_MATCHED:
            text = tr.gettext(
                "{name} already has a match in {program}.", name=name, program=program
            )
        case PairingProblem.SAME_PERSON:
            text = tr.gettext("Nobody can be their own mentor.")
        case _:
            text = tr.gettext(
                "{name} can no longer be paired in {program}.", name=name, program=program
            )
    return text + " " + tr.gettext("Nothing was changed.")


def introduction(
    tr: Translator, program: Program, partner: Person, membership: Membership, role: Role
) -> str:
    """The message introducing `partner` (in `role`) to their new match, in the match's
    language."""
    if role == Role.MENTOR:
        head = tr.gettext(
            "🎉 <b>Meet your mentor!</b> Your coordinator has paired you with <b>{name}</b> "
            "in {program}.",
            name=_name(partner),
            program=program.name,
        )
    else:
        head = tr.gettext(
            "🎉 <b>Meet your mentee!</b> Your coordinator has paired you with <b>{name}</b> "
            "in {program}.",
            name=_name(partner),
            program=program.name,
        )
    closing = tr.gettext("Your coordinator will help you get in touch for a first meeting.")
    return "\n\n".join([head, "\n".join(_profile_lines(tr, membership, role)), closing])


async def make_pair(turn: Turn) -> Screen:
    tr, program_id = turn.tr, turn.program_id
    mentor_id, mentee_id = turn.number(0), turn.number(1)
    mentors = await _members(turn.session, program_id, Role.MENTOR, [mentor_id])
    mentees = await _members(turn.session, program_id, Role.MENTEE, [mentee_id])
    if mentor_id not in mentors or mentee_id not in mentees:
        raise turn.stale()
    (mentor, mentorship), (mentee, menteeship) = mentors[mentor_id], mentees[mentee_id]
    try:
        match = await create_match(
            turn.session,
            program=turn.program,
            mentor=mentor,
            mentee=mentee,
            now=turn.ctx.now(),
            actor_id=turn.actor.person_id,
            actor_label="coordinator",
        )
    except PairingError as error:
        done = error.match
        if done is not None and (done.mentor_id, done.mentee_id) == (mentor_id, mentee_id):
            return Screen(_paired(tr, turn.program, mentor, mentee, done))  # a second "Yes"
        return Screen(_pairing_problem(tr, error))
    letters = [
        Letter(
            person.chat_id,
            introduction(translator(person.locale), turn.program, partner, membership, role),
            _name(person),
        )
        for person, partner, membership, role in (
            (mentee, mentor, mentorship, Role.MENTOR),
            (mentor, mentee, menteeship, Role.MENTEE),
        )
    ]
    return Screen(_paired(tr, turn.program, mentor, mentee, match), letters=letters)


def _paired(tr: Translator, program: Program, mentor: Person, mentee: Person, match: Match) -> str:
    return tr.gettext(
        "✅ <b>{mentor}</b> and <b>{mentee}</b> are now paired in {program}, until {date}.",
        mentor=_name(mentor),
        mentee=_name(mentee),
        program=program.name,
        date=tr.date(match.planned_end) if match.planned_end else "—",
    )


async def cancel_pair(turn: Turn) -> Screen:
    return Screen(turn.tr.gettext("Okay, no match was made."))


# --- /people ------------------------------------------------------------------------------


def _status(tr: Translator, row: ParticipantRow) -> str:
    if not row.onboarded:
        return tr.pgettext("person status", "joining")
    match row.person.status:
        case PersonStatus.PAUSED:
            return tr.pgettext("person status", "paused")
        case PersonStatus.UNREACHABLE:
            return tr.pgettext("person status", "unreachable")
        case PersonStatus.CLOSED:
            return tr.pgettext("person status", "left")
        case _:
            return tr.pgettext("person status", "active")


def _person_line(tr: Translator, row: ParticipantRow, achieved: int = 0) -> str:
    person = row.person
    who = f"<b>{escape(_name(person))}</b>"
    if person.username and person.name and person.name.strip():
        who += f" @{escape(person.username)}"
    parts = [who, escape(_status(tr, row))]
    if row.membership.role != Role.COORDINATOR:
        if row.partner is not None:
            parts.append(tr.gettext("with {name}", name=_name(row.partner)))
        else:
            parts.append(tr.gettext("not matched yet"))
    goals = achieved_label(tr, achieved)
    if goals is not None:
        parts.append(goals)
    return "• " + " · ".join(parts)


Listed = tuple[str, str]  # (role, line)


def _people_pages(listed: Sequence[Listed]) -> list[list[Listed]]:
    """Lines split into pages of at most PEOPLE_PER_PAGE, each short enough for a message."""
    pages: list[list[Listed]] = [[]]
    size = 0
    for role, line in listed:
        if pages[-1] and (len(pages[-1]) >= PEOPLE_PER_PAGE or size + len(line) + 1 > LINES_BUDGET):
            pages.append([])
            size = 0
        pages[-1].append((role, line))
        size += len(line) + 1
    return pages


def _people_text(
    tr: Translator, program: Program, listed: Sequence[Listed], page: int, pages: int
) -> str:
    """One page, under a heading for each role (repeated when a role spans pages)."""
    lines = [tr.gettext("<b>People in {program}</b>", program=program.name)]
    if pages > 1:
        lines[0] += " · " + tr.gettext("page {page} of {pages}", page=page + 1, pages=pages)
    shown_role = None
    for role, line in listed:
        if role != shown_role:
            shown_role = role
            lines += ["", f"<b>{escape(tr.gettext(GROUP_HEADINGS[Role(role)]))}</b>"]
        lines.append(line)
    return "\n".join(lines)


async def people_page(turn: Turn) -> Screen:
    tr = turn.tr
    everyone = await participants(turn.session, turn.program_id)
    mentees = [row.membership.id for row in everyone if row.membership.role == Role.MENTEE]
    achieved = await achieved_counts(turn.session, [i for i in mentees if i is not None])
    pages = _people_pages(
        [
            (row.membership.role, _person_line(tr, row, achieved.get(row.membership.id or 0, 0)))
            for row in everyone
        ]
    )
    page = min(turn.number(0, 0), len(pages) - 1)
    text = _people_text(tr, turn.program, pages[page], page, len(pages))
    if all(row.membership.role == Role.COORDINATOR for row in everyone):
        text += "\n\n" + tr.gettext("No mentors or mentees yet: send /invite to invite them.")
    return Screen(text, [page_buttons(tr, page, len(pages), partial(data, "ppl", turn.program_id))])


# --- dispatching --------------------------------------------------------------------------

Action = Callable[[Turn], Awaitable[Screen]]
ACTIONS: dict[str, tuple[Task, Action]] = {
    "inv": (Task.INVITE, invite_menu),
    "new": (Task.INVITE, make_invites),
    "pair": (Task.PAIR, pair_menu),
    "mtr": (Task.PAIR, choose_mentor),
    "mte": (Task.PAIR, choose_mentee),
    "ask": (Task.PAIR, confirm_pair),
    "yes": (Task.PAIR, make_pair),
    "no": (Task.PAIR, cancel_pair),
    "ppl": (Task.PEOPLE, people_page),
}


async def _decide_press(
    session: AsyncSession, update: Update, ctx: TandemContext, press: Press
) -> Screen:
    if press.action == "pick":  # co:pick:0:<task>:<page>, a page of the program choice
        chosen = press.args[0] if press.args else ""
        page = parse_number(press.args[1]) if len(press.args) > 1 else None
        if chosen not in FIRST_ACTION or page is None:
            raise Refused(describe_unusable(ctx.tr, update, expects_text=False))
        return await _open(session, update, ctx, Task(chosen), page)
    if press.action not in ACTIONS:
        raise Refused(describe_unusable(ctx.tr, update, expects_text=False))
    task, act = ACTIONS[press.action]
    actor = await current_actor(session, update, ctx)
    program = (
        await session.get(Program, press.program_id) if actor.may(task, press.program_id) else None
    )
    if program is None:
        raise Refused(ctx.tr.gettext("Only this program's coordinators can do that."))
    return await act(Turn(session, update, ctx, actor, program, press.args))


async def on_button(update: Update, ctx: TandemContext) -> str | int | None:
    query = update.callback_query
    assert query is not None
    press = parse_press(query.data)
    try:
        if press is None:
            raise Refused(describe_unusable(ctx.tr, update, expects_text=False))
        async with ctx.db.session() as session:
            screen = await _decide_press(session, update, ctx, press)
    except Refused as refusal:
        await query.answer(str(refusal))
        return None
    return await show(update, ctx, screen)


async def show(update: Update, ctx: TandemContext, screen: Screen) -> str | int:
    """Deliver the letters, then the screen: in place of the message whose button was
    pressed, else as a new message. Returns the conversation's next state."""
    failed = [letter.name for letter in screen.letters if not await _deliver(ctx, letter)]
    text = screen.text
    for name in failed:
        text += "\n\n" + ctx.tr.gettext(
            "I couldn't reach {name}: please introduce them yourself.", name=name
        )
    markup = keyboard([row for row in screen.rows if row]) if any(screen.rows) else None
    query = update.callback_query
    if query is None or not await edit_in_place(query, text, markup, screen.notice):
        await say(update, text, markup)
    return WAITING if screen.waiting else ConversationHandler.END


async def edit_in_place(
    query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None, notice: str | None
) -> bool:
    """Answer the press and replace the message it came from; False when that message
    cannot be edited any more (then the caller sends a new one)."""
    await query.answer(notice)
    try:
        await query.edit_message_text(
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            disable_web_page_preview=True,
        )
    except BadRequest as error:
        return "not modified" in str(error)
    return True


async def _deliver(ctx: TandemContext, letter: Letter) -> bool:
    if letter.chat_id is None:
        return False
    try:
        await ctx.bot.send_message(letter.chat_id, letter.text, parse_mode=ParseMode.HTML)
    except TelegramError:
        return False
    return True


async def _command(update: Update, ctx: TandemContext, task: Task) -> str | int | None:
    try:
        async with ctx.db.session() as session:
            screen = await _open(session, update, ctx, task)
    except Refused as refusal:
        await say(update, str(refusal))
        await onboarding.reprompt(update, ctx)
        return None
    return await show(update, ctx, screen)


async def invite(update: Update, ctx: TandemContext) -> str | int | None:
    return await _command(update, ctx, Task.INVITE)


async def pair(update: Update, ctx: TandemContext) -> str | int | None:
    return await _command(update, ctx, Task.PAIR)


async def people(update: Update, ctx: TandemContext) -> str | int | None:
    return await _command(update, ctx, Task.PEOPLE)


async def not_a_tap(update: Update, ctx: TandemContext) -> int | None:
    """Text (or a sticker…) while a tap is expected: explain, and stay on the step. Unless
    the coordinator has since started joining another program or role: then the text
    answers onboarding's question, and this dialogue ends."""
    async with ctx.db.session() as session:
        joining = await onboarding.locate(session, update, ctx) is not None
    if joining:
        await onboarding.on_input(update, ctx)
        return ConversationHandler.END
    await explain_unusable(update, ctx, expects_text=False)
    return None


async def cancel(update: Update, ctx: TandemContext) -> int:
    await say(update, ctx.tr.gettext("Okay, stopped. Nothing was changed."))
    return ConversationHandler.END


# --- /newprogram (admins) -----------------------------------------------------------------


def _program_problem(tr: Translator, error: ProgramError, name: str) -> str:
    match error.problem:
        case ProgramProblem.BAD_NAME:
            return tr.gettext(
                "A program name needs 1 to {limit} characters, and not only digits.",
                limit=NAME_LENGTH,
            )
        case ProgramProblem.DUPLICATE_NAME:
            return tr.gettext(
                "A program named {name} already exists.", name=clip(name, NAME_LENGTH)
            )
        case _:
            return tr.gettext(
                "I couldn't create that program with the default settings. Please use the "
                "command line instead (tandem program create)."
            )


async def new_program(update: Update, ctx: TandemContext) -> None:
    tr = ctx.tr
    user = update.effective_user
    assert user is not None
    if user.id not in ctx.services.settings.admin_telegram_ids:
        await say(update, tr.gettext("Only Tandem administrators can create programs."))
        await onboarding.reprompt(update, ctx)
        return
    name = " ".join(ctx.args or [])
    if not name:
        await say(
            update,
            tr.gettext(
                "Send the program's name after the command, for example: "
                "/newprogram Career Bridge Ottawa"
            ),
        )
        return
    defaults = Program.model_fields
    settings = ctx.services.settings
    try:
        async with ctx.db.session() as session:
            program = await create_program(
                session,
                name=name,
                weeks=defaults["weeks"].default,
                checkin_weekday=defaults["checkin_weekday"].default,
                checkin_time=defaults["checkin_time"].default,
                timezone=settings.default_timezone,
                default_locale=settings.default_locale,
                track=None,
                now=ctx.now(),
            )
            person = await person_by_telegram_id(session, user.id)
            session.add(
                AuditEvent(
                    actor_id=None if person is None else person.id,
                    actor_label=f"admin {user.id}",
                    action="program.create",
                    subject=f"program:{program.id}",
                    detail={"name": program.name},
                    at=ctx.now(),
                )
            )
    except ProgramError as error:
        await say(update, _program_problem(tr, error, name))
        return
    await say(update, _program_created(tr, program))


def _program_created(tr: Translator, program: Program) -> str:
    return "\n\n".join(
        [
            tr.gettext(
                "✅ Program <b>{name}</b> created (id {id}).", name=program.name, id=program.id
            ),
            tr.ngettext(
                "Matches last {n} week. Weekly check-in: {slot}. Time zone: {zone}.",
                "Matches last {n} weeks. Weekly check-in: {slot}. Time zone: {zone}.",
                program.weeks,
                slot=slot_text(tr, program.checkin_weekday, program.checkin_time),
                zone=zone_label(tr, program.timezone),
            ),
            tr.gettext(
                "Next step: send /invite and choose “Coordinator” to invite the program's "
                "coordinator."
            ),
        ]
    )


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Register before onboarding, whose catch-all would otherwise take these commands."""
    private = filters.ChatType.PRIVATE
    buttons = CallbackQueryHandler(on_button, pattern=rf"^{PREFIX}:")
    return [
        ConversationHandler(
            entry_points=[
                CommandHandler("invite", invite, private),
                CommandHandler("pair", pair, private),
                CommandHandler("people", people, private),
                buttons,
            ],
            states={WAITING: [buttons, MessageHandler(private & ~filters.COMMAND, not_a_tap)]},
            fallbacks=[CommandHandler("cancel", cancel, private)],
            name=NAME,
            persistent=True,
            allow_reentry=True,
        ),
        CommandHandler("newprogram", new_program, private),
    ]
