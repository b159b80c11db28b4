"""/pair: a coordinator pairs a mentor with a mentee of their program, from suggested
pairs or choosing each person from the ones waiting (paged), after a review of both
profiles. "Yes" makes the match (storage.pairing) and both partners get their
introduction in their own language (conversations.kit.introductions).

```mermaid
stateDiagram-v2
    [*] --> Menu: /pair (after the program choice, for several)
    Menu --> Review: co:ask (a suggested pair)
    Menu --> Mentors: co:mtr (choose myself)
    Mentors --> Mentors: co:mtr:<page>
    Mentors --> Mentees: co:mte:<mentor>
    Mentees --> Mentees: co:mte:<mentor>:<page>
    Mentees --> Review: co:ask:<mentor>:<mentee>
    Review --> Paired: co:yes (introductions sent)
    Menu --> [*]: co:no (Cancel), or nobody to pair
    Mentors --> [*]: co:no
    Mentees --> [*]: co:no
    Review --> [*]: co:no
    Paired --> [*]
```

Someone who stops waiting meanwhile (paired by another coordinator, left) sends the
coordinator back a step, with a notice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from conversations.coordinator.press import data
from conversations.kit.buttons import BUTTON_CLIP, CHOICES_PER_PAGE, Button, page_buttons, page_of
from conversations.kit.introductions import introductions, profile_lines
from conversations.kit.screens import Screen, Turn
from conversations.kit.text import (
    NAME_CLIP,
    REMATCH_ICON,
    clip,
    labelled,
    member_name,
    rematch_mark,
)
from locales.translator import Html, Translator, escape
from storage.closure import waiting_for_rematch
from storage.models import Match, Membership, Person, Program, Role
from storage.pairing import (
    MatchReason,
    PairingError,
    PairingProblem,
    Suggestion,
    create_match,
    suggested_pairs,
    unmatched,
)

SUGGESTIONS = 5


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
    mentor, mentee = (
        escape(member_name(tr, suggestion.mentor)),
        escape(member_name(tr, suggestion.mentee)),
    )
    pair = f"<b>{mentor}</b> ↔ <b>{mentee}</b>"
    line = f"{index}. {labelled(tr, Html(pair), why)}"
    return f"{line} · {rematch_mark(tr)}" if suggestion.rematch else line


def _pair_label(tr: Translator, suggestion: Suggestion) -> str:
    mentor, mentee = suggestion.mentor, suggestion.mentee
    label = f"{member_name(tr, mentor, BUTTON_CLIP)} ↔ {member_name(tr, mentee, BUTTON_CLIP)}"
    return f"{REMATCH_ICON} {label}" if suggestion.rematch else label


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
                _pair_label(tr, item),
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


def _member_line(
    tr: Translator, person: Person, membership: Membership, rematch: bool = False
) -> str:
    name = Html(f"<b>{escape(member_name(tr, person))}</b>")
    line = (
        f"• {labelled(tr, name, clip(membership.field, NAME_CLIP))}"
        if membership.field
        else f"• {name}"
    )
    return f"{line} · {rematch_mark(tr)}" if rematch else line


def _choice_label(tr: Translator, person: Person, rematch: bool) -> str:
    name = member_name(tr, person, BUTTON_CLIP)
    return f"{REMATCH_ICON} {name}" if rematch else name


async def _choice_list(
    turn: Turn, role: Role, page: int, pick: Callable[[Person], str], to: Callable[[int], str]
) -> tuple[list[str], list[list[Button]]]:
    """Lines and buttons for one page of the people waiting in `role`; mentees who asked
    at closure for a new match first, marked as in the suggestions."""
    waiting = await unmatched(turn.session, turn.program_id, role)
    asked: set[int] = set()
    if role == Role.MENTEE:
        asked = {m.person_id for m in await waiting_for_rematch(turn.session, turn.program_id)}
        waiting = sorted(waiting, key=lambda person: person.id not in asked)  # stable
    shown, page, pages = page_of(waiting, page, CHOICES_PER_PAGE)
    members = await _members(turn.session, turn.program_id, role, [p.id or 0 for p in shown])
    lines = [
        _member_line(turn.tr, *members[person.id or 0], rematch=person.id in asked)
        for person in shown
    ]
    rows = [
        [(_choice_label(turn.tr, person, person.id in asked), pick(person))] for person in shown
    ]
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
        mentor=member_name(turn.tr, mentor),
    )
    return Screen("\n".join([title, "", *lines]), rows, waiting=True)


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
            "Pair <b>{mentor}</b> with <b>{mentee}</b>?",
            mentor=member_name(tr, mentor),
            mentee=member_name(tr, mentee),
        ),
        "",
        tr.gettext("<b>Mentor:</b> {name}", name=member_name(tr, mentor)),
        *profile_lines(tr, mentorship, Role.MENTOR),
        "",
        tr.gettext("<b>Mentee:</b> {name}", name=member_name(tr, mentee)),
        *profile_lines(tr, menteeship, Role.MENTEE),
        "",
        tr.gettext("Both will get an introduction to each other from me."),
    ]
    rows = [
        [(tr.gettext("✅ Yes, pair them"), data("yes", program_id, mentor_id, mentee_id))],
        _cancel_row(turn),
    ]
    return Screen("\n".join(lines), rows, waiting=True)


def _pairing_problem(tr: Translator, error: PairingError) -> str:
    name, program = member_name(tr, error.person), error.program.name
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


async def make_pair(turn: Turn) -> Screen:
    tr, program_id = turn.tr, turn.program_id
    mentor_id, mentee_id = turn.number(0), turn.number(1)
    mentors = await _members(turn.session, program_id, Role.MENTOR, [mentor_id])
    mentees = await _members(turn.session, program_id, Role.MENTEE, [mentee_id])
    if mentor_id not in mentors or mentee_id not in mentees:
        raise turn.stale()
    mentor, mentee = mentors[mentor_id][0], mentees[mentee_id][0]
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
    letters = await introductions(turn.session, match)
    return Screen(_paired(tr, turn.program, mentor, mentee, match), letters=letters)


def _paired(tr: Translator, program: Program, mentor: Person, mentee: Person, match: Match) -> str:
    return tr.gettext(
        "✅ <b>{mentor}</b> and <b>{mentee}</b> are now paired in {program}, until {date}.",
        mentor=member_name(tr, mentor),
        mentee=member_name(tr, mentee),
        program=program.name,
        date=tr.date(match.planned_end) if match.planned_end else "—",
    )


async def cancel_pair(turn: Turn) -> Screen:
    return Screen(turn.tr.gettext("Okay, no match was made."))
