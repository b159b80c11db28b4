"""/flags: the open flags of a coordinator's programs, the most severe first, paged; a
flag's alert again from its button."""

from __future__ import annotations

from datetime import datetime, tzinfo
from functools import partial

from conversations.kit.actor import Refused
from conversations.kit.alert_text import (
    alert_buttons,
    alert_text,
    flag_goals,
)
from conversations.kit.alert_text import local_date as _local_day
from conversations.kit.buttons import page_buttons, page_count
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
    pair_line,
    people_by_id,
    rule_word,
    severity_word,
    short_date,
)
from locales.translator import Translator, escape
from storage.flag_list import FlagPage, open_flags
from storage.flags import Severity
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
        name = clip(person_name(tr, handler), NAME_CLIP)
        return tr.gettext("👀 acknowledged by {name}", name=name)
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


async def _page(look: Look, page: int) -> tuple[FlagPage, int]:
    """The page asked for, or the last one when flags resolved since leave it empty."""
    ids = [program.id or 0 for program in look.programs]
    found = await open_flags(look.session, ids, page * FLAGS_PER_PAGE, FLAGS_PER_PAGE)
    if page > 0 and not found.flags:
        total = (await open_flags(look.session, ids, 0, 1)).total
        page = page_count(total, FLAGS_PER_PAGE) - 1
        found = await open_flags(look.session, ids, page * FLAGS_PER_PAGE, FLAGS_PER_PAGE)
    return found, page


async def flags_view(look: Look, page: int) -> View:
    """A page of open flags: the database orders and cuts them, and a page's blocks always
    fit one message (names are clipped), so only its own flags are read."""
    tr, now = look.tr, look.now
    found, page = await _page(look, page)
    several = len(look.programs) > 1
    head = [tr.ngettext("<b>{n} open flag</b>", "<b>{n} open flags</b>", found.total)]
    if not several:
        head.append(escape(look.programs[0].name))
    if not found.flags:
        calm = tr.gettext(
            "No open flags: no match needs your attention right now. I'll alert you as soon "
            "as one does."
        )
        return View(f"{heading_line(tr, head, 0, 1)}\n\n{calm}")
    people = await people_by_id(
        look.session,
        {person for flag, match in found.flags for person in (match.mentor_id, match.mentee_id)}
        | {flag.handled_by for flag, _ in found.flags},
    )
    blocks, buttons = [], []
    for number, (flag, match) in enumerate(found.flags, page * FLAGS_PER_PAGE + 1):
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
    pages = page_count(found.total, FLAGS_PER_PAGE)
    hint = tr.gettext("Tap a flag to see its evidence and act on it.")
    text = "\n\n".join([heading_line(tr, head, page, pages), *blocks, hint])
    return View(text, [*buttons, page_buttons(tr, page, pages, partial(callback_data, "fl"))])


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
