"""What the running bot holds for a person erased outside it: their `user_data` (a
half-written meeting log, a broadcast draft, a wait for a typed reason) and their
conversation states, in memory and in `stored_state`.

`tandem person erase`, the retention purge or another instance erase a person in the
database, and `storage.erasure` deletes the stored rows; but the running Application
keeps its in-memory copy, and would write it back at its next persistence flush. Two
things drop it:

- the next update from that Telegram user (`forget_if_erased`, called by `bot.app.arrive`
  with the person it reads anyway, before every handler): the context marked their
  `user_data` with the person they were (`PERSON_ID`); nobody, or somebody else, under
  their Telegram id now means they were erased, and they are handled as the stranger
  they are;
- the dispatcher's tick (`forget_erased`), for the people who do not write again.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import col, select
from telegram.ext import Application

from bot.conversation_states import drop_states
from conversations.kit.context import PERSON_ID
from storage.db import Database
from storage.models import Person

log = logging.getLogger(__name__)

CHUNK = 500  # person ids per query of the tick's sweep


def forget(application: Application[Any, Any, Any, Any, Any, Any], telegram_id: int) -> None:
    """Drop this user's data and conversation states; the next persistence flush deletes
    their stored rows (a deleted state is written as None, which drops its row)."""
    application.drop_user_data(telegram_id)
    application.drop_chat_data(telegram_id)  # their private chat's, were any kept
    drop_states(application, telegram_id)


async def forget_if_erased(
    application: Application[Any, Any, Any, Any, Any, Any],
    telegram_id: int,
    person: Person | None,
) -> None:
    """Called by `bot.app.arrive` with the person it has just read for this Telegram id:
    when the bot marked a different person (or one who is gone) for this user, that person
    was erased meanwhile, and what the bot held for them goes. No query of its own."""
    known = (application.user_data.get(telegram_id) or {}).get(PERSON_ID)
    if known is None or (person is not None and person.id == known):
        return
    forget(application, telegram_id)
    await application.update_persistence()
    log.info("dropped what the bot held for a person erased meanwhile")


async def forget_erased(
    application: Application[Any, Any, Any, Any, Any, Any], database: Database
) -> int:
    """The tick's sweep: whoever the bot holds data for and who was erased since."""
    marked = {
        telegram_id: data[PERSON_ID]
        for telegram_id, data in application.user_data.items()
        if isinstance(data.get(PERSON_ID), int)
    }
    if not marked:
        return 0
    ids = sorted(set(marked.values()))
    still: set[tuple[int, int]] = set()
    async with database.session() as session:
        for start in range(0, len(ids), CHUNK):
            statement = select(Person.id, Person.telegram_id).where(
                col(Person.id).in_(ids[start : start + CHUNK])
            )
            still |= {
                (person_id, telegram_id) for person_id, telegram_id in await session.exec(statement)
            }  # type: ignore[misc]
    gone = [tid for tid, person_id in marked.items() if (person_id, tid) not in still]
    for telegram_id in gone:
        forget(application, telegram_id)
    if gone:
        await application.update_persistence()
        log.info("dropped what the bot held for %d person(s) erased meanwhile", len(gone))
    return len(gone)
