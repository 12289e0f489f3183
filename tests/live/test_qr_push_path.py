"""From WAHA's QR to the pages: nothing waits on the database between the drawn QR and its push."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from starlette.applications import Starlette

from tests.core.conftest import embedded_settings, make_core, register, sqlite_url  # noqa: F401
from tests.state.test_listener import FakeApp, FakeCodes
from wahaweb.api import webhook as webhook_route
from wahaweb.core.accounts import hash_token
from wahaweb.state.live import make_listener


async def counted_core(make_core, sqlite_url):  # noqa: F811
    """A Core whose webhooks reach its route, alice, every SQL statement, and `marks["stored"]`:
    the number of statements run when the first QR reached the cache."""
    core = await make_core(embedded_settings(sqlite_url, sim_qr_delay=0.05, public_url="http://wahaweb.embedded"))
    api = Starlette(routes=webhook_route.routes)
    api.state.core = core
    core.demo.deliver_webhooks_to(api)
    await register(core, "admin@example.com")
    user = await register(core, "alice@example.com")
    statements: list[str] = []
    sa.event.listen(core.db.engine.sync_engine, "before_cursor_execute",
                    lambda conn, cursor, stmt, *a: statements.append(" ".join(stmt.split())))
    marks: dict[str, int] = {}
    store = core.live.qr.store

    async def stored(session_id, *args, **kwargs):
        marks.setdefault("stored", len(statements))
        return await store(session_id, *args, **kwargs)

    core.live.qr.store = stored
    return core, user, statements, marks


async def test_a_fetched_qr_is_published_without_reading_its_row_again(make_core, sqlite_url):  # noqa: F811
    """The fetch read the row just before asking WAHA; publishing re-read it (failed on old code:
    a SELECT ... FROM wa_session between the QR reaching the cache and the listeners)."""
    core, user, statements, marks = await counted_core(make_core, sqlite_url)
    published: asyncio.Future = asyncio.get_running_loop().create_future()

    async def page(change) -> None:
        if change.kind == "qr" and not published.done():
            marks["published"] = len(statements)
            published.set_result(change)

    core.live.notifier.add(page)
    row = await core.sessions.create(user)
    change = await asyncio.wait_for(published, 30)  # a hang guard, not a speed bound
    assert change.session_id == row.id and change.qr.data_url.startswith("data:image/svg+xml,")
    between = statements[marks["stored"]:marks["published"]]  # (the status write may overlap: writes)
    assert not [s for s in between if s.startswith("SELECT") and "FROM wa_session" in s], between
    assert change.status in ("creating", "starting", "pairing")


async def test_who_gets_the_qr_is_read_while_waha_answers_not_after(make_core, sqlite_url):  # noqa: F811
    """The pages' listener starts reading the owner's live sign-ins when the QR fetch begins; the push
    then awaits that read instead of starting one (failed on old code: the owner-only read of the
    sign-ins began after the QR reached the cache)."""
    core, user, statements, marks = await counted_core(make_core, sqlite_url)
    cookie = (await core.accounts.sign_in("alice@example.com", "correct horse battery")).token
    order: list[str] = []
    pushed: asyncio.Future = asyncio.get_running_loop().create_future()

    class Codes(FakeCodes):
        def _set(self, session_id, card) -> None:
            order.append("pushed")
            super()._set(session_id, card)
            if not pushed.done():
                pushed.set_result(session_id)

    app = FakeApp()
    app.codes[await core.qr_token(hash_token(cookie))] = Codes()
    core.live.notifier.add(make_listener(app, core))
    sign_ins, store = core.accounts.live_sign_ins, core.live.qr.store

    def read(owner_id, *, with_admins):  # stamps when the read is asked for, not when its task first runs
        order.append("read owner only" if not with_admins else "read with admins")
        return sign_ins(owner_id, with_admins=with_admins)

    async def stored(session_id, *args, **kwargs):
        order.append("stored")
        return await store(session_id, *args, **kwargs)

    core.accounts.live_sign_ins, core.live.qr.store = read, stored
    row = await core.sessions.create(user)
    assert await asyncio.wait_for(pushed, 30) == row.id  # a hang guard, not a speed bound
    qr_path = [step for step in order if step != "read with admins"]  # (status pushes read with admins)
    assert qr_path == ["read owner only", "stored", "pushed"], order


async def test_the_qr_fetch_uses_the_row_its_webhook_just_read(make_core, sqlite_url):  # noqa: F811
    """SCAN_QR_CODE's webhook reads the session row (to map the event), then asks for the QR; the fetch
    read the same row again before asking WAHA (failed on old code: the QR fetch's task called
    get_row before WAHA's QR request)."""
    core, user, statements, marks = await counted_core(make_core, sqlite_url)
    get_row, fetch = core.sessions.get_row, core.sessions.fetch_qr_with_row
    fetching: set[asyncio.Task] = set()
    read_by_fetch: list[str] = []
    fetched: asyncio.Future = asyncio.get_running_loop().create_future()

    async def row_read(session_id):
        if asyncio.current_task() in fetching:
            read_by_fetch.append(session_id)
        return await get_row(session_id)

    async def fetch_qr(session_id, *args):
        fetching.add(asyncio.current_task())
        try:
            return await fetch(session_id, *args)
        finally:
            fetching.discard(asyncio.current_task())
            if not fetched.done():
                fetched.set_result(session_id)

    core.sessions.get_row, core.sessions.fetch_qr_with_row = row_read, fetch_qr
    row = await core.sessions.create(user)
    assert await asyncio.wait_for(fetched, 30) == row.id  # a hang guard, not a speed bound
    assert read_by_fetch == []
