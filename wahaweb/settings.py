"""Settings from environment variables (and a `.env` file when present).

One frozen object, read once per process, so every layer agrees on the same
values and tests can build their own with `Settings.from_env(environ)`.
Nothing here imports Reflex: core and the WAHA client use it too.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: The base URL the WAHA client uses for the embedded simulator. It never goes
#: over the network: the client is wired to the simulator's ASGI app in-process.
EMBEDDED_WAHA_URL = "http://embedded-waha.local"
#: wahaweb's own URL as the embedded simulator sees it (webhooks are delivered in-process).
EMBEDDED_PUBLIC_URL = "http://wahaweb.embedded"


def _load_dotenv() -> None:
    """Load `.env` from the project root without overriding real variables."""
    env_file = PROJECT_ROOT / ".env"
    if env_file.is_file():
        from dotenv import load_dotenv

        load_dotenv(env_file, override=False)


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from exc


def _str(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip()


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated list (spaces ignored)."""
    return tuple(item.strip() for item in (env.get(name) or "").split(",") if item.strip())


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything an operator can configure. See README "Configuration"."""

    #: WAHA base URL; None means "use the embedded simulator".
    waha_url: str | None = None
    #: WAHA's X-Api-Key. Never sent to the browser.
    waha_api_key: str | None = None
    waha_connect_timeout: float = 2.0
    waha_read_timeout: float = 10.0

    #: SQLAlchemy async URL (sqlite+aiosqlite / postgresql+asyncpg).
    database_url: str = f"sqlite+aiosqlite:///{PROJECT_ROOT / 'wahaweb.db'}"
    #: Optional Redis for shared rate limits and watcher leases.
    redis_url: str | None = None

    #: URL at which WAHA can reach wahaweb's webhook; None disables webhooks.
    public_url: str | None = None
    #: HMAC key for WAHA webhooks; generated and stored on first start when unset.
    webhook_secret: str | None = None

    default_session_limit: int = 10
    signup_plan: str = "Free"
    token_ttl_hours: float = 24 * 14

    #: Embedded simulator knobs (ignored with a real WAHA).
    #: Random per process unless set: the embedded simulator lives in-process.
    sim_api_key: str = dataclasses.field(default_factory=lambda: secrets.token_urlsafe(24))
    sim_qr_delay: float = 0.8
    sim_time_scale: float = 1.0
    #: Which WAHA the embedded simulator behaves like: plus-2026.7 (default) or core-2024.10.
    sim_profile: str = "plus-2026.7"

    #: New accounts per client (a `limits` rate such as "5/hour"): every account brings a plan slot.
    sign_up_rate: str = "5/hour"
    #: Sign-in attempts per client (all counted): an office behind one NAT signs in from one address.
    sign_in_client_rate: str = "20/15 minutes"
    #: Reverse proxies (IPs or CIDR networks) whose X-Forwarded-For is believed; empty: none.
    trusted_proxies: tuple[str, ...] = ()
    #: Origins besides the app's own that may open its websocket (e.g. https://admin.example.com).
    allowed_origins: tuple[str, ...] = ()

    #: Backend worker processes (`make run` and the image pass it to Reflex). More than one needs
    #: a real WAHA (the embedded simulator lives in one process) and Redis (shared state, pushes).
    workers: int = 1
    #: Tests only: pages show which backend worker serves them (`#worker-id`). Never in production.
    test_hooks: bool = False

    #: Status watcher intervals.
    status_fast_interval: float = 0.3
    status_slow_interval: float = 10.0

    #: Bearer token for Prometheus' scrape of /metrics; None turns /metrics off (404).
    metrics_token: str | None = None

    #: Encrypts WAHA servers' API keys at rest; generated and stored in the database when unset.
    secret_key: str | None = None
    #: Capacity the `default` server (WAHA_URL, or the embedded simulator) gets when first seeded.
    default_server_capacity: int = 50

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError("WAHAWEB_WORKERS must be at least 1")
        if self.workers > 1 and self.waha_url is None:
            raise ValueError("WAHAWEB_WORKERS > 1 needs a real WAHA (WAHA_URL): the embedded simulator lives in "
                             "one process")
        if self.workers > 1 and not self.redis_url:
            raise ValueError("WAHAWEB_WORKERS > 1 needs REDIS_URL (and REFLEX_REDIS_URL): workers share rate limits, "
                             "the status watcher's lease and Reflex's state through Redis")

    @property
    def embedded(self) -> bool:
        """True when wahaweb runs its own WAHA simulator (no WAHA_URL)."""
        return self.waha_url is None

    @property
    def effective_waha_url(self) -> str:
        return self.waha_url or EMBEDDED_WAHA_URL

    @property
    def effective_waha_api_key(self) -> str | None:
        return self.sim_api_key if self.embedded else self.waha_api_key

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from a mapping (default: the process environment)."""
        if env is None:
            _load_dotenv()
            env = os.environ
        default = cls()
        waha_url = _str(env, "WAHA_URL")
        return cls(
            waha_url=waha_url.rstrip("/") if waha_url else None,
            waha_api_key=_str(env, "WAHA_API_KEY"),
            waha_connect_timeout=_float(env, "WAHA_CONNECT_TIMEOUT", default.waha_connect_timeout),
            waha_read_timeout=_float(env, "WAHA_READ_TIMEOUT", default.waha_read_timeout),
            database_url=_str(env, "DATABASE_URL", default.database_url) or default.database_url,
            redis_url=_str(env, "REDIS_URL"),
            # The embedded simulator posts its webhooks in-process, to this made-up host.
            public_url=(_str(env, "WAHAWEB_PUBLIC_URL") or "").rstrip("/")
            or (None if waha_url else EMBEDDED_PUBLIC_URL),
            webhook_secret=_str(env, "WAHAWEB_WEBHOOK_SECRET"),
            default_session_limit=_int(env, "WAHAWEB_DEFAULT_SESSION_LIMIT", default.default_session_limit),
            signup_plan=_str(env, "WAHAWEB_SIGNUP_PLAN", default.signup_plan) or default.signup_plan,
            token_ttl_hours=_float(env, "WAHAWEB_TOKEN_TTL_HOURS", default.token_ttl_hours),
            sim_api_key=_str(env, "WAHAWEB_SIM_API_KEY", default.sim_api_key) or default.sim_api_key,
            sim_qr_delay=_float(env, "WAHAWEB_SIM_QR_DELAY", default.sim_qr_delay),
            sim_time_scale=_float(env, "WAHAWEB_SIM_TIME_SCALE", default.sim_time_scale),
            sim_profile=_str(env, "WAHAWEB_SIM_PROFILE", default.sim_profile) or default.sim_profile,
            sign_up_rate=_str(env, "WAHAWEB_SIGN_UP_RATE", default.sign_up_rate) or default.sign_up_rate,
            sign_in_client_rate=_str(env, "WAHAWEB_SIGN_IN_CLIENT_RATE", default.sign_in_client_rate)
            or default.sign_in_client_rate,
            trusted_proxies=_list(env, "WAHAWEB_TRUSTED_PROXIES"),
            allowed_origins=tuple(o.rstrip("/") for o in _list(env, "WAHAWEB_ALLOWED_ORIGINS")),
            workers=_int(env, "WAHAWEB_WORKERS", default.workers),
            test_hooks=(_str(env, "WAHAWEB_TEST_HOOKS", "") or "") == "1",
            status_fast_interval=_float(env, "WAHAWEB_STATUS_FAST_INTERVAL", default.status_fast_interval),
            status_slow_interval=_float(env, "WAHAWEB_STATUS_SLOW_INTERVAL", default.status_slow_interval),
            metrics_token=_str(env, "WAHAWEB_METRICS_TOKEN"),
            secret_key=_str(env, "WAHAWEB_SECRET_KEY"),
            default_server_capacity=_int(env, "WAHAWEB_DEFAULT_SERVER_CAPACITY", default.default_server_capacity),
        )


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings.from_env()
