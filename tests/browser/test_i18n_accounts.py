"""Issue 14 in Chromium: Bahasa Indonesia from the browser or the header switch (remembered on the
account), changing your password on /account, and an admin's one-time reset link."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import PASSWORD, login, register, screenshot

pytestmark = pytest.mark.browser

NEW = "a brand new passphrase"


def test_an_indonesian_browser_gets_the_sign_in_page_in_indonesian(browser, base_url, admin_email):
    context = browser.new_context(locale="id-ID")
    page = context.new_page()
    page.goto(f"{base_url}/login")
    page.wait_for_selector("#login-submit:has-text('Masuk')")
    page.fill("#login-email", "nobody@example.com")
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("text=Email atau kata sandi salah.")
    context.close()


def test_switch_to_indonesian_in_the_header_is_remembered(browser, base_url, admin_email):
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(15_000)
    email = register(page, base_url)
    page.wait_for_selector("h1:has-text('Your WhatsApp sessions'), h2:has-text('Your WhatsApp sessions')")
    page.select_option("#language-switch", "id")
    page.wait_for_selector("text=Sesi WhatsApp Anda")
    page.wait_for_selector("#create-session:has-text('Sesi baru')")
    page.wait_for_selector("#logout:has-text('Keluar')")
    assert page.input_value("#language-switch") == "id"
    assert page.locator("div[lang='id']").count() == 1  # the page says which language it is in
    screenshot(page, "dashboard-id")

    page.reload()
    page.wait_for_selector("text=Sesi WhatsApp Anda")
    assert page.input_value("#language-switch") == "id"
    context.close()

    # Another English browser, the same account: the choice lives on the account.
    other = browser.new_context(locale="en-US")
    page = other.new_page()
    login(page, base_url, email)
    page.wait_for_selector("text=Sesi WhatsApp Anda")
    page.select_option("#language-switch", "en")
    page.wait_for_selector("text=Your WhatsApp sessions")
    other.close()


def test_change_password_on_the_account_page(browser, base_url, admin_email):
    context = browser.new_context()
    page = context.new_page()
    email = register(page, base_url)
    page.goto(f"{base_url}/account")
    page.fill("#current-password", "not my password")
    page.fill("#new-password", NEW)
    page.click("#change-password")
    page.wait_for_selector("#current-password-message:has-text('The current password is wrong.')")
    page.fill("#current-password", PASSWORD)
    page.fill("#new-password", NEW)
    page.click("#change-password")
    page.wait_for_selector("#account-done")
    context.close()

    fresh = browser.new_context()
    page = fresh.new_page()
    page.goto(f"{base_url}/login")
    page.fill("#login-email", email)
    page.fill("#login-password", NEW)
    page.click("#login-submit")
    page.wait_for_selector("#plan-usage")
    fresh.close()


def test_an_admin_reset_link_works_once(browser, base_url, admin_email):
    user_context = browser.new_context()
    user_page = user_context.new_page()
    email = register(user_page, base_url)
    user_context.close()

    admin_context = browser.new_context()
    page = admin_context.new_page()
    login(page, base_url, admin_email)
    page.goto(f"{base_url}/admin")
    row = page.locator("tr", has_text=email)
    row.locator("button[id^='reset-link-']").click()
    link = page.wait_for_selector("#reset-link").inner_text()
    assert re.fullmatch(r"https?://[^/]+/reset\?token=[\w-]{40,}", link), link
    admin_context.close()

    visitor = browser.new_context()
    page = visitor.new_page()
    page.goto(link)
    page.fill("#new-password", NEW)
    page.click("#reset-submit")
    page.wait_for_url(re.compile(r"/login/?\?done=reset"))
    page.wait_for_selector("#auth-info")
    page.fill("#login-email", email)
    page.fill("#login-password", NEW)
    page.click("#login-submit")
    page.wait_for_selector("#plan-usage")
    page.goto(link)  # used once: dead now
    page.wait_for_selector("#reset-error")
    assert page.locator("#reset-submit").count() == 0
    visitor.close()
