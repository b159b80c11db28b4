"""The admin command line, run through Typer's CliRunner against the test database.

The commands call `asyncio.run`, which cannot nest inside the test's running loop, so each
invocation runs in a worker thread while the test seeds and checks the database itself.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import pytest
import qrcode
import typer
from alembic.script import ScriptDirectory
from PIL import Image, ImageChops
from qrcode.image.pil import PilImage
from sqlmodel import SQLModel, select
from typer.core import TyperGroup
from typer.testing import CliRunner, Result

import bot.runner
from bot import cli, program_settings
from bot.qr import captioned_qr
from storage.closure_schedule import closure_settings
from storage.db import Database
from storage.exports import file_name as export_file_name
from storage.migrate import alembic_config, upgrade
from storage.models import AuditEvent, Invite, Match, PersonStatus, Program, Role, StoredState
from storage.state import BOT_USERNAME, recall, remember
from tests.conftest import FakeClock
from tests.fakebot import BOT_TOKEN, BOT_USER, FakeBotApi
from tests.test_pairing import add_person, join, make_program

Row = TypeVar("Row", bound=SQLModel)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Settings the developer's environment might set; each test starts from the defaults.
CLEAN_ENV: dict[str, str | None] = {
    "TELEGRAM_BOT_TOKEN": None,
    "TELEGRAM_API_BASE_URL": None,
    "DEFAULT_TIMEZONE": None,
    "DEFAULT_LOCALE": None,
    "ADMIN_TELEGRAM_IDS": None,
    "BOT_USERNAME": None,
    # The audit trail names the operating-system user who ran a command.
    "LOGNAME": "ana",
    **{name: None for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")},
    **{name: None for name in ("http_proxy", "https_proxy", "all_proxy")},
}


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clock: FakeClock) -> None:
    monkeypatch.chdir(tmp_path)  # away from any developer .env file
    monkeypatch.setattr(cli, "clock", clock)


async def tandem(database_url: str, *args: str, **env: str | None) -> Result:
    environment = {**CLEAN_ENV, "DATABASE_URL": database_url, **env}
    return await asyncio.to_thread(CliRunner().invoke, cli.app, list(args), env=environment)


def succeeded(result: Result) -> str:
    assert result.exit_code == 0, (result.stderr, result.exception)
    return result.stdout


def refused(result: Result) -> str:
    """The command stopped with exit code 2 and one sentence on stderr, nothing else."""
    assert result.exit_code == 2, (result.stdout, result.stderr, result.exception)
    assert isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


async def all_rows(database: Database, table: type[Row]) -> list[Row]:
    async with database.session() as session:
        return list((await session.exec(select(table))).all())


# --- db, run, settings -------------------------------------------------------------------


async def test_db_upgrade_names_what_it_applied_and_can_repeat(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    before = await tandem(url, "program", "list")
    assert "tandem db upgrade" in refused(before)
    scripts = ScriptDirectory.from_config(alembic_config())
    revisions = [script.revision for script in reversed(list(scripts.walk_revisions()))]
    first = succeeded(await tandem(url, "db", "upgrade")).splitlines()
    assert first[0] == f"Applied {len(revisions)} migrations to {url}:"
    assert [line.split()[0] for line in first[1:-1]] == revisions
    assert first[1] == f"  {revisions[0]}  initial schema"
    assert first[-1] == f"The database is now at revision {revisions[-1]}."
    again = succeeded(await tandem(url, "db", "upgrade"))
    assert again == f"Database {url} is already up to date (revision {revisions[-1]}).\n"


async def test_db_upgrade_from_an_older_schema_names_only_the_newer_revisions(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'older.db'}"
    scripts = ScriptDirectory.from_config(alembic_config())
    revisions = [script.revision for script in reversed(list(scripts.walk_revisions()))]
    older = Database(url)
    assert [step.revision for step in await upgrade(older, revisions[0])] == revisions[:1]
    await older.dispose()
    out = succeeded(await tandem(url, "db", "upgrade")).splitlines()
    assert out[0] == f"Applied {len(revisions) - 1} migrations to {url}:"
    assert [line.split()[0] for line in out[1:-1]] == revisions[1:]


async def test_bad_settings_are_one_sentence(database_url: str) -> None:
    assert "DATABASE_URL" in refused(await tandem("nonsense", "program", "list"))
    bad_ids = await tandem(database_url, "program", "list", ADMIN_TELEGRAM_IDS="me")
    assert "ADMIN_TELEGRAM_IDS" in refused(bad_ids)


async def test_run_starts_the_bot_runner(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(bot.runner, "run_bot", lambda: calls.append("run"))
    succeeded(await tandem(database_url, "run"))
    assert calls == ["run"]


# --- programs ----------------------------------------------------------------------------


async def test_program_create_prints_the_program_and_the_next_step_and_audits(
    database: Database, database_url: str, clock: FakeClock
) -> None:
    result = await tandem(
        database_url,
        "program",
        "create",
        "Career Mentoring",
        "--weeks",
        "16",
        "--checkin",
        "thu 18:30",
        "--timezone",
        "America/Halifax",
        "--track",
        "career",
    )
    (program,) = await all_rows(database, Program)
    assert succeeded(result) == f"{program.id}\n"  # the id alone, for scripts
    assert result.stderr.splitlines() == [
        f"Created program {program.id}, Career Mentoring: matches last 16 weeks, weekly "
        "check-in Thu 18:30 America/Halifax, language en, track career.",
        "Next step: invite a coordinator (yourself first) and open the link in Telegram:",
        f"  tandem invite {program.id} --role coordinator",
    ]
    assert (program.name, program.weeks, program.track) == ("Career Mentoring", 16, "career")
    assert (program.checkin_weekday, program.checkin_time) == (3, time(18, 30))
    assert (program.timezone, program.default_locale) == ("America/Halifax", "en")
    (event,) = await all_rows(database, AuditEvent)
    assert (event.action, event.subject, event.actor_id, event.actor_label, event.at) == (
        "program.create",
        f"program:{program.id}",
        None,
        "cli ana",
        clock.now,
    )
    assert event.detail == {
        "name": "Career Mentoring",
        "weeks": 16,
        "timezone": "America/Halifax",
        "source": "cli",
    }


@pytest.mark.parametrize(
    ("slot", "weekday", "at"),
    [
        ("lundi 9h", 0, time(9, 0)),
        ("mar 9 h 30", 1, time(9, 30)),
        ("Mercredi 18h30", 2, time(18, 30)),
        ("jeu. 07:15", 3, time(7, 15)),
        ("dimanche 20 h", 6, time(20, 0)),
        ("Friday 9:00", 4, time(9, 0)),
        ("sat 6 pm", 5, time(18, 0)),
    ],
)
async def test_program_create_reads_english_and_french_slots(
    database: Database, database_url: str, slot: str, weekday: int, at: time
) -> None:
    args = ("program", "create", "Programme", "--checkin", slot, "--language", "fr")
    succeeded(await tandem(database_url, *args, "--timezone", "Montréal"))
    (program,) = await all_rows(database, Program)
    assert (program.checkin_weekday, program.checkin_time) == (weekday, at)
    assert (program.default_locale, program.timezone) == ("fr", "America/Toronto")


async def test_program_create_uses_the_configured_defaults(
    database: Database, database_url: str
) -> None:
    env = {"DEFAULT_TIMEZONE": "America/Vancouver", "DEFAULT_LOCALE": "fr"}
    succeeded(await tandem(database_url, "program", "create", "Jeunesse", **env))
    (program,) = await all_rows(database, Program)
    assert (program.timezone, program.default_locale, program.weeks) == (
        "America/Vancouver",
        "fr",
        12,
    )
    assert (program.checkin_weekday, program.checkin_time) == (0, time(9, 0))


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--checkin", "someday 9h"), "check-in slot"),
        (("--checkin", "mon 25:00"), "check-in slot"),
        (("--checkin", "9h"), "check-in slot"),
        (("--timezone", "Mars/Olympus"), "not a time zone"),
        (
            ("--timezone", "EST"),
            "fixed UTC offset, which ignores daylight saving time: use America/Toronto",
        ),
        (("--timezone", "pst"), "use America/Vancouver"),
        (("--timezone", "CET"), "use Europe/Paris"),
        (("--timezone", "MST"), "use America/Edmonton"),
        (("--timezone", "UTC"), "give the zone of a place"),
        (("--timezone", "UTC-5"), "fixed UTC offset"),
        (("--timezone", "Etc/GMT+5"), "fixed UTC offset"),
        (("--language", "de"), "language"),
        (("--weeks", "0"), "weeks"),
    ],
)
async def test_program_create_refuses_bad_values(
    database: Database, database_url: str, args: tuple[str, ...], says: str
) -> None:
    assert says in refused(await tandem(database_url, "program", "create", "Career", *args))
    assert await all_rows(database, Program) == []


@pytest.mark.parametrize(
    ("zone", "says"),
    [("EST", "use America/Toronto"), ("Etc/GMT+5", "fixed UTC offset"), ("Nowhere", "not a")],
)
async def test_a_default_timezone_that_is_no_place_is_refused(
    database: Database, database_url: str, zone: str, says: str
) -> None:
    message = refused(await tandem(database_url, "program", "list", DEFAULT_TIMEZONE=zone))
    assert message.startswith("DEFAULT_TIMEZONE") and says in message


async def test_program_create_refuses_a_duplicate_name(
    database: Database, database_url: str
) -> None:
    succeeded(await tandem(database_url, "program", "create", "Career"))
    message = refused(await tandem(database_url, "program", "create", "career"))
    assert message == "A program named 'career' already exists."
    assert len(await all_rows(database, Program)) == 1


async def test_program_list_shows_slots_zones_and_participants(
    database: Database, database_url: str, clock: FakeClock
) -> None:
    assert "No programs yet" in (await tandem(database_url, "program", "list")).stderr
    now = clock.now
    async with database.session() as session:
        career = await make_program(session, now, "Career Mentoring")
        await make_program(
            session,
            now,
            "ECE",
            weeks=26,
            checkin_weekday=3,
            checkin_time=time(18, 30),
            timezone="America/Halifax",
        )
        for telegram_id, role in ((1, Role.MENTOR), (2, Role.MENTEE), (3, Role.COORDINATOR)):
            person = await add_person(session, now, telegram_id, f"P{telegram_id}")
            await join(session, now, person, career, role)
    out = succeeded(await tandem(database_url, "program", "list"))
    assert out.splitlines() == [
        "ID  NAME              WEEKS  CHECK-IN   TIME ZONE        PARTICIPANTS",
        "--  ----------------  -----  ---------  ---------------  ------------",
        "1   Career Mentoring  12     Mon 09:00  America/Toronto  2",
        "2   ECE               26     Thu 18:30  America/Halifax  0",
    ]


# --- invites -----------------------------------------------------------------------------


async def remember_username(database: Database, clock: FakeClock, username: str) -> None:
    async with database.session() as session:
        await remember(session, BOT_USERNAME, username, clock.now)


async def test_invite_prints_links_for_stored_codes_and_writes_qr_codes(
    database: Database, database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    async with database.session() as session:
        program = await make_program(session, clock.now, "Career")
    await remember_username(database, clock, "tandem_bot")
    qr_dir = tmp_path / "qr" / "career"
    result = await tandem(
        database_url,
        "invite",
        "Career",
        "--role",
        "mentor",
        "--count",
        "3",
        "--expires-days",
        "7",
        "--max-uses",
        "2",
        "--qr-dir",
        str(qr_dir),
    )
    links = succeeded(result).splitlines()
    assert len(links) == 3
    prefix = "https://t.me/tandem_bot?start="
    assert all(link.startswith(prefix) for link in links)
    codes = {link.removeprefix(prefix) for link in links}
    invites = await all_rows(database, Invite)
    assert {invite.code for invite in invites} == codes
    for invite in invites:
        assert (invite.program_id, invite.role, invite.max_uses, invite.uses) == (
            program.id,
            "mentor",
            2,
            0,
        )
        assert invite.expires_at == clock.now + timedelta(days=7)
    written = sorted(qr_dir.iterdir())
    assert sorted(path.name for path in written) == sorted(f"mentor-{code}.png" for code in codes)
    for path in written:
        assert path.read_bytes().startswith(PNG_SIGNATURE)
        assert str(path) in result.stderr
    assert "3 mentor invites for Career" in result.stderr
    (event,) = await all_rows(database, AuditEvent)
    assert (event.action, event.subject, event.actor_id, event.actor_label) == (
        "invite.create",
        f"program:{program.id}",
        None,
        "cli ana",
    )
    assert event.detail == {
        "role": "mentor",
        "count": 3,
        "invites": sorted(invite.id for invite in invites),
        "max_uses": 2,
        "expires_days": 7,
        "source": "cli",
    }


async def test_qr_codes_carry_the_program_role_and_expiry_under_the_code(
    database: Database, database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    async with database.session() as session:
        await make_program(session, clock.now, "Mentorat Montréal", timezone="America/Toronto")
    args = ("invite", "Mentorat Montréal", "--role", "coordinator", "--qr-dir", "invites")
    link = succeeded(await tandem(database_url, *args, "--bot-username", "tandem_bot")).strip()
    (path,) = (tmp_path / "invites").iterdir()
    assert path.name.startswith("coordinator-")
    bare = qrcode.make(link, image_factory=PilImage).get_image()
    with Image.open(path) as image:
        assert image.width == bare.width and image.height > bare.height + 40
        # The code itself is unchanged; the caption under it holds dark pixels.
        code_part = image.crop((0, 0, bare.width, bare.height)).convert("1")
        assert ImageChops.difference(code_part, bare.convert("1")).getbbox() is None
        caption = image.crop((0, bare.height, image.width, image.height)).convert("L")
        assert caption.getextrema()[0] < 100
        # The caption is the program, the role and the expiry in the program's zone.
        lines = ("Mentorat Montréal", "coordinator invite", "expires 2026-12-16 09:00")
        drawn = captioned_qr(link, (*lines[:2], f"{lines[2]} America/Toronto"))
        assert ImageChops.difference(image.convert("RGB"), drawn).getbbox() is None


async def test_invite_takes_the_program_id_and_defaults_to_single_use(
    database: Database, database_url: str, clock: FakeClock
) -> None:
    async with database.session() as session:
        program = await make_program(session, clock.now, "Career")
    await remember_username(database, clock, "tandem_bot")
    out = succeeded(await tandem(database_url, "invite", str(program.id), "--role", "MENTEE"))
    (invite,) = await all_rows(database, Invite)
    assert out == f"https://t.me/tandem_bot?start={invite.code}\n"
    assert (invite.role, invite.max_uses) == ("mentee", 1)
    assert invite.expires_at == clock.now + timedelta(days=30)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("Nope", "--role", "mentee"), "No program has the id or name 'Nope'"),
        (("Career", "--role", "boss"), "The role must be one of mentee, mentor, coordinator"),
        (("Career", "--role", "mentee", "--count", "0"), "--count"),
        (("Career", "--role", "mentee", "--expires-days", "0"), "--expires-days"),
        (("Career", "--role", "mentee", "--max-uses", "0"), "--max-uses"),
    ],
)
async def test_invite_refuses_bad_requests(
    database: Database,
    database_url: str,
    clock: FakeClock,
    args: tuple[str, ...],
    says: str,
) -> None:
    async with database.session() as session:
        await make_program(session, clock.now, "Career")
    await remember_username(database, clock, "tandem_bot")
    assert says in refused(await tandem(database_url, "invite", *args))
    assert await all_rows(database, Invite) == []


async def test_invite_offline_with_bot_username_option_or_setting(
    database: Database, database_url: str, clock: FakeClock
) -> None:
    async with database.session() as session:
        await make_program(session, clock.now, "Career")
    args = ("invite", "Career", "--role", "mentee")
    by_option = succeeded(await tandem(database_url, *args, "--bot-username", "@Career_Bot"))
    assert by_option.startswith("https://t.me/Career_Bot?start=")
    by_setting = succeeded(await tandem(database_url, *args, BOT_USERNAME="@tandem_setting_bot"))
    assert by_setting.startswith("https://t.me/tandem_setting_bot?start=")
    assert len(await all_rows(database, Invite)) == 2
    async with database.session() as session:
        assert await recall(session, BOT_USERNAME) is None  # only Telegram's answer is kept
    bad = refused(await tandem(database_url, *args, "--bot-username", "not a bot"))
    assert bad.startswith("--bot-username: 'not a bot' is not a bot username")
    assert "BOT_USERNAME" in refused(await tandem(database_url, *args, BOT_USERNAME="x"))
    assert len(await all_rows(database, Invite)) == 2


async def test_invite_without_username_or_token_says_what_to_do(
    database: Database, database_url: str, clock: FakeClock
) -> None:
    async with database.session() as session:
        await make_program(session, clock.now, "Career")
    message = refused(await tandem(database_url, "invite", "Career", "--role", "mentee"))
    assert "start the bot once" in message and "TELEGRAM_BOT_TOKEN" in message
    assert "--bot-username" in message and "BOT_USERNAME" in message
    assert await all_rows(database, Invite) == []


@contextmanager
def fake_bot_api(status: int, answer: dict[str, object]) -> Iterator[tuple[str, list[str]]]:
    """A local Bot API server giving every request the same answer; yields its base URL
    and the paths requested."""
    paths: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            paths.append(self.path)
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/bot", paths
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def test_invite_asks_telegram_once_for_the_username_and_remembers_it(
    database: Database, database_url: str, clock: FakeClock
) -> None:
    async with database.session() as session:
        await make_program(session, clock.now, "Career")
    with fake_bot_api(200, {"ok": True, "result": BOT_USER}) as (base_url, paths):
        env = {"TELEGRAM_BOT_TOKEN": BOT_TOKEN, "TELEGRAM_API_BASE_URL": base_url}
        first = succeeded(await tandem(database_url, "invite", "Career", "--role", "mentee", **env))
        second = succeeded(
            await tandem(database_url, "invite", "Career", "--role", "mentee", **env)
        )
    assert paths == [f"/bot{BOT_TOKEN}/getMe"]
    username = BOT_USER["username"]
    assert first.startswith(f"https://t.me/{username}?start=")
    assert second.startswith(f"https://t.me/{username}?start=")
    async with database.session() as session:
        assert await recall(session, BOT_USERNAME) == username


async def test_invite_with_a_rejected_token_keeps_the_token_out_of_the_message(
    database: Database, database_url: str, clock: FakeClock
) -> None:
    async with database.session() as session:
        await make_program(session, clock.now, "Career")
    rejection = {"ok": False, "error_code": 401, "description": "Unauthorized"}
    with fake_bot_api(401, rejection) as (base_url, _):
        env = {"TELEGRAM_BOT_TOKEN": BOT_TOKEN, "TELEGRAM_API_BASE_URL": base_url}
        result = await tandem(database_url, "invite", "Career", "--role", "mentee", **env)
    message = refused(result)
    assert "rejected TELEGRAM_BOT_TOKEN" in message
    assert BOT_TOKEN not in message and BOT_TOKEN.split(":")[1] not in result.output
    assert await all_rows(database, Invite) == []
    assert await all_rows(database, StoredState) == []


# --- pairing and people ------------------------------------------------------------------


async def seed_people(database: Database, clock: FakeClock) -> dict[str, int]:
    """Career: mentors Mona (@mona) and Mark, mentees Eli (Telegram 5000000003) and Zoe,
    coordinator Cora; Olga is only in Other. Returns person ids by name."""
    now = clock.now
    ids: dict[str, int] = {}
    async with database.session() as session:
        career = await make_program(session, now, "Career")
        other = await make_program(session, now, "Other")
        people = [
            ("Mona", 5_000_000_001, "mona", Role.MENTOR, career),
            ("Mark", 5_000_000_002, None, Role.MENTOR, career),
            ("Eli", 5_000_000_003, "eli_t", Role.MENTEE, career),
            ("Zoe", 5_000_000_004, None, Role.MENTEE, career),
            ("Cora", 5_000_000_005, "cora", Role.COORDINATOR, career),
            ("Olga", 5_000_000_006, None, Role.MENTEE, other),
        ]
        for name, telegram_id, username, role, program in people:
            locale = "fr" if name == "Zoe" else "en"
            zone = "America/Halifax" if name == "Eli" else None
            person = await add_person(
                session, now, telegram_id, name, username=username, locale=locale, timezone=zone
            )
            await join(session, now, person, program, role, finished=name != "Zoe")
            assert person.id is not None
            ids[name] = person.id
    return ids


async def test_pair_by_username_and_telegram_id_records_the_match(
    database: Database, database_url: str, clock: FakeClock
) -> None:
    ids = await seed_people(database, clock)
    out = succeeded(await tandem(database_url, "pair", "Career", "@Mona", "5000000003"))
    (match,) = await all_rows(database, Match)
    assert out == f"Match {match.id} in Career: mentor Mona, mentee Eli, planned end 2027-02-08.\n"
    assert (match.mentor_id, match.mentee_id, match.status) == (ids["Mona"], ids["Eli"], "active")
    assert match.started_at == clock.now
    assert match.planned_end == date(2027, 2, 8)  # Monday 16 November 2026 + 12 weeks
    (event,) = await all_rows(database, AuditEvent)
    assert (event.action, event.actor_label, event.actor_id) == ("match.create", "cli ana", None)
    assert event.at == clock.now


async def test_pair_introduces_both_partners_in_their_own_language(
    monkeypatch: pytest.MonkeyPatch, database: Database, database_url: str, clock: FakeClock
) -> None:
    """Issue 11, point 11: the command line pairs as /pair does, introductions included,
    sent through the Bot API at the configured base URL once the match is committed."""
    ids = await seed_people(database, clock)
    urls: list[str] = []

    class Recorded(FakeBotApi):
        async def do_request(self, url: str, method: str, *args: Any, **kw: Any) -> Any:
            urls.append(url)
            return await super().do_request(url, method, *args, **kw)

    api = Recorded(strict_chats=True)
    for chat_id in (5_000_000_002, 5_000_000_004):  # Mark and Zoe have started the bot
        api.register_chat({"id": chat_id, "type": "private"})
    monkeypatch.setattr(cli, "telegram_request", lambda: api)
    env = {"TELEGRAM_BOT_TOKEN": BOT_TOKEN, "TELEGRAM_API_BASE_URL": "https://bots.test/bot"}
    mentor, mentee = f"#{ids['Mark']}", f"#{ids['Zoe']}"
    result = await tandem(database_url, "pair", "Career", mentor, mentee, **env)
    assert "mentor Mark, mentee Zoe" in succeeded(result)
    assert result.stderr == "Introduced Mark and Zoe to each other.\n"
    (to_zoe,) = api.visible(5_000_000_004)
    assert to_zoe.text.startswith(
        "🎉 Voici votre mentor! Vous faites maintenant équipe avec Mark dans le programme Career."
    )
    (to_mark,) = api.visible(5_000_000_002)
    assert to_mark.text.startswith(
        "🎉 Meet your mentee! Your coordinator has paired you with Zoe in Career."
    )
    assert to_mark.text.endswith("Your coordinator will help you get in touch for a first meeting.")
    assert urls == [f"https://bots.test/bot{BOT_TOKEN}/sendMessage"] * 2
    api.assert_no_problems()


async def test_pair_names_whoever_the_introduction_did_not_reach(
    monkeypatch: pytest.MonkeyPatch, database: Database, database_url: str, clock: FakeClock
) -> None:
    await seed_people(database, clock)
    api = FakeBotApi(strict_chats=True)
    api.register_chat({"id": 5_000_000_001, "type": "private"})  # Eli never started the bot
    monkeypatch.setattr(cli, "telegram_request", lambda: api)
    env = {"TELEGRAM_BOT_TOKEN": BOT_TOKEN}
    result = await tandem(database_url, "pair", "Career", "@mona", "@eli_t", **env)
    succeeded(result)
    assert result.stderr == "Could not reach Eli: introduce them yourself.\n"
    (to_mona,) = api.visible(5_000_000_001)
    assert "Meet your mentee!" in to_mona.text and "Eli" in to_mona.text
    assert len(await all_rows(database, Match)) == 1  # the match stands


async def test_pair_without_a_token_says_nobody_was_told(
    database: Database, database_url: str, clock: FakeClock
) -> None:
    await seed_people(database, clock)
    result = await tandem(database_url, "pair", "Career", "@mona", "@eli_t")
    succeeded(result)
    assert "neither person was told" in result.stderr
    assert len(await all_rows(database, Match)) == 1


async def test_pair_by_person_id(database: Database, database_url: str, clock: FakeClock) -> None:
    ids = await seed_people(database, clock)
    # "#id" and a plain number that is no Telegram id both mean a person id.
    out = succeeded(await tandem(database_url, "pair", "1", f"#{ids['Mark']}", str(ids["Zoe"])))
    assert "mentor Mark, mentee Zoe" in out
    (match,) = await all_rows(database, Match)
    assert (match.mentor_id, match.mentee_id) == (ids["Mark"], ids["Zoe"])


@pytest.mark.parametrize(
    ("mentor", "mentee", "says"),
    [
        ("@eli_t", "@mona", "Eli is not a mentor in Career."),
        ("@mona", "5000000006", "Olga is not a member of Career."),
        ("@mona", "@mona", "Mona cannot mentor themselves."),
        ("@nobody", "@mona", "Nobody matches '@nobody'"),
        ("@mark_unknown", "#999", "Nobody matches '@mark_unknown'"),
    ],
)
async def test_pair_refuses_wrong_people(
    database: Database, database_url: str, clock: FakeClock, mentor: str, mentee: str, says: str
) -> None:
    await seed_people(database, clock)
    assert refused(await tandem(database_url, "pair", "Career", mentor, mentee)).startswith(says)
    assert await all_rows(database, Match) == []
    assert await all_rows(database, AuditEvent) == []


async def test_pair_refuses_someone_already_matched(
    database: Database, database_url: str, clock: FakeClock
) -> None:
    await seed_people(database, clock)
    succeeded(await tandem(database_url, "pair", "Career", "@mona", "@eli_t"))
    message = refused(await tandem(database_url, "pair", "Career", "5000000002", "@eli_t"))
    assert message == "Eli is already in open match 1 in Career."
    assert len(await all_rows(database, Match)) == 1
    assert len(await all_rows(database, AuditEvent)) == 1


async def test_pair_refuses_an_unknown_program(
    database: Database, database_url: str, clock: FakeClock
) -> None:
    await seed_people(database, clock)
    assert "No program" in refused(await tandem(database_url, "pair", "Nope", "@mona", "@eli_t"))


async def test_match_close_starts_closure_with_the_reason_and_audits_it(
    database: Database, database_url: str, clock: FakeClock
) -> None:
    await seed_people(database, clock)
    succeeded(await tandem(database_url, "pair", "Career", "@mona", "@eli_t"))
    out = succeeded(
        await tandem(database_url, "match", "close", "Career", "1", "--reason", "goals_met")
    )
    assert out == "Match 1 in Career is closing (goals_met).\n"
    (match,) = await all_rows(database, Match)
    assert (match.status, match.closure_reason, match.closing_at) == (
        "closing",
        "goals_met",
        clock.now,
    )
    events = await all_rows(database, AuditEvent)
    assert [(e.action, e.actor_label, e.actor_id) for e in events][-1] == (
        "match.end",
        "cli ana",
        None,
    )
    again = await tandem(database_url, "match", "close", "Career", "1", "--reason", "other")
    assert refused(again) == "Match 1 is already closing; nothing to close."


async def test_match_close_refuses_another_programs_match_and_unknown_reasons(
    database: Database, database_url: str, clock: FakeClock
) -> None:
    await seed_people(database, clock)
    succeeded(await tandem(database_url, "pair", "Career", "@mona", "@eli_t"))
    other = await tandem(database_url, "match", "close", "Other", "1", "--reason", "other")
    assert refused(other) == "Other has no match 1."
    missing = await tandem(database_url, "match", "close", "Career", "7", "--reason", "other")
    assert refused(missing) == "Career has no match 7."
    bad = await tandem(database_url, "match", "close", "Career", "1", "--reason", "bored")
    assert bad.exit_code == 2 and "bored" in bad.stderr
    (match,) = await all_rows(database, Match)
    assert match.status == "active"
    assert [event.action for event in await all_rows(database, AuditEvent)] == ["match.create"]


async def test_people_shows_everyone_with_their_partner(
    database: Database, database_url: str, clock: FakeClock
) -> None:
    ids = await seed_people(database, clock)
    async with database.session() as session:
        left = await add_person(session, clock.now, 77, "Gone", status=PersonStatus.ERASED)
        career = (await session.exec(select(Program).where(Program.name == "Career"))).one()
        await join(session, clock.now, left, career, Role.MENTEE)
    succeeded(await tandem(database_url, "pair", "Career", "@mona", "@eli_t"))
    out = succeeded(await tandem(database_url, "people", "Career"))
    header, rule, *rows = out.splitlines()
    assert header.split() == [
        "ID", "NAME", "USERNAME", "ROLE", "STATUS", "ONBOARDED", "LOCALE", "TIME", "ZONE",
        "PARTNER",
    ]  # fmt: skip
    assert set(rule) == {"-", " "}
    assert [row.split() for row in rows] == [
        [str(ids["Cora"]), "Cora", "@cora", "coordinator", "active", "yes", "en", "—", "—"],
        [str(ids["Mark"]), "Mark", "—", "mentor", "active", "yes", "en", "—", "—"],
        [str(ids["Mona"]), "Mona", "@mona", "mentor", "active", "yes", "en", "—", "Eli"],
        [str(ids["Eli"]), "Eli", "@eli_t", "mentee", "active", "yes", "en", "America/Halifax",
         "Mona"],
        [str(ids["Zoe"]), "Zoe", "—", "mentee", "active", "no", "fr", "—", "—"],
    ]  # fmt: skip
    # Columns line up: every row starts its PARTNER cell where the header does.
    column = header.index("PARTNER")
    assert all(row[column - 2 : column] == "  " and row[column] != " " for row in rows)
    assert "Gone" not in out and "Olga" not in out


async def test_people_of_an_empty_program_says_so(
    database: Database, database_url: str, clock: FakeClock
) -> None:
    async with database.session() as session:
        await make_program(session, clock.now, "Career")
    result = await tandem(database_url, "people", "Career")
    assert succeeded(result) == ""
    assert "Nobody has joined Career yet" in result.stderr


def settings_shown(output: str) -> dict[str, tuple[str, str]]:
    """`program configure`'s table: setting -> (value, set by)."""
    header, rule, *lines = output.splitlines()
    assert header.split() == ["SETTING", "VALUE", "SET", "BY"]
    assert set(rule) == {"-", " "}
    shown = {}
    for line in lines:
        key, value, source = line.split()
        shown[key] = (value, source)
    return shown


