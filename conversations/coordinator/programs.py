"""/newprogram <name>: a Tandem admin creates a program with the default settings (the
command line configures the rest); an audit event records it. One command, no state.
"""

from __future__ import annotations

from telegram import Update

from conversations.kit.context import TandemContext, known_person
from conversations.kit.joining import reprompt
from conversations.kit.profile import slot_text, zone_label
from conversations.kit.reply import say
from conversations.kit.text import clip
from locales.translator import Translator
from storage.models import AuditEvent, Program
from storage.programs import NAME_LENGTH, ProgramError, ProgramProblem, create_program


def _program_problem(tr: Translator, error: ProgramError, name: str) -> str:
    match error.problem:
        case ProgramProblem.BAD_NAME:
            return tr.gettext(
                "A program name needs 1 to {limit} characters, and not only digits.",
                limit=NAME_LENGTH,
            )
        case ProgramProblem.DUPLICATE_NAME:
            return tr.gettext(
                "A program named {name} already exists.", name=clip(name, NAME_LENGTH)
            )
        case _:
            return tr.gettext(
                "I couldn't create that program with the default settings. Please use the "
                "command line instead (tandem program create)."
            )


async def new_program(update: Update, ctx: TandemContext) -> None:
    tr = ctx.tr
    user = update.effective_user
    assert user is not None
    if user.id not in ctx.services.settings.admin_telegram_ids:
        await say(update, tr.gettext("Only Tandem administrators can create programs."))
        await reprompt(update, ctx)
        return
    name = " ".join(ctx.args or [])
    if not name:
        await say(
            update,
            tr.gettext(
                "Send the program's name after the command, for example: "
                "/newprogram Career Bridge Ottawa"
            ),
        )
        return
    defaults = Program.model_fields
    settings = ctx.services.settings
    try:
        async with ctx.db.session() as session:
            program = await create_program(
                session,
                name=name,
                weeks=defaults["weeks"].default,
                checkin_weekday=defaults["checkin_weekday"].default,
                checkin_time=defaults["checkin_time"].default,
                timezone=settings.default_timezone,
                default_locale=settings.default_locale,
                track=None,
                now=ctx.now(),
            )
            person = await known_person(session, ctx, user.id)
            session.add(
                AuditEvent(
                    actor_id=None if person is None else person.id,
                    actor_label=f"admin {user.id}",
                    action="program.create",
                    subject=f"program:{program.id}",
                    detail={"name": program.name},
                    at=ctx.now(),
                )
            )
    except ProgramError as error:
        await say(update, _program_problem(tr, error, name))
        return
    await say(update, _program_created(tr, program))


def _program_created(tr: Translator, program: Program) -> str:
    return "\n\n".join(
        [
            tr.gettext(
                "✅ Program <b>{name}</b> created (id {id}).", name=program.name, id=program.id
            ),
            tr.ngettext(
                "Matches last {n} week. Weekly check-in: {slot}. Time zone: {zone}.",
                "Matches last {n} weeks. Weekly check-in: {slot}. Time zone: {zone}.",
                program.weeks,
                slot=slot_text(tr, program.checkin_weekday, program.checkin_time),
                zone=zone_label(tr, program.timezone),
            ),
            tr.gettext(
                "Next step: send /invite and choose “Coordinator” to invite the program's "
                "coordinator."
            ),
        ]
    )
