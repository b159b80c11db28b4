"""Alerts: a new flag reaches every coordinator of its program at once, in their language,
with the evidence in words and four buttons — Acknowledge, Snooze 7 days, Resolve (with a
short note, or none) and Show match.

Each coordinator's message is recorded (`AlertCopy`), so when one of them acts on the flag
every other copy is edited, once the change has committed, to show it in its reader's
language. A snooze that is over opens the flag again, and the alert is sent again saying
so; the dispatcher's every tick looks for those (`sweep`), and once a day it applies the
flag rules to every open match.

Callback data is ``fl:<action>:<flag id>`` (Show match is conversations/oversight.py's
``ov:mt:<match id>``, which opens the match's timeline) and is never trusted: every
press is checked again against the person pressing it, who must have finished joining
the flag's program as a coordinator (and not have left Tandem). A refused press changes
nothing. Every change to a flag writes an audit event.

A note for Resolve is the coordinator's next text message (within ten minutes); a
handler in a group before every other dialogue takes it, so no dialogue in progress
sees it. A command, or another dialogue's button, ends the wait.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot, CallbackQuery, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    MessageHandler,
    filters,
)

from conversations.kit.buttons import Button, keyboard, match_timeline, parse_number
from conversations.kit.cancel import cancellable
from conversations.kit.context import TandemContext, resolve_language
from conversations.kit.reply import say
from conversations.kit.text import RULE_TITLES, person_name
from conversations.kit.unusable import forget_on_other_buttons
from locales.translator import N_, Translator, translator
from storage.clock import utcnow
from storage.db import Database
from storage.flags import (
    SEVERITY_ORDER,
    Rule,
    Severity,
    end_snoozes,
    evaluate_matches,
    new_unreachable_flags,
    open_match_pages,
    period_monday,
    sweep_due,
)
from storage.models import (
    AlertCopy,
    AuditEvent,
    Flag,
    FlagStatus,
    Match,
    Membership,
    Person,
    PersonStatus,
    Program,
    PromptKind,
    Role,
)
from storage.people import person_by_telegram_id
from storage.programs import zone_or_none

log = logging.getLogger(__name__)

PREFIX = "fl"
ACK, SNOOZE, RESOLVE, NO_NOTE = "ack", "snz", "res", "nonote"
SNOOZE_FOR = timedelta(days=7)
NOTE_WINDOW = timedelta(minutes=10)
NOTE_LENGTH = 2000
# Of a resolve note, what an alert shows: with the evidence it stays within Telegram's
# 4,096 characters. The whole note is in /match and the exports.
NOTE_SHOWN = 600
RESOLVING = "alerts_resolving"  # user_data: {"flag": id, "at": timestamp}
cancellable(RESOLVING)
NOTE_GROUP = -3  # before resolve_language (-1) and every dialogue (0)
UNREACHABLE = (PersonStatus.UNREACHABLE, PersonStatus.CLOSED, PersonStatus.ERASED)

RULE_VALUES = frozenset(rule.value for rule in Rule)
QUESTION_LABELS = {
    "helpful": N_("How helpful"),
    "going": N_("How it's going"),
    "progress": N_("Progress"),
}
CONCERN_LABELS = {
    "reach": N_("Hard to reach"),
    "schedule": N_("Finding a time"),
    "beyond": N_("Needs support beyond my role"),
    "other": N_("Something else"),
}


# --- words ----------------------------------------------------------------------------------


def _week(tr: Translator, period: str | None) -> str:
    monday = period_monday(period or "")
    if monday is None:
        return period or "?"
    return tr.gettext("week of {date}", date=tr.date(monday, "long"))


def question_label(tr: Translator, key: str) -> str:
    if key in QUESTION_LABELS:
        return tr.gettext(QUESTION_LABELS[key])
    return tr.gettext("Progress on a goal")


class People:
    """The match's two people by id, for naming them in evidence."""

    def __init__(self, mentor: Person | None, mentee: Person | None) -> None:
        self.by_id = {p.id: p for p in (mentor, mentee) if p is not None}

    def name(self, person_id: Any) -> str:
        return person_name(self.by_id.get(person_id))


