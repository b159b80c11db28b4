"""What the oversight views share: limits, labels, the words several views write, the
viewer (`Look`) and a view's result (`View`), and the buttons' data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

from babel.numbers import format_percent
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update

from conversations.kit.actor import Task, current_actor, not_a_coordinator, programs_for
from conversations.kit.alert_text import local_date as _local_day
from conversations.kit.buttons import (
    TIMELINE_PREFIX,
    Button,
    parse_number,
)
from conversations.kit.context import TandemContext
from conversations.kit.screens import LINES_BUDGET
from conversations.kit.text import (
    NAME_CLIP,
    RULE_TITLES,
    clip,
    person_name,
    quoted,
    telegram_length,
)
from locales.translator import N_, Html, Translator, escape
from storage.flags import Severity
from storage.health import Health, Mark, Reason
from storage.models import (
    Match,
    Person,
    Program,
    PromptKind,
)
from storage.programs import zone_or_none

PREFIX = TIMELINE_PREFIX
FLAGS_PER_PAGE = 6
MATCHES_PER_PAGE = 8  # a page's blocks always fit one message: names and reasons are clipped
REASONS_CLIP = 160  # why a match is not on track, as Telegram counts it
EVENTS_PER_PAGE = 12
NOTE_CLIP = 300  # a participant's text quoted in a timeline
EVIDENCE_LINES = 3  # a flag's evidence lines in a timeline

ALL, AT_RISK, WATCH, ON_TRACK, CLOSED = "a", "r", "w", "o", "c"
FILTERS = {ALL: None, AT_RISK: Mark.AT_RISK, WATCH: Mark.WATCH, ON_TRACK: Mark.ON_TRACK}
FILTER_CODES = (*FILTERS, CLOSED)
MARK_ICONS = {Mark.AT_RISK: "🔴", Mark.WATCH: "🟡", Mark.ON_TRACK: "🟢"}
CLOSED_ICON = "⚪"
MARK_LABELS = {Mark.AT_RISK: N_("At risk"), Mark.WATCH: N_("Watch"), Mark.ON_TRACK: N_("On track")}
EMPTY_LISTS = {
    AT_RISK: N_("No match is at risk right now."),
    WATCH: N_("No match needs watching right now."),
    ON_TRACK: N_("No match is on track right now."),
    CLOSED: N_("No match has closed yet."),
}
STATUS_LABELS = {
    "answered": N_("answered"),
    "missed": N_("missed"),
    "skipped": N_("skipped"),
    "expired": N_("paused or not sent"),
    "failed": N_("not delivered"),
    "pending": N_("not sent yet"),
    "sending": N_("being sent"),
    "sent": N_("waiting for an answer"),
}
PROMPT_TITLES = {
    PromptKind.CHECKIN: N_("Check-in, {name}: {status}"),
    PromptKind.REFLECTION: N_("Reflection, {name}: {status}"),
    PromptKind.CLOSURE: N_("Closure survey, {name}: {status}"),
    PromptKind.FOLLOWUP: N_("Follow-up survey, {name}: {status}"),
}
PROMPT_ICONS = {"answered": "✅", "missed": "❌", "skipped": "⏭", "expired": "⏸", "failed": "🚫"}


def short_date(tr: Translator, day: date) -> str:
    """Nov 16, 16 nov."""
    return tr.day_month(day, "MMMd")


def pair_line(tr: Translator, match: Match, mentor: Person | None, mentee: Person | None) -> str:
    return tr.gettext(
        "{mentor} ↔ {mentee} (match {id})",
        mentor=clip(person_name(tr, mentor), NAME_CLIP),
        mentee=clip(person_name(tr, mentee), NAME_CLIP),
        id=match.id,
    )


def rule_word(tr: Translator, rule: str) -> str:
    title = RULE_TITLES.get(rule)  # type: ignore[call-overload]
    return tr.gettext(title) if title else rule


def severity_word(tr: Translator, severity: str) -> str:
    match severity:
        case Severity.URGENT:
            return tr.pgettext("flag severity", "urgent")
        case Severity.HIGH:
            return tr.pgettext("flag severity", "high")
        case Severity.MEDIUM:
            return tr.pgettext("flag severity", "medium")
        case _:
            return tr.pgettext("flag severity", "low")


def closed_word(tr: Translator) -> str:
    return tr.pgettext("match status", "Closed")


def quoted_note(tr: Translator, text: str) -> Html:
    """A participant's words, clipped and quoted as the language quotes."""
    return quoted(tr, clip(text, NOTE_CLIP))


