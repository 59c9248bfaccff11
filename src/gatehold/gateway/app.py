"""The gateway as an ASGI app: API mapping → route → authorizer → integration → response.

:meth:`GatewayApp.pipeline` is the whole request path, top-down; each step lives in its own module
(:mod:`~gatehold.gateway.routing`, :mod:`~gatehold.gateway.authorizers`,
:mod:`~gatehold.gateway.integrations`, :mod:`~gatehold.gateway.responses`). Any step may raise a
:class:`~gatehold.errors.GatewayError`; :func:`gatehold.gateway.gateway_responses.render` turns it
into AWS's bytes. Everything that does not depend on the request is computed in ``__init__``.

Edge hooks (set by the CORS / throttling / usage-plan modules; ``None`` means "not configured"):
``cors`` (per API name, HTTP APIs), ``throttler``, ``usage_plans``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from gatehold import logs, metrics
from gatehold.config.loader import LoadedConfig
from gatehold.errors import GatewayError, GatewayResponseType
from gatehold.gateway.access_log import AccessLogs, RequestRecord
from gatehold.gateway.authorizers import AuthorizerSet, build_authorizers
from gatehold.gateway.cors import CorsHandler
from gatehold.gateway.events import (
    RAW_HEADER_NAMES,
    add_forwarding_headers,
    extended_request_id,
    http_api_request_id,
    rest_request_id,
)
from gatehold.gateway.explain import RECENT, RecentTraces, explain
from gatehold.gateway.gateway_responses import render
from gatehold.gateway.integrations import IntegrationConfig, build_integration
from gatehold.gateway.integrations.base import Integration, StreamedResponse
from gatehold.gateway.model import (
    CompiledApi,
    DecisionTrace,
    GatewayRequest,
    GatewayResponse,
    RouteMatch,
)
from gatehold.gateway.request_validation import RequestValidator, build_request_validators
from gatehold.gateway.responses import integration_failure
from gatehold.gateway.routing import ApiRouter, StageNotFound, compile_apis, forbidden_error
from gatehold.gateway.throttle import Throttler
from gatehold.gateway.usage_plans import UsagePlans
from gatehold.runtime.contract import Invoker

if TYPE_CHECKING:
    from gatehold.redis_state import RedisState

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# API Gateway's payload quota (REST and HTTP APIs): 10 MB, else 413 (DG:limits); the 413 bodies
# (REST "Request Too Long", HTTP "Request Entity Too Large") are UNVERIFIED.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024

access_log = logging.getLogger("gatehold.access")
log = logging.getLogger("gatehold.gateway")


@dataclass(slots=True)
class ApiState:
    """Everything about one API that does not change per request."""

    api: CompiledApi
    router: ApiRouter
    integrations: dict[str, Integration]  # by route key
    is_rest: bool


Response = GatewayResponse | StreamedResponse


class GatewayApp:
    """``GatewayApp(loaded, invoker, http_client=...)`` is an ASGI application serving every API."""

    #: the largest request body (the payload quota); a longer one is never kept by the server,
    #: which calls :meth:`respond` with ``body_too_large`` (gatehold.gateway.http1)
    max_body_bytes = MAX_PAYLOAD_BYTES

    def __init__(
        self,
        loaded: LoadedConfig,
        invoker: Invoker,
        *,
        http_client: httpx.AsyncClient | None = None,
        traces: RecentTraces | None = None,
        redis: RedisState | None = None,
    ) -> None:
        self.loaded = loaded
        #: shared state for several processes and replicas (gatehold up --redis-url), else None
        self.redis = redis
        #: the last requests, for :meth:`explain` (default: this process's, kept across hot reloads)
        self.traces = traces if traces is not None else RECENT
        self.invoker = invoker
        self.settings = loaded.config.gateway
        self._owns_client = http_client is None
        self.http_client = http_client or httpx.AsyncClient()
        self.apis: dict[str, ApiState] = {}
        for name, router in compile_apis(loaded).items():
            self.apis[name] = ApiState(
                api=router.api,
                router=router,
                integrations={
                    r.route_key: self._integration(router.api, r.config.integration) for r in router.routes
                },
                is_rest=router.api.type == "REST",
            )
        # API mappings, by base path: single-segment ones by their segment, longer ones by the whole
        # base path (a request looks up its own first 2..depth segments: O(1) in the number of APIs)
        self._by_segment: dict[str, ApiState] = {}
        self._by_prefix: dict[str, ApiState] = {}
        self._prefix_depth = 0  # the most segments of a multi-segment base path
        self._root_api: ApiState | None = None
        for state in self.apis.values():
            base = state.api.base_path
            if base == "/":
                self._root_api = state
            elif base.count("/") == 1:
                self._by_segment[base] = state
            else:
                self._by_prefix[base] = state
                self._prefix_depth = max(self._prefix_depth, base.count("/"))

        self.authorizers: AuthorizerSet = build_authorizers(loaded, invoker, self.http_client)
        self.cors: dict[str, CorsHandler] | None = {
            name: CorsHandler(s.api.config.cors) for name, s in self.apis.items() if s.api.config.cors
        } or None
        needs_keys = any(r.api_key_required for a in loaded.config.apis.values() for r in a.routes.values())
        if redis is None:
            self.throttler: Throttler | None = Throttler(self.settings)
            self.usage_plans: UsagePlans | None = UsagePlans(self.settings) if needs_keys else None
        else:
            from gatehold.gateway.redis_stores import RedisBuckets, RedisQuotas, share_authorizer_caches

            buckets = RedisBuckets(redis)
            self.throttler = Throttler(self.settings, store=buckets)
            self.usage_plans = (
                UsagePlans(self.settings, buckets=buckets, quotas=RedisQuotas(redis)) if needs_keys else None
            )
            share_authorizer_caches(self.authorizers, redis)
        self.access_logs = AccessLogs(loaded.config, base_dir=loaded.base_dir)
        self.debug_headers = self.settings.debug_headers
        self.request_validators: dict[tuple[str, str], RequestValidator] | None = build_request_validators(
            loaded.config.apis
        )

    def _integration(self, api: CompiledApi, config: IntegrationConfig) -> Integration:
        return build_integration(
            api,
            config,
            self.invoker,
            self.http_client,
            account_id=self.settings.account_id,
            upstreams=self.settings.upstreams,
        )

    # -- the request path -------------------------------------------------------------------------

    async def pipeline(
        self, state: ApiState, request: GatewayRequest, trace: DecisionTrace, record: RequestRecord
    ) -> tuple[RouteMatch, Response]:
        """Route → [CORS preflight] → [throttle] → authorizer → [API key] → [request validation]
        → integration."""
        if self.cors is not None and (cors := self.cors.get(state.api.name)) is not None:
            preflight = cors.preflight(request, state.router)
            if preflight is not None:
                raise _Answered(preflight)
        match = record.match = state.router.match(request.method, request.path)
        if self.throttler is not None:
            await self.throttler.check(match)
        outcome = (
            await self.authorizers.authorize(request, match, trace)
            if match.route.config.authorizer is not None
            else None  # an open route: no coroutine to run
        )
        record.authorizer = outcome
        if self.usage_plans is not None:
            api_key = await self.usage_plans.check(request, match, outcome)
            request.api_key = record.api_key = api_key.api_key if api_key else None
        if self.request_validators is not None:
            validator = self.request_validators.get((state.api.name, match.route.route_key))
            if validator is not None:
                validator.validate(request, match)
        integration = state.integrations[match.route.route_key]
        integration_started = time.perf_counter()
        response = await integration(request, match, outcome)
        record.integration_latency_ms = int((time.perf_counter() - integration_started) * 1000)
        record.integration_status = response.status
        return match, response

    async def handle(
        self,
        state: ApiState | None,
        request: GatewayRequest,
        record: RequestRecord | None = None,
        body_too_large: bool = False,
    ) -> tuple[RouteMatch | None, Response, DecisionTrace]:
        """Run the pipeline and render any GatewayError in the one place that knows AWS's bytes."""
        trace = DecisionTrace()
        match: RouteMatch | None = None
        record = record or RequestRecord(request, request.request_id)
        try:
            if state is None:
                raise forbidden_error("no API mapping for this path")
            if body_too_large or len(request.body) > MAX_PAYLOAD_BYTES:
                raise GatewayError(GatewayResponseType.REQUEST_TOO_LARGE, reason="payload over 10 MB")
            match, response = await self.pipeline(state, request, trace, record)
        except _Answered as answered:
            return match, answered.response, trace
        except GatewayError as error:
            match = record.match
            record.error = error
            trace.add("error", error.type.name, reason=error.reason)
            response = render(
                error,
                # no stage, no deployment: AWS's default response, not the API's customised one
                api=state.api if state is not None and not isinstance(error, StageNotFound) else None,
                request=request,
                match=match,
                request_id=request.request_id,
            )
        except Exception:
            log.exception("gateway error", extra={"requestId": request.request_id})
            api_type = state.api.type if state else "REST"
            response = render(
                integration_failure(api_type, "unexpected error"),
                api=state.api if state else None,
                request=request,
                match=match,
                request_id=request.request_id,
            )
        cors = self.cors.get(state.api.name) if self.cors is not None and state is not None else None
        if cors is not None:
            cors.apply(request, response)
        return match, response, trace

    # -- ASGI ---------------------------------------------------------------------------------------

    def api_for(self, path: str) -> tuple[ApiState | None, str]:
        """The API mapped to ``path`` and the path below its base path."""
        end = path.find("/", 1)
        first = path if end < 0 else path[:end]
        state = self._by_segment.get(first)
        if state is not None:
            return state, ("/" if end < 0 else path[end:])
        if end > 0 and self._by_prefix:
            cuts = []  # where the path's 2nd, 3rd ... segment ends, up to the deepest base path
            cut = end
            for _ in range(self._prefix_depth - 1):
                cut = path.find("/", cut + 1)
                if cut < 0:
                    cuts.append(len(path))
                    break
                cuts.append(cut)
            for cut in reversed(cuts):  # the longest base path that matches whole segments
                state = self._by_prefix.get(path[:cut])
                if state is not None:
                    return state, path[cut:] or "/"
        if self._root_api is not None:
            return self._root_api, path
        return None, path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI: the same gateway under any ASGI server (Gatehold itself serves it with
        :mod:`gatehold.gateway.http1`, which calls :meth:`respond` without ASGI in between)."""
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self._lifespan(receive, send)
            return
        raw_path: bytes | None = scope.get("raw_path")
        full_path = raw_path.decode("latin-1") if raw_path else scope["path"]
        if "?" in full_path:
            full_path = full_path.split("?", 1)[0]
        client = scope.get("client")
        body = await _read_body(receive)
        answer = await self.respond(
            scope["method"],
            full_path,
            scope["query_string"].decode("latin-1"),
            _headers(scope),
            body or b"",
            source_ip=client[0] if client else "127.0.0.1",
            protocol=f"HTTP/{scope.get('http_version', '1.1')}",
            scheme=scope.get("scheme", "http"),
            server=scope.get("server"),
            body_too_large=body is None,
        )
        await _send(send, answer.response, scope["method"] == "HEAD")
        answer.done()

    async def respond(
        self,
        method: str,
        full_path: str,
        query_string: str,
        headers: list[tuple[str, str]],
        body: bytes,
        *,
        source_ip: str,
        protocol: str = "HTTP/1.1",
        scheme: str = "http",
        server: tuple[str, int] | None = None,
        body_too_large: bool = False,
    ) -> Answer:
        """One request, as any HTTP server parsed it: ``full_path`` without the query string,
        ``headers`` as the client wrote them. The caller sends ``answer.response``, then calls
        ``answer.done()`` (access log line, metrics). ``body_too_large``: the body was over
        :attr:`max_body_bytes` and not kept (``body`` is empty): the answer is the 413."""
        started = time.perf_counter()
        state, path = self.api_for(full_path)
        is_rest = state is None or state.is_rest
        request_id = rest_request_id() if is_rest else http_api_request_id()
        request = GatewayRequest(
            method=method,
            path=path,
            query_string=query_string,
            headers=headers,
            body=body,
            source_ip=source_ip,
            protocol=protocol,
            request_id=request_id,
            host=_host(headers, server),
            scheme=scheme,
            server_port=server[1] if server and server[1] else 80,
        )
        add_forwarding_headers(request)
        record = RequestRecord(request, request_id, account_id=self.settings.account_id)
        _, response, trace = await self.handle(state, request, record, body_too_large)

        out = response.headers
        _add_request_id_headers(out, is_rest, request_id)
        if self.debug_headers and trace.steps:
            out.append(("x-gatehold-trace", trace.summary()))
        return Answer(self, response, state, record, trace, full_path, started)

    def explain(self, request_id: str) -> dict[str, Any] | None:
        """Why a recent request was answered as it was (:mod:`gatehold.gateway.explain`), or None
        when it is not kept (unknown, or dropped as newer requests came in)."""
        kept = self.traces.get(request_id)
        if kept is None:
            return None
        return explain(kept, region=self.settings.region, account_id=self.settings.account_id)

    def invalid_response(self, answer: Answer) -> GatewayResponse:
        """A response the server cannot write (a header name or value with CR, LF or NUL, which a
        Lambda function may return) becomes the API's integration failure; the original is logged."""
        state, record = answer._state, answer._record
        api_type = state.api.type if state else "REST"
        log.error("response the server cannot write", extra={"requestId": record.request_id})
        response = render(
            integration_failure(api_type, "response header with CR, LF or NUL, or a 1xx status"),
            api=state.api if state else None,
            request=record.request,
            match=record.match,
            request_id=record.request_id,
        )
        _add_request_id_headers(response.headers, api_type == "REST", record.request_id)
        return response

    def _record(
        self, state: ApiState | None, record: RequestRecord, response: Response, started: float
    ) -> None:
        """Access log line and metrics for one answered request."""
        elapsed = time.perf_counter() - started
        record.api = state.api if state else None
        record.status = response.status
        record.response_length = len(response.body) if isinstance(response, GatewayResponse) else None
        record.response_latency_ms = int(elapsed * 1000)
        if self.access_logs:
            self.access_logs.emit(record)
        match = record.match
        metrics.observe_request(
            state.api.name if state else "-",
            match.stage_name if match else "-",
            match.route.route_key if match else "-",
            response.status,
            elapsed,
            record.integration_latency_ms / 1000 if record.integration_latency_ms is not None else None,
        )

    async def startup(self) -> None:
        """Nothing to start: everything is built in ``__init__`` (the server calls it before serving)."""

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def aclose(self) -> None:
        """Close what this app created (the HTTP client when none was given)."""
        if self._owns_client:
            await self.http_client.aclose()


