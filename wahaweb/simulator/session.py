"""One simulated session: its status, its linked phone, and how WAHA shows it."""

from __future__ import annotations

import asyncio
import enum
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any


class SessionStatus(str, enum.Enum):
    STOPPED = "STOPPED"
    STARTING = "STARTING"
    SCAN_QR_CODE = "SCAN_QR_CODE"
    PASSKEY_REQUIRED = "PASSKEY_REQUIRED"
    PASSKEY_CONFIRMATION_REQUIRED = "PASSKEY_CONFIRMATION_REQUIRED"
    WORKING = "WORKING"
    FAILED = "FAILED"

    def __str__(self) -> str:
        return self.value


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(eq=False)
class SimSession:
    name: str
    config: dict[str, Any] | None
    engine: str
    status: SessionStatus = SessionStatus.STOPPED
    account: dict[str, str] | None = None
    """The linked phone ({id, pushName}); survives stop/start, lost on logout."""
    qr_value: str | None = None
    qr_number: int = 0
    status_data: dict[str, Any] | None = None
    """Extra info of the current status (the passkey challenge or code), else None."""
    pairing_phone: str | None = None
    last_activity_ms: int | None = None
    history: deque = field(default_factory=lambda: deque(maxlen=10))
    timer: asyncio.Task | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def running(self) -> bool:
        return self.status is not SessionStatus.STOPPED

    @property
    def me(self) -> dict[str, str] | None:
        """WAHA shows ``me`` only while WORKING."""
        return dict(self.account) if self.account and self.status is SessionStatus.WORKING else None

    def dto(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status.value, "config": self.config}

    def info(self) -> dict[str, Any]:
        """``SessionInfo``: what GET and every lifecycle action answer (WAHA answers the full info)."""
        return {**self.list_item(), "engine": {"engine": self.engine}}

    def list_item(self) -> dict[str, Any]:
        """A ``GET /api/sessions`` item: the info without ``engine`` (WAHA leaves it out there)."""
        return {
            "name": self.name,
            "status": self.status.value,
            "config": self.config,
            "me": self.me,
            "presence": None,
            "timestamps": {"activity": self.last_activity_ms},
        }

    def recent_statuses(self) -> list[dict[str, Any]]:
        return [dict(point) for point in self.history]
