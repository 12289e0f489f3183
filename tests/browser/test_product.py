"""The product as a customer and an operator meet it, in Chromium against the production build."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import (
    PASSWORD,
    SIM_API_KEY,
    Traffic,
    create_session,
    login,
    new_email,
    register,
    screenshot,
)
from tests.qr_decode import decode_data_url, decode_gray

pytestmark = pytest.mark.browser


def test_signed_out_visit_goes_to_login_and_back(browser, base_url, admin_email):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{base_url}/admin")
    page.wait_for_url(re.compile(r"/login\?next=%2Fadmin"))
    screenshot(page, "login")
    page.fill("#login-email", admin_email)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(re.compile(r"/admin/?$"))
    # Issue 3's first page lives on in /admin: which WAHA wahaweb talks to.
    page.wait_for_selector("#waha-reachable[data-reachable='true']")
    assert page.inner_text("#waha-url") == "embedded WAHA simulator"
    assert re.match(r"\d{4}\.\d+\.\d+", page.inner_text("#waha-version"))
    assert page.inner_text("#waha-tier") == "PLUS"
    assert page.locator("#demo-banner").is_visible()
    screenshot(page, "admin")
    context.close()


def test_register_errors_are_shown_by_the_field(page, base_url, admin_email):
    page.goto(f"{base_url}/register")
    page.fill("#register-email", new_email())
    page.fill("#register-password", "short")
    page.click("#register-submit")
    page.wait_for_url(re.compile(r"/register/?\?error="))
    message = page.wait_for_selector("#register-password-message:has-text('must be at least 10 characters')")
    assert page.get_attribute("#register-password", "aria-invalid") == "true"
    assert "short" not in page.url  # the password itself never travels back
    assert message.is_visible()
    screenshot(page, "register-error")


def test_wrong_password_gets_one_generic_message(page, base_url, admin_email):
    page.goto(f"{base_url}/login")
    page.fill("#login-email", admin_email)
    page.fill("#login-password", "not the password at all")
    page.click("#login-submit")
    page.wait_for_selector("text=Wrong email or password.")


def test_create_pair_connect_with_live_update_in_a_second_tab(browser, base_url, admin_email):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    traffic = Traffic()
    page = context.new_page()
    traffic.attach(page)
    register(page, base_url)
    screenshot(page, "dashboard-empty")
    assert page.inner_text("#plan-usage") == "0 / 1"
    assert page.get_attribute("#plan-usage", "data-plan") == "Free"

    dashboard = context.new_page()
    traffic.attach(dashboard)
    dashboard.goto(base_url + "/")
    dashboard.wait_for_selector("#plan-usage")

    session_id = create_session(page, "Sales line")
    page.wait_for_selector("#session-qr")
    assert page.get_attribute("#session-qr", "src").startswith("data:image/svg+xml,")
    page.wait_for_function("/\\d+ s/.test(document.querySelector('#qr-countdown').innerText)")
    screenshot(page, "session-pairing")

    # The other tab learnt about the new session without any action of its own.
    dashboard.wait_for_selector(f"#session-row-{session_id}")

    viewer = context.new_page()  # a second tab on the same session page
    traffic.attach(viewer)
    viewer.goto(f"{base_url}/sessions/{session_id}")
    viewer.wait_for_selector("#session-qr")

    page.click("#simulate-scan")
    page.wait_for_selector("#session-status[data-status='connected']")
    page.wait_for_selector("#session-phone")
    assert re.fullmatch(r"\+\d{8,15}", page.inner_text("#session-phone"))
    assert page.locator("#session-qr").count() == 0
    screenshot(page, "session-connected")

    dashboard.wait_for_selector(f"#session-row-{session_id}[data-status='connected']")
    # The other tab's page flipped by itself, its timeline included.
    viewer.wait_for_selector("#session-status[data-status='connected']")
    viewer.wait_for_selector("text=-> connected")
    assert dashboard.inner_text("#plan-usage") == "1 / 1"
    screenshot(dashboard, "dashboard")

    assert not traffic.contains(SIM_API_KEY), "the WAHA key reached the browser"
    assert not traffic.contains("$argon2"), "a password hash reached the browser"
    context.close()


def test_plan_limit_refusal_names_plan_and_limit(page, base_url, admin_email):
    register(page, base_url)
    create_session(page)
    page.goto(base_url + "/")
    page.wait_for_selector("#plan-usage:has-text('1 / 1')")
    page.wait_for_timeout(1100)  # the create button's own one-second cool-down
    page.click("#create-session")
    notice = page.wait_for_selector("#notice >> text=Session limit reached")
    text = notice.inner_text()
    assert "Free plan" in text and "1 active session" in text
    assert page.url.rstrip("/") == base_url
    screenshot(page, "plan-limit")


def test_rate_limit_refusal_says_how_long_to_wait(page, base_url, admin_email):
    register(page, base_url)
    for _ in range(5):
        create_session(page)
        page.click("#delete-session")
        page.click("#confirm")
        page.wait_for_url(re.compile(r"/$"))
        page.wait_for_selector("#plan-usage:has-text('0 / 1')")
        page.wait_for_timeout(1100)  # the button's own one-second cool-down
    page.click("#create-session")
    notice = page.wait_for_selector("#notice >> text=Too many session creations")
    assert re.search(r"wait \d+ seconds?", notice.inner_text())


def test_other_users_session_is_not_found_and_never_sent(browser, base_url, admin_email):
    owner_ctx = browser.new_context()
    owner = owner_ctx.new_page()
    register(owner, base_url)
    session_id = create_session(owner, "Private line")
    owner_ctx.close()

    intruder_ctx = browser.new_context()
    intruder = intruder_ctx.new_page()
    traffic = Traffic()
    traffic.attach(intruder)
    register(intruder, base_url)
    intruder.goto(f"{base_url}/sessions/{session_id}")
    intruder.wait_for_selector("#not-found")
    assert intruder.locator("#session-status").count() == 0
    intruder.goto(base_url + "/")
    intruder.wait_for_selector("#plan-usage")
    intruder.wait_for_timeout(500)
    assert session_id not in intruder.content()
    # The URL the intruder typed is in his own requests; nothing the server sent may name it.
    sent_by_server = [c for c in traffic.chunks if session_id in c and "Private line" in c]
    assert sent_by_server == []
    assert not traffic.contains("Private line")
    screenshot(intruder, "not-found")
    intruder_ctx.close()


def test_an_admin_on_a_customers_pairing_page_is_told_the_qr_is_the_owners(browser, base_url, admin_email):
    """Only the owner's sign-ins get a session's QR codes (they pair a phone to it): an admin on a
    customer's pairing page sees the status and is told so, not a spinner that never ends."""
    owner_ctx = browser.new_context()
    owner = owner_ctx.new_page()
    register(owner, base_url)
    session_id = create_session(owner, "Owner's line")
    owner.wait_for_selector("img#session-qr", timeout=30000)  # the owner has his QR

    admin_ctx = browser.new_context()
    admin = admin_ctx.new_page()
    login(admin, base_url, admin_email)
    admin.goto(f"{base_url}/sessions/{session_id}")
    admin.wait_for_selector("#session-status[data-status=pairing]", timeout=30000)
    admin.wait_for_selector("#qr-owner-only")
    admin.wait_for_timeout(1000)
    assert admin.locator("#session-qr").count() == 0
    screenshot(admin, "admin-on-customer-pairing")
    admin_ctx.close()
    owner_ctx.close()


