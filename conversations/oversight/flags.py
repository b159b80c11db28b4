"""/flags: the open flags of a coordinator's programs, the most severe first, paged; a
flag's alert again from its button."""

from __future__ import annotations

from datetime import datetime, tzinfo
from functools import partial

from sqlmodel import col, select

from conversations.kit.actor import Refused
from conversations.kit.alert_text import (
    alert_buttons,
    alert_text,
    flag_goals,
)
from conversations.kit.alert_text import local_date as _local_day
from conversations.kit.buttons import (
    page_buttons,
)
from conversations.kit.text import (
    NAME_CLIP,
    clip,
    person_name,
)
from conversations.oversight.common import (
    FLAGS_PER_PAGE,
    Look,
    View,
    callback_data,
    heading_line,
    page_blocks,
    pair_line,
    people_by_id,
    rule_word,
    severity_word,
    short_date,
)
from locales.translator import Translator, escape
from storage.flags import SEVERITY_ORDER, Severity
from storage.health import snoozed
from storage.models import (
    Flag,
    FlagStatus,
    Match,
    Person,
)
from storage.programs import zone_or_none


def _flag_status(
    tr: Translator, flag: Flag, handler: Person | None, now: datetime, zone: tzinfo | None
) -> str:
    if flag.status == FlagStatus.ACKNOWLEDGED:
        return tr.gettext("👀 acknowledged by {name}", name=person_name(tr, handler))
    if snoozed(flag, now) and flag.snoozed_until is not None:
        return tr.gettext(
            "💤 snoozed until {date}",
            date=short_date(tr, _local_day(flag.snoozed_until, zone)),
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
        return View(f"{heading_line(tr, head, 0, 1)}\n\n{calm}")
    people = await people_by_id(
        look.session,
        {person for flag, match in found for person in (match.mentor_id, match.mentee_id)}
        | {flag.handled_by for flag, _ in found},
    )
    blocks, buttons = [], []
    for number, (flag, match) in enumerate(found, 1):
        title = rule_word(tr, flag.rule)
        icon = "🚨" if flag.severity == Severity.URGENT else "⚠️"
        lines = [
            f"<b>{number}.</b> {icon} <b>{escape(title)}</b> · "
            + escape(severity_word(tr, flag.severity)),
            pair_line(tr, match, people.get(match.mentor_id), people.get(match.mentee_id)),
        ]
        program = look.program(match.program_id)
        if several:
            lines.append(escape(clip(program.name if program else "?", NAME_CLIP)))
        handler = people.get(flag.handled_by or 0)
        zone = zone_or_none(program.timezone) if program else None
        status = _flag_status(tr, flag, handler, now, zone)
        lines.append(f"{_age(tr, flag.opened_at, now)} · {status}")
        blocks.append("\n".join(lines))
        buttons.append([(f"{number} · {clip(title, NAME_CLIP)}", callback_data("f", flag.id))])
    pages = page_blocks(blocks, FLAGS_PER_PAGE)
    page = min(page, len(pages) - 1)
    start = sum(len(earlier) for earlier in pages[:page])
    hint = tr.gettext("Tap a flag to see its evidence and act on it.")
    text = "\n\n".join([heading_line(tr, head, page, len(pages)), *pages[page], hint])
    rows = buttons[start : start + len(pages[page])]
    return View(text, [*rows, page_buttons(tr, page, len(pages), partial(callback_data, "fl"))])


async def flag_view(look: Look, flag_id: int) -> View:
    """The flag's alert, as a new message, with the alert's own buttons."""
    flag = await look.session.get(Flag, flag_id)
    match = None if flag is None else await look.session.get(Match, flag.match_id)
    program = None if match is None else look.program(match.program_id)
    if flag is None or match is None or program is None:
        raise Refused(look.tr.gettext("Only this program's coordinators can do that."))
    people = await people_by_id(look.session, {match.mentor_id, match.mentee_id, flag.handled_by})
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
