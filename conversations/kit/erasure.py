"""What erasure keeps, read from the instruments and the topic list: the answers given by
a tap, a number or a date, and the topic keys (see `storage.erasure`)."""

from __future__ import annotations

from functools import cache

from conversations.instruments import Kind, load_all
from conversations.kit.meeting_record import NOTHING, OTHER
from conversations.kit.topics import DEFAULT_TOPICS
from storage.erasure import Keeps


@cache
def erasure_keeps() -> Keeps:
    answers = frozenset(
        (instrument.key, question.key)
        for instrument in load_all().values()
        for question in instrument.questions
        if question.kind is not Kind.TEXT
    )
    topics = frozenset({topic.key for topic in DEFAULT_TOPICS} | {OTHER, NOTHING})
    return Keeps(answers=answers, topics=topics)
