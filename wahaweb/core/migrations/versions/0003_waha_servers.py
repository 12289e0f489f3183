"""WAHA servers as data; every session remembers its server and its WAHA name

Revision ID: 0003_waha_servers
Revises: 0001
Create Date: 2026-11-28

Existing installs: a placeholder server named `default` is created (no URL yet) and every
existing session is put on it under its own id as WAHA name, which is what it was called
there before. At start-up `WAHA_URL`/`WAHA_API_KEY` (or the embedded simulator) fill the
placeholder in (`ServerRegistry.seed_default`), so an upgrade needs nothing from the operator.

Chained after 0002 (users.language, password_reset), which was written at the same time.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_waha_servers"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
#: Capacity of the placeholder `default` server (start-up seeding sets the configured one).
PLACEHOLDER_CAPACITY = 50


def upgrade() -> None:
    op.create_table(
        "waha_server",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=False),
        sa.Column("api_key_encrypted", sa.Text(), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("draining", sa.Boolean(), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=True),
        sa.Column("tier", sa.String(length=20), nullable=True),
        sa.Column("engine", sa.String(length=20), nullable=True),
        sa.Column("reachable", sa.Boolean(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("probed_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.execute(sa.text(
        "INSERT INTO waha_server (id, name, base_url, capacity, enabled, draining, created_at) "
        "VALUES (1, 'default', '', :cap, :yes, :no, CURRENT_TIMESTAMP)"
    ).bindparams(cap=PLACEHOLDER_CAPACITY, yes=True, no=False))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.text("SELECT setval(pg_get_serial_sequence('waha_server', 'id'), 1)"))
    with op.batch_alter_table("wa_session") as batch:
        batch.add_column(sa.Column("server_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("waha_name", sa.String(length=54), nullable=True))
        batch.create_foreign_key("fk_wa_session_server_id", "waha_server", ["server_id"], ["id"],
                                 ondelete="RESTRICT")
        batch.create_index("ix_wa_session_server_id", ["server_id"])
        batch.create_unique_constraint("uq_wa_session_server_name", ["server_id", "waha_name"])
    op.execute(sa.text("UPDATE wa_session SET server_id = 1, waha_name = id"))


def downgrade() -> None:
    with op.batch_alter_table("wa_session") as batch:
        batch.drop_constraint("uq_wa_session_server_name", type_="unique")
        batch.drop_index("ix_wa_session_server_id")
        batch.drop_constraint("fk_wa_session_server_id", type_="foreignkey")
        batch.drop_column("waha_name")
        batch.drop_column("server_id")
    op.drop_table("waha_server")
