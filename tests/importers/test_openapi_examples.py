"""The OpenAPI examples run by ``gatehold up -c`` as real subprocesses, over real HTTP.

* examples/openapi-petstore: the console's PetStore export (Swagger 2.0, http + mock integrations)
  against its local backend stub, started as a process the way the example's comments say;
* examples/openapi-http-jwt: an OpenAPI 3.0 HTTP API, JWT authorizer with scopes on an Auth0-style
  issuer served locally through ``--issuer-alias``, Lambda proxy routes;
* examples/openapi-rest-token: an OpenAPI 3.0 REST API with a Lambda TOKEN authorizer verifying the
  local identity provider's RS256 tokens, a request validator and an API key route.

Statuses and bodies are AWS's (apigw-behaviour.md §1.5, §3.2, §4.1, §5.5, §6).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.importers.support import EXAMPLES, m2m_token  # noqa: F401 - used below
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
