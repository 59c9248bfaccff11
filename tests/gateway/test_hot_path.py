"""The per-request hot path's shortcuts answer exactly what the general code answers: the short
Lambda-result mapping (§2.3, §3.7), the per-request header view behind 2.0 events (§3.6), events
that are the integration's own, and remembered route matches (§4.2). Pure functions: called directly."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gatehold.config.models import ApiConfig
from gatehold.errors import GatewayError
from gatehold.gateway.events import add_forwarding_headers, header_view, proxy_event_v1, proxy_event_v2
from gatehold.gateway.model import AuthorizerOutcome, GatewayRequest, GatewayResponse
from gatehold.gateway.responses import map_response_v1, map_response_v2
from gatehold.gateway.routing import MAX_REMEMBERED_MATCHES, compile_api

ACCOUNT = "123456789012"


# -- Lambda results: the statusCode + string body shape, and its near misses ----------------------


@pytest.mark.parametrize(
    ("result", "status", "body"),
    [
        pytest.param({"statusCode": 200, "body": '{"a": 1}'}, 200, b'{"a": 1}', id="common"),
        pytest.param({"statusCode": 404, "body": ""}, 404, b"", id="empty-body"),
        pytest.param({"statusCode": 100, "body": "x"}, 100, b"x", id="lowest-status"),
        pytest.param({"statusCode": 599, "body": "x"}, 599, b"x", id="highest-status"),
        pytest.param(
            {"statusCode": 200, "body": "h\u00e9 \u2603"}, 200, "h\u00e9 \u2603".encode(), id="utf-8"
        ),
        pytest.param({"body": "x", "statusCode": 201}, 201, b"x", id="keys-in-any-order"),
        pytest.param({"statusCode": 200.0, "body": "x"}, 200, b"x", id="float-status"),
        pytest.param({"statusCode": "200", "body": "x"}, 200, b"x", id="string-status"),
        pytest.param({"statusCode": 200, "body": 12}, 200, b"12", id="number-body"),
        pytest.param({"statusCode": 200, "body": None}, 200, b"", id="null-body"),
    ],
)
@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_status_and_body_results(version: str, result: dict[str, Any], status: int, body: bytes) -> None:
    if version == "2.0":
        response = map_response_v2(result)
        content_type = ("content-type", "application/json")
    else:
        response = map_response_v1(result, api_type="HTTP")
        content_type = ("Content-Type", "application/json")
    assert response == GatewayResponse(status, [content_type], body)


@pytest.mark.parametrize(
    "result",
    [
        pytest.param({"statusCode": 600, "body": "x"}, id="status-above-599"),
        pytest.param({"statusCode": 99, "body": "x"}, id="status-below-100"),
        pytest.param({"statusCode": True, "body": "x"}, id="boolean-status"),
        pytest.param({"statusCode": 200, "body": ["x"]}, id="list-body"),
    ],
)
@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_malformed_status_and_body_results_fail(version: str, result: dict[str, Any]) -> None:
    def mapped() -> GatewayResponse:
        return map_response_v2(result) if version == "2.0" else map_response_v1(result, api_type="REST")

    with pytest.raises(GatewayError) as raised:
        mapped()
    assert raised.value.status == (500 if version == "2.0" else 502)


def test_lone_surrogate_body_fails_like_any_unencodable_body() -> None:
    with pytest.raises(UnicodeEncodeError):
        map_response_v2({"statusCode": 200, "body": "\ud800"})


# -- the header view behind 2.0 events --------------------------------------------------------------


def _http_api() -> Any:
    raw: dict[str, Any] = {
        "type": "HTTP",
        "api_id": "abcdef123",
        "routes": {"GET /pets": {}, "GET /pets/{id}": {}},
    }
    for route in raw["routes"].values():
        route["integration"] = {"type": "mock"}
    return compile_api("pets", ApiConfig.model_validate(raw))


HEADERS = [
    ("Host", "abc.example.com"),
    ("User-Agent", "first/1"),
    ("X-Forwarded-For", "198.51.100.7"),
    ("Cookie", "a=1; b=2"),
    ("x-multi", "one"),
    ("X-Multi", "two"),
    ("X-Amzn-Trace-Id", "Root=client"),
    ("cookie", "c=3"),
    ("user-agent", "last/2"),
    ("Authorization", "Bearer t"),
]


def _request(headers: list[tuple[str, str]]) -> GatewayRequest:
    return GatewayRequest(
        method="GET",
        path="/pets",
        query_string="a=1&a=2&b=x%20y",
        headers=list(headers),
        body=b"",
        source_ip="192.0.2.1",
        request_id="LV7fzho-PHcEJPw=",
        time_epoch_ms=1583349317135,
        host="abc.example.com",
        server_port=443,
        scheme="https",
    )


def test_event_from_the_forwarding_pass_equals_one_from_a_fresh_scan() -> None:
    """add_forwarding_headers builds the view in its own pass; a request that arrives with the same
    final headers and no view gets the view built on first use: the events are identical."""
    forwarded = _request(HEADERS)
    add_forwarding_headers(forwarded)
    fresh = _request(forwarded.headers)
    assert fresh.header_view is None
    match = _http_api().match("GET", "/pets")
    event = proxy_event_v2(forwarded, match, account_id=ACCOUNT)
    assert event == proxy_event_v2(fresh, match, account_id=ACCOUNT)
    assert event["headers"] == {
        "host": "abc.example.com",
        "user-agent": "first/1,last/2",
        "x-multi": "one,two",
        "authorization": "Bearer t",
        "x-amzn-trace-id": forwarded.header("x-amzn-trace-id"),
        "x-forwarded-for": "198.51.100.7, 192.0.2.1",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    assert event["cookies"] == ["a=1", "b=2", "c=3"]
    assert event["requestContext"]["http"]["userAgent"] == "last/2"
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x y"}


def test_header_view_follows_changed_headers() -> None:
    request = _request(HEADERS)
    add_forwarding_headers(request)
    request.headers.append(("X-Late", "1"))
    assert header_view(request).headers["x-late"] == "1"
    request.headers = [("Host", "h")]
    assert header_view(request).headers == {"host": "h"}
    assert header_view(request).user_agent is None


def test_events_are_the_integrations_own() -> None:
    """A handler that changes its event (in process, without a JSON round trip) changes nothing the
    next request sees: the per-request view and the per-token claims are copied into events."""
    request = _request(HEADERS)
    add_forwarding_headers(request)
    match = _http_api().match("GET", "/pets")
    outcome = AuthorizerOutcome(
        kind="jwt", claims={"sub": "u", "n": 1}, scopes=["read"], event_claims={"sub": "u", "n": "1"}
    )
    first = proxy_event_v2(request, match, account_id=ACCOUNT, authorizer=outcome)
    pristine = copy.deepcopy(first)
    first["headers"]["host"] = "changed"
    first["cookies"].append("d=4")
    first["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = "changed"
    first["requestContext"]["authorizer"]["jwt"]["scopes"].append("admin")
    assert proxy_event_v2(request, match, account_id=ACCOUNT, authorizer=outcome) == pristine
    v1 = proxy_event_v1(request, match, account_id=ACCOUNT, authorizer=outcome)
    assert v1["requestContext"]["authorizer"] == {"claims": {"sub": "u", "n": "1"}, "scopes": ["read"]}


# -- remembered route matches ---------------------------------------------------------------------


def test_remembered_matches_are_the_matches() -> None:
    router = _http_api()
    first = router.match("GET", "/pets")
    assert router.match("GET", "/pets") == first
    assert (first.route.route_key, first.path_parameters, first.stage_name) == ("GET /pets", None, "$default")
    # path parameters differ per request: never remembered
    assert router.match("GET", "/pets/1").path_parameters == {"id": "1"}
    assert router.match("GET", "/pets/2").path_parameters == {"id": "2"}
    for method in ("POST", "PUT"):  # not found is never remembered either
        with pytest.raises(GatewayError):
            router.match(method, "/pets")


def test_remembered_matches_are_bounded() -> None:
    """Every path reaches a $default route without path parameters; the memory stays bounded."""
    raw: dict[str, Any] = {"type": "HTTP", "routes": {"$default": {"integration": {"type": "mock"}}}}
    router = compile_api("any", ApiConfig.model_validate(raw))
    for i in range(MAX_REMEMBERED_MATCHES + 10):
        match = router.match("GET", f"/p/{i}")
        assert (match.route.route_key, match.path) == ("$default", f"/p/{i}")
        assert len(router._matches) <= MAX_REMEMBERED_MATCHES
    assert router.match("GET", "/p/1").path == "/p/1"
