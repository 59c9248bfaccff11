"""The OpenAPI examples run by ``gatehold up -c`` as real subprocesses, over real HTTP.

* examples/openapi-petstore: the console's PetStore export (Swagger 2.0, http + mock integrations)
  against its local backend stub, started as a process the way the example's comments say;
* examples/openapi-http-jwt: an OpenAPI 3.0 HTTP API, JWT authorizer with scopes on an Auth0-style
  issuer served locally through ``--issuer-alias``, Lambda proxy routes;
* examples/openapi-rest-token: an OpenAPI 3.0 REST API with a Lambda TOKEN authorizer verifying the
  local identity provider's RS256 tokens, a request validator and an API key route.

Statuses and bodies are AWS's (docs/aws-reference.md §1.5, §3.2, §4.1, §5.5, §6).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.importers.support import EXAMPLES, m2m_token
from tests.stackctl import Stack, free_port

PETSTORE = EXAMPLES / "openapi-petstore"
HTTP_JWT = EXAMPLES / "openapi-http-jwt"
REST_TOKEN = EXAMPLES / "openapi-rest-token"

UNAUTHORIZED = {"message": "Unauthorized"}
EXPLICIT_DENY = {"Message": "User is not authorized to access this resource with an explicit deny"}


# --------------------------------------------------------------------------------------------------
# PetStore
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def petstore_backend() -> Iterator[str]:
    """examples/openapi-petstore/backend.py as a process on a free port."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(PETSTORE / "backend.py"), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                httpx.get(f"{url}/petstore/pets", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the PetStore backend did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def petstore(tmp_path: Path, petstore_backend: str, stack_factory: Callable[..., Stack]) -> Stack:
    """The example's gatehold.yaml, with only the stub's port (8088 in the file) changed."""
    text = (PETSTORE / "gatehold.yaml").read_text()
    assert "http://127.0.0.1:8088" in text
    config = tmp_path / "gatehold.yaml"
    config.write_text(
        text.replace("http://127.0.0.1:8088", petstore_backend).replace(
            "path: petstore-swagger.json", f"path: {PETSTORE / 'petstore-swagger.json'}"
        )
    )
    return stack_factory(config)


PETS = (
    b'[{"id":1,"type":"dog","price":249.99},{"id":2,"type":"cat","price":124.99},'
    b'{"id":3,"type":"fish","price":0.99}]'
)
FISH = (
    b'[{"id":1,"type":"fish","price":249.99},{"id":2,"type":"fish","price":124.99},'
    b'{"id":3,"type":"fish","price":0.99}]'
)
CATS_PAGE_2 = (
    b'[{"id":4,"type":"cat","price":999.99},{"id":5,"type":"cat","price":249.99},'
    b'{"id":6,"type":"cat","price":49.97}]'
)


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "expected"),
    [
        pytest.param("GET", "/test/pets", None, 200, PETS, id="list"),
        pytest.param("GET", "/test/pets?type=fish", None, 200, FISH, id="list-fish"),
        pytest.param("GET", "/test/pets?type=cat&page=2", None, 200, CATS_PAGE_2, id="list-cats-page-2"),
        pytest.param("GET", "/test/pets/1", None, 200, b'{"id":1,"type":"dog","price":249.99}', id="get-1"),
        pytest.param(
            "POST",
            "/test/pets",
            b'{"type":"dog","price":249.99}',
            200,
            b'{"pet":{"type":"dog","price":249.99},"message":"success"}',
            id="create",
        ),
        pytest.param(
            "GET",
            "/test/unknown",
            None,
            403,
            b'{"message":"Missing Authentication Token"}',
            id="unknown-route",
        ),
        pytest.param(
            "DELETE",
            "/test/pets",
            None,
            403,
            b'{"message":"Missing Authentication Token"}',
            id="unknown-method",
        ),
    ],
)
def test_petstore_http_integrations(
    petstore: Stack, method: str, path: str, body: bytes | None, status: int, expected: bytes
) -> None:
    headers = {"Content-Type": "application/json"} if body else {}
    response = httpx.request(method, petstore.gateway_url + path, content=body, headers=headers, timeout=15)
    assert response.status_code == status
    assert response.content == expected
    assert response.headers["content-type"] == "application/json"
    if status == 200:
        assert response.headers["access-control-allow-origin"] == "*"
    else:
        assert response.headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"


def test_petstore_root_page_is_the_mock_with_stage_links(petstore: Stack) -> None:
    response = httpx.get(petstore.gateway_url + "/test/", timeout=15)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html"
    assert response.text.startswith("<html>\n    <head>")
    assert '<a href="/test/pets/" target="_blank"><code>GET</code> request</a>' in response.text
    assert '<a href="/test/pets/1" target="_blank">' in response.text
    assert "$context" not in response.text


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        pytest.param("/test/pets", "POST,GET,OPTIONS", id="pets"),
        pytest.param("/test/pets/7", "GET,OPTIONS", id="pet"),
    ],
)
def test_petstore_cors_preflight_is_the_mock(petstore: Stack, path: str, methods: str) -> None:
    response = httpx.options(
        petstore.gateway_url + path,
        headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"},
        timeout=15,
    )
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["access-control-allow-methods"] == methods
    assert (
        response.headers["access-control-allow-headers"] == "Content-Type,X-Amz-Date,Authorization,X-Api-Key"
    )
    assert response.headers["access-control-allow-origin"] == "*"


# --------------------------------------------------------------------------------------------------
# HTTP API, JWT authorizer with scopes (OpenAPI 3.0)
# --------------------------------------------------------------------------------------------------

AUTH0_ISSUER = "https://example-tenant.eu.auth0.com/"
FORBIDDEN = {"message": "Forbidden"}


