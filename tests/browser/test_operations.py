"""What an operator sees of the app started like `make run`: its stdout log and /metrics."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.browser.conftest import APP_LOG, METRICS_TOKEN, SIM_API_KEY, create_session, new_email, register

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def created(browser, base_url) -> str:
    """One session created through the real page; returns its id."""
    context = browser.new_context()
    page = context.new_page()
    register(page, base_url, new_email("operator-view"))
    session_id = create_session(page)
    page.wait_for_selector("#session-qr")
    context.close()
    return session_id


def test_the_app_logs_each_create_on_stdout_without_the_key(created):
    log = APP_LOG.read_text(errors="replace")
    lines = [line for line in log.splitlines() if "session.create" in line and created in line]
    assert len(lines) == 1, log[-3000:]
    assert "INFO wahaweb.core.sessions session.create outcome=ok" in lines[0]
    assert "execution_time_ms=" in lines[0]
    assert SIM_API_KEY not in log


def test_prometheus_scrapes_metrics_with_the_token_only(created, base_url):
    assert httpx.get(f"{base_url}/metrics", timeout=10).status_code == 401
    wrong = httpx.get(f"{base_url}/metrics", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 403
    r = httpx.get(f"{base_url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10)
    assert r.status_code == 200
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "metrics.txt").write_text(r.text)
    found = {(s.name, tuple(sorted(s.labels.items()))): s.value
             for f in text_string_to_metric_families(r.text) for s in f.samples}
    assert found[("wahaweb_session_create_duration_seconds_count", (("outcome", "ok"),))] >= 1
    assert found[("wahaweb_waha_request_duration_seconds_count",
                  (("endpoint", "/api/sessions"), ("method", "POST"), ("server", "embedded")))] >= 1
    active = sum(v for (name, labels), v in found.items() if name == "wahaweb_sessions"
                 and dict(labels)["state"] in ("starting", "pairing", "connected"))
    assert active >= 1
    assert created not in r.text and SIM_API_KEY not in r.text
