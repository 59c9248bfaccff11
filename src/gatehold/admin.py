"""The admin port: Prometheus ``/metrics``, liveness ``/healthz`` and readiness ``/readyz``.

* ``GET /healthz`` → 200 ``{"status":"ok"}`` while the process serves requests;
* ``GET /readyz`` → 200 ``{"status":"ready"}`` once ``ready()`` is true, else 503
  ``{"status":"starting"}`` (load balancers stop sending traffic during startup and shutdown);
* ``GET /metrics`` → the text exposition of :data:`gatehold.metrics.REGISTRY`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gatehold.metrics import REGISTRY

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_JSON = b"application/json"


async def _respond(send: Send, status: int, content_type: bytes, body: bytes, head: bool) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"" if head else body})


def create_admin_app(*, ready: Callable[[], bool]) -> ASGIApp:
    """An ASGI app for the admin port; ``ready`` is polled on each ``/readyz``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        method = scope["method"]
        head = method == "HEAD"
        if method not in ("GET", "HEAD"):
            await _respond(send, 405, _JSON, b'{"message":"Method Not Allowed"}', head)
            return
        path = scope["path"]
        if path == "/metrics":
            await _respond(send, 200, CONTENT_TYPE_LATEST.encode(), generate_latest(REGISTRY), head)
        elif path == "/healthz":
            await _respond(send, 200, _JSON, b'{"status":"ok"}', head)
        elif path == "/readyz":
            if ready():
                await _respond(send, 200, _JSON, b'{"status":"ready"}', head)
            else:
                await _respond(send, 503, _JSON, b'{"status":"starting"}', head)
        else:
            await _respond(send, 404, _JSON, b'{"message":"Not Found"}', head)

    return app
