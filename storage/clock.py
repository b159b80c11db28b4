"""The current time, in UTC. Everything that needs "now" takes a `Clock` so tests control it."""

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)
