"""Canonical session states and the single WAHA -> wahaweb mapping.

The canonical states are the `data-status` values of ../shared/TESTIDS.md.
`creating` is wahaweb's own (the row is reserved, WAHA has not answered yet).
"""

from __future__ import annotations

from typing import Final

CREATING: Final = "creating"
STARTING: Final = "starting"
PAIRING: Final = "pairing"
CONNECTED: Final = "connected"
STOPPED: Final = "stopped"
FAILED: Final = "failed"

ALL_STATUSES: Final = (CREATING, STARTING, PAIRING, CONNECTED, STOPPED, FAILED)
#: Statuses that count toward the plan limit.
ACTIVE_STATUSES: Final = (CREATING, STARTING, PAIRING, CONNECTED)
INACTIVE_STATUSES: Final = (STOPPED, FAILED)

#: WAHA's raw status -> canonical status. The only place this mapping lives.
WAHA_TO_CANONICAL: Final[dict[str, str]] = {
    "STARTING": STARTING,
    "SCAN_QR_CODE": PAIRING,
    "PASSKEY_REQUIRED": PAIRING,
    "PASSKEY_CONFIRMATION_REQUIRED": PAIRING,
    "WORKING": CONNECTED,
    "STOPPED": STOPPED,
    "FAILED": FAILED,
}


def canonical_status(waha_status: str | None) -> str:
    """Map a WAHA status (text, or a WahaStatus: a StrEnum) to wahaweb's canonical status.

    Unknown values (a newer WAHA) map to `starting`: neither connected nor
    finished, so the status engine keeps watching it.
    """
    raw = str(waha_status).upper() if waha_status is not None else ""
    if raw.startswith("PASSKEY"):
        return PAIRING
    return WAHA_TO_CANONICAL.get(raw, STARTING)

