"""A program's outcomes in words, the same on /dashboard, in the weekly digest and under
/report's chart: follow-ups answered, exits to employment and to school, the median time
to employment and closure surveys answered (`storage.outcomes` says how each is
counted). A program with no closed match gets no section at all, never zeros."""

from __future__ import annotations

from conversations.kit.charts import decimal
from conversations.kit.text import answered
from locales.translator import Translator
from storage.outcomes import Outcomes


def outcome_lines(tr: Translator, outcomes: Outcomes) -> list[str]:
    """The outcomes section (Telegram HTML): a heading and a line per figure that has
    something behind it; nothing at all while no match has closed."""
    if not outcomes.closed_matches:
        return []
    lines = [
        tr.ngettext(
            "<b>Outcomes</b> of {n} closed match:",
            "<b>Outcomes</b> of {n} closed matches:",
            outcomes.closed_matches,
        )
    ]
    if outcomes.followups.value is None:
        lines.append(tr.gettext("Follow-ups: none has reached a mentee yet."))
    else:
        lines.append(
            tr.gettext(
                "Follow-ups answered: {rate} of the mentees they reached.",
                rate=answered(tr, outcomes.followups),
            )
        )
    if outcomes.respondents:
        lines.append(
            tr.ngettext(
                "Exits to employment: {employed} of {n} who answered ({field} in their "
                "field); to school: {school}.",
                "Exits to employment: {employed} of {n} who answered ({field} in their "
                "field); to school: {school}.",
                outcomes.respondents,
                employed=tr.number(outcomes.employed),
                field=tr.number(outcomes.employed_in_field),
                school=tr.number(outcomes.studying),
            )
        )
    if outcomes.median_days is not None:
        lines.append(
            tr.ngettext(
                "Median time to employment: {days} days from the match's start ({n} person).",
                "Median time to employment: {days} days from the match's start ({n} people).",
                outcomes.timed,
                days=decimal(tr, outcomes.median_days),
            )
        )
    if outcomes.closure_surveys.value is not None:
        lines.append(
            tr.gettext(
                "Closure surveys answered: {rate}.", rate=answered(tr, outcomes.closure_surveys)
            )
        )
    return lines


def with_outcomes(tr: Translator, text: str, outcomes: Outcomes) -> str:
    """`text`, then the outcomes section after a blank line (nothing added while no match
    has closed): how /dashboard and /report show them below their own figures."""
    lines = outcome_lines(tr, outcomes)
    return "\n\n".join([text, "\n".join(lines)]) if lines else text
