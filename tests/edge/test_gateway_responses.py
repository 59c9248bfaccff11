"""gateway_responses.render: AWS's exact default bodies and REST customisation
(docs/aws-reference.md §3.8, §6)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gatehold.config.models import ApiConfig, StageConfig
from gatehold.errors import GatewayError, GatewayResponseType
from gatehold.gateway.gateway_responses import render
from gatehold.gateway.model import CompiledApi, CompiledRoute, GatewayRequest, RouteMatch
from tests.edge.conftest import ServeGateway, lambda_route

T = GatewayResponseType
MOCK = {"integration": {"type": "mock"}}


def _api(kind: str, gateway_responses: dict[str, object] | None = None) -> CompiledApi:
    raw: dict[str, object] = {"type": kind, "routes": {"GET /pets/{petId}": MOCK}}
    if kind == "REST":
        raw["stages"] = {"test": {"variables": {"color": "blue"}}}
    if gateway_responses:
        raw["gateway_responses"] = gateway_responses
    config = ApiConfig.model_validate(raw)
    return CompiledApi(name="pets", api_id="abc123", type=config.type, base_path="/pets", config=config)


def _match(api: CompiledApi) -> RouteMatch:
    route = CompiledRoute(
        "pets", "GET /pets/{petId}", "GET", "/pets/{petId}", "res1", api.config.routes["GET /pets/{petId}"]
    )
    stage = StageConfig(variables={"color": "blue"})
    return RouteMatch(api, "test", stage, route, "/pets/7", "/test/pets/7", {"petId": "7"})


REQUEST = GatewayRequest(
    "GET",
    "/test/pets/7",
    "q=1&q=2",
    [("Origin", "https://app.example"), ("User-Agent", "ua/1")],
    b"",
    "10.0.0.1",
)


def _headers(resp: object) -> dict[str, str]:
    return {k.lower(): v for k, v in resp.headers}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("error", "status", "body", "error_type"),
    [
        pytest.param(
            GatewayError(T.UNAUTHORIZED),
            401,
            b'{"message":"Unauthorized"}',
            "UnauthorizedException",
            id="unauthorized",
        ),
        pytest.param(
            GatewayError(T.AUTHORIZER_CONFIGURATION_ERROR),
            500,
            b'{"message": null}',
            "AuthorizerConfigurationException",
            id="authorizer-config-null-with-space",
        ),
        pytest.param(
            GatewayError(T.MISSING_AUTHENTICATION_TOKEN),
            403,
            b'{"message":"Missing Authentication Token"}',
            "MissingAuthenticationTokenException",
            id="missing-auth-token",
        ),
        pytest.param(
            GatewayError(T.THROTTLED),
            429,
            b'{"message":"Too Many Requests"}',
            "TooManyRequestsException",
            id="throttled",
        ),
        pytest.param(
            GatewayError(T.QUOTA_EXCEEDED),
            429,
            b'{"message":"Limit Exceeded"}',
            "LimitExceededException",
            id="quota",
        ),
        pytest.param(
            GatewayError(T.INVALID_API_KEY),
            403,
            b'{"message":"Forbidden"}',
            "ForbiddenException",
            id="invalid-api-key",
        ),
        pytest.param(
            GatewayError(
                T.ACCESS_DENIED, body=b'{"Message":"User is not authorized to access this resource"}'
            ),
            403,
            b'{"Message":"User is not authorized to access this resource"}',
            "AccessDeniedException",
            id="deny-exact-body",
        ),
        pytest.param(
            GatewayError(T.INTEGRATION_FAILURE, body=b'{"message": "Internal server error"}'),
            502,
            b'{"message": "Internal server error"}',
            "InternalServerErrorException",
            id="integration-502",
        ),
        pytest.param(
            GatewayError(T.INTEGRATION_FAILURE, status=500),
            500,
            b'{"message":"Internal server error"}',
            "InternalServerErrorException",
            id="status-override",
        ),
        pytest.param(
            GatewayError(T.BAD_REQUEST_BODY, message='say "hi"'),
            400,
            b'{"message":"say \\"hi\\""}',
            "BadRequestException",
            id="message-json-escaped",
        ),
    ],
)
def test_rest_defaults(error: GatewayError, status: int, body: bytes, error_type: str) -> None:
    resp = render(error, api=_api("REST"), request=REQUEST, match=None, request_id="rid-1")
    assert (resp.status, resp.body) == (status, body)
    h = _headers(resp)
    assert h["x-amzn-errortype"] == error_type
    assert h["content-type"] == "application/json"
    assert h["x-amzn-requestid"] == "rid-1"


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        pytest.param(GatewayError(T.UNAUTHORIZED), 401, b'{"message":"Unauthorized"}', id="401"),
        pytest.param(
            GatewayError(T.ACCESS_DENIED, body=b'{"Message":"x"}'),
            403,
            b'{"message":"Forbidden"}',
            id="403-body-ignored",
        ),
        pytest.param(GatewayError(T.MISSING_AUTHENTICATION_TOKEN), 404, b'{"message":"Not Found"}', id="404"),
        pytest.param(GatewayError(T.RESOURCE_NOT_FOUND), 404, b'{"message":"Not Found"}', id="404-resource"),
        pytest.param(GatewayError(T.THROTTLED), 429, b'{"message":"Too Many Requests"}', id="429"),
        pytest.param(
            GatewayError(T.INTEGRATION_FAILURE), 500, b'{"message":"Internal Server Error"}', id="500"
        ),
        pytest.param(
            GatewayError(T.AUTHORIZER_CONFIGURATION_ERROR),
            500,
            b'{"message":"Internal Server Error"}',
            id="500-authz",
        ),
        pytest.param(
            GatewayError(T.INTEGRATION_TIMEOUT), 503, b'{"message":"Service Unavailable"}', id="503"
        ),
    ],
)
def test_http_api_fixed_bodies(error: GatewayError, status: int, body: bytes) -> None:
    resp = render(error, api=_api("HTTP"), request=REQUEST, match=None, request_id="rid-2")
    assert (resp.status, resp.body) == (status, body)
    h = _headers(resp)
    assert "x-amzn-errortype" not in h
    assert h["apigw-requestid"] == "rid-2"
    assert h["content-type"] == "application/json"


def test_http_api_keeps_error_headers() -> None:
    err = GatewayError(T.UNAUTHORIZED, headers={"www-authenticate": 'Bearer scope="" error="invalid_token"'})
    resp = render(err, api=_api("HTTP"), request=REQUEST, match=None, request_id="r")
    assert _headers(resp)["www-authenticate"] == 'Bearer scope="" error="invalid_token"'


CUSTOM = {
    "DEFAULT_4XX": {"headers": {"Access-Control-Allow-Origin": "'*'"}},
    "UNAUTHORIZED": {
        "status_code": 418,
        "headers": {
            "gatewayresponse.header.X-Origin": "method.request.header.Origin",
            "X-Pet": "method.request.path.petId",
            "X-Q": "method.request.querystring.q",
            "X-Stage": "$context.stage",
            "X-Color": "stageVariables.color",
        },
        "template": '{"msg":$context.error.messageString,"raw":"$context.error.message",'
        '"id":"$context.requestId",'
        '"stage":"$context.stage","color":"$stageVariables.color","type":"${context.error.responseType}"}',
    },
    "DEFAULT_5XX": {"status_code": 503, "template": '{"oops":$context.error.messageString}'},
}


def test_rest_custom_type_template_headers_status() -> None:
    api = _api("REST", CUSTOM)
    resp = render(
        GatewayError(T.UNAUTHORIZED), api=api, request=REQUEST, match=_match(api), request_id="rid-3"
    )
    assert resp.status == 418
    assert json.loads(resp.body) == {
        "msg": "Unauthorized",
        "raw": "Unauthorized",
        "id": "rid-3",
        "stage": "test",
        "color": "blue",
        "type": "UNAUTHORIZED",
    }
    h = _headers(resp)
    assert (h["x-origin"], h["x-pet"], h["x-q"], h["x-stage"], h["x-color"]) == (
        "https://app.example",
        "7",
        "2",
        "test",
        "blue",
    )
    assert "access-control-allow-origin" not in h  # a type's own entry replaces DEFAULT_4XX


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        pytest.param(
            GatewayError(
                T.ACCESS_DENIED, body=b'{"Message":"User is not authorized to access this resource"}'
            ),
            403,
            b'{"Message":"User is not authorized to access this resource"}',
            id="4xx-inherits-headers-keeps-body",
        ),
        pytest.param(GatewayError(T.THROTTLED), 429, b'{"message":"Too Many Requests"}', id="4xx-throttled"),
    ],
)
def test_rest_default_4xx_inheritance(error: GatewayError, status: int, body: bytes) -> None:
    api = _api("REST", CUSTOM)
    resp = render(error, api=api, request=REQUEST, match=_match(api), request_id="r")
    assert (resp.status, resp.body) == (status, body)
    assert _headers(resp)["access-control-allow-origin"] == "*"


def test_rest_default_5xx_null_message() -> None:
    api = _api("REST", CUSTOM)
    resp = render(
        GatewayError(T.AUTHORIZER_CONFIGURATION_ERROR), api=api, request=REQUEST, match=None, request_id="r"
    )
    assert (resp.status, resp.body) == (503, b'{"oops":null}')


@pytest.mark.parametrize(
    "responses",
    [
        pytest.param({"NOT_A_TYPE": {}}, id="unknown-type"),
        pytest.param({"DEFAULT_4XX": {"headers": {"X": "*"}}}, id="unquoted-static"),
        pytest.param({"DEFAULT_4XX": {"headers": {"X": "integration.response.header.Y"}}}, id="bad-source"),
    ],
)
def test_config_refuses_bad_gateway_responses(responses: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="gateway response"):
        _api("REST", responses)


# -- over real HTTP --------------------------------------------------------------------------------


def _served_api(gateway_responses: dict[str, Any]) -> dict[str, Any]:
    return {
        "pets": {
            "type": "REST",
            "stages": {
                "prod": {"variables": {"v": "blue"}, "throttling": {"rate_limit": 0, "burst_limit": 0}}
            },
            "routes": {"GET /boom": lambda_route("boom"), "GET /pets": lambda_route("hello")},
            "gateway_responses": gateway_responses,
        }
    }


async def test_custom_responses_over_http(serve_gateway: ServeGateway) -> None:
    s = await serve_gateway(
        _served_api(
            {
                "MISSING_AUTHENTICATION_TOKEN": {
                    "status_code": 404,
                    "headers": {"X-Echo": "method.request.header.X-Trace", "X-Static": "'yes'"},
                    "template": '{"error":$context.error.messageString,"id":"$context.requestId"}',
                },
                "DEFAULT_4XX": {"headers": {"Access-Control-Allow-Origin": "'*'"}},
            }
        )
    )
    async with s.client() as c:
        missing = await c.get("/pets/prod/nope", headers={"X-Trace": "t-1"})
        throttled = await c.get("/pets/prod/pets")
    assert missing.status_code == 404
    assert missing.json() == {
        "error": "Missing Authentication Token",
        "id": missing.headers["x-amzn-requestid"],
    }
    assert (missing.headers["x-echo"], missing.headers["x-static"]) == ("t-1", "yes")
    assert missing.headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    assert "access-control-allow-origin" not in missing.headers
    assert (throttled.status_code, throttled.content) == (429, b'{"message":"Too Many Requests"}')
    assert throttled.headers["access-control-allow-origin"] == "*"


async def test_default_5xx_template_sees_stage_and_stage_variables(serve_gateway: ServeGateway) -> None:
    api = _served_api(
        {
            "DEFAULT_5XX": {
                "status_code": 500,
                "template": '{"e":$context.error.messageString,"t":"$context.error.responseType",'
                '"stage":"$context.stage","v":"$stageVariables.v","path":"$context.resourcePath"}',
            }
        }
    )
    api["pets"]["stages"]["prod"].pop("throttling")
    s = await serve_gateway(api)
    async with s.client() as c:
        r = await c.get("/pets/prod/boom")
    assert r.status_code == 500
    assert r.json() == {
        "e": "Internal server error",
        "t": "INTEGRATION_FAILURE",
        "stage": "prod",
        "v": "blue",
        "path": "/boom",
    }


async def test_uncustomised_lambda_failure_is_502_with_space(serve_gateway: ServeGateway) -> None:
    api = _served_api({"DEFAULT_4XX": {"headers": {"X-Only-4xx": "'1'"}}})
    api["pets"]["stages"]["prod"].pop("throttling")
    s = await serve_gateway(api)
    async with s.client() as c:
        r = await c.get("/pets/prod/boom")
    assert (r.status_code, r.content) == (502, b'{"message": "Internal server error"}')
    assert "x-only-4xx" not in r.headers
