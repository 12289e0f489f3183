"""Administration: users with plan and usage, plan changes, disabling, roles, audit, metrics."""

from __future__ import annotations

import pytest

from wahaweb.core.errors import NotFound, PlanLimitReached, ValidationFailed
from wahaweb.core.ratelimit import RateLimits

from .conftest import embedded_settings, register


@pytest.fixture
async def admin_core(make_core, any_db_url):
    return await make_core(embedded_settings(any_db_url), rate_limits=RateLimits.unlimited())


async def test_list_users_shows_plan_and_usage(admin_core):
    core = admin_core
    admin = await register(core, "admin@example.com")
    alice = await register(core, "alice@example.com", plan="Basic")
    a = await core.sessions.create(alice)
    b = await core.sessions.create(alice)
    await core.sessions.stop(alice, b.id)
    summaries = {s.user.email: s for s in await core.admin.list_users(admin)}
    assert list(summaries) == ["admin@example.com", "alice@example.com"]
    s = summaries["alice@example.com"]
    assert (s.plan_name, s.session_limit, s.active_sessions, s.total_sessions) == ("Basic", 3, 1, 2)
    assert summaries["admin@example.com"].user.is_admin
    assert a.id


async def test_set_plan_changes_the_limit_at_once(admin_core):
    core = admin_core
    admin = await register(core, "admin@example.com")
    user = await register(core, "grow@example.com")  # Free
    await core.sessions.create(user)
    with pytest.raises(PlanLimitReached):
        await core.sessions.create(user)
    await core.admin.set_plan(admin, user.id, "basic")  # by name, any case
    await core.sessions.create(user)
    assert (await core.accounts.usage(user)).text == "2 / 3"
    await core.admin.set_plan(admin, user.id, None)  # no plan: the default limit
    assert (await core.accounts.usage(user)).limit == 10
    with pytest.raises(ValidationFailed, match="no plan named"):
        await core.admin.set_plan(admin, user.id, "Platinum")
    with pytest.raises(NotFound):
        await core.admin.set_plan(admin, 9999, "Pro")
    assert [p.name for p in await core.admin.plans(admin)] == ["Free", "Basic", "Pro", "Enterprise"]
    details = [e.detail for e in await core.admin.recent_audit(admin, action="set_plan")]
    assert details[:2] == [f"user {user.id}: no plan", f"user {user.id}: Basic"]


async def test_admin_cannot_lock_himself_out(admin_core):
    admin = await register(admin_core, "admin@example.com")
    with pytest.raises(ValidationFailed, match="your own account"):
        await admin_core.admin.set_active(admin, admin.id, False)
    with pytest.raises(ValidationFailed, match="your own administrator role"):
        await admin_core.admin.set_admin(admin, admin.id, False)


async def test_set_admin_grants_the_admin_views(admin_core):
    core = admin_core
    admin = await register(core, "admin@example.com")
    helper = await register(core, "helper@example.com")
    await core.admin.set_admin(admin, helper.id, True)
    assert len(await core.admin.list_users(helper)) == 2  # the same object, re-read: now an admin


async def test_metrics_count_sessions_and_time_creates(admin_core):
    core = admin_core
    admin = await register(core, "admin@example.com")
    user = await register(core, "metrics@example.com", plan="Pro")
    for _ in range(3):
        await core.sessions.create(user)
    row = (await core.sessions.of_user(user))[0]
    await core.sessions.stop(user, row.id)
    metrics = await core.admin.metrics(admin)
    assert metrics.users == 2
    assert metrics.sessions_by_status["starting"] == 2 and metrics.sessions_by_status["stopped"] == 1
    assert metrics.creates_by_outcome == {"ok": 3}
    assert metrics.sample == 3
    assert 0 < metrics.create_ms_p50 <= metrics.create_ms_p95 <= metrics.create_ms_max
    assert metrics.as_json()["sessions_by_status"]["creating"] == 0
    assert (await core.metrics()).creates_by_outcome == {"ok": 3}


async def test_disabling_a_user_signs_him_out_and_stops_his_sessions_on_waha(admin_core):
    from wahaweb.core.errors import AuthError

    core = admin_core
    admin = await register(core, "admin@example.com")
    alice = await register(core, "alice@example.com", plan="Pro")
    token = (await core.accounts.sign_in("alice@example.com", "correct horse battery")).token
    first = await core.sessions.create(alice, "one")
    second = await core.sessions.create(alice, "two")
    sim = core.demo.simulator
    assert {sim.engine.sessions[s.id].status for s in (first, second)} != {"STOPPED"}

    await core.admin.set_active(admin, alice.id, False)

    with pytest.raises(AuthError):
        await core.accounts.authenticate(token)
    for row in (first, second):
        assert sim.engine.sessions[row.id].status == "STOPPED"  # stopped on WAHA, not only here
        assert (await core.sessions.get_row(row.id)).status == "stopped"
        trail = await core.audit.for_session(row.id)
        assert any(e.action == "stop" and "account disabled" in (e.detail or "") for e in trail)

    await core.admin.set_active(admin, alice.id, True)  # re-enabling starts nothing by itself
    for row in (first, second):
        assert sim.engine.sessions[row.id].status == "STOPPED"
        assert (await core.sessions.get_row(row.id)).status == "stopped"
