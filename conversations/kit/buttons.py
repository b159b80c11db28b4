"""Inline keyboards and the callback data their buttons carry.

Callback data is `prefix:stage:choice…`, short (Telegram allows 64 bytes) and never trusted:
the handler that reads it checks it again against the person pressing. Some buttons are
answered by another dialogue than the one that drew them (an alert's "timeline" button is
answered by /oversight); their data is built here so neither dialogue imports the other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from locales.translator import Translator

T = TypeVar("T")

Button = tuple[str, str]  # (label, callback data)

TIMELINE_PREFIX = "ov"
TIMELINE_NEW = "mt"


def match_timeline(match_id: int) -> str:
    """A button that sends a match's timeline as a new message (conversations.oversight
    answers it, checking again that the presser coordinates the match's program)."""
    return f"{TIMELINE_PREFIX}:{TIMELINE_NEW}:{match_id}"


MATCH_END_PREFIX = "mx"
# The actions of `match_end` buttons: on an end request's alert (with the flag's id) and
# on a match's timeline (with the match's id).
END, KEEP, END_REASON, END_BACK = "e", "k", "r", "b"
TIMELINE_END, TIMELINE_REASON, TIMELINE_CONFIRM, TIMELINE_CANCEL = "t", "tr", "ty", "tx"


def match_end(action: str, *args: object) -> str:
    """A button of a coordinator's decision to end a match or keep it going, drawn on an
    alert (conversations.kit.alert_text) or a timeline (conversations.oversight) and
    answered by conversations.match_end, which checks the presser again."""
    return ":".join([MATCH_END_PREFIX, action, *map(str, args)])


def keyboard(rows: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


@dataclass(frozen=True)
class Keyboard:
    """An inline keyboard of plain buttons, kept as (label, callback data) rows and written
    as Telegram's JSON when sent (conversations.kit.sending). The check-ins' questions use
    it: the dispatcher words thousands a tick, and each of python-telegram-bot's button
    objects costs more to build and write out than the rest of the keyboard (six buttons:
    about 90 µs against 5). It only goes through conversations.kit.sending; everything
    handed to python-telegram-bot's own methods is an `InlineKeyboardMarkup` (`keyboard`)."""

    rows: tuple[tuple[Button, ...], ...]

    @classmethod
    def of(cls, rows: Sequence[Sequence[Button]]) -> Keyboard:
        return cls(tuple(tuple(row) for row in rows))

    def json(self) -> dict[str, Any]:
        """What Telegram receives: what `keyboard(rows).to_dict()` gives."""
        return {
            "inline_keyboard": [
                [{"text": label, "callback_data": data} for label, data in row] for row in self.rows
            ]
        }


Markup = InlineKeyboardMarkup | Keyboard  # what conversations.kit.sending sends


def split_callback(data: str | None) -> tuple[str, str, str]:
    """'onb:timezone:3' -> ('onb', 'timezone', '3'); missing parts are empty."""
    prefix, _, rest = (data or "").partition(":")
    stage, _, choice = rest.partition(":")
    return prefix, stage, choice


MAX_ID = 2**31 - 1  # INTEGER primary keys on PostgreSQL


CHOICES_PER_PAGE = 8  # programs, mentors or mentees offered as buttons at once


BUTTON_CLIP = 24  # a name on a button


def parse_number(text: str, *, below: int = MAX_ID + 1) -> int | None:
    """The one reader of the numbers callback data and command arguments carry (ids,
    pages, indexes): ASCII digits only (``isdigit`` also takes ``²`` and ``٣``, which
    ``int`` refuses or reads as another number), no sign, and below `below` — by default
    anything that fits the INTEGER columns ids live in on PostgreSQL. None otherwise, so
    a forged or stale press gets the handler's "this button no longer works" answer."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ID)):
        return None
    number = int(text)
    return number if number < below else None


def page_count(total: int, size: int) -> int:
    """How many pages of `size` hold `total` items (one, empty, when there are none)."""
    return max(1, -(-total // size))


def page_of(items: Sequence[T], page: int, size: int) -> tuple[Sequence[T], int, int]:
    """The items on `page` (clamped to the pages there are), the page, the page count."""
    pages = page_count(len(items), size)
    page = min(page, pages - 1)
    return items[page * size : (page + 1) * size], page, pages


def page_buttons(tr: Translator, page: int, pages: int, to: Callable[[int], str]) -> list[Button]:
    row: list[Button] = []
    if page > 0:
        row.append((tr.gettext("‹ Previous"), to(page - 1)))
    if page < pages - 1:
        row.append((tr.gettext("Next ›"), to(page + 1)))
    return row
