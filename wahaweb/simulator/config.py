"""Settings of one simulated WAHA server.

WAHA's own timers are long (a QR lives 60 s, then 20 s), which is right for a demo and
hopeless for a test suite; ``time_scale`` divides every one of them so a test can watch a
whole QR rotation in a fraction of a second while the sequence stays WAHA's.

``profile`` picks the WAHA release to behave like (see ``profile.py``); ``version``,
``tier`` and ``engine`` default to the profile's and may be overridden one by one.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from typing import Literal

from .profile import PLUS_2026_7, Profile, get_profile

Tier = Literal["plus", "core"]
ENGINES = ("WEBJS", "NOWEB", "GOWS", "WPP")
WAHA_VERSION = "2026.7.1"
SESSION_NAME_MAX_LENGTH = 54


@dataclass(frozen=True)
class SimulatorConfig:
    api_key: str | None = None
    """Value expected in ``X-Api-Key``; None or "" leaves the API open, like WAHA without a key."""
    qr_delay: float = 0.8
    """Seconds from start to the first QR (absolute: not divided by ``time_scale``)."""
    time_scale: float = 1.0
    """Divides WAHA's timers: QR lifetimes and the 5 s QR wait."""
    tier: Tier | None = None
    """"core" reproduces WAHA Core's one-session ('default' only) refusal (default: the profile's)."""
    engine: str | None = None
    """Default: the profile's (WEBJS on plus-2026.7, NOWEB on core-2024.10)."""
    version: str | None = None
    profile: str = PLUS_2026_7
    """Which WAHA release to behave like: "plus-2026.7" or "core-2024.10"."""
    action_delay: float = 0.0
    """Seconds stop/restart/logout/PUT take before answering (real WAHA: about 3; absolute)."""
    qr_first_lifetime: float = 60.0
    qr_next_lifetime: float = 20.0
    qr_max_count: int = 6
    qr_wait: float = 5.0
    """How long a QR request waits for SCAN_QR_CODE before answering 422 (scaled)."""
    webhook_timeout: float = 5.0
    """Per-delivery timeout of a webhook POST (absolute)."""
    status_history: int = 10
    """How many recent status points a webhook's ``payload.statuses`` carries."""

    def __post_init__(self) -> None:
        behaviour = get_profile(self.profile)
        for name in ("tier", "engine", "version"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, getattr(behaviour, name))
        if self.action_delay < 0:
            raise ValueError("action_delay must not be negative")
        if self.tier not in ("plus", "core"):
            raise ValueError(f"tier must be 'plus' or 'core', not {self.tier!r}")
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {self.engine!r}")
        if self.time_scale <= 0:
            raise ValueError("time_scale must be positive")
        if self.qr_delay < 0:
            raise ValueError("qr_delay must not be negative")
        if self.qr_max_count < 1:
            raise ValueError("qr_max_count must be at least 1")

    @property
    def behaviour(self) -> Profile:
        """The profile's flags (the release this simulator plays)."""
        return get_profile(self.profile)

    @property
    def checks_api_key(self) -> bool:
        return bool(self.api_key) and self.behaviour.checks_api_key

    def scaled(self, seconds: float) -> float:
        """A WAHA duration on this simulator's clock."""
        return seconds / self.time_scale

    def environment(self) -> dict:
        """The ``WAHAEnvironment`` answered by /api/server/version and sent in webhooks."""
        return {
            "version": self.version,
            "engine": self.engine,
            "tier": str(self.tier).upper(),
            "browser": "/usr/bin/chromium" if self.engine in ("WEBJS", "WPP") else "",
            "platform": f"{platform.system().lower()}/{platform.machine() or 'x64'}",
            "worker": {"id": "waha-simulator"},
        }
