"""An offline, in-process fake of the Telegram Bot API.

`FakeBotApi` is a `telegram.request.BaseRequest`: hand it to
``ApplicationBuilder().request(api).get_updates_request(api)`` and every Bot API call the
bot makes is answered here, recorded in ``api.calls`` and checked against the official
reference (``api.json``, Bot API 10.1): the method must exist, every parameter must be
documented, required parameters must be present, nested objects (keyboards, command
scopes, ...) must have documented fields only, and Telegram's limits are enforced (text
1-4096 characters after HTML parsing, counted in UTF-16 units as Telegram does, captions
up to 1024, callback data 1-64 bytes, at most 100 inline buttons, callback answers up to
200 characters, command names and descriptions). HTML markup is parsed the way Telegram
does it, so an unescaped ``<`` from user input or an unsupported tag such as ``<br>``
fails exactly like it would in production.

A contract violation (a bug in the bot) is appended to ``api.problems`` and answered
with Telegram's 400 error, so it raises `telegram.error.BadRequest` inside the handler;
call ``api.assert_no_problems()`` at the end of a test. Ordinary runtime errors that a
real bot must cope with (editing a deleted message, "message is not modified", a
blocked user) get the same answer Telegram gives but are *not* problems.

The fake keeps what the participant would see: ``api.chats[chat_id]`` lists the bot's
messages (`SentMessage`) with edits applied and deletions flagged. Failures can be
injected with `FakeBotApi.fail_next` and `FakeBotApi.time_out_next`.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import IO, Any

import httpx
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

BOT_TOKEN = "123456789:" + "A" * 35
BOT_ID = 999000
BOT_USERNAME = "tandem_test_bot"

BOT_USER: dict[str, Any] = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": "Tandem",
    "username": BOT_USERNAME,
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
    "can_connect_to_business": False,
    "has_main_web_app": False,
}

#: Where the Bot API reference is looked for, in order (first existing file wins).
API_JSON_ENV = "TELEGRAM_BOT_API_JSON"
_API_JSON_CANDIDATES = (
    Path(__file__).with_name("telegram-bot-api.json"),
    # CI clones the repository with the steering repo's shared/ beside it.
    Path(__file__).resolve().parents[2] / "shared" / "telegram-bot-api" / "api.json",
    Path("/work/shared/telegram-bot-api/api.json"),
)

MESSAGE_TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_MAX_BYTES = 64
INLINE_BUTTONS_LIMIT = 100
CALLBACK_ANSWER_LIMIT = 200
COMMANDS_LIMIT = 100
COMMAND_DESCRIPTION_LIMIT = 256

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of a message"
)
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"

_PRIMITIVES = frozenset({"Integer", "String", "Boolean", "Float", "InputFile"})
# Fields of InlineKeyboardButton that do not count as "the" action of the button.
_BUTTON_DECORATIONS = frozenset({"text", "icon_custom_emoji_id", "style"})
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_LANGUAGE_RE = re.compile(r"[a-z]{2}")
# With ``Defaults(parse_mode=..., ...)`` PTB fills these into every message-sending call,
# documented there or not (a poll, a sticker); Telegram ignores them, so do we.
_PTB_DEFAULT_PARAMS = frozenset(
    {"parse_mode", "link_preview_options", "disable_notification", "protect_content"}
)
# Methods whose ``text`` is a message text (1-4096 characters after entity parsing).
_TEXT_METHODS = frozenset({"sendMessage", "editMessageText", "sendMessageDraft"})
# Methods that deliver something to a chat; a blocked user refuses all of them.
_DELIVERING_PREFIXES = ("send", "copy", "forward", "edit")


@cache
def api_spec() -> dict[str, Any]:
    """The Bot API reference (``api.json``), loaded once per test session."""
    candidates = [Path(p) for p in [os.environ.get(API_JSON_ENV)] if p]
    candidates += _API_JSON_CANDIDATES
    for path in candidates:
        if path.is_file():
            with path.open(encoding="utf-8") as handle:
                return json.load(handle)
    raise FileNotFoundError(
        "Bot API reference api.json not found; looked in "
        + ", ".join(str(p) for p in candidates)
        + f" (set {API_JSON_ENV} to its path)"
    )


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram uses for entity offsets."""
    return len(text.encode("utf-16-le")) // 2


# --------------------------------------------------------------------------- records


@dataclass
class ApiCall:
    """One request the bot made. ``params`` are plain Python values as PTB sent them;
    ``files`` holds uploaded files as ``{field: (filename, bytes)}``."""

    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    failed: bool = False
    error_code: int | None = None
    description: str | None = None
    result: Any = None


@dataclass
class Button:
    """An inline keyboard button as the participant sees it."""

    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass
class SentMessage:
    """A message the bot sent, as it currently stands in the chat.

    ``text`` is the text (or caption) the participant reads: markup parsed away, HTML
    character references decoded, surrounding whitespace trimmed. ``raw`` is the text
    exactly as the bot sent it (markup included) and ``parse_mode`` the mode it used.
    ``edits`` lists the texts (as read) the message was edited to, in order, so
    ``edits[-1] == text`` after an edit; ``raw_edits`` the same as sent.
    ``payload`` is the Message JSON Telegram would report for it now (used for callback
    queries). ``keyboard`` holds the labels of a reply (non-inline) keyboard, if any.
    """

    message_id: int
    chat_id: int
    text: str
    parse_mode: str | None
    buttons: list[list[Button]] = field(default_factory=list)
    deleted: bool = False
    edits: list[str] = field(default_factory=list)
    kind: str = "text"
    raw: str = ""
    raw_edits: list[str] = field(default_factory=list)
    keyboard: list[list[str]] = field(default_factory=list)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict, repr=False)
    payload: dict[str, Any] = field(default_factory=dict, repr=False)
    seq: int = 0

    @property
    def labels(self) -> list[str]:
        """Inline button labels, flattened row by row."""
        return [button.text for row in self.buttons for button in row]

    @property
    def has_buttons(self) -> bool:
        return any(self.buttons)