def evidence_lines(
    tr: Translator, flag: Flag, people: People, zone: tzinfo | None = None
) -> list[str]:
    """The flag's evidence, one line per fact, in the coordinator's language (Telegram
    HTML: the values in them are escaped), its moments as dates in `zone` (the program's)."""
    evidence: dict[str, Any] = flag.evidence or {}
    lines: list[str] = []
    match flag.rule:
        case Rule.MISSED:
            for person in evidence.get("people", []):
                weeks = ", ".join(_week(tr, period) for period in person.get("periods", []))
                count = len(person.get("periods", []))
                lines.append(
                    tr.ngettext(
                        "{name} missed {n} check-in in a row ({weeks}).",
                        "{name} missed {n} check-ins in a row ({weeks}).",
                        count,
                        name=people.name(person.get("person_id")),
                        weeks=weeks,
                    )
                )
        case Rule.NO_CONTACT:
            since = _since(tr, evidence.get("since"), zone)
            lines.append(
                tr.ngettext(
                    "No meeting logged and no contact reported for {n} week or more "
                    "(since {date}).",
                    "No meeting logged and no contact reported for {n} weeks or more "
                    "(since {date}).",
                    int(evidence.get("weeks", 0)),
                    date=since,
                )
            )
        case Rule.LOW_RATING:
            for hit in evidence.get("answers", []):
                lines.append(
                    tr.gettext(
                        "{name} rated “{question}” {value} out of 5 ({week}).",
                        name=people.name(hit.get("person_id")),
                        question=question_label(tr, hit.get("key", "")),
                        value=hit.get("value"),
                        week=_week(tr, hit.get("period")),
                    )
                )
        case Rule.RATING_DROP:
            for hit in evidence.get("answers", []):
                lines.append(
                    tr.gettext(
                        "{name} rated “{question}” {value} out of 5, down from an average of "
                        "{average} ({week}).",
                        name=people.name(hit.get("person_id")),
                        question=question_label(tr, hit.get("key", "")),
                        value=hit.get("value"),
                        average=tr.number(hit.get("average", 0)),
                        week=_week(tr, hit.get("period")),
                    )
                )
        case Rule.RATING_GAP:
            for week in evidence.get("weeks", []):
                lines.append(
                    tr.gettext(
                        "The mentee rated the help {mentee} out of 5, the mentor rated the "
                        "relationship {mentor} out of 5 ({week}).",
                        mentee=week.get("mentee", {}).get("value"),
                        mentor=week.get("mentor", {}).get("value"),
                        week=_week(tr, week.get("period")),
                    )
                )
        case Rule.ASKED:
            for hit in evidence.get("answers", []):
                lines.append(
                    tr.gettext(
                        "{name} would like you to get in touch ({week}).",
                        name=people.name(hit.get("person_id")),
                        week=_week(tr, hit.get("period")),
                    )
                )
        case Rule.CONCERN:
            for hit in evidence.get("answers", []):
                concerns = ", ".join(
                    tr.gettext(CONCERN_LABELS[item]) if item in CONCERN_LABELS else item
                    for item in hit.get("concerns", [])
                )
                lines.append(
                    tr.gettext(
                        "{name} reported: {concerns} ({week}).",
                        name=people.name(hit.get("person_id")),
                        concerns=concerns,
                        week=_week(tr, hit.get("period")),
                    )
                )
        case Rule.SAFETY:
            for hit in evidence.get("answers", []):
                words = ", ".join(f"“{word}”" for word in hit.get("words", []))
                name = people.name(hit.get("person_id"))
                if hit.get("kind") == "log":
                    line = tr.gettext(
                        "{words} in a meeting log note by {name}.", words=words, name=name
                    )
                elif hit.get("kind") == PromptKind.REFLECTION:
                    line = tr.gettext("{words} in a reflection by {name}.", words=words, name=name)
                else:
                    line = tr.gettext(
                        "{words} in a check-in note by {name} ({week}).",
                        words=words,
                        name=name,
                        week=_week(tr, hit.get("period")),
                    )
                lines.append(line)
        case Rule.UNREACHABLE:
            lines.append(
                tr.gettext(
                    "{name} blocked the bot or can no longer be reached (since {date}).",
                    name=people.name(evidence.get("person_id")),
                    date=_since(tr, evidence.get("since"), zone),
                )
            )
        case Rule.BENCHMARK:
            lines += [_month_line(tr, month) for month in evidence.get("months", [])]
        case Rule.END_REQUEST:
            requests = evidence.get("requests", [])
            lines += [_request_line(tr, item, people, zone) for item in requests]
    return lines


