"""The session service against the WAHA simulator (in-process): create, plan limits,
lifecycle, WAHA failures, consistency between the database and WAHA, logging and audit."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time

import httpx
import pytest

from tests.qr_decode import decode_data_url
from wahaweb.core import status as st
from wahaweb.core.constants import META_SESSION_ID, META_USER_EMAIL, META_USER_ID
from wahaweb.core.errors import InvalidState, NotFound, PlanLimitReached, ValidationFailed, WahaProblem
from wahaweb.core.ratelimit import RateLimits
from wahaweb.simulator import Simulator, SimulatorConfig

from .conftest import (
    SIM_KEY,
    SwitchableTransport,
    assert_no_orphans,
    embedded_settings,
    reach,
    register,
    remote_settings,
)

UNLIMITED = RateLimits.unlimited()


@pytest.fixture
async def fast(make_core, any_db_url):
    """Embedded Core without rate limits (plan-limit tests create many sessions), on SQLite and PostgreSQL."""
    return await make_core(embedded_settings(any_db_url), rate_limits=UNLIMITED)


# ------------------------------------------------------------------ create
async def test_create_reserves_then_starts_on_waha_with_metadata(core):
    user = await register(core, "first@example.com")
    core.demo.simulator.clear_requests()
    row = await core.sessions.create(user, "  Sales   phone ")
    # No sleep, no QR, no polling: one WAHA request, and create returns when WAHA accepted.
    assert [(r["method"], r["path"]) for r in core.demo.simulator.requests] == [("POST", "/api/sessions")]
    assert row.status == st.STARTING and row.waha_status == "STARTING"
    assert row.label == "Sales phone"
    assert row.user_id == user.id
    assert row.created_at.tzinfo is not None
    sim_session = core.demo.simulator.session(row.id)
    assert sim_session is not None
    assert sim_session.config["metadata"] == {META_USER_ID: str(user.id), META_USER_EMAIL: user.email,
                                              META_SESSION_ID: row.id}
    assert "webhooks" not in sim_session.config  # no public URL configured
    posts = [r for r in core.demo.simulator.requests if r["method"] == "POST" and r["path"] == "/api/sessions"]
    assert len(posts) == 1 and posts[0]["status"] == 201
    # The status history of the row is in the audit trail.
    history = await core.sessions.history(user, row.id)
    assert [(e.action, e.outcome) for e in history] == [("create", "ok"), ("status", "ok")]
    assert history[1].detail.startswith("creating -> starting")


async def test_create_sends_the_webhook_when_a_public_url_is_set(make_core, sqlite_url):
    core = await make_core(embedded_settings(sqlite_url, public_url="https://wahaweb.example.com"))
    user = await register(core, "hook@example.com")
    row = await core.sessions.create(user)
    hooks = core.demo.simulator.session(row.id).config["webhooks"]
    secret = await core.webhook_secret()
    assert hooks == [{"url": "https://wahaweb.example.com/api/waha/webhook", "events": ["session.status"],
                      "hmac": {"key": secret}}]
    assert len(secret) >= 32 and secret == await core.webhook_secret()


@pytest.mark.parametrize("label", ["x" * 81, "bad\x00label", "tab\u200bbed"])
async def test_create_validates_the_label(core, label):
    user = await register(core, "label@example.com")
    with pytest.raises(ValidationFailed) as info:
        await core.sessions.create(user, label)
    assert info.value.field == "label"
    assert core.demo.simulator.engine.sessions == {}


async def test_create_logs_one_structured_line_and_an_audit_event(core, caplog):
    await register(core, "owner@example.com")  # the first account has no plan
    user = await register(core, "log@example.com")  # Free: 1
    with caplog.at_level(logging.INFO, logger="wahaweb.core.sessions"):
        row = await core.sessions.create(user)
    lines = [r for r in caplog.records
             if r.name == "wahaweb.core.sessions" and getattr(r, "event", "") == "session.create"]
    assert len(lines) == 1
    line = lines[0]
    assert line.outcome == "ok" and line.user == user.id and line.session == row.id
    assert isinstance(line.execution_time_ms, float) and line.execution_time_ms >= 0
    message = line.getMessage()
    for part in ("outcome=ok", f"user={user.id}", f"session={row.id}", "execution_time_ms="):
        assert part in message
    events = await core.audit.recent(5, action="create")
    assert len(events) == 1
    assert events[0].session_id == row.id and events[0].outcome == "ok" and events[0].duration_ms is not None
    # A refusal is logged and audited the same way.
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="wahaweb.core.sessions"), pytest.raises(PlanLimitReached):
        await core.sessions.create(user)
    refused = [r for r in caplog.records if getattr(r, "event", "") == "session.create"]
    assert len(refused) == 1 and refused[0].outcome == "refused" and refused[0].session is None
    assert (await core.audit.recent(1, action="create"))[0].outcome == "refused"


# ------------------------------------------------------------- plan limits
@pytest.mark.parametrize(("plan", "limit"), [("Free", 1), ("Basic", 3), ("Pro", 10), ("Enterprise", 50), (None, 10)])
async def test_plan_limit(fast, plan, limit):
    await register(fast, "admin@example.com")
    user = await register(fast, "customer@example.com", plan=plan)
    usage = await fast.accounts.usage(user)
    assert (usage.limit, usage.plan_name) == (limit, plan)
    for _ in range(limit):
        await fast.sessions.create(user)
    with pytest.raises(PlanLimitReached) as info:
        await fast.sessions.create(user)
    exc = info.value
    assert (exc.plan_name, exc.limit, exc.active) == (plan, limit, limit)
    text = str(exc)
    assert f"allows {limit} active session" in text
    assert (f"the {plan} plan" in text) if plan else ("no plan" in text)
    assert "Stop or delete a session" in text and "larger plan" in text
    assert len(fast.demo.simulator.engine.sessions) == limit
    assert (await fast.accounts.usage(user)).text == f"{limit} / {limit}"


async def test_default_limit_for_users_without_a_plan_is_configurable(make_core, sqlite_url):
    core = await make_core(embedded_settings(sqlite_url, default_session_limit=2), rate_limits=UNLIMITED)
    await register(core, "admin@example.com")
    user = await register(core, "noplan@example.com", plan=None)
    await core.sessions.create(user)
    await core.sessions.create(user)
    with pytest.raises(PlanLimitReached, match="allows 2 active sessions"):
        await core.sessions.create(user)


async def test_stopped_and_failed_sessions_free_their_slot(fast):
    await register(fast, "owner@example.com")  # the first account has no plan
    user = await register(fast, "free@example.com")  # Free: 1
    first = await fast.sessions.create(user)
    await fast.sessions.stop(user, first.id)
    second = await fast.sessions.create(user)
    fast.demo.simulator.fail(second.id)
    assert (await fast.sessions.status(user, second.id)).status == st.FAILED
    third = await fast.sessions.create(user)
    assert (await fast.accounts.usage(user)).active == 1
    assert {r.status for r in await fast.sessions.of_user(user)} == {st.STOPPED, st.FAILED, st.STARTING}
    assert third.status == st.STARTING


@pytest.mark.parametrize("action", ["start", "restart", "logout_failed"])
async def test_stop_create_restart_cannot_beat_the_limit(fast, action):
    await register(fast, "owner@example.com")  # the first account has no plan
    user = await register(fast, "sneaky@example.com")  # Free: 1
    old = await fast.sessions.create(user)
    if action == "logout_failed":
        fast.demo.simulator.fail(old.id)
        await fast.sessions.status(user, old.id)
    else:
        await fast.sessions.stop(user, old.id)
    new = await fast.sessions.create(user)
    with pytest.raises(PlanLimitReached):
        if action == "logout_failed":
            await fast.sessions.logout(user, old.id)
        else:
            await getattr(fast.sessions, action)(user, old.id)
    rows = {r.id: r.status for r in await fast.sessions.of_user(user)}
    assert rows[new.id] == st.STARTING and rows[old.id] in (st.STOPPED, st.FAILED)
    assert (await fast.accounts.usage(user)).active == 1
    assert fast.demo.simulator.status(old.id) in ("STOPPED", "FAILED")
    # Once the other one is gone, the old one may come back.
    await fast.sessions.delete(user, new.id)
    if action == "logout_failed":
        assert (await fast.sessions.logout(user, old.id)).status in st.ACTIVE_STATUSES
    else:
        assert (await getattr(fast.sessions, action)(user, old.id)).status in st.ACTIVE_STATUSES
    assert (await fast.accounts.usage(user)).active == 1


# ----------------------------------------------------------------- lifecycle
async def test_lifecycle_keeps_db_and_waha_in_step(fast):
    user = await register(fast, "life@example.com", plan=None)
    sessions, sim = fast.sessions, fast.demo.simulator
    row = await sessions.create(user)
    row = await reach(fast, user, row.id, "SCAN_QR_CODE")
    assert row.status == st.PAIRING and sim.status(row.id) == "SCAN_QR_CODE"
    qr = await sessions.qr(user, row.id)
    assert qr.mimetype == "image/svg+xml" and decode_data_url(qr.data_url) == [sim.session(row.id).qr_value]
    code = await sessions.request_pairing_code(user, row.id, "+628123456789")
    assert len(code) == 9 and code[4] == "-"
    assert sim.session(row.id).pairing_phone == "628123456789"

    row = await sessions.simulate_scan(user, row.id)
    assert row.status == st.CONNECTED and row.phone == "+628123456789" and row.push_name
    assert row.connected_at is not None
    with pytest.raises(InvalidState, match="no QR code"):
        await sessions.qr(user, row.id)

    row = await sessions.stop(user, row.id)
    assert row.status == st.STOPPED and sim.status(row.id) == "STOPPED"
    row = await sessions.start(user, row.id)
    assert row.status == st.STARTING
    row = await reach(fast, user, row.id, "WORKING")
    assert row.status == st.CONNECTED  # the phone stayed linked across stop/start

    row = await sessions.restart(user, row.id)
    assert row.status in (st.STARTING, st.CONNECTED)
    row = await sessions.logout(user, row.id)
    assert row.status in (st.STARTING, st.PAIRING) and row.phone is None and row.push_name is None
    assert sim.session(row.id).account is None

    await sessions.delete(user, row.id)
    assert sim.session(row.id) is None
    with pytest.raises(NotFound):
        await sessions.get(user, row.id)
    # Its audit events stay.
    events = [e for e in await fast.audit.recent(100) if e.session_id == row.id]
    assert {"create", "qr", "pairing_code", "simulate_scan", "stop", "start", "restart", "logout", "delete"} <= {
        e.action for e in events}


async def test_start_on_failed_session_restarts_it_on_waha(fast):
    user = await register(fast, "failed@example.com")
    row = await fast.sessions.create(user)
    fast.demo.simulator.fail(row.id)
    assert (await fast.sessions.status(user, row.id)).status == st.FAILED
    row = await fast.sessions.start(user, row.id)  # WAHA's start would say "already started"
    assert row.status == st.STARTING and row.last_error is None
    assert await fast.demo.simulator.wait_for_status(row.id, "SCAN_QR_CODE", timeout=2) == "SCAN_QR_CODE"


async def test_start_recreates_a_session_deleted_on_waha(fast):
    user = await register(fast, "gone@example.com")
    row = await fast.sessions.create(user)
    await fast.sessions.stop(user, row.id)
    fast.demo.simulator.engine.delete(row.id)
    row = await fast.sessions.start(user, row.id)
    assert row.status == st.STARTING
    assert fast.demo.simulator.session(row.id).config["metadata"][META_SESSION_ID] == row.id


async def test_status_of_a_session_deleted_on_waha_is_failed(fast):
    user = await register(fast, "vanished@example.com")
    row = await fast.sessions.create(user)
    fast.demo.simulator.engine.delete(row.id)
    row = await fast.sessions.status(user, row.id)
    assert row.status == st.FAILED and "no longer exists" in row.last_error
    await fast.sessions.delete(user, row.id)  # a 404 on WAHA is fine for delete
    assert await fast.sessions.of_user(user) == []


@pytest.mark.parametrize("phone", ["", "12345", "+1234567", "1234567890123456", "62 812 3456", "+62-8123456789",
                                   "abc12345678", "++628123456789"])
async def test_pairing_code_phone_is_validated(fast, phone):
    user = await register(fast, "phone@example.com")
    row = await fast.sessions.create(user)
    with pytest.raises(ValidationFailed) as info:
        await fast.sessions.request_pairing_code(user, row.id, phone)
    assert info.value.field == "phone" and "8 to 15 digits" in str(info.value)


async def test_simulate_scan_only_in_demo_mode(make_core, sqlite_url):
    sim = Simulator(SimulatorConfig(api_key=SIM_KEY, qr_delay=0.01))
    try:
        core = await make_core(remote_settings(sqlite_url), waha_transport=httpx.ASGITransport(app=sim.app))
        assert core.demo is None and not core.sessions.demo_mode
        user = await register(core, "real@example.com")
        row = await core.sessions.create(user)
        with pytest.raises(InvalidState, match="built-in WAHA simulator"):
            await core.sessions.simulate_scan(user, row.id)
    finally:
        await sim.aclose()


async def test_simulate_scan_when_not_pairing_is_a_clear_refusal(fast):
    user = await register(fast, "early@example.com")
    row = await fast.sessions.create(user)
    await fast.sessions.stop(user, row.id)
    with pytest.raises(InvalidState, match="not showing a QR code"):
        await fast.sessions.simulate_scan(user, row.id)


# ----------------------------------------------------------- WAHA trouble
async def test_waha_503_then_success(make_core, sqlite_url):
    core = await make_core(embedded_settings(sqlite_url), retry_waits=(0, 0))
    user = await register(core, "retry@example.com")
    core.demo.simulator.inject(status=503, count=1, path_prefix="/api/sessions")
    row = await core.sessions.create(user)
    assert row.status == st.STARTING
    posts = [r["status"] for r in core.demo.simulator.requests if r["method"] == "POST" and r["path"] == "/api/sessions"]
    assert posts == [503, 201]
    await assert_no_orphans(core)


@pytest.mark.parametrize("how", ["refused", "always_503"])
async def test_waha_down_fails_the_row_and_frees_the_slot(make_core, sqlite_url, how):
    core = await make_core(embedded_settings(sqlite_url), retry_waits=(0, 0))
    await register(core, "owner@example.com")  # the first account has no plan
    user = await register(core, "down@example.com")  # Free: 1
    if how == "refused":
        core.demo.simulator.inject(refuse_seconds=30)
    else:
        core.demo.simulator.inject(status=503, count=1000)
    with pytest.raises(WahaProblem) as info:
        await core.sessions.create(user)
    message = str(info.value)
    assert "WAHA" in message and ("unreachable" in message or "unavailable" in message)
    assert SIM_KEY not in message
    rows = await core.sessions.of_user(user)
    assert len(rows) == 1 and rows[0].status == st.FAILED and rows[0].last_error
    assert (await core.accounts.usage(user)).active == 0
    assert core.demo.simulator.engine.sessions == {}
    assert (await core.audit.recent(1, action="create"))[0].outcome == "failed"
    # WAHA is back: the freed slot is usable at once.
    core.demo.simulator.clear_faults()
    row = await core.sessions.create(user)
    assert row.status == st.STARTING
    await assert_no_orphans(core)


async def test_waha_401_gives_a_clear_operator_message(make_core, sqlite_url):
    sim = Simulator(SimulatorConfig(api_key="the-real-key"))
    try:
        core = await make_core(remote_settings(sqlite_url, waha_api_key="a-wrong-key"),
                               waha_transport=httpx.ASGITransport(app=sim.app))
        user = await register(core, "operator@example.com")
        with pytest.raises(WahaProblem) as info:
            await core.sessions.create(user)
        assert info.value.status_code == 401
        assert "WAHA_API_KEY" in str(info.value) and "401" in str(info.value)
        assert "a-wrong-key" not in str(info.value) and "the-real-key" not in str(info.value)
        rows = await core.sessions.of_user(user)
        assert [r.status for r in rows] == [st.FAILED]
        assert (await core.accounts.usage(user)).active == 0
        assert sim.engine.sessions == {}
        info_ = await core.server_info()
        assert not info_.reachable and "WAHA_API_KEY" in info_.error
    finally:
        await sim.aclose()


def _timeout_after_create(times: int = 1):
    """A hook: POST /api/sessions reaches WAHA, then the answer is lost (ReadTimeout)."""
    left = [times]

    async def hook(request: httpx.Request, forward):
        response = await forward(request)
        if request.method == "POST" and request.url.path == "/api/sessions" and left[0] > 0:
            left[0] -= 1
            await response.aread()
            raise httpx.ReadTimeout("timed out (test)", request=request)
        return response

    return hook


@pytest.mark.parametrize("retry_waits", [(), (0, 0)], ids=["no-retry", "client-retries"])
async def test_create_timed_out_but_waha_made_it_is_adopted(make_core, sqlite_url, retry_waits):
    sim = Simulator(SimulatorConfig(api_key=SIM_KEY, qr_delay=0.01))
    transport = SwitchableTransport(httpx.ASGITransport(app=sim.app))
    transport.hook = _timeout_after_create()
    try:
        core = await make_core(remote_settings(sqlite_url), waha_transport=transport, retry_waits=retry_waits)
        user = await register(core, "slow@example.com")
        row = await core.sessions.create(user)
        assert row.status in (st.STARTING, st.PAIRING)
        assert set(sim.engine.sessions) == {row.id}
        await assert_no_orphans(core, sim)
        event = (await core.audit.recent(1, action="create"))[0]
        assert event.outcome == "ok"
        if not retry_waits:
            assert event.detail.startswith("adopted")
    finally:
        await sim.aclose()


async def test_create_that_never_reached_waha_leaves_nothing_behind(make_core, sqlite_url):
    sim = Simulator(SimulatorConfig(api_key=SIM_KEY, qr_delay=0.01))
    transport = SwitchableTransport(httpx.ASGITransport(app=sim.app))

    stuck: list[str] = []

    async def slow_create(request, forward):
        if request.method == "POST" and request.url.path == "/api/sessions":
            try:
                await asyncio.Event().wait()  # stuck on the way, for ever: only create_timeout ends it
            except asyncio.CancelledError:
                stuck.append("cancelled")
                raise
        return await forward(request)

    transport.hook = slow_create
    try:
        core = await make_core(remote_settings(sqlite_url), waha_transport=transport, create_timeout=0.1)
        user = await register(core, "timeout@example.com")
        with pytest.raises(WahaProblem, match="did not answer"):
            await core.sessions.create(user)
        assert stuck == ["cancelled"]  # the timeout gave up on the call (no wall-clock bound needed)
        assert sim.engine.sessions == {}
        rows = await core.sessions.of_user(user)
        assert [r.status for r in rows] == [st.FAILED]
        assert (await core.accounts.usage(user)).active == 0
        await assert_no_orphans(core, sim)
    finally:
        await sim.aclose()


async def test_row_deleted_during_create_is_deleted_on_waha_too(make_core, sqlite_url):
    sim = Simulator(SimulatorConfig(api_key=SIM_KEY, qr_delay=0.01))
    transport = SwitchableTransport(httpx.ASGITransport(app=sim.app))
    holder: dict = {}

    async def hook(request, forward):
        if request.method == "POST" and request.url.path == "/api/sessions":
            core, user = holder["core"], holder["user"]
            (row,) = await core.sessions.of_user(user)
            await core.sessions.delete(user, row.id)  # the user deletes it while WAHA creates it
        return await forward(request)

    try:
        core = await make_core(remote_settings(sqlite_url), waha_transport=transport)
        holder["core"], holder["user"] = core, await register(core, "quick@example.com")
        transport.hook = hook
        with pytest.raises(InvalidState, match="deleted while it was being created"):
            await core.sessions.create(holder["user"])
        assert sim.engine.sessions == {}
        assert await core.sessions.of_user(holder["user"]) == []
    finally:
        await sim.aclose()


async def test_stop_when_waha_is_down_is_a_clear_error_and_changes_nothing(make_core, sqlite_url):
    core = await make_core(embedded_settings(sqlite_url), retry_waits=(0, 0))
    user = await register(core, "stopdown@example.com")
    row = await core.sessions.create(user)
    core.demo.simulator.inject(refuse_seconds=30)
    for action in ("stop", "delete", "status"):
        with pytest.raises(WahaProblem, match="unreachable"):
            await getattr(core.sessions, action)(user, row.id)
    assert (await core.sessions.get(user, row.id)).status == st.STARTING


async def test_start_when_waha_is_down_undoes_the_reservation(fast):
    user = await register(fast, "undo@example.com")
    row = await fast.sessions.create(user)
    await fast.sessions.stop(user, row.id)
    fast.demo.simulator.inject(refuse_seconds=30)
    with pytest.raises(WahaProblem):
        await fast.sessions.start(user, row.id)
    row = await fast.sessions.get(user, row.id)
    assert row.status == st.STOPPED and "unreachable" in row.last_error
    assert (await fast.accounts.usage(user)).active == 0


# ------------------------------------------------------- status engine API
async def test_apply_waha_status_returns_the_owner_and_ignores_stale_or_replayed(fast, clock):
    user = await register(fast, "engine@example.com")
    row = await fast.sessions.create(user)
    t0 = clock()
    clock.advance(1)
    change = await fast.sessions.apply_waha_status(row.id, "SCAN_QR_CODE", at=clock(), event_id="evt-1",
                                                   source="webhook")
    assert change.user_id == user.id and change.changed
    assert (change.old_status, change.new_status, change.waha_status) == (st.STARTING, st.PAIRING, "SCAN_QR_CODE")
    assert await fast.sessions.apply_waha_status(row.id, "WORKING", at=clock(), event_id="evt-1") is None  # replay
    assert await fast.sessions.apply_waha_status(row.id, "STOPPED", at=t0) is None  # older than applied
    clock.advance(1)
    change = await fast.sessions.apply_waha_status(row.id, "WORKING", at=clock(), event_id="evt-2",
                                                   me={"id": "628111222333@c.us", "pushName": "Ana"})
    assert change.new_status == st.CONNECTED
    assert (change.session.phone, change.session.push_name) == ("+628111222333", "Ana")
    assert change.session.connected_at == clock()
    same = await fast.sessions.apply_waha_status(row.id, "WORKING", event_id="evt-3")
    assert not same.changed and same.session.connected_at == clock()
    assert await fast.sessions.apply_waha_status("session_999_1767268800_aaaaaaaaaaaa", "WORKING") is None
    assert await fast.sessions.apply_waha_status("not-a-session", "WORKING") is None
    statuses = [e.detail for e in await fast.sessions.history(user, row.id) if e.action == "status"]
    assert statuses[0].startswith("pairing -> connected") and statuses[1].startswith("starting -> pairing")


async def test_engine_helpers(fast, clock):
    user = await register(fast, "helpers@example.com", plan=None)
    a = await fast.sessions.create(user)
    await fast.sessions.create(user)
    await reach(fast, user, a.id, "SCAN_QR_CODE")
    assert {r.id for r in await fast.sessions.rows_in([st.PAIRING])} == {a.id}
    assert len(await fast.sessions.rows_in()) == 2
    qr = await fast.sessions.fetch_qr(a.id)  # no rate limit, no actor
    assert decode_data_url(qr.data_url) == [fast.demo.simulator.session(a.id).qr_value]
    change = await fast.sessions.mark_failed(a.id, "stuck in STARTING", source="watcher")
    assert change.changed and change.user_id == user.id and change.session.last_error == "stuck in STARTING"


async def test_reconcile_creating_adopts_or_fails_stale_reservations(fast, clock):
    from wahaweb.core.models import WaSession

    user = await register(fast, "crash@example.com", plan=None)
    now = clock()
    made, lost = f"session_{user.id}_1767268800_aaaaaaaaaaa1", f"session_{user.id}_1767268800_aaaaaaaaaaa2"
    async with fast.db.transaction() as s:  # as if the process died between reservation and WAHA's answer
        for sid in (made, lost):
            s.add(WaSession(id=sid, user_id=user.id, status=st.CREATING, created_at=now, updated_at=now,
                            status_changed_at=now))
    fast.demo.simulator.engine.create(made, {"metadata": {META_SESSION_ID: made}}, start=True)
    assert await fast.sessions.reconcile_creating(older_than=60) == []  # too young
    clock.advance(61)
    changes = {c.session_id: c.new_status for c in await fast.sessions.reconcile_creating(older_than=60)}
    assert set(changes) == {made, lost}
    assert changes[made] in st.ACTIVE_STATUSES and changes[lost] == st.FAILED
    await assert_no_orphans(fast)


async def test_auto_restart_counts_restarts_and_a_user_start_resets_them(fast):
    user = await register(fast, "stuck@example.com")
    row = await fast.sessions.create(user)
    change = await fast.sessions.auto_restart(row, "stuck in STARTING for 60 s", 1)
    assert change.session.auto_restarts == 1 and change.new_status in st.ACTIVE_STATUSES
    assert [e.detail for e in await fast.sessions.history(user, row.id) if e.action == "auto_restart"] == [
        "stuck in STARTING for 60 s (1 of 1)"]
    await fast.sessions.stop(user, row.id)
    row = await fast.sessions.start(user, row.id)
    await reach(fast, user, row.id, "SCAN_QR_CODE")
    await fast.sessions.reset_auto_restarts(row.id)
    assert (await fast.sessions.get_row(row.id)).auto_restarts == 0
    gone = await fast.sessions.get_row(row.id)
    fast.demo.simulator.engine.sessions.pop(row.id)
    failed = await fast.sessions.auto_restart(gone, "stuck", 1)  # gone from WAHA: failed, not revived
    assert failed.new_status == st.FAILED


async def test_create_is_one_waha_round_trip_without_waiting_for_the_qr(make_core, sqlite_url):
    """The old dashboard took 7-10 s (fixed sleeps, sequential calls, QR fetched inline).
    Here a create costs one WAHA request, whatever WAHA's latency, and never waits for the QR."""
    core = await make_core(embedded_settings(sqlite_url, sim_qr_delay=5.0), rate_limits=UNLIMITED)
    await register(core, "admin@example.com")
    user = await register(core, "perf@example.com", plan="Enterprise")
    core.demo.simulator.inject(latency_ms=150)
    timings = []
    for _ in range(5):
        core.demo.simulator.clear_requests()
        started = time.perf_counter()
        row = await core.sessions.create(user)
        timings.append(time.perf_counter() - started)
        assert row.status == st.STARTING  # returned before any QR exists
        assert [(r["method"], r["path"]) for r in core.demo.simulator.requests] == [("POST", "/api/sessions")]
    # WAHA's latency is really waited for; no upper bound on the wall clock (a loaded machine
    # is slow): that the create never waits for the QR is the status and the one request above.
    assert min(timings) >= 0.15, timings
    core.demo.simulator.clear_faults()
    events = await core.audit.recent(5, action="create")
    assert all(e.duration_ms >= 150 for e in events)


