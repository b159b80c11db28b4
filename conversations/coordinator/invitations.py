"""/invite: a coordinator (or an admin, in any program) makes invitation links for one
role, one link or a batch of five, each single-use; every batch is an audit event.

```mermaid
stateDiagram-v2
    [*] --> Roles: /invite (after the program choice, for several)
    Roles --> Links: co:new:<program>:<role>:<1 or 5>
    Links --> [*]
```
"""

from __future__ import annotations

from conversations.coordinator.press import data
from conversations.kit.screens import Screen, Turn
from conversations.kit.text import local_day_text
from locales.translator import N_, escape
from storage.invites import create_invites, invite_link
from storage.models import AuditEvent, Role

BATCH = 5  # invitation links made by the "5 links" buttons

ROLE_LABELS = {
    Role.MENTEE: N_("Mentee"),
    Role.MENTOR: N_("Mentor"),
    Role.COORDINATOR: N_("Coordinator"),
}
ROLES = {role.value: role for role in Role}


async def invite_menu(turn: Turn) -> Screen:
    tr, program_id = turn.tr, turn.program_id
    roles = [(tr.gettext(ROLE_LABELS[role]), data("new", program_id, role, 1)) for role in Role]
    batches = [
        (
            tr.ngettext("{n} mentee link", "{n} mentee links", BATCH),
            data("new", program_id, Role.MENTEE, BATCH),
        ),
        (
            tr.ngettext("{n} mentor link", "{n} mentor links", BATCH),
            data("new", program_id, Role.MENTOR, BATCH),
        ),
    ]
    text = tr.gettext(
        "<b>{program}</b>: who are you inviting? Each link lets one person join.",
        program=turn.program.name,
    )
    return Screen(text, [roles, batches], waiting=True)


async def make_invites(turn: Turn) -> Screen:
    tr = turn.tr
    role = ROLES.get(turn.args[0]) if turn.args else None
    count = turn.number(1)
    if role is None or count not in (1, BATCH):
        raise turn.stale()
    now = turn.ctx.now()
    invites = await create_invites(
        turn.session,
        program_id=turn.program_id,
        role=role,
        now=now,
        count=count,
        created_by=turn.actor.person_id,
    )
    turn.session.add(
        AuditEvent(
            actor_id=turn.actor.person_id,
            actor_label=turn.actor.label(turn.program_id),
            action="invite.create",
            subject=f"program:{turn.program_id}",
            detail={"role": role, "count": count, "invites": [invite.id for invite in invites]},
            at=now,
        )
    )
    username = turn.ctx.bot.username
    links = "\n".join(invite_link(username, invite.code) for invite in invites)
    zone = (turn.actor.person and turn.actor.person.timezone) or turn.program.timezone
    until = local_day_text(tr, invites[0].expires_at, zone)
    lines = [
        tr.ngettext(
            "<b>Invitation link for {program}</b> ({role})",
            "<b>{n} invitation links for {program}</b> ({role})",
            count,
            program=turn.program.name,
            role=tr.gettext(ROLE_LABELS[role]),
        ),
        "",
        escape(links),
        "",
        tr.ngettext(
            "It works once, until {date}. Send it to the person you are inviting.",
            "Each works once, until {date}. Send one to each person you are inviting.",
            count,
            date=until,
        ),
    ]
    return Screen("\n".join(lines))
