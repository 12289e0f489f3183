"""Database tables (SQLModel). Every datetime is timezone-aware UTC.

Changing a table means a new migration: `python -m wahaweb.core.migrate revision -m "what"`.
"""

from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from wahaweb.core.clock import UTC
from wahaweb.core.status import CREATING

ROLE_USER = "user"
ROLE_ADMIN = "admin"


class UTCDateTime(TypeDecorator):
    """A DateTime that only takes aware values, stores UTC, and gives back aware UTC.

    SQLite has no time zones: values are stored as naive UTC and UTC is put back
    on the way out. PostgreSQL stores `timestamptz`.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[override]
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column; use an aware UTC datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):  # type: ignore[override]
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _ts(nullable: bool = False, index: bool = False) -> sa.Column:
    return sa.Column(UTCDateTime(), nullable=nullable, index=index)


class Plan(SQLModel, table=True):
    __tablename__ = "plan"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=sa.Column(sa.String(50), unique=True, nullable=False))
    session_limit: int = Field(nullable=False)


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_column=sa.Column(sa.String(254), unique=True, nullable=False))
    password_hash: str = Field(sa_column=sa.Column(sa.String(255), nullable=False))
    role: str = Field(default=ROLE_USER, sa_column=sa.Column(sa.String(10), nullable=False))
    plan_id: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("plan.id", ondelete="SET NULL"), nullable=True),
    )
    active: bool = Field(default=True, nullable=False)
    created_at: dt.datetime = Field(sa_column=_ts())
    #: The UI language the user chose ("en", "id"); None: follow the browser's Accept-Language.
    language: str | None = Field(default=None, sa_column=sa.Column(sa.String(8), nullable=True))

    @property
    def is_admin(self) -> bool:
        return self.role == ROLE_ADMIN


class AuthToken(SQLModel, table=True):
    """A sign-in token. Only the SHA-256 of the token is stored."""

    __tablename__ = "auth_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    token_hash: str = Field(sa_column=sa.Column(sa.String(64), unique=True, nullable=False))
    created_at: dt.datetime = Field(sa_column=_ts())
    expires_at: dt.datetime = Field(sa_column=_ts())
    revoked_at: dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class PasswordReset(SQLModel, table=True):
    """A one-time password reset link made by an admin. Only the SHA-256 of its token is stored;
    `used_at` set (or `expires_at` passed) means the link is dead."""

    __tablename__ = "password_reset"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    token_hash: str = Field(sa_column=sa.Column(sa.String(64), unique=True, nullable=False))
    created_by: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, nullable=True))
    created_at: dt.datetime = Field(sa_column=_ts())
    expires_at: dt.datetime = Field(sa_column=_ts())
    used_at: dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True))


def new_webhook_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


class WahaServer(SQLModel, table=True):
    """One WAHA server sessions are placed on. Servers are data, so an operator adds one without a restart.

    The API key is stored encrypted (`wahaweb.core.servers.crypto.KeyBox`): a database dump
    alone does not hand out control of every WhatsApp number. The probe columns are the last
    `GET /api/server/version` answer: placement trusts them (reachable, tier, version).
    """

    __tablename__ = "waha_server"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=sa.Column(sa.String(50), unique=True, nullable=False))
    base_url: str = Field(sa_column=sa.Column(sa.String(500), nullable=False))
    #: Fernet token of the X-Api-Key (None: the server needs no key).
    api_key_encrypted: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    #: Most sessions placed here (a probe saying Core before 2026.6.1 lowers it to 1).
    capacity: int = Field(default=50, nullable=False)
    enabled: bool = Field(default=True, nullable=False)
    #: Takes no new sessions; those it has keep working.
    draining: bool = Field(default=False, nullable=False)
    version: str | None = Field(default=None, sa_column=sa.Column(sa.String(40), nullable=True))
    tier: str | None = Field(default=None, sa_column=sa.Column(sa.String(20), nullable=True))
    engine: str | None = Field(default=None, sa_column=sa.Column(sa.String(20), nullable=True))
    #: None: never probed (placement still tries it); False: the last probe failed.
    reachable: bool | None = Field(default=None, nullable=True)
    latency_ms: float | None = Field(default=None, nullable=True)
    error: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    probed_at: dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    created_at: dt.datetime = Field(sa_column=_ts())
    #: The secret part of `/api/waha/webhook/{token}`: the only URL taking this server's unsigned
    #: webhooks (WAHA Core 2024.10 cannot sign). Server-side only: admins see it, nobody else.
    webhook_token: str | None = Field(default_factory=new_webhook_token,
                                      sa_column=sa.Column(sa.String(64), nullable=True))
    #: How the status engine last heard from it: socket, webhook, poll, key refused (None: not yet).
    event_source: str | None = Field(default=None, sa_column=sa.Column(sa.String(20), nullable=True))


class WaSession(SQLModel, table=True):
    """One WhatsApp number connected through WAHA.

    `id` is ours; on its server (`server_id`) WAHA knows it as `waha_name`, which is the id,
    except on a Core server before 2026.6.1, where the only session allowed is `default`.
    """

    __tablename__ = "wa_session"
    __table_args__ = (sa.UniqueConstraint("server_id", "waha_name", name="uq_wa_session_server_name"),)

    id: str = Field(sa_column=sa.Column(sa.String(54), primary_key=True))
    user_id: int = Field(
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    label: str | None = Field(default=None, sa_column=sa.Column(sa.String(80), nullable=True))
    #: The WAHA server it lives on (None only for a row built outside placement, e.g. in a test).
    server_id: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("waha_server.id", ondelete="RESTRICT"), nullable=True,
                            index=True),
    )
    #: The name WAHA knows it by on that server (None: the same as `id`).
    waha_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(54), nullable=True))
    #: Canonical status, see wahaweb.core.status.
    status: str = Field(default=CREATING, sa_column=sa.Column(sa.String(16), nullable=False, index=True))
    #: WAHA's raw status as last seen (None before WAHA answered).
    waha_status: str | None = Field(default=None, sa_column=sa.Column(sa.String(40), nullable=True))
    phone: str | None = Field(default=None, sa_column=sa.Column(sa.String(32), nullable=True))
    push_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(128), nullable=True))
    #: Why it failed, in words for operators (may hold WAHA's own text: admins and logs only).
    last_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    #: The kind of failure (`wahaweb.core.failures`): what its owner is shown, in their language.
    last_error_code: str | None = Field(default=None, sa_column=sa.Column(sa.String(40), nullable=True))
    created_at: dt.datetime = Field(sa_column=_ts())
    updated_at: dt.datetime = Field(sa_column=_ts())
    connected_at: dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    #: When the current status was reached (or the WAHA event time that set it):
    #: an event older than this does not overwrite the status.
    status_changed_at: dt.datetime = Field(sa_column=_ts())
    #: Time of the newest status observation applied (WAHA event time, poll time or
    #: wahaweb's own action): an older observation is ignored.
    status_seen_at: dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    #: Id of the last WAHA event applied (a replay of it is ignored).
    last_event_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(100), nullable=True))
    #: Automatic restarts done by the status engine since the last user action.
    auto_restarts: int = Field(default=0, nullable=False)

    @property
    def name_on_waha(self) -> str:
        """What to call this session in WAHA requests."""
        return self.waha_name or self.id

    def touch(self, now: dt.datetime) -> None:
        """Mark the row changed: `updated_at` becomes `now`, but always later than it was.

        Pages order the pushes of one session by `updated_at` (a push of an older row is
        dropped), so it must grow in commit order, also when `now` was read before the
        writer waited for the row's lock behind another write that read a later `now`.
        """
        previous = self.updated_at
        self.updated_at = now if previous is None or now > previous else previous + dt.timedelta(microseconds=1)


class AuditEvent(SQLModel, table=True):
    """Who did what to which session, with the outcome. Kept when the session is deleted."""

    __tablename__ = "audit_event"
    __table_args__ = (sa.Index("ix_audit_event_session_at", "session_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(sa_column=_ts(index=True))
    #: The acting user (None for the system: the status engine, webhooks).
    user_id: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, nullable=True, index=True))
    action: str = Field(sa_column=sa.Column(sa.String(40), nullable=False))
    #: No foreign key on purpose: events outlive their session.
    session_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(54), nullable=True))
    #: ok | refused | failed | denied
    outcome: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    detail: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    duration_ms: float | None = Field(default=None, nullable=True)


class AppSetting(SQLModel, table=True):
    """Small key/value store for values generated on first start (e.g. the webhook secret)."""

    __tablename__ = "app_setting"

    key: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    value: str = Field(sa_column=sa.Column(sa.Text, nullable=False))


#: Plans seeded by the first migration.
DEFAULT_PLANS: tuple[tuple[str, int], ...] = (("Free", 1), ("Basic", 3), ("Pro", 10), ("Enterprise", 50))
