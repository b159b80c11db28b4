"""Stored logs: /logs (the match's meetings against what the program expects) and a
stored log's buttons — undo, show, edit a field, delete — for its author, for 7 days."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, tzinfo

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update

from conversations.instruments import Instrument, Kind
from conversations.kit.buttons import Button, keyboard, parse_number
from conversations.kit.context import TandemContext
from conversations.kit.meeting_record import (
    answers_of,
    meeting_instrument,
    mode_label,
    program_topics,
    record_lines,
    topic_label,
)
from conversations.kit.reply import OutgoingMessage, Reply, deliver
from conversations.kit.text import NAME_CLIP, clip, duration_text, partner_name
from conversations.meeting_log.draft import (
    FIELDS,
    LOG_PREFIX,
    RECENT,
    TOPICS_SHOWN,
    Draft,
    Outcome,
    answer,
    bold,
    log_data,
    log_refusal,
    record_message,
    send,
)
from conversations.meeting_log.guided import (
    participant,
    stale,
)
from conversations.meeting_log.walk import (
    Logging,
    advance,
    no_match,
)
from locales.translator import Translator, escape
from storage.meetings import (
    meeting_for_update,
    meeting_totals,
    open_matches,
    recent_meetings,
)
from storage.metrics import expected_minutes_per_week
from storage.models import Match, MeetingLog, Person, Program
from storage.programs import zone_of


@dataclass(frozen=True)
class LogTap:
    """Parsed `mlg:` callback data."""

    action: str
    meeting_id: int
    part: str = ""


def _parse_log_tap(data: str | None) -> LogTap | None:
    parts = (data or "").split(":")
    meeting_id = parse_number(parts[2]) if len(parts) in (3, 4) else None
    if parts[0] != LOG_PREFIX or meeting_id is None:
        return None
    return LogTap(parts[1], meeting_id, parts[3] if len(parts) == 4 else "")


@dataclass
class Pressed:
    """A tap on a stored log's button, by its author, inside the transaction."""

    session: AsyncSession
    ctx: TandemContext
    person: Person
    meeting: MeetingLog
    part: str

    @property
    def tr(self) -> Translator:
        return self.ctx.tr

    async def instrument(self) -> Instrument:
        return meeting_instrument(program_topics(await self.program()))

    async def program(self) -> Program | None:
        match = await self.session.get(Match, self.meeting.match_id)
        return await self.session.get(Program, match.program_id) if match else None


async def on_log_tap(update: Update, ctx: TandemContext) -> None:
    """Every `mlg:` button. The log is read locked and checked against the person
    pressing before anything changes; the chat is updated after the commit."""
    query = update.callback_query
    assert query is not None
    tap = _parse_log_tap(query.data)
    async with ctx.db.session() as session:
        person = await participant(session, update, ctx)
        if isinstance(person, Reply):
            outcome = Outcome(person)
        elif tap is None or tap.action not in LOG_ACTIONS:
            outcome = Outcome(Reply(notice=stale(ctx.tr)))
        else:
            meeting = await meeting_for_update(session, tap.meeting_id)
            refusal = log_refusal(ctx.tr, meeting, person, ctx.now())
            if refusal is not None or meeting is None:
                outcome = Outcome(Reply(notice=refusal))
            else:
                pressed = Pressed(session, ctx, person, meeting, tap.part)
                outcome = await LOG_ACTIONS[tap.action](pressed)
    await send(update, ctx, outcome)


def _delete(pressed: Pressed) -> None:
    pressed.meeting.deleted_at = pressed.ctx.now()
    pressed.session.add(pressed.meeting)


async def _on_undo(pressed: Pressed) -> Outcome:
    """Undo, right after logging: delete without asking."""
    _delete(pressed)
    text = escape(pressed.tr.gettext("↩️ Undone: that meeting is no longer logged."))
    return Outcome(Reply(edit=OutgoingMessage(text, None), evaluate_match=pressed.meeting.match_id))


