"""Turn a :class:`~gatehold.errors.GatewayError` into the exact response API Gateway sends.

The one place where gateway-generated responses are rendered (docs/aws-reference.md §1.5,
§2.3, §3.8, §4.5, §6).

REST APIs (§6)
    Default body ``{"message":$context.error.messageString}`` (no space; a ``null`` message gives
    ``{"message": null}`` as AWS records for ``AUTHORIZER_CONFIGURATION_ERROR``), or the exact
    ``GatewayError.body`` (authorizer deny bodies with ``"Message"``, 502 ``{"message": "Internal
    server error"}``), ``x-amzn-ErrorType``, ``x-amzn-RequestId``. ``ApiConfig.gateway_responses``
    customises a type, or every 4xx/5xx type without its own entry through ``DEFAULT_4XX`` /
    ``DEFAULT_5XX`` (no merging: a type's own entry replaces the default one, as in AWS):

    * ``status_code``;
    * ``headers``: ``"'static'"`` (single-quoted literal), ``method.request.header.X``,
      ``method.request.querystring.X``, ``method.request.path.X``, ``context.X`` / ``$context.X``,
      ``stageVariables.X``; names may carry AWS's ``gatewayresponse.header.`` prefix;
    * ``template``: ``$context.error.messageString`` (JSON-quoted message or ``null``),
      ``$context.error.message``, ``$context.error.responseType``, ``$context.requestId``,
      ``$context.stage``, ``$stageVariables.x`` … (:mod:`gatehold.gateway.context_template`).

HTTP APIs (§3.8, not customisable)
    A fixed ``{"message":"…"}`` per status (401 Unauthorized, 403 Forbidden, 404 Not Found, 429 Too
    Many Requests, 500 Internal Server Error, 503 Service Unavailable …), ``apigw-requestid``, no
    ``x-amzn-ErrorType``. ``GatewayError.body`` is REST-only and ignored here; ``GatewayError.status``
    is honoured when it is one of the statuses HTTP APIs send.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from gatehold.config.expressions import GATEWAY_RESPONSE_TYPES, parse_header_source
from gatehold.config.models import ApiConfig, GatewayResponseConfig
from gatehold.errors import GatewayError, GatewayResponseType
from gatehold.gateway.context_template import ContextTemplate, ContextValue
from gatehold.gateway.events import clf_time, extended_request_id
from gatehold.gateway.model import CompiledApi, GatewayRequest, GatewayResponse, RouteMatch

# §3.8: HTTP API gateway-generated bodies by status.
HTTP_API_MESSAGES: Mapping[int, str] = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    413: "Request Entity Too Large",  # UNVERIFIED: no capture; HTTP API payload limit is 10 MB
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

_HTTP_API_STATUS: Mapping[GatewayResponseType, int] = {
    GatewayResponseType.MISSING_AUTHENTICATION_TOKEN: 404,
    GatewayResponseType.RESOURCE_NOT_FOUND: 404,
    GatewayResponseType.INTEGRATION_TIMEOUT: 503,
}

_HEADER_PREFIX = "gatewayresponse.header."


def header_name(name: str) -> str:
    return name[len(_HEADER_PREFIX) :] if name.lower().startswith(_HEADER_PREFIX) else name


@dataclass(frozen=True, slots=True)
class CompiledGatewayResponse:
    status_code: int | None
    headers: tuple[tuple[str, tuple[str, str]], ...]
    template: ContextTemplate | None

    @classmethod
    def compile(cls, config: GatewayResponseConfig) -> CompiledGatewayResponse:
        headers = tuple((header_name(k), parse_header_source(v)) for k, v in config.headers.items())
        template = ContextTemplate.compile(config.template) if config.template is not None else None
        return cls(config.status_code, headers, template)


def compile_gateway_responses(config: ApiConfig) -> dict[str, CompiledGatewayResponse]:
    """Validate and compile ``ApiConfig.gateway_responses`` (raises ValueError naming the type)."""
    compiled: dict[str, CompiledGatewayResponse] = {}
    for type_name, response in config.gateway_responses.items():
        if type_name not in GATEWAY_RESPONSE_TYPES:
            raise ValueError(f"unknown gateway response type {type_name!r}")
        try:
            compiled[type_name] = CompiledGatewayResponse.compile(response)
        except ValueError as exc:
            raise ValueError(f"gateway_responses.{type_name}: {exc}") from exc
    return compiled


_compiled_by_api: dict[int, tuple[ApiConfig, dict[str, CompiledGatewayResponse]]] = {}


def _compiled_for(config: ApiConfig) -> dict[str, CompiledGatewayResponse]:
    entry = _compiled_by_api.get(id(config))
    if entry is None or entry[0] is not config:
        entry = (config, compile_gateway_responses(config))
        _compiled_by_api[id(config)] = entry
    return entry[1]


def message_json(message: str | None) -> str:
    """``$context.error.messageString``: the message as a JSON string, or ``null``."""
    return "null" if message is None else json.dumps(message, ensure_ascii=False)


def default_rest_body(message: str | None) -> bytes:
    """``{"message":"Unauthorized"}``; a null message is ``{"message": null}`` (recorded with a space)."""
    if message is None:
        return b'{"message": null}'
    return b'{"message":' + message_json(message).encode() + b"}"


def error_context(
    error: GatewayError,
    *,
    api: CompiledApi | None,
    request: GatewayRequest,
    match: RouteMatch | None,
    request_id: str,
) -> dict[str, ContextValue]:
    """The ``$context`` values available to a gateway-response template or header."""
    message = error.message_text
    return {
        "error.message": message,
        "error.messageString": message_json(message),
        "error.responseType": error.type.name,
        "error.validationErrorString": None,
        "requestId": request_id,
        "extendedRequestId": extended_request_id(request_id),  # = x-amz-apigw-id
        "apiId": api.api_id if api else None,
        "stage": match.stage_name if match else None,
        "resourcePath": match.route.resource_path if match else None,
        "resourceId": match.route.resource_id if match else None,
        "httpMethod": request.method,
        "path": match.stage_path if match else request.path,
        "protocol": request.protocol,
        "domainName": request.host,
        "requestTime": clf_time(request.time_epoch_ms),
        "requestTimeEpoch": request.time_epoch_ms,
        "identity.sourceIp": request.source_ip,
        "identity.userAgent": request.header("user-agent"),
    }


def _header_value(
    source: tuple[str, str],
    *,
    request: GatewayRequest,
    match: RouteMatch | None,
    context: Mapping[str, ContextValue],
) -> str | None:
    kind, name = source
    if kind == "static":
        return name
    if kind == "header":
        return request.header(name)
    if kind == "querystring":
        values = [v for k, v in parse_qsl(request.query_string, keep_blank_values=True) if k == name]
        return values[-1] if values else None
    if kind == "path":
        return (match.path_parameters or {}).get(name) if match else None
    if kind == "stageVariables":
        return match.stage.variables.get(name) if match else None
    value = context.get(name)
    return None if value is None else str(value)


def _set_header(headers: list[tuple[str, str]], name: str, value: str) -> None:
    lname = name.lower()
    headers[:] = [(k, v) for k, v in headers if k.lower() != lname]
    headers.append((name, value))


def render(
    error: GatewayError,
    *,
    api: CompiledApi | None,
    request: GatewayRequest,
    match: RouteMatch | None,
    request_id: str,
) -> GatewayResponse:
    """The response for ``error`` on ``api`` (REST rules when no API matched)."""
    if api is not None and api.type == "HTTP":
        return _render_http(error, request_id)
    return _render_rest(error, api=api, request=request, match=match, request_id=request_id)


def _render_http(error: GatewayError, request_id: str) -> GatewayResponse:
    status = error.status if error.status in HTTP_API_MESSAGES else None
    if status is None:
        status = _HTTP_API_STATUS.get(error.type, error.type.status)
        if status not in HTTP_API_MESSAGES:
            status = 500 if status >= 500 else 400
    body = b'{"message":' + json.dumps(HTTP_API_MESSAGES[status]).encode() + b"}"
    headers = [("Content-Type", "application/json"), ("apigw-requestid", request_id)]
    for name, value in error.headers.items():
        _set_header(headers, name, value)
    return GatewayResponse(status, headers, body)


def _render_rest(
    error: GatewayError,
    *,
    api: CompiledApi | None,
    request: GatewayRequest,
    match: RouteMatch | None,
    request_id: str,
) -> GatewayResponse:
    status = error.status if error.status is not None else error.type.status
    custom: CompiledGatewayResponse | None = None
    if api is not None and api.config.gateway_responses:
        compiled = _compiled_for(api.config)
        default_type = "DEFAULT_4XX" if status < 500 else "DEFAULT_5XX"
        custom = compiled.get(error.type.name) or compiled.get(default_type)

    headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)]
    if error.type.error_type:
        headers.append(("x-amzn-ErrorType", error.type.error_type))
    for name, value in error.headers.items():
        _set_header(headers, name, value)

    if custom is None:
        body = error.body if error.body is not None else default_rest_body(error.message_text)
        return GatewayResponse(status, headers, body)

    context = error_context(error, api=api, request=request, match=match, request_id=request_id)
    if custom.status_code is not None:
        status = custom.status_code
    for name, source in custom.headers:
        header_value = _header_value(source, request=request, match=match, context=context)
        if header_value is not None:
            _set_header(headers, name, header_value)
    if custom.template is not None:
        stage_variables = match.stage.variables if match else None
        body = custom.template.render(context, stage_variables).encode()
    else:
        body = error.body if error.body is not None else default_rest_body(error.message_text)
    return GatewayResponse(status, headers, body)
