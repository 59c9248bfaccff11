"""Lambda proxy events, field by field, as the handler receives them over real HTTP
(docs/aws-reference.md §2.1 payload 1.0, §3.6 payload 2.0)."""

from __future__ import annotations

import base64
import re
import time
import uuid
from typing import Any

import pytest

from tests.gateway.conftest import Gateway, event_of

CLF = re.compile(r"^\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000$")
HTTP_REQUEST_ID = re.compile(r"^[A-Za-z0-9_=-]{16}$")
EXTENDED_ID = re.compile(r"^[A-Za-z0-9_-]{15}=$")  # AWS's shape: 11 bytes, URL-safe base64
IDENTITY_NULLS = (
    "accessKey",
    "accountId",
    "caller",
    "cognitoAuthenticationProvider",
    "cognitoAuthenticationType",
    "cognitoIdentityId",
    "cognitoIdentityPoolId",
    "principalOrgId",
    "user",
    "userArn",
)


# §2.1 recorded REST event; requestContext.authorizer, when present, follows apiId
REST_CONTEXT_KEYS = [
    "accountId",
    "apiId",
    "deploymentId",
    "domainName",
    "domainPrefix",
    "extendedRequestId",
    "httpMethod",
    "identity",
    "path",
    "protocol",
    "requestId",
    "requestTime",
    "requestTimeEpoch",
    "resourceId",
    "resourcePath",
    "stage",
]
# §3.6 last bullet, DG 1.0 example: no deploymentId on HTTP APIs
HTTP_V1_CONTEXT_KEYS = [k for k in REST_CONTEXT_KEYS if k != "deploymentId"]


def _lower(d: dict[str, Any]) -> dict[str, Any]:
    return {k.lower(): v for k, v in d.items()}


# ------------------------------------------------------------------------------------------------
# payload 1.0 (REST)
# ------------------------------------------------------------------------------------------------


def test_rest_event_v1_every_field(gateway: Gateway) -> None:
    before = int(time.time() * 1000)
    response = gateway.get("/rest/test/pets/42", headers={"User-Agent": "events-test/1", "X-Custom": "v"})
    event = event_of(response)
    assert list(event) == [
        "resource",
        "path",
        "httpMethod",
        "headers",
        "multiValueHeaders",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
        "stageVariables",
        "requestContext",
        "body",
        "isBase64Encoded",
    ]
    assert "version" not in event
    assert event["resource"] == "/pets/{petId}"
    assert event["path"] == "/pets/42"
    assert event["httpMethod"] == "GET"
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] == {"petId": "42"}
    assert event["stageVariables"] == {"color": "blue", "backend": gateway_backend(event)}
    assert event["body"] is None
    assert event["isBase64Encoded"] is False

    headers = _lower(event["headers"])
    assert headers["user-agent"] == "events-test/1"
    assert headers["x-custom"] == "v"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-port"] == gateway.url.rsplit(":", 1)[1]
    assert headers["x-amzn-trace-id"].startswith("Root=1-")
    assert "content-length" not in headers
    assert "connection" not in headers
    assert _lower(event["multiValueHeaders"])["x-custom"] == ["v"]

    ctx = event["requestContext"]
    assert list(ctx) == REST_CONTEXT_KEYS  # the recorded event's order (§2.1)
    assert ctx["accountId"] == "123456789012"
    assert ctx["apiId"] == "restapi001"
    assert ctx["domainName"] == "127.0.0.1"
    assert ctx["httpMethod"] == "GET"
    assert ctx["path"] == "/test/pets/42"
    assert ctx["protocol"] == "HTTP/1.1"
    assert ctx["resourcePath"] == "/pets/{petId}"
    assert re.fullmatch(r"[a-z0-9]{6}", ctx["resourceId"])
    assert ctx["stage"] == "test"
    assert str(uuid.UUID(ctx["requestId"])) == ctx["requestId"]
    assert response.headers["x-amzn-RequestId"] == ctx["requestId"]
    assert response.headers["x-amz-apigw-id"] == ctx["extendedRequestId"]
    assert EXTENDED_ID.match(ctx["extendedRequestId"])
    assert CLF.match(ctx["requestTime"])
    assert before - 1000 <= ctx["requestTimeEpoch"] <= int(time.time() * 1000) + 1000
    identity = ctx["identity"]
    for key in IDENTITY_NULLS:
        assert identity[key] is None, key
    assert identity["sourceIp"] == "127.0.0.1"
    assert identity["userAgent"] == "events-test/1"
    assert "authorizer" not in ctx


