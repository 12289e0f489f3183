"""wahaweb's own HTTP routes: health, sign-in cookie, metrics. Driven in-process over ASGI."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from wahaweb import runtime
from wahaweb.api.auth import COOKIE_NAME
from wahaweb.api.routes import build_api
from wahaweb.core.container import Core
from wahaweb.core.errors import AuthError
from wahaweb.settings import Settings

PASSWORD = "correct horse battery"


@pytest.fixture
async def use_core(tmp_path):
    made: list[Core] = []

    async def install(**overrides) -> Core:
        settings = dataclasses.replace(Settings(), database_url=f"sqlite+aiosqlite:///{tmp_path / 'api.db'}",
                                       **overrides)
        core = await Core.create(settings, retry_waits=())
        made.append(core)
        runtime._core = core
        return core

    yield install
    runtime._core = None
    for core in made:
        await core.aclose()


def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=build_api()), base_url="http://testserver")


async def test_health_is_200_with_db_and_waha_up(use_core):
    await use_core()
    async with client() as c:
        r = await c.get("/api/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "db": "ok", "waha": "ok"}


async def test_health_is_503_and_names_waha_when_it_is_down(use_core):
    await use_core(waha_url="http://127.0.0.1:9", waha_api_key="secret-key-xyz")
    async with client() as c:
        r = await c.get("/api/health")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "unavailable" and body["db"] == "ok" and "127.0.0.1:9" in body["waha"]
    assert "secret-key-xyz" not in r.text


async def test_register_sets_an_httponly_cookie_and_logout_revokes_it(use_core):
    core = await use_core()
    async with client() as c:
        r = await c.post("/api/auth/register", data={"email": "a@example.com", "password": PASSWORD, "next": "/admin"})
        assert r.status_code == 303 and r.headers["location"] == "/admin"
        cookie = r.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE_NAME}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
        token = r.cookies[COOKIE_NAME]
        user = await core.accounts.authenticate(token)
        assert user.email == "a@example.com"
        out = await c.post("/api/auth/logout", cookies={COOKIE_NAME: token})
        assert out.status_code == 303 and out.headers["location"] == "/login"
    with pytest.raises(AuthError):
        await core.accounts.authenticate(token)


async def test_bad_sign_in_goes_back_with_the_message_and_no_cookie(use_core):
    await use_core()
    async with client() as c:
        r = await c.post("/api/auth/login", data={"email": "nobody@example.com", "password": PASSWORD})
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?error=Wrong+email+or+password.")
    assert "set-cookie" not in r.headers


async def test_cross_site_posts_and_open_redirects_are_refused(use_core):
    await use_core()
    async with client() as c:
        r = await c.post("/api/auth/login", data={"email": "x@example.com", "password": PASSWORD},
                         headers={"origin": "https://evil.example"})
        assert r.status_code == 403
        await c.post("/api/auth/register", data={"email": "b@example.com", "password": PASSWORD})
        r = await c.post("/api/auth/login", data={"email": "b@example.com", "password": PASSWORD,
                                                  "next": "//evil.example/x"})
    assert r.status_code == 303 and r.headers["location"] == "/"


async def test_metrics_are_for_admins_only(use_core):
    await use_core()
    async with client() as c:
        assert (await c.get("/api/metrics")).status_code == 401
        admin = await c.post("/api/auth/register", data={"email": "admin@example.com", "password": PASSWORD})
        admin_token = admin.cookies[COOKIE_NAME]
        user = await c.post("/api/auth/register", data={"email": "user@example.com", "password": PASSWORD})
        user_token = user.cookies[COOKIE_NAME]
        c.cookies.clear()
        assert (await c.get("/api/metrics", cookies={COOKIE_NAME: user_token})).status_code == 403
        r = await c.get("/api/metrics", cookies={COOKIE_NAME: admin_token})
    assert r.status_code == 200
    body = r.json()
    assert body["users"] == 2 and "create_ms_p95" in body and "sessions_by_status" in body
