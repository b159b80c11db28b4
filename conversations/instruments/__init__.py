"""Instruments: the question sets of check-ins and surveys, kept as TOML data files here.

An instrument file names its `key` (the file's name), a `title`, an optional `intro`, and an
ordered list of `[[questions]]`. Each question has a `key`, a `kind`, the `text` people
read, a short `label` for summaries and edit buttons, and per kind:

- ``scale``: 1–5, or whole points from ``min`` to ``max`` (0–10 at most: "how likely
  are you to recommend…"), with optional ``low`` and ``high`` labels on the end buttons;
- ``choice`` (one answer) and ``multi`` (several, then Done): ``options``, each
  ``{ key, label }``; a multi option may be ``exclusive`` ("no concerns");
- ``yesno``;
- ``number``: ``min``, ``max``, optional ``unit`` and ``integer`` (default true);
- ``text``: ``optional`` (a Skip button) and ``max_length`` (default 1000);
- ``date``: a calendar day, typed ("2026-03-15", "15 mars 2026", "March 15, 2026").

Any question may carry a ``hint`` and a condition on an earlier answer, e.g.
``when = { question = "contact", not_in = ["none"] }`` (or ``in = [...]``). A multi
answer meets ``in`` when any chosen option is listed.

A condition may also name facts about the participant that no question asks, e.g.
``when = { track = ["career"] }`` (their program's track, any case) or
``when = { ending = ["early"] }`` (how their match ended: ``planned`` or ``early``), alone or
beside a question condition. `Instrument.given(facts)` is the instrument as that person
answers it: the questions whose facts do not hold are left out, and so is a question whose
fact the caller does not know.

Files are validated when loaded — an unknown kind or field, a duplicate key, a condition on
a later or unknown question, a key too long for a button's callback data — with an error
that names the file and the question, and cached. The user-facing strings are msgids:
`locales/extract.py` extracts them and the dialogues translate them where they are shown.
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from storage import schedule
from storage.models import Program

log = logging.getLogger(__name__)

INSTRUMENTS_DIR = Path(__file__).resolve().parent
SCALE_POINTS = ("1", "2", "3", "4", "5")
SCALE_RANGE = (0, 10)  # the widest scale: a likelihood to recommend
FACTS = {"track": None, "ending": frozenset({"planned", "early"})}
"""The facts a condition may name, with the values each can take (None: free text)."""
YES, NO = "yes", "no"
MAX_MULTI_OPTIONS = 10
DEFAULT_TEXT_LIMIT = 1000
MAX_TEXT_LIMIT = 4000  # Answer.value's column size
INSTRUMENT_KEY = re.compile(r"[a-z][a-z0-9_]{0,59}")
# Short keys keep a button's callback data, ci:<prompt id>:<question>:<option>, within
# Telegram's 64 bytes: at most 3 + 13 + 1 + 20 + 1 + 16 = 54 with a 13-digit prompt id.
QUESTION_KEY = re.compile(r"[a-z][a-z0-9_]{0,19}")
OPTION_KEY = re.compile(r"[a-z0-9][a-z0-9_]{0,15}")

DEFAULTS = {"mentee": "mentee_weekly", "mentor": "mentor_weekly", "pulse": "relationship_pulse"}
"""The instruments a program uses unless its settings say otherwise."""


class Kind(StrEnum):
    SCALE = "scale"
    CHOICE = "choice"
    MULTI = "multi"
    YESNO = "yesno"
    NUMBER = "number"
    TEXT = "text"
    DATE = "date"

    @property
    def typed(self) -> bool:
        """Answered by typing rather than by tapping."""
        return self in (Kind.NUMBER, Kind.TEXT, Kind.DATE)


class InstrumentError(ValueError):
    """An instrument file cannot be used; the message names the file and the question."""


@dataclass(frozen=True)
class Option:
    key: str
    label: str
    exclusive: bool = False


@dataclass(frozen=True)
class Condition:
    """Ask a question only when an earlier answer is (`values_in`) or is not
    (`values_not_in`) among some values. A question that was never asked meets neither."""

    question: str
    values: frozenset[str]
    negated: bool

    def holds(self, answers: Mapping[str, str]) -> bool:
        answer = answers.get(self.question)
        if answer is None:
            return False
        chosen = set(answer.split(",")) if answer else set()
        met = bool(chosen & self.values)
        return not met if self.negated else met


@dataclass(frozen=True)
class Question:
    key: str
    kind: Kind
    text: str
    label: str
    options: tuple[Option, ...] = ()
    hint: str | None = None
    low: str | None = None
    high: str | None = None
    minimum: float = 0
    maximum: float = 0
    integer: bool = True
    unit: str | None = None
    optional: bool = False
    max_length: int = DEFAULT_TEXT_LIMIT
    when: Condition | None = None
    points: tuple[str, ...] = SCALE_POINTS  # a scale's values, lowest first
    facts: tuple[tuple[str, frozenset[str]], ...] = ()  # (fact, values it must be among)

    def asked_given(self, facts: Mapping[str, str | None]) -> bool:
        """Whether someone with these facts is asked this question at all."""
        for name, values in self.facts:
            known = facts.get(name)
            if known is None or known.casefold() not in values:
                return False
        return True

    def option(self, key: str) -> Option | None:
        return next((option for option in self.options if option.key == key), None)

    @property
    def values(self) -> tuple[str, ...] | None:
        """Every value a tap can store, for kinds with a fixed set (None otherwise)."""
        if self.kind is Kind.SCALE:
            return self.points
        if self.kind is Kind.YESNO:
            return (YES, NO)
        if self.kind in (Kind.CHOICE, Kind.MULTI):
            return tuple(option.key for option in self.options)
        return None


@dataclass(frozen=True)
class Instrument:
    key: str
    title: str
    questions: tuple[Question, ...]
    intro: str | None = None

    def question(self, key: str) -> Question | None:
        return next((question for question in self.questions if question.key == key), None)

    def given(self, facts: Mapping[str, str | None]) -> Instrument:
        """The instrument as someone with these facts answers it (see the module's
        docstring): the same key and title, without the questions not meant for them."""
        kept = tuple(question for question in self.questions if question.asked_given(facts))
        return replace(self, questions=kept)


# --- parsing and validation --------------------------------------------------------------

INSTRUMENT_FIELDS = {"key", "title", "intro", "questions"}
COMMON_FIELDS = {"key", "kind", "text", "label", "hint", "when"}
KIND_FIELDS: dict[Kind, set[str]] = {
    Kind.SCALE: {"low", "high", "min", "max"},
    Kind.CHOICE: {"options"},
    Kind.MULTI: {"options"},
    Kind.YESNO: set(),
    Kind.NUMBER: {"min", "max", "unit", "integer"},
    Kind.TEXT: {"optional", "max_length"},
    Kind.DATE: set(),
}
OPTION_FIELDS = {"key", "label", "exclusive"}


class _Reader:
    """Reads one file's parsed TOML, raising InstrumentError with the place it is at."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.place = ""

    def fail(self, problem: str) -> InstrumentError:
        where = f"{self.source}: {self.place}: " if self.place else f"{self.source}: "
        return InstrumentError(where + problem)

    def text(self, table: dict[str, Any], name: str, *, required: bool = True) -> str | None:
        value = table.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"'{name}' must be a non-empty string")
        return value

    def number(self, table: dict[str, Any], name: str) -> float:
        value = table.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(f"'{name}' must be a number")
        return value

    def flag(self, table: dict[str, Any], name: str, default: bool) -> bool:
        value = table.get(name, default)
        if not isinstance(value, bool):
            raise self.fail(f"'{name}' must be true or false")
        return value

    def known_fields(self, table: dict[str, Any], allowed: set[str]) -> None:
        unknown = sorted(set(table) - allowed)
        if unknown:
            raise self.fail(f"unknown field(s) {', '.join(unknown)}; allowed: {sorted(allowed)}")


