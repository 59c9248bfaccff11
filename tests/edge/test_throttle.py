"""Throttling over real HTTP: token buckets per account, stage and route (docs/aws-reference.md §4.5).

No timing assertions: the throttler's clock is a FakeClock the tests move.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gatehold.config.loader import ConfigError
from gatehold.gateway.app import GatewayApp
from gatehold.gateway.throttle import Throttler
from tests.edge.conftest import FakeClock, ServeGateway, lambda_route, load

REST_429 = b'{"message":"Too Many Requests"}'


def _with_clock(clock: FakeClock) -> Any:
    def setup(app: GatewayApp) -> None:
        app.throttler = Throttler(app.settings, clock=clock)

    return setup


def _rest(stage: dict[str, Any], routes: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "pets": {
            "type": "REST",
            "stages": {"prod": stage},
            "routes": routes or {"GET /pets": lambda_route("hello"), "GET /toys": lambda_route("hello")},
        }
    }


async def _statuses(c: httpx.AsyncClient, path: str, n: int) -> list[int]:
    return [(await c.get(path)).status_code for _ in range(n)]


async def test_route_throttling_refuses_after_burst_and_refills(serve_gateway: ServeGateway) -> None:
    clock = FakeClock()
    stage = {"route_throttling": {"GET /pets": {"rate_limit": 1, "burst_limit": 3}}}
    s = await serve_gateway(_rest(stage), setup=_with_clock(clock))
    async with s.client() as c:
        assert await _statuses(c, "/pets/prod/pets", 4) == [200, 200, 200, 429]
        refused = await c.get("/pets/prod/pets")
        assert (refused.status_code, refused.content) == (429, REST_429)
        assert refused.headers["x-amzn-errortype"] == "TooManyRequestsException"
        assert await _statuses(c, "/pets/prod/toys", 5) == [200] * 5  # its own (unthrottled) route
        clock.advance(2.0)  # rate 1/s: two tokens back
        assert await _statuses(c, "/pets/prod/pets", 3) == [200, 200, 429]


async def test_stage_throttling_is_a_bucket_per_route(serve_gateway: ServeGateway) -> None:
    clock = FakeClock()
    s = await serve_gateway(
        _rest({"throttling": {"rate_limit": 1, "burst_limit": 2}}), setup=_with_clock(clock)
    )
    async with s.client() as c:
        assert await _statuses(c, "/pets/prod/pets", 3) == [200, 200, 429]
        assert await _statuses(c, "/pets/prod/toys", 3) == [200, 200, 429]


async def test_route_setting_overrides_stage_default(serve_gateway: ServeGateway) -> None:
    clock = FakeClock()
    stage = {
        "throttling": {"rate_limit": 1, "burst_limit": 1},
        "route_throttling": {"GET /pets": {"rate_limit": 1, "burst_limit": 4}},
    }
    s = await serve_gateway(_rest(stage), setup=_with_clock(clock))
    async with s.client() as c:
        assert await _statuses(c, "/pets/prod/pets", 5) == [200, 200, 200, 200, 429]
        assert await _statuses(c, "/pets/prod/toys", 2) == [200, 429]


async def test_account_bucket_is_shared_by_every_api(serve_gateway: ServeGateway) -> None:
    clock = FakeClock()
    apis = {
        **_rest({}),
        "shop": {
            "type": "HTTP",
            "routes": {"GET /items": lambda_route("hello")},
        },
    }
    s = await serve_gateway(
        apis, gateway={"throttling": {"rate_limit": 0, "burst_limit": 3}}, setup=_with_clock(clock)
    )
    async with s.client() as c:
        assert await _statuses(c, "/pets/prod/pets", 2) == [200, 200]
        assert (await c.get("/shop/items")).status_code == 200
        http_refused = await c.get("/shop/items")
        rest_refused = await c.get("/pets/prod/toys")
    assert (http_refused.status_code, http_refused.content) == (429, REST_429)
    assert "x-amzn-errortype" not in http_refused.headers
    assert "apigw-requestid" in http_refused.headers
    assert rest_refused.status_code == 429


async def test_refused_request_takes_no_token_from_other_buckets(serve_gateway: ServeGateway) -> None:
    """All or nothing: a request refused by its route bucket does not drain the account bucket."""
    clock = FakeClock()
    stage = {"route_throttling": {"GET /pets": {"rate_limit": 0, "burst_limit": 1}}}
    s = await serve_gateway(
        _rest(stage), gateway={"throttling": {"rate_limit": 0, "burst_limit": 4}}, setup=_with_clock(clock)
    )
    async with s.client() as c:
        assert await _statuses(c, "/pets/prod/pets", 4) == [200, 429, 429, 429]
        assert await _statuses(c, "/pets/prod/toys", 4) == [200, 200, 200, 429]


def test_route_throttling_must_name_a_route() -> None:
    with pytest.raises(ConfigError, match="unknown route"):
        load(_rest({"route_throttling": {"GET /nope": {"rate_limit": 1, "burst_limit": 1}}}))
