"""Alembic environment. The bot passes its own connection in `config.attributes`; the
`alembic` command line builds one from DATABASE_URL."""

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from storage.db import DEFAULT_DATABASE_URL, Database, async_database_url

config = context.config
target_metadata = SQLModel.metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_from_url() -> None:
    url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    database = Database(async_database_url(url))
    async with database.engine.begin() as connection:
        await connection.run_sync(run_on)
    await database.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    run_on(connection)
else:
    asyncio.run(run_from_url())
