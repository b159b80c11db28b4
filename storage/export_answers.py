"""Answers for a spreadsheet: one row per answer (long), and one sheet per instrument with
one row per check-in and one column per question (wide).

Answers are stored as text; here a scale or number answer becomes a number, and a tapped
answer (choice, multiple choice, yes/no) keeps its key with the option's label beside it,
in the program's language. What the questions are comes from the instrument files, which
live in conversations/ where storage cannot look: the caller hands them down as a
`Codebook`, with the translator to use.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from storage.export_table import Cell, ExportTable, Stamp, timed
from storage.models import Match, Prompt, PromptKind, Role

KIND_ORDER = (PromptKind.CHECKIN, PromptKind.REFLECTION, PromptKind.CLOSURE, PromptKind.FOLLOWUP)
LABELLED = ("choice", "multi", "yesno")
LABEL_SUFFIX = "_label"
LONG_COLUMNS = [
    "answer_id",
    "prompt_id",
    "person_id",
    "name",
    "role",
    "match_id",
    "kind",
    "instrument",
    "period",
    *timed("due_at"),
    "question_key",
    "question_label",
    "value",
    "value_label",
    *timed("answered_at"),
]
WIDE_COLUMNS = [
    "prompt_id",
    "program",
    "match_id",
    "person_id",
    "name",
    "role",
    "period",
    "status",
    *timed("due_at", "sent_at", "answered_at"),
]


class OptionLike(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def label(self) -> str: ...


class QuestionLike(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def options(self) -> Sequence[OptionLike]: ...


class InstrumentLike(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def questions(self) -> Sequence[QuestionLike]: ...


class Gettext(Protocol):
    def gettext(self, message: str) -> str: ...


@dataclass(frozen=True)
class Codebook:
    """The instruments by key (conversations.instruments.load_all()) and a translator for
    a language code (locales.translator.translator)."""

    instruments: Mapping[str, InstrumentLike]
    translator: Callable[[str], Gettext]


@dataclass(frozen=True)
class StoredAnswer:
    id: int
    prompt_id: int
    question_key: str
    value: str
    answered_at: datetime


class Labels:
    """Questions by instrument and key, and answers turned into cells, in one language."""

    def __init__(self, codebook: Codebook, language: str) -> None:
        self.tr = codebook.translator(language)
        self.instruments = codebook.instruments
        self._questions = {
            key: {question.key: question for question in instrument.questions}
            for key, instrument in codebook.instruments.items()
        }

    def question(self, instrument: str, key: str) -> QuestionLike | None:
        return self._questions.get(instrument, {}).get(key)

    def value(self, question: QuestionLike | None, raw: str) -> Cell:
        """A scale or number answer as a number; anything else as stored."""
        if question is None or question.kind not in ("scale", "number"):
            return raw
        try:
            number = float(raw)
        except ValueError:
            return raw
        return int(number) if number.is_integer() else number

    def label(self, question: QuestionLike | None, raw: str) -> str | None:
        """A tapped answer in words ("Yes, by video or phone"); None for the others."""
        if question is None or question.kind not in LABELLED:
            return None
        if question.kind == "yesno":
            return {"yes": self.tr.gettext("Yes"), "no": self.tr.gettext("No")}.get(raw, raw)
        labels = {option.key: self.tr.gettext(option.label) for option in question.options}
        return "; ".join(labels.get(key, key) for key in raw.split(",") if key)


@dataclass(frozen=True)
class AnswerSource:
    """What the answer tables are built from, loaded once for the whole program."""

    program_name: str
    prompts: Sequence[Prompt]  # in due order
    answers: Mapping[int, Sequence[StoredAnswer]]  # by prompt id, in answer order
    matches: Mapping[int, Match]
    name_of: Callable[[int | None], str | None]
    stamp: Stamp
    labels: Labels

    def role(self, prompt: Prompt) -> str | None:
        match = self.matches.get(prompt.match_id)
        if match is None:
            return None
        if prompt.person_id == match.mentor_id:
            return str(Role.MENTOR)
        return str(Role.MENTEE) if prompt.person_id == match.mentee_id else None


def long_table(source: AnswerSource, kinds: Sequence[str]) -> ExportTable:
    """One row per answer to the program's prompts of these kinds."""
    labels = source.labels
    rows: list[list[Cell]] = []
    for prompt in source.prompts:
        if prompt.kind not in kinds:
            continue
        head: list[Cell] = [prompt.id, prompt.person_id, source.name_of(prompt.person_id)]
        head += [source.role(prompt), prompt.match_id, prompt.kind, prompt.instrument]
        head += [prompt.period, *source.stamp(prompt.due_at)]
        for answer in source.answers.get(prompt.id or 0, ()):
            question = labels.question(prompt.instrument, answer.question_key)
            rows.append(
                [
                    answer.id,
                    *head,
                    answer.question_key,
                    None if question is None else labels.tr.gettext(question.label),
                    labels.value(question, answer.value),
                    labels.label(question, answer.value),
                    *source.stamp(answer.answered_at),
                ]
            )
    return ExportTable(list(LONG_COLUMNS), rows)