def parse_instrument(data: dict[str, Any], source: str = "<instrument>") -> Instrument:
    """Build and validate an instrument from parsed TOML."""
    reader = _Reader(source)
    reader.known_fields(data, INSTRUMENT_FIELDS)
    key = reader.text(data, "key")
    assert key is not None
    if not INSTRUMENT_KEY.fullmatch(key):
        raise reader.fail(f"instrument key {key!r} must be lower-case letters, digits and _")
    title = reader.text(data, "title")
    assert title is not None
    intro = reader.text(data, "intro", required=False)
    raw_questions = data.get("questions")
    if not isinstance(raw_questions, list) or not raw_questions:
        raise reader.fail("an instrument needs at least one [[questions]] entry")
    if not all(isinstance(raw, dict) for raw in raw_questions):
        raise reader.fail("each [[questions]] entry must be a table")
    all_keys = [raw.get("key") for raw in raw_questions]
    questions: list[Question] = []
    for index, raw in enumerate(raw_questions, start=1):
        reader.place = f"question {index}"
        questions.append(_parse_question(reader, raw, questions, all_keys))
    return Instrument(key=key, title=title, intro=intro, questions=tuple(questions))


def _parse_question(
    reader: _Reader, raw: dict[str, Any], earlier: list[Question], all_keys: list[Any]
) -> Question:
    key = raw.get("key")
    if not isinstance(key, str) or not QUESTION_KEY.fullmatch(key):
        raise reader.fail(
            f"question key {key!r} must be 1–20 lower-case letters, digits or _, "
            "starting with a letter"
        )
    reader.place = f"question {key!r}"
    if any(question.key == key for question in earlier):
        raise reader.fail("duplicate question key")
    try:
        kind = Kind(raw.get("kind"))
    except ValueError:
        raise reader.fail(
            f"unknown kind {raw.get('kind')!r}; use one of {', '.join(Kind)}"
        ) from None
    reader.known_fields(raw, COMMON_FIELDS | KIND_FIELDS[kind])
    fields: dict[str, Any] = {
        "key": key,
        "kind": kind,
        "text": reader.text(raw, "text"),
        "label": reader.text(raw, "label"),
        "hint": reader.text(raw, "hint", required=False),
    }
    if kind is Kind.SCALE:
        fields["low"] = reader.text(raw, "low", required=False)
        fields["high"] = reader.text(raw, "high", required=False)
        fields["points"] = _parse_points(reader, raw)
    elif kind in (Kind.CHOICE, Kind.MULTI):
        fields["options"] = _parse_options(reader, raw.get("options"), kind)
    elif kind is Kind.NUMBER:
        fields.update(_parse_number(reader, raw))
    elif kind is Kind.TEXT:
        fields["optional"] = reader.flag(raw, "optional", False)
        limit = raw.get("max_length", DEFAULT_TEXT_LIMIT)
        if not _whole(limit) or not 1 <= limit <= MAX_TEXT_LIMIT:
            raise reader.fail(f"'max_length' must be a whole number from 1 to {MAX_TEXT_LIMIT}")
        fields["max_length"] = limit
    question = Question(**fields)
    if "when" in raw:
        question = _with_condition(reader, question, raw["when"], earlier, all_keys)
    return question


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_options(reader: _Reader, raw: Any, kind: Kind) -> tuple[Option, ...]:
    if not isinstance(raw, list) or len(raw) < 2:
        raise reader.fail("'options' must list at least two { key, label } tables")
    if kind is Kind.MULTI and len(raw) > MAX_MULTI_OPTIONS:
        raise reader.fail(f"a multi question has at most {MAX_MULTI_OPTIONS} options")
    options: list[Option] = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise reader.fail("each option must be a { key, label } table")
        reader.known_fields(entry, OPTION_FIELDS)
        key = entry.get("key")
        if not isinstance(key, str) or not OPTION_KEY.fullmatch(key):
            raise reader.fail(f"option key {key!r} must be 1–16 lower-case letters, digits or _")
        if any(option.key == key for option in options):
            raise reader.fail(f"duplicate option key {key!r}")
        exclusive = reader.flag(entry, "exclusive", False)
        if exclusive and kind is not Kind.MULTI:
            raise reader.fail("only the options of a multi question can be exclusive")
        label = reader.text(entry, "label")
        assert label is not None
        options.append(Option(key=key, label=label, exclusive=exclusive))
    return tuple(options)


