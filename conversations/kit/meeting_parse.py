"""Reading a meeting logged in one message, in English or French.

`parse_quick_log("45m yesterday video: mock interview", today=...)` returns a `ParsedLog`:
what was understood, what is missing (in the order the bot asks for it), what was
understood but cannot be accepted, and the words that were not understood at all. Nothing
is guessed: a piece the parser is unsure of is left out and reported, so the bot asks.

How a message is read
    Everything before the first colon (a colon between two digits, as in "14:00", does not
    count) describes the meeting; everything after it lists topics. The description is cut
    into words, each folded (lower case, no accents: `storage.schedule.fold`), and read left to
    right: at each word every rule below is tried and the longest match wins, so
    "video call" is one mode rather than a video and a phone call, and "mar 20" is
    20 March rather than Tuesday followed by a bare number. A word no rule takes is
    reported in `unknown_words`, as typed.

Decisions on ambiguous input (the tests pin each one)
    * A bare number ("90", "45") is never a duration; "1:30" is neither a duration nor a
      time. Both are unknown words, so the bot asks.
    * "13h" is 13 hours (and so too long), not 13:00. A time of day is recognised only
      after "at"/"à"/"vers" ("à 14 h", "at 2:30"), with am/pm ("2pm"), or as a range
      ("de 14 h à 15 h 30", "2-3pm", "entre 14 h et 15 h", which give the duration). A
      plain "a 14 h" (no accent) is a filler and a 14-hour duration: too long, so asked.
    * A weekday alone means the most recent such day, today included ("lundi" on a Monday
      is today). "last monday", "lundi dernier", "lundi passé" mean the one strictly before
      today (a week ago on a Monday). "this monday"/"ce lundi" read like the bare name.
      "next monday", "lundi prochain", "tomorrow", "demain" are future dates.
    * Day/month in digits ("20/11", "11/20/2026") is ambiguous between Canadian habits and
      is reported as an unknown word. Year first (2026-11-20, 2026/11/20) or a month name
      ("20 nov", "nov 20", "20 novembre", "November 20, 2026", "1er décembre") is accepted.
    * A date without a year is its most recent occurrence up to today ("23 nov" on
      22 November 2026 is 23 November 2025). A date more than a year back is `TOO_OLD`;
      "29 févr." with no year is its last leap year, usually too old.
    * "mar" is Tuesday alone and March next to a day number; minutes written after a space
      are not taken when a month name follows: "1 h 20 nov" is one hour on 20 November.
      "1h20 nov" is 80 minutes and an unknown "nov".
    * A duration of exactly 12 h is accepted; over 12 h is `TOO_LONG`; 0 is `ZERO`.
    * Two different values for the same field ("hier aujourd'hui", "video phone",
      "45m 1h") are a conflict: the field is left empty and the problem says why. The
      same value twice ("zoom video", "1h 60 min") is fine.
    * A leading "log" or "/log" is skipped, in case the caller passes the command word.
    * Typos are not corrected ("yesterdy" is an unknown word): asking is cheaper than a
      wrong record.

Invariant: a field is `None` exactly when it is in `missing`; when it was given but
rejected, `problems` says why. So the record never holds a future date, a 13-hour meeting
or a guessed value, and the caller asks for each missing piece in order.
"""

from __future__ import annotations

import calendar
import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from functools import cache
from typing import TypeVar

from conversations.kit.topics import DEFAULT_TOPICS, Topic
from storage.schedule import WEEKDAYS, fold, parse_time, parse_weekday

MAX_MINUTES = 12 * 60
_T = TypeVar("_T")


class Mode(StrEnum):
    IN_PERSON = "in_person"
    VIDEO = "video"
    PHONE = "phone"
    MESSAGES = "messages"


class Missing(StrEnum):
    """A piece the bot still has to ask for; declared in asking order."""

    DATE = "date"
    DURATION = "duration"
    MODE = "mode"