class _Answered(Exception):
    """A step answered the request itself (CORS preflight)."""

    def __init__(self, response: GatewayResponse) -> None:
        self.response = response


class Answer:
    """A response to send, and what to log once it is sent (:meth:`GatewayApp.respond`)."""

    __slots__ = ("_app", "_full_path", "_record", "_started", "_state", "_trace", "response")

    def __init__(
        self,
        app: GatewayApp,
        response: Response,
        state: ApiState | None,
        record: RequestRecord,
        trace: DecisionTrace,
        full_path: str,
        started: float,
    ) -> None:
        self._app = app
        self.response = response
        self._state = state
        self._record = record
        self._trace = trace
        self._full_path = full_path
        self._started = started

    def done(self) -> None:
        """The response is sent: the access log line, the metrics and the JSON log line."""
        app, state, record, response = self._app, self._state, self._record, self.response
        app._record(state, record, response, self._started)
        if access_log.isEnabledFor(logging.INFO):
            match = record.match
            trace = self._trace
            logs.info(
                access_log,
                "request",
                {
                    "requestId": record.request_id,
                    "api": state.api.name if state else None,
                    "stage": match.stage_name if match else None,
                    "routeKey": match.route.route_key if match else None,
                    "method": record.request.method,
                    "path": self._full_path,
                    "status": response.status,
                    "latencyMs": round((time.perf_counter() - self._started) * 1000, 3),
                    "authorizer": trace.summary() if trace.steps else None,
                },
            )
        body = response.body if isinstance(response, GatewayResponse) else None
        app.traces.keep(record, self._trace, response.headers, body, self._full_path)


