"""An event that raises, and Reflex's own lines: no feed or client token in a log line or a toast.

Reflex names a state by its token (`feed<hmac>_reflex___state____state`, `<uuid>_...`): in its
`LockExpiredError`, in its "Lock for token ... was held too long" warning, in the tracebacks its
event processor logs. Under `reflex run` those lines go to Reflex's own sinks, not wahaweb's
handler; and its default exception handler put the exception's text in the browser's toast.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from wahaweb.observability.redact import MASK, Redactor

REPO = Path(__file__).resolve().parents[2]
FEED = "feed" + "0123456789abcdef" * 4
CLIENT = "6f1c2a9e-3b7d-4e21-9c55-0a8b7e6d5f43"
STATE = "reflex___state____state"


def _lock_expired(token: str) -> Exception:
    """Reflex's exception at the end of an event whose Redis state lock expired, with a traceback."""
    from reflex_base.utils.exceptions import LockExpiredError

    try:
        raise LockExpiredError(f"Lock expired for token {token}_{STATE} while processing event x.y.")
    except LockExpiredError as exc:
        return exc


@pytest.mark.parametrize(
    "line, kept",
    [
        (f"Lock expired for token {FEED}_{STATE}", "Lock expired for token feed***_reflex___state"),
        (f"b'{FEED}_lock' was released", f"b'feed{MASK}_lock' was released"),
        (f"Lock for token {CLIENT}_{STATE} was held too long", f"Lock for token {MASK}_{STATE} was held"),
        (f"{CLIENT}_lock released", f"{MASK}_lock released"),
    ],
)
def test_reflex_tokens_are_masked_by_shape(line, kept):
    redacted = Redactor()(line)
    assert FEED not in redacted and CLIENT not in redacted
    assert kept in redacted


def test_ids_that_are_not_tokens_stay():
    """A session id tells the operator which session; a proxy's UUID request id ties a line to its
    request: both stay in wahaweb's lines. In Reflex's lines a bare UUID is a client token."""
    line = f"session.create session=session_12_1764400000_a1b2c3d4e5f6 request_id={CLIENT}"
    assert Redactor()(line) == line
    assert Redactor()(f"disconnected client {CLIENT!r}", all_uuids=True) == f"disconnected client '{MASK}'"


@pytest.fixture
def reflex_sinks(captured, monkeypatch):
    """Logging as under `reflex run`: wahaweb's (rxconfig) first, then Reflex's sinks (rx.Config()),
    which stop the `reflex` logger from propagating to wahaweb's handler."""
    from reflex_base.utils import log

    captured()
    monkeypatch.setenv("REFLEX_MANAGED_LOGGING", "true")

    def attach(json_mode: bool = False) -> None:
        monkeypatch.setenv("REFLEX_LOG_JSON", "true" if json_mode else "false")
        log.configure()

    yield attach
    log._reset()


@pytest.mark.parametrize("json_mode", [False, True])
def test_reflex_sinks_write_no_token(reflex_sinks, capsys, json_mode):
    """Failed on the old code: Reflex's console and JSON sinks wrote the feed token of its lock
    warning, and the client token in the traceback its event processor logs."""
    reflex_sinks(json_mode)
    assert logging.getLogger("reflex").propagate is False, "Reflex's sinks, not wahaweb's handler"
    redis = logging.getLogger("reflex.istate.manager.redis")
    redis.warning(f"Lock for token {FEED}_{STATE} was held too long time_taken=31.2s, "
                  "consider increasing lock_expiration")  # Reflex's words (redis.py)
    processor = logging.getLogger("reflex_base.event.processor.event_processor")
    try:
        raise _lock_expired(CLIENT)
    except Exception:  # noqa: BLE001 - what the processor does with a task that raised
        processor.exception("Error in task [txid=1]:")
    captured = capsys.readouterr()
    written = (captured.out + captured.err).replace("\n", "")  # rich wraps long words across lines
    assert "held too long" in written and "Error in task" in written and "LockExpiredError" in written
    assert FEED not in written and "0123456789abcdef" * 4 not in written
    assert CLIENT not in written
    assert f"Lock for token feed{MASK}_{STATE}" in written


def test_a_traceback_folded_into_a_markup_record_stays_text(reflex_sinks, capsys):
    """Reflex's sinks render `exc_info` themselves, so the redacted traceback joins the message; in
    a record with Reflex's opt-in markup its brackets must not be read as markup."""
    from reflex_base.utils.log import _console_handler, _json_handler

    reflex_sinks()
    assert all(any(type(f).__name__ == "RedactingFilter" for f in sink.filters)
               for sink in (_console_handler(), _json_handler())), "reflex_base 0.10's sinks found"
    try:
        raise RuntimeError(f"no state [/] for {CLIENT}_{STATE}")  # "[/]": markup that closes nothing
    except RuntimeError:
        logging.getLogger("reflex.app").error("[bold]failed[/bold]", exc_info=True, extra={"rich": True})
    err = capsys.readouterr().err
    assert "Logging error" not in err and "failed" in err and "[bold]" not in err
    assert "RuntimeError: no state [/] for ***_" in err.replace("\n", "")
