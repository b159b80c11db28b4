"""Translations and locale-aware formatting.

Catalogs are compiled in memory from the `.po` files the first time a language is used,
so a fresh clone needs no compile step and can never run a stale `.mo`.

Every message goes through a `Translator`; its `gettext`/`ngettext`/`pgettext` format
`{placeholders}` and escape each value for Telegram HTML unless it is wrapped in `Html`.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import cache
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_interval, format_skeleton, format_time, get_day_names
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

import locales

LOCALES_DIR = Path(locales.__file__).parent
DOMAIN = "messages"
SUPPORTED_LANGUAGES = ("en", "fr")
REGIONAL_LOCALE = {"en": "en_CA", "fr": "fr_CA"}
# Quebec writes 9 h and 18 h 30 (OQLF, Bureau de la traduction); CLDR's fr_CA short form
# pads the hour and always shows the minutes (09 h 00).
TIME_FORMATS = {"en": "short", "fr": "H 'h' mm"}
ON_THE_HOUR_FORMATS = {"en": "short", "fr": "H 'h'"}
# French writes the first of the month as an ordinal, « 1er décembre »; CLDR writes « 1 ».
_LONE_ONE = re.compile(r"(?<!\d)1(?!\d)")
_FIRST_DAY = re.compile(r"(?<!\d)1(?=[ \u00a0][^\W\d]|$)")  # « 1er juin », or the day alone


class Html(str):
    """Text that is already safe Telegram HTML, so placeholders take it as it is."""

    __slots__ = ()


def N_(message: str) -> str:
    """Mark a string for extraction where it is defined; translate it where it is shown."""
    return message


def escape(text: str) -> Html:
    return Html(html.escape(text, quote=False))


def _fill(template: str, params: dict[str, object]) -> str:
    if not params:
        return template
    safe = {
        key: value if isinstance(value, Html) else html.escape(str(value), quote=False)
        for key, value in params.items()
    }
    return template.format(**safe)


@cache
def load_translations(language: str) -> Translations:
    """Compile the language's catalog from its .po file into memory."""
    path = LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as source:
        catalog = read_po(source, locale=language, domain=DOMAIN)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def normalise_language(code: str | None, default: str = "en") -> str:
    """Map a Telegram `language_code` (fr, fr-CA, en-GB…) to a supported language."""
    if code:
        base = code.replace("_", "-").split("-")[0].lower()
        if base in SUPPORTED_LANGUAGES:
            return base
    return default


@dataclass(frozen=True, slots=True)
class Translator:
    """Messages and formats for one language (Canadian regional formats)."""

    language: str
    locale: Locale
    translations: Translations

    def gettext(self, message: str, **params: object) -> str:
        return _fill(self.translations.ugettext(message), params)

    def ngettext(self, singular: str, plural: str, n: int, **params: object) -> str:
        return _fill(self.translations.ungettext(singular, plural, n), {"n": n, **params})

    def pgettext(self, context: str, message: str, **params: object) -> str:
        return _fill(self.translations.upgettext(context, message), params)

    def date(self, value: date, format: str = "long") -> str:
        """A date in one of CLDR's formats (short, medium, long, full), « 1er » in French."""
        return self._ordinal(value, format_date(value, format=format, locale=self.locale))

    def day_month(self, value: date, skeleton: str = "MMMMd") -> str:
        """Day and month without the year ("Dec 1", « 1er déc. »): a CLDR skeleton such
        as MMMd or MMMMd."""
        return self._ordinal(value, format_skeleton(skeleton, value, locale=self.locale))

    def date_range(self, first: date, last: date, skeleton: str = "yMMMd") -> str:
        """Two dates as one span ("Dec 1–7, 2026", « 1er–7 déc. 2026 »)."""
        text = format_interval(first, last, skeleton, locale=self.locale)
        # In a French span every lone 1 is a day of the month.
        return _LONE_ONE.sub("1er", text) if self.language == "fr" else text

    def _ordinal(self, value: date, text: str) -> str:
        if self.language == "fr" and value.day == 1:
            return _FIRST_DAY.sub("1er", text, count=1)
        return text

    def time(self, value: time | datetime) -> str:
        """18:30 / 6:30 p.m. in English; « 18 h 30 », and « 9 h » on the hour, in French."""
        formats = ON_THE_HOUR_FORMATS if value.minute == 0 else TIME_FORMATS
        return format_time(value, format=formats[self.language], locale=self.locale)

    def number(self, value: float) -> str:
        return format_decimal(value, locale=self.locale)

    def weekday(self, index: int, *, capitalised: bool = False) -> str:
        """Monday is 0. As written in a sentence (French: lower case), or `capitalised`
        for buttons."""
        name = get_day_names("wide", locale=self.locale)[index]
        return name[:1].upper() + name[1:] if capitalised else name


@cache
def translator(language: str) -> Translator:
    language = normalise_language(language)
    return Translator(
        language=language,
        locale=Locale.parse(REGIONAL_LOCALE[language]),
        translations=load_translations(language),
    )
