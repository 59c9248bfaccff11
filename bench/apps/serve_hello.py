"""S1 on Gatehold's own server: the bare hello app served by :func:`gatehold.server.serve`, started
the way ``gatehold up`` starts its listeners (same event loop setup, same uvicorn settings).

    python -m bench.apps.serve_hello PORT [uvicorn|http1]

``http1`` serves it the way ``gatehold up`` serves the identity provider: the gateway's HTTP/1.1
server running the ASGI app through :class:`gatehold.asgi_bridge.AsgiResponder`.
"""

from __future__ import annotations

import asyncio
import sys

from bench.apps.hello import app
from gatehold import server


def main(port: int, kind: str = "uvicorn") -> None:
    coro = server.serve([server.Listener("hello", app, port, lifespan="off", server=kind)], host="127.0.0.1")
    runner = getattr(server, "run", None)  # the loop setup gatehold up uses, when server.py has one
    if runner is not None:
        runner(coro)
    else:
        asyncio.run(coro)


if __name__ == "__main__":
    main(int(sys.argv[1]), *sys.argv[2:3])
