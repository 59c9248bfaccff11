"""What an execution environment costs to start, and how closely its memory limit holds.

    .venv/bin/python bench/runtime_environments.py cold [--rounds 5]
    .venv/bin/python bench/runtime_environments.py memory [--rounds 5]

``cold``: the example stack's functions (src/gatehold/examples/gatehold.yaml, 8 of them), one
environment each started the way ``gatehold up`` starts them (``build_invoker`` on a running loop
pre-warms), forked from the fork server and, alternately, spawned as new interpreters
(``GATEHOLD_FORKSERVER=0``), each round in a fresh subprocess: time until every environment is
ready, their CPU (``/proc/<pid>/schedstat``), their RSS and PSS (``/proc/<pid>/smaps_rollup``: shared
pages counted once), and how long a crashed environment takes to be replaced (the next invocation's
latency after ``os._exit``).

``memory``: a 128 MB function that allocates 4 GB as fast as it can, in 1 MB pieces and in one piece,
prints the resident memory the pool saw when it killed the environment (the log line), so
the overshoot past 128 MB that the sampling allows (every 20 ms, every 2 ms past half the limit).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _pss_kb(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    match = re.search(r"^Pss:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) if match else 0


def _rss_kb(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except OSError:
        return 0


def _cpu_ms(pid: int) -> float:
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e6
    except OSError:
        return 0.0


async def _cold_once(data_dir: str) -> dict[str, float]:
    from gatehold.config import load_config
    from gatehold.runtime import build_invoker
    from gatehold.runtime.environment import IDLE
    from gatehold.runtime.pool import FunctionPool

    example = ROOT / "src" / "gatehold" / "examples" / "gatehold.yaml"
    variables = {
        "idp_url": "http://localhost:9000",
        "issuer": "http://localhost:9000/",
        "gateway_url": "http://localhost:8000",
        "spa_url": "http://localhost:3000",
        "data_dir": data_dir,
    }
    loaded = load_config(example, variables=variables)
    started = time.perf_counter()
    invoker = build_invoker(loaded)
    pools = [s for s in (invoker.sandbox(n) for n in invoker.specs) if isinstance(s, FunctionPool)]
    while not all(any(e.state == IDLE for e in p.environments) for p in pools):
        await asyncio.sleep(0.001)
    ready_ms = (time.perf_counter() - started) * 1e3
    pids = [e.pid for p in pools for e in p.environments]
    server = getattr(invoker, "_forkserver", None)
    server_pid = server._process.pid if server is not None and server._process is not None else 0
    result = {
        "functions": len(pools),
        "ready_ms": ready_ms,
        "cpu_ms": sum(_cpu_ms(pid) for pid in pids) + (_cpu_ms(server_pid) if server_pid else 0),
        "rss_mb": sum(_rss_kb(pid) for pid in pids) / 1024,
        "pss_mb": (sum(_pss_kb(pid) for pid in pids) + (_pss_kb(server_pid) if server_pid else 0)) / 1024,
    }
    # a crash, then the next invocation: the replacement's start is on its path
    sys.path.insert(0, str(ROOT / "tests" / "runtime" / "handlers"))
    name = next(iter(invoker.specs))
    pool = invoker.sandbox(name)
    assert isinstance(pool, FunctionPool)
    [env] = pool.environments
    env.kill("bench")
    while pool.environments:
        await asyncio.sleep(0.001)
    t = time.perf_counter()
    event = {"version": "2.0", "rawPath": "/", "requestContext": {"http": {"method": "GET"}}, "headers": {}}
    await invoker.invoke(name, event, request_id="after-crash")
    result["replace_ms"] = (time.perf_counter() - t) * 1e3
    await invoker.aclose()
    return result


def _cold(args: argparse.Namespace) -> None:
    if args.one:
        import tempfile

        logging.disable(logging.WARNING)
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(asyncio.run(_cold_once(tmp))))
        return
    runs: dict[str, list[dict[str, float]]] = {"fork server": [], "spawn": []}
    for _ in range(args.rounds):
        for kind in runs:
            env = dict(os.environ, GATEHOLD_FORKSERVER="0" if kind == "spawn" else "1")
            argv = [sys.executable, __file__, "cold", "--one"]
            out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout
            runs[kind].append(json.loads(out.strip().splitlines()[-1]))
    print(f"median of {args.rounds} interleaved rounds, the example stack's functions")
    print(
        f"{'started by':12} {'functions':>9} {'all ready ms':>12} {'CPU ms':>7} {'RSS MB':>7} {'PSS MB':>7}"
        f" {'replace ms':>10}"
    )
    for kind, results in runs.items():
        med = {k: statistics.median(r[k] for r in results) for k in results[0]}
        print(
            f"{kind:12} {med['functions']:>9.0f} {med['ready_ms']:>12.0f} {med['cpu_ms']:>7.0f}"
            f" {med['rss_mb']:>7.0f} {med['pss_mb']:>7.0f} {med['replace_ms']:>10.0f}"
        )


async def _memory_once(pieces: bool) -> float:
    import yaml

    from gatehold.config import LoadedConfig, parse_config
    from gatehold.runtime import build_invoker

    handlers = ROOT / "tests" / "runtime"
    fn = {"handler": "rt_probe.allocate" if pieces else "rt_probe.allocate_at_once", "code_path": "handlers"}
    text = yaml.safe_dump({"functions": {"hog": {**fn, "memory_size": 128, "timeout": 60}}})
    cfg, lines = parse_config(text, file=str(handlers / "gatehold.yaml"))
    invoker = build_invoker(LoadedConfig(config=cfg, path=handlers / "gatehold.yaml", lines=lines))
    seen: list[float] = []

    class Grab(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            match = re.search(r"uses (\d+) MB", record.getMessage())
            if match:
                seen.append(float(match.group(1)))

    logging.getLogger("gatehold.lambda").addHandler(Grab())
    result = await invoker.invoke("hog", {"mb": 4096}, request_id="hog")
    assert result.error is not None, result
    assert result.error["errorType"] == "Runtime.OutOfMemory", result
    await invoker.aclose()
    return seen[0]


def _memory(args: argparse.Namespace) -> None:
    logging.getLogger("gatehold.lambda").setLevel(logging.WARNING)
    logging.getLogger("gatehold.lambda").propagate = False
    for pieces, label in ((True, "1 MB pieces (a Python loop)"), (False, "one 4 GB bytes object")):
        seen = [asyncio.run(_memory_once(pieces)) for _ in range(args.rounds)]
        spread = f"(min {min(seen):.0f}, max {max(seen):.0f})"
        print(f"{label:30} killed at RSS {statistics.median(seen):.0f} MB {spread} of 128")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["cold", "memory"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    (_cold if args.what == "cold" else _memory)(args)


if __name__ == "__main__":
    main()
