"""kept rows: a contact reported taken in as it is; trigger functions plan by key

Revision ID: 5e8b1f3a7c42
Revises: 2d7b9c4e6f18
Create Date: 2026-12-03 21:45:00.000000

The trigger on a new contact answer recomputed its match's ``match_contact`` row from all
the match's answers; on PostgreSQL, while the answer table's statistics say it is small
(a program's first week), the planner read that table whole for each contact. A contact
reported now moves the row's latest report on, or gives the match its row
(storage.last_contact); the other triggers still recompute.

On PostgreSQL every function of the kept rows (storage.week_figures, storage.last_contact)
is now declared with sequential scans priced out (storage.triggers.BY_KEY): their plans
are made once per connection, and made while the answer table was small they read it
whole for every check-in of a batch. All their triggers are installed again with this
code's definitions.
"""

from collections.abc import Sequence

from alembic import op

from storage import kept

revision: str = '5e8b1f3a7c42'
down_revision: str | None = '2d7b9c4e6f18'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    connection = op.get_bind()
    kept.uninstall(connection)
    kept.install(connection)


def downgrade() -> None:
    """The triggers of this code stay: they keep the same rows as the earlier ones."""
