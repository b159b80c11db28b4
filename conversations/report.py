"""/report: a chart of a program's last weeks (check-ins answered, ratings, contact hours
against the expected) as a photo, with its figures in words in the caption, for the
program's coordinators only; once a match has closed, the program's outcomes follow the
figures in words.

```mermaid
stateDiagram-v2
    [*] --> Choice: /report (several programs), rep:page
    [*] --> Chart: /report (one program)
    Choice --> Chart: rep:prog:<program id>
    Chart --> Chart: rep:w:<program id>:<4, 12 or 26 weeks>
    Chart --> [*]
```

Buttons carry `rep:<action>:<program id>[:<argument>]` (`page` pages the program choice,
`prog` picks a program, `w` redraws over 4, 12 or 26 weeks). As with /export, the data is
never trusted: each press checks again that the person pressing coordinates that program.
Viewing a chart changes nothing and shows no one's personal data (only program totals),
so, unlike an export, it is not recorded as an audit event.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, timedelta

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from conversations.kit.buttons import Button, keyboard
from conversations.kit.charts import ReportData, decimal, percent, render_report, report_data
from conversations.kit.context import TandemContext
from conversations.kit.outcome_text import with_outcomes
from conversations.kit.program_picker import PAGE, PICK, choose, data, parse, program_for, refuse
from conversations.kit.reply import say
from conversations.kit.unusable import describe_unusable
from locales.translator import Translator
from storage.exports import slug
from storage.models import Program
from storage.outcomes import program_outcomes
from storage.programs import zone_or_none

PREFIX = "rep"
RANGES = (4, 12, 26)  # weeks a chart can cover
DEFAULT_WEEKS = 12


def _ranges(tr: Translator, program_id: int, shown: int) -> list[list[Button]]:
    """Buttons to redraw the chart over the other periods."""
    return [
        [
            (tr.ngettext("{n} week", "{n} weeks", weeks), data(PREFIX, "w", program_id, weeks))
            for weeks in RANGES
            if weeks != shown
        ]
    ]


def caption(tr: Translator, program_name: str, data: ReportData) -> str:
    """The chart's figures in words (Telegram HTML), for screen readers and for anyone who
    does not open the picture."""
    weeks = len(data.weeks)
    first, last = data.weeks[0].monday, data.weeks[-1].monday + timedelta(days=6)
    lines = [
        tr.ngettext(
            "<b>{program}</b>, last {n} week ({dates}; the last one is still under way).",
            "<b>{program}</b>, last {n} weeks ({dates}; the last one is still under way).",
            weeks,
            program=program_name,
            dates=tr.date_range(first, last),
        )
    ]
    response = data.response
    if response.value is None:
        lines.append(tr.gettext("Check-ins answered: none reached anyone in these weeks."))
    else:
        lines.append(
            tr.ngettext(
                "Check-ins answered: {rate} ({answered} of {n} check-in delivered).",
                "Check-ins answered: {rate} ({answered} of {n} check-ins delivered).",
                response.reached,
                rate=percent(tr, response.value),
                answered=response.answered,
            )
        )
    no_rating = tr.gettext("no ratings yet")
    mentees, mentors = data.mentee_average, data.mentor_average
    lines.append(
        tr.gettext(
            "Average ratings out of 5: mentees {mentees} (how helpful), mentors {mentors} "
            "(how it's going).",
            mentees=no_rating if mentees is None else decimal(tr, mentees, "0.0"),
            mentors=no_rating if mentors is None else decimal(tr, mentors, "0.0"),
        )
    )
    hours = decimal(tr, data.contact_minutes / 60)
    if data.expected_minutes:
        lines.append(
            tr.gettext(
                "Contact: {hours} h logged or estimated, against {expected} h expected ({share}).",
                hours=hours,
                expected=decimal(tr, data.expected_minutes / 60),
                share=percent(tr, data.contact_minutes / data.expected_minutes),
            )
        )
    elif any(week.active_matches for week in data.weeks):  # the program expects no contact
        lines.append(tr.gettext("Contact: {hours} h logged or estimated.", hours=hours))
    else:
        lines.append(tr.gettext("Contact: {hours} h logged; no match was active.", hours=hours))
    return "\n".join(lines)


async def _send_report(update: Update, ctx: TandemContext, program_id: int, weeks: int) -> None:
    """The chart (or, with nothing to draw, a sentence saying so) as a new message; the
    pressed message loses its buttons."""
    assert update.effective_chat is not None
    tr = ctx.tr
    query = update.callback_query
    async with ctx.db.session() as session:
        _, program = await program_for(session, update, ctx, program_id)
        if program is None:
            await refuse(update, tr.gettext("Only this program's coordinators can do that."))
            return
        today = ctx.now().astimezone(zone_or_none(program.timezone) or UTC).date()
        data = await report_data(session, program, today, weeks)
        outcomes = await program_outcomes(session, program)  # in words only: not weekly
        name = program.name
    if query is not None:
        await query.answer(tr.gettext("Drawing your chart…"))
    buttons = keyboard(_ranges(tr, program_id, weeks))
    if data.empty:
        text = tr.ngettext(
            "<b>{program}</b>: nothing to chart for the last {n} week yet — no check-in "
            "reached anyone, nobody gave a rating and no meeting was logged.",
            "<b>{program}</b>: nothing to chart for the last {n} weeks yet — no check-in "
            "reached anyone, nobody gave a rating and no meeting was logged.",
            weeks,
            program=name,
        )
        await say(update, with_outcomes(tr, text, outcomes), buttons)
    else:
        image = await asyncio.to_thread(render_report, data, tr, name)
        await ctx.bot.send_photo(
            update.effective_chat.id,
            photo=image,
            filename=f"tandem-{slug(name)}-{weeks}w-{today.isoformat()}.png",
            caption=with_outcomes(tr, caption(tr, name, data), outcomes),
            parse_mode=ParseMode.HTML,
            reply_markup=buttons,
        )
    if query is not None:
        with contextlib.suppress(BadRequest):  # the buttons are used: take them away
            await query.edit_message_reply_markup(None)


async def _choices(update: Update, ctx: TandemContext, page: int) -> None:
    """The chart of a coordinator's only program, or a choice of program first."""

    async def chart(program: Program) -> None:
        await _send_report(update, ctx, program.id or 0, DEFAULT_WEEKS)

    question = ctx.tr.gettext("Which program's chart do you want?")
    await choose(update, ctx, prefix=PREFIX, page=page, question=question, one=chart)


async def report_command(update: Update, ctx: TandemContext) -> None:
    await _choices(update, ctx, 0)


async def on_button(update: Update, ctx: TandemContext) -> None:
    query = update.callback_query
    assert query is not None
    press = parse(query.data)
    if press is not None and press.action == PICK and press.number is None:
        await _send_report(update, ctx, press.program_id, DEFAULT_WEEKS)
    elif press is not None and press.action == "w" and press.number in RANGES:
        await _send_report(update, ctx, press.program_id, press.number)
    elif press is not None and press.action == PAGE and press.number is not None:
        await _choices(update, ctx, press.number)
    else:
        await query.answer(describe_unusable(ctx.tr, update, expects_text=False))


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Register before onboarding, whose catch-all would otherwise take /report."""
    return [
        CommandHandler("report", report_command, filters.ChatType.PRIVATE),
        CallbackQueryHandler(on_button, pattern=rf"^{PREFIX}:"),
    ]