def _month_line(tr: Translator, month: dict[str, Any]) -> str:
    return tr.ngettext(
        "Month {month} of the match ({first} to {last}): {n} day of contact, {expected} expected.",
        "Month {month} of the match ({first} to {last}): {n} days of contact, {expected} expected.",
        int(month.get("contacts", 0)),
        month=month.get("month"),
        first=_since(tr, month.get("first")),
        last=_since(tr, month.get("last")),
        expected=month.get("expected"),
    )


def _request_line(
    tr: Translator, request: dict[str, Any], people: People, zone: tzinfo | None
) -> str:
    """Who asked to end the match, when, and the reason in their own words."""
    name, date = people.name(request.get("person_id")), _since(tr, request.get("at"), zone)
    reason = request.get("reason")
    if not reason:
        return tr.gettext(
            "{name} asked on {date} to end the match early (no reason given).",
            name=name,
            date=date,
        )
    return tr.gettext(
        "{name} asked on {date} to end the match early: “{reason}”",
        name=name,
        date=date,
        reason=reason,
    )


def local_date(moment: datetime, zone: tzinfo | None) -> date:
    """The day a moment falls on in `zone` (a date without a time stays as it is)."""
    return moment.astimezone(zone).date() if zone and moment.tzinfo else moment.date()


def _since(tr: Translator, value: Any, zone: tzinfo | None = None) -> str:
    try:
        return tr.date(local_date(datetime.fromisoformat(str(value)), zone), "long")
    except ValueError:
        return "?"


def _status_line(
    tr: Translator, flag: Flag, handler: Person | None, zone: tzinfo | None
) -> str | None:
    name = person_name(handler)
    match flag.status:
        case FlagStatus.OPEN if flag.snoozed_until is not None:
            return tr.gettext(
                "⏰ Snoozed by {name} until {date}: the snooze is over, this needs attention "
                "again.",
                name=name,
                date=tr.date(local_date(flag.snoozed_until, zone), "long"),
            )
        case FlagStatus.ACKNOWLEDGED:
            return tr.gettext("👀 Acknowledged by {name}.", name=name)
        case FlagStatus.SNOOZED if flag.snoozed_until is not None:
            return tr.gettext(
                "💤 Snoozed by {name} until {date}.",
                name=name,
                date=tr.date(local_date(flag.snoozed_until, zone), "long"),
            )
        case FlagStatus.RESOLVED:
            if flag.note:
                note = flag.note if len(flag.note) <= NOTE_SHOWN else flag.note[:NOTE_SHOWN] + "…"
                return tr.gettext("✅ Resolved by {name}: {note}", name=name, note=note)
            return tr.gettext("✅ Resolved by {name}.", name=name)
    return None


def alert_text(
    tr: Translator,
    flag: Flag,
    program: Program,
    mentor: Person | None,
    mentee: Person | None,
    handler: Person | None = None,
) -> str:
    zone = zone_or_none(program.timezone)
    title = (
        tr.gettext(RULE_TITLES.get(Rule(flag.rule), flag.rule))
        if flag.rule in RULE_VALUES
        else flag.rule
    )
    if flag.severity == Severity.URGENT:
        head = tr.gettext("🚨 <b>Urgent</b> · {rule}", rule=title)
    else:
        head = tr.gettext("⚠️ <b>{rule}</b>", rule=title)
    lines = [
        head,
        tr.gettext(
            "{mentor} ↔ {mentee} · {program} (match {id})",
            mentor=person_name(mentor),
            mentee=person_name(mentee),
            program=program.name,
            id=flag.match_id,
        ),
        "",
        *evidence_lines(tr, flag, People(mentor, mentee), zone),
    ]
    status = _status_line(tr, flag, handler, zone)
    if status:
        lines += ["", status]
    return "\n".join(lines)