@pytest.fixture
def notes(stack_factory: Callable[..., Stack]) -> Stack:
    return stack_factory(HTTP_JWT / "gatehold.yaml", extra_args=["--issuer-alias", AUTH0_ISSUER])


def test_http_api_jwt_routes(notes: Stack) -> None:
    read = m2m_token(notes.idp_url, "https://notes-api", "read:notes")
    write = m2m_token(notes.idp_url, "https://notes-api", "write:notes")
    url = notes.gateway_url
    with httpx.Client(base_url=url, timeout=15) as client:
        # open route (security: []), inferred 2.0 response
        health = client.get("/health")
        assert (health.status_code, health.json()) == (200, {"status": "ok"})
        # no token, a token without the route's scope, a token for another audience
        assert (client.get("/notes").status_code, client.get("/notes").json()) == (401, UNAUTHORIZED)
        denied = client.get("/notes", headers={"Authorization": f"Bearer {write}"})
        assert (denied.status_code, denied.json()) == (403, FORBIDDEN)
        listed = client.get("/notes", headers={"Authorization": f"Bearer {read}"})
        assert listed.status_code == 200
        assert listed.json()["caller"] == {"sub": "gatehold-m2m@clients", "scopes": ["read:notes"]}
        created = client.post(
            "/notes", json={"text": "buy milk"}, headers={"Authorization": f"Bearer {write}"}
        )
        assert created.status_code == 201
        assert created.json()["note"]["text"] == "buy milk"
        one = client.get("/notes/1", headers={"Authorization": f"Bearer {read}"})
        assert (one.status_code, one.json()["note"]) == (200, {"id": "1", "text": "hello"})
        assert client.get("/missing").json() == {"message": "Not Found"}


def test_http_api_jwt_bad_signature_and_cors_preflight(notes: Stack) -> None:
    token = m2m_token(notes.idp_url, "https://notes-api", "read:notes")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    response = httpx.get(
        notes.gateway_url + "/notes", headers={"Authorization": f"Bearer {forged}"}, timeout=15
    )
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)
    preflight = httpx.options(
        notes.gateway_url + "/notes",
        headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"},
        timeout=15,
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://app.example.com"
    assert preflight.headers["access-control-max-age"] == "300"


# --------------------------------------------------------------------------------------------------
# REST API, Lambda TOKEN authorizer, request validators, API key (OpenAPI 3.0)
# --------------------------------------------------------------------------------------------------

ORDERS_KEY = "orders-demo-key-0123456789abcdef"


def orders_token(idp_url: str, scope: str) -> str:
    response = httpx.post(
        f"{idp_url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "orders-client",
            "client_secret": "orders-client-demo-secret-0123456789",
            "audience": "https://orders-api",
            "scope": scope,
        },
        timeout=15,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.fixture
def orders(stack_factory: Callable[..., Stack]) -> Stack:
    return stack_factory(REST_TOKEN / "gatehold.yaml")


def test_rest_token_authorizer_validation_and_api_key(orders: Stack) -> None:
    read = orders_token(orders.idp_url, "read:orders")
    write = orders_token(orders.idp_url, "write:orders")
    with httpx.Client(base_url=orders.gateway_url + "/prod", timeout=15) as client:
        ping = client.get("/ping")
        assert (ping.status_code, ping.json()) == (200, {"pong": True, "stage": "prod"})

        # the authorizer's 401s (no header; a header its validation expression refuses), with the
        # customised UNAUTHORIZED gateway response's header
        for headers in ({}, {"Authorization": "Basic b3JkZXJzOnNlY3JldA=="}):
            response = client.get("/orders?status=open", headers=headers)
            assert (response.status_code, response.json()) == (401, UNAUTHORIZED)
            assert response.headers["www-authenticate"] == 'Bearer realm="orders"'
        # the authorizer runs before request validation: no token and no parameter is a 401
        assert client.get("/orders").status_code == 401
        # a valid token without read:orders: the authorizer's explicit Deny
        denied = client.get("/orders?status=open", headers={"Authorization": f"Bearer {write}"})
        assert (denied.status_code, denied.json()) == (403, EXPLICIT_DENY)

        auth = {"Authorization": f"Bearer {read}"}
        missing = client.get("/orders", headers=auth)
        assert (missing.status_code, missing.json()) == (
            400,
            {"message": "Missing required request parameters: [status]"},
        )
        assert missing.headers["x-amzn-errortype"] == "BadRequestException"
        assert client.get("/orders?status=", headers=auth).status_code == 400  # blank counts as missing
        listed = client.get("/orders?status=open", headers=auth)
        assert listed.status_code == 200
        assert listed.json() == {"orders": [], "status": "open", "caller": "orders-client@clients"}

        auth = {"Authorization": f"Bearer {write}"}
        for body in (b'{"item": "tea"}', b'{"item": "tea", "quantity": 0}', b"not json", b""):
            bad = client.post("/orders", content=body, headers={**auth, "Content-Type": "application/json"})
            assert (bad.status_code, bad.json()) == (400, {"message": "Invalid request body"})
        good = client.post("/orders", json={"item": "tea", "quantity": 2}, headers=auth)
        assert good.status_code == 201
        assert good.json()["order"] == {"item": "tea", "quantity": 2}

        auth = {"Authorization": f"Bearer {read}"}
        no_key = client.get("/orders/42", headers=auth)
        assert (no_key.status_code, no_key.json()) == (403, FORBIDDEN)
        keyed = client.get("/orders/42", headers={**auth, "x-api-key": ORDERS_KEY})
        assert (keyed.status_code, keyed.json()["order"]) == (200, {"id": "42"})