async def test_program_configure_shows_every_setting_in_force(
    database: Database, database_url: str, clock: FakeClock
) -> None:
    async with database.session() as session:
        await make_program(session, clock.now, "Career Mentoring")
    result = await tandem(database_url, "program", "configure", "Career Mentoring")
    shown = settings_shown(succeeded(result))
    assert set(shown) == set(program_settings.SETTINGS)
    assert shown["reminder_hours"] == ("24", "default")
    assert shown["expected_minutes_per_week"] == ("60", "default")
    assert shown["instruments.pulse"] == ("relationship_pulse", "default")
    assert shown["flags.low_rating"] == ("2", "default")
    assert shown["digest.weekday"] == ("Mon", "default")
    assert shown["digest.enabled"] == ("on", "default")
    assert "tandem program configure 1 KEY=VALUE" in result.stderr
    assert await all_rows(database, AuditEvent) == []  # looking changes nothing


async def test_program_configure_checks_stores_and_audits_settings(
    database: Database, database_url: str, clock: FakeClock
) -> None:
    async with database.session() as session:
        program = await make_program(session, clock.now, "Career Mentoring")
    result = await tandem(
        database_url,
        "program",
        "configure",
        str(program.id),
        "reminder_hours=12",
        "instruments.pulse=relationship_pulse",
        "topics=resume,networking",
    )
    shown = settings_shown(succeeded(result))
    assert shown["reminder_hours"] == ("12", "program")
    assert shown["instruments.pulse"] == ("relationship_pulse", "program")
    assert shown["topics"] == ("resume,networking", "program")
    assert shown["instruments.mentee"] == ("mentee_weekly", "default")
    assert "3 settings changed in Career Mentoring" in result.stderr
    (stored,) = await all_rows(database, Program)
    assert stored.settings == {
        "reminder_hours": 12,
        "instruments": {"pulse": "relationship_pulse"},
        "topics": ["resume", "networking"],
    }
    (event,) = await all_rows(database, AuditEvent)
    assert (event.action, event.subject, event.actor_id, event.actor_label) == (
        "program.configure",
        f"program:{program.id}",
        None,
        "cli ana",
    )
    assert event.detail == {
        "changes": {
            "reminder_hours": 12,
            "instruments.pulse": "relationship_pulse",
            "topics": ["resume", "networking"],
        },
        "source": "cli",
    }
    again = settings_shown(succeeded(await tandem(database_url, "program", "configure", "1")))
    assert again["topics"] == ("resume,networking", "program")


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ("instruments.mentee=nope", "is not an instrument"),
        ("x=1", "known key"),
        ("reminder_hours=-3", "must be from 0 to 168 hours"),
        ("reminder_hours=soon", "must be a number of hours"),
        ("reflection_every_weeks=1.5", "must be a whole number from 0 to 52 (weeks"),
        (
            "flags.low_rating=9",
            "flags.low_rating='9' must be a whole number from 1 to 4 (points on the 1–5 scale)",
        ),
        ("flags.low_rating=5", "from 1 to 4"),
        ("flags.low_rating=0", "from 1 to 4"),
        ("flags.rating_gap=1.5", "must be a whole number"),
        ("flags.rating_gap=5", "from 1 to 4"),
        ("flags.missed_in_a_row=0", "must be a whole number from 1 to 1000 (times)"),
        ("topics=", "must name 1 to"),
        ("topics=resume,cooking", "unknown topics ['cooking']"),
        ("digest.weekday=8", "must be a day of the week"),
        ("digest.time=noon", "must be a time of day, HH:MM"),
        ("digest.time=25:00", "must be a time of day"),
        ("digest.enabled=maybe", "must be on or off"),
        ("closure.survey_days=0", "must be a whole number from 1 to 90 (days)"),
        ("closure.survey_days=2 weeks", "from 1 to 90"),
        ("closure.notice_weeks=0", "must be a whole number from 1 to 52 (weeks)"),
        ("closure.extension_weeks=53", "from 1 to 52"),
        ("followup.months=3,6,6", "names the same month twice"),
        ("followup.months=3;6", "from 1 to 60 (months, comma-separated such as 3,6, or off)"),
        ("followup.months=0", "from 1 to 60"),
        ("followup.months=61", "from 1 to 60"),
    ],
)
async def test_program_configure_refuses_values_that_mean_nothing(
    database: Database, database_url: str, clock: FakeClock, setting: str, says: str
) -> None:
    async with database.session() as session:
        await make_program(session, clock.now, "Career")
    assert says in refused(await tandem(database_url, "program", "configure", "1", setting))
    (program,) = await all_rows(database, Program)
    assert program.settings == {}
    assert await all_rows(database, AuditEvent) == []


