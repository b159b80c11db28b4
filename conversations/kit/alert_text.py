"""The words of a coordinator's alert about a flag: its title, the two people, the
evidence one fact per line, what has been done about it, and its four buttons. Sent by
`conversations.kit.alerting`, acted on in conversations/alerts.py, shown again in a match's
timeline (conversations/oversight/)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, tzinfo
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from conversations.kit.buttons import END, KEEP, Button, match_end, match_timeline
from conversations.kit.closure_text import decision_line
from conversations.kit.text import RULE_TITLES, clip, person_name, quoted
from locales.translator import N_, Html, Translator
from storage.closure import decision_of
from storage.flags import GOAL_PREFIX, Rule, Severity
from storage.models import Flag, FlagStatus, Goal, Person, Program, PromptKind
from storage.programs import zone_or_none
from storage.schedule import period_monday

PREFIX = "fl"
ACK, SNOOZE, RESOLVE, NO_NOTE = "ack", "snz", "res", "nonote"
# Of a resolve note, what an alert shows: with the evidence it stays within Telegram's
# 4,096 characters. The whole note is in /match and the exports.
NOTE_SHOWN = 600
GOAL_SHOWN = 80  # of a goal's text, what a rating's evidence line quotes
RULE_VALUES = frozenset(rule.value for rule in Rule)
QUESTION_LABELS = {
    "helpful": N_("How helpful"),
    "going": N_("How it's going"),
    "progress": N_("Progress"),
}
CONCERN_LABELS = {
    "reach": N_("Hard to reach"),
    "schedule": N_("Finding a time"),
    "beyond": N_("Needs support beyond my role"),
    "other": N_("Something else"),
}


def _week(tr: Translator, period: str | None) -> str:
    monday = period_monday(period or "")
    if monday is None:
        return period or "?"
    return tr.gettext("week of {date}", date=tr.date(monday, "long"))


def _rating_facts(tr: Translator, hit: dict[str, Any], people: People) -> dict[str, object]:
    """What a rating's evidence line says: who, which question (or which goal, by its
    text), the rating and the week."""
    key = str(hit.get("key", ""))
    facts: dict[str, object] = {
        "name": people.name(hit.get("person_id")),
        "value": hit.get("value"),
        "week": _week(tr, hit.get("period")),
    }
    goal = people.goal(key)
    if goal is None:
        facts["question"] = question_label(tr, key)
    else:
        facts["goal"] = goal
    return facts


def question_label(tr: Translator, key: str) -> str:
    if key in QUESTION_LABELS:
        return tr.gettext(QUESTION_LABELS[key])
    return tr.gettext("Progress on a goal")


class People:
    """The match's two people by id, and the mentee's goals the evidence rates (see
    `flag_goals`), for naming them in evidence."""

    def __init__(
        self,
        tr: Translator,
        mentor: Person | None,
        mentee: Person | None,
        goals: Mapping[int, str] | None = None,
    ) -> None:
        self.tr = tr
        self.by_id = {p.id: p for p in (mentor, mentee) if p is not None}
        self.goals = goals or {}

    def name(self, person_id: Any) -> str:
        return person_name(self.tr, self.by_id.get(person_id))

    def goal(self, key: str) -> str | None:
        """The text of the goal a question key (`goal_<id>`) asks about, if it exists."""
        number = key.removeprefix(GOAL_PREFIX)
        if key == number or not number.isdigit():
            return None
        text = self.goals.get(int(number))
        return None if text is None else clip(text, GOAL_SHOWN)


def _goal_ids(flags: Iterable[Flag]) -> set[int]:
    ids = set()
    for flag in flags:
        for hit in (flag.evidence or {}).get("answers", []):
            number = str(hit.get("key", "")).removeprefix(GOAL_PREFIX)
            if number != hit.get("key") and number.isdigit():
                ids.add(int(number))
    return ids


async def flag_goals(session: AsyncSession, flags: Iterable[Flag]) -> dict[int, str]:
    """The goals the flags' rating evidence is about, by id: an alert names the goal
    whose progress was rated low. Looked up when shown, so an erased goal is not named."""
    ids = _goal_ids(flags)
    if not ids:
        return {}
    goals = await session.exec(select(Goal).where(col(Goal.id).in_(ids)))
    return {goal.id: goal.text for goal in goals if goal.id is not None}


def evidence_lines(
    tr: Translator, flag: Flag, people: People, zone: tzinfo | None = None
) -> list[str]:
    """The flag's evidence, one line per fact, in the coordinator's language (Telegram
    HTML: the values in them are escaped), its moments as dates in `zone` (the program's)."""
    evidence: dict[str, Any] = flag.evidence or {}
    lines: list[str] = []
    match flag.rule:
        case Rule.MISSED:
            for person in evidence.get("people", []):
                weeks = ", ".join(_week(tr, period) for period in person.get("periods", []))
                count = len(person.get("periods", []))
                lines.append(
                    tr.ngettext(
                        "{name} missed {n} check-in in a row ({weeks}).",
                        "{name} missed {n} check-ins in a row ({weeks}).",
                        count,
                        name=people.name(person.get("person_id")),
                        weeks=weeks,
                    )
                )
        case Rule.NO_CONTACT:
            since = _since(tr, evidence.get("since"), zone)
            lines.append(
                tr.ngettext(
                    "No meeting logged and no contact reported for {n} week or more "
                    "(since {date}).",
                    "No meeting logged and no contact reported for {n} weeks or more "
                    "(since {date}).",
                    int(evidence.get("weeks", 0)),
                    date=since,
                )
            )
        case Rule.LOW_RATING:
            for hit in evidence.get("answers", []):
                facts = _rating_facts(tr, hit, people)
                if "goal" in facts:
                    line = tr.gettext(
                        "{name} rated their progress on the goal “{goal}” {value} out of 5 "
                        "({week}).",
                        **facts,
                    )
                else:
                    line = tr.gettext(
                        "{name} rated “{question}” {value} out of 5 ({week}).", **facts
                    )
                lines.append(line)
        case Rule.RATING_DROP:
            for hit in evidence.get("answers", []):
                facts = _rating_facts(tr, hit, people)
                facts["average"] = tr.number(hit.get("average", 0))
                if "goal" in facts:
                    line = tr.gettext(
                        "{name} rated their progress on the goal “{goal}” {value} out of 5, "
                        "down from an average of {average} ({week}).",
                        **facts,
                    )
                else:
                    line = tr.gettext(
                        "{name} rated “{question}” {value} out of 5, down from an average of "
                        "{average} ({week}).",
                        **facts,
                    )
                lines.append(line)
        case Rule.RATING_GAP:
            for week in evidence.get("weeks", []):
                lines.append(
                    tr.gettext(
                        "The mentee rated the help {mentee} out of 5, the mentor rated the "
                        "relationship {mentor} out of 5 ({week}).",
                        mentee=week.get("mentee", {}).get("value"),
                        mentor=week.get("mentor", {}).get("value"),
                        week=_week(tr, week.get("period")),
                    )
                )
        case Rule.ASKED:
            for hit in evidence.get("answers", []):
                lines.append(
                    tr.gettext(
                        "{name} would like you to get in touch ({week}).",
                        name=people.name(hit.get("person_id")),
                        week=_week(tr, hit.get("period")),
                    )
                )
        case Rule.CONCERN:
            for hit in evidence.get("answers", []):
                concerns = ", ".join(
                    tr.gettext(CONCERN_LABELS[item]) if item in CONCERN_LABELS else item
                    for item in hit.get("concerns", [])
                )
                lines.append(
                    tr.gettext(
                        "{name} reported: {concerns} ({week}).",
                        name=people.name(hit.get("person_id")),
                        concerns=concerns,
                        week=_week(tr, hit.get("period")),
                    )
                )
        case Rule.SAFETY:
            for hit in evidence.get("answers", []):
                words = Html(", ".join(quoted(tr, word) for word in hit.get("words", [])))
                name = people.name(hit.get("person_id"))
                if hit.get("kind") == "log":
                    line = tr.gettext(
                        "{words} in a meeting log note by {name}.", words=words, name=name
                    )
                elif hit.get("kind") == PromptKind.REFLECTION:
                    line = tr.gettext("{words} in a reflection by {name}.", words=words, name=name)
                else:
                    line = tr.gettext(
                        "{words} in a check-in note by {name} ({week}).",
                        words=words,
                        name=name,
                        week=_week(tr, hit.get("period")),
                    )
                lines.append(line)
        case Rule.UNREACHABLE:
            lines.append(
                tr.gettext(
                    "{name} blocked Tandem or can no longer be reached (since {date}).",
                    name=people.name(evidence.get("person_id")),
                    date=_since(tr, evidence.get("since"), zone),
                )
            )
        case Rule.BENCHMARK:
            lines += [_month_line(tr, month) for month in evidence.get("months", [])]
        case Rule.END_REQUEST:
            requests = evidence.get("requests", [])
            lines += [_request_line(tr, item, people, zone) for item in requests]
    return lines


def _month_line(tr: Translator, month: dict[str, Any]) -> str:
    return tr.ngettext(
        "Month {month} of the match ({first} to {last}): {n} day of contact, {expected} expected.",
        "Month {month} of the match ({first} to {last}): {n} days of contact, {expected} expected.",
        int(month.get("contacts", 0)),
        month=month.get("month"),
        first=_since(tr, month.get("first")),
        last=_since(tr, month.get("last")),
        expected=month.get("expected"),
    )


def _request_line(
    tr: Translator, request: dict[str, Any], people: People, zone: tzinfo | None
) -> str:
    """Who asked to end the match, when, and the reason in their own words."""
    name, date = people.name(request.get("person_id")), _since(tr, request.get("at"), zone)
    reason = request.get("reason")
    if not reason:
        return tr.gettext(
            "{name} asked on {date} to end the match early (no reason given).",
            name=name,
            date=date,
        )
    return tr.gettext(
        "{name} asked on {date} to end the match early: “{reason}”",
        name=name,
        date=date,
        reason=reason,
    )


def local_date(moment: datetime, zone: tzinfo | None) -> date:
    """The day a moment falls on in `zone` (a date without a time stays as it is)."""
    return moment.astimezone(zone).date() if zone and moment.tzinfo else moment.date()


def _since(tr: Translator, value: Any, zone: tzinfo | None = None) -> str:
    try:
        return tr.date(local_date(datetime.fromisoformat(str(value)), zone), "long")
    except ValueError:
        return "?"


def _status_line(
    tr: Translator, flag: Flag, handler: Person | None, zone: tzinfo | None
) -> str | None:
    name = person_name(tr, handler)
    match flag.status:
        case FlagStatus.OPEN if flag.snoozed_until is not None:
            return tr.gettext(
                "⏰ Snoozed by {name} until {date}: the snooze is over, this needs attention "
                "again.",
                name=name,
                date=tr.date(local_date(flag.snoozed_until, zone), "long"),
            )
        case FlagStatus.ACKNOWLEDGED:
            return tr.gettext("👀 Acknowledged by {name}.", name=name)
        case FlagStatus.SNOOZED if flag.snoozed_until is not None:
            return tr.gettext(
                "💤 Snoozed by {name} until {date}.",
                name=name,
                date=tr.date(local_date(flag.snoozed_until, zone), "long"),
            )
        case FlagStatus.RESOLVED:
            decided = decision_of(flag) if flag.rule == Rule.END_REQUEST else None
            if decided is not None:
                return decision_line(tr, *decided, handler)
            if flag.note:
                note = flag.note if len(flag.note) <= NOTE_SHOWN else flag.note[:NOTE_SHOWN] + "…"
                return tr.gettext("✅ Resolved by {name}: {note}", name=name, note=note)
            return tr.gettext("✅ Resolved by {name}.", name=name)
    return None


def alert_text(
    tr: Translator,
    flag: Flag,
    program: Program,
    mentor: Person | None,
    mentee: Person | None,
    handler: Person | None = None,
    goals: Mapping[int, str] | None = None,
) -> str:
    """The alert: `goals` names the goals its evidence rates (`flag_goals`)."""
    zone = zone_or_none(program.timezone)
    title = (
        tr.gettext(RULE_TITLES.get(Rule(flag.rule), flag.rule))
        if flag.rule in RULE_VALUES
        else flag.rule
    )
    if flag.severity == Severity.URGENT:
        head = tr.gettext("🚨 <b>Urgent</b> · {rule}", rule=title)
    else:
        head = tr.gettext("⚠️ <b>{rule}</b>", rule=title)
    lines = [
        head,
        tr.gettext(
            "{mentor} ↔ {mentee} · {program} (match {id})",
            mentor=person_name(tr, mentor),
            mentee=person_name(tr, mentee),
            program=program.name,
            id=flag.match_id,
        ),
        "",
        *evidence_lines(tr, flag, People(tr, mentor, mentee, goals), zone),
    ]
    status = _status_line(tr, flag, handler, zone)
    if status:
        lines += ["", status]
    return "\n".join(lines)


def alert_buttons(tr: Translator, flag: Flag) -> list[list[Button]]:
    def data(action: str) -> str:
        return f"{PREFIX}:{action}:{flag.id}"

    show = [(tr.gettext("Show match"), match_timeline(flag.match_id))]
    if flag.status == FlagStatus.RESOLVED:
        return [show]
    if flag.rule == Rule.END_REQUEST:  # deciding is resolving it
        return [
            [
                (tr.gettext("🏁 End the match"), match_end(END, flag.id)),
                (tr.gettext("▶️ Keep it going"), match_end(KEEP, flag.id)),
            ],
            [(tr.gettext("Acknowledge"), data(ACK)), (tr.gettext("Snooze 7 days"), data(SNOOZE))],
            show,
        ]
    return [
        [(tr.gettext("Acknowledge"), data(ACK)), (tr.gettext("Snooze 7 days"), data(SNOOZE))],
        [(tr.gettext("Resolve"), data(RESOLVE)), *show],
    ]
