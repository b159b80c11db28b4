"""prompt: drop the person and match indexes the composite ones cover

Revision ID: 3f6a2d8c9b14
Revises: 7c1e9a4b2d53
Create Date: 2026-12-04 10:30:00.000000

``ix_prompt_person_id`` is the first column of the unique key (person, match, kind,
period) and ``ix_prompt_match_id`` the first of ``ix_prompt_match_period``: every lookup
by person or by match, the foreign keys' cascades included, goes through those. The two
were written for every prompt materialised, and on PostgreSQL for every status change.
"""

from collections.abc import Sequence

from alembic import op

revision: str = '3f6a2d8c9b14'
down_revision: str | None = '7c1e9a4b2d53'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index('ix_prompt_person_id', table_name='prompt')
    op.drop_index('ix_prompt_match_id', table_name='prompt')


def downgrade() -> None:
    op.create_index('ix_prompt_match_id', 'prompt', ['match_id'], unique=False)
    op.create_index('ix_prompt_person_id', 'prompt', ['person_id'], unique=False)
