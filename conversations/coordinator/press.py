"""The coordinator commands' buttons: `co:<action>:<program id>[:<argument>…]`, so a
restart or a lost conversation state loses nothing. The data is never trusted: each
press is checked again (conversations/coordinator/__init__.py)."""

from __future__ import annotations

from dataclasses import dataclass

from conversations.kit.buttons import parse_number

PREFIX = "co"


def data(action: str, program_id: int | None, *args: object) -> str:
    return ":".join([PREFIX, action, str(program_id or 0), *(str(arg) for arg in args)])


@dataclass(frozen=True)
class Press:
    action: str
    program_id: int
    args: tuple[str, ...]


def parse_press(raw: str | None) -> Press | None:
    parts = (raw or "").split(":")
    if len(parts) < 3 or parts[0] != PREFIX:
        return None
    program_id = parse_number(parts[2])
    return None if program_id is None else Press(parts[1], program_id, tuple(parts[3:]))
