"""A coordinator's views of their programs' matches: /flags (the open flags, the most
severe first), /matches (every match with its health mark, filterable) and /match <id>
(one match's timeline, newest first).

```mermaid
stateDiagram-v2
    [*] --> Flags: /flags, ov:fl:<page>
    [*] --> Matches: /matches, ov:ms:<filter>:<program>:<page>
    [*] --> Timeline: /match <id>, ov:m:…, ov:mt:<match id>
    Flags --> Alert: ov:f:<flag id> (the alert, with its own buttons)
    Matches --> Timeline: a match
    Timeline --> Matches: back to the list
    Flags --> [*]
    Matches --> [*]
    Timeline --> [*]
```

No conversation state: every view is one step, read again from the database.

Buttons carry what a view needs, never trusted:

- ``ov:fl:<page>`` a page of /flags; ``ov:f:<flag id>`` sends that flag's alert (its
  buttons are conversations/alerts.py's, which check the presser again);
- ``ov:ms:<filter>:<program id, 0 for all>:<page>`` a page of /matches, the filter one of
  `FILTERS`;
- ``ov:m:<match id>:<page>:<filter>:<program id>:<list page>`` a page of a match's
  timeline, with the list its "back" button returns to; ``ov:mt:<match id>`` (an alert's
  Show match, conversations/kit/buttons.py) its first page as a new message.

Every press is checked again against the person pressing: only programs they coordinate
are shown, a program filter must be one of theirs, and a match or flag outside them gets
the same answer as one that does not exist. Views only read: nothing changes, so they are
not audit events (acting on a flag is, in conversations/alerts.py).

What a coordinator reads in a timeline: check-in answers (notes addressed to them
included), meeting logs with their notes, goals achieved, flags with their evidence and
what was done about them. Reflections show only whether they were answered: they are the
participant's own journal, read in exports for program evaluation, not on a phone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, tzinfo
from functools import partial

from babel.numbers import format_percent
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from conversations.engine import display_value
from conversations.instruments import Instrument, InstrumentError, Kind, load_instrument
from conversations.kit.actor import Refused, Task, current_actor, not_a_coordinator, programs_for
from conversations.kit.alert_text import (
    People,
    alert_buttons,
    alert_text,
    evidence_lines,
    flag_goals,
    question_label,
)
from conversations.kit.alert_text import local_date as _local_day
from conversations.kit.buttons import (
    BUTTON_CLIP,
    TIMELINE_END,
    TIMELINE_NEW,
    TIMELINE_PREFIX,
    Button,
    keyboard,
    match_end,
    page_buttons,
    parse_number,
)
from conversations.kit.context import TandemContext
from conversations.kit.joining import reprompt
from conversations.kit.meeting_record import meeting_instrument, mode_label, topic_label
from conversations.kit.reply import say
from conversations.kit.screens import LINES_BUDGET, edit_in_place
from conversations.kit.text import (
    NAME_CLIP,
    RULE_TITLES,
    clip,
    duration_text,
    labelled,
    member_name,
    person_name,
    quoted,
    telegram_length,
)
from conversations.kit.unusable import describe_unusable
from locales.translator import N_, Html, Translator, escape
from storage.contacts import logged
from storage.flags import SEVERITY_ORDER, Severity, is_scale_key
from storage.health import Health, Mark, Reason, match_health, snoozed
from storage.models import (
    Answer,
    AuditEvent,
    Flag,
    FlagStatus,
    Goal,
    GoalStatus,
    Match,
    MatchStatus,
    MeetingLog,
    Membership,
    Person,
    Program,
    Prompt,
    PromptKind,
    Role,
)
from storage.programs import zone_or_none
from storage.standings import Standings, closed_page, open_page

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


# --- words shared by the views ----------------------------------------------------------------


def _short_date(tr: Translator, day: date) -> str:
    """Nov 16, 16 nov."""
    return tr.day_month(day, "MMMd")


def _pair(tr: Translator, match: Match, mentor: Person | None, mentee: Person | None) -> str:
    return tr.gettext(
        "{mentor} ↔ {mentee} (match {id})",
        mentor=clip(person_name(tr, mentor), NAME_CLIP),
        mentee=clip(person_name(tr, mentee), NAME_CLIP),
        id=match.id,
    )


def _rule(tr: Translator, rule: str) -> str:
    title = RULE_TITLES.get(rule)  # type: ignore[call-overload]
    return tr.gettext(title) if title else rule


def _severity(tr: Translator, severity: str) -> str:
    match severity:
        case Severity.URGENT:
            return tr.pgettext("flag severity", "urgent")
        case Severity.HIGH:
            return tr.pgettext("flag severity", "high")
        case Severity.MEDIUM:
            return tr.pgettext("flag severity", "medium")
        case _:
            return tr.pgettext("flag severity", "low")


def _closed(tr: Translator) -> str:
    return tr.pgettext("match status", "Closed")


def _quoted(tr: Translator, text: str) -> Html:
    """A participant's words, clipped and quoted as the language quotes."""
    return quoted(tr, clip(text, NOTE_CLIP))