def alert_buttons(tr: Translator, flag: Flag) -> list[list[Button]]:
    def data(action: str) -> str:
        return f"{PREFIX}:{action}:{flag.id}"

    show = [(tr.gettext("Show match"), match_timeline(flag.match_id))]
    if flag.status == FlagStatus.RESOLVED:
        return [show]
    return [
        [(tr.gettext("Acknowledge"), data(ACK)), (tr.gettext("Snooze 7 days"), data(SNOOZE))],
        [(tr.gettext("Resolve"), data(RESOLVE)), *show],
    ]


# --- reaching the coordinators ----------------------------------------------------------------


async def coordinators(session: AsyncSession, program_id: int) -> Sequence[Person]:
    """Who coordinates the program: finished joining, and still reachable."""
    statement = (
        select(Person)
        .join(Membership, col(Membership.person_id) == col(Person.id))
        .where(
            Membership.program_id == program_id,
            Membership.role == Role.COORDINATOR,
            col(Membership.completed_at).is_not(None),
            col(Person.status).not_in(UNREACHABLE),
        )
        .order_by(col(Person.id))
    )
    return (await session.exec(statement)).unique().all()


FlagParts = tuple[Match, Program, Person | None, Person | None]


async def _flag_parts(session: AsyncSession, flag: Flag) -> FlagParts | None:
    match = await session.get(Match, flag.match_id)
    program = None if match is None else await session.get(Program, match.program_id)
    if match is None or program is None:
        return None
    return (
        match,
        program,
        await session.get(Person, match.mentor_id),
        await session.get(Person, match.mentee_id),
    )


@dataclass(frozen=True)
class Letter:
    """One coordinator's alert: sent, or an edit of the copy they already have."""

    flag_id: int
    person_id: int
    chat_id: int
    text: str
    markup: InlineKeyboardMarkup
    message_id: int | None = None


async def _letter(session: AsyncSession, flag: Flag, reader: Person, parts: FlagParts) -> Letter:
    """The flag's alert as it is now, in the reader's language."""
    _, program, mentor, mentee = parts
    tr = translator(reader.locale)
    handler = await _person(session, flag.handled_by)
    return Letter(
        flag.id or 0,
        reader.id or 0,
        reader.chat_id or reader.telegram_id,
        alert_text(tr, flag, program, mentor, mentee, handler),
        keyboard(alert_buttons(tr, flag)),
    )


async def notify(
    bot: Bot, database: Database, flag_ids: Sequence[int], *, now: datetime | None = None
) -> int:
    """Send each flag to every coordinator of its program and record each copy delivered.
    Returns the messages sent. Reads in one transaction, sends with none open."""
    if not flag_ids:
        return 0
    letters: list[Letter] = []
    async with database.session() as session:
        flags = await session.exec(  # a flag resolved meanwhile needs nobody's attention
            select(Flag).where(col(Flag.id).in_(flag_ids), Flag.status != FlagStatus.RESOLVED)
        )
        ordered = sorted(flags.all(), key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), f.id))
        for flag in ordered:
            parts = await _flag_parts(session, flag)
            if parts is None:
                continue
            for person in await coordinators(session, parts[1].id or 0):
                letters.append(await _letter(session, flag, person, parts))
    copies: list[AlertCopy] = []
    for letter in letters:
        try:
            message = await bot.send_message(
                letter.chat_id, letter.text, parse_mode=ParseMode.HTML, reply_markup=letter.markup
            )
        except TelegramError as error:
            log.warning("alert not delivered to a coordinator: %s", type(error).__name__)
            continue
        copies.append(
            AlertCopy(
                flag_id=letter.flag_id,
                person_id=letter.person_id,
                chat_id=letter.chat_id,
                message_id=message.message_id,
                sent_at=now or utcnow(),
            )
        )
    if copies:
        async with database.session() as session:
            session.add_all(copies)
    if letters:
        log.info("alerts: %d flag(s), %d message(s) sent", len(flag_ids), len(copies))
    return len(copies)


