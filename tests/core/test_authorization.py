"""Who may do what: (owner, other user, admin, signed out, disabled user) x every session action.

The owner and an admin act; another user gets exactly the "not found" of a missing id (nothing
tells him the session exists); a signed-out caller and a disabled user are refused as such."""

from __future__ import annotations

import pytest

from wahaweb.core import status as st
from wahaweb.core.errors import AuthError, NotFound, PermissionDenied
from wahaweb.core.ratelimit import RateLimits

from .conftest import embedded_settings, reach, register

MISSING = "session_1_1767268800_zzzzzzzzzzzz"

ACTIONS = {
    "get": lambda s, actor, sid: s.get(actor, sid),
    "history": lambda s, actor, sid: s.history(actor, sid),
    "status": lambda s, actor, sid: s.status(actor, sid),
    "qr": lambda s, actor, sid: s.qr(actor, sid),
    "request_pairing_code": lambda s, actor, sid: s.request_pairing_code(actor, sid, "+628123456789"),
    "simulate_scan": lambda s, actor, sid: s.simulate_scan(actor, sid),
    "start": lambda s, actor, sid: s.start(actor, sid),
    "stop": lambda s, actor, sid: s.stop(actor, sid),
    "restart": lambda s, actor, sid: s.restart(actor, sid),
    "logout": lambda s, actor, sid: s.logout(actor, sid),
    "delete": lambda s, actor, sid: s.delete(actor, sid),
}
ACTORS = ["owner", "other", "admin", "signed_out", "disabled"]


@pytest.fixture
async def world(make_core, sqlite_url):
    core = await make_core(embedded_settings(sqlite_url), rate_limits=RateLimits.unlimited())
    admin = await register(core, "admin@example.com")
    owner = await register(core, "owner@example.com")
    other = await register(core, "other@example.com")
    row = await core.sessions.create(owner, "owner's phone")
    row = await reach(core, owner, row.id, "SCAN_QR_CODE")
    assert row.status == st.PAIRING
    return core, {"owner": owner, "other": other, "admin": admin}, row


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("who", ACTORS)
async def test_authorization_matrix(world, who, action):
    core, people, row = world
    call = ACTIONS[action]
    if who == "signed_out":
        actor = None
    elif who == "disabled":
        await core.admin.set_active(people["admin"], people["owner"].id, False)
        actor = people["owner"]  # the UI may still hold the object: it must not be enough
    else:
        actor = people[who]
    before = core.demo.simulator.status(row.id)

    if who in ("owner", "admin"):
        await call(core.sessions, actor, row.id)  # allowed
        return

    expected = NotFound if who == "other" else AuthError
    with pytest.raises(expected) as refused:
        await call(core.sessions, actor, row.id)
    # Nothing happened: the row and the WAHA session are as they were.
    assert core.demo.simulator.status(row.id) == before
    assert (await core.sessions.get_row(row.id)) is not None
    if who == "other":
        with pytest.raises(NotFound) as missing:
            await call(core.sessions, actor, MISSING)
        assert str(refused.value) == str(missing.value) == "That session was not found."
        assert row.id not in str(refused.value)
    else:
        assert ("sign in" in str(refused.value)) if who == "signed_out" else ("disabled" in str(refused.value))
    audit_name = {"request_pairing_code": "pairing_code"}.get(action, action)
    last = (await core.audit.recent(1, action=audit_name))[0]
    assert last.outcome == "denied" and last.session_id is None  # not in the owner's timeline


@pytest.mark.parametrize("who", ACTORS)
async def test_listing_and_admin_views(world, who):
    core, people, row = world
    actor = None if who == "signed_out" else people.get(who, people["owner"])
    if who == "disabled":
        await core.admin.set_active(people["admin"], people["owner"].id, False)
    admin_calls = [
        lambda: core.sessions.all_with_owners(actor),
        lambda: core.admin.list_users(actor),
        lambda: core.admin.set_plan(actor, people["other"].id, "Pro"),
        lambda: core.admin.set_active(actor, people["other"].id, True),
        lambda: core.admin.recent_audit(actor),
        lambda: core.admin.metrics(actor),
        lambda: core.admin.plans(actor),
    ]
    if who in ("signed_out", "disabled"):
        for call in [lambda: core.sessions.of_user(actor), lambda: core.accounts.usage(actor), *admin_calls]:
            with pytest.raises(AuthError):
                await call()
        return
    mine = await core.sessions.of_user(actor)
    assert [r.id for r in mine] == ([row.id] if who == "owner" else [])
    if who == "admin":
        everything = await core.sessions.all_with_owners(actor)
        assert [(x.session.id, x.owner_email) for x in everything] == [(row.id, "owner@example.com")]
        for call in admin_calls:
            await call()
    else:
        for call in admin_calls:
            with pytest.raises(PermissionDenied):
                await call()
