"""The READMEs' commands are the ones CI runs and the ones that exist.

Both READMEs (English, and French for coordinators) start with the same two commands, and
each has one table of every chat command by role. The commands the table must list come
from the handlers registered in the built application, so a command added without
documentation fails here; the roles come from the menus the bot publishes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import chain
from pathlib import Path
from typing import Any

import pytest
from telegram import BotCommandScopeChat
from telegram.ext import BaseHandler, CommandHandler, ConversationHandler

from tests.conftest import ADMIN_ID, Bots

ROOT = Path(__file__).resolve().parents[1]
READMES = ("README.md", "README.fr.md")
# Per README: the heading of its command table, the words of its "for" column that name
# mentors and mentees (or everyone), and those that name coordinators and admins.
TABLES = {
    "README.md": ("## Chat commands", ("everyone", "mentee", "mentor"), ("coordinator", "admin")),
    "README.fr.md": (
        "## Les commandes dans Telegram",
        ("tout le monde", "participants", "personnes mentorées"),
        ("coordination", "administration"),
    ),
}
NBSP = "\u00a0"


def readme(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def ci_test_command() -> str:
    command = re.search(r'^TEST_COMMAND="(.+)"$', (ROOT / ".ci" / "run").read_text(), re.M)
    assert command is not None
    return command[1]


def run_command(text: str) -> str:
    """The line of the README's first code block: the command that runs the bot."""
    block = re.search(r"```sh\n(.+?)\n```", text)
    assert block is not None
    return block[1]


def registered_commands(handlers: Iterable[BaseHandler[Any, Any, Any]]) -> set[str]:
    """Every /command a handler answers, conversations' entry points, states and
    fallbacks included."""
    found: set[str] = set()
    for handler in handlers:
        if isinstance(handler, CommandHandler):
            found |= handler.commands
        elif isinstance(handler, ConversationHandler):
            nested = chain(handler.entry_points, *handler.states.values(), handler.fallbacks)
            found |= registered_commands(nested)
    return found


def command_table(name: str) -> dict[str, str]:
    """The README's command table: command -> its "for" cell."""
    heading = TABLES[name][0]
    text = readme(name)
    assert f"\n{heading}\n" in text, f"{name} has no section {heading!r}"
    section = text.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        row = re.match(r"\| `/(\w+)` \| ([^|]+) \|", line)
        if row:
            assert row[1] not in rows, f"/{row[1]} is listed twice in {name}"
            rows[row[1]] = row[2].strip()
    return rows


@pytest.fixture
async def published(bots: Bots) -> tuple[set[str], set[str], set[str]]:
    """What the bot registers, and the menus it publishes at start-up: participants'
    (everyone's) and an admin's (coordinator and admin commands added)."""
    application = bots.application
    await application.post_init(application)
    participants = {item["command"] for item in bots.api.commands_for(None, "en")}
    admin = bots.api.commands_for(BotCommandScopeChat(ADMIN_ID), "")
    registered = registered_commands(chain(*application.handlers.values()))
    return registered, participants, {item["command"] for item in admin}


@pytest.mark.parametrize("name", READMES)
def test_readme_test_command_is_the_one_ci_runs(name: str) -> None:
    assert f"\n{ci_test_command()}\n" in readme(name)


@pytest.mark.parametrize("name", READMES)
def test_readmes_start_with_the_same_run_command(name: str) -> None:
    assert run_command(readme(name)) == run_command(readme("README.md"))
    assert readme(name).index(run_command(readme(name))) < readme(name).index(ci_test_command())


def test_readme_commands_install_the_locked_versions() -> None:
    run = run_command(readme("README.md"))
    assert run.endswith("TELEGRAM_BOT_TOKEN=123456:your-token .venv/bin/python -m bot")
    assert "pip install -q --require-hashes -r requirements.lock " in run
    assert "pip install -q --no-deps -e ." in run
    assert "--require-hashes -r requirements-dev.lock" in ci_test_command()


def test_readme_run_command_starts_the_bot_module() -> None:
    assert (ROOT / "bot" / "__main__.py").exists()
    procfile = (ROOT / "Procfile").read_text()
    assert "worker: python -m bot" in procfile
    assert "release: tandem db upgrade" in procfile


@pytest.mark.parametrize("name", READMES)
async def test_command_table_lists_every_registered_command(
    name: str, published: tuple[set[str], set[str], set[str]]
) -> None:
    registered = published[0]
    documented = set(command_table(name))
    assert len(registered) > 20  # the walk found the dialogues' commands
    assert registered - documented == set(), f"commands missing from {name}'s table"
    assert documented - registered == set(), f"{name} lists commands the bot does not have"


@pytest.mark.parametrize("name", READMES)
async def test_command_table_gives_each_command_its_role(
    name: str, published: tuple[set[str], set[str], set[str]]
) -> None:
    _, participants, admin = published
    _, participant_words, staff_words = TABLES[name]
    for command, role in command_table(name).items():
        if command in participants:
            assert any(word in role for word in participant_words), (name, command, role)
        else:
            assert command in admin, f"/{command} is in no menu the bot publishes"
            assert any(word in role for word in staff_words), (name, command, role)
            assert not any(word in role for word in participant_words), (name, command, role)


async def test_menus_list_every_registered_command(
    published: tuple[set[str], set[str], set[str]],
) -> None:
    """The READMEs say the command menu lists everything: participants' menu, and the
    coordinators' and admins' added in their chats."""
    registered, participants, admin = published
    assert registered - (participants | admin) == set()


def test_french_readme_typography() -> None:
    """Non-breaking spaces before : ; ! ? » and after «, outside code and link targets."""
    fenced = False
    problems = []
    for number, line in enumerate(readme("README.fr.md").splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if fenced or line.lstrip().startswith("```"):
            continue
        prose = re.sub(r"`[^`]*`|\]\([^)]*\)", "", line)
        if re.search(rf"(?:^|[^{NBSP}|-])[:;!?»]|«(?!{NBSP})", prose):
            problems.append(f"line {number}: {line.strip()}")
    assert problems == []
