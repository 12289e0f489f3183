"""One logical WAHA request: key, deadline, retries, logging, and 4xx mapped to errors.

Split from the client so the endpoint methods read like the contract table and this file
holds the rules every call obeys:

* a hard deadline over the whole call, retries included: some WAHA versions never answer
  (2024.10's ``request-code`` while STARTING), and a user must get a clear error in
  seconds, not after 3 x 10 s of read timeouts;
* 5xx and network errors are retried (retry.py), except that a request that timed out
  after it was sent is retried only when it is idempotent (GET, DELETE): a blind second
  POST could create, start or log out twice;
* paths never end with a slash (WAHA serves both; one spelling keeps logs and tests exact).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any, TypeVar

import httpx
import pydantic

from wahaweb.waha.errors import (
    WahaHTTPError,
    WahaTimeout,
    WahaUnavailable,
    body_excerpt,
    error_from_response,
)
from wahaweb.waha.observer import RequestObserver, report
from wahaweb.waha.retry import (
    ServerErrorAnswer,
    SleepFunction,
    build_retrying,
    describe_cause,
)

logger = logging.getLogger("wahaweb.waha")

ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _tries(attempts: int) -> str:
    return f"{attempts} attempt{'s' if attempts != 1 else ''}"


class WahaRequester:
    """Sends requests for a `WahaClient`; owns no connection (the client's httpx client is passed in)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_key: str | None,
        display_url: str,
        retry_waits: Sequence[float],
        sleep: SleepFunction,
        deadline: float,
        observer: RequestObserver | None = None,
    ) -> None:
        self.http = http
        #: Told of every attempt (metrics); never fails a call.
        self.observer = observer
        self.api_key = api_key
        self.display_url = display_url
        self.retry_waits = tuple(retry_waits)
        self.sleep = sleep
        self.deadline = deadline

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        session: str | None = None,
        authenticated: bool = True,
        retry: bool = True,
        deadline: float | None = None,
    ) -> httpx.Response:
        """Send one logical request within `deadline` seconds (default: the client's)."""
        path = path.rstrip("/") or "/"
        request_headers = dict(headers or {})
        if authenticated and self.api_key:
            request_headers["X-Api-Key"] = self.api_key
        limit = self.deadline if deadline is None else deadline
        attempts = [0]
        try:
            async with asyncio.timeout(limit):
                response = await self._with_retries(method, path, params, json, request_headers, session, retry, attempts)
        except TimeoutError as exc:
            message = (
                f"WAHA at {self.display_url} did not answer {method} {path} within {limit:g} s "
                f"({_tries(attempts[0])}); it may be stuck or overloaded."
            )
            logger.error("%s", message)
            raise WahaTimeout(message, method=method, path=path, session=session, attempts=attempts[0]) from exc
        if response.is_success:
            return response
        error = error_from_response(
            response, method=method, path=path, session=session, attempts=attempts[0], api_key=self.api_key
        )
        logger.info("WAHA %s %s answered %d: %s", method, path, response.status_code, error.body_excerpt)
        raise error

    async def _with_retries(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None,
        json: Any,
        headers: dict[str, str],
        session: str | None,
        retry: bool,
        attempts: list[int],
    ) -> httpx.Response:
        async def attempt_once() -> httpx.Response:
            attempts[0] += 1
            started = time.perf_counter()
            try:
                response = await self.http.request(method, path, params=params, json=json, headers=headers)
            except httpx.TransportError as exc:
                report(self.observer, method, path, session, None, time.perf_counter() - started, attempts[0])
                logger.debug(
                    "WAHA %s %s failed after %.1f ms: %s",
                    method, path, _elapsed_ms(started), describe_cause(exc, self.api_key),
                )
                raise
            report(self.observer, method, path, session, response.status_code, time.perf_counter() - started,
                   attempts[0])
            logger.debug("WAHA %s %s -> %d in %.1f ms", method, path, response.status_code, _elapsed_ms(started))
            if response.status_code >= 500:
                raise ServerErrorAnswer(response)
            return response

        try:
            if retry and self.retry_waits:
                retrying = build_retrying(
                    method=method, path=path, waits=self.retry_waits, sleep=self.sleep, secret=self.api_key
                )
                async for attempt in retrying:
                    with attempt:
                        response = await attempt_once()
                return response
            return await attempt_once()
        except (httpx.TransportError, ServerErrorAnswer) as exc:
            raise self._unavailable(exc, method, path, session, attempts[0]) from exc

    def _unavailable(
        self, exc: Exception, method: str, path: str, session: str | None, attempts: int
    ) -> WahaUnavailable:
        details: dict[str, Any] = {"method": method, "path": path, "session": session, "attempts": attempts}
        if isinstance(exc, ServerErrorAnswer):
            response = exc.response
            message = (
                f"WAHA at {self.display_url} is unavailable: it answered "
                f"{response.status_code} {response.reason_phrase} to {method} {path} after {_tries(attempts)}."
            )
            error: WahaUnavailable = WahaUnavailable(
                message, status_code=response.status_code, body_excerpt=body_excerpt(response, self.api_key), **details
            )
        elif isinstance(exc, httpx.TimeoutException):
            message = (
                f"WAHA at {self.display_url} timed out on {method} {path} "
                f"({describe_cause(exc, self.api_key)}, {_tries(attempts)})."
            )
            error = WahaTimeout(message, **details)
        else:
            message = (
                f"WAHA at {self.display_url} is unreachable: {describe_cause(exc, self.api_key)} "
                f"({method} {path}, {_tries(attempts)})."
            )
            error = WahaUnavailable(message, **details)
        logger.error("%s", error.message)
        return error

    # -- reading answers -----------------------------------------------------------------

    def json(self, response: httpx.Response, *, allow_empty: bool = False) -> Any:
        """The decoded body; an empty body is None when `allow_empty` (WAHA's "nothing")."""
        if not response.content.strip():
            if allow_empty:
                return None
            raise self.unreadable(response, "a JSON body")
        try:
            return response.json()
        except ValueError as exc:
            raise self.unreadable(response, "JSON") from exc

    def parse(self, response: httpx.Response, model: type[ModelT]) -> ModelT:
        return self.validate(response, model, self.json(response))

    def parse_list(self, response: httpx.Response, model: type[ModelT]) -> list[ModelT]:
        body = self.json(response)
        if not isinstance(body, list):
            raise self.unreadable(response, f"a list of {model.__name__}")
        return [self.validate(response, model, item) for item in body]

    def validate(self, response: httpx.Response, model: type[ModelT], body: Any) -> ModelT:
        try:
            return model.model_validate(body)
        except pydantic.ValidationError as exc:
            raise self.unreadable(response, model.__name__) from exc

    def unreadable(self, response: httpx.Response, expected: str) -> WahaHTTPError:
        request = response.request
        path = request.url.raw_path.decode("ascii").split("?", 1)[0]
        excerpt = body_excerpt(response, self.api_key)
        logger.error(
            "WAHA %s %s answered %d with a body that is not %s: %s",
            request.method, path, response.status_code, expected, excerpt,
        )
        return WahaHTTPError(
            f"WAHA sent an answer wahaweb cannot read (expected {expected}).",
            status_code=response.status_code,
            body_excerpt=excerpt,
            method=request.method,
            path=path,
        )
