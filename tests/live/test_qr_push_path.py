"""From WAHA's QR to the pages: nothing waits on the database between the drawn QR and its push."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from starlette.applications import Starlette

from tests.core.conftest import embedded_settings, make_core, register, sqlite_url  # noqa: F401
from wahaweb.api import webhook as webhook_route


async def test_a_fetched_qr_is_published_without_reading_its_row_again(make_core, sqlite_url):  # noqa: F811
    """The fetch read the row just before asking WAHA; publishing re-read it (failed on old code:
    a SELECT ... FROM wa_session between the QR reaching the cache and the listeners)."""
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