def _add_request_id_headers(out: list[tuple[str, str]], is_rest: bool, request_id: str) -> None:
    """REST: ``x-amzn-RequestId`` (unless the response has one) and ``x-amz-apigw-id``; HTTP APIs:
    ``apigw-requestid`` (§2.3, §3.7)."""
    if is_rest:
        if not _has(out, "x-amzn-requestid"):
            out.append(("x-amzn-RequestId", request_id))
        if not _has(out, "x-amz-apigw-id"):
            out.append(("x-amz-apigw-id", extended_request_id(request_id)))
    elif not _has(out, "apigw-requestid"):
        out.append(("apigw-requestid", request_id))


def _has(headers: list[tuple[str, str]], lname: str) -> bool:
    # a loop, not any(<generator>): this runs on every response, and the generator costs more
    for name, _ in headers:  # noqa: SIM110
        if len(name) == len(lname) and name.lower() == lname:
            return True
    return False


def _headers(scope: Scope) -> list[tuple[str, str]]:
    """The request headers, names as the client wrote them when the server recorded them
    (:mod:`gatehold.gateway.http_protocol`, for payload 1.0 events, §2.1), else ASGI's lowercase."""
    raw = scope["headers"]
    extensions = scope.get("extensions")
    names = extensions.get(RAW_HEADER_NAMES) if extensions else None
    if names is not None and len(names) == len(raw):
        return [(n.decode("latin-1"), v.decode("latin-1")) for n, (_, v) in zip(names, raw, strict=True)]
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw]


