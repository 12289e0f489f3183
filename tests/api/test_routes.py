"""wahaweb's own HTTP routes: health, sign-in cookie, metrics. Driven in-process over ASGI."""

from __future__ import annotations

import functools

import httpx
import pytest

from wahaweb.api.routes import build_api
from wahaweb.core.errors import AuthError
from wahaweb.web.cookies import COOKIE_NAME

PASSWORD = "correct horse battery"


@pytest.fixture
def use_core(serve_core):
    """`await use_core(**settings)`: a Core behind `API` (see `serve_core` in tests/conftest.py)."""
    return functools.partial(serve_core, API, core_options={"retry_waits": ()})


#: The routes under test; each test's Core is put where the lifespan puts the app's.
API = build_api()


def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=API), base_url="http://testserver")


async def test_health_is_200_with_db_and_waha_up(use_core):
    await use_core()
    async with client() as c:
        r = await c.get("/api/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


async def test_health_tells_a_stranger_only_degraded_and_an_admin_why(use_core):
    await use_core(waha_url="http://127.0.0.1:9", waha_api_key="secret-key-xyz")
    async with client() as c:
        r = await c.get("/api/health")
        assert r.status_code == 503
        assert r.json() == {"status": "degraded"}  # no URL, no error text for a signed-out visitor
        assert "127.0.0.1" not in r.text and "secret-key-xyz" not in r.text
        admin = await c.post("/api/auth/register", data={"email": "admin@example.com", "password": PASSWORD})
        customer = await c.post("/api/auth/register", data={"email": "c@example.com", "password": PASSWORD})
        c.cookies.clear()
        as_customer = await c.get("/api/health", cookies={COOKIE_NAME: customer.cookies[COOKIE_NAME]})
        as_admin = await c.get("/api/health", cookies={COOKIE_NAME: admin.cookies[COOKIE_NAME]})
    assert as_customer.json() == {"status": "degraded"}
    body = as_admin.json()
    assert body["status"] == "degraded" and body["db"] == "ok" and "127.0.0.1:9" in body["waha"]
    assert "secret-key-xyz" not in as_admin.text


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
    assert r.headers["location"].startswith("/login?error=bad_credentials&")  # a code, never text
    assert "set-cookie" not in r.headers


async def test_the_login_page_only_shows_known_message_codes():
    from wahaweb.api.messages import message_for

    assert message_for("bad_credentials") == "Wrong email or password."
    assert message_for("Your account was hacked, call +1 555 0100") == ""
    assert message_for("rate_limited", "42") == "Too many sign-in attempts. Please wait 42 seconds and try again."
    assert "seconds" in message_for("rate_limited", "<script>")


async def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy():
    from wahaweb.api.client_ip import client_ip, parse_networks

    proxies = parse_networks(["10.0.0.0/8", "127.0.0.1"])
    assert client_ip("203.0.113.9", "1.2.3.4", proxies) == "203.0.113.9"  # not a proxy: header ignored
    assert client_ip("203.0.113.9", "1.2.3.4", ()) == "203.0.113.9"
    assert client_ip("10.1.2.3", "1.2.3.4", proxies) == "1.2.3.4"
    # The left-most entries are the client's own words: the last untrusted hop counts.
    assert client_ip("10.1.2.3", "6.6.6.6, 1.2.3.4, 10.9.9.9", proxies) == "1.2.3.4"
    with pytest.raises(ValueError, match="WAHAWEB_TRUSTED_PROXIES"):
        parse_networks(["not-an-ip"])


async def test_sign_ups_are_limited_per_client(use_core):
    await use_core()
    async with client() as c:
        answers = [await c.post("/api/auth/register", data={"email": f"n{i}@example.com", "password": PASSWORD})
                   for i in range(7)]
    codes = [r.headers["location"] for r in answers]
    assert sum(1 for loc in codes if "error=sign_up_limited" in loc) == 2, codes


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


def test_the_websocket_origin_rule():
    from wahaweb.web.origins import origin_policy

    allowed = origin_policy(["https://admin.example.com/"])
    env = {"HTTP_HOST": "wa.example.com"}
    assert allowed("https://wa.example.com", env)
    assert allowed("https://admin.example.com", env)
    assert not allowed("https://wa.example.com.evil.net", env)
    assert not allowed("http://wa.example.com:8080", env)  # same site, other port: another origin
    assert not allowed("https://other.example.com", env)  # a sibling subdomain
    assert not allowed("https://wa.example.com", {})


def test_next_paths_with_control_characters_are_refused():
    from wahaweb.web.cookies import safe_next

    for bad in ("/\t/evil.example", "/\n/evil.example", "/ /evil.example", "//evil.example", "/\\evil.example",
                "https://evil.example", "/api/auth/logout"):
        assert safe_next(bad) == "/", repr(bad)
    assert safe_next("/sessions/session_1_2_abc?x=1") == "/sessions/session_1_2_abc?x=1"
