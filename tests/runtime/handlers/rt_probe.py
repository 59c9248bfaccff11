"""Handlers the runtime tests invoke (imported by the runtime from this directory, like a Lambda zip)."""

from __future__ import annotations

import ctypes
import os
import threading
import time
from typing import Any

INVOCATIONS = 0


def counter(event: Any, context: Any) -> dict[str, int]:
    global INVOCATIONS
    INVOCATIONS += 1
    return {"count": INVOCATIONS, "pid": os.getpid()}


def context_fields(event: Any, context: Any) -> dict[str, Any]:
    return {
        "aws_request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "invoked_function_arn": context.invoked_function_arn,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "identity": [context.identity.cognito_identity_id, context.identity.cognito_identity_pool_id],
        "client_context": context.client_context,
    }


def read_env(event: Any, context: Any) -> dict[str, Any]:
    return {key: [os.environ.get(key), os.getenv(key), key in os.environ] for key in event["keys"]}


def write_env(event: Any, context: Any) -> str:
    os.environ[event["key"]] = event["value"]
    return os.environ[event["key"]]


def boom(event: Any, context: Any) -> None:
    raise ValueError("the unicorn is missing")


def sleep(event: Any, context: Any) -> dict[str, float]:
    time.sleep(event["seconds"])
    return {"slept": event["seconds"]}


def exit_now(event: Any, context: Any) -> None:
    os._exit(event.get("code", 1))


def segfault(event: Any, context: Any) -> None:
    ctypes.string_at(0)


def not_serialisable(event: Any, context: Any) -> dict[str, Any]:
    return {"tags": {"a"}}


def echo(event: Any, context: Any) -> Any:
    return event


def mutate(event: Any, context: Any) -> str:
    event["mutated"] = True
    return "ok"


def sleep_or_exit(event: Any, context: Any) -> dict[str, float]:
    if event.get("exit"):
        os._exit(1)
    return sleep(event, context)


def whoami(event: Any, context: Any) -> dict[str, Any]:
    """The caller's marker, the invocation's request id and the function's environment, as seen here."""
    event["seen"] = True  # the caller's object must not change
    return {"n": event["n"], "request_id": context.aws_request_id, "table": os.environ.get("TABLE")}


_RUNNING: dict[str, list[int]] = {}  # per event["key"]: [running now, most at once]
_RUNNING_LOCK = threading.Lock()


def overlap(event: Any, context: Any) -> int:
    """Sleeps ``seconds``; returns how many invocations with this ``key`` ran at once, at most, so far."""
    with _RUNNING_LOCK:
        running = _RUNNING.setdefault(event["key"], [0, 0])
        running[0] += 1
        running[1] = max(running)
    time.sleep(event["seconds"])
    with _RUNNING_LOCK:
        running[0] -= 1
        return running[1]


def spin(event: Any, context: Any) -> dict[str, Any]:
    """Computes (holding the GIL) for ``seconds``: quick, but a batch of many adds up."""
    until = time.perf_counter() + event["seconds"]
    while time.perf_counter() < until:
        pass
    return {"n": event["n"], "request_id": context.aws_request_id}


def sys_exit(event: Any, context: Any) -> None:
    import sys

    sys.exit(event.get("code"))


def kill_self(event: Any, context: Any) -> None:
    """An uncaught signal: the process ends the way the signal's default action ends it."""
    import signal

    os.kill(os.getpid(), getattr(signal, event["signal"]))
    time.sleep(5)


def hold_gil(event: Any, context: Any) -> None:
    """C code that never releases the GIL: libc's sleep called through ctypes.PyDLL."""
    ctypes.PyDLL(None).sleep(event.get("seconds", 60))


def allocate(event: Any, context: Any) -> int:
    """Touches ``mb`` megabytes, one at a time (a memory blow-up, as a leak or a big load makes it)."""
    kept = []
    for _ in range(event["mb"]):
        kept.append(bytearray(b"x" * (1 << 20)))
    return len(kept)


def big_result(event: Any, context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": "x" * event["bytes"]}


def event_size(event: Any, context: Any) -> int:
    return len(event["body"])


def mark(event: Any, context: Any) -> str:
    """Sleeps ``seconds``, then leaves a file named by the request id in ``dir`` (so a test can tell
    which invocations ran)."""
    from pathlib import Path

    time.sleep(event["seconds"])
    request_id: str = context.aws_request_id
    (Path(event["dir"]) / request_id).touch()
    return request_id


def allocate_at_once(event: Any, context: Any) -> int:
    """One object of ``mb`` megabytes, written whole (a big download or a file read into memory)."""
    return len(b"x" * (event["mb"] << 20))
