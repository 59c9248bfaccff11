"""Metrics and health on the admin app, over real HTTP: counters move when requests are made."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from prometheus_client.parser import text_string_to_metric_families

from gatehold import metrics
from gatehold.admin import create_admin_app
from tests.edge.conftest import ServeGateway, lambda_route
from tests.stackctl import free_port


class Admin:
    def __init__(self) -> None:
        self.ready = False
        self.url = ""


@pytest.fixture
async def admin() -> AsyncIterator[Admin]:
    state = Admin()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_admin_app(ready=lambda: state.ready),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    state.url = f"http://127.0.0.1:{port}"
    yield state
    server.should_exit = True
    with contextlib.suppress(Exception):
        await asyncio.wait_for(task, 10)


async def _sample(client: httpx.AsyncClient, name: str, labels: dict[str, str]) -> float:
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


async def _total(client: httpx.AsyncClient, name: str, labels: dict[str, str]) -> float:
    """The sum over every sample of ``name`` whose labels include ``labels``."""
    text = (await client.get("/metrics")).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


async def test_health_and_readiness(admin: Admin) -> None:
    async with httpx.AsyncClient(base_url=admin.url) as c:
        healthz = await c.get("/healthz")
        starting = await c.get("/readyz")
        admin.ready = True
        ready = await c.get("/readyz")
        unknown = await c.get("/nope")
    assert (healthz.status_code, healthz.json()) == (200, {"status": "ok"})
    assert (starting.status_code, starting.json()) == (503, {"status": "starting"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    assert unknown.status_code == 404


async def test_request_metrics_move(admin: Admin, serve_gateway: ServeGateway) -> None:
    s = await serve_gateway(
        {"metered": {"type": "REST", "stages": {"prod": {}}, "routes": {"GET /pets": lambda_route("hello")}}}
    )
    ok = {"api": "metered", "stage": "prod", "route": "GET /pets", "status": "200"}
    missing = {"api": "metered", "stage": "-", "route": "-", "status": "403"}
    latency = {"api": "metered", "stage": "prod", "route": "GET /pets"}
    async with httpx.AsyncClient(base_url=admin.url) as m, s.client() as c:
        before_ok = await _sample(m, "gatehold_gateway_requests_total", ok)
        before_missing = await _sample(m, "gatehold_gateway_requests_total", missing)
        before_latency = await _sample(m, "gatehold_gateway_request_duration_seconds_count", latency)
        for _ in range(3):
            assert (await c.get("/metered/prod/pets")).status_code == 200
        assert (await c.get("/metered/prod/unknown")).status_code == 403
        assert await _sample(m, "gatehold_gateway_requests_total", ok) == before_ok + 3
        assert await _sample(m, "gatehold_gateway_requests_total", missing) == before_missing + 1
        assert (
            await _sample(m, "gatehold_gateway_request_duration_seconds_count", latency) == before_latency + 3
        )
        assert (
            await _sample(m, "gatehold_gateway_integration_duration_seconds_count", latency)
            == before_latency + 3
        )


async def test_helpers_for_other_components(admin: Admin) -> None:
    async with httpx.AsyncClient(base_url=admin.url) as m:
        hits = await _sample(
            m, "gatehold_authorizer_cache_total", {"api": "t", "authorizer": "a", "result": "hit"}
        )
        grants = await _sample(m, "gatehold_idp_tokens_issued_total", {"grant_type": "client_credentials"})
        jwks = await _sample(
            m, "gatehold_jwks_refreshes_total", {"jwks_uri": "http://x/jwks", "outcome": "ok"}
        )
        errors = await _sample(m, "gatehold_lambda_handler_errors_total", {"function": "f", "kind": "error"})
        metrics.authorizer_cache("t", "a", hit=True)
        metrics.token_issued("client_credentials")
        metrics.jwks_refresh("http://x/jwks", ok=True)
        metrics.handler_error("f", "error")
        assert (
            await _sample(
                m, "gatehold_authorizer_cache_total", {"api": "t", "authorizer": "a", "result": "hit"}
            )
            == hits + 1
        )
        assert (
            await _sample(m, "gatehold_idp_tokens_issued_total", {"grant_type": "client_credentials"})
            == grants + 1
        )
        assert (
            await _sample(m, "gatehold_jwks_refreshes_total", {"jwks_uri": "http://x/jwks", "outcome": "ok"})
            == jwks + 1
        )
        assert (
            await _sample(m, "gatehold_lambda_handler_errors_total", {"function": "f", "kind": "error"})
            == errors + 1
        )


async def test_throttled_counter(admin: Admin, serve_gateway: ServeGateway) -> None:
    s = await serve_gateway(
        {
            "metered2": {
                "type": "REST",
                "stages": {"prod": {"throttling": {"rate_limit": 0, "burst_limit": 1}}},
                "routes": {"GET /pets": lambda_route("hello")},
            }
        }
    )
    labels = {"api": "metered2", "stage": "prod", "scope": "stage"}
    async with httpx.AsyncClient(base_url=admin.url) as m, s.client() as c:
        before = await _sample(m, "gatehold_gateway_throttled_total", labels)
        assert [(await c.get("/metered2/prod/pets")).status_code for _ in range(3)] == [200, 429, 429]
        assert await _sample(m, "gatehold_gateway_throttled_total", labels) == before + 2


async def test_components_record_their_metrics(admin: Admin, serve_gateway: ServeGateway) -> None:
    s = await serve_gateway(
        {
            "wired": {
                "type": "REST",
                "stages": {"prod": {}},
                "authorizers": {"tok": {"type": "TOKEN", "function": "token-authorizer", "result_ttl": 300}},
                "routes": {
                    "GET /pets": lambda_route("hello", authorizer="tok"),
                    "GET /boom": lambda_route("boom"),
                },
            }
        }
    )
    miss = {"api": "wired", "authorizer": "tok", "result": "miss"}
    hit = {"api": "wired", "authorizer": "tok", "result": "hit"}
    async with httpx.AsyncClient(base_url=admin.url) as m, s.client() as c:
        misses, hits = (
            await _sample(m, "gatehold_authorizer_cache_total", miss),
            await _sample(m, "gatehold_authorizer_cache_total", hit),
        )
        errors = await _total(m, "gatehold_lambda_handler_errors_total", {"function": "boom"})
        for _ in range(3):
            assert (await c.get("/wired/prod/pets", headers={"Authorization": "allow"})).status_code == 200
        assert (await c.get("/wired/prod/boom")).status_code == 502
        assert await _sample(m, "gatehold_authorizer_cache_total", miss) == misses + 1
        assert await _sample(m, "gatehold_authorizer_cache_total", hit) == hits + 2
        assert await _total(m, "gatehold_lambda_handler_errors_total", {"function": "boom"}) == errors + 1
