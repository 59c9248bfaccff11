"""Handlers behind the gateway in tests/runtime/test_over_http.py: proxy events in, proxy results out;
the query string says how long or how much."""

from __future__ import annotations

import ctypes
import os
import time
from typing import Any


def _query(event: Any, name: str, default: str) -> str:
    return str((event.get("queryStringParameters") or {}).get(name, default))


def ok(event: Any, context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": str(os.getpid())}


def crash(event: Any, context: Any) -> None:
    os._exit(1)


def stuck(event: Any, context: Any) -> None:
    ctypes.PyDLL(None).sleep(int(_query(event, "seconds", "60")))  # C code holding the GIL


def hog(event: Any, context: Any) -> dict[str, Any]:
    kept = [bytearray(b"x" * (1 << 20)) for _ in range(int(_query(event, "mb", "1")))]
    return {"statusCode": 200, "body": str(len(kept))}


def nap(event: Any, context: Any) -> dict[str, Any]:
    time.sleep(float(_query(event, "seconds", "0")))
    return {"statusCode": 200, "body": "rested"}


def large(event: Any, context: Any) -> dict[str, Any]:
    """A proxy result whose body is ``kb`` KiB (Lambda's synchronous response limit is 6 MB)."""
    return {"statusCode": 200, "body": "x" * (int(_query(event, "kb", "1")) << 10)}
