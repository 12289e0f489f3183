"""Typed views of WAHA's answers.

Field names mirror WAHA's JSON (`pushName`, `assignedWorker`) so a model
reads like the spec it came from. Every model ignores unknown keys and takes
nulls for anything WAHA may leave out: newer servers add fields, and `me`,
`config` and `presence` are null until a session is WORKING. Only `status`
stays strict, because every decision wahaweb makes hangs on it.
"""

from __future__ import annotations

import enum
import re
from typing import NotRequired, TypedDict

from pydantic import BaseModel, ConfigDict, JsonValue


class WahaStatus(enum.StrEnum):
    """The seven session statuses WAHA reports."""

    STOPPED = "STOPPED"
    STARTING = "STARTING"
    SCAN_QR_CODE = "SCAN_QR_CODE"
    PASSKEY_REQUIRED = "PASSKEY_REQUIRED"
    PASSKEY_CONFIRMATION_REQUIRED = "PASSKEY_CONFIRMATION_REQUIRED"
    WORKING = "WORKING"
    FAILED = "FAILED"


class HmacConfig(TypedDict):
    """A webhook's signing key (WAHA's `HmacConfiguration`)."""

    key: str


class WebhookConfig(TypedDict):
    """One webhook wahaweb asks WAHA to call (WAHA's `WebhookConfig`: `url` and `events` required)."""

    url: str
    events: list[str]
    hmac: NotRequired[HmacConfig]


class SessionConfigRequest(TypedDict, total=False):
    """The config wahaweb sends on create and update; WAHA strips keys it does not know."""

    metadata: dict[str, str]
    webhooks: list[WebhookConfig]


class _WahaModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class SessionConfig(BaseModel):
    """The parts of a session's config wahaweb reads; the rest is kept as extra."""

    model_config = ConfigDict(extra="allow", frozen=True)

    metadata: dict[str, JsonValue] | None = None
    webhooks: list[dict[str, JsonValue]] | None = None


class Me(_WahaModel):
    """The WhatsApp account a WORKING session is signed in as."""

    id: str
    pushName: str | None = None
    lid: str | None = None
    jid: str | None = None

    @property
    def phone(self) -> str:
        """The phone number in `id` ("628123@c.us" -> "628123"), without a device suffix."""
        user = self.id.split("@", 1)[0].split(":", 1)[0]
        return re.sub(r"\D", "", user)


class SessionDTO(_WahaModel):
    """What WAHA answers to create, update, start, stop, restart and logout."""

    name: str
    status: WahaStatus
    config: SessionConfig | None = None


class SessionInfo(_WahaModel):
    """What WAHA answers to get and list: the DTO plus account and engine details."""

    name: str
    status: WahaStatus
    config: SessionConfig | None = None
    me: Me | None = None
    #: WAHA sends an object (`{"engine": "WEBJS", ...}`); older servers a bare string.
    engine: dict[str, JsonValue] | str | None = None
    presence: JsonValue = None
    timestamps: dict[str, JsonValue] | None = None
    assignedWorker: str | None = None
    apps: list[dict[str, JsonValue]] | None = None

    @property
    def engine_name(self) -> str | None:
        """The engine's name ("WEBJS", "NOWEB", "GOWS") whichever shape WAHA used."""
        if isinstance(self.engine, dict):
            name = self.engine.get("engine")
            return str(name) if name is not None else None
        return self.engine

    @property
    def metadata(self) -> dict[str, JsonValue]:
        """The session's metadata, empty when WAHA sent none."""
        return dict(self.config.metadata or {}) if self.config else {}


class QRImage(_WahaModel):
    """A QR code as WAHA sends it for `format=image` with `Accept: application/json`."""

    mimetype: str
    data: str

    @property
    def data_url(self) -> str:
        """Ready for an <img src>: the browser never needs to call WAHA."""
        return f"data:{self.mimetype};base64,{self.data}"


class ServerVersion(_WahaModel):
    """WAHA's `WAHAEnvironment`: which build, engine and tier answer us."""

    version: str | None = None
    engine: str | None = None
    tier: str | None = None
    browser: str | None = None
    platform: str | None = None
    worker: dict[str, JsonValue] | None = None

    @property
    def allows_many_sessions(self) -> bool:
        """False for the Core tier before 2026.6.1, which runs only the session `default`."""
        if (self.tier or "").upper() != "CORE":
            return True
        return _version_tuple(self.version) >= (2026, 6, 1)

    @property
    def signs_webhooks(self) -> bool:
        """False for a Core server before 2026.6.1: its webhooks carry no id, timestamp or HMAC
        (observed on Core 2024.10.8 even with `hmac.key` set), so they go to a secret URL."""
        return self.allows_many_sessions


def _version_tuple(version: str | None) -> tuple[int, ...]:
    """'2026.7.1' -> (2026, 7, 1); unreadable parts count as 0 so odd builds sort low."""
    parts = re.findall(r"\d+", version or "")
    return tuple(int(part) for part in parts[:3]) or (0,)


class ServerStatus(_WahaModel):
    """`GET /api/server/status`: when this WAHA started; an uptime that went down means a restart."""

    startTimestamp: float
    uptime: float
    worker: dict[str, JsonValue] | None = None
