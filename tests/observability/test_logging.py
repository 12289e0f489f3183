"""Logs on stdout: one line per event, text or JSON, ids as fields, and never a secret.

The process tests start a fresh Python that imports rxconfig exactly as `reflex run`
does in each backend worker, then create a session on the embedded simulator: what it
prints on stdout is what an operator sees under `make run`.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wahaweb.composition import create_core
from wahaweb.observability.log_config import (
    HANDLER_MARK,
    build_handler,
    configure_logging,
)
from wahaweb.observability.log_context import log_context
from wahaweb.observability.redact import MASK, Redactor

REPO = Path(__file__).resolve().parents[2]
WAHA_KEY = "waha-key-that-must-never-be-logged-91c2"

CREATE = """
import asyncio, logging
import rxconfig  # what `reflex run` imports first in every process: configures logging
from wahaweb.composition import create_core
from wahaweb.composition import create_core
from wahaweb.settings import Settings
from wahaweb.observability import log_context

async def main():
    core = await create_core(Settings.from_env())
    try:
        user = await core.accounts.register("ops@example.com", "correct horse battery")
        with log_context(request_id="req-42"):
            await core.sessions.create(user)
        logging.getLogger("wahaweb.waha").warning("probe with X-Api-Key: %s and key=%s", KEY, KEY)
    finally:
        await core.aclose()

