"""The questions that build a participant's profile, shared by onboarding and /settings.

Each step knows whether it is already answered (from the stored rows, so where a person is
can always be recomputed), how to ask, how to read a tap or a typed answer, and where the
answer is stored. Steps never talk to Telegram or the database themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from conversations.kit.buttons import Button, parse_number
from conversations.kit.unusable import too_long
from locales.translator import N_, Translator, escape
from storage.models import Membership, Person, Program, Role
from storage.programs import suggested_zone
from storage.schedule import CANADIAN_ZONES, parse_time, parse_weekday, resolve_zone

PARTICIPANTS = frozenset({Role.MENTEE, Role.MENTOR})
EVERYONE = frozenset({Role.MENTEE, Role.MENTOR, Role.COORDINATOR})
TIME_CHOICES = (time(8), time(9), time(12), time(17), time(19), time(20))


class Invalid(Exception):
    """The answer cannot be used; the message says why, in the participant's language."""


@dataclass
class Profile:
    """What the steps read and write for one participant."""

    person: Person
    membership: Membership | None
    program: Program | None
    telegram_name: str

    @property
    def role(self) -> str | None:
        return None if self.membership is None else self.membership.role


@dataclass(frozen=True)
class Question:
    text: str
    buttons: list[list[Button]]
    expects_text: bool


class Step:
    """Base for one profile question. `choice` is the part of the callback data after
    `<prefix>:<key>:`; subclasses read it and typed text into a stored value."""

    key: str = ""
    roles: frozenset[str] = EVERYONE

    def applies_to(self, profile: Profile) -> bool:
        return profile.role is None or profile.role in self.roles

    def is_answered(self, profile: Profile) -> bool:
        raise NotImplementedError

    def question(self, tr: Translator, profile: Profile, prefix: str) -> Question:
        raise NotImplementedError

    def read_text(self, tr: Translator, text: str, profile: Profile) -> None:
        raise Invalid(tr.gettext("Please answer with one of the buttons below."))

    def read_choice(self, tr: Translator, choice: str, profile: Profile) -> None:
        raise Invalid(
            tr.gettext("That button belongs to an earlier question, so it no longer works.")
        )

    def summary(self, tr: Translator, profile: Profile) -> tuple[str, str]:
        """(label, value) for the summary; the value is already escaped HTML."""
        raise NotImplementedError

    def data(self, prefix: str, choice: str) -> str:
        return f"{prefix}:{self.key}:{choice}"


def _clean_text(tr: Translator, text: str, limit: int) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise Invalid(tr.gettext("I couldn't use that answer."))
    if len(cleaned) > limit:
        raise Invalid(too_long(tr, limit))
    return cleaned


class NameStep(Step):
    key = "name"
    limit = 60

    def is_answered(self, profile: Profile) -> bool:
        return profile.person.name is not None

    def question(self, tr: Translator, profile: Profile, prefix: str) -> Question:
        text = tr.gettext(
            "What name should your match and your coordinator see? Tap to keep "
            "<b>{name}</b>, or type the name you prefer.",
            name=profile.telegram_name,
        )
        keep = tr.gettext("Keep “{name}”", name=profile.telegram_name)
        return Question(text, [[(keep, self.data(prefix, "keep"))]], expects_text=True)

    def read_text(self, tr: Translator, text: str, profile: Profile) -> None:
        profile.person.name = _clean_text(tr, text, self.limit)

    def read_choice(self, tr: Translator, choice: str, profile: Profile) -> None:
        if choice != "keep":
            super().read_choice(tr, choice, profile)
        profile.person.name = profile.telegram_name[: self.limit]

    def summary(self, tr: Translator, profile: Profile) -> tuple[str, str]:
        return tr.gettext("Name"), escape(profile.person.name or "")


@dataclass(frozen=True, kw_only=True)
class FreeTextStep(Step):
    """A typed answer stored on the membership (field, goals, what a mentor offers)."""

    key: str
    attribute: str
    roles: frozenset[str]
    ask: str
    label: str
    limit: int

    def is_answered(self, profile: Profile) -> bool:
        return getattr(profile.membership, self.attribute, None) is not None

    def question(self, tr: Translator, profile: Profile, prefix: str) -> Question:
        return Question(tr.gettext(self.ask), [], expects_text=True)

    def read_text(self, tr: Translator, text: str, profile: Profile) -> None:
        setattr(profile.membership, self.attribute, _clean_text(tr, text, self.limit))

    def summary(self, tr: Translator, profile: Profile) -> tuple[str, str]:
        return tr.gettext(self.label), escape(str(getattr(profile.membership, self.attribute)))


