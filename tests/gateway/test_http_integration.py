"""HTTP (non-proxy) integrations, mock integrations with context substitution, ``gateway.upstreams``
and REST request validation, over real HTTP: a GatewayApp on the gateway's own server in front of a
local echo backend (tests/gateway/conftest.py ``upstream``), built from the YAML below.

AWS's behaviour: docs/aws-reference.md §5.1, §5.5, §6; request validation from the developer guide
page ``api-gateway-method-request-validation`` (see gatehold.gateway.request_validation).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gatehold.config import load_config
from gatehold.gateway.app import GatewayApp
from gatehold.gateway.integrations.http import apply_upstreams
from gatehold.runtime import build_invoker
from tests.gateway.conftest import GatewayServerThread, ServerThread, close_invoker

# ruff: noqa: E501 - the configuration below is YAML, kept as users write it

CONFIG = """
gateway:
  upstreams:
    "http://backend.example": "${upstream_url}"
apis:
  shop:
    type: REST
    base_path: /shop
    stages:
      test: {variables: {tenant: acme}}
    routes:
      GET /items/{id}:
        integration:
          type: http
          method: GET
          uri: "http://backend.example/items/{id}"
          request_parameters:
            integration.request.path.id: method.request.path.id
            integration.request.querystring.q: method.request.querystring.q
            integration.request.header.X-Tenant: stageVariables.tenant
            integration.request.header.X-Caller: method.request.header.X-Caller
            integration.request.header.X-Static: "'fixed'"
          responses:
            "2\\\\d{2}":
              status_code: 200
              headers:
                X-From-Backend: integration.response.header.x-upstream
                Access-Control-Allow-Origin: "'*'"
            default: {status_code: 400}
      POST /items:
        integration:
          type: http
          method: PUT
          uri: "http://backend.example/items"
          responses:
            "200": {status_code: 202, headers: {Content-Type: "'text/plain'"}}
            default: {status_code: 200}
      POST /strict:
        integration:
          type: http
          method: POST
          uri: "http://backend.example/strict"
          passthrough_behavior: never
      GET /templated:
        integration:
          type: http
          method: GET
          uri: "http://backend.example/x"
          responses:
            "4\\\\d{2}": {status_code: 200}
            default: {status_code: 400, headers: {X-Note: "'static value'"}, body: 'bad request on $context.stage ($stageVariables.tenant)'}
      GET /unmapped:
        integration: {type: http, method: GET, uri: "http://backend.example/x", responses: {"500": {status_code: 500}}}
      GET /down:
        integration: {type: http, method: GET, uri: "http://127.0.0.1:9/nothing"}
      GET /:
        integration:
          type: mock
          headers: {Content-Type: text/html}
          body: "<a href=\\"/$context.stage/items/\\">$context.httpMethod $context.resourcePath $stageVariables.tenant</a>"
      GET /orders:
        request_validation:
          required_parameters: [method.request.querystring.status, method.request.header.X-Trace, method.request.querystring.page]
        integration: {type: mock, body: '{"ok": true}'}
      POST /orders:
        request_validation:
          body_schemas:
            application/json:
              type: object
              required: [item]
              properties: {item: {type: string}, count: {$ref: "#/definitions/Count"}}
              definitions: {Count: {type: integer, minimum: 1}}
        integration: {type: mock, body: '{"ok": true}'}
      PUT /orders:
        request_validation:
          body_schemas: {$default: {type: array}}
        integration: {type: mock, body: '{"ok": true}'}
