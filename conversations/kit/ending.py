"""Ending a match, whichever way it ends: its planned end (the dispatcher), an end
request's "End the match" and a timeline's "End this match" (conversations/match_end.py),
or `tandem match close`. All of them go through here:

1. `storage.closure.end_match`, in the caller's transaction: the match starts closing, an
   audit event says who ended it and why, and its open end request (if any) is resolved
   with the decision recorded on it and an audit event of its own;
2. `announce_end`, once that has committed: every coordinator's stored copy of the end
   request's alert is edited to say how the match ended (by whom, or "the match ended"
   for the planned end and the command line), without its decision buttons, so a later
   tap on a copy cannot look undecided.

`close_match` (the command line) and `start_planned_ends` (the dispatcher) do both steps;
the dialogue does step 1 inside its own checks and locks, then step 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from telegram import Bot

from conversations.kit.alerting import refresh_copies
from storage.closure import (
    Actor,
    ClosureError,
    ClosureReason,
    Ended,
    end_match,
    start_due_closures,
)
from storage.db import Database
from storage.models import Match


class NotInProgram(LookupError):
    """The program has no match with that id."""


class AlreadyEnded(Exception):
    """The match is closing or closed already; `status` says which."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


async def announce_end(
    bot: Bot | None,
    database: Database,
    ended: Sequence[Ended],
    *,
    edited: tuple[int, int] | None = None,
) -> int:
    """Bring the coordinators' copies of the resolved end requests up to date (all but
    `edited`, the chat id and message id already showing it); call once the end has
    committed. Without a bot (the command line has no token) nothing can be edited.
    Returns the copies edited."""
    if bot is None:
        return 0
    edits = 0
    for item in ended:
        if item.resolved_flag_id is not None:
            edits += await refresh_copies(bot, database, item.resolved_flag_id, edited=edited)
    return edits


async def close_match(
    bot: Bot | None,
    database: Database,
    program_id: int,
    match_id: int,
    reason: ClosureReason,
    actor: Actor,
    now: datetime,
) -> Ended:
    """End one match of the program (`tandem match close`). Raises NotInProgram, or
    AlreadyEnded when it is closing or closed already."""
    async with database.session() as session:
        match = await session.get(Match, match_id)
        if match is None or match.program_id != program_id:
            raise NotInProgram(match_id)
        try:
            ended = await end_match(session, match, reason, actor, now)
        except ClosureError as error:  # its status read before the rollback expires it
            raise AlreadyEnded(str(error.match.status)) from error
    await announce_end(bot, database, [ended])
    return ended


async def start_planned_ends(bot: Bot, database: Database, now: datetime) -> list[Ended]:
    """The dispatcher's tick: start closing the matches whose planned end has begun, then
    bring the alerts about their end requests up to date."""
    async with database.session() as session:
        ended = await start_due_closures(session, now)
    await announce_end(bot, database, ended)
    return ended
