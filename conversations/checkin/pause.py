"""Not now: snoozing a check-in (3 hours, tomorrow), /skip with an optional reason, /pause
until a date (buttons or a typed date, read in English or French) and /resume."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update

from conversations import engine
from conversations.checkin.common import (
    TapContext,
    done_or_closed,
    no_match,
    participant,
    program_of,
    stale_button,
    week_prompt,
)
from conversations.kit.buttons import keyboard
from conversations.kit.cancel import cancellable
from conversations.kit.context import TandemContext
from conversations.kit.meeting_vocabulary import MONTHS
from conversations.kit.profile import slot_text
from conversations.kit.prompt import (
    SKIP,
)
from conversations.kit.reply import (
    AWAITING_DATE,
    OutgoingMessage,
    Reply,
    deliver,
)
from conversations.kit.unusable import describe_unusable
from locales.translator import N_, Translator
from storage.answers import (
    OPEN,
    active_matches,
    store_answer,
)
from storage.materialise import schedule_changed
from storage.models import (
    Person,
    PersonStatus,
    Prompt,
    PromptStatus,
)
from storage.programs import zone_of
from storage.schedule import (
    fold,
)

SKIP_REASON = "skip_reason"  # Answer.question_key of /skip's reason
SKIP_REASONS: tuple[tuple[str, str], ...] = (
    ("busy", N_("Too busy")),
    ("holiday", N_("On holiday")),
    ("sick", N_("Sick")),
    ("other", N_("Another reason")),
)
PAUSE_PREFIX = "pause"
PAUSE_CHOICES: tuple[tuple[str, str], ...] = (
    ("1w", N_("1 week")),
    ("2w", N_("2 weeks")),
    ("1m", N_("1 month")),
)
MAX_PAUSE = timedelta(days=183)
SNOOZE_HOURS = 3
PAUSE_DATE_WINDOW = timedelta(minutes=10)  # a typed date still answers /pause this long

cancellable(AWAITING_DATE)  # /cancel ends the wait for a typed pause date


async def on_snooze(state: TapContext) -> Reply:
    """Remind me later: in 3 hours, or tomorrow at the same local time."""
    prompt, tr, now = state.prompt, state.tr, state.ctx.now()
    if prompt.status not in OPEN or not state.is_open:
        return Reply(notice=done_or_closed(tr, prompt))
    if state.tap.option == "3h":
        remind_at = now + timedelta(hours=SNOOZE_HOURS)
        notice = tr.gettext("Okay, I'll remind you in 3 hours.")
    elif state.tap.option == "tomorrow":
        program = await program_of(state.session, prompt)
        zone = zone_of(state.person, program)
        local = now.astimezone(zone)
        tomorrow = datetime.combine(local.date() + timedelta(days=1), local.time(), zone)
        remind_at = tomorrow.astimezone(UTC)
        notice = tr.gettext("Okay, I'll remind you at {time} tomorrow.", time=tr.time(local))
    else:
        return Reply(notice=stale_button(tr))
    if remind_at >= prompt.closes_at:
        return Reply(
            notice=tr.gettext(
                "This check-in closes before then. Answer it now, or send /skip to skip this week."
            )
        )
    prompt.remind_at, prompt.reminded_at = remind_at, None
    state.session.add(prompt)
    return Reply(notice=notice)


def _skipped_text(tr: Translator) -> str:
    return tr.gettext("Okay, this week's check-in is skipped. You'll hear from me next week.")


async def skip_command(update: Update, ctx: TandemContext) -> None:
    """/skip: skip this week's check-in (not yet answered), then an optional reason."""
    async with ctx.db.session() as session:
        person = await participant(session, update, ctx)
        reply = person if isinstance(person, Reply) else await _skip_week(session, ctx, person)
    await deliver(update, ctx, reply)


