"""The README's commands are the ones CI runs and the ones that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_test_command_is_the_one_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    command = re.search(r'^TEST_COMMAND="(.+)"$', ci, re.MULTILINE)
    assert command is not None
    assert f"\n{command[1]}\n" in (ROOT / "README.md").read_text()


def test_readme_commands_install_the_locked_versions() -> None:
    readme = (ROOT / "README.md").read_text()
    run = next(line for line in readme.splitlines() if line.endswith(".venv/bin/python -m bot"))
    assert "pip install -q --require-hashes -r requirements.lock " in run
    assert "pip install -q --no-deps -e ." in run
    ci = (ROOT / ".ci" / "run").read_text()
    assert "--require-hashes -r requirements-dev.lock" in ci


def test_readme_run_command_starts_the_bot_module() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "TELEGRAM_BOT_TOKEN=123456:your-token .venv/bin/python -m bot" in readme
    assert (ROOT / "bot" / "__main__.py").exists()
    procfile = (ROOT / "Procfile").read_text()
    assert "worker: python -m bot" in procfile
    assert "release: tandem db upgrade" in procfile
