"""Route tables: each API's stages and routes compiled once, matched per request without copies.

REST APIs (docs/aws-reference.md §4.1): the stage is the first path segment (unknown stage → 403
``{"message":"Forbidden"}``); resources form a tree where, at each level, a static segment beats
``{param}`` beats ``{proxy+}``; ``/{proxy+}`` does not match ``/``; the trailing slash is ignored
for matching. The method is the exact verb, else ``ANY``. No resource, or a resource without the
verb → 403 ``MISSING_AUTHENTICATION_TOKEN``.

HTTP APIs (§4.2, §4.3): the stage is a named stage as the first segment, else ``$default``, else
404. Route priority: a full match (static beats ``{param}``), then a greedy ``{proxy+}`` match,
then the ``$default`` route; the method is part of the route (exact verb, else ``ANY``), so a
more generic route with the right method wins over a specific one without it. No match → 404.
The trailing slash is ignored here too (observed: aws-powertools/powertools-lambda-python#1552).
HTTP APIs route on the percent-decoded path and report it decoded (``rawPath``, 1.0 ``path``,
``pathParameters``): :func:`http_api_path`. REST APIs keep the encoding as sent (§2.1).

A fully static path is found with one dict lookup; only paths with variables walk the tree. A match
without path parameters is remembered per (method, path), bounded: the next request for it costs one
lookup and shares the :class:`RouteMatch` (nothing in the pipeline changes a match).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from gatehold.config.loader import ConfigError, ConfigProblem, LoadedConfig
from gatehold.config.models import ApiConfig, RouteConfig, StageConfig
from gatehold.errors import GatewayError, GatewayResponseType
from gatehold.gateway.model import CompiledApi, CompiledRoute, RouteMatch

_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
MAX_REMEMBERED_MATCHES = 4096  # per API; the request paths are the client's, so the memory is bounded


def stable_id(text: str, length: int = 10) -> str:
    """A deterministic lowercase id like AWS's (``a1b2c3d4e5``), derived from ``text``."""
    digest = hashlib.sha256(text.encode()).digest()
    return "".join(_ID_ALPHABET[b % 36] for b in digest[:length])


def not_found_error(api_type: str) -> GatewayError:
    """No route: REST 403 Missing Authentication Token (§4.1); HTTP 404 Not Found (§3.8).

    Choice: AWS's 403 ``IncompleteSignatureException`` for an unmatched route carrying a
    non-SigV4 ``Authorization`` header (an optional quirk of §4.1) is not reproduced."""
    if api_type == "REST":
        return GatewayError(GatewayResponseType.MISSING_AUTHENTICATION_TOKEN, reason="no matching route")
    return GatewayError(GatewayResponseType.RESOURCE_NOT_FOUND, reason="no matching route")


class StageNotFound(GatewayError):
    """No API mapping or no such REST stage: answered before any stage's deployment is chosen, so
    the API's ``gateway_responses`` do not apply (they are deployed with a stage) — UNVERIFIED,
    like the 403 itself (§7.14)."""


def forbidden_error(reason: str) -> GatewayError:
    """No API mapping / unknown REST stage: 403 ``{"message":"Forbidden"}`` (§4.1, §7.14).

    ``x-amzn-ErrorType: ForbiddenException`` is UNVERIFIED (AWS's usual 403 error type)."""
    return StageNotFound(
        GatewayResponseType.MISSING_AUTHENTICATION_TOKEN,
        message="Forbidden",
        headers={"x-amzn-ErrorType": "ForbiddenException"},
        reason=reason,
    )


_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def http_api_path(path: str) -> str:
    """The path an HTTP API routes on and puts in its events: percent-decoded.

    Live captures (hotsock/voker ``vokerhttp/testdata/ingress-paths.json``, July 2026) show HTTP
    APIs decoding twice, cutting at a ``?`` the first pass produced: ``/a%20b`` → ``/a b``,
    ``/a%2Fb`` → ``/a/b``, ``/q%3Fv`` → ``/q``, ``/x%253Fv`` → ``/x?v``, ``/x%2525v`` → ``/x%v``;
    ``/p%25done`` (``%do`` left after the first pass) is refused with 400. REST APIs keep the
    encoding (docs/aws-reference.md §2.1). Paths without ``%`` are returned as they are.
    """
    if "%" not in path:
        return path
    if _BAD_ESCAPE.search(path):
        raise _bad_path()
    once = unquote(path).split("?", 1)[0]
    if "%" not in once:
        return once
    if _BAD_ESCAPE.search(once):
        raise _bad_path()
    return unquote(once)


