"""Invocations/s and latency of a trivial handler through the Lambda runtime, per isolation mode.

    .venv/bin/python bench/runtime_bench.py [--seconds 3] [--concurrency 1 16] [--loop asyncio uvloop]

For each event loop, isolation mode and concurrency: warm up, then run ``concurrency`` callers in a
loop for ``--seconds`` and report invocations/s, latency percentiles (µs) and **CPU µs per
invocation** (``time.process_time``: every thread of this process, so the pool threads count; the
number to compare when the machine is shared, and with ``taskset -c 1`` the one-core case the HTTP
benchmark pins its server to). The event is a payload 2.0-sized dict (~1 KB); the handler returns a
small proxy response. Process mode runs with ``reserved_concurrency`` = the concurrency measured (at
least 1 worker per concurrent caller); its CPU column leaves out the workers' CPU. ``--isolation
inline`` is a what-if, not Gatehold's runtime: the same work (event copied through JSON, context,
handler, marshalling, ``InvocationResult``) with the handler called on the event loop, no thread and
no timeout; thread minus inline is what the hand-off to a pool thread costs.

    taskset -c 1 .venv/bin/python bench/runtime_bench.py --isolation thread --loop uvloop --concurrency 1 50
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

import orjson
import yaml

from gatehold.config import LoadedConfig, parse_config
from gatehold.runtime import build_invoker
from gatehold.runtime.context import LambdaContext
from gatehold.runtime.contract import InvocationResult
from gatehold.runtime.handler import call_handler, load_handler, unmarshal

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


class InlineInvoker:
    """The what-if: the runtime's per-invocation work with the handler called on the event loop."""

    def __init__(self) -> None:
        import sys

        sys.path.insert(0, str(HERE / "runtime_handlers"))
        self.handler = load_handler("bench_trivial.handler")

    async def invoke(
        self, function_name: str, event: Any, *, request_id: str, deadline_s: float | None = None
    ) -> InvocationResult:
        started = time.perf_counter()
        context = LambdaContext(request_id, function_name, "128", "arn", "group", "stream", 0)
        text, error = call_handler(self.handler, orjson.loads(orjson.dumps(event)), context)
        payload = unmarshal(text or "null")
        return InvocationResult(payload=payload, error=error, duration_ms=time.perf_counter() - started)

    async def aclose(self) -> None:
        pass


async def run(isolation: str, concurrency: int, seconds: float) -> tuple[float, list[float], float, float]:
    invoker: Any = InlineInvoker() if isolation == "inline" else build_invoker(config(isolation, concurrency))
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
        cpu_started = time.process_time()
        await asyncio.gather(*(caller(n) for n in range(concurrency)))
        cpu = time.process_time() - cpu_started
        elapsed = time.perf_counter() - started
        return len(latencies) / elapsed, latencies, cold, cpu * 1e6 / len(latencies)
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
    parser.add_argument("--isolation", nargs="+", default=modes, choices=[*modes, "inline"])
    args = parser.parse_args()
    print(
        f"{'loop':8} {'isolation':9} {'conc':>4} {'inv/s':>9} {'p50 µs':>8} {'p99 µs':>8} {'mean µs':>8}"
        f" {'cold ms':>8} {'CPU µs':>7}"
    )
    for loop_name in args.loop:
        for isolation in args.isolation:
            for concurrency in args.concurrency:
                coro = run(isolation, concurrency, args.seconds)
                if loop_name == "uvloop":
                    import uvloop

                    rate, lat, cold, cpu = uvloop.run(coro)
                else:
                    rate, lat, cold, cpu = asyncio.run(coro)
                print(
                    f"{loop_name:8} {isolation:9} {concurrency:>4} {rate:>9.0f} {pct(lat, 50):>8.0f} "
                    f"{pct(lat, 99):>8.0f} {statistics.fmean(lat) * 1e6:>8.0f} {cold * 1e3:>8.1f}"
                    f" {cpu:>7.1f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