async def refresh_copies(
    bot: Bot, database: Database, flag_id: int, *, edited: tuple[int, int] | None = None
) -> int:
    """Bring every coordinator's copy of the flag's alert up to date, each in its reader's
    language, but the message `edited` (chat id, message id) that is already, and only
    for those who still coordinate the program. Call once the change has committed. A
    copy that cannot be edited any more (deleted, too old) is skipped. Returns the copies
    edited."""
    async with database.session() as session:
        flag = await session.get(Flag, flag_id)
        parts = None if flag is None else await _flag_parts(session, flag)
        if flag is None or parts is None:
            return 0
        # Who left the program (or Tandem) since reads no more of it.
        readers = {person.id: person for person in await coordinators(session, parts[1].id or 0)}
        rows = await session.exec(
            select(AlertCopy)
            .where(AlertCopy.flag_id == flag_id, col(AlertCopy.person_id).in_(list(readers)))
            .order_by(col(AlertCopy.id))
        )
        letters = [
            replace(
                await _letter(session, flag, readers[copy.person_id], parts),
                chat_id=copy.chat_id,
                message_id=copy.message_id,
            )
            for copy in rows.all()
            if (copy.chat_id, copy.message_id) != edited
        ]
    edits = 0
    for letter in letters:
        try:
            await bot.edit_message_text(
                letter.text,
                chat_id=letter.chat_id,
                message_id=letter.message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=letter.markup,
            )
        except TelegramError as error:
            if "not modified" not in str(error).lower():
                log.info("could not update a copy of an alert: %s", type(error).__name__)
            continue
        edits += 1
    return edits


async def evaluate_and_notify(
    bot: Bot, database: Database, match_ids: Sequence[int], now: datetime
) -> list[int]:
    """Evaluate the matches in a transaction of their own; alert once it has committed.
    Never raises: an answer or a tick must not fail because of a rule."""
    try:
        async with database.session() as session:
            created = await evaluate_matches(session, match_ids, now)
        await notify(bot, database, created, now=now)
    except Exception:
        log.exception("could not evaluate the flag rules for %d match(es)", len(match_ids))
        return []
    return created


async def after_answer(ctx: TandemContext, match_id: int) -> None:
    """A check-in or reflection was completed (or changed): evaluate its match."""
    await evaluate_and_notify(ctx.bot, ctx.db, [match_id], ctx.now())


async def sweep(bot: Bot, database: Database, now: datetime) -> int:
    """Every dispatcher tick: flags whose snooze is over are open and sent again. Once
    every 24 hours, the daily sweep: every open match, a page per transaction. Returns the
    flags raised or opened again."""
    woken = await snoozes_over(bot, database, now)
    async with database.session() as session:
        if not await sweep_due(session, now):
            return woken
        pages = await open_match_pages(session)
    raised = 0
    for page in pages:
        raised += len(await evaluate_and_notify(bot, database, page, now))
    return woken + raised


async def snoozes_over(bot: Bot, database: Database, now: datetime) -> int:
    """Open again the flags whose snooze is over, and send their alerts again (saying the
    snooze ended). Never raises. Returns how many."""
    try:
        async with database.session() as session:
            woken = await end_snoozes(session, now)
        await notify(bot, database, woken, now=now)
    except Exception:
        log.exception("could not open the flags whose snooze is over")
        return 0
    return len(woken)


