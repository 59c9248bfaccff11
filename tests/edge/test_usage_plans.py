"""REST API keys and usage plans over real HTTP (docs/aws-reference.md §0 step 5, §4.5)."""

from __future__ import annotations

from typing import Any

import pytest

from gatehold.config.loader import ConfigError
from gatehold.gateway.app import GatewayApp
from gatehold.gateway.usage_plans import UsagePlans, api_key_id
from tests.edge.conftest import FakeClock, ServeGateway, authorizers_available, lambda_route, load

KEY = "demo-key-0123456789abcdef"
OTHER_KEY = "other-key-0123456789abcdef"
FORBIDDEN = b'{"message":"Forbidden"}'


def _apis(**api: Any) -> dict[str, Any]:
    return {
        "pets": {
            "type": "REST",
            "stages": {"prod": {}, "dev": {}},
            "routes": {
                "GET /pets": lambda_route("echo", api_key_required=True),
                "GET /open": lambda_route("echo"),
            },
            **api,
        }
    }


def _gateway(**plan: Any) -> dict[str, Any]:
    return {
        "usage_plans": {
            "basic": {"api_stages": ["pets/prod"], "api_keys": [KEY], **plan},
            "devs": {"api_stages": ["pets/dev"], "api_keys": [OTHER_KEY]},
        }
    }


def _clocks(monotonic: FakeClock, wall: FakeClock) -> Any:
    def setup(app: GatewayApp) -> None:
        app.usage_plans = UsagePlans(app.settings, clock=monotonic, wall_clock=wall)

    return setup


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"x-api-key": "not-a-key"}, id="unknown"),
        pytest.param({"x-api-key": OTHER_KEY}, id="key-of-another-stage"),
    ],
)
async def test_invalid_api_key_is_403(serve_gateway: ServeGateway, headers: dict[str, str]) -> None:
    s = await serve_gateway(_apis(), gateway=_gateway())
    async with s.client() as c:
        r = await c.get("/pets/prod/pets", headers=headers)
    assert (r.status_code, r.content) == (403, FORBIDDEN)
    assert r.headers["x-amzn-errortype"] == "ForbiddenException"


async def test_valid_key_reaches_the_event(serve_gateway: ServeGateway) -> None:
    s = await serve_gateway(_apis(), gateway=_gateway())
    async with s.client() as c:
        r = await c.get("/pets/prod/pets", headers={"x-api-key": KEY})
        open_route = await c.get("/pets/prod/open")
    assert r.status_code == 200
    assert r.json() == {"apiKey": KEY, "apiKeyId": api_key_id(KEY)}
    assert open_route.json() == {"apiKey": None, "apiKeyId": None}


async def test_daily_quota(serve_gateway: ServeGateway) -> None:
    wall = FakeClock(1_763_700_000.0)  # 2025-11-21 04:40 UTC
    s = await serve_gateway(
        _apis(), gateway=_gateway(quota={"limit": 2, "period": "DAY"}), setup=_clocks(FakeClock(), wall)
    )
    async with s.client() as c:
        statuses = [
            (await c.get("/pets/prod/pets", headers={"x-api-key": KEY})).status_code for _ in range(2)
        ]
        over = await c.get("/pets/prod/pets", headers={"x-api-key": KEY})
        uncounted = await c.get("/pets/prod/open")
        wall.advance(20 * 3600)  # the next UTC day
        next_day = await c.get("/pets/prod/pets", headers={"x-api-key": KEY})
    assert statuses == [200, 200]
    assert (over.status_code, over.content) == (429, b'{"message":"Limit Exceeded"}')
    assert over.headers["x-amzn-errortype"] == "LimitExceededException"
    assert uncounted.status_code == 200
    assert next_day.status_code == 200


async def test_usage_plan_throttling_per_key(serve_gateway: ServeGateway) -> None:
    clock = FakeClock()
    s = await serve_gateway(
        _apis(),
        gateway=_gateway(throttling={"rate_limit": 1, "burst_limit": 2}),
        setup=_clocks(clock, FakeClock(1_763_700_000.0)),
    )
    async with s.client() as c:
        statuses = [
            (await c.get("/pets/prod/pets", headers={"x-api-key": KEY})).status_code for _ in range(3)
        ]
        last = await c.get("/pets/prod/pets", headers={"x-api-key": KEY})
        clock.advance(1.0)
        again = await c.get("/pets/prod/pets", headers={"x-api-key": KEY})
    assert statuses == [200, 200, 429]
    assert (last.status_code, last.content) == (429, b'{"message":"Too Many Requests"}')
    assert again.status_code == 200


@pytest.mark.skipif(not authorizers_available(), reason="authorizers not landed yet")
async def test_api_key_source_authorizer(serve_gateway: ServeGateway) -> None:
    apis = _apis(
        api_key_source="AUTHORIZER",
        authorizers={"tok": {"type": "TOKEN", "function": "token-authorizer", "result_ttl": 0}},
    )
    apis["pets"]["routes"]["GET /pets"]["authorizer"] = "tok"
    s = await serve_gateway(apis, gateway=_gateway())
    async with s.client() as c:
        ok = await c.get("/pets/prod/pets", headers={"Authorization": f"allow:{KEY}", "x-api-key": "ignored"})
        no_usage_key = await c.get("/pets/prod/pets", headers={"Authorization": "allow", "x-api-key": KEY})
    assert ok.status_code == 200
    assert ok.json()["apiKey"] == KEY
    assert (no_usage_key.status_code, no_usage_key.content) == (403, FORBIDDEN)


@pytest.mark.parametrize(
    ("apis", "gateway", "message"),
    [
        pytest.param(
            {"shop": {"type": "HTTP", "routes": {"GET /i": lambda_route(api_key_required=True)}}},
            {},
            "only in REST APIs",
            id="http-api-key-required",
        ),
        pytest.param(
            {"shop": {"type": "HTTP", "routes": {"GET /i": lambda_route()}}},
            {"usage_plans": {"p": {"api_stages": ["shop/$default"], "api_keys": [KEY]}}},
            "only for REST APIs",
            id="http-usage-plan",
        ),
        pytest.param(
            _apis(), _gateway(quota={"limit": 1, "period": "WEEK", "offset": 7}), "offset", id="week-offset"
        ),
        pytest.param(
            _apis(), _gateway(quota={"limit": 1, "period": "DAY", "offset": 1}), "offset", id="day-offset"
        ),
    ],
)
def test_config_refuses(apis: dict[str, Any], gateway: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(apis, gateway=gateway)


async def test_api_key_required_without_any_usage_plan_refuses_every_key(serve_gateway: ServeGateway) -> None:
    s = await serve_gateway(_apis())
    async with s.client() as c:
        r = await c.get("/pets/prod/pets", headers={"x-api-key": KEY})
    assert (r.status_code, r.content) == (403, FORBIDDEN)
