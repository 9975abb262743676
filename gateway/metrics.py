"""Prometheus metrics served at ``GET /metrics`` (text exposition format, via prometheus-client).

Two kinds of numbers, both cheap on the request path:

- per request (route, status, latency per widget, errors by code): plain counters bumped by the
  edge middleware once a response is finished. No locks: one event-loop thread both records
  and scrapes, and a few integer additions cost far less than prometheus-client's locked children
  on a ~30 us cache hit;
- everything else (cache hits/misses/single-flight joins, query executions, connections in use,
  waiting requests) is read from the live objects only when ``/metrics`` is scraped.

Each app owns its registry, so several apps in one process (tests) never share numbers.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator
from typing import Protocol

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)

from gateway import __version__
from gateway.cache import MemoryStore, ResponseCache
from gateway.catalog.spec import Catalog
from gateway.executor import Executor
from gateway.sources import Sources

CONTENT_TYPE = CONTENT_TYPE_LATEST.split("; charset")[0]
"""Without the charset, which Litestar appends to every text/* response itself."""
LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Upper bounds of the per-widget latency histogram: cache hits land in the first buckets."""
_STATIC_ROUTES = frozenset(
    {
        *("/", "/widgets.json", "/apps.json", "/templates.json", "/openapi.json", "/metrics"),
        *("/health", "/health/live", "/ready", "/health/ready"),
    }
)
_CACHE_COUNTERS = (
    ("hits", "Responses served from the cache"),
    ("misses", "Requests that found no fresh entry and computed one"),
    ("joins", "Requests that waited for an identical computation already running (single-flight)"),
    ("refreshes", "Background refresh-ahead computations started"),
    ("computations", "Bodies computed (queries run and shaped) on behalf of the cache"),
    ("peer_waits", "Computations answered by another replica's result (Redis lock)"),
)


class Watched(Protocol):
    """What the scrape-time collector reads (``GatewayState`` has all of it)."""

    @property
    def cache(self) -> ResponseCache | None: ...

    @property
    def executor(self) -> Executor: ...

    @property
    def sources(self) -> Sources: ...

    @property
    def catalog(self) -> Catalog: ...


def route_of(path: str) -> str:
    """A bounded route label: widget ids are folded into ``/sql/{widget}``, unknown paths into ``other``."""
    if path.startswith("/sql/"):
        return "/sql/{widget}"
    if path.startswith("/options/"):
        return "/options/{query}"
    return path if path in _STATIC_ROUTES else "other"


class _Histogram:
    __slots__ = ("buckets", "count", "total")

    def __init__(self) -> None:
        self.buckets = [0] * (len(LATENCY_BUCKETS_S) + 1)
        self.count, self.total = 0, 0.0

    def observe(self, seconds: float) -> None:
        self.buckets[bisect_left(LATENCY_BUCKETS_S, seconds)] += 1
        self.count += 1
        self.total += seconds

    def cumulative(self) -> list[tuple[str, float]]:
        out, running = [], 0
        for bound, count in zip((*map(str, LATENCY_BUCKETS_S), "+Inf"), self.buckets, strict=True):
            running += count
            out.append((bound, float(running)))
        return out


class Metrics:
    """The numbers of one app; ``observe`` per request, ``render`` per scrape."""

    def __init__(self, watched: Watched) -> None:
        self.watched = watched
        self.requests: Counter[tuple[str, int]] = Counter()
        self.latency: dict[str, _Histogram] = {}
        self.query_errors: Counter[str] = Counter()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)

    def observe(
        self, route: str, status: int, seconds: float, widget: str | None, error_code: str | None
    ) -> None:
        """Record one finished request (called by the edge middleware)."""
        self.requests[route, status] += 1
        if widget is not None:
            histogram = self.latency.get(widget)
            if histogram is None:
                histogram = self.latency[widget] = _Histogram()
            histogram.observe(seconds)
        if error_code is not None and route in ("/sql/{widget}", "/options/{query}"):
            self.query_errors[error_code] += 1

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def collect(self) -> Iterator[Metric]:
        """Called by the registry on each scrape."""
        info = InfoMetricFamily("gateway_build", "Gateway version")
        info.add_metric([], {"version": __version__})
        yield info
        yield from self._request_metrics()
        yield from _cache_metrics(self.watched.cache)
        yield from _database_metrics(self.watched)

    def _request_metrics(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "gateway_http_requests", "HTTP requests by route and status", labels=["route", "status"]
        )
        for (route, status), count in sorted(self.requests.items()):
            requests.add_metric([route, str(status)], count)
        yield requests
        latency = HistogramMetricFamily(
            "gateway_widget_request_duration_seconds",
            "Time to answer a data request (/sql or /options), cache hits included, by query id",
            labels=["widget"],
        )
        for widget, histogram in sorted(self.latency.items()):
            latency.add_metric([widget], histogram.cumulative(), histogram.total)
        yield latency
        errors = CounterMetricFamily(
            "gateway_query_errors", "Failed data requests by error code", labels=["code"]
        )
        for code, count in sorted(self.query_errors.items()):
            errors.add_metric([code], count)
        yield errors


def _cache_metrics(cache: ResponseCache | None) -> Iterator[Metric]:
    if cache is None:
        return
    for name, text in _CACHE_COUNTERS:
        yield CounterMetricFamily(f"gateway_cache_{name}", text, value=getattr(cache.stats, name))
    if isinstance(cache.store, MemoryStore):
        yield GaugeMetricFamily("gateway_cache_entries", "Entries in the memory cache", len(cache.store))
        yield GaugeMetricFamily("gateway_cache_bytes", "Bytes held by the memory cache", cache.store.bytes)


def _database_metrics(watched: Watched) -> Iterator[Metric]:
    queries = GaugeMetricFamily("gateway_queries", "Query files currently published")
    queries.add_metric([], len(watched.catalog))
    yield queries
    executions = CounterMetricFamily(
        "gateway_query_executions", "Statements sent to a database, by query id", labels=["query"]
    )
    for query, count in sorted(watched.executor.executions.items()):
        executions.add_metric([query], count)
    yield executions
    in_use = GaugeMetricFamily(
        "gateway_db_connections_in_use", "Pooled connections checked out", labels=["source"]
    )
    size = GaugeMetricFamily("gateway_db_pool_size", "Connections the pool keeps open", labels=["source"])
    waiting = GaugeMetricFamily(
        "gateway_db_waiting_requests", "Requests queued for a free connection", labels=["source"]
    )
    for name, source in watched.sources.items():
        pool = source.pool
        # QueuePool (both drivers) has these; another pool class just reports 0.
        in_use.add_metric([name], getattr(pool, "checkedout", lambda: 0)())
        size.add_metric([name], getattr(pool, "size", lambda: 0)())
        waiting.add_metric([name], source.waiting)
    yield from (in_use, size, waiting)
