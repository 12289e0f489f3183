"""User actions on a session: start, restart, stop, log out, delete, status, QR, pairing code.

Each takes the acting `User` first, re-reads it, checks the session is his (admins: any),
applies the rate limit where there is one, keeps the row and WAHA consistent, writes one
AuditEvent, and tells the status engine about the row it changed.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa

from wahaweb.core import status as st
from wahaweb.core.errors import (
    InvalidState,
    NotFound,
    WahaProblem,
)
from wahaweb.core.failures import MISSING, MISSING_REASON, code_for
from wahaweb.core.models import User, WaSession
from wahaweb.core.qr_svg import QrPicture, qr_picture
from wahaweb.core.sessions.provisioning import SessionProvisioning
from wahaweb.core.sessions.rules import (
    validate_phone,
)
from wahaweb.waha import SessionDTO, SessionInfo
from wahaweb.waha.errors import (
    WahaAlreadyExists,
    WahaError,
    WahaNotFound,
    WahaWrongState,
)

logger = logging.getLogger("wahaweb.core.sessions")


def _announced(action: Callable[..., Awaitable[WaSession]]) -> Callable[..., Awaitable[WaSession]]:
    """After a user action: tell the status engine of the row it wrote (every tab, admins)."""

    @functools.wraps(action)
    async def run(self: SessionService, *args: Any, **kwargs: Any) -> WaSession:
        row = await action(self, *args, **kwargs)
        await self._announce(row, action.__name__)
        return row

    return run


class SessionService(SessionProvisioning):
    """The session service: every rule about WhatsApp sessions, the only caller of WAHA for them."""

    @_announced
    async def start(self, actor: User | None, session_id: str) -> WaSession:
        """Start a session. From `stopped` or `failed` it passes the plan limit again."""
        async with self._action("start", actor, session_id, limit="action") as (user, row, _):
            return await self._bring_up(user, row, "start")

    @_announced
    async def restart(self, actor: User | None, session_id: str) -> WaSession:
        """Restart a session. From `stopped` or `failed` it passes the plan limit again."""
        async with self._action("restart", actor, session_id, limit="action") as (user, row, _):
            return await self._bring_up(user, row, "restart")

    async def _bring_up(self, user: User, row: WaSession, action: str) -> WaSession:
        row, previous = await self._reserve_existing(row.id, action)
        dto: SessionDTO | SessionInfo | None
        try:
            if action == "restart" or previous == st.FAILED or row.waha_status == "FAILED":
                # WAHA counts a FAILED session as running: `start` would say "already started".
                dto = await (await self._waha_for(row)).restart_session(row.name_on_waha)
            else:
                dto = await (await self._waha_for(row)).start_session(row.name_on_waha)
                if dto is None:  # already running
                    dto = await (await self._waha_for(row)).get_session(row.name_on_waha)
        except WahaNotFound:
            # Gone from WAHA (deleted there, or never made): create it again under the same name.
            dto = await self._recreate(row)
        except WahaError as exc:
            await self._undo_reservation(row.id, previous, str(exc), code_for(exc))
            raise WahaProblem(exc) from exc
        me = dto.me if isinstance(dto, SessionInfo) else None  # start/restart answer without the account
        fresh = await self._apply_own(row.id, dto.status, me=me, source=action)
        if fresh is None:
            raise NotFound()
        return fresh

    async def _recreate(self, row: WaSession) -> SessionDTO | SessionInfo:
        owner = await self.accounts.get_user(row.user_id)
        assert owner is not None
        try:
            return await self._waha_create(owner, row)
        except WahaAlreadyExists:
            return await (await self._waha_for(row)).get_session(row.name_on_waha)
        except WahaError as exc:
            await self.mark_failed(row.id, str(exc), source="start", code=code_for(exc))
            raise WahaProblem(exc) from exc

    @_announced
    async def stop(self, actor: User | None, session_id: str) -> WaSession:
        """Stop the session on WAHA (a session already gone there is fine) -> `stopped`."""
        async with self._action("stop", actor, session_id, limit="action") as (user, row, _):
            try:
                dto = await (await self._waha_for(row)).stop_session(row.name_on_waha)
            except WahaError as exc:
                raise WahaProblem(exc) from exc
            change = await self.apply_waha_status(row.id, dto.status if dto is not None else "STOPPED",
                                                  source="stop", force=True)
            if change is None:
                raise NotFound()
            return change.session

    @_announced
    async def logout(self, actor: User | None, session_id: str) -> WaSession:
        """Unlink the phone. WAHA restarts a running session for a new QR; a stopped one stays stopped.

        A `failed` session is running for WAHA, so it comes back up and passes the plan limit first.
        """
        async with self._action("logout", actor, session_id, limit="action") as (user, row, _):
            previous = None
            if row.status == st.FAILED:
                row, previous = await self._reserve_existing(row.id, "logout")
            try:
                dto = await (await self._waha_for(row)).logout_session(row.name_on_waha)
                new_status: str | None = dto.status
            except WahaNotFound:
                new_status = None
            except WahaError as exc:
                if previous is not None:
                    await self._undo_reservation(row.id, previous, str(exc), code_for(exc))
                raise WahaProblem(exc) from exc
            if new_status is None:
                change = await self.mark_failed(row.id, "The session no longer exists on WAHA; start it again "
                                                "to create it anew.", source="logout", clear_phone=True,
                                                code=MISSING)
            else:
                change = await self.apply_waha_status(row.id, new_status, source="logout", force=True,
                                                      clear_phone=True)
            if change is None:
                raise NotFound()
            return change.session

    async def delete(self, actor: User | None, session_id: str) -> None:
        """Delete on WAHA (already gone there is fine), then the row. Its audit events stay."""
        async with self._action("delete", actor, session_id, limit="action") as (user, row, _):
            try:
                await (await self._waha_for(row)).delete_session(row.name_on_waha)
            except WahaError as exc:
                raise WahaProblem(exc) from exc
            async with self.db.transaction() as s:
                await s.exec(sa.delete(WaSession).where(WaSession.id == row.id))
            await self._announce_removed(row)

    @_announced
    async def status(self, actor: User | None, session_id: str) -> WaSession:
        """Ask WAHA for the session's status now (rate limit: status, 30/min) and store it."""
        async with self._action("status", actor, session_id, limit="status") as (user, row, _):
            return await self._refresh(row)

    async def _refresh(self, row: WaSession) -> WaSession:
        try:
            info = await (await self._waha_for(row)).get_session(row.name_on_waha)
        except WahaNotFound:
            if row.status == st.CREATING:  # WAHA has not been asked yet
                return row
            change = await self.mark_failed(row.id, MISSING_REASON, source="status")
            if change is None:
                raise NotFound() from None
            return change.session
        except WahaError as exc:
            raise WahaProblem(exc) from exc
        fresh = await self._apply_own(row.id, info.status, me=info.me, source="status")
        if fresh is None:
            raise NotFound()
        return fresh

    async def qr(self, actor: User | None, session_id: str) -> QrPicture:
        """The current QR code (rate limit: QR, 10/min). `.data_url` goes straight into an <img>."""
        async with self._action("qr", actor, session_id, limit="qr") as (user, row, _):
            return await self._qr(row)

    async def fetch_qr(self, session_id: str) -> QrPicture:
        """System: the current QR for the status engine (no actor, no rate limit)."""
        return (await self.fetch_qr_with_row(session_id))[1]

    async def fetch_qr_with_row(self, session_id: str, known: WaSession | None = None) -> tuple[WaSession, QrPicture]:
        """`fetch_qr`, with the row it was fetched for: read just before asking WAHA, unless the
        caller read it a moment ago (`known`: the webhook that announced the QR)."""
        row = known if known is not None and known.id == session_id else await self.get_row(session_id)
        if row is None:
            raise NotFound()
        return row, await self._qr(row)

    async def _qr(self, row: WaSession) -> QrPicture:
        """WAHA's raw text drawn as SVG; WAHA's PNG on a server whose raw QR failed (remembered per server)."""
        if row.status not in (st.CREATING, st.STARTING, st.PAIRING):
            raise InvalidState(f"There is no QR code to scan: the session is {row.status}.")
        raw_refused = False
        try:
            waha = await self._waha_for(row)
            if row.server_id not in self.png_qr_servers:
                try:
                    return qr_picture(await waha.get_qr_raw(row.name_on_waha))
                except WahaWrongState:
                    raise
                except WahaError as exc:  # fall back to the PNG now; for good if WAHA said no (4xx, unreadable)
                    raw_refused = exc.status_code is not None and (exc.status_code < 500 or exc.status_code == 501)
                    logger.warning("raw QR of %s failed on server %s: %s", row.id, row.server_id, exc)
                except ValueError as exc:  # a text no QR holds (segno): this once, WAHA's PNG
                    logger.warning("raw QR of %s could not be drawn: %s", row.id, exc)
            image = await waha.get_qr(row.name_on_waha)
            if raw_refused:
                self.png_qr_servers.add(row.server_id)
            return QrPicture(data_url=image.data_url, mimetype=image.mimetype, source="png")
        except WahaWrongState as exc:
            if exc.current_status:
                await self.apply_waha_status(row.id, exc.current_status, source="qr")
            now = st.canonical_status(exc.current_status) if exc.current_status else "not pairing"
            raise InvalidState(f"There is no QR code to scan: the session is {now}.") from exc
        except WahaError as exc:
            raise WahaProblem(exc) from exc

    async def request_pairing_code(self, actor: User | None, session_id: str, phone: str) -> str:
        """A code to type on the phone instead of scanning ("ABCD-EFGH"). Phone: +, then 8-15 digits."""
        async with self._action("pairing_code", actor, session_id) as (user, row, audit):
            digits = validate_phone(phone)
            await self.limiter.hit("pairing_code", f"user:{user.id}")
            if row.status not in (st.STARTING, st.PAIRING):
                raise InvalidState(f"A pairing code can be requested only while pairing; the session is {row.status}.")
            try:
                code = await (await self._waha_for(row)).request_pairing_code(row.name_on_waha, digits)
            except WahaWrongState as exc:
                raise InvalidState("A pairing code can be requested only while the QR code is shown.") from exc
            except WahaError as exc:
                raise WahaProblem(exc) from exc
            audit.detail = f"phone ending {digits[-4:]}"
            return code

    @_announced
    async def simulate_scan(self, actor: User | None, session_id: str) -> WaSession:
        """Demo mode only: act as the phone that scans the current QR."""
        async with self._action("simulate_scan", actor, session_id, limit="action") as (user, row, _):
            if self.demo_scan is None:
                raise InvalidState("Simulating a phone scan is only possible with the built-in WAHA simulator.")
            await self.demo_scan(row.name_on_waha)
            return await self._refresh(row)