class Problem(StrEnum):
    """A piece that was understood but cannot be recorded (the field is left empty)."""

    FUTURE_DATE = "future_date"
    TOO_OLD = "too_old"  # more than a year before today
    BAD_DATE = "bad_date"  # no such day: 2026-02-30, 31 nov
    CONFLICTING_DATES = "conflicting_dates"
    TOO_LONG = "too_long"  # over MAX_MINUTES
    ZERO = "zero_duration"
    CONFLICTING_DURATIONS = "conflicting_durations"
    CONFLICTING_MODES = "conflicting_modes"


@dataclass(frozen=True)
class ParsedLog:
    met_on: date | None
    minutes: int | None
    mode: Mode | None
    topics: tuple[str, ...]  # topic keys matched from the topic list, first mention first
    free_topics: tuple[str, ...]  # topic phrases that matched nothing, as typed (trimmed)
    missing: tuple[Missing, ...]  # fields left empty, in asking order
    problems: tuple[Problem, ...]  # why a given field was rejected
    unknown_words: tuple[str, ...]  # words before the colon nothing understood, as typed

    @property
    def complete(self) -> bool:
        """Ready to save: nothing to ask, nothing rejected, and no word left unexplained
        (an unknown word may be the date or the mode the person meant, so it is asked
        about rather than dropped)."""
        return not (self.missing or self.problems or self.unknown_words)


# --- vocabulary (folded: lower case, no accents, "'" for any apostrophe) -----------------

MONTHS: dict[str, int] = {
    "january": 1, "janvier": 1, "janv": 1, "jan": 1,
    "february": 2, "fevrier": 2, "fevr": 2, "fev": 2, "feb": 2,
    "march": 3, "mars": 3, "mar": 3,
    "april": 4, "avril": 4, "avr": 4, "apr": 4,
    "may": 5, "mai": 5,
    "june": 6, "juin": 6, "jun": 6,
    "july": 7, "juillet": 7, "juil": 7, "jul": 7,
    "august": 8, "aout": 8, "aug": 8,
    "september": 9, "septembre": 9, "sept": 9, "sep": 9,
    "october": 10, "octobre": 10, "oct": 10,
    "november": 11, "novembre": 11, "nov": 11,
    "december": 12, "decembre": 12, "dec": 12,
}  # fmt: skip

_NUMBER_WORDS: dict[str, int] = {
    "a": 1, "an": 1, "one": 1, "un": 1, "une": 1, "two": 2, "deux": 2,
    "three": 3, "trois": 3, "four": 4, "quatre": 4, "five": 5, "cinq": 5,
}  # fmt: skip

# Days before today; negative is the future.
_DAYS_BACK: dict[str, int] = {
    "today": 0, "aujourd'hui": 0, "aujourdhui": 0, "auj": 0, "tonight": 0,
    "this morning": 0, "this afternoon": 0, "this evening": 0,
    "ce matin": 0, "ce midi": 0, "cet apres-midi": 0, "cet apres midi": 0, "ce soir": 0,
    "yesterday": 1, "yday": 1, "hier": 1, "last night": 1,
    "yesterday morning": 1, "yesterday afternoon": 1, "yesterday evening": 1,
    "hier matin": 1, "hier midi": 1, "hier apres-midi": 1, "hier apres midi": 1,
    "hier soir": 1,
    "the day before yesterday": 2, "day before yesterday": 2,
    "avant-hier": 2, "avant hier": 2, "avanthier": 2,
    "tomorrow": -1, "demain": -1,
    "the day after tomorrow": -2, "apres-demain": -2, "apres demain": -2,
}  # fmt: skip

_VIDEO_APPS = ("zoom", "teams", "ms teams", "microsoft teams", "meet", "google meet",
               "skype", "webex", "facetime")  # fmt: skip
