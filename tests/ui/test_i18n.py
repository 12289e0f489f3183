"""English and Bahasa Indonesia: the catalogues cover every string the UI uses, in both
languages, components hold keys instead of words, and core errors come out translated."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from wahaweb.core.accounts import MESSAGES
from wahaweb.core.errors import CoreError, NotFound, PermissionDenied, PlanLimitReached, RateLimited, WahaProblem
from wahaweb.core.failures import CODES
from wahaweb.core.status import ALL_STATUSES
from wahaweb.i18n import LANGUAGES, LOCALE_DIR, error_text, message_text, negotiate, text
from wahaweb.state.session_page import CONFIRMATIONS
from wahaweb.waha.errors import WahaBadRequest, WahaTimeout, WahaUnavailable, WahaUnprocessable

ROOT = Path(__file__).resolve().parents[2] / "wahaweb"
UI_DIRS = [ROOT / "components", ROOT / "pages", ROOT / "templates", ROOT / "state"]
#: Where the UI names a key: T["key"], self._say("key"), done="key", text(lang, "key").
KEY_PATTERNS = [re.compile(r'\bT\["([a-z_.]+)"\]'), re.compile(r'_say\("([a-z_.]+)"'),
                re.compile(r'done="([a-z_.]+)"'), re.compile(r'\.get\("([a-z_]+\.[a-z_.]+)"')]


def _raw(lang: str) -> dict[str, str]:
    with open(LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return {str(m.id): m.string for m in read_po(f) if m.id}


def _used_keys() -> set[str]:
    keys: set[str] = set()
    for folder in UI_DIRS:
        for path in folder.rglob("*.py"):
            source = path.read_text()
            for pattern in KEY_PATTERNS:
                keys.update(pattern.findall(source))
            for pair in re.findall(r'T\["([a-z_.]+)" if is_login else "([a-z_.]+)"\]', source):
                keys.update(pair)  # auth_form's `T["a" if is_login else "b"]`
    keys |= {f"status.{s}" for s in ALL_STATUSES}
    keys |= {f"confirm.{a}.{part}" for a in CONFIRMATIONS for part in ("title", "text")}
    keys |= {f"error.{code}" for code in MESSAGES}
    keys |= {f"limit.{name}" for name in RateLimited.LABELS}
    keys |= {f"failure.{code}" for code in CODES}
    keys |= {"error.plan_limit", "error.plan_limit_one", "error.plan_limit_no_plan", "error.rate_limited",
             "error.rate_limited_one", "error.waha_unreachable", "error.waha_core_only", "error.waha_timeout", "error.waha_bad_request",
             "error.waha_error", "error.no_capacity", "error.not_found",
             "error.admin_only", "error.error", "thing.session", "thing.user"}
    return keys


def test_both_catalogues_have_the_same_keys_all_translated():
    en, id_ = _raw("en"), _raw("id")
    assert set(en) == set(id_), f"only in en: {set(en) - set(id_)}; only in id: {set(id_) - set(en)}"
    for lang, cat in (("en", en), ("id", id_)):
        empty = [k for k, v in cat.items() if not isinstance(v, str) or not v.strip()]
        assert not empty, f"{lang}: untranslated {empty}"


def test_every_key_the_ui_uses_is_in_both_catalogues():
    used = _used_keys()
    assert len(used) > 100  # the scan really found the components' keys
    for lang in LANGUAGES:
        missing = sorted(used - set(_raw(lang)))
        assert not missing, f"{lang}: no translation for {missing}"


def test_placeholders_match_between_languages():
    en, id_ = _raw("en"), _raw("id")
    names = lambda s: {f for _, f, _, _ in string.Formatter().parse(s) if f}  # noqa: E731
    for key in en:
        assert names(en[key]) == names(id_[key]), key


def test_the_two_languages_really_differ():
    en, id_ = _raw("en"), _raw("id")
    same = [k for k in en if en[k] == id_[k]]
    assert len(same) < len(en) // 10, same  # brand names, "Email", "URL", "Admin" only


#: Calls whose positional string arguments are shown to people, and props that are read aloud.
_TEXT_CALLS = {"text", "heading", "button", "link", "badge", "callout", "label", "trigger", "item", "span",
               "column_header_cell", "title", "description", "option", "code"}
_TEXT_PROPS = {"placeholder", "aria_label", "alt", "title"}


def _bare_literals(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if isinstance(func, ast.Name) and func.id == "template":
            continue  # the document <title> (a Reflex page title is fixed at build time)
        candidates = list(node.args) if name in _TEXT_CALLS else []
        candidates += [kw.value for kw in node.keywords if kw.arg in _TEXT_PROPS]
        for arg in candidates:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and re.search(r"[A-Za-z]", arg.value):
                found.append(f"{path.name}:{node.lineno}: {arg.value!r}")
    return found


def test_components_pass_no_bare_english_literals():
    bare = [hit for folder in (ROOT / "components", ROOT / "pages", ROOT / "templates")
            for path in folder.rglob("*.py") for hit in _bare_literals(path)]
    assert not bare, "words belong in wahaweb/locale, components use AuthState.t[key]:\n" + "\n".join(bare)


@pytest.mark.parametrize(("header", "lang"), [
    ("id-ID,id;q=0.9,en-US;q=0.8,en;q=0.7", "id"), ("en-US,en;q=0.9,id;q=0.8", "en"), ("in", "id"),
    ("fr-FR,fr;q=0.9", "en"), ("", "en"), (None, "en"), ("fr;q=0.9,id;q=0.5,en;q=0.1", "id"), ("id;q=0", "en"),
    ("<script>,;;q=x", "en"),
])
def test_the_browser_language_picks_ours_or_english(header, lang):
    assert negotiate(header) == lang


def test_core_errors_are_translated_with_their_parameters():
    limit = PlanLimitReached("Free", 1, 1)
    assert error_text("en", limit) == str(limit)  # the English catalogue says what the core says
    assert error_text("id", limit).startswith("Batas sesi tercapai: paket Free mengizinkan 1 sesi aktif")
    no_plan = PlanLimitReached(None, 10, 10)
    assert error_text("en", no_plan) == str(no_plan) and "tanpa paket" in error_text("id", no_plan)
    rate = RateLimited("create", 12.2)
    assert error_text("en", rate) == str(rate)
    assert error_text("id", rate) == "Terlalu banyak pembuatan sesi. Tunggu 13 detik lalu coba lagi."
    assert error_text("en", RateLimited("qr", 1)) == str(RateLimited("qr", 1))
    assert error_text("id", NotFound()) == "Sesi tersebut tidak ditemukan."
    assert error_text("id", PermissionDenied()) == "Hanya administrator yang bisa melakukannya."
    down = WahaProblem(WahaUnavailable("connection refused"))
    assert down.code == "waha_unreachable" and "tidak dapat dihubungi" in error_text("id", down)
    core_only = WahaProblem(WahaUnprocessable("WAHA refused", waha_message="WAHA Core support only 'default' session."))
    assert core_only.code == "waha_core_only" and "WAHA Core" in error_text("id", core_only)
    assert "default" in error_text("en", core_only)


def test_an_error_without_words_falls_back_to_its_english_text():
    odd = CoreError("Something new went wrong.", code="something_new")
    assert error_text("id", odd) == str(odd)


def test_wahas_own_text_never_reaches_a_user_whatever_the_failure():
    """WAHA's words (English, its internals, a list of validation messages) are replaced by ours,
    by kind of failure, in both languages. On the old code a 400 and any other refusal fell back
    to WAHA's raw text, and a timeout read as "could not be reached" (seen)."""
    raw = "name must be shorter than or equal to 54 characters; Cannot read properties of undefined"
    cases = {
        "waha_timeout": WahaTimeout(f"WAHA did not answer POST /api/sessions within 5 s: {raw}"),
        "waha_bad_request": WahaBadRequest(f"WAHA refused the request: {raw}", problems=[raw]),
        "waha_error": WahaUnprocessable(f"WAHA refused: {raw}", waha_message=raw),
        "waha_unreachable": WahaUnavailable(f"connection refused: {raw}"),
    }
    for code, cause in cases.items():
        problem = WahaProblem(cause)
        assert problem.code == code
        for lang in LANGUAGES:
            shown = error_text(lang, problem)
            assert shown == text(lang, f"error.{code}") and "54 characters" not in shown and "undefined" not in shown
    assert error_text("id", WahaProblem(cases["waha_timeout"])).startswith("Server WhatsApp tidak menjawab")


def test_form_codes_only_name_known_messages():
    assert message_text("id", "bad_credentials") == "Email atau kata sandi salah."
    assert message_text("en", "bad_credentials") == MESSAGES["bad_credentials"]
    assert message_text("id", "Your account was hacked, call +1 555 0100") == ""
    assert message_text("id", "rate_limited", 42) == "Terlalu banyak percobaan masuk. Tunggu 42 detik lalu coba lagi."
    assert text("id", "no.such.key") == "no.such.key"
