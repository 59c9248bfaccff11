"""Prometheus metrics for every part of Gatehold, in one registry served by :mod:`gatehold.admin`.

Import the metric objects, or the small helpers below that cache labelled children (a dict lookup
per update instead of prometheus_client's ``labels()`` validation and lock)::

    from gatehold import metrics
    metrics.observe_request("movies", "beta", "GET /movie", 200, 0.004)
    metrics.authorizer_cache("petstore", "jwt-rsa-custom-authorizer", hit=True)
    metrics.TOKENS_ISSUED.labels(grant_type="client_credentials").inc()

Names follow Prometheus conventions (``gatehold_<subsystem>_<what>_<unit>``). One process, one
registry; several workers (the scale-out issue) need prometheus_client's multiprocess mode.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class GatewayRequestMetrics(Collector):
    """Request counts and latency histograms of the gateway's hot path, kept as plain numbers.

    One ``observe`` is a few dict and list operations (well under a microsecond) instead of
    prometheus_client's locked Counter/Histogram children; the Prometheus families are built when
    ``/metrics`` is scraped. Updated from the gateway's event-loop thread only.
    """

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.requests: dict[tuple[str, str, str, int], int] = {}
        # per (api, stage, route): [count per bucket ..., count above the last bucket, sum]
        self.latency: dict[tuple[str, str, str], list[float]] = {}
        self.integration: dict[tuple[str, str, str], list[float]] = {}

    def observe(
        self,
        key: tuple[str, str, str],
        status: int,
        response_seconds: float,
        integration_seconds: float | None,
    ) -> None:
        rkey = (*key, status)
        self.requests[rkey] = self.requests.get(rkey, 0) + 1
        self._add(self.latency, key, response_seconds)
        if integration_seconds is not None:
            self._add(self.integration, key, integration_seconds)

    def _add(
        self, series: dict[tuple[str, str, str], list[float]], key: tuple[str, str, str], v: float
    ) -> None:
        counts = series.get(key)
        if counts is None:
            counts = series[key] = [0.0] * (len(self.buckets) + 2)
        counts[bisect_left(self.buckets, v)] += 1
        counts[-1] += v

    def _histogram(self, name: str, doc: str, series: dict[tuple[str, str, str], list[float]]) -> Metric:
        family = HistogramMetricFamily(name, doc, labels=("api", "stage", "route"))
        for labels, counts in list(series.items()):
            cumulative, total = [], 0.0
            for bound, n in zip((*self.buckets, float("inf")), counts[:-1], strict=True):
                total += n
                cumulative.append((_le(bound), total))
            family.add_metric(list(labels), cumulative, sum_value=counts[-1])
        return family

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "gatehold_gateway_requests",
            "Gateway requests by API, stage, route key and response status.",
            labels=("api", "stage", "route", "status"),
        )
        for (api, stage, route, status), n in list(self.requests.items()):
            requests.add_metric([api, stage, route, str(status)], n)
        yield requests
        yield self._histogram(
            "gatehold_gateway_request_duration_seconds",
            "Gateway response latency (API Gateway's responseLatency) by API, stage and route key.",
            self.latency,
        )
        yield self._histogram(
            "gatehold_gateway_integration_duration_seconds",
            "Integration latency (API Gateway's integrationLatency) by API, stage and route key.",
            self.integration,
        )


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


GATEWAY_REQUESTS = GatewayRequestMetrics(_LATENCY_BUCKETS)
REGISTRY.register(GATEWAY_REQUESTS)
THROTTLED = Counter(
    "gatehold_gateway_throttled",
    "Requests refused with 429 by throttle scope (account, stage, route, usage_plan, quota).",
    ("api", "stage", "scope"),
    registry=REGISTRY,
)
AUTHORIZER_CACHE = Counter(
    "gatehold_authorizer_cache",
    "Authorizer result/verified-token cache lookups, result=hit|miss.",
    ("api", "authorizer", "result"),
    registry=REGISTRY,
)
AUTHORIZER_DECISIONS = Counter(
    "gatehold_authorizer_decisions",
    "Authorizer outcomes (allow, deny, unauthorized, error) by API and authorizer.",
    ("api", "authorizer", "outcome"),
    registry=REGISTRY,
)
JWKS_REFRESHES = Counter(
    "gatehold_jwks_refreshes",
    "JWKS fetches by issuer/URL and outcome (ok, error).",
    ("jwks_uri", "outcome"),
    registry=REGISTRY,
)
HANDLER_ERRORS = Counter(
    "gatehold_lambda_handler_errors",
    "Lambda handler failures by function and kind (error, timeout, crash).",
    ("function", "kind"),
    registry=REGISTRY,
)
INVOCATIONS = Counter(
    "gatehold_lambda_invocations",
    "Lambda invocations by function.",
    ("function",),
    registry=REGISTRY,
)
TOKENS_ISSUED = Counter(
    "gatehold_idp_tokens_issued",
    "Access tokens issued by the identity provider, by grant type.",
    ("grant_type",),
    registry=REGISTRY,
)
IN_FLIGHT = Gauge(
    "gatehold_gateway_requests_in_flight",
    "Gateway requests being processed.",
    registry=REGISTRY,
)

# Labelled children, cached: label sets are bounded by the configuration (APIs, stages, names).
_cache_children: dict[tuple[str, str, bool], Counter] = {}


def observe_request(
    api: str,
    stage: str,
    route: str,
    status: int,
    response_seconds: float,
    integration_seconds: float | None = None,
) -> None:
    """Count one gateway response and record its latencies (route ``-`` when no route matched)."""
    GATEWAY_REQUESTS.observe((api, stage, route), status, response_seconds, integration_seconds)


def authorizer_cache(api: str, authorizer: str, *, hit: bool) -> None:
    """Count one authorizer cache lookup."""
    key = (api, authorizer, hit)
    counter = _cache_children.get(key)
    if counter is None:
        counter = _cache_children[key] = AUTHORIZER_CACHE.labels(api, authorizer, "hit" if hit else "miss")
    counter.inc()


def jwks_refresh(jwks_uri: str, *, ok: bool) -> None:
    JWKS_REFRESHES.labels(jwks_uri, "ok" if ok else "error").inc()


def handler_error(function: str, kind: str) -> None:
    HANDLER_ERRORS.labels(function, kind).inc()


def token_issued(grant_type: str) -> None:
    TOKENS_ISSUED.labels(grant_type).inc()


def throttled(api: str, stage: str, scope: str) -> None:
    THROTTLED.labels(api, stage, scope).inc()
