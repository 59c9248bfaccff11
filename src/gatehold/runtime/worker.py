"""A worker process: one function's Lambda execution environment (process isolation).

Started by :mod:`gatehold.runtime.processes` as ``python -m gatehold.runtime.worker FD SPEC_JSON``
with the function's environment (process env + Lambda's variables + the function's own). It imports
the handler once, then serves invocations one at a time over the socket ``FD``.

Wire protocol (both directions): a 4-byte big-endian length, then the body.

* worker → parent, once after init: ``b"R"`` (ready) or ``b"E" + error JSON`` (init error);
* parent → worker: ``orjson [request_id, deadline_ms, event]``;
* worker → parent: ``b"0" + payload JSON`` or ``b"1" + Lambda error JSON``.

The worker exits when the socket closes (the parent went away) and, on Linux, is killed with the
gateway even mid-invocation (``PR_SET_PDEATHSIG``), so it never outlives it.
"""

from __future__ import annotations

import ctypes
import json
import signal
import socket
import struct
import sys
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from gatehold.runtime.context import FunctionSpec, LambdaContext
from gatehold.runtime.handler import Handler, InitError, add_code_path, call_handler, load_handler

_LEN = struct.Struct(">I")


def read_frame(stream: BinaryIO) -> bytes | None:
    head = stream.read(4)
    if len(head) < 4:
        return None
    (size,) = _LEN.unpack(head)
    body = stream.read(size)
    return body if len(body) == size else None


def write_frame(stream: BinaryIO, body: bytes) -> None:
    stream.write(_LEN.pack(len(body)) + body)
    stream.flush()


def spec_from_json(data: dict[str, Any]) -> FunctionSpec:
    code_path = data.get("code_path")
    return FunctionSpec(
        name=data["name"],
        handler=data["handler"],
        code_path=Path(code_path) if code_path else None,
        timeout=data["timeout"],
        memory_size=data["memory_size"],
        environment={},
        isolation="process",
        concurrency=None,
        region=data["region"],
        account_id=data["account_id"],
        runtime=data["runtime"],
    )


def serve(sock: socket.socket, spec: FunctionSpec, log_stream_name: str) -> None:
    stream: BinaryIO = sock.makefile("rwb")  # type: ignore[assignment]
    add_code_path(spec.code_path)
    handler: Handler | None = None
    try:
        handler = load_handler(spec.handler)
    except InitError as exc:
        write_frame(stream, b"E" + orjson.dumps(exc.error))
    else:
        write_frame(stream, b"R")
    while True:
        frame = read_frame(stream)
        if frame is None:
            return
        request_id, deadline_ms, event = orjson.loads(frame)
        if handler is None:
            # Lambda runs a failed init again on the next invocation
            try:
                handler = load_handler(spec.handler)
            except InitError as exc:
                write_frame(stream, b"1" + orjson.dumps(exc.error))
                continue
        context = LambdaContext.for_invocation(spec, request_id, log_stream_name, deadline_ms)
        payload, error = call_handler(handler, event, context)
        if error is not None:
            write_frame(stream, b"1" + json.dumps(error).encode())
        else:
            assert payload is not None
            write_frame(stream, b"0" + payload.encode())


def _die_with_parent() -> None:
    """Linux: get SIGKILL when the gateway dies, even mid-invocation (``PR_SET_PDEATHSIG``)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def main(argv: list[str]) -> None:
    _die_with_parent()
    fd = int(argv[1])
    data = orjson.loads(argv[2])
    for entry in data.get("sys_path", []):
        if entry not in sys.path:
            sys.path.append(entry)
    sock = socket.socket(fileno=fd)
    try:
        serve(sock, spec_from_json(data), data["log_stream_name"])
    finally:
        sock.close()


if __name__ == "__main__":
    main(sys.argv)