def _mark(tr: Translator, mark: Mark) -> str:
    """🔴 <b>At risk</b>: colour and word, so it reads without colour too."""
    return f"{MARK_ICONS[mark]} <b>{escape(tr.gettext(MARK_LABELS[mark]))}</b>"


def _reasons(tr: Translator, health: Health, now: datetime) -> str:
    """Why the match is not on track, the worst reason first."""
    parts = []
    for judgement in health.judgements:
        match judgement.reason:
            case Reason.FLAGS:
                titles = dict.fromkeys(_rule(tr, flag.rule) for flag in health.weighing(now))
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


def _figures(tr: Translator, health: Health, now: datetime) -> str:
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
        day = _short_date(tr, _local_day(health.last_contact, zone))
        parts.append(tr.gettext("last contact {date}", date=day))
    return " · ".join(parts)


def _closed_line(tr: Translator, match: Match, zone: tzinfo | None) -> str:
    closed = match.closed_at or match.started_at
    line = tr.gettext("closed {date}", date=tr.date(_local_day(closed, zone)))
    if match.closure_reason:
        line += " · " + escape(clip(match.closure_reason, NAME_CLIP))
    return line


def _pages(blocks: Sequence[str], size: int) -> list[list[str]]:
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


def _heading(tr: Translator, parts: Sequence[str], page: int, pages: int) -> str:
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


async def _look(session: AsyncSession, update: Update, ctx: TandemContext) -> Look:
    """The programs the person asking coordinates; refused when there are none (an admin
    who did not join a program as its coordinator has none)."""
    programs = await programs_for(session, await current_actor(session, update, ctx), Task.PEOPLE)
    if not programs:
        raise not_a_coordinator(ctx.tr)
    return Look(session, ctx.tr, programs, ctx.now())


async def _people(session: AsyncSession, ids: set[int | None]) -> dict[int, Person]:
    wanted = [person_id for person_id in ids if person_id is not None]
    if not wanted:
        return {}
    rows = await session.exec(select(Person).where(col(Person.id).in_(wanted)))
    return {person.id or 0: person for person in rows.all()}


# --- /flags -----------------------------------------------------------------------------------


def _flag_status(
    tr: Translator, flag: Flag, handler: Person | None, now: datetime, zone: tzinfo | None
) -> str:
    if flag.status == FlagStatus.ACKNOWLEDGED:
        return tr.gettext("👀 acknowledged by {name}", name=person_name(tr, handler))
    if snoozed(flag, now) and flag.snoozed_until is not None:
        return tr.gettext(
            "💤 snoozed until {date}",
            date=_short_date(tr, _local_day(flag.snoozed_until, zone)),
        )
    return tr.pgettext("flag status", "open")


def _age(tr: Translator, opened: datetime, now: datetime) -> str:
    days = max((now - opened).days, 0)
    if days == 0:
        return tr.gettext("raised today")
    return tr.ngettext("raised {n} day ago", "raised {n} days ago", days)


