"""`tandem run` and `tandem db upgrade`: the bot itself and its schema."""

import typer

from bot.cli.common import app, counted, db_app, fail, run_with_database
from bot.config import ConfigError, Settings
from storage.db import Database, DatabaseUrlError
from storage.migrate import Migration, head_revision, upgrade


@app.command()
def run() -> None:
    """Run the bot: long polling, or a webhook when WEBHOOK_URL is set."""
    try:
        from bot.runner import run_bot  # lazily: the admin commands work without it
    except ModuleNotFoundError as error:
        if error.name != "bot.runner":
            raise
        fail("This installation has no bot runner (bot/runner.py is missing).")
    try:
        run_bot()
    except (ConfigError, DatabaseUrlError) as error:
        fail(str(error))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the missing migrations and name them (safe to repeat)."""

    async def work(database: Database, _: Settings) -> tuple[str, list[Migration]]:
        applied = await upgrade(database)
        return database.url.render_as_string(hide_password=True), applied

    where, applied = run_with_database(work)
    if not applied:
        typer.echo(f"Database {where} is already up to date (revision {head_revision()}).")
        return
    typer.echo(f"Applied {counted(len(applied), 'migration')} to {where}:")
    for migration in applied:
        typer.echo(f"  {migration.revision}  {migration.message}")
    typer.echo(f"The database is now at revision {applied[-1].revision}.")
