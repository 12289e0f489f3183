"""Errors the core raises. `str(exc)` is always an English message fit to show the user.

Each error also carries a `code` and `params`: the UI layer translates those (see
`wahaweb.i18n`), falling back to `str(exc)` for a code it has no words for. Logs and
tests keep reading the English `str(exc)`; the detail for operators goes to the log
(and, for WAHA problems, `exc.cause` keeps the client's error).
"""

from __future__ import annotations

import math
from typing import Any

#: The code of an error that has no more specific one (the UI shows its English text).
GENERIC_CODE = "error"

from wahaweb.waha.errors import WahaError


class CoreError(Exception):
    """Base of every error the core raises on purpose."""

    def __init__(self, message: str, *, code: str = GENERIC_CODE, params: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.params: dict[str, Any] = dict(params or {})

    def __str__(self) -> str:
        return self.message


class AuthError(CoreError):
    """Not signed in, a bad/expired/revoked token, a disabled account, wrong credentials."""


class PermissionDenied(CoreError):
    """Signed in, but the action needs an administrator."""

    def __init__(self, message: str = "Only an administrator can do that.") -> None:
        super().__init__(message, code="admin_only")


class NotFound(CoreError):
    """The same message whether the thing is missing or belongs to someone else."""

    def __init__(self, what: str = "session") -> None:
        super().__init__(f"That {what} was not found.", code="not_found", params={"what": what})
        self.what = what


class ValidationFailed(CoreError):
    """An input is not acceptable. `field` names the input, `str()` says why."""

    def __init__(self, field: str, message: str, *, code: str = GENERIC_CODE, params: dict[str, Any] | None = None) -> None:
        super().__init__(message, code=code, params=params)
        self.field = field


class InvalidState(CoreError):
    """The action does not apply to the session in its current state."""


class PlanLimitReached(CoreError):
    def __init__(self, plan_name: str | None, limit: int, active: int) -> None:
        self.plan_name = plan_name
        self.limit = limit
        self.active = active
        plan = f"the {plan_name} plan" if plan_name else "your account (no plan)"
        noun = "session" if limit == 1 else "sessions"
        super().__init__(
            f"Session limit reached: {plan} allows {limit} active {noun} and you have {active}. "
            "Stop or delete a session, or ask an administrator to move you to a larger plan.",
            code="plan_limit" if plan_name else "plan_limit_no_plan",
            params={"plan": plan_name or "", "limit": limit, "active": active},
        )


class RateLimited(CoreError):
    """A rate limit is used up. `name` is the limit's key, `retry_after_seconds` the wait."""

    #: limit key -> what the message calls it
    LABELS = {
        "create": "session creations",
        "status": "status checks",
        "qr": "QR code requests",
        "pairing_code": "pairing code requests",
        "action": "session actions",
        "sign_in": "sign-in attempts",
        "sign_in_client": "sign-in attempts",
        "sign_up": "new accounts from your network",
    }

    def __init__(self, name: str, retry_after_seconds: float) -> None:
        self.name = name
        self.retry_after_seconds = max(1, math.ceil(retry_after_seconds))
        unit = "second" if self.retry_after_seconds == 1 else "seconds"
        what = self.LABELS.get(name, f"{name} requests")
        super().__init__(f"Too many {what}. Please wait {self.retry_after_seconds} {unit} and try again.",
                         code="rate_limited", params={"limit": name, "seconds": self.retry_after_seconds})


class WahaProblem(CoreError):
    """A WAHA call failed; `str()` is the client's user-facing message, `cause` the client error."""

    def __init__(self, cause: WahaError, message: str | None = None) -> None:
        self.cause = cause
        self.status_code = cause.status_code
        super().__init__(message or str(cause) or "The WhatsApp server could not be reached. Please try again.",
                         code=waha_failure_code(cause))


#: WAHA Core's answer to a second session name (the free edition runs only `default`).
CORE_ONLY_MARK = "core support only"


def waha_failure_code(cause: BaseException) -> str:
    """What kind of WAHA failure this is, for the UI's words (WAHA's own text is never shown):
    timed out, unreachable, Core-only, a refused (400) request, or other."""
    from wahaweb.waha.errors import WahaBadRequest, WahaTimeout, WahaUnavailable

    if isinstance(cause, WahaTimeout):
        return "waha_timeout"
    if isinstance(cause, WahaUnavailable):
        return "waha_unreachable"
    if CORE_ONLY_MARK in str(getattr(cause, "waha_message", "") or cause).lower():
        return "waha_core_only"
    if isinstance(cause, WahaBadRequest):
        return "waha_bad_request"
    return "waha_error"