def gateway_backend(event: dict[str, Any]) -> str:
    backend: str = event["stageVariables"]["backend"]
    assert backend.startswith("http://127.0.0.1:")
    return backend


def test_rest_event_stable_ids(gateway: Gateway) -> None:
    a = event_of(gateway.get("/rest/test/pets/1"))["requestContext"]
    b = event_of(gateway.get("/rest/test/pets/2"))["requestContext"]
    assert a["resourceId"] == b["resourceId"]
    assert a["deploymentId"] == b["deploymentId"]
    assert a["requestId"] != b["requestId"]


def test_rest_event_no_stage_variables(gateway: Gateway) -> None:
    event = event_of(gateway.get("/rest/bare/echo"))
    assert event["stageVariables"] is None
    assert event["requestContext"]["stage"] == "bare"
    assert event["requestContext"]["path"] == "/bare/echo"


def test_rest_event_trailing_slash_kept_in_path(gateway: Gateway) -> None:
    event = event_of(gateway.get("/rest/test/echo/"))
    assert event["path"] == "/echo/"
    assert event["requestContext"]["path"] == "/test/echo/"


@pytest.mark.parametrize(
    ("query", "single", "multi"),
    [
        pytest.param("a=1", {"a": "1"}, {"a": ["1"]}, id="one"),
        pytest.param(
            "category=electronics&category=books",
            {"category": "books"},
            {"category": ["electronics", "books"]},
            id="duplicates-last-wins",
        ),
        pytest.param("q=x+y%21&e=", {"q": "x y!", "e": ""}, {"q": ["x y!"], "e": [""]}, id="decoded"),
        pytest.param("flag", {"flag": ""}, {"flag": [""]}, id="no-value"),
    ],
)
def test_rest_event_query_strings(
    gateway: Gateway, query: str, single: dict[str, str], multi: dict[str, list[str]]
) -> None:
    event = event_of(gateway.get(f"/rest/test/echo?{query}"))
    assert event["queryStringParameters"] == single
    assert event["multiValueQueryStringParameters"] == multi


def test_rest_event_multi_value_headers(gateway: Gateway) -> None:
    event = event_of(gateway.get("/rest/test/echo", headers=[("X-Multi", "one"), ("X-Multi", "two")]))
    assert _lower(event["headers"])["x-multi"] == "two"
    assert _lower(event["multiValueHeaders"])["x-multi"] == ["one", "two"]


def test_rest_event_text_body(gateway: Gateway) -> None:
    event = event_of(
        gateway.request(
            "PUT", "/rest/test/any", content=b'{"a": 1}', headers={"Content-Type": "application/json"}
        )
    )
    assert event["body"] == '{"a": 1}'
    assert event["isBase64Encoded"] is False


def test_rest_event_binary_body_is_base64(gateway: Gateway) -> None:
    payload = bytes(range(256))
    event = event_of(
        gateway.request(
            "PUT", "/rest/test/any", content=payload, headers={"Content-Type": "application/octet-stream"}
        )
    )
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


