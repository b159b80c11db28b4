"""Each match's latest contact, kept as it is written: what /matches judges contact by.

A match's last contact is the latest of its start, its meetings logged (deleted ones left
out) and the contacts its partners reported in check-ins (storage.contacts). Judging it for
every open match on every view read each match's recent logs and contact answers: 64,000
answers and 48,000 logs for 10,000 matches, most of /matches' time. Instead the database
keeps one ``match_contact`` row per match, its latest meeting day and latest report,
recomputed whole from the match's rows by triggers whenever one of them changes, so it
cannot drift (the same approach as storage.week_figures; tests/test_standings.py checks
storage.standings, which reads these rows, against storage.health, which reads the logs
and answers themselves, on random programs). A contact reported, which can only move the
latest report on, is taken in as it is (`_reported`).

Triggers fire for each row on both databases: only contact answers, meeting logs, a
check-in moved to another match and a deleted one pass their WHEN, so a tap's rating and
the dispatcher's status changes cost nothing. The one exception is a deletion of prompts
on PostgreSQL, which fires once per statement: a purge deletes prompts by the hundred
thousand, and their answers go with them (a row trigger on an answer deleted by that
cascade can no longer find its match; the prompts' trigger recomputes the match instead).
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from storage.contacts import CONTACT_KEY, NO_CONTACT
from storage.triggers import Trigger, changed, create, drop, program_lock

REPORTED = f"a.question_key = '{CONTACT_KEY}' AND a.value NOT IN ('', '{NO_CONTACT}')"


def _refresh(matches: str) -> str:
    """Recompute the rows of the matches whose ids `matches` selects (a column named
    match_id) from their logs and answers; a match that no longer exists gets none."""
    return (
        "INSERT INTO match_contact (match_id, met_on, reported_at) SELECT m.id, "
        "(SELECT max(l.met_on) FROM meetinglog l"
        " WHERE l.match_id = m.id AND l.deleted_at IS NULL), "
        "(SELECT max(a.answered_at) FROM prompt q JOIN answer a ON a.prompt_id = q.id"
        f" WHERE q.match_id = m.id AND {REPORTED}) "
        f'FROM "match" m WHERE m.id IN (SELECT k.match_id FROM ({matches}) AS k) '
        "ON CONFLICT (match_id) DO UPDATE"
        " SET met_on = excluded.met_on, reported_at = excluded.reported_at"
    )


def _reported(answer: str) -> str:
    """A contact answer just inserted (`answer` is NEW), taken in without reading the
    match's other answers: its report can only move the match's latest one later, and a
    match with no row yet gets one, with its latest meeting. Recomputing from every
    answer of the match instead read them through the answer table, which the planner
    reads whole while its statistics say it is small (a table that was empty when last
    analysed, in a program's first week): 5 ms a contact at 2,000 answers, and every
    contact the dispatcher finds in the week's logs is one."""
    return (
        "INSERT INTO match_contact (match_id, met_on, reported_at) SELECT m.id, "
        "(SELECT max(l.met_on) FROM meetinglog l"
        " WHERE l.match_id = m.id AND l.deleted_at IS NULL), "
        f"{answer}.answered_at "
        f'FROM "match" m WHERE m.id IN ({_matches(answer)}) '
        "ON CONFLICT (match_id) DO UPDATE SET reported_at = CASE"
        " WHEN match_contact.reported_at IS NULL"
        " OR excluded.reported_at > match_contact.reported_at"
        " THEN excluded.reported_at ELSE match_contact.reported_at END"
    )


def _matches(*rows: str, source: str = "prompt") -> str:
    """The matches of `rows` (OLD or NEW): a log's own, or an answer's prompt's."""
    if source == "prompt":
        selects = [f"SELECT p.match_id FROM prompt p WHERE p.id = {row}.prompt_id" for row in rows]
    else:
        selects = [f"SELECT {row}.match_id AS match_id" for row in rows]
    return " UNION ".join(selects)


def triggers(dialect: str) -> list[Trigger]:
    """Every trigger that keeps `match_contact`, for "sqlite" or "postgresql". On
    PostgreSQL each first locks the programs it recomputes (storage.triggers.LOCK_CLASS,
    the weekly figures' lock): a recomputation sees the rows committed when it starts, so
    two transactions writing one match's contacts at once would each miss the other's."""
    postgresql = dialect == "postgresql"

    def keeping(matches: str, refresh: str | None = None) -> tuple[str, ...]:
        refresh = refresh or _refresh(matches)
        return (program_lock(matches), refresh) if postgresql else (refresh,)

    contact = f"'{CONTACT_KEY}'"
    reported = f"NEW.question_key = {contact} AND NEW.value NOT IN ('', '{NO_CONTACT}')"
    answer_columns = ["prompt_id", "question_key", "value", "answered_at"]
    answer_moved = changed("OLD", "NEW", answer_columns, dialect)
    log_moved = changed("OLD", "NEW", ["match_id", "met_on", "deleted_at"], dialect)
    result = [
        Trigger("contact_answer_insert", "answer", "INSERT", reported,
                keeping(_matches("NEW"), _reported("NEW"))),
        Trigger("contact_answer_update", "answer", "UPDATE",
                f"(OLD.question_key = {contact} OR NEW.question_key = {contact})"
                f" AND ({answer_moved})",
                keeping(_matches("OLD", "NEW"))),
        Trigger("contact_answer_delete", "answer", "DELETE", f"OLD.question_key = {contact}",
                keeping(_matches("OLD"))),
        Trigger("contact_prompt_update", "prompt", "UPDATE",
                changed("OLD", "NEW", ["match_id"], dialect),
                keeping(_matches("OLD", "NEW", source="row"))),
        Trigger("contact_log_insert", "meetinglog", "INSERT", None,
                keeping(_matches("NEW", source="row"))),
        Trigger("contact_log_update", "meetinglog", "UPDATE", log_moved,
                keeping(_matches("OLD", "NEW", source="row"))),
        Trigger("contact_log_delete", "meetinglog", "DELETE", None,
                keeping(_matches("OLD", source="row"))),
    ]  # fmt: skip
    # A deleted check-in's answers go with it, and their own triggers can no longer find
    # its match: the check-in's deletion recomputes the match. Every deletion, even of a
    # check-in never sent: one re-sent after an uncertain send may hold answers.
    if postgresql:
        gone = "SELECT DISTINCT o.match_id FROM old_rows o"
        result.append(
            Trigger("contact_prompt_delete", "prompt", "DELETE", None, keeping(gone),
                    "OLD TABLE AS old_rows")
        )  # fmt: skip
    else:
        result.append(
            Trigger("contact_prompt_delete", "prompt", "DELETE", None,
                    keeping(_matches("OLD", source="row")))
        )  # fmt: skip
    return result


def install(connection: Connection) -> None:
    """Create the triggers (on a schema that has the table and none of them)."""
    create(connection, triggers(connection.dialect.name))


def uninstall(connection: Connection) -> None:
    drop(connection, triggers(connection.dialect.name))


def refill(connection: Connection) -> None:
    """Compute every match's row from the rows already there (a migration's backfill)."""
    connection.exec_driver_sql("DELETE FROM match_contact")
    connection.exec_driver_sql(_refresh('SELECT id AS match_id FROM "match"'))
