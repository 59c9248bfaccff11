"""The Python execution environment: a worker process (:mod:`gatehold.runtime.worker`) and its
framed protocol, seen from the gateway.

* **submit**: the batch is one frame (``orjson [[request_id, event], …]``) written on the channel,
  non-blocking (the rest follows when the socket drains): one wake-up of the worker per batch. A
  batch of several calls also puts one claim byte per call on the claims pipe, so that
  :meth:`~PythonEnvironment.take_back` can have the calls not started yet back (worker.py).
* **answers**: the worker writes each answer when its call returns and rings the bell once for the
  batch; the bell's pipe is what the event loop watches, so the gateway wakes once per batch
  however many calls it held. The channel itself is watched only while a frame is half read.
* **exit**: the fork server reports it (or, for a spawned worker, its pidfd becomes readable); the
  answers already written are delivered first, then ``exited`` with the exit status.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import struct
from typing import TYPE_CHECKING, Any, Final

import orjson

from gatehold.runtime import environ
from gatehold.runtime.context import new_log_stream_name
from gatehold.runtime.environment import (
    BUSY,
    DEAD,
    IDLE,
    STARTING,
    Call,
    Environment,
    Launcher,
    PoolEvents,
    Process,
    worker_argv,
)
from gatehold.runtime.worker import BELL_FD, CHANNEL_FD, CLAIMS_FD, RAW_BODY_MIN

if TYPE_CHECKING:
    from gatehold.runtime.context import FunctionSpec
    from gatehold.runtime.forkserver import ForkServer

log = logging.getLogger("gatehold.lambda")

_LEN: Final = struct.Struct(">I")
_MICROS: Final = struct.Struct(">I")
_READ: Final = 1 << 16
_SOCKET_BUFFER: Final = 2 << 20


class PythonEnvironment(Environment):
    """A worker process running one Python function."""

    def __init__(
        self,
        spec: FunctionSpec,
        events: PoolEvents,
        loop: asyncio.AbstractEventLoop,
        generation: int,
        sys_path: list[str],
        forkserver: ForkServer | None,
    ) -> None:
        super().__init__(spec, events, loop, generation)
        self.log_stream_name = new_log_stream_name()
        self._buf = bytearray()  # a frame not whole yet
        self._out: list[memoryview] | None = None  # what the socket did not take of a batch frame
        self._reading = False  # the channel is watched (a frame is half read)
        self._closing = False
        env = environ.process_environ() | spec.lambda_environment(self.log_stream_name)
        data = {
            "name": spec.name,
            "handler": spec.handler,
            "code_path": str(spec.code_path) if spec.code_path else None,
            "timeout": spec.timeout,
            "memory_size": spec.memory_size,
            "function_arn": spec.function_arn,
            "log_group_name": spec.log_group_name,
            "log_stream_name": self.log_stream_name,
            "sys_path": sys_path,
            "parent": os.getpid(),
        }
        ours, theirs = socket.socketpair()
        for end in (ours, theirs):  # a large event or answer in one write, not a wake-up per 200 KB
            with contextlib.suppress(OSError):
                end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _SOCKET_BUFFER)
        bell_r, bell_w = os.pipe()
        claims_r, claims_w = os.pipe()
        try:
            if forkserver is not None:
                self.process = forkserver.spawn(data, env, [theirs.fileno(), bell_w, claims_r], self.ended)
            else:
                self.process = spawned = Process(
                    worker_argv("gatehold.runtime.worker", orjson.dumps(data).decode()),
                    env,
                    {CHANNEL_FD: theirs.fileno(), BELL_FD: bell_w, CLAIMS_FD: claims_r},
                )
                self.watch(spawned)
        except BaseException:
            ours.close()
            for fd in (bell_r, claims_r, claims_w):
                os.close(fd)
            raise
        finally:
            theirs.close()
            os.close(bell_w)
        ours.setblocking(False)
        os.set_blocking(bell_r, False)
        os.set_blocking(claims_r, False)
        self._sock = ours
        self._bell = bell_r
        self._claims_r, self._claims_w = claims_r, claims_w
        self._stopping = False  # calls were taken back: the batch ends with the worker's "S"
        loop.add_reader(bell_r, self._on_bell)

    # -- the pool's side ---------------------------------------------------------------------------

    def submit(self, calls: list[Call]) -> None:
        items: list[list[Any]] = []
        raw: list[bytes] = []  # large text bodies, beside the JSON (worker.py: "bodies")
        for call in calls:
            event = call.event
            body = event.get("body") if type(event) is dict else None
            if type(body) is str and len(body) >= RAW_BODY_MIN:
                try:
                    data = body.encode()
                except UnicodeEncodeError:  # a lone surrogate: the JSON carries it as before
                    items.append([call.request_id, event])
                    continue
                items.append([call.request_id, {**event, "body": ""}, len(data)])
                raw.append(data)
            else:
                items.append([call.request_id, event])
        body_json = orjson.dumps(items)
        self.batch = calls
        self.batch_size = len(calls)
        self.ran_s = 0.0
        self.answered = 0
        self.state = BUSY
        self.submitted = self.progress = self.loop.time()
        tag = b"C" if len(calls) > 1 else b"N"
        if len(calls) > 1:
            os.write(self._claims_w, b"\0" * len(calls))
        if raw:
            size = 5 + len(body_json) + sum(len(r) for r in raw)
            parts = [_LEN.pack(size) + tag.lower() + _LEN.pack(len(body_json)), body_json, *raw]
        else:
            parts = [_LEN.pack(len(body_json) + 1) + tag, body_json]
        self._out = [memoryview(part) for part in parts]
        if not self._write():
            self.loop.add_writer(self._sock, self._on_writable)

    def collect(self) -> None:
        """Deliver every whole frame the channel holds, without waiting; watch the channel while a
        frame is half read."""
        sock, buf = self._sock, self._buf
        while True:
            try:
                chunk = sock.recv(_READ)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
        pos, end = 0, len(buf)
        view = memoryview(buf)
        try:
            while end - pos >= 4:
                (size,) = _LEN.unpack_from(buf, pos)
                if end - pos - 4 < size:
                    break
                start = pos + 4
                pos = start + size
                tag = buf[start]
                if tag == 0x30 or tag == 0x31:  # "0" / "1": an answer
                    (micros,) = _MICROS.unpack_from(buf, start + 1)
                    self._answer(tag, micros, bytes(view[start + 5 : pos]))
                else:
                    self._frame(tag, bytes(view[start + 1 : pos]))
        finally:
            view.release()
        if pos:
            del buf[:pos]
        half = bool(buf)
        if half != self._reading and self.state != DEAD:
            self._reading = half
            if half:
                self.loop.add_reader(sock, self.collect)
            else:
                self.loop.remove_reader(sock)

    def take_back(self) -> list[Call]:
        """The calls of the batch not started yet, now the pool's to run elsewhere (their claim bytes
        read back: the worker will not start them)."""
        if self.state != BUSY or self.batch_size < 2:
            return []
        try:
            count = len(os.read(self._claims_r, self.batch_size))
        except (BlockingIOError, InterruptedError):
            return []
        if not count:
            return []
        kept = len(self.batch) - count
        taken = self.batch[kept:]
        self.batch = self.batch[:kept]
        self._stopping = True
        return taken

    def close(self) -> None:
        """The worker exits when its channel closes, after the batch in flight."""
        self._closing = True
        if self.state in (IDLE, STARTING) or not self.batch or self.answered >= len(self.batch):
            self._shut_channel()

    # -- the worker's side ---------------------------------------------------------------------------

    def _frame(self, tag: int, body: bytes) -> None:
        """The ready frame (``R``/``E``) or the end of a batch whose rest was taken back (``S``)."""
        if self.state == STARTING:
            self.state = IDLE
            self.events.ready(self, orjson.loads(body) if tag == 0x45 else None)  # "E"
            return
        if tag == 0x53:  # "S"
            self._stopping = False
            self._end_of_answers()

    def _answer(self, tag: int, micros: int, answer: bytes) -> None:
        call = self.batch[self.answered]
        self.answered += 1
        self.progress = self.loop.time()
        self.ran_s += micros / 1e6
        self.events.answered(self, call, (answer, None) if tag == 0x30 else (None, orjson.loads(answer)))
        self._end_of_answers()

    def _end_of_answers(self) -> None:
        if self.answered == len(self.batch) and self.state == BUSY and not self._stopping:
            self.batch = []  # (answered stays: how many calls the batch ran)
            self.state = IDLE
            if self._closing:
                self._shut_channel()
            self.events.drained(self)

    def _on_bell(self) -> None:
        try:
            os.read(self._bell, 4096)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            return
        self.collect()

    def _write(self) -> bool:
        """Write what is left of the batch frame, its parts gathered (no copy of a large event);
        True when nothing is left."""
        out = self._out
        if out is None:
            return True
        try:
            sent = self._sock.sendmsg(out)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:  # the worker is gone: its exit reports it
            self._out = None
            return True
        while out and sent >= len(out[0]):
            sent -= len(out.pop(0))
        if out:
            out[0] = out[0][sent:]
            return False
        self._out = None
        return True

    def _on_writable(self) -> None:
        if self._write():
            self.loop.remove_writer(self._sock)

    def _shut_channel(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_WR)

    def unwatch(self) -> None:
        loop = self.loop
        loop.remove_reader(self._bell)
        if self._reading:
            loop.remove_reader(self._sock)
        if self._out is not None:
            loop.remove_writer(self._sock)

    def close_descriptors(self) -> None:
        self._sock.close()
        for fd in (self._bell, self._claims_r, self._claims_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        super().close_descriptors()


def launch(sys_path: list[str], forkserver: ForkServer | None) -> Launcher:
    """The :data:`~gatehold.runtime.environment.Launcher` of Python functions (``sys_path``: the
    gateway's own, without the code directories in-process isolation added; ``forkserver``: where
    environments are forked from, else each is spawned)."""

    def start(
        spec: FunctionSpec, events: PoolEvents, loop: asyncio.AbstractEventLoop, generation: int
    ) -> Environment:
        return PythonEnvironment(spec, events, loop, generation, sys_path, forkserver)

    return start
