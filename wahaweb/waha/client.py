"""The one door from wahaweb to WAHA.

One `WahaClient` per process keeps one pooled httpx connection set; every
WAHA call goes through `_request`, which adds the key, measures, retries
5xx and network errors (see retry.py) and turns 4xx answers into the
errors of errors.py. Methods then read the body into the typed models.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import httpx
import pydantic

from wahaweb.waha.errors import (
    WahaError,
    WahaHTTPError,
    WahaNotFound,
    WahaUnavailable,
    WahaUnprocessable,
    body_excerpt,
    error_from_response,
)
from wahaweb.waha.models import Me, QRImage, ServerVersion, SessionDTO, SessionInfo
from wahaweb.waha.observer import RequestObserver, report
from wahaweb.waha.retry import (
    DEFAULT_RETRY_WAITS,
    ServerErrorAnswer,
    SleepFunction,
    build_retrying,
    describe_cause,
)

if TYPE_CHECKING:
    from wahaweb.settings import Settings

logger = logging.getLogger("wahaweb.waha")

ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)

#: WAHA answers `start` on a running session with a 422 carrying one of these.
_ALREADY_STARTED_MARKERS = ("already started", "already running")


def session_path(name: str, *suffix: str) -> str:
    """`/api/sessions/{name}/...` with the name quoted, so no name can change the route."""
    return "/".join(["/api/sessions", quote(name, safe=""), *suffix])


def auth_path(name: str, action: str) -> str:
    """`/api/{name}/auth/{action}`, the pairing routes, name quoted."""
    return f"/api/{quote(name, safe='')}/auth/{action}"


def _display_url(url: str) -> str:
    """The base URL as safe to show: credentials embedded in it are dropped."""
    parsed = httpx.URL(url)
    if parsed.userinfo:
        parsed = parsed.copy_with(username=None, password=None)
    return str(parsed).rstrip("/")


class WahaClient:
    """Async client for WAHA's session, pairing and server endpoints (see CONTRACT.md)."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        connect_timeout: float = 2.0,
        read_timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        retry_waits: Sequence[float] = DEFAULT_RETRY_WAITS,
        sleep: SleepFunction = asyncio.sleep,
        observer: RequestObserver | None = None,  # told of every attempt (metrics)
    ) -> None:
        self._api_key = api_key or None
        self._observer = observer
        self._display_base_url = _display_url(base_url)
        self._retry_waits = tuple(retry_waits)
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            base_url=base_url,
            transport=transport,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            # Every route we call answers JSON; for the QR this exact value is what
            # makes WAHA send base64 JSON rather than PNG bytes.
            headers={"Accept": "application/json", "User-Agent": "wahaweb"},
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, transport: httpx.AsyncBaseTransport | None = None
    ) -> WahaClient:
        """The client the app builds once: a real WAHA, or the embedded simulator via `transport`."""
        return cls(
            settings.effective_waha_url,
            settings.effective_waha_api_key,
            connect_timeout=settings.waha_connect_timeout,
            read_timeout=settings.waha_read_timeout,
            transport=transport,
        )

    @property
    def base_url(self) -> str:
        return self._display_base_url

    def __repr__(self) -> str:  # the key stays out of reprs, tracebacks and debuggers' views
        return f"WahaClient({self._display_base_url!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> WahaClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- sessions -----------------------------------------------------------------

    async def list_sessions(self, all: bool = True) -> list[SessionInfo]:  # noqa: A002 (WAHA's name)
        """Every session; with all=False WAHA leaves the STOPPED ones out."""
        params = {"all": "true"} if all else None
        response = await self._request("GET", "/api/sessions", params=params)
        return self._parse_list(response, SessionInfo)

    async def create_session(
        self,
        name: str,
        *,
        start: bool = True,
        metadata: dict[str, Any] | None = None,
        webhooks: list[dict[str, Any]] | None = None,
    ) -> SessionDTO:
        """Create (and by default start) a session.

        `start` is always sent: older WAHA servers read a missing `start` as false.
        If a retried create answers "already exists", an earlier attempt most
        likely created it before its answer was lost, so the session is returned.
        """
        config: dict[str, Any] = {}
        if metadata:
            config["metadata"] = metadata
        if webhooks:
            config["webhooks"] = webhooks
        body: dict[str, Any] = {"name": name, "start": start}
        if config:
            body["config"] = config
        try:
            response = await self._request("POST", "/api/sessions", json=body, session=name)
        except WahaUnprocessable as exc:
            if exc.attempts > 1 and _is_already_exists(exc):
                logger.info("WAHA session %s already existed after a retried create; using it", name)
                return _dto_of(await self.get_session(name))
            raise
        return self._parse(response, SessionDTO)

    async def get_session(self, name: str) -> SessionInfo:
        response = await self._request("GET", session_path(name), session=name)
        return self._parse(response, SessionInfo)

    async def update_session(self, name: str, config: dict[str, Any]) -> SessionDTO:
        """Replace the session's config; WAHA restarts a running session to apply it."""
        response = await self._request("PUT", session_path(name), json={"config": config}, session=name)
        return await self._session_dto(response, name)

    async def start_session(self, name: str) -> SessionDTO | None:
        """Start; None when WAHA says it is already started (the goal is met)."""
        try:
            response = await self._request("POST", session_path(name, "start"), session=name)
        except WahaUnprocessable as exc:
            if any(marker in exc.waha_message.lower() for marker in _ALREADY_STARTED_MARKERS):
                logger.debug("WAHA session %s was already started", name)
                return None
            raise
        return await self._session_dto(response, name)

    async def stop_session(self, name: str) -> SessionDTO | None:
        """Stop; None when the session does not exist (nothing left to stop)."""
        try:
            response = await self._request("POST", session_path(name, "stop"), session=name)
        except WahaNotFound:
            return None
        return await self._session_dto(response, name)

    async def restart_session(self, name: str) -> SessionDTO:
        response = await self._request("POST", session_path(name, "restart"), session=name)
        return await self._session_dto(response, name)

    async def logout_session(self, name: str) -> SessionDTO:
        """Unlink the phone; WAHA restarts the session so it can be paired again."""
        response = await self._request("POST", session_path(name, "logout"), session=name)
        return await self._session_dto(response, name)

    async def delete_session(self, name: str) -> None:
        """Stop, log out and delete; a session that is already gone is not an error."""
        try:
            await self._request("DELETE", session_path(name), session=name)
        except WahaNotFound:
            return None
        return None

    async def get_me(self, name: str) -> Me | None:
        """The signed-in account; None until the session is WORKING."""
        response = await self._request("GET", session_path(name, "me"), session=name)
        body = self._json(response, allow_empty=True)
        if not body:
            return None
        return self._validate(response, Me, body)

    # -- pairing --------------------------------------------------------------------

    async def get_qr(self, name: str) -> QRImage:
        """The current QR as base64 (WAHA's SCAN_QR_CODE status is needed)."""
        response = await self._request(
            "GET",
            auth_path(name, "qr"),
            params={"format": "image"},
            headers={"Accept": "application/json"},
            session=name,
        )
        content_type = response.headers.get("content-type", "").split(";", 1)[0].strip()
        if content_type.startswith("image/"):
            # A proxy rewrote our Accept header and WAHA sent the PNG itself: wrap it.
            return QRImage(mimetype=content_type, data=base64.b64encode(response.content).decode("ascii"))
        return self._parse(response, QRImage)

    async def get_qr_raw(self, name: str) -> str:
        """The text inside the QR, for clients that draw it themselves."""
        response = await self._request("GET", auth_path(name, "qr"), params={"format": "raw"}, session=name)
        body = self._json(response)
        value = body.get("value") if isinstance(body, dict) else None
        if not isinstance(value, str):
            raise self._unreadable(response, "a QR value")
        return value

    async def request_pairing_code(self, name: str, phone_number: str) -> str:
        """A code ("ABCD-EFGH") to type on the phone instead of scanning the QR."""
        response = await self._request(
            "POST", auth_path(name, "request-code"), json={"phoneNumber": phone_number}, session=name
        )
        body = self._json(response)
        code = body.get("code") if isinstance(body, dict) else None
        if not isinstance(code, str) or not code:
            raise self._unreadable(response, "a pairing code")
        return code

    # -- server -----------------------------------------------------------------------

    async def server_version(self) -> ServerVersion:
        response = await self._request("GET", "/api/server/version")
        return self._parse(response, ServerVersion)

    async def ping(self) -> bool:
        """Is WAHA up? One attempt, no key: a health check must answer fast, not retry."""
        try:
            await self._request("GET", "/ping", authenticated=False, retry=False)
        except WahaError:
            return False
        return True

    # -- plumbing ------------------------------------------------------------------------

    async def _request(
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
    ) -> httpx.Response:
        """Send one logical request: retried on 5xx/network errors, 4xx mapped to errors."""
        request_headers = dict(headers or {})
        if authenticated and self._api_key:
            request_headers["X-Api-Key"] = self._api_key
        attempts = 0

        async def attempt_once() -> httpx.Response:
            nonlocal attempts
            attempts += 1
            started = time.perf_counter()
            try:
                response = await self._http.request(
                    method, path, params=params, json=json, headers=request_headers
                )
            except httpx.TransportError as exc:
                report(self._observer, method, path, session, None, time.perf_counter() - started, attempts)
                logger.debug(
                    "WAHA %s %s failed after %.1f ms: %s",
                    method, path, _elapsed_ms(started), describe_cause(exc, self._api_key),
                )
                raise
            report(self._observer, method, path, session, response.status_code, time.perf_counter() - started, attempts)
            logger.debug("WAHA %s %s -> %d in %.1f ms", method, path, response.status_code, _elapsed_ms(started))
            if response.status_code >= 500:
                raise ServerErrorAnswer(response)
            return response

        try:
            if retry and self._retry_waits:
                retrying = build_retrying(
                    method=method, path=path, waits=self._retry_waits, sleep=self._sleep, secret=self._api_key
                )
                async for attempt in retrying:
                    with attempt:
                        response = await attempt_once()
            else:
                response = await attempt_once()
        except (httpx.TransportError, ServerErrorAnswer) as exc:
            raise self._unavailable(exc, method, path, session, attempts) from exc

        if response.is_success:
            return response
        error = error_from_response(
            response, method=method, path=path, session=session, attempts=attempts, api_key=self._api_key
        )
        logger.info("WAHA %s %s answered %d: %s", method, path, response.status_code, error.body_excerpt)
        raise error

    def _unavailable(
        self, exc: Exception, method: str, path: str, session: str | None, attempts: int
    ) -> WahaUnavailable:
        tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
        if isinstance(exc, ServerErrorAnswer):
            response = exc.response
            excerpt = body_excerpt(response, self._api_key)
            message = (
                f"WAHA at {self._display_base_url} is unavailable: it answered "
                f"{response.status_code} {response.reason_phrase} to {method} {path} after {tries}."
            )
            status: int | None = response.status_code
        else:
            excerpt = None
            message = (
                f"WAHA at {self._display_base_url} is unreachable: {describe_cause(exc, self._api_key)} "
                f"({method} {path}, {tries})."
            )
            status = None
        logger.error("%s", message)
        return WahaUnavailable(
            message,
            status_code=status,
            body_excerpt=excerpt,
            method=method,
            path=path,
            session=session,
            attempts=attempts,
        )

    async def _session_dto(self, response: httpx.Response, name: str) -> SessionDTO:
        """The SessionDTO WAHA answered, or, from servers that answer nothing, a fresh read."""
        if not response.content.strip():
            return _dto_of(await self.get_session(name))
        return self._parse(response, SessionDTO)

    def _json(self, response: httpx.Response, *, allow_empty: bool = False) -> Any:
        if not response.content.strip():
            if allow_empty:
                return None
            raise self._unreadable(response, "a JSON body")
        try:
            return response.json()
        except ValueError as exc:
            raise self._unreadable(response, "JSON") from exc

    def _parse(self, response: httpx.Response, model: type[ModelT]) -> ModelT:
        return self._validate(response, model, self._json(response))

    def _parse_list(self, response: httpx.Response, model: type[ModelT]) -> list[ModelT]:
        body = self._json(response)
        if not isinstance(body, list):
            raise self._unreadable(response, f"a list of {model.__name__}")
        return [self._validate(response, model, item) for item in body]

    def _validate(self, response: httpx.Response, model: type[ModelT], body: Any) -> ModelT:
        try:
            return model.model_validate(body)
        except pydantic.ValidationError as exc:
            raise self._unreadable(response, model.__name__) from exc

    def _unreadable(self, response: httpx.Response, expected: str) -> WahaHTTPError:
        request = response.request
        path = request.url.raw_path.decode("ascii").split("?", 1)[0]
        excerpt = body_excerpt(response, self._api_key)
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


def _is_already_exists(exc: WahaUnprocessable) -> bool:
    return "already exists" in exc.waha_message.lower()


def _dto_of(info: SessionInfo) -> SessionDTO:
    return SessionDTO(name=info.name, status=info.status, config=info.config)


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
