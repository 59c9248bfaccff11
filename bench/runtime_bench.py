"""Invocations/s, latency and CPU per invocation of a trivial handler through the Lambda runtime.

    .venv/bin/python bench/runtime_bench.py [--seconds 3] [--concurrency 1 16 64]
        [--isolation in-process process inline] [--rounds 3] [--baseline DIR] [--pin CPU]

Each measurement runs in a fresh subprocess (one isolation mode, one number of callers, uvloop):
it warms the function up, then ``concurrency`` callers invoke it in a loop for ``--seconds``. Rounds
are interleaved (every configuration once, then again) and the medians printed, so that a noisy
neighbour moves every row alike.

* **CPU µs per invocation is the whole process tree's**: the measuring process (every thread, so
  in-process mode's pool threads count) plus each execution environment's (``/proc/<pid>/schedstat``,
  nanoseconds on CPU), divided by the invocations. The number to compare when the machine is shared.
* ``--pin CPU`` runs the measuring process on that one CPU (``taskset``; its children inherit it):
  the gateway and its workers share one core, as when the HTTP benchmark pins its server.
* ``--baseline DIR`` runs the same configurations with Gatehold imported from ``DIR`` (a ``src``
  directory, e.g. ``git archive <commit> src | tar -x -C /tmp/before``), interleaved with this
  tree's, and prints the ratio of this tree's CPU per invocation to the baseline's. The baseline's
  isolation names are given as ``--baseline-isolation thread process`` (the names it knew).
* ``inline`` is a what-if, not Gatehold's runtime: the same work (event copied through JSON,
  context, handler, marshalling, ``InvocationResult``) with the handler called on the event loop.

The event is a payload 2.0-sized dict (~1 KB); the handler returns a small proxy response.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

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


# -- one measurement (in a subprocess) --------------------------------------------------------------


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (the execution environments are the fork server's children)."""
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                children = [int(c) for c in Path(f"/proc/{parent}/task/{task}/children").read_text().split()]
            except OSError:
                continue
            found += children
            todo += children
    return found


def _children_cpu_ns() -> int:
    """Nanoseconds on CPU of this process's descendants (the fork server, the environments)."""
    total = 0
    for pid in _descendants(os.getpid()):
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
    return total


def _tree_cpu_s() -> float:
    return time.process_time() + _children_cpu_ns() / 1e9


def _invoker(isolation: str, concurrency: int) -> Any:
    import yaml

    from gatehold.config import LoadedConfig, parse_config
    from gatehold.runtime import build_invoker

    functions = {"trivial": {"handler": "bench_trivial.handler", "code_path": "runtime_handlers"}}
    text = yaml.safe_dump({"functions": functions, "gateway": {"isolation": isolation}})
    cfg, lines = parse_config(text, file=str(HERE / "bench.yaml"))
    return build_invoker(LoadedConfig(config=cfg, path=HERE / "bench.yaml", lines=lines))


class InlineInvoker:
    """The what-if: the runtime's per-invocation work with the handler called on the event loop."""

    def __init__(self) -> None:
        from gatehold.runtime.handler import load_handler

        sys.path.insert(0, str(HERE / "runtime_handlers"))
        self.handler = load_handler("bench_trivial.handler")

    async def invoke(
        self, function_name: str, event: Any, *, request_id: str, deadline_s: float | None = None
    ) -> Any:
        import orjson

        from gatehold.runtime.context import LambdaContext
        from gatehold.runtime.contract import InvocationResult
        from gatehold.runtime.handler import call_handler, unmarshal

        started = time.perf_counter()
        context = LambdaContext(request_id, function_name, "128", "arn", "group", "stream", 0)
        text, error = call_handler(self.handler, orjson.loads(orjson.dumps(event)), context)
        return InvocationResult(
            payload=unmarshal(text or "null"), error=error, duration_ms=time.perf_counter() - started
        )

    async def aclose(self) -> None:
        pass


