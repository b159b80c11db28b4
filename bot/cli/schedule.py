"""`tandem schedule`: the check-ins of the next days, and who is not prompted."""

from datetime import datetime, timedelta
from typing import Annotated

import typer
from sqlmodel import col, select

from bot import cli
from bot.cli.common import (
    DAY_ABBREVIATIONS,
    app,
    counted,
    fail,
    program_or_fail,
    run_with_database,
    table,
)
from bot.config import Settings
from storage.db import Database
from storage.materialise import planned_checkins
from storage.models import Person, PersonStatus, Program, Role
from storage.pairing import ParticipantRow, participants, person_label
from storage.participants import Participant, pause_over, scheduled_participants

MAX_PREVIEW_DAYS = 366


def _local_time(moment: datetime, participant: Participant) -> str:
    assert participant.slot is not None
    local = moment.astimezone(participant.slot.zone)
    return (
        f"{DAY_ABBREVIATIONS[local.weekday()]} {local:%Y-%m-%d %H:%M} {participant.slot.zone.key}"
    )


def _why_not_scheduled(participant: Participant, now: datetime) -> str | None:
    """Why someone in an active match gets no check-ins now, or None when they do (a
    pause that is over ends at the dispatcher's next scan)."""
    if participant.slot is None:
        return "no valid time zone"
    if participant.status == PersonStatus.PAUSED:
        if pause_over(participant.paused_until, participant.slot.zone.key, now):
            return None
        until = participant.paused_until
        return f"paused until {until:%Y-%m-%d}" if until else "paused (no end date)"
    if participant.status != PersonStatus.ACTIVE:
        return str(participant.status)
    return None


def _why_unmatched(row: ParticipantRow) -> str:
    """Why a mentor or mentee with no open match gets no check-ins."""
    if row.person.status in (PersonStatus.CLOSED, PersonStatus.UNREACHABLE):
        return f"not matched ({row.person.status})"
    if not row.onboarded:
        return "not matched yet (onboarding not finished)"
    return "not matched yet (`tandem pair` matches them)"


@app.command()
def schedule(
    program: Annotated[str, typer.Argument(help="Program id or exact name.")],
    days: Annotated[int, typer.Option(help="How many days ahead to look.")] = 7,
) -> None:
    """Preview the check-ins of the next days, and who is not prompted.

    Shows to whom, which check-in and when, in local time and UTC.
    Computed from the participants' slots; nothing is written.
    """
    if not 1 <= days <= MAX_PREVIEW_DAYS:
        fail(f"--days must be between 1 and {MAX_PREVIEW_DAYS}.")
    now = cli.clock()

    async def work(
        database: Database, _: Settings
    ) -> tuple[Program, list[Participant], dict[int, str], list[tuple[str, str, str]]]:
        async with database.session() as session:
            found = await program_or_fail(session, program)
            assert found.id is not None
            people = await scheduled_participants(session, program_id=found.id, active_only=False)
            ids = {someone.person_id for someone in people}
            labels = {
                person.id or 0: person_label(person)
                for person in await session.exec(select(Person).where(col(Person.id).in_(ids)))
            }
            unmatched = [
                (person_label(row.person), str(row.membership.role), _why_unmatched(row))
                for row in await participants(session, found.id)
                if row.match is None and row.membership.role in (Role.MENTOR, Role.MENTEE)
            ]
        return found, people, labels, unmatched

    found, people, labels, unmatched = run_with_database(work)
    assert found.id is not None
    end = now + timedelta(days=days)
    planned = sorted(
        planned_checkins(people, {found.id: found.settings or {}}, now, end),
        key=lambda pair: (pair[1].occurrence.due_at, labels[pair[0].person_id]),
    )
    rows = [
        (
            f"{item.occurrence.due_at:%Y-%m-%d %H:%M}",
            _local_time(item.occurrence.due_at, someone),
            labels[someone.person_id],
            someone.role,
            "pulse" if item.occurrence.pulse else "weekly",
            item.instrument,
        )
        for someone, item in planned
    ]
    waiting = sorted(
        [
            *(
                (labels[someone.person_id], str(someone.role), reason)
                for someone in people
                if (reason := _why_not_scheduled(someone, now)) is not None
            ),
            *unmatched,
        ]
    )
    span = f"{now:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
    if rows:
        typer.echo(table(("UTC", "LOCAL TIME", "NAME", "ROLE", "CHECK-IN", "INSTRUMENT"), rows))
    else:
        typer.echo(f"No check-ins in {found.name} from {span}.", err=True)
    if waiting:
        typer.echo("")
        typer.echo(table(("NOT PROMPTED NOW", "ROLE", "WHY"), waiting))
    typer.echo(f"{counted(len(rows), 'check-in')} in {found.name} from {span}.", err=True)
