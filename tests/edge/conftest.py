"""Fixtures for the edge tests: a real GatewayApp served by the gateway's own HTTP/1.1 server
(:class:`~gatehold.gateway.http1.GatewayHttpServer`, as ``gatehold up`` serves it) on a free loopback
port, in the test's event loop.

``serve_gateway(apis, functions=..., gateway=...)`` builds the configuration as if read from
tests/edge/gatehold.yaml (so ``code_path: handlers`` finds tests/edge/handlers), the real Lambda
runtime (:func:`gatehold.runtime.build_invoker`) and :class:`gatehold.gateway.app.GatewayApp`, and
serves it; tests then talk HTTP to ``served.url``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gatehold.config import LoadedConfig, parse_config
from gatehold.gateway.app import GatewayApp
from gatehold.gateway.http1 import GatewayHttpServer
from gatehold.runtime import build_invoker

HERE = Path(__file__).parent

FUNCTIONS: dict[str, Any] = {
    "echo": {"handler": "edge_handlers.echo", "code_path": "handlers"},
    "hello": {"handler": "edge_handlers.hello", "code_path": "handlers"},
    "token-authorizer": {"handler": "edge_handlers.token_authorizer", "code_path": "handlers"},
    "boom": {"handler": "edge_handlers.boom", "code_path": "handlers"},
}


def lambda_route(function: str = "echo", **options: Any) -> dict[str, Any]:
    return {"integration": {"type": "lambda", "function": function}, **options}


def authorizers_available() -> bool:
    import gatehold.gateway.authorizers as authorizers

    return hasattr(authorizers, "build_authorizers")


class FakeClock:
    """An injectable clock: ``clock()`` returns ``now``; tests move it with ``advance``."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def load(apis: dict[str, Any], *, gateway: dict[str, Any] | None = None) -> LoadedConfig:
    text = yaml.safe_dump({"functions": FUNCTIONS, "apis": apis, "gateway": gateway or {}})
    config, lines = parse_config(text, file=str(HERE / "gatehold.yaml"))
    return LoadedConfig(config=config, path=HERE / "gatehold.yaml", lines=lines)


class ServedGateway:
    def __init__(
        self, app: GatewayApp, port: int, server: GatewayHttpServer, task: asyncio.Task[None]
    ) -> None:
        self.app = app
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.server = server
        self.task = task

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=10)


ServeGateway = Callable[..., Awaitable[ServedGateway]]


def loopback_socket() -> socket.socket:
    """A listening socket on 127.0.0.1:<free port>, as ``gatehold up`` hands its servers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def serve_in_this_loop(app: GatewayApp) -> tuple[GatewayHttpServer, asyncio.Task[None], int]:
    """``app`` on the gateway's HTTP/1.1 server in the test's own loop: the server, its task, its port."""
    sock = loopback_socket()
    port = int(sock.getsockname()[1])
    server = GatewayHttpServer(app)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    task.add_done_callback(lambda _: sock.close())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    if not server.started:
        raise RuntimeError("gateway did not start")
    return server, task, port


async def stop_serving(server: GatewayHttpServer, task: asyncio.Task[None]) -> None:
    """The graceful shutdown ``gatehold up`` does, waited for."""
    server.should_exit = True
    with contextlib.suppress(Exception):
        await asyncio.wait_for(task, 10)


@pytest.fixture
async def serve_gateway() -> AsyncIterator[ServeGateway]:
    served: list[tuple[ServedGateway, Any]] = []

    async def start(
        apis: dict[str, Any],
        *,
        gateway: dict[str, Any] | None = None,
        setup: Callable[[GatewayApp], None] | None = None,
    ) -> ServedGateway:
        loaded = load(apis, gateway=gateway)
        invoker = build_invoker(loaded)
        app = GatewayApp(loaded, invoker)
        if setup is not None:
            setup(app)
        server, task, port = await serve_in_this_loop(app)
        s = ServedGateway(app, port, server, task)
        served.append((s, invoker))
        return s

    yield start
    for s, invoker in served:
        await stop_serving(s.server, s.task)
        await invoker.aclose()
