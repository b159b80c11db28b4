"""The words and patterns a meeting logged in one message is read with, in English and French.

Everything here is folded as `storage.schedule.fold` folds a typed word (lower case, no
accents, "'" for any apostrophe); `conversations.kit.meeting_parse` applies it word by word.
The regexes run on the folded words joined by single spaces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum

from storage.schedule import WEEKDAYS


class Mode(StrEnum):
    IN_PERSON = "in_person"
    VIDEO = "video"
    PHONE = "phone"
    MESSAGES = "messages"


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

NUMBER_WORDS: dict[str, int] = {
    "a": 1, "an": 1, "one": 1, "un": 1, "une": 1, "two": 2, "deux": 2,
    "three": 3, "trois": 3, "four": 4, "quatre": 4, "five": 5, "cinq": 5,
}  # fmt: skip

# Days before today; negative is the future.
DAYS_BACK: dict[str, int] = {
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

VIDEO_APPS = ("zoom", "teams", "ms teams", "microsoft teams", "meet", "google meet",
               "skype", "webex", "facetime")  # fmt: skip
MODE_PHRASES: dict[Mode, tuple[str, ...]] = {
    Mode.IN_PERSON: (
        "in person", "in-person", "inperson", "face to face", "face-to-face", "f2f",
        "en personne", "presentiel", "en presentiel", "face a face", "face-a-face",
    ),
    Mode.VIDEO: (
        "video", "videos", "video call", "videocall", "videoconference", "video conference",
        "visio", "visioconference", "appel video",
        *VIDEO_APPS,
        *(f"{app} call" for app in VIDEO_APPS),
        *(f"appel {app}" for app in VIDEO_APPS),
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
MODES: dict[str, Mode] = {
    phrase: mode for mode, phrases in MODE_PHRASES.items() for phrase in phrases
}

# Words that carry no information here. "," and "-" are the separators kept as words.
FILLERS = frozenset({
    ",", "-", "~", "@",
    "a", "an", "the", "on", "for", "at", "in", "by", "via", "over", "with", "and", "of",
    "about", "around", "approx", "approximately", "roughly", "we", "i", "met", "meeting",
    "session",
    "le", "la", "les", "l'", "d'", "de", "du", "des", "un", "une", "en", "par", "pendant",
    "durant", "au", "et", "avec", "sur", "vers", "environ", "nous", "rencontre",
    "rencontres", "reunion", "seance",
})  # fmt: skip


def alternation(phrases: Iterable[str]) -> str:
    """A regex alternative of literal phrases, longest first."""
    return "|".join(re.escape(phrase) for phrase in sorted(phrases, key=len, reverse=True))


# --- regexes, run on the folded words joined by single spaces ------------------------------
# Every pattern ends with END so a match stops where a word stops ("1h" never matches the
# start of "1h30"); patterns are re.VERBOSE, so a literal space is written "\ ".

END = r"(?!\S)"
HOURS_UNIT = r"(?:hours|hour|hrs|hr|hres|hre|heures|heure|h)"
MINUTES_UNIT = r"(?:minutes|minute|mins|min|mn|m)"
HALF = r"(?:and\ a\ half|et\ demie?)"
MONTH = rf"(?:{alternation(MONTHS)})"
COUNT = rf"(?:[0-9]{{1,3}}|{alternation(NUMBER_WORDS)})"
# A clock time as people type it: "14 h", "14h30", "9:15", "2pm", "2:30 p.m".
CLOCK = r"[0-9]{1,2}(?:\ ?h\ ?(?:[0-5][0-9])?|:[0-5][0-9])?(?:\ ?(?:am|pm|a\.m|p\.m)\.?)?"

# "1h30", "1 h 30", "1h30m", "1 hour and 30 minutes", "2 heures", "1 h et demie". Minutes
# after a space are not taken when a month (not itself followed by a day), an hour unit or
# "days" follows: "1 h 20 nov" is 1 h on 20 November but "1 h 30 nov 20" is 90 minutes on
# 20 November; "14 h 1 h" is two durations; "5 h 2 days ago" a duration and a date.
HOURS_AND_MINUTES = re.compile(
    rf"""(?P<hours>[0-9]{{1,2}}) \ ?{HOURS_UNIT}
    (?: \ (?P<half>{HALF})
      | (?P<joined>[0-5]?[0-9]) (?:\ ?{MINUTES_UNIT})?
      | \ (?:(?:and|et)\ )?(?P<spaced>[0-5]?[0-9])
        (?! \ {MONTH}{END}(?!\ [0-9]{{1,2}}(?:st|nd|rd|th|er)?{END})
          | \ (?:{HOURS_UNIT}|days?|weeks?){END} )
        (?:\ ?{MINUTES_UNIT})?
    )?{END}""",
    re.VERBOSE,
)
# "1.5h", "1,5 h", "1.25 hours"
DECIMAL_HOURS = re.compile(
    rf"(?P<hours>[0-9]{{1,2}}[.,][0-9]{{1,2}})\ ?{HOURS_UNIT}{END}", re.VERBOSE
)
# "45m", "90 min", "45 minutes"
MINUTES = re.compile(rf"(?P<minutes>[0-9]{{1,3}})\ ?{MINUTES_UNIT}{END}", re.VERBOSE)
# "an hour", "une heure et demie", "two hours"
WORD_HOURS = re.compile(
    rf"""(?P<count>{alternation(NUMBER_WORDS)})\ (?:hours|hour|heures|heure)
    (?:\ (?P<half>{HALF}))?{END}""",
    re.VERBOSE,
)
FIXED_DURATIONS: dict[str, int] = {
    "half an hour": 30, "half hour": 30, "a half hour": 30, "half-hour": 30,
    "a half-hour": 30, "une demi-heure": 30, "une demi heure": 30, "demi-heure": 30,
    "a quarter of an hour": 15, "quarter of an hour": 15, "a quarter hour": 15,
    "un quart d' heure": 15, "quart d' heure": 15,
    "three quarters of an hour": 45, "trois quarts d' heure": 45,
    "one and a half hours": 90, "an hour and a half": 90, "one hour and a half": 90,
}  # fmt: skip
FIXED_DURATION = re.compile(rf"(?:{alternation(FIXED_DURATIONS)}){END}")
# "de 14 h à 15 h 30", "14h-15h", "2 to 3pm", "from 9:00 to 10:15" ("à" is read as "@").
TIME_RANGE = re.compile(
    rf"""(?:(?:de|from)\ )?(?P<start>{CLOCK})
    \ ?(?:-|to|till|until|@|a|jusqu'a|jusqu'@)\ ?(?P<end>{CLOCK}){END}""",
    re.VERBOSE,
)
BETWEEN_TIMES = re.compile(
    rf"(?:between|entre)\ (?P<start>{CLOCK})\ (?:and|et)\ (?P<end>{CLOCK}){END}",
    re.VERBOSE,
)
# A time of day, understood and not needed: "à 14 h", "at 2:30", "vers 9h", "2pm".
AT_TIME = re.compile(rf"(?:at|@|vers)\ (?P<time>{CLOCK}){END}", re.VERBOSE)
AMPM_TIME = re.compile(
    rf"(?P<time>[0-9]{{1,2}}(?::[0-5][0-9])?\ ?(?:am|pm|a\.m|p\.m)\.?){END}", re.VERBOSE
)

RELATIVE_DAY = re.compile(rf"(?:{alternation(DAYS_BACK)}){END}")
# "3 days ago", "a week ago", "il y a 2 jours", "il y a une semaine"
AGO = re.compile(
    rf"(?P<count>{COUNT})\ (?P<unit>days?|weeks?)\ ago{END}"
    rf"|il\ y\ a\ (?P<count_fr>{COUNT})\ (?P<unit_fr>jours?|semaines?){END}",
    re.VERBOSE,
)
# "lundi", "last monday", "lundi dernier", "lundi passé", "next tue", "ce jeudi"
WEEKDAY = re.compile(
    rf"""(?:(?P<before>last|past|this|next|ce)\ )?(?P<day>{alternation(WEEKDAYS)})
    (?:\ (?P<after>dernier|passe|prochain))?{END}""",
    re.VERBOSE,
)
# "2026-11-20", "2026/11/20": year first is the only all-digit date accepted.
ISO_DATE = re.compile(r"(?P<year>[0-9]{4})[-/.](?P<month>[0-9]{1,2})[-/.](?P<day>[0-9]{1,2})(?!\S)")
# "20 nov", "1er décembre", "20th of November 2026", "20 novembre, 2025"
DAY_MONTH = re.compile(
    rf"""(?P<day>[0-9]{{1,2}})(?:er|re|e|st|nd|rd|th)?\ (?:of\ |de\ )?(?P<month>{MONTH})
    (?:(?:\ ,)?\ (?P<year>[0-9]{{4}}))?{END}""",
    re.VERBOSE,
)
# "nov 20", "November 20, 2026"; not "nov 1 h", where the number is a duration.
MONTH_DAY = re.compile(
    rf"""(?P<month>{MONTH})\ (?P<day>[0-9]{{1,2}})(?:st|nd|rd|th|er)?
    (?!\ (?:{HOURS_UNIT}|{MINUTES_UNIT}){END})
    (?:(?:\ ,)?\ (?P<year>[0-9]{{4}}))?{END}""",
    re.VERBOSE,
)

MODE = re.compile(rf"(?:{alternation(MODES)}){END}")
FILLER = re.compile(rf"(?:{alternation(FILLERS)}){END}")

# Before the first colon: the meeting; after it: topics. "14:00" is not a separator.
TOPIC_COLON = re.compile(r"(?<![0-9])[:：]|[:：](?![0-9])")
# Commas and semicolons split words, except a decimal comma: "1,5 h".
CLAUSE_MARK = re.compile(r";|,(?![0-9])|(?<![0-9]),")
# French elision: "d'une" -> "d'" + "une" (not "aujourd'hui": the prefix is one letter).
ELISION = re.compile(r"^((?:[ldjsnmc]|qu)['’])(\S+)$", re.IGNORECASE)
EDGE_PUNCTUATION = ".!?()[]{}\"'«»“”‘’*_…"
DASHES = "-–—"
LOG_COMMAND = re.compile(r"/?log(?:@\S*)?")
# Topics are separated by commas, semicolons, new lines, "and", "et", "&".
TOPIC_SEPARATOR = re.compile(r"[,;\n]|\s+(?:and|et|&)\s+", re.IGNORECASE)
