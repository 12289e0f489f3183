"""One module per scenario; importing this package registers them all (see registry.py).

To add one: write ``benchmarks/scenarios/<name>.py`` with an ``@scenario(...)`` coroutine
and import it below.
"""

from benchmarks.scenarios import (  # noqa: F401  (imported to register)
    backend_memory,
    concurrent_50_users,
    old_php_flow,
    physical_limit,
    rewrite_flow,
    waha_requests,
    wahaweb_ack,
    wahaweb_qr_state,
    wahaweb_qr_visible,
)
