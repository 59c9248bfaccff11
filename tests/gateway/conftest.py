"""The gateway under test: a GatewayApp (tests/gateway/gateway.yaml) served by the gateway's own HTTP/1.1
server (:class:`~gatehold.gateway.http1.GatewayHttpServer`, as ``gatehold up`` serves it) on a free
loopback port, with the real in-process Lambda runtime, and a small upstream HTTP server (uvicorn) for
HTTP proxies."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import uvloop

from gatehold.config import load_config
from gatehold.gateway.app import GatewayApp
from gatehold.gateway.http1 import GatewayHttpServer
from gatehold.runtime import build_invoker
from gatehold.runtime.invoker import LambdaInvoker

HERE = Path(__file__).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerThread:
    """uvicorn serving ``app`` on 127.0.0.1:<free port> in a background thread (``config``: more
    ``uvicorn.Config`` arguments, e.g. ``http=CasePreservingHttpToolsProtocol``)."""

    def __init__(self, app: Any, **config: Any) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=self.port,
                lifespan="off",
                log_level="warning",
                proxy_headers=False,
                **config,
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


class GatewayServerThread:
    """:class:`GatewayHttpServer` serving ``app`` on 127.0.0.1:<free port> in a background thread with
    its own uvloop loop (``options``: ``keep_alive_timeout``, ``graceful_timeout``). ``stop()`` is the
    graceful shutdown ``gatehold up`` does on SIGTERM; the server closes ``app`` when it stops."""

    def __init__(self, app: GatewayApp, **options: float) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.sock.setblocking(False)
        self.port = int(self.sock.getsockname()[1])
        self.server = GatewayHttpServer(app, **options)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            uvloop.run(self.server.serve(sockets=[self.sock]))
        except BaseException as exc:  # reported by __enter__ / stop
            self.error = exc
        finally:
            self.sock.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> GatewayServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"gateway server did not start: {self.error!r}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Graceful shutdown; returns once the server has stopped (raises what it raised)."""
        self.server.should_exit = True
        self.thread.join(self.server.graceful_timeout + 10)
        if self.thread.is_alive():
            raise RuntimeError("gateway server did not stop")
        if self.error is not None:
            raise self.error

    def __exit__(self, *exc: object) -> None:
        self.stop()


def gateway_app(upstream: ServerThread) -> tuple[GatewayApp, LambdaInvoker]:
    """A GatewayApp for tests/gateway/gateway.yaml with the real Lambda runtime (close the invoker
    with :func:`close_invoker`)."""
    loaded = load_config(HERE / "gateway.yaml", variables={"upstream_url": upstream.url})
    invoker = build_invoker(loaded)
    return GatewayApp(loaded, invoker), invoker


def close_invoker(invoker: LambdaInvoker) -> None:
    with contextlib.suppress(Exception):
        asyncio.run(invoker.aclose())


#: ``/big``: the body the upstream streams (8 MB, in 64 KB chunks)
BIG_BODY = bytes(range(256)) * (32 * 1024)
#: what the upstream's ``/endless`` streams saw: "stopped" once its client (the gateway) went away
ENDLESS_EVENTS: list[str] = []


async def _stream_routes(path: str, receive: Any, send: Any) -> bool:
    """``/big``, ``/endless``, ``/no-content`` and ``/broken`` (True when ``path`` was one of them)."""
    start = {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
    if path == "/big":
        await send(start)
        for offset in range(0, len(BIG_BODY), 65536):
            await send(
                {"type": "http.response.body", "body": BIG_BODY[offset : offset + 65536], "more_body": True}
            )
        await send({"type": "http.response.body", "body": b""})
        return True
    if path == "/endless":  # until the client disconnects
        await send(start)
        disconnected = asyncio.ensure_future(receive())
        while not disconnected.done():
            await send({"type": "http.response.body", "body": b"tick\n", "more_body": True})
            await asyncio.sleep(0.01)
        ENDLESS_EVENTS.append("stopped")
        return True
    if path == "/no-content":  # a 204 that states its (zero) length
        await send({"type": "http.response.start", "status": 204, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})
        return True
    if path == "/broken":  # part of a body, then the connection drops (no terminating chunk)
        await send(start)
        await send({"type": "http.response.body", "body": b"partial,", "more_body": True})
        raise RuntimeError("upstream broke mid-body (on purpose)")
    return False


async def upstream_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Echoes what it received as JSON; ``/slow`` answers after 2 s; ``/stream`` sends three chunks;
    ``/big``, ``/endless``, ``/no-content``, ``/broken``: :func:`_stream_routes`."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    path = scope["path"]
    if await _stream_routes(path, receive, send):
        return
    if path == "/slow":
        await asyncio.sleep(2)
    if path == "/stream":
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
        )
        for chunk in (b"one,", b"two,", b"three"):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    payload = json.dumps(
        {
            "method": scope["method"],
            "path": scope["raw_path"].decode(),
            "query": scope["query_string"].decode(),
            "headers": [[k.decode(), v.decode()] for k, v in scope["headers"]],
            "body": body.decode("utf-8", "replace"),
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 201 if scope["method"] == "POST" else 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"x-upstream", b"yes"),
                (b"connection", b"keep-alive"),
                (b"keep-alive", b"timeout=5"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


@dataclass
class Gateway:
    url: str
    client: httpx.Client

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.request(method, path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.post(path, **kwargs)


@pytest.fixture(scope="session")
def upstream() -> Iterator[ServerThread]:
    with ServerThread(upstream_app) as server:
        yield server


@pytest.fixture(scope="session")
def gateway(upstream: ServerThread) -> Iterator[Gateway]:
    app, invoker = gateway_app(upstream)
    with GatewayServerThread(app) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        yield Gateway(server.url, client)
    close_invoker(invoker)


def event_of(response: httpx.Response) -> dict[str, Any]:
    """The event an echo handler returned."""
    assert response.status_code == 200, response.text
    event: dict[str, Any] = response.json()
    return event