_MODE_PHRASES: dict[Mode, tuple[str, ...]] = {
    Mode.IN_PERSON: (
        "in person", "in-person", "inperson", "face to face", "face-to-face", "f2f",
        "en personne", "presentiel", "en presentiel", "face a face", "face-a-face",
    ),
    Mode.VIDEO: (
        "video", "videos", "video call", "videocall", "videoconference", "video conference",
        "visio", "visioconference", "appel video",
        *_VIDEO_APPS,
        *(f"{app} call" for app in _VIDEO_APPS),
        *(f"appel {app}" for app in _VIDEO_APPS),
    ),
    Mode.PHONE: (
        "phone", "phone call", "telephone", "tel", "cell", "call", "appel",
        "appel telephonique", "coup de fil", "coup de telephone",
    ),
    Mode.MESSAGES: (
        "messages", "message", "msg", "msgs", "text", "texts", "texting", "text messages",
        "sms", "chat", "chatting", "texto", "textos", "clavardage", "courriel", "courriels",
        "email", "emails", "e-mail", "e-mails", "mail", "messagerie", "telegram",
    ),
}  # fmt: skip
_MODES: dict[str, Mode] = {
    phrase: mode for mode, phrases in _MODE_PHRASES.items() for phrase in phrases
}

# Words that carry no information here. "," and "-" are the separators kept as words.
_FILLERS = frozenset({
    ",", "-", "~", "@",
    "a", "an", "the", "on", "for", "at", "in", "by", "via", "over", "with", "and", "of",
    "about", "around", "approx", "approximately", "roughly", "we", "i", "met", "meeting",
    "session",
    "le", "la", "les", "l'", "d'", "de", "du", "des", "un", "une", "en", "par", "pendant",
    "durant", "au", "et", "avec", "sur", "vers", "environ", "nous", "rencontre",
    "rencontres", "reunion", "seance",
})  # fmt: skip


def _alternation(phrases: Iterable[str]) -> str:
    """A regex alternative of literal phrases, longest first."""
    return "|".join(re.escape(phrase) for phrase in sorted(phrases, key=len, reverse=True))


# --- regexes, run on the folded words joined by single spaces ------------------------------
# Every pattern ends with _END so a match stops where a word stops ("1h" never matches the
# start of "1h30"); patterns are re.VERBOSE, so a literal space is written "\ ".

_END = r"(?!\S)"
_HOURS_UNIT = r"(?:hours|hour|hrs|hr|hres|hre|heures|heure|h)"
_MINUTES_UNIT = r"(?:minutes|minute|mins|min|mn|m)"
_HALF = r"(?:and\ a\ half|et\ demie?)"
_MONTH = rf"(?:{_alternation(MONTHS)})"
_COUNT = rf"(?:[0-9]{{1,3}}|{_alternation(_NUMBER_WORDS)})"
# A clock time as people type it: "14 h", "14h30", "9:15", "2pm", "2:30 p.m".
_CLOCK = r"[0-9]{1,2}(?:\ ?h\ ?(?:[0-5][0-9])?|:[0-5][0-9])?(?:\ ?(?:am|pm|a\.m|p\.m)\.?)?"

