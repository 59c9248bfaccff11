"""The bench's Python handler: ``n`` GetItem calls through boto3 (as a handler makes them, the
endpoint from ``AWS_ENDPOINT_URL_DYNAMODB``), each timed; the latencies in µs, sorted."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3

table = boto3.resource("dynamodb").Table("Bench")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    n = int((event.get("queryStringParameters") or {}).get("n", "1000"))
    timings = []
    for _ in range(n):
        started = time.perf_counter()
        item = table.get_item(Key={"id": "k"})["Item"]
        timings.append((time.perf_counter() - started) * 1e6)
    assert item["id"] == "k"
    return {"statusCode": 200, "body": json.dumps(sorted(timings))}
