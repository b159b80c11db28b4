"""Walking a draft through the instrument: the quick line's gaps or every question, the
match when there are several, the confirmation, and storing the log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from conversations import engine
from conversations.instruments import Instrument, Question
from conversations.kit.buttons import keyboard
from conversations.kit.context import TandemContext
from conversations.kit.meeting_parse import (
    Missing,
    ParsedLog,
    parse_quick_log,
)
from conversations.kit.meeting_record import (
    meeting_instrument,
    program_topics,
    record_lines,
    topic_answers,
    topics_of,
)
from conversations.kit.reply import OutgoingMessage, Reply
from conversations.kit.text import partner_name
from conversations.kit.topics import Topic
from conversations.meeting_log.draft import (
    CANCEL,
    MATCH,
    PROBLEM_FIELD,
    SAVE,
    Draft,
    Outcome,
    bold,
    draft_data,
    log_refusal,
    not_understood,
    ours,
    problem_text,
    record_message,
    shown_answer,
    walk_of,
)
from locales.translator import Translator, escape
from storage.meetings import (
    meeting_for_update,
    open_matches,
)
from storage.models import Match, MeetingLog, Person, Program
from storage.programs import zone_of


@dataclass
class Logging:
    """A draft with what it is about, read in the transaction that handles a step."""

    session: AsyncSession
    ctx: TandemContext
    person: Person
    draft: Draft
    match: Match | None = None
    program: Program | None = None

    @property
    def tr(self) -> Translator:
        return self.ctx.tr

    @property
    def topics(self) -> tuple[Topic, ...]:
        return program_topics(self.program)

    @property
    def instrument(self) -> Instrument:
        return meeting_instrument(self.topics)

    @property
    def today(self) -> date:
        zone = zone_of(self.person, self.program)
        return self.ctx.now().astimezone(zone).date()

    def question(self) -> Question | None:
        """The question the draft is at (None: nothing left to ask)."""
        return engine.next_question(walk_of(self.instrument, self.draft), self.draft.answers)


async def with_match(logging: Logging) -> Outcome | None:
    """Load the draft's match and program; an Outcome when it has none to use."""
    draft, person, session = logging.draft, logging.person, logging.session
    if draft.match_id is None:
        return None
    if draft.meeting_id is not None:  # an edit: the log's own match, whatever its status
        logging.match = await session.get(Match, draft.match_id)
        program_id = logging.match.program_id if logging.match else None
        logging.program = await session.get(Program, program_id) if program_id else None
        return None
    match = next(
        (m for m in await open_matches(session, person.id or 0) if m.id == draft.match_id),
        None,
    )
    if match is None:
        return Outcome(Reply(notice=no_match(logging.tr)), clear=True)
    logging.match = match
    logging.program = await session.get(Program, match.program_id)
    return None


async def advance(
    logging: Logging, before: Sequence[str] = (), selection: frozenset[str] = frozenset()
) -> Outcome:
    """Ask what the draft still needs — the match, then each open question — or, when
    nothing is left, save it. `before`: lines to say first; `selection`: the options a
    multiple-choice question starts with ticked."""
    gone = await with_match(logging)
    if gone is not None:
        return gone
    draft = logging.draft
    if logging.match is None:
        return await _ask_match(logging, before)
    if draft.text is not None:
        before = [*before, *_read_quick(logging)]
    question = logging.question()
    if question is not None:
        return _ask(logging, question, before, selection)
    if draft.confirm:
        return _ask_confirmation(logging, before)
    return await _finish(logging)


def _read_quick(logging: Logging) -> list[str]:
    """Read the one-message log into the draft: what it gave becomes answers, what it
    left open becomes the questions to walk; returns what to say about unknown words."""
    draft = logging.draft
    parsed: ParsedLog = parse_quick_log(
        draft.text or "", today=logging.today, topics=logging.topics
    )
    draft.text = None
    given = {
        Missing.DATE: parsed.met_on.isoformat() if parsed.met_on else None,
        Missing.DURATION: None if parsed.minutes is None else str(parsed.minutes),
        Missing.MODE: parsed.mode.value if parsed.mode else None,
    }
    draft.answers = {piece.value: value for piece, value in given.items() if value is not None}
    draft.answers |= topic_answers([*parsed.topics, *parsed.free_topics], logging.topics)
    draft.keys = [piece.value for piece in parsed.missing]
    for problem in parsed.problems:
        draft.problems.setdefault(PROBLEM_FIELD[problem], []).append(problem.value)
    draft.confirm = bool(parsed.unknown_words) and not parsed.missing
    return [not_understood(logging.tr, parsed.unknown_words)] if parsed.unknown_words else []


