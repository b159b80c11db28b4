"""Callback data one dialogue's buttons send to another's handler, kept apart so that
neither module imports the other (conversations.oversight reads conversations.alerts)."""

from __future__ import annotations

TIMELINE_PREFIX = "ov"
TIMELINE_NEW = "mt"


def match_timeline(match_id: int) -> str:
    """A button that sends a match's timeline as a new message (conversations.oversight
    answers it, checking again that the presser coordinates the match's program)."""
    return f"{TIMELINE_PREFIX}:{TIMELINE_NEW}:{match_id}"
