"""Lambda authorizers: REST TOKEN/REQUEST and HTTP REQUEST 1.0/2.0, outcomes per docs/aws-reference.md
§1.5 / §3.5, and every result-caching rule (§1.8)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from gatehold.config.loader import ConfigError
from tests.authorizers.conftest import Harness, Timeout

API_ID = "abc123"
ARN_PREFIX = f"arn:aws:execute-api:us-east-1:123456789012:{API_ID}"
UNAUTHORIZED = b'{"message":"Unauthorized"}'
EXPLICIT = b'{"Message":"User is not authorized to access this resource with an explicit deny"}'
IMPLICIT = b'{"Message":"User is not authorized to access this resource"}'
REST_500 = b'{"message": null}'


def rest_yaml(
    ttl: int = 300,
    *,
    kind: str = "TOKEN",
    sources: str = "method.request.header.Authorization",
    validation: str | None = None,
    gateway: str = "",
) -> str:
    validation_line = f"        identity_validation_expression: '{validation}'\n" if validation else ""
    return f"""
functions:
  auth: {{handler: tests.authorizers.handlers.auth}}
  backend: {{handler: tests.authorizers.handlers.backend}}
{gateway}
apis:
  rest:
    type: REST
    api_id: {API_ID}
    stages:
      dev: {{variables: {{tenant: acme}}}}
      prod: {{}}
    authorizers:
      auth:
        type: {kind}
        function: auth
        identity_source: "{sources}"
        result_ttl: {ttl}
{validation_line}    routes:
      GET /pets: {{integration: {{type: lambda, function: backend}}, authorizer: auth}}
      GET /pets/{{petId}}: {{integration: {{type: lambda, function: backend}}, authorizer: auth}}
      POST /pets: {{integration: {{type: lambda, function: backend}}, authorizer: auth}}
      GET /open: {{integration: {{type: lambda, function: backend}}}}
