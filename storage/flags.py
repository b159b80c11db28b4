"""Flag rules: which matches need a coordinator's attention, and why.

`evaluate_matches` reads the history of a page of matches in a handful of queries (their
prompts, answers, meeting logs and earlier flags), applies every rule in memory and
inserts the new flags with ``INSERT … ON CONFLICT DO NOTHING`` against the partial unique
index, so a match never has two unresolved flags for one rule, whoever evaluates at the
same time. It returns the ids of the flags it created: the caller alerts the coordinators
once its transaction has committed.

Each flag's evidence names the prompts, weeks and values behind it (never a participant's
check-in text: for safety words, listed in `storage.safety`, only the word that matched)
and lists its `marks`, the atoms of evidence it covers (``p12:helpful``, ``gap:2026-W47``,
``bm:2026-10-17``…). A rule raises a flag only when it finds a mark no earlier flag of
that rule on the match covered: a resolved flag is not raised again by the daily sweep for
the same answers (or month), but is for a new one.

Contact (meetings logged, contact reported in check-ins) is counted by `storage.contacts`
for both the no-contact rule and the contact benchmark (MENTOR's Elements of Effective
Practice: two contacts in a match's first month, then at least one a month).

Two flags are not found by the rules: "unreachable" (raised by
`storage.prompts.mark_unreachable`) and "end request", raised by `request_end` when a
participant asks to end their match early, through the same insert as the rules' flags
(their evidence lists the requests: who, when, and the reason they gave, which the
coordinators read). A snoozed flag whose snooze is over is opened again by `end_snoozes`;
it keeps who snoozed it and until when (`handled_by`, `snoozed_until`), so its alert can
say the snooze ended, until someone acts on it again.

Thresholds live in ``Program.settings["flags"]``; `DEFAULTS` fills in what is missing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.contacts import (
    Contact,
    contact_days,
    elapsed_months,
    is_reported,
    logged,
    reported,
)
from storage.db import upsert
from storage.models import (
    Answer,
    AuditEvent,
    Flag,
    FlagStatus,
    Match,
    MatchStatus,
    MeetingLog,
    Program,
    Prompt,
    PromptKind,
    PromptStatus,
    StoredState,
)
from storage.programs import zone_or_none
from storage.safety import safety_words

WEEK = timedelta(days=7)
SWEEP_EVERY = timedelta(hours=24)
SWEEP_NAMESPACE = "dispatch"
SWEEP_KEY = "flags_swept"
PAGE = 500  # matches evaluated per transaction by the sweep


class Rule(StrEnum):
    MISSED = "missed_checkins"
    NO_CONTACT = "no_contact"
    LOW_RATING = "low_rating"
    RATING_DROP = "rating_drop"
    RATING_GAP = "rating_gap"
    ASKED = "asked_coordinator"
    CONCERN = "concern"
    SAFETY = "safety_words"
    UNREACHABLE = "unreachable"  # raised by storage.prompts.mark_unreachable
    BENCHMARK = "contact_benchmark"
    END_REQUEST = "end_request"  # raised by request_end


class Severity(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


SEVERITY_ORDER = {Severity.URGENT: 0, Severity.HIGH: 1, Severity.MEDIUM: 2, Severity.LOW: 3}

DEFAULTS: dict[str, int] = {
    "missed_in_a_row": 2,  # missed check-ins in a row, per person
    "no_contact_weeks": 2,  # weeks without a meeting log or a reported contact
    "low_rating": 2,  # a 1–5 answer at or below this
    "rating_drop": 2,  # points below the person's own average of that question
    "drop_history": 2,  # earlier answers needed before a drop counts
    "rating_gap": 2,  # points between mentor and mentee the same week
    "recent_days": 14,  # answers (and months of contact) older than this raise no new flag
    "first_month_contacts": 2,  # days of contact expected in a match's first month
    "monthly_contacts": 1,  # … and in every later month
}

SCALE_KEYS = ("helpful", "going", "progress")
GOAL_PREFIX = "goal_"
MENTEE_RATING, MENTOR_RATING = "helpful", "going"  # compared the same week
FREE_TEXT_KEYS = ("note", "concern_note")  # check-in questions typed freely
NO_CONCERN = "none"
SETTLED = (
    PromptStatus.ANSWERED,
    PromptStatus.MISSED,
    PromptStatus.SKIPPED,
    PromptStatus.EXPIRED,
    PromptStatus.FAILED,
)


def thresholds(settings: Mapping[str, Any] | None) -> dict[str, int]:
    """The program's flag thresholds, the defaults filling in what is missing or invalid."""
    given = (settings or {}).get("flags") or {}
    result = dict(DEFAULTS)
    if isinstance(given, Mapping):
        for key, value in given.items():
            if key in DEFAULTS and isinstance(value, int) and not isinstance(value, bool):
                result[key] = max(value, 1)
    return result


