"""The outcome sheets of an export: the program's outcome figures as /dashboard shows
them (`outcomes`, one row per figure) and what they are counted from (`outcomes_by_mentee`,
one row per mentee a follow-up reached, with their latest answer). `storage.outcomes`
holds the counting rules; both sheets are empty while no match of the program has closed.
Their guide entries travel with the tables (`ExportTable.about` and `notes`)."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.closure_schedule import FOLLOWUP_INSTRUMENT
from storage.export_answers import Labels
from storage.export_table import Cell, ExportTable, Stamp, timed
from storage.metrics import Rate
from storage.models import Program
from storage.outcomes import (
    EMPLOYMENT_KEY,
    MenteeOutcome,
    Outcomes,
    mentee_outcomes,
    program_outcomes,
)

FIGURE_COLUMNS = ["figure", "figure_label", "value", "out_of", "share"]
MENTEE_COLUMNS = [
    "mentee_id",
    "name",
    "followups_reached",
    "followups_answered",
    "match_id",
    *timed("started_at", "closed_at"),
    "period",
    *timed("answered_at"),
    "employment",
    "employment_label",
    "employment_started_on",
    "days_to_employment",
]


def _share(rate: Rate) -> list[Cell]:
    return [rate.answered, rate.reached, rate.value]


def figure_rows(outcomes: Outcomes, labels: Labels) -> list[list[Cell]]:
    """The figures that have something behind them, as the dashboard shows them."""
    tr = labels.tr
    if not outcomes.closed_matches:
        return []
    rows: list[list[Cell]] = [
        ["closed_matches", tr.gettext("Matches closed"), outcomes.closed_matches, None, None]
    ]
    if outcomes.followups.reached:
        label = tr.gettext("Mentees who answered a follow-up, of those one reached")
        rows.append(["followups_answered", label, *_share(outcomes.followups)])
    if respondents := outcomes.respondents:
        exits = (
            ("exits_to_employment", tr.gettext("Exits to employment"), outcomes.employed),
            (
                "exits_to_employment_in_field",
                tr.gettext("Exits to employment in their field"),
                outcomes.employed_in_field,
            ),
            ("exits_to_school", tr.gettext("Exits to school"), outcomes.studying),
        )
        rows += [
            [key, label, count, respondents, count / respondents] for key, label, count in exits
        ]
    if outcomes.median_days is not None:
        label = tr.gettext("Median days from the match's start to employment")
        rows.append(
            ["median_days_to_employment", label, outcomes.median_days, outcomes.timed, None]
        )
    if outcomes.closure_surveys.reached:
        label = tr.gettext("Closure surveys answered, of those that reached people")
        rows.append(["closure_surveys_answered", label, *_share(outcomes.closure_surveys)])
    return rows


def _mentee_row(row: MenteeOutcome, labels: Labels, stamp: Stamp) -> list[Cell]:
    question = labels.question(FOLLOWUP_INSTRUMENT, EMPLOYMENT_KEY)
    return [
        row.person_id,
        row.name,
        row.reached,
        row.answered,
        row.match_id,
        *stamp(row.match_started_at),
        *stamp(row.match_closed_at),
        row.period,
        *stamp(row.answered_at),
        row.employment,
        labels.label(question, row.employment) if row.employment else None,
        row.started,
        row.days_to_employment,
    ]


async def outcome_tables(
    session: AsyncSession, program: Program, labels: Labels, stamp: Stamp
) -> dict[str, ExportTable]:
    """The two outcome sheets, with their guide entries in the export's language."""
    tr = labels.tr
    figures = ExportTable(
        FIGURE_COLUMNS,
        figure_rows(await program_outcomes(session, program), labels),
        about=tr.gettext(
            "The program's outcomes as /dashboard shows them, one row per figure; empty "
            "while no match has closed. Exits count each mentee's latest follow-up answer."
        ),
        notes={
            "figure": tr.gettext("The figure's key."),
            "figure_label": tr.gettext("The figure, in words."),
            "value": tr.gettext("How many (for the median: days)."),
            "out_of": tr.gettext(
                "Out of how many: those reached, those who answered a follow-up, or (for "
                "the median) the exits to employment with a start date."
            ),
            "share": tr.gettext("value divided by out_of, between 0 and 1."),
        },
    )
    mentees = ExportTable(
        MENTEE_COLUMNS,
        [_mentee_row(row, labels, stamp) for row in await mentee_outcomes(session, program)],
        about=tr.gettext(
            "One row per mentee a follow-up reached after their match closed, with their "
            "latest follow-up answer (empty when they answered none)."
        ),
        notes={
            "followups_reached": tr.gettext("Follow-ups that reached the mentee."),
            "followups_answered": tr.gettext("Follow-ups the mentee answered."),
            "match_id": tr.gettext("The match the latest answer is about."),
            "period": tr.gettext("The follow-up answered last: m3 is 3 months after closure."),
            "employment": tr.gettext(
                "The latest answer: employed_field, employed_other, studying, looking or other."
            ),
            "employment_started_on": tr.gettext("The day the job or studies began."),
            "days_to_employment": tr.gettext(
                "Days from started_at (its date) to employment_started_on, for a job that "
                "began after the match did."
            ),
        },
    )
    return {"outcomes": figures, "outcomes_by_mentee": mentees}
