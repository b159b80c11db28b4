"""The column guide inside every export (the "Columns" sheet, columns.csv): what each
sheet's rows are and what each column holds, in the program's language, so a coordinator
needs no other document to read the file."""

from __future__ import annotations

from storage.export_answers import LABEL_SUFFIX, Gettext
from storage.export_table import UTC_SUFFIX, ExportTable

GUIDE = "columns"


def _sheets(tr: Gettext) -> dict[str, str]:
    return {
        "participants": tr.gettext("One row per person and role in the program."),
        "matches": tr.gettext("One row per mentor–mentee match."),
        "checkin_answers": tr.gettext(
            "Answers to the weekly check-ins and monthly pulses, one row per answer."
        ),
        "meeting_logs": tr.gettext("One row per meeting logged (deleted logs are left out)."),
        "reflections": tr.gettext("Answers to the reflection prompts, one row per answer."),
        "closure_followup_answers": tr.gettext(
            "Answers to the closure and follow-up surveys, one row per answer."
        ),
        "goals": tr.gettext("The mentees' goals, one row per goal."),
        "flags": tr.gettext("The alerts raised on matches, one row per alert."),
        "audit_events": tr.gettext(
            "Who did what (coordinator actions, exports, erasures), one row per event."
        ),
    }


def _columns(tr: Gettext) -> dict[str, str]:
    """What a column holds, by name, wherever it appears (`_specific` overrides)."""
    return {
        "person_id": tr.gettext("Tandem's number for the person."),
        "name": tr.gettext("The person's name."),
        "username": tr.gettext("The person's Telegram username."),
        "role": tr.gettext("mentee, mentor or coordinator."),
        "locale": tr.gettext("The language the person chose (en or fr)."),
        "timezone": tr.gettext("The person's own time zone, when they set one."),
        "checkin_slot": tr.gettext("Day and time of the weekly check-in (Mon 09:00)."),
        "paused_until": tr.gettext("Check-ins are paused until this date."),
        "field": tr.gettext("Field or sector, from the person's profile."),
        "goals": tr.gettext("Goals written when joining."),
        "can_help_with": tr.gettext("What the mentor can help with."),
        "experience_years": tr.gettext("Years of experience."),
        "joined_at": tr.gettext("When the person joined the program."),
        "onboarding_completed_at": tr.gettext("When the person finished joining."),
        "consent_at": tr.gettext("When the person gave their consent."),
        "consent_version": tr.gettext("Version of the consent text they accepted."),
        "match_id": tr.gettext("Tandem's number for the match."),
        "mentor_id": tr.gettext("Tandem's number for the mentor."),
        "mentor_name": tr.gettext("The mentor's name."),
        "mentee_id": tr.gettext("Tandem's number for the mentee."),
        "mentee_name": tr.gettext("The mentee's name."),
        "started_at": tr.gettext("When the match started."),
        "planned_end": tr.gettext("The date the match is planned to end."),
        "closed_at": tr.gettext("When the match was closed."),
        "closure_reason": tr.gettext("Why the match was closed."),
        "answer_id": tr.gettext("Tandem's number for the answer."),
        "prompt_id": tr.gettext("Tandem's number for the questionnaire sent."),
        "program": tr.gettext("The program's name."),
        "kind": tr.gettext("checkin, reflection, closure or followup."),
        "instrument": tr.gettext("Which questionnaire (its sheet has the same name)."),
        "period": tr.gettext("The week the questionnaire is for (2026-W47)."),
        "due_at": tr.gettext("When the questionnaire was due to be sent."),
        "sent_at": tr.gettext("When it was sent."),
        "question_key": tr.gettext("The question's key: its column in the questionnaire's sheet."),
        "question_label": tr.gettext("The question, in a few words."),
        "value": tr.gettext(
            "The answer: a number for a rating or a number, the key of the option "
            "chosen, or the text typed."
        ),
        "value_label": tr.gettext("The option chosen, in words (empty for numbers and text)."),
        "answered_at": tr.gettext("When it was answered."),
        "log_id": tr.gettext("Tandem's number for the meeting log."),
        "author_id": tr.gettext("Tandem's number for the person who logged it."),
        "author_name": tr.gettext("The name of the person who logged it."),
        "met_on": tr.gettext("The date of the meeting."),
        "minutes": tr.gettext("How long the meeting lasted, in minutes."),
        "mode": tr.gettext("How they met: in_person, video, phone or messages."),
        "mode_label": tr.gettext("How they met, in words."),
        "topics": tr.gettext("The topics talked about (keys), comma-separated."),
        "notes": tr.gettext("Notes written with the log."),
        "source": tr.gettext("How it was logged: in one message (quick) or step by step."),
        "created_at": tr.gettext("When it was written."),
        "updated_at": tr.gettext("When it was last changed."),
        "goal_id": tr.gettext("Tandem's number for the goal."),
        "text": tr.gettext("The goal, in the mentee's words."),
        "position": tr.gettext("Its place in the mentee's list."),
        "achieved_at": tr.gettext("When the goal was marked achieved."),
        "flag_id": tr.gettext("Tandem's number for the alert."),
        "rule": tr.gettext("The rule that raised it (low_rating, missed_checkins…)."),
        "severity": tr.gettext("How serious it is."),
        "opened_at": tr.gettext("When the alert was raised."),
        "snoozed_until": tr.gettext("Snoozed until then."),
        "handled_by_id": tr.gettext("Tandem's number for the coordinator who handled it."),
        "handled_by_name": tr.gettext("The name of the coordinator who handled it."),
        "handled_at": tr.gettext("When it was handled."),
        "note": tr.gettext("The coordinator's note."),
        "evidence": tr.gettext("What raised it (JSON)."),
        "event_id": tr.gettext("Tandem's number for the event."),
        "at": tr.gettext("When it happened."),
        "actor_id": tr.gettext("Tandem's number for the person who acted, if any."),
        "actor_label": tr.gettext("Who acted (coordinator, cli, admin…)."),
        "action": tr.gettext("What was done."),
        "subject": tr.gettext("What it was done to (match:12, person:3…)."),
        "detail": tr.gettext("Details (JSON)."),
    }


