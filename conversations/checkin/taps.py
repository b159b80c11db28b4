"""Every ``ci:`` button: an answer tapped (or a multiple-choice selection changing), and the
controls — snooze, resume after a reminder, edit from the summary, a reason for /skip."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update

from conversations import engine
from conversations.checkin.common import (
    TapContext,
    current_question,
    done_or_closed,
    refusal,
    stale_button,
)
from conversations.checkin.pause import (
    on_skip_reason,
    on_snooze,
)
from conversations.checkin.summary import on_edit, on_summary
from conversations.instruments import (
    Instrument,
    Question,
)
from conversations.kit.context import TandemContext, known_person
from conversations.kit.profile import Invalid
from conversations.kit.prompt import (
    EDIT,
    RESUME,
    SKIP,
    SNOOZE,
    SUMMARY,
    contact_from_logs,
    prompt_header,
    question_message,
    snooze_row,
    store_and_continue,
)
from conversations.kit.reply import (
    Answering,
    Asked,
    OutgoingMessage,
    Reply,
    deliver,
)
from storage.answers import OPEN, tapped_prompt
from storage.models import (
    Prompt,
    PromptStatus,
)


async def on_tap(update: Update, ctx: TandemContext) -> None:
    """Every `ci:` button: one transaction reads the prompt, checks the tap belongs to its
    person, and stores the answer; the chat is updated after it commits."""
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    tap = engine.parse_callback(query.data)
    message_id = query.message.message_id if query.message else None
    async with ctx.db.session() as session:
        person = await known_person(session, ctx, update.effective_user.id)
        found = await tapped_prompt(session, tap.prompt_id) if tap and person else None
        if tap is None or person is None:
            reply = Reply(notice=stale_button(ctx.tr))
        elif found is None:
            reply = await current_question(session, ctx, person)
            reply.notice = stale_button(ctx.tr)
        elif found.prompt.person_id != person.id:
            reply = Reply(
                notice=ctx.tr.gettext("This button isn't for you, so nothing was changed.")
            )
        else:
            state = TapContext(session, ctx, person, found, tap, message_id)
            reply = await CONTROLS.get(tap.key, _on_answer)(state)
    await deliver(update, ctx, reply)


async def _on_answer(state: TapContext) -> Reply:
    """A tapped answer: stored if it answers the question the check-in is at (or, once
    the check-in is complete and the week still open, any question: an edit)."""
    prompt, tr = state.prompt, state.tr
    instrument = await state.instrument()
    question = instrument.question(state.tap.key) if instrument else None
    if instrument is None or question is None:
        return await state.stale(stale_button(tr))
    if not state.is_open or prompt.status not in (*OPEN, PromptStatus.ANSWERED):
        return await state.stale(refusal(tr, prompt))
    answers = state.answers
    if not _may_answer(instrument, answers, question, prompt):
        if question.key in answers:
            return await state.stale(tr.gettext("You've already answered that question."))
        return await state.stale(stale_button(tr))
    try:
        result = engine.read_tap(tr, question, state.tap.option)
    except Invalid as invalid:
        return Reply(notice=str(invalid))
    if isinstance(result, engine.Toggle):
        return Reply(edit=await _asking(state, question, result.selection))
    answering = Answering(
        state.session, state.ctx, state.person, prompt, instrument, question, answers
    )
    return await store_and_continue(answering, result, state.message_id)


def _may_answer(
    instrument: Instrument, answers: dict[str, str], question: Question, prompt: Prompt
) -> bool:
    if prompt.status == PromptStatus.ANSWERED:
        return engine.applies(question, engine.relevant_answers(instrument, answers))
    return engine.next_question(instrument, answers) == question


async def _asking(
    state: TapContext, question: Question, selection: frozenset[str]
) -> OutgoingMessage:
    """The tapped message asking `question` again (a new multiple-choice selection),
    keeping the check-in's header and snooze buttons when it is the first message."""
    prompt = state.prompt
    assert prompt.id is not None
    if state.message_id is not None and state.message_id == prompt.telegram_message_id:
        instrument = await state.instrument()
        assert instrument is not None
        header = await prompt_header(state.session, state.tr, prompt, state.person, instrument)
        snooze = snooze_row(state.tr, prompt.id)
        return question_message(
            state.tr, prompt.id, question, header=header, selection=selection, extra_rows=[snooze]
        )
    return question_message(state.tr, prompt.id, question, selection=selection)


async def _on_resume(state: TapContext) -> Reply:
    """The reminder's button: the question the check-in is waiting for."""
    prompt, tr = state.prompt, state.tr
    instrument = await state.instrument()
    if prompt.status not in OPEN or not state.is_open or instrument is None:
        return Reply(notice=done_or_closed(tr, prompt))
    answers = state.answers
    noted = await contact_from_logs(state.session, tr, prompt, state.person, instrument, answers)
    question = engine.next_question(instrument, answers)
    if question is None:
        return Reply(notice=done_or_closed(tr, prompt))
    before = "\n\n".join(
        line for line in (tr.gettext("Let's pick up where you left off."), noted) if line
    )
    message = question_message(tr, prompt.id or 0, question, before=before)
    return Reply(messages=[message], asked=Asked(prompt.id or 0, question.key), drop_buttons=True)


CONTROLS: dict[str, Callable[[TapContext], Awaitable[Reply]]] = {
    SNOOZE: on_snooze,
    RESUME: _on_resume,
    EDIT: on_edit,
    SUMMARY: on_summary,
    SKIP: on_skip_reason,
}
