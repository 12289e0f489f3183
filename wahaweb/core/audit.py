"""The audit trail: one AuditEvent per action (who, what, which session, outcome, time taken)."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from wahaweb.core.clock import Clock, utcnow
from wahaweb.core.db import Database
from wahaweb.core.models import AuditEvent

OK = "ok"
REFUSED = "refused"  # a rule said no: plan limit, rate limit, validation, wrong state
FAILED = "failed"  # WAHA or the system failed
DENIED = "denied"  # not signed in / not allowed / not found


def _clip(text: str | None, size: int = 2000) -> str | None:
    if text is None:
        return None
    return text if len(text) <= size else text[: size - 1] + "…"


class AuditLog:
    def __init__(self, db: Database, clock: Clock = utcnow) -> None:
        self.db = db
        self.clock = clock
        #: Events waiting for the next group commit, each with the future its writer awaits.
        self._queue: list[tuple[AuditEvent, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task | None = None

    def event(self, *, action: str, outcome: str, user_id: int | None = None, session_id: str | None = None,
              detail: str | None = None, duration_ms: float | None = None) -> AuditEvent:
        return AuditEvent(at=self.clock(), user_id=user_id, action=action, session_id=session_id, outcome=outcome,
                          detail=_clip(detail), duration_ms=None if duration_ms is None else round(duration_ms, 3))

    def add(self, session: AsyncSession, **kwargs) -> AuditEvent:
        """Add an event to an open transaction (committed with it)."""
        ev = self.event(**kwargs)
        session.add(ev)
        return ev

    async def write(self, **kwargs) -> AuditEvent:
        """Write an event; returns once it is committed. Group commit: events written while a commit
        runs (a burst of creates) go together in the next transaction, so they take the database's
        one write lock (SQLite) once, not once each."""
        ev = self.event(**kwargs)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((ev, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="wahaweb-audit-commit")
        await asyncio.shield(done)
        return ev

    async def _flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                async with self.db.transaction() as session:
                    session.add_all([ev for ev, _ in batch])
            except Exception as exc:  # noqa: BLE001 - each writer gets the failure
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                        done.exception()  # retrieved here too: a cancelled writer must not log it again
                continue
            for _, done in batch:
                if not done.done():
                    done.set_result(None)

    async def for_session(self, session_id: str, limit: int = 50) -> list[AuditEvent]:
        """Newest first."""
        return await self.db.read_all(
            select(AuditEvent).where(AuditEvent.session_id == session_id)
            .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc()).limit(limit))

    async def recent(self, limit: int = 100, *, user_id: int | None = None,
                     action: str | None = None) -> list[AuditEvent]:
        """Newest first, optionally for one acting user or one action."""
        stmt = select(AuditEvent)
        if user_id is not None:
            stmt = stmt.where(AuditEvent.user_id == user_id)
        if action is not None:
            stmt = stmt.where(AuditEvent.action == action)
        async with self.db.session() as session:
            rows = await session.exec(stmt.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc()).limit(limit))
            return list(rows)

    async def count(self, *, action: str | None = None, outcome: str | None = None) -> int:
        stmt = select(sa.func.count()).select_from(AuditEvent)
        if action is not None:
            stmt = stmt.where(AuditEvent.action == action)
        if outcome is not None:
            stmt = stmt.where(AuditEvent.outcome == outcome)
        async with self.db.session() as session:
            return int((await session.exec(stmt)).one())