async def unreachable_alerts(
    bot: Bot, database: Database, person_ids: Sequence[int], now: datetime
) -> int:
    """Alert the coordinators about the "unreachable" flags just raised for these people."""
    try:
        async with database.session() as session:
            ids = [
                i
                for person in person_ids
                for i in await new_unreachable_flags(session, person, now)
            ]
        return await notify(bot, database, ids, now=now)
    except Exception:
        log.exception("could not send the unreachable alerts")
        return 0


# --- buttons --------------------------------------------------------------------------------


class Refused(Exception):
    pass


def parse(data: str | None) -> tuple[str, int] | None:
    parts = (data or "").split(":")
    if len(parts) != 3 or parts[0] != PREFIX or parts[1] not in (ACK, SNOOZE, RESOLVE, NO_NOTE):
        return None
    flag_id = parse_number(parts[2])
    return None if flag_id is None else (parts[1], flag_id)


async def _checked(
    session: AsyncSession, telegram_id: int, flag_id: int, tr: Translator
) -> tuple[Person, Flag, Match, Program, Person | None, Person | None]:
    """The presser (a coordinator of the flag's program) and the flag, or Refused."""
    refusal = Refused(tr.gettext("Only this program's coordinators can do that."))
    person = await person_by_telegram_id(session, telegram_id)
    flag = await session.get(Flag, flag_id, with_for_update=True)
    if person is None or person.status in UNREACHABLE or flag is None:
        raise refusal
    parts = await _flag_parts(session, flag)
    if parts is None:
        raise refusal
    match, program, mentor, mentee = parts
    member = await session.exec(
        select(Membership.id).where(
            Membership.person_id == person.id,
            Membership.program_id == program.id,
            Membership.role == Role.COORDINATOR,
            col(Membership.completed_at).is_not(None),
        )
    )
    if member.first() is None:
        raise refusal
    return person, flag, match, program, mentor, mentee


def _audit(
    session: AsyncSession, person: Person, flag: Flag, action: str, now: datetime, **detail: Any
) -> None:
    session.add(
        AuditEvent(
            actor_id=person.id,
            actor_label="coordinator",
            action=f"flag.{action}",
            subject=f"flag:{flag.id}",
            detail={"match_id": flag.match_id, "rule": flag.rule, **detail},
            at=now,
        )
    )


def _handle(flag: Flag, person: Person, status: str, now: datetime) -> None:
    flag.status, flag.handled_by, flag.handled_at = status, person.id, now
    flag.snoozed_until = now + SNOOZE_FOR if status == FlagStatus.SNOOZED else None


# What each button does to a flag: its new status, the audit action, the answer.
CHANGES = {
    ACK: (FlagStatus.ACKNOWLEDGED, "acknowledge", N_("Acknowledged.")),
    SNOOZE: (FlagStatus.SNOOZED, "snooze", N_("Snoozed for 7 days.")),
    NO_NOTE: (FlagStatus.RESOLVED, "resolve", N_("Resolved.")),
}


def _change(session: AsyncSession, person: Person, flag: Flag, action: str, now: datetime) -> None:
    status, audited, _ = CHANGES[action]
    _handle(flag, person, status, now)
    detail: dict[str, Any] = {}
    if action == SNOOZE and flag.snoozed_until is not None:
        detail["until"] = flag.snoozed_until.isoformat()
    if action == NO_NOTE:
        detail["with_note"] = False
    _audit(session, person, flag, audited, now, **detail)


def _ask_note(ctx: TandemContext, flag: Flag, now: datetime) -> tuple[str, InlineKeyboardMarkup]:
    if ctx.user_data is not None:
        ctx.user_data[RESOLVING] = {"flag": flag.id, "at": now.timestamp()}
    tr = ctx.tr
    question = tr.gettext("Send a short note on how this was resolved, or tap “No note”.")
    return question, keyboard([[(tr.gettext("No note"), f"{PREFIX}:{NO_NOTE}:{flag.id}")]])


