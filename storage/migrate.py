"""Apply Alembic migrations from code (start-up, `tandem db upgrade`, tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from storage.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class Migration:
    """One revision an upgrade applied: its id and the first line of its message."""

    revision: str
    message: str


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str | None:
    """The newest revision the code knows."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _upgrade(connection: Connection, revision: str) -> list[Migration]:
    config = alembic_config()
    config.attributes["connection"] = connection
    before = MigrationContext.configure(connection).get_current_heads()
    command.upgrade(config, revision)
    after = MigrationContext.configure(connection).get_current_heads()
    scripts = ScriptDirectory.from_config(config)
    # iterate_revisions walks from the upper bound down and leaves the lower bound out.
    applied = scripts.iterate_revisions(after, before or "base")
    return [
        Migration(script.revision, (script.doc or "").strip().partition("\n")[0])
        for script in reversed(list(applied))
    ]


async def upgrade(database: Database, revision: str = "head") -> list[Migration]:
    """Bring the schema to `revision` in one transaction; returns the revisions applied,
    oldest first (empty when the schema was already there)."""
    async with database.engine.begin() as connection:
        return await connection.run_sync(_upgrade, revision)
