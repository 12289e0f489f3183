"""Request, session and user ids that every log line of one request or action carries.

A contextvar holds the ids of what is being done now; `ContextFilter` copies them onto
each record (as `request_id`, `user`, `session`) unless the call already gave them with
`extra=`. asyncio copies contextvars into each task, so ids bound at the start of a
request follow every log line it causes, even in tasks it starts.

    with log_context(request_id="9f2c...", user=3):
        ...                       # every record in here carries them
    bind(session="session_3_...") # add to the current context (until it ends)
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator
from typing import Any

#: The fields lifted onto records, in the order the text format prints them.
FIELDS = ("request_id", "user", "session")

_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("wahaweb_log_context", default={})


def current() -> dict[str, Any]:
    """The ids bound now (a copy)."""
    return dict(_context.get())


def bind(**ids: Any) -> None:
    """Add ids to the current context; None values are ignored."""
    _context.set({**_context.get(), **{k: v for k, v in ids.items() if v is not None}})


@contextlib.contextmanager
def log_context(**ids: Any) -> Iterator[None]:
    """Bind ids for the duration of the block, then restore what was bound before."""
    token = _context.set({**_context.get(), **{k: v for k, v in ids.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    """Puts the bound ids on each record; ids given with `extra=` win."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context.get().items():
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        return True