async def _skip_week(session: AsyncSession, ctx: TandemContext, person: Person) -> Reply:
    tr, now = ctx.tr, ctx.now()
    assert person.id is not None
    matches = await active_matches(session, person.id)
    if not matches:
        return Reply(notice=no_match(tr))
    statuses = set()
    for match in matches:
        prompt = await week_prompt(session, person, match, now, status=PromptStatus.PENDING)
        statuses.add(prompt.status)
        if prompt.status in (PromptStatus.SKIPPED, PromptStatus.ANSWERED):
            continue
        prompt.status, prompt.remind_at = PromptStatus.SKIPPED, None
        session.add(prompt)
        reasons = [
            (tr.gettext(label), engine.callback(prompt.id or 0, SKIP, key))
            for key, label in SKIP_REASONS
        ]
        text = _skipped_text(tr) + "\n\n" + tr.gettext("If you like, tell me why:")
        return Reply(messages=[OutgoingMessage(text, keyboard([reasons[:2], reasons[2:]]))])
    if PromptStatus.ANSWERED in statuses:
        return Reply(
            notice=tr.gettext(
                "You've already answered this week's check-in, so there's nothing to skip. "
                "Send /checkin to change an answer."
            )
        )
    return Reply(notice=tr.gettext("This week's check-in is already skipped."))


async def on_skip_reason(state: TapContext) -> Reply:
    """Why this week was skipped (optional): stored as the `skip_reason` answer."""
    prompt, tr = state.prompt, state.tr
    labels = dict(SKIP_REASONS)
    if prompt.status != PromptStatus.SKIPPED or state.tap.option not in labels:
        return Reply(notice=stale_button(tr))
    await store_answer(
        state.session, prompt.id or 0, SKIP_REASON, state.tap.option, state.ctx.now()
    )
    text = (
        _skipped_text(tr)
        + "\n\n"
        + tr.gettext("Reason: {reason}", reason=tr.gettext(labels[state.tap.option]))
    )
    return Reply(notice=tr.gettext("Thanks for letting me know."), edit=OutgoingMessage(text, None))


async def pause_command(update: Update, ctx: TandemContext) -> None:
    """/pause [date]: pause check-ins until a date — from the buttons, or typed."""
    async with ctx.db.session() as session:
        person = await participant(session, update, ctx)
        if isinstance(person, Reply):
            reply = person
        elif ctx.args:
            reply = await _pause_from_text(session, ctx, person, " ".join(ctx.args))
        else:
            reply = _pause_question(ctx, person)
    await deliver(update, ctx, reply)


def _pause_question(ctx: TandemContext, person: Person) -> Reply:
    tr = ctx.tr
    example = tr.date(_today(ctx, person) + timedelta(days=21), "long")
    text = "\n\n".join(
        [
            tr.gettext("Taking a break? Until when should I pause your check-ins?"),
            tr.gettext(
                "Tap one, or type the date you'd like to hear from me again, like {example}.",
                example=example,
            ),
        ]
    )
    buttons = [(tr.gettext(label), f"{PAUSE_PREFIX}:{key}") for key, label in PAUSE_CHOICES]
    return Reply(messages=[OutgoingMessage(text, keyboard([buttons]))], awaiting_date=True)


def _today(ctx: TandemContext, person: Person) -> date:
    return ctx.now().astimezone(zone_of(person, None)).date()


async def on_pause_choice(update: Update, ctx: TandemContext) -> None:
    query = update.callback_query
    assert query is not None
    choice = (query.data or "").removeprefix(f"{PAUSE_PREFIX}:")
    async with ctx.db.session() as session:
        person = await participant(session, update, ctx)
        if isinstance(person, Reply):
            reply = person
        elif choice not in dict(PAUSE_CHOICES):
            reply = Reply(notice=stale_button(ctx.tr))
        else:
            until = pause_end(_today(ctx, person), choice)
            reply = await _pause_until(session, ctx, person, until)
            reply.edit, reply.messages = reply.messages[0], []
    await deliver(update, ctx, reply)


def pause_end(today: date, choice: str) -> date:
    """The day check-ins resume: a week or two from today, or the same day next month
    (its last day, when next month is shorter)."""
    if choice in ("1w", "2w"):
        return today + timedelta(weeks=int(choice[0]))
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return date(year, month, min(today.day, calendar.monthrange(year, month)[1]))


async def typed_pause_date(
    session: AsyncSession, ctx: TandemContext, update: Update, person: Person
) -> Reply | None:
    message = update.effective_message
    assert message is not None
    if message.text is not None and message.text.startswith("/"):
        return None
    if message.text is None:
        return Reply(notice=describe_unusable(ctx.tr, update, expects_text=True))
    return await _pause_from_text(session, ctx, person, message.text)


