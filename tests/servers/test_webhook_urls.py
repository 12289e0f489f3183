"""Issue 13: the admin is shown, per server, the webhook URL WAHA should call.

A server that cannot sign (Core 2024.10) gets its secret URL `/api/waha/webhook/{token}`, one
that signs gets the plain route (and the hint naming the HMAC secret's variable), under
WAHAWEB_PUBLIC_URL, else the address the admin's browser used. Only an admin gets any of it;
the token is never written to the log. The URL shown is the one the route accepts.
"""

from __future__ import annotations

import logging

import pytest

from wahaweb.core.constants import WEBHOOK_PATH
from wahaweb.core.errors import PermissionDenied
from wahaweb.i18n import text
from wahaweb.settings import EMBEDDED_PUBLIC_URL
from wahaweb.state.servers import server_rows, webhook_base


async def test_the_admin_sees_each_servers_webhook_url_and_a_customer_nothing(make_farm, caplog):
    farm = await make_farm([("a", 5), ("old", 5)], profiles={"old": "core-2024.10"})
    caplog.set_level(logging.DEBUG)
    rows = {row.name: row for row in await server_rows(farm.core, farm.admin, "https://hooks.example.com/")}
    tokens = {s.name: s.webhook_token for s in await farm.core.servers.all()}
    assert tokens["old"] and len(tokens["old"]) >= 40

    # The Plus server signs: the plain route, and the hint names the HMAC secret's variable.
    assert rows["default"].webhook_url == f"https://hooks.example.com{WEBHOOK_PATH}"
    assert rows["default"].webhook_kind == "servers.webhook_signed"
    for lang in ("en", "id"):
        assert "WAHAWEB_WEBHOOK_SECRET" in text(lang, rows["default"].webhook_kind)
    # The Core 2024.10 server cannot sign: its own secret URL.
    assert rows["old"].webhook_url == f"https://hooks.example.com{WEBHOOK_PATH}/{tokens['old']}"
    assert rows["old"].webhook_kind == "servers.webhook_unsigned"
    shown_token = rows["old"].webhook_url.rsplit("/", 1)[1]
    assert (await farm.core.servers.by_webhook_token(shown_token)).id == farm.ids["old"]  # the route's lookup
    assert tokens["old"] not in caplog.text  # building the page logs no secret

    customer = await farm.user("carol@example.com")
    with pytest.raises(PermissionDenied):
        await server_rows(farm.core, customer, "https://hooks.example.com")
    with pytest.raises(PermissionDenied):
        await farm.core.server_admin.webhook_targets(customer, "https://hooks.example.com")


async def test_a_server_not_probed_yet_is_shown_the_signed_route_and_says_so(make_farm):
    farm = await make_farm([("a", 5)])
    view = await farm.core.server_admin.add(farm.admin, "later", "http://later.waha.test", "k", 3)
    targets = await farm.core.server_admin.webhook_targets(farm.admin, "https://w.example.com")
    assert targets[view.id].signed is None and targets[view.id].url == f"https://w.example.com{WEBHOOK_PATH}"


def test_the_base_is_the_public_url_else_the_admins_browser():
    assert webhook_base("https://w.example.com/", "http://127.0.0.1:3000") == ("https://w.example.com", False)
    assert webhook_base(None, "http://127.0.0.1:3000/") == ("http://127.0.0.1:3000", True)
    # The embedded simulator's made-up host is no address WAHA could reach.
    assert webhook_base(EMBEDDED_PUBLIC_URL, "http://localhost:3000") == ("http://localhost:3000", True)
