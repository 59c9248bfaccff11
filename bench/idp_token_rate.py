"""Client-credentials issuance rate of the identity provider (tokens/s).

Starts the IdP (example tenant) under uvicorn on a free loopback port with a fresh data dir, warms
up, then POSTs /oauth/token (client_secret_basic, audience https://unicorns-api) from N concurrent
httpx clients for D seconds and prints tokens/s and latency percentiles.

    .venv/bin/python bench/idp_token_rate.py --concurrency 32 --duration 10
    .venv/bin/python bench/idp_token_rate.py --tool wrk --concurrency 32 --duration 10
    .venv/bin/python bench/idp_token_rate.py --url http://localhost:9000   # an already running IdP

``--tool wrk`` drives the POSTs with wrk and a small Lua script (the load generator then costs far
less CPU than httpx, which matters on a small machine); the default is httpx with asyncio.

``--in-process`` needs no server and no socket: it calls the ASGI app directly with S7's request
(``client_secret_post`` in the form, audience https://unicorns-api) and times every RS256 signature
inside it (a thin wrapper around the cached key object), so it prints CPU µs per token and, the
signature's own time subtracted call by call, the identity provider's own work per token without
the HTTP server. ``--cold`` signs once more between tokens (untimed), evicting the CPU caches as in
a server where the previous request was a signature too.

    .venv/bin/python bench/idp_token_rate.py --in-process [--cold] [--rounds 5] [--tokens 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import uvicorn

SECRET = "demo-m2m-secret-change-me-0123456789"


def serve(port: int, data_dir: Path) -> None:
    """The server side, run in its own process (so the load generator does not share its GIL)."""
    from gatehold.cli.common import example_config_path
    from gatehold.config import load_config
    from gatehold.idp.app import create_idp_app

    url = f"http://localhost:{port}"
    loaded = load_config(
        example_config_path(),
        variables={
            "idp_url": url,
            "spa_url": "http://localhost:3000",
            "gateway_url": "http://localhost:8000",
            "data_dir": str(data_dir),
        },
    )
    app = create_idp_app(loaded, public_url=url, data_dir=data_dir)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def start_server() -> tuple[str, subprocess.Popen[bytes]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    data_dir = tempfile.mkdtemp(prefix="idp-bench-")
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port), "--data-dir", data_dir])
    url = f"http://localhost:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/.well-known/jwks.json").status_code == 200:
                return url, proc
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError("the identity provider did not start")
        time.sleep(0.1)


async def worker(client: httpx.AsyncClient, url: str, stop: float, latencies: list[float]) -> int:
    n = 0
    data = {"grant_type": "client_credentials", "audience": "https://unicorns-api"}
    while time.perf_counter() < stop:
        t0 = time.perf_counter()
        r = await client.post(url + "/oauth/token", data=data, auth=("demo-m2m", SECRET))
        latencies.append(time.perf_counter() - t0)
        if r.status_code != 200:
            raise RuntimeError(f"{r.status_code} {r.text}")
        n += 1
    return n


async def run(url: str, concurrency: int, duration: float) -> None:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        await worker(client, url, time.perf_counter() + 1.0, [])  # warm-up
        latencies: list[float] = []
        start = time.perf_counter()
        counts = await asyncio.gather(
            *(worker(client, url, start + duration, latencies) for _ in range(concurrency))
        )
        elapsed = time.perf_counter() - start
    total = sum(counts)
    q = statistics.quantiles(latencies, n=100)
    print(
        f"{total} tokens in {elapsed:.1f}s = {total / elapsed:.0f} tokens/s "
        f"(concurrency {concurrency}; p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms)"
    )


WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = "grant_type=client_credentials&audience=https%3A%2F%2Funicorns-api"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. "BASIC"
"""


def run_wrk(url: str, concurrency: int, duration: float) -> None:
    import base64

    basic = base64.b64encode(f"demo-m2m:{SECRET}".encode()).decode()
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT.replace("BASIC", basic))
    threads = max(1, min(2, concurrency))
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{concurrency}",
        f"-d{int(duration)}s",
        "--latency",
        "-s",
        script.name,
        url + "/oauth/token",
    ]
    print(" ".join(cmd))
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    print(out)
    if "Non-2xx" in out:
        raise RuntimeError("some token requests failed")


