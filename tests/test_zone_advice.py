"""A participant who types a zone abbreviation (EST, CET…) at onboarding is told why it
won't do and which city to type, in their language; the step stays where it was."""

from __future__ import annotations

import pytest

from conversations.kit.profile import Invalid, TimezoneStep
from locales.translator import translator
from storage.models import Person


class Profile:
    def __init__(self) -> None:
        self.person = Person(telegram_id=1, name="Ana")


@pytest.mark.parametrize(
    ("language", "typed", "expected"),
    [
        ("en", "est", "EST does not follow daylight saving time"),
        ("en", "PST", "(for example Vancouver)"),
        ("fr", "CET", "CET ne suit pas l’heure avancée"),
        ("fr", " est ", "(par exemple Toronto)"),
    ],
)
def test_an_abbreviation_gets_a_city_to_type_instead(
    language: str, typed: str, expected: str
) -> None:
    profile = Profile()
    with pytest.raises(Invalid) as refused:
        TimezoneStep().read_text(translator(language), typed, profile)  # type: ignore[arg-type]
    assert expected in str(refused.value)
    assert profile.person.timezone is None


def test_a_city_is_still_taken() -> None:
    profile = Profile()
    TimezoneStep().read_text(translator("fr"), "Montréal", profile)  # type: ignore[arg-type]
    assert profile.person.timezone == "America/Toronto"
