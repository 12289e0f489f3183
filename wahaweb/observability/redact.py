"""Keep secrets out of every log line: WAHA keys, webhook secrets, tokens, cookies, passwords.

Two nets, because a secret can reach a log line in two ways:
- by value: the operator's WAHA key or webhook secret, known at start-up, is replaced
  wherever it appears (an exception text from the network stack, a URL, a repr);
- by shape: `X-Api-Key: ...`, `password=...`, `"token": "..."`, `Authorization: Bearer ...`,
  `Cookie: ...`, a webhook's `"hmac": {"key": "..."}`: whatever follows such a name is
  masked, so a secret generated at run time (or a user's password) is caught too;
- Reflex's tokens by shape: a live feed's token (`feed` + 64 hex digits, an HMAC: used as a
  client token it hands out that sign-in's feed) anywhere, and a client token (a UUID) where it
  names a state (`<uuid>_<state name>`, `<uuid>_lock`: Reflex's state and lock keys, in its
  exceptions and lock warnings). In the lines of Reflex's own loggers (and wahaweb's line for an
  event that raised) every UUID is masked: there a bare UUID is a tab's client token. Elsewhere
  a bare UUID stays: an `X-Request-Id` from a proxy (Envoy's are UUIDs) is what ties a line to
  its request, and wahaweb's own ids (sessions `session_<user>_<time>_<base36>`, request ids,
  lease owners) are not UUIDs.
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

# name = value / name: value / "name": "value" / 'name': 'value'. The name starts where a word
# starts and its prefix is bounded: an unanchored `[\w.-]*?` made every position of a long word
# (a client's 10,000 "x" in a frontend error report) scan the rest of it, quadratic work that
# held the event loop for a minute.
_PAIR = re.compile(
    r"""(?P<name>(?<![\w.-])["']?(?:[\w.-]{0,64}?)(?:""" + SECRET_NAMES + r""")["']?)"""
    r"""(?P<sep>\s*[:=]\s*)"""
    r"""(?P<value>"[^"]*"|'[^']*'|(?:Bearer|Basic)\s+[^\s,;&'"}\]]+|[^\s,;&'"}\]]+)""",
    re.IGNORECASE,
)
#: The secret URL a server that cannot sign posts its webhooks to (an access log, a WAHA error).
_HOOK_TOKEN = re.compile(r"(/api/waha/webhook/)[A-Za-z0-9_-]+")
_BEARER = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}", re.IGNORECASE)
#: A live feed's shared-state token (`Core.feed_token`): `feed` + a SHA-256 HMAC in hex.
_FEED_TOKEN = re.compile(r"feed[0-9a-fA-F]{64}")
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
#: A client token naming a state or its lock (`<uuid>_reflex___state____state`, `<uuid>_lock`).
_STATE_KEY_UUID = re.compile(_UUID + r"(?=_)")
_ANY_UUID = re.compile(_UUID)
#: wahaweb's logger for an event handler that raised (wahaweb/event_errors.py).
EVENT_ERRORS_LOGGER = "wahaweb.event_errors"


def names_client_tokens(logger_name: str) -> bool:
    """Reflex's own loggers (`reflex`, `reflex.*`, `reflex_base.*`, ...), wahaweb's line for an
    event that raised, and asyncio's (a task Reflex runs for an event is named
    `reflex_event|<handler>|<client token>|<txid>`: "Task was destroyed but it is pending"):
    where a bare UUID is a tab's client token."""
    return (logger_name in ("reflex", "asyncio", EVENT_ERRORS_LOGGER)
            or logger_name.startswith(("reflex.", "reflex_")))


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

    def __call__(self, text: str, *, all_uuids: bool = False) -> str:
        """`text` with secrets masked; `all_uuids`: every UUID too (a line naming client tokens)."""
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        text = _PAIR.sub(_mask_pair, text)
        text = _HOOK_TOKEN.sub(lambda m: m.group(1) + MASK, text)
        text = _FEED_TOKEN.sub("feed" + MASK, text)
        text = (_ANY_UUID if all_uuids else _STATE_KEY_UUID).sub(MASK, text)
        return _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)


#: LogRecord attributes that are not extras (and are not strings a secret can hide in).
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


class RedactingFilter(logging.Filter):
    """A handler filter: the record leaves it with message, extras and traceback redacted.

    The message is rendered once (`msg % args`) and redacted; the traceback is rendered
    into `exc_text` and redacted, so formatters downstream never see the raw text.
    `fold_traceback` is for handlers that render `exc_info` themselves and ignore `exc_text`
    (Reflex's console and JSON sinks): the redacted traceback joins the message, and the
    record leaves with no `exc_info`.
    """

    def __init__(self, redactor: Redactor, *, fold_traceback: bool = False) -> None:
        super().__init__()
        self.redactor = redactor
        self.fold_traceback = fold_traceback

    def filter(self, record: logging.LogRecord) -> bool:
        all_uuids = names_client_tokens(record.name)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not lose the line
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = self.redactor(message, all_uuids=all_uuids), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor(record.exc_text, all_uuids=all_uuids)
            if self.fold_traceback:
                # A record with Reflex's opt-in markup (`rich=True`) must not read the traceback's
                # brackets as markup: escaped as rich escapes them.
                trace = record.exc_text.replace("[", "\\[") if getattr(record, "rich", False) else record.exc_text
                record.msg, record.exc_info, record.exc_text = f"{record.msg}\n{trace}", None, None
        for name, value in list(vars(record).items()):
            if name not in _STANDARD and isinstance(value, str):
                setattr(record, name, self.redactor(value, all_uuids=all_uuids))
        return True
