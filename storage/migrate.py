"""Apply Alembic migrations from code (start-up, `tandem db upgrade`, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from storage.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the schema to `revision` in one transaction."""
    async with database.engine.begin() as connection:
        await connection.run_sync(_upgrade, revision)