class ExperienceStep(Step):
    key = "experience"
    roles = frozenset({Role.MENTOR})

    def is_answered(self, profile: Profile) -> bool:
        return profile.membership is not None and profile.membership.experience_years is not None

    def question(self, tr: Translator, profile: Profile, prefix: str) -> Question:
        text = tr.gettext(
            "How many years of experience do you have in your field? A number is enough."
        )
        return Question(text, [], expects_text=True)

    def read_text(self, tr: Translator, text: str, profile: Profile) -> None:
        found = re.fullmatch(r"\s*(\d{1,2})\s*(?:\+|years?|yrs?|ans?)?\s*", text.lower())
        if found is None or profile.membership is None:
            raise Invalid(tr.gettext("Please send a number of years between 0 and 60, like 8."))
        years = int(found[1])
        if years > 60:
            raise Invalid(tr.gettext("Please send a number of years between 0 and 60, like 8."))
        profile.membership.experience_years = years

    def summary(self, tr: Translator, profile: Profile) -> tuple[str, str]:
        years = profile.membership.experience_years if profile.membership else 0
        return tr.gettext("Experience"), tr.ngettext("{n} year", "{n} years", years or 0)


class TimezoneStep(Step):
    key = "timezone"

    def is_answered(self, profile: Profile) -> bool:
        return profile.person.timezone is not None

    def question(self, tr: Translator, profile: Profile, prefix: str) -> Question:
        text = tr.gettext(
            "Which time zone are you in? Tap yours, or type a city or a zone name "
            "(for example Paris or Europe/Paris)."
        )
        rows = [
            [(tr.gettext(label), self.data(prefix, str(index)))]
            for index, (_, label) in enumerate(CANADIAN_ZONES)
        ]
        return Question(text, rows, expects_text=True)

    def read_text(self, tr: Translator, text: str, profile: Profile) -> None:
        zone = resolve_zone(text[:100])
        place = suggested_zone(text[:100])
        if zone is None and place is not None:
            # EST, PST, CET… stay put all year, so check-ins would be an hour off in summer.
            raise Invalid(
                tr.gettext(
                    "{abbreviation} does not follow daylight saving time, so your check-ins "
                    "would be an hour off for half the year. Type a city near you instead "
                    "(for example {city}), or tap one of the buttons.",
                    abbreviation=text.strip().upper(),
                    city=place.rsplit("/", 1)[-1].replace("_", " "),
                )
            )
        if zone is None:
            raise Invalid(
                tr.gettext(
                    "I don't know that time zone. Tap one of the buttons, or type a large "
                    "city near you (for example Toronto or Paris)."
                )
            )
        profile.person.timezone = zone

    def read_choice(self, tr: Translator, choice: str, profile: Profile) -> None:
        index = parse_number(choice, below=len(CANADIAN_ZONES))
        if index is None:
            super().read_choice(tr, choice, profile)
        else:
            profile.person.timezone = CANADIAN_ZONES[index][0]

    def summary(self, tr: Translator, profile: Profile) -> tuple[str, str]:
        return tr.gettext("Time zone"), escape(zone_label(tr, profile.person.timezone or ""))


def zone_label(tr: Translator, zone: str) -> str:
    for name, label in CANADIAN_ZONES:
        if name == zone:
            return tr.gettext(label)
    return zone.replace("_", " ")


def program_slot(program: Program | None) -> tuple[int, time]:
    if program is None:
        return 0, time(9)
    return program.checkin_weekday, program.checkin_time


def slot_text(tr: Translator, weekday: int, moment: time) -> str:
    return tr.gettext("{day} at {time}", day=tr.weekday(weekday), time=tr.time(moment))