async def test_a_cancelled_create_still_finishes_in_the_background(make_core, sqlite_url):
    sim = Simulator(SimulatorConfig(api_key=SIM_KEY, qr_delay=0.01))
    transport = SwitchableTransport(httpx.ASGITransport(app=sim.app))
    reached = asyncio.Event()

    async def slow(request, forward):
        if request.method == "POST" and request.url.path == "/api/sessions":
            reached.set()
            await asyncio.sleep(0.2)
        return await forward(request)

    transport.hook = slow
    try:
        core = await make_core(remote_settings(sqlite_url), waha_transport=transport)
        user = await register(core, "closed-tab@example.com")
        task = asyncio.create_task(core.sessions.create(user))
        await reached.wait()
        task.cancel()  # the tab went away mid-create
        with pytest.raises(asyncio.CancelledError):
            await task
        await core.sessions.aclose()  # waits for the shielded WAHA call
        (row,) = await core.sessions.of_user(user)
        assert row.status == st.STARTING and set(sim.engine.sessions) == {row.id}
    finally:
        await sim.aclose()


async def test_reserve_returns_the_row_before_waha_answers_and_the_service_finishes_it(make_core, sqlite_url):
    core = await make_core(embedded_settings(sqlite_url), rate_limits=UNLIMITED)
    user = await register(core, "eager@example.com", plan=None)
    core.demo.simulator.inject(latency_ms=200)
    row = await core.sessions.reserve(user, "eager")
    assert row.status == st.CREATING  # returned at once: WAHA has not answered yet
    assert core.demo.simulator.session(row.id) is None
    await core.sessions.aclose()  # the provisioning task the service owns finishes by itself
    assert (await core.sessions.get_row(row.id)).status == st.STARTING
    assert core.demo.simulator.session(row.id) is not None
    trail = await core.audit.for_session(row.id)
    assert [e.outcome for e in trail if e.action == "create"] == ["ok"]


async def test_own_answers_older_than_a_webhook_do_not_undo_it(fast, clock):
    """A webhook (or the watcher) may apply a newer status while a call is in flight; the
    call's own, older answer must neither overwrite it nor be mistaken for a deleted row."""
    user = await register(fast, "racing@example.com")
    future = clock() + dt.timedelta(hours=1)  # e.g. WAHA's clock ahead of ours
    original = fast.sessions.apply_waha_status

    async def webhook_first(session_id, waha_status, **kwargs):
        if kwargs.get("source") == "create":
            await original(session_id, "SCAN_QR_CODE", at=future, event_id="evt", source="webhook")
        return await original(session_id, waha_status, **kwargs)

    fast.sessions.apply_waha_status = webhook_first
    row = await fast.sessions.create(user)
    fast.sessions.apply_waha_status = original
    assert row.status == st.PAIRING  # the newer webhook state stands
    assert fast.demo.simulator.session(row.id) is not None  # and the WAHA session was not deleted
    assert (await fast.sessions.status(user, row.id)).status == st.PAIRING  # stale poll: row as it stands