@dataclass
class CallbackQueryRecord:
    """A callback query delivered to the bot (see `FakeBotApi.issue_callback_query`)."""

    id: str
    user_id: int
    chat_id: int | None
    message_id: int | None
    data: str | None
    answered: bool = False
    answer_text: str | None = None
    show_alert: bool = False


@dataclass
class _Injected:
    error_code: int | None  # None means "time out"
    description: str
    retry_after: int | None
    chat_id: int | None = None  # only calls to this chat (None: any)
    after_delivery: bool = False  # time out once the call has taken effect
    refused: bool = False  # the connection is refused: nothing reached Telegram


class _ApiError(Exception):
    """An error answer, as Telegram would send it."""

    def __init__(self, code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


class _Violation(_ApiError):
    """A 400 answer caused by the bot breaking the API contract: also a problem.

    ``more`` lists further violations found in the same call (recorded, not answered).
    """

    def __init__(self, description: str, more: Iterable[str] = ()) -> None:
        super().__init__(400, f"Bad Request: {description}")
        self.details = [description, *more]


# --------------------------------------------------------------------------- HTML


@dataclass
class _Rendered:
    raw: str
    plain: str
    entities: list[dict[str, Any]]


_TAG_RE = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)"
    r"((?:\s+[a-zA-Z][a-zA-Z0-9-]*(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?)*)\s*>"
)
_ATTR_RE = re.compile(r"([a-zA-Z][a-zA-Z0-9-]*)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?")
_CHARREF_RE = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]+);")
_NAMED_CHARREFS = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
    "tg-time": "date_time",
}


@dataclass
class _OpenTag:
    name: str
    start: int
    attrs: dict[str, str]
    language: str | None = None


def _parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram's HTML subset into plain text and entities (UTF-16 offsets).

    Raises `_Violation` with Telegram's wording for what Telegram refuses: unsupported
    tags (``<br>``, ``<p>``...), a bare ``<`` that does not start a tag, mismatched or
    unclosed tags.
    """
    out: list[str] = []
    pos16 = 0
    stack: list[_OpenTag] = []
    entities: list[dict[str, Any]] = []
    i = 0

    def byte_offset(index: int) -> int:
        return len(text[:index].encode("utf-8"))

    while i < len(text):
        char = text[i]
        if char == "<":
            match = _TAG_RE.match(text, i)
            if match is None:
                raise _Violation(
                    "can't parse entities: Unexpected end of name token at byte offset "
                    f"{byte_offset(i)}"
                )
            closing, name = match.group(1) == "/", match.group(2).lower()
            if name not in _HTML_TAGS:
                which = "end" if closing else "start"
                raise _Violation(
                    f'can\'t parse entities: Unsupported {which} tag "{name}" at byte offset '
                    f"{byte_offset(i)}"
                )
            if closing:
                if not stack or stack[-1].name != name:
                    expected = f'"</{stack[-1].name}>"' if stack else "no end tag"
                    raise _Violation(
                        f"can't parse entities: Unmatched end tag at byte offset "
                        f'{byte_offset(i)}, expected {expected}, found "</{name}>"'
                    )
                _close_tag(stack, pos16, entities)
            else:
                attrs = {
                    key.lower(): (value or "").strip("\"'")
                    for key, value in _ATTR_RE.findall(match.group(3))
                }
                if name == "span" and attrs.get("class") != "tg-spoiler":
                    raise _Violation(
                        'can\'t parse entities: Tag "span" must have class "tg-spoiler" '
                        f"at byte offset {byte_offset(i)}"
                    )
                stack.append(_OpenTag(name, pos16, attrs))
            i = match.end()
            continue
        if char == "&":
            match = _CHARREF_RE.match(text, i)
            if match is not None:
                decoded = _decode_charref(match.group(1))
                if decoded is not None:
                    out.append(decoded)
                    pos16 += utf16_len(decoded)
                    i = match.end()
                    continue
        out.append(char)
        pos16 += utf16_len(char)
        i += 1
    if stack:
        raise _Violation(
            "can't parse entities: Can't find end tag corresponding to start tag "
            f'"{stack[-1].name}"'
        )
    return "".join(out), entities


def _decode_charref(ref: str) -> str | None:
    if ref.startswith(("#x", "#X")):
        return chr(int(ref[2:], 16)) if int(ref[2:], 16) < 0x110000 else None
    if ref.startswith("#"):
        return chr(int(ref[1:])) if int(ref[1:]) < 0x110000 else None
    return _NAMED_CHARREFS.get(ref)  # other named references stay literal, as in Telegram


def _close_tag(stack: list[_OpenTag], pos16: int, entities: list[dict[str, Any]]) -> None:
    tag = stack.pop()
    kind = _HTML_TAGS[tag.name]
    language = tag.attrs.get("class", "")
    if (
        tag.name == "code"
        and stack
        and stack[-1].name == "pre"
        and language.startswith("language-")
    ):
        stack[-1].language = language.removeprefix("language-")
        return
    entity: dict[str, Any] = {"type": kind, "offset": tag.start, "length": pos16 - tag.start}
    if tag.name == "a":
        href = tag.attrs.get("href", "")
        mention = re.fullmatch(r"tg://user\?id=(\d+)", href)
        if mention:
            entity["type"] = "text_mention"
            entity["user"] = {"id": int(mention.group(1)), "is_bot": False, "first_name": ""}
        elif href:
            entity["url"] = href
        else:
            return
    elif tag.name == "pre" and tag.language:
        entity["language"] = tag.language
    elif tag.name == "blockquote" and "expandable" in tag.attrs:
        entity["type"] = "expandable_blockquote"
    elif tag.name == "tg-emoji":
        entity["custom_emoji_id"] = tag.attrs.get("emoji-id", "")
    elif tag.name == "tg-time":
        entity["unix_time"] = int(tag.attrs.get("unix", "0") or 0)
        if tag.attrs.get("format"):
            entity["date_time_format"] = tag.attrs["format"]
    entities.append(entity)


def _trim(plain: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram drops leading and trailing whitespace; entities follow the text."""
    stripped = plain.strip()
    if stripped == plain:
        return plain, entities
    shift = utf16_len(plain[: len(plain) - len(plain.lstrip())])
    total = utf16_len(stripped)
    kept = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


