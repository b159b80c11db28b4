"""Settings and the shared readers of what people type: the bot's username, and time zones
that name a place (abbreviations and fixed offsets are refused in chat and CLI alike)."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings
from storage.programs import suggested_zone
from storage.schedule import resolve_zone


@pytest.mark.parametrize(
    ("given", "kept"),
    [("@Tandem_Bot", "Tandem_Bot"), ("career_mentoring_bot", "career_mentoring_bot"), ("", None)],
)
def test_bot_username_is_read_without_the_at(given: str, kept: str | None) -> None:
    assert load_settings(_env_file=None, bot_username=given).bot_username == kept


@pytest.mark.parametrize("given", ["tandem", "bot", "@a b_bot", "x" * 30 + "bot", "1tandem_bot"])
def test_bot_username_that_telegram_would_refuse_is_one_sentence(given: str) -> None:
    with pytest.raises(ConfigError, match=r"^BOT_USERNAME: .* is not a bot username"):
        load_settings(_env_file=None, bot_username=given)


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("EST", "America/Toronto"),
        ("est", "America/Toronto"),
        ("PST", "America/Vancouver"),
        ("MST", "America/Edmonton"),
        ("CET", "Europe/Paris"),
        ("EST5EDT", "America/Toronto"),
        ("UTC", None),
        ("Etc/GMT+5", None),
        ("UTC-5", None),
        ("GMT+05:00", None),
    ],
)
def test_abbreviations_and_fixed_offsets_are_no_zone(typed: str, suggested: str | None) -> None:
    assert resolve_zone(typed) is None  # the reader the chat's profile step uses too
    assert suggested_zone(typed) == suggested
    with pytest.raises(ConfigError, match=r"DEFAULT_TIMEZONE .* ignores daylight saving time"):
        load_settings(_env_file=None, default_timezone=typed)


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("America/Toronto", "America/Toronto"),
        ("Montréal", "America/Toronto"),
        ("Paris", "Europe/Paris"),
        ("america/halifax", "America/Halifax"),
    ],
)
def test_places_still_resolve(typed: str, zone: str) -> None:
    assert resolve_zone(typed) == zone