async def _pause_from_text(
    session: AsyncSession, ctx: TandemContext, person: Person, text: str
) -> Reply:
    tr = ctx.tr
    today = _today(ctx, person)
    day = parse_day(text[:40], today)
    if day is None:
        return Reply(
            notice=tr.gettext(
                "I couldn't read that date. Please type it like {example}, or tap one of "
                "the buttons.",
                example=tr.date(today + timedelta(days=21), "long"),
            ),
            awaiting_date=True,
        )
    if day <= today or day - today > MAX_PAUSE:
        return Reply(
            notice=tr.gettext(
                "Please choose a date after today and within the next six months. For a "
                "longer break, talk to your coordinator."
            ),
            awaiting_date=True,
        )
    return await _pause_until(session, ctx, person, day)


async def _pause_until(
    session: AsyncSession, ctx: TandemContext, person: Person, until: date
) -> Reply:
    """Pause: no check-ins until the morning of `until`, when the dispatcher makes the
    person active again. Check-ins not sent yet are withdrawn (and made again after the
    pause); one already sent stays answerable, gets no reminder, and if its period closes
    during the pause it expires instead of counting as missed."""
    assert person.id is not None
    person.status, person.paused_until = PersonStatus.PAUSED, until
    session.add(person)
    await session.exec(
        sa.delete(Prompt).where(
            col(Prompt.person_id) == person.id, col(Prompt.status) == PromptStatus.PENDING
        )
    )
    await schedule_changed(session)
    text = ctx.tr.gettext(
        "Okay, your check-ins are paused until {date}. I'll write to you again then. "
        "Send /resume to come back sooner.",
        date=ctx.tr.date(until, "long"),
    )
    return Reply(messages=[OutgoingMessage(text, None)], awaiting_date=False)


async def resume_command(update: Update, ctx: TandemContext) -> None:
    """/resume: check-ins back on."""
    tr = ctx.tr
    async with ctx.db.session() as session:
        person = await participant(session, update, ctx)
        if isinstance(person, Reply):
            reply = person
        elif person.status != PersonStatus.PAUSED and person.paused_until is None:
            reply = Reply(notice=tr.gettext("Your check-ins aren't paused."))
        else:
            person.status, person.paused_until = PersonStatus.ACTIVE, None
            session.add(person)
            await schedule_changed(session)
            lines = [tr.gettext("Welcome back! Your check-ins are on again.")]
            if person.checkin_weekday is not None and person.checkin_time is not None:
                slot = slot_text(tr, person.checkin_weekday, person.checkin_time)
                lines.append(tr.gettext("Next check-in: {slot}", slot=slot))
            reply = Reply(notice="\n".join(lines), awaiting_date=False)
    await deliver(update, ctx, reply)


def awaiting_date(ctx: TandemContext) -> bool:
    started = (ctx.user_data or {}).get(AWAITING_DATE)
    return isinstance(started, int | float) and (
        ctx.now().timestamp() - started <= PAUSE_DATE_WINDOW.total_seconds()
    )


_ISO_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


_DAY_MONTH = re.compile(r"(?:le )?(\d{1,2})(?:er)? ([a-z]+)(?: (\d{4}))?")


_MONTH_DAY = re.compile(r"([a-z]+) (\d{1,2})(?:st|nd|rd|th)?(?: (\d{4}))?")


def parse_day(text: str, today: date) -> date | None:
    """'2027-01-05', '5 janvier', '1er mars 2027', 'January 5', 'Jan 5th, 2027' -> a date;
    without a year, the next such date after today. None when unclear."""
    plain = re.sub(r"\s+", " ", fold(text).replace(",", " ").replace(".", " ")).strip()
    if found := _ISO_DAY.fullmatch(plain):
        return _date(int(found[1]), int(found[2]), int(found[3]))
    for pattern, day_group, month_group in ((_DAY_MONTH, 1, 2), (_MONTH_DAY, 2, 1)):
        found = pattern.fullmatch(plain)
        if found and found[month_group] in MONTHS:
            day, month = int(found[day_group]), MONTHS[found[month_group]]
            if found[3]:
                return _date(int(found[3]), month, day)
            this_year = _date(today.year, month, day)
            if this_year is not None and this_year > today:
                return this_year
            return _date(today.year + 1, month, day)
    return None


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
