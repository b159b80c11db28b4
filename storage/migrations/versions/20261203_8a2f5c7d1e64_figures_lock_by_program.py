"""weekly figures' triggers: once per statement, locking the program (PostgreSQL)

Revision ID: 8a2f5c7d1e64
Revises: 4c1d7e2a9b30
Create Date: 2026-12-03 16:40:00.000000

On PostgreSQL the triggers that keep the weekly figures took one advisory lock per match
they recomputed, held until the transaction ended: a transaction touching more matches
than PostgreSQL's lock table holds (6,400 by default) failed with "out of shared memory"
(deleting 100,000 prompts did). They now lock each program once, and fire once per
statement over its transition tables, recomputing all the weeks it touched through one
function, `figures_refresh_weeks` (storage.week_figures). The SQLite triggers take no lock
and do not change; they are installed again all the same, which is the same statement.
"""

from collections.abc import Sequence

from alembic import op

from storage import week_figures

revision: str = '8a2f5c7d1e64'
down_revision: str | None = '4c1d7e2a9b30'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    connection = op.get_bind()
    week_figures.uninstall(connection)
    week_figures.install(connection)


def downgrade() -> None:
    """The triggers of this code stay: the earlier ones locked per match, which is what
    this revision removes."""