class CheckinDayStep(Step):
    key = "day"
    roles = PARTICIPANTS

    def is_answered(self, profile: Profile) -> bool:
        return profile.person.checkin_weekday is not None

    def question(self, tr: Translator, profile: Profile, prefix: str) -> Question:
        day, moment = program_slot(profile.program)
        text = tr.gettext(
            "Once a week I'll send you a short check-in. Your program suggests "
            "<b>{slot}</b>. Keep that, or pick another day?",
            slot=slot_text(tr, day, moment),
        )
        days = [
            (tr.weekday(index, capitalised=True), self.data(prefix, str(index)))
            for index in range(7)
        ]
        rows = [
            [(tr.gettext("Keep the suggestion"), self.data(prefix, "keep"))],
            days[:4],
            days[4:],
        ]
        return Question(text, rows, expects_text=False)

    def read_text(self, tr: Translator, text: str, profile: Profile) -> None:
        weekday = parse_weekday(text[:20])
        if weekday is None:
            super().read_text(tr, text, profile)
        profile.person.checkin_weekday = weekday

    def read_choice(self, tr: Translator, choice: str, profile: Profile) -> None:
        if choice == "keep":
            profile.person.checkin_weekday, profile.person.checkin_time = program_slot(
                profile.program
            )
        elif (weekday := parse_number(choice, below=7)) is not None:
            profile.person.checkin_weekday = weekday
        else:
            super().read_choice(tr, choice, profile)

    def summary(self, tr: Translator, profile: Profile) -> tuple[str, str]:
        person = profile.person
        return tr.gettext("Weekly check-in"), slot_text(
            tr, person.checkin_weekday or 0, person.checkin_time or time(9)
        )


class CheckinTimeStep(Step):
    key = "time"
    roles = PARTICIPANTS

    def is_answered(self, profile: Profile) -> bool:
        return profile.person.checkin_time is not None

    def question(self, tr: Translator, profile: Profile, prefix: str) -> Question:
        text = tr.gettext(
            "At what time on {day}? Tap one, or type a time like 18:30.",
            day=tr.weekday(profile.person.checkin_weekday or 0),
        )
        choices = [
            (tr.time(moment), self.data(prefix, f"{moment.hour:02d}")) for moment in TIME_CHOICES
        ]
        return Question(text, [choices[:3], choices[3:]], expects_text=True)

    def read_text(self, tr: Translator, text: str, profile: Profile) -> None:
        moment = parse_time(text[:20])
        if moment is None:
            raise Invalid(
                tr.gettext("Please send a time like 9:00 or 18:30, or tap one of the buttons.")
            )
        profile.person.checkin_time = moment

    def read_choice(self, tr: Translator, choice: str, profile: Profile) -> None:
        hour = parse_number(choice, below=24)
        if hour is None:
            super().read_choice(tr, choice, profile)
        else:
            profile.person.checkin_time = time(hour)

    def summary(self, tr: Translator, profile: Profile) -> tuple[str, str]:
        return CheckinDayStep().summary(tr, profile)


FIELD = FreeTextStep(
    key="field",
    attribute="field",
    roles=PARTICIPANTS,
    ask=N_(
        "What field do you work in, or want to work in? (For example: accounting, "
        "early childhood education, software.)"
    ),
    label=N_("Field"),
    limit=200,
)
GOALS = FreeTextStep(
    key="goals",
    attribute="goals",
    roles=frozenset({Role.MENTEE}),
    ask=N_(
        "What do you hope to get out of this program? Write your goals in your own words, "
        "one per line if you have several."
    ),
    label=N_("Goals"),
    limit=1000,
)
HELP_WITH = FreeTextStep(
    key="help",
    attribute="can_help_with",
    roles=frozenset({Role.MENTOR}),
    ask=N_(
        "What can you help a mentee with? (For example: résumés, interviews, networking, "
        "workplace culture.)"
    ),
    label=N_("Can help with"),
    limit=1000,
)

STEPS: tuple[Step, ...] = (
    NameStep(),
    FIELD,
    GOALS,
    ExperienceStep(),
    HELP_WITH,
    TimezoneStep(),
    CheckinDayStep(),
    CheckinTimeStep(),
)
STEPS_BY_KEY = {step.key: step for step in STEPS}


def first_unanswered(profile: Profile) -> Step | None:
    for step in STEPS:
        if step.applies_to(profile) and not step.is_answered(profile):
            return step
    return None


def summary_steps(profile: Profile) -> list[Step]:
    """The steps shown in a summary: one line per answer (day and time share a line)."""
    return [
        step for step in STEPS if step.applies_to(profile) and not isinstance(step, CheckinTimeStep)
    ]