async def flags_view(look: Look, page: int) -> View:
    tr, now = look.tr, look.now
    rows = await look.session.exec(
        select(Flag, Match)
        .join(Match, col(Match.id) == col(Flag.match_id))
        .where(
            col(Match.program_id).in_([program.id for program in look.programs]),
            col(Flag.status) != FlagStatus.RESOLVED,
        )
    )
    found = sorted(
        rows.all(),
        key=lambda row: (SEVERITY_ORDER.get(row[0].severity, 9), row[0].opened_at, row[0].id),
    )
    several = len(look.programs) > 1
    head = [tr.ngettext("<b>{n} open flag</b>", "<b>{n} open flags</b>", len(found))]
    if not several:
        head.append(escape(look.programs[0].name))
    if not found:
        calm = tr.gettext(
            "No open flags: no match needs your attention right now. I'll alert you as soon "
            "as one does."
        )
        return View(f"{_heading(tr, head, 0, 1)}\n\n{calm}")
    people = await _people(
        look.session,
        {person for flag, match in found for person in (match.mentor_id, match.mentee_id)}
        | {flag.handled_by for flag, _ in found},
    )
    blocks, buttons = [], []
    for number, (flag, match) in enumerate(found, 1):
        title = _rule(tr, flag.rule)
        icon = "🚨" if flag.severity == Severity.URGENT else "⚠️"
        lines = [
            f"<b>{number}.</b> {icon} <b>{escape(title)}</b> · "
            + escape(_severity(tr, flag.severity)),
            _pair(tr, match, people.get(match.mentor_id), people.get(match.mentee_id)),
        ]
        program = look.program(match.program_id)
        if several:
            lines.append(escape(clip(program.name if program else "?", NAME_CLIP)))
        handler = people.get(flag.handled_by or 0)
        zone = zone_or_none(program.timezone) if program else None
        status = _flag_status(tr, flag, handler, now, zone)
        lines.append(f"{_age(tr, flag.opened_at, now)} · {status}")
        blocks.append("\n".join(lines))
        buttons.append([(f"{number} · {clip(title, NAME_CLIP)}", _data("f", flag.id))])
    pages = _pages(blocks, FLAGS_PER_PAGE)
    page = min(page, len(pages) - 1)
    start = sum(len(earlier) for earlier in pages[:page])
    hint = tr.gettext("Tap a flag to see its evidence and act on it.")
    text = "\n\n".join([_heading(tr, head, page, len(pages)), *pages[page], hint])
    rows = buttons[start : start + len(pages[page])]
    return View(text, [*rows, page_buttons(tr, page, len(pages), partial(_data, "fl"))])


async def flag_view(look: Look, flag_id: int) -> View:
    """The flag's alert, as a new message, with the alert's own buttons."""
    flag = await look.session.get(Flag, flag_id)
    match = None if flag is None else await look.session.get(Match, flag.match_id)
    program = None if match is None else look.program(match.program_id)
    if flag is None or match is None or program is None:
        raise Refused(look.tr.gettext("Only this program's coordinators can do that."))
    people = await _people(look.session, {match.mentor_id, match.mentee_id, flag.handled_by})
    text = alert_text(
        look.tr,
        flag,
        program,
        people.get(match.mentor_id),
        people.get(match.mentee_id),
        people.get(flag.handled_by or 0),
        await flag_goals(look.session, [flag]),
    )
    return View(text, alert_buttons(look.tr, flag), new=True)


# --- /matches ---------------------------------------------------------------------------------