async def _on_show(pressed: Pressed) -> Outcome:
    title = pressed.tr.gettext("Meeting log")
    record = record_message(
        pressed.tr, pressed.meeting, await pressed.instrument(), title, just_logged=False
    )
    return Outcome(Reply(edit=record))


async def _on_edit(pressed: Pressed) -> Outcome:
    """Edit: which field? (the message's buttons change)."""
    tr, meeting = pressed.tr, pressed.meeting
    instrument = await pressed.instrument()
    buttons: list[Button] = []
    for part, keys in FIELDS.items():
        question = instrument.question(keys[0])
        label = tr.gettext(question.label) if question else part
        buttons.append((label, log_data("field", meeting.id or 0, part)))
    rows = [buttons[index : index + 2] for index in range(0, len(buttons), 2)]
    rows.append([(tr.gettext("← Back"), log_data("show", meeting.id or 0))])
    lines = [
        bold(tr.gettext("What do you want to change?")),
        "",
        *record_lines(tr, meeting, instrument),
    ]
    return Outcome(Reply(edit=OutgoingMessage("\n".join(lines), keyboard(rows))))


async def _on_field(pressed: Pressed) -> Outcome:
    """One field chosen: its question is asked again, showing the current answer."""
    tr, meeting = pressed.tr, pressed.meeting
    keys = FIELDS.get(pressed.part)
    if keys is None:
        return Outcome(Reply(notice=stale(tr)))
    program = await pressed.program()
    topics = program_topics(program)
    current = answers_of(meeting, topics)
    draft = Draft.new(
        meeting.source,
        keys,
        answers={key: value for key, value in current.items() if key not in keys},
        match_id=meeting.match_id,
        meeting_id=meeting.id,
        part=pressed.part,
    )
    logging = Logging(pressed.session, pressed.ctx, pressed.person, draft)
    question = meeting_instrument(topics).question(keys[0])
    before: list[str] = []
    selection: frozenset[str] = frozenset()
    if question is not None and current.get(question.key):
        shown = answer(tr, question, current, topics)
        before.append("<i>" + tr.gettext("Your answer was: {answer}", answer=shown) + "</i>")
        if question.kind is Kind.MULTI:  # ticked as they were
            selection = frozenset(current[question.key].split(","))
    outcome = await advance(logging, before, selection)
    outcome.reply.drop_buttons = True
    return outcome


async def _on_delete(pressed: Pressed) -> Outcome:
    """Delete: asks first."""
    tr, meeting = pressed.tr, pressed.meeting
    lines = [
        bold(tr.gettext("Delete this meeting log?")),
        "",
        *record_lines(tr, meeting, await pressed.instrument()),
    ]
    buttons = [
        (tr.gettext("🗑️ Yes, delete it"), log_data("delok", meeting.id or 0)),
        (tr.gettext("No, keep it"), log_data("keep", meeting.id or 0)),
    ]
    return Outcome(Reply(edit=OutgoingMessage("\n".join(lines), keyboard([buttons]))))


async def _on_delete_confirmed(pressed: Pressed) -> Outcome:
    _delete(pressed)
    await pressed.session.flush()
    overview = await _overview_of(pressed)
    deleted = Reply(
        notice=pressed.tr.gettext("Deleted."),
        edit=overview,
        evaluate_match=pressed.meeting.match_id,
    )
    return Outcome(deleted)


async def _on_keep(pressed: Pressed) -> Outcome:
    return Outcome(Reply(edit=await _overview_of(pressed)))


async def _overview_of(pressed: Pressed) -> OutgoingMessage:
    match = await pressed.session.get(Match, pressed.meeting.match_id)
    assert match is not None
    return await overview(pressed.session, pressed.ctx, pressed.person, match)


LOG_ACTIONS: dict[str, Callable[[Pressed], Awaitable[Outcome]]] = {
    "undo": _on_undo,
    "show": _on_show,
    "edit": _on_edit,
    "field": _on_field,
    "del": _on_delete,
    "delok": _on_delete_confirmed,
    "keep": _on_keep,
}


