"""The layers look down only, read from the imports of every module (ast, not by running
them): bot/ on top, then the dialogues, then the kit (with the engine and instruments),
then storage/ and locales/. A dialogue never imports another dialogue; storage/ and
locales/ import neither bot/ nor conversations/; nothing under conversations/ imports bot/.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "conversations", "storage", "locales")
# What every dialogue may import from conversations/ besides itself.
SHARED = ("conversations.kit", "conversations.engine", "conversations.instruments")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(source: str, name: str, is_package: bool = False) -> set[str]:
    """Every module `source` (the module `name`) imports, anywhere in it: `from a import b`
    counts as a.b as well, since b may be a module."""
    found: set[str] = set()
    package = name.split(".") if is_package else name.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package[: len(package) - node.level + 1]
                base = ".".join([*parent, *([node.module] if node.module else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def is_shared(module: str) -> bool:
    return any(module == shared or module.startswith(shared + ".") for shared in SHARED)


def dialogue_of(module: str) -> str | None:
    """The dialogue a conversations module belongs to (its top-level module or package),
    or None for the package itself and the shared kit, engine and instruments."""
    parts = module.split(".")
    if parts[0] != "conversations" or len(parts) < 2 or is_shared(module):
        return None
    return ".".join(parts[:2])


def looks_up(name: str, target: str) -> bool:
    """Whether module `name` importing `target` crosses the layers upwards."""
    top, target_top = name.split(".")[0], target.split(".")[0]
    if top in ("storage", "locales"):
        return target_top in ("bot", "conversations")
    if top == "conversations":
        return target_top == "bot" or (is_shared(name) and dialogue_of(target) is not None)
    return False


def violations(name: str, imports: set[str]) -> set[tuple[str, str]]:
    """The imports of module `name` that look up (module, target) or sideways (dialogue,
    other dialogue)."""
    bad: set[tuple[str, str]] = set()
    for target in imports:
        if looks_up(name, target):
            bad.add((name, target))
        elif (own := dialogue_of(name)) and (other := dialogue_of(target)) and own != other:
            bad.add((own, other))
    return bad


def project_modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    }


def test_every_layer_looks_down() -> None:
    found: set[tuple[str, str]] = set()
    for name, path in project_modules().items():
        source = path.read_text(encoding="utf-8")
        found |= violations(name, imported(source, name, path.name == "__init__.py"))
    assert sorted(found) == [], "imports that look up or sideways"


@pytest.mark.parametrize(
    ("name", "source", "expected"),
    [
        ("conversations.report", "from conversations.coordinator import clip", True),
        ("conversations.report", "from conversations import checkin", True),
        ("conversations.report", "def f():\n    import conversations.alerts\n", True),
        ("conversations.kit.text", "from conversations.meeting_log import x", True),
        ("conversations.kit.text", "from .. import checkin", True),
        ("conversations.engine", "from conversations.goals import x", True),
        ("conversations.report", "from bot.config import Settings", True),
        ("storage.flags", "from conversations.kit.text import clip", True),
        ("storage.flags", "import bot.app", True),
        ("locales.translator", "from bot import config", True),
        ("conversations.report", "from conversations.kit.text import clip", False),
        ("conversations.report", "from conversations import engine, instruments", False),
        ("conversations.report", "from conversations.report import x", False),
        ("conversations.kit.text", "from .buttons import parse_number", False),
        ("storage.flags", "from locales.translator import N_\nimport sqlalchemy", False),
        ("bot.app", "from conversations import checkin, alerts", False),
    ],
)
def test_the_check_sees_imports_that_look_up_or_sideways(
    name: str, source: str, expected: bool
) -> None:
    assert bool(violations(name, imported(source, name))) is expected
