"""What happens when an event raises: one redacted log line, and a toast that tells nothing.

Reflex's default handler (`reflex.app.default_backend_exception_handler`) logs the traceback
on Reflex's own sink, past wahaweb's redaction, and outside `--env prod` puts the exception's
text in the toast it sends to the browser. Both carry whatever the exception names: a
`LockExpiredError` names the state's token (`feed<hmac>_...`, a live feed's secret; a tab's
client token), which would hand that feed, or that tab, to whoever reads it.

No `from __future__ import annotations`: Reflex checks this handler's signature by evaluating
its annotations in reflex.app's namespace.
"""

import logging

from reflex_base.event import EventSpec
from reflex_components_sonner.toast import toast

from wahaweb.observability.redact import EVENT_ERRORS_LOGGER

logger = logging.getLogger(EVENT_ERRORS_LOGGER)

TITLE = "An error occurred."
DESCRIPTION = "Contact the website administrator."


def backend_exception_handler(exception: Exception) -> EventSpec:
    """Log `exception` through wahaweb's handler (redacted), and show the browser a generic toast.

    The toast keeps Reflex's id and position (a second error replaces the first, top centre),
    and says the same in dev mode as in prod: never the exception's text.
    """
    logger.error("event raised %s", type(exception).__name__,
                 exc_info=(type(exception), exception, exception.__traceback__))
    return toast(
        TITLE,
        level="error",
        fallback_to_alert=True,
        description=DESCRIPTION,
        position="top-center",
        id="backend_error",
        style={"width": "500px", "white-space": "pre-wrap"},
    )
