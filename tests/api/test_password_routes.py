"""The password forms over HTTP: change (current password, other sign-ins revoked) and reset
links (single use), with the sign-in form's Origin rule and message codes."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.api.test_routes import PASSWORD, client, use_core  # noqa: F401  (use_core is a fixture)
from wahaweb.core.errors import AuthError
from wahaweb.web.cookies import COOKIE_NAME

NEW = "a brand new passphrase"


def _query(response: httpx.Response) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


async def _signed_in(c: httpx.AsyncClient, email: str, *, register: bool = True) -> str:
    r = await c.post(f"/api/auth/{'register' if register else 'login'}", data={"email": email, "password": PASSWORD})
    assert r.status_code == 303, r.text
    return r.cookies[COOKIE_NAME]


async def test_change_needs_the_current_password_and_revokes_other_sign_ins(use_core):  # noqa: F811
    core = await use_core()
    async with client() as here, client() as elsewhere:
        await _signed_in(here, "owner@example.com")
        other = await _signed_in(elsewhere, "owner@example.com", register=False)
        wrong = await here.post("/api/auth/password", data={"current_password": "nope", "new_password": NEW})
        assert wrong.status_code == 303
        assert _query(wrong) == {"error": "current_password_wrong", "field": "current"}
        await core.accounts.authenticate(other)  # a wrong current password revokes nothing

        short = await here.post("/api/auth/password", data={"current_password": PASSWORD, "new_password": "x"})
        assert _query(short) == {"error": "password_min_length", "field": "new"}

        ok = await here.post("/api/auth/password", data={"current_password": PASSWORD, "new_password": NEW})
        assert ok.status_code == 303 and ok.headers["location"] == "/account?done=1"
        await core.accounts.authenticate(here.cookies[COOKIE_NAME])  # this browser stays signed in
        with pytest.raises(AuthError):
            await core.accounts.authenticate(other)
        assert (await here.post("/api/auth/login", data={"email": "owner@example.com", "password": NEW})
                ).headers["location"] == "/"


async def test_change_signed_out_or_cross_site_is_refused(use_core):  # noqa: F811
    await use_core()
    async with client() as c:
        r = await c.post("/api/auth/password", data={"current_password": PASSWORD, "new_password": NEW})
        assert r.status_code == 303 and urlsplit(r.headers["location"]).path == "/login"
        await _signed_in(c, "owner@example.com")
        r = await c.post("/api/auth/password", data={"current_password": PASSWORD, "new_password": NEW},
                         headers={"Origin": "http://evil.example"})
        assert r.status_code == 403


async def test_reset_link_works_once_and_signs_everyone_out(use_core):  # noqa: F811
    core = await use_core()
    async with client() as admin_c, client() as user_c:
        await _signed_in(admin_c, "admin@example.com")
        user_cookie = await _signed_in(user_c, "user@example.com")
        admin = await core.accounts.authenticate(admin_c.cookies[COOKIE_NAME])
        user = await core.accounts.authenticate(user_cookie)
        token = await core.passwords.create_reset_link(admin, user.id)

        weak = await user_c.post("/api/auth/reset", data={"token": token, "new_password": "short"})
        assert _query(weak) == {"error": "password_min_length", "field": "new", "token": token}

        r = await user_c.post("/api/auth/reset", data={"token": token, "new_password": NEW})
        assert r.status_code == 303 and r.headers["location"] == "/login?done=reset"
        with pytest.raises(AuthError):
            await core.accounts.authenticate(user_cookie)

        again = await user_c.post("/api/auth/reset", data={"token": token, "new_password": "another passphrase"})
        assert _query(again) == {"error": "reset_link_invalid"}
        assert (await user_c.post("/api/auth/login", data={"email": "user@example.com", "password": NEW})
                ).headers["location"] == "/"
        r = await user_c.post("/api/auth/reset", data={"token": token, "new_password": NEW},
                              headers={"Origin": "http://evil.example"})
        assert r.status_code == 403
