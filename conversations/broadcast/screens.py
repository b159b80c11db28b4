"""The screens: the program choice, the audiences (with their reach and the program's last
broadcast), the text asked for, and the preview.
"""

from __future__ import annotations

import secrets
from collections import Counter
from functools import partial
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.ext import ConversationHandler

from conversations.broadcast.common import (
    AUDIENCE_KEYS,
    AUDIENCES,
    LANGUAGE_COUNTS,
    TEXT_LIMIT,
    WRITING,
    Step,
    audience_label,
    button_data,
    current_draft,
)
from conversations.broadcast.delivery import message_text
from conversations.kit.actor import Refused, Task, current_actor, programs_for
from conversations.kit.buttons import CHOICES_PER_PAGE, Button, page_buttons, page_of
from conversations.kit.context import TandemContext
from conversations.kit.screens import WAITING, Screen, Turn
from conversations.kit.text import NAME_CLIP, clip, local_day_text
from locales.translator import SUPPORTED_LANGUAGES, Html, Translator, normalise_language
from storage.broadcasts import Audience, Tally, audiences, last_broadcast


async def first_screen(
    session: AsyncSession, update: Update, ctx: TandemContext, page: int
) -> Step:
    """The audience for a coordinator's only program, or a choice of program first."""
    actor = await current_actor(session, update, ctx)
    programs = await programs_for(session, actor, Task.PEOPLE)  # their own programs only
    if not programs:
        raise Refused(ctx.tr.gettext("This command is for program coordinators."))
    draft = current_draft(ctx)
    assert draft is not None
    token = draft["token"]
    if len(programs) == 1:
        return await audience_screen(Turn(session, update, ctx, actor, programs[0]))
    shown, page, pages = page_of(programs, page, CHOICES_PER_PAGE)
    rows = [
        [(clip(program.name, NAME_CLIP), button_data("prog", program.id, token))]
        for program in shown
    ]
    rows.append(page_buttons(ctx.tr, page, pages, partial(button_data, "page", 0, token)))
    return Screen(ctx.tr.gettext("Which program is your message for?"), rows), WAITING


def _tally_line(tr: Translator, tally: Tally, zone: str | None) -> str:
    parts = [
        tr.ngettext(
            "sent to {sent} of {n} person",
            "sent to {sent} of {n} people",
            tally.total,
            sent=tally.sent,
        )
    ]
    if tally.failed:
        parts.append(tr.ngettext("{n} not delivered", "{n} not delivered", tally.failed))
    if tally.waiting:
        parts.append(tr.ngettext("{n} still to send", "{n} still to send", tally.waiting))
    if tally.interrupted:
        parts.append(
            tr.ngettext(
                "{n} interrupted (it may have arrived)",
                "{n} interrupted (they may have arrived)",
                tally.interrupted,
            )
        )
    return tr.gettext(
        "<b>Last message</b> ({date}, {audience}): {outcome}.",
        date=local_day_text(tr, tally.broadcast.created_at, zone),
        audience=audience_label(tr, tally.broadcast.role),
        outcome=Html(", ".join(parts)),
    )


def _left_out(tr: Translator, audience: Audience) -> str | None:
    count = len(audience.unreachable)
    if not count:
        return None
    return tr.ngettext(
        "{n} person who blocked Tandem is left out.",
        "{n} people who blocked Tandem are left out.",
        count,
    )


async def audience_screen(turn: Turn) -> Step:
    tr, program_id = turn.tr, turn.program_id
    draft = current_draft(turn.ctx)
    assert draft is not None
    found = await audiences(turn.session, program_id, author_id=turn.actor.person_id)
    lines = [
        tr.gettext("<b>{program}</b>: who should receive your message?", program=turn.program.name),
        tr.gettext(
            "Mentors and mentees who have finished joining the program. You'll see a "
            "preview before anything is sent."
        ),
    ]
    left_out = _left_out(tr, found[None])
    if left_out:
        lines.append(left_out)
    tally = await last_broadcast(turn.session, program_id, turn.ctx.now())
    if tally is not None:
        zone = (turn.actor.person and turn.actor.person.timezone) or turn.program.timezone
        lines += ["", _tally_line(tr, tally, zone)]
    rows = [
        [
            (
                f"{audience_label(tr, role)} ({tr.number(len(found[role].recipients))})",
                button_data("to", program_id, draft["token"], AUDIENCE_KEYS[role]),
            )
        ]
        for role in AUDIENCES.values()
    ]
    rows.append([(tr.gettext("Cancel"), button_data("no", program_id, draft["token"]))])
    return Screen("\n".join(lines), rows), WAITING


async def draft_audience(turn: Turn, draft: dict[str, Any]) -> Audience:
    """Who the draft's audience is in the turn's program, as of now."""
    found = await audiences(turn.session, turn.program_id, author_id=turn.actor.person_id)
    return found[AUDIENCES[draft["audience"]]]


async def writing_screen(turn: Turn, draft: dict[str, Any], audience: Audience) -> Step:
    """Ask for the text of the message to `audience`."""
    tr = turn.tr
    lines = [
        tr.gettext(
            "<b>{program}</b> · {audience} ({people})",
            program=turn.program.name,
            audience=audience_label(tr, audience.role),
            people=tr.ngettext("{n} person", "{n} people", len(audience.recipients)),
        ),
        tr.gettext(
            "Send the message text now, up to {limit} characters. You'll see a preview "
            "before anything is sent. Send /cancel to stop.",
            limit=tr.number(TEXT_LIMIT),
        ),
    ]
    rows = [[(tr.gettext("Cancel"), button_data("no", turn.program_id, draft["token"]))]]
    return Screen("\n\n".join(lines), rows), WRITING


async def preview_screen(turn: Turn, draft: dict[str, Any], audience: Audience) -> Step:
    """Exactly what `audience` will receive, how many and in which languages; a new
    token, so the buttons of any earlier preview no longer work."""
    tr = turn.tr
    count = len(audience.recipients)
    if not count:
        return Screen(nobody_text(tr)), ConversationHandler.END
    draft["token"] = token = secrets.token_urlsafe(6)
    by_language = Counter(normalise_language(code) for code in audience.recipients.values())
    languages = ", ".join(
        tr.gettext(LANGUAGE_COUNTS[language], n=by_language[language])
        for language in SUPPORTED_LANGUAGES
        if by_language[language]
    )
    lines = [
        tr.gettext("<b>Preview</b>: this is what they will receive."),
        f"<blockquote>{message_text(tr, turn.program.name, draft['text'])}</blockquote>",
        tr.ngettext(
            "{n} person will receive it: {languages}.",
            "{n} people will receive it: {languages}.",
            count,
            languages=Html(languages),
        ),
        tr.gettext("Each of them reads the first line in their own language."),
    ]
    left_out = _left_out(tr, audience)
    if left_out:
        lines.append(left_out)
    program_id = turn.program_id
    rows: list[list[Button]] = [
        [
            (
                tr.ngettext("Send to {n} person", "Send to {n} people", count),
                button_data("send", program_id, token),
            )
        ],
        [
            (tr.gettext("Edit text"), button_data("edit", program_id, token)),
            (tr.gettext("Cancel"), button_data("no", program_id, token)),
        ],
    ]
    return Screen("\n\n".join(lines), rows), WAITING


def nobody_text(tr: Translator) -> str:
    return tr.gettext(
        "Nobody in this audience can receive a message right now, so nothing was sent."
    )
