"""The trivial handler bench/runtime_bench.py invokes."""

from typing import Any


def handler(event: Any, context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": "ok"}
