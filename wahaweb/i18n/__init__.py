"""The UI's words in English and Bahasa Indonesia, from gettext catalogues.

Why this shape:
- The catalogues are ordinary `.po` files (`wahaweb/locale/{en,id}/LC_MESSAGES/messages.po`)
  that translators can edit with any gettext tool. They are read with Babel at first use,
  so a fresh clone needs no compile step.
- Every msgid is a stable key (`dashboard.title`), and English is a catalogue like the
  other: components never hold text, only keys (see `wahaweb.state.auth.AuthState.t`).
- The core raises errors with a `code` and `params`; `error_text` turns them into words
  here, in the UI layer. A code with no entry falls back to the error's English `str()`.
No `import reflex`: the tests use this module directly.
"""

from __future__ import annotations

import functools
import re
import string
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

from wahaweb.core.errors import CoreError, RateLimited

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DEFAULT = "en"
#: Language code -> its own name (shown as is in the switch, in every language).
LANGUAGES: dict[str, str] = {"en": "English", "id": "Bahasa Indonesia"}
#: Older or regional tags that mean one of ours ("in" is Indonesian's pre-1989 ISO code).
_ALIASES = {"in": "id"}
_TAG = re.compile(r"^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$|^\*$")


@functools.cache
def catalog(lang: str) -> dict[str, str]:
    """msgid -> msgstr of one language (untranslated entries left out)."""
    if lang not in LANGUAGES:
        lang = DEFAULT
    with open(LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        po = read_po(f, locale=lang)
    return {str(m.id): str(m.string) for m in po if m.id and isinstance(m.string, str) and m.string}


def supported(lang: str | None) -> str | None:
    """`lang` if it names one of our languages (aliases mapped), else None."""
    if not lang:
        return None
    lang = _ALIASES.get(lang.lower(), lang.lower())
    return lang if lang in LANGUAGES else None


def negotiate(accept_language: str | None) -> str:
    """The best of our languages for an Accept-Language header (English when none fits)."""
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "")[:512].split(",")):
        tag, _, rest = part.strip().partition(";")
        if not _TAG.match(tag):
            continue
        quality = 1.0
        match = re.search(r"q=([0-9.]+)", rest)
        if match:
            try:
                quality = float(match.group(1))
            except ValueError:
                continue
        lang = supported(tag.split("-")[0])
        if lang and quality > 0:
            choices.append((-quality, index, lang))
    return min(choices)[2] if choices else DEFAULT


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def text(lang: str, key: str, **params: Any) -> str:
    """The words for `key` in `lang` (English, then the key itself, when missing), filled in."""
    words = catalog(lang).get(key) or catalog(DEFAULT).get(key) or key
    if not params:
        return words
    return string.Formatter().vformat(words, (), _Blank(params))


def error_text(lang: str, exc: CoreError) -> str:
    """A core error in the user's language; its English `str()` when we have no words for it."""
    params = dict(exc.params)
    key = f"error.{exc.code}"
    if key not in catalog(DEFAULT):
        return str(exc)
    if isinstance(exc, RateLimited):
        params["what"] = text(lang, f"limit.{exc.name}") if f"limit.{exc.name}" in catalog(DEFAULT) else exc.name
        if exc.retry_after_seconds == 1:
            key = "error.rate_limited_one"
    elif exc.code == "plan_limit" and params.get("limit") == 1:
        key = "error.plan_limit_one"
    elif exc.code == "not_found":
        params["what"] = text(lang, f"thing.{params.get('what', 'session')}")
    return text(lang, key, **params)


def message_text(lang: str, code: str, wait: int | None = None) -> str:
    """A form's message code from a query string; unknown codes say nothing (empty)."""
    if not code:
        return ""
    if code in ("rate_limited", "sign_up_limited"):
        seconds = wait if wait is not None and 0 < wait < 100_000 else 60
        return error_text(lang, RateLimited("sign_up" if code == "sign_up_limited" else "sign_in", seconds))
    key = f"error.{code}"
    return text(lang, key) if key in catalog(DEFAULT) else ""


def ui_keys() -> frozenset[str]:
    """Every key the catalogues define (for the tests)."""
    return frozenset(catalog(DEFAULT))


__all__ = ["DEFAULT", "LANGUAGES", "catalog", "error_text", "message_text", "negotiate", "supported", "text"]