"""


@pytest.fixture(scope="module")
def shop(upstream: ServerThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    path = tmp_path_factory.mktemp("shop") / "gatehold.yaml"
    path.write_text(CONFIG)
    loaded = load_config(path, variables={"upstream_url": upstream.url})
    invoker = build_invoker(loaded)
    with (
        GatewayServerThread(GatewayApp(loaded, invoker)) as server,
        httpx.Client(base_url=server.url + "/shop/test", timeout=10) as client,
    ):
        yield client
    with contextlib.suppress(Exception):
        close_invoker(invoker)


def _sent_headers(received: dict[str, object]) -> dict[str, str]:
    return {k: v for k, v in received["headers"]}  # type: ignore[attr-defined]


def test_only_mapped_parameters_reach_the_backend(shop: httpx.Client) -> None:
    response = shop.get(
        "/items/a%20b", params={"q": "blue shoes", "other": "x"}, headers={"X-Caller": "c1", "X-Other": "no"}
    )
    assert response.status_code == 200
    received = response.json()
    assert received["method"] == "GET"
    assert received["path"] == "/items/a%20b"  # the client's encoding, not encoded again
    assert received["query"] == "q=blue+shoes"
    sent = _sent_headers(received)
    assert (sent["x-tenant"], sent["x-caller"], sent["x-static"]) == ("acme", "c1", "fixed")
    assert "x-other" not in sent
    # the method response: the mapped headers only, typed application/json by default
    assert response.headers["x-from-backend"] == "yes"
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["content-type"] == "application/json"
    assert "x-upstream" not in response.headers


def test_body_passes_through_and_the_status_is_selected_by_pattern(shop: httpx.Client) -> None:
    response = shop.post("/items", content=b'{"name":"hat"}', headers={"Content-Type": "application/json"})
    assert response.status_code == 202  # the backend's 200 (to a PUT) matched "200"
    assert response.headers["content-type"] == "text/plain"
    received = response.json()
    assert (received["method"], received["body"]) == ("PUT", '{"name":"hat"}')
    assert _sent_headers(received)["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "expected"),
    [
        pytest.param(
            "POST", "/strict", b"{}", 415, b'{"message":"Unsupported Media Type"}', id="passthrough-never"
        ),
        pytest.param(
            "GET", "/unmapped", None, 500, b'{"message":"Internal server error"}', id="no-response-mapping"
        ),
        pytest.param("GET", "/down", None, 502, b'{"message": "Internal server error"}', id="backend-down"),
    ],
)
def test_failures(
    shop: httpx.Client, method: str, path: str, body: bytes | None, status: int, expected: bytes
) -> None:
    response = shop.request(method, path, content=body)
    assert response.status_code == status
    assert response.content == expected


def test_static_response_template_replaces_the_body(shop: httpx.Client) -> None:
    response = shop.get("/templated")
    assert (response.status_code, response.text) == (400, "bad request on test (acme)")
    assert response.headers["x-note"] == "static value"


def test_mock_substitutes_context_and_stage_variables(shop: httpx.Client) -> None:
    response = shop.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html"
    assert response.text == '<a href="/test/items/">GET / acme</a>'


@pytest.mark.parametrize(
    ("path", "headers", "status", "body"),
    [
        pytest.param(
            "/orders",
            {},
            400,
            {"message": "Missing required request parameters: [X-Trace, page, status]"},
            id="all-missing-in-aws-order",
        ),
        pytest.param(
            "/orders?status=&page=2",
            {"X-Trace": ""},
            400,
            {"message": "Missing required request parameters: [X-Trace, status]"},
            id="blank-is-missing",
        ),
        pytest.param("/orders?status=open&page=2", {"X-Trace": "t"}, 200, {"ok": True}, id="present"),
    ],
)
def test_required_parameters(
    shop: httpx.Client, path: str, headers: dict[str, str], status: int, body: object
) -> None:
    response = shop.get(path, headers=headers)
    assert (response.status_code, response.json()) == (status, body)
    if status == 400:
        assert response.headers["x-amzn-errortype"] == "BadRequestException"


INVALID = {"message": "Invalid request body"}


@pytest.mark.parametrize(
    ("method", "content_type", "body", "status"),
    [
        pytest.param("POST", "application/json", b'{"item": "hat", "count": 2}', 200, id="valid"),
        pytest.param("POST", "application/json; charset=utf-8", b'{"count": 2}', 400, id="missing-property"),
        pytest.param("POST", "application/json", b'{"item": "hat", "count": 0}', 400, id="ref-to-definition"),
        pytest.param("POST", "application/json", b"{not json", 400, id="not-json"),
        pytest.param("POST", "application/json", b"", 400, id="empty"),
        pytest.param("POST", "text/plain", b"anything", 200, id="no-schema-for-content-type"),
        pytest.param("PUT", "text/csv", b"[1, 2]", 200, id="default-schema-valid"),
        pytest.param("PUT", "text/csv", b"{}", 400, id="default-schema-invalid"),
    ],
)
def test_body_validation(
    shop: httpx.Client, method: str, content_type: str, body: bytes, status: int
) -> None:
    response = shop.request(method, "/orders", content=body, headers={"Content-Type": content_type})
    assert response.status_code == status
    assert response.json() == (INVALID if status == 400 else {"ok": True})


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        pytest.param("http://backend.example/items", "http://127.0.0.1:1/items", id="prefix"),
        pytest.param("http://backend.example", "http://127.0.0.1:1", id="whole"),
        pytest.param("http://backend.example?x=1", "http://127.0.0.1:1?x=1", id="query"),
        pytest.param(
            "http://backend.example.evil/items", "http://backend.example.evil/items", id="not-a-boundary"
        ),
        pytest.param("http://backend.example/v2/items", "http://127.0.0.1:2/items", id="longest-prefix"),
    ],
)
def test_apply_upstreams(uri: str, expected: str) -> None:
    upstreams = {
        "http://backend.example/": "http://127.0.0.1:1",
        "http://backend.example/v2": "http://127.0.0.1:2/",
    }
    assert apply_upstreams(uri, upstreams) == expected


def test_bad_response_pattern_is_a_load_error(tmp_path: Path) -> None:
    from gatehold.config import ConfigError
    from gatehold.gateway.integrations import check_integrations

    path = tmp_path / "gatehold.yaml"
    path.write_text(
        "apis:\n  a:\n    type: REST\n    stages: {s: {}}\n    routes:\n      GET /x:\n        integration:\n"
        "          type: http\n          method: GET\n          uri: http://b/\n          responses: {'2(': {status_code: 200}}\n"
    )
    loaded = load_config(path)
    with pytest.raises(ConfigError) as info:
        check_integrations(loaded)
    [problem] = info.value.problems
    assert str(problem) == (
        f"{path}:7: apis.a.routes['GET /x'].integration: responses '2(' is not a regular expression:"
        " missing ), unterminated subpattern at position 1"
    )
