"""an index of contact answers for match health

Revision ID: 4c1d7e2a9b30
Revises: 5b3e8f0a9c21
Create Date: 2026-12-03 16:20:00.000000

Match health (storage.standings) reads every contact reported lately: for 10,000 matches,
some 64,000 answers of the last weeks. Through (answered_at, question_key) it read each
answer of those weeks, whatever its question, and then its row for the value. A partial
index of the contact answers alone, holding what the query reads, answers it from the
index (65 → 38 ms for that part at 10,000 matches on SQLite). Contact answers are short
choices, so their values fit in an index entry on PostgreSQL too.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '4c1d7e2a9b30'
down_revision: str | None = '5b3e8f0a9c21'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONTACTS = sa.text("question_key = 'contact'")


def upgrade() -> None:
    op.drop_index('ix_answer_answered_key', table_name='answer')
    op.create_index(
        'ix_answer_contact', 'answer', ['answered_at', 'prompt_id', 'value', 'question_key'],
        unique=False, sqlite_where=CONTACTS, postgresql_where=CONTACTS,
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index('ix_answer_contact', table_name='answer')
    op.create_index('ix_answer_answered_key', 'answer', ['answered_at', 'question_key'])