def period_monday(period: str) -> date | None:
    try:
        year, week = period.split("-W")
        return date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        return None


def is_scale_key(key: str) -> bool:
    return key in SCALE_KEYS or key.startswith(GOAL_PREFIX)


def _rating(value: str) -> int | None:
    return int(value) if value in {"1", "2", "3", "4", "5"} else None


# --- one match's history ----------------------------------------------------------------


@dataclass
class Given:
    """One stored answer with what the rules need to know about its prompt."""

    prompt: Prompt
    key: str
    value: str
    answered_at: datetime


@dataclass
class History:
    match: Match
    limits: dict[str, int]
    now: datetime
    zone: tzinfo | None = None  # the program's: days (of contact, of months) are local
    prompts: list[Prompt] = field(default_factory=list)  # by due date
    answers: list[Given] = field(default_factory=list)  # by prompt due date
    logs: list[MeetingLog] = field(default_factory=list)
    marks: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    @property
    def cutoff(self) -> datetime:
        return self.now - timedelta(days=self.limits["recent_days"])

    def recent(self) -> list[Given]:
        return [given for given in self.answers if given.answered_at >= self.cutoff]

    def local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date() if self.zone else moment.date()

    def role(self, person_id: int) -> str:
        return "mentor" if person_id == self.match.mentor_id else "mentee"

    def contacts(self) -> list[Contact]:
        """Every meeting logged and every contact reported (see `storage.contacts`)."""
        started_on = self.local_day(self.match.started_at)
        found = [logged(log.met_on) for log in self.logs]
        for given in self.answers:
            if is_reported(given.key, given.value):
                monday = period_monday(given.prompt.period) or self.local_day(given.answered_at)
                found.append(reported(monday, given.answered_at, started_on))
        return found


@dataclass(frozen=True)
class Candidate:
    rule: Rule
    severity: Severity
    evidence: dict[str, Any]


def _hit(given: Given, **extra: Any) -> dict[str, Any]:
    return {
        "prompt_id": given.prompt.id,
        "person_id": given.prompt.person_id,
        "period": given.prompt.period,
        "key": given.key,
        **extra,
    }


def _candidate(
    history: History, rule: Rule, severity: Severity, marks: list[str], **evidence: Any
) -> Candidate | None:
    """A flag, unless every mark was covered by an earlier flag of the rule."""
    if not marks or set(marks) <= history.marks[rule]:
        return None
    return Candidate(rule, severity, {**evidence, "marks": marks})


def missed_in_a_row(history: History) -> Candidate | None:
    """Each person's latest settled check-ins: missed, in consecutive weeks. A skipped,
    expired (paused) or answered week, or a week with no check-in at all, ends the run."""
    limit = history.limits["missed_in_a_row"]
    people: list[dict[str, Any]] = []
    for person_id in (history.match.mentee_id, history.match.mentor_id):
        settled = [
            prompt
            for prompt in history.prompts
            if prompt.person_id == person_id
            and prompt.kind == PromptKind.CHECKIN
            and prompt.status in SETTLED
        ]
        run: list[Prompt] = []
        for prompt in reversed(settled):
            if prompt.status != PromptStatus.MISSED:
                break
            if run:
                later, earlier = period_monday(run[-1].period), period_monday(prompt.period)
                if later is None or earlier is None or (later - earlier).days != 7:
                    break
            run.append(prompt)
        if len(run) >= limit:
            run.reverse()
            people.append(
                {
                    "person_id": person_id,
                    "role": history.role(person_id),
                    "prompts": [prompt.id for prompt in run],
                    "periods": [prompt.period for prompt in run],
                }
            )
    marks = [f"p{prompt_id}" for person in people for prompt_id in person["prompts"]]
    return _candidate(history, Rule.MISSED, Severity.MEDIUM, marks, people=people)


