"""A warm trivial Node.js handler behind an open route, against the same handler in Python, in one run.

``gatehold up`` serves one HTTP API with two open routes, ``GET /py`` (a Python handler, process
isolation: the default) and ``GET /node`` (the same handler in JavaScript, ``nodejs20.x``). The whole
stack is pinned to CPU 0 (``--pin``, the default) and wrk to CPU 1; the routes are measured in
interleaved rounds. For each: requests/s, p50/p99, and **the CPU of the whole process tree per
request** (the gateway, its fork server and environments, the ``node`` environments, the identity
provider idling), from ``/proc``. Printed: the medians and the ratios node / python.

    .venv/bin/python bench/node_runtime.py [--rounds 3] [--seconds 5] [--connections 16] [--no-pin]

Targets (issue 13): node ≥ 5,000 req/s on this 2-core machine, and ≤ +150 µs of server CPU per
request over Python.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ALL_CPUS, SERVER_CPU, VENV_PY, WrkSpec, cpu_seconds, free_port, log, running, wrk

PY_HANDLER = """\
def handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": "hello"}
"""
JS_HANDLER = """\
exports.handler = async () => ({ statusCode: 200, headers: { 'content-type': 'text/plain' }, body: 'hello' });
"""
CONFIG = """\
gateway:
  throttling: {rate_limit: 1000000, burst_limit: 1000000}  # past AWS's 10,000 rps account default
functions:
  py:
    handler: app.handler
    code_path: py
  node:
    handler: index.handler
    code_path: node
    runtime: nodejs20.x
apis:
  bench:
    type: HTTP
    base_path: /bench
    routes:
      GET /py: {integration: {type: lambda, function: py}}
      GET /node: {integration: {type: lambda, function: node}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--no-pin", action="store_true", help="let the stack use both CPUs (wrk too)")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="gatehold-bench-node-"))
    (root / "py").mkdir()
    (root / "py" / "app.py").write_text(PY_HANDLER)
    (root / "node").mkdir()
    (root / "node" / "index.js").write_text(JS_HANDLER)
    (root / "gatehold.yaml").write_text(CONFIG)
    port = free_port()
    argv = [
        str(VENV_PY),
        "-m",
        "gatehold",
        "up",
        "-c",
        str(root / "gatehold.yaml"),
        "--gateway-port",
        str(port),
        "--idp-port",
        str(free_port()),
        "--admin-port",
        "0",
        "--no-spa",
        "--no-reload",
        "--data-dir",
        str(root / "data"),
        "--log-level",
        "warning",
    ]
    server_cpus = None if args.no_pin else SERVER_CPU
    wrk_cpus = ALL_CPUS if args.no_pin else "1"
    results: dict[str, list[tuple[float, float, float, float]]] = {"py": [], "node": []}
    with running("gatehold-up", argv, port, cpus=server_cpus, env={"GATEHOLD_ACCESS_LOG": "0"}) as proc:
        time.sleep(1.0)  # the functions' first environments start in the background
        for name in results:
            spec = WrkSpec(url=f"http://127.0.0.1:{port}/bench/{name}")
            wrk(spec, duration=args.warmup, connections=args.connections, cpus=wrk_cpus)
        for round_ in range(args.rounds):
            for name in results:
                spec = WrkSpec(url=f"http://127.0.0.1:{port}/bench/{name}")
                before = cpu_seconds(proc.popen.pid)
                run = wrk(spec, duration=args.seconds, connections=args.connections, cpus=wrk_cpus)
                cpu = cpu_seconds(proc.popen.pid) - before
                if run.errors_non2xx or run.errors_socket:
                    raise SystemExit(
                        f"{name}: {run.errors_non2xx} non-2xx, {run.errors_socket} socket errors"
                    )
                us = cpu * 1e6 / run.requests
                results[name].append((run.rps, run.p50_ms, run.p99_ms, us))
                log(
                    f"round {round_ + 1} {name}: {run.rps:,.0f} req/s,"
                    f" p99 {run.p99_ms:.2f} ms, {us:.0f} µs CPU/req"
                )
    medians = {
        name: [statistics.median(r[i] for r in rows) for i in range(4)] for name, rows in results.items()
    }
    print(f"\n{'handler':8} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'CPU µs/req':>11}")
    for name, (rps, p50, p99, us) in medians.items():
        print(f"{name:8} {rps:>9,.0f} {p50:>8.2f} {p99:>8.2f} {us:>11.1f}")
    py, node = medians["py"], medians["node"]
    print(
        f"\nnode / python: {node[0] / py[0]:.2f}x the req/s, {node[3] / py[3]:.2f}x the CPU per request"
        f" ({node[3] - py[3]:+.1f} µs)"
    )
    print(json.dumps({"medians": medians, "rounds": results}))


if __name__ == "__main__":
    main()
