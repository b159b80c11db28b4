"""What a program can set (`Program.settings`), for `tandem program configure`: how each
value is read and checked against its meaning, and the value in force, default or not.

The values in force come from the same functions the dispatcher, the flag rules and the
dialogues use, so what the admin is shown is what the bot does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from conversations.instruments import SCALE_POINTS, available_instruments
from conversations.kit.meeting_record import MAX_TOPIC_BUTTONS, program_topics
from conversations.kit.topics import DEFAULT_TOPICS
from storage.closure_schedule import MAX_FOLLOWUP_MONTHS, closure_settings
from storage.flags import DEFAULTS as FLAG_DEFAULTS
from storage.flags import thresholds
from storage.metrics import expected_minutes_per_week
from storage.models import Program
from storage.retention import retention_months
from storage.schedule import (
    WEEKDAYS,
    instrument_for,
    parse_time,
    parse_weekday,
    reflection_every,
    reminder_delay,
)
from storage.summary import digest_slot

LOWEST, HIGHEST = int(SCALE_POINTS[0]), int(SCALE_POINTS[-1])  # the 1–5 rating scale
MAX_HOURS = 24 * 7  # a reminder later than the next check-in makes no sense
MAX_MINUTES = 7 * 24 * 60
MAX_WEEKS = 52
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _number(text: str, low: float, high: float, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"must be a number of {what} from {low:g} to {high:g}") from None
    if not low <= value <= high:
        raise ValueError(f"must be from {low:g} to {high:g} {what}")
    return int(value) if value.is_integer() else value


def _whole(text: str, low: int, high: int, what: str) -> int:
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"must be a whole number from {low} to {high} ({what})")
    return int(text)


def hours(text: str) -> float:
    return _number(text, 0, MAX_HOURS, "hours (0 turns reminders off)")


def minutes(text: str) -> float:
    return _number(text, 0, MAX_MINUTES, "minutes")


def weeks(text: str) -> int:
    return _whole(text, 0, MAX_WEEKS, "weeks (0 turns reflections off)")


def months(text: str) -> int:
    return _whole(text, 1, 1200, "months")


def period_weeks(text: str) -> int:
    """A closure period in weeks (the notice before the planned end, an extension)."""
    return _whole(text, 1, MAX_WEEKS, "weeks")


def survey_days(text: str) -> int:
    """How long closure surveys and follow-ups stay open (a match closes after it)."""
    return _whole(text, 1, 90, "days")


def followup_months(text: str) -> list[int]:
    """Months after closure for mentees' outcome follow-ups, comma-separated, different;
    `off` (or nothing) for none."""
    if text.strip().lower() in ("", "off", "none"):
        return []
    values = [item.strip() for item in text.split(",")]
    what = "months, comma-separated such as 3,6, or off"
    months = [_whole(value, 1, MAX_FOLLOWUP_MONTHS, what) for value in values]
    if len(set(months)) != len(months):
        raise ValueError("names the same month twice")
    return sorted(months)


def _months_shown(value: object) -> str:
    return _text(value) if value else "off"


def count(text: str) -> int:
    return _whole(text, 1, 1000, "times")


def days(text: str) -> int:
    return _whole(text, 1, 366, "days")


def rating(text: str) -> int:
    """A rating at or below which a flag is raised: on the scale, below its top (at the
    top every answer would raise one)."""
    return _whole(text, LOWEST, HIGHEST - 1, f"points on the {LOWEST}–{HIGHEST} scale")


def points(text: str) -> int:
    """A difference between two ratings on the scale."""
    return _whole(text, 1, HIGHEST - LOWEST, f"points on the {LOWEST}–{HIGHEST} scale")


def instrument(text: str) -> str:
    if text not in available_instruments():
        raise ValueError(f"is not an instrument; known: {', '.join(available_instruments())}")
    return text


def topics(text: str) -> list[str]:
    known = {topic.key for topic in DEFAULT_TOPICS}
    keys = list(dict.fromkeys(key.strip() for key in text.split(",") if key.strip()))
    unknown = sorted(set(keys) - known)
    if unknown:
        raise ValueError(f"has unknown topics {unknown}; known: {', '.join(sorted(known))}")
    if not 1 <= len(keys) <= MAX_TOPIC_BUTTONS:
        raise ValueError(f"must name 1 to {MAX_TOPIC_BUTTONS} topics, comma-separated")
    return keys


def weekday(text: str) -> int:
    found = parse_weekday(text)
    if found is None:
        raise ValueError(f"must be a day of the week, such as {', '.join(list(WEEKDAYS)[:4])}")
    return found


def clock_time(text: str) -> str:
    moment = parse_time(text)
    if moment is None:
        raise ValueError("must be a time of day, HH:MM such as 08:00 (or 8 h 30)")
    return f"{moment:%H:%M}"


def on_off(text: str) -> bool:
    value = text.strip().lower()
    if value not in ("on", "off", "true", "false", "yes", "no"):
        raise ValueError("must be on or off")
    return value in ("on", "true", "yes")


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    return str(value)


@dataclass(frozen=True)
class Setting:
    parse: Callable[[str], object]
    in_force: Callable[[Mapping[str, Any]], object]
    show: Callable[[object], str] = _text


def _reminder_hours(settings: Mapping[str, Any]) -> object:
    delay = reminder_delay(settings)
    if delay is None:
        return "0 (off)"
    value = delay.total_seconds() / 3600
    return int(value) if value.is_integer() else value


def _digest(part: str) -> Callable[[Mapping[str, Any]], object]:
    def in_force(settings: Mapping[str, Any]) -> object:
        given = settings.get("digest")
        given = given if isinstance(given, Mapping) else {}
        if part == "enabled":
            return digest_slot(settings) is not None
        # When the digest is off, its day and time are still what turning it on would use.
        slot = digest_slot({**settings, "digest": {**given, "enabled": True}})
        assert slot is not None
        return slot.weekday if part == "weekday" else f"{slot.at:%H:%M}"

    return in_force


def _day(value: object) -> str:
    return DAY_NAMES[value] if isinstance(value, int) else str(value)


def _flag(name: str) -> Callable[[Mapping[str, Any]], object]:
    return lambda settings: thresholds(settings)[name]


FLAG_PARSERS: dict[str, Callable[[str], int]] = {
    "missed_in_a_row": count,
    "no_contact_weeks": count,
    "low_rating": rating,
    "rating_drop": points,
    "drop_history": count,
    "rating_gap": points,
    "recent_days": days,
    "first_month_contacts": count,
    "monthly_contacts": count,
}
assert FLAG_PARSERS.keys() == FLAG_DEFAULTS.keys(), "every flag threshold needs a parser"

SETTINGS: dict[str, Setting] = {
    "reminder_hours": Setting(hours, _reminder_hours),
    "expected_minutes_per_week": Setting(minutes, expected_minutes_per_week),
    "reflection_every_weeks": Setting(
        weeks, lambda settings: reflection_every(settings) or "0 (off)"
    ),
    "instruments.mentee": Setting(
        instrument, lambda settings: instrument_for("mentee", False, settings)
    ),
    "instruments.mentor": Setting(
        instrument, lambda settings: instrument_for("mentor", False, settings)
    ),
    "instruments.pulse": Setting(
        instrument, lambda settings: instrument_for("mentee", True, settings)
    ),
    "topics": Setting(
        topics,
        lambda settings: [topic.key for topic in program_topics(Program(settings=settings))],
    ),
    **{f"flags.{name}": Setting(parse, _flag(name)) for name, parse in FLAG_PARSERS.items()},
    "digest.weekday": Setting(weekday, _digest("weekday"), _day),
    "digest.time": Setting(clock_time, _digest("time")),
    "digest.enabled": Setting(on_off, _digest("enabled")),
    "retention.months": Setting(months, retention_months),
    "closure.notice_weeks": Setting(
        period_weeks, lambda settings: closure_settings(settings).notice_weeks
    ),
    "closure.extension_weeks": Setting(
        period_weeks, lambda settings: closure_settings(settings).extension_weeks
    ),
    "closure.survey_days": Setting(
        survey_days, lambda settings: closure_settings(settings).survey_days
    ),
    "followup.months": Setting(
        followup_months,
        lambda settings: list(closure_settings(settings).followup_months),
        _months_shown,
    ),
}


def parse_assignment(assignment: str) -> tuple[str, object]:
    """'KEY=VALUE' -> (key, checked value); raises ValueError with one sentence."""
    key, separator, text = assignment.partition("=")
    key = key.strip()
    if not separator or key not in SETTINGS:
        raise ValueError(
            f"{assignment!r} is not KEY=VALUE with a known key ({', '.join(SETTINGS)})."
        )
    try:
        return key, SETTINGS[key].parse(text.strip())
    except ValueError as error:
        raise ValueError(f"{key}={text.strip()!r} {error}.") from None


def apply(settings: Mapping[str, Any], changes: list[tuple[str, object]]) -> dict[str, Any]:
    """A copy of `settings` with the changes made ('digest.time' goes under 'digest')."""
    result: dict[str, Any] = {
        key: dict(value) if isinstance(value, Mapping) else value for key, value in settings.items()
    }
    for key, value in changes:
        group, _, name = key.rpartition(".")
        (result.setdefault(group, {}) if group else result)[name] = value
    return result


def overridden(settings: Mapping[str, Any], key: str) -> bool:
    group, _, name = key.rpartition(".")
    holder = settings.get(group) if group else settings
    return isinstance(holder, Mapping) and name in holder


def in_force(settings: Mapping[str, Any]) -> list[tuple[str, str, bool]]:
    """Every setting: (key, value in force as text, whether the program overrides it)."""
    return [
        (key, setting.show(setting.in_force(settings)), overridden(settings, key))
        for key, setting in SETTINGS.items()
    ]
