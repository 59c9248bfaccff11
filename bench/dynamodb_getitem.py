"""GetItem latency on loopback: from a Python handler of ``gatehold up`` (boto3, the endpoint from
the environment gatehold gives every function) against the engine's own latency measured in the
same run (one keep-alive HTTP connection sending a prepared GetItem: no SDK, no signing), and boto3
in the bench's own process (no gateway, no handler).

    .venv/bin/python bench/dynamodb_getitem.py [--calls 2000] [--rounds 3]

Rounds alternate them, so that a busy neighbour on the shared machine weighs on all; each prints
p50 / p90 / p99, and the summary the medians of the rounds' p50s and their ratio. The machine is
shared, so CPU is counted too: the handler thread's CPU time per call (boto3's own work) and the
engine process's CPU time per request (/proc), whose sum is what a call costs when nothing else
runs. The target (issue 13): a GetItem from a Python handler ≤ 1 ms p50.
Results: bench/results/dynamodb_getitem.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import boto3
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.stackctl import new_stack

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "dynamodb" / "gatehold.yaml"
RESULTS = HERE / "results" / "dynamodb_getitem.json"
GET_ITEM = json.dumps({"TableName": "Bench", "Key": {"id": {"S": "k"}}}).encode()
HEADERS = {
    "Content-Type": "application/x-amz-json-1.0",
    "X-Amz-Target": "DynamoDB_20120810.GetItem",
    "X-Amz-Date": "20240101T000000Z",
    "Authorization": "AWS4-HMAC-SHA256 Credential=local/20240101/us-east-1/dynamodb/aws4_request,"
    " SignedHeaders=host;x-amz-date, Signature=0",
}


def percentiles(timings: list[float]) -> dict[str, float]:
    timings = sorted(timings)
    return {
        p: round(timings[int(len(timings) * q)], 1) for p, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))
    }


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (/proc/PID/stat), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def engine_pid(root: int) -> int:
    """The engine's node process under the stack's supervisor ``root``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if b"serve.cjs" not in (entry / "cmdline").read_bytes():
                continue
            pid = int(entry.name)
            while pid > 1 and pid != root:
                pid = _parent(pid)
        except OSError:
            continue
        if pid == root:
            return int(entry.name)
    raise RuntimeError("no engine process found under the stack")


def raw(endpoint: str, calls: int) -> list[float]:
    host, port = endpoint.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port))
    timings = []
    for i in range(calls + calls // 10):
        started = time.perf_counter()
        conn.request("POST", "/", GET_ITEM, HEADERS)
        response = conn.getresponse()
        body = response.read()
        if i >= calls // 10:  # the first tenth warms the connection and the engine
            timings.append((time.perf_counter() - started) * 1e6)
    assert response.status == 200, body
    assert b'"k"' in body, body
    conn.close()
    return timings


def sdk_alone(endpoint: str, calls: int) -> list[float]:
    """boto3 in this process (no gateway, no handler): what the SDK itself costs."""
    table = boto3.resource(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    ).Table("Bench")
    timings = []
    for i in range(calls + calls // 10):
        started = time.perf_counter()
        table.get_item(Key={"id": "k"})
        if i >= calls // 10:
            timings.append((time.perf_counter() - started) * 1e6)
    return timings


def from_handler(gateway: str, calls: int) -> dict[str, list[float]]:
    """``{"wall": …, "cpu": …}`` of ``calls`` GetItems made by the handler (its environment is warm
    and its client reused, so no call is set apart)."""
    timings: dict[str, list[float]] = httpx.get(
        f"{gateway}/bench/getitem", params={"n": calls}, timeout=300
    ).json()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    stack = new_stack(Path(tempfile.mkdtemp(prefix="gatehold-bench-dynamodb-")), CONFIG, ["--no-spa"])
    stack.start(timeout=120)
    rounds = []
    try:
        boto3.client(
            "dynamodb",
            endpoint_url=stack.dynamodb_url,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        ).put_item(TableName="Bench", Item={"id": {"S": "k"}, "payload": {"S": "x" * 200}})
        from_handler(stack.gateway_url, 200)  # the function's environment started, boto3 imported
        assert stack.proc is not None
        engine_proc = engine_pid(stack.proc.pid)
        for n in range(args.rounds):
            before = cpu_seconds(engine_proc)
            measured = from_handler(stack.gateway_url, args.calls)
            engine_cpu = (cpu_seconds(engine_proc) - before) / args.calls * 1e6
            handler, handler_cpu = percentiles(measured["wall"]), percentiles(measured["cpu"])
            engine = percentiles(raw(stack.dynamodb_url, args.calls))
            sdk = percentiles(sdk_alone(stack.dynamodb_url, args.calls))
            rounds.append(
                {
                    "handler": handler,
                    "handler_cpu": handler_cpu,
                    "engine_cpu_per_request_us": round(engine_cpu, 1),
                    "engine": engine,
                    "boto3_in_bench": sdk,
                }
            )
            print(
                f"round {n + 1}: from a handler {handler} µs (its CPU {handler_cpu} µs, the engine's"
                f" {engine_cpu:.0f} µs a request); boto3 in this process {sdk} µs; the engine alone"
                f" {engine} µs",
                flush=True,
            )
    finally:
        stack.stop()
    handler_p50 = statistics.median(r["handler"]["p50"] for r in rounds)
    engine_p50 = statistics.median(r["engine"]["p50"] for r in rounds)
    sdk_p50 = statistics.median(r["boto3_in_bench"]["p50"] for r in rounds)
    cpu_p50 = statistics.median(r["handler_cpu"]["p50"] + r["engine_cpu_per_request_us"] for r in rounds)
    summary = {
        "calls_per_round": args.calls,
        "rounds": rounds,
        "handler_p50_us": handler_p50,
        "engine_p50_us": engine_p50,
        "boto3_in_bench_p50_us": sdk_p50,
        "handler_plus_engine_cpu_p50_us": round(cpu_p50, 1),
        "ratio_handler_to_engine": round(handler_p50 / engine_p50, 2),
        "target_handler_p50_us": 1000,
        "met": handler_p50 <= 1000,
        "load_average_1min": os.getloadavg()[0],
        "when": time.strftime("%Y-%m-%d %H:%MZ", time.gmtime()),
    }
    RESULTS.write_text(json.dumps(summary, indent=2) + "\n")
    verdict = "met" if summary["met"] else "NOT met"
    print(
        f"GetItem p50: from a Python handler {handler_p50:.0f} µs, boto3 in this process {sdk_p50:.0f} µs,"
        f" the engine alone {engine_p50:.0f} µs (handler / engine {summary['ratio_handler_to_engine']});"
        f" target ≤ 1000 µs: {verdict}. CPU of a call, handler + engine: {cpu_p50:.0f} µs"
    )


if __name__ == "__main__":
    main()
