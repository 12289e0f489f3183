"""initial schema: plans (seeded), users, auth tokens, sessions, audit events, app settings

Revision ID: 0001
Revises:
Create Date: 2026-11-25

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Stored as UTC; wahaweb.core.models.UTCDateTime restores the time zone on SQLite.
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "app_setting",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("session_id", sa.String(length=54), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_event_at", "audit_event", ["at"])
    op.create_index("ix_audit_event_session_at", "audit_event", ["session_id", "at"])
    op.create_index("ix_audit_event_user_id", "audit_event", ["user_id"])

    plan = op.create_table(
        "plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("session_limit", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "auth_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_auth_token_user_id", "auth_token", ["user_id"])
    op.create_table(
        "wa_session",
        sa.Column("id", sa.String(length=54), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=80), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("waha_status", sa.String(length=40), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("push_name", sa.String(length=128), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("connected_at", TS, nullable=True),
        sa.Column("status_changed_at", TS, nullable=False),
        sa.Column("status_seen_at", TS, nullable=True),
        sa.Column("last_event_id", sa.String(length=100), nullable=True),
        sa.Column("auto_restarts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_wa_session_status", "wa_session", ["status"])
    op.create_index("ix_wa_session_user_id", "wa_session", ["user_id"])

    # Seed plans (the operator may change limits later; this runs once).
    op.bulk_insert(
        plan,
        [
            {"name": "Free", "session_limit": 1},
            {"name": "Basic", "session_limit": 3},
            {"name": "Pro", "session_limit": 10},
            {"name": "Enterprise", "session_limit": 50},
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_wa_session_user_id", table_name="wa_session")
    op.drop_index("ix_wa_session_status", table_name="wa_session")
    op.drop_table("wa_session")
    op.drop_index("ix_auth_token_user_id", table_name="auth_token")
    op.drop_table("auth_token")
    op.drop_table("users")
    op.drop_table("plan")
    op.drop_index("ix_audit_event_user_id", table_name="audit_event")
    op.drop_index("ix_audit_event_session_at", table_name="audit_event")
    op.drop_index("ix_audit_event_at", table_name="audit_event")
    op.drop_table("audit_event")
    op.drop_table("app_setting")
