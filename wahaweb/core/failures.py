"""Why a session failed, as a code its owner sees in words, apart from the text operators read.

A session's `last_error` keeps the words for operators: wahaweb's own sentence, or what the
WAHA client said (which may quote WAHA's answer and name the server's URL). That text goes to
the log and to admins only. Its owner is shown `last_error_code` instead, through the UI's
catalogues (`failure.<code>`, English and Bahasa Indonesia), and the session's timeline shows
a customer only the parts of an audit detail that wahaweb wrote itself (`public_detail`).
"""

from __future__ import annotations

import re

from wahaweb.core.errors import waha_failure_code
from wahaweb.core.status import ALL_STATUSES
from wahaweb.waha.errors import WahaError

#: wahaweb's own reasons (operators' words) and their codes.
MISSING_REASON = "The session no longer exists on WAHA."
LOGGED_OUT_REASON = "The phone was logged out: WhatsApp no longer links this session to it."
QR_EXHAUSTED_REASON = "No phone scanned the QR code in time, so WAHA gave up on this session."
STUCK_REASON = ("The session stayed in STARTING for more than {secs:g} seconds, even after an automatic "
                "restart. Restart it, or delete it and create a new one.")
NEVER_CREATED_REASON = "The session was never created on WAHA."
NAME_TAKEN_REASON = "A different session with this name already exists on WAHA."
WAHA_FAILED_REASON = "WAHA reports the session as failed."

#: A failure of no known kind (and every row failed before codes existed): "this session failed".
GENERIC = "failed"
MISSING = "session_missing"
LOGGED_OUT = "logged_out"
QR_EXHAUSTED = "qr_exhausted"
STUCK = "stuck_starting"
NEVER_CREATED = "never_created"
NAME_TAKEN = "name_taken"
WAHA_FAILED = "waha_failed"
#: What a WAHA client error can be (`wahaweb.core.errors.waha_failure_code`).
WAHA_CODES = ("waha_timeout", "waha_unreachable", "waha_core_only", "waha_bad_request", "waha_error")
#: Every code a row can carry; the catalogues have `failure.<code>` for each (tests/ui/test_i18n.py).
CODES = (GENERIC, MISSING, LOGGED_OUT, QR_EXHAUSTED, STUCK, NEVER_CREATED, NAME_TAKEN, WAHA_FAILED, *WAHA_CODES)

_BY_REASON = {
    MISSING_REASON: MISSING,
    LOGGED_OUT_REASON: LOGGED_OUT,
    QR_EXHAUSTED_REASON: QR_EXHAUSTED,
    NEVER_CREATED_REASON: NEVER_CREATED,
    NAME_TAKEN_REASON: NAME_TAKEN,
    WAHA_FAILED_REASON: WAHA_FAILED,
}


def code_for(reason: str | BaseException | None) -> str:
    """The code of a failure: a WAHA client error by its kind, one of our reasons by its words, else GENERIC."""
    if isinstance(reason, WahaError):
        return waha_failure_code(reason)
    if isinstance(reason, str):
        if reason in _BY_REASON:
            return _BY_REASON[reason]
        if reason.startswith(STUCK_REASON.split("{", 1)[0]):
            return STUCK
    return GENERIC


_STATUS = "|".join(sorted(ALL_STATUSES))
#: The parts of an audit detail that are wahaweb's own words with no outside text in them.
_PUBLIC = (re.compile(rf"^(?:{_STATUS}) -> (?:{_STATUS})\b"), re.compile(r"^phone ending \d{4}$"))


def public_detail(detail: str | None) -> str:
    """What a customer may read of an audit detail on their session's timeline.

    Kept: a status transition ("starting -> failed", without the reason after it) and the
    pairing phone's last digits. Everything else (a WAHA answer, a server URL, an operator's
    reason) is left out: the card shows the failure's kind in the customer's language.
    """
    if not detail:
        return ""
    for pattern in _PUBLIC:
        match = pattern.match(detail)
        if match:
            return match.group(0)
    return ""
