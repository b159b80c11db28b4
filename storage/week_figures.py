"""Weekly figures kept as they are written: what /report charts, read in one short query.

Summing a program's check-ins, answers and meeting logs on every view read each of them
(520,000 check-ins and their answers for 10,000 matches over 26 weeks, seconds). Instead
the database keeps two small tables up to date with triggers, in the transaction that
writes a check-in's status, an answer or a meeting log, whatever code writes it (the
dispatcher's bulk updates, an answer, an edit, a deletion, an erasure's cascade):

- ``match_week``: one match's figures for one ISO week, recomputed whole from its rows
  (two check-ins, their answers, the week's logs) each time one of them changes, so it
  cannot drift. One change is taken in as it is, on SQLite: a check-in whose status alone
  changed (the dispatcher marks thousands sent) moves two counts by one (`_status_moved`).
- ``program_week``: the program's sums of those rows, moved by the difference between a
  ``match_week`` row's old and new contribution (on PostgreSQL once per statement, summed
  by program and week: `_add_all`). A match's contact is its logged minutes,
  or its mentor's estimate in a week with no log, so the sum is only right per match first.

The figures are storage.metrics' definitions (tests/test_week_figures.py checks them
against those queries on random programs); changing a definition means installing the
triggers again and refilling the tables in a migration (`install`, `refill`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Connection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.metrics import DURATION_MINUTES, RATING_KEYS, RATING_VALUES, REACHED, Rate
from storage.models import ProgramWeek, PromptKind, PromptStatus
from storage.triggers import BY_KEY, Trigger, changed, create, drop, program_lock


def _strings(values: Sequence[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


CHECKIN = f"'{PromptKind.CHECKIN.value}'"
REACHED_SQL = _strings([status.value for status in REACHED])
ANSWERED_SQL = f"'{PromptStatus.ANSWERED.value}'"
RATINGS_SQL = _strings(RATING_VALUES)
FIGURE_KEYS = _strings([*RATING_KEYS.values(), "duration"])  # the answers a figure reads
ESTIMATE = (
    "CASE a.value "
    + " ".join(f"WHEN '{value}' THEN {minutes}" for value, minutes in DURATION_MINUTES.items())
    + " ELSE 0 END"
)
FIGURES = (
    "reached",
    "answered",
    "mentee_total",
    "mentee_ratings",
    "mentor_total",
    "mentor_ratings",
)


def _iso_week(day: str, dialect: str) -> str:
    """SQL for the ISO week of a date column, as storage.schedule.period_key writes it
    ('2026-W47'). SQLite before 3.46 has no %G/%V: the week is that of its Thursday."""
    if dialect == "postgresql":
        return f"to_char({day}, 'IYYY-\"W\"IW')"
    thursday = f"date({day}, '-3 days', 'weekday 4')"
    return (
        f"printf('%s-W%02d', strftime('%Y', {thursday}),"
        f" (CAST(strftime('%j', {thursday}) AS INTEGER) - 1) / 7 + 1)"
    )


def _week_days(period: str, dialect: str) -> tuple[str, str]:
    """SQL for the Monday and the Sunday of an ISO week ('2026-W47'): ISO week 1 is the
    one with January 4th."""
    if dialect == "postgresql":  # to_date raises on a period that is not a week
        monday = (
            f"CASE WHEN {period} ~ '^[0-9]{{4}}-W[0-9]{{2}}$'"
            f" THEN to_date({period}, 'IYYY-\"W\"IW') END"
        )
        return monday, f"({monday} + 6)"
    weeks = f"((CAST(substr({period}, 7) AS INTEGER) - 1) * 7)"
    monday = f"date(substr({period}, 1, 4) || '-01-04', '-6 days', 'weekday 1', '+' || {weeks} || ' days')"  # noqa: E501
    return monday, f"date({monday}, '+6 days')"


def _refresh(keys: str, dialect: str) -> str:
    """Recompute the `match_week` rows of the (match_id, period) pairs `keys` selects, from
    the rows themselves, in one pass over the week's two check-ins and their answers; a
    match that no longer exists gets none."""
    mentor, mentee = "q.person_id = m.mentor_id", "q.person_id <> m.mentor_id"

    def rating(role: str, who: str) -> tuple[str, str]:
        rated = f"{who} AND a.question_key = '{RATING_KEYS[role]}' AND a.value IN ({RATINGS_SQL})"
        total = f"coalesce(sum(CASE WHEN {rated} THEN CAST(a.value AS INTEGER) END), 0)"
        return total, f"count(CASE WHEN {rated} THEN 1 END)"

    monday, sunday = _week_days("k.period", dialect)
    logs = (
        "FROM meetinglog l WHERE l.match_id = m.id AND l.deleted_at IS NULL"
        f" AND l.met_on >= {monday} AND l.met_on <= {sunday}"
    )
    mentee_total, mentee_ratings = rating("mentee", mentee)
    mentor_total, mentor_ratings = rating("mentor", mentor)
    values = {
        "reached": f"count(DISTINCT CASE WHEN q.status IN ({REACHED_SQL}) THEN q.id END)",
        "answered": f"count(DISTINCT CASE WHEN q.status = {ANSWERED_SQL} THEN q.id END)",
        "mentee_total": mentee_total,
        "mentee_ratings": mentee_ratings,
        "mentor_total": mentor_total,
        "mentor_ratings": mentor_ratings,
        "logs": f"(SELECT count(*) {logs})",
        "logged_minutes": f"(SELECT coalesce(sum(l.minutes), 0) {logs})",
        "estimated_minutes": (
            f"coalesce(sum(CASE WHEN {mentor} AND a.question_key = 'duration'"
            f" THEN {ESTIMATE} END), 0)"
        ),
    }
    names = ", ".join(values)
    updates = ", ".join(f"{name} = excluded.{name}" for name in values)
    # Without statistics SQLite would rather read the week's check-ins of every match.
    by_match = "" if dialect == "postgresql" else " INDEXED BY ix_prompt_match_period"
    return (
        f"INSERT INTO match_week (match_id, period, program_id, {names}) "
        f"SELECT m.id, k.period, m.program_id, {', '.join(values.values())} "
        f'FROM ({keys}) AS k JOIN "match" m ON m.id = k.match_id '
        f"LEFT JOIN prompt q{by_match} ON q.match_id = m.id AND q.kind = {CHECKIN}"
        " AND q.period = k.period "
        f"LEFT JOIN answer a ON a.prompt_id = q.id AND a.question_key IN ({FIGURE_KEYS}) "
        "WHERE k.period IS NOT NULL GROUP BY m.id, k.period, m.program_id, m.mentor_id "
        f"ON CONFLICT (match_id, period) DO UPDATE SET {updates}"
    )


PROMPT_KEYS = ("match_id", "period", "kind", "person_id")  # which week and whose check-in


def _status_moved() -> str:
    """SQLite, a check-in whose status alone changed (sent, answered): its week's
    `reached` and `answered` move by one each way, and nothing else reads the status, so
    the week is not recomputed (that cost a batch's record three quarters of its time).
    A week without its row has counted nothing yet: every write that counts something
    recomputes the week, which creates the row. So the row starts from this change."""
    counts = {
        "reached": f"(NEW.status IN ({REACHED_SQL})) - (OLD.status IN ({REACHED_SQL}))",
        "answered": f"(NEW.status = {ANSWERED_SQL}) - (OLD.status = {ANSWERED_SQL})",
    }
    rest = [name for name in (*FIGURES, "logs", "logged_minutes", "estimated_minutes")
            if name not in counts]  # fmt: skip
    names = ", ".join([*counts, *rest])
    values = ", ".join([*counts.values(), *("0" for _ in rest)])
    moved = ", ".join(f"{name} = match_week.{name} + excluded.{name}" for name in counts)
    return (
        f"INSERT INTO match_week (match_id, period, program_id, {names}) "
        f'SELECT m.id, NEW.period, m.program_id, {values} FROM "match" m '
        f"WHERE m.id = NEW.match_id AND NEW.kind = {CHECKIN} "
        f"ON CONFLICT (match_id, period) DO UPDATE SET {moved}"
    )


def _contribution(row: str) -> list[str]:
    """What a `match_week` row adds to its program's week, column by column."""
    contact = f"CASE WHEN {row}.logs > 0 THEN {row}.logged_minutes ELSE {row}.estimated_minutes END"
    return [f"{row}.{name}" for name in FIGURES] + [contact]


def _add(row: str, minus: str | None = None) -> str:
    """Add `row`'s contribution (less `minus`'s) to its `program_week` row."""
    names = [*FIGURES, "contact_minutes"]
    added = _contribution(row)
    if minus is not None:
        added = [f"({new}) - ({old})" for new, old in zip(added, _contribution(minus), strict=True)]
    updates = ", ".join(f"{name} = program_week.{name} + excluded.{name}" for name in names)
    return (
        f"INSERT INTO program_week (program_id, period, {', '.join(names)}) "
        f"VALUES ({row}.program_id, {row}.period, {', '.join(added)}) "
        f"ON CONFLICT (program_id, period) DO UPDATE SET {updates}"
    )


def _add_all(*sides: tuple[str, str, str]) -> str:
    """PostgreSQL, once per statement: add to each program's week what the statement's
    `match_week` rows changed, summed by program and week. `sides` are (alias, transition
    table, sign): the rows written counted in, the rows replaced or deleted counted out.
    A batch recomputes a hundred matches of one program's week; one row per match would
    update that week's `program_week` row a hundred times, each a new version of it to
    walk past until it is vacuumed (136 µs a match at 100,000 participants, against 23 at
    10,000). A program being deleted has no row left to take from, hence the join."""
    names = [*FIGURES, "contact_minutes"]

    def side(alias: str, table: str, sign: str) -> str:
        values = zip(names, _contribution(alias), strict=True)
        columns = ", ".join(f"{sign}({value}) AS {name}" for name, value in values)
        return f"SELECT {alias}.program_id, {alias}.period, {columns} FROM {table} {alias}"

    parts = " UNION ALL ".join(side(*entry) for entry in sides)
    sums = ", ".join(f"sum(d.{name})" for name in names)
    updates = ", ".join(f"{name} = program_week.{name} + excluded.{name}" for name in names)
    return (
        f"INSERT INTO program_week (program_id, period, {', '.join(names)}) "
        f"SELECT d.program_id, d.period, {sums} FROM ({parts}) AS d "
        "JOIN program p ON p.id = d.program_id "
        "GROUP BY d.program_id, d.period ORDER BY d.program_id, d.period "
        f"ON CONFLICT (program_id, period) DO UPDATE SET {updates}"
    )


def _subtract(row: str) -> str:
    """Take `row`'s contribution off its program's week (an UPDATE: when the program is
    being deleted, there is nothing to take it from)."""
    names = [*FIGURES, "contact_minutes"]
    updates = ", ".join(
        f"{name} = {name} - ({value})"
        for name, value in zip(names, _contribution(row), strict=True)
    )
    return (
        f"UPDATE program_week SET {updates} "
        f"WHERE program_id = {row}.program_id AND period = {row}.period"
    )


def triggers(dialect: str) -> list[Trigger]:
    """Every trigger that keeps the weekly figures, for "sqlite" or "postgresql".

    SQLite's fire for each row written, with a WHEN that passes by the rows that change no
    figure. PostgreSQL's fire once per statement and read the statement's rows from its
    transition tables: one recomputation of all the weeks a statement touched (the
    dispatcher marks 100 check-ins sent at a time) instead of one trigger function, lock
    and recomputation per row, which cost 0.4–0.8 ms a row there."""
    per_statement = dialect == "postgresql"
    pairs = "old_rows o JOIN new_rows n ON n.id = o.id"  # an UPDATE's rows, before and after

    def checkin(row: str, rows: str | None, condition: str = "TRUE") -> str:
        tables = f" FROM {rows}" if rows else ""
        return (
            f"SELECT {row}.match_id AS match_id, {row}.period AS period{tables}"
            f" WHERE {row}.kind = {CHECKIN} AND ({condition})"
        )

    def answered(row: str, rows: str | None, condition: str = "TRUE") -> str:
        tables = f"{rows} JOIN prompt p ON p.id = {row}.prompt_id" if rows else "prompt p"
        own = "" if rows else f"p.id = {row}.prompt_id AND "
        return (
            f"SELECT p.match_id AS match_id, p.period AS period FROM {tables} WHERE {own}"
            f"p.kind = {CHECKIN} AND {row}.question_key IN ({FIGURE_KEYS}) AND ({condition})"
        )

    def met(row: str, rows: str | None, condition: str = "TRUE") -> str:
        tables = f" FROM {rows}" if rows else ""
        week = _iso_week(f"{row}.met_on", dialect)
        return f"SELECT {row}.match_id AS match_id, {week} AS period{tables} WHERE ({condition})"

    def status_class(old: str, new: str) -> str:
        return (
            f"({old}.status IN ({REACHED_SQL})) <> ({new}.status IN ({REACHED_SQL}))"
            f" OR ({old}.status = {ANSWERED_SQL}) <> ({new}.status = {ANSWERED_SQL})"
        )

    def counted(row: str) -> str:
        """A check-in that counts in some figure. One inserted pending has no answers
        yet and adds nothing, so the week's materialisation passes the trigger by. (A
        deleted one may have answers, which cascade after it: deletes always refresh.)"""
        return f"{row}.status IN ({REACHED_SQL}) OR {row}.status = {ANSWERED_SQL}"

    def prompt_moved(old: str, new: str) -> str:
        return f"{status_class(old, new)} OR {changed(old, new, PROMPT_KEYS, dialect)}"

    def prompt_keys_moved(old: str, new: str) -> str:
        return changed(old, new, PROMPT_KEYS, dialect)

    def answer_moved(old: str, new: str) -> str:
        return changed(old, new, ["prompt_id", "question_key", "value"], dialect)

    def log_moved(old: str, new: str) -> str:
        return changed(old, new, ["match_id", "met_on", "minutes", "deleted_at"], dialect)

    # SQLite: a check-in whose status alone changed moves its week's counts by one
    # (`_status_moved`); one that moved to another week or person recomputes both weeks.
    result = [] if per_statement else [
        Trigger("figures_prompt_status", "prompt", "UPDATE",
                f"NOT ({prompt_keys_moved('OLD', 'NEW')}) AND ({status_class('OLD', 'NEW')})",
                (_status_moved(),)),
    ]  # fmt: skip
    for table, keys, moved, inserted in (
        ("prompt", checkin, prompt_moved if per_statement else prompt_keys_moved, counted),
        ("answer", answered, answer_moved, None),
        ("meetinglog", met, log_moved, None),
    ):
        if per_statement:  # each week once: the recomputation joins its rows to the keys
            added = keys("n", "new_rows n", inserted("n") if inserted else "TRUE")
            new_keys = f"SELECT DISTINCT match_id, period FROM ({added}) AS d"
            both = f"{keys('o', pairs, moved('o', 'n'))} UNION {keys('n', pairs, moved('o', 'n'))}"
            gone = keys("o", "old_rows o")
            old_keys = f"SELECT DISTINCT match_id, period FROM ({gone}) AS d"
            result += [
                Trigger(f"figures_{table}_insert", table, "INSERT", None,
                        (_refresh_call(new_keys),), "NEW TABLE AS new_rows"),
                Trigger(f"figures_{table}_update", table, "UPDATE", None,
                        (_refresh_call(both),), "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
                Trigger(f"figures_{table}_delete", table, "DELETE", None,
                        (_refresh_call(old_keys),), "OLD TABLE AS old_rows"),
            ]  # fmt: skip
            continue
        moved_away = (  # the old week, when the row left it
            f"SELECT o.match_id, o.period FROM ({keys('OLD', None)}) AS o WHERE NOT EXISTS "
            f"(SELECT 1 FROM ({keys('NEW', None)}) AS n"
            " WHERE n.match_id = o.match_id AND n.period = o.period)"
        )
        result += [
            Trigger(
                f"figures_{table}_insert",
                table,
                "INSERT",
                inserted("NEW") if inserted else None,
                (_refresh(keys("NEW", None), dialect),),
            ),
            Trigger(
                f"figures_{table}_update",
                table,
                "UPDATE",
                moved("OLD", "NEW"),
                (_refresh(moved_away, dialect), _refresh(keys("NEW", None), dialect)),
            ),
            Trigger(
                f"figures_{table}_delete",
                table,
                "DELETE",
                None,
                (_refresh(keys("OLD", None), dialect),),
            ),
        ]
    if per_statement:  # a program's weeks once per statement (`_add_all`)
        return [
            *result,
            Trigger("figures_match_week_insert", "match_week", "INSERT", None,
                    (_add_all(("n", "new_rows", "")),), "NEW TABLE AS new_rows"),
            Trigger("figures_match_week_update", "match_week", "UPDATE", None,
                    (_add_all(("n", "new_rows", ""), ("o", "old_rows", "-")),),
                    "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            Trigger("figures_match_week_delete", "match_week", "DELETE", None,
                    (_add_all(("o", "old_rows", "-")),), "OLD TABLE AS old_rows"),
        ]  # fmt: skip
    return [
        *result,
        Trigger("figures_match_week_insert", "match_week", "INSERT", None, (_add("NEW"),)),
        Trigger("figures_match_week_update", "match_week", "UPDATE", None, (_add("NEW", "OLD"),)),
        Trigger("figures_match_week_delete", "match_week", "DELETE", None, (_subtract("OLD"),)),
    ]


REFRESH_WEEKS = "figures_refresh_weeks"
"""PostgreSQL: the function that locks and recomputes the weeks whose (match, period)
pairs it is given. A query that reads a statement's transition tables is planned again at
every call; this one reads its arguments, so PostgreSQL plans the recomputation once per
connection rather than once per statement (7 ms of the 10 a batch of 30 took)."""


def _refresh_call(keys: str) -> str:
    return (
        f"PERFORM {REFRESH_WEEKS}(array_agg(k.match_id), array_agg(k.period::text))"
        f" FROM ({keys}) AS k HAVING count(*) > 0"
    )


def _refresh_function() -> str:
    """`REFRESH_WEEKS`. It locks the programs of the weeks first, in order, until the
    transaction ends: each statement of a trigger function sees the rows committed when it
    starts, so two transactions that each wrote one answer of the same week, recomputing
    at once, would each miss the other's; once the lock is held, the recomputation sees
    what the one before committed. The program's lock, not the match's: a transaction
    over thousands of matches (a purge, a program's deletion) would otherwise hold a lock
    per match and run out of PostgreSQL's lock table (max_locks_per_transaction ×
    max_connections, 6,400 by default), and writers of one program's week already queue
    on its `program_week` row. (SQLite has one writer at a time, which reads the latest
    rows: its triggers take no lock.)"""
    keys = "SELECT * FROM unnest(match_ids, periods) AS u(match_id, period)"
    lock = program_lock(keys)
    return (
        f"CREATE OR REPLACE FUNCTION {REFRESH_WEEKS}(match_ids integer[], periods text[])"
        f" RETURNS void LANGUAGE plpgsql {BY_KEY}"
        f" AS $$ BEGIN {lock}; {_refresh(keys, 'postgresql')}; END $$"
    )


def install(connection: Connection) -> None:
    """Create the triggers (on a schema that has the tables and none of them)."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.exec_driver_sql(_refresh_function())
    create(connection, triggers(dialect))


def uninstall(connection: Connection) -> None:
    dialect = connection.dialect.name
    drop(connection, triggers(dialect))
    if dialect == "postgresql":
        connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {REFRESH_WEEKS}(integer[], text[])")


def refill(connection: Connection) -> None:
    """Compute every match's weeks from the rows already there, then their sums by program
    (a migration's backfill, before `install`: a trigger per row would be slower)."""
    dialect = connection.dialect.name
    connection.exec_driver_sql("DELETE FROM program_week")
    connection.exec_driver_sql("DELETE FROM match_week")
    keys = (
        f"SELECT match_id, period FROM prompt WHERE kind = {CHECKIN} UNION "
        f"SELECT match_id, {_iso_week('met_on', dialect)} FROM meetinglog"
    )
    connection.exec_driver_sql(_refresh(keys, dialect))
    connection.exec_driver_sql("DELETE FROM program_week")  # what triggers may have added
    names = [*FIGURES, "contact_minutes"]
    sums = ", ".join(f"sum({value})" for value in _contribution("match_week"))
    connection.exec_driver_sql(
        f"INSERT INTO program_week (program_id, period, {', '.join(names)}) "
        f"SELECT program_id, period, {sums} FROM match_week GROUP BY program_id, period"
    )


@dataclass(frozen=True)
class WeekFigures:
    """A program's week as /report shows it."""

    rate: Rate
    mentee_rating: float | None
    mentor_rating: float | None
    contact_minutes: int


def _mean(total: int, count: int) -> float | None:
    return total / count if count else None


async def program_weeks(
    session: AsyncSession, program_id: int, periods: Sequence[str]
) -> dict[str, WeekFigures]:
    """The program's figures for each of `periods` (a week nothing happened in is
    absent): one row per week, read from `program_week`."""
    rows = await session.exec(
        select(ProgramWeek).where(
            ProgramWeek.program_id == program_id, col(ProgramWeek.period).in_(list(periods))
        )
    )
    return {
        row.period: WeekFigures(
            Rate(row.answered, row.reached),
            _mean(row.mentee_total, row.mentee_ratings),
            _mean(row.mentor_total, row.mentor_ratings),
            row.contact_minutes,
        )
        for row in rows.all()
    }
