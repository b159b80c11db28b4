"""`tandem export`: a program's data for a spreadsheet."""

from pathlib import Path
from typing import Annotated

import typer

from bot import cli
from bot.cli.common import app, counted, fail, program_or_fail, run_with_database
from bot.config import Settings
from conversations.export import export_codebook
from storage.db import Database
from storage.exports import FORMATS, export_bytes, export_tables, record_export, row_counts
from storage.exports import file_name as export_file_name


@app.command("export")
def export(
    program: Annotated[str, typer.Argument(help="Program id or exact name.")],
    export_format: Annotated[
        str, typer.Option("--format", help="xlsx (one sheet per table) or csv (a zip).")
    ] = "xlsx",
    out: Annotated[
        Path | None,
        typer.Option(help="File to write.", show_default="tandem-PROGRAM-DATE.xlsx or .zip, here"),
    ] = None,
) -> None:
    """Export a program's data for a spreadsheet.

    Participants, matches, answers, logs, goals, flags and audit events, one sheet each.
    Prints the file's path; the row counts go to stderr.
    """
    chosen = export_format.strip().lower()
    if chosen not in FORMATS:
        fail(f"--format must be xlsx or csv, not {export_format!r}.")

    async def work(database: Database, _: Settings) -> tuple[Path, dict[str, int]]:
        now = cli.clock()
        async with database.session() as session:
            found = await program_or_fail(session, program)
            assert found.id is not None
            tables = await export_tables(session, found.id, export_codebook())
            target = out or Path(export_file_name(found.name, now.date(), chosen))
            try:
                target.write_bytes(export_bytes(tables, chosen))
            except OSError as error:
                fail(f"Cannot write the export to {target}: {error.strerror or error}.")
            record_export(
                session,
                found.id,
                tables,
                export_format=chosen,
                actor_id=None,
                actor_label=cli.cli_actor(),
                now=now,
            )
        return target, row_counts(tables)

    target, counts = run_with_database(work)
    typer.echo(target)
    for name, rows in counts.items():
        typer.echo(f"{name}: {counted(rows, 'row')}", err=True)
