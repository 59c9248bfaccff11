"""A Python execution environment: one function's worker process (the default isolation).

Started by :class:`gatehold.runtime.python_env.PythonEnvironment` with the function's environment
(process environment + Lambda's variables + the function's own) and two file descriptors:

* ``3``, the *channel*: a Unix stream socket, invocations in, answers out;
* ``4``, the *bell*: the write end of a pipe, one byte to say "answers are waiting";
* ``5``, the *claims*: the read end of a pipe the gateway reads too (below).

It imports the handler once (Lambda's init), then runs invocations one at a time, as an execution
environment does. Frames (both directions) are a 4-byte big-endian length, then the body:

* worker → parent, once after init: ``R`` (ready) or ``E`` + the init error's JSON;
* parent → worker, a *batch*: ``N`` or ``C``, then orjson ``[[request_id, event], …]``, the calls of
  one loop turn; or, when an event's ``body`` is a string of :data:`RAW_BODY_MIN` characters or more,
  ``n`` or ``c``, the JSON's length (4 bytes), the JSON, then those bodies' UTF-8, one after another:
  such a call is ``[request_id, event, n]``, its event's ``body`` ``""`` in the JSON and the next
  ``n`` bytes in fact (put back in the event where it was: the handler sees the same event; only a
  megabyte string is not parsed as JSON);
* worker → parent, one frame per call, in order: ``0`` (success) or ``1`` (Lambda's error), the
  call's duration in microseconds (4 bytes), then the payload's or the error's JSON; and ``S`` when
  it stopped short of the batch's end (its calls were taken back).

*Claims.* With a ``C`` batch the gateway also writes one byte per call on the claims pipe, and the
worker reads one before it starts each call. The gateway may take back the calls not started yet
by reading the bytes that are left (it does when a batch has run :data:`~gatehold.runtime.pool.QUICK_S`
and some call in it turned slow): a pipe gives each byte to exactly one reader, so each call runs
exactly once, here or in another environment. The worker that finds no byte left answers ``S``.

Each answer is written to the channel as soon as its call returns, so that a crash later in the
batch loses nothing already answered; the parent does not watch the channel but the bell, which
rings once at the end of the batch (and early when the batch has run :data:`BELL_AFTER_S`, or
before a write that would block): the parent wakes once per batch, not once per call.

A crash (``os._exit``, a segfault, ``sys.exit``, a signal) ends this process: the parent reads
its exit status (``Runtime.ExitError``), answers the call that was running, and starts a fresh
environment. It is killed with the gateway (``PR_SET_PDEATHSIG``, Linux) and exits when the
channel closes.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import struct
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from gatehold.runtime.context import LambdaContext
from gatehold.runtime.handler import Handler, InitError, add_code_path, call_handler, load_handler

CHANNEL_FD = 3
BELL_FD = 4
CLAIMS_FD = 5
#: an answer waiting longer than this rings the bell before the next call of the batch starts
BELL_AFTER_S = 0.001
_LEN = struct.Struct(">I")
_ANSWER = struct.Struct(">IcI")  # length, tag, the call's duration in microseconds
#: an event's ``body`` this long (characters) goes beside the batch's JSON, as UTF-8
RAW_BODY_MIN = 1 << 16


class Channel:
    """The worker's side of the channel and the bell."""

    def __init__(self, sock: socket.socket, bell_fd: int) -> None:
        self.sock = sock
        self.rfile = sock.makefile("rb", buffering=1 << 16)
        self.bell_fd = bell_fd
        self.waiting = 0  # answers written since the bell last rang

    def read(self) -> bytes | None:
        head = self.rfile.read(4)
        if len(head) < 4:
            return None
        (size,) = _LEN.unpack(head)
        body = self.rfile.read(size)
        return body if len(body) == size else None

    def write(self, tag: bytes, body: bytes, micros: int | None = None) -> None:
        """One frame, written now; if it would block (the parent is not reading: it waits for the
        bell), ring first, then finish it."""
        head = _LEN.pack(len(body) + 1) + tag if micros is None else _ANSWER.pack(len(body) + 5, tag, micros)
        if len(body) < 1 << 16:
            frame = head + body
            try:
                sent = self.sock.send(frame, socket.MSG_DONTWAIT)
            except BlockingIOError:
                sent = 0
            if sent < len(frame):
                self.ring()
                self.sock.sendall(memoryview(frame)[sent:])
        else:  # a large answer: gathered, not copied after its head
            try:
                sent = self.sock.sendmsg([head, body], [], socket.MSG_DONTWAIT)
            except BlockingIOError:
                sent = 0
            if sent < len(head) + len(body):
                self.ring()
                if sent < len(head):
                    self.sock.sendall(head[sent:])
                    sent = len(head)
                self.sock.sendall(memoryview(body)[sent - len(head) :])
        self.waiting += 1

    def ring(self) -> None:
        os.write(self.bell_fd, b"\0")
        self.waiting = 0


