"""An admin keeps /newprogram in their command menu when they change language or finish
joining a program as its coordinator (the menu was republished without it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import BotCommandScopeChat

from storage.db import Database
from storage.models import Program
from tests.builders import add_coordinator
from tests.conftest import ADMIN_ID, FakeClock
from tests.harness import FakeTelegram


def admin_menu(tg: FakeTelegram) -> set[str]:
    return {item["command"] for item in tg.api.commands_for(BotCommandScopeChat(ADMIN_ID), "")}


async def test_an_admin_who_changes_language_keeps_newprogram(tg: FakeTelegram) -> None:
    admin = tg.user(ADMIN_ID, "Ada")
    await admin.send("/language")
    await admin.tap("Français")

    assert "newprogram" in admin_menu(tg)
    assert any("français" in text for text in admin.texts)


async def test_an_admin_who_joins_as_coordinator_keeps_newprogram(
    tg: FakeTelegram, invite: Callable[..., Awaitable[str]]
) -> None:
    admin = tg.user(ADMIN_ID, "Ada")
    await admin.send(f"/start {await invite('coordinator')}")
    await admin.tap("English")
    await admin.tap("Yes, I agree")
    await admin.tap("Keep “Ada”")
    for _ in range(6):  # whatever else joining asks, until the coordinator menu is set
        if "pair" in admin_menu(tg):
            break
        labels = admin.buttons
        if not labels:
            break
        await admin.tap(labels[0])

    menu = admin_menu(tg)
    assert {"pair", "newprogram"} <= menu, menu


async def test_help_shows_an_admin_what_only_admins_can_do(tg: FakeTelegram) -> None:
    """An admin with no person row still learns about /newprogram, in their language."""
    admin = tg.user(ADMIN_ID, "Ada", language_code="fr")
    await admin.send("/help")

    assert "Pour l’administration de Tandem" in admin.last.text
    assert "Créer un programme" in admin.last.text.split("/newprogram", 1)[1]
    assert "/invite" in admin.last.text


async def test_help_keeps_admin_commands_from_coordinators(
    tg: FakeTelegram, database: Database, program: Program, clock: FakeClock
) -> None:
    coordinator = tg.user(ADMIN_ID + 1, "Chloé")
    await add_coordinator(database, program, clock, coordinator.id, "Chloé")
    await coordinator.send("/help")

    assert "For coordinators" in coordinator.last.text
    assert "/newprogram" not in coordinator.last.text
    assert "admins" not in coordinator.last.text
