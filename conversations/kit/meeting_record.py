"""A meeting log as people read it: the program's topics, the `meeting_log` instrument
asking for them, and a stored log's lines (date, duration, mode, topics, notes). Meeting
logs (conversations/meeting_log/) and a match's timeline (conversations/oversight/) show
logs through here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import cache

from conversations.instruments import Instrument, Option, load_instrument
from conversations.kit.meeting_parse import (
    match_topics,
)
from conversations.kit.text import duration_text
from conversations.kit.topics import DEFAULT_TOPICS, Topic
from locales.translator import Html, Translator, escape
from storage.models import MeetingLog, Program

INSTRUMENT = "meeting_log"
OTHER, NOTHING = "other", "none"  # the topics question's own options
MAX_TOPIC_BUTTONS = 8  # with "Something else" and "Nothing in particular": 10 options


def program_topics(program: Program | None) -> tuple[Topic, ...]:
    """The topics a program's logs are filed under: the known topics its settings name
    (`settings["topics"]`, a list of keys, in that order), else the default list."""
    chosen = ((program.settings if program else None) or {}).get("topics")
    if not isinstance(chosen, list):
        return DEFAULT_TOPICS
    known = {topic.key: topic for topic in DEFAULT_TOPICS}
    topics = tuple(
        known[key] for key in dict.fromkeys(chosen) if isinstance(key, str) and key in known
    )
    return topics[:MAX_TOPIC_BUTTONS] or DEFAULT_TOPICS


@cache
def meeting_instrument(topics: tuple[Topic, ...] = DEFAULT_TOPICS) -> Instrument:
    """The `meeting_log` instrument with `topics` in front of its topic question's own
    options ("Something else", "Nothing in particular")."""
    base = load_instrument(INSTRUMENT)
    questions = tuple(
        replace(q, options=(*(Option(t.key, t.label) for t in topics), *q.options))
        if q.key == "topics"
        else q
        for q in base.questions
    )
    return replace(base, questions=questions)


def topic_label(tr: Translator, item: str) -> str:
    """A stored topic as people read it (plain text): a known topic's translated label,
    else the person's own words."""
    known = next((topic for topic in DEFAULT_TOPICS if topic.key == item), None)
    return tr.gettext(known.label) if known else item


def topic_answers(items: Sequence[str], topics: Sequence[Topic]) -> dict[str, str]:
    """Stored topics (keys and free words) as the topic questions' answers."""
    offered = {topic.key for topic in topics}
    keys = [item for item in items if item in offered]
    free = [item for item in items if item not in offered]
    if not keys and not free:
        return {}
    answers = {"topics": ",".join([*keys, *([OTHER] if free else [])])}
    if free:
        answers["other_topics"] = ", ".join(free)
    return answers


def topics_of(answers: dict[str, str], topics: Sequence[Topic]) -> list[str]:
    """The topic questions' answers as stored: keys, then the other topics' words (those
    that name a listed topic become its key)."""
    chosen = [
        key for key in answers.get("topics", "").split(",") if key not in ("", OTHER, NOTHING)
    ]
    if OTHER in answers.get("topics", "").split(","):
        keys, free = match_topics(answers.get("other_topics", ""), topics)
        chosen += [*keys, *free]
    return list(dict.fromkeys(chosen))


def answers_of(meeting: MeetingLog, topics: Sequence[Topic]) -> dict[str, str]:
    """A stored log as the instrument's answers (to change one field of it)."""
    answers = {
        "date": meeting.met_on.isoformat(),
        "duration": str(meeting.minutes),
        "mode": meeting.mode,
        "notes": meeting.notes or "",
    }
    return answers | (topic_answers(meeting.topics, topics) or {"topics": NOTHING})


def mode_label(tr: Translator, instrument: Instrument, mode: str) -> str:
    question = instrument.question("mode")
    option = question.option(mode) if question else None
    return tr.gettext(option.label) if option else mode


def _bullet(tr: Translator, instrument: Instrument, key: str, value: str) -> str:
    question = instrument.question(key)
    label = tr.gettext(question.label) if question else key
    return tr.gettext("• {label}: {value}", label=label, value=Html(f"<b>{value}</b>"))


def record_lines(tr: Translator, meeting: MeetingLog, instrument: Instrument) -> list[str]:
    """The log, one line per field it has."""
    lines = [
        _bullet(tr, instrument, "date", escape(tr.date(meeting.met_on, "full"))),
        _bullet(tr, instrument, "duration", escape(duration_text(tr, meeting.minutes))),
        _bullet(tr, instrument, "mode", escape(mode_label(tr, instrument, meeting.mode))),
    ]
    if meeting.topics:
        topics = ", ".join(topic_label(tr, item) for item in meeting.topics)
        lines.append(_bullet(tr, instrument, "topics", escape(topics)))
    if meeting.notes:
        lines.append(_bullet(tr, instrument, "notes", escape(meeting.notes)))
    return lines
