"""AWS's Lambda Runtime API, served by the gateway to one execution environment: the adapter any
language's runtime interface client plugs into (:class:`RuntimeApiEnvironment`).

Each environment gets a listening socket of its own on loopback, named to its process as
``AWS_LAMBDA_RUNTIME_API=127.0.0.1:<port>`` (what any runtime interface client connects to), and
one end of a connected Unix socket as descriptor 3 (``GATEHOLD_RUNTIME_API_FD=3``), the same API
without TCP's cost: Gatehold's Node.js client uses it (a loopback TCP send costs ≈ 40 µs of the
gateway's CPU, a Unix one a few). Both speak the API version ``2018-06-01``:

* ``GET /2018-06-01/runtime/invocation/next``: the first one says the init phase is over (the pool's
  ``ready``); each one is answered with the next call of the submitted batch (200, the event's JSON,
  ``Lambda-Runtime-Aws-Request-Id``, ``Lambda-Runtime-Deadline-Ms``,
  ``Lambda-Runtime-Invoked-Function-Arn``, ``Lambda-Runtime-Trace-Id``), or waits for one;
* ``POST /2018-06-01/runtime/invocation/{id}/response``: the call's payload (202); past Lambda's 6 MB
  the call gets ``Function.ResponseSizeTooLarge`` and the runtime a 413;
* ``POST /2018-06-01/runtime/invocation/{id}/error``: Lambda's error payload as the runtime wrote it
  (202); a body that is not a JSON object becomes ``{"errorType": <the
  Lambda-Runtime-Function-Error-Type header>, "errorMessage": …}``;
* ``POST /2018-06-01/runtime/init/error``: the init failed (202); the environment is ended and the
  invocation that waited for it gets that error, as Lambda answers an invocation whose init failed.
  The next invocation starts a fresh environment, which runs the init again.

An id that is not the running call's is answered 400 ``InvalidRequestID``. The HTTP/1.1 side is the
little these clients use: keep-alive connections, ``Content-Length`` or chunked bodies, no pipelining
beyond one request in flight per connection. Everything runs on the gateway's event loop (readers on
the sockets, no thread); the process itself is :class:`~gatehold.runtime.environment.Process`: spawned,
watched through its pidfd, killed, measured, as the Python environments are.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import socket
import sys
import termios
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final
from urllib.parse import unquote

import orjson

from gatehold import clock as shared_clock
from gatehold.runtime import errors
from gatehold.runtime.context import new_log_stream_name
from gatehold.runtime.environment import BUSY, DEAD, IDLE, STARTING, Call, Environment, PoolEvents, Process
from gatehold.runtime.errors import LambdaError

if TYPE_CHECKING:
    from gatehold.runtime.context import FunctionSpec

log = logging.getLogger("gatehold.lambda")

PREFIX: Final = "/2018-06-01/runtime"
NEXT: Final = f"{PREFIX}/invocation/next"
INVOCATION: Final = f"{PREFIX}/invocation/"
INIT_ERROR: Final = f"{PREFIX}/init/error"
#: the descriptor of the environment's end of a connected Unix socket (named by ``FD_VARIABLE``)
RUNTIME_API_FD: Final = 3
FD_VARIABLE: Final = "GATEHOLD_RUNTIME_API_FD"
#: the read end of the claims pipe (Gatehold's batch extension), named by ``CLAIMS_VARIABLE``
CLAIMS_FD: Final = 4
CLAIMS_VARIABLE: Final = "GATEHOLD_CLAIMS_FD"
#: a ``GET …/next`` with this header takes every call of the batch in one answer (the extension)
BATCH_HEADER: Final = "gatehold-batch"
#: a ``POST …/response`` or ``…/error`` may say how long the call ran in the runtime, in µs
DURATION_HEADER: Final = "gatehold-duration-us"
_READ: Final = 1 << 16
#: a request head larger than this is refused (the clients send a few hundred bytes)
_MAX_HEAD: Final = 64 * 1024
_ACCEPTED: Final = b'{"status":"OK"}'


def _response(status: bytes, body: bytes, extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 "
        + status
        + b"\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n"
        + extra
        + b"\r\n"
        + body
    )


_OK_ACCEPTED: Final = _response(b"202 Accepted", _ACCEPTED)
_INVALID_ID: Final = _response(
    b"400 Bad Request", b'{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}'
)
_TOO_LARGE: Final = _response(
    b"413 Payload Too Large",
    orjson.dumps(
        {
            "errorMessage": f"Exceeded maximum allowed payload size ({errors.MAX_RESPONSE_BYTES} bytes).",
            "errorType": "RequestEntityTooLarge",
        }
    ),
)
_NOT_FOUND: Final = _response(
    b"404 Not Found", b'{"errorMessage":"Not found: this is Lambda\'s Runtime API","errorType":"NotFound"}'
)


class _Connection:
    """One keep-alive connection from the runtime: requests parsed as they arrive, answers sent
    without blocking (the rest when the socket drains)."""

    __slots__ = (
        "_body_left",
        "_chunked",
        "_due",
        "_head",
        "_length",
        "_out",
        "_queue",
        "_reading",
        "buf",
        "env",
        "sock",
    )

    def __init__(self, env: RuntimeApiEnvironment, sock: socket.socket) -> None:
        self.env = env
        self.sock = sock
        self.buf = bytearray()
        self._out: memoryview | None = None
        self._head: tuple[str, str, dict[str, str]] | None = None
        self._length = 0
        self._chunked = False
        self._body_left = 0  # bytes of an oversize body still to be read and dropped
        # answers to the requests not sent yet, in order: those of one read go together once they
        # are all handled (a client that pipelines its GET …/next behind its POST …/response gets
        # the 202 and the next event in one write: one wake-up of each side per invocation), and
        # deferred ones (the 202s to the answers of a batch) with the next that is not
        self._queue: list[bytes] = []
        self._reading = False
        self._due = False  # the queue is to be sent at the end of the read

    def on_readable(self) -> None:
        sock = self.sock
        self._reading = True
        while True:
            try:
                data = sock.recv(_READ)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self._reading = False
                self.close()
                return
            if not data:
                self._reading = False
                self.close()
                return
            if self._body_left:
                drop = min(self._body_left, len(data))
                self._body_left -= drop
                data = data[drop:]
                if not self._body_left:
                    self.send(_TOO_LARGE)
                if not data:
                    continue
            self.buf += data
            if len(data) < _READ:
                break
        try:
            self._parse()
        finally:
            self._reading = False
            if self._due:
                self._flush()

    def _parse(self) -> None:
        buf = self.buf
        while self.sock.fileno() >= 0 and not self._body_left:
            if self._head is None:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > _MAX_HEAD:
                        self.close()
                    return
                lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
                del buf[: end + 4]
                method, _, rest = lines[0].partition(" ")
                target = rest.rpartition(" ")[0] or rest
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                self._head = (method, target, headers)
                self._chunked = "chunked" in headers.get("transfer-encoding", "").lower()
                try:
                    self._length = int(headers.get("content-length", "0"))
                except ValueError:
                    self.close()
                    return
                if not self._chunked and self._length > errors.MAX_RESPONSE_BYTES + _MAX_HEAD:
                    # a response past Lambda's limit: read it to the end without keeping it
                    self.env.too_large(target)
                    self._head = None
                    take = min(self._length, len(buf))
                    del buf[:take]
                    self._body_left = self._length - take
                    if not self._body_left:
                        self.send(_TOO_LARGE)
                    continue
            method, target, headers = self._head
            if self._chunked:
                body = _dechunk(buf)
                if body is None:
                    return
            else:
                if len(buf) < self._length:
                    return
                body = bytes(buf[: self._length])
                del buf[: self._length]
            self._head = None
            self.env.request(self, method, target, headers, body)

    def send(self, data: bytes) -> None:
        """Answer the runtime: now, or at the end of the read being handled; the deferred answers
        before it go with it."""
        self._queue.append(data)
        if self._reading:
            self._due = True
        else:
            self._flush()

    def defer(self, data: bytes) -> None:
        """An answer the runtime does not wait for: sent with the next one that is not."""
        self._queue.append(data)

    def _flush(self) -> None:
        queue = self._queue
        data = queue[0] if len(queue) == 1 else b"".join(queue)
        queue.clear()
        self._due = False
        if self.sock.fileno() < 0:
            return
        if self._out is not None:
            self._out = memoryview(bytes(self._out) + data)
            return
        try:
            sent = self.sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self.close()
            return
        if sent < len(data):
            self._out = memoryview(data)[sent:]
            self.env.loop.add_writer(self.sock, self._on_writable)

    def _on_writable(self) -> None:
        out = self._out
        if out is None:
            self.env.loop.remove_writer(self.sock)
            return
        try:
            sent = self.sock.send(out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close()
            return
        self._out = out[sent:] if sent < len(out) else None
        if self._out is None:
            self.env.loop.remove_writer(self.sock)

    def close(self) -> None:
        if self.sock.fileno() < 0:
            return
        if not self.env.loop.is_closed():
            self.unwatch()
        self.sock.close()
        self.env.connection_closed(self)

    def unwatch(self) -> None:
        if self.sock.fileno() < 0:
            return
        loop = self.env.loop
        loop.remove_reader(self.sock)
        if self._out is not None:
            loop.remove_writer(self.sock)


def _dechunk(buf: bytearray) -> bytes | None:
    """A whole chunked body taken from ``buf`` (trailers dropped), or None while incomplete."""
    pos, parts = 0, list[bytes]()
    while True:
        end = buf.find(b"\r\n", pos)
        if end < 0:
            return None
        size = int(bytes(buf[pos:end]).split(b";")[0] or b"0", 16)
        if size == 0:
            tail = buf.find(b"\r\n\r\n", end)
            if tail < 0:
                return None
            del buf[: tail + 4]
            return b"".join(parts)
        start = end + 2
        if len(buf) < start + size + 2:
            return None
        parts.append(bytes(buf[start : start + size]))
        pos = start + size + 2


class RuntimeApiEnvironment(Environment):
    """An execution environment whose process speaks Lambda's Runtime API (module docstring)."""

    def __init__(
        self,
        spec: FunctionSpec,
        events: PoolEvents,
        loop: asyncio.AbstractEventLoop,
        generation: int,
        argv: Sequence[str],
        env: dict[str, str],
    ) -> None:
        super().__init__(spec, events, loop, generation)
        self.log_stream_name = new_log_stream_name()
        self._conns: set[_Connection] = set()
        self._waiting: _Connection | None = None  # a GET …/next waiting for a call
        self._handed = 0  # calls of the batch handed out (the running one is batch[answered])
        self._started = 0.0  # loop.time() the running call was handed out (or the previous answered)
        self._wants_batch = False  # the waiting GET …/next takes a whole batch (the extension)
        self._batch_conn: _Connection | None = None  # where the batch out was handed (whole)
        self._claimed = False  # the calls handed out carry claim bytes (a batch of several)
        self._unclaimed_at_end: int | None = None  # claim bytes left when the pipe was closed
        self._closing = False
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ours, theirs = socket.socketpair()
        claims_r, claims_w = os.pipe()
        try:
            listener.bind(("127.0.0.1", 0))
            listener.listen(8)
            listener.setblocking(False)
            port = listener.getsockname()[1]
            full = env | spec.lambda_environment(self.log_stream_name)
            full["AWS_LAMBDA_RUNTIME_API"] = f"127.0.0.1:{port}"
            full[FD_VARIABLE] = str(RUNTIME_API_FD)
            full[CLAIMS_VARIABLE] = str(CLAIMS_FD)
            self.process = process = Process(
                argv, full, {RUNTIME_API_FD: theirs.fileno(), CLAIMS_FD: claims_r}
            )
        except BaseException:
            listener.close()
            ours.close()
            os.close(claims_r)
            os.close(claims_w)
            raise
        finally:
            theirs.close()
        # one open file shared with the runtime: its reads of an empty pipe fail (EAGAIN) too
        os.set_blocking(claims_r, False)
        self._claims_r, self._claims_w = claims_r, claims_w
        self._listener = listener
        loop.add_reader(listener, self._accept)
        self._add_connection(ours)
        self.watch(process)

    # -- the pool's side ---------------------------------------------------------------------------

    def submit(self, calls: list[Call]) -> None:
        self.batch = calls
        self.batch_size = len(calls)
        self.ran_s = 0.0
        self.answered = 0
        self._handed = 0
        self.state = BUSY
        self.submitted = self.progress = self.loop.time()
        self._hand_out()

    def collect(self) -> None:
        """Read what the runtime has sent already (an answer still in a socket is an answer)."""
        for conn in list(self._conns):
            conn.on_readable()

    def started(self) -> bool:
        """Handed out (and, for a batch handed out whole, its claim byte read by the runtime)."""
        claimed = self._handed - (self._unclaimed() if self._claimed else 0)
        return claimed > self.answered

    def take_back(self) -> list[Call]:
        """The calls not started yet, while one is running (a slow one): those not handed out, or
        those of a batch handed out whole whose claim bytes the runtime has not read (read back
        here: a pipe gives each byte to one reader, so the runtime then skips them)."""
        if self.state != BUSY or self._handed <= self.answered:
            return []
        if self._claimed:
            try:
                count = len(os.read(self._claims_r, len(self.batch)))
            except (BlockingIOError, InterruptedError):
                return []
            self._handed -= count
        if self._handed >= len(self.batch):
            return []
        taken = self.batch[self._handed :]
        self.batch = self.batch[: self._handed]
        return taken

    def _unclaimed(self) -> int:
        """Claim bytes still in the pipe (FIONREAD), or left when it was closed."""
        if self._unclaimed_at_end is not None:
            return self._unclaimed_at_end
        try:
            return int.from_bytes(fcntl.ioctl(self._claims_r, termios.FIONREAD, b"\0\0\0\0"), sys.byteorder)
        except OSError:
            return 0

    def close(self) -> None:
        """A runtime has no way to be told to stop: it is killed once its batch is answered."""
        self._closing = True
        if self.state in (IDLE, STARTING) or self.answered >= len(self.batch):
            self.kill("closed")

    # -- the runtime's side ------------------------------------------------------------------------

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._add_connection(sock)

    def _add_connection(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        conn = _Connection(self, sock)
        self._conns.add(conn)
        self.loop.add_reader(sock, conn.on_readable)

    def connection_closed(self, conn: _Connection) -> None:
        self._conns.discard(conn)
        if self._waiting is conn:
            self._waiting = None

    def request(
        self, conn: _Connection, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> None:
        if self.state == DEAD:
            return
        if method == "GET" and target == NEXT:
            self._waiting = conn
            self._wants_batch = BATCH_HEADER in headers
            if self.state == STARTING:
                self.state = IDLE
                self.events.ready(self, None)
            elif self.state == BUSY and self.answered >= len(self.batch):
                self._drained()  # a batch taken back whole before the runtime started any of it
            else:
                self._hand_out()
        elif method == "POST" and target.startswith(INVOCATION):
            request_id, _, kind = target[len(INVOCATION) :].rpartition("/")
            call = self.running
            if call is None or self._handed <= self.answered or unquote(request_id) != call.request_id:
                conn.send(_INVALID_ID)
            elif kind == "response":
                if len(body) > errors.MAX_RESPONSE_BYTES:
                    conn.send(_TOO_LARGE)
                    self._answer((None, errors.response_too_large_error()), headers)
                else:
                    if conn is self._batch_conn and self.answered + 1 < len(self.batch):
                        conn.defer(_OK_ACCEPTED)  # a batch's, not its last: its runtime goes on
                    else:
                        conn.send(_OK_ACCEPTED)
                    self._answer((body, None), headers)
            elif kind == "error":
                conn.send(_OK_ACCEPTED)  # an error may be the runtime's last word: it waits for this
                self._answer((None, _error_payload(body, headers)), headers)
            else:
                conn.send(_NOT_FOUND)
        elif method == "POST" and target == INIT_ERROR:
            conn.send(_OK_ACCEPTED)
            self._init_failed(_error_payload(body, headers))
        else:
            conn.send(_NOT_FOUND)

    def too_large(self, target: str) -> None:
        """A response body announced past Lambda's limit (its bytes are dropped as they come)."""
        call = self.running
        if call is not None and target == f"{INVOCATION}{call.request_id}/response":
            self._answer((None, errors.response_too_large_error()), {})

    def _hand_out(self) -> None:
        conn = self._waiting
        if (
            conn is None
            or self.state != BUSY
            or self._handed != self.answered
            or self._handed >= len(self.batch)
        ):
            return
        self._waiting = None
        self._started = self.loop.time()
        spec = self.spec
        if self._wants_batch:
            self._hand_out_batch(conn)
            return
        self._claimed = False
        self._batch_conn = None
        call = self.batch[self._handed]
        self._handed += 1
        now = shared_clock.wall()  # the stack's (gatehold.clock); the timeout itself is real time
        deadline_ms = int((now + spec.timeout) * 1000)
        trace = f"Root=1-{int(now):08x}-{os.urandom(12).hex()};Sampled=0"
        head = (
            f"Lambda-Runtime-Aws-Request-Id: {call.request_id}\r\n"
            f"Lambda-Runtime-Deadline-Ms: {deadline_ms}\r\n"
            f"Lambda-Runtime-Invoked-Function-Arn: {spec.function_arn}\r\n"
            f"Lambda-Runtime-Trace-Id: {trace}\r\n"
        ).encode()
        conn.send(_response(b"200 OK", orjson.dumps(call.event), head))

    def _hand_out_batch(self, conn: _Connection) -> None:
        """Gatehold's extension: every call of the batch in one answer, ``[[request id, trace id,
        event], …]`` (the ARN and the timeout in headers: the runtime sets each call's deadline when
        it starts it). The runtime runs them one at a time, in order, answering each with the usual
        ``POST …/response`` or ``…/error``; of several, it reads a claim byte before each, so that
        :meth:`take_back` can have those not started back."""
        calls = self.batch[self._handed :]
        self._handed = len(self.batch)
        self._claimed = len(calls) > 1
        self._batch_conn = conn
        if self._claimed:
            os.write(self._claims_w, b"\0" * len(calls))  # at most BATCH_MAX: a pipe holds 64 KB
        root = f"Root=1-{int(time.time()):08x}-"
        noise = os.urandom(12 * len(calls)).hex()
        body = orjson.dumps(
            [
                [call.request_id, f"{root}{noise[i * 24 : i * 24 + 24]};Sampled=0", call.event]
                for i, call in enumerate(calls)
            ]
        )
        head = (
            f"Lambda-Runtime-Invoked-Function-Arn: {self.spec.function_arn}\r\n"
            f"Gatehold-Batch: {len(calls)}\r\n"
            f"Gatehold-Timeout-Ms: {int(self.spec.timeout * 1000)}\r\n"
        ).encode()
        conn.send(_response(b"200 OK", body, head))

    def _answer(self, outcome: tuple[bytes | None, LambdaError | None], headers: dict[str, str]) -> None:
        call = self.batch[self.answered]
        self.answered += 1
        now = self.progress = self.loop.time()
        # the runtime's own measure of the call when it gives one (Gatehold's bootstrap does), else
        # the time since it was handed out or the previous call answered
        reported = headers.get(DURATION_HEADER)
        self.ran_s += int(reported) / 1e6 if reported and reported.isdigit() else now - self._started
        self._started = now
        self.events.answered(self, call, outcome)
        if self.answered >= len(self.batch):
            self._drained()
        else:
            self._hand_out()

    def _drained(self) -> None:
        """Every call of the batch answered (or taken back): the next batch may come now; it is
        handed out when the runtime asks for it (one that exits after its answer never does: the
        pool runs those calls elsewhere, see started())."""
        if self.state != BUSY:
            return
        self.batch = []
        self.state = IDLE
        if self._closing:
            self.kill("closed")
        self.events.drained(self)

    def _init_failed(self, error: LambdaError) -> None:
        """Lambda answers the invocation whose init failed with the init error; the next one gets
        a fresh environment (the pool answers it from ``init_error`` when this one has exited)."""
        self.init_error = error
        log.error(
            "init error in %s: %s: %s",
            self.spec.name,
            error.get("errorType"),
            error.get("errorMessage"),
            extra={"function_name": self.spec.name, "error_type": error.get("errorType")},
        )
        self.kill("init-error")

    # -- the process's end (watched by the base class) ------------------------------------------------

    def unwatch(self) -> None:
        self.loop.remove_reader(self._listener)
        for conn in self._conns:
            conn.unwatch()

    def close_descriptors(self) -> None:
        self._unclaimed_at_end = self._unclaimed()
        for fd in (self._claims_r, self._claims_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.sock.close()
        self._conns.clear()
        self._waiting = None
        self._listener.close()
        super().close_descriptors()


def _error_payload(body: bytes, headers: dict[str, str]) -> LambdaError:
    """The error as the runtime posted it; what is not a JSON object is wrapped as Lambda does
    (the ``Lambda-Runtime-Function-Error-Type`` header's type, the body as the message)."""
    try:
        payload = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        payload = None
    if isinstance(payload, dict):
        return payload
    return {
        "errorType": headers.get("lambda-runtime-function-error-type") or "Runtime.Unknown",
        "errorMessage": body.decode("utf-8", "replace"),
    }
