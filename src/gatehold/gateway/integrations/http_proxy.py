"""HTTP proxy integration (``HTTP_PROXY``): forward the request to an upstream URL, stream the answer.

* ``uri`` may use path variables (``{petId}``; a greedy ``{proxy+}`` is written ``{proxy}``) and
  ``${stageVariables.x}``; the request's query string is passed through.
* ``method: ANY`` forwards the request's verb, any other value replaces it.
* HTTP APIs: the ``$default`` route sends the full request path, appended to ``uri`` as the client
  sent it (§4.2: ``https://backend`` + ``/store/checkout``). On a named stage the path is taken
  below the stage segment (UNVERIFIED: AWS's example uses the ``$default`` stage).
* ``request_parameters`` (a subset of AWS's mapping expressions):
  ``integration.request.{header,querystring,path}.NAME`` ←
  ``method.request.{header,querystring,path}.NAME``, ``'static'`` or ``stageVariables.NAME``.
* Hop-by-hop headers (RFC 9110 §7.6.1) are dropped both ways; ``Host`` is the upstream's.
* Upstream unreachable → REST 502 / HTTP 500; no answer within the integration timeout (REST 29 s,
  HTTP 30 s, or ``timeout_ms``) → REST 504 / HTTP 503 (docs/aws-reference.md §2.3, §3.8).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlencode

import httpx

from gatehold.config.models import HttpProxyIntegration
from gatehold.gateway.integrations.base import StreamedResponse
from gatehold.gateway.integrations.lambda_proxy import HTTP_TIMEOUT_CAP_S, REST_TIMEOUT_CAP_S
from gatehold.gateway.model import AuthorizerOutcome, CompiledApi, GatewayRequest, RouteMatch
from gatehold.gateway.responses import integration_failure, integration_timeout

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
_NOT_FORWARDED = HOP_BY_HOP | {"host", "content-length"}
_URI_VARIABLE = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}|\{([A-Za-z0-9_.-]+)\+?\}")
_TARGET = re.compile(r"^integration\.request\.(header|querystring|path)\.(.+)$")
_SOURCE = re.compile(
    r"^(?:'(?P<static>[^']*)'|method\.request\.(?P<part>header|querystring|path)\.(?P<name>.+)"
    r"|stageVariables\.(?P<var>[A-Za-z0-9_]+))$"
)

UriPart = str | tuple[str, str]


def compile_uri(uri: str) -> tuple[UriPart, ...]:
    """``http://h/pets/{petId}?v=${stageVariables.v}`` → literal text and ``("path"|"stage", name)``."""
    parts: list[UriPart] = []
    pos = 0
    for m in _URI_VARIABLE.finditer(uri):
        if m.start() > pos:
            parts.append(uri[pos : m.start()])
        parts.append(("stage", m.group(1)) if m.group(1) else ("path", m.group(2)))
        pos = m.end()
    if pos < len(uri):
        parts.append(uri[pos:])
    return tuple(parts)


def render_uri(parts: tuple[UriPart, ...], match: RouteMatch, path_values: dict[str, str]) -> str:
    """A compiled URI with this request's path values and stage variables (absent ones empty)."""
    out: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        elif part[0] == "stage":
            out.append(match.stage.variables.get(part[1], ""))
        else:
            out.append(path_values.get(part[1], ""))
    return "".join(out)


def compile_parameters(mapping: dict[str, str]) -> list[tuple[str, str, str, str]]:
    out: list[tuple[str, str, str, str]] = []
    for target, source in mapping.items():
        t = _TARGET.match(target)
        s = _SOURCE.match(source.strip())
        if t is None or s is None:
            raise ValueError(
                f"request_parameters {target!r}: {source!r} is not supported (use integration.request."
                "{header,querystring,path}.NAME ← method.request.{header,querystring,path}.NAME, "
                "'static' or stageVariables.NAME)"
            )
        if s.group("static") is not None:
            out.append((t.group(1), t.group(2), "static", s.group("static")))
        elif s.group("part") is not None:
            out.append((t.group(1), t.group(2), s.group("part"), s.group("name")))
        else:
            out.append((t.group(1), t.group(2), "stageVariables", s.group("var")))
    return out


def parameter_value(kind: str, name: str, request: GatewayRequest, match: RouteMatch) -> str | None:
    """The value of one compiled request-parameter source for this request (None: absent)."""
    if kind == "static":
        return name
    if kind == "header":
        return request.header(name)
    if kind == "querystring":
        values = [v for k, v in parse_qsl(request.query_string, keep_blank_values=True) if k == name]
        return values[-1] if values else None
    if kind == "path":
        return (match.path_parameters or {}).get(name)
    return match.stage.variables.get(name)


def _path_below_stage(path: str, stage_name: str) -> str:
    """The request path as sent, without a named stage's first segment (``/dev/a`` → ``/a``)."""
    if stage_name == "$default":
        return path
    rest = path[len(stage_name) + 1 :]
    return rest or "/"


class HttpProxyIntegrationHandler:
    def __init__(self, api: CompiledApi, config: HttpProxyIntegration, client: httpx.AsyncClient) -> None:
        self.api_type = api.type
        self.uri = compile_uri(config.uri)
        self.method = None if config.method.upper() == "ANY" else config.method.upper()
        cap = REST_TIMEOUT_CAP_S if api.type == "REST" else HTTP_TIMEOUT_CAP_S
        self.timeout = httpx.Timeout(min(cap, config.timeout_ms / 1000) if config.timeout_ms else cap)
        self.parameters = compile_parameters(config.request_parameters)
        self.response_headers = list(config.response_headers.items())
        self.client = client
        self.append_path = api.type == "HTTP"

    async def __call__(
        self, request: GatewayRequest, match: RouteMatch, authorizer: AuthorizerOutcome | None
    ) -> StreamedResponse:
        headers = [(n, v) for n, v in request.headers if n.lower() not in _NOT_FORWARDED]
        path_values = dict(match.path_parameters or {})
        query = request.query_string
        extra_query: list[tuple[str, str]] = []
        for target, name, kind, source in self.parameters:
            value = parameter_value(kind, source, request, match)
            if value is None:
                continue
            if target == "header":
                headers = [(n, v) for n, v in headers if n.lower() != name.lower()]
                headers.append((name, value))
            elif target == "querystring":
                extra_query.append((name, value))
            else:
                path_values[name] = quote(value, safe="")
        url = render_uri(self.uri, match, path_values)
        if self.append_path and match.route.route_key == "$default":
            url = url.rstrip("/") + _path_below_stage(request.path, match.stage_name)
        if extra_query:
            query = "&".join(p for p in (query, urlencode(extra_query)) if p)
        if query:
            url = f"{url}{'&' if '?' in url else '?'}{query}"
        upstream = self.client.build_request(
            self.method or request.method, url, headers=headers, content=request.body, timeout=self.timeout
        )
        try:
            response = await self.client.send(upstream, stream=True)
        except httpx.TimeoutException:
            raise integration_timeout(self.api_type, f"upstream {url} timed out") from None
        except httpx.HTTPError as exc:
            raise integration_failure(self.api_type, f"upstream {url} failed: {exc!r}") from None
        out_headers = [
            (name, value) for name, value in response.headers.multi_items() if name.lower() not in HOP_BY_HOP
        ]
        for name, value in self.response_headers:
            if len(value) >= 2 and value[0] == value[-1] == "'":
                value = value[1:-1]
            out_headers = [(n, v) for n, v in out_headers if n.lower() != name.lower()]
            out_headers.append((name, value))
        return StreamedResponse(response.status_code, out_headers, response.aiter_raw(), response.aclose)
