"""The composition root: embedded vs real WAHA, migrations, webhook secret, health, import rules."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

from wahaweb.core.container import Core
from wahaweb.core.ratelimit import ClockedMemoryStorage
from wahaweb.settings import EMBEDDED_WAHA_URL, Settings

from .conftest import SIM_KEY, embedded_settings, remote_settings

CORE_DIR = pathlib.Path(__file__).resolve().parents[2] / "wahaweb" / "core"


async def test_embedded_mode_builds_the_simulator(core):
    assert core.embedded and core.demo.simulator is not None
    assert core.demo.simulator.config.api_key == SIM_KEY
    assert core.waha.base_url == EMBEDDED_WAHA_URL
    assert core.sessions.demo_mode
    assert isinstance(core.limiter.storage, ClockedMemoryStorage)
    info = await core.server_info()
    assert info.embedded and info.reachable and info.version and info.url == "embedded WAHA simulator"
    health = await core.health()
    body = health.as_json(details=True)
    assert health.ok and {k: body[k] for k in ("status", "db", "waha")} == {"status": "ok", "db": "ok", "waha": "ok"}
    assert [(s["name"], s["reachable"]) for s in body["servers"]] == [("default", True)]
    assert health.as_json() == {"status": "ok"}  # strangers learn nothing more


async def test_wahaweb_sim_profile_makes_the_embedded_simulator_an_old_core_server(make_core, sqlite_url):
    """Issue 13: WAHAWEB_SIM_PROFILE selects the embedded simulator's profile; core-2024.10 is then
    the `default` server as a Core 2024.10.8 (one session, named `default`)."""
    env = {"DATABASE_URL": sqlite_url, "WAHAWEB_SIM_PROFILE": "core-2024.10", "WAHAWEB_SIM_API_KEY": SIM_KEY}
    settings = Settings.from_env(env)
    assert settings.sim_profile == "core-2024.10" and Settings.from_env({}).sim_profile == "plus-2026.7"
    core = await make_core(settings)
    assert core.demo.simulator.profile.name == "core-2024.10"
    [server] = await core.servers.all()
    assert (server.name, server.version, (server.tier or "").upper()) == ("default", "2024.10.8", "CORE")
    user = await core.accounts.register("old@example.com", "correct horse battery")
    row = await core.sessions.create(user)
    assert row.waha_name == "default" and set(core.demo.simulator.engine.sessions) == {"default"}


async def test_real_waha_mode_has_no_simulator_and_reports_unreachable(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'lazy.db'}"
    core = Core.from_settings(remote_settings(url, waha_url="http://127.0.0.1:9"), retry_waits=())
    try:
        assert core.demo is None and not core.embedded and not core.sessions.demo_mode
        assert not (tmp_path / "lazy.db").exists(), "from_settings must not do I/O"
        await core.migrate()
        assert (tmp_path / "lazy.db").exists()
        health = await core.health()
        assert health.database_ok and not health.waha_ok and not health.ok
        assert "127.0.0.1:9" in health.waha_error
        info = await core.server_info()
        assert not info.reachable and "unreachable" in info.error and SIM_KEY not in info.error
    finally:
        await core.aclose()
        await core.aclose()  # idempotent


async def test_webhook_secret_from_settings_or_generated_once(make_core, sqlite_url):
    given = await make_core(embedded_settings(sqlite_url, webhook_secret="from-env"))
    assert await given.webhook_secret() == "from-env"
    first = await make_core(embedded_settings(sqlite_url))
    second = await make_core(embedded_settings(sqlite_url))
    secret = await first.webhook_secret()
    assert secret != "from-env" and len(secret) >= 32
    assert await second.webhook_secret() == secret  # stored: every worker and restart agrees


async def test_public_url_sets_the_webhook_url(make_core, sqlite_url):
    core = await make_core(embedded_settings(sqlite_url, public_url="https://app.example.com"))
    assert core.sessions.webhook_url == "https://app.example.com/api/waha/webhook"


def test_core_never_imports_reflex_and_only_the_container_imports_the_simulator():
    env = {**os.environ, "PYTHONPATH": str(CORE_DIR.parents[1])}
    code = ("import sys, wahaweb.core.container, wahaweb.core.sessions, wahaweb.core.migrate; "
            "assert 'reflex' not in sys.modules, 'core imported reflex'")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for path in CORE_DIR.rglob("*.py"):
        text = path.read_text()
        assert not re.search(r"^\s*(import|from)\s+reflex\b", text, re.M), path
        if path.name != "container.py":
            assert "wahaweb.simulator" not in text, f"{path} imports the simulator"


async def test_page_loads_share_one_waha_probe_while_it_is_under_way(core):
    """Twenty page loads that find the last probe too old, while WAHA takes its time, make one request
    between them and all get its answer (each used to send its own: a hanging WAHA got one request per
    page load, each load waiting its full timeout)."""
    import asyncio

    sim = core.demo.simulator
    sim.inject(latency_ms=200)
    before = len([e for e in sim.request_log.entries() if e["path"] == "/api/server/version"])
    answers = await asyncio.gather(*(core.server_info(max_age=5.0) for _ in range(20)))
    probes = [e for e in sim.request_log.entries() if e["path"] == "/api/server/version"][before:]
    assert len(probes) == 1, probes
    assert len({id(a) for a in answers}) == 1 and answers[0].reachable
    sim.clear_faults()
    again = await core.server_info(max_age=5.0)  # fresh enough: reused, no request
    assert again is answers[0]
    assert len([e for e in sim.request_log.entries() if e["path"] == "/api/server/version"][before:]) == 1


async def test_health_checks_that_come_while_one_runs_share_it(core):
    """/api/health is anyone's: 100 requests while WAHA is slow cost one /ping, not 100 (each check
    also opened a database session: a crowd of strangers could drain the pool while WAHA hung)."""
    import asyncio

    sim = core.demo.simulator
    sim.inject(latency_ms=200)
    pings = lambda: [e for e in sim.request_log.entries() if e["path"] == "/ping"]  # noqa: E731
    before = len(pings())
    results = await asyncio.gather(*(core.health() for _ in range(100)))
    sim.clear_faults()
    assert len(pings()) - before == 1
    assert all(r is results[0] for r in results) and results[0].ok