def mark_word(tr: Translator, mark: Mark) -> str:
    """🔴 <b>At risk</b>: colour and word, so it reads without colour too."""
    return f"{MARK_ICONS[mark]} <b>{escape(tr.gettext(MARK_LABELS[mark]))}</b>"


def reasons_line(tr: Translator, health: Health, now: datetime) -> str:
    """Why the match is not on track, the worst reason first."""
    parts = []
    for judgement in health.judgements:
        match judgement.reason:
            case Reason.FLAGS:
                titles = dict.fromkeys(rule_word(tr, flag.rule) for flag in health.weighing(now))
                parts.append(", ".join(titles))
            case Reason.RESPONSE:
                parts.append(tr.gettext("few check-ins answered"))
            case Reason.CONTACT:
                parts.append(
                    tr.ngettext(
                        "no contact for {n} week",
                        "no contact for {n} weeks",
                        health.silent_weeks,
                    )
                )
    return "; ".join(parts)


def figure_line(tr: Translator, health: Health, now: datetime) -> str:
    """Week 5 of 12 · check-ins answered: 80% · last contact Nov 2."""
    match, zone = health.match, zone_or_none(health.program.timezone)
    week = (_local_day(now, zone) - _local_day(match.started_at, zone)).days // 7 + 1
    parts = [tr.gettext("week {week} of {weeks}", week=max(week, 1), weeks=health.program.weeks)]
    if health.rate.value is None:
        parts.append(tr.gettext("no check-ins yet"))
    else:
        rate = format_percent(health.rate.value, locale=tr.locale)
        parts.append(tr.gettext("check-ins answered: {rate}", rate=rate))
    if health.last_contact is None:
        parts.append(tr.gettext("no contact yet"))
    else:
        day = short_date(tr, _local_day(health.last_contact, zone))
        parts.append(tr.gettext("last contact {date}", date=day))
    return " · ".join(parts)


def closed_line(tr: Translator, match: Match, zone: tzinfo | None) -> str:
    closed = match.closed_at or match.started_at
    line = tr.gettext("closed {date}", date=tr.date(_local_day(closed, zone)))
    if match.closure_reason:
        line += " · " + escape(clip(match.closure_reason, NAME_CLIP))
    return line


def page_blocks(blocks: Sequence[str], size: int) -> list[list[str]]:
    """Blocks split into pages of at most `size`, each short enough for one message."""
    pages: list[list[str]] = [[]]
    length = 0
    for block in blocks:
        if pages[-1] and (
            len(pages[-1]) >= size or length + telegram_length(block) + 2 > LINES_BUDGET
        ):
            pages.append([])
            length = 0
        pages[-1].append(block)
        length += telegram_length(block) + 2
    return pages


def heading_line(tr: Translator, parts: Sequence[str], page: int, pages: int) -> str:
    if pages > 1:
        parts = [*parts, tr.gettext("page {page} of {pages}", page=page + 1, pages=pages)]
    return " · ".join(parts)


@dataclass
class View:
    """A view's text (Telegram HTML) and buttons; `new` sends it as a new message rather
    than in place of the one whose button was pressed."""

    text: str
    rows: list[list[Button]] = field(default_factory=list)
    new: bool = False


@dataclass
class Look:
    """One view's inputs: the open transaction, who looks, what they coordinate."""

    session: AsyncSession
    tr: Translator
    programs: Sequence[Program]
    now: datetime

    def program(self, program_id: int) -> Program | None:
        return next((program for program in self.programs if program.id == program_id), None)


async def look_of(session: AsyncSession, update: Update, ctx: TandemContext) -> Look:
    """The programs the person asking coordinates; refused when there are none (an admin
    who did not join a program as its coordinator has none)."""
    programs = await programs_for(session, await current_actor(session, update, ctx), Task.PEOPLE)
    if not programs:
        raise not_a_coordinator(ctx.tr)
    return Look(session, ctx.tr, programs, ctx.now())


async def people_by_id(session: AsyncSession, ids: set[int | None]) -> dict[int, Person]:
    wanted = [person_id for person_id in ids if person_id is not None]
    if not wanted:
        return {}
    rows = await session.exec(select(Person).where(col(Person.id).in_(wanted)))
    return {person.id or 0: person for person in rows.all()}


def callback_data(action: str, *args: object) -> str:
    return ":".join([PREFIX, action, *map(str, args)])


def parse_numbers(args: Sequence[str]) -> list[int] | None:
    numbers = [parse_number(arg) for arg in args]
    return None if any(number is None for number in numbers) else [n or 0 for n in numbers]
