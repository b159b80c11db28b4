"""weekly figures: a status change moves its week's counts; program sums per statement

Revision ID: 7c1e9a4b2d53
Revises: 5e8b1f3a7c42
Create Date: 2026-12-04 10:10:00.000000

On SQLite a check-in whose status alone changed (the dispatcher marking a batch sent, an
answer completing one) recomputed its week's ``match_week`` row from the week's check-ins,
answers and logs; it now moves the row's ``reached`` and ``answered`` by one.

On PostgreSQL the ``program_week`` sums followed ``match_week`` one row at a time, so a
batch of a hundred matches updated its program's week a hundred times; they now follow
once per statement, summed by program and week (storage.week_figures).

The kept rows' triggers are installed again with this code's definitions.
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
