"""System observations: what WAHA and the status engine say, written to the rows.

No actor and no rate limit: these are called by the status engine (webhooks, the list
poll, stuck sessions) and by the service's own actions after WAHA answered.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from sqlmodel import col, select

from wahaweb.core import status as st
from wahaweb.core.audit import FAILED, OK
from wahaweb.core.errors import (
    NotFound,
    PlanLimitReached,
)
from wahaweb.core.failures import MISSING_REASON, NEVER_CREATED_REASON, WAHA_FAILED_REASON, code_for
from wahaweb.core.models import User, WaSession
from wahaweb.core.plans import count_active, plan_limit
from wahaweb.core.sessions.access import SessionAccess
from wahaweb.core.sessions.rules import (
    AppliedStatus,
    _me_fields,
    _raw_status,
    visible_fields,
)
from wahaweb.waha.errors import (
    WahaError,
    WahaNotFound,
)
from wahaweb.waha.models import Me

logger = logging.getLogger("wahaweb.core.sessions")


class SessionObservations(SessionAccess):
    async def apply_waha_status(
        self,
        session_id: str,
        waha_status: str | None,
        *,
        at: dt.datetime | None = None,
        event_id: str | None = None,
        me: Me | dict[str, Any] | None = None,
        source: str = "watcher",
        error: str | None = None,
        force: bool = False,
        clear_phone: bool = False,
    ) -> AppliedStatus | None:
        """System: store a WAHA status for a session; returns who to notify, or None.

        None when the session is unknown, or the observation is stale (`at` older than
        the newest applied one) or a replay of the last applied `event_id`. `at`
        defaults to now (the core clock); webhooks pass the event's time. `me`
        (WAHA's Me or its dict) sets the phone and push name when connected. A
        change of the canonical status writes an AuditEvent (`status`, by the system).
        """
        raw = _raw_status(waha_status)
        new = st.canonical_status(raw)
        now = self.clock()
        at = at or now
        async with self.db.transaction() as s:
            row = await s.get(WaSession, session_id, with_for_update=True)
            if row is None:
                return None
            if event_id is not None and row.last_event_id == event_id:
                return None
            if not force and row.status_seen_at is not None and at < row.status_seen_at:
                return None
            old = row.status
            before = visible_fields(row)
            row.status = new
            row.waha_status = raw
            row.touch(now)
            row.status_seen_at = at if row.status_seen_at is None else max(at, row.status_seen_at)
            if event_id is not None:
                row.last_event_id = event_id
            phone, push_name = _me_fields(me)
            if clear_phone:
                row.phone = row.push_name = None
                row.connected_at = None
            if new == st.CONNECTED:
                if phone:
                    row.phone = phone
                if push_name:
                    row.push_name = push_name
                if old != st.CONNECTED or row.connected_at is None:
                    row.connected_at = at
            elif new == st.PAIRING:
                # Asking for a QR again means the phone is not linked any more.
                row.phone = row.push_name = None
                row.connected_at = None
            if new == st.FAILED:
                if error or not row.last_error:
                    row.last_error = error or WAHA_FAILED_REASON
                    row.last_error_code = code_for(row.last_error)
            elif new in st.ACTIVE_STATUSES:
                row.last_error = row.last_error_code = None
            changed = old != new
            if changed:
                row.status_changed_at = at
                self.audit.add(s, action="status", outcome=OK, user_id=None, session_id=session_id,
                               detail=f"{old} -> {new} (WAHA {raw}, {source})" + (f": {error}" if error else ""))
        return AppliedStatus(session_id=session_id, user_id=row.user_id, old_status=old, new_status=new,
                            waha_status=raw, changed=changed, session=row, visible=visible_fields(row) != before)

    async def mark_failed(self, session_id: str, reason: str, *, source: str = "system",
                          clear_phone: bool = False, code: str | None = None) -> AppliedStatus | None:
        """System: put a session in `failed` with `reason` (frees its plan slot).

        `reason` is for operators (admins, the log); its owner sees `code` (`wahaweb.core.failures`;
        default: the code of one of our own reasons, else the generic one).
        """
        now = self.clock()
        async with self.db.transaction() as s:
            row = await s.get(WaSession, session_id, with_for_update=True)
            if row is None:
                return None
            old = row.status
            row.status = st.FAILED
            row.last_error, row.last_error_code = reason, code or code_for(reason)
            row.touch(now)
            row.status_seen_at = now if row.status_seen_at is None else max(now, row.status_seen_at)
            if clear_phone:
                row.phone = row.push_name = None
                row.connected_at = None
            if old != st.FAILED:
                row.status_changed_at = now
                self.audit.add(s, action="status", outcome=FAILED, user_id=None, session_id=session_id,
                               detail=f"{old} -> failed ({source}): {reason}")
        return AppliedStatus(session_id=session_id, user_id=row.user_id, old_status=old, new_status=st.FAILED,
                            waha_status=row.waha_status, changed=old != st.FAILED, session=row)

    async def auto_restart(self, row: WaSession, detail: str, max_restarts: int) -> AppliedStatus | None:
        """System: restart a session stuck in STARTING on WAHA and count it (the engine decides when).

        The row keeps its status; its stuck period counts from now. Gone from WAHA: `failed`.
        Returns the change to announce, or None (WAHA unreachable: the engine tries again).
        """
        try:
            dto = await (await self._waha_for(row)).restart_session(row.name_on_waha)
        except WahaNotFound:
            return await self.mark_failed(row.id, MISSING_REASON, source="watcher")
        except WahaError as exc:
            logger.warning("automatic restart of %s failed: %s", row.id, exc)
            return None
        now = self.clock()
        raw = str(dto.status)
        async with self.db.transaction() as s:
            fresh = await s.get(WaSession, row.id)
            if fresh is None:
                return None
            fresh.auto_restarts = (fresh.auto_restarts or 0) + 1
            fresh.touch(now)
            if fresh.status == st.STARTING:
                fresh.status_changed_at = now  # the next stuck period counts from the restart
                fresh.waha_status = raw
            fresh.status_seen_at = now if fresh.status_seen_at is None else max(now, fresh.status_seen_at)
            self.audit.add(s, action="auto_restart", outcome=OK, user_id=None, session_id=row.id,
                           detail=f"{detail} ({fresh.auto_restarts} of {max_restarts})")
        logger.warning("session %s stuck in STARTING; restarted automatically", row.id)
        return AppliedStatus(session_id=row.id, user_id=fresh.user_id, old_status=row.status,
                            new_status=fresh.status, waha_status=fresh.waha_status, changed=False, session=fresh)

    async def reset_auto_restarts(self, session_id: str) -> None:
        """System: a session that reached pairing or connected may be restarted automatically again."""
        async with self.db.transaction() as s:
            fresh = await s.get(WaSession, session_id)
            if fresh is not None and fresh.status in (st.PAIRING, st.CONNECTED):
                fresh.auto_restarts = 0

    async def any_in(self, statuses: Iterable[str]) -> bool:
        """System: is any session in one of `statuses` (the engine's fast pace)?"""
        async with self.db.session() as s:
            found = await s.exec(select(WaSession.id).where(col(WaSession.status).in_(list(statuses))).limit(1))
            return found.first() is not None

    async def reconcile_creating(self, older_than: float = 60.0) -> list[AppliedStatus]:
        """System: rows stuck in `creating` (e.g. the process died mid-create) are adopted or failed."""
        cutoff = self.clock() - dt.timedelta(seconds=older_than)
        changes: list[AppliedStatus] = []
        for row in await self.rows_in([st.CREATING]):
            if row.created_at > cutoff:
                continue
            try:
                info = await (await self._waha_for(row)).get_session(row.name_on_waha)
            except WahaNotFound:
                change = await self.mark_failed(row.id, NEVER_CREATED_REASON,
                                                source="reconcile")
            except WahaError:
                continue  # WAHA unreachable: try again on the next round
            else:
                change = await self.apply_waha_status(row.id, info.status, me=info.me, source="reconcile")
            if change is not None:
                changes.append(change)
        return changes

    async def stop_all_of_user(self, user_id: int, reason: str) -> list[AppliedStatus]:
        """System: stop every running session of a user on WAHA (a disabled account), audited.

        Rows stay (re-enabling starts nothing by itself); a session WAHA cannot stop right
        now is still marked stopped here, and the failure is in the audit trail.
        """
        async with self.db.session() as s:
            rows = list(await s.exec(select(WaSession).where(
                WaSession.user_id == user_id, col(WaSession.status).in_(list(st.ACTIVE_STATUSES)))))
        changes = []
        for row in rows:
            outcome, detail = OK, reason
            try:
                await (await self._waha_for(row)).stop_session(row.name_on_waha)
            except WahaError as exc:
                outcome, detail = FAILED, f"{reason}; WAHA: {exc}"
            change = await self.apply_waha_status(row.id, "STOPPED", source="account_disabled", force=True)
            await self._write_audit(action="stop", outcome=outcome, user_id=None, session_id=row.id, detail=detail)
            if change is not None:
                changes.append(change)
                await self._announce(change.session, "account_disabled", old_status=change.old_status)
        return changes

    async def _apply_own(self, session_id: str, waha_status: str, **kwargs: Any) -> WaSession | None:
        """Store what WAHA answered to our own call; the row after it, or None if the row is gone.

        If a newer observation (a webhook, the watcher) was applied meanwhile, ours is older
        and ignored: the row as it stands is returned.
        """
        change = await self.apply_waha_status(session_id, waha_status, **kwargs)
        if change is not None:
            return change.session
        return await self.get_row(session_id)

    async def _reserve_existing(self, session_id: str, action: str) -> tuple[WaSession, str | None]:
        """For start/restart: an inactive row passes the plan limit again and becomes `starting`.

        Returns (row, previous status if it was reserved, else None).
        """
        row = await self.get_row(session_id)
        if row is None:
            raise NotFound()
        if row.status not in st.INACTIVE_STATUSES:
            return row, None
        async with self.db.locked_write(lock_user_id=row.user_id) as s:
            row = await s.get(WaSession, session_id, with_for_update=True)
            if row is None:
                raise NotFound()
            if row.status not in st.INACTIVE_STATUSES:
                return row, None
            owner = await s.get(User, row.user_id)
            assert owner is not None
            plan_name, limit = await plan_limit(s, owner, self.default_session_limit)
            active = await count_active(s, row.user_id, exclude=row.id)
            if active >= limit:
                raise PlanLimitReached(plan_name, limit, active)
            previous = row.status
            now = self.clock()
            row.status = st.STARTING
            row.last_error = row.last_error_code = None
            row.auto_restarts = 0
            row.status_changed_at = now
            row.touch(now)
            row.status_seen_at = now if row.status_seen_at is None else max(now, row.status_seen_at)
            self.audit.add(s, action="status", outcome=OK, user_id=None, session_id=session_id,
                           detail=f"{previous} -> {st.STARTING} ({action})")
        return row, previous

    async def _undo_reservation(self, session_id: str, previous: str | None, reason: str,
                                code: str | None = None) -> None:
        """WAHA refused or was unreachable after a reservation: back to the inactive state, slot freed."""
        if previous is None:
            return
        now = self.clock()
        async with self.db.transaction() as s:
            row = await s.get(WaSession, session_id, with_for_update=True)
            if row is not None and row.status == st.STARTING:
                row.status = previous
                row.last_error, row.last_error_code = reason, code or code_for(reason)
                row.status_changed_at = now
                row.touch(now)
                self.audit.add(s, action="status", outcome=FAILED, user_id=None, session_id=session_id,
                               detail=f"{st.STARTING} -> {previous} (WAHA did not start it): {reason}")