async def test_program_configure_shows_and_sets_the_closure_settings(
    database: Database, database_url: str, clock: FakeClock
) -> None:
    async with database.session() as session:
        program = await make_program(session, clock.now, "Closure")
    args = ("program", "configure", str(program.id))
    shown = settings_shown(succeeded(await tandem(database_url, *args)))
    assert shown["closure.survey_days"] == ("14", "default")
    assert shown["closure.notice_weeks"] == ("2", "default")
    assert shown["closure.extension_weeks"] == ("4", "default")
    assert shown["followup.months"] == ("3,6", "default")
    changes = ("closure.survey_days=21", "closure.extension_weeks=6", "followup.months=12, 1,6")
    shown = settings_shown(succeeded(await tandem(database_url, *args, *changes)))
    assert shown["closure.survey_days"] == ("21", "program")
    assert shown["closure.extension_weeks"] == ("6", "program")
    assert shown["followup.months"] == ("1,6,12", "program")
    (stored,) = await all_rows(database, Program)
    assert stored.settings == {
        "closure": {"survey_days": 21, "extension_weeks": 6},
        "followup": {"months": [1, 6, 12]},
    }
    assert closure_settings(stored.settings).survey_window == timedelta(days=21)
    shown = settings_shown(succeeded(await tandem(database_url, *args, "followup.months=off")))
    assert shown["followup.months"] == ("off", "program")
    (stored,) = await all_rows(database, Program)
    assert closure_settings(stored.settings).followup_months == ()


