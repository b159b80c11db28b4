"""Reading, extracting and writing the gettext catalogs: where they live, what identifies a
message, and files rewritten only when more than their dates changed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.pofile import read_po, write_po
from babel.util import LOCALTZ

LOCALES_DIR = Path(__file__).resolve().parent.parent
SOURCE_ROOT = LOCALES_DIR.parent
MAPPING_FILE = LOCALES_DIR / "babel.cfg"

DOMAIN = "messages"
PROJECT = "Tandem"
SOURCE_LANGUAGE = "en"
LANGUAGES = ("en", "fr")
KEYWORDS = parse_keywords(
    ["_", "gettext", "ngettext:1,2", "pgettext:1c,2", "npgettext:1c,2,3", "N_"]
)
COMMENT_TAGS = ("Translators:",)
WIDTH = 76
HEADER_COMMENT = (
    "# Translations template for PROJECT.\n"
    "# This file is distributed under the same license as the PROJECT project.\n"
    "#"
)
DATE_HEADERS = (b'"POT-Creation-Date:', b'"PO-Revision-Date:')
CONTEXT_SEPARATOR = "\x04"

Key = tuple[str | None, str, str | None]
"""(msgctxt, msgid, msgid_plural): what identifies a message for the checks."""


def pot_path(locales_dir: Path) -> Path:
    return locales_dir / f"{DOMAIN}.pot"


def po_path(locales_dir: Path, language: str) -> Path:
    return locales_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def message_key(message: Message) -> Key:
    if isinstance(message.id, (list, tuple)):
        return (message.context, message.id[0], message.id[1])
    return (message.context, message.id, None)


def describe(key: Key) -> str:
    """A readable one-line name for a message: "msgid" [| "plural"] [(context: …)]."""
    context, msgid, plural = key
    text = json.dumps(msgid, ensure_ascii=False)
    if plural is not None:
        text += " | " + json.dumps(plural, ensure_ascii=False)
    if context is not None:
        text += f" (context {json.dumps(context, ensure_ascii=False)})"
    return text


def messages(catalog: Catalog) -> Iterator[Message]:
    """The catalog's real messages (no header, no obsolete entries)."""
    for message in catalog:
        if message.id:
            yield message


def keys(catalog: Catalog) -> set[Key]:
    return {message_key(message) for message in messages(catalog)}


def extract(source_root: Path, mapping_file: Path) -> Catalog:
    """Extract the messages of the code under `source_root`, as `pybabel extract` would."""
    with mapping_file.open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config, str(mapping_file))
    catalog = Catalog(
        project=PROJECT, version=_version(), header_comment=HEADER_COMMENT, charset="utf-8"
    )
    extracted = extract_from_dir(
        source_root,
        method_map,
        options_map,
        keywords=KEYWORDS,
        comment_tags=COMMENT_TAGS,
    )
    for filename, lineno, message, comments, context in extracted:
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tandem")
    except PackageNotFoundError:
        return "0"


def read_catalog(path: Path, language: str | None = None) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=language, domain=DOMAIN)


def render(catalog: Catalog) -> bytes:
    buffer = BytesIO()
    write_po(
        buffer,
        catalog,
        width=WIDTH,
        no_location=True,
        sort_output=True,
        ignore_obsolete=True,
    )
    return buffer.getvalue()


def without_dates(content: bytes) -> bytes:
    return b"\n".join(line for line in content.splitlines() if not line.startswith(DATE_HEADERS))


def write_if_changed(path: Path, catalog: Catalog) -> bool:
    """Write the catalog unless the file already says the same (dates aside)."""
    content = render(catalog)
    if path.exists() and without_dates(path.read_bytes()) == without_dates(content):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return True


def new_catalog(template: Catalog, language: str) -> Catalog:
    """An empty catalog for `language`, as `pybabel init` would start it."""
    return Catalog(
        locale=Locale.parse(language),
        domain=DOMAIN,
        header_comment=HEADER_COMMENT,
        project=template.project,
        version=template.version,
        charset="utf-8",
        creation_date=template.creation_date,
        revision_date=datetime.now(LOCALTZ),
        fuzzy=False,
    )


def is_translated(message: Message) -> bool:
    if isinstance(message.string, (list, tuple)):
        return bool(message.string) and all(message.string)
    return bool(message.string)