def _bad_path() -> GatewayError:
    """HTTP API 400 ``{"message":"Bad Request"}`` for a path it cannot decode (body UNVERIFIED)."""
    return GatewayError(GatewayResponseType.BAD_REQUEST_PARAMETERS, reason="undecodable path")


@dataclass(slots=True)
class _Node:
    """One resource (path segment) of the tree."""

    static: dict[str, _Node] = field(default_factory=dict)
    param_name: str | None = None
    param: _Node | None = None
    proxy_name: str | None = None
    proxy: _Node | None = None  # the {proxy+} child: a leaf
    methods: dict[str, CompiledRoute] = field(default_factory=dict)


def _segments(path: str) -> list[str]:
    trimmed = path.strip("/")
    return trimmed.split("/") if trimmed else []


@dataclass(slots=True)
class _StageTable:
    name: str
    config: StageConfig


class ApiRouter:
    """The compiled route table of one API; :meth:`match` is the hot path."""

    def __init__(self, api: CompiledApi, routes: list[CompiledRoute]) -> None:
        self.api = api
        self._is_rest = api.type == "REST"
        self._root = _Node()
        self._static: dict[str, dict[str, CompiledRoute]] = {}
        self._default_route: CompiledRoute | None = None
        self.routes = routes
        for route in routes:
            self._add(route)
        stages = api.config.stages
        self._stages = {name: _StageTable(name, cfg) for name, cfg in stages.items() if name != "$default"}
        default = stages.get("$default")
        self._default_stage = _StageTable("$default", default) if default is not None else None
        self._matches: dict[tuple[str, str], RouteMatch] = {}  # matches without path parameters

    def _add(self, route: CompiledRoute) -> None:
        if route.route_key == "$default":
            self._default_route = route
            return
        node = self._root
        is_static = True
        for seg in _segments(route.resource_path):
            if seg.startswith("{") and seg.endswith("+}"):
                is_static = False
                name = seg[1:-2]
                if node.proxy is None:
                    node.proxy, node.proxy_name = _Node(), name
                elif node.proxy_name != name:
                    raise ValueError(f"greedy variables {{{node.proxy_name}+}} and {seg} at the same level")
                node = node.proxy
            elif seg.startswith("{") and seg.endswith("}"):
                is_static = False
                name = seg[1:-1]
                if node.param is None:
                    node.param, node.param_name = _Node(), name
                elif node.param_name != name:
                    raise ValueError(
                        f"path variables {{{node.param_name}}} and {seg} at the same resource level"
                    )
                node = node.param
            else:
                node = node.static.setdefault(seg, _Node())
        if route.method in node.methods:
            raise ValueError(f"{route.route_key!r} duplicates {node.methods[route.method].route_key!r}")
        node.methods[route.method] = route
        if is_static:
            key = "/" + "/".join(_segments(route.resource_path))
            self._static.setdefault(key, node.methods)

    # -- matching ---------------------------------------------------------------------------------

    def match(self, method: str, path: str) -> RouteMatch:
        """Route ``method path`` (the path below the API's base path, percent-encoding kept).

        Raises :class:`GatewayError` with AWS's response for "no stage" and "no route".
        """
        key = (method, path)
        found = self._matches.get(key)
        if found is not None:
            return found
        found = self._match_rest(method, path) if self._is_rest else self._match_http(method, path)
        if found.path_parameters is None:
            if len(self._matches) >= MAX_REMEMBERED_MATCHES:
                self._matches.clear()
            self._matches[key] = found
        return found

    def _split_stage(self, path: str) -> tuple[_StageTable | None, str]:
        # path is "/stage/rest..." or "/stage" or "/"
        end = path.find("/", 1)
        first = path[1:] if end < 0 else path[1:end]
        stage = self._stages.get(first) if first else None
        if stage is None:
            return None, path
        return stage, ("/" if end < 0 else path[end:])

    def _match_rest(self, method: str, path: str) -> RouteMatch:
        stage, sub = self._split_stage(path)
        if stage is None:
            raise forbidden_error("unknown stage")
        found = self._find(sub, method, require_method=False)
        if found is None:
            raise not_found_error("REST")
        methods, params = found
        route = methods.get(method) or methods.get("ANY")
        if route is None:
            raise not_found_error("REST")
        return RouteMatch(
            api=self.api,
            stage_name=stage.name,
            stage=stage.config,
            route=route,
            path=sub,
            stage_path=f"/{stage.name}{sub}",
            path_parameters=params,
        )

    def _match_http(self, method: str, path: str) -> RouteMatch:
        path = http_api_path(path)
        stage, sub = self._split_stage(path)
        if stage is not None:
            stage_path = path
        elif self._default_stage is not None:
            stage, sub, stage_path = self._default_stage, path, path
        else:
            raise not_found_error("HTTP")
        found = self._find(sub, method, require_method=True)
        if found is not None:
            methods, params = found
            route = methods.get(method) or methods["ANY"]
        elif self._default_route is not None:
            route, params = self._default_route, None
        else:
            raise not_found_error("HTTP")
        return RouteMatch(
            api=self.api,
            stage_name=stage.name,
            stage=stage.config,
            route=route,
            path=sub,
            stage_path=stage_path,
            path_parameters=params,
        )

    def _find(
        self, path: str, method: str, *, require_method: bool
    ) -> tuple[dict[str, CompiledRoute], dict[str, str] | None] | None:
        key = path.rstrip("/") or "/"
        methods = self._static.get(key)
        if methods is not None and (not require_method or method in methods or "ANY" in methods):
            return methods, None
        trimmed = path.strip("/")
        segments = trimmed.split("/") if trimmed else []
        params: dict[str, str] = {}
        node = self._walk(self._root, segments, 0, trimmed, params, method, require_method)
        if node is None:
            return None
        return node.methods, params or None

    def _walk(
        self,
        node: _Node,
        segments: list[str],
        i: int,
        trimmed: str,
        params: dict[str, str],
        method: str,
        require_method: bool,
    ) -> _Node | None:
        """Depth-first: static, then ``{param}``, then ``{proxy+}``; backtrack on dead ends.

        Choice: §4.1 ranks specific before generic "at the same level" and is silent on dead ends;
        backtracking never answers 403 where some route plainly matches."""
        if i == len(segments):
            if node.methods and (not require_method or method in node.methods or "ANY" in node.methods):
                return node
            return None
        seg = segments[i]
        child = node.static.get(seg)
        if child is not None:
            found = self._walk(child, segments, i + 1, trimmed, params, method, require_method)
            if found is not None:
                return found
        if node.param is not None and seg:  # {param} never matches an empty segment (aws/chalice#588)
            found = self._walk(node.param, segments, i + 1, trimmed, params, method, require_method)
            if found is not None:
                assert node.param_name is not None
                params[node.param_name] = seg
                return found
        proxy = node.proxy
        if proxy is not None and (not require_method or method in proxy.methods or "ANY" in proxy.methods):
            assert node.proxy_name is not None
            # the rest of the path, inner '//' kept, trailing slash stripped (§2.1)
            rest = "/".join(segments[i:])
            if rest:
                params[node.proxy_name] = rest
                return proxy
        return None