def _specific(tr: Gettext) -> dict[tuple[str, str], str]:
    return {
        ("participants", "status"): tr.gettext(
            "onboarding, active, paused, unreachable, closed or erased."
        ),
        ("matches", "status"): tr.gettext("active, paused, closing or closed."),
        ("goals", "status"): tr.gettext("open, achieved or dropped."),
        ("goals", "created_at"): tr.gettext("When the goal was written."),
        ("flags", "status"): tr.gettext("open, acknowledged, snoozed or resolved."),
    }


def _note(
    tr: Gettext,
    table_name: str,
    table: ExportTable,
    column: str,
    known: dict[str, str],
    specific: dict[tuple[str, str], str],
) -> str:
    if column in table.notes:
        return table.notes[column]
    if (table_name, column) in specific:
        return specific[(table_name, column)]
    if column in known:
        return known[column]
    if column.endswith(UTC_SUFFIX):
        return tr.gettext("The same moment as {column}, in UTC (ISO 8601).").format(
            column=column.removesuffix(UTC_SUFFIX)
        )
    if column.endswith(LABEL_SUFFIX):
        return tr.gettext("{column} in words.").format(column=column.removesuffix(LABEL_SUFFIX))
    return ""


def guide_table(
    tables: dict[str, ExportTable], tr: Gettext, *, program: str, zone: str
) -> ExportTable:
    """The guide: a few lines about the whole file, then each sheet's row description
    followed by one line per column."""
    sheets, known, specific = _sheets(tr), _columns(tr), _specific(tr)
    rows: list[list[str | None]] = [
        [None, None, tr.gettext("The data of the program {program}.").format(program=program)],
        [
            None,
            None,
            tr.gettext(
                "Dates and times are in the program's time zone ({zone}); the column "
                "beside each, ending in _utc, gives the same moment in UTC."
            ).format(zone=zone),
        ],
        [
            None,
            None,
            tr.gettext(
                "Ratings and numbers are numbers. An option chosen keeps its key, and the "
                "column beside it, ending in _label, gives it in words."
            ),
        ],
        [
            None,
            None,
            tr.gettext(
                "Each questionnaire has its own sheet, one row per questionnaire sent or "
                "answered and one column per question; the sheets ending in _answers and "
                "the reflections sheet have one row per answer."
            ),
        ],
    ]
    for name, table in tables.items():
        rows.append([name, None, table.about or sheets.get(name, "")])
        rows += [
            [name, column, _note(tr, name, table, column, known, specific)]
            for column in table.columns
        ]
    return ExportTable(
        [tr.gettext("Sheet"), tr.gettext("Column"), tr.gettext("What it holds")],
        [list(row) for row in rows],
        title=tr.gettext("Columns"),
    )
