"""The summary of an answered check-in and changing an answer from it while the week is
open: pick a question, and it is asked again with its current answer."""

from __future__ import annotations

from conversations import engine
from conversations.checkin.common import (
    TapContext,
    closed_text,
    stale_button,
)
from conversations.instruments import (
    Instrument,
)
from conversations.kit.buttons import Button, keyboard
from conversations.kit.prompt import (
    EDIT,
    SUMMARY,
    question_message,
    summary_message,
)
from conversations.kit.reply import (
    Asked,
    OutgoingMessage,
    Reply,
)
from locales.translator import Translator
from storage.answers import (
    stored_answers,
)
from storage.models import (
    Prompt,
    PromptStatus,
)


def _edit_picker(
    tr: Translator, prompt: Prompt, instrument: Instrument, answers: dict[str, str]
) -> OutgoingMessage:
    summary = summary_message(
        tr, prompt, instrument, answers, tr.gettext("Which answer do you want to change?")
    )
    buttons: list[Button] = [
        (tr.gettext(question.label), engine.callback(prompt.id or 0, EDIT, question.key))
        for question in engine.applicable(instrument, answers)
    ]
    rows = [buttons[index : index + 2] for index in range(0, len(buttons), 2)]
    rows.append([(tr.gettext("← Back"), engine.callback(prompt.id or 0, SUMMARY))])
    return OutgoingMessage(summary.text, keyboard(rows))


async def _answered_and_open(state: TapContext) -> tuple[Instrument, dict[str, str]] | Reply:
    """For the summary's buttons: the instrument and answers, or why they cannot change."""
    prompt, tr = state.prompt, state.tr
    instrument = await state.instrument()
    if prompt.status != PromptStatus.ANSWERED or instrument is None:
        return await state.stale(stale_button(tr))
    if not state.is_open:
        return Reply(notice=closed_text(tr))
    return instrument, await stored_answers(state.session, prompt.id or 0)


async def on_edit(state: TapContext) -> Reply:
    """Edit an answer: pick a question (the summary's buttons change), then that
    question is asked again with its current answer."""
    found = await _answered_and_open(state)
    if isinstance(found, Reply):
        return found
    instrument, answers = found
    tr, prompt = state.tr, state.prompt
    assert prompt.id is not None
    if not state.tap.option:
        return Reply(edit=_edit_picker(tr, prompt, instrument, answers))
    question = instrument.question(state.tap.option)
    if question is None or question not in engine.applicable(instrument, answers):
        return Reply(notice=stale_button(tr))
    title = tr.gettext("Which answer do you want to change?")
    picker = summary_message(tr, prompt, instrument, answers, title)
    current = answers.get(question.key)
    before = None
    if current is not None:
        shown = engine.display_value(tr, question, current)
        before = "<i>" + tr.gettext("Your answer was: {answer}", answer=shown) + "</i>"
    selection = frozenset(current.split(",")) if current and question.options else frozenset()
    message = question_message(tr, prompt.id, question, before=before, selection=selection)
    return Reply(
        edit=OutgoingMessage(picker.text, None),
        messages=[message],
        asked=Asked(prompt.id, question.key),
    )


async def on_summary(state: TapContext) -> Reply:
    """Back from the edit picker: the summary as it was."""
    found = await _answered_and_open(state)
    if isinstance(found, Reply):
        return found
    instrument, answers = found
    title = state.tr.gettext("Thank you! Your check-in is saved.")
    return Reply(edit=summary_message(state.tr, state.prompt, instrument, answers, title))
