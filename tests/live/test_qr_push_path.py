"""From WAHA's QR to the pages: nothing waits on the database between the drawn QR and its push."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from starlette.applications import Starlette

from tests.core.conftest import embedded_settings, make_core, register, sqlite_url  # noqa: F401
from tests.state.test_listener import FakeApp, FakeFeed
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
    """The pages' listener reads the owner's live sign-ins when the QR fetch begins; the push itself
    then writes the feed with no query first (failed on old code: a SELECT ... FROM users JOIN
    auth_token between the QR reaching the cache and the feed write)."""
    core, user, statements, marks = await counted_core(make_core, sqlite_url)
    cookie = (await core.accounts.sign_in("alice@example.com", "correct horse battery")).token
    pushed: asyncio.Future = asyncio.get_running_loop().create_future()

    class Feed(FakeFeed):
        def _set_qr(self, session_id, card) -> None:
            marks.setdefault("pushed", len(statements))
            super()._set_qr(session_id, card)
            if not pushed.done():
                pushed.set_result(session_id)

    app = FakeApp()
    app.feeds[await core.feed_token(hash_token(cookie))] = Feed()
    core.live.notifier.add(make_listener(app, core))
    row = await core.sessions.create(user)
    assert await asyncio.wait_for(pushed, 30) == row.id  # a hang guard, not a speed bound
    between = statements[marks["stored"]:marks["pushed"]]
    assert not [s for s in between if s.startswith("SELECT") and "auth_token" in s], between
