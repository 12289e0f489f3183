"""Per-server webhook token (servers that cannot sign their webhooks) and the event source seen

Revision ID: 0004_server_webhook_token
Revises: 0003_waha_servers
Create Date: 2026-11-29

`waha_server.webhook_token`: the secret part of `/api/waha/webhook/{token}`, the only URL on
which unsigned webhooks (WAHA Core 2024.10: no id, no timestamp, no HMAC) are accepted. Every
existing server gets a fresh random token here; new rows get one from the model.
`waha_server.event_source`: how the status engine last heard from the server ("socket",
"webhook", "poll", "key refused"), for the admin. Plain ADD COLUMNs (no table rebuild).
"""
import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_server_webhook_token"
down_revision: str | Sequence[str] | None = "0003_waha_servers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("waha_server", sa.Column("webhook_token", sa.String(length=64), nullable=True))
    op.add_column("waha_server", sa.Column("event_source", sa.String(length=20), nullable=True))
    bind = op.get_bind()
    for (server_id,) in bind.execute(sa.text("SELECT id FROM waha_server")).all():
        bind.execute(sa.text("UPDATE waha_server SET webhook_token = :token WHERE id = :id"),
                     {"token": secrets.token_urlsafe(32), "id": server_id})


def downgrade() -> None:
    with op.batch_alter_table("waha_server") as batch:
        batch.drop_column("event_source")
        batch.drop_column("webhook_token")