async def test_program_configure_sets_flag_thresholds_and_the_digest(
    database: Database, database_url: str, clock: FakeClock
) -> None:
    async with database.session() as session:
        program = await make_program(session, clock.now, "Digest")
    args = ("program", "configure", str(program.id))
    shown = settings_shown(
        succeeded(
            await tandem(
                database_url,
                *args,
                "flags.missed_in_a_row=3",
                "flags.low_rating=1",
                "digest.weekday=vendredi",
                "digest.time=16 h 30",
                "digest.enabled=off",
            )
        )
    )
    assert shown["flags.missed_in_a_row"] == ("3", "program")
    assert shown["flags.low_rating"] == ("1", "program")
    assert shown["digest.weekday"] == ("Fri", "program")
    assert shown["digest.time"] == ("16:30", "program")
    assert shown["digest.enabled"] == ("off", "program")
    (stored,) = await all_rows(database, Program)
    assert stored.settings == {
        "flags": {"missed_in_a_row": 3, "low_rating": 1},
        "digest": {"weekday": 4, "time": "16:30", "enabled": False},
    }


# --- help ------------------------------------------------------------------------------


def command_paths() -> list[tuple[str, ...]]:
    """Every command and group of `tandem`, as the words that reach it."""
    paths: list[tuple[str, ...]] = [()]

    def walk(group: TyperGroup, prefix: tuple[str, ...]) -> None:
        for name, command in group.commands.items():
            paths.append((*prefix, name))
            if isinstance(command, TyperGroup):
                walk(command, (*prefix, name))

    root = typer.main.get_command(cli.app)
    assert isinstance(root, TyperGroup)
    walk(root, ())
    return paths


