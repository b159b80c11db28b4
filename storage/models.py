"""Tandem's tables. Every timestamp is stored in UTC and read back timezone-aware.

Enumerated columns are plain strings checked by the code (the `StrEnum`s below), so a new
status never needs a database enum migration.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import JSON, Column, Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime column: refuses naive values, stores UTC, reads UTC.

    SQLite has no time zone type and hands back naive values; this keeps both databases
    returning the same aware datetimes.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_column(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def required_utc_column(*, index: bool = False) -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=False, index=index))


def telegram_id_column(*, unique: bool = False, nullable: bool = True) -> Any:
    """Telegram ids exceed 32 bits."""
    return Field(default=None, sa_column=Column(sa.BigInteger(), unique=unique, nullable=nullable))


def json_column() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Role(StrEnum):
    MENTEE = "mentee"
    MENTOR = "mentor"
    COORDINATOR = "coordinator"


class PersonStatus(StrEnum):
    ONBOARDING = "onboarding"
    ACTIVE = "active"
    PAUSED = "paused"
    UNREACHABLE = "unreachable"
    CLOSED = "closed"
    ERASED = "erased"


class MatchStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    CLOSING = "closing"
    CLOSED = "closed"


class PromptKind(StrEnum):
    """`closure_notice`: the planned end is near (its period is the planned end's date);
    `closure`: the closure survey (period "closure"); `followup`: an outcome follow-up
    months after closure (period "m3", "m6"…). See `storage.closure`."""

    CHECKIN = "checkin"
    REFLECTION = "reflection"
    CLOSURE_NOTICE = "closure_notice"
    CLOSURE = "closure"
    FOLLOWUP = "followup"


class PromptStatus(StrEnum):
    """pending → sending → sent → answered | skipped | missed. `expired`: its period
    closed before it could be sent (an outage, never held against the participant);
    `failed`: Telegram refused it for good (the participant blocked the bot)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    ANSWERED = "answered"
    SKIPPED = "skipped"
    MISSED = "missed"
    EXPIRED = "expired"
    FAILED = "failed"


class FlagStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


class Program(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    track: str | None = Field(default=None, max_length=60)
    weeks: int = 12
    checkin_weekday: int = Field(default=0, description="0 = Monday … 6 = Sunday")
    checkin_time: time = time(9, 0)
    timezone: str = Field(default="America/Toronto", max_length=64)
    default_locale: str = Field(default="en", max_length=5)
    languages: str = Field(default="en,fr", max_length=20)
    settings: dict[str, Any] = json_column()
    created_at: datetime = required_utc_column()


class Person(SQLModel, table=True):
    """A Telegram user who consented to take part. Nobody is stored before consent."""

    id: int | None = Field(default=None, primary_key=True)
    telegram_id: int = telegram_id_column(unique=True, nullable=False)
    chat_id: int | None = telegram_id_column()
    username: str | None = Field(default=None, max_length=64, index=True)
    name: str | None = Field(default=None, max_length=120)
    locale: str = Field(default="en", max_length=5)
    timezone: str | None = Field(default=None, max_length=64)
    checkin_weekday: int | None = None
    checkin_time: time | None = None
    status: str = Field(default=PersonStatus.ONBOARDING, max_length=20, index=True)
    paused_until: date | None = None
    consent_at: datetime = required_utc_column()
    consent_version: str = Field(max_length=20)
    created_at: datetime = required_utc_column()


class Membership(SQLModel, table=True):
    """A person's role in a program, with the role's profile answers."""

    __table_args__ = (sa.UniqueConstraint("person_id", "program_id", "role"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    program_id: int = Field(foreign_key="program.id", index=True, ondelete="CASCADE")
    role: str = Field(max_length=20)
    field: str | None = Field(default=None, max_length=200)
    goals: str | None = Field(default=None, max_length=2000)
    experience_years: int | None = None
    can_help_with: str | None = Field(default=None, max_length=2000)
    invite_id: int | None = Field(default=None, foreign_key="invite.id", ondelete="SET NULL")
    joined_at: datetime = required_utc_column()
    completed_at: datetime | None = utc_column()
    wants_rematch_at: datetime | None = utc_column()  # a mentee asked for a new match


class Invite(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    program_id: int = Field(foreign_key="program.id", index=True, ondelete="CASCADE")
    role: str = Field(max_length=20)
    max_uses: int = 1
    uses: int = 0
    created_by: int | None = Field(default=None, foreign_key="person.id", ondelete="SET NULL")
    created_at: datetime = required_utc_column()
    expires_at: datetime = required_utc_column()


class Match(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True, ondelete="CASCADE")
    mentor_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    mentee_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    status: str = Field(default=MatchStatus.ACTIVE, max_length=20, index=True)
    started_at: datetime = required_utc_column()
    planned_end: date | None = None
    closing_at: datetime | None = utc_column()  # when closure began (storage.closure)
    closed_at: datetime | None = utc_column()
    closure_reason: str | None = Field(default=None, max_length=200)


class ExtensionStatus(StrEnum):
    """asking → agreed → approved | refused; asking → declined (one said no); asking or
    agreed → lapsed (the planned end came first, or the match ended)."""

    ASKING = "asking"
    AGREED = "agreed"
    DECLINED = "declined"
    APPROVED = "approved"
    REFUSED = "refused"
    LAPSED = "lapsed"


class MatchExtension(SQLModel, table=True):
    """A request to extend a match past one planned end: each participant's yes or no,
    then the coordinator's decision. One per match and planned end."""

    __tablename__ = "match_extension"
    __table_args__ = (sa.UniqueConstraint("match_id", "planned_end"),)

    id: int | None = Field(default=None, primary_key=True)
    match_id: int = Field(foreign_key="match.id", index=True, ondelete="CASCADE")
    planned_end: date
    weeks: int
    status: str = Field(default=ExtensionStatus.ASKING, max_length=20)
    mentee_wants: bool | None = None
    mentee_answered_at: datetime | None = utc_column()
    mentor_wants: bool | None = None
    mentor_answered_at: datetime | None = utc_column()
    decided_by: int | None = Field(default=None, foreign_key="person.id", ondelete="SET NULL")
    decided_at: datetime | None = utc_column()
    created_at: datetime = required_utc_column()


class Prompt(SQLModel, table=True):
    """One piece of scheduled work: created once per (person, match, kind, period)."""

    __table_args__ = (
        sa.UniqueConstraint("person_id", "match_id", "kind", "period"),
        sa.Index("ix_prompt_status_due", "status", "due_at"),
        # Figures by week (storage.metrics, storage.standings), and one match's weeks.
        sa.Index("ix_prompt_checkins", "kind", "period", "status", "match_id", "person_id"),
        sa.Index("ix_prompt_match_period", "match_id", "kind", "period", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # A person's prompts are found through the unique key, a match's through
    # ix_prompt_match_period: an index of their own would be written for every prompt
    # and read by nothing (migration 3f6a2d8c9b14).
    person_id: int = Field(foreign_key="person.id", ondelete="CASCADE")
    match_id: int = Field(foreign_key="match.id", ondelete="CASCADE")
    kind: str = Field(max_length=20)
    period: str = Field(max_length=20, description="e.g. 2026-W47")
    instrument: str = Field(max_length=60)
    due_at: datetime = required_utc_column()
    closes_at: datetime = required_utc_column()
    status: str = Field(default=PromptStatus.PENDING, max_length=20)
    attempts: int = 0
    next_attempt_at: datetime | None = utc_column()
    telegram_message_id: int | None = None
    claimed_at: datetime | None = utc_column()
    claimed_by: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = utc_column()
    uncertain_sends: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    sent_at: datetime | None = utc_column()
    remind_at: datetime | None = utc_column(index=True)
    reminded_at: datetime | None = utc_column()
    answered_at: datetime | None = utc_column()


class Answer(SQLModel, table=True):
    """One answer to one question: exports and aggregates are plain queries."""

    __table_args__ = (sa.UniqueConstraint("prompt_id", "question_key"),)

    id: int | None = Field(default=None, primary_key=True)
    prompt_id: int = Field(foreign_key="prompt.id", index=True, ondelete="CASCADE")
    question_key: str = Field(max_length=60)
    value: str = Field(max_length=4000)
    answered_at: datetime = required_utc_column()


class MeetingLog(SQLModel, table=True):
    __table_args__ = (
        # A match's meetings by day, and a program's meetings of some days.
        sa.Index("ix_meetinglog_match_met_on", "match_id", "met_on", "deleted_at"),
        sa.Index("ix_meetinglog_met_on", "met_on", "match_id", "deleted_at", "minutes"),
    )

    id: int | None = Field(default=None, primary_key=True)
    match_id: int = Field(foreign_key="match.id", index=True, ondelete="CASCADE")
    author_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    met_on: date
    minutes: int
    mode: str = Field(max_length=20)
    topics: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    notes: str | None = Field(default=None, max_length=4000)
    source: str = Field(default="quick", max_length=20)
    created_at: datetime = required_utc_column()
    updated_at: datetime | None = utc_column()
    deleted_at: datetime | None = utc_column()


class GoalStatus(StrEnum):
    OPEN = "open"
    ACHIEVED = "achieved"
    DROPPED = "dropped"


class Goal(SQLModel, table=True):
    """One of a mentee's goals for a program (their membership), in their own words."""

    id: int | None = Field(default=None, primary_key=True)
    membership_id: int = Field(foreign_key="membership.id", index=True, ondelete="CASCADE")
    text: str = Field(max_length=300)
    status: str = Field(default=GoalStatus.OPEN, max_length=20)
    position: int = 0
    created_at: datetime = required_utc_column()
    updated_at: datetime | None = utc_column()
    achieved_at: datetime | None = utc_column()


class Flag(SQLModel, table=True):
    """A match that needs attention. At most one unresolved flag per match and rule."""

    __table_args__ = (
        sa.Index(
            "uq_flag_open_per_rule",
            "match_id",
            "rule",
            unique=True,
            sqlite_where=sa.text("status != 'resolved'"),
            postgresql_where=sa.text("status != 'resolved'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    match_id: int = Field(foreign_key="match.id", index=True, ondelete="CASCADE")
    rule: str = Field(max_length=40)
    severity: str = Field(max_length=20)
    evidence: dict[str, Any] = json_column()
    status: str = Field(default=FlagStatus.OPEN, max_length=20)
    opened_at: datetime = required_utc_column()
    snoozed_until: datetime | None = utc_column()
    handled_by: int | None = Field(default=None, foreign_key="person.id", ondelete="SET NULL")
    handled_at: datetime | None = utc_column()
    note: str | None = Field(default=None, max_length=2000)


class AlertCopy(SQLModel, table=True):
    """One coordinator's copy of a flag's alert, so every copy can be brought up to date
    when any coordinator acts on the flag."""

    __tablename__ = "alert_copy"

    id: int | None = Field(default=None, primary_key=True)
    flag_id: int = Field(foreign_key="flag.id", index=True, ondelete="CASCADE")
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    chat_id: int = telegram_id_column(nullable=False)
    message_id: int
    sent_at: datetime = required_utc_column()


class ExtensionCopy(SQLModel, table=True):
    """One coordinator's copy of an agreed extension's Approve / Decline request, so every
    copy can be edited to show the decision when one of them decides."""

    __tablename__ = "extension_copy"

    id: int | None = Field(default=None, primary_key=True)
    extension_id: int = Field(foreign_key="match_extension.id", index=True, ondelete="CASCADE")
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    chat_id: int = telegram_id_column(nullable=False)
    message_id: int
    sent_at: datetime = required_utc_column()


class CertificateDelivery(SQLModel, table=True):
    """The certificate the dispatcher sends one person of a match that completed the
    program: claimed (`sending`) before it is sent, so it is sent at most once, then
    `sent`, `failed` (they cannot be reached) or `uncertain` (it may have arrived). A
    failure that may pass (the network) drops the row, and a later tick tries again."""

    __tablename__ = "certificate_delivery"
    __table_args__ = (sa.UniqueConstraint("match_id", "person_id"),)

    id: int | None = Field(default=None, primary_key=True)
    match_id: int = Field(foreign_key="match.id", index=True, ondelete="CASCADE")
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    status: str = Field(max_length=20)
    updated_at: datetime = required_utc_column()


class DeliveryStatus(StrEnum):
    """pending → sending → sent | failed, as prompts go; `uncertain`: a send that may
    have arrived (a timeout, or a crash mid-send) and is never repeated."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNCERTAIN = "uncertain"


class Broadcast(SQLModel, table=True):
    """A coordinator's message to a program's participants (all, or one role)."""

    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True, ondelete="CASCADE")
    role: str | None = Field(default=None, max_length=20, description="None: everyone")
    text: str = Field(max_length=4096)
    created_by: int | None = Field(default=None, foreign_key="person.id", ondelete="SET NULL")
    created_at: datetime = required_utc_column()


class BroadcastDelivery(SQLModel, table=True):
    """One recipient of a broadcast, claimed and sent by the dispatcher."""

    __tablename__ = "broadcast_delivery"
    __table_args__ = (
        sa.UniqueConstraint("broadcast_id", "person_id"),
        sa.Index("ix_broadcast_delivery_status_next", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    broadcast_id: int = Field(foreign_key="broadcast.id", index=True, ondelete="CASCADE")
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    status: str = Field(default=DeliveryStatus.PENDING, max_length=20)
    attempts: int = 0
    next_attempt_at: datetime = required_utc_column()
    claimed_at: datetime | None = utc_column()
    claimed_by: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = utc_column()
    uncertain_sends: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    sent_at: datetime | None = utc_column()


class AuditEvent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    actor_id: int | None = Field(default=None, foreign_key="person.id", ondelete="SET NULL")
    actor_label: str = Field(default="", max_length=120, description="'cli', 'admin 123', …")
    action: str = Field(max_length=60)
    subject: str | None = Field(default=None, max_length=120)
    detail: dict[str, Any] = json_column()
    at: datetime = required_utc_column(index=True)


class StoredState(SQLModel, table=True):
    """Key-value rows: PTB's persisted conversation states and user/chat data, and small
    facts the bot remembers (its username). A cache of the truth, never the truth."""

    __tablename__ = "stored_state"

    namespace: str = Field(primary_key=True, max_length=80)
    key: str = Field(primary_key=True, max_length=120)
    value: Any = Field(sa_column=Column(JSON, nullable=False))
    updated_at: datetime = required_utc_column()


class MatchWeek(SQLModel, table=True):
    """One match's check-in figures for one ISO week, kept by database triggers as prompts,
    answers and meeting logs are written (storage.week_figures): /report sums them by week
    without reading a check-in."""

    __tablename__ = "match_week"

    match_id: int = Field(foreign_key="match.id", primary_key=True, ondelete="CASCADE")
    period: str = Field(max_length=20, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True, ondelete="CASCADE")
    reached: int = 0  # check-ins that reached someone (storage.metrics.REACHED)
    answered: int = 0
    mentee_total: int = 0  # sum of the mentee's "How helpful" ratings
    mentee_ratings: int = 0
    mentor_total: int = 0
    mentor_ratings: int = 0
    logs: int = 0  # meeting logs held that week, deleted ones left out
    logged_minutes: int = 0
    estimated_minutes: int = 0  # the mentor's check-in estimate, counted when no log


class MatchContact(SQLModel, table=True):
    """A match's latest meeting logged and latest contact reported, kept by database
    triggers as logs and answers are written (storage.last_contact): /matches judges every
    match's contact from one row each instead of reading its recent logs and answers."""

    __tablename__ = "match_contact"

    match_id: int = Field(foreign_key="match.id", primary_key=True, ondelete="CASCADE")
    met_on: date | None = None  # its latest meeting logged, deleted ones left out
    reported_at: datetime | None = utc_column()  # its latest contact reported in a check-in


class ProgramWeek(SQLModel, table=True):
    """A program's weekly figures: its `MatchWeek` rows summed, kept by triggers."""

    __tablename__ = "program_week"

    program_id: int = Field(foreign_key="program.id", primary_key=True, ondelete="CASCADE")
    period: str = Field(max_length=20, primary_key=True)
    reached: int = 0
    answered: int = 0
    mentee_total: int = 0
    mentee_ratings: int = 0
    mentor_total: int = 0
    mentor_ratings: int = 0
    contact_minutes: int = 0  # logged, else estimated, over the program's matches


@sa.event.listens_for(SQLModel.metadata, "after_create")
def _install_triggers(target: sa.MetaData, connection: sa.Connection, **_: object) -> None:
    """A schema built from the models (tests, `create_all`) gets the triggers that keep
    its kept rows, as the migrations install them."""
    from storage import kept  # imported here: the triggers' modules import these models

    kept.install(connection)