def _parse_points(reader: _Reader, raw: dict[str, Any]) -> tuple[str, ...]:
    if "min" not in raw and "max" not in raw:
        return SCALE_POINTS
    lowest, highest = raw.get("min"), raw.get("max")
    first, last = SCALE_RANGE
    if not (_whole(lowest) and _whole(highest) and first <= lowest < highest <= last):
        raise reader.fail(f"a scale's 'min' and 'max' must be whole numbers from {first} to {last}")
    return tuple(str(point) for point in range(lowest, highest + 1))


def _parse_number(reader: _Reader, raw: dict[str, Any]) -> dict[str, Any]:
    minimum, maximum = reader.number(raw, "min"), reader.number(raw, "max")
    if minimum >= maximum:
        raise reader.fail("'min' must be smaller than 'max'")
    return {
        "minimum": minimum,
        "maximum": maximum,
        "unit": reader.text(raw, "unit", required=False),
        "integer": reader.flag(raw, "integer", True),
    }


def _with_condition(
    reader: _Reader, question: Question, raw: Any, earlier: list[Question], all_keys: list[Any]
) -> Question:
    if not isinstance(raw, dict):
        raise reader.fail("'when' must be a table like { question = \"contact\", in = [...] }")
    reader.known_fields(raw, {"question", "in", "not_in", *FACTS})
    facts = _parse_facts(reader, raw)
    if facts:
        question = replace(question, facts=facts)
        if not {"question", "in", "not_in"} & set(raw):
            return question
    target_key = raw.get("question")
    target = next((q for q in earlier if q.key == target_key), None)
    if target is None:
        problem = "is not asked before it" if target_key in all_keys else "is no question here"
        raise reader.fail(f"the condition refers to {target_key!r}, which {problem}")
    operators = [name for name in ("in", "not_in") if name in raw]
    if len(operators) != 1:
        raise reader.fail("'when' needs exactly one of 'in' or 'not_in'")
    values = raw[operators[0]]
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise reader.fail(f"'when.{operators[0]}' must be a non-empty list of strings")
    allowed = target.values
    if allowed is None:
        raise reader.fail(f"conditions cannot refer to {target.kind} question {target.key!r}")
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise reader.fail(
            f"the condition names {unknown}, which {target.key!r} cannot answer "
            f"(it answers {list(allowed)})"
        )
    condition = Condition(target.key, frozenset(values), negated=operators[0] == "not_in")
    return replace(question, when=condition)


