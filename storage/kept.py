"""The rows the database keeps up to date by triggers, all together: the weekly figures
(storage.week_figures) and each match's last contact (storage.last_contact).

A schema built from the models (tests, `create_all`) gets the triggers as the migrations
install them (storage.models calls `install` after creating the tables); a bulk load turns
them off, loads, then refills and installs them again, which is faster than a trigger per
row (bench/oversight.py).
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from storage import last_contact, week_figures

KEEPERS = (week_figures, last_contact)


def install(connection: Connection) -> None:
    for keeper in KEEPERS:
        keeper.install(connection)


def uninstall(connection: Connection) -> None:
    for keeper in KEEPERS:
        keeper.uninstall(connection)


def refill(connection: Connection) -> None:
    """Compute every kept row from the rows already there (before `install`)."""
    for keeper in KEEPERS:
        keeper.refill(connection)
