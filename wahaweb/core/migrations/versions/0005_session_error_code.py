"""The kind of a session's failure, beside its text

Revision ID: 0005_session_error_code
Revises: 0004_server_webhook_token
Create Date: 2026-11-29

`wa_session.last_error_code`: a code (`wahaweb.core.failures`) the session's owner
sees as words in their language; `last_error` keeps the text for operators, which may be
WAHA's own answer. Rows failed before this revision have no code: their owners see the
generic "this session failed". A plain ADD COLUMN.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_session_error_code"
down_revision: str | Sequence[str] | None = "0004_server_webhook_token"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("wa_session", sa.Column("last_error_code", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("wa_session") as batch:
        batch.drop_column("last_error_code")