# ------------------------------------------------------------------------------------------------
# compiling the configuration
# ------------------------------------------------------------------------------------------------


def _resource_path(route_key: str) -> tuple[str, str]:
    if route_key == "$default":
        return "ANY", "$default"
    method, _, path = route_key.partition(" ")
    segments = _segments(path)
    return method, "/" + "/".join(segments)


def compile_api(name: str, config: ApiConfig) -> ApiRouter:
    """Compile one API's routes into an :class:`ApiRouter` (raises ValueError on a conflict)."""
    api_id = config.api_id or stable_id("api:" + name)
    base_path = config.base_path or f"/{name}"
    api = CompiledApi(name=name, api_id=api_id, type=config.type, base_path=base_path, config=config)
    routes: list[CompiledRoute] = []
    for route_key, route_config in config.routes.items():
        routes.append(_compile_route(api, route_key, route_config))
    return ApiRouter(api, routes)


def _compile_route(api: CompiledApi, route_key: str, config: RouteConfig) -> CompiledRoute:
    method, resource_path = _resource_path(route_key)
    normalized_key = route_key if route_key == "$default" else f"{method} {resource_path}"
    return CompiledRoute(
        api_name=api.name,
        route_key=normalized_key,
        method=method,
        resource_path=resource_path,
        # REST: a 6-character id per resource, like AWS's; HTTP APIs report the route key as
        # requestContext.resourceId in payload 1.0 ("ANY /{proxy+}", recorded event; events.py)
        resource_id=(
            stable_id(f"resource:{api.api_id}:{resource_path}", 6) if api.type == "REST" else normalized_key
        ),
        config=config,
    )


def compile_apis(loaded: LoadedConfig) -> dict[str, ApiRouter]:
    """Every API of the configuration, compiled; conflicts are :class:`ConfigError` naming file:line:key."""
    routers: dict[str, ApiRouter] = {}
    problems: list[ConfigProblem] = []
    for name, config in loaded.config.apis.items():
        try:
            routers[name] = compile_api(name, config)
        except ValueError as exc:
            problems.append(loaded.problem(("apis", name, "routes"), str(exc)))
    if problems:
        raise ConfigError(problems)
    return routers
