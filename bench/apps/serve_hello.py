"""S1 on Gatehold's own server: the bare hello app served by :func:`gatehold.server.serve`, started
the way ``gatehold up`` starts its listeners (same event loop setup, same uvicorn settings).

    python -m bench.apps.serve_hello PORT
"""

from __future__ import annotations

import asyncio
import sys

from bench.apps.hello import app
from gatehold import server


def main(port: int) -> None:
    coro = server.serve([server.Listener("hello", app, port, lifespan="off")], host="127.0.0.1")
    runner = getattr(server, "run", None)  # the loop setup gatehold up uses, when server.py has one
    if runner is not None:
        runner(coro)
    else:
        asyncio.run(coro)


if __name__ == "__main__":
    main(int(sys.argv[1]))
