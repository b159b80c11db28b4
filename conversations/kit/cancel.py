"""What /cancel forgets: the waits dialogues keep in `user_data` (a typed goal, a
meeting being edited, a broadcast draft, a resolve note…). Each dialogue registers its
keys here when it is imported; bot/cancel.py clears them all, so a new dialogue that
waits for something is cancellable by adding one line."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

_WAITS: set[str] = set()
_ANSWERED_BY_DIALOGUE: set[str] = set()


def cancellable(*keys: str, answers_itself: bool = False) -> None:
    """`user_data` keys holding something in progress that /cancel should end; with
    `answers_itself`, the dialogue reads /cancel itself while the key is set (and says
    what it kept in its own words), so /cancel is left to it."""
    _WAITS.update(keys)
    if answers_itself:
        _ANSWERED_BY_DIALOGUE.update(keys)


def dialogue_answers(user_data: MutableMapping[str, Any] | None) -> bool:
    return any(key in (user_data or {}) for key in _ANSWERED_BY_DIALOGUE)


def forget_waits(user_data: MutableMapping[str, Any] | None) -> bool:
    """Drop every registered wait; True when something was in progress."""
    if not user_data:
        return False
    return bool([key for key in list(_WAITS) if user_data.pop(key, None) is not None])
