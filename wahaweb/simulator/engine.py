"""The session state machine and its timers: the part of WAHA a client can observe.

A started session goes STARTING, then after ``qr_delay`` either straight to WORKING (it was
linked before and kept its auth across a stop) or to SCAN_QR_CODE. WAHA rotates the QR: the
first lives 60 s, each next one 20 s, at most 6 of them, then the session is FAILED; every
rotation is a new QR text and a new SCAN_QR_CODE status event, which is what clients are
told to follow. One asyncio task per session drives that sequence; it is created lazily by
whichever request (or Python call) starts the session, inside the running loop, so the app
needs no lifespan events and works behind ``httpx.ASGITransport``.

Every operation is synchronous (no ``await`` between reading and writing state), so the
engine needs no locks in one event loop; only waiting for a status is a coroutine.

"Running" follows WAHA: every status but STOPPED, FAILED included (a FAILED engine is still
loaded), which is why ``start`` on a FAILED session says "already started" and a client has
to ``restart`` or ``logout`` it instead.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import secrets
import string
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from . import errors, qr
from .config import SESSION_NAME_MAX_LENGTH, SimulatorConfig
from .session import SessionStatus, SimSession, now_ms

__all__ = ["SessionEngine", "SessionStatus", "SimSession", "now_ms"]

logger = logging.getLogger(__name__)

CORE_SESSION_NAME = "default"
DEFAULT_PUSH_NAME = "Simulated Phone"


StatusListener = Callable[[SimSession], None]
Sleep = Callable[[float], Awaitable[None]]
PAIRABLE = frozenset(
    {SessionStatus.SCAN_QR_CODE, SessionStatus.PASSKEY_REQUIRED, SessionStatus.PASSKEY_CONFIRMATION_REQUIRED}
)
"""Statuses in which a phone can finish linking."""


class SessionEngine:
    def __init__(
        self,
        config: SimulatorConfig,
        on_status_change: StatusListener | None = None,
        sleep: Sleep = asyncio.sleep,
    ):
        self.config = config
        self.sessions: dict[str, SimSession] = {}
        self._on_status_change = on_status_change
        self._sleep = sleep
        """Every timer waits through this, so a test can drive time instead of waiting it out."""

    # ----------------------------------------------------------------- lookups
    def listed(self, include_stopped: bool) -> list[SimSession]:
        return [s for s in self.sessions.values() if include_stopped or s.running]

    def get(self, name: str) -> SimSession:
        self.check_tier_allows(name)
        session = self.sessions.get(name)
        if session is None:
            raise errors.session_not_found(name)
        return session

    def get_running(self, name: str) -> SimSession:
        """For routes that talk to the live engine: WAHA answers 404 when it is not loaded."""
        self.check_tier_allows(name)
        session = self.sessions.get(name)
        if session is None or not session.running:
            raise errors.session_not_running(name)
        return session

    def check_tier_allows(self, name: str, *, creating: bool = False) -> None:
        if not (creating or self.config.behaviour.only_default_everywhere):
            return
        if self.config.tier == "core" and name != CORE_SESSION_NAME:
            raise errors.only_default_session(name, self.config.behaviour.only_default_message)

    def list_items(self, include_stopped: bool) -> builtins.list[dict[str, Any]]:
        """The list answer; a 2024.10 Core lists a STOPPED ``default`` from boot, in its short shape."""
        if self.config.behaviour.lists_default_from_boot:
            items = [
                {"name": s.name, "status": s.status.value, "config": s.config, "me": s.me}
                for s in self.listed(include_stopped)
            ]
            if include_stopped and CORE_SESSION_NAME not in self.sessions:
                items.insert(0, {"name": CORE_SESSION_NAME, "status": "STOPPED", "config": None, "me": None})
            return items
        return [s.list_item() for s in self.listed(include_stopped)]

    # -------------------------------------------------------------- lifecycle
    def create(self, name: str | None, config: dict[str, Any] | None, start: bool) -> SimSession:
        if name is None:
            name = "session_" + "".join(
                secrets.choice(string.ascii_lowercase + string.digits) for _ in range(26)
            )
        self._validate_name(name)
        self.check_tier_allows(name, creating=True)
        if name in self.sessions:
            raise errors.unprocessable(f"Session '{name}' already exists. Use PUT to update it.")
        session = SimSession(
            name=name,
            config=config,
            engine=str(self.config.engine),
            history=deque(maxlen=self.config.status_history),
        )
        self.sessions[name] = session
        if start:
            self._boot(session)
        return session

    def update(self, name: str, config: dict[str, Any] | None) -> SimSession:
        """WAHA stops a running session, swaps its config and starts it again."""
        session = self.get(name)
        was_running = session.running
        self._halt(session)
        session.config = config
        if was_running:
            self._boot(session)
        return session

    def start(self, name: str) -> SimSession:
        session = self.get(name)
        if session.running:
            raise errors.unprocessable(f"Session '{name}' is already started.")
        self._boot(session)
        return session

    def stop(self, name: str) -> SimSession:
        session = self.get(name)
        self._halt(session)
        return session

    def restart(self, name: str) -> SimSession:
        session = self.get(name)
        self._halt(session)
        self._boot(session)
        return session

    def logout(self, name: str) -> SimSession:
        """Forget the linked phone; a running session restarts and asks for a new QR."""
        session = self.get(name)
        was_running = session.running
        self._halt(session)
        session.account = None
        if was_running:
            self._boot(session)
        return session

    def delete(self, name: str) -> None:
        """Stop, log out, forget. Idempotent, like WAHA: an unknown name is not an error."""
        self.check_tier_allows(name)
        session = self.sessions.get(name)
        if session is None:
            return
        self._halt(session)
        session.account = None
        del self.sessions[name]
        self._wake(session)

    # ------------------------------------------------------- the phone's side
    def scan(self, name: str, phone: str | None = None, push_name: str | None = None) -> SimSession:
        """The phone scanned the current QR (or entered the pairing code, or passed a passkey)."""
        session = self.get(name)
        if session.status not in PAIRABLE:
            raise errors.unprocessable(
                f"Session '{name}' is {session.status.value}; a phone can link only in SCAN_QR_CODE."
            )
        digits = session.pairing_phone or qr.random_phone_number()
        if phone is not None:
            given = qr.normalise_phone_number(phone)
            if given is None:
                raise errors.unprocessable(f"'{phone}' is not a phone number (8 to 15 digits).")
            digits = given
        self._cancel_timer(session)
        session.qr_value = None
        session.account = {"id": f"{digits}@c.us", "pushName": push_name or DEFAULT_PUSH_NAME}
        self._set_status(session, SessionStatus.WORKING)
        return session

    def passkey(self, name: str, confirm: bool = False) -> SimSession:
        """The phone asks for a passkey: SCAN_QR_CODE -> PASSKEY_REQUIRED (a WebAuthn challenge),
        or with ``confirm`` -> PASSKEY_CONFIRMATION_REQUIRED (a code to compare on the phone).

        WAHA reaches these only with a real phone; the simulator needs a control to show them.
        The QR timer stops; ``scan`` then links the phone, ``fail`` gives up.
        """
        session = self.get(name)
        if session.status not in PAIRABLE:
            raise errors.unprocessable(
                f"Session '{name}' is {session.status.value}; a passkey is asked only while pairing."
            )
        self._cancel_timer(session)
        session.qr_value = None
        if confirm:
            session.status_data = {"code": qr.new_pairing_code().replace("-", "")[:6]}
            self._set_status(session, SessionStatus.PASSKEY_CONFIRMATION_REQUIRED)
        else:
            session.status_data = {
                "challenge": secrets.token_urlsafe(32),
                "rpId": "web.whatsapp.com",
                "timeout": 60000,
                "userVerification": "preferred",
            }
            self._set_status(session, SessionStatus.PASSKEY_REQUIRED)
        return session
    def fail(self, name: str) -> SimSession:
        """The engine broke (browser crash, bad auth): FAILED until restarted."""
        session = self.get(name)
        self._cancel_timer(session)
        session.qr_value = None
        if session.status is not SessionStatus.FAILED:
            self._set_status(session, SessionStatus.FAILED)
        return session

    def logout_phone(self, name: str) -> SimSession:
        """The user removed the linked device on the phone: WAHA reports FAILED, auth gone."""
        session = self.get(name)
        if session.status is not SessionStatus.WORKING:
            raise errors.unprocessable(
                f"Session '{name}' is {session.status.value}; only a WORKING session has a phone to log out."
            )
        session.account = None
        self._set_status(session, SessionStatus.FAILED)
        return session

    def request_code(self, name: str, phone_number: Any) -> str:
        session = self.get_running(name)
        digits = qr.normalise_phone_number(phone_number)
        if digits is None:
            raise errors.unprocessable(
                f"'{phone_number}' is not a phone number in international format (8 to 15 digits)."
            )
        if session.status is not SessionStatus.SCAN_QR_CODE:
            raise errors.pairing_wrong_status(session.status.value)
        session.pairing_phone = digits
        return qr.new_pairing_code()

    # ---------------------------------------------------------------- waiting
    async def wait_for_status(
        self, name: str, wanted: Iterable[SessionStatus | str], timeout: float
    ) -> SimSession | None:
        """Wait until the session is in one of ``wanted`` (or ``timeout`` passes).

        Returns the session in whatever status it has then, or None if it was deleted.
        """
        wanted_values = {SessionStatus(w) for w in wanted}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            session = self.sessions.get(name)
            if session is None or session.status in wanted_values:
                return session
            remaining = deadline - loop.time()
            if remaining <= 0:
                return session
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(session.changed.wait(), remaining)

    async def aclose(self) -> None:
        timers = [s.timer for s in self.sessions.values() if s.timer is not None]
        for session in self.sessions.values():
            session.timer = None
        for timer in timers:
            with contextlib.suppress(RuntimeError):  # its loop may already be closed
                timer.cancel()
        current = asyncio.get_running_loop()
        mine = [t for t in timers if t.get_loop() is current]
        if mine:
            await asyncio.gather(*mine, return_exceptions=True)

    # --------------------------------------------------------------- internals
    def _validate_name(self, name: Any) -> None:
        """WAHA's only rules: a string of at most 54 characters (any characters: ``my.session`` is fine)."""
        if not isinstance(name, str) or not name:
            raise errors.bad_request(["name must be a string"])
        if len(name) > SESSION_NAME_MAX_LENGTH:
            raise errors.bad_request([f"name must be shorter than or equal to {SESSION_NAME_MAX_LENGTH} characters"])

    def _boot(self, session: SimSession) -> None:
        session.pairing_phone = None
        self._set_status(session, SessionStatus.STARTING)
        loop = asyncio.get_running_loop()
        session.timer = loop.create_task(self._run_boot(session), name=f"waha-sim:{session.name}")

    def _halt(self, session: SimSession) -> None:
        self._cancel_timer(session)
        session.qr_value = None
        session.status_data = None
        session.qr_number = 0
        session.pairing_phone = None
        if session.status is not SessionStatus.STOPPED:
            self._set_status(session, SessionStatus.STOPPED)

    def _cancel_timer(self, session: SimSession) -> None:
        timer, session.timer = session.timer, None
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()

    async def _run_boot(self, session: SimSession) -> None:
        config = self.config
        try:
            await self._starting(session)
            if session.account is not None:
                self._set_status(session, SessionStatus.WORKING)
                return
            for number in range(1, config.qr_max_count + 1):
                session.qr_value = qr.new_qr_value()
                session.qr_number = number
                self._set_status(session, SessionStatus.SCAN_QR_CODE)
                lifetime = config.qr_first_lifetime if number == 1 else config.qr_next_lifetime
                await self._sleep(config.scaled(lifetime))
            session.qr_value = None
            logger.info("session %s: no scan after %d QR codes, FAILED", session.name, config.qr_max_count)
            self._set_status(session, SessionStatus.FAILED)
        finally:
            if session.timer is asyncio.current_task():
                session.timer = None

    async def _starting(self, session: SimSession) -> None:
        """Wait ``qr_delay``; a 2024.10 engine re-announces STARTING every ~2 s meanwhile."""
        repeat = self.config.behaviour.starting_repeat
        remaining = self.config.qr_delay
        if repeat is None:
            await self._sleep(remaining)
            return
        step = self.config.scaled(repeat)
        while remaining > step:
            await self._sleep(step)
            remaining -= step
            self._announce(session)
        await self._sleep(remaining)

    def _announce(self, session: SimSession) -> None:
        """Tell listeners the status again, unchanged (history and wakers untouched)."""
        if self._on_status_change is not None:
            try:
                self._on_status_change(session)
            except Exception:
                logger.exception("status listener failed for session %s", session.name)

    def _set_status(self, session: SimSession, status: SessionStatus) -> None:
        stamp = now_ms()
        if status not in (SessionStatus.PASSKEY_REQUIRED, SessionStatus.PASSKEY_CONFIRMATION_REQUIRED):
            session.status_data = None
        session.status = status
        session.last_activity_ms = stamp
        session.history.append({"status": status.value, "timestamp": stamp})
        self._wake(session)
        self._announce(session)  # a listener bug is logged there and never corrupts the state machine

    @staticmethod
    def _wake(session: SimSession) -> None:
        changed, session.changed = session.changed, asyncio.Event()
        changed.set()