def _render(text: str, parse_mode: str | None, entities: list[dict[str, Any]] | None) -> _Rendered:
    """What Telegram makes of a text: parsed markup, entities, trimmed whitespace.

    Only HTML is parsed; Markdown modes are taken literally (an approximation).
    """
    if parse_mode is not None and parse_mode.upper() == "HTML":
        plain, parsed = _parse_html(text)
    else:
        plain, parsed = text, list(entities or [])
    plain, parsed = _trim(plain, parsed)
    parsed.sort(key=lambda e: (e["offset"], -e["length"]))
    return _Rendered(raw=text, plain=plain, entities=parsed)


# --------------------------------------------------------------------------- validation


def _check_value(value: Any, types: list[str], path: str, errors: list[str]) -> None:
    """Check ``value`` against the reference's type list (any one type may match)."""
    attempts: list[list[str]] = []
    for type_name in types:
        found: list[str] = []
        _check_one(value, type_name, path, found)
        if not found:
            return
        attempts.append(found)
    if attempts:
        errors.extend(min(attempts, key=len))


def _check_one(value: Any, type_name: str, path: str, errors: list[str]) -> None:
    if type_name.startswith("Array of "):
        if not isinstance(value, list | tuple):
            errors.append(f"{path} must be an array ({type_name})")
            return
        for index, item in enumerate(value):
            _check_value(item, [type_name.removeprefix("Array of ")], f"{path}[{index}]", errors)
        return
    if type_name in _PRIMITIVES:
        # Telegram reads form-encoded strings, so "42" is a fine Integer; structures are not.
        if isinstance(value, dict | list | tuple):
            errors.append(f"{path} must be {type_name}, not a structure")
        return
    spec = api_spec()["types"].get(type_name)
    if spec is None:
        return
    if "subtypes" in spec:
        _check_value(value, spec["subtypes"], path, errors)
        return
    if not isinstance(value, dict):
        errors.append(f"{path} must be a {type_name} object")
        return
    fields = {f["name"]: f for f in spec.get("fields", [])}
    for key in value:
        if key not in fields:
            errors.append(f"{path}: unknown field {key!r} for {type_name}")
    for name, spec_field in fields.items():
        if spec_field["required"] and name not in value:
            errors.append(f"{path}: missing required field {name!r} of {type_name}")
    for key, item in value.items():
        if key in fields:
            _check_value(item, fields[key]["types"], f"{path}.{key}", errors)


@cache
def _button_fields() -> frozenset[str]:
    fields = api_spec()["types"]["InlineKeyboardButton"]["fields"]
    return frozenset(f["name"] for f in fields)


def _check_inline_keyboard(markup: Any, errors: list[str]) -> None:
    if not isinstance(markup, dict) or not isinstance(markup.get("inline_keyboard"), list):
        return
    rows = markup["inline_keyboard"]
    count = sum(len(row) for row in rows if isinstance(row, list))
    if count > INLINE_BUTTONS_LIMIT:
        errors.append(f"too many inline keyboard buttons ({count} > {INLINE_BUTTONS_LIMIT})")
    for row in rows:
        for button in row if isinstance(row, list) else []:
            if not isinstance(button, dict):
                continue
            if not button.get("text"):
                errors.append("BUTTON_TEXT_INVALID: inline button with empty text")
            actions = sorted(set(button) & _button_fields() - _BUTTON_DECORATIONS)
            if len(actions) != 1:
                errors.append(
                    "can't parse inline keyboard button: exactly one action field is "
                    f"required, got {actions} for {button.get('text')!r}"
                )
            data = button.get("callback_data")
            if data is not None:
                size = len(str(data).encode("utf-8"))
                if not 1 <= size <= CALLBACK_DATA_MAX_BYTES:
                    errors.append(
                        f"BUTTON_DATA_INVALID: callback_data {data!r} is {size} bytes "
                        f"(1-{CALLBACK_DATA_MAX_BYTES} allowed)"
                    )


