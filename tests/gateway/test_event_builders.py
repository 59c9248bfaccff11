"""The pure event builders the authorizers call, and the authorizer block of integration events
(docs/aws-reference.md §1.3, §1.4, §2.2, §3.3, §3.5). Pure functions: called directly."""

from __future__ import annotations

from typing import Any

import pytest

from gatehold.config.models import ApiConfig
from gatehold.gateway.events import (
    authorizer_context_v1,
    authorizer_context_v2,
    proxy_event_v1,
    proxy_event_v2,
    request_authorizer_event_v1,
    request_authorizer_event_v2,
    stringify_claim,
    token_authorizer_event,
)
from gatehold.gateway.model import AuthorizerOutcome, GatewayRequest, RouteMatch
from gatehold.gateway.routing import compile_api

MOCK = {"integration": {"type": "mock"}}
ACCOUNT = "123456789012"


def _match(kind: str, method: str, path: str) -> RouteMatch:
    raw: dict[str, Any] = {"type": kind, "routes": {"GET /pets/{petId}": MOCK}, "api_id": "abcdef123"}
    raw["stages"] = {"test": {"variables": {"StageVar1": "stageValue1"}}}
    router = compile_api("pets", ApiConfig.model_validate(raw))
    return router.match(method, path)


REQUEST = GatewayRequest(
    method="GET",
    path="/test/pets/42",
    query_string="QueryString1=queryValue1",
    headers=[("HeaderAuth1", "headerValue1"), ("Cookie", "c1=a; c2=b"), ("User-Agent", "ua/1")],
    body=b'{"secret": "body"}',
    source_ip="192.0.2.1",
    request_id="c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    time_epoch_ms=1583349317135,
    host="abc.example.com:8000",
)


def test_token_authorizer_event_has_exactly_three_keys() -> None:
    arn = "arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/dev/GET/pets/42"
    assert token_authorizer_event("Bearer abc.def.ghi", arn) == {
        "type": "TOKEN",
        "authorizationToken": "Bearer abc.def.ghi",
        "methodArn": arn,
    }


def test_rest_request_authorizer_event() -> None:
    match = _match("REST", "GET", "/test/pets/42")
    arn = match.method_arn("GET", region="us-east-1", account_id=ACCOUNT)
    event = request_authorizer_event_v1(REQUEST, match, account_id=ACCOUNT, method_arn=arn)
    assert arn == "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/pets/42"
    assert event["type"] == "REQUEST"
    assert event["methodArn"] == arn
    assert event["resource"] == "/pets/{petId}"
    assert event["path"] == "/pets/42"
    assert event["httpMethod"] == "GET"
    assert event["headers"]["HeaderAuth1"] == "headerValue1"
    assert event["multiValueHeaders"]["HeaderAuth1"] == ["headerValue1"]
    assert event["queryStringParameters"] == {"QueryString1": "queryValue1"}
    assert event["multiValueQueryStringParameters"] == {"QueryString1": ["queryValue1"]}
    assert event["pathParameters"] == {"petId": "42"}
    assert event["stageVariables"] == {"StageVar1": "stageValue1"}
    ctx = event["requestContext"]
    assert ctx["path"] == "/test/pets/42"
    assert ctx["stage"] == "test"
    assert ctx["apiId"] == "abcdef123"
    assert ctx["accountId"] == ACCOUNT
    assert ctx["requestTime"] == "04/Mar/2020:19:15:17 +0000"
    assert ctx["domainName"] == "abc.example.com"
    assert ctx["domainPrefix"] == "abc"
    assert ctx["identity"]["sourceIp"] == "192.0.2.1"
    assert "authorizer" not in ctx
    assert "body" not in event
    assert "isBase64Encoded" not in event
    assert "version" not in event


def test_http_request_authorizer_event_v1() -> None:
    match = _match("HTTP", "GET", "/test/pets/42")
    event = request_authorizer_event_v1(
        REQUEST, match, account_id=ACCOUNT, method_arn="arn:x", identity_values=["user1", "123"]
    )
    assert event["version"] == "1.0"
    assert event["identitySource"] == "user1,123"
    assert event["authorizationToken"] == "user1,123"
    assert event["methodArn"] == "arn:x"
    assert event["path"] == "/test/pets/42"