def in_process(rounds: int, tokens: int, cold: bool) -> None:
    """The ASGI app driven without an event loop (client credentials never really await)."""
    import dataclasses
    from typing import Any

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    from gatehold.cli.common import example_config_path
    from gatehold.config import load_config
    from gatehold.idp.app import create_idp_app, startup

    data_dir = Path(tempfile.mkdtemp(prefix="idp-bench-"))
    url = "http://localhost:9000"
    variables = {"idp_url": url, "spa_url": "http://localhost:3000", "gateway_url": "http://localhost:8000"}
    loaded = load_config(example_config_path(), variables={**variables, "data_dir": str(data_dir)})
    app = create_idp_app(loaded, public_url=url, data_dir=data_dir)
    asyncio.run(startup(app))  # type: ignore[arg-type]
    body = (
        b"grant_type=client_credentials&client_id=demo-m2m&client_secret="
        + SECRET.encode()
        + b"&audience=https%3A%2F%2Funicorns-api"
    )
    headers = [
        (b"host", b"127.0.0.1:9000"),
        (b"content-type", b"application/x-www-form-urlencoded"),
        (b"content-length", b"%d" % len(body)),
    ]
    request = {"type": "http.request", "body": body, "more_body": False}
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return request

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    class TimedKey:
        """The real key object; only the time spent in ``sign`` is added up."""

        def __init__(self, key: Any) -> None:
            self.key, self.ns = key, 0

        def sign(self, data: bytes, pad: Any, alg: Any) -> bytes:
            t0 = time.process_time_ns()
            out: bytes = self.key.sign(data, pad, alg)
            self.ns += time.process_time_ns() - t0
            return out

    keys = app.state.idp.keys
    real = keys.current.private_key
    timed = TimedKey(real)
    keys._current = dataclasses.replace(keys.current, private_key=timed)
    keys._checked_at = float("inf")  # no key reload during the run (it would undo the wrapper)
    pad, alg, msg = padding.PKCS1v15(), hashes.SHA256(), b"e" * 600

    def one() -> None:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/oauth/token",
            "raw_path": b"/oauth/token",
            "root_path": "",
            "query_string": b"",
            "headers": headers,
            "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 9000),
            "state": {},
        }
        coro = app(scope, receive, send)
        try:
            coro.send(None)
        except StopIteration:
            return
        raise RuntimeError("the token endpoint awaited something real")

    def round_(n: int) -> tuple[float, float]:
        """(µs per token, µs of it outside the signature)."""
        timed.ns = total = 0
        for _ in range(n):
            if cold:
                real.sign(msg, pad, alg)
            t0 = time.process_time_ns()
            one()
            total += time.process_time_ns() - t0
        return total / n / 1e3, (total - timed.ns) / n / 1e3

    round_(200)
    if set(statuses) != {200}:
        raise RuntimeError(f"statuses {set(statuses)}")
    results = [round_(tokens) for _ in range(rounds)]
    own = sorted(r[1] for r in results)
    print(
        f"in process{' (cold)' if cold else ''}: {statistics.median(r[0] for r in results):.1f} µs per "
        f"token; the identity provider's own work (signature excluded) {statistics.median(own):.1f} µs "
        f"(rounds: {', '.join(f'{d:.1f}' for d in own)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default=None, help="an IdP already running with the example tenant")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--tool", choices=["httpx", "wrk"], default="httpx")
    parser.add_argument("--in-process", action="store_true", help="call the ASGI app directly (no server)")
    parser.add_argument("--cold", action="store_true", help="with --in-process: a signature between tokens")
    parser.add_argument("--rounds", type=int, default=5, help="with --in-process")
    parser.add_argument("--tokens", type=int, default=2000, help="with --in-process: tokens per round")
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve, Path(args.data_dir))
        return
    if args.in_process:
        in_process(args.rounds, args.tokens, args.cold)
        return
    server = None
    url = args.url
    if url is None:
        url, server = start_server()
    try:
        if args.tool == "wrk":
            run_wrk(url.rstrip("/"), args.concurrency, args.duration)
        else:
            asyncio.run(run(url.rstrip("/"), args.concurrency, args.duration))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=15)


if __name__ == "__main__":
    main()
