"""Accessible to everyone: axe-core finds no WCAG 2 A/AA violation on any page, light or dark.

axe-core is vendored (tests/browser/vendor/axe.min.js, MPL-2.0, version in its first line)
so the check runs offline from a fresh clone. Each page is visited in a browser context
that prefers the light or the dark scheme (the app follows the system's), in the states a
person meets it in: sign-in and sign-up, the dashboard with a session, the session page
pairing (QR shown) and connected, and the admin page.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.browser.conftest import PASSWORD, create_session, new_email, register, screenshot

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def axe_violations(page) -> list[dict]:
    """Run axe-core on the page as it is now; returns its violations (empty when clean)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        TAGS,
    )
    return result["violations"]


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"][:6]:
            lines.append(f"    {node['target']}: {node.get('failureSummary', '').splitlines()[-1:]}")
    return "\n".join(lines)


def check(page, name: str, found: dict[str, str]) -> None:
    """Scan, keep a screenshot, remember what failed (all pages are checked before failing)."""
    page.wait_for_load_state("networkidle")
    violations = axe_violations(page)
    if violations:
        screenshot(page, f"axe-{name}")
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / f"axe-{name}.json").write_text(json.dumps(violations, indent=1))
        found[name] = describe(violations)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_passes_axe(browser, base_url, admin_email, scheme):
    found: dict[str, str] = {}
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)

    page.goto(f"{base_url}/login")
    page.wait_for_selector("#login-submit")
    check(page, f"{scheme}-login", found)
    page.goto(f"{base_url}/register")
    page.wait_for_selector("#register-submit")
    check(page, f"{scheme}-register", found)
    page.goto(f"{base_url}/login?error=Wrong+email+or+password.&email=x%40example.com")
    page.wait_for_selector("#login-submit")
    check(page, f"{scheme}-login-error", found)

    # A fresh tab: the sign-in page above left its prefilled e-mail in this tab's state, and
    # its arrival on /register could race the form filling.
    page.close()
    page = context.new_page()
    page.set_default_timeout(20_000)
    register(page, base_url, new_email(f"a11y-{scheme}"))
    check(page, f"{scheme}-dashboard-empty", found)
    session_id = create_session(page, label="Shop phone")
    page.wait_for_selector("#session-qr")
    check(page, f"{scheme}-session-pairing", found)
    page.click("#simulate-scan")
    page.wait_for_selector("#session-status[data-status='connected']")
    check(page, f"{scheme}-session-connected", found)
    page.goto(f"{base_url}/")
    page.wait_for_selector(f"#session-row-{session_id}")
    check(page, f"{scheme}-dashboard", found)
    page.goto(f"{base_url}/sessions/session_0_0_doesnotexist")
    page.wait_for_load_state("networkidle")
    check(page, f"{scheme}-session-not-found", found)
    page.goto(f"{base_url}/account?error=current_password_wrong&field=current")
    page.wait_for_selector("#current-password-message")
    check(page, f"{scheme}-account-error", found)
    page.goto(f"{base_url}/reset?token=no-such-link")
    page.wait_for_selector("#reset-error")
    check(page, f"{scheme}-reset-dead-link", found)
    context.close()

    context = browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{base_url}/login")
    page.fill("#login-email", admin_email)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#plan-usage")
    page.goto(f"{base_url}/admin")
    page.wait_for_selector("#activity-list")
    check(page, f"{scheme}-admin", found)
    context.close()

    assert not found, "axe-core found WCAG 2 A/AA violations:\n" + "\n".join(
        f"[{name}]\n{text}" for name, text in found.items())


def test_admin_activity_shows_emails_with_duration_apart_filtered_and_paged(browser, base_url, admin_email):
    context = browser.new_context()
    page = context.new_page()
    user_email = register(page, base_url, new_email("activity"))
    create_session(page)
    context.close()

    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{base_url}/login")
    page.fill("#login-email", admin_email)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#plan-usage")
    page.goto(f"{base_url}/admin")
    page.wait_for_selector("#activity-list tr")
    create_row = page.locator("#activity-list tr", has_text=user_email).filter(has_text="create").first
    cells = create_row.locator("td").all_inner_texts()
    assert cells[1] == user_email and cells[2] == "create"
    assert cells[6].endswith(" ms") and not cells[5].endswith(" ms")  # detail and duration apart
    page.fill("#activity-filter-session", "no-such-session-id")
    page.wait_for_function("() => document.querySelectorAll('#activity-list tr').length === 0")
    assert "(0 events)" in page.inner_text("#activity-page")
    page.fill("#activity-filter-session", "")
    page.click("#activity-filter-action")
    page.get_by_role("option", name="create", exact=True).click()
    page.wait_for_function("""() => {
        const rows = [...document.querySelectorAll('#activity-list tr')];
        return rows.length > 0 && rows.every(r => r.cells[2].innerText === 'create');
    }""")
    context.close()
