"""Where the gateway server's CPU goes, without sockets: the HTTP/1.1 protocol fed in process.

    .venv/bin/python bench/http1_breakdown.py [--requests 20000] [--concurrency 50]

Builds the gateway of bench/config/bench.yaml with the real Lambda runtime, opens ``--concurrency``
:class:`~gatehold.gateway.http1.GatewayProtocol` connections on in-memory transports, and feeds each
one request per round, as 50 wrk connections do: parse, pipeline, response bytes, all on one uvloop
loop. Reports CPU µs per request (``time.process_time``, so the runtime's threads count) for:

* ``server only (404)``: a path no API maps (parse, request id, the 403 answer, serialisation);
* ``mock``: the gateway pipeline with a mock integration;
* ``open lambda (S2)`` / ``jwt same token (S3)``: with the Lambda hop (and the JWT cache hit);
* ``S3 inline handler (what-if)``: the handler called on the event loop (bench/gateway_breakdown.py).

What is missing next to a wrk run is the kernel: one ``read`` and one ``write`` per request on
loopback (≈ 8 to 15 µs of system time on the reference machine, see BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.keys import Issuer


class MemoryTransport:
    """Enough of an asyncio transport for the protocol: writes are counted, not sent."""

    def __init__(self) -> None:
        self.responses = 0
        self.last = b""
        self.closed = False

    def write(self, data: bytes) -> None:
        self.responses += 1
        self.last = data

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "peername":
            return ("127.0.0.1", 50000)
        if name == "sockname":
            return ("127.0.0.1", 8000)
        return default


def request_bytes(path: str, token: str | None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1:8000", "User-Agent: bench"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def drive(server: Any, raw: bytes, n: int, concurrency: int) -> tuple[float, bytes]:
    """CPU µs per request for ``n`` requests, ``concurrency`` connections at a time."""
    from gatehold.gateway.http1 import GatewayProtocol

    transports = [MemoryTransport() for _ in range(concurrency)]
    protocols = []
    for transport in transports:
        protocol = GatewayProtocol(server)
        protocol.connection_made(transport)  # type: ignore[arg-type]
        protocols.append(protocol)
    rounds = max(1, n // concurrency)
    t0 = time.process_time()
    for r in range(1, rounds + 1):
        for protocol in protocols:
            protocol.data_received(raw)
        while transports[-1].responses < r or transports[0].responses < r:
            await asyncio.sleep(0)
    us = (time.process_time() - t0) * 1e6 / (rounds * concurrency)
    for protocol in protocols:
        protocol.connection_lost(None)
    return us, transports[0].last


async def main(n: int, concurrency: int, repeats: int) -> dict[str, Any]:
    issuer = Issuer()
    os.environ["BENCH_ISSUER"] = issuer.issuer
    from bench.gateway_breakdown import InlineInvoker, unthrottled
    from gatehold.config.loader import load_config
    from gatehold.gateway.app import GatewayApp
    from gatehold.gateway.http1 import GatewayHttpServer
    from gatehold.runtime import build_invoker

    loaded = load_config(Path(__file__).resolve().parent / "config" / "bench.yaml")
    loop = asyncio.get_running_loop()
    servers = {}
    for name, invoker in (("runtime", build_invoker(loaded)), ("inline", InlineInvoker())):
        server = GatewayHttpServer(unthrottled(GatewayApp(loaded, invoker)))
        server._loop = loop
        servers[name] = server
    token = issuer.mint(jti="same")
    cases = {
        "server only (404)": ("runtime", request_bytes("/nothing/here", None)),
        "mock": ("runtime", request_bytes("/mock/unicorn?name=x", None)),
        "open lambda (S2)": ("runtime", request_bytes("/open/unicorn?name=x", None)),
        "jwt same token (S3)": ("runtime", request_bytes("/unicorns/unicorn?name=x", token)),
        "S3 inline handler (what-if)": ("inline", request_bytes("/unicorns/unicorn?name=x", token)),
    }
    for name, (which, raw) in cases.items():  # warm: JWKS fetch, imports, caches
        _, last = await drive(servers[which], raw, concurrency * 4, concurrency)
        expected = b"HTTP/1.1 403" if "404" in name else b"HTTP/1.1 200"
        if not last.startswith(expected):
            raise SystemExit(f"{name}: {last[:200]!r}")
    runs: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(repeats):
        for name, (which, raw) in cases.items():
            us, _ = await drive(servers[which], raw, n, concurrency)
            runs[name].append(us)
    issuer.close()
    result = {k: round(statistics.median(v), 1) for k, v in runs.items()}
    print(f"{'path (in-memory transport)':32} {'CPU µs/req':>10}")
    for k, v in result.items():
        print(f"{k:32} {v:>10.1f}")
    return result


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    import uvloop

    print(json.dumps(uvloop.run(main(args.requests, args.concurrency, args.repeats))))
