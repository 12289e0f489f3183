"""Session ids: `session_{user_id}_{timestamp}_{unique}`, also the WAHA session name.

- `timestamp`: Unix seconds from the injected clock (10 digits until 2286).
- `unique`: 12 characters of [a-z0-9] from `secrets` (about 62 bits).
Only lower-case letters, digits and `_`: safe in WAHA names, URLs and HTML ids.
At most 54 characters (WAHA's limit) for any user id up to 19 digits.
"""

from __future__ import annotations

import re
import secrets

from wahaweb.core.clock import Clock, utcnow

MAX_SESSION_ID_LENGTH = 54
UNIQUE_LENGTH = 12
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"

SESSION_ID_RE = re.compile(r"^session_(?P<user_id>[0-9]+)_(?P<timestamp>[0-9]{10})_(?P<unique>[a-z0-9]{12})$")


def new_session_id(user_id: int, clock: Clock = utcnow) -> str:
    if user_id < 0:
        raise ValueError("user_id must be positive")
    timestamp = int(clock().timestamp())
    unique = "".join(secrets.choice(_ALPHABET) for _ in range(UNIQUE_LENGTH))
    session_id = f"session_{user_id}_{timestamp:010d}_{unique}"
    if len(session_id) > MAX_SESSION_ID_LENGTH:  # only for user ids beyond 19 digits
        raise ValueError(f"session id would exceed {MAX_SESSION_ID_LENGTH} characters")
    return session_id


def is_session_id(value: object) -> bool:
    return isinstance(value, str) and len(value) <= MAX_SESSION_ID_LENGTH and SESSION_ID_RE.match(value) is not None
