"""each match's last contact, kept by triggers

Revision ID: 2d7b9c4e6f18
Revises: 8a2f5c7d1e64
Create Date: 2026-12-03 18:40:00.000000

/matches judged every open match's contact from its recent meeting logs and contact
answers: for 10,000 matches, some 48,000 logs and 64,000 answers on every view. The new
``match_contact`` table holds each match's latest meeting day and latest contact report,
kept by triggers as logs and answers are written (storage.last_contact), and filled here
from the rows already there. The partial index of contact answers served only that
reading; it goes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage import last_contact
from storage.models import UTCDateTime

revision: str = '2d7b9c4e6f18'
down_revision: str | None = '8a2f5c7d1e64'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONTACTS = sa.text("question_key = 'contact'")


def upgrade() -> None:
    op.create_table(
        'match_contact',
        sa.Column('match_id', sa.Integer(), nullable=False),
        sa.Column('met_on', sa.Date(), nullable=True),
        sa.Column('reported_at', UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['match_id'], ['match.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('match_id'),
    )
    op.drop_index('ix_answer_contact', table_name='answer')
    connection = op.get_bind()
    last_contact.refill(connection)
    last_contact.install(connection)


def downgrade() -> None:
    last_contact.uninstall(op.get_bind())
    op.create_index(
        'ix_answer_contact', 'answer', ['answered_at', 'prompt_id', 'value', 'question_key'],
        unique=False, sqlite_where=CONTACTS, postgresql_where=CONTACTS,
    )  # fmt: skip
    op.drop_table('match_contact')
