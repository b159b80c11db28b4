"""Words about a match's end that several dialogues write alike: the reasons a match ends
for, what an end request's alert says was decided, and what participants are told when a
coordinator ends their match or keeps it going."""

from __future__ import annotations

from collections.abc import Callable

from conversations.kit.buttons import Button
from conversations.kit.text import person_name
from locales.translator import N_, Translator
from storage.closure import EARLY_REASONS, ClosureReason, Decision
from storage.models import Person

REASON_LABELS = {
    ClosureReason.COMPLETED: N_("completed the program"),
    ClosureReason.GOALS_MET: N_("goals met"),
    ClosureReason.NO_TIME: N_("no time"),
    ClosureReason.NOT_A_GOOD_FIT: N_("not a good fit"),
    ClosureReason.MOVED_AWAY: N_("moved away"),
    ClosureReason.FOUND_EMPLOYMENT: N_("found employment"),
    ClosureReason.OTHER: N_("other"),
}
assert REASON_LABELS.keys() == set(ClosureReason), "every closure reason needs a label"


def reason_label(tr: Translator, reason: ClosureReason | str | None) -> str:
    if reason in REASON_LABELS:
        return tr.gettext(REASON_LABELS[ClosureReason(reason)])
    return tr.gettext(REASON_LABELS[ClosureReason.OTHER])


def reason_rows(tr: Translator, data: Callable[[ClosureReason], str]) -> list[list[Button]]:
    """The early reasons as buttons, two to a row."""
    buttons = [(reason_label(tr, reason).capitalize(), data(reason)) for reason in EARLY_REASONS]
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


def decision_line(
    tr: Translator, decision: Decision, reason: ClosureReason | None, by: Person | None
) -> str:
    """What was decided about an end request, and by whom, as its alert says it."""
    if decision == Decision.KEPT:
        return tr.gettext("▶️ Kept going by {name}.", name=person_name(tr, by))
    if by is None:
        return tr.gettext("🏁 The match ended: {reason}.", reason=reason_label(tr, reason))
    return tr.gettext(
        "🏁 Ended by {name}: {reason}.", name=person_name(tr, by), reason=reason_label(tr, reason)
    )


def told_ended(tr: Translator, partner: str) -> str:
    """A participant whose match a coordinator ended."""
    return tr.gettext(
        "Your coordinator has ended your match with {name}. Thank you for the time and "
        "care you gave it. In the next few days I'll send you a short end-of-mentorship "
        "survey: your answers help the program.",
        name=partner,
    )


def told_kept(tr: Translator, partner: str) -> str:
    """A participant who asked to end their match, which the coordinator keeps going."""
    return tr.gettext(
        "Your coordinator has looked at your request and decided to keep your match with "
        "{name} going for now. If something is still on your mind, tell them: they are "
        "there to help.",
        name=partner,
    )
