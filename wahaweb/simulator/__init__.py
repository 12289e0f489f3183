"""A faithful WAHA (WhatsApp HTTP API) simulator: the embedded default, and the test double.

It speaks WAHA 2026.7.1 as published in ``shared/waha/openapi.json`` for the endpoints
wahaweb uses (sessions, lifecycle, me, QR, pairing code, server version/status, health,
screenshot, ping, the ``/ws`` events socket), with WAHA's statuses, QR rotation,
400/401/404/422 bodies, and ``session.status`` webhooks signed with HMAC-SHA512; with
``SimulatorConfig(profile="core-2024.10")`` it behaves like a WAHA Core 2024.10.8 server
instead (no key check, ``default`` only, unsigned webhooks...). It imports nothing else of
wahaweb, and holds no module-level state: several simulators can run in one process.

    sim = Simulator(SimulatorConfig(api_key="k", qr_delay=0.8, time_scale=1.0, tier="plus"),
                    webhook_transport=None)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url="http://waha")
    ...
    await sim.aclose()

Standalone: ``python -m wahaweb.simulator --port 3001 --api-key KEY`` (see ``--help``).

Simulator-only controls live under ``/_sim/`` (same ``X-Api-Key``; never WAHA paths, never
faulted, never in the request log):

=======  =====================================  ===============================================
POST     /_sim/sessions/{name}/scan             the phone links: SCAN_QR_CODE -> WORKING; optional
                                                body ``{"phone": "628...", "pushName": "..."}``;
                                                422 in any other status
POST     /_sim/sessions/{name}/passkey          the phone asks for a passkey: -> PASSKEY_REQUIRED,
                                                or ``{"confirm": true}`` ->
                                                PASSKEY_CONFIRMATION_REQUIRED; ``scan`` then links
POST     /_sim/sessions/{name}/fail             the engine breaks: -> FAILED
POST     /_sim/sessions/{name}/logout-phone     device removed on the phone: WORKING -> FAILED,
                                                ``me`` null, auth lost
GET      /_sim/sessions/{name}                  SessionInfo + account, qr_number, qr_value,
                                                pairing_phone, statuses
GET      /_sim/faults                           the faults in force
POST     /_sim/faults                           any of ``{"status": 503, "count": 2,
                                                "path_prefix": "/api/sessions"}``,
                                                ``{"latency_ms": 250}``, ``{"refuse_seconds": 3}``
DELETE   /_sim/faults                           clear every fault
GET      /_sim/requests                         WAHA-path request log: ``[{method, path, status,
                                                time, duration_ms}]`` (status 0 = dropped)
DELETE   /_sim/requests                         clear it (answers ``{"cleared": n}``)
GET      /_sim/webhooks                         webhook delivery outcomes
=======  =====================================  ===============================================

The same controls exist as Python methods on ``Simulator``: ``scan``, ``passkey``, ``fail``,
``logout_phone``, ``inject``, ``clear_faults``, ``requests``, ``clear_requests``,
``webhook_deliveries``, ``drain_webhooks``, ``wait_for_status``.
"""

from .config import SimulatorConfig
from .engine import SessionStatus
from .errors import SimulatorError
from .profile import CORE_2024_10, PLUS_2026_7, PROFILES, Profile
from .simulator import Simulator
from .webhooks import sign as sign_webhook

__all__ = [
    "CORE_2024_10",
    "PLUS_2026_7",
    "PROFILES",
    "Profile",
    "SessionStatus",
    "Simulator",
    "SimulatorConfig",
    "SimulatorError",
    "sign_webhook",
]
