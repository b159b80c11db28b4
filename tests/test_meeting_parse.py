"""The one-message meeting log parser, on real-looking lines in English and French.

Every row gives the text after `/log` and the exact record expected on Sunday
22 November 2026. Missing pieces are what the bot asks next, in that order; problems are
what it explains first; unknown words are what it says it did not understand.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conversations.kit.meeting_parse import (
    MAX_MINUTES,
    Missing,
    Mode,
    ParsedLog,
    Problem,
    duration_problem,
    match_topics,
    parse_duration,
    parse_meeting_date,
    parse_mode,
    parse_quick_log,
)
from conversations.kit.topics import DEFAULT_TOPICS, Topic

TODAY = date(2026, 11, 22)  # a Sunday
YESTERDAY = date(2026, 11, 21)
MONDAY = date(2026, 11, 16)
DATE, DURATION, MODE = Missing.DATE, Missing.DURATION, Missing.MODE
IN_PERSON, VIDEO, PHONE, MESSAGES = Mode.IN_PERSON, Mode.VIDEO, Mode.PHONE, Mode.MESSAGES


def log(
    met_on: date | None = None,
    minutes: int | None = None,
    mode: Mode | None = None,
    *,
    topics: tuple[str, ...] = (),
    free: tuple[str, ...] = (),
    missing: tuple[Missing, ...] = (),
    problems: tuple[Problem, ...] = (),
    unknown: tuple[str, ...] = (),
) -> ParsedLog:
    return ParsedLog(met_on, minutes, mode, topics, free, missing, problems, unknown)


def row(text: str, expected: ParsedLog, name: str) -> Any:
    """One table line; `name` is its test id."""
    return pytest.param(text, expected, id=name)


LINES = [
    # --- the examples from the issue ---------------------------------------------------------
    row("45m yesterday video: mock interview",
        log(YESTERDAY, 45, VIDEO, topics=("interview",)), "en-example-mock-interview"),
    row("1h30 today in person: résumé, networking",
        log(TODAY, 90, IN_PERSON, topics=("resume", "networking")), "en-example-resume"),
    row("1,5 h hier en personne : CV",
        log(YESTERDAY, 90, IN_PERSON, topics=("resume",)), "fr-example-decimal-comma"),
    row("90 min 2026-11-20 téléphone", log(date(2026, 11, 20), 90, PHONE), "fr-example-iso"),
    row("lundi 1 h vidéo", log(MONDAY, 60, VIDEO), "fr-example-weekday"),
    row("1 h 30 hier en personne : CV, réseautage, parler du stress",
        log(YESTERDAY, 90, IN_PERSON, topics=("resume", "networking"),
            free=("parler du stress",)), "fr-topics-and-free-text"),
    # --- durations ---------------------------------------------------------------------------
    row("45 min yesterday phone", log(YESTERDAY, 45, PHONE), "dur-45-min"),
    row("45 minutes hier téléphone", log(YESTERDAY, 45, PHONE), "dur-45-minutes"),
    row("1h yesterday zoom", log(YESTERDAY, 60, VIDEO), "dur-1h"),
    row("1 h hier visio", log(YESTERDAY, 60, VIDEO), "dur-1-h"),
    row("1h30m hier teams", log(YESTERDAY, 90, VIDEO), "dur-1h30m"),
    row("1.5h yesterday in-person", log(YESTERDAY, 90, IN_PERSON), "dur-1.5h"),
    row("1.5 hours yesterday email", log(YESTERDAY, 90, MESSAGES), "dur-1.5-hours"),
    row("0.75h today chat", log(TODAY, 45, MESSAGES), "dur-0.75h"),
    row("2 heures hier par téléphone", log(YESTERDAY, 120, PHONE), "dur-2-heures"),
    row("1 heure 30 hier courriel", log(YESTERDAY, 90, MESSAGES), "dur-1-heure-30"),
    row("une heure hier en présentiel", log(YESTERDAY, 60, IN_PERSON), "dur-une-heure"),
    row("an hour yesterday face to face", log(YESTERDAY, 60, IN_PERSON), "dur-an-hour"),
    row("half an hour yesterday text", log(YESTERDAY, 30, MESSAGES), "dur-half-an-hour"),
    row("une demi-heure hier clavardage", log(YESTERDAY, 30, MESSAGES), "dur-demi-heure"),
    row("une heure et demie avant-hier en personne",
        log(date(2026, 11, 20), 90, IN_PERSON), "dur-heure-et-demie"),
    row("an hour and a half the day before yesterday video",
        log(date(2026, 11, 20), 90, VIDEO), "dur-hour-and-a-half"),
    row("1 hour and 30 minutes yesterday phone call",
        log(YESTERDAY, 90, PHONE), "dur-hour-and-minutes"),
    row("rencontre d'une heure hier en visio", log(YESTERDAY, 60, VIDEO), "dur-elision"),
    row("un quart d'heure hier texto", log(YESTERDAY, 15, MESSAGES), "dur-quart-d-heure"),
    row("1h 45 hier appel", log(YESTERDAY, 105, PHONE), "dur-spaced-minutes"),
    row("90mins yesterday msg", log(YESTERDAY, 90, MESSAGES), "dur-90mins"),
    row("12h hier vidéo", log(YESTERDAY, 720, VIDEO), "dur-12h-is-the-limit"),
    row("de 14 h à 15 h 30 hier zoom", log(YESTERDAY, 90, VIDEO), "dur-fr-time-range"),
    row("2-3pm yesterday phone", log(YESTERDAY, 60, PHONE), "dur-en-time-range"),
    row("entre 14 h et 15 h hier visio", log(YESTERDAY, 60, VIDEO), "dur-entre-et"),
    row("hier à 14 h, 1 h, vidéo", log(YESTERDAY, 60, VIDEO), "dur-time-of-day-ignored"),
    row("yesterday at 2pm 45m zoom", log(YESTERDAY, 45, VIDEO), "dur-at-2pm-ignored"),
    # --- dates -------------------------------------------------------------------------------
    row("aujourd'hui 1h vidéo", log(TODAY, 60, VIDEO), "date-aujourdhui"),
    row("Aujourd’hui 1h vidéo", log(TODAY, 60, VIDEO), "date-curly-apostrophe"),
    row("ce matin 30 min texto", log(TODAY, 30, MESSAGES), "date-ce-matin"),
    row("last night 1h phone", log(YESTERDAY, 60, PHONE), "date-last-night"),
    row("the day before yesterday 1h phone", log(date(2026, 11, 20), 60, PHONE),
        "date-day-before-yesterday"),
    row("avant hier 1h appel", log(date(2026, 11, 20), 60, PHONE), "date-avant-hier"),
    row("mon 1h video", log(MONDAY, 60, VIDEO), "date-mon"),
    row("we met on monday for an hour by phone", log(MONDAY, 60, PHONE), "date-on-monday"),
    row("1h lun texto", log(MONDAY, 60, MESSAGES), "date-lun"),
    row("jeu. 1h visio", log(date(2026, 11, 19), 60, VIDEO), "date-jeu-abbreviated"),
    row("dimanche 1h teams", log(TODAY, 60, VIDEO), "date-todays-weekday-is-today"),
    row("last sunday 1h teams", log(date(2026, 11, 15), 60, VIDEO), "date-last-sunday"),
    row("dimanche dernier 1h teams", log(date(2026, 11, 15), 60, VIDEO), "date-dimanche-dernier"),
    row("lundi dernier 1h teams", log(MONDAY, 60, VIDEO), "date-lundi-dernier"),
    row("lundi passé 45 min appel", log(MONDAY, 45, PHONE), "date-lundi-passe"),
    row("20 nov 1h video", log(date(2026, 11, 20), 60, VIDEO), "date-20-nov"),
    row("nov 20 1h video", log(date(2026, 11, 20), 60, VIDEO), "date-nov-20"),
    row("le 20 novembre 1 h vidéo", log(date(2026, 11, 20), 60, VIDEO), "date-20-novembre"),
    row("November 20, 2026 1h zoom call", log(date(2026, 11, 20), 60, VIDEO),
        "date-november-20-comma-year"),
    row("1er novembre 1 h appel vidéo", log(date(2026, 11, 1), 60, VIDEO), "date-1er-novembre"),
    row("23 nov 1h video", log(date(2025, 11, 23), 60, VIDEO), "date-no-year-is-last-past-one"),
    row("3 days ago 30 min call", log(date(2026, 11, 19), 30, PHONE), "date-days-ago"),
    row("il y a une semaine 30 min appel", log(date(2026, 11, 15), 30, PHONE), "date-il-y-a"),
    row("1 h 20 nov video", log(date(2026, 11, 20), 60, VIDEO), "date-month-takes-the-number"),
    row("mar 20 1h zoom", log(date(2026, 3, 20), 60, VIDEO), "date-mar-with-day-is-march"),
    row("mar 1 h zoom", log(date(2026, 11, 17), 60, VIDEO), "date-mar-alone-is-tuesday"),
    # --- modes -------------------------------------------------------------------------------
    row("f2f yesterday 1h", log(YESTERDAY, 60, IN_PERSON), "mode-f2f"),
    row("face-à-face hier 1h", log(YESTERDAY, 60, IN_PERSON), "mode-face-a-face"),
    row("google meet hier 1h", log(YESTERDAY, 60, VIDEO), "mode-google-meet"),
    row("ms teams call yesterday 1h", log(YESTERDAY, 60, VIDEO), "mode-teams-call-is-video"),
    row("zoom vidéo hier 1h", log(YESTERDAY, 60, VIDEO), "mode-same-twice-is-fine"),
    row("coup de fil hier 20 min", log(YESTERDAY, 20, PHONE), "mode-coup-de-fil"),
    # --- case, punctuation, command word ----------------------------------------------------
    row("  45M  YESTERDAY  VIDEO  ", log(YESTERDAY, 45, VIDEO), "upper-case-and-spaces"),
    row("Hier VIDÉO 1H", log(YESTERDAY, 60, VIDEO), "fr-upper-case"),
    row("45m, yesterday, video.", log(YESTERDAY, 45, VIDEO), "commas-and-full-stop"),
    row("/log 45m yesterday video", log(YESTERDAY, 45, VIDEO), "command-word-left-in"),
    # --- topics ------------------------------------------------------------------------------
    row("45m hier visio : simulation d'entrevue; marché du travail et objectifs",
        log(YESTERDAY, 45, VIDEO, topics=("interview", "labour_market", "goals")),
        "topics-fr-separators"),
    row("1h zoom yesterday: workplace culture and salary negotiation",
        log(YESTERDAY, 60, VIDEO, topics=("workplace_culture",), free=("salary negotiation",)),
        "topics-en-free-text"),
    row("1 h hier en personne : culture d’entreprise, réseau LinkedIn",
        log(YESTERDAY, 60, IN_PERSON, topics=("workplace_culture", "networking")),
        "topics-curly-apostrophe"),
    row("30 min today phone: labour-market research, Goals",
        log(TODAY, 30, PHONE, topics=("labour_market", "goals")), "topics-hyphen-and-case"),
    row("1h hier vidéo : , ,", log(YESTERDAY, 60, VIDEO), "topics-empty"),
    row(": CV", log(topics=("resume",), missing=(DATE, DURATION, MODE)), "topics-only"),
    row("1h hier vidéo: 14:00 suivi",
        log(YESTERDAY, 60, VIDEO, free=("14:00 suivi",)), "topics-keep-their-colons"),
    # --- missing pieces ----------------------------------------------------------------------
    row("", log(missing=(DATE, DURATION, MODE)), "empty-log-alone"),
    row("log 45", log(missing=(DATE, DURATION, MODE), unknown=("45",)), "bare-number"),
    row("hier", log(YESTERDAY, missing=(DURATION, MODE)), "date-only"),
    row("1h", log(minutes=60, missing=(DATE, MODE)), "duration-only"),
    row("video", log(mode=VIDEO, missing=(DATE, DURATION)), "mode-only"),
    row("45 hier video", log(YESTERDAY, mode=VIDEO, missing=(DURATION,), unknown=("45",)),
        "bare-number-is-not-minutes"),
    row("1:30 hier vidéo", log(YESTERDAY, mode=VIDEO, missing=(DURATION,), unknown=("1:30",)),
        "clock-like-duration-is-asked"),
    row("20/11 1h video", log(minutes=60, mode=VIDEO, missing=(DATE,), unknown=("20/11",)),
        "slash-date-is-ambiguous"),
    row("yesterdy 45m vidoe",
        log(minutes=45, missing=(DATE, MODE), unknown=("yesterdy", "vidoe")), "typos"),
    row("en ligne 1h hier", log(YESTERDAY, 60, missing=(MODE,), unknown=("ligne",)),
        "online-is-not-a-mode"),
    row("1h hier en personne — CV", log(YESTERDAY, 60, IN_PERSON, unknown=("CV",)),
        "topic-without-colon"),
    row("1h20 nov video", log(minutes=80, mode=VIDEO, missing=(DATE,), unknown=("nov",)),
        "joined-minutes-stay-minutes"),
    row("nov 1 h zoom", log(minutes=60, mode=VIDEO, missing=(DATE,), unknown=("nov",)),
        "month-without-day"),
    # --- problems ----------------------------------------------------------------------------
    row("45m demain vidéo",
        log(minutes=45, mode=VIDEO, missing=(DATE,), problems=(Problem.FUTURE_DATE,)),
        "future-demain"),
    row("next monday 1h phone",
        log(minutes=60, mode=PHONE, missing=(DATE,), problems=(Problem.FUTURE_DATE,)),
        "future-next-monday"),
    row("2026-11-23 1h phone",
        log(minutes=60, mode=PHONE, missing=(DATE,), problems=(Problem.FUTURE_DATE,)),
        "future-iso"),
    row("2026-02-30 1h phone",
        log(minutes=60, mode=PHONE, missing=(DATE,), problems=(Problem.BAD_DATE,)),
        "bad-date-iso"),
    row("31 avril 1h phone",
        log(minutes=60, mode=PHONE, missing=(DATE,), problems=(Problem.BAD_DATE,)),
        "bad-date-month-name"),
    row("21 nov 2025 1h video",
        log(minutes=60, mode=VIDEO, missing=(DATE,), problems=(Problem.TOO_OLD,)),
        "too-old-by-a-day"),
    row("22 nov 2025 1h video", log(date(2025, 11, 22), 60, VIDEO), "one-year-back-is-fine"),
    row("29 feb 1h video",
        log(minutes=60, mode=VIDEO, missing=(DATE,), problems=(Problem.TOO_OLD,)),
        "leap-day-without-year"),
    row("13h video today",
        log(TODAY, mode=VIDEO, missing=(DURATION,), problems=(Problem.TOO_LONG,)),
        "13h-is-a-duration-too-long"),
    row("12h30 hier vidéo",
        log(YESTERDAY, mode=VIDEO, missing=(DURATION,), problems=(Problem.TOO_LONG,)),
        "over-12h"),
    row("0 min hier vidéo",
        log(YESTERDAY, mode=VIDEO, missing=(DURATION,), problems=(Problem.ZERO,)),
        "zero-minutes"),
    row("hier a 14 h 1 h vidéo",
        log(YESTERDAY, mode=VIDEO, missing=(DURATION,),
            problems=(Problem.CONFLICTING_DURATIONS,)),
        "unaccented-a-makes-two-durations"),
    row("45m 1h hier video",
        log(YESTERDAY, mode=VIDEO, missing=(DURATION,),
            problems=(Problem.CONFLICTING_DURATIONS,)),
        "two-durations"),
    row("hier aujourd'hui 1h video",
        log(minutes=60, mode=VIDEO, missing=(DATE,), problems=(Problem.CONFLICTING_DATES,)),
        "two-dates"),
    row("hier video phone",
        log(YESTERDAY, missing=(DURATION, MODE), problems=(Problem.CONFLICTING_MODES,)),
        "two-modes"),
    row("demain 13h vidéo vidéo téléphone",
        log(missing=(DATE, DURATION, MODE),
            problems=(Problem.FUTURE_DATE, Problem.TOO_LONG, Problem.CONFLICTING_MODES)),
        "every-field-rejected-in-order"),
]  # fmt: skip


def test_the_table_is_big_enough() -> None:
    assert len(LINES) >= 70
    assert len({line.id for line in LINES}) == len(LINES)


@pytest.mark.parametrize(("text", "expected"), LINES)
def test_quick_log(text: str, expected: ParsedLog) -> None:
    assert parse_quick_log(text, today=TODAY) == expected


def test_complete_means_nothing_to_ask() -> None:
    assert parse_quick_log("45m yesterday video", today=TODAY).complete
    assert not parse_quick_log("45m yesterday", today=TODAY).complete
    assert not parse_quick_log("45m demain video", today=TODAY).complete
    assert not parse_quick_log("45m yesterday video zoo", today=TODAY).complete


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("45m", 45), ("45 min", 45), ("45 minutes", 45), ("1h", 60), ("1 h", 60),
        ("1h30", 90), ("1 h 30", 90), ("1h30m", 90), ("1.5h", 90), ("1,5 h", 90),
        ("1.5 hours", 90), ("90 min", 90), ("2 heures", 120), ("1 heure 30", 90),
        ("une heure", 60), ("an hour", 60), ("half an hour", 30), ("une demi-heure", 30),
        ("pendant 1 h", 60), ("13h", 780), ("0 min", 0),
        ("90", None), ("1", None), ("hier 1h", None), ("video", None), ("", None),
        ("1h 2h", None), ("1:30", None),
    ],
)  # fmt: skip
def test_duration_alone(text: str, minutes: int | None) -> None:
    assert parse_duration(text) == minutes


def test_duration_problems() -> None:
    assert duration_problem(0) is Problem.ZERO
    assert duration_problem(MAX_MINUTES) is None
    assert duration_problem(MAX_MINUTES + 1) is Problem.TOO_LONG


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hier", YESTERDAY), ("yesterday", YESTERDAY), ("le 20 nov", date(2026, 11, 20)),
        ("lundi dernier", MONDAY), ("today", TODAY), ("2026-11-01", date(2026, 11, 1)),
        ("demain", Problem.FUTURE_DATE), ("2026-02-30", Problem.BAD_DATE),
        ("2020-01-01", Problem.TOO_OLD), ("hier aujourd'hui", Problem.CONFLICTING_DATES),
        ("video", None), ("hier 1h", None), ("20/11", None), ("", None),
    ],
)  # fmt: skip
def test_date_alone(text: str, expected: date | Problem | None) -> None:
    assert parse_meeting_date(text, today=TODAY) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("vidéo", VIDEO), ("par téléphone", PHONE), ("en personne", IN_PERSON),
        ("by text", MESSAGES), ("Clavardage", MESSAGES), ("zoom video", VIDEO),
        ("video phone", None), ("hier", None), ("en ligne", None), ("", None),
    ],
)  # fmt: skip
def test_mode_alone(text: str, expected: Mode | None) -> None:
    assert parse_mode(text) == expected


def test_topics_of_a_program() -> None:
    topics = (
        Topic("ece_ratios", "Ratios", ("ratio", "ratios")),
        Topic("families", "Families", ("parents", "famille", "families")),
    )
    assert match_topics("ratios, rencontre avec les parents, Stress; stress", topics) == (
        ("ece_ratios", "families"),
        ("Stress",),
    )


def test_default_topics_have_labels_and_unique_keys() -> None:
    assert [topic.key for topic in DEFAULT_TOPICS] == [
        "resume", "networking", "interview", "labour_market", "workplace_culture", "goals",
    ]  # fmt: skip
    assert all(topic.label and topic.keywords for topic in DEFAULT_TOPICS)


# --- properties ------------------------------------------------------------------------------

# Words that meet in the rules, so random lines exercise their interactions.
TRICKY = [
    "1", "h", "30", "1h", "1h30", "45m", "min", "90", "1,5", "1.5h", "13h", "0", "nov", "mar",
    "20", "2026-02-30", "2026-11-20", "9999-12-31", "0001-01-01", "hier", "demain", "lundi",
    "dernier", "prochain", "last", "next", "à", "a", "at", "de", "et", "entre", "to", "-",
    ",", ":", "2pm", "il", "y", "jours", "days", "ago", "une", "heure", "et demie", "d'",
    "vidéo", "phone", "en", "personne", "zoom", "call", "CV", "20/11", "1:30", "é", "\u0301",
    "\u00a0", "’", "œ", "ß", "İ", "½", "٣",
]  # fmt: skip
EXTREME_DAYS = st.dates() | st.sampled_from([date.min, date.max, date(2024, 2, 29)])


def check_invariants(parsed: ParsedLog, today: date) -> None:
    assert parsed.met_on is None or parsed.met_on <= today
    fields = {DATE: parsed.met_on, DURATION: parsed.minutes, MODE: parsed.mode}
    assert parsed.missing == tuple(piece for piece in Missing if fields[piece] is None)
    assert parsed.minutes is None or 0 < parsed.minutes <= MAX_MINUTES
    assert parsed.complete == (not parsed.missing and not parsed.unknown_words)


@settings(max_examples=300)
@given(text=st.text(max_size=300), today=EXTREME_DAYS)
def test_never_raises_on_any_text(text: str, today: date) -> None:
    check_invariants(parse_quick_log(text, today=today), today)


@settings(max_examples=300)
@given(words=st.lists(st.sampled_from(TRICKY), max_size=30), today=EXTREME_DAYS)
def test_never_raises_on_tricky_lines(words: list[str], today: date) -> None:
    check_invariants(parse_quick_log(" ".join(words), today=today), today)


@settings(max_examples=50, deadline=None)
@given(
    seed=st.text(min_size=1, max_size=200)
    | st.lists(st.sampled_from(TRICKY), min_size=1).map(" ".join),
    today=EXTREME_DAYS,
)
def test_never_raises_on_5000_characters(seed: str, today: date) -> None:
    """A short random line repeated to 5,000 characters (Hypothesis shrinks badly on
    5,000 drawn characters)."""
    text = (seed * (5000 // len(seed) + 1))[:5000]
    check_invariants(parse_quick_log(text, today=today), today)


def test_5000_characters_of_words_are_reported_not_dropped() -> None:
    text = "blah " * 1000
    parsed = parse_quick_log(text, today=TODAY)
    assert parsed.unknown_words == ("blah",) * 1000
    assert parsed.missing == (DATE, DURATION, MODE)


def duration_forms(minutes: int) -> list[str]:
    hours, rest = divmod(minutes, 60)
    forms = [f"{minutes}m", f"{minutes} min", f"{minutes} minutes"]
    if hours and not rest:
        forms += [f"{hours}h", f"{hours} h", f"{hours} heures", f"{hours} hours"]
    elif hours:
        forms += [f"{hours}h{rest:02d}", f"{hours} h {rest}", f"{hours}h{rest}m",
                  f"{hours} hour {rest} minutes", f"{hours} h et {rest}"]  # fmt: skip
    return forms


WEEKDAY_NAMES = [  # without "mar": next to a number it is March (see the table)
    ("monday", "lundi", "mon", "lun"), ("tuesday", "mardi", "tue"),
    ("wednesday", "mercredi", "wed", "mer"), ("thursday", "jeudi", "thu", "jeu"),
    ("friday", "vendredi", "fri", "ven"), ("saturday", "samedi", "sat", "sam"),
    ("sunday", "dimanche", "sun", "dim"),
]  # fmt: skip
MODE_WORDS = {
    IN_PERSON: ["in person", "en personne", "présentiel", "face to face"],
    VIDEO: ["video", "vidéo", "visio", "zoom", "teams", "meet"],
    PHONE: ["phone", "téléphone", "appel", "call"],
    MESSAGES: ["messages", "texto", "clavardage", "courriel", "email", "text"],
}


MONTH_NAMES = [
    ("january", "janvier", "jan"), ("february", "février", "feb"), ("march", "mars", "mar"),
    ("april", "avril", "avr"), ("may", "mai"), ("june", "juin", "jun"),
    ("july", "juillet", "juil"), ("august", "août", "aug"), ("september", "septembre", "sept"),
    ("october", "octobre", "oct"), ("november", "novembre", "nov"),
    ("december", "décembre", "déc"),
]  # fmt: skip


def date_forms(days: int, today: date) -> list[str]:
    day = today - timedelta(days=days)
    forms = [day.isoformat(), f"{days} days ago", f"il y a {days} jours"]
    if days < 300:  # without a year, a month name means the last such day
        for month in MONTH_NAMES[day.month - 1]:
            forms += [f"{day.day} {month}", f"{month} {day.day}", f"le {day.day} {month}"]
    forms += [f"{day.day} {month} {day.year}" for month in MONTH_NAMES[day.month - 1]]
    if days < 7:
        forms += list(WEEKDAY_NAMES[day.weekday()])
    forms += {0: ["today", "aujourd'hui"], 1: ["yesterday", "hier"],
              2: ["avant-hier", "the day before yesterday"]}.get(days, [])  # fmt: skip
    return forms


@settings(max_examples=300)
@given(
    minutes=st.integers(1, MAX_MINUTES),
    days=st.integers(0, 365),
    mode=st.sampled_from(list(Mode)),
    today=st.dates(date(2000, 1, 1), date(2100, 1, 1)),
    seed=st.integers(0, 2**32),
)
def test_any_well_formed_line_reads_back(
    minutes: int, days: int, mode: Mode, today: date, seed: int
) -> None:
    """Any spelling of a duration, a date and a mode, in any order, with fillers."""
    choose = random.Random(seed)
    parts = [
        choose.choice(duration_forms(minutes)),
        choose.choice(date_forms(days, today)),
        choose.choice(MODE_WORDS[mode]),
    ]
    choose.shuffle(parts)
    fillers = choose.sample(["on", "for", "pendant", "le", "en", "by", ","], k=2)
    text = f"{fillers[0]} {parts[0]} {parts[1]} {fillers[1]} {parts[2]}: CV"
    expected = log(today - timedelta(days=days), minutes, mode, topics=("resume",))
    assert parse_quick_log(text, today=today) == expected, text
