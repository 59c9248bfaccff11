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

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter(
    "gatehold_gateway_requests",
    "Gateway requests by API, stage, route key and response status.",
    ("api", "stage", "route", "status"),
    registry=REGISTRY,
)
REQUEST_LATENCY = Histogram(
    "gatehold_gateway_request_duration_seconds",
    "Gateway response latency (API Gateway's responseLatency) by API, stage and route key.",
    ("api", "stage", "route"),
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
INTEGRATION_LATENCY = Histogram(
    "gatehold_gateway_integration_duration_seconds",
    "Integration latency (API Gateway's integrationLatency) by API, stage and route key.",
    ("api", "stage", "route"),
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
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

# Labelled children, cached: label sets are bounded by the configuration (APIs, stages, routes).
_request_children: dict[tuple[str, str, str, int], Counter] = {}
_latency_children: dict[tuple[str, str, str], tuple[Histogram, Histogram]] = {}
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
    key = (api, stage, route, status)
    counter = _request_children.get(key)
    if counter is None:
        counter = _request_children[key] = REQUESTS.labels(api, stage, route, str(status))
    counter.inc()
    lkey = (api, stage, route)
    hists = _latency_children.get(lkey)
    if hists is None:
        hists = _latency_children[lkey] = (
            REQUEST_LATENCY.labels(api, stage, route),
            INTEGRATION_LATENCY.labels(api, stage, route),
        )
    hists[0].observe(response_seconds)
    if integration_seconds is not None:
        hists[1].observe(integration_seconds)


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
