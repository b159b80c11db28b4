"""Words several dialogues write the same way: clipped names, labels, durations, local
dates and figures, in the reader's language."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from conversations.kit.charts import decimal, percent
from locales.translator import N_, Html, Translator
from storage.flags import SEVERITY_ORDER, Rule, Severity
from storage.metrics import Rate
from storage.models import Match, Person, PersonStatus, Role
from storage.pairing import ERASED_NAME
from storage.programs import zone_or_none
from storage.summary import FlagCounts

NAME_CLIP = 40  # a name in a list


def telegram_length(text: str) -> int:
    """Characters as Telegram counts them against its limits: UTF-16 code units, so an
    emoji outside the Basic Multilingual Plane counts twice."""
    return len(text.encode("utf-16-le")) // 2


def clip(text: str, limit: int) -> str:
    """`text` on one line, cut to at most `limit` characters as Telegram counts them,
    an ellipsis marking the cut."""
    text = " ".join(text.split())
    if telegram_length(text) <= limit:
        return text
    kept, used = [], 0
    for char in text:
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit - 1:
            break
        kept.append(char)
    return "".join(kept) + "…"


def labelled(tr: Translator, label: Html, value: str) -> str:
    """`label: value`, with the colon as each language writes it."""
    # Translators: a label and its value, such as "Field: Accounting".
    return tr.gettext("{label}: {value}", label=label, value=value)


def quoted(tr: Translator, text: str) -> Html:
    """Someone's own words (escaped), quoted as the language quotes: “…”, « … »."""
    # Translators: someone's own words quoted, e.g. “I need help with my résumé”.
    return Html(tr.gettext("“{text}”", text=text))


def bold_labelled(tr: Translator, label: str, value: Html) -> str:
    """`<b>label:</b> value` (the value already HTML), the colon as each language
    writes it: never glue a translated label to ":" in code."""
    # Translators: a label in bold and its value, such as "<b>Field:</b> Accounting".
    return tr.gettext("<b>{label}:</b> {value}", label=label, value=value)


def local_day_text(tr: Translator, moment: datetime, zone_name: str | None) -> str:
    zone = zone_or_none(zone_name)
    return tr.date(moment.astimezone(zone).date() if zone else moment.date())


def duration_text(tr: Translator, minutes: int) -> str:
    """45 min, 1 h, 1 h 30 min (English) or 1 h 30 (French)."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return tr.gettext("{minutes} min", minutes=rest)
    if not rest:
        return tr.gettext("{hours} h", hours=hours)
    return tr.gettext("{hours} h {minutes} min", hours=hours, minutes=format(rest, "02d"))


async def partner_name(session: AsyncSession, tr: Translator, match: Match, person_id: int) -> str:
    mentoring = match.mentor_id == person_id
    partner = await session.get(Person, match.mentee_id if mentoring else match.mentor_id)
    if partner is not None and partner.name:
        return partner.name
    return tr.gettext("your mentee") if mentoring else tr.gettext("your mentor")


GROUP_HEADINGS = {  # people listed by role
    Role.COORDINATOR: N_("Coordinators"),
    Role.MENTOR: N_("Mentors"),
    Role.MENTEE: N_("Mentees"),
}

RULE_TITLES = {
    Rule.MISSED: N_("Missed check-ins"),
    Rule.NO_CONTACT: N_("No contact"),
    Rule.LOW_RATING: N_("Low rating"),
    Rule.RATING_DROP: N_("Sharp drop in a rating"),
    Rule.RATING_GAP: N_("Mentor and mentee disagree"),
    Rule.ASKED: N_("Asked for the coordinator"),
    Rule.CONCERN: N_("Concern reported"),
    Rule.SAFETY: N_("Worrying words in a message"),
    Rule.UNREACHABLE: N_("Unreachable"),
    Rule.BENCHMARK: N_("Less contact than expected"),
    Rule.END_REQUEST: N_("Asked to end the match"),
}


REMATCH_ICON = "🔁"


def rematch_mark(tr: Translator) -> str:
    """A mentee who asked at closure for a new match, as /pair and /people mark them."""
    return tr.gettext("🔁 asked for a new match")


def person_name(tr: Translator, person: Person | None) -> str:
    """A person as others read them: name, else @username, else #id; "Erased
    participant" in the reader's language once they are erased."""
    if person is None:
        return "?"
    if person.status == PersonStatus.ERASED:
        return tr.gettext(ERASED_NAME)
    if person.name and person.name.strip():
        return " ".join(person.name.split())[:60]
    return f"@{person.username}" if person.username else f"#{person.id}"


def member_name(tr: Translator, person: Person | None, limit: int = NAME_CLIP) -> str:
    """`person_name` clipped to `limit` (a list line, a button)."""
    return clip(person_name(tr, person), limit)


def answered(tr: Translator, rate: Rate) -> str:
    """'75% (6 of 8)', or that no check-in reached anyone."""
    if rate.value is None:
        return tr.gettext("no check-in reached anyone")
    return tr.gettext(
        "{rate} ({answered} of {reached})",
        rate=percent(tr, rate.value),
        answered=tr.number(rate.answered),
        reached=tr.number(rate.reached),
    )


def hours(tr: Translator, minutes: int) -> str:
    """Minutes as hours with at most one decimal: '17.5' / '17,5'."""
    return decimal(tr, minutes / 60)


def _severity_count(tr: Translator, severity: str, n: int) -> str:
    match severity:
        case Severity.URGENT:
            return tr.ngettext("{n} urgent", "{n} urgent", n)
        case Severity.HIGH:
            return tr.ngettext("{n} high", "{n} high", n)
        case Severity.MEDIUM:
            return tr.ngettext("{n} medium", "{n} medium", n)
        case _:
            return tr.ngettext("{n} low", "{n} low", n)


def flags_line(tr: Translator, flags: FlagCounts) -> str:
    """'Open flags: 4 (1 urgent, 2 high, 1 medium); 2 more snoozed.'"""
    if flags.total:
        severities = sorted(flags.by_severity, key=lambda s: SEVERITY_ORDER.get(s, 9))  # type: ignore[call-overload]
        line = tr.gettext(
            "Open flags: {total} ({severities}).",
            total=tr.number(flags.total),
            severities=", ".join(
                _severity_count(tr, severity, flags.by_severity[severity])
                for severity in severities
            ),
        )
    elif flags.snoozed:
        return tr.ngettext(
            "Open flags: none, apart from {n} snoozed.",
            "Open flags: none, apart from {n} snoozed.",
            flags.snoozed,
        )
    else:
        line = tr.gettext("Open flags: none.")
    if flags.snoozed:
        line += " " + tr.ngettext(
            "{n} more is snoozed.",
            "{n} more are snoozed.",
            flags.snoozed,
        )
    return line
