"""Rules and value types of the session service: input checks, what a status change returns."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Awaitable, Callable
from typing import Any

from wahaweb.core.audit import DENIED, FAILED, REFUSED
from wahaweb.core.errors import (
    AuthError,
    InvalidState,
    NotFound,
    PermissionDenied,
    PlanLimitReached,
    RateLimited,
    ValidationFailed,
)
from wahaweb.core.models import WaSession
from wahaweb.waha.models import Me

MAX_LABEL_LENGTH = 80
PHONE_RE = re.compile(r"^\+?[0-9]{8,15}$")

#: Called with a session name to act as the phone that scans its QR (embedded simulator only).
DemoScan = Callable[[str], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]


@dataclasses.dataclass(frozen=True)
class AppliedStatus:
    """What `apply_waha_status` did: tell `user_id` (the owner) when `changed`."""

    session_id: str
    user_id: int
    old_status: str
    new_status: str
    waha_status: str | None
    #: The canonical status changed (the phone or push name may change without it).
    changed: bool
    #: The row after the update.
    session: WaSession
    #: A field a page shows (`VISIBLE_FIELDS`) differs from the locked row before the update:
    #: a second copy of an event already applied (WAHA's webhook and its events socket both
    #: deliver it, with different ids) changes nothing a page shows, and is not pushed again.
    visible: bool = False


#: The fields of a session row its card shows: a change to any of them is pushed.
VISIBLE_FIELDS = ("status", "waha_status", "phone", "push_name", "last_error")


def visible_fields(row: WaSession) -> tuple:
    return tuple(getattr(row, f) for f in VISIBLE_FIELDS)


@dataclasses.dataclass(frozen=True)
class SessionWithOwner:
    session: WaSession
    owner_email: str


def validate_label(label: str | None) -> str | None:
    """Optional, at most 80 characters, no control characters; blank -> None."""
    if label is None:
        return None
    if not isinstance(label, str):
        raise ValidationFailed("label", "The label must be text.")
    value = " ".join(label.split())
    if not value:
        return None
    if len(value) > MAX_LABEL_LENGTH:
        raise ValidationFailed("label", f"The label must be at most {MAX_LABEL_LENGTH} characters long.")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") for ch in value):
        raise ValidationFailed("label", "The label contains characters that cannot be shown.")
    return value


def validate_phone(phone: str | None) -> str:
    """'+628123456789' or '628123456789' -> '628123456789' (8 to 15 digits)."""
    value = (phone or "").strip()
    if not PHONE_RE.match(value):
        raise ValidationFailed(
            "phone",
            "Enter the phone number in international format: digits only, with an optional + "
            "in front (8 to 15 digits), for example +628123456789.",
        )
    return value.lstrip("+")


def _outcome_of(exc: BaseException) -> str:
    if isinstance(exc, (AuthError, NotFound, PermissionDenied)):
        return DENIED
    if isinstance(exc, (PlanLimitReached, RateLimited, ValidationFailed, InvalidState)):
        return REFUSED
    return FAILED


def _raw_status(value: str | None) -> str | None:
    """WAHA's status as text: a WahaStatus (a StrEnum) is its value."""
    if value is None:
        return None
    return str(value)


def _me_fields(me: Me | dict[str, Any] | None) -> tuple[str | None, str | None]:
    """(phone as +digits, push name) from a waha Me, a webhook's `me` dict, or None."""
    if me is None:
        return None, None
    if isinstance(me, dict):
        me_id, push = me.get("id"), me.get("pushName")
    else:
        me_id, push = me.id, me.pushName
    phone = None
    if me_id:
        digits = re.sub(r"\D", "", str(me_id).split("@", 1)[0].split(":", 1)[0])
        phone = f"+{digits}" if digits else None
    return phone, push


class _Audit:
    """What an action wants recorded when it ends."""

    def __init__(self, session_id: str | None) -> None:
        self.session_id = session_id
        self.detail: str | None = None


