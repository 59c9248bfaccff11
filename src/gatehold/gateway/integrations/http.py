"""HTTP integration (``HTTP``, non-proxy) with simple mappings, as AWS's example PetStore API uses it.

docs/aws-reference.md §5.1, §5.5. Unlike ``HTTP_PROXY``, API Gateway builds the backend request from the
integration's own settings and the method response from the integration response:

* the backend gets the integration's ``httpMethod`` and ``uri``, and only the request parameters
  that ``requestParameters`` maps (``integration.request.{path,querystring,header}.X ←
  method.request.{path,querystring,header}.Y``, ``'static'``, ``stageVariables.Z``); the client's
  other headers and query parameters are not forwarded;
* the body passes through unchanged (``passthroughBehavior`` ``when_no_match`` or
  ``when_no_templates`` with no templates), with the request's ``Content-Type``; ``never`` answers
  415 ``Unsupported Media Type`` when there is a body;
* the integration response is chosen by matching each ``responses`` key (a regex) against the
  backend's status code, ``default`` when none matches; the method response gets that entry's
  ``statusCode``, its ``responseParameters`` headers (``'static'`` or
  ``integration.response.header.X``) and the backend's body as it is, or the entry's ``body`` (a
  static response template with ``$context`` / ``$stageVariables`` substitution, as AWS's request
  validation sample writes ``"json 400 response template"``), typed ``application/json`` unless a
  mapped header says otherwise (the method response's default).

Path values: a ``method.request.path.X`` source is the request path's segment as the client sent it
(REST keeps percent-encoding, §2.1), inserted without encoding it again, ``/`` kept for a greedy
``{proxy+}``; header, query string, stage variable and static values are percent-encoded.

``gateway.upstreams`` (:func:`apply_upstreams`) points a document's hard-coded backend (the
PetStore's ``http://petstore-demo-endpoint.execute-api.com``) at a local service, at load.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote, urlencode

import httpx

from gatehold.config.models import HttpIntegration, IntegrationResponseConfig
from gatehold.errors import GatewayError, GatewayResponseType
from gatehold.gateway.context_template import ContextTemplate
from gatehold.gateway.events import clf_time
from gatehold.gateway.integrations.http_proxy import (
    compile_parameters,
    compile_uri,
    parameter_value,
    render_uri,
)
from gatehold.gateway.integrations.lambda_proxy import HTTP_TIMEOUT_CAP_S, REST_TIMEOUT_CAP_S
from gatehold.gateway.model import AuthorizerOutcome, CompiledApi, GatewayRequest, GatewayResponse, RouteMatch
from gatehold.gateway.responses import integration_failure, integration_timeout

_RESPONSE_HEADER = re.compile(r"^(?:'(?P<static>[^']*)'|integration\.response\.header\.(?P<name>.+))$")
# the backend's answer is buffered (the method response is built from it), bounded like a payload
MAX_BACKEND_BODY = 10 * 1024 * 1024
# characters a path segment keeps as they are (RFC 3986 pchar, '%' for escapes already made, '/')
_PATH_SAFE = "/%!$&'()*+,;=:@-._~"


def apply_upstreams(uri: str, upstreams: Mapping[str, str]) -> str:
    """``uri`` with its longest matching ``upstreams`` prefix replaced; a prefix matches up to a
    ``/``, ``?``, ``#`` or the end (``http://a.com`` does not match ``http://a.com.evil``).

    >>> apply_upstreams("http://petstore-demo-endpoint.execute-api.com/petstore/pets",
    ...                 {"http://petstore-demo-endpoint.execute-api.com": "http://127.0.0.1:8088"})
    'http://127.0.0.1:8088/petstore/pets'
    """
    for prefix in sorted(upstreams, key=len, reverse=True):
        base = prefix.rstrip("/")
        if uri == base or (uri.startswith(base) and uri[len(base)] in "/?#"):
            return upstreams[prefix].rstrip("/") + uri[len(base) :]
    return uri


def compile_response_headers(headers: dict[str, str]) -> list[tuple[str, str, str]]:
    """``{"Access-Control-Allow-Origin": "'*'"}`` → ``[(name, "static", "*")]``; ValueError else."""
    out: list[tuple[str, str, str]] = []
    for name, source in headers.items():
        m = _RESPONSE_HEADER.match(source.strip())
        if m is None:
            raise ValueError(
                f"response header {name!r}: {source!r} is not supported (use a 'static' value or"
                " integration.response.header.NAME)"
            )
        if m.group("static") is not None:
            out.append((name, "static", m.group("static")))
        else:
            out.append((name, "header", m.group("name")))
    return out


class HttpIntegrationHandler:
    def __init__(self, api: CompiledApi, config: HttpIntegration, client: httpx.AsyncClient) -> None:
        self.api_type = api.type
        self.uri = compile_uri(config.uri)
        self.method = config.method.upper()
        cap = REST_TIMEOUT_CAP_S if api.type == "REST" else HTTP_TIMEOUT_CAP_S
        self.timeout = httpx.Timeout(min(cap, config.timeout_ms / 1000) if config.timeout_ms else cap)
        self.parameters = compile_parameters(config.request_parameters)
        self.refuse_bodies = config.passthrough_behavior == "never"
        self.responses: list[tuple[re.Pattern[str], _Response]] = []
        self.default: _Response | None = None
        for pattern, response in config.responses.items():
            if pattern == "default":
                self.default = _Response(response)
                continue
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"responses {pattern!r} is not a regular expression: {exc}") from None
            self.responses.append((compiled, _Response(response)))
        self.client = client

    def _select(self, status: int) -> _Response | None:
        text = str(status)
        for pattern, response in self.responses:
            if pattern.fullmatch(text):
                return response
        return self.default

    async def __call__(
        self, request: GatewayRequest, match: RouteMatch, authorizer: AuthorizerOutcome | None
    ) -> GatewayResponse:
        if self.refuse_bodies and request.body:
            raise GatewayError(GatewayResponseType.UNSUPPORTED_MEDIA_TYPE, reason="passthroughBehavior never")
        headers: list[tuple[str, str]] = []
        content_type = request.header("content-type")
        if content_type and request.body:
            headers.append(("Content-Type", content_type))
        path_values: dict[str, str] = {}
        query: list[tuple[str, str]] = []
        for target, name, kind, source in self.parameters:
            value = parameter_value(kind, source, request, match)
            if value is None:
                continue
            if target == "header":
                headers.append((name, value))
            elif target == "querystring":
                query.append((name, value))
            else:
                path_values[name] = quote(value, safe=_PATH_SAFE if kind == "path" else "")
        url = render_uri(self.uri, match, path_values)
        if query:
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(query)}"
        method = request.method if self.method == "ANY" else self.method
        try:
            upstream = await self.client.request(
                method, url, headers=headers, content=request.body or None, timeout=self.timeout
            )
        except httpx.TimeoutException:
            raise integration_timeout(self.api_type, f"backend {url} timed out") from None
        except httpx.HTTPError as exc:
            raise integration_failure(self.api_type, f"backend {url} failed: {exc!r}") from None
        if len(upstream.content) > MAX_BACKEND_BODY:
            raise integration_failure(self.api_type, f"backend {url} answered more than 10 MB")
        selected = self._select(upstream.status_code)
        if selected is None:
            # no integration response matches and none is the default: AWS's configuration error
            raise GatewayError(
                GatewayResponseType.API_CONFIGURATION_ERROR,
                reason=f"no integration response for status {upstream.status_code}",
            )
        out: list[tuple[str, str]] = []
        for name, kind, value in selected.headers:
            if kind == "static":
                out.append((name, value))
            else:
                got = upstream.headers.get(value)
                if got is not None:
                    out.append((name, got))
        if not any(name.lower() == "content-type" for name, _ in out):
            out.append(("Content-Type", "application/json"))
        body = upstream.content
        if selected.body is not None:
            body = selected.body.render(
                {
                    "stage": match.stage_name,
                    "requestId": request.request_id,
                    "apiId": match.api.api_id,
                    "httpMethod": request.method,
                    "path": match.stage_path,
                    "resourcePath": match.route.resource_path,
                    "requestTime": clf_time(request.time_epoch_ms),
                    "requestTimeEpoch": request.time_epoch_ms,
                    "identity.sourceIp": request.source_ip,
                    "authorizer.principalId": authorizer.principal_id if authorizer else None,
                },
                match.stage.variables,
            ).encode("utf-8")
        return GatewayResponse(selected.status, out, body)


class _Response:
    """One compiled ``responses`` entry."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, config: IntegrationResponseConfig) -> None:
        self.status = config.status_code
        self.headers = compile_response_headers(config.headers)
        self.body = ContextTemplate.compile(config.body) if config.body is not None else None
