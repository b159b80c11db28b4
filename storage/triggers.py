"""Database triggers written once for both databases: what storage.week_figures and
storage.last_contact keep up to date as rows are written, whatever code writes them.

SQLite's triggers fire for each row, with a WHEN that passes by the rows that change
nothing kept. PostgreSQL's fire once per statement over its transition tables, so a
statement over many rows (the dispatcher's batches, a purge) recomputes once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Connection

# pg_advisory_xact_lock's first key for a program's kept figures (the dispatcher's lock
# has one 64-bit key: the two kinds of keys never meet). Every recomputation of a
# program's kept rows takes it, so two transactions never recompute from each other's
# uncommitted rows.
LOCK_CLASS = 0x5746  # "WF"


@dataclass(frozen=True)
class Trigger:
    name: str
    table: str
    event: str  # INSERT, UPDATE or DELETE
    when: str | None
    statements: tuple[str, ...]
    transition: str | None = None  # PostgreSQL: fires once per statement, over these tables


def differs(old: str, new: str, dialect: str) -> str:
    return f"{old} IS DISTINCT FROM {new}" if dialect == "postgresql" else f"{old} IS NOT {new}"


def changed(old: str, new: str, columns: Sequence[str], dialect: str) -> str:
    """SQL: whether any of `columns` differs between the rows `old` and `new`."""
    return " OR ".join(differs(f"{old}.{name}", f"{new}.{name}", dialect) for name in columns)


BY_KEY = "SET enable_seqscan = off"
"""PostgreSQL: how every function of the kept rows is declared. Each reads a few rows by
key (a match's check-ins, their answers, its logs), through indexes whatever the table
holds. A function's plans are made once per connection, from the statistics of that
moment: made while the answer table was empty, as it is in a program's first week, they
read it whole for every check-in (60 scans of 2,000 answers, 14 of a batch's 20 ms, until
autovacuum analysed it). With sequential scans priced out, the plan is the index one
whatever the statistics say."""


def program_lock(matches: str) -> str:
    """PL/pgSQL: lock, in order, the programs of the matches whose ids `matches` selects
    (a column named match_id), until the transaction ends."""
    return (
        f"PERFORM pg_advisory_xact_lock({LOCK_CLASS}, locked.program_id) FROM"
        f' (SELECT DISTINCT m.program_id FROM ({matches}) AS k JOIN "match" m'
        " ON m.id = k.match_id) AS locked ORDER BY locked.program_id"
    )


def _create(trigger: Trigger, dialect: str) -> list[str]:
    when = f" WHEN ({trigger.when})" if trigger.when else ""
    head = f"CREATE TRIGGER {trigger.name} AFTER {trigger.event} ON {trigger.table}"
    body = "".join(f"{statement}; " for statement in trigger.statements)
    if dialect != "postgresql":
        return [f"{head} FOR EACH ROW{when} BEGIN {body}END"]
    each = "ROW" if trigger.transition is None else "STATEMENT"
    referencing = f" REFERENCING {trigger.transition}" if trigger.transition else ""
    return [
        f"CREATE OR REPLACE FUNCTION {trigger.name}() RETURNS trigger LANGUAGE plpgsql"
        f" {BY_KEY} AS $$ BEGIN {body}RETURN NULL; END $$",
        f"{head}{referencing} FOR EACH {each}{when} EXECUTE FUNCTION {trigger.name}()",
    ]


def create(connection: Connection, triggers: Sequence[Trigger]) -> None:
    dialect = connection.dialect.name
    for trigger in triggers:
        for statement in _create(trigger, dialect):
            connection.exec_driver_sql(statement)


def drop(connection: Connection, triggers: Sequence[Trigger]) -> None:
    for trigger in triggers:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger.name} ON {trigger.table}")
            connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {trigger.name}()")
        else:
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger.name}")