async def measure(isolation: str, concurrency: int, seconds: float) -> dict[str, float]:
    t0 = time.perf_counter()
    invoker: Any = InlineInvoker() if isolation == "inline" else _invoker(isolation, concurrency)
    try:
        first = await invoker.invoke("trivial", EVENT, request_id="cold")
        assert first.error is None, first.error
        cold = time.perf_counter() - t0
        await asyncio.gather(
            *(invoker.invoke("trivial", EVENT, request_id=f"w{i}") for i in range(concurrency))
        )
        for i in range(300):
            await invoker.invoke("trivial", EVENT, request_id=f"w{i}")
        latencies: list[float] = []
        stop = time.perf_counter() + seconds

        async def caller(n: int) -> None:
            i = 0
            while time.perf_counter() < stop:
                t = time.perf_counter()
                result = await invoker.invoke("trivial", EVENT, request_id=f"{n}-{i}", deadline_s=30)
                latencies.append(time.perf_counter() - t)
                assert result.error is None, result.error
                i += 1

        started, cpu = time.perf_counter(), _tree_cpu_s()
        await asyncio.gather(*(caller(n) for n in range(concurrency)))
        cpu = _tree_cpu_s() - cpu
        elapsed = time.perf_counter() - started
    finally:
        await invoker.aclose()
    ordered = sorted(latencies)
    return {
        "rate": len(latencies) / elapsed,
        "p50_us": ordered[len(ordered) // 2] * 1e6,
        "p99_us": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1e6,
        "cpu_us": cpu * 1e6 / len(latencies),
        "cores": cpu / elapsed,
        "cold_ms": cold * 1e3,
    }


def _one(args: argparse.Namespace) -> None:
    if args.src:
        sys.path.insert(0, args.src)
    sys.path.insert(1, str(ROOT))
    import logging

    logging.disable(logging.WARNING)
    import uvloop

    result = uvloop.run(measure(args.one, args.concurrency[0], args.seconds))
    print(json.dumps(result))


# -- the driver: interleaved rounds of subprocesses -------------------------------------------------


def _run(
    src: str | None, isolation: str, concurrency: int, seconds: float, pin: str | None
) -> dict[str, float]:
    argv = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--one",
        isolation,
        "--concurrency",
        str(concurrency),
    ]
    argv += ["--seconds", str(seconds)]
    if src:
        argv += ["--src", src]
    if pin is not None:
        argv = ["taskset", "-c", pin, *argv]
    out = subprocess.run(argv, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--isolation", nargs="+", default=["in-process", "process"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pin", default=None, help="run each measurement on this CPU only")
    parser.add_argument("--baseline", default=None, help="a src directory to compare with")
    parser.add_argument("--baseline-isolation", nargs="+", default=None)
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--src", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        _one(args)
        return
    configs: list[tuple[str, str | None, str, int]] = []
    for concurrency in args.concurrency:
        for isolation in args.isolation:
            configs.append(("this", None, isolation, concurrency))
        if args.baseline:
            for isolation in args.baseline_isolation or args.isolation:
                if isolation != "inline":
                    configs.append(("baseline", args.baseline, isolation, concurrency))
    results: dict[tuple[str, str, int], list[dict[str, float]]] = {}
    for round_no in range(args.rounds):
        for tree, src, isolation, concurrency in configs:
            results.setdefault((tree, isolation, concurrency), []).append(
                _run(src, isolation, concurrency, args.seconds, args.pin)
            )
        print(f"round {round_no + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    pinned = f"pinned to CPU {args.pin}" if args.pin is not None else "unpinned"
    print(f"uvloop, {pinned}, {args.seconds:g} s per run, median of {args.rounds} interleaved rounds")
    print(
        f"{'tree':9} {'isolation':10} {'callers':>7} {'inv/s':>8} {'p50 µs':>8} {'p99 µs':>8}"
        f" {'CPU µs/inv':>10} {'cores':>6} {'cold ms':>8}"
    )
    for (tree, isolation, concurrency), runs in results.items():
        med = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        print(
            f"{tree:9} {isolation:10} {concurrency:>7} {med['rate']:>8.0f} {med['p50_us']:>8.0f}"
            f" {med['p99_us']:>8.0f} {med['cpu_us']:>10.1f} {med['cores']:>6.2f} {med['cold_ms']:>8.1f}"
        )


if __name__ == "__main__":
    main()
