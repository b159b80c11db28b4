"""indexes for figures over large programs

Revision ID: 9d4f1c2b7a10
Revises: 989f8d85de1b
Create Date: 2026-12-03 09:40:00.000000

The coordinator views (storage.standings, storage.metrics, storage.summary) read check-ins
by week, meetings by day and recent answers; without these indexes every view reads each
of the program's rows.
"""

from collections.abc import Sequence

from alembic import op

revision: str = '9d4f1c2b7a10'
down_revision: str | None = '989f8d85de1b'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    'ix_prompt_checkins': ('prompt', ['kind', 'period', 'status', 'match_id', 'person_id']),
    'ix_prompt_match_period': ('prompt', ['match_id', 'kind', 'period', 'status']),
    'ix_answer_answered_key': ('answer', ['answered_at', 'question_key']),
    'ix_meetinglog_match_met_on': ('meetinglog', ['match_id', 'met_on', 'deleted_at']),
    'ix_meetinglog_met_on': ('meetinglog', ['met_on', 'match_id', 'deleted_at', 'minutes']),
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, (table, _) in INDEXES.items():
        op.drop_index(name, table_name=table)
