"""The two line formats of wahaweb's stdout log: text for people, JSON for collectors.

Both put one event on exactly one line (a traceback is folded into that line), with the
time in UTC ISO 8601, the level, the logger, the message, then the ids and the fields
given with `extra=` (e.g. `event`, `outcome`, `execution_time_ms` of a create).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from wahaweb.observability.log_context import FIELDS

#: LogRecord attributes that are not fields of the event.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


def _timestamp(record: logging.LogRecord) -> str:
    return dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The ids first, then the extras, in the order they were given; None values dropped."""
    fields = {name: getattr(record, name) for name in FIELDS if getattr(record, name, None) is not None}
    for name, value in vars(record).items():
        if name not in _STANDARD and name not in fields and not name.startswith("_") and value is not None:
            fields[name] = value
    return fields


def _exception(formatter: logging.Formatter, record: logging.LogRecord) -> str | None:
    if record.exc_info and not record.exc_text:
        record.exc_text = formatter.formatException(record.exc_info)
    return record.exc_text or None


class TextFormatter(logging.Formatter):
    """`2026-11-28T10:00:00.123Z INFO wahaweb.core.sessions message | request_id=... user=3`.

    Fields already in the message (`key=value`) are not repeated.
    """

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        extras = " ".join(f"{k}={v}" for k, v in event_fields(record).items() if f"{k}=" not in message)
        line = f"{_timestamp(record)} {record.levelname} {record.name} {message}"
        if extras:
            line += f" | {extras}"
        exc = _exception(self, record)
        if exc:
            line += " | " + exc
        return line.replace("\r", "").replace("\n", "\\n")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: `ts`, `level`, `logger`, `message`, ids, extras, `exc`."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {"ts": _timestamp(record), "level": record.levelname, "logger": record.name,
                                "message": record.getMessage()}
        for name, value in event_fields(record).items():
            body.setdefault(name, value)
        exc = _exception(self, record)
        if exc:
            body["exc"] = exc
        return json.dumps(body, default=str, ensure_ascii=False)