# "1h30", "1 h 30", "1h30m", "1 hour and 30 minutes", "2 heures", "1 h et demie". Minutes
# after a space are not taken when a month (not itself followed by a day), an hour unit or
# "days" follows: "1 h 20 nov" is 1 h on 20 November but "1 h 30 nov 20" is 90 minutes on
# 20 November; "14 h 1 h" is two durations; "5 h 2 days ago" a duration and a date.
_HOURS_AND_MINUTES = re.compile(
    rf"""(?P<hours>[0-9]{{1,2}}) \ ?{_HOURS_UNIT}
    (?: \ (?P<half>{_HALF})
      | (?P<joined>[0-5]?[0-9]) (?:\ ?{_MINUTES_UNIT})?
      | \ (?:(?:and|et)\ )?(?P<spaced>[0-5]?[0-9])
        (?! \ {_MONTH}{_END}(?!\ [0-9]{{1,2}}(?:st|nd|rd|th|er)?{_END})
          | \ (?:{_HOURS_UNIT}|days?|weeks?){_END} )
        (?:\ ?{_MINUTES_UNIT})?
    )?{_END}""",
    re.VERBOSE,
)
# "1.5h", "1,5 h", "1.25 hours"
_DECIMAL_HOURS = re.compile(
    rf"(?P<hours>[0-9]{{1,2}}[.,][0-9]{{1,2}})\ ?{_HOURS_UNIT}{_END}", re.VERBOSE
)
# "45m", "90 min", "45 minutes"
_MINUTES = re.compile(rf"(?P<minutes>[0-9]{{1,3}})\ ?{_MINUTES_UNIT}{_END}", re.VERBOSE)
# "an hour", "une heure et demie", "two hours"
_WORD_HOURS = re.compile(
    rf"""(?P<count>{_alternation(_NUMBER_WORDS)})\ (?:hours|hour|heures|heure)
    (?:\ (?P<half>{_HALF}))?{_END}""",
    re.VERBOSE,
)
_FIXED_DURATIONS: dict[str, int] = {
    "half an hour": 30, "half hour": 30, "a half hour": 30, "half-hour": 30,
    "a half-hour": 30, "une demi-heure": 30, "une demi heure": 30, "demi-heure": 30,
    "a quarter of an hour": 15, "quarter of an hour": 15, "a quarter hour": 15,
    "un quart d' heure": 15, "quart d' heure": 15,
    "three quarters of an hour": 45, "trois quarts d' heure": 45,
    "one and a half hours": 90, "an hour and a half": 90, "one hour and a half": 90,
}  # fmt: skip
_FIXED_DURATION = re.compile(rf"(?:{_alternation(_FIXED_DURATIONS)}){_END}")
# "de 14 h à 15 h 30", "14h-15h", "2 to 3pm", "from 9:00 to 10:15" ("à" is read as "@").
_TIME_RANGE = re.compile(
    rf"""(?:(?:de|from)\ )?(?P<start>{_CLOCK})
    \ ?(?:-|to|till|until|@|a|jusqu'a|jusqu'@)\ ?(?P<end>{_CLOCK}){_END}""",
    re.VERBOSE,
)
_BETWEEN_TIMES = re.compile(
    rf"(?:between|entre)\ (?P<start>{_CLOCK})\ (?:and|et)\ (?P<end>{_CLOCK}){_END}",
    re.VERBOSE,
)
# A time of day, understood and not needed: "à 14 h", "at 2:30", "vers 9h", "2pm".
_AT_TIME = re.compile(rf"(?:at|@|vers)\ (?P<time>{_CLOCK}){_END}", re.VERBOSE)
_AMPM_TIME = re.compile(
    rf"(?P<time>[0-9]{{1,2}}(?::[0-5][0-9])?\ ?(?:am|pm|a\.m|p\.m)\.?){_END}", re.VERBOSE
)

_RELATIVE_DAY = re.compile(rf"(?:{_alternation(_DAYS_BACK)}){_END}")
# "3 days ago", "a week ago", "il y a 2 jours", "il y a une semaine"
_AGO = re.compile(
    rf"(?P<count>{_COUNT})\ (?P<unit>days?|weeks?)\ ago{_END}"
    rf"|il\ y\ a\ (?P<count_fr>{_COUNT})\ (?P<unit_fr>jours?|semaines?){_END}",
    re.VERBOSE,
)
# "lundi", "last monday", "lundi dernier", "lundi passé", "next tue", "ce jeudi"
_WEEKDAY = re.compile(
    rf"""(?:(?P<before>last|past|this|next|ce)\ )?(?P<day>{_alternation(WEEKDAYS)})
    (?:\ (?P<after>dernier|passe|prochain))?{_END}""",
    re.VERBOSE,
)
# "2026-11-20", "2026/11/20": year first is the only all-digit date accepted.
_ISO_DATE = re.compile(
    r"(?P<year>[0-9]{4})[-/.](?P<month>[0-9]{1,2})[-/.](?P<day>[0-9]{1,2})(?!\S)"
)
# "20 nov", "1er décembre", "20th of November 2026", "20 novembre, 2025"
_DAY_MONTH = re.compile(
    rf"""(?P<day>[0-9]{{1,2}})(?:er|re|e|st|nd|rd|th)?\ (?:of\ |de\ )?(?P<month>{_MONTH})
    (?:(?:\ ,)?\ (?P<year>[0-9]{{4}}))?{_END}""",
    re.VERBOSE,
)
# "nov 20", "November 20, 2026"; not "nov 1 h", where the number is a duration.
_MONTH_DAY = re.compile(
    rf"""(?P<month>{_MONTH})\ (?P<day>[0-9]{{1,2}})(?:st|nd|rd|th|er)?
    (?!\ (?:{_HOURS_UNIT}|{_MINUTES_UNIT}){_END})
    (?:(?:\ ,)?\ (?P<year>[0-9]{{4}}))?{_END}""",
    re.VERBOSE,
)

