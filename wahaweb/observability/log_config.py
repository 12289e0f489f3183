"""Logging for a running wahaweb: one line per event on stdout, configured once per process.

rxconfig.py calls `configure_logging()`: Reflex imports rxconfig in the CLI process and in
every backend worker, so each process that logs is configured, and a second call (the
same process importing it again, tests) changes nothing.

- `WAHAWEB_LOG_FORMAT`: `text` (default, for people) or `json` (one object a line).
- `WAHAWEB_LOG_LEVEL`: level of wahaweb's own loggers (default INFO); other libraries log
  WARNING and above, so httpx's per-request lines do not drown wahaweb's.
- Secrets never reach the line: the handler's `RedactingFilter` masks the WAHA key, the
  webhook secret and the metrics token by value, and any `password=`/`token`/cookie/
  `X-Api-Key` and Reflex's feed and client tokens by shape (see redact.py). Reflex's own
  records go to Reflex's sinks under `reflex run`, not to this handler: the same filter is
  put on those (`redact_reflex_logs`).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import IO

from wahaweb.observability.log_context import ContextFilter
from wahaweb.observability.log_format import JsonFormatter, TextFormatter
from wahaweb.observability.redact import RedactingFilter, Redactor

#: The attribute that marks wahaweb's handler on the root logger (so it is added once).
HANDLER_MARK = "_wahaweb_handler"
#: Environment variables whose values are secrets, masked wherever they appear.
SECRET_VARIABLES = ("WAHA_API_KEY", "WAHAWEB_WEBHOOK_SECRET", "WAHAWEB_METRICS_TOKEN", "WAHAWEB_SIM_API_KEY")
#: Secrets learnt while the process runs (WAHA servers' keys, loaded or typed by an admin).
_REGISTERED: set[str] = set()


def register_secrets(*values: str | None) -> None:
    """Mask these values in every log line from now on, on wahaweb's handler and any built later."""
    fresh = {value for value in values if value}
    if not fresh - _REGISTERED:
        return
    _REGISTERED.update(fresh)
    for handler in [*logging.getLogger().handlers, *_reflex_sinks(load=False)]:
        for found in handler.filters:
            if isinstance(found, RedactingFilter):
                found.redactor.add(*fresh)


def _reflex_sinks(*, load: bool = True) -> list[logging.Handler]:
    """The handlers Reflex writes its records through under `reflex run` (its "managed" mode).

    There the `reflex` logger, parent of every `reflex.*` and `reflex_*` logger, stops
    propagating to the root logger: its records never meet wahaweb's handler, they go to
    Reflex's console sink (or its JSON sink, `--json`) and, with full logging on, to a file.
    The console and JSON sinks are created once per process, so the ones returned here are the
    ones Reflex attaches later (rx.Config() attaches them in a worker, after rxconfig has
    configured wahaweb's logging). Private names of reflex_base 0.10: tests/observability
    checks they still resolve. `load=False`: only if Reflex's logging is loaded (the core, which
    registers secrets, never loads Reflex itself).
    """
    if not load and "reflex_base.utils.log" not in sys.modules:
        return []
    from reflex_base.utils import log
    sinks = list(logging.getLogger("reflex").handlers)
    for name in ("_console_handler", "_json_handler"):
        make = getattr(log, name, None)
        if make is not None:
            sinks.append(make())
    if log.is_managed_mode():
        from reflex_base.environment import environment

        if environment.REFLEX_ENABLE_FULL_LOGGING.get():
            sinks.append(log._file_handler())  # the one Reflex's configure() attaches (created once)
    return list(dict.fromkeys(sinks))


def redact_reflex_logs(secrets: tuple[str | None, ...] = ()) -> None:
    """wahaweb's redaction on Reflex's own sinks: its lines name state tokens (the lock warning
    "Lock for token <token>_<state> was held too long", `LockExpiredError` tracebacks from its
    event processor, "disconnected client '<token>'") and those sinks bypass wahaweb's handler.
    Their tracebacks are rendered from `exc_info` by the sinks themselves, so they are folded
    into the (redacted) message."""
    for sink in _reflex_sinks():
        found = [f for f in sink.filters if isinstance(f, RedactingFilter)]
        if found:
            found[0].redactor.add(*secrets, *_REGISTERED)
        else:
            # First, so the dedupe filter Reflex put before it keys on the redacted message.
            sink.filters.insert(0, RedactingFilter(Redactor((*secrets, *_REGISTERED)), fold_traceback=True))


#: Reflex's line for a delta with no socket to go to. Every write to a user's live feed (`UserFeed`,
#: a shared state written under its secret feed token, which no socket ever holds: the tabs linked to
#: it get their own deltas) hit it, on Reflex's own console handler, with the token in it: a secret
#: in the log, and a console write on the way of every status and QR push.
SOCKETLESS_DELTA = "Attempting to send delta to disconnected client 'feed"


class SocketlessFeedDeltaFilter(logging.Filter):
    """Drops Reflex's warning for a delta to a feed token (by design socketless); others pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(SOCKETLESS_DELTA)


def quiet_feed_deltas() -> None:
    """On Reflex's `reflex.app` logger itself: it writes through its own handler, not ours."""
    logger = logging.getLogger("reflex.app")
    if not any(isinstance(f, SocketlessFeedDeltaFilter) for f in logger.filters):
        logger.addFilter(SocketlessFeedDeltaFilter())


def _level(raw: str | None) -> int:
    name = (raw or "INFO").strip().upper()
    level = logging.getLevelName(name)
    if not isinstance(level, int):
        raise ValueError(f"WAHAWEB_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {raw!r}")
    return level


def build_handler(fmt: str = "text", *, secrets: tuple[str | None, ...] = (),
                  stream: IO[str] | None = None) -> logging.Handler:
    """A stdout handler with wahaweb's format, context ids and redaction."""
    if fmt not in ("text", "json"):
        raise ValueError(f"WAHAWEB_LOG_FORMAT must be 'text' or 'json', got {fmt!r}")
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter(Redactor((*secrets, *_REGISTERED))))
    setattr(handler, HANDLER_MARK, True)
    return handler


def configure_logging(env: Mapping[str, str] | None = None, *, stream: IO[str] | None = None,
                      force: bool = False) -> logging.Handler:
    """Install wahaweb's handler on the root logger (once; `force` replaces it). Returns it."""
    if env is None:
        from wahaweb.settings import (
            _load_dotenv,  # `.env` may set the format, level and secrets
        )

        _load_dotenv()
        env = os.environ
    quiet_feed_deltas()
    redact_reflex_logs(tuple(env.get(name) for name in SECRET_VARIABLES))
    root = logging.getLogger()
    existing = [h for h in root.handlers if getattr(h, HANDLER_MARK, False)]
    if existing and not force:
        return existing[0]
    for handler in existing:
        root.removeHandler(handler)
    handler = build_handler((env.get("WAHAWEB_LOG_FORMAT") or "text").strip().lower(),
                            secrets=tuple(env.get(name) for name in SECRET_VARIABLES), stream=stream)
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level < logging.WARNING or force:
        root.setLevel(logging.WARNING)
    logging.getLogger("wahaweb").setLevel(_level(env.get("WAHAWEB_LOG_LEVEL")))
    return handler
