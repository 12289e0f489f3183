"""The one door from wahaweb to WAHA.

One `WahaClient` per process keeps one pooled httpx connection set; every
WAHA call goes through `WahaRequester` (requester.py), which adds the key,
enforces the call's deadline, retries 5xx and network errors (retry.py) and
turns 4xx answers into the errors of errors.py. Methods then read the body
into the typed models; an empty body is WAHA's way of saying "nothing".
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import httpx
import pydantic
from httpx_ws.transport import ASGIWebSocketTransport

from wahaweb.waha.errors import (
    WahaError,
    WahaHTTPError,
    WahaNotFound,
    WahaUnprocessable,
)
from wahaweb.waha.events import WahaEventStream, open_event_stream
from wahaweb.waha.models import (
    Me,
    QRImage,
    ServerStatus,
    ServerVersion,
    SessionConfigRequest,
    SessionDTO,
    SessionInfo,
    WahaStatus,
    WebhookConfig,
)
from wahaweb.waha.observer import RequestObserver
from wahaweb.waha.requester import WahaRequester
from wahaweb.waha.retry import DEFAULT_RETRY_WAITS, SleepFunction

if TYPE_CHECKING:
    from wahaweb.settings import Settings

logger = logging.getLogger("wahaweb.waha")

ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)

#: The longest any one call may take, retries included; above WAHA's own 5 s QR wait.
DEFAULT_DEADLINE = 15.0
#: `request-code` hangs forever on some WAHA versions (2024.10 while STARTING).
DEFAULT_REQUEST_CODE_DEADLINE = 5.0

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
        deadline: float = DEFAULT_DEADLINE,
        request_code_deadline: float = DEFAULT_REQUEST_CODE_DEADLINE,
        observer: RequestObserver | None = None,  # told of every attempt (metrics)
    ) -> None:
        """`deadline` bounds every call, retries included (`WahaTimeout` past it);
        `request_code_deadline` is the shorter one for `request_pairing_code`."""
        self._api_key = api_key or None
        self._display_base_url = _display_url(base_url)
        self._request_code_deadline = request_code_deadline
        #: An in-process app behind a plain ASGI transport: the events socket reaches it too.
        self._asgi_app = transport.app if isinstance(transport, httpx.ASGITransport) and not isinstance(
            transport, ASGIWebSocketTransport) else None
        self._http = httpx.AsyncClient(
            base_url=base_url,
            transport=transport,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            # Every route we call answers JSON; for the QR this exact value is what
            # makes WAHA send base64 JSON rather than PNG bytes.
            headers={"Accept": "application/json", "User-Agent": "wahaweb"},
        )
        self._requester = WahaRequester(
            self._http,
            api_key=self._api_key,
            display_url=self._display_base_url,
            retry_waits=retry_waits,
            sleep=sleep,
            deadline=deadline,
            observer=observer,
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
        metadata: dict[str, str] | None = None,
        webhooks: list[WebhookConfig] | None = None,
    ) -> SessionDTO:
        """Create (and by default start) a session.

        `start` is always sent: older WAHA servers read a missing `start` as false.
        If a retried create answers "already exists", an earlier attempt most
        likely created it before its answer was lost, so the session is returned.
        A create that timed out after being sent is never sent again: it raises
        `WahaTimeout` (the session may exist; the caller looks it up, as core's
        adoption does). WAHA 2024.10 answers a create without start with an
        empty body; that is read back (STOPPED if WAHA does not show it).
        """
        config: SessionConfigRequest = {}
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
        if not response.content.strip():
            try:
                return _dto_of(await self.get_session(name))
            except WahaNotFound:
                return SessionDTO(name=name, status=WahaStatus.STOPPED, config=None)
        return self._parse(response, SessionDTO)

    async def get_session(self, name: str) -> SessionInfo:
        response = await self._request("GET", session_path(name), session=name)
        return self._parse(response, SessionInfo)

    async def update_session(self, name: str, config: SessionConfigRequest) -> SessionDTO:
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
            "POST",
            auth_path(name, "request-code"),
            json={"phoneNumber": phone_number},
            session=name,
            deadline=self._request_code_deadline,
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

    async def server_status(self) -> ServerStatus:
        """When the server started and how long it has run (a restarted WAHA lost its engines)."""
        response = await self._request("GET", "/api/server/status")
        return self._parse(response, ServerStatus)

    async def screenshot(self, name: str) -> QRImage:
        """What the session's browser shows, as a base64 image (the QR while pairing)."""
        response = await self._request(
            "GET", "/api/screenshot", params={"session": name}, headers={"Accept": "application/json"}, session=name
        )
        content_type = response.headers.get("content-type", "").split(";", 1)[0].strip()
        if content_type.startswith("image/"):
            return QRImage(mimetype=content_type, data=base64.b64encode(response.content).decode("ascii"))
        return self._parse(response, QRImage)

    @contextlib.asynccontextmanager
    async def events(
        self, session: str = "*", events: Sequence[str] = ("session.status",)
    ) -> AsyncIterator[WahaEventStream]:
        """WAHA's events websocket (`/ws`): ``async with client.events() as stream: async for e in stream``.

        Works over the network and over `httpx_ws.transport.ASGIWebSocketTransport`
        (in-process); a refused key ends the stream with `WahaUnauthorized`.
        """
        async with open_event_stream(
            self._http, api_key=self._api_key, session=session, events=events, display_url=self._display_base_url,
            in_process=self._asgi_app,
        ) as stream:
            yield stream

    async def ping(self) -> bool:
        """Is WAHA up? One attempt, no key: a health check must answer fast, not retry."""
        try:
            await self._request("GET", "/ping", authenticated=False, retry=False)
        except WahaError:
            return False
        return True

    # -- plumbing ------------------------------------------------------------------------

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self._requester.request(method, path, **kwargs)

    async def _session_dto(self, response: httpx.Response, name: str) -> SessionDTO:
        """The SessionDTO WAHA answered, or, from servers that answer nothing, a fresh read."""
        if not response.content.strip():
            return _dto_of(await self.get_session(name))
        return self._parse(response, SessionDTO)

    def _json(self, response: httpx.Response, *, allow_empty: bool = False) -> Any:
        return self._requester.json(response, allow_empty=allow_empty)

    def _parse(self, response: httpx.Response, model: type[ModelT]) -> ModelT:
        return self._requester.parse(response, model)

    def _parse_list(self, response: httpx.Response, model: type[ModelT]) -> list[ModelT]:
        return self._requester.parse_list(response, model)

    def _validate(self, response: httpx.Response, model: type[ModelT], body: Any) -> ModelT:
        return self._requester.validate(response, model, body)

    def _unreadable(self, response: httpx.Response, expected: str) -> WahaHTTPError:
        return self._requester.unreadable(response, expected)


def _is_already_exists(exc: WahaUnprocessable) -> bool:
    return "already exists" in exc.waha_message.lower()


def _dto_of(info: SessionInfo) -> SessionDTO:
    return SessionDTO(name=info.name, status=info.status, config=info.config)