class Runtime:
    """The function's handler, loaded once; a failed init runs again on the next invocation."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.handler_name: str = data["handler"]
        self.timeout: float = data["timeout"]
        self.handler: Handler | None = None
        # the context's per-environment fields, as ThreadSandbox computes them
        self.fields = (
            data["name"],
            str(data["memory_size"]),
            data["function_arn"],
            data["log_group_name"],
            data["log_stream_name"],
        )

    def init(self) -> tuple[bytes, bytes]:
        """Lambda's init phase: ``R``, or ``E`` and the error (which every invocation then returns
        until an init succeeds)."""
        try:
            self.handler = load_handler(self.handler_name)
        except InitError as exc:
            return b"E", _json(exc.error)
        return b"R", b""

    def invoke(self, request_id: str, event: Any) -> tuple[bytes, bytes]:
        handler = self.handler
        if handler is None:
            try:
                handler = self.handler = load_handler(self.handler_name)
            except InitError as exc:
                return b"1", _json(exc.error)
        deadline_ms = int(time.time() * 1000 + self.timeout * 1000)
        context = LambdaContext(request_id, *self.fields, deadline_ms)
        payload, error = call_handler(handler, event, context)
        if error is not None:
            return b"1", _json(error)
        assert payload is not None
        return b"0", payload


def _json(error: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(error)
    except TypeError:  # a message orjson refuses (a lone surrogate): json escapes it
        return json.dumps(error).encode()


def _claim(claims_fd: int) -> bool:
    try:
        return bool(os.read(claims_fd, 1))
    except BlockingIOError:
        return False  # the gateway took the rest of the batch back


def _batch(tag: bytes, body: bytes) -> list[Any]:
    """The calls of a batch frame, ``[request_id, event]`` each, large bodies put back."""
    view = memoryview(body)
    if tag == b"N" or tag == b"C":
        return orjson.loads(view[1:])  # type: ignore[no-any-return]
    (size,) = _LEN.unpack_from(body, 1)
    pos = 5 + size
    calls = orjson.loads(view[5:pos])
    for call in calls:
        if len(call) == 3:
            end = pos + call.pop()
            call[1]["body"] = str(view[pos:end], "utf-8")
            pos = end
    return calls  # type: ignore[no-any-return]


def serve(channel: Channel, runtime: Runtime, claims_fd: int) -> None:
    channel.write(*runtime.init())
    channel.ring()
    clock = time.perf_counter
    while True:
        body = channel.read()
        if body is None:
            return  # the gateway closed the channel
        tag = body[:1]
        claimed = tag == b"C" or tag == b"c"
        rang = clock()
        for request_id, event in _batch(tag, body):
            if channel.waiting and clock() - rang > BELL_AFTER_S:
                channel.ring()
                rang = clock()
            if claimed and not _claim(claims_fd):
                channel.write(b"S", b"")
                break
            started = clock()
            tag, answer = runtime.invoke(request_id, event)
            channel.write(tag, answer, min(int((clock() - started) * 1e6), 0xFFFFFFFF))
        channel.ring()


def die_with_parent(parent: int) -> None:
    """Linux: SIGKILL when the parent (the gateway, or its fork server) dies, even mid-invocation
    (``PR_SET_PDEATHSIG``); if it died while this process was starting, exit now."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(0)


def run(data: dict[str, Any]) -> None:
    """The environment's life, on descriptors 3, 4 and 5: init, then invocations until the channel
    closes."""
    for entry in data.get("sys_path", []):
        if entry not in sys.path:
            sys.path.append(entry)
    from gatehold.runtime.stack_time import follow_stack_clock

    follow_stack_clock(os.environ)  # gatehold up --test-clock: before the handler is imported
    code_path = data.get("code_path")
    add_code_path(Path(code_path) if code_path else None)
    sock = socket.socket(fileno=CHANNEL_FD)
    os.set_blocking(CLAIMS_FD, False)
    try:
        serve(Channel(sock, BELL_FD), Runtime(data), CLAIMS_FD)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the gateway went away: nobody is waiting for an answer
    finally:
        sock.close()


def main(argv: list[str]) -> None:
    """A spawned environment (without the fork server): ``python -c <boot> <data JSON>``."""
    data = orjson.loads(argv[1])
    die_with_parent(int(data["parent"]))
    run(data)


if __name__ == "__main__":
    main(sys.argv)
