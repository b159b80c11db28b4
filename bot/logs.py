"""Logging that never shows the bot token or what participants write."""

from __future__ import annotations

import logging


class RedactToken(logging.Filter):
    """Replaces the bot token wherever it appears (URLs logged by the HTTP client)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token and self.token in message:
            record.msg = message.replace(self.token, "<token>")
            record.args = None
        return True


def configure_logging(level: str, token: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactToken(token))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet_libraries()


# Below these levels the libraries log what participants write or the token, whatever
# level Tandem runs at: the HTTP client logs every request URL (which holds the token),
# PTB logs every Bot API call with its text and every update, aiosqlite every statement
# with its parameters, SQLAlchemy's engine (echo) the same.
LIBRARY_LEVELS = {
    "httpx": logging.WARNING,
    "apscheduler": logging.WARNING,
    "telegram": logging.INFO,
    "aiosqlite": logging.INFO,
    "sqlalchemy.engine": logging.WARNING,
}


def quiet_libraries() -> None:
    for name, level in LIBRARY_LEVELS.items():
        logging.getLogger(name).setLevel(level)
