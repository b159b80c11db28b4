"""The locks that installs use agree with pyproject.toml and with what is installed.

pyproject.toml holds compatible ranges; requirements.lock (the bot) and
requirements-dev.lock (the bot, tests and linter) pin exact versions with hashes, for
every platform and Python the project supports (a package may be pinned twice, under
different environment markers). These tests fail when someone edits a range without
running `bash .ci/lock`, or when the environment running the tests is not the locked one.
"""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def locked(lock: str) -> list[tuple[Requirement, bool]]:
    """Each pin of the lock file, and whether it applies to the running interpreter."""
    text = (ROOT / lock).read_text(encoding="utf-8")
    entries = []
    for line in re.sub(r"\\\n\s*", " ", text).splitlines():
        if line and not line.startswith((" ", "#")):
            requirement = Requirement(line.split(" --hash", 1)[0].strip())
            entries.append(
                (requirement, requirement.marker is None or requirement.marker.evaluate())
            )
    return entries


def pins(lock: str, *, here_only: bool = False) -> dict[str, set[str]]:
    """name → the versions the lock pins it at (here only: for this interpreter)."""
    found: dict[str, set[str]] = {}
    for requirement, applies in locked(lock):
        if applies or not here_only:
            (pinned,) = (spec.version for spec in requirement.specifier)
            found.setdefault(canonicalize_name(requirement.name), set()).add(pinned)
    return found


def disagreements(requirements: list[Requirement], lock: str) -> list[str]:
    """What pyproject.toml asks for that the lock does not hold."""
    pinned = pins(lock)
    problems = []
    for requirement in requirements:
        versions = pinned.get(canonicalize_name(requirement.name), set())
        if not versions:
            problems.append(f"{requirement.name} is not in {lock}")
        for outside in sorted(v for v in versions if not requirement.specifier.contains(v)):
            problems.append(f"{lock} pins {requirement.name}=={outside}, outside {requirement}")
    return problems


PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
RUNTIME = [Requirement(line) for line in PROJECT["dependencies"]]
DEV = [Requirement(line) for line in PROJECT["optional-dependencies"]["dev"]]


@pytest.mark.parametrize(
    ("lock", "requirements"),
    [("requirements.lock", RUNTIME), ("requirements-dev.lock", RUNTIME + DEV)],
)
def test_every_dependency_is_locked_within_its_range(
    lock: str, requirements: list[Requirement]
) -> None:
    assert disagreements(requirements, lock) == [], "run `bash .ci/lock`"


def test_a_range_the_lock_does_not_satisfy_is_reported() -> None:
    narrowed = [Requirement("babel>=2.18,<2.19"), Requirement("left-pad>=1")]
    assert disagreements(narrowed, "requirements.lock") == [
        f"requirements.lock pins babel=={min(pins('requirements.lock')['babel'])}, "
        "outside babel<2.19,>=2.18",
        "left-pad is not in requirements.lock",
    ]


def test_dev_lock_pins_the_bot_lock_versions() -> None:
    runtime, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    assert {name: dev.get(name) for name in runtime} == runtime


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-dev.lock"])
def test_every_pin_carries_hashes(lock: str) -> None:
    text = re.sub(r"\\\n\s*", " ", (ROOT / lock).read_text(encoding="utf-8"))
    pinned = [line for line in text.splitlines() if line and not line.startswith((" ", "#"))]
    assert pinned and [line for line in pinned if "--hash=sha256:" not in line] == []


def test_the_running_environment_is_the_locked_one() -> None:
    """CI and the README install from requirements-dev.lock: every locked package that
    applies to this interpreter and platform is installed at exactly its locked version."""
    wrong = {}
    for name, (pinned,) in pins("requirements-dev.lock", here_only=True).items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = "nothing"
        if installed != pinned:
            wrong[name] = f"{installed} installed, {pinned} locked"
    assert wrong == {}
