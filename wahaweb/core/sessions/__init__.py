"""The session service: every rule about WhatsApp sessions, and the only caller of WAHA for them.

Split by job, one class on top of the other:

- `access`: who may read or act on which session, the audit of every action, reads;
- `observations`: what WAHA and the status engine observe, written to the rows (system);
- `provisioning`: reserve under the plan limit, then create on WAHA (a task the service owns);
- `actions`: the user's actions (start, stop, restart, log out, delete, status, QR, pairing).
"""

from wahaweb.core.sessions.actions import SessionService
from wahaweb.core.sessions.rules import (
    MAX_LABEL_LENGTH,
    AppliedStatus,
    SessionWithOwner,
    validate_label,
    validate_phone,
)

__all__ = ["MAX_LABEL_LENGTH", "SessionService", "SessionWithOwner", "AppliedStatus", "validate_label", "validate_phone"]
