"""Authorizer test harness: a real (small, in-process) invoker, real routing, the real renderer.

``Harness.call`` routes a request with :mod:`gatehold.gateway.routing`, runs the authorizer set
built by ``build_authorizers`` and renders any refusal with
:func:`gatehold.gateway.gateway_responses.render`, so tests assert the exact status, headers and
bytes a client receives.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from gatehold.config.loader import LoadedConfig, parse_config
from gatehold.errors import GatewayError
from gatehold.gateway.authorizers import AuthorizerSet, build_authorizers
from gatehold.gateway.gateway_responses import render
from gatehold.gateway.model import AuthorizerOutcome, DecisionTrace, GatewayRequest
from gatehold.gateway.routing import ApiRouter, compile_apis
from gatehold.runtime.contract import InvocationResult
from tests.jose.conftest import issuer, rsa_keys  # noqa: F401  (the same JWKS issuer fixtures)
from tests.jose.support import ManualClock

Handler = Callable[[dict[str, Any], Any], Any]


class Timeout(Exception):
    """Raised by a test handler to stand for an invocation that outlives its deadline."""


class InProcessInvoker:
    """A real Invoker for tests: runs Python callables in a thread, marshals results through JSON
    as Lambda does, reports errors in Lambda's shape, and records every event."""

    def __init__(self, functions: dict[str, Handler]) -> None:
        self.functions = functions
        self.events: list[tuple[str, dict[str, Any]]] = []

    def calls(self, name: str | None = None) -> int:
        return sum(1 for n, _ in self.events if name is None or n == name)

    async def invoke(
        self, function_name: str, event: Any, *, request_id: str, deadline_s: float | None = None
    ) -> InvocationResult:
        self.events.append((function_name, json.loads(json.dumps(event))))
        started = time.perf_counter()
        try:
            result = await asyncio.to_thread(self.functions[function_name], event, None)
        except Timeout:
            return InvocationResult(integration_timeout=True)
        except Exception as exc:
            error = {"errorMessage": str(exc), "errorType": type(exc).__name__, "stackTrace": []}
            return InvocationResult(error=error, duration_ms=(time.perf_counter() - started) * 1000)
        return InvocationResult(payload=json.loads(json.dumps(result)), duration_ms=1.0)

    async def aclose(self) -> None:
        pass


@dataclass
class Result:
    status: int
    body: bytes
    headers: dict[str, str]
    outcome: AuthorizerOutcome | None
    trace: DecisionTrace
    error: GatewayError | None = None

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def step(self) -> dict[str, Any]:
        return self.trace.as_list()[-1]


@dataclass
class Harness:
    loaded: LoadedConfig
    authorizers: AuthorizerSet
    routers: dict[str, ApiRouter]
    invoker: InProcessInvoker
    clock: ManualClock
    request_ids: list[str] = field(default_factory=list)

    async def call(
        self, api: str, method: str, path: str, headers: dict[str, str] | None = None, query: str = ""
    ) -> Result:
        router = self.routers[api]
        request = GatewayRequest(
            method=method,
            path=path,
            query_string=query,
            headers=list((headers or {}).items()),
            body=b"",
            source_ip="127.0.0.1",
            request_id=f"req-{len(self.request_ids)}",
        )
        self.request_ids.append(request.request_id)
        match = router.match(method, path)
        trace = DecisionTrace()
        try:
            outcome = await self.authorizers.authorize(request, match, trace)
        except GatewayError as exc:
            response = render(exc, api=match.api, request=request, match=match, request_id=request.request_id)
            return Result(
                response.status, response.body, {k.lower(): v for k, v in response.headers}, None, trace, exc
            )
        return Result(200, b"", {}, outcome, trace)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def harness_factory(clock: ManualClock, http: httpx.AsyncClient) -> Callable[..., Harness]:
    def factory(yaml_text: str, functions: dict[str, Handler] | None = None) -> Harness:
        config, lines = parse_config(yaml_text)
        loaded = LoadedConfig(config=config, path=None, lines=lines)
        invoker = InProcessInvoker(functions or {})
        authorizers = build_authorizers(loaded, invoker, http, clock=clock, wall_clock=clock)
        return Harness(loaded, authorizers, compile_apis(loaded), invoker, clock)

    return factory