def _match_block(tr: Translator, health: Health, now: datetime, several: bool) -> str:
    match = health.match
    pair = _pair(tr, match, health.mentor, health.mentee)
    zone = zone_or_none(health.program.timezone)
    if health.mark is None:
        lines = [f"{CLOSED_ICON} <b>{escape(_closed(tr))}</b> · {pair}"]
        details = _closed_line(tr, match, zone)
    else:
        lines = [f"{_mark(tr, health.mark)} · {pair}"]
        details = _figures(tr, health, now)
    if several:
        details = f"{escape(clip(health.program.name, NAME_CLIP))} · {details}"
    lines.append(details)
    if health.judgements:
        lines.append(f"↳ {clip(_reasons(tr, health, now), REASONS_CLIP)}")
    return "\n".join(lines)


def _match_button(tr: Translator, health: Health, back: tuple[str, int, int]) -> Button:
    icon = MARK_ICONS[health.mark] if health.mark else CLOSED_ICON
    mentor = clip(person_name(tr, health.mentor), BUTTON_CLIP // 2 + 4)
    mentee = clip(person_name(tr, health.mentee), BUTTON_CLIP // 2 + 4)
    label = f"{icon} {health.match.id} · {mentor} ↔ {mentee}"
    return label, _data("m", health.match.id, 0, *back)


def _filter_rows(tr: Translator, look: Look, chosen: str, program_id: int) -> list[list[Button]]:
    def tick(label: str, on: bool) -> str:
        return f"✓ {label}" if on else label

    def to(code: str, program: int) -> str:
        return _data("ms", code, program, 0)

    marks = [
        (tick(tr.pgettext("matches filter", "All"), chosen == ALL), to(ALL, program_id)),
        *(
            (
                tick(MARK_ICONS[mark] + " " + tr.gettext(MARK_LABELS[mark]), chosen == code),
                to(code, program_id),
            )
            for code, mark in FILTERS.items()
            if mark is not None
        ),
    ]
    rows = [
        marks[:2],
        marks[2:],
        [(tick(_closed(tr), chosen == CLOSED), to(CLOSED, program_id))],
    ]
    if len(look.programs) > 1:
        choices = [(tick(tr.gettext("All programs"), program_id == 0), to(chosen, 0))]
        choices += [
            (
                tick(clip(program.name, BUTTON_CLIP), program.id == program_id),
                to(chosen, program.id or 0),
            )
            for program in look.programs
        ]
        rows += [choices[start : start + 2] for start in range(0, len(choices), 2)]
    return rows


async def _standings(look: Look, scope: list[Program], chosen: str, page: int) -> Standings:
    """One page of the list, ordered and cut by the database."""
    offset = page * MATCHES_PER_PAGE
    if chosen == CLOSED:
        return await closed_page(look.session, scope, offset, MATCHES_PER_PAGE)
    wanted = FILTERS.get(chosen)
    return await open_page(look.session, scope, look.now, wanted, offset, MATCHES_PER_PAGE)


async def matches_view(look: Look, chosen: str, program_id: int, page: int) -> View:
    tr, now = look.tr, look.now
    one = look.program(program_id) if program_id else None
    if program_id and one is None:
        raise Refused(tr.gettext("Only this program's coordinators can do that."))
    scope = [one] if one else list(look.programs)
    found = await _standings(look, scope, chosen, page)
    if page > 0 and not found.match_ids:  # past the end (matches closed since): the last page
        listed = (await _standings(look, scope, chosen, 0)).listed
        page = max(-(-listed // MATCHES_PER_PAGE) - 1, 0)
        found = await _standings(look, scope, chosen, page)
    shown = {
        health.match.id: health
        for health in await match_health(
            look.session, scope, now, closed=chosen == CLOSED, match_ids=found.match_ids
        )
    }
    listed = [shown[match_id] for match_id in found.match_ids if match_id in shown]
    everyone = sum(found.counts.values())
    pages = max(-(-found.listed // MATCHES_PER_PAGE), 1)
    several = len(look.programs) > 1 and not program_id
    head = [tr.gettext("<b>Matches</b>")]
    if len(scope) == 1:
        head.append(escape(scope[0].name))
    if chosen != ALL:
        label = _closed(tr) if chosen == CLOSED else tr.gettext(MARK_LABELS[FILTERS[chosen]])
        head.append(escape(label))
    lines = [_heading(tr, head, page, pages)]
    if chosen != CLOSED and everyone:
        lines.append(
            tr.gettext(
                "🔴 {risk} at risk · 🟡 {watch} to watch · 🟢 {fine} on track",
                risk=found.counts[Mark.AT_RISK],
                watch=found.counts[Mark.WATCH],
                fine=found.counts[Mark.ON_TRACK],
            )
        )
    if not everyone and chosen != CLOSED:
        if (await closed_page(look.session, scope, 0, 1)).match_ids:
            empty = tr.gettext(
                "No match is open right now: tap Closed to see the ones that ended, or send "
                "/pair to pair a mentor with a mentee."
            )
        else:
            empty = tr.gettext("No matches yet. Send /pair to pair a mentor with a mentee.")
        lines += ["", empty]
    elif not listed:
        lines += ["", tr.gettext(EMPTY_LISTS[chosen])]
    else:
        lines += ["", "\n\n".join(_match_block(tr, health, now, several) for health in listed)]
    back = (chosen, program_id, page)
    rows = [[_match_button(tr, health, back)] for health in listed]
    rows.append(page_buttons(tr, page, pages, partial(_data, "ms", chosen, program_id)))
    return View("\n".join(lines), [*rows, *_filter_rows(tr, look, chosen, program_id)])


# --- /match <id> ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    at: datetime
    order: int  # among events at the same moment, the higher is the later
    text: str


@dataclass
class Timeline:
    """What a match's timeline reads, for making its events."""

    tr: Translator
    match: Match
    people: dict[int, Person]
    zone: tzinfo | None
    events: list[Event] = field(default_factory=list)

    def add(self, at: datetime, icon: str, line: str, *more: str, order: int = 0) -> None:
        day = _short_date(self.tr, _local_day(at, self.zone))
        first = f"{icon} <b>{escape(day)}</b> · {line}"
        self.events.append(Event(at, order, "\n".join([first, *(f"   {item}" for item in more)])))

    def name(self, person_id: int | None) -> str:
        return member_name(self.tr, self.people.get(person_id or 0))


def _answer_lines(
    tr: Translator, instrument: Instrument | None, answers: dict[str, str]
) -> list[str]:
    """A check-in's answers: the short ones on one line, each typed text on its own."""
    short, typed = [], []
    known = [q for q in instrument.questions if q.key in answers] if instrument else []
    for question in known:
        value = answers[question.key]
        if not value:
            continue
        label = Html(escape(tr.gettext(question.label)))
        if question.kind is Kind.TEXT:
            typed.append(labelled(tr, label, _quoted(tr, value)))
        else:
            short.append(labelled(tr, label, display_value(tr, question, value)))
    for key, value in answers.items():
        if value and all(question.key != key for question in known):
            shown = f"{value} / 5" if is_scale_key(key) else clip(value, NOTE_CLIP)
            short.append(labelled(tr, Html(escape(question_label(tr, key))), shown))
    return ([" · ".join(short)] if short else []) + typed


def _instrument(key: str) -> Instrument | None:
    try:
        return load_instrument(key)
    except InstrumentError:
        return None


async def _prompt_events(timeline: Timeline, session: AsyncSession) -> None:
    tr, match = timeline.tr, timeline.match
    prompts = (await session.exec(select(Prompt).where(Prompt.match_id == match.id))).all()
    answers: dict[int, dict[str, str]] = {}
    rows = await session.exec(
        select(Answer)
        .join(Prompt, col(Prompt.id) == col(Answer.prompt_id))
        .where(Prompt.match_id == match.id, Prompt.kind != PromptKind.REFLECTION)
        .order_by(col(Answer.id))
    )
    for answer in rows.all():
        answers.setdefault(answer.prompt_id, {})[answer.question_key] = answer.value
    for prompt in prompts:
        status = tr.gettext(STATUS_LABELS.get(prompt.status, prompt.status))
        title = PROMPT_TITLES.get(prompt.kind, PROMPT_TITLES[PromptKind.CHECKIN])  # type: ignore[call-overload]
        line = tr.gettext(title, name=timeline.name(prompt.person_id), status=status)
        more = (
            []
            if prompt.kind == PromptKind.REFLECTION
            else _answer_lines(tr, _instrument(prompt.instrument), answers.get(prompt.id or 0, {}))
        )
        timeline.add(prompt.due_at, PROMPT_ICONS.get(prompt.status, "⏳"), line, *more)


async def _meeting_events(timeline: Timeline, session: AsyncSession) -> None:
    tr, instrument = timeline.tr, meeting_instrument()
    logs = await session.exec(
        select(MeetingLog).where(
            MeetingLog.match_id == timeline.match.id, col(MeetingLog.deleted_at).is_(None)
        )
    )
    for log in logs.all():
        line = tr.gettext(
            "Meeting, {duration}, {mode} (logged by {name})",
            duration=duration_text(tr, log.minutes),
            mode=mode_label(tr, instrument, log.mode),
            name=timeline.name(log.author_id),
        )
        more = []
        for key, value in (
            ("topics", ", ".join(topic_label(tr, item) for item in log.topics)),
            ("notes", log.notes or ""),
        ):
            question = instrument.question(key)
            if value and question:
                label = Html(escape(tr.gettext(question.label)))
                shown = _quoted(tr, value) if key == "notes" else clip(value, NOTE_CLIP)
                more.append(labelled(tr, label, shown))
        timeline.add(logged(log.met_on).moment, "🤝", line, *more, order=1)


async def _flag_events(timeline: Timeline, session: AsyncSession) -> None:
    tr, match = timeline.tr, timeline.match
    flags = {
        flag.id: flag
        for flag in (await session.exec(select(Flag).where(Flag.match_id == match.id))).all()
    }
    if not flags:
        return
    events = (
        await session.exec(
            select(AuditEvent).where(
                col(AuditEvent.subject).in_([f"flag:{flag_id}" for flag_id in flags])
            )
        )
    ).all()
    timeline.people |= await _people(session, {event.actor_id for event in events})
    goals = await flag_goals(session, flags.values())
    people = People(
        timeline.tr,
        timeline.people.get(match.mentor_id),
        timeline.people.get(match.mentee_id),
        goals,
    )
    for flag in flags.values():
        lines = evidence_lines(tr, flag, people, timeline.zone)
        if len(lines) > EVIDENCE_LINES:
            more = len(lines) - EVIDENCE_LINES
            lines = [*lines[:EVIDENCE_LINES], tr.ngettext("… and {n} more", "… and {n} more", more)]
        raised = tr.gettext(
            "Flag raised: {rule} ({severity})",
            rule=_rule(tr, flag.rule),
            severity=_severity(tr, flag.severity),
        )
        timeline.add(flag.opened_at, "🚩", raised, *lines, order=2)
    for event in events:
        flag = flags.get(int(event.subject.split(":")[1])) if event.subject else None
        if flag is None:
            continue
        action = _flag_action(tr, event, flag, timeline.name(event.actor_id), timeline.zone)
        if action is not None:
            timeline.add(event.at, action[0], action[1], order=3)


def _flag_action(
    tr: Translator, event: AuditEvent, flag: Flag, name: str, zone: tzinfo | None
) -> tuple[str, str] | None:
    rule = _rule(tr, flag.rule)
    match event.action:
        case "flag.acknowledge":
            return "👀", tr.gettext("{name} acknowledged “{rule}”.", name=name, rule=rule)
        case "flag.snooze":
            try:
                moment = datetime.fromisoformat(str(event.detail.get("until")))
                until = tr.date(_local_day(moment, zone))
            except ValueError:
                until = "?"
            return "💤", tr.gettext(
                "{name} snoozed “{rule}” until {date}.", name=name, rule=rule, date=until
            )
        case "flag.resolve" if flag.note and event.detail.get("with_note"):
            return "✅", tr.gettext(
                "{name} resolved “{rule}”: {note}",
                name=name,
                rule=rule,
                note=clip(flag.note, NOTE_CLIP),
            )
        case "flag.resolve":
            return "✅", tr.gettext("{name} resolved “{rule}”.", name=name, rule=rule)
        case "flag.snooze_ended":
            return "⏰", tr.gettext("The snooze of “{rule}” ended.", rule=rule)
    return None


async def _goal_events(timeline: Timeline, session: AsyncSession) -> None:
    match = timeline.match
    goals = await session.exec(
        select(Goal)
        .join(Membership, col(Membership.id) == col(Goal.membership_id))
        .where(
            Membership.person_id == match.mentee_id,
            Membership.program_id == match.program_id,
            Membership.role == Role.MENTEE,
            Goal.status == GoalStatus.ACHIEVED,
            col(Goal.achieved_at).is_not(None),
        )
    )
    for goal in goals.all():
        if goal.achieved_at is not None and goal.achieved_at >= match.started_at:
            text = timeline.tr.gettext("Goal achieved: {goal}", goal=clip(goal.text, NOTE_CLIP))
            timeline.add(goal.achieved_at, "🎯", text, order=1)


async def timeline_view(look: Look, match_id: int, page: int, back: tuple[str, int, int]) -> View:
    tr, now = look.tr, look.now
    match = await look.session.get(Match, match_id)
    program = None if match is None else look.program(match.program_id)
    if match is None or program is None:
        raise Refused(_not_found(tr, match_id))
    closed = match.status == MatchStatus.CLOSED
    (health,) = await match_health(
        look.session, [program], now, closed=closed, match_ids=[match_id]
    )
    zone = zone_or_none(program.timezone)
    people = {p.id or 0: p for p in (health.mentor, health.mentee) if p is not None}
    timeline = Timeline(tr, match, people, zone)
    timeline.add(match.started_at, "▶️", tr.gettext("Match started"))
    if closed and match.closed_at is not None:
        timeline.add(match.closed_at, "⏹", tr.gettext("Match closed"), order=9)
    for add in (_prompt_events, _meeting_events, _flag_events, _goal_events):
        await add(timeline, look.session)
    events = sorted(timeline.events, key=lambda event: (event.at, event.order), reverse=True)
    pages = _pages([event.text for event in events], EVENTS_PER_PAGE)
    page = min(page, len(pages) - 1)
    head = [
        tr.gettext(
            "<b>{mentor} ↔ {mentee}</b> · {program} (match {id})",
            mentor=person_name(tr, health.mentor),
            mentee=person_name(tr, health.mentee),
            program=program.name,
            id=match.id,
        )
    ]
    if health.mark is None:
        head.append(f"{CLOSED_ICON} <b>{escape(_closed(tr))}</b> · {_closed_line(tr, match, zone)}")
    else:
        reasons = _reasons(tr, health, now)
        head.append(_mark(tr, health.mark) + (f" — {reasons}" if reasons else ""))
        head.append(_figures(tr, health, now))
        if match.status == MatchStatus.PAUSED:
            head.append(tr.gettext("⏸ Paused"))
    title = _heading(tr, [tr.gettext("<b>Timeline</b>, newest first")], page, len(pages))
    text = "\n".join([*head, "", title, "", "\n\n".join(pages[page])])
    nav: list[Button] = []
    if page > 0:
        nav.append((tr.gettext("‹ Newer"), _data("m", match_id, page - 1, *back)))
    if page < len(pages) - 1:
        nav.append((tr.gettext("Older ›"), _data("m", match_id, page + 1, *back)))
    rows = [nav, [(tr.gettext("‹ Matches"), _data("ms", *back))]]
    if match.status in (MatchStatus.ACTIVE, MatchStatus.PAUSED):
        rows.insert(1, [(tr.gettext("🏁 End this match"), match_end(TIMELINE_END, match_id))])
    return View(text, rows)


def _not_found(tr: Translator, match_id: object) -> str:
    return tr.gettext(
        "I can't find match {id} in your programs. Send /matches to see them.", id=match_id
    )


# --- commands and buttons ---------------------------------------------------------------------


def _data(action: str, *args: object) -> str:
    return ":".join([PREFIX, action, *map(str, args)])


def _numbers(args: Sequence[str]) -> list[int] | None:
    numbers = [parse_number(arg) for arg in args]
    return None if any(number is None for number in numbers) else [n or 0 for n in numbers]


async def _decide(look: Look, parts: list[str]) -> View | None:
    """The view a button asks for, or None when its data is not one of ours."""
    action, args = parts[1], parts[2:]
    if action == "fl" and len(args) == 1 and (numbers := _numbers(args)):
        return await flags_view(look, numbers[0])
    if action == "f" and len(args) == 1 and (numbers := _numbers(args)):
        return await flag_view(look, numbers[0])
    if (
        action == "ms"
        and len(args) == 3
        and args[0] in FILTER_CODES
        and (numbers := _numbers(args[1:]))
    ):
        return await matches_view(look, args[0], numbers[0], numbers[1])
    if action == TIMELINE_NEW and len(args) == 1 and (numbers := _numbers(args)):
        view = await timeline_view(look, numbers[0], 0, (ALL, 0, 0))
        return replace(view, new=True)  # from an alert: the alert stays as it was
    if action == "m" and len(args) == 5 and args[2] in FILTER_CODES:
        numbers = _numbers([*args[:2], *args[3:]])
        if numbers:
            match_id, page, program_id, list_page = numbers
            return await timeline_view(look, match_id, page, (args[2], program_id, list_page))
    return None


async def on_button(update: Update, ctx: TandemContext) -> None:
    query = update.callback_query
    assert query is not None
    parts = (query.data or "").split(":")
    try:
        async with ctx.db.session() as session:
            look = await _look(session, update, ctx)
            view = await _decide(look, parts) if len(parts) >= 3 else None
    except Refused as refusal:
        await query.answer(str(refusal))
        return
    if view is None:
        await query.answer(describe_unusable(ctx.tr, update, expects_text=False))
        return
    rows = [row for row in view.rows if row]
    markup = keyboard(rows) if rows else None
    if view.new:
        await query.answer()
        await say(update, view.text, markup)
    elif not await edit_in_place(query, view.text, markup, None):  # too old to edit: a new message
        await say(update, view.text, markup)


async def _command(
    update: Update, ctx: TandemContext, decide: Callable[[Look], Awaitable[View]]
) -> None:
    try:
        async with ctx.db.session() as session:
            look = await _look(session, update, ctx)
            view = await decide(look)
    except Refused as refusal:
        await say(update, str(refusal))
        await reprompt(update, ctx)
        return
    rows = [row for row in view.rows if row]
    await say(update, view.text, keyboard(rows) if rows else None)


async def flags_command(update: Update, ctx: TandemContext) -> None:
    await _command(update, ctx, lambda look: flags_view(look, 0))


async def matches_command(update: Update, ctx: TandemContext) -> None:
    await _command(update, ctx, lambda look: matches_view(look, ALL, 0, 0))


async def match_command(update: Update, ctx: TandemContext) -> None:
    args = ctx.args or []
    match_id = parse_number(args[0].lstrip("#")) if len(args) == 1 else None

    async def decide(look: Look) -> View:
        if match_id is None:
            raise Refused(
                look.tr.gettext(
                    "Send the match number after the command, for example /match 12. "
                    "/matches lists your matches with their numbers."
                )
            )
        return await timeline_view(look, match_id, 0, (ALL, 0, 0))

    await _command(update, ctx, decide)


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Register before onboarding, whose catch-all would otherwise take these commands."""
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("flags", flags_command, private),
        CommandHandler("matches", matches_command, private),
        CommandHandler("match", match_command, private),
        CallbackQueryHandler(on_button, pattern=rf"^{PREFIX}:"),
    ]