"""


def policy(effect: str, resource: Any, principal: str = "user-1", **extra: Any) -> dict[str, Any]:
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
        **extra,
    }


def allow_method_arn(event: dict[str, Any], _: Any) -> dict[str, Any]:
    return policy("Allow", event["methodArn"], context={"scope": "read", "n": 1, "ok": True, "nothing": None})


def allow_all(event: dict[str, Any], _: Any) -> dict[str, Any]:
    return policy("Allow", f"{ARN_PREFIX}/*/*")


def returning(value: Any) -> Callable[[dict[str, Any], Any], Any]:
    return lambda event, context: value


def raising(exc: Exception) -> Callable[[dict[str, Any], Any], Any]:
    def handler(event: dict[str, Any], context: Any) -> Any:
        raise exc

    return handler


BEARER = {"Authorization": "Bearer abc"}


# -- TOKEN: identity pre-checks ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "validation", "invoked", "status"),
    [
        pytest.param({}, None, 0, 401, id="header-missing"),
        pytest.param({"Authorization": ""}, None, 0, 401, id="header-empty"),
        pytest.param({"authorization": "Bearer abc"}, None, 1, 200, id="header-case-insensitive"),
        pytest.param(BEARER, r"^Bearer [-0-9a-zA-z\.]*$", 1, 200, id="validation-match"),
        pytest.param({"Authorization": "abc"}, r"^Bearer [-0-9a-zA-z\.]*$", 0, 401, id="validation-mismatch"),
        pytest.param(BEARER, "Bearer", 0, 401, id="validation-is-a-full-match"),
        pytest.param(
            {"Authorization": "Bearer a b"}, r"^Bearer [-0-9a-zA-z\.]*$", 0, 401, id="validation-space"
        ),
    ],
)
async def test_token_identity(
    harness_factory: Callable[..., Harness],
    headers: dict[str, str],
    validation: str | None,
    invoked: int,
    status: int,
) -> None:
    h = harness_factory(rest_yaml(validation=validation), {"auth": allow_all})
    result = await h.call("rest", "GET", "/dev/pets", headers)
    assert (result.status, h.invoker.calls()) == (status, invoked)
    if status == 401:
        assert result.body == UNAUTHORIZED
        assert result.headers["x-amzn-errortype"] == "UnauthorizedException"
        assert result.step["outcome"] == "unauthorized"


async def test_token_event_and_outcome(harness_factory: Callable[..., Harness]) -> None:
    h = harness_factory(rest_yaml(), {"auth": allow_method_arn})
    result = await h.call("rest", "GET", "/dev/pets/42", BEARER)
    assert h.invoker.events == [
        (
            "auth",
            {
                "type": "TOKEN",
                "authorizationToken": "Bearer abc",
                "methodArn": f"{ARN_PREFIX}/dev/GET/pets/42",
            },
        )
    ]
    assert result.outcome is not None
    assert result.outcome.kind == "lambda"
    assert result.outcome.principal_id == "user-1"
    assert result.outcome.context == {"scope": "read", "n": 1, "ok": True, "nothing": None}
    assert result.step["outcome"] == "allow"
    assert result.step["cache"] == "miss"
    assert result.step["statement"] == 0


# -- outcomes (§1.5) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("handler", "status", "body", "error_type"),
    [
        pytest.param(
            raising(Exception("Unauthorized")),
            401,
            UNAUTHORIZED,
            "UnauthorizedException",
            id="error-Unauthorized",
        ),
        pytest.param(
            raising(Exception("unauthorized")),
            500,
            REST_500,
            "AuthorizerConfigurationException",
            id="error-unauthorized-lowercase",
        ),
        pytest.param(
            raising(ValueError("boom")), 500, REST_500, "AuthorizerConfigurationException", id="error-other"
        ),
        pytest.param(raising(Timeout()), 500, REST_500, "AuthorizerConfigurationException", id="timeout"),
        pytest.param(returning(None), 500, REST_500, "AuthorizerConfigurationException", id="null"),
        pytest.param(returning("Allow"), 500, REST_500, "AuthorizerConfigurationException", id="string"),
        pytest.param(
            returning({"statusCode": 401, "body": "no"}),
            500,
            REST_500,
            "AuthorizerConfigurationException",
            id="proxy-shape",
        ),
        pytest.param(
            returning({"policyDocument": policy("Allow", "*")["policyDocument"]}),
            500,
            REST_500,
            "AuthorizerConfigurationException",
            id="no-principalId",
        ),
        pytest.param(
            returning({"principalId": "u"}),
            500,
            REST_500,
            "AuthorizerConfigurationException",
            id="no-policyDocument",
        ),
        pytest.param(
            returning(policy("Allow", "*", context={"o": {"a": 1}})),
            500,
            REST_500,
            "AuthorizerConfigurationException",
            id="context-object",
        ),
        pytest.param(
            returning(policy("Allow", "*", context={"a": [1]})),
            500,
            REST_500,
            "AuthorizerConfigurationException",
            id="context-array",
        ),
        pytest.param(
            returning(policy("allow", "*")),
            500,
            REST_500,
            "AuthorizerConfigurationException",
            id="effect-lowercase",
        ),
        pytest.param(
            returning(policy("Deny", "*")), 403, EXPLICIT, "AccessDeniedException", id="explicit-deny"
        ),
        pytest.param(
            returning(policy("Allow", f"{ARN_PREFIX}/dev/POST/pets")),
            403,
            IMPLICIT,
            "AccessDeniedException",
            id="implicit-deny",
        ),
        pytest.param(
            returning(policy("Allow", "*", usageIdentifierKey="key-1")), 200, b"", None, id="allow-star"
        ),
    ],
)
async def test_rest_outcomes(
    harness_factory: Callable[..., Harness], handler: Any, status: int, body: bytes, error_type: str | None
) -> None:
    h = harness_factory(rest_yaml(ttl=0), {"auth": handler})
    result = await h.call("rest", "GET", "/dev/pets", BEARER)
    assert (result.status, result.body) == (status, body)
    if error_type:
        assert result.headers["x-amzn-errortype"] == error_type


async def test_deny_body_casing_and_text_follow_settings(harness_factory: Callable[..., Harness]) -> None:
    gateway = (
        "gateway:\n  deny_message_key: message\n  explicit_deny_message: "
        "User is not authorized to access this resource with an explicit deny in an identity-based policy\n"
    )
    h = harness_factory(rest_yaml(ttl=0, gateway=gateway), {"auth": returning(policy("Deny", "*"))})
    result = await h.call("rest", "GET", "/dev/pets", BEARER)
    assert result.body == (
        b'{"message":"User is not authorized to access this resource with an explicit deny'
        b' in an identity-based policy"}'
    )


async def test_usage_identifier_key_reaches_the_outcome(harness_factory: Callable[..., Harness]) -> None:
    h = harness_factory(rest_yaml(), {"auth": returning(policy("Allow", "*", usageIdentifierKey="key-1"))})
    result = await h.call("rest", "GET", "/dev/pets", BEARER)
    assert result.outcome is not None
    assert result.outcome.usage_identifier_key == "key-1"


# -- caching (§1.8) ------------------------------------------------------------------------------


async def test_cached_result_reused_with_zero_latency(harness_factory: Callable[..., Harness]) -> None:
    h = harness_factory(rest_yaml(ttl=300), {"auth": allow_all})
    first = await h.call("rest", "GET", "/dev/pets", BEARER)
    second = await h.call("rest", "GET", "/dev/pets/7", BEARER)
    assert h.invoker.calls() == 1
    assert (first.step["cache"], second.step["cache"]) == ("miss", "hit")
    assert second.outcome is not None
    assert second.outcome.integration_latency_ms == 0


async def test_ttl_zero_invokes_every_time(harness_factory: Callable[..., Harness]) -> None:
    h = harness_factory(rest_yaml(ttl=0), {"auth": allow_all})
    for _ in range(3):
        assert (await h.call("rest", "GET", "/dev/pets", BEARER)).step["cache"] == "off"
    assert h.invoker.calls() == 3


async def test_entry_expires_after_ttl(harness_factory: Callable[..., Harness]) -> None:
    h = harness_factory(rest_yaml(ttl=60), {"auth": allow_all})
    await h.call("rest", "GET", "/dev/pets", BEARER)
    h.clock.advance(59)
    await h.call("rest", "GET", "/dev/pets", BEARER)
    assert h.invoker.calls() == 1
    h.clock.advance(1)
    await h.call("rest", "GET", "/dev/pets", BEARER)
    assert h.invoker.calls() == 2


async def test_cache_key_is_the_token_and_scoped_per_stage(harness_factory: Callable[..., Harness]) -> None:
    h = harness_factory(rest_yaml(), {"auth": allow_all})
    await h.call("rest", "GET", "/dev/pets", BEARER)
    await h.call("rest", "GET", "/dev/pets", {"Authorization": "Bearer other"})
    await h.call("rest", "GET", "/prod/pets", BEARER)
    await h.call("rest", "GET", "/dev/pets", BEARER)
    assert h.invoker.calls() == 3


async def test_cached_policy_is_re_evaluated_per_method_arn(
    harness_factory: Callable[..., Harness], caplog: pytest.LogCaptureFixture
) -> None:
    """The event.methodArn pitfall: the policy allows only the first ARN, and is cached."""
    h = harness_factory(rest_yaml(ttl=300), {"auth": allow_method_arn})
    assert (await h.call("rest", "GET", "/dev/pets", BEARER)).status == 200
    with caplog.at_level(logging.WARNING, logger="gatehold.authorizers"):
        other = await h.call("rest", "GET", "/dev/pets/1", BEARER)
        again = await h.call("rest", "POST", "/dev/pets", BEARER)
    assert (other.status, other.body) == (403, IMPLICIT)
    assert (again.status, again.body) == (403, IMPLICIT)
    assert h.invoker.calls() == 1
    assert "does not cover" in other.step["warning"]
    assert "event.methodArn" in other.step["warning"]
    assert "warning" in again.step
    assert len([r for r in caplog.records if "does not cover" in r.getMessage()]) == 1  # logged once
    assert (await h.call("rest", "GET", "/dev/pets", BEARER)).status == 200  # the original ARN still allowed


async def test_deny_is_cached(harness_factory: Callable[..., Harness]) -> None:
    h = harness_factory(rest_yaml(), {"auth": returning(policy("Deny", "*"))})
    for path in ("/dev/pets", "/dev/pets/1"):
        result = await h.call("rest", "GET", path, BEARER)
        assert result.body == EXPLICIT
        assert "warning" not in result.step  # a deny-everything policy is not the methodArn pitfall
    assert h.invoker.calls() == 1


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(raising(Exception("Unauthorized")), id="unauthorized"),
        pytest.param(raising(RuntimeError("boom")), id="error"),
        pytest.param(returning({"principalId": "u"}), id="malformed"),
        pytest.param(returning(policy("Allow", "*", context={"o": {}})), id="context-object"),
        pytest.param(raising(Timeout()), id="timeout"),
    ],
)
async def test_errors_are_never_cached(harness_factory: Callable[..., Harness], failure: Any) -> None:
    outcomes = [failure, allow_all]

    def handler(event: dict[str, Any], context: Any) -> Any:
        return outcomes.pop(0)(event, context)

    h = harness_factory(rest_yaml(ttl=300), {"auth": handler})
    assert (await h.call("rest", "GET", "/dev/pets", BEARER)).status in (401, 500)
    assert (await h.call("rest", "GET", "/dev/pets", BEARER)).status == 200
    assert h.invoker.calls() == 2


async def test_open_route_has_no_authorizer(harness_factory: Callable[..., Harness]) -> None:
    h = harness_factory(rest_yaml(), {"auth": allow_all})
    result = await h.call("rest", "GET", "/dev/open")
    assert (result.status, result.outcome, h.invoker.calls()) == (200, None, 0)


# -- REST REQUEST ------------------------------------------------------------------------------

REQUEST_SOURCES = (
    "method.request.header.X-User, method.request.querystring.key, stageVariables.tenant, context.httpMethod"
)


@pytest.mark.parametrize(
    ("headers", "query", "path", "status", "invoked"),
    [
        pytest.param({"X-User": "u1"}, "key=k", "/dev/pets", 200, 1, id="all-present"),
        pytest.param({}, "key=k", "/dev/pets", 401, 0, id="header-missing"),
        pytest.param({"X-User": "u1"}, "", "/dev/pets", 401, 0, id="query-missing"),
        pytest.param({"X-User": "u1"}, "key=", "/dev/pets", 401, 0, id="query-empty"),
        pytest.param({"X-User": "u1"}, "KEY=k", "/dev/pets", 401, 0, id="query-case-sensitive"),
        pytest.param({"X-User": "u1"}, "key=k", "/prod/pets", 401, 0, id="stage-variable-missing"),
    ],
)
async def test_request_identity_sources(
    harness_factory: Callable[..., Harness],
    headers: dict[str, str],
    query: str,
    path: str,
    status: int,
    invoked: int,
) -> None:
    h = harness_factory(rest_yaml(kind="REQUEST", sources=REQUEST_SOURCES), {"auth": allow_all})
    result = await h.call("rest", "GET", path, headers, query)
    assert (result.status, h.invoker.calls()) == (status, invoked)


async def test_request_event_and_cache_key(harness_factory: Callable[..., Harness]) -> None:
    h = harness_factory(rest_yaml(kind="REQUEST", sources=REQUEST_SOURCES), {"auth": allow_all})
    await h.call("rest", "GET", "/dev/pets/9", {"X-User": "u1"}, "key=k")
    await h.call("rest", "GET", "/dev/pets/9", {"X-User": "u1", "Other": "x"}, "key=k&z=1")  # same identity
    await h.call("rest", "GET", "/dev/pets/9", {"X-User": "u2"}, "key=k")  # new identity
    assert h.invoker.calls() == 2
    event = h.invoker.events[0][1]
    assert event["type"] == "REQUEST"
    assert event["methodArn"] == f"{ARN_PREFIX}/dev/GET/pets/9"
    assert (event["resource"], event["path"], event["httpMethod"]) == ("/pets/{petId}", "/pets/9", "GET")
    assert event["pathParameters"] == {"petId": "9"}
    assert event["stageVariables"] == {"tenant": "acme"}
    assert event["queryStringParameters"] == {"key": "k"}
    assert "body" not in event


# -- HTTP API REQUEST authorizers (§3.5) -------------------------------------------------------


def http_yaml(
    version: str = "2.0", simple: bool = True, ttl: int = 300, sources: str = "$request.header.Authorization"
) -> str:
    simple_line = "        enable_simple_responses: true\n" if simple else ""
    return f"""
