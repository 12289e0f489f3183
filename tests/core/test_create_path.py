"""The way from a reservation to WAHA's create request: nothing waits on the database in between."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from wahaweb.core.errors import PlanLimitReached

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


async def test_the_plan_limit_check_is_one_statement_inside_the_create_lock(make_core, sqlite_url):
    """Inside SQLite's one writer (every other create waits) the reservation runs: the user's
    standing (active, plan limit, active sessions) in one statement, the placement, the INSERT
    (failed on old code: three statements for the user, his plan and his count, five in all)."""
    core = await make_core(embedded_settings(sqlite_url))
    await register(core, "admin@example.com")
    user = await register(core, "bob@example.com", plan="Free")
    statements: list[str] = []
    sa.event.listen(core.db.engine.sync_engine, "before_cursor_execute",
                    lambda conn, cursor, stmt, *a: statements.append(stmt.strip().split()[0].upper()))
    await core.sessions.reserve(user)
    begin = statements.index("BEGIN")  # BEGIN IMMEDIATE; the commit is the driver's, not a statement
    inside = statements[begin + 1:statements.index("INSERT", begin) + 1]
    assert inside == ["SELECT", "SELECT", "INSERT"], inside
    second = await register(core, "carol@example.com", plan="Free")
    await core.sessions.reserve(second)
    with pytest.raises(PlanLimitReached) as refused:  # the one statement still counts right
        await core.sessions.reserve(second)
    assert (refused.value.plan_name, refused.value.limit, refused.value.active) == ("Free", 1, 1)
