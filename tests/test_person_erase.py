"""`tandem person erase`: a coordinator honours a request made by email in one step; the
person is erased as /deleteme does, the erasure is audited with who, when and why, and the
partner and coordinators are told through the Bot API without the reason."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from bot import cli
from storage.db import Database
from storage.models import AuditEvent, Person, PersonStatus, Program
from tests.builders import ALICE, ROBERT
from tests.conftest import FakeClock
from tests.fakebot import BOT_TOKEN, FakeBotApi
from tests.test_alerts import CORA, seed_people
from tests.test_cli import refused, succeeded, tandem

REASON = "email of 3 May from alice@example.org"


@pytest.fixture(autouse=True)
def cli_clock(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> None:
    monkeypatch.setattr(cli, "clock", clock)
    monkeypatch.setattr(cli, "cli_actor", lambda: "cli ana")


async def test_erase_by_the_command_line(
    monkeypatch: pytest.MonkeyPatch,
    database: Database,
    database_url: str,
    program: Program,
    clock: FakeClock,
) -> None:
    people: dict[str, Any] = await seed_people(database, program, clock)
    api = FakeBotApi()
    monkeypatch.setattr(cli, "telegram_request", lambda: api)
    mentee = people["mentee"]
    result = await tandem(
        database_url, "person", "erase", "Career Bridge Toronto", "@nobody", "--reason", REASON
    )
    assert "Nobody matches" in refused(result)
    result = await tandem(
        database_url,
        "person", "erase", "Career Bridge Toronto", f"#{mentee.id}", "--reason", REASON,
        TELEGRAM_BOT_TOKEN=BOT_TOKEN,
    )  # fmt: skip
    assert succeeded(result) == f"Erased person #{mentee.id}; 1 match(es) closed.\n"
    to_robert = [message.text for message in api.visible(ROBERT)]
    assert to_robert[-1].startswith("La personne que vous mentoriez a quitté le programme")
    to_cora = api.visible(CORA)[-1].text
    assert to_cora.startswith("A participant has left Career Bridge Toronto")
    assert REASON not in to_cora and "Alice" not in to_cora
    assert api.visible(ALICE) == []
    async with database.session() as session:
        person = await session.get(Person, mentee.id)
        (event,) = (
            await session.exec(select(AuditEvent).where(AuditEvent.action == "person.erased"))
        ).all()
    assert person is not None and person.status == PersonStatus.ERASED
    assert (event.actor_id, event.actor_label, event.at) == (None, "cli ana", clock.now)
    assert event.detail["reason"] == REASON and "Alice" not in str(event.detail)
    again = await tandem(database_url, "person", "erase", "1", f"#{mentee.id}", "--reason", REASON)
    assert refused(again) == f"Person #{mentee.id} is already erased."
    other = await tandem(
        database_url, "person", "erase", "Other program", f"#{people['mentor'].id}",
        "--reason", REASON,
    )  # fmt: skip
    assert refused(other) == "Robert Tremblay is not part of Other program."
