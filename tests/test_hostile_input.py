"""Forged, repeated and awkward input through the real Application (issue 11, point 6):
callback numbers no parser may take, double taps that ask Telegram for an edit it has
already made, control characters in typed text, and callback answers within Telegram's
200 characters in both languages."""

from __future__ import annotations

import pytest
from babel.messages.pofile import read_po
from sqlmodel import select

from conversations.kit.buttons import MAX_ID, parse_number
from locales.tools.catalogs import LOCALES_DIR
from storage.db import Database, clean_text
from storage.models import Goal, Program
from tests.conftest import FakeClock
from tests.harness import FakeTelegram
from tests.test_checkin import ALICE, add_pair
from tests.test_goals import seed_goals

CALLBACK_ANSWER_LIMIT = 200
FORGED_NUMBERS = ("²", "٣", "-1", str(MAX_ID + 1), "99999999999999999999", "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0), ("42", 42), (str(MAX_ID), MAX_ID), (str(MAX_ID + 1), None),
        ("99999999999999999999", None), ("²", None), ("٣", None), ("-1", None), ("+1", None),
        (" 1", None), ("", None), ("1.5", None),
    ],
)  # fmt: skip
def test_one_parser_takes_only_ascii_ids_that_fit_the_columns(
    text: str, expected: int | None
) -> None:
    assert parse_number(text) == expected


def test_parse_number_bounds_an_index() -> None:
    assert parse_number("6", below=7) == 6
    assert parse_number("7", below=7) is None


@pytest.mark.parametrize(
    "shape",
    ["ci:{n}:contact:yes", "ci:{n}:x:{n}", "ml:{n}:x:{n}", "mlg:edit:{n}", "mlg:x:{n}:{n}",
     "journal:{n}", "goal:achieve:{n}", "fl:ack:{n}", "onb:timezone:{n}", "end:ask:{n}"],
)  # fmt: skip
async def test_forged_numbers_in_any_button_get_an_answer_not_a_crash(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock, shape: str
) -> None:
    await add_pair(database, program, clock)
    alice = tg.user(ALICE, "Alice")
    await alice.send("/journal")
    for number in FORGED_NUMBERS:
        await alice.press(shape.format(n=number))  # raises if a handler crashed
        assert tg.api.unanswered_callback_queries() == []
    tg.assert_no_errors()


async def test_double_tap_on_a_page_button_is_not_an_error(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    await add_pair(database, program, clock)
    alice = tg.user(ALICE, "Alice")
    await alice.send("/journal")
    journal = alice.last
    await alice.press("journal:0", journal.message_id)
    await alice.press("journal:0", journal.message_id)  # Telegram: "message is not modified"
    tg.assert_no_errors()
    assert alice.last.text == journal.text


async def test_control_characters_never_reach_the_database(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    """PostgreSQL refuses NUL in text: the goal was lost while the bot said it was added."""
    mentee, _, _ = await add_pair(database, program, clock)
    await seed_goals(database, clock, mentee, "Find a job")
    alice = tg.user(ALICE, "Alice")
    await alice.send("/goals")
    await alice.tap("➕ Add a goal")
    await alice.send("Net\x00work\x07 in\ttech\x1b[31m\r\nand more")
    assert "Added to your goals." in alice.last.text
    async with database.session() as session:
        stored = (await session.exec(select(Goal.text).order_by(Goal.id))).all()
    assert stored == ["Find a job", "Network in\ttech[31m\nand more"]


def test_clean_text_keeps_tabs_and_line_breaks() -> None:
    assert clean_text("a\x00b\x7f\tc\r\nd\re") == "ab\tc\nd\ne"


def test_every_short_message_fits_a_callback_answer_in_french_too() -> None:
    """Any message may be a callback answer (a notice, a refusal, a stale button): one
    that fits Telegram's 200 characters in English must fit in French as well."""
    with (LOCALES_DIR / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as file:
        catalog = read_po(file)
    too_long = []
    for message in catalog:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.id and max(map(len, ids)) <= CALLBACK_ANSWER_LIMIT:
            too_long += [ids[0] for text in strings if len(text) > CALLBACK_ANSWER_LIMIT]
    assert too_long == []