def no_contact(history: History) -> Candidate | None:
    """No meeting logged and no contact reported for N weeks, counting from the start."""
    if history.match.status != MatchStatus.ACTIVE:
        return None
    weeks = history.limits["no_contact_weeks"]
    last, source = history.match.started_at, "start"
    for contact in history.contacts():
        if contact.moment > last:
            last, source = contact.moment, contact.source
    window = weeks * WEEK
    silent = history.now - last
    if silent < window:
        return None
    mark = f"nc:{last.date().isoformat()}:{silent // window}"
    return _candidate(
        history,
        Rule.NO_CONTACT,
        Severity.MEDIUM,
        [mark],
        weeks=weeks,
        since=last.isoformat(),
        last_contact=source,
    )


def behind_benchmark(history: History) -> Candidate | None:
    """Fewer days of contact than expected in a month of the match that has ended (the
    first month expects `first_month_contacts`, later ones `monthly_contacts`). Judged
    while the match is active, for months that ended in the last `recent_days`, so a
    paused match is not judged while paused nor, once resumed, for a month that ended
    long before. Months are the program's local days, as meetings are logged: a match
    made at 23:30 begins that day, and a month ends once its last day is over there."""
    if history.match.status != MatchStatus.ACTIVE:
        return None
    limits, today = history.limits, history.local_day(history.now)
    days = contact_days(history.contacts())
    months = []
    for month in elapsed_months(history.local_day(history.match.started_at), today):
        if (today - month.last).days > limits["recent_days"]:
            continue
        expected = limits["first_month_contacts" if month.number == 1 else "monthly_contacts"]
        count = sum(1 for day in days if month.holds(day))
        if count < expected:
            months.append(
                {
                    "month": month.number,
                    "first": month.first.isoformat(),
                    "last": month.last.isoformat(),
                    "contacts": count,
                    "expected": expected,
                }
            )
    marks = [f"bm:{month['first']}" for month in months]
    return _candidate(history, Rule.BENCHMARK, Severity.MEDIUM, marks, months=months)


def low_rating(history: History) -> Candidate | None:
    low = history.limits["low_rating"]
    hits = []
    for given in history.recent():
        value = _rating(given.value)
        if is_scale_key(given.key) and value is not None and value <= low:
            hits.append(_hit(given, value=value))
    marks = [f"p{hit['prompt_id']}:{hit['key']}" for hit in hits]
    return _candidate(history, Rule.LOW_RATING, Severity.MEDIUM, marks, answers=hits)


def rating_drop(history: History) -> Candidate | None:
    """A rating 2 or more below the person's own average of that question before it (a
    rating already low is the low-rating rule's)."""
    drop, needed, low = (
        history.limits["rating_drop"],
        history.limits["drop_history"],
        history.limits["low_rating"],
    )
    hits = []
    for given in history.recent():
        value = _rating(given.value)
        if not is_scale_key(given.key) or value is None or value <= low:
            continue
        earlier = [
            rating
            for other in history.answers
            if other.key == given.key
            and other.prompt.person_id == given.prompt.person_id
            and other.prompt.due_at < given.prompt.due_at
            and (rating := _rating(other.value)) is not None
        ]
        if len(earlier) < needed:
            continue
        average = sum(earlier) / len(earlier)
        if average - value >= drop:
            hits.append(_hit(given, value=value, average=round(average, 1)))
    marks = [f"p{hit['prompt_id']}:{hit['key']}" for hit in hits]
    return _candidate(history, Rule.RATING_DROP, Severity.MEDIUM, marks, answers=hits)


