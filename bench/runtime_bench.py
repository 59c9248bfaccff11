"""Invocations/s and latency of a trivial handler through the Lambda runtime, per isolation mode.

    .venv/bin/python bench/runtime_bench.py [--seconds 3] [--concurrency 1 16] [--loop asyncio uvloop]

For each event loop, isolation mode and concurrency: warm up, then run ``concurrency`` callers in a
loop for ``--seconds`` and report invocations/s and latency percentiles (µs). The event is a
payload 2.0-sized dict (~1 KB); the handler returns a small proxy response. Process mode runs with
``reserved_concurrency`` = the concurrency measured (at least 1 worker per concurrent caller).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

import yaml

from gatehold.config import LoadedConfig, parse_config
from gatehold.runtime import build_invoker

HERE = Path(__file__).parent

EVENT: dict[str, Any] = {
    "version": "2.0",
    "routeKey": "GET /bench",
    "rawPath": "/bench",
    "rawQueryString": "name=Gaia",
    "headers": {f"x-header-{i}": "v" * 20 for i in range(12)} | {"host": "localhost:8000"},
    "queryStringParameters": {"name": "Gaia"},
    "requestContext": {
        "accountId": "123456789012",
        "apiId": "abc123",
        "domainName": "localhost",
        "domainPrefix": "localhost",
        "http": {
            "method": "GET",
            "path": "/bench",
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": "bench",
        },
        "requestId": "JKJaXmPLvHcESHA=",
        "routeKey": "GET /bench",
        "stage": "$default",
        "time": "21/Nov/2026:08:00:00 +0000",
        "timeEpoch": 1795334400000,
    },
    "isBase64Encoded": False,
}


def config(isolation: str, concurrency: int) -> LoadedConfig:
    functions = {
        "trivial": {
            "handler": "bench_trivial.handler",
            "code_path": "runtime_handlers",
            "reserved_concurrency": concurrency,
        }
    }
    text = yaml.safe_dump({"functions": functions, "gateway": {"isolation": isolation}})
    cfg, lines = parse_config(text, file=str(HERE / "bench.yaml"))
    return LoadedConfig(config=cfg, path=HERE / "bench.yaml", lines=lines)


async def run(isolation: str, concurrency: int, seconds: float) -> tuple[float, list[float], float]:
    invoker = build_invoker(config(isolation, concurrency))
    try:
        # cold start of the first sandbox, then warm up every worker / thread
        t0 = time.perf_counter()
        await invoker.invoke("trivial", EVENT, request_id="cold")
        cold = time.perf_counter() - t0
        warm = [invoker.invoke("trivial", EVENT, request_id=f"w{i}") for i in range(concurrency)]
        await asyncio.gather(*warm)
        for i in range(200):
            await invoker.invoke("trivial", EVENT, request_id=f"w{i}")
        latencies: list[float] = []
        stop = time.perf_counter() + seconds

        async def caller(n: int) -> None:
            i = 0
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                result = await invoker.invoke("trivial", EVENT, request_id=f"{n}-{i}", deadline_s=30)
                latencies.append(time.perf_counter() - t0)
                assert result.error is None, result.error
                i += 1

        started = time.perf_counter()
        await asyncio.gather(*(caller(n) for n in range(concurrency)))
        elapsed = time.perf_counter() - started
        return len(latencies) / elapsed, latencies, cold
    finally:
        await invoker.aclose()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--loop", nargs="+", default=["asyncio", "uvloop"], choices=["asyncio", "uvloop"])
    modes = ["thread", "process"]
    parser.add_argument("--isolation", nargs="+", default=modes, choices=modes)
    args = parser.parse_args()
    print(
        f"{'loop':8} {'isolation':9} {'conc':>4} {'inv/s':>9} {'p50 µs':>8} {'p99 µs':>8} {'mean µs':>8}"
        f" {'cold ms':>8}"
    )
    for loop_name in args.loop:
        for isolation in args.isolation:
            for concurrency in args.concurrency:
                coro = run(isolation, concurrency, args.seconds)
                if loop_name == "uvloop":
                    import uvloop

                    rate, lat, cold = uvloop.run(coro)
                else:
                    rate, lat, cold = asyncio.run(coro)
                print(
                    f"{loop_name:8} {isolation:9} {concurrency:>4} {rate:>9.0f} {pct(lat, 50):>8.0f} "
                    f"{pct(lat, 99):>8.0f} {statistics.fmean(lat) * 1e6:>8.0f} {cold * 1e3:>8.1f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
