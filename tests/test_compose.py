"""The production compose file, checked statically (images cannot be pulled where wahaweb is built).

Every variable it sets on wahaweb must be one wahaweb's settings read (or Reflex's own), and
every service wahaweb needs must be there and wired: PostgreSQL, Redis, WAHA servers from
WAHA's official image. And the settings refuse a multi-worker set-up that cannot work.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from wahaweb.settings import Settings

REPO = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((REPO / "deploy" / "compose.yaml").read_text())


def settings_variables() -> set[str]:
    """The environment variables `Settings.from_env` reads (found in its source, not listed by hand)."""
    source = (REPO / "wahaweb" / "settings.py").read_text()
    found = set(re.findall(r'env,\s*"([A-Z][A-Z0-9_]+)"', source))
    for path in (REPO / "wahaweb" / "observability").glob("*.py"):  # logging is set up before settings
        found |= set(re.findall(r'"(WAHAWEB_[A-Z0-9_]+)"', path.read_text()))
    return found


def wahaweb_env() -> dict[str, str]:
    return {k: str(v) for k, v in COMPOSE["services"]["wahaweb"]["environment"].items()}


def test_every_variable_set_on_wahaweb_is_one_it_reads():
    read = settings_variables()
    unknown = {name for name in wahaweb_env() if name not in read and not name.startswith(("REFLEX_", "GRANIAN_"))}
    assert not unknown, f"compose sets variables wahaweb never reads: {sorted(unknown)}"


def test_the_services_wahaweb_needs_are_there_and_wired():
    services = COMPOSE["services"]
    env = wahaweb_env()
    waha = [name for name, svc in services.items() if str(svc.get("image", "")).startswith("devlikeapro/waha")]
    assert len(waha) >= 2, "two WAHA servers from WAHA's official image"
    assert urlsplit(env["DATABASE_URL"]).hostname in services and "postgres" in services
    assert env["DATABASE_URL"].startswith("postgresql+asyncpg://")
    for name in ("REDIS_URL", "REFLEX_REDIS_URL"):
        assert urlsplit(env[name]).hostname == "redis" and "redis" in services
    assert urlsplit(env["WAHA_URL"]).hostname in waha
    depends = services["wahaweb"]["depends_on"]
    assert {"postgres", "redis", *waha} <= set(depends)
    for name in waha:  # the key the WAHA servers check is the one wahaweb sends
        assert services[name]["environment"]["WHATSAPP_API_KEY"] == env["WAHA_API_KEY"]
        assert "WHATSAPP_HOOK_URL" not in services[name]["environment"], "global hooks post unsigned events"
    assert int(env["WAHAWEB_WORKERS"]) > 1


def test_the_compose_settings_are_accepted_by_wahaweb():
    env = {k: v for k, v in wahaweb_env().items() if "${" not in v}
    env.update(WAHA_API_KEY="k", WAHAWEB_WEBHOOK_SECRET="s")
    settings = Settings.from_env(env)
    assert settings.workers == 3 and settings.redis_url and settings.waha_url == "http://waha1:3000"


@pytest.mark.parametrize(("env", "words"), [
    ({"WAHAWEB_WORKERS": "3"}, "needs a real WAHA"),
    ({"WAHAWEB_WORKERS": "3", "WAHA_URL": "http://waha:3000"}, "needs REDIS_URL"),
    ({"WAHAWEB_WORKERS": "0"}, "at least 1"),
])
def test_a_multi_worker_setup_that_cannot_work_is_refused_at_start(env, words):
    with pytest.raises(ValueError, match=words):
        Settings.from_env(env)


def test_the_image_migrates_then_runs_the_workers():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "python -m wahaweb.core.migrate" in dockerfile and "GRANIAN_WORKERS=${WAHAWEB_WORKERS" in dockerfile
    assert "requirements.txt" in dockerfile
