"""The weekly slot maths: local wall time to UTC across DST changes and in half-hour zones,
period keys, the monthly pulse and the instrument a program chooses. Expected UTC times
are written out by hand, not computed with the code under test."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from storage.schedule import (
    PULSE_INSTRUMENT,
    Slot,
    current_occurrence,
    instrument_for,
    is_pulse_week,
    occurrences,
    period_key,
    plan,
    reminder_delay,
    wall_time_to_utc,
)

TORONTO = ZoneInfo("America/Toronto")
VANCOUVER = ZoneInfo("America/Vancouver")
ST_JOHNS = ZoneInfo("America/St_Johns")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# Monday 09:00 local in the weeks around the end (2026-11-01) and start (2027-03-14) of
# DST: the UTC hour in daylight time, then in standard time, written out by hand.
MONDAYS = [(date(2026, 10, 26), True), (date(2026, 11, 2), False), (date(2027, 3, 8), False),
           (date(2027, 3, 15), True)]  # fmt: skip


@pytest.mark.parametrize(
    ("zone", "daylight_hour", "standard_hour"),
    [(TORONTO, 13, 14), (VANCOUVER, 16, 17), (ST_JOHNS, 11.5, 12.5)],
)
def test_monday_nine_across_dst(zone: ZoneInfo, daylight_hour: float, standard_hour: float) -> None:
    expected = [
        datetime.combine(day, time(0), UTC)
        + timedelta(hours=daylight_hour if daylight else standard_hour)
        for day, daylight in MONDAYS
    ]
    slot = Slot(0, time(9), zone)
    autumn = occurrences(slot, utc(2026, 10, 25), utc(2026, 11, 3))
    spring = occurrences(slot, utc(2027, 3, 7), utc(2027, 3, 16))
    assert [o.due_at for o in autumn + spring] == expected
    # Each period closes when the next one is due, DST week or not.
    assert autumn[0].closes_at == autumn[1].due_at
    assert autumn[0].closes_at - autumn[0].due_at == timedelta(days=7, hours=1)
    assert spring[0].closes_at - spring[0].due_at == timedelta(days=7, hours=-1)
    for occurrence in autumn + spring:
        local = occurrence.due_at.astimezone(zone)
        assert (local.weekday(), local.time()) == (0, time(9))


def test_slot_in_the_spring_forward_gap_moves_forward() -> None:
    """02:30 does not exist on 2027-03-14 in Toronto: the check-in comes at 03:30 EDT."""
    (sunday,) = occurrences(Slot(6, time(2, 30), TORONTO), utc(2027, 3, 13), utc(2027, 3, 15))
    assert sunday.due_at == utc(2027, 3, 14, 7, 30)
    assert sunday.due_at.astimezone(TORONTO).time() == time(3, 30)
    assert sunday.local_date == date(2027, 3, 14)
    # St. John's jumps at 02:00 local as well.
    (newfoundland,) = occurrences(
        Slot(6, time(2, 15), ST_JOHNS), utc(2027, 3, 13), utc(2027, 3, 15)
    )
    assert newfoundland.due_at == utc(2027, 3, 14, 5, 45)  # 02:15 NST read as 03:15 NDT


def test_slot_in_the_fall_back_overlap_happens_the_first_time() -> None:
    """01:30 happens twice on 2026-11-01 in Toronto: the first (EDT) one counts."""
    (sunday,) = occurrences(Slot(6, time(1, 30), TORONTO), utc(2026, 10, 31), utc(2026, 11, 2))
    assert sunday.due_at == utc(2026, 11, 1, 5, 30)
    assert wall_time_to_utc(date(2026, 11, 1), time(1, 30, fold=1), TORONTO) == sunday.due_at


def test_occurrence_window_is_inclusive_and_ordered() -> None:
    slot = Slot(0, time(9), TORONTO)
    due = utc(2026, 11, 16, 14)
    assert [o.due_at for o in occurrences(slot, due, due)] == [due]
    assert occurrences(slot, due + timedelta(seconds=1), due + timedelta(days=6)) == []
    # Three weeks before 14:00 UTC is 10:00 EDT on 2026-10-26: that day's slot (13:00 UTC)
    # lies before the window; an hour more takes it in.
    found = occurrences(slot, due - timedelta(weeks=3), due)
    assert [o.period for o in found] == ["2026-W45", "2026-W46", "2026-W47"]
    found = occurrences(slot, due - timedelta(weeks=3, hours=1), due)
    assert [o.period for o in found] == ["2026-W44", "2026-W45", "2026-W46", "2026-W47"]


def test_current_occurrence_is_the_open_period() -> None:
    slot = Slot(2, time(18, 30), ST_JOHNS)  # Wednesday 18:30 NST = 22:00 UTC
    now = utc(2026, 11, 20, 12)
    current = current_occurrence(slot, now)
    assert current.due_at == utc(2026, 11, 18, 22)
    assert current.due_at <= now < current.closes_at
    assert current_occurrence(slot, utc(2026, 11, 18, 22)).due_at == utc(2026, 11, 18, 22)
    assert current_occurrence(slot, utc(2026, 11, 18, 21, 59)).due_at == utc(2026, 11, 11, 22)


def test_period_key_is_the_iso_week_of_the_local_date() -> None:
    assert period_key(date(2026, 11, 16)) == "2026-W47"
    assert period_key(date(2027, 1, 3)) == "2026-W53"  # a Sunday in 2026's last ISO week
    assert period_key(date(2027, 1, 4)) == "2027-W01"
    # Sunday 21:00 in Vancouver is already Monday in UTC: the local date decides.
    (sunday,) = occurrences(Slot(6, time(21), VANCOUVER), utc(2026, 11, 22), utc(2026, 11, 24))
    assert sunday.due_at == utc(2026, 11, 23, 5)
    assert sunday.period == "2026-W47"


def test_first_checkin_of_the_month_is_the_pulse() -> None:
    assert is_pulse_week(date(2026, 12, 7))
    assert not is_pulse_week(date(2026, 12, 8))
    slot = Slot(0, time(9), TORONTO)
    weeks = occurrences(slot, utc(2026, 11, 23), utc(2026, 12, 15))
    assert [o.pulse for o in weeks] == [False, False, True, False]


def test_instrument_by_role_pulse_and_program_override() -> None:
    assert instrument_for("mentee", False, {}) == "mentee_weekly"
    assert instrument_for("mentor", False, {}) == "mentor_weekly"
    assert instrument_for("mentor", True, {}) == PULSE_INSTRUMENT
    settings = {"instruments": {"mentee": "ece_mentee", "pulse": "ece_pulse"}}
    assert instrument_for("mentee", False, settings) == "ece_mentee"
    assert instrument_for("mentor", False, settings) == "mentor_weekly"
    assert instrument_for("mentee", True, settings) == "ece_pulse"


def test_reminder_delay_and_plan() -> None:
    assert reminder_delay({}) == timedelta(hours=24)
    assert reminder_delay({"reminder_hours": 6}) == timedelta(hours=6)
    assert reminder_delay({"reminder_hours": 0}) is None
    slot = Slot(0, time(9), TORONTO)
    (planned,) = plan(slot, "mentee", {"reminder_hours": 6}, utc(2026, 11, 30), utc(2026, 12, 1))
    assert planned.instrument == "mentee_weekly"
    assert planned.remind_at == utc(2026, 11, 30, 20)
    (pulse,) = plan(slot, "mentor", {"reminder_hours": None}, utc(2026, 12, 7), utc(2026, 12, 8))
    assert (pulse.instrument, pulse.remind_at, pulse.kind) == (PULSE_INSTRUMENT, None, "checkin")


def test_bad_weekday_is_refused() -> None:
    with pytest.raises(ValueError, match="weekday"):
        Slot(7, time(9), TORONTO)
