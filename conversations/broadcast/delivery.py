"""What a participant receives: the dispatcher's renderer for broadcast deliveries."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from conversations.kit.reply import OutgoingMessage
from locales.translator import Translator, escape, translator
from storage.broadcasts import RECEIVING
from storage.models import Broadcast, BroadcastDelivery, Person, Program


def message_text(tr: Translator, program: str, text: str) -> str:
    """The message as a participant reads it: a first line naming the program, in their
    language, then the coordinator's text as typed."""
    header = tr.gettext("📣 <b>Message from your coordinator</b> · {program}", program=program)
    return f"{header}\n\n{escape(text)}"


async def render_delivery(
    session: AsyncSession, delivery: BroadcastDelivery, person: Person
) -> OutgoingMessage | None:
    """The dispatcher's renderer for broadcasts. None (the delivery fails, unsent) when
    the person stopped taking part since the broadcast was written."""
    if person.status not in RECEIVING:
        return None
    broadcast = await session.get(Broadcast, delivery.broadcast_id)
    program = None if broadcast is None else await session.get(Program, broadcast.program_id)
    if broadcast is None or program is None:
        return None
    tr = translator(person.locale)
    return OutgoingMessage(message_text(tr, program.name, broadcast.text), None)
