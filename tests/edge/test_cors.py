"""HTTP API CORS over real HTTP (docs/aws-reference.md §4.4, §7.9; docs/edge.md)."""

from __future__ import annotations

from typing import Any

import pytest

from gatehold.config.loader import ConfigError
from tests.edge.conftest import ServeGateway, authorizers_available, lambda_route, load

ORIGIN = "https://app.example.com"


def _http_api(cors: dict[str, Any], routes: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "shop": {
            "type": "HTTP",
            "cors": cors,
            "routes": routes or {"GET /items": lambda_route(), "POST /items": lambda_route()},
            **extra,
        }
    }


def _lower(headers: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _preflight(origin: str, method: str = "GET", headers: str | None = None) -> dict[str, str]:
    h = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        h["Access-Control-Request-Headers"] = headers
    return h


FULL = {
    "allow_origins": [ORIGIN],
    "allow_methods": ["GET", "POST"],
    "allow_headers": ["authorization", "content-type"],
    "expose_headers": ["x-request-id"],
    "max_age": 300,
    "allow_credentials": True,
}


@pytest.mark.parametrize(
    ("cors", "origin", "request_headers", "expected"),
    [
        pytest.param(
            FULL,
            ORIGIN,
            "authorization",
            {
                "access-control-allow-origin": ORIGIN,
                "access-control-allow-methods": "GET,POST",
                "access-control-allow-headers": "authorization,content-type",
                "access-control-max-age": "300",
                "access-control-allow-credentials": "true",
                "vary": "Origin",
            },
            id="exact-origin-all-settings",
        ),
        pytest.param(
            {"allow_origins": ["*"], "allow_methods": ["*"], "allow_headers": ["*"]},
            "http://anything.test:3000",
            "authorization,x-custom",
            {
                "access-control-allow-origin": "*",
                "access-control-allow-methods": "GET",
                "access-control-allow-headers": "authorization,x-custom",
            },
            id="star-everything-echoes-requested",
        ),
        pytest.param(
            {"allow_origins": ["https://*"], "allow_methods": ["GET"]},
            "https://other.example.org",
            None,
            {
                "access-control-allow-origin": "https://other.example.org",
                "access-control-allow-methods": "GET",
            },
            id="https-scheme-wildcard",
        ),
    ],
)
async def test_preflight_answered_204(
    serve_gateway: ServeGateway,
    cors: dict[str, Any],
    origin: str,
    request_headers: str | None,
    expected: dict[str, str],
) -> None:
    s = await serve_gateway(_http_api(cors))
    async with s.client() as c:
        r = await c.options("/shop/items", headers=_preflight(origin, headers=request_headers))
    assert r.status_code == 204
    assert r.content == b""
    h = _lower(r.headers)
    for name, value in expected.items():
        assert h[name] == value, name
    assert "access-control-expose-headers" not in h


@pytest.mark.parametrize(
    ("cors", "origin"),
    [
        pytest.param(FULL, "https://evil.example.com", id="exact-mismatch"),
        pytest.param(
            {"allow_origins": ["https://*"]}, "http://plain.example.com", id="scheme-wildcard-mismatch"
        ),
    ],
)
async def test_preflight_from_disallowed_origin_has_no_cors_headers(
    serve_gateway: ServeGateway, cors: dict[str, Any], origin: str
) -> None:
    s = await serve_gateway(_http_api(cors))
    async with s.client() as c:
        r = await c.options("/shop/items", headers=_preflight(origin))
    assert r.status_code == 204
    assert not [k for k in r.headers if k.lower().startswith("access-control-")]


async def test_preflight_needs_request_method_header(serve_gateway: ServeGateway) -> None:
    s = await serve_gateway(_http_api(FULL))
    async with s.client() as c:
        r = await c.options("/shop/items", headers={"Origin": ORIGIN})
    # not a preflight: routed normally; no OPTIONS route → HTTP API 404, with CORS headers
    assert (r.status_code, r.content) == (404, b'{"message":"Not Found"}')
    assert r.headers["access-control-allow-origin"] == ORIGIN


async def test_preflight_for_a_path_without_any_route(serve_gateway: ServeGateway) -> None:
    s = await serve_gateway(_http_api(FULL))
    async with s.client() as c:
        r = await c.options("/shop/nothing-here", headers=_preflight(ORIGIN))
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == ORIGIN


async def test_actual_request_gets_configured_headers_and_backend_cors_dropped(
    serve_gateway: ServeGateway,
) -> None:
    s = await serve_gateway(_http_api(FULL))
    async with s.client() as c:
        r = await c.get("/shop/items", headers={"Origin": ORIGIN})
    assert r.status_code == 200
    h = _lower(r.headers)
    assert h["access-control-allow-origin"] == ORIGIN  # not the backend's https://backend-says.example
    assert h["access-control-allow-credentials"] == "true"
    assert h["access-control-expose-headers"] == "x-request-id"
    assert "access-control-allow-methods" not in h  # the backend's DELETE is ignored


async def test_streamed_http_proxy_response_gets_cors_headers(serve_gateway: ServeGateway) -> None:
    """HTTP proxy responses are streamed; their backend CORS headers are replaced all the same."""
    served_upstream = await serve_gateway(
        _http_api({"allow_origins": ["*"]}, routes={"GET /items": lambda_route()})
    )
    routes = {
        "GET /{proxy+}": {"integration": {"type": "http_proxy", "uri": served_upstream.url + "/shop/{proxy}"}}
    }
    s = await serve_gateway({"front": {"type": "HTTP", "cors": FULL, "routes": routes}})
    async with s.client() as c:
        r = await c.get("/front/items", headers={"Origin": ORIGIN})
    assert r.status_code == 200
    assert r.json() == {"apiKey": None, "apiKeyId": None}
    assert r.headers.get_list("access-control-allow-origin") == [ORIGIN]
    assert r.headers["access-control-expose-headers"] == "x-request-id"


async def test_no_origin_no_cors_headers(serve_gateway: ServeGateway) -> None:
    s = await serve_gateway(_http_api(FULL))
    async with s.client() as c:
        r = await c.get("/shop/items")
    assert r.status_code == 200
    assert not [k for k in r.headers if k.lower().startswith("access-control-")]


async def test_gateway_errors_carry_cors_headers(serve_gateway: ServeGateway) -> None:
    s = await serve_gateway(_http_api(FULL))
    async with s.client() as c:
        r = await c.delete("/shop/items", headers={"Origin": ORIGIN})
    assert (r.status_code, r.content) == (404, b'{"message":"Not Found"}')
    assert r.headers["access-control-allow-origin"] == ORIGIN
    assert r.headers["access-control-allow-credentials"] == "true"


def _jwt_api() -> dict[str, Any]:
    return _http_api(
        {"allow_origins": ["*"], "allow_headers": ["authorization"], "allow_methods": ["GET"]},
        routes={"GET /items": lambda_route(authorizer="jwt", authorization_scopes=["read:items"])},
        authorizers={
            "jwt": {
                "type": "JWT",
                "identity_source": "$request.header.Authorization",
                "jwks_uri": "http://127.0.0.1:9/jwks.json",
                "jwt_configuration": {"issuer": "http://127.0.0.1:9/", "audience": ["https://items"]},
            }
        },
    )


async def test_preflight_to_jwt_protected_route_without_token_is_answered(
    serve_gateway: ServeGateway,
) -> None:
    s = await serve_gateway(_jwt_api())
    async with s.client() as c:
        r = await c.options("/shop/items", headers=_preflight("https://spa.example", headers="authorization"))
    assert r.status_code == 204
    h = _lower(r.headers)
    assert h["access-control-allow-origin"] == "*"
    assert h["access-control-allow-headers"] == "authorization"
    assert h["access-control-allow-methods"] == "GET"


@pytest.mark.skipif(not authorizers_available(), reason="authorizers not landed yet")
async def test_jwt_401_carries_cors_headers(serve_gateway: ServeGateway) -> None:
    s = await serve_gateway(_jwt_api())
    async with s.client() as c:
        r = await c.get("/shop/items", headers={"Origin": "https://spa.example"})
    assert (r.status_code, r.content) == (401, b'{"message":"Unauthorized"}')
    assert r.headers["access-control-allow-origin"] == "*"


async def test_default_route_catches_preflight(serve_gateway: ServeGateway) -> None:
    """§7.9 reading: a preflight that routes to $default is routed normally (to its integration)."""
    s = await serve_gateway(
        _http_api(FULL, routes={"GET /items": lambda_route(), "$default": lambda_route()})
    )
    async with s.client() as c:
        caught = await c.options("/shop/items", headers=_preflight(ORIGIN))
    assert caught.status_code == 200  # the echo integration ran
    assert caught.headers["access-control-allow-origin"] == ORIGIN
    assert "access-control-allow-methods" not in caught.headers


async def test_options_proxy_route_lets_preflight_be_answered_despite_default(
    serve_gateway: ServeGateway,
) -> None:
    """AWS's advice for $default: an OPTIONS /{proxy+} route; the gateway then answers the preflight."""
    routes = {"GET /items": lambda_route(), "OPTIONS /{proxy+}": lambda_route(), "$default": lambda_route()}
    s = await serve_gateway(_http_api(FULL, routes=routes))
    async with s.client() as c:
        answered = await c.options("/shop/items", headers=_preflight(ORIGIN))
    assert answered.status_code == 204
    assert answered.headers["access-control-allow-methods"] == "GET,POST"


@pytest.mark.parametrize(
    ("cors", "message"),
    [
        pytest.param(
            {"allow_origins": ["*"], "allow_credentials": True},
            "allow_credentials",
            id="credentials-with-star",
        ),
        pytest.param({"allow_origins": ["https://*.example.com"]}, "wildcards", id="subdomain-wildcard"),
        pytest.param({"allow_origins": ["example.com"]}, "must be an origin", id="not-an-origin"),
    ],
)
def test_config_refuses(cors: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(_http_api(cors))


def test_rest_api_has_no_cors_config() -> None:
    with pytest.raises(ConfigError, match="REST APIs have no CORS"):
        load(
            {
                "pets": {
                    "type": "REST",
                    "stages": {"t": {}},
                    "cors": {"allow_origins": ["*"]},
                    "routes": {"GET /p": lambda_route()},
                }
            }
        )
