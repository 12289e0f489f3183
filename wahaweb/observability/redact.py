"""Keep secrets out of every log line: WAHA keys, webhook secrets, tokens, cookies, passwords.

Two nets, because a secret can reach a log line in two ways:
- by value: the operator's WAHA key or webhook secret, known at start-up, is replaced
  wherever it appears (an exception text from the network stack, a URL, a repr);
- by shape: `X-Api-Key: ...`, `password=...`, `"token": "..."`, `Authorization: Bearer ...`,
  `Cookie: ...`, a webhook's `"hmac": {"key": "..."}`: whatever follows such a name is
  masked, so a secret generated at run time (or a user's password) is caught too.
`RedactingFilter` applies them to a record's message, arguments, extras and traceback
before any handler formats it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

MASK = "***"

#: Names whose value is a secret, as they appear in headers, query strings, JSON and reprs.
SECRET_NAMES = (
    r"x-api-key|api[_-]?key|apikey|waha_api_key|secret|webhook[_-]?secret|token|access[_-]?token"
    r"|refresh[_-]?token|password[_-]?hash|password|passwd|pwd|cookie|set-cookie|session[_-]?token|authorization|hmac[_-]?key"
    r"|wahaweb_token|key"
)

# name = value / name: value / "name": "value" / 'name': 'value'
_PAIR = re.compile(
    r"""(?P<name>["']?(?:[\w.-]*?)(?:""" + SECRET_NAMES + r""")["']?)"""
    r"""(?P<sep>\s*[:=]\s*)"""
    r"""(?P<value>"[^"]*"|'[^']*'|(?:Bearer|Basic)\s+[^\s,;&'"}\]]+|[^\s,;&'"}\]]+)""",
    re.IGNORECASE,
)
#: The secret URL a server that cannot sign posts its webhooks to (an access log, a WAHA error).
_HOOK_TOKEN = re.compile(r"(/api/waha/webhook/)[A-Za-z0-9_-]+")
_BEARER = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}", re.IGNORECASE)


def _mask_pair(match: re.Match[str]) -> str:
    value = match.group("value")
    if value.startswith(('"', "'")):
        masked = value[0] + MASK + value[0]
    elif value.lower().startswith(("bearer ", "basic ")):
        masked = value.split()[0] + " " + MASK
    else:
        masked = MASK
    return f"{match.group('name')}{match.group('sep')}{masked}"


class Redactor:
    """Masks known secret values and anything that looks like `secret-name = value`."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        # Longest first, so a secret containing another is masked whole; very short values
        # (under 6 characters) are not matched by value: they would mask ordinary words.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def add(self, *secrets: str | None) -> None:
        """Also mask these values (e.g. a secret generated once the process runs)."""
        self.secrets = sorted({*self.secrets, *(s for s in secrets if s and len(s) >= 6)}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        text = _PAIR.sub(_mask_pair, text)
        text = _HOOK_TOKEN.sub(lambda m: m.group(1) + MASK, text)
        return _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)


#: LogRecord attributes that are not extras (and are not strings a secret can hide in).
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


class RedactingFilter(logging.Filter):
    """A handler filter: the record leaves it with message, extras and traceback redacted.

    The message is rendered once (`msg % args`) and redacted; the traceback is rendered
    into `exc_text` and redacted, so formatters downstream never see the raw text.
    """

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not lose the line
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = self.redactor(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor(record.exc_text)
        for name, value in list(vars(record).items()):
            if name not in _STANDARD and isinstance(value, str):
                setattr(record, name, self.redactor(value))
        return True