asyncio.run(main())
"""


def _run_app_process(tmp_path: Path, fmt: str | None) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WAHA_", "WAHAWEB_", "DATABASE_URL"))}
    env.update(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'log.db'}", WAHAWEB_SIM_API_KEY=WAHA_KEY,
               WAHAWEB_SIM_QR_DELAY="0.01", REFLEX_TELEMETRY_ENABLED="false", PYTHONUNBUFFERED="1")
    if fmt:
        env["WAHAWEB_LOG_FORMAT"] = fmt
    done = subprocess.run([sys.executable, "-c", CREATE.replace("KEY", repr(WAHA_KEY))], cwd=tmp_path, env={
        **env, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert WAHA_KEY not in done.stdout + done.stderr
    return done.stdout.splitlines()


def test_a_create_logs_one_text_line_on_stdout(tmp_path):
    lines = _run_app_process(tmp_path, None)
    creates = [line for line in lines if "session.create" in line]
    assert len(creates) == 1, lines
    line = creates[0]
    assert " INFO wahaweb.core.sessions session.create outcome=ok user=1 session=session_1_" in line
    assert "execution_time_ms=" in line and "request_id=req-42" in line
    probe = next(line for line in lines if "probe with" in line)
    assert f"X-Api-Key: {MASK}" in probe and f"key={MASK}" in probe


def test_a_create_logs_one_json_object_on_stdout(tmp_path):
    lines = _run_app_process(tmp_path, "json")
    events = [json.loads(line) for line in lines if line.startswith("{")]
    assert len(events) == len([line for line in lines if line.strip()]), "every line is one JSON object"
    create = next(e for e in events if e.get("event") == "session.create")
    assert create["level"] == "INFO" and create["logger"] == "wahaweb.core.sessions"
    assert create["outcome"] == "ok" and create["user"] == 1 and create["session"].startswith("session_1_")
    assert isinstance(create["execution_time_ms"], float) and create["request_id"] == "req-42"


SECRETS_IN_LINES = [
    ("calling WAHA with X-Api-Key: abcdef123456", "abcdef123456"),
    ("headers={'X-Api-Key': 'abcdef123456'}", "abcdef123456"),
    ('webhooks=[{"url": "http://x/api/waha/webhook", "hmac": {"key": "whsec-9876543210"}}]', "whsec-9876543210"),
    ("sign in failed password=hunter2hunter2 for bob", "hunter2hunter2"),
    ("Authorization: Bearer tok_ABCDEF0123456789", "tok_ABCDEF0123456789"),
    ("Cookie: wahaweb_token=Zm9vYmFyYmF6cXV4", "Zm9vYmFyYmF6cXV4"),
    ("token=Zm9vYmFyYmF6cXV4&next=/", "Zm9vYmFyYmF6cXV4"),
    ("webhook_secret='s3cr3t-value-xyz'", "s3cr3t-value-xyz"),
    ("User(email='a@b.c', password_hash='$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA')", "c2FsdA$aGFzaA"),
    ("WAHA_API_KEY=from-env-123456 started", "from-env-123456"),
]


@pytest.mark.parametrize("line, secret", SECRETS_IN_LINES)
def test_secrets_are_masked_by_shape(line, secret):
    redacted = Redactor()(line)
    assert secret not in redacted and MASK in redacted


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_known_secrets_are_masked_everywhere_in_a_record(captured, fmt):
    buf = captured(fmt, WAHA_API_KEY="operator-waha-key-55", WAHAWEB_METRICS_TOKEN="scrape-token-77")
    log = logging.getLogger("wahaweb.test")
    log.info("url http://waha/%s", "operator-waha-key-55", extra={"detail": "token scrape-token-77"})
    try:
        raise RuntimeError("connect failed for operator-waha-key-55")
    except RuntimeError:
        log.exception("boom")
    out = buf.getvalue()
    assert "operator-waha-key-55" not in out and "scrape-token-77" not in out
    assert len(out.strip().splitlines()) == 2, "a traceback stays on its event's line"


def test_level_and_context_fields(captured):
    buf = captured("json", WAHAWEB_LOG_LEVEL="WARNING")
    log = logging.getLogger("wahaweb.test")
    log.info("hidden")
    with log_context(request_id="r1", user=7, session="session_7_x"):
        log.warning("shown", extra={"session": "explicit"})
    (line,) = buf.getvalue().splitlines()
    body = json.loads(line)
    assert body["message"] == "shown" and body["request_id"] == "r1" and body["user"] == 7
    assert body["session"] == "explicit", "extra= wins over the bound context"


def test_configure_twice_installs_one_handler(captured):
    captured("text")
    configure_logging({"WAHAWEB_LOG_FORMAT": "json"})
    assert len([h for h in logging.getLogger().handlers if getattr(h, HANDLER_MARK, False)]) == 1


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        build_handler("xml")
    with pytest.raises(ValueError):
        configure_logging({"WAHAWEB_LOG_LEVEL": "LOUD"}, stream=io.StringIO(), force=True)
    root = logging.getLogger()
    for h in [h for h in root.handlers if getattr(h, HANDLER_MARK, False)]:
        root.removeHandler(h)


async def test_a_waha_failure_during_create_names_user_and_session(tmp_path, captured):
    """The client's retry and failure lines of a create carry its user and session ids."""
    import dataclasses

    from tests.core.conftest import PASSWORD, fast_hasher
    from wahaweb.core.errors import WahaProblem
    from wahaweb.settings import Settings

    buf = captured("json")

    async def no_sleep(_: float) -> None:
        return None

    settings = dataclasses.replace(Settings(), database_url=f"sqlite+aiosqlite:///{tmp_path / 'w.db'}",
                                   sim_api_key=WAHA_KEY)
    core = await create_core(settings, retry_waits=(0.0,), sleep=no_sleep, password_hasher=fast_hasher())
    try:
        user = await core.accounts.register("fail@example.com", PASSWORD)
        core.demo.simulator.inject(status=503, count=2, path_prefix="/api/sessions")
        with pytest.raises(WahaProblem):
            await core.sessions.create(user)
    finally:
        await core.aclose()
    events = [json.loads(line) for line in buf.getvalue().splitlines()]
    waha = [e for e in events if e["logger"] == "wahaweb.waha"]
    assert any(e["level"] == "WARNING" for e in waha) and any(e["level"] == "ERROR" for e in waha)
    assert all(e.get("user") == user.id and e.get("session", "").startswith(f"session_{user.id}_") for e in waha)
    assert WAHA_KEY not in buf.getvalue()


def test_reflex_never_logs_a_feed_token_for_a_socketless_delta():
    """Every push to a user's live feed made Reflex log "Attempting to send delta to disconnected
    client 'feed…'" with the feed's secret token, on its own handler (failed on old code: the
    record reached the handler). Other tokens' warnings still pass."""
    from wahaweb.observability.log_config import configure_logging

    configure_logging(env={}, stream=io.StringIO())
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    reflex_app = logging.getLogger("reflex.app")
    keep = Keep()
    reflex_app.addHandler(keep)
    try:
        feed = "feed" + "ab12" * 16
        reflex_app.warning(f"Attempting to send delta to disconnected client {feed!r}")  # Reflex's words
        reflex_app.warning(f"Attempting to send delta to disconnected client {'a-tab-token'!r}")
    finally:
        reflex_app.removeHandler(keep)
    assert not any(feed in line for line in seen)
    assert seen == ["Attempting to send delta to disconnected client 'a-tab-token'"]
