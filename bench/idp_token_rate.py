"""Client-credentials issuance rate of the identity provider (tokens/s).

Starts the IdP (example tenant) under uvicorn on a free loopback port with a fresh data dir, warms
up, then POSTs /oauth/token (client_secret_basic, audience https://unicorns-api) from N concurrent
httpx clients for D seconds and prints tokens/s and latency percentiles.

    .venv/bin/python bench/idp_token_rate.py --concurrency 32 --duration 10
    .venv/bin/python bench/idp_token_rate.py --tool wrk --concurrency 32 --duration 10
    .venv/bin/python bench/idp_token_rate.py --url http://localhost:9000   # an already running IdP

``--tool wrk`` drives the POSTs with wrk and a small Lua script (the load generator then costs far
less CPU than httpx, which matters on a small machine); the default is httpx with asyncio.
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default=None, help="an IdP already running with the example tenant")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--tool", choices=["httpx", "wrk"], default="httpx")
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve, Path(args.data_dir))
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
