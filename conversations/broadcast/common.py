"""What the broadcast screens share: the audiences, the coordinator's draft in user_data and
the buttons' data (`bc:<action>:<program id>:<token>[:<argument>]`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from conversations.kit.buttons import parse_number
from conversations.kit.cancel import cancellable
from conversations.kit.context import TandemContext
from conversations.kit.screens import Screen
from conversations.kit.text import GROUP_HEADINGS
from locales.translator import N_, Translator
from storage.models import Role

NAME = "broadcast"
PREFIX = "bc"
WRITING = "writing"  # the text of the message is expected
DRAFT = "broadcast_draft"  # user_data: {"token", "program", "audience", "text"}
cancellable(DRAFT)
# Characters of the coordinator's text, as Telegram counts them (`telegram_length`):
# Telegram takes 4,096 per message, and the preview adds the header and about 400
# characters around it.
TEXT_LIMIT = 3500
AUDIENCES: dict[str, str | None] = {"all": None, "mentor": Role.MENTOR, "mentee": Role.MENTEE}
AUDIENCE_KEYS = {role: key for key, role in AUDIENCES.items()}
AUDIENCE_LABELS = {
    None: N_("Everyone"),
    Role.MENTOR: GROUP_HEADINGS[Role.MENTOR],
    Role.MENTEE: GROUP_HEADINGS[Role.MENTEE],
}
LANGUAGE_COUNTS = {"en": N_("{n} in English"), "fr": N_("{n} in French")}

Step = tuple[Screen, str | int]  # what to show, and the conversation's next state


def current_draft(ctx: TandemContext) -> dict[str, Any] | None:
    assert ctx.user_data is not None
    draft = ctx.user_data.get(DRAFT)
    return draft if isinstance(draft, dict) else None


def start_draft(ctx: TandemContext, text: str | None) -> None:
    assert ctx.user_data is not None
    ctx.user_data[DRAFT] = {"token": secrets.token_urlsafe(6), "text": text}


def drop_draft(ctx: TandemContext) -> None:
    if ctx.user_data is not None:
        ctx.user_data.pop(DRAFT, None)


def button_data(action: str, program_id: int | None, token: str, *args: object) -> str:
    return ":".join([PREFIX, action, str(program_id or 0), token, *(str(arg) for arg in args)])


@dataclass(frozen=True)
class Press:
    """A button's data, parsed but not yet trusted."""

    action: str
    program_id: int
    token: str
    argument: str


def parse_press(raw: str | None) -> Press | None:
    parts = (raw or "").split(":")
    if len(parts) not in (4, 5) or parts[0] != PREFIX:
        return None
    program_id = parse_number(parts[2])
    if program_id is None:
        return None
    return Press(parts[1], program_id, parts[3], parts[4] if len(parts) == 5 else "")


def audience_label(tr: Translator, role: str | None) -> str:
    return tr.gettext(AUDIENCE_LABELS[role])