def rating_gap(history: History) -> Candidate | None:
    """The mentee's "how helpful" and the mentor's "how it's going" the same week, far
    apart."""
    gap = history.limits["rating_gap"]
    by_period: dict[str, dict[str, Given]] = defaultdict(dict)
    for given in history.recent():
        if given.prompt.kind != PromptKind.CHECKIN or _rating(given.value) is None:
            continue
        if given.key == MENTEE_RATING and given.prompt.person_id == history.match.mentee_id:
            by_period[given.prompt.period]["mentee"] = given
        if given.key == MENTOR_RATING and given.prompt.person_id == history.match.mentor_id:
            by_period[given.prompt.period]["mentor"] = given
    weeks = []
    for period, pair in sorted(by_period.items()):
        if len(pair) < 2:
            continue
        mentee, mentor = _rating(pair["mentee"].value), _rating(pair["mentor"].value)
        assert mentee is not None and mentor is not None
        if abs(mentee - mentor) >= gap:
            weeks.append(
                {
                    "period": period,
                    "mentee": {"prompt_id": pair["mentee"].prompt.id, "value": mentee},
                    "mentor": {"prompt_id": pair["mentor"].prompt.id, "value": mentor},
                }
            )
    marks = [f"gap:{week['period']}" for week in weeks]
    return _candidate(history, Rule.RATING_GAP, Severity.LOW, marks, weeks=weeks)


def asked_coordinator(history: History) -> Candidate | None:
    hits = [_hit(g) for g in history.recent() if g.key == "wants_contact" and g.value == "yes"]
    marks = [f"p{hit['prompt_id']}" for hit in hits]
    return _candidate(history, Rule.ASKED, Severity.HIGH, marks, answers=hits)


def concern(history: History) -> Candidate | None:
    hits = [
        _hit(given, concerns=[item for item in given.value.split(",") if item])
        for given in history.recent()
        if given.key == "concerns" and given.value not in ("", NO_CONCERN)
    ]
    marks = [f"p{hit['prompt_id']}" for hit in hits]
    return _candidate(history, Rule.CONCERN, Severity.MEDIUM, marks, answers=hits)


def safety(history: History) -> Candidate | None:
    """Safety words in free text: check-in notes, reflections, meeting log notes."""
    hits: list[dict[str, Any]] = []
    marks: list[str] = []
    for given in history.recent():
        free = given.key in FREE_TEXT_KEYS or given.prompt.kind == PromptKind.REFLECTION
        words = safety_words(given.value) if free and given.value else []
        if words:
            hits.append(_hit(given, kind=given.prompt.kind, words=words))
            marks.append(f"p{given.prompt.id}:{given.key}")
    for log in history.logs:
        changed = log.updated_at or log.created_at
        words = safety_words(log.notes) if log.notes and changed >= history.cutoff else []
        if words:
            hits.append(
                {"log_id": log.id, "person_id": log.author_id, "kind": "log", "words": words}
            )
            marks.append(f"log{log.id}")
    return _candidate(history, Rule.SAFETY, Severity.URGENT, marks, answers=hits)


RULES = (
    safety,
    asked_coordinator,
    concern,
    low_rating,
    rating_drop,
    rating_gap,
    missed_in_a_row,
    no_contact,
    behind_benchmark,
)


def evaluate(history: History) -> list[Candidate]:
    return [found for rule in RULES if (found := rule(history)) is not None]


# --- reading and writing ------------------------------------------------------------------


