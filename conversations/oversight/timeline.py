"""/match <id>: one match's timeline, newest first: check-ins with their answers, meeting
logs, goals achieved, flags with their evidence and what was done about them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from conversations.engine import display_value
from conversations.instruments import Instrument, InstrumentError, Kind, load_instrument
from conversations.kit.actor import Refused
from conversations.kit.alert_text import (
    People,
    evidence_lines,
    flag_goals,
    question_label,
)
from conversations.kit.alert_text import local_date as _local_day
from conversations.kit.buttons import (
    TIMELINE_END,
    Button,
    match_end,
)
from conversations.kit.meeting_record import meeting_instrument, mode_label, topic_label
from conversations.kit.text import (
    clip,
    duration_text,
    labelled,
    member_name,
    person_name,
)
from conversations.oversight.common import (
    CLOSED_ICON,
    EVENTS_PER_PAGE,
    EVIDENCE_LINES,
    NOTE_CLIP,
    PROMPT_ICONS,
    PROMPT_TITLES,
    STATUS_LABELS,
    Look,
    View,
    callback_data,
    closed_line,
    closed_word,
    figure_line,
    heading_line,
    mark_word,
    page_blocks,
    people_by_id,
    quoted_note,
    reasons_line,
    rule_word,
    severity_word,
    short_date,
)
from locales.translator import Html, Translator, escape
from storage.contacts import logged
from storage.flags import is_scale_key
from storage.health import match_health
from storage.models import (
    Answer,
    AuditEvent,
    Flag,
    Goal,
    GoalStatus,
    Match,
    MatchStatus,
    MeetingLog,
    Membership,
    Person,
    Prompt,
    PromptKind,
    Role,
)
from storage.programs import zone_or_none


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
        day = short_date(self.tr, _local_day(at, self.zone))
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
            typed.append(labelled(tr, label, quoted_note(tr, value)))
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
                shown = quoted_note(tr, value) if key == "notes" else clip(value, NOTE_CLIP)
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
    timeline.people |= await people_by_id(session, {event.actor_id for event in events})
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
            rule=rule_word(tr, flag.rule),
            severity=severity_word(tr, flag.severity),
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
    rule = rule_word(tr, flag.rule)
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
    pages = page_blocks([event.text for event in events], EVENTS_PER_PAGE)
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
        head.append(
            f"{CLOSED_ICON} <b>{escape(closed_word(tr))}</b> · {closed_line(tr, match, zone)}"
        )
    else:
        reasons = reasons_line(tr, health, now)
        head.append(mark_word(tr, health.mark) + (f" — {reasons}" if reasons else ""))
        head.append(figure_line(tr, health, now))
        if match.status == MatchStatus.PAUSED:
            head.append(tr.gettext("⏸ Paused"))
    title = heading_line(tr, [tr.gettext("<b>Timeline</b>, newest first")], page, len(pages))
    text = "\n".join([*head, "", title, "", "\n\n".join(pages[page])])
    nav: list[Button] = []
    if page > 0:
        nav.append((tr.gettext("‹ Newer"), callback_data("m", match_id, page - 1, *back)))
    if page < len(pages) - 1:
        nav.append((tr.gettext("Older ›"), callback_data("m", match_id, page + 1, *back)))
    rows = [nav, [(tr.gettext("‹ Matches"), callback_data("ms", *back))]]
    if match.status in (MatchStatus.ACTIVE, MatchStatus.PAUSED):
        rows.insert(1, [(tr.gettext("🏁 End this match"), match_end(TIMELINE_END, match_id))])
    return View(text, rows)


def _not_found(tr: Translator, match_id: object) -> str:
    return tr.gettext(
        "I can't find match {id} in your programs. Send /matches to see them.", id=match_id
    )