def wide_instruments(source: AnswerSource, used: Iterable[str]) -> list[str]:
    """The instruments that get a wide sheet: those the program uses (`used`), then any
    other its prompts were sent with, by kind and name."""
    seen = {prompt.instrument: prompt.kind for prompt in source.prompts}
    chosen = list(dict.fromkeys(used))

    def rank(key: str) -> tuple[int, str]:
        kind = seen[key]
        return (KIND_ORDER.index(PromptKind(kind)) if kind in KIND_ORDER else len(KIND_ORDER), key)

    others = sorted((key for key in seen if key not in chosen), key=rank)
    return chosen + others


@dataclass(frozen=True)
class Asked:
    """A question's column in a wide sheet (`question`: None for a key the instrument
    no longer has)."""

    key: str
    question: QuestionLike | None
    column: str

    @property
    def labelled(self) -> bool:
        return self.question is not None and self.question.kind in LABELLED


def wide_table(source: AnswerSource, instrument_key: str) -> ExportTable:
    """One row per prompt of the instrument that was sent or answered; one column per
    question (its number, key or text), and its label beside a tapped one."""
    labels = source.labels
    prompts = [
        prompt
        for prompt in source.prompts
        if prompt.instrument == instrument_key
        and (prompt.sent_at is not None or source.answers.get(prompt.id or 0))
    ]
    questions = _question_columns(source, instrument_key, prompts)
    columns = list(WIDE_COLUMNS)
    for asked in questions:
        columns += [asked.column, asked.column + LABEL_SUFFIX] if asked.labelled else [asked.column]
    rows: list[list[Cell]] = []
    for prompt in prompts:
        given = {
            answer.question_key: answer.value for answer in source.answers.get(prompt.id or 0, ())
        }
        row: list[Cell] = [prompt.id, source.program_name, prompt.match_id, prompt.person_id]
        row += [source.name_of(prompt.person_id), source.role(prompt), prompt.period, prompt.status]
        row += [*source.stamp(prompt.due_at), *source.stamp(prompt.sent_at)]
        row += source.stamp(prompt.answered_at)
        for asked in questions:
            raw = given.get(asked.key)
            row.append(None if raw is None else labels.value(asked.question, raw))
            if asked.labelled:
                row.append(None if raw is None else labels.label(asked.question, raw))
        rows.append(row)
    table = ExportTable(columns, rows)
    _describe_wide(table, labels, instrument_key, questions)
    return table


def _question_columns(
    source: AnswerSource, instrument_key: str, prompts: Sequence[Prompt]
) -> list[Asked]:
    """The instrument's questions in order, then
    keys answered that it no longer asks, so nothing stored is left out. A key that is
    also a fixed column's name gets a `q_` prefix."""
    instrument = source.labels.instruments.get(instrument_key)
    keys = [question.key for question in instrument.questions] if instrument else []
    for prompt in prompts:
        for answer in source.answers.get(prompt.id or 0, ()):
            if answer.question_key not in keys:
                keys.append(answer.question_key)
    return [
        Asked(
            key,
            source.labels.question(instrument_key, key),
            f"q_{key}" if key in WIDE_COLUMNS else key,
        )
        for key in keys
    ]


def _describe_wide(
    table: ExportTable,
    labels: Labels,
    instrument_key: str,
    questions: Sequence[Asked],
) -> None:
    tr = labels.tr
    instrument = labels.instruments.get(instrument_key)
    title = tr.gettext(instrument.title) if instrument else instrument_key
    table.about = tr.gettext(
        "{title}: one row per questionnaire sent or answered, one column per question."
    ).format(title=title)
    table.notes["status"] = tr.gettext(
        "Where it stands: answered, sent (still open), missed (closed without an answer) or "
        "expired (closed during a pause, not held against the participant)."
    )
    table.notes["answered_at"] = tr.gettext("When it was completed (empty if unfinished).")
    for asked in questions:
        question = asked.question
        if question is None:
            table.notes[asked.column] = tr.gettext(
                "Answers to “{key}”, a question this questionnaire no longer asks."
            ).format(key=asked.key)
            continue
        table.notes[asked.column] = f"{tr.gettext(question.text)} ({_kind_note(tr, question)})"
        if asked.labelled:
            table.notes[asked.column + LABEL_SUFFIX] = tr.gettext(
                "The answer to “{label}” in words."
            ).format(label=tr.gettext(question.label))


def _kind_note(tr: Gettext, question: QuestionLike) -> str:
    kind = question.kind
    if kind == "scale":
        return tr.gettext("a number from 1 to 5")
    if kind == "number":
        return tr.gettext("a number")
    if kind == "yesno":
        return tr.gettext("yes or no")
    if kind in ("choice", "multi"):
        options = "; ".join(f"{o.key} = {tr.gettext(o.label)}" for o in question.options)
        if kind == "multi":
            return tr.gettext("the keys chosen, comma-separated: {options}").format(options=options)
        return tr.gettext("the key chosen: {options}").format(options=options)
    return tr.gettext("the text typed, empty when skipped")


def group_answers(answers: Iterable[StoredAnswer]) -> dict[int, list[StoredAnswer]]:
    grouped: dict[int, list[StoredAnswer]] = defaultdict(list)
    for answer in answers:
        grouped[answer.prompt_id].append(answer)
    return grouped