async def logs_command(update: Update, ctx: TandemContext) -> None:
    """/logs: each match's recent meetings and its total time against the expected."""
    async with ctx.db.session() as session:
        person = await participant(session, update, ctx)
        if isinstance(person, Reply):
            reply = person
        else:
            matches = await open_matches(session, person.id or 0)
            messages = [await overview(session, ctx, person, match) for match in matches]
            reply = Reply(messages=messages) if messages else Reply(notice=no_match(ctx.tr))
    await deliver(update, ctx, reply)


def expected_minutes(program: Program | None, match: Match, today: date, zone: tzinfo) -> int:
    """The contact a program expects by `today`: its weekly minutes
    (`settings["expected_minutes_per_week"]`, default 60) for every week begun since the
    match started, up to the program's length."""
    per_week = expected_minutes_per_week(program.settings if program else None)
    started = match.started_at.astimezone(zone).date()
    weeks = max(0, (today - started).days) // 7 + 1
    if program is not None:
        weeks = min(weeks, program.weeks)
    return round(per_week * weeks)


async def overview(
    session: AsyncSession, ctx: TandemContext, person: Person, match: Match
) -> OutgoingMessage:
    """One match's recent meetings, newest first, who logged each, the total time, and
    Edit / Delete buttons on the person's own logs that can still change."""
    tr, now = ctx.tr, ctx.now()
    assert match.id is not None and person.id is not None
    program = await session.get(Program, match.program_id)
    instrument = meeting_instrument(program_topics(program))
    partner = clip(await partner_name(session, tr, match, person.id), NAME_CLIP)
    meetings = await recent_meetings(session, match.id, RECENT)
    count, minutes = await meeting_totals(session, match.id)
    lines = ["<b>" + tr.gettext("Meetings with {name}", name=partner) + "</b>", ""]
    rows: list[list[Button]] = []
    for index, (meeting, author) in enumerate(meetings, start=1):
        lines.append(_overview_line(tr, instrument, index, meeting, author, person))
        if log_refusal(tr, meeting, person, now) is None:
            rows.append(
                [
                    (tr.gettext("✏️ Edit {n}", n=index), log_data("edit", meeting.id or 0)),
                    (tr.gettext("🗑️ Delete {n}", n=index), log_data("del", meeting.id or 0)),
                ]
            )
    if not meetings:
        lines.append(escape(tr.gettext("No meetings logged yet. Send /log to log one.")))
    elif count > len(meetings):
        earlier = count - len(meetings)
        lines.append(
            tr.ngettext("…and {n} earlier meeting.", "…and {n} earlier meetings.", earlier)
        )
    zone = zone_of(person, program)
    expected = expected_minutes(program, match, now.astimezone(zone).date(), zone)
    total = tr.gettext(
        "Total: {done} of {expected} expected so far.",
        done=duration_text(tr, minutes),
        expected=duration_text(tr, expected),
    )
    lines += ["", total]
    return OutgoingMessage("\n".join(lines), keyboard(rows) if rows else None)


def _overview_line(
    tr: Translator,
    instrument: Instrument,
    index: int,
    meeting: MeetingLog,
    author: str | None,
    person: Person,
) -> str:
    parts = [
        tr.date(meeting.met_on, "medium"),
        duration_text(tr, meeting.minutes),
        mode_label(tr, instrument, meeting.mode),
    ]
    if meeting.topics:
        topics = ", ".join(topic_label(tr, item) for item in meeting.topics)
        parts.append(clip(topics, TOPICS_SHOWN))
    if meeting.author_id == person.id:
        who = tr.gettext("logged by you")
    else:
        who = tr.gettext("logged by {name}", name=clip(author or "?", NAME_CLIP))
    return f"{index}. {escape(' · '.join(parts))} — <i>{who}</i>"
