"""HTTP proxy and mock integrations over real HTTP (docs/aws-reference.md §2.3, §3.8, §4.3, §5.5)."""

from __future__ import annotations

import pytest

from tests.gateway.conftest import Gateway, ServerThread


def _headers(received: dict[str, object]) -> dict[str, str]:
    return {k: v for k, v in received["headers"]}  # type: ignore[attr-defined]


def test_http_proxy_greedy_path_query_body_and_headers(gateway: Gateway) -> None:
    response = gateway.post(
        "/rest/test/upstream/a/b%20c/d?x=1&x=2",
        content=b"payload",
        headers={"X-Client": "yes", "Connection": "keep-alive", "Keep-Alive": "timeout=5", "TE": "trailers"},
    )
    assert response.status_code == 201
    received = response.json()
    assert received["method"] == "POST"
    assert received["path"] == "/a/b%20c/d"
    assert received["query"] == "x=1&x=2"
    assert received["body"] == "payload"
    sent = _headers(received)
    assert sent["x-client"] == "yes"
    assert "keep-alive" not in sent
    assert "te" not in sent
    assert sent["x-forwarded-for"] == "127.0.0.1"
    assert response.headers["x-upstream"] == "yes"
    assert "keep-alive" not in response.headers
    assert response.headers["x-amzn-RequestId"]


def test_http_proxy_path_parameter_substituted(gateway: Gateway, upstream: ServerThread) -> None:
    response = gateway.get("/rest/test/upstream-pets/42")
    assert response.status_code == 200
    received = response.json()
    assert received["path"] == "/pets/42"
    assert received["method"] == "GET"
    assert _headers(received)["host"] == f"127.0.0.1:{upstream.port}"
    assert response.headers["access-control-allow-origin"] == "*"


def test_http_proxy_streams_body(gateway: Gateway) -> None:
    with gateway.client.stream("GET", "/rest/test/upstream/stream") as response:
        chunks = b"".join(response.iter_raw())
    assert response.status_code == 200
    assert chunks == b"one,two,three"


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        pytest.param("/rest/test/down", 502, b'{"message": "Internal server error"}', id="rest-unreachable"),
        pytest.param(
            "/rest/test/upstream-slow", 504, b'{"message": "Endpoint request timed out"}', id="rest-timeout"
        ),
        pytest.param("/http/down", 500, b'{"message":"Internal Server Error"}', id="http-unreachable"),
        pytest.param("/http/upstream-slow", 503, b'{"message":"Service Unavailable"}', id="http-timeout"),
    ],
)
def test_http_proxy_upstream_failures(gateway: Gateway, path: str, status: int, body: bytes) -> None:
    response = gateway.get(path)
    assert response.status_code == status
    assert response.content == body


def test_mock_integration_substitutes_context(gateway: Gateway) -> None:
    response = gateway.get("/rest/test/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain"
    request_id = response.headers["x-amzn-RequestId"]
    assert response.text == f"stage=test id={request_id} color=blue"


def test_mock_integration_static(gateway: Gateway) -> None:
    response = gateway.get("/rest/bare/pets/special")
    assert response.status_code == 200
    assert response.content == b'{"special":true}'
    assert response.headers["content-type"] == "application/json"


# §4.2: "the $default route receives the full request path" — appended to an HTTP API's URI
@pytest.mark.parametrize(
    ("path", "upstream_path"),
    [
        pytest.param("/proxied/store/checkout?x=1&x=2", "/base/store/checkout", id="default-stage"),
        pytest.param("/proxied/v1/store/checkout?x=1&x=2", "/base/store/checkout", id="named-stage"),
        pytest.param("/proxied/a%20b/", "/base/a%20b/", id="as-sent"),
        pytest.param("/proxied", "/base/", id="root"),
    ],
)
def test_http_api_default_route_forwards_the_full_path(
    gateway: Gateway, path: str, upstream_path: str
) -> None:
    response = gateway.get(path)
    assert response.status_code == 200
    received = response.json()
    assert received["path"] == upstream_path
    if "?" in path:
        assert received["query"] == "x=1&x=2"
