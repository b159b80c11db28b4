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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from functools import cache
from typing import TypeVar

from conversations.kit import meeting_vocabulary as vocab
from conversations.kit.meeting_vocabulary import MONTHS, Mode
from conversations.kit.topics import DEFAULT_TOPICS, Topic
from storage.schedule import fold, parse_time, parse_weekday

MAX_MINUTES = 12 * 60
_T = TypeVar("_T")


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
    if folded and all(char in vocab.DASHES for char in folded):
        return "-"
    return folded or "?"  # a word of combining marks only: matches no rule


def _trim(piece: str) -> str:
    """Edge punctuation off ("vidéo!" -> "vidéo"); a lone dash stays, as a separator."""
    typed = piece.strip(vocab.EDGE_PUNCTUATION)
    return typed if set(typed) <= set(vocab.DASHES) else typed.strip(vocab.DASHES)


def _words(text: str) -> list[_Word]:
    words: list[_Word] = []
    for raw in vocab.CLAUSE_MARK.sub(" , ", text).split():
        elision = vocab.ELISION.match(raw)
        if elision:  # the elided article is kept whole: "d'" is a filler
            words.append(_Word(elision[1], _fold_word(elision[1])))
            raw = elision[2]
        typed = _trim(raw)
        if typed:
            words.append(_Word(typed, _fold_word(typed)))
    if words and vocab.LOG_COMMAND.fullmatch(words[0].folded):
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
    return int(word) if word.isdigit() else vocab.NUMBER_WORDS[word]


def _read_relative_day(match: re.Match[str], today: date) -> _Finding:
    return _Finding(Missing.DATE, _days_back(today, vocab.DAYS_BACK[match[0]]))


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
    return _Finding(Missing.DURATION, vocab.FIXED_DURATIONS[match[0]])


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
    return _Finding(Missing.MODE, vocab.MODES[match[0]])


def _read_filler(_match: re.Match[str], _today: date) -> _Finding:
    return _IGNORED


_Reader = Callable[[re.Match[str], date], _Finding | None]
_RULES: tuple[tuple[re.Pattern[str], _Reader], ...] = (
    (vocab.RELATIVE_DAY, _read_relative_day),
    (vocab.AGO, _read_ago),
    (vocab.WEEKDAY, _read_weekday),
    (vocab.ISO_DATE, _read_iso_date),
    (vocab.DAY_MONTH, _read_month_date),
    (vocab.MONTH_DAY, _read_month_date),
    (vocab.HOURS_AND_MINUTES, _read_hours_and_minutes),
    (vocab.DECIMAL_HOURS, _read_decimal_hours),
    (vocab.MINUTES, _read_minutes),
    (vocab.WORD_HOURS, _read_word_hours),
    (vocab.FIXED_DURATION, _read_fixed_duration),
    (vocab.TIME_RANGE, _read_time_range),
    (vocab.BETWEEN_TIMES, _read_time_range),
    (vocab.AT_TIME, _read_time_of_day),
    (vocab.AMPM_TIME, _read_time_of_day),
    (vocab.MODE, _read_mode),
    (vocab.FILLER, _read_filler),
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
    return re.compile(rf"(?<!\w)(?:{vocab.alternation(keywords)})s?(?!\w)")


def match_topics(text: str, topics: Sequence[Topic]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Split a topic list ("CV, réseautage et parler du stress") into the keys of the
    topics it names and the phrases that name none, kept as typed (trimmed). A phrase may
    name several topics; each key and each phrase appears once, first mention first."""
    keys: dict[str, None] = {}
    free: dict[str, str] = {}  # folded -> as typed, so "Stress" and "stress" count once
    for phrase in (part.strip() for part in vocab.TOPIC_SEPARATOR.split(text)):
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
    parts = vocab.TOPIC_COLON.split(text, maxsplit=1)
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
