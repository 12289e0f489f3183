"""What the WAHA client reports about its own requests, for whoever measures them.

The client calls an optional `RequestObserver` once per HTTP attempt (its duration and
what came of it) and once per retry. It knows nothing of metrics libraries: the
observer decides what to count. Endpoints are templates (`/api/sessions/{session}/start`),
never raw paths, so a session name cannot blow up a metric's label set.
"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import quote

#: `outcome` of an attempt: the answer's class, or `network` when no answer came.
OK, CLIENT_ERROR, SERVER_ERROR, NETWORK = "ok", "4xx", "5xx", "network"


class RequestObserver(Protocol):
    def attempt(self, method: str, endpoint: str, outcome: str, seconds: float) -> None:
        """One HTTP attempt ended: `outcome` is ok, 4xx, 5xx or network."""

    def retry(self, method: str, endpoint: str) -> None:
        """A failed attempt is about to be retried."""


def endpoint_template(path: str, session: str | None) -> str:
    """`path` with the (quoted) session name replaced by `{session}`."""
    if not session:
        return path
    return path.replace(quote(session, safe=""), "{session}")


def outcome_of(status_code: int | None) -> str:
    if status_code is None:
        return NETWORK
    if status_code >= 500:
        return SERVER_ERROR
    if status_code >= 400:
        return CLIENT_ERROR
    return OK


def report(observer: RequestObserver | None, method: str, path: str, session: str | None,
           status_code: int | None, seconds: float, attempt: int) -> None:
    """Tell `observer` about one attempt (and, from the second on, that it was a retry).

    A failing observer must never fail a WAHA call: its errors are swallowed.
    """
    if observer is None:
        return
    endpoint = endpoint_template(path, session)
    try:
        if attempt > 1:
            observer.retry(method, endpoint)
        observer.attempt(method, endpoint, outcome_of(status_code), seconds)
    except Exception:  # noqa: BLE001 - measuring is never worth a failed request
        pass