functions:
  auth: {{handler: tests.authorizers.handlers.auth}}
  backend: {{handler: tests.authorizers.handlers.backend}}
apis:
  http:
    type: HTTP
    api_id: {API_ID}
    authorizers:
      auth:
        type: REQUEST
        function: auth
        identity_source: "{sources}"
        payload_format_version: "{version}"
        result_ttl: {ttl}
{simple_line}    routes:
      GET /things: {{integration: {{type: lambda, function: backend}}, authorizer: auth}}
      POST /things: {{integration: {{type: lambda, function: backend}}, authorizer: auth}}
"""


HTTP_FORBIDDEN = b'{"message":"Forbidden"}'
HTTP_500 = b'{"message":"Internal Server Error"}'


@pytest.mark.parametrize(
    ("version", "simple", "handler", "status", "body"),
    [
        pytest.param(
            "2.0",
            True,
            returning({"isAuthorized": True, "context": {"a": [1], "m": {"k": "v"}}}),
            200,
            b"",
            id="simple-true",
        ),
        pytest.param("2.0", True, returning({"isAuthorized": False}), 403, HTTP_FORBIDDEN, id="simple-false"),
        pytest.param("2.0", True, returning({"isAuthorized": "true"}), 500, HTTP_500, id="simple-not-bool"),
        pytest.param("2.0", True, returning(None), 500, HTTP_500, id="simple-null"),
        pytest.param(
            "2.0", True, raising(Exception("Unauthorized")), 401, UNAUTHORIZED, id="simple-Unauthorized"
        ),
        pytest.param("2.0", True, raising(Exception("x")), 500, HTTP_500, id="simple-error"),
        pytest.param(
            "2.0",
            False,
            returning(policy("Allow", f"{ARN_PREFIX}/$default/GET/things")),
            200,
            b"",
            id="v2-policy-allow",
        ),
        pytest.param("2.0", False, returning(policy("Deny", "*")), 403, HTTP_FORBIDDEN, id="v2-policy-deny"),
        pytest.param(
            "2.0",
            False,
            returning(policy("Allow", "*", context={"a": [1]})),
            200,
            b"",
            id="v2-policy-array-context",
        ),
        pytest.param(
            "1.0",
            False,
            returning(policy("Allow", "*", context={"a": [1]})),
            500,
            HTTP_500,
            id="v1-array-context",
        ),
        pytest.param(
            "1.0",
            False,
            returning(policy("Allow", "*", context={"claims": "x"})),
            500,
            HTTP_500,
            id="v1-claims-reserved",
        ),
        pytest.param(
            "1.0",
            False,
            returning(policy("Allow", "arn:aws:execute-api:*:*:other/*")),
            403,
            HTTP_FORBIDDEN,
            id="v1-implicit-deny",
        ),
    ],
)
async def test_http_outcomes(
    harness_factory: Callable[..., Harness],
    version: str,
    simple: bool,
    handler: Any,
    status: int,
    body: bytes,
) -> None:
    h = harness_factory(http_yaml(version, simple), {"auth": handler})
    result = await h.call("http", "GET", "/things", {"Authorization": "tok"})
    assert (result.status, result.body) == (status, body)
    if status != 200:
        assert "x-amzn-errortype" not in result.headers


async def test_http_v2_event_and_simple_verdict_cached_for_all_routes(
    harness_factory: Callable[..., Harness],
) -> None:
    h = harness_factory(
        http_yaml("2.0", True), {"auth": returning({"isAuthorized": True, "context": {"u": "1"}})}
    )
    first = await h.call("http", "GET", "/things", {"Authorization": "tok"}, "q=1")
    second = await h.call("http", "POST", "/things", {"Authorization": "tok"})
    assert h.invoker.calls() == 1
    assert second.step["cache"] == "hit"
    assert first.outcome is not None
    assert first.outcome.context == {"u": "1"}
    event = h.invoker.events[0][1]
    assert event["version"] == "2.0"
    assert event["type"] == "REQUEST"
    assert event["routeArn"] == f"{ARN_PREFIX}/$default/GET/things"
    assert event["identitySource"] == ["tok"]
    assert event["routeKey"] == "GET /things"


async def test_http_v1_event(harness_factory: Callable[..., Harness]) -> None:
    h = harness_factory(
        http_yaml("1.0", False, sources="$request.header.Authorization, $request.querystring.k"),
        {"auth": returning(policy("Allow", "*"))},
    )
    await h.call("http", "GET", "/things", {"Authorization": "tok"}, "k=v")
    event = h.invoker.events[0][1]
    assert (event["version"], event["identitySource"], event["authorizationToken"]) == (
        "1.0",
        "tok,v",
        "tok,v",
    )
    assert event["methodArn"] == f"{ARN_PREFIX}/$default/GET/things"


async def test_http_missing_identity_is_401_without_invoking(harness_factory: Callable[..., Harness]) -> None:
    h = harness_factory(http_yaml(), {"auth": returning({"isAuthorized": True})})
    result = await h.call("http", "GET", "/things")
    assert (result.status, result.body, h.invoker.calls()) == (401, UNAUTHORIZED, 0)


# -- configuration the gateway cannot honour is refused at build --------------------------------


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        pytest.param(
            rest_yaml(sources="method.request.querystring.t"),
            "TOKEN authorizer's identity source",
            id="token-from-querystring",
        ),
        pytest.param(
            rest_yaml(sources="method.request.path.petId", kind="REQUEST"),
            "is not one of",
            id="path-parameter-source",
        ),
        pytest.param(rest_yaml(validation="(unclosed"), "not a valid regex", id="bad-regex"),
        pytest.param(
            rest_yaml(kind="REQUEST", validation="x"), "TOKEN authorizers only", id="validation-on-request"
        ),
        pytest.param(http_yaml(sources="method.request.header.A"), "is not one of", id="rest-source-on-http"),
    ],
)
def test_unsupported_configuration_is_refused(
    harness_factory: Callable[..., Harness], yaml_text: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        harness_factory(yaml_text)
    assert "apis.rest.authorizers.auth" in str(info.value) or "apis.http.authorizers.auth" in str(info.value)


def test_caching_without_identity_source_is_refused(harness_factory: Callable[..., Harness]) -> None:
    text = http_yaml().replace('identity_source: "$request.header.Authorization"', "identity_source: []")
    with pytest.raises(ConfigError, match="needs at least one identity source"):
        harness_factory(text)


async def test_no_identity_source_and_no_caching_always_invokes(
    harness_factory: Callable[..., Harness],
) -> None:
    text = http_yaml(ttl=0).replace('identity_source: "$request.header.Authorization"', "identity_source: []")
    h = harness_factory(text, {"auth": returning({"isAuthorized": True})})
    assert (await h.call("http", "GET", "/things")).status == 200
    assert (await h.call("http", "GET", "/things")).status == 200
    assert h.invoker.calls() == 2


def test_check_authorizers_refuses_without_io() -> None:
    from gatehold.config.loader import LoadedConfig, parse_config
    from gatehold.gateway.authorizers import check_authorizers

    config, lines = parse_config(rest_yaml(validation="(unclosed"), file="stack.yaml")
    with pytest.raises(ConfigError, match=r"apis\.rest\.authorizers\.auth: identity_validation_expression"):
        check_authorizers(LoadedConfig(config=config, path=None, lines=lines))
    ok, ok_lines = parse_config(rest_yaml())
    check_authorizers(LoadedConfig(config=ok, path=None, lines=ok_lines))
