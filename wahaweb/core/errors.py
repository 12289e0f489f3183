"""Errors the core raises. `str(exc)` is always a message fit to show the user.

The UI shows `str(exc)` and nothing else; the detail for operators goes to the
log (and, for WAHA problems, `exc.cause` keeps the client's error).
"""

from __future__ import annotations

import math

from wahaweb.waha.errors import WahaError


class CoreError(Exception):
    """Base of every error the core raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class AuthError(CoreError):
    """Not signed in, a bad/expired/revoked token, a disabled account, wrong credentials."""


class PermissionDenied(CoreError):
    """Signed in, but the action needs an administrator."""

    def __init__(self, message: str = "Only an administrator can do that.") -> None:
        super().__init__(message)


class NotFound(CoreError):
    """The same message whether the thing is missing or belongs to someone else."""

    def __init__(self, what: str = "session") -> None:
        super().__init__(f"That {what} was not found.")
        self.what = what


class ValidationFailed(CoreError):
    """An input is not acceptable. `field` names the input, `str()` says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
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
            "Stop or delete a session, or ask an administrator to move you to a larger plan."
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
        super().__init__(f"Too many {what}. Please wait {self.retry_after_seconds} {unit} and try again.")


class WahaProblem(CoreError):
    """A WAHA call failed; `str()` is the client's user-facing message, `cause` the client error."""

    def __init__(self, cause: WahaError, message: str | None = None) -> None:
        self.cause = cause
        self.status_code = cause.status_code
        super().__init__(message or str(cause) or "The WhatsApp server could not be reached. Please try again.")
