"""A server for the hostile-traffic suite, in a process of its own so that its RSS can be read.

    python -m tests.hostile.serve {gatehold|uvicorn} {gateway|idp} [--keep-alive S] [--grace S]
                                  [--data-dir DIR]

* ``gatehold gateway``: the gateway of tests/hostile/hostile.yaml on the gateway's own HTTP/1.1
  server (:class:`gatehold.gateway.http1.GatewayHttpServer`), as ``gatehold up`` serves it;
* ``gatehold idp``: the example stack's identity provider on the same server through the ASGI
  bridge (:class:`gatehold.asgi_bridge.AsgiResponder`), as ``gatehold up`` serves it;
* ``uvicorn …``: the same app under uvicorn with httptools and uvloop (the reference the probes
  compare with; ``bench/hostile_probes.py``).

The identity provider is wrapped in :class:`BodyWitness`, which records the largest request body
the app (or its ``/oauth/token`` shortcut) was handed, and answers ``GET /__witness`` with it: the
"the app never sees a prefix" probe reads it. It prints ``PORT <n>`` once it listens; SIGTERM
and SIGINT stop it gracefully (the server's drain, ``--grace`` seconds at most).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


class BodyWitness:
    """An ASGI app around ``app`` that records the body sizes the app is handed (module docstring)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.largest = 0
        self.requests = 0
        self.state = getattr(app, "state", None)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/__witness":
            body = json.dumps({"largest": self.largest, "requests": self.requests}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.requests += 1
        seen = 0

        async def counting() -> Any:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            self.largest = max(self.largest, seen)
            return message

        await self.app(scope, counting, send)

    def http1_shortcuts(self) -> dict[tuple[str, str], Any]:
        offer = getattr(self.app, "http1_shortcuts", None)
        shortcuts: dict[tuple[str, str], Any] = dict(offer()) if callable(offer) else {}

        def witnessed(handler: Any) -> Any:
            async def shortcut(headers: Any, body: bytes) -> Any:
                self.requests += 1
                self.largest = max(self.largest, len(body))
                return await handler(headers, body)

            return shortcut

        return {key: witnessed(handler) for key, handler in shortcuts.items()}


def _uvicorn_server_class() -> Any:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn, leaving signals to :func:`_main` (as ``gatehold.server`` does)."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return Server


def _socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)
    sock.setblocking(False)
    return sock


def _build(app_kind: str, port: int, data_dir: Path) -> tuple[Any, Any]:
    """The app, and what to close after it (the Lambda runtime)."""
    from gatehold.config import load_config

    if app_kind == "gateway":
        from gatehold.gateway.app import GatewayApp
        from gatehold.runtime import build_invoker

        loaded = load_config(HERE / "hostile.yaml")
        invoker = build_invoker(loaded)
        return GatewayApp(loaded, invoker), invoker
    from gatehold.cli.common import example_config_path
    from gatehold.idp.app import create_idp_app
    from gatehold.server import StackOptions

    options = StackOptions(idp_port=port, data_dir=data_dir)
    loaded = load_config(example_config_path(), variables=options.variables())
    return BodyWitness(create_idp_app(loaded, public_url=options.idp_url, data_dir=data_dir)), None


async def _main(args: argparse.Namespace) -> None:
    sock = _socket()
    port = int(sock.getsockname()[1])
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="gatehold-hostile-"))
    app, invoker = _build(args.app, port, data_dir)
    server: Any
    if args.server == "gatehold":
        from gatehold.asgi_bridge import AsgiResponder
        from gatehold.gateway.http1 import GatewayHttpServer

        responder = app if args.app == "gateway" else AsgiResponder(app)
        server = GatewayHttpServer(responder, keep_alive_timeout=args.keep_alive, graceful_timeout=args.grace)
    else:
        import uvicorn

        from gatehold.gateway.http_protocol import CasePreservingHttpToolsProtocol

        server = _uvicorn_server_class()(
            uvicorn.Config(
                app,
                lifespan="on" if args.app == "idp" else "off",
                log_level="warning",
                access_log=False,
                http=CasePreservingHttpToolsProtocol if args.app == "gateway" else "httptools",
                loop="none",
                timeout_keep_alive=int(args.keep_alive),
                timeout_graceful_shutdown=int(args.grace),
                proxy_headers=False,
            )
        )
    loop = asyncio.get_running_loop()

    def stop() -> None:
        server.should_exit = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)

    async def announce() -> None:
        while not server.started:
            await asyncio.sleep(0.01)
        print(f"PORT {port}", flush=True)

    announcer = asyncio.create_task(announce())
    try:
        await server.serve(sockets=[sock])
    finally:
        announcer.cancel()
        if invoker is not None:
            await invoker.aclose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("server", choices=["gatehold", "uvicorn"])
    parser.add_argument("app", choices=["gateway", "idp"])
    parser.add_argument("--keep-alive", type=float, default=2.0)
    parser.add_argument("--grace", type=float, default=30.0)
    parser.add_argument("--data-dir")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    from gatehold.server import run

    run(_main(args))


if __name__ == "__main__":
    main()
