"""weekly figures kept by triggers

Revision ID: 5b3e8f0a9c21
Revises: 9d4f1c2b7a10
Create Date: 2026-12-03 12:50:00.000000

/report read every check-in of its weeks and their answers (seconds for 10,000 matches).
`match_week` and `program_week` keep those figures as rows are written, by triggers
(storage.week_figures); this fills them from the rows already there.

On SQLite a later migration that copies prompt, answer, meetinglog or match_week to
a new table (batch mode's "move and copy") drops their triggers: it must call
`week_figures.install` again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from storage import week_figures

revision: str = '5b3e8f0a9c21'
down_revision: str | None = '9d4f1c2b7a10'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIGURES = ('reached', 'answered', 'mentee_total', 'mentee_ratings', 'mentor_total', 'mentor_ratings')


def _counts(*names: str) -> list[sa.Column]:
    return [sa.Column(name, sa.Integer(), nullable=False) for name in names]


def upgrade() -> None:
    op.create_table('match_week',
    sa.Column('match_id', sa.Integer(), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    *_counts(*FIGURES, 'logs', 'logged_minutes', 'estimated_minutes'),
    sa.ForeignKeyConstraint(['match_id'], ['match.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('match_id', 'period')
    )
    op.create_index(op.f('ix_match_week_program_id'), 'match_week', ['program_id'], unique=False)
    op.create_table('program_week',
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    *_counts(*FIGURES, 'contact_minutes'),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('program_id', 'period')
    )
    connection = op.get_bind()
    week_figures.refill(connection)
    week_figures.install(connection)


def downgrade() -> None:
    week_figures.uninstall(op.get_bind())
    op.drop_table('program_week')
    op.drop_index(op.f('ix_match_week_program_id'), table_name='match_week')
    op.drop_table('match_week')
