"""Names core shares with WAHA and with the HTTP layer: one home for each.

Why here: the session service writes these metadata keys on every WAHA session, the
webhook verifier reads them back, and the route and the service both need the webhook's
path and size limit; a copy in each would drift.
"""

from __future__ import annotations

#: Metadata keys wahaweb puts on every WAHA session it creates.
META_USER_ID = "wahaweb.user_id"
META_USER_EMAIL = "wahaweb.user_email"
META_SESSION_ID = "wahaweb.session_id"

#: Where WAHA posts its events (the route serves it; sessions register `public_url` + this).
WEBHOOK_PATH = "/api/waha/webhook"
#: Larger webhook bodies are refused with 413 (WAHA's session.status events are ~1 KiB).
MAX_WEBHOOK_BYTES = 64 * 1024
