"""The hostile suite's Lambda functions (tests/hostile/hostile.yaml)."""

from __future__ import annotations

import base64
import time
from typing import Any


def size(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The number of body bytes the function received."""
    body = event.get("body") or ""
    received = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    return {"statusCode": 200, "headers": {"Content-Type": "text/plain"}, "body": str(len(received))}


def blob(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``?bytes=N``: a text body of N bytes."""
    count = int((event.get("queryStringParameters") or {}).get("bytes", "0"))
    return {"statusCode": 200, "headers": {"Content-Type": "text/plain"}, "body": "x" * count}


def slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``?s=SECONDS``: answers ``finished`` after that long."""
    time.sleep(float((event.get("queryStringParameters") or {}).get("s", "1")))
    return {"statusCode": 200, "headers": {"Content-Type": "text/plain"}, "body": "finished"}
