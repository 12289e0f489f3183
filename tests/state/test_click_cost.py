"""What one "New session" click costs, up to the first QR on the page: counted, so it cannot creep back.

The replay calls exactly what the handlers call (the guard's authentication, `reserve`, the
session page's load: `_open_page` (one `overview`) + the timeline), with the real Core, the
real status engine and webhooks delivered in-process, and the real listener writing into a
recording feed. Counted: SQL statements (SQLAlchemy event hook), WAHA requests (the
simulator's request log), user resolutions (authenticate/resolve calls the database had to answer,
not those a sign-in checked a moment ago answered: `wahaweb.core.trusted`), feed fills.
"""

from __future__ import annotations

import sqlalchemy as sa
from starlette.applications import Starlette

from tests.core.conftest import PASSWORD, clock, embedded_settings, make_core, register, sqlite_url  # noqa: F401
from tests.state.test_listener import FakeApp
from tests.timing import eventually
from wahaweb.api import webhook as webhook_route
from wahaweb.core.accounts import hash_token
from wahaweb.state.live import make_listener

#: The issue's targets, met since issue 11's last step (before -> after: 52 -> 35 SQL statements,
#: 4 -> 1 user lookups): plain single-statement reads carry no BEGIN/COMMIT on SQLite
#: (`Database.read_one`), and a sign-in checked a moment ago is trusted for 2 s
#: (`wahaweb.core.trusted`), so the guard's check of the click answers the service's and the
#: page's questions "who is this?". Issue 12's placement and server reads are inside the 40.
MAX_SQL = 40
WAHA_REQUESTS = ["POST /api/sessions", "GET /api/{id}/auth/qr"]
#: A user resolution: "who is this?" answered from the database (authenticate or resolve).
MAX_RESOLUTIONS = 3
FILLS = 1


async def test_one_create_click_to_the_first_qr(make_core, sqlite_url):  # noqa: F811
    # WAHA's real QR lifetimes (time scale 1): at the suite's usual 50x the first QR lived 1.2 s, and
    # beside another make test the click took longer, WAHA rotated, and the rotation's fetch was counted
    # as a third WAHA request (seen once).
    core = await make_core(embedded_settings(sqlite_url, sim_qr_delay=0.05, sim_time_scale=1.0,
                                             public_url="http://wahaweb.embedded"))
    await register(core, "admin@example.com")
    await register(core, "alice@example.com")
    cookie = (await core.accounts.sign_in("alice@example.com", PASSWORD)).token
    api = Starlette(routes=webhook_route.routes)
    api.state.core = core
    core.demo.deliver_webhooks_to(api)
    app = FakeApp()
    core.live.notifier.add(make_listener(app, core))
    qr_token = await core.qr_token(hash_token(cookie))
    # Warm-up, once per process: the secrets, the first WAHA probe of the server panel (shared by
    # every page for 5 s).
    await core.webhook_secret()
    await core.server_info(max_age=5.0)

    statements: list[str] = []
    sa.event.listen(core.db.engine.sync_engine, "before_cursor_execute",
                    lambda conn, cursor, stmt, *a: statements.append(stmt))
    resolutions = {"asked": 0, "n": 0}
    for name in ("authenticate", "resolve"):
        original = getattr(core.accounts, name)

        async def asked(*args, _original=original, **kwargs):
            resolutions["asked"] += 1
            return await _original(*args, **kwargs)

        setattr(core.accounts, name, asked)
    trusted = core.accounts.trusted
    for name in ("for_token", "for_user"):
        lookup = getattr(trusted, name)

        def counted(key, _lookup=lookup):
            found = _lookup(key)
            resolutions["n"] += found is None  # not trusted: the database is asked
            return found

        setattr(trusted, name, counted)
    fills = {"n": 0}
    sim = core.demo.simulator
    sim.clear_requests()

    # The click: the guard authenticates, the handler reserves.
    clicker = await core.accounts.authenticate(cookie)
    row = await core.sessions.reserve(clicker, "Sales")
    # The session page loads: the guard authenticates, `_open_page` fills the feed once.
    visitor = await core.accounts.authenticate(cookie)
    fills["n"] += 1
    page = await core.sessions.overview(visitor)
    await core.server_info(max_age=5.0)
    assert page.visible(row.id) is not None
    await core.audit.for_session(row.id, 20)
    # WAHA answers, shows a QR, its webhook arrives: the engine fetches the QR once and pushes it.
    await eventually(lambda: app.codes.get(qr_token) is not None and row.id in app.codes[qr_token].qr,
                     what="the first QR in the sign-in's QR state")

    waha = [f"{r['method']} {r['path'].replace(row.id, '{id}')}" for r in sim.requests]
    assert waha == WAHA_REQUESTS
    assert fills["n"] == FILLS
    assert resolutions["n"] <= MAX_RESOLUTIONS, resolutions
    assert len(statements) <= MAX_SQL, f"{len(statements)} SQL statements"
    assert resolutions["asked"] == 4  # the guard twice, the service twice: each still asks
    print(f"click to first QR: {len(statements)} SQL, {len(waha)} WAHA, {resolutions['n']} resolutions "
          f"({resolutions['asked']} asked), {fills['n']} fill")
