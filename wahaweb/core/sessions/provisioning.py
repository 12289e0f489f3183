"""Creating a session: reserve a row under the plan limit, then provision it on WAHA.

`reserve()` returns at once with the row in `creating`; the WAHA create runs as a task
the service owns (a closed tab cannot orphan it), and its result reaches pages through
the status engine like any other change.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import functools
import logging
import time
from collections import Counter
from collections.abc import Sequence

import sqlalchemy as sa

from wahaweb.core import status as st
from wahaweb.core.accounts import DISABLED
from wahaweb.core.audit import FAILED, OK
from wahaweb.core.batches import Batches, RetryAlone
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
from wahaweb.core.plans import standings
from wahaweb.core.servers.placement import NoCapacity, NotProbed, Pool, open_pool, signs_webhooks
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


@dataclasses.dataclass(frozen=True)
class _Ask:
    """One reservation waiting for its batch."""

    user: User
    label: str | None
    #: perf_counter() when the create began: its execution time is measured from there.
    started: float
    #: What placement does with servers nobody has probed yet (see `NotProbed`).
    unprobed: str = "raise"
    #: The caller's context (its log ids): the work the batch starts for it runs in it.
    context: contextvars.Context = dataclasses.field(default_factory=contextvars.copy_context, compare=False,
                                                     repr=False)


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
                row, task = await self._reservations.submit(_Ask(user, label, started))
            except NotProbed as never:
                # Added on another worker, its probe not written yet: probe (outside the lock), place again.
                assert self.servers is not None
                await asyncio.gather(*(self.servers.probe(server_id) for server_id in never.server_ids))
                row, task = await self._reservations.submit(_Ask(user, label, started, unprobed="skip"))
        except Exception as exc:
            await self._refused(user_id, exc, started)
            raise
        await self._announce(row, "create")
        return row, task

    @functools.cached_property
    def _reservations(self) -> Batches[_Ask, tuple[WaSession, asyncio.Future[WaSession]]]:
        """The reservations of this process, decided in batches (group commit: see its module)."""
        return Batches(self._reserve_batch, on_task=self._track_runner, on_unclaimed=self._unclaimed)

    def _track(self, task: asyncio.Task) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._settled)

    def _track_runner(self, task: asyncio.Task) -> None:
        """The batches' runner: `aclose()` waits for it; a failure of its own (not a refusal) is logged."""
        self._tasks.add(task)
        task.add_done_callback(self._runner_ended)

    def _runner_ended(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("the reservation batches stopped: %r", task.exception(), exc_info=task.exception())

    def _unclaimed(self, ask: _Ask, refusal: BaseException) -> None:
        """A create refused after its caller went away (a closed tab): it is logged, audited and counted
        all the same, as the caller would have done (NotProbed is no refusal: nothing was decided)."""
        if not isinstance(refusal, NotProbed):
            self._track(asyncio.get_running_loop().create_task(self._refused(ask.user.id, refusal, ask.started),
                                                               context=ask.context))

    async def _refused(self, user_id: int | None, refusal: BaseException, started: float) -> None:
        """The record of a create that reserved nothing: its log line and audit (and, when no server had
        room, the operator's warning)."""
        if isinstance(refusal, NoCapacity):
            await self._no_capacity(user_id)
        await self._created(user_id, None, _outcome_of(refusal), str(refusal) or type(refusal).__name__, started)

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

    async def _reserve_batch(self, asks: Sequence[_Ask]
                             ) -> list[tuple[WaSession, asyncio.Future[WaSession]] | BaseException]:
        """One write transaction for a batch of reservations: each its `creating` row and its
        provisioning task, or its refusal (AuthError, PlanLimitReached, NoCapacity, NotProbed).

        The standings and the server pool are read once; each reservation then counts against
        the ones before it in the batch, exactly as if they had been committed one by one. The
        WAHA creates start only after the commit, as tasks of the service: a caller that went
        away meanwhile leaves no row without its provisioning.
        """
        answers: list[tuple[WaSession, bool | None] | BaseException] = []
        async with self.db.locked_write(lock_user_ids=[ask.user.id for ask in asks if ask.user.id]) as s:
            found = await standings(s, (ask.user.id for ask in asks if ask.user.id), self.default_session_limit)
            taken: Counter[int] = Counter()
            pool: Pool | None = None
            rows: list[WaSession] = []
            for ask in asks:
                user_id = ask.user.id
                assert user_id is not None
                now_standing = found.get(user_id)
                if now_standing is None or not now_standing.user_active:
                    answers.append(AuthError(DISABLED))
                    continue
                active = now_standing.active + taken[user_id]
                if active >= now_standing.limit:
                    answers.append(PlanLimitReached(now_standing.plan_name, now_standing.limit, active))
                    continue
                # 62 random bits: no read to check it is free (the primary key refuses a collision).
                session_id = new_session_id(user_id, self.clock)
                server_id, waha_name, signs = None, None, None
                if self.servers is not None:
                    try:
                        pool = pool or await open_pool(s, dialect=self.db.dialect)
                        spot = pool.take(session_id, unprobed=ask.unprobed)
                    except (NoCapacity, NotProbed) as refused:
                        answers.append(refused)
                        continue
                    server_id, waha_name, signs = spot.server_id, spot.waha_name, spot.signs_webhooks
                now = self.clock()
                rows.append(WaSession(id=session_id, user_id=user_id, label=ask.label, status=st.CREATING,
                                      created_at=now, updated_at=now, status_changed_at=now, status_seen_at=now,
                                      server_id=server_id, waha_name=waha_name))
                answers.append((rows[-1], signs))
                taken[user_id] += 1
            s.add_all(rows)
            try:
                await s.flush()
            except sa.exc.IntegrityError as refused:  # e.g. a session id taken: whose? each alone
                raise RetryAlone(refused) from refused
        # Committed: each row's WAHA create is a task, not part of its caller: if the tab goes away the
        # WAHA call and the row update still finish, so no row is left in `creating` and no WAHA session
        # is orphaned.
        return [answer if isinstance(answer, BaseException) else
                (answer[0], self._start_provisioning(ask, answer[0], answer[1]))
                for ask, answer in zip(asks, answers, strict=True)]

    def _start_provisioning(self, ask: _Ask, row: WaSession, signs: bool | None) -> asyncio.Future[WaSession]:
        """The row's WAHA create, as the service's task, in its caller's context (its log ids)."""
        task = asyncio.get_running_loop().create_task(self._provision(ask.user, row, ask.started, signs),
                                                      context=ask.context)
        self._track(task)
        return task

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