async def histories(
    session: AsyncSession, match_ids: Sequence[int], now: datetime
) -> list[History]:
    """The open matches among `match_ids` with everything the rules read."""
    if not match_ids:
        return []
    statement = select(Match, Program.settings, Program.timezone).join(
        Program, col(Program.id) == col(Match.program_id)
    )
    statement = statement.where(
        col(Match.id).in_(match_ids), col(Match.status) != MatchStatus.CLOSED
    )
    found = {
        match.id: History(match, thresholds(settings), now, zone_or_none(timezone))
        for match, settings, timezone in (await session.exec(statement)).all()
    }
    if not found:
        return []
    ids = list(found)
    kinds = (PromptKind.CHECKIN, PromptKind.REFLECTION)
    prompts = await session.exec(
        select(Prompt)
        .where(col(Prompt.match_id).in_(ids), col(Prompt.kind).in_(kinds))
        .order_by(col(Prompt.due_at), col(Prompt.id))
    )
    by_id: dict[int, Prompt] = {}
    for prompt in prompts.all():
        found[prompt.match_id].prompts.append(prompt)
        by_id[prompt.id or 0] = prompt
    answers = await session.exec(
        select(Answer)
        .join(Prompt, col(Prompt.id) == col(Answer.prompt_id))
        .where(col(Prompt.match_id).in_(ids), col(Prompt.kind).in_(kinds))
        .order_by(col(Prompt.due_at), col(Answer.id))
    )
    for answer in answers.all():
        prompt = by_id[answer.prompt_id]
        given = Given(prompt, answer.question_key, answer.value, answer.answered_at)
        found[prompt.match_id].answers.append(given)
    logs = await session.exec(
        select(MeetingLog)
        .where(col(MeetingLog.match_id).in_(ids), col(MeetingLog.deleted_at).is_(None))
        .order_by(col(MeetingLog.id))
    )
    for log in logs.all():
        found[log.match_id].logs.append(log)
    flags = await session.exec(
        select(Flag.match_id, Flag.rule, Flag.evidence).where(col(Flag.match_id).in_(ids))
    )
    for match_id, rule, evidence in flags.all():
        found[match_id].marks[rule].update((evidence or {}).get("marks") or [])
    return list(found.values())


def _row(match_id: int, candidate: Candidate, now: datetime) -> dict[str, Any]:
    return {
        "match_id": match_id,
        "rule": candidate.rule.value,
        "severity": candidate.severity.value,
        "evidence": candidate.evidence,
        "status": FlagStatus.OPEN.value,
        "opened_at": now,
    }


async def evaluate_matches(
    session: AsyncSession, match_ids: Sequence[int], now: datetime
) -> list[int]:
    """Apply every rule to these matches; insert the new flags. Returns their ids."""
    rows = [
        _row(history.match.id or 0, candidate, now)
        for history in await histories(session, match_ids, now)
        for candidate in evaluate(history)
    ]
    return await insert_flags(session, rows)