_MODE = re.compile(rf"(?:{_alternation(_MODES)}){_END}")
_FILLER = re.compile(rf"(?:{_alternation(_FILLERS)}){_END}")

# Before the first colon: the meeting; after it: topics. "14:00" is not a separator.
_TOPIC_COLON = re.compile(r"(?<![0-9])[:：]|[:：](?![0-9])")
# Commas and semicolons split words, except a decimal comma: "1,5 h".
_CLAUSE_MARK = re.compile(r";|,(?![0-9])|(?<![0-9]),")
# French elision: "d'une" -> "d'" + "une" (not "aujourd'hui": the prefix is one letter).
_ELISION = re.compile(r"^((?:[ldjsnmc]|qu)['’])(\S+)$", re.IGNORECASE)
_EDGE_PUNCTUATION = ".!?()[]{}\"'«»“”‘’*_…"
_DASHES = "-–—"
_LOG_COMMAND = re.compile(r"/?log(?:@\S*)?")
# Topics are separated by commas, semicolons, new lines, "and", "et", "&".
_TOPIC_SEPARATOR = re.compile(r"[,;\n]|\s+(?:and|et|&)\s+", re.IGNORECASE)


# --- reading the words -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Word:
    typed: str  # as typed, edge punctuation removed: what unknown_words reports
    folded: str  # what the rules read


@dataclass(frozen=True)
class _Finding:
    """What one rule understood. `field` None: understood and not needed (a filler, a
    time of day)."""

    field: Missing | None
    value: date | Problem | int | Mode | None = None


_IGNORED = _Finding(None)


@dataclass
class _Scan:
    dates: list[date | Problem] = field(default_factory=list)
    durations: list[int] = field(default_factory=list)
    modes: list[Mode] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def add(self, finding: _Finding) -> None:
        value = finding.value
        if finding.field is Missing.DATE and isinstance(value, date | Problem):
            self.dates.append(value)
        elif finding.field is Missing.DURATION and isinstance(value, int):
            self.durations.append(value)
        elif finding.field is Missing.MODE and isinstance(value, Mode):
            self.modes.append(value)


def _fold_word(typed: str) -> str:
    if typed.lower() == "à":
        return "@"  # kept apart from the English "a" so "à 14 h" is a time of day
    folded = "".join(fold(typed).replace("’", "'").replace("‘", "'").split())
    if folded and all(char in _DASHES for char in folded):
        return "-"
    return folded or "?"  # a word of combining marks only: matches no rule


def _trim(piece: str) -> str:
    """Edge punctuation off ("vidéo!" -> "vidéo"); a lone dash stays, as a separator."""
    typed = piece.strip(_EDGE_PUNCTUATION)
    return typed if set(typed) <= set(_DASHES) else typed.strip(_DASHES)


def _words(text: str) -> list[_Word]:
    words: list[_Word] = []
    for raw in _CLAUSE_MARK.sub(" , ", text).split():
        elision = _ELISION.match(raw)
        if elision:  # the elided article is kept whole: "d'" is a filler
            words.append(_Word(elision[1], _fold_word(elision[1])))
            raw = elision[2]
        typed = _trim(raw)
        if typed:
            words.append(_Word(typed, _fold_word(typed)))
    if words and _LOG_COMMAND.fullmatch(words[0].folded):
        del words[0]
    return words


# --- dates -----------------------------------------------------------------------------------


def _one_year_before(today: date) -> date:
    if today.year == 1:
        return date.min
    try:
        return today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        return today.replace(year=today.year - 1, day=28)


def _checked(day: date, today: date) -> date | Problem:
    if day > today:
        return Problem.FUTURE_DATE
    if day < _one_year_before(today):
        return Problem.TOO_OLD
    return day