def test_rest_event_x_forwarded_for_appended(gateway: Gateway) -> None:
    event = event_of(gateway.get("/rest/test/echo", headers={"X-Forwarded-For": "203.0.113.9"}))
    assert _lower(event["headers"])["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"


# ------------------------------------------------------------------------------------------------
# payload 1.0 on an HTTP API
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "stage", "path", "stage_variables"),
    [
        pytest.param("/http/echo-v1", "$default", "/echo-v1", {"color": "green"}, id="default-stage"),
        # named stage: path carries the stage like rawPath (serverless-http#143, lambda-api#136)
        pytest.param("/http/dev/echo-v1", "dev", "/dev/echo-v1", {"color": "red"}, id="named-stage"),
    ],
)
def test_http_api_event_v1_paths_and_context(
    gateway: Gateway, url: str, stage: str, path: str, stage_variables: dict[str, str]
) -> None:
    event = event_of(gateway.get(url))
    assert list(event)[:3] == ["version", "resource", "path"]
    assert event["resource"] == "/echo-v1"
    assert event["path"] == path
    assert event["stageVariables"] == stage_variables
    ctx = event["requestContext"]
    assert list(ctx) == HTTP_V1_CONTEXT_KEYS
    assert ctx["path"] == path
    assert ctx["stage"] == stage
    assert ctx["resourcePath"] == "/echo-v1"
    assert ctx["resourceId"] == "GET /echo-v1"  # the route key (recorded 1.0 event)
    assert ctx["extendedRequestId"] == ctx["requestId"]


def test_http_api_event_v1_default_route(gateway: Gateway) -> None:
    """AWS's 1.0 example is a $default route: resource = resourcePath = the path, resourceId null."""
    event = event_of(gateway.get("/v1default/my/path"))
    assert event["resource"] == "/my/path"
    assert event["path"] == "/my/path"
    assert event["pathParameters"] is None
    ctx = event["requestContext"]
    assert list(ctx) == HTTP_V1_CONTEXT_KEYS
    assert ctx["resourcePath"] == "/my/path"
    assert ctx["resourceId"] is None
    assert ctx["stage"] == "$default"