def _parse_facts(reader: _Reader, raw: dict[str, Any]) -> tuple[tuple[str, frozenset[str]], ...]:
    facts: list[tuple[str, frozenset[str]]] = []
    for name, allowed in FACTS.items():
        if name not in raw:
            continue
        values = raw[name]
        if (
            not isinstance(values, list)
            or not values
            or not all(isinstance(value, str) for value in values)
        ):
            raise reader.fail(f"'when.{name}' must be a non-empty list of strings")
        unknown = sorted(set(values) - allowed) if allowed is not None else []
        if unknown:
            raise reader.fail(f"'when.{name}' names {unknown}; it can be {sorted(allowed or ())}")
        facts.append((name, frozenset(value.casefold() for value in values)))
    return tuple(facts)


# --- loading ----------------------------------------------------------------------------


def load_file(path: Path) -> Instrument:
    """Read and validate one instrument file; its key must be the file's name."""
    try:
        with path.open("rb") as source:
            data = tomllib.load(source)
    except tomllib.TOMLDecodeError as error:
        raise InstrumentError(f"{path.name}: not valid TOML ({error})") from None
    instrument = parse_instrument(data, path.name)
    if instrument.key != path.stem:
        raise InstrumentError(f"{path.name}: key {instrument.key!r} must match the file name")
    return instrument


@cache
def load_instrument(key: str) -> Instrument:
    """The instrument with this key, from conversations/instruments/<key>.toml (cached)."""
    if not re.fullmatch(r"[a-z0-9_]{1,60}", key):
        raise InstrumentError(f"{key!r} is not an instrument key")
    path = INSTRUMENTS_DIR / f"{key}.toml"
    if not path.is_file():
        raise InstrumentError(f"there is no instrument {key!r} (looked for {path.name})")
    return load_file(path)


def available_instruments() -> list[str]:
    return sorted(path.stem for path in INSTRUMENTS_DIR.glob("*.toml"))


def load_all() -> dict[str, Instrument]:
    """Every instrument file, validated (use at start-up or in tests to fail early)."""
    return {key: load_instrument(key) for key in available_instruments()}


# --- which instrument a program uses ------------------------------------------------------


def instrument_key_for(program: Program | None, role: str, pulse: bool) -> str:
    """The key of the instrument a participant answers: the program's choice
    (`storage.schedule.instrument_for`, which the dispatcher uses too), else the default.
    An unknown choice falls back to the default with a warning, so a typo in a program's
    settings never stops its check-ins."""
    default = schedule.instrument_for(role, pulse, {})
    key = schedule.instrument_for(role, pulse, (program.settings if program else None) or {})
    if key == default:
        return default
    try:
        load_instrument(key)
    except InstrumentError as error:
        program_id = program.id if program else None
        log.warning("program %s: instrument %s unusable (%s)", program_id, key, error)
        return default
    return key


def instrument_for(program: Program | None, role: str, pulse: bool) -> Instrument:
    """The instrument a participant in `role` answers this week (`pulse`: the monthly
    relationship pulse that replaces the weekly check-in)."""
    return load_instrument(instrument_key_for(program, role, pulse))
