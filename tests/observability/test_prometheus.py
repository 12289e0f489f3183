"""GET /metrics: Prometheus text, behind a bearer token, recording what really happened.

A create that works, one refused by the rate limit and one WAHA fails (with its retries)
are made on a Core with the embedded simulator; the exposition is then parsed with
prometheus_client's own parser, so a malformed line fails the test.
"""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.core.conftest import PASSWORD, fast_hasher
from wahaweb.api.routes import build_api
from wahaweb.core.container import Core
from wahaweb.core.errors import RateLimited, WahaProblem
from wahaweb.core.ratelimit import RateLimits

TOKEN = "scrape-token-0123456789"


async def _no_sleep(_: float) -> None:
    return None


@pytest.fixture
def make_core(serve_core):
    """`await make_core(**settings)`: a Core behind `API` (see `serve_core` in tests/conftest.py)."""

    async def install(**overrides) -> Core:
        settings = {"sim_qr_delay": 0.02, "signup_plan": "Pro", **overrides}
        return await serve_core(API, core_options=dict(
            retry_waits=(0.0, 0.0), sleep=_no_sleep, password_hasher=fast_hasher(),
            rate_limits=dataclasses.replace(RateLimits(), create="2/minute")), **settings)

    return install


#: The routes under test; each test's Core is put where the lifespan puts the app's.
API = build_api()


def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=API), base_url="http://testserver")


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value} of a whole exposition (parsed strictly)."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict, name: str, **labels: str) -> float | None:
    return found.get((name, tuple(sorted(labels.items()))))


async def test_metrics_is_off_without_a_configured_token(make_core):
    await make_core()
    async with client() as c:
        r = await c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 404


@pytest.mark.parametrize("header, status", [(None, 401), ("Bearer", 401), ("Basic abc", 401),
                                            ("Bearer wrong-token", 403), (f"Bearer {TOKEN}x", 403)])
async def test_metrics_refuses_a_scrape_without_the_token(make_core, header, status):
    await make_core(metrics_token=TOKEN)
    async with client() as c:
        r = await c.get("/metrics", headers={"Authorization": header} if header else {})
    assert r.status_code == status
    assert "wahaweb_" not in r.text


async def test_metrics_after_a_create_a_refusal_and_a_waha_error(make_core):
    core = await make_core(metrics_token=TOKEN)
    user = await core.accounts.register("ops@example.com", PASSWORD)
    await core.sessions.create(user)
    core.demo.simulator.inject(status=503, count=3, path_prefix="/api/sessions")
    with pytest.raises(WahaProblem):
        await core.sessions.create(user)
    core.demo.simulator.clear_faults()
    with pytest.raises(RateLimited):
        await core.sessions.create(user)

    async with client() as c:
        r = await c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    found = samples(r.text)

    assert value(found, "wahaweb_session_create_duration_seconds_count", outcome="ok") == 1
    assert value(found, "wahaweb_session_create_duration_seconds_count", outcome="failed") == 1
    assert value(found, "wahaweb_session_create_duration_seconds_count", outcome="refused") == 1
    assert value(found, "wahaweb_rate_limit_refusals_total", kind="create") == 1
    errors = dict(server="embedded", method="POST", endpoint="/api/sessions", kind="5xx")
    assert value(found, "wahaweb_waha_request_errors_total", **errors) == 3
    assert value(found, "wahaweb_waha_retries_total", server="embedded", method="POST",
                 endpoint="/api/sessions") == 2
    assert value(found, "wahaweb_waha_request_duration_seconds_count", server="embedded", method="POST",
                 endpoint="/api/sessions") == 4  # 1 ok + 3 failed attempts
    # Session routes are templates, never one label per session name.
    assert "session_1_" not in r.text
    assert value(found, "wahaweb_sessions", state="starting", server="embedded") == 1
    assert value(found, "wahaweb_sessions", state="failed", server="embedded") == 1
    assert value(found, "wahaweb_sessions", state="connected", server="embedded") == 0
    assert value(found, "wahaweb_open_pages") == 0


async def test_webhook_outcomes_and_watcher_ticks_are_counted(make_core):
    core = await make_core(metrics_token=TOKEN, webhook_secret="whsec-0123456789")
    engine = core.live
    await engine.tick()
    async with client() as c:
        await c.post("/api/waha/webhook", content=b"{}", headers={"X-Webhook-Hmac": "00"})
        r = await c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    found = samples(r.text)
    assert value(found, "wahaweb_webhook_events_total", outcome="unauthorized") == 1
    assert value(found, "wahaweb_status_tick_duration_seconds_count") == 1


def test_each_metrics_object_has_its_own_registry():
    from wahaweb.observability import Metrics

    a, b = Metrics(multiprocess_dir=""), Metrics(multiprocess_dir="")
    a.rate_limited("qr")
    assert a.registry is not b.registry
    assert a.registry.get_sample_value("wahaweb_rate_limit_refusals_total", {"kind": "qr"}) == 1
    assert b.registry.get_sample_value("wahaweb_rate_limit_refusals_total", {"kind": "qr"}) is None


async def test_the_sample_grafana_dashboard_only_queries_exposed_series():
    import json
    import re
    from pathlib import Path

    from wahaweb.observability import Metrics

    metrics = Metrics(multiprocess_dir="")

    async def counts():
        return {("connected", "embedded"): 1}

    metrics.sessions_from(counts)
    metrics.observe_create("ok", 0.1)
    metrics.waha_recorder("embedded").attempt("GET", "/api/sessions", "5xx", 0.1)
    metrics.waha_recorder("embedded").retry("GET", "/api/sessions")
    metrics.rate_limited("qr")
    metrics.webhook_event("applied")
    metrics.observe_tick(0.01)
    exposed = {s.name for f in text_string_to_metric_families((await metrics.render()).decode()) for s in f.samples}
    dashboard = json.loads((Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json").read_text())
    queried = {name for panel in dashboard["panels"] for target in panel["targets"]
               for name in re.findall(r"wahaweb_\w+", target["expr"])}
    assert queried and queried <= exposed, queried - exposed
