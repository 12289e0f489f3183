"""An event that raises, and Reflex's own lines: no feed or client token in a log line or a toast.

Reflex names a state by its token (`feed<hmac>_reflex___state____state`, `<uuid>_...`): in its
`LockExpiredError`, in its "Lock for token ... was held too long" warning, in the tracebacks its
event processor logs. Under `reflex run` those lines go to Reflex's own sinks, not wahaweb's
handler; and its default exception handler put the exception's text in the browser's toast.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
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


def _assert_generic_toast(spec: object) -> None:
    from wahaweb.event_errors import DESCRIPTION, TITLE

    shown = repr(spec)
    assert TITLE in shown and DESCRIPTION in shown and "backend_error" in shown and "top-center" in shown
    assert "LockExpiredError" not in shown and "Lock expired" not in shown and "feed" not in shown


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_the_handler_logs_no_token_and_toasts_no_exception_text(captured, fmt):
    """Reflex's default handler (dev mode) failed this: the traceback with the feed token went to
    Reflex's logger and "LockExpiredError: Lock expired for token feed…" into the toast."""
    from reflex.utils.exec import is_prod_mode

    from wahaweb.event_errors import backend_exception_handler

    assert not is_prod_mode(), "dev mode: where Reflex's default put the exception in the toast"
    buf = captured(fmt)
    spec = backend_exception_handler(_lock_expired(FEED))
    out = buf.getvalue()
    assert FEED not in out and "0123456789abcdef" * 4 not in out
    (line,) = out.splitlines()  # one line, the traceback folded into it
    if fmt == "json":
        event = json.loads(line)
        assert event["logger"] == "wahaweb.event_errors" and event["level"] == "ERROR"
        assert "LockExpiredError" in event["message"] and "Lock expired for token feed***" in event["exc"]
    else:
        assert " ERROR wahaweb.event_errors event raised LockExpiredError" in line
        assert "Traceback" in line and "Lock expired for token feed***" in line
    _assert_generic_toast(spec)


def test_a_client_token_in_an_event_error_is_masked(captured):
    from wahaweb.event_errors import backend_exception_handler

    buf = captured()
    try:
        raise KeyError(CLIENT)  # a bare client token: in this logger's lines every UUID is one
    except KeyError as exc:
        backend_exception_handler(exc)
    assert CLIENT not in buf.getvalue() and "KeyError" in buf.getvalue()


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


def test_the_app_handles_backend_exceptions_with_wahaweb_s_handler():
    """Failed on the old code: rx.App kept Reflex's default_backend_exception_handler. In a fresh
    process (the app module builds the pages and registers the states); Reflex's own check of the
    handler's signature (run when the app sets up its state) accepts it."""
    code = ("import wahaweb.wahaweb as w, wahaweb.event_errors as e; h = w.app.backend_exception_handler;"
            "w.app._validate_exception_handlers(); print(h is e.backend_exception_handler, h.__module__)")
    env = {**os.environ, "PYTHONPATH": str(REPO), "REFLEX_TELEMETRY_ENABLED": "false"}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "True wahaweb.event_errors"


def test_asyncio_naming_a_reflex_event_task_masks_its_client_token(captured):
    """Reflex names each event's task `reflex_event|<handler>|<client token>|<txid>`; asyncio prints
    that name in "Task was destroyed but it is pending" (a worker stopping with a background
    `ServerState.check` still waiting for a hung WAHA)."""
    buf = captured()
    logging.getLogger("asyncio").error("Task was destroyed but it is pending!\ntask: <Task pending "
                                       "name='reflex_event|state.server_state.check|%s|7'>", CLIENT)
    assert CLIENT not in buf.getvalue() and "Task was destroyed" in buf.getvalue()


# A hang guard, not a speed check: the quadratic pattern took about 12 s for 10,000 characters here,
# so 200,000 would take over an hour; the linear one takes milliseconds.
@pytest.mark.timeout(60)
def test_a_long_word_from_a_client_is_redacted_in_linear_time():
    """Any client may report a frontend error (Reflex's `handle_frontend_exception`, allow-listed) and
    Reflex logs its text; through the redactor a 10,000-character word held the event loop for 12 s
    (the protocol test's flood sends several: sign-ins timed out for a minute)."""
    line = "x" * 200_000 + " token=abc123 " + "y" * 200_000
    redacted = Redactor()(line, all_uuids=True)
    assert "abc123" not in redacted and "token=" + MASK in redacted and len(redacted) == len(line) - 3
