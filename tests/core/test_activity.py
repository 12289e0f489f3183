"""The admin's activity list: e-mails instead of ids, filters by user, session and action, pages."""

from __future__ import annotations

import pytest

from wahaweb.core.activity import ActivityFilter
from wahaweb.core.errors import PermissionDenied, ValidationFailed
from wahaweb.core.ratelimit import RateLimits

from .conftest import embedded_settings, register


@pytest.fixture
async def core(make_core, any_db_url):
    return await make_core(embedded_settings(any_db_url), rate_limits=RateLimits.unlimited())


async def test_activity_names_users_by_email_and_filters(core):
    admin = await register(core, "admin@example.com")
    alice = await register(core, "alice@example.com", plan="Pro")
    bob = await register(core, "bob@example.com", plan="Pro")
    a1 = await core.sessions.create(alice)
    await core.sessions.create(alice)
    b1 = await core.sessions.create(bob)
    await core.sessions.stop(bob, b1.id)
    await core.sessions.apply_waha_status(a1.id, "WORKING", source="watcher", force=True)  # a system event

    everything = await core.admin.activity(admin)
    emails = {item.user_email for item in everything.items}
    assert {"alice@example.com", "bob@example.com", "admin@example.com"} <= emails
    system = [i for i in everything.items if i.event.user_id is None]
    assert system and all(i.user_email is None for i in system)

    by_alice = await core.admin.activity(admin, ActivityFilter(user_id=alice.id))
    assert by_alice.total >= 2 and {i.user_email for i in by_alice.items} == {"alice@example.com"}
    alice_creates = await core.admin.activity(admin, ActivityFilter(user_id=alice.id, action="create"))
    assert alice_creates.total == 2

    creates = await core.admin.activity(admin, ActivityFilter(action="create"))
    assert creates.total == 3 and {i.event.action for i in creates.items} == {"create"}

    part = b1.id[-8:]  # part of an id is enough
    of_b1 = await core.admin.activity(admin, ActivityFilter(session=part))
    assert {i.event.session_id for i in of_b1.items} == {b1.id}
    assert {"create", "stop"} <= {i.event.action for i in of_b1.items}

    both = await core.admin.activity(admin, ActivityFilter(user_id=bob.id, action="stop"))
    assert both.total == 1 and both.items[0].event.session_id == b1.id
    assert "stop" in await core.admin.activity_actions(admin)


async def test_activity_is_paged_newest_first(core):
    admin = await register(core, "admin@example.com")
    user = await register(core, "pages@example.com", plan="Enterprise")
    for _ in range(7):
        await core.sessions.create(user)
    flt = ActivityFilter(action="create")
    first = await core.admin.activity(admin, flt, page=1, per_page=3)
    second = await core.admin.activity(admin, flt, page=2, per_page=3)
    last = await core.admin.activity(admin, flt, page=3, per_page=3)
    assert (first.total, first.pages) == (7, 3)
    assert [len(p.items) for p in (first, second, last)] == [3, 3, 1]
    ids = [i.event.id for p in (first, second, last) for i in p.items]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 7
    assert (await core.admin.activity(admin, flt, page=4, per_page=3)).items == []
    with pytest.raises(ValidationFailed):
        await core.admin.activity(admin, flt, page=0)
    with pytest.raises(ValidationFailed):
        await core.admin.activity(admin, flt, per_page=10_000)


async def test_activity_is_for_admins_only(core):
    await register(core, "admin@example.com")
    user = await register(core, "nosy@example.com")
    with pytest.raises(PermissionDenied):
        await core.admin.activity(user)
    with pytest.raises(PermissionDenied):
        await core.admin.activity_actions(user)
