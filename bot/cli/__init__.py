"""The admin command line: `tandem run`, `tandem db upgrade`, programs, invites, pairing.

Output is for admins and stays in English. Anything a script may want to capture (a new
program's id, invite links) goes to stdout alone; notes go to stderr. Every expected
problem is one sentence on stderr and exit code 2, never a traceback.

One module per group of commands; `common` holds what they share. What tests replace
lives here, in the package, and the commands read it through the package (`cli.clock()`),
so a test patches `bot.cli.clock` once for every command.
"""

import getpass
from collections.abc import Callable

from telegram.request import BaseRequest, HTTPXRequest

from storage.clock import Clock, utcnow

# Where "now" comes from; tests replace it with their clock.
clock: Clock = utcnow
# How messages reach the Bot API; tests replace it with their fake Bot API.
telegram_request: Callable[[], BaseRequest] = HTTPXRequest


def cli_actor() -> str:
    """How the audit trail names an action taken on the command line: "cli" and the
    operating-system user who ran it ("cli ana"); no person row stands behind it."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (some containers)
        return "cli"
    return f"cli {' '.join(user.split())}"[:120]


# The command modules register their commands on `app` when imported, in this order, which
# is the order of `tandem --help`.
# isort: off
from bot.cli import server  # noqa: E402
from bot.cli import programs  # noqa: E402
from bot.cli import invites  # noqa: E402
from bot.cli import matches  # noqa: E402
from bot.cli import erasure  # noqa: E402
from bot.cli import exports  # noqa: E402
from bot.cli import schedule  # noqa: E402

# isort: on
from bot.cli.common import app  # noqa: E402

__all__ = [
    "app",
    "cli_actor",
    "clock",
    "erasure",
    "exports",
    "invites",
    "main",
    "matches",
    "programs",
    "schedule",
    "server",
    "telegram_request",
]


def main() -> None:
    """Entry point of the `tandem` console script."""
    app()
