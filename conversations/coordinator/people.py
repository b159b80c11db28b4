"""/people: everyone in a coordinator's program by role (coordinators, mentors, mentees)
with their status, their partner and, for mentees, the goals achieved and whether they
asked at closure for a new match (🔁, as in /pair); paged so that each page fits one
message. Erased people keep a line, "Erased participant", and nothing more; a button
leads to erasing someone (erasing.py).

```mermaid
stateDiagram-v2
    [*] --> Page: /people (after the program choice, for several)
    Page --> Page: co:ppl:<program>:<page>
    Page --> Erasing: co:erl:<program>:0 (see erasing.py)
    Page --> [*]
```
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from conversations.coordinator.press import data
from conversations.kit.buttons import page_buttons
from conversations.kit.goal_questions import achieved_label
from conversations.kit.screens import LINES_BUDGET, Screen, Turn
from conversations.kit.text import GROUP_HEADINGS, member_name, rematch_mark, telegram_length
from locales.translator import Translator, escape
from storage.closure import waiting_for_rematch
from storage.goals import achieved_counts
from storage.models import PersonStatus, Program, Role
from storage.pairing import ParticipantRow, participants

PEOPLE_PER_PAGE = 30


def _status(tr: Translator, row: ParticipantRow) -> str:
    if not row.onboarded:
        return tr.pgettext("person status", "joining")
    match row.person.status:
        case PersonStatus.PAUSED:
            return tr.pgettext("person status", "paused")
        case PersonStatus.UNREACHABLE:
            return tr.pgettext("person status", "unreachable")
        case PersonStatus.CLOSED:
            return tr.pgettext("person status", "left")
        case _:
            return tr.pgettext("person status", "active")


def _person_line(
    tr: Translator, row: ParticipantRow, achieved: int = 0, rematch: bool = False
) -> str:
    person = row.person
    who = f"<b>{escape(member_name(tr, person))}</b>"
    if person.status == PersonStatus.ERASED:
        return f"• {who}"  # nothing else is known about them
    if person.username and person.name and person.name.strip():
        who += f" @{escape(person.username)}"
    parts = [who, escape(_status(tr, row))]
    if row.membership.role != Role.COORDINATOR:
        if row.partner is not None:
            parts.append(tr.gettext("with {name}", name=member_name(tr, row.partner)))
        else:
            parts.append(tr.gettext("not matched yet"))
        if rematch:
            parts.append(rematch_mark(tr))
    goals = achieved_label(tr, achieved)
    if goals is not None:
        parts.append(goals)
    return "• " + " · ".join(parts)


Listed = tuple[str, str]  # (role, line)


def _people_pages(listed: Sequence[Listed]) -> list[list[Listed]]:
    """Lines split into pages of at most PEOPLE_PER_PAGE, each short enough for a message."""
    pages: list[list[Listed]] = [[]]
    size = 0
    for role, line in listed:
        if pages[-1] and (
            len(pages[-1]) >= PEOPLE_PER_PAGE or size + telegram_length(line) + 1 > LINES_BUDGET
        ):
            pages.append([])
            size = 0
        pages[-1].append((role, line))
        size += telegram_length(line) + 1
    return pages


def _people_text(
    tr: Translator, program: Program, listed: Sequence[Listed], page: int, pages: int
) -> str:
    """One page, under a heading for each role (repeated when a role spans pages)."""
    lines = [tr.gettext("<b>People in {program}</b>", program=program.name)]
    if pages > 1:
        lines[0] += " · " + tr.gettext("page {page} of {pages}", page=page + 1, pages=pages)
    shown_role = None
    for role, line in listed:
        if role != shown_role:
            shown_role = role
            lines += ["", f"<b>{escape(tr.gettext(GROUP_HEADINGS[Role(role)]))}</b>"]
        lines.append(line)
    return "\n".join(lines)


async def people_page(turn: Turn) -> Screen:
    tr = turn.tr
    everyone = await participants(turn.session, turn.program_id, erased=True)
    mentees = [row.membership.id for row in everyone if row.membership.role == Role.MENTEE]
    achieved = await achieved_counts(turn.session, [i for i in mentees if i is not None])
    asked = {m.id for m in await waiting_for_rematch(turn.session, turn.program_id)}
    pages = _people_pages(
        [
            (
                row.membership.role,
                _person_line(
                    tr,
                    row,
                    achieved.get(row.membership.id or 0, 0),
                    rematch=row.membership.id in asked,
                ),
            )
            for row in everyone
        ]
    )
    page = min(turn.number(0, 0), len(pages) - 1)
    text = _people_text(tr, turn.program, pages[page], page, len(pages))
    if all(row.membership.role == Role.COORDINATOR for row in everyone):
        text += "\n\n" + tr.gettext("No mentors or mentees yet: send /invite to invite them.")
    rows = [page_buttons(tr, page, len(pages), partial(data, "ppl", turn.program_id))]
    if any(row.membership.role != Role.COORDINATOR for row in everyone):
        rows.append([(tr.gettext("Erase someone's data…"), data("erl", turn.program_id, 0))])
    return Screen(text, rows)