def _ask(
    logging: Logging, question: Question, before: Sequence[str], selection: frozenset[str]
) -> Outcome:
    """The question (after any explanation of what was wrong with its earlier answer),
    with the engine's buttons."""
    tr, draft = logging.tr, logging.draft
    explained = [problem_text(tr, problem) for problem in draft.problems.pop(question.key, [])]
    rendered = engine.render_question(tr, question, draft.id, selection)
    text = "\n\n".join([*before, *explained, rendered.text])
    markup = keyboard(ours(rendered.rows)) if rendered.rows else None
    return Outcome(Reply(messages=[OutgoingMessage(text, markup)]), draft=draft)


async def _ask_match(logging: Logging, before: Sequence[str]) -> Outcome:
    """Someone with several matches says which one the meeting was with."""
    tr, draft, session = logging.tr, logging.draft, logging.session
    person_id = logging.person.id or 0
    rows = []
    for match in await open_matches(session, person_id):
        name = await partner_name(session, tr, match, person_id)
        rows.append([(name, draft_data(draft.id, MATCH, str(match.id)))])
    text = "\n\n".join([*before, bold(who_question(tr))])
    return Outcome(Reply(messages=[OutgoingMessage(text, keyboard(rows))]), draft=draft)


def who_question(tr: Translator) -> str:
    return tr.gettext("Who was this meeting with?")


def no_match(tr: Translator) -> str:
    return tr.gettext(
        "You need a match before you can log meetings. Your coordinator will let you know "
        "when you're paired."
    )


def _ask_confirmation(logging: Logging, before: Sequence[str]) -> Outcome:
    """A complete line with words that were not understood: show what was, and save
    only when told to."""
    tr, draft = logging.tr, logging.draft
    preview = record_lines(tr, _new_meeting(logging), logging.instrument)
    lines = [*before, tr.gettext("Here is what I understood:")]
    text = "\n\n".join(lines) + "\n" + "\n".join(preview)
    text += "\n\n" + escape(tr.gettext("Shall I save it?"))
    buttons = [
        (tr.gettext("✅ Save"), draft_data(draft.id, SAVE)),
        (tr.gettext("✖️ Cancel"), draft_data(draft.id, CANCEL)),
    ]
    return Outcome(Reply(messages=[OutgoingMessage(text, keyboard([buttons]))]), draft=draft)


def _new_meeting(logging: Logging) -> MeetingLog:
    """The complete draft as a log, not stored yet."""
    assert logging.match is not None and logging.match.id is not None
    blank = MeetingLog(
        match_id=logging.match.id,
        author_id=logging.person.id or 0,
        met_on=logging.today,
        minutes=0,
        mode="",
        source=logging.draft.source,
        created_at=logging.ctx.now(),
    )
    return _fields(logging, blank)


def _fields(logging: Logging, meeting: MeetingLog, part: str | None = None) -> MeetingLog:
    """Write the draft's answers into `meeting`: every field, or only `part`."""
    answers = logging.draft.answers
    if part in (None, "date"):
        meeting.met_on = date.fromisoformat(answers["date"])
    if part in (None, "duration"):
        meeting.minutes = int(answers["duration"])
    if part in (None, "mode"):
        meeting.mode = answers["mode"]
    if part in (None, "topics"):
        meeting.topics = topics_of(answers, logging.topics)
    if part in (None, "notes"):
        meeting.notes = answers.get("notes") or None
    return meeting


async def _finish(logging: Logging) -> Outcome:
    """Store the complete draft — a new log, or the changed field of one — and show it."""
    tr, draft, now = logging.tr, logging.draft, logging.ctx.now()
    if draft.meeting_id is not None:
        meeting = await meeting_for_update(logging.session, draft.meeting_id)
        refusal = log_refusal(tr, meeting, logging.person, now)
        if refusal is not None or meeting is None:
            return Outcome(Reply(notice=refusal), clear=True)
        _fields(logging, meeting, draft.part)
        meeting.updated_at = now
        logging.session.add(meeting)
        title, just_logged = tr.gettext("Meeting updated"), False
    else:
        meeting = _new_meeting(logging)
        logging.session.add(meeting)
        await logging.session.flush()
        title, just_logged = tr.gettext("Meeting logged"), True
    record = record_message(tr, meeting, logging.instrument, title, just_logged=just_logged)
    # The flag rules read the log once it has committed (a note's safety words alert now).
    return Outcome(Reply(messages=[record], evaluate_match=meeting.match_id), clear=True)


async def store(
    logging: Logging, question: Question, values: dict[str, str], message_id: int | None
) -> Outcome:
    """Keep an answer in the draft (dropping answers it made irrelevant), show it in the
    message that asked, and go on."""
    draft = logging.draft
    draft.answers |= values
    walk = walk_of(logging.instrument, draft)
    kept = engine.relevant_answers(walk, draft.answers)
    for asked in walk.questions:
        if asked.key in draft.answers and asked.key not in kept:
            del draft.answers[asked.key]
    answered = shown_answer(logging.tr, question, draft.answers, logging.topics)
    outcome = await advance(logging)
    outcome.reply.edit = OutgoingMessage(answered, None)
    outcome.reply.edit_message_id = message_id
    return outcome