def _check_commands(params: Mapping[str, Any], errors: list[str]) -> None:
    commands = params.get("commands")
    if isinstance(commands, list | tuple):
        if len(commands) > COMMANDS_LIMIT:
            errors.append(f"too many commands ({len(commands)} > {COMMANDS_LIMIT})")
        for command in commands:
            if not isinstance(command, dict):
                continue
            name = str(command.get("command", ""))
            if not _COMMAND_RE.fullmatch(name):
                errors.append(f"BOT_COMMAND_INVALID: {name!r} (1-32 lowercase letters, digits, _)")
            description = str(command.get("description", ""))
            if not 1 <= len(description) <= COMMAND_DESCRIPTION_LIMIT:
                errors.append(
                    f"BOT_COMMAND_DESCRIPTION_INVALID: description of /{name} is "
                    f"{len(description)} characters (1-{COMMAND_DESCRIPTION_LIMIT} allowed)"
                )
    language = params.get("language_code")
    if language and not _LANGUAGE_RE.fullmatch(str(language)):
        errors.append(f"invalid language_code {language!r} (two-letter ISO 639-1 code)")


# --------------------------------------------------------------------------- the fake


class FakeBotApi(BaseRequest):
    """In-process Telegram Bot API; see the module docstring.

    ``clock`` (optional) returns the current time for message dates. ``strict_chats``
    makes sending to a chat nobody registered (`register_chat`, done by the harness for
    its users) fail with "chat not found", as Telegram does for users who never started
    the bot.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] | None = None,
        strict_chats: bool = False,
    ) -> None:
        self.calls: list[ApiCall] = []
        self.problems: list[str] = []
        self.chats: dict[int, list[SentMessage]] = defaultdict(list)
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.callback_queries: dict[str, CallbackQueryRecord] = {}
        self.blocked: set[int] = set()
        self.known_chats: dict[int, dict[str, Any]] = {}
        self.incoming: dict[int, set[int]] = defaultdict(set)
        self.pending_updates: list[dict[str, Any]] = []
        self.sequence = 0  # bumped for every message the bot sends
        self.strict_chats = strict_chats
        self._clock = clock
        self._next_message_id: dict[int, int] = defaultdict(int)
        self._failures: dict[str, deque[_Injected]] = defaultdict(deque)
        self._file_counter = 0
        self._callback_counter = 0
        self._webhook_url = ""

    # ------------------------------------------------------------- BaseRequest

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        """Nothing to set up; may be called once per role (request, get_updates)."""

    async def shutdown(self) -> None:
        """Nothing to tear down; the recorded state stays readable after shutdown."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        name = url.rstrip("/").rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data is not None else {}
        files = _read_files(request_data)
        call = ApiCall(method=name, params=params, files=files)
        self.calls.append(call)
        if name == "getUpdates":
            await self._wait_for_updates(params)
        try:
            result = self._handle(call)
        except NetworkError as error:  # TimedOut and refused connections, injected
            call.failed = True
            call.description = error.message
            raise
        except _ApiError as error:
            call.failed = True
            call.error_code = error.code
            call.description = error.description
            if isinstance(error, _Violation):
                self.problems.extend(f"{name}: {detail}" for detail in error.details)
            return error.code, json.dumps(error.body()).encode()
        except Exception as error:
            # A bug in the fake or a request shape it does not understand: PTB would wrap
            # this into a vague NetworkError, so make sure the test hears about it.
            call.failed = True
            call.description = repr(error)
            self.problems.append(f"{name}: FakeBotApi could not process the call: {error!r}")
            raise
        call.result = result
        return 200, json.dumps({"ok": True, "result": result}).encode()

    # ------------------------------------------------------------- public helpers

    def calls_to(self, method: str) -> list[ApiCall]:
        """Recorded calls of one Bot API method (failed ones included)."""
        return [call for call in self.calls if call.method == method]

    def assert_no_problems(self) -> None:
        """Fail the test if the bot broke the Bot API contract at any point."""
        assert not self.problems, "Bot API contract violations:\n" + "\n".join(
            f"  - {problem}" for problem in self.problems
        )

    def fail_next(
        self,
        method: str,
        *,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Make the next ``times`` valid calls of ``method`` (to ``chat_id`` if given)
        fail as Telegram would.

        ``retry_after`` adds ``"parameters": {"retry_after": N}`` (PTB raises RetryAfter).
        Typical: ``fail_next("sendMessage", error_code=403,
        description="Forbidden: bot was blocked by the user")``.
        """
        self._require_method(method)
        for _ in range(times):
            self._failures[method].append(
                _Injected(error_code, description, retry_after, chat_id=chat_id)
            )

    def time_out_next(self, method: str, times: int = 1, *, after_delivery: bool = False) -> None:
        """Make the next ``times`` valid calls of ``method`` raise `telegram.error.TimedOut`;
        with ``after_delivery`` the call takes effect first (the message arrives), as
        when Telegram's answer is what got lost."""
        self._require_method(method)
        for _ in range(times):
            self._failures[method].append(
                _Injected(None, "timed out", None, after_delivery=after_delivery)
            )

    def refuse_next(self, method: str, times: int = 1) -> None:
        """Make the next ``times`` valid calls of ``method`` fail to connect (PTB raises
        `NetworkError` from httpx's `ConnectError`): nothing reached Telegram."""
        self._require_method(method)
        for _ in range(times):
            self._failures[method].append(_Injected(None, "refused", None, refused=True))

    def block(self, chat_id: int) -> None:
        """The user blocked the bot: deliveries to them get 403 Forbidden from now on."""
        self.blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self.blocked.discard(chat_id)

    def register_chat(self, chat: Mapping[str, Any]) -> None:
        """Tell the fake about a chat (used for the ``chat`` object in sent messages)."""
        self.known_chats[int(chat["id"])] = dict(chat)

    def next_message_id(self, chat_id: int) -> int:
        """Message ids are per chat and shared by both sides, as in private chats."""
        self._next_message_id[chat_id] += 1
        return self._next_message_id[chat_id]

    def incoming_message(self, chat_id: int) -> int:
        """Allocate the id of a message the user sends (so the bot may delete it)."""
        message_id = self.next_message_id(chat_id)
        self.incoming[chat_id].add(message_id)
        return message_id

    def issue_callback_query(
        self,
        user_id: int,
        *,
        chat_id: int | None,
        message_id: int | None,
        data: str | None,
    ) -> str:
        """Create the id of a callback query about to be delivered (answerable once)."""
        self._callback_counter += 1
        query_id = f"cbq-{user_id}-{self._callback_counter}"
        self.callback_queries[query_id] = CallbackQueryRecord(
            query_id, user_id, chat_id, message_id, data
        )
        return query_id

    def unanswered_callback_queries(self) -> list[CallbackQueryRecord]:
        """Queries the bot never answered (the participant's button keeps spinning)."""
        return [record for record in self.callback_queries.values() if not record.answered]

    def push_update(self, update: Mapping[str, Any]) -> None:
        """Queue an update for ``getUpdates`` (polling end-to-end tests)."""
        self.pending_updates.append(dict(update))

    def commands_for(self, scope: Any = None, language_code: str = "") -> list[dict[str, Any]]:
        """Commands stored by setMyCommands for a scope (dict or PTB object) and language."""
        return self.commands.get(_commands_key(_plain(scope), language_code), [])

    def message(self, chat_id: int, message_id: int) -> SentMessage:
        """A bot message by id (deleted ones included)."""
        for sent in self.chats.get(chat_id, []):
            if sent.message_id == message_id:
                return sent
        raise KeyError(f"no bot message {message_id} in chat {chat_id}")

    def visible(self, chat_id: int) -> list[SentMessage]:
        """The bot's messages in a chat that are still there, oldest first."""
        return [sent for sent in self.chats.get(chat_id, []) if not sent.deleted]

    # ------------------------------------------------------------- dispatch

    def _require_method(self, method: str) -> None:
        if method not in api_spec()["methods"]:
            raise ValueError(f"{method!r} is not a Bot API method")

    def _handle(self, call: ApiCall) -> Any:
        spec = api_spec()["methods"].get(call.method)
        if spec is None:
            self.problems.append(f"{call.method}: no such Bot API method")
            raise _ApiError(404, "Not Found: method not found")
        rendered = self._validate(call, spec)
        injected = self._injected(call)
        if injected is not None:
            if injected.refused:
                raise NetworkError("httpx.ConnectError: refused") from httpx.ConnectError("")
            if injected.after_delivery:
                self._deliver(call, rendered)
                raise TimedOut("Timed out after delivering (injected by FakeBotApi)")
            if injected.error_code is None:
                raise TimedOut("Timed out (injected by FakeBotApi)")
            raise _ApiError(
                injected.error_code, injected.description, retry_after=injected.retry_after
            )
        chat_id = call.params.get("chat_id")
        if call.method.startswith(_DELIVERING_PREFIXES) and chat_id is not None:
            target = self._chat_id(chat_id)
            if target in self.blocked:
                raise _ApiError(403, "Forbidden: bot was blocked by the user")
            if self.strict_chats and target not in self.known_chats:
                raise _ApiError(400, "Bad Request: chat not found")
        return self._deliver(call, rendered)

    def _deliver(self, call: ApiCall, rendered: dict[str, _Rendered]) -> Any:
        handler = getattr(self, f"_m_{call.method}", None)
        if handler is not None:
            return handler(call, rendered)
        return self._generic(call, api_spec()["methods"][call.method], rendered)

    def _injected(self, call: ApiCall) -> _Injected | None:
        """The first failure waiting for this call (its method, and its chat if given)."""
        failures = self._failures.get(call.method)
        chat_id = call.params.get("chat_id")
        for injected in failures or ():
            if injected.chat_id is None or (
                chat_id is not None and self._chat_id(chat_id) == injected.chat_id
            ):
                failures.remove(injected)  # type: ignore[union-attr]
                return injected
        return None

    def _validate(self, call: ApiCall, spec: Mapping[str, Any]) -> dict[str, _Rendered]:
        """Contract checks; raises `_Violation` for the first problem found."""
        params = call.params
        fields = {f["name"]: f for f in spec.get("fields", [])}
        errors: list[str] = []
        for name in params:
            if name not in fields and name not in _PTB_DEFAULT_PARAMS:
                errors.append(f"unknown parameter {name!r} (not in the Bot API reference)")
        for name, spec_field in fields.items():
            if spec_field["required"] and name not in params and name not in call.files:
                errors.append(f"missing required parameter {name!r}")
        for name, value in params.items():
            if name in fields:
                _check_value(value, fields[name]["types"], name, errors)
        if "reply_markup" in params:
            _check_inline_keyboard(params["reply_markup"], errors)
        if call.method == "setMyCommands":
            _check_commands(params, errors)
        if call.method == "answerCallbackQuery":
            text = params.get("text")
            if text is not None and len(str(text)) > CALLBACK_ANSWER_LIMIT:
                errors.append(
                    f"MESSAGE_TOO_LONG: callback answer is {len(str(text))} characters "
                    f"(at most {CALLBACK_ANSWER_LIMIT})"
                )
        if errors:
            raise _Violation(errors[0], errors[1:])
        rendered: dict[str, _Rendered] = {}
        if call.method in _TEXT_METHODS and "text" in params:
            text = _render(str(params["text"]), params.get("parse_mode"), params.get("entities"))
            if not text.plain:
                raise _Violation("message text is empty")
            if utf16_len(text.plain) > MESSAGE_TEXT_LIMIT:
                raise _Violation(
                    f"message is too long ({utf16_len(text.plain)} characters after entity "
                    "parsing, "
                    f"at most {MESSAGE_TEXT_LIMIT})"
                )
            rendered["text"] = text
        if "caption" in fields and "caption" in params:
            caption = _render(
                str(params["caption"]), params.get("parse_mode"), params.get("caption_entities")
            )
            if utf16_len(caption.plain) > CAPTION_LIMIT:
                raise _Violation(
                    f"message caption is too long ({utf16_len(caption.plain)} characters, "
                    f"at most {CAPTION_LIMIT})"
                )
            rendered["caption"] = caption
        return rendered

    # ------------------------------------------------------------- state helpers

    def _now(self) -> int:
        return int(self._clock().timestamp()) if self._clock else int(time.time())

    @staticmethod
    def _chat_id(value: Any) -> int:
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _ApiError(400, "Bad Request: chat not found") from None

    def _chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id in self.known_chats:
            return dict(self.known_chats[chat_id])
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "type": kind, "title": f"Chat {chat_id}"}

    def _file_id(self, kind: str) -> tuple[str, str]:
        self._file_counter += 1
        return f"fake-{kind}-{self._file_counter}", f"uniq-{kind}-{self._file_counter}"

    def _find(self, call: ApiCall, *, action: str) -> SentMessage | None:
        """The bot message an edit/delete refers to; None for inline messages."""
        params = call.params
        if "inline_message_id" in params:
            return None
        if "chat_id" not in params or "message_id" not in params:
            raise _Violation(f"chat_id and message_id are required to {action} a message")
        chat_id = self._chat_id(params["chat_id"])
        message_id = int(params["message_id"])
        for sent in self.chats.get(chat_id, []):
            if sent.message_id == message_id and not sent.deleted:
                return sent
        if action == "edit" and message_id in self.incoming.get(chat_id, set()):
            raise _ApiError(400, "Bad Request: message can't be edited")
        raise _ApiError(400, f"Bad Request: message to {action} not found")

    def _store(
        self,
        call: ApiCall,
        rendered: dict[str, _Rendered],
        *,
        kind: str,
        media: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Create a bot message in the chat and return its Message JSON."""
        params = call.params
        chat_id = self._chat_id(params["chat_id"])
        body = rendered.get("text") or rendered.get("caption")
        markup = params.get("reply_markup")
        sent = SentMessage(
            message_id=self.next_message_id(chat_id),
            chat_id=chat_id,
            text=body.plain if body else "",
            parse_mode=params.get("parse_mode"),
            kind=kind,
            raw=body.raw if body else "",
            files=dict(call.files),
        )
        self.sequence += 1
        sent.seq = self.sequence
        payload: dict[str, Any] = {
            "message_id": sent.message_id,
            "from": dict(BOT_USER),
            "date": self._now(),
            "chat": self._chat(chat_id),
        }
        if "text" in rendered:
            payload["text"] = rendered["text"].plain
            if rendered["text"].entities:
                payload["entities"] = rendered["text"].entities
        elif "caption" in rendered and rendered["caption"].plain:
            payload["caption"] = rendered["caption"].plain
            if rendered["caption"].entities:
                payload["caption_entities"] = rendered["caption"].entities
        if media:
            payload.update(media)
        sent.payload = payload
        _apply_markup(sent, markup)
        if isinstance(markup, dict) and "keyboard" in markup:
            sent.keyboard = [
                [b["text"] if isinstance(b, dict) else str(b) for b in row]
                for row in markup["keyboard"]
            ]
        self.chats[chat_id].append(sent)
        return payload

    # ------------------------------------------------------------- methods

    def _m_getMe(self, call: ApiCall, rendered: dict[str, _Rendered]) -> Any:
        return dict(BOT_USER)

    def _m_getUpdates(self, call: ApiCall, rendered: dict[str, _Rendered]) -> Any:
        offset = int(call.params.get("offset", 0) or 0)
        limit = int(call.params.get("limit", 100) or 100)
        self.pending_updates = [u for u in self.pending_updates if u["update_id"] >= offset]
        return self.pending_updates[:limit]

    async def _wait_for_updates(self, params: Mapping[str, Any]) -> None:
        """Long polling must not spin the event loop: yield briefly when nothing is queued."""
        offset = int(params.get("offset", 0) or 0)
        if not any(u["update_id"] >= offset for u in self.pending_updates):
            await asyncio.sleep(0.01)

    def _m_sendMessage(self, call: ApiCall, rendered: dict[str, _Rendered]) -> Any:
        return self._store(call, rendered, kind="text")

    def _m_sendPhoto(self, call: ApiCall, rendered: dict[str, _Rendered]) -> Any:
        file_id, unique_id = self._reuse_or_new(call, "photo")
        sizes = [
            {
                "file_id": f"{file_id}-s",
                "file_unique_id": f"{unique_id}-s",
                "width": 90,
                "height": 90,
            },
            {"file_id": file_id, "file_unique_id": unique_id, "width": 800, "height": 800},
        ]
        return self._store(call, rendered, kind="photo", media={"photo": sizes})

    def _m_sendDocument(self, call: ApiCall, rendered: dict[str, _Rendered]) -> Any:
        file_id, unique_id = self._reuse_or_new(call, "document")
        document: dict[str, Any] = {"file_id": file_id, "file_unique_id": unique_id}
        upload = call.files.get("document")
        if upload is not None:
            document["file_name"] = upload[0]
            document["file_size"] = len(upload[1])
        else:
            document["file_name"] = "document"
        return self._store(call, rendered, kind="document", media={"document": document})

    def _m_sendMediaGroup(self, call: ApiCall, rendered: dict[str, _Rendered]) -> Any:
        """One message per album item; captions are checked like any caption."""
        items: list[tuple[str, dict[str, _Rendered]]] = []
        for item in call.params["media"]:
            item_rendered: dict[str, _Rendered] = {}
            if "caption" in item:
                caption = _render(
                    str(item["caption"]), item.get("parse_mode"), item.get("caption_entities")
                )
                if utf16_len(caption.plain) > CAPTION_LIMIT:
                    raise _Violation(
                        f"message caption is too long ({utf16_len(caption.plain)} characters, "
                        f"at most {CAPTION_LIMIT})"
                    )
                item_rendered["caption"] = caption
            items.append((str(item.get("type", "document")), item_rendered))
        results = []
        for kind, item_rendered in items:
            ids = self._file_id(kind)
            media: dict[str, Any]
            if kind == "photo":
                photo = {"file_id": ids[0], "file_unique_id": ids[1], "width": 800, "height": 800}
                media = {"photo": [photo]}
            else:
                media = _minimal_media(kind, ids) or {}
            item_call = ApiCall(call.method, {"chat_id": call.params["chat_id"]}, call.files)
            results.append(self._store(item_call, item_rendered, kind=kind, media=media))
        return results

    def _reuse_or_new(self, call: ApiCall, field_name: str) -> tuple[str, str]:
        existing = call.params.get(field_name)
        if isinstance(existing, str) and not existing.startswith("attach://"):
            return existing, f"uniq-{existing}"
        return self._file_id(field_name)

    def _m_editMessageText(self, call: ApiCall, rendered: dict[str, _Rendered]) -> Any:
        if "text" not in rendered:
            raise _Violation("text is required to edit a message's text")
        sent = self._find(call, action="edit")
        if sent is None:
            return True
        if sent.kind != "text":
            raise _ApiError(400, "Bad Request: there is no text in the message to edit")
        return self._edit(sent, call, rendered["text"], key="text")

    def _m_editMessageCaption(self, call: ApiCall, rendered: dict[str, _Rendered]) -> Any:
        sent = self._find(call, action="edit")
        if sent is None:
            return True
        if sent.kind == "text":
            raise _ApiError(400, "Bad Request: there is no caption in the message to edit")
        caption = rendered.get("caption") or _Rendered(raw="", plain="", entities=[])
        return self._edit(sent, call, caption, key="caption")

    def _m_editMessageReplyMarkup(self, call: ApiCall, rendered: dict[str, _Rendered]) -> Any:
        sent = self._find(call, action="edit")
        if sent is None:
            return True
        markup = call.params.get("reply_markup")
        if _inline(markup) == sent.payload.get("reply_markup"):
            raise _ApiError(400, f"Bad Request: {NOT_MODIFIED}")
        _apply_markup(sent, markup)
        sent.payload["edit_date"] = self._now()
        return dict(sent.payload)

    def _edit(
        self, sent: SentMessage, call: ApiCall, new: _Rendered, *, key: str
    ) -> dict[str, Any]:
        """Replace text or caption; an edit without reply_markup removes the keyboard."""
        entities_key = "entities" if key == "text" else "caption_entities"
        markup = call.params.get("reply_markup")
        same_text = sent.payload.get(key, "") == new.plain and sent.payload.get(
            entities_key, []
        ) == (new.entities or [])
        if same_text and _inline(markup) == sent.payload.get("reply_markup"):
            raise _ApiError(400, f"Bad Request: {NOT_MODIFIED}")
        sent.text = new.plain
        sent.raw = new.raw
        sent.parse_mode = call.params.get("parse_mode")
        sent.edits.append(new.plain)
        sent.raw_edits.append(new.raw)
        sent.payload[key] = new.plain
        sent.payload.pop(entities_key, None)
        if new.entities:
            sent.payload[entities_key] = new.entities
        if key == "caption" and not new.plain:
            sent.payload.pop("caption", None)
        sent.payload["edit_date"] = self._now()
        _apply_markup(sent, markup)
        return dict(sent.payload)

    def _m_deleteMessage(self, call: ApiCall, rendered: dict[str, _Rendered]) -> Any:
        chat_id = self._chat_id(call.params["chat_id"])
        message_id = int(call.params["message_id"])
        if message_id in self.incoming.get(chat_id, set()):
            self.incoming[chat_id].discard(message_id)
            return True
        for sent in self.chats.get(chat_id, []):
            if sent.message_id == message_id and not sent.deleted:
                sent.deleted = True
                return True
        raise _ApiError(400, "Bad Request: message to delete not found")

    def _m_deleteMessages(self, call: ApiCall, rendered: dict[str, _Rendered]) -> Any:
        chat_id = self._chat_id(call.params["chat_id"])
        ids = {int(i) for i in call.params["message_ids"]}
        self.incoming[chat_id] -= ids
        for sent in self.chats.get(chat_id, []):
            if sent.message_id in ids:
                sent.deleted = True
        return True

    def _m_answerCallbackQuery(self, call: ApiCall, rendered: dict[str, _Rendered]) -> Any:
        record = self.callback_queries.get(str(call.params["callback_query_id"]))
        if record is None:
            raise _Violation(f"{QUERY_INVALID} (unknown id)")
        if record.answered:
            raise _Violation(f"{QUERY_INVALID} (answered twice)")
        record.answered = True
        record.answer_text = call.params.get("text")
        record.show_alert = bool(call.params.get("show_alert", False))
        return True

    def _m_setMyCommands(self, call: ApiCall, rendered: dict[str, _Rendered]) -> Any:
        key = _commands_key(call.params.get("scope"), call.params.get("language_code", ""))
        self.commands[key] = [dict(command) for command in call.params["commands"]]
        return True

    def _m_deleteMyCommands(self, call: ApiCall, rendered: dict[str, _Rendered]) -> Any:
        key = _commands_key(call.params.get("scope"), call.params.get("language_code", ""))
        self.commands.pop(key, None)
        return True

    def _m_getMyCommands(self, call: ApiCall, rendered: dict[str, _Rendered]) -> Any:
        key = _commands_key(call.params.get("scope"), call.params.get("language_code", ""))
        return [dict(command) for command in self.commands.get(key, [])]

    def _m_setWebhook(self, call: ApiCall, rendered: dict[str, _Rendered]) -> Any:
        self._webhook_url = str(call.params["url"])
        return True

    def _m_deleteWebhook(self, call: ApiCall, rendered: dict[str, _Rendered]) -> Any:
        self._webhook_url = ""
        return True

    def _m_getWebhookInfo(self, call: ApiCall, rendered: dict[str, _Rendered]) -> Any:
        return {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }

    def _m_getChat(self, call: ApiCall, rendered: dict[str, _Rendered]) -> Any:
        chat = self._chat(self._chat_id(call.params["chat_id"]))
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _m_getChatMenuButton(self, call: ApiCall, rendered: dict[str, _Rendered]) -> Any:
        return {"type": "commands"}

    def _m_getFile(self, call: ApiCall, rendered: dict[str, _Rendered]) -> Any:
        file_id = str(call.params["file_id"])
        return {
            "file_id": file_id,
            "file_unique_id": f"uniq-{file_id}",
            "file_size": 1024,
            "file_path": f"files/{file_id}",
        }

    def _generic(
        self, call: ApiCall, spec: Mapping[str, Any], rendered: dict[str, _Rendered]
    ) -> Any:
        """Any other documented method: messages for send*, else a plausible result."""
        returns = spec.get("returns", ["Boolean"])
        if returns == ["Message"] and "chat_id" in call.params:
            kind = call.method.removeprefix("send").lower()
            media = _minimal_media(kind, self._file_id(kind)) if kind in _MEDIA_KINDS else None
            return self._store(call, rendered, kind=kind, media=media)
        if returns == ["MessageId"] and "chat_id" in call.params:
            return {"message_id": self.next_message_id(self._chat_id(call.params["chat_id"]))}
        if returns[0].startswith("Array of"):
            return []
        if returns[0] == "Integer":
            return 0
        if returns[0] == "String":
            return ""
        return True


# --------------------------------------------------------------------------- utilities


def _read_files(request_data: RequestData | None) -> dict[str, tuple[str, bytes]]:
    if request_data is None or not request_data.contains_files:
        return {}
    files: dict[str, tuple[str, bytes]] = {}
    for part, (filename, content, _mimetype) in request_data.multipart_data.items():
        files[part] = (filename, _content_bytes(content))
    return files


def _content_bytes(content: bytes | IO[bytes]) -> bytes:
    if isinstance(content, bytes | bytearray):
        return bytes(content)
    position = content.tell() if content.seekable() else None
    data = content.read()
    if position is not None:
        content.seek(position)
    return data


def _plain(value: Any) -> Any:
    """A PTB object as its Bot API dict; dicts and None pass through."""
    to_dict = getattr(value, "to_dict", None)
    return to_dict() if callable(to_dict) else value


def _commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
    return json.dumps(scope or {"type": "default"}, sort_keys=True), str(language_code or "")


def _inline(markup: Any) -> dict[str, Any] | None:
    """The part of a reply markup Telegram stores on a message (inline keyboards only)."""
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        return {"inline_keyboard": markup["inline_keyboard"]}
    return None


def _apply_markup(sent: SentMessage, markup: Any) -> None:
    inline = _inline(markup)
    if inline is None:
        sent.buttons = []
        sent.payload.pop("reply_markup", None)
        return
    sent.payload["reply_markup"] = inline
    sent.buttons = [
        [
            Button(
                text=str(button.get("text", "")),
                callback_data=button.get("callback_data"),
                url=button.get("url"),
            )
            for button in row
        ]
        for row in inline["inline_keyboard"]
    ]


_MEDIA_KINDS = frozenset(
    {"audio", "animation", "video", "videonote", "voice", "sticker", "location"}
)


def _minimal_media(kind: str, ids: tuple[str, str]) -> dict[str, Any] | None:
    """A minimal object for a sent media message, with the reference's required fields."""
    type_name = {"videonote": "VideoNote"}.get(kind, kind.capitalize())
    spec = api_spec()["types"].get(type_name)
    if spec is None or "fields" not in spec:
        return None
    obj: dict[str, Any] = {}
    defaults: Mapping[str, Any] = {"Integer": 1, "Float": 1.0, "String": "x", "Boolean": False}
    for spec_field in spec["fields"]:
        if spec_field["required"] and spec_field["types"][0] in defaults:
            obj[spec_field["name"]] = defaults[spec_field["types"][0]]
    if "file_id" in obj:
        obj["file_id"], obj["file_unique_id"] = ids
    if kind == "sticker":
        obj["type"] = "regular"
    if kind == "location":
        obj.update(latitude=45.5017, longitude=-73.5673)
    return {{"videonote": "video_note"}.get(kind, kind): obj}


def iter_buttons(message: SentMessage) -> Iterable[Button]:
    """All inline buttons of a message, row by row."""
    for row in message.buttons:
        yield from row
