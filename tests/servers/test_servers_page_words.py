"""Issue 12: the servers page speaks the admin's language: its toasts, its "Not saved" and
"test connection" lines, its refusals and its table words, in English and Bahasa Indonesia.

On the old code every toast and message of ServersState was an English literal (or core's
English `str(exc)`), whatever the admin's language.
"""

from __future__ import annotations

import ast
import inspect

import pytest

from wahaweb.core.errors import CoreError
from wahaweb.i18n import error_text, text
from wahaweb.state import servers as servers_state


async def _refusals(farm) -> list[CoreError]:
    admin, sa = farm.admin, farm.core.server_admin
    found: list[CoreError] = []
    attempts = [
        sa.add(admin, "Bad Name!", "http://x.waha.test", "k", 3),
        sa.add(admin, "default", "http://x.waha.test", "k", 3),
        sa.add(admin, "fine", "not a url", "k", 3),
        sa.add(admin, "fine", "http://x.waha.test", "k", 0),
        sa.edit_connection(admin, farm.ids["default"], "http://y.waha.test", "k"),
        sa.set_capacity(admin, 999_999, 3),
    ]
    for attempt in attempts:
        with pytest.raises(CoreError) as raised:
            await attempt
        found.append(raised.value)
    user = await farm.user("dora@example.com")
    await farm.core.sessions.create(user)
    with pytest.raises(CoreError) as raised:
        await sa.remove(admin, farm.ids["default"])
    found.append(raised.value)
    return found


async def test_every_refusal_of_the_servers_page_is_said_in_indonesian(make_farm):
    farm = await make_farm([("a", 5)])
    refusals = await _refusals(farm)
    assert {e.code for e in refusals} == {"server_name_invalid", "server_name_taken", "server_url_invalid",
                                          "server_capacity_invalid", "server_default_from_env", "not_found",
                                          "server_not_empty"}
    for exc in refusals:
        assert error_text("en", exc) == str(exc)  # the English catalogue says what core says
        indonesian = error_text("id", exc)
        assert indonesian != str(exc) and not indonesian.startswith("error."), exc.code
    not_empty = next(e for e in refusals if e.code == "server_not_empty")
    assert error_text("id", not_empty).startswith("Server 'default' masih memiliki 1 sesi")
    assert error_text("id", next(e for e in refusals if e.code == "not_found")) == "Server tersebut tidak ditemukan."


def test_the_pages_toasts_and_lines_are_catalogue_keys_with_indonesian_words():
    source = inspect.getsource(servers_state)
    tree = ast.parse(source)
    done_keys = {kw.value.value for node in ast.walk(tree) if isinstance(node, ast.Call)
                 for kw in node.keywords if kw.arg == "done" and isinstance(kw.value, ast.Constant)}
    done_keys |= {n.value for node in ast.walk(tree) if isinstance(node, ast.IfExp)
                  for n in (node.body, node.orelse) if isinstance(n, ast.Constant) and str(n.value).startswith("servers.")}
    assert {"servers.added", "servers.capacity_changed", "servers.now_draining", "servers.now_taking",
            "servers.now_enabled", "servers.now_disabled", "servers.removed"} <= done_keys
    for key in [*done_keys, "servers.saved", "servers.not_saved", "servers.test_answered", "servers.test_no_answer",
                *servers_state.WEBHOOK_KIND_KEYS.values(), "servers.reachable_yes", "servers.reachable_no",
                "servers.reachable_unknown"]:
        assert text("id", key) != text("en", key) and text("id", key) != key, key
    assert text("id", "servers.not_saved", error="timeout").startswith("Tidak disimpan: WAHA tidak menjawab (timeout)")
    # No toast or message of this state is an English literal: each goes through _say or error_text.
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("error",
                                                                                                      "success"):
            for arg in node.args:
                assert not isinstance(arg, (ast.Constant, ast.JoinedStr)), ast.unparse(node)
                assert "str(exc)" not in ast.unparse(arg), ast.unparse(node)
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Attribute) and t.attr in (
                "servers_notice", "test_result", "edit_result") for t in node.targets):
            assert not isinstance(node.value, ast.JoinedStr) and "str(exc)" not in ast.unparse(node.value), \
                ast.unparse(node)
