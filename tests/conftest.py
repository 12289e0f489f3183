"""Suite-wide test settings.

Browser tests live in tests/browser and run in their own pytest invocation
(pytest-playwright's event loop clashes with pytest-asyncio); `make test` runs both.
"""

import os

os.environ.setdefault("REFLEX_STATE_MANAGER_MODE", "memory")
os.environ.setdefault("REFLEX_TELEMETRY_ENABLED", "false")
