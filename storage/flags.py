"""Flag rules: which matches need a coordinator's attention, and why.

Each rule reads one match's `History` (its prompts, answers, meeting logs and the marks of
earlier flags) and returns a `Candidate` flag or None; `storage.flag_sweep` reads the
histories and inserts the flags.

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
`storage.prompts.mark_unreachable`) and "end request" (`storage.end_requests`).

Thresholds live in ``Program.settings["flags"]``; `DEFAULTS` fills in what is missing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from storage.contacts import Contact, contact_days, elapsed_months, is_reported, logged, reported
from storage.models import Match, MatchStatus, MeetingLog, Prompt, PromptKind, PromptStatus
from storage.safety import safety_words
from storage.schedule import period_monday

WEEK = timedelta(days=7)


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
