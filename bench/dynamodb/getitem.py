"""The bench's Python handler: ``n`` GetItem calls through boto3 (as a handler makes them, the
endpoint from ``AWS_ENDPOINT_URL_DYNAMODB``), each timed: ``{"wall": [µs …], "cpu": [µs …]}``, sorted
(``cpu``: this thread's CPU time in the call, what the SDK itself costs)."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3

table = boto3.resource("dynamodb").Table("Bench")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    n = int((event.get("queryStringParameters") or {}).get("n", "1000"))
    wall, cpu = [], []
    for _ in range(n):
        started, started_cpu = time.perf_counter(), time.thread_time()
        item = table.get_item(Key={"id": "k"})["Item"]
        cpu.append((time.thread_time() - started_cpu) * 1e6)
        wall.append((time.perf_counter() - started) * 1e6)
    assert item["id"] == "k"
    return {"statusCode": 200, "body": json.dumps({"wall": sorted(wall), "cpu": sorted(cpu)})}
