"""The way from a reservation to WAHA's create request: nothing waits on the database in between."""

from __future__ import annotations

import sqlalchemy as sa

from .conftest import embedded_settings, register


async def test_the_waha_create_follows_the_reservation_without_reading_the_server_again(make_core, sqlite_url):
    """The placement already read the chosen server in the reservation's transaction (can it sign
    webhooks?); the create used to read that row once more before calling WAHA (failed on old code:
    a SELECT ... FROM waha_server between the reservation's INSERT and the create request)."""
    core = await make_core(embedded_settings(sqlite_url, public_url="http://wahaweb.example"))
    await register(core, "admin@example.com")
    user = await register(core, "alice@example.com")
    await core.webhook_secret()  # read once per process, before any create
    statements: list[str] = []
    sa.event.listen(core.db.engine.sync_engine, "before_cursor_execute",
                    lambda conn, cursor, stmt, *a: statements.append(stmt))
    at_create: list[list[str]] = []
    create = core.waha.create_session

    async def seen(name, **kwargs):
        at_create.append(list(statements))
        return await create(name, **kwargs)

    core.waha.create_session = seen
    row = await core.sessions.create(user)
    assert row.status in ("starting", "pairing")
    [before] = at_create
    inserted = max(i for i, stmt in enumerate(before) if stmt.lstrip().upper().startswith("INSERT INTO WA_SESSION"))
    after_reservation = before[inserted + 1:]
    assert not [s for s in after_reservation if "waha_server" in s.lower()], after_reservation
    creates = [r for r in core.demo.simulator.requests if r["method"] == "POST" and r["path"] == "/api/sessions"]
    assert creates, "the create reached WAHA"
