"""The default WAHA server as the panel and the "WAHA unreachable" banner show it.

Every signed-in page load asks for it, so a probe is shared (`wahaweb.core.recent`): a
result a few seconds old is reused, and callers that come while a probe is under way wait
for that one.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable

from wahaweb.core.recent import Recent
from wahaweb.core.servers.registry import ServerRegistry
from wahaweb.waha import WahaClient
from wahaweb.waha.errors import WahaError, WahaUnavailable
from wahaweb.waha.models import ServerVersion

logger = logging.getLogger("wahaweb.core.servers.probe")


@dataclasses.dataclass(frozen=True)
class ServerInfo:
    """The WAHA server as the operator should see it (never its key)."""

    embedded: bool
    url: str
    reachable: bool
    version: str | None = None
    tier: str | None = None
    engine: str | None = None
    error: str | None = None
    latency_ms: float | None = None


class ServerProbe:
    """Asks the default WAHA server for its version; remembers the answer in the registry's row."""

    def __init__(self, waha: WahaClient, servers: ServerRegistry, *, embedded: bool,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._waha = waha
        self._servers = servers
        self._embedded = embedded
        self._recent: Recent[ServerInfo] = Recent(self._probe, monotonic=monotonic)

    async def info(self, *, max_age: float = 0.0) -> ServerInfo:
        """A probe at most `max_age` s old (0: a new one, or the one under way)."""
        return await self._recent.get(max_age)

    async def _probe(self) -> ServerInfo:
        started = time.perf_counter()
        url = "embedded WAHA simulator" if self._embedded else self._waha.base_url
        try:
            version = await self._waha.server_version()
        except WahaError as exc:
            info = ServerInfo(embedded=self._embedded, url=url, reachable=False, error=str(exc),
                              latency_ms=round((time.perf_counter() - started) * 1000, 1))
            await self._record(None, info, answered=not isinstance(exc, WahaUnavailable))
            return info
        info = ServerInfo(embedded=self._embedded, url=url, reachable=True, version=version.version,
                          tier=version.tier, engine=version.engine,
                          latency_ms=round((time.perf_counter() - started) * 1000, 1))
        await self._record(version, info, answered=True)
        return info

    async def _record(self, version: ServerVersion | None, info: ServerInfo, *, answered: bool) -> None:
        """The panel's probe is the default server's probe (placement reads it from the row)."""
        try:
            await self._servers.record_default_probe(version, error=info.error, latency_ms=info.latency_ms,
                                                     answered=answered)
        except Exception:  # noqa: BLE001 - the panel still shows what WAHA said
            logger.exception("could not store the probe of the default WAHA server")
