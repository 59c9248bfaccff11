"""Lambda results → HTTP responses over real HTTP (docs/aws-reference.md §2.3 validation table, §3.7
inference table), and the exact failure bodies (§2.3, §3.8)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.gateway.conftest import Gateway

REST_502 = b'{"message": "Internal server error"}'
HTTP_500 = b'{"message":"Internal Server Error"}'


def _respond(gateway: Gateway, path: str, result: Any, **kwargs: Any) -> Any:
    return gateway.post(path, json={"result": result}, **kwargs)


# §2.3: every row of the validation table, REST API (payload 1.0)
@pytest.mark.parametrize(
    ("result", "status", "body", "headers"),
    [
        pytest.param({"statusCode": 200}, 200, b"", {"content-type": "application/json"}, id="status-only"),
        pytest.param(
            {"statusCode": 200, "headers": {"test-header": "value", "header-bool": True}},
            200,
            b"",
            {"test-header": "value", "header-bool": "true"},
            id="bool-header",
        ),
        pytest.param({"statusCode": 200, "headers": None}, 200, b"", {}, id="null-headers"),
        pytest.param({"statusCode": 200, "wrongValue": "value"}, 502, REST_502, {}, id="unknown-key"),
        pytest.param({}, 502, REST_502, {}, id="empty-object"),
        pytest.param("justAString", 502, REST_502, {}, id="string"),
        pytest.param([1, 2], 502, REST_502, {}, id="array"),
        pytest.param(None, 502, REST_502, {}, id="null"),
        pytest.param({"statusCode": "test"}, 502, REST_502, {}, id="non-numeric-status"),
        pytest.param({"statusCode": "201"}, 201, b"", {}, id="numeric-string-status"),
        pytest.param(
            {"headers": {"test-header": "value"}}, 200, b"", {"test-header": "value"}, id="no-status"
        ),
        pytest.param(
            {"statusCode": 200, "multiValueHeaders": {"test-multi": ["value1", "value2"]}},
            200,
            b"",
            {"test-multi": "value1, value2"},
            id="multi-value-headers",
        ),
        pytest.param(
            {
                "statusCode": 200,
                "multiValueHeaders": {"test-multi": ["value-multi"]},
                "headers": {"test-multi": "value-solo"},
            },
            200,
            b"",
            {"test-multi": "value-multi, value-solo"},
            id="multi-merged-first",
        ),
        pytest.param(
            {
                "statusCode": 200,
                "multiValueHeaders": {"tesT-Multi": ["value-multi"]},
                "headers": {"test-multi": "value-solo"},
            },
            200,
            b"",
            {"test-multi": "value-multi, value-solo"},
            id="multi-merged-case-insensitive",
        ),
        pytest.param(
            {"statusCode": 200, "multiValueHeaders": {"x": "value1"}}, 502, REST_502, {}, id="multi-not-list"
        ),
        pytest.param({"statusCode": 200, "headers": ["x"]}, 502, REST_502, {}, id="headers-not-object"),
        pytest.param(
            {"statusCode": 200, "body": "dGVzdC1kYXRh", "isBase64Encoded": True},
            200,
            b"dGVzdC1kYXRh",
            {},
            id="base64-without-binary-accept",
        ),
        pytest.param(
            {
                "statusCode": 404,
                "body": '{"error":"nope"}',
                "headers": {"Content-Type": "application/problem+json"},
            },
            404,
            b'{"error":"nope"}',
            {"content-type": "application/problem+json"},
            id="function-content-type",
        ),
    ],
)
def test_rest_proxy_response_validation(
    gateway: Gateway, result: Any, status: int, body: bytes, headers: dict[str, str]
) -> None:
    response = _respond(gateway, "/rest/test/respond", result)
    assert response.status_code == status
    assert response.content == body
    for name, value in headers.items():
        assert response.headers[name] == value
    if status == 502:
        assert response.headers["x-amzn-ErrorType"] == "InternalServerErrorException"
        assert response.headers["content-type"] == "application/json"
        assert response.headers["content-length"] == "36"
    assert response.headers["x-amzn-RequestId"]
    assert response.headers["x-amz-apigw-id"]


def test_rest_multi_value_set_cookie_are_separate_lines(gateway: Gateway) -> None:
    response = _respond(
        gateway,
        "/rest/test/respond",
        {"statusCode": 200, "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]}},
    )
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]


def test_rest_base64_decoded_when_accept_matches(gateway: Gateway) -> None:
    raw = b"\x89PNG\r\n\x1a\n\x00\xff"
    result = {
        "statusCode": 200,
        "headers": {"Content-Type": "image/png"},
        "body": base64.b64encode(raw).decode(),
        "isBase64Encoded": True,
    }
    response = _respond(gateway, "/rest/test/respond", result, headers={"Accept": "image/png"})
    assert response.content == raw
    not_binary = _respond(gateway, "/rest/test/respond", result, headers={"Accept": "text/html, image/png"})
    assert not_binary.content == base64.b64encode(raw)


def test_rest_binary_round_trip(gateway: Gateway) -> None:
    raw = bytes(range(256)) * 4
    response = gateway.post(
        "/rest/test/binary",
        content=raw,
        headers={"Content-Type": "application/octet-stream", "Accept": "application/octet-stream"},
    )
    assert response.status_code == 200
    assert response.content == raw


def test_rest_function_error_is_502_without_details(gateway: Gateway) -> None:
    response = gateway.get("/rest/test/fail")
    assert response.status_code == 502
    assert response.content == REST_502
    assert response.headers["x-amzn-ErrorType"] == "InternalServerErrorException"
    assert b"exploded" not in response.content


def test_rest_integration_timeout_is_504(gateway: Gateway) -> None:
    response = gateway.get("/rest/test/slow")
    assert response.status_code == 504
    assert response.content == b'{"message": "Endpoint request timed out"}'
    assert response.headers["x-amzn-ErrorType"] == "InternalServerErrorException"


# HTTP API payload 1.0: REST rules, HTTP API failure body
@pytest.mark.parametrize(
    ("result", "status", "body"),
    [
        pytest.param({"statusCode": 202, "body": "ok"}, 202, b"ok", id="valid"),
        pytest.param({"statusCode": 200, "wrongValue": 1}, 500, HTTP_500, id="unknown-key"),
        pytest.param("justAString", 500, HTTP_500, id="string"),
        pytest.param(
            {"statusCode": 200, "body": "aGk=", "isBase64Encoded": True}, 200, b"hi", id="base64-decoded"
        ),
    ],
)
def test_http_api_payload_v1_response(gateway: Gateway, result: Any, status: int, body: bytes) -> None:
    response = _respond(gateway, "/http/respond-v1", result)
    assert response.status_code == status
    assert response.content == body
    assert "x-amzn-ErrorType" not in response.headers
    assert response.headers["apigw-requestid"]


# §3.7: payload 2.0, structured and inferred
@pytest.mark.parametrize(
    ("result", "status", "body", "content_type"),
    [
        pytest.param(
            "Hello from Lambda!", 200, b"Hello from Lambda!", "application/json", id="inferred-string"
        ),
        pytest.param(
            {"message": "Hello from Lambda!"},
            200,
            b'{"message": "Hello from Lambda!"}',
            "application/json",
            id="inferred-object",
        ),
        pytest.param([1, 2], 200, b"[1, 2]", "application/json", id="inferred-array"),
        pytest.param(42, 200, b"42", "application/json", id="inferred-number"),
        pytest.param(None, 200, b"null", "application/json", id="inferred-null"),
        pytest.param(
            {
                "statusCode": 201,
                "headers": {"content-type": "text/plain", "x-multi": "v1,v2"},
                "body": "Hello from Lambda!",
            },
            201,
            b"Hello from Lambda!",
            "text/plain",
            id="structured",
        ),
        pytest.param({"statusCode": 204}, 204, b"", "application/json", id="structured-no-body"),
        pytest.param(
            {"statusCode": 200, "body": "aGVsbG8=", "isBase64Encoded": True},
            200,
            b"hello",
            "application/json",
            id="structured-base64",
        ),
        pytest.param({"statusCode": "oops"}, 500, HTTP_500, "application/json", id="bad-status"),
        pytest.param(
            {"statusCode": 200, "headers": "x"}, 500, HTTP_500, "application/json", id="bad-headers"
        ),
        pytest.param(
            {"statusCode": 200, "cookies": "a=1"}, 500, HTTP_500, "application/json", id="bad-cookies"
        ),
    ],
)
def test_http_payload_v2_response(
    gateway: Gateway, result: Any, status: int, body: bytes, content_type: str
) -> None:
    response = _respond(gateway, "/http/respond", result)
    assert response.status_code == status
    assert response.content == body
    assert response.headers["content-type"] == content_type
    assert response.headers["apigw-requestid"]


def test_http_payload_v2_cookies_become_set_cookie(gateway: Gateway) -> None:
    response = _respond(
        gateway, "/http/respond", {"statusCode": 200, "cookies": ["a=1; Path=/", "b=2"], "body": "x"}
    )
    assert response.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2"]


def test_http_function_error_is_500(gateway: Gateway) -> None:
    response = gateway.get("/http/fail")
    assert response.status_code == 500
    assert response.content == HTTP_500
    assert "x-amzn-ErrorType" not in response.headers


def test_http_integration_timeout_is_503(gateway: Gateway) -> None:
    response = gateway.get("/http/slow")
    assert response.status_code == 503
    assert response.content == b'{"message":"Service Unavailable"}'
    assert response.headers["content-length"] == "33"


@pytest.mark.parametrize(
    ("path", "body", "error_type"),
    [
        pytest.param(
            "/rest/test/respond", b'{"message":"Request Too Long"}', "RequestTooLargeException", id="rest"
        ),
        pytest.param("/http/respond", b'{"message":"Request Entity Too Large"}', None, id="http"),
    ],
)
def test_payload_over_10_mb_is_413(gateway: Gateway, path: str, body: bytes, error_type: str | None) -> None:
    response = gateway.post(path, content=b"x" * (10 * 1024 * 1024 + 1))
    assert response.status_code == 413
    assert response.content == body
    assert response.headers.get("x-amzn-ErrorType") == error_type


def test_head_has_no_body(gateway: Gateway) -> None:
    response = gateway.request("HEAD", "/rest/test/pets/special")
    assert response.status_code == 403  # HEAD is its own verb; no ANY on this resource
    get = gateway.request("HEAD", "/http/pets/dog/1")
    assert get.status_code == 200
    assert get.content == b""
    assert int(get.headers["content-length"]) > 0


def test_http_payload_v2_ignores_multi_value_headers(gateway: Gateway) -> None:
    """Format 2.0 has no multiValueHeaders: API Gateway does not read them (AWS's answer in
    aws/serverless-java-container#377); duplicate values go comma-joined in ``headers``."""
    result = {
        "statusCode": 200,
        "headers": {"x-multi": "v1,v2"},
        "multiValueHeaders": {"x-ignored": ["a", "b"]},
        "body": "x",
    }
    response = _respond(gateway, "/http/respond", result)
    assert response.status_code == 200
    assert response.headers["x-multi"] == "v1,v2"
    assert "x-ignored" not in response.headers
