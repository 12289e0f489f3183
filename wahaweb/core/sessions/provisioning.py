"""Creating a session: reserve a row under the plan limit, then provision it on WAHA.

`reserve()` returns at once with the row in `creating`; the WAHA create runs as a task
the service owns (a closed tab cannot orphan it), and its result reaches pages through
the status engine like any other change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from wahaweb.core import status as st
from wahaweb.core.accounts import DISABLED
from wahaweb.core.audit import FAILED, OK
from wahaweb.core.constants import META_SESSION_ID, META_USER_EMAIL, META_USER_ID
from wahaweb.core.errors import (
    AuthError,
    InvalidState,
    PlanLimitReached,
    WahaProblem,
)
from wahaweb.core.failures import NAME_TAKEN_REASON, code_for
from wahaweb.core.ids import new_session_id
from wahaweb.core.models import User, WaSession
from wahaweb.core.plans import standing
from wahaweb.core.servers.placement import NoCapacity, NotProbed, place, signs_webhooks
from wahaweb.core.sessions.observations import SessionObservations
from wahaweb.core.sessions.rules import (
    _outcome_of,
    _raw_status,
    validate_label,
)
from wahaweb.observability.log_context import bind
from wahaweb.waha.errors import (
    WahaAlreadyExists,
    WahaError,
    WahaNotFound,
    WahaUnavailable,
)
from wahaweb.waha.models import SessionDTO, SessionInfo, WebhookConfig

logger = logging.getLogger("wahaweb.core.sessions")


class SessionProvisioning(SessionObservations):
    """Reserve under the plan limit, then create on WAHA: the two halves of "New session"."""

    async def reserve(self, actor: User | None, label: str | None = None) -> WaSession:
        """Reserve a session and start creating it on WAHA; returns the `creating` row at once.

        Order: signed in and active -> label -> rate limit (create, 5/min) -> plan limit and
        reservation under the per-user lock. Raises PlanLimitReached, RateLimited,
        ValidationFailed or AuthError (audited, nothing reserved). The WAHA create then runs
        as a task this service owns: its answer, or its failure (the row `failed` with the
        reason, the slot freed), reaches pages through the status engine.
        """
        row, _ = await self._reserve_and_provision(actor, label)
        return row

    async def create(self, actor: User | None, label: str | None = None) -> WaSession:
        """`reserve`, then wait for WAHA: the row once WAHA accepted (raises WahaProblem if not)."""
        _, provisioning = await self._reserve_and_provision(actor, label)
        return await asyncio.shield(provisioning)

    async def _reserve_and_provision(self, actor: User | None, label: str | None
                                     ) -> tuple[WaSession, asyncio.Future[WaSession]]:
        with self.turns.reserving():
            return await self._reserve_then_start(actor, label)

    async def _reserve_then_start(self, actor: User | None, label: str | None
                                  ) -> tuple[WaSession, asyncio.Future[WaSession]]:
        started = time.perf_counter()
        user_id = actor.id if actor is not None else None
        try:
            user = await self.accounts.resolve(actor)
            label = validate_label(label)
            await self.limiter.hit("create", f"user:{user.id}")
            if self.servers is not None:
                await self.servers.ensure_probed()  # outside the lock: a probe is a network call
            try:
                row, signs = await self._reserve_new(user, label)
            except NotProbed as never:
                # Added on another worker, its probe not written yet: probe (outside the lock), place again.
                assert self.servers is not None
                await asyncio.gather(*(self.servers.probe(server_id) for server_id in never.server_ids))
                row, signs = await self._reserve_new(user, label, unprobed="skip")
        except Exception as exc:
            if isinstance(exc, NoCapacity):
                await self._no_capacity(user_id)
            await self._created(user_id, None, _outcome_of(exc), str(exc) or type(exc).__name__, started)
            raise
        # A task, not part of the caller: if the tab goes away the WAHA call and the row update
        # still finish, so no row is left in `creating` and no WAHA session is orphaned.
        task = asyncio.ensure_future(self._provision(user, row, started, signs))
        self._tasks.add(task)
        task.add_done_callback(self._settled)
        await self._announce(row, "create")
        return row, task

    async def _no_capacity(self, user_id: int | None) -> None:
        """Every server is full, draining or down: the operator must hear of it (log, metric, audit).

        The `no_capacity` audit events are also the count the servers page shows.
        """
        logger.warning("session.create refused: no WAHA server has room (user=%s); add a server or capacity",
                       user_id, extra={"event": "session.no_capacity", "user": user_id})
        if self.on_no_capacity is not None:
            self.on_no_capacity()
        await self._write_audit(action="no_capacity", outcome=FAILED, user_id=user_id, session_id=None,
                                detail="No WAHA server had room for a new session.")

    def _settled(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: its failure is already audited, logged and announced

    async def _provision(self, user: User, row: WaSession, started: float, signs: bool | None = None) -> WaSession:
        bind(user=user.id, session=row.id)  # this task's log lines (WAHA retries, failures) name them
        outcome, detail = FAILED, None
        try:
            await self.turns.provisioning_turn()  # the reservations in flight are acknowledged first
            row, detail = await self._create_on_waha(user, row, signs)
            outcome = OK
            return row
        except BaseException as exc:
            outcome, detail = _outcome_of(exc), str(exc) or type(exc).__name__
            raise
        finally:
            await self._created(user.id, row.id, outcome, detail, started)
            if outcome != OK:
                failed = await self.get_row(row.id)
                if failed is not None:
                    await self._announce(failed, "create")

    async def _created(self, user_id: int | None, session_id: str | None, outcome: str, detail: str | None,
                       started: float) -> None:
        """The one log line and audit event of every create, with its execution time."""
        elapsed_ms = (time.perf_counter() - started) * 1000
        logger.info(
            "session.create outcome=%s user=%s session=%s execution_time_ms=%.1f%s",
            outcome, user_id, session_id, elapsed_ms, f" detail={detail!r}" if detail else "",
            extra={"event": "session.create", "outcome": outcome, "user": user_id, "session": session_id,
                   "execution_time_ms": round(elapsed_ms, 1)},
        )
        await self._write_audit(action="create", outcome=outcome, user_id=user_id, session_id=session_id,
                                detail=detail, duration_ms=elapsed_ms)
        if self.on_create is not None:
            self.on_create(outcome, elapsed_ms / 1000)

    async def _reserve_new(self, user: User, label: str | None, *, unprobed: str = "raise"
                           ) -> tuple[WaSession, bool | None]:
        """The `creating` row, and whether its server signs webhooks (None: no placement).

        NotProbed (nothing written) when a candidate server was never probed: see `place`.
        """
        assert user.id is not None
        async with self.db.locked_write(lock_user_id=user.id) as s:
            now_standing = await standing(s, user.id, self.default_session_limit)
            if now_standing is None or not now_standing.user_active:
                raise AuthError(DISABLED)
            if now_standing.active >= now_standing.limit:
                raise PlanLimitReached(now_standing.plan_name, now_standing.limit, now_standing.active)
            # 62 random bits: no read to check it is free (the primary key refuses a collision).
            session_id = new_session_id(user.id, self.clock)
            server_id, waha_name, signs = None, None, None
            if self.servers is not None:
                spot = await place(s, session_id, dialect=self.db.dialect, unprobed=unprobed)
                server_id, waha_name, signs = spot.server_id, spot.waha_name, spot.signs_webhooks
            now = self.clock()
            row = WaSession(id=session_id, user_id=user.id, label=label, status=st.CREATING, created_at=now,
                            updated_at=now, status_changed_at=now, status_seen_at=now, server_id=server_id,
                            waha_name=waha_name)
            s.add(row)
        return row, signs

    async def _create_on_waha(self, user: User, row: WaSession, signs: bool | None = None
                              ) -> tuple[WaSession, str | None]:
        """WAHA create for a reserved row -> (row, audit detail). Raises WahaProblem after marking it failed."""
        try:
            dto = await asyncio.wait_for(self._waha_create(user, row, signs), self.create_timeout)
        except (TimeoutError, WahaUnavailable, WahaAlreadyExists) as exc:
            # The outcome is unknown (or WAHA says it exists): WAHA may have made it.
            problem = exc if isinstance(exc, WahaError) else WahaUnavailable(
                f"WAHA did not answer the create request within {self.create_timeout:g} seconds.")
            return await self._adopt_or_fail(user, row, problem)
        except WahaError as exc:
            await self.mark_failed(row.id, str(exc), source="create", code=code_for(exc))
            raise WahaProblem(exc) from exc
        await self._refuse_unless_ours(dto, user, row)
        return await self._finish_create(row, dto), None

    async def _waha_create(self, user: User, row: WaSession, signs: bool | None = None) -> SessionDTO:
        waha = await self._waha_for(row)
        dto = await waha.create_session(row.name_on_waha, start=True, metadata=self._metadata(user, row.id),
                                        webhooks=await self._webhooks(row, signs))
        if _raw_status(dto.status) == "STOPPED":  # a server that ignored `start`
            started = await waha.start_session(row.name_on_waha)
            if started is not None:
                dto = started
        return dto

    async def _adopt_or_fail(self, user: User, row: WaSession, problem: WahaError) -> tuple[WaSession, str | None]:
        """After a create whose outcome is unknown: adopt WAHA's session if it is there, else fail the row."""
        try:
            info = await (await self._waha_for(row)).get_session(row.name_on_waha)
        except WahaNotFound:
            await self.mark_failed(row.id, str(problem), source="create", code=code_for(problem))
            raise WahaProblem(problem) from problem
        except WahaError as exc:
            await self.mark_failed(row.id, str(problem), source="create", code=code_for(problem))
            raise WahaProblem(problem) from exc
        await self._refuse_unless_ours(info, user, row)
        logger.warning("session %s: create call failed (%s) but WAHA has the session; adopted", row.id, problem)
        return await self._finish_create(row, info), f"adopted after: {problem}"

    async def _finish_create(self, reserved: WaSession, dto: SessionDTO | SessionInfo) -> WaSession:
        me = dto.me if isinstance(dto, SessionInfo) else None  # create/start answer without the account
        row = await self._apply_own(reserved.id, dto.status, me=me, source="create")
        if row is not None:
            await self._announce(row, "create")
        if row is None:
            # The row was deleted while WAHA was creating the session: don't leave it orphaned there.
            with contextlib.suppress(WahaError):
                await (await self._waha_for(reserved)).delete_session(reserved.name_on_waha)
            raise InvalidState("The session was deleted while it was being created.")
        return row

    async def _refuse_unless_ours(self, dto: SessionDTO | SessionInfo, user: User, row: WaSession) -> None:
        """WAHA's session by this name must be the one we asked for (our metadata), or none at all."""
        if not self._is_ours(dto, user, row.id):
            await self.mark_failed(row.id, NAME_TAKEN_REASON, source="create")
            raise InvalidState("A session with this name already exists on WAHA. Please try again.")

    def _is_ours(self, dto: SessionDTO | SessionInfo, user: User, session_id: str) -> bool:
        metadata = (dto.config.metadata or {}) if dto.config is not None else {}
        owner = metadata.get(META_SESSION_ID)
        return owner is None or owner == session_id

    def _metadata(self, user: User, session_id: str) -> dict[str, str]:
        return {META_USER_ID: str(user.id), META_USER_EMAIL: user.email, META_SESSION_ID: session_id}

    async def _webhooks(self, row: WaSession, signs: bool | None = None) -> list[WebhookConfig] | None:
        """WAHA's webhook config. Events are mapped back to our row by the metadata we set
        (`wahaweb.session_id`, echoed in every event), since two servers may both run `default`.
        A server that cannot sign (Core before 2026.6.1) posts to its own secret URL instead.
        `signs`: known from the placement just made (a new session); None reads the server row."""
        if not self.webhook_url:
            return None
        secret = self._webhook_secret
        if callable(secret):
            secret = await secret()
        url = self.webhook_url
        if self.servers is not None and row.server_id is not None:
            if signs is None:
                server = await self.servers.get(row.server_id)
                signs = server is None or signs_webhooks(server)
            if not signs:
                url = f"{url}/{await self.servers.webhook_token(row.server_id)}"
        hook: WebhookConfig = {"url": url, "events": ["session.status"]}
        if secret:
            hook["hmac"] = {"key": secret}
        return [hook]
