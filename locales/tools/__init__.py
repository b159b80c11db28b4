"""Catalog tooling: extract, update, check and fill the gettext catalogs.

Run from the project root::

    python -m locales.tools update            # re-extract messages.pot, merge en/fr .po files
    python -m locales.tools check             # fail (exit 1) on any catalog or style problem
    python -m locales.tools fill FILE.json…   # merge French translations from JSON files
    python -m locales.tools todo > todo.json  # the untranslated French entries, as JSON

The .pot and .po files are written without source locations and sorted by msgid, so a
diff shows only real message changes. A file is rewritten only when something other than
its date headers changed.

`update` never uses fuzzy matching: a new message comes out untranslated in every
catalog, and messages no longer in the code are dropped (no obsolete `#~` entries).

Every function takes the catalog directory, the mapping file and the source root as
arguments, so the tests can point them at temporary catalogs.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

# The work is done in catalogs (the files), merging (update), checks (check) and filling
# (fill, todo); this module is the command line.
from locales.tools.catalogs import (
    LOCALES_DIR,
    MAPPING_FILE,
    SOURCE_ROOT,
    keys,
    pot_path,
    read_catalog,
)
from locales.tools.checks import check, report
from locales.tools.filling import fill, todo
from locales.tools.merging import update


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m locales.tools", description=__doc__)
    parser.add_argument("--locales-dir", type=Path, default=LOCALES_DIR)
    parser.add_argument("--mapping-file", type=Path, default=MAPPING_FILE)
    parser.add_argument("--source-root", type=Path, default=SOURCE_ROOT)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("update", help="re-extract messages.pot and update the .po files")
    commands.add_parser("check", help="exit 1 if any catalog is stale or incomplete")
    fill_parser = commands.add_parser("fill", help="merge translations from JSON files")
    fill_parser.add_argument("files", type=Path, nargs="+", metavar="FILE.json")
    fill_parser.add_argument("--language", default="fr")
    todo_parser = commands.add_parser(
        "todo", help="print the untranslated entries as JSON, ready for `fill`"
    )
    todo_parser.add_argument("--language", default="fr")
    args = parser.parse_args(argv)

    if args.command == "update":
        summary = update(args.locales_dir, args.mapping_file, args.source_root)
        print(summary.line())
        return 0

    if args.command == "check":
        problems = check(args.locales_dir, args.mapping_file, args.source_root)
        if problems:
            print(report(problems))
            print(
                f"catalogs NOT OK: {len(problems)} problem(s); run "
                "`python -m locales.tools update`, then translate (`fill`) and re-check"
            )
            return 1
        template = read_catalog(pot_path(args.locales_dir))
        print(f"catalogs OK: {len(keys(template))} messages, fr complete")
        return 0

    if args.command == "todo":
        print(json.dumps(todo(args.locales_dir, args.language), ensure_ascii=False, indent=2))
        return 0

    result = fill(args.files, args.locales_dir, args.language)
    for line in result.unknown:
        print(f"not in the catalog: {line}")
    for line in result.invalid:
        print(f"invalid: {line}")
    for line in result.warnings:
        print(f"warning: {line}")
    print(
        f"{result.filled} translation(s) filled, {result.unchanged} unchanged, "
        f"{len(result.unknown)} unknown, {len(result.invalid)} invalid"
        + ("" if result.written else " (catalog not rewritten)")
    )
    return 0 if result.ok else 1