def help_text(path: tuple[str, ...], columns: int) -> str:
    result = CliRunner().invoke(cli.app, [*path, "--help"], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    return result.output


def panel_rows(text: str) -> list[str]:
    return [line.strip("│ ") for line in text.splitlines() if line.startswith("│")]


def is_continuation(line: str) -> bool:
    """A panel row whose name column is empty: its text carries on the row above."""
    inner = line[1:]
    return len(inner) - len(inner.lstrip()) > 8


@pytest.mark.parametrize("path", command_paths(), ids=lambda path: " ".join(path) or "tandem")
def test_help_has_no_line_breaks_in_the_middle_of_a_sentence(path: tuple[str, ...]) -> None:
    # Wide enough that nothing wraps for lack of room: any break left is in the text itself.
    text = help_text(path, 1000)
    _, _, rest = text.partition("Usage:")
    description = rest.split("╭", 1)[0].splitlines()[1:]
    sentences = [line.strip() for line in description if line.strip()]
    assert sentences, text
    assert all(line.endswith((".", ":", ")")) for line in sentences), sentences
    rows = [line for line in text.splitlines() if line.startswith("│")]
    assert not [row for row in rows if is_continuation(row)], text
    assert all(row.rstrip("│ ").endswith((".", "]")) for row in rows), rows
    # Nothing in square brackets was taken for markup and dropped ("or a city .").
    assert not re.search(r" \.(\s|$)", text), text
    # In an 80-column terminal each command of a group is summed up on one line.
    narrow = [line for line in help_text(path, 80).splitlines() if line.startswith("│")]
    if "Commands" in text:
        after_help = next(index for index, row in enumerate(narrow) if "--help" in row) + 1
        commands = narrow[after_help:]
        assert not [row for row in commands if is_continuation(row)], help_text(path, 80)


def test_program_help_says_it_creates_lists_and_configures() -> None:
    assert "Create, list and configure programs." in help_text(("program",), 80)
    assert "Create, list and configure programs." in help_text((), 80)


def test_gitignore_covers_what_the_cli_writes_by_default(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")
    written = [
        export_file_name("Career Bridge", date(2026, 11, 16), "xlsx"),
        export_file_name("Career Bridge", date(2026, 11, 16), "csv"),
        "invites/mentee-abc123.png",  # the README's --qr-dir
        "tandem.db",
    ]
    checked = subprocess.run(
        ["git", "-C", str(root), "check-ignore", "--no-index", *written],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.stdout.split() == written
