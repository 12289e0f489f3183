"""Who hears about a change: its owner's tabs (and admins' for status), never another user's."""

from __future__ import annotations

import datetime as dt

from wahaweb.core.live import LiveChange, QrState, UserRouter, audience

from .conftest import Recorder


def _change(kind: str = "status", user_id: int = 2, notify_admins: bool = True) -> LiveChange:
    qr = None
    if kind == "qr":
        now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
        qr = QrState("s", user_id, "data:image/png;base64,AA", 1, 6, now, now + dt.timedelta(seconds=60))
    return LiveChange(kind=kind, session_id="s", user_id=user_id, status="pairing", qr=qr,
                      notify_admins=notify_admins if kind == "status" else False)


def test_audience_is_the_owner_plus_admins_for_status_only():
    assert audience(_change(user_id=2), admin_ids=[1, 9]) == {1, 2, 9}
    assert audience(_change(user_id=2), admin_ids=[]) == {2}
    assert audience(_change("qr", user_id=2), admin_ids=[1]) == {2}
    assert audience(_change(user_id=2, notify_admins=False), admin_ids=[1]) == {2}


async def test_router_delivers_to_each_users_own_tabs():
    router = UserRouter()
    alice_tabs, bob_tabs, admin_tab = [Recorder(), Recorder()], [Recorder()], Recorder()
    for tab in alice_tabs:
        router.subscribe(2, tab)
    for tab in bob_tabs:
        router.subscribe(3, tab)
    router.subscribe(1, admin_tab, admin=True)
    await router(_change(user_id=2))
    await router(_change("qr", user_id=2))
    await router(_change(user_id=3))
    assert [[c.user_id for c in t.changes] for t in alice_tabs] == [[2, 2], [2, 2]]
    assert [c.user_id for c in bob_tabs[0].changes] == [3]
    assert [(c.kind, c.user_id) for c in admin_tab.changes] == [("status", 2), ("status", 3)]
    assert router.recipients(_change("qr", user_id=3)) == {3}


async def test_unsubscribed_tabs_hear_nothing_more():
    router = UserRouter()
    tab = Recorder()
    unsubscribe = router.subscribe(2, tab, admin=True)
    await router(_change(user_id=5))
    unsubscribe()
    await router(_change(user_id=5))
    await router(_change(user_id=2))
    assert len(tab.changes) == 1
    assert router.recipients(_change(user_id=5)) == {5} - {5}  # nobody subscribed any more


async def test_two_users_each_see_only_their_own_updates_end_to_end(make_env):
    env = await make_env(webhooks=True, qr_delay=0.01, time_scale=1.0)
    admin = await env.admin()
    alice = await env.user("alice@example.com")
    bob = await env.user("bob@example.com")
    router = UserRouter()
    env.engine.notifier.add(router)
    tabs = {name: [Recorder(), Recorder()] for name in ("alice", "bob", "admin")}
    for name, user in (("alice", alice), ("bob", bob), ("admin", admin)):
        for tab in tabs[name]:
            router.subscribe(user.id, tab, admin=user.is_admin)
    a = (await env.core.sessions.create(alice)).id
    b = (await env.core.sessions.create(bob)).id
    for sid in (a, b):
        assert await env.sim.wait_for_status(sid, "SCAN_QR_CODE") == "SCAN_QR_CODE"
    await env.settle()
    env.sim.scan(a, phone="628000111222")
    await env.settle()
    await env.engine.tick()
    for tab in tabs["alice"]:
        assert {c.session_id for c in tab.changes} == {a}
        assert tab.statuses(a)[-1] == "connected" and len(tab.qrs(a)) == 1
    for tab in tabs["bob"]:
        assert {c.session_id for c in tab.changes} == {b}
        assert tab.statuses(b)[-1] == "pairing" and len(tab.qrs(b)) == 1
    for tab in tabs["admin"]:
        assert {c.session_id for c in tab.changes} == {a, b}
        assert tab.qrs() == []  # admins get statuses, never other users' QR codes
