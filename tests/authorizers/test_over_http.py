"""Authorizers inside the real gateway (GatewayApp served by the gateway's own HTTP/1.1 server, the
real Lambda runtime), over HTTP.

Exact statuses, bodies and headers as a client sees them; the decision trace in the debug header.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import rsa

from gatehold.config import LoadedConfig, parse_config
from gatehold.gateway.app import GatewayApp
from gatehold.gateway.http1 import GatewayHttpServer
from gatehold.runtime import build_invoker
from tests.edge.conftest import serve_in_this_loop, stop_serving
from tests.jose.hostile import HOSTILE
from tests.jose.support import FakeIssuer, claims_for, segment

HERE = Path(__file__).parent
AUD = "https://unicorns-api"
FUNCTIONS = {
    "echo": {"handler": "authz_handlers.echo", "code_path": "handlers"},
    "arn-only": {"handler": "authz_handlers.method_arn_only", "code_path": "handlers"},
}

Serve = Callable[[dict[str, Any]], Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    started: list[tuple[GatewayHttpServer, asyncio.Task[None], Any, httpx.AsyncClient]] = []

    async def start(apis: dict[str, Any]) -> httpx.AsyncClient:
        text = yaml.safe_dump({"functions": FUNCTIONS, "apis": apis, "gateway": {"debug_headers": True}})
        config, lines = parse_config(text, file=str(HERE / "gatehold.yaml"))
        loaded = LoadedConfig(config=config, path=HERE / "gatehold.yaml", lines=lines)
        invoker = build_invoker(loaded)
        server, task, port = await serve_in_this_loop(GatewayApp(loaded, invoker))
        client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10)
        started.append((server, task, invoker, client))
        return client

    yield start
    for server, task, invoker, client in started:
        await client.aclose()
        await stop_serving(server, task)
        await invoker.aclose()


def jwt_api(issuer: str) -> dict[str, Any]:
    return {
        "unicorns": {
            "type": "HTTP",
            "authorizers": {
                "auth0": {
                    "type": "JWT",
                    "identity_source": "$request.header.Authorization",
                    "jwt_configuration": {"issuer": issuer, "audience": [AUD]},
                }
            },
            "routes": {
                "GET /unicorn": {
                    "integration": {"type": "lambda", "function": "echo", "payload_format_version": "2.0"},
                    "authorizer": "auth0",
                    "authorization_scopes": ["read:unicorn"],
                },
            },
        }
    }


async def test_http_jwt_claims_reach_the_integration(serve: Serve, issuer: FakeIssuer) -> None:
    client = await serve(jwt_api(issuer.issuer))
    token = issuer.token(claims_for(issuer.issuer, AUD, scope="openid read:unicorn", n=[1, 2]))
    resp = await client.get("/unicorns/unicorn", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
    jwt = resp.json()["authorizer"]["jwt"]
    assert jwt["scopes"] == ["openid", "read:unicorn"]
    assert jwt["claims"]["sub"] == "auth0|user-1"
    assert jwt["claims"]["n"] == "[1 2]"
    assert isinstance(jwt["claims"]["exp"], str)
    assert "authorizer=allow" in resp.headers["x-gatehold-trace"]


async def test_http_jwt_refusals_over_http(serve: Serve, issuer: FakeIssuer) -> None:
    client = await serve(jwt_api(issuer.issuer))
    wrong_aud = issuer.token(claims_for(issuer.issuer, "other", scope="read:unicorn"))
    resp = await client.get("/unicorns/unicorn", headers={"Authorization": f"Bearer {wrong_aud}"})
    assert (resp.status_code, resp.content) == (401, b'{"message":"Unauthorized"}')
    assert resp.headers["www-authenticate"] == (
        'Bearer scope="" error="invalid_token" error_description="the token does not have a valid audience"'
    )
    assert "apigw-requestid" in resp.headers
    no_scope = issuer.token(claims_for(issuer.issuer, AUD, scope="openid"))
    resp = await client.get("/unicorns/unicorn", headers={"Authorization": f"Bearer {no_scope}"})
    assert (resp.status_code, resp.content) == (403, b'{"message":"Forbidden"}')
    assert "check=scope" in resp.headers["x-gatehold-trace"]


async def test_hostile_tokens_over_http_are_401(
    serve: Serve, issuer: FakeIssuer, rsa_keys: list[rsa.RSAPrivateKey]
) -> None:
    client = await serve(jwt_api(issuer.issuer))
    good = issuer.token(claims_for(issuer.issuer, AUD, scope="read:unicorn"))
    _, payload, signature = good.split(".")
    crlf = f"{segment({'alg': 'RS256' + chr(34) + ' x=1', 'kid': 'k1'})}.{payload}.{signature}"
    for name, make in [*HOSTILE, ("quote-in-alg", lambda i, k: crlf)]:
        token = make(issuer, rsa_keys)
        if token != token.strip():
            continue  # an HTTP client cannot send trailing whitespace in a header value
        resp = await client.get("/unicorns/unicorn", headers={"Authorization": f"Bearer {token}"})
        assert (resp.status_code, resp.content) == (401, b'{"message":"Unauthorized"}'), name
    assert not [p for p in issuer.requests if not p.startswith("/.well-known/")]


async def test_rest_token_method_arn_pitfall_over_http(serve: Serve) -> None:
    route = {"integration": {"type": "lambda", "function": "echo"}, "authorizer": "tok"}
    client = await serve(
        {
            "petstore": {
                "type": "REST",
                "stages": {"test": {}},
                "authorizers": {
                    "tok": {
                        "type": "TOKEN",
                        "function": "arn-only",
                        "result_ttl": 3600,
                        "identity_source": "method.request.header.Authorization",
                    }
                },
                "routes": {"GET /pets": route, "GET /pets/{petId}": route},
            }
        }
    )
    headers = {"Authorization": "Bearer abc"}
    first = await client.get("/petstore/test/pets", headers=headers)
    assert first.status_code == 200
    authorizer = json.loads(first.content)["authorizer"]
    assert authorizer["principalId"] == "user-1"
    assert (authorizer["scope"], authorizer["n"], authorizer["ok"]) == ("read:pets", "1", "true")
    second = await client.get("/petstore/test/pets/1", headers=headers)
    assert (second.status_code, second.content) == (
        403,
        b'{"Message":"User is not authorized to access this resource"}',
    )
    assert second.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    trace = second.headers["x-gatehold-trace"]
    assert "authorizer=deny" in trace
    assert "cache=hit" in trace
    assert "does not cover" in trace
    refused = await client.get("/petstore/test/pets", headers={"Authorization": "Bearer deny"})
    assert (refused.status_code, refused.content) == (401, b'{"message":"Unauthorized"}')
