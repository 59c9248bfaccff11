"""What the HTTP/1.1 server's hardening costs: the gateway's own server now, the same server before
issue 12 (a git revision), and uvicorn (httptools, uvloop) serving the same GatewayApp.

    .venv/bin/python bench/http1_hardening.py [--before REV] [--rounds 3] [--seconds 5]

Every server serves the gateway of tests/hostile/hostile.yaml in a process of its own, pinned to
CPU 0; ``wrk -t1 -c50`` runs pinned to CPU 1, one load per server per round, rounds interleaved
(a neighbour's noise lands on all of them alike). Two loads: ``GET /rest/test/fixed`` (a mock
integration: the server and the pipeline, no Lambda) and ``POST /rest/test/sink`` with a 64 KB
body (read whole by the server, answered 204 by a mock integration). Reported: median req/s and
median server CPU µs per request (user + system of the server's process tree, from /proc, around
each wrk run), and each ratio to uvicorn. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TICKS = os.sysconf("SC_CLK_TCK")
LOADS = {
    "mock GET": ("GET", "/rest/test/fixed", 0),
    "mock POST 64 KB": ("POST", "/rest/test/sink", 65536),
}


def _cpu_seconds(pid: int) -> float:
    """User + system time of ``pid`` and its children that are still running."""
    total = 0.0
    pids = [pid]
    with contextlib.suppress(OSError):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    for p in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


def serve(kind: str, old_module: str | None) -> None:
    """``serve KIND``: the hostile suite's gateway on a free port; prints ``PORT n``."""
    import asyncio
    import logging
    import socket

    logging.basicConfig(level=logging.WARNING)
    from gatehold.config import load_config
    from gatehold.gateway.app import GatewayApp
    from gatehold.runtime import build_invoker
    from gatehold.server import run

    async def main() -> None:
        loaded = load_config(ROOT / "tests" / "hostile" / "hostile.yaml")
        app = GatewayApp(loaded, build_invoker(loaded))
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(4096)
        sock.setblocking(False)
        server: Any
        if kind == "uvicorn":
            import uvicorn

            from gatehold.gateway.http_protocol import CasePreservingHttpToolsProtocol

            config = uvicorn.Config(
                app,
                lifespan="off",
                log_level="warning",
                access_log=False,
                http=CasePreservingHttpToolsProtocol,
                loop="none",
                proxy_headers=False,
            )
            server = uvicorn.Server(config)
        else:
            module: Any
            if kind == "before":
                assert old_module is not None
                spec = importlib.util.spec_from_file_location("http1_before", old_module)
                assert spec is not None
                assert spec.loader is not None
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
            else:
                import gatehold.gateway.http1 as module
            server = module.GatewayHttpServer(app)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, lambda: setattr(server, "should_exit", True))

        async def announce() -> None:
            while not server.started:
                await asyncio.sleep(0.01)
            print(f"PORT {sock.getsockname()[1]}", flush=True)

        task = asyncio.create_task(announce())
        await server.serve(sockets=[sock])
        task.cancel()

    run(main())


def wrk(port: int, load: str, seconds: float, scripts: Path) -> tuple[float, int]:
    method, path, size = LOADS[load]
    args = ["taskset", "-c", "1", "wrk", "-t1", "-c50", f"-d{int(seconds)}s", "--latency"]
    if method == "POST":
        script = scripts / f"post{size}.lua"
        script.write_text(
            f'wrk.method = "POST"\nwrk.body = string.rep("x", {size})\n'
            'wrk.headers["Content-Type"] = "text/plain"\n'
        )
        args += ["-s", str(script)]
    done = subprocess.run([*args, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True)
    out = done.stdout
    rate_line = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total_line = re.search(r"(\d+) requests in", out)
    if rate_line is None or total_line is None:
        raise SystemExit(f"{load} on port {port}: wrk said {out!r} {done.stderr!r}")
    rate, total = float(rate_line.group(1)), int(total_line.group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        raise SystemExit(f"{load} on port {port}: {bad.group(1)} non-2xx responses")
    return rate, total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--before", default="dd795d3~1", help="git revision (or file) of the server before")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--loads", default=",".join(LOADS), help="comma-separated load names")
    args = parser.parse_args()
    loads = args.loads.split(",")
    loads = args.loads.split(",")
    scratch = Path(tempfile.mkdtemp(prefix="gatehold-http1-bench-"))
    old = scratch / "http1_before.py"
    if Path(args.before).is_file():  # a file (a variant being tried) rather than a revision
        old.write_text(Path(args.before).read_text())
    else:
        old.write_text(
            subprocess.run(
                ["git", "show", f"{args.before}:src/gatehold/gateway/http1.py"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
    kinds = ["now", "before", "uvicorn"]
    procs: dict[str, subprocess.Popen[str]] = {}
    ports: dict[str, int] = {}
    try:
        for kind in kinds:
            proc = subprocess.Popen(
                ["taskset", "-c", "0", sys.executable, __file__, "serve", kind, str(old)],
                stdout=subprocess.PIPE,
                text=True,
                cwd=ROOT,
            )
            assert proc.stdout is not None
            ports[kind] = int(proc.stdout.readline().split()[1])
            procs[kind] = proc
        samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for kind in kinds:  # warm-up
            for load in loads:
                wrk(ports[kind], load, 1, scratch)
        for _ in range(args.rounds):
            for load in loads:
                for kind in kinds:
                    before = _cpu_seconds(procs[kind].pid)
                    rate, total = wrk(ports[kind], load, args.seconds, scratch)
                    cpu_us = (_cpu_seconds(procs[kind].pid) - before) / total * 1e6
                    samples.setdefault((load, kind), []).append((rate, cpu_us))
        print(f"load average: {os.getloadavg()}")
        print("| load | server | req/s (median) | CPU µs/req (median) | CPU vs uvicorn | runs (req/s) |")
        print("|---|---|---:|---:|---:|---|")
        result: dict[str, Any] = {}
        for load in loads:
            base = statistics.median(c for _, c in samples[(load, "uvicorn")])
            for kind in kinds:
                runs = samples[(load, kind)]
                rate = statistics.median(r for r, _ in runs)
                cpu = statistics.median(c for _, c in runs)
                result[f"{load} / {kind}"] = {"rps": round(rate), "cpu_us": round(cpu, 1)}
                rates = ", ".join(f"{r:,.0f}" for r, _ in runs)
                print(f"| {load} | {kind} | {rate:,.0f} | {cpu:.1f} | {cpu / base:.2f} | {rates} |")
        print(json.dumps(result))
    finally:
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    else:
        main()