def _host(headers: list[tuple[str, str]], server: Any) -> str:
    for name, value in headers:
        if len(name) == 4 and name.lower() == "host":
            return value
    if server:
        return f"{server[0]}:{server[1]}"
    return "localhost"


async def _read_body(receive: Receive) -> bytes | None:
    """The request body; None past :data:`MAX_PAYLOAD_BYTES` (what was kept is dropped and the
    rest is drained, not kept)."""
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        return body if len(body) <= MAX_PAYLOAD_BYTES else None
    chunks = [body]
    size = len(body)
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        if chunks:
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_PAYLOAD_BYTES:
                chunks = []
        if not message.get("more_body", False):
            return b"".join(chunks) if chunks else None


_SKIP_RESPONSE_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})


async def _send(send: Send, response: Response, head: bool) -> None:
    if isinstance(response, StreamedResponse):
        raw = [
            (n.encode(), v.encode())
            for n, v in response.headers
            if n.lower() not in ("transfer-encoding", "connection")
        ]
        try:
            await send({"type": "http.response.start", "status": response.status, "headers": raw})
            async for chunk in response.body:
                if chunk and not head:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except (httpx.HTTPError, asyncio.CancelledError, OSError):
            log.warning("upstream stream interrupted")
            raise
        finally:
            await response.aclose()
        return
    raw = [(n.encode(), v.encode()) for n, v in response.headers if n.lower() not in _SKIP_RESPONSE_HEADERS]
    raw.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": raw})
    await send({"type": "http.response.body", "body": b"" if head else response.body})
