"""/matches: every match with its health mark, filtered by mark or program, a page of
matches at a time (marked, ordered and paged in SQL: storage/standings.py)."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from conversations.kit.actor import Refused
from conversations.kit.buttons import (
    BUTTON_CLIP,
    Button,
    page_buttons,
    page_count,
)
from conversations.kit.text import (
    NAME_CLIP,
    clip,
    person_name,
)
from conversations.oversight.common import (
    ALL,
    CLOSED,
    CLOSED_ICON,
    EMPTY_LISTS,
    FILTERS,
    MARK_ICONS,
    MARK_LABELS,
    MATCHES_PER_PAGE,
    REASONS_CLIP,
    Look,
    View,
    callback_data,
    closed_line,
    closed_word,
    figure_line,
    heading_line,
    mark_word,
    pair_line,
    reasons_line,
)
from locales.translator import Translator, escape
from storage.health import Health, Mark, match_health
from storage.models import (
    Program,
)
from storage.programs import zone_or_none
from storage.standings import Standings, closed_page, open_page


def _match_block(tr: Translator, health: Health, now: datetime, several: bool) -> str:
    match = health.match
    pair = pair_line(tr, match, health.mentor, health.mentee)
    zone = zone_or_none(health.program.timezone)
    if health.mark is None:
        lines = [f"{CLOSED_ICON} <b>{escape(closed_word(tr))}</b> · {pair}"]
        details = closed_line(tr, match, zone)
    else:
        lines = [f"{mark_word(tr, health.mark)} · {pair}"]
        details = figure_line(tr, health, now)
    if several:
        details = f"{escape(clip(health.program.name, NAME_CLIP))} · {details}"
    lines.append(details)
    if health.judgements:
        lines.append(f"↳ {clip(reasons_line(tr, health, now), REASONS_CLIP)}")
    return "\n".join(lines)


def _match_button(tr: Translator, health: Health, back: tuple[str, int, int]) -> Button:
    icon = MARK_ICONS[health.mark] if health.mark else CLOSED_ICON
    mentor = clip(person_name(tr, health.mentor), BUTTON_CLIP // 2 + 4)
    mentee = clip(person_name(tr, health.mentee), BUTTON_CLIP // 2 + 4)
    label = f"{icon} {health.match.id} · {mentor} ↔ {mentee}"
    return label, callback_data("m", health.match.id, 0, *back)


def _filter_rows(tr: Translator, look: Look, chosen: str, program_id: int) -> list[list[Button]]:
    def tick(label: str, on: bool) -> str:
        return f"✓ {label}" if on else label

    def to(code: str, program: int) -> str:
        return callback_data("ms", code, program, 0)

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
        [(tick(closed_word(tr), chosen == CLOSED), to(CLOSED, program_id))],
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
        page = page_count(listed, MATCHES_PER_PAGE) - 1
        found = await _standings(look, scope, chosen, page)
    shown = {
        health.match.id: health
        for health in await match_health(
            look.session, scope, now, closed=chosen == CLOSED, match_ids=found.match_ids
        )
    }
    listed = [shown[match_id] for match_id in found.match_ids if match_id in shown]
    everyone = sum(found.counts.values())
    pages = page_count(found.listed, MATCHES_PER_PAGE)
    several = len(look.programs) > 1 and not program_id
    head = [tr.gettext("<b>Matches</b>")]
    if len(scope) == 1:
        head.append(escape(scope[0].name))
    if chosen != ALL:
        label = closed_word(tr) if chosen == CLOSED else tr.gettext(MARK_LABELS[FILTERS[chosen]])
        head.append(escape(label))
    lines = [heading_line(tr, head, page, pages)]
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
    rows.append(page_buttons(tr, page, pages, partial(callback_data, "ms", chosen, program_id)))
    return View("\n".join(lines), [*rows, *_filter_rows(tr, look, chosen, program_id)])
