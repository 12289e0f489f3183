"""The retry policy SPEC requirement 3 asks for, in one place.

5xx answers and network errors are retried, a fixed number of times, with
the waits given (0.5 s then 1 s by default); a 4xx is WAHA's final word and
is never retried. A request that timed out after being sent (a read or write
timeout) may have been carried out by WAHA, so it is retried only when doing
it twice is harmless (GET, HEAD, DELETE): a second POST could create, start or
log out again. The sleep function is injectable so tests can record the
schedule instead of waiting it out.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
)

logger = logging.getLogger("wahaweb.waha")

DEFAULT_RETRY_WAITS: tuple[float, ...] = (0.5, 1.0)

SleepFunction = Callable[[float], Awaitable[None]]

#: Methods WAHA carries out the same way twice; only these are retried after a timeout.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})
#: Timeouts that fire after the request may have reached WAHA.
AFTER_SENDING_TIMEOUTS = (httpx.ReadTimeout, httpx.WriteTimeout)


class ServerErrorAnswer(Exception):
    """A 5xx answer, raised inside an attempt so tenacity retries it like a network error."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"{response.status_code} {response.reason_phrase}")
        self.response = response


def is_retryable(exc: BaseException, method: str = "GET") -> bool:
    """5xx answers and transport failures (connect, timeouts, dropped connections).

    UnsupportedProtocol is a transport error too, but it means WAHA_URL is
    malformed: asking again cannot help, so it fails at once. A read or write
    timeout of a non-idempotent method is not retried (see the module docstring).
    """
    if isinstance(exc, ServerErrorAnswer):
        return True
    if isinstance(exc, AFTER_SENDING_TIMEOUTS) and method.upper() not in IDEMPOTENT_METHODS:
        return False
    return isinstance(exc, httpx.TransportError) and not isinstance(exc, httpx.UnsupportedProtocol)


def describe_cause(exc: BaseException | None, secret: str | None = None) -> str:
    """A short reason for logs and user messages, with `secret` (the API key) scrubbed.

    Exception texts come from the network stack and are not ours to trust.
    """
    if exc is None:
        return "unknown error"
    if isinstance(exc, ServerErrorAnswer):
        return f"HTTP {exc}"
    detail = str(exc).strip()
    text = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return text.replace(secret, "***") if secret else text


class _WaitSchedule:
    """Wait waits[n-1] after failed attempt n: an explicit schedule reads better than a formula."""

    def __init__(self, waits: Sequence[float]) -> None:
        self.waits = tuple(waits)

    def __call__(self, retry_state: RetryCallState) -> float:
        index = min(retry_state.attempt_number, len(self.waits)) - 1
        return self.waits[index] if index >= 0 else 0.0


def build_retrying(
    *,
    method: str,
    path: str,
    waits: Sequence[float],
    sleep: SleepFunction,
    secret: str | None = None,
) -> AsyncRetrying:
    """An AsyncRetrying for one request: len(waits) retries, each one logged."""
    total_attempts = len(waits) + 1

    def log_retry(retry_state: RetryCallState) -> None:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
        logger.warning(
            "WAHA %s %s failed on attempt %d of %d (%s); retrying in %.2f s",
            method,
            path,
            retry_state.attempt_number,
            total_attempts,
            describe_cause(exc, secret),
            wait,
        )

    return AsyncRetrying(
        stop=stop_after_attempt(total_attempts),
        wait=_WaitSchedule(waits),
        retry=retry_if_exception(lambda exc: is_retryable(exc, method)),
        before_sleep=log_retry,
        sleep=sleep,
        reraise=True,
    )
