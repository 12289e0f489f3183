"""wahaweb's Prometheus metrics: one `Metrics` object per Core, owning its own registry.

Nothing here is a module-level global: the Core container builds one `Metrics` and hands
it (or one of its small recorders) to whatever records, through constructors. Recording
is synchronous and cheap; the one database-derived series (sessions by state and server)
is read when `/metrics` is scraped, through an async source the Core provides.

Several workers: when `PROMETHEUS_MULTIPROC_DIR` is set (before the process starts),
prometheus-client writes every worker's values to files in that directory and `render()`
adds them up with its `MultiProcessCollector`, so any worker answering a scrape gives the
totals of all of them. Sessions by state come from the database, the same for every
worker, so they are not kept in those files. See README "Metrics".
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Iterator, Mapping

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

logger = logging.getLogger("wahaweb.observability")

CONTENT_TYPE = CONTENT_TYPE_LATEST
NAMESPACE = "wahaweb"
CREATE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
WAHA_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
TICK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

#: (state, server) -> number of sessions, read from the database at scrape time.
SessionCounts = Mapping[tuple[str, str], int]
SessionSource = Callable[[], Awaitable[SessionCounts]]


class _Snapshot:
    """A collector that yields the session counts read just before the scrape."""

    def __init__(self) -> None:
        self.counts: SessionCounts = {}

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(f"{NAMESPACE}_sessions", "Sessions by canonical state and WAHA server "
                                   "(from the database).", labels=["state", "server"])
        for (state, server), count in sorted(self.counts.items()):
            family.add_metric([state, server], count)
        yield family


class WahaRecorder:
    """The WAHA client's observer (wahaweb.waha.observer.RequestObserver) for one server."""

    def __init__(self, metrics: Metrics, server: str) -> None:
        self._metrics = metrics
        self.server = server

    def attempt(self, method: str, endpoint: str, outcome: str, seconds: float) -> None:
        m = self._metrics
        m.waha_duration.labels(self.server, method, endpoint).observe(seconds)
        if outcome != "ok":
            m.waha_errors.labels(self.server, method, endpoint, outcome).inc()

    def retry(self, method: str, endpoint: str) -> None:
        self._metrics.waha_retries.labels(self.server, method, endpoint).inc()


class Metrics:
    """Every instrument wahaweb records, in one registry of its own."""

    def __init__(self, *, multiprocess_dir: str | None = None) -> None:
        #: The directory of prometheus-client's multiprocess mode, or None (one process).
        self.multiprocess_dir = multiprocess_dir if multiprocess_dir is not None \
            else os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
        self.registry = CollectorRegistry(auto_describe=True)
        r, ns = self.registry, NAMESPACE
        self.create_duration = Histogram(
            "session_create_duration_seconds", "Time a session create took, by outcome "
            "(ok, refused, failed, denied).", ["outcome"], namespace=ns, registry=r, buckets=CREATE_BUCKETS)
        self.waha_duration = Histogram(
            "waha_request_duration_seconds", "Duration of each HTTP attempt to WAHA.",
            ["server", "method", "endpoint"], namespace=ns, registry=r, buckets=WAHA_BUCKETS)
        self.waha_errors = Counter(
            "waha_request_errors", "WAHA attempts that failed, by kind (4xx, 5xx, network).",
            ["server", "method", "endpoint", "kind"], namespace=ns, registry=r)
        self.waha_retries = Counter(
            "waha_retries", "WAHA requests retried after a 5xx or a network error.",
            ["server", "method", "endpoint"], namespace=ns, registry=r)
        self.rate_limit_refusals = Counter(
            "rate_limit_refusals", "Actions refused by a rate limit, by kind (create, status, qr, "
            "pairing_code, sign_in).", ["kind"], namespace=ns, registry=r)
        self.webhook_events = Counter(
            "webhook_events", "WAHA webhook requests, by outcome (applied, duplicate, stale, "
            "unauthorized, ...).", ["outcome"], namespace=ns, registry=r)
        self.no_capacity = Counter(
            "no_capacity", "Session creates refused because no WAHA server had room.",
            namespace=ns, registry=r)
        self.tick_duration = Histogram(
            "status_tick_duration_seconds", "Duration of one round of the status watcher loop.",
            namespace=ns, registry=r, buckets=TICK_BUCKETS)
        self.open_pages = Gauge(
            "open_pages", "Browser tabs connected to this backend (websockets); summed over live workers.",
            namespace=ns, registry=r, multiprocess_mode="livesum")
        self._snapshot = _Snapshot()
        self._sessions: SessionSource | None = None

    # ------------------------------------------------------------- recording
    def observe_create(self, outcome: str, seconds: float) -> None:
        self.create_duration.labels(outcome).observe(seconds)

    def rate_limited(self, kind: str) -> None:
        self.rate_limit_refusals.labels(kind).inc()

    def webhook_event(self, outcome: str) -> None:
        self.webhook_events.labels(outcome).inc()

    def no_capacity_refused(self) -> None:
        self.no_capacity.inc()

    def observe_tick(self, seconds: float) -> None:
        self.tick_duration.observe(seconds)

    def set_open_pages(self, count: int) -> None:
        self.open_pages.set(count)

    def waha_recorder(self, server: str) -> WahaRecorder:
        """The observer to give the WahaClient of `server` (a label operators recognise)."""
        return WahaRecorder(self, server)

    def sessions_from(self, source: SessionSource) -> None:
        """Where `render()` reads the session counts (the Core's database query)."""
        self._sessions = source

    def process_exiting(self) -> None:
        """In multiprocess mode, drop this process's live gauges (open pages) from the sums."""
        if self.multiprocess_dir:
            mark_process_dead(os.getpid(), self.multiprocess_dir)

    # ------------------------------------------------------------- exposing
    async def render(self) -> bytes:
        """The text exposition format: read the session counts, then every instrument."""
        if self._sessions is not None:
            try:
                self._snapshot.counts = await self._sessions()
            except Exception:  # noqa: BLE001 - the other series are still worth serving
                logger.exception("metrics: could not read session counts")
                self._snapshot.counts = {}
        registry = self.registry
        if self.multiprocess_dir:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=self.multiprocess_dir)
        registry.register(self._snapshot)
        try:
            return generate_latest(registry)
        finally:
            registry.unregister(self._snapshot)
