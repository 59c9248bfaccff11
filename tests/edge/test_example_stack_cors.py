"""The example stack's cross-origin setup, as the SPA uses it (`gatehold up`, real subprocess).

HTTP APIs (unicorns, wishlist) answer preflights from the gateway's CORS configuration; REST APIs
(movies, devices, petstore) answer with their OPTIONS mock routes, and movies/devices refusals carry
`Access-Control-Allow-Origin: *` through their DEFAULT_4XX gateway response.
"""

from __future__ import annotations

import httpx
import pytest

from tests.stackctl import Stack


def _preflight(stack: Stack, path: str, origin: str, method: str = "GET") -> httpx.Response:
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization",
    }
    return httpx.options(f"{stack.gateway_url}{path}", headers=headers, timeout=15)


@pytest.mark.parametrize(
    ("path", "method"),
    [
        pytest.param("/unicorns/unicorn", "GET", id="unicorns-jwt-route"),
        pytest.param("/wishlist/default/wish-list-service", "POST", id="wishlist-jwt-route"),
    ],
)
def test_http_api_preflight_from_the_spa(stack: Stack, path: str, method: str) -> None:
    r = _preflight(stack, path, stack.spa_url, method)
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] in ("*", stack.spa_url)
    assert method in r.headers["access-control-allow-methods"]
    assert "authorization" in r.headers["access-control-allow-headers"].lower()


def test_wishlist_refuses_other_origins(stack: Stack) -> None:
    r = _preflight(stack, "/wishlist/default/wish-list-service", "http://evil.example", "POST")
    assert r.status_code == 204
    assert "access-control-allow-origin" not in r.headers


@pytest.mark.parametrize(
    ("path", "status"),
    [
        pytest.param("/unicorns/unicorns", 401, id="unicorns-401"),
        pytest.param("/wishlist/default/wish-list-service", 200, id="wishlist-open-get"),
    ],
)
def test_http_api_responses_carry_cors_headers(stack: Stack, path: str, status: int) -> None:
    r = httpx.get(f"{stack.gateway_url}{path}", headers={"Origin": stack.spa_url}, timeout=15)
    assert r.status_code == status
    assert r.headers["access-control-allow-origin"] in ("*", stack.spa_url)


@pytest.mark.parametrize(
    "path",
    [pytest.param("/movies/beta/movie", id="movies"), pytest.param("/devices/beta/device", id="devices")],
)
def test_rest_options_mock_and_4xx_cors(stack: Stack, path: str) -> None:
    pre = _preflight(stack, path, stack.spa_url)
    assert pre.status_code == 200
    assert pre.headers["access-control-allow-origin"] == "*"
    assert "Authorization" in pre.headers["access-control-allow-headers"]
    refused = httpx.get(f"{stack.gateway_url}{path}", headers={"Origin": stack.spa_url}, timeout=15)
    assert (refused.status_code, refused.content) == (401, b'{"message":"Unauthorized"}')
    assert refused.headers["access-control-allow-origin"] == "*"