async def on_button(update: Update, ctx: TandemContext) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    tr = ctx.tr
    parsed = parse(query.data)
    if parsed is None:
        await query.answer(tr.gettext("That button no longer works."))
        return
    action, flag_id = parsed
    waiting = (ctx.user_data or {}).get(RESOLVING)
    if ctx.user_data is not None and isinstance(waiting, dict) and waiting.get("flag") == flag_id:
        ctx.user_data.pop(RESOLVING)  # No note, or another button: no note is awaited now
    now = ctx.now()
    notice: str | None = None
    extra: tuple[str, InlineKeyboardMarkup | None] | None = None
    changed = False
    try:
        async with ctx.db.session() as session:
            person, flag, _, program, mentor, mentee = await _checked(
                session, update.effective_user.id, flag_id, tr
            )
            if flag.status == FlagStatus.RESOLVED:
                notice = tr.gettext("This flag is already resolved.")
            elif action == RESOLVE:
                extra = _ask_note(ctx, flag, now)
            else:
                _change(session, person, flag, action, now)
                notice, changed = tr.gettext(CHANGES[action][2]), True
            session.add(flag)
            handler = (
                person if flag.handled_by == person.id else await _person(session, flag.handled_by)
            )
            text = alert_text(tr, flag, program, mentor, mentee, handler)
            buttons = alert_buttons(tr, flag)
    except Refused as refusal:
        await query.answer(str(refusal))
        return
    await query.answer(notice)
    if action != RESOLVE:
        await _edit(query, text, buttons)
    if changed:
        pressed = query.message
        edited = (pressed.chat.id, pressed.message_id) if pressed is not None else None
        await refresh_copies(ctx.bot, ctx.db, flag_id, edited=edited)
    if extra is not None:
        await say(update, extra[0], extra[1])


async def _person(session: AsyncSession, person_id: int | None) -> Person | None:
    return None if person_id is None else await session.get(Person, person_id)


async def _edit(query: CallbackQuery, text: str, buttons: list[list[Button]]) -> None:
    try:
        await query.edit_message_text(
            text, parse_mode=ParseMode.HTML, reply_markup=keyboard(buttons)
        )
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            log.info("could not edit an alert: %s", error.message)


async def take_note(update: Update, ctx: TandemContext) -> None:
    """The text after Resolve: the note. Anything else passes on to the other handlers."""
    data = ctx.user_data
    message, user = update.effective_message, update.effective_user
    if not data or RESOLVING not in data or message is None or user is None or message.text is None:
        return
    waiting = data.pop(RESOLVING)
    now = ctx.now()
    if (
        message.text.startswith("/")
        or now.timestamp() - float(waiting.get("at", 0)) > NOTE_WINDOW.total_seconds()
    ):
        return
    await resolve_language(update, ctx)
    tr = ctx.tr
    note = message.text.strip()[:NOTE_LENGTH]
    try:
        async with ctx.db.session() as session:
            person, flag, _, program, mentor, mentee = await _checked(
                session, user.id, int(waiting.get("flag", 0)), tr
            )
            if flag.status == FlagStatus.RESOLVED:
                raise Refused(tr.gettext("This flag is already resolved."))
            _handle(flag, person, FlagStatus.RESOLVED, now)
            flag.note = note
            session.add(flag)
            _audit(session, person, flag, "resolve", now, with_note=True)
            text = alert_text(tr, flag, program, mentor, mentee, person)
    except Refused as refusal:
        await say(update, str(refusal))
        raise ApplicationHandlerStop from None
    await say(update, text, keyboard(alert_buttons(tr, flag)))
    await refresh_copies(ctx.bot, ctx.db, flag.id or 0)
    raise ApplicationHandlerStop


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """The buttons, for group 0 before onboarding; the note's are `note_handlers`."""
    return [CallbackQueryHandler(on_button, pattern=rf"^{PREFIX}:")]


def note_handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """For `NOTE_GROUP`: the note, and the end of the wait for one when a command is sent
    (take_note lets it pass on) or another dialogue's button is pressed."""
    return [
        MessageHandler(filters.ChatType.PRIVATE & filters.TEXT, take_note),
        forget_on_other_buttons(RESOLVING, PREFIX),
    ]
