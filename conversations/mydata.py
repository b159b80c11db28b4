"""/mydata: a participant (or a coordinator) gets a readable summary, in their language,
of everything Tandem stores about them, and the same data in full as a JSON document.

```mermaid
stateDiagram-v2
    [*] --> Stranger: /mydata from someone the bot does not know (how to join)
    [*] --> Sent: /mydata (the summary, then the document)
    Stranger --> [*]
    Sent --> [*]
```

The document is built by `storage.mydata.person_document`, which covers every table that
refers to a person; the summary counts what the document holds, so the two agree.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from conversations.kit.context import TandemContext, known_person
from conversations.kit.joining import LANGUAGE_NAMES, how_to_join
from conversations.kit.reply import say
from conversations.kit.text import labelled
from locales.translator import N_, Html, Translator
from storage.models import Role
from storage.mydata import document_bytes, person_document

ROLES = {Role.MENTEE: N_("mentee"), Role.MENTOR: N_("mentor"), Role.COORDINATOR: N_("coordinator")}
FILE_NAME = "tandem-my-data.json"


def summary(tr: Translator, document: dict[str, Any]) -> str:
    """What the document holds, in a few lines a person can read on a phone."""
    profile = document["profile"]
    prompts = document["prompts"]

    def count(kind: str) -> int:
        return sum(1 for prompt in prompts if prompt["kind"] == kind and prompt["answers"])

    def line(label: str, value: str) -> str:
        return labelled(tr, Html(tr.gettext(label)), value)

    programs = ", ".join(
        tr.gettext(
            "{program} ({role})",
            program=membership["program"] or "?",
            role=tr.gettext(ROLES.get(membership["role"], membership["role"])),
        )
        for membership in document["memberships"]
    )
    return "\n".join(
        [
            tr.gettext("<b>What Tandem stores about you</b>"),
            line(N_("Name"), profile["name"] or "—"),
            line(N_("Username"), f"@{profile['username']}" if profile["username"] else "—"),
            line(N_("Language"), LANGUAGE_NAMES.get(profile["language"], profile["language"])),
            line(N_("Time zone"), profile["timezone"] or "—"),
            line(
                N_("Consent"),
                tr.gettext(
                    "given on {day} (wording of {version})",
                    day=profile["consent_at"][:10],
                    version=profile["consent_version"],
                ),
            ),
            line(N_("Programs"), programs or "—"),
            line(N_("Matches"), tr.number(len(document["matches"]))),
            line(N_("Check-ins answered"), tr.number(count("checkin"))),
            line(N_("Reflections answered"), tr.number(count("reflection"))),
            line(N_("Surveys answered"), tr.number(count("closure") + count("followup"))),
            line(N_("Meeting logs you wrote"), tr.number(len(document["meeting_logs"]))),
            line(N_("Goals"), tr.number(len(document["goals"]))),
            line(N_("Flags on your matches"), tr.number(len(document["flags"]))),
            line(N_("Recorded actions about you"), tr.number(len(document["audit_events"]))),
            "",
            tr.gettext(
                "Everything, word for word, is in the file below. Your partner and your "
                "program's coordinators see your profile, your match and your answers; "
                "nobody else does. To erase your data, send /deleteme."
            ),
        ]
    )


async def mydata_command(update: Update, ctx: TandemContext) -> None:
    assert update.effective_user is not None and update.effective_chat is not None
    tr = ctx.tr
    async with ctx.db.session() as session:
        person = await known_person(session, ctx, update.effective_user.id)
        document = None if person is None else await person_document(session, person)
    if document is None:
        await say(update, how_to_join(ctx))
        return
    await say(update, summary(tr, document))
    await ctx.bot.send_document(
        update.effective_chat.id,
        document=document_bytes(document),
        filename=FILE_NAME,
        caption=tr.gettext("Your data in Tandem (JSON)"),
    )


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Register before onboarding, whose catch-all would otherwise take /mydata."""
    return [CommandHandler("mydata", mydata_command, filters.ChatType.PRIVATE)]
