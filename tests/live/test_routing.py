"""Who hears about a change: its owner's tabs (and admins' for status), never another user's."""

from __future__ import annotations

import datetime as dt

from wahaweb.core.live import CurrentQr, PageUpdate, audience

from .conftest import Recorder


def _change(kind: str = "status", user_id: int = 2, notify_admins: bool = True) -> PageUpdate:
    qr = None
    if kind == "qr":
        now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
        qr = CurrentQr("s", user_id, "data:image/png;base64,AA", 1, 6, now, now + dt.timedelta(seconds=60))
    return PageUpdate(kind=kind, session_id="s", user_id=user_id, status="pairing", qr=qr,
                      notify_admins=notify_admins if kind == "status" else False)


def test_audience_is_the_owner_plus_admins_for_status_only():
    assert audience(_change(user_id=2), admin_ids=[1, 9]) == {1, 2, 9}
    assert audience(_change(user_id=2), admin_ids=[]) == {2}
    assert audience(_change("qr", user_id=2), admin_ids=[1]) == {2}
    assert audience(_change(user_id=2, notify_admins=False), admin_ids=[1]) == {2}


class TabsByUser:
    """Open tabs by user, fed by the one routing rule (`audience`), as the state layer applies it."""

    def __init__(self) -> None:
        self.tabs: dict[int, list] = {}
        self.admins: set[int] = set()

    def subscribe(self, user_id: int, tab, *, admin: bool = False) -> None:
        self.tabs.setdefault(user_id, []).append(tab)
        if admin:
            self.admins.add(user_id)

    async def __call__(self, change: PageUpdate) -> None:
        for user_id in audience(change, self.admins):
            for tab in self.tabs.get(user_id, []):
                await tab(change)


async def test_two_users_each_see_only_their_own_updates_end_to_end(make_env):
    env = await make_env(webhooks=True, qr_delay=0.01, time_scale=1.0)
    admin = await env.admin()
    alice = await env.user("alice@example.com")
    bob = await env.user("bob@example.com")
    router = TabsByUser()
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
