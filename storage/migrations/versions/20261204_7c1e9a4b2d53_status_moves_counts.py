"""weekly figures: a check-in's status change moves its week's counts (SQLite)

Revision ID: 7c1e9a4b2d53
Revises: 5e8b1f3a7c42
Create Date: 2026-12-04 10:10:00.000000

On SQLite a check-in whose status alone changed (the dispatcher marking a batch sent, an
answer completing one) recomputed its week's ``match_week`` row from the week's check-ins,
answers and logs; it now moves the row's ``reached`` and ``answered`` by one
(storage.week_figures). The kept rows' triggers are installed again with this code's
definitions; PostgreSQL's are unchanged.
"""

from collections.abc import Sequence

from alembic import op

from storage import kept

revision: str = '7c1e9a4b2d53'
down_revision: str | None = '5e8b1f3a7c42'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    connection = op.get_bind()
    kept.uninstall(connection)
    kept.install(connection)


def downgrade() -> None:
    """The triggers of this code stay: they keep the same rows as the earlier ones."""