def test_http_request_authorizer_event_v2() -> None:
    match = _match("HTTP", "GET", "/test/pets/42")
    event = request_authorizer_event_v2(
        REQUEST, match, account_id=ACCOUNT, route_arn="arn:r", identity_values=["user1", "123"]
    )
    assert event == {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": "arn:r",
        "identitySource": ["user1", "123"],
        "routeKey": "GET /pets/{petId}",
        "rawPath": "/test/pets/42",
        "rawQueryString": "QueryString1=queryValue1",
        "cookies": ["c1=a", "c2=b"],
        "headers": {"headerauth1": "headerValue1", "user-agent": "ua/1"},
        "queryStringParameters": {"QueryString1": "queryValue1"},
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "abcdef123",
            "domainName": "abc.example.com",
            "domainPrefix": "abc",
            "http": {
                "method": "GET",
                "path": "/test/pets/42",
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "ua/1",
            },
            "requestId": REQUEST.request_id,
            "routeKey": "GET /pets/{petId}",
            "stage": "test",
            "time": "04/Mar/2020:19:15:17 +0000",
            "timeEpoch": 1583349317135,
        },
        "pathParameters": {"petId": "42"},
        "stageVariables": {"StageVar1": "stageValue1"},
    }


LAMBDA = AuthorizerOutcome(
    kind="lambda",
    principal_id="my-username",
    context={"str": "hello", "bool": True, "null": None, "num": 123, "float": 1.5},
    integration_latency_ms=7,
)
JWT = AuthorizerOutcome(
    kind="jwt",
    claims={"sub": "u1", "exp": 1787996002, "aud": ["a", "b", "c"], "email_verified": True, "n": 2.5},
    scopes=["read:unicorn"],
)
JWT_CLAIMS = {"sub": "u1", "exp": "1787996002", "aud": "[a b c]", "email_verified": "true", "n": "2.5"}


@pytest.mark.parametrize(
    ("outcome", "v1", "v2"),
    [
        pytest.param(
            LAMBDA,
            {
                "str": "hello",
                "bool": "true",
                "null": None,
                "num": "123",
                "float": "1.5",
                "principalId": "my-username",
                "integrationLatency": 7,
            },
            {"lambda": LAMBDA.context},
            id="lambda",
        ),
        pytest.param(
            JWT,
            {"claims": JWT_CLAIMS, "scopes": ["read:unicorn"]},
            {"jwt": {"claims": JWT_CLAIMS, "scopes": ["read:unicorn"]}},
            id="jwt",
        ),
        pytest.param(
            AuthorizerOutcome(kind="jwt", claims={"sub": "u1"}, scopes=None),
            {"claims": {"sub": "u1"}, "scopes": None},
            {"jwt": {"claims": {"sub": "u1"}, "scopes": None}},
            id="jwt-no-scopes",
        ),
    ],
)
def test_authorizer_block(outcome: AuthorizerOutcome, v1: dict[str, Any], v2: dict[str, Any]) -> None:
    assert authorizer_context_v1(outcome) == v1
    assert authorizer_context_v2(outcome) == v2
    rest = proxy_event_v1(
        REQUEST, _match("REST", "GET", "/test/pets/42"), account_id=ACCOUNT, authorizer=outcome
    )
    assert rest["requestContext"]["authorizer"] == v1
    http = proxy_event_v2(
        REQUEST, _match("HTTP", "GET", "/test/pets/42"), account_id=ACCOUNT, authorizer=outcome
    )
    assert http["requestContext"]["authorizer"] == v2
    # where AWS puts it: right after apiId (§2.1 recorded event, §3.6)
    assert list(rest["requestContext"])[:4] == ["accountId", "apiId", "authorizer", "deploymentId"]
    assert list(http["requestContext"])[:4] == ["accountId", "apiId", "authorizer", "domainName"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param("x", "x", id="string"),
        pytest.param(1583352238, "1583352238", id="int"),
        pytest.param(1583352238.0, "1583352238", id="integral-float"),
        pytest.param(False, "false", id="bool"),
        pytest.param(["a", "b", "c"], "[a b c]", id="array"),
        pytest.param([], "[]", id="empty-array"),
        pytest.param({"k": "v", "a": 1}, "map[a:1 k:v]", id="object"),
    ],
)
def test_stringify_claim(value: Any, text: str) -> None:
    assert stringify_claim(value) == text