def test_http_api_event_v1(gateway: Gateway) -> None:
    response = gateway.get("/http/echo-v1?a=1&a=2")
    event = event_of(response)
    assert event["version"] == "1.0"
    assert event["resource"] == "/echo-v1"
    assert event["path"] == "/echo-v1"
    assert event["queryStringParameters"] == {"a": "2"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"]}
    assert event["pathParameters"] is None
    assert event["stageVariables"] == {"color": "green"}
    ctx = event["requestContext"]
    assert ctx["stage"] == "$default"
    assert ctx["apiId"] == "httpapi001"
    assert HTTP_REQUEST_ID.match(ctx["requestId"])
    assert response.headers["apigw-requestid"] == ctx["requestId"]


# ------------------------------------------------------------------------------------------------
# payload 2.0
# ------------------------------------------------------------------------------------------------


def test_http_event_v2_every_field(gateway: Gateway) -> None:
    response = gateway.get("/http/pets/dog/7", headers={"User-Agent": "events-test/2"})
    event = event_of(response)
    assert list(event) == [
        "version",
        "routeKey",
        "rawPath",
        "rawQueryString",
        "headers",
        "requestContext",
        "pathParameters",
        "isBase64Encoded",
        "stageVariables",
    ]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /pets/dog/{id}"
    assert event["rawPath"] == "/pets/dog/7"
    assert event["rawQueryString"] == ""
    assert event["pathParameters"] == {"id": "7"}
    assert event["isBase64Encoded"] is False
    assert event["stageVariables"] == {"color": "green"}
    headers = event["headers"]
    assert all(name == name.lower() for name in headers)
    assert headers["user-agent"] == "events-test/2"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    ctx = event["requestContext"]
    assert list(ctx) == [
        "accountId",
        "apiId",
        "domainName",
        "domainPrefix",
        "http",
        "requestId",
        "routeKey",
        "stage",
        "time",
        "timeEpoch",
    ]
    assert ctx["accountId"] == "123456789012"
    assert ctx["apiId"] == "httpapi001"
    assert ctx["domainName"] == "127.0.0.1"
    assert ctx["http"] == {
        "method": "GET",
        "path": "/pets/dog/7",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "events-test/2",
    }
    assert HTTP_REQUEST_ID.match(ctx["requestId"])
    assert response.headers["apigw-requestid"] == ctx["requestId"]
    assert "x-amzn-RequestId" not in response.headers
    assert ctx["routeKey"] == "GET /pets/dog/{id}"
    assert ctx["stage"] == "$default"
    assert CLF.match(ctx["time"])
    assert isinstance(ctx["timeEpoch"], int)


def test_http_event_v2_query_cookies_duplicates(gateway: Gateway) -> None:
    event = event_of(
        gateway.get(
            "/http/pets/dog/1?parameter1=value1&parameter1=value2&parameter2=x+y",
            headers=[("Cookie", "cookie1=a; cookie2=b"), ("X-Dup", "value1"), ("X-Dup", "value2")],
        )
    )
    assert event["rawQueryString"] == "parameter1=value1&parameter1=value2&parameter2=x+y"
    assert event["queryStringParameters"] == {"parameter1": "value1,value2", "parameter2": "x y"}
    assert event["cookies"] == ["cookie1=a", "cookie2=b"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["x-dup"] == "value1,value2"
    assert "pathParameters" not in event


def test_http_event_v2_named_stage_raw_path(gateway: Gateway) -> None:
    event = event_of(gateway.get("/http/dev/pets/dog/1"))
    assert event["rawPath"] == "/dev/pets/dog/1"
    assert event["requestContext"]["http"]["path"] == "/dev/pets/dog/1"
    assert event["routeKey"] == "GET /pets/dog/1"
    assert event["requestContext"]["stage"] == "dev"
    assert event["stageVariables"] == {"color": "red"}


@pytest.mark.parametrize(
    ("content_type", "body", "expect_b64"),
    [
        pytest.param("application/json", b'{"a":1}', False, id="json-text"),
        pytest.param("text/plain; charset=utf-8", "héllo".encode(), False, id="text"),
        pytest.param("application/octet-stream", b"\x00\x01\xff", True, id="binary"),
        pytest.param("application/x-www-form-urlencoded", b"a=1&b=2", True, id="form-is-base64"),
        pytest.param("image/png", b"\x89PNG", True, id="image"),
        # the text/binary split checked on live AWS (ministackorg/ministack#766)
        pytest.param("text/html", b"<p>hi</p>", False, id="text-html"),
        pytest.param("application/xml", b"<a/>", False, id="xml-text"),
        pytest.param("application/javascript", b"f()", False, id="javascript-text"),
        pytest.param("APPLICATION/JSON; charset=utf-8", b"{}", False, id="json-parameters-case"),
        pytest.param("application/problem+json", b"{}", True, id="suffix-json-is-base64"),
        pytest.param("application/yaml", b"a: 1", True, id="yaml-is-base64"),
        pytest.param(None, b"plain", True, id="no-content-type-is-base64"),
        pytest.param("text/plain", b"\xff\xfe", True, id="invalid-utf8-text-is-base64"),
    ],
)
def test_http_event_v2_body(
    gateway: Gateway, content_type: str | None, body: bytes, expect_b64: bool
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    event = event_of(gateway.request("PUT", "/http/things/1", content=body, headers=headers))
    assert event["isBase64Encoded"] is expect_b64
    decoded = base64.b64decode(event["body"]) if expect_b64 else event["body"].encode()
    assert decoded == body


def test_http_event_v2_default_route(gateway: Gateway) -> None:
    event = event_of(gateway.get("/http/"))
    assert event["routeKey"] == "$default"
    assert event["requestContext"]["routeKey"] == "$default"
    assert "pathParameters" not in event
    assert "body" not in event