def test_stop_restart_delete_each_ask_for_confirmation(page, base_url, admin_email):
    register(page, base_url)
    session_id = create_session(page)
    page.wait_for_selector("#session-status[data-status='pairing']")

    page.click("#stop-session")
    page.wait_for_selector("#confirm")
    page.keyboard.press("Escape")
    page.wait_for_timeout(300)
    assert page.get_attribute("#session-status", "data-status") == "pairing"

    page.click("#stop-session")
    page.click("#confirm")
    page.wait_for_selector("#session-status[data-status='stopped']")

    page.click("#restart-session")
    page.click("#confirm")
    page.wait_for_selector("#session-status[data-status='pairing'], #session-status[data-status='starting']")

    page.click("#delete-session")
    page.click("#confirm")
    page.wait_for_url(re.compile(r"/$"))
    page.wait_for_selector("#plan-usage:has-text('0 / 1')")
    assert page.locator(f"#session-row-{session_id}").count() == 0


def test_sign_out_then_back_shows_nothing_private(page, base_url, admin_email):
    email = register(page, base_url)
    create_session(page, "Secret label")
    page.goto(base_url + "/")
    page.wait_for_selector("text=Secret label")
    page.click("#logout")
    page.wait_for_url(re.compile(r"/login"))
    page.go_back()
    page.wait_for_timeout(1500)
    assert "/login" in page.url
    assert "Secret label" not in page.content()
    assert email not in page.content()
    login(page, base_url, email)
    page.wait_for_selector("text=Secret label")


def test_phone_width_and_dark_mode(browser, base_url, admin_email):
    context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark")
    page = context.new_page()
    register(page, base_url)
    create_session(page, "Tablet")
    page.wait_for_selector("#session-qr")
    box = page.locator("#session-qr").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert box["width"] >= 220 and box["height"] >= 220  # ~3.5 px a module for WhatsApp's version-9 code
    # What Chromium painted decodes, to the text of the SVG sent (WhatsApp's shape: ref, three keys).
    [text] = painted_qr_text(page)
    assert decode_data_url(page.get_attribute("#session-qr", "src")) == [text]
    assert re.fullmatch(r"2@[A-Za-z0-9+/=]+(,[A-Za-z0-9+/=]{44}){3}", text)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "session-phone-dark")
    context.close()


def painted_qr_text(page) -> list[str]:
    """The #session-qr <img> drawn onto a canvas at its size on screen, read back in gray, decoded."""
    width, height, gray = page.evaluate("""() => {
        const img = document.querySelector('#session-qr');
        const w = Math.round(img.getBoundingClientRect().width), h = Math.round(img.getBoundingClientRect().height);
        const canvas = document.createElement('canvas');
        canvas.width = w; canvas.height = h;
        const ctx = canvas.getContext('2d');
        ctx.fillStyle = 'white'; ctx.fillRect(0, 0, w, h);
        ctx.drawImage(img, 0, 0, w, h);
        const rgba = ctx.getImageData(0, 0, w, h).data, gray = new Array(w * h);
        for (let i = 0; i < w * h; i++) gray[i] = rgba[4 * i];
        return [w, h, gray];
    }""")
    return decode_gray(bytes(gray), width, height)

