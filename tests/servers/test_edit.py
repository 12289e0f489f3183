"""Editing a server's URL and API key: tested first, saved only if WAHA answers (or confirmed),
the key write-only, the `default` server left to WAHA_URL / WAHA_API_KEY, every change audited."""

from __future__ import annotations

import io
import logging

import pytest

from tests.servers.conftest import SIM_KEY
from wahaweb.core.errors import InvalidState, PermissionDenied
from wahaweb.observability.log_config import build_handler

CAPACITIES = [("a", 2), ("b", 3), ("c", 5)]
NEW_KEY = "brand-new-server-key-7f3a"


async def _audit(farm, action: str) -> list:
    return [e for e in await farm.core.admin.recent_audit(farm.admin, limit=50) if e.action == action]


async def test_a_server_moved_to_another_url_is_tested_saved_audited_and_used(make_farm):
    farm = await make_farm(CAPACITIES)
    admin = farm.core.server_admin
    outcome = await admin.edit_connection(farm.admin, farm.ids["b"], "http://c.waha.test/", "")
    assert outcome.test.ok and outcome.saved is not None
    assert outcome.saved.url == "http://c.waha.test" and outcome.saved.reachable is True
    # Empty key: the stored one is kept, and the server answers with it at its new address.
    row = await farm.core.servers.get(farm.ids["b"])
    assert row.base_url == "http://c.waha.test"
    client = await farm.core.servers.client_for(farm.ids["b"])
    assert (await client.server_version()).version
    [edit] = await _audit(farm, "server_edit")
    assert edit.outcome == "ok" and edit.detail == "b: url http://b.waha.test -> http://c.waha.test"


async def test_a_new_key_that_waha_refuses_is_not_saved_unless_confirmed(make_farm):
    farm = await make_farm(CAPACITIES)
    admin = farm.core.server_admin
    before = (await farm.core.servers.get(farm.ids["b"])).api_key_encrypted
    outcome = await admin.edit_connection(farm.admin, farm.ids["b"], "http://b.waha.test", NEW_KEY)
    assert not outcome.test.ok and outcome.saved is None
    assert (await farm.core.servers.get(farm.ids["b"])).api_key_encrypted == before
    [refused] = await _audit(farm, "server_edit")
    assert refused.outcome == "refused"
    confirmed = await admin.edit_connection(farm.admin, farm.ids["b"], "http://b.waha.test", NEW_KEY, confirmed=True)
    assert confirmed.saved is not None
    row = await farm.core.servers.get(farm.ids["b"])
    assert row.api_key_encrypted != before
    assert (await farm.core.servers.box()).open(row.api_key_encrypted, server_name="b") == NEW_KEY
    assert row.error  # probed with the new key: WAHA refuses it, and the page says so
    edits = await _audit(farm, "server_edit")
    assert edits[0].outcome == "ok" and "key replaced" in edits[0].detail and "confirmed" in edits[0].detail
    for event in edits:
        assert NEW_KEY not in (event.detail or "") and SIM_KEY not in (event.detail or "")
    assert NEW_KEY not in repr(confirmed) and SIM_KEY not in repr(confirmed)


async def test_an_unreachable_url_is_not_saved(make_farm):
    farm = await make_farm(CAPACITIES)
    outcome = await farm.core.server_admin.edit_connection(farm.admin, farm.ids["c"], "http://127.0.0.1:9", "")
    assert not outcome.test.ok and outcome.saved is None and outcome.test.error
    assert (await farm.core.servers.get(farm.ids["c"])).base_url == "http://c.waha.test"


async def test_the_default_server_follows_the_environment_and_strangers_are_refused(make_farm):
    farm = await make_farm(CAPACITIES)
    with pytest.raises(InvalidState) as refused:
        await farm.core.server_admin.edit_connection(farm.admin, farm.ids["default"], "http://c.waha.test", "")
    assert "WAHA_URL" in str(refused.value)
    customer = await farm.user("customer@example.com")
    with pytest.raises(PermissionDenied):
        await farm.core.server_admin.edit_connection(customer, farm.ids["b"], "http://c.waha.test", "")
    assert (await farm.core.servers.get(farm.ids["b"])).base_url == "http://b.waha.test"


async def test_a_key_typed_or_loaded_is_masked_in_every_log_line(make_farm):
    out = io.StringIO()
    handler = build_handler(stream=out)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        farm = await make_farm(CAPACITIES)
        await farm.core.server_admin.edit_connection(farm.admin, farm.ids["b"], "http://b.waha.test", NEW_KEY,
                                                     confirmed=True)
        logging.getLogger("wahaweb.test").warning("talking to b with key %s and %s", NEW_KEY, SIM_KEY)
        later = io.StringIO()
        fresh = build_handler(stream=later)  # a handler built later knows the keys too
        fresh.handle(logging.LogRecord("wahaweb.test", logging.WARNING, __file__, 1, "k=%s", (NEW_KEY,), None))
    finally:
        root.removeHandler(handler)
    text = out.getvalue() + later.getvalue()
    assert "talking to b with key" in text
    assert NEW_KEY not in text and SIM_KEY not in text