def _days_back(today: date, days: int) -> date | Problem:
    if days < 0:
        return Problem.FUTURE_DATE
    try:
        return _checked(today - timedelta(days=days), today)
    except OverflowError:
        return Problem.TOO_OLD


def _calendar_date(year: int, month: int, day: int, today: date) -> date | Problem:
    try:
        return _checked(date(year, month, day), today)
    except ValueError:
        return Problem.BAD_DATE


def _recent_date(month: int, day: int, today: date) -> date | Problem:
    """The most recent `day`/`month` up to today; leap days look back to a leap year."""
    if not 1 <= day <= calendar.monthrange(2000, month)[1]:  # 2000: a leap year
        return Problem.BAD_DATE
    for year in range(today.year, today.year - 5, -1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate <= today:
            return _checked(candidate, today)
    return Problem.TOO_OLD


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER_WORDS[word]


def _read_relative_day(match: re.Match[str], today: date) -> _Finding:
    return _Finding(Missing.DATE, _days_back(today, _DAYS_BACK[match[0]]))


def _read_ago(match: re.Match[str], today: date) -> _Finding:
    count = _count(match["count"] or match["count_fr"])
    unit = match["unit"] or match["unit_fr"]
    days = count * 7 if unit.startswith(("week", "semaine")) else count
    return _Finding(Missing.DATE, _days_back(today, days))


def _read_weekday(match: re.Match[str], today: date) -> _Finding:
    weekday = parse_weekday(match["day"])
    assert weekday is not None  # the pattern only takes WEEKDAYS keys
    if match["before"] == "next" or match["after"] == "prochain":
        return _Finding(Missing.DATE, Problem.FUTURE_DATE)
    days = (today.weekday() - weekday) % 7
    if match["before"] in ("last", "past") or match["after"] in ("dernier", "passe"):
        days = days or 7
    return _Finding(Missing.DATE, _days_back(today, days))


def _read_iso_date(match: re.Match[str], today: date) -> _Finding:
    year, month, day = int(match["year"]), int(match["month"]), int(match["day"])
    return _Finding(Missing.DATE, _calendar_date(year, month, day, today))


def _read_month_date(match: re.Match[str], today: date) -> _Finding:
    month, day = MONTHS[match["month"]], int(match["day"])
    if match["year"]:
        return _Finding(Missing.DATE, _calendar_date(int(match["year"]), month, day, today))
    return _Finding(Missing.DATE, _recent_date(month, day, today))


# --- durations -------------------------------------------------------------------------------


def _read_hours_and_minutes(match: re.Match[str], _today: date) -> _Finding:
    minutes = int(match["joined"] or match["spaced"] or (30 if match["half"] else 0))
    return _Finding(Missing.DURATION, int(match["hours"]) * 60 + minutes)


def _read_decimal_hours(match: re.Match[str], _today: date) -> _Finding:
    return _Finding(Missing.DURATION, round(float(match["hours"].replace(",", ".")) * 60))


def _read_minutes(match: re.Match[str], _today: date) -> _Finding:
    return _Finding(Missing.DURATION, int(match["minutes"]))


def _read_word_hours(match: re.Match[str], _today: date) -> _Finding:
    return _Finding(Missing.DURATION, _count(match["count"]) * 60 + (30 if match["half"] else 0))


def _read_fixed_duration(match: re.Match[str], _today: date) -> _Finding:
    return _Finding(Missing.DURATION, _FIXED_DURATIONS[match[0]])


def _clock(text: str, meridiem: str = "") -> int | None:
    """Minutes since midnight of a typed clock time; `meridiem` ("pm") is borrowed from the
    other end of a range, so "2 to 3pm" is 14:00 to 15:00."""
    compact = text.replace(" ", "")
    moment = parse_time(compact + meridiem)
    return None if moment is None else moment.hour * 60 + moment.minute


def _read_time_range(match: re.Match[str], _today: date) -> _Finding | None:
    start_text, end_text = match["start"], match["end"]
    if not any(mark in start_text + end_text for mark in ("h", ":", "m")):
        return None  # "2-3" could be anything
    meridiem = re.search(r"[ap]\.?m\.?$", end_text)
    borrowed = meridiem[0] if meridiem and not re.search(r"m\.?$", start_text) else ""
    start, end = _clock(start_text, borrowed), _clock(end_text)
    if start is None or end is None or end <= start:
        return None
    return _Finding(Missing.DURATION, end - start)


def _read_time_of_day(match: re.Match[str], _today: date) -> _Finding | None:
    return _IGNORED if _clock(match["time"]) is not None else None


# --- modes and fillers -----------------------------------------------------------------------


def _read_mode(match: re.Match[str], _today: date) -> _Finding:
    return _Finding(Missing.MODE, _MODES[match[0]])


def _read_filler(_match: re.Match[str], _today: date) -> _Finding:
    return _IGNORED


_Reader = Callable[[re.Match[str], date], _Finding | None]
_RULES: tuple[tuple[re.Pattern[str], _Reader], ...] = (
    (_RELATIVE_DAY, _read_relative_day),
    (_AGO, _read_ago),
    (_WEEKDAY, _read_weekday),
    (_ISO_DATE, _read_iso_date),
    (_DAY_MONTH, _read_month_date),
    (_MONTH_DAY, _read_month_date),
    (_HOURS_AND_MINUTES, _read_hours_and_minutes),
    (_DECIMAL_HOURS, _read_decimal_hours),
    (_MINUTES, _read_minutes),
    (_WORD_HOURS, _read_word_hours),
    (_FIXED_DURATION, _read_fixed_duration),
    (_TIME_RANGE, _read_time_range),
    (_BETWEEN_TIMES, _read_time_range),
    (_AT_TIME, _read_time_of_day),
    (_AMPM_TIME, _read_time_of_day),
    (_MODE, _read_mode),
    (_FILLER, _read_filler),
)


def _longest(joined: str, start: int, today: date) -> tuple[int, _Finding] | None:
    """The longest reading starting at `start`; on a tie the earlier rule wins."""
    best: tuple[int, _Finding] | None = None
    for pattern, read in _RULES:
        match = pattern.match(joined, start)
        if match is None or (best is not None and match.end() <= best[0]):
            continue
        finding = read(match, today)
        if finding is not None:
            best = (match.end(), finding)
    return best


def _scan(text: str, today: date) -> _Scan:
    words = _words(text)
    joined = " ".join(word.folded for word in words)
    starts: list[int] = []
    position = 0
    for word in words:
        starts.append(position)
        position += len(word.folded) + 1
    scan = _Scan()
    index = 0
    while index < len(words):
        reading = _longest(joined, starts[index], today)
        if reading is None:
            scan.unknown.append(words[index].typed)
            index += 1
            continue
        end, finding = reading
        scan.add(finding)
        index = bisect_left(starts, end)  # patterns stop at a word's end
    return scan


# --- settling each field ---------------------------------------------------------------------


def duration_problem(minutes: int) -> Problem | None:
    """Why a duration cannot be recorded, if it cannot (for answers to "how long?")."""
    if minutes <= 0:
        return Problem.ZERO
    if minutes > MAX_MINUTES:
        return Problem.TOO_LONG
    return None


def _single(values: list[_T]) -> _T | None:
    """The one value given (repeats allowed), or None when several different ones were."""
    distinct = list(dict.fromkeys(values))
    return distinct[0] if len(distinct) == 1 else None


def _settle_date(values: list[date | Problem]) -> tuple[date | None, tuple[Problem, ...]]:
    if not values:
        return None, ()
    value = _single(values)
    if value is None:
        return None, (Problem.CONFLICTING_DATES,)
    if isinstance(value, Problem):
        return None, (value,)
    return value, ()


def _settle_duration(values: list[int]) -> tuple[int | None, tuple[Problem, ...]]:
    if not values:
        return None, ()
    value = _single(values)
    if value is None:
        return None, (Problem.CONFLICTING_DURATIONS,)
    problem = duration_problem(value)
    return (None, (problem,)) if problem else (value, ())


def _settle_mode(values: list[Mode]) -> tuple[Mode | None, tuple[Problem, ...]]:
    if not values:
        return None, ()
    value = _single(values)
    return (None, (Problem.CONFLICTING_MODES,)) if value is None else (value, ())


# --- topics ----------------------------------------------------------------------------------


def _fold_phrase(text: str) -> str:
    folded = fold(text).replace("’", "'").replace("æ", "ae").replace("œ", "oe")
    return " ".join(re.sub(r"[-_]", " ", folded).split())


@cache
def _topic_pattern(topic: Topic) -> re.Pattern[str]:
    """Any keyword of `topic` as whole words, with an optional plural "s"."""
    keywords = {_fold_phrase(keyword) for keyword in topic.keywords}
    return re.compile(rf"(?<!\w)(?:{_alternation(keywords)})s?(?!\w)")


def match_topics(text: str, topics: Sequence[Topic]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Split a topic list ("CV, réseautage et parler du stress") into the keys of the
    topics it names and the phrases that name none, kept as typed (trimmed). A phrase may
    name several topics; each key and each phrase appears once, first mention first."""
    keys: dict[str, None] = {}
    free: dict[str, str] = {}  # folded -> as typed, so "Stress" and "stress" count once
    for phrase in (part.strip() for part in _TOPIC_SEPARATOR.split(text)):
        if not phrase:
            continue
        folded = _fold_phrase(phrase)
        found = [topic.key for topic in topics if _topic_pattern(topic).search(folded)]
        keys.update(dict.fromkeys(found))
        if not found:
            free.setdefault(folded, phrase)
    return tuple(keys), tuple(free.values())


# --- public entry points ---------------------------------------------------------------------


def parse_quick_log(
    text: str, *, today: date, topics: Sequence[Topic] = DEFAULT_TOPICS
) -> ParsedLog:
    """Read a one-message meeting log (the text after `/log`); `today` is the author's
    local date. Never raises and never returns a date after `today`."""
    parts = _TOPIC_COLON.split(text, maxsplit=1)
    scan = _scan(parts[0], today)
    met_on, date_problems = _settle_date(scan.dates)
    minutes, duration_problems = _settle_duration(scan.durations)
    mode, mode_problems = _settle_mode(scan.modes)
    topic_keys, free_topics = match_topics(parts[1], topics) if len(parts) > 1 else ((), ())
    given = {Missing.DATE: met_on, Missing.DURATION: minutes, Missing.MODE: mode}
    return ParsedLog(
        met_on=met_on,
        minutes=minutes,
        mode=mode,
        topics=topic_keys,
        free_topics=free_topics,
        missing=tuple(piece for piece in Missing if given[piece] is None),
        problems=date_problems + duration_problems + mode_problems,
        unknown_words=tuple(scan.unknown),
    )


def _only(scan: _Scan, wanted: Missing) -> bool:
    """The answer holds the wanted piece and nothing else but fillers."""
    others = {
        Missing.DATE: scan.dates,
        Missing.DURATION: scan.durations,
        Missing.MODE: scan.modes,
    }
    return not scan.unknown and all(not values for key, values in others.items() if key != wanted)


def parse_duration(text: str) -> int | None:
    """An answer to "how long?" ("45 min", "1 h 30", "une heure") in minutes, or None when
    it is not a duration alone. A bare number is not a duration. The value is returned as
    given; check it with `duration_problem`."""
    scan = _scan(text, date.today())
    return _single(scan.durations) if _only(scan, Missing.DURATION) else None


def parse_meeting_date(text: str, *, today: date) -> date | Problem | None:
    """An answer to "when?" ("hier", "lundi", "20 nov"): the date, the Problem with it
    (future, too old, no such day, two different dates), or None when it is not a date
    alone."""
    scan = _scan(text, today)
    if not scan.dates or not _only(scan, Missing.DATE):
        return None
    met_on, problems = _settle_date(scan.dates)
    return met_on if met_on is not None else problems[0]


def parse_mode(text: str) -> Mode | None:
    """An answer to "how did you meet?" ("vidéo", "by phone", "en personne"), or None when
    it is not one mode alone."""
    scan = _scan(text, date.today())
    return _single(scan.modes) if _only(scan, Missing.MODE) else None
