"""What /cancel forgets: the waits dialogues keep in `user_data` (a typed goal, a
meeting being edited, a broadcast draft, a resolve note…). Each dialogue registers its
keys here when it is imported; bot/cancel.py clears them all, so a new dialogue that
waits for something is cancellable by adding one line."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

_WAITS: set[str] = set()


def cancellable(*keys: str) -> None:
    """`user_data` keys holding something in progress that /cancel should end."""
    _WAITS.update(keys)


def forget_waits(user_data: MutableMapping[str, Any] | None) -> bool:
    """Drop every registered wait; True when something was in progress."""
    if not user_data:
        return False
    return bool([key for key in list(_WAITS) if user_data.pop(key, None) is not None])