async def insert_flags(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert these flags, but none for a match and rule that already has an unresolved
    flag (the partial unique index decides, whoever inserts at the same time). Returns
    the ids of the flags inserted."""
    if not rows:
        return []
    statement = (
        upsert(session, Flag.__table__)  # type: ignore[attr-defined]
        .values(rows)
        .on_conflict_do_nothing(
            index_elements=["match_id", "rule"],
            index_where=sa.text(f"status != '{FlagStatus.RESOLVED}'"),
        )
        .returning(Flag.__table__.c.id)  # type: ignore[attr-defined]
    )
    return sorted(int(flag_id) for flag_id in (await session.exec(statement)).scalars().all())


async def new_unreachable_flags(session: AsyncSession, person_id: int, now: datetime) -> list[int]:
    """The "unreachable" flags mark_unreachable raised for this person just now."""
    statement = select(Flag.id, Flag.evidence).where(
        Flag.rule == Rule.UNREACHABLE, Flag.opened_at == now
    )
    return [
        flag_id
        for flag_id, evidence in (await session.exec(statement)).all()
        if flag_id is not None and (evidence or {}).get("person_id") == person_id
    ]


# --- a request to end a match early ------------------------------------------------------


class Requested(StrEnum):
    NEW = "new"  # a new flag
    ADDED = "added"  # the partner's request was open: the flag now lists both
    ALREADY = "already"  # this person's request is already with the coordinators


async def open_end_request(session: AsyncSession, match_id: int) -> Flag | None:
    """The match's unresolved end request, locked for this transaction."""
    statement = (
        select(Flag)
        .where(
            Flag.match_id == match_id,
            Flag.rule == Rule.END_REQUEST,
            Flag.status != FlagStatus.RESOLVED,
        )
        .with_for_update()
    )
    return (await session.exec(statement)).first()


def requested_by(flag: Flag | None, person_id: int) -> bool:
    requests = [] if flag is None else (flag.evidence or {}).get("requests") or []
    return any(request.get("person_id") == person_id for request in requests)


async def request_end(
    session: AsyncSession, match: Match, person_id: int, reason: str | None, now: datetime
) -> tuple[Requested, int]:
    """A participant asks to end their match early: a "high" flag for the coordinators
    (or, when the partner's request is open, their flag lists this one too and is open
    again) and an audit event. Nothing about the match changes: the coordinators decide.
    Returns what happened and the flag's id."""
    match_id = match.id or 0
    request = {"person_id": person_id, "at": now.isoformat(), "reason": reason}
    flag = await open_end_request(session, match_id)
    if flag is None:
        candidate = Candidate(Rule.END_REQUEST, Severity.HIGH, {"requests": [request]})
        created = await insert_flags(session, [_row(match_id, candidate, now)])
        flag = None if created else await open_end_request(session, match_id)
        if created:
            _audit_request(session, match, person_id, reason, now)
            return Requested.NEW, created[0]
        if flag is None:  # the partner's request, inserted and resolved meanwhile
            raise RuntimeError("the match's end request changed meanwhile")
    if requested_by(flag, person_id):
        return Requested.ALREADY, flag.id or 0
    evidence = flag.evidence or {}
    flag.evidence = {**evidence, "requests": [*(evidence.get("requests") or []), request]}
    flag.status, flag.snoozed_until = FlagStatus.OPEN, None
    session.add(flag)
    _audit_request(session, match, person_id, reason, now)
    return Requested.ADDED, flag.id or 0


def _audit_request(
    session: AsyncSession, match: Match, person_id: int, reason: str | None, now: datetime
) -> None:
    session.add(
        AuditEvent(
            actor_id=person_id,
            actor_label="mentor" if person_id == match.mentor_id else "mentee",
            action="match.end_requested",
            subject=f"match:{match.id}",
            detail={"reason": reason},
            at=now,
        )
    )


# --- snoozes that ended -------------------------------------------------------------------


async def end_snoozes(session: AsyncSession, now: datetime) -> list[int]:
    """Open again the snoozed flags whose snooze is over, each with an audit event;
    returns their ids. One statement, which the unresolved flags' partial index serves
    (its condition is repeated word for word so SQLite can use it): cheap enough for
    every dispatcher tick."""
    statement = (
        sa.update(Flag)
        .where(
            sa.text(f"status != '{FlagStatus.RESOLVED}'"),
            col(Flag.status) == FlagStatus.SNOOZED,
            col(Flag.snoozed_until) <= now,
        )
        .values(status=FlagStatus.OPEN)
        .returning(col(Flag.id), col(Flag.match_id), col(Flag.rule))
    )
    reopened = sorted((await session.exec(statement)).all())
    for flag_id, match_id, rule in reopened:
        session.add(
            AuditEvent(
                actor_label="tandem",
                action="flag.snooze_ended",
                subject=f"flag:{flag_id}",
                detail={"match_id": match_id, "rule": rule},
                at=now,
            )
        )
    return [flag_id for flag_id, _, _ in reopened]


# --- the daily sweep ----------------------------------------------------------------------


async def sweep_due(
    session: AsyncSession, now: datetime, every: timedelta = SWEEP_EVERY, key: str = SWEEP_KEY
) -> bool:
    """True (and the watermark `key` moved to `now`) when the last sweep is `every` old."""
    row = await session.get(StoredState, (SWEEP_NAMESPACE, key))
    if row is not None:
        try:
            last = datetime.fromisoformat(str(row.value))
        except ValueError:
            last = None
        if last is not None and now - last < every:
            return False
        row.value, row.updated_at = now.isoformat(), now
        session.add(row)
    else:
        session.add(
            StoredState(namespace=SWEEP_NAMESPACE, key=key, value=now.isoformat(), updated_at=now)
        )
    return True


async def open_match_pages(session: AsyncSession, size: int = PAGE) -> list[list[int]]:
    statement = (
        select(Match.id).where(col(Match.status) != MatchStatus.CLOSED).order_by(col(Match.id))
    )
    ids = [match_id for match_id in (await session.exec(statement)).all() if match_id is not None]
    return [ids[start : start + size] for start in range(0, len(ids), size)]
