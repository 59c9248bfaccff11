"""The gateway's HTTP/1.1 server: httptools parsing on the event loop's transport, no ASGI between.

Why not uvicorn, which serves the identity provider, the SPA and the admin app: measured on one core
(BENCHMARKS.md, "Server choice"), a bare ASGI hello-world costs ≈ 36 µs of server CPU per request
under uvicorn (ASGI scope, message dicts, two writes per response), and ≈ 10 µs as a plain
``asyncio.Protocol`` over the same httptools parser and uvloop transport. For the gateway that
difference is most of the budget of an authorized request. This module is that protocol, with what a
gateway's front door needs and nothing else:

* **Parsing** by httptools (llhttp, Node's parser): request line, headers, ``Content-Length`` and
  chunked bodies. Header names are kept exactly as the client wrote them (payload 1.0 events carry
  them so, docs/aws-reference.md §2.1). A malformed request gets ``400`` and the connection is closed;
  a request head over :data:`MAX_HEAD_BYTES` gets ``431``.
* **Bodies over the app's limit** (:attr:`Responder.max_body_bytes`: the gateway's 10 MB payload
  quota, :data:`~gatehold.gateway.app.MAX_PAYLOAD_BYTES`) are never kept: as soon as the declared
  length or the bytes received pass it, what was kept is dropped, the app is asked for its ``413``
  (``body_too_large``), and the rest of the body is read and discarded, so the connection lives on.
  A ``100 Continue`` is never sent for such a body.
* **Memory is bounded by bytes, not by request count.** Requests pipelined behind the one being
  answered are parsed ahead until they hold :data:`MAX_AHEAD_BYTES` (heads, bodies and
  :data:`REQUEST_OVERHEAD_BYTES` each); then reading pauses (``transport.pause_reading``) until
  they are answered. **Write backpressure**: while the transport's write buffer is over
  :data:`WRITE_HIGH_WATER` (``pause_writing``), no queued request is answered and nothing is read,
  until it drains below :data:`WRITE_LOW_WATER`; a client that takes nothing of its responses for
  :attr:`GatewayHttpServer.keep_alive_timeout` is cut off.
* **Keep-alive and pipelining**: requests on one connection are answered in order, one at a time.
  HTTP/1.0 and ``Connection: close`` close after the response; a client that half-closes gets the
  answers it is owed, then the close. Idle connections close after
  :attr:`GatewayHttpServer.keep_alive_timeout` (API Gateway closes idle connections too). A request
  whose head is not complete that long after it began (slowloris), or whose sending stops for as
  long half-way, gets ``408`` and the close.
* ``Expect: 100-continue`` is answered with ``100 Continue`` before the body is read (after the
  response in flight, when the request is pipelined; never to HTTP/1.0, RFC 9110 §10.1.1).
* **Responses** go out in one ``write``: status line, the gateway's headers with the names as the
  gateway spelled them (``x-amzn-RequestId``, a function's ``tesT-Multi``), ``Date``,
  ``Content-Length`` and ``Connection``, then the body. A header name or value with CR, LF or NUL
  (a Lambda function's, say) is never written, nor is a 1xx status as the final one: the request
  gets the API's integration failure.
  Streamed (HTTP proxy) bodies are written as they arrive, with their ``Content-Length`` or chunked,
  and writing waits while the client reads slowly (transport flow control).
* **Graceful shutdown** (:meth:`GatewayHttpServer.shutdown`): stop accepting (the listener is
  closed: new connections are refused), close idle connections, let in-flight requests and those
  being read finish within :attr:`GatewayHttpServer.graceful_timeout` (their response says
  ``Connection: close``); past it, a request whose response has not begun gets ``503`` and the
  close, and what is left is aborted.

Upgrade requests (``Upgrade: h2c``, WebSocket) are served as plain HTTP/1.1 requests, as API Gateway
REST and HTTP APIs do: they have no WebSocket support on those endpoints. Their body framing is
validated like any other request's (llhttp stops at an Upgrade request's head, so its
``Content-Length`` and ``Transfer-Encoding`` lines are parsed again, by llhttp, before the body).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import email.utils
import http
import logging
import socket
import struct
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Final, Protocol, cast

import httptools

from gatehold.gateway.integrations.base import StreamedResponse
from gatehold.gateway.model import GatewayResponse

log = logging.getLogger("gatehold.gateway.http")


def _libc_malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None (another C library)."""
    try:
        trim: Callable[[int], int] = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


_malloc_trim: Final = _libc_malloc_trim()
_M_TRIM_THRESHOLD: Final = -1  # glibc's malloc.h
_M_MMAP_THRESHOLD: Final = -3


def _tune_malloc() -> None:
    """glibc's malloc, set for a server that frees each request's body as soon as it is answered
    (process-wide; nothing on another C library).

    With glibc's defaults, freeing a 64 KB body at once hands the top of the heap back to the
    system (``M_TRIM_THRESHOLD`` 128 KiB) and the next request faults it in again: a 64 KB POST
    cost 1.5-1.7 x the CPU it cost when the body was kept until the next request (bench/
    http1_hardening.py). So the heap keeps up to 64 MiB of free memory for reuse, blocks up to 32 MiB
    come from it rather than from their own mmap, and what large bodies leave behind is handed back
    by :meth:`GatewayHttpServer.hand_back_memory` instead. (A lower mmap threshold, so that large
    bodies are returned on free, cost every 1 MB POST its page faults: 1.1 -> 1.6 ms of CPU.)"""
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_TRIM_THRESHOLD, 64 * 1024 * 1024)
    mallopt(_M_MMAP_THRESHOLD, 32 * 1024 * 1024)


class ResponderAnswer(Protocol):
    """A response to write; ``done()`` once it is written (access log, metrics)."""

    response: GatewayResponse | StreamedResponse

    def done(self) -> None: ...


class Responder(Protocol):
    """What the server serves: :class:`~gatehold.gateway.app.GatewayApp`, or an ASGI app through
    :class:`gatehold.asgi_bridge.AsgiResponder`.

    ``max_body_bytes``: the largest request body it accepts. A longer one is never kept: the
    server calls :meth:`respond` with ``body=b""`` and ``body_too_large=True`` for its ``413``."""

    max_body_bytes: int

    async def startup(self) -> None: ...

    async def respond(
        self,
        method: str,
        full_path: str,
        query_string: str,
        headers: list[tuple[str, str]],
        body: bytes,
        *,
        source_ip: str,
        protocol: str = ...,
        scheme: str = ...,
        server: tuple[str, int] | None = ...,
        body_too_large: bool = ...,
    ) -> ResponderAnswer: ...

    def invalid_response(self, answer: Any) -> GatewayResponse: ...

    async def aclose(self) -> None: ...


#: request line + headers; past this the request gets 431 and the connection closes
MAX_HEAD_BYTES: Final = 64 * 1024
#: bytes of the requests parsed ahead of the one being answered (pipelined) before reading pauses;
#: it resumes once they are under half of it
MAX_AHEAD_BYTES: Final = 1024 * 1024
#: what a parsed request costs beyond its bytes (its objects), counted against MAX_AHEAD_BYTES
REQUEST_OVERHEAD_BYTES: Final = 1024
#: the transport's write buffer: above the high-water mark no queued request is answered and
#: nothing is read, until it drains below the low-water mark
WRITE_HIGH_WATER: Final = 256 * 1024
WRITE_LOW_WATER: Final = 64 * 1024
#: headers the server writes itself (from the response's own values where it has them)
#: bytes read in large reads (of a large body) after which
#: :meth:`GatewayHttpServer.hand_back_memory` trims malloc's heaps; small requests never add up
TRIM_AFTER_BYTES: Final = 16 * 1024 * 1024
LARGE_READ_BYTES: Final = 64 * 1024
_SERVER_HEADERS: Final = frozenset({"content-length", "transfer-encoding", "connection", "date"})
_NO_BODY_STATUSES: Final = frozenset({204, 304})


def _status_line(status: int) -> bytes:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return f"HTTP/1.1 {status} {phrase}\r\n".encode("latin-1")


_STATUS_LINES: Final = {status: _status_line(status) for status in range(100, 600)}


def _plain(status: int, text: str) -> bytes:
    """A server-level answer (the request never reached the gateway): text, then close."""
    body = text.encode()
    return (
        _STATUS_LINES[status]
        + b"Content-Type: text/plain; charset=utf-8\r\n"
        + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode("latin-1")
        + body
    )


_BAD_REQUEST: Final = _plain(400, "Bad Request")
_HEAD_TOO_LARGE: Final = _plain(431, "Request Header Fields Too Large")
_REQUEST_TIMEOUT: Final = _plain(408, "Request Timeout")
_SERVICE_UNAVAILABLE: Final = _plain(503, "Service Unavailable")
_CONTINUE: Final = b"HTTP/1.1 100 Continue\r\n\r\n"
_PROTOCOLS: Final = {"1.1": "HTTP/1.1", "1.0": "HTTP/1.0"}


class _DateHeader:
    """``Date: <IMF-fixdate>\\r\\n``, formatted at most once a second."""

    __slots__ = ("_line", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._line = b""

    def line(self) -> bytes:
        second = int(time.time())
        if second != self._second:
            self._second = second
            self._line = f"Date: {email.utils.formatdate(second, usegmt=True)}\r\n".encode("latin-1")
        return self._line


_DATE: Final = _DateHeader()


class InvalidHeader(ValueError):
    """A response head that cannot be written: CR, LF or NUL in a header name or value, or a 1xx
    (interim) status as the final one."""


def response_head(status: int, headers: list[tuple[str, str]], framing: str) -> bytes:
    """Status line and header block, ``framing`` being the ``Content-Length``/``Transfer-Encoding``
    and ``Connection`` lines, ``\\r\\n``-terminated. Raises :class:`InvalidHeader`."""
    if status < 200:  # an interim status as the final one: the client would wait for another
        raise InvalidHeader(f"status {status} is not a final status")
    written = [f"{name}: {value}\r\n" for name, value in headers if name.lower() not in _SERVER_HEADERS]
    lines = "".join(written)
    # every CR and LF in ``lines`` must be one of the terminators just added (a CRLF pair inside a
    # name or value is an injected header line too); NUL is never valid
    if lines.count("\n") != len(written) or lines.count("\r") != len(written) or "\0" in lines:
        raise InvalidHeader("a response header contains CR, LF or NUL")
    return b"".join(
        (_STATUS_LINES.get(status) or _status_line(status), _DATE.line(), lines.encode(), framing.encode())
    )


def _full_response(
    status: int, headers: list[tuple[str, str]], body: bytes, connection: str
) -> tuple[bytes, bytes]:
    """Head and body of a response held in memory (204 and 304 have neither body nor length)."""
    if status in _NO_BODY_STATUSES:
        return response_head(status, headers, connection), b""
    return response_head(status, headers, f"Content-Length: {len(body)}\r\n{connection}"), body


def _origin_form(target: bytes) -> bytes:
    """The path and query of an absolute-form target (``http://host:port/path?query``), which a
    server MUST accept (RFC 9112 §3.2.2); ``*`` and anything else are left as they are."""
    _, sep, rest = target.partition(b"://")
    if not sep:
        return target
    start = min((i for i in (rest.find(b"/"), rest.find(b"?")) if i >= 0), default=len(rest))
    origin = rest[start:]
    return origin if origin.startswith(b"/") else b"/" + origin


def _framing_lines(headers: list[tuple[str, str]]) -> bytes:
    """The ``Content-Length`` and ``Transfer-Encoding`` lines of a request, as the client sent them."""
    return b"".join(
        f"{name}: {value}\r\n".encode("latin-1")
        for name, value in headers
        if name.lower() in ("content-length", "transfer-encoding")
    )


class _Request:
    """One parsed request, waiting for its turn on the connection. ``size``: what it holds
    (head, body and :data:`REQUEST_OVERHEAD_BYTES`); ``too_large``: its body was over the limit
    and was not kept."""

    __slots__ = ("body", "headers", "keep_alive", "method", "size", "target", "too_large", "version")

    def __init__(
        self,
        method: str,
        target: bytes,
        headers: list[tuple[str, str]],
        body: bytes,
        keep_alive: bool,
        version: str,
        size: int,
        too_large: bool = False,
    ) -> None:
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
        self.keep_alive = keep_alive
        self.version = version
        self.size = size
        self.too_large = too_large


class GatewayProtocol(asyncio.Protocol):
    """One client connection (module docstring)."""

    def __init__(self, server: GatewayHttpServer) -> None:
        self.server = server
        self.app = server.app
        self.loop = server.loop
        self.transport: asyncio.Transport | None = None
        self.parser: httptools.HttpRequestParser | None = httptools.HttpRequestParser(self)
        self.client_ip = "127.0.0.1"
        self.local: tuple[str, int] | None = None
        self.body_limit = server.max_body_bytes
        # the request being parsed
        self._target = b""
        self._headers: list[tuple[str, str]] = []
        self._head_size = 0
        self._in_head = False  # between on_message_begin and on_headers_complete
        self._in_message = False  # between on_message_begin and on_message_complete
        self._continue_owed = False  # a 100 Continue held back while a response was in flight
        self._head_seen = 0  # bytes of an unfinished head received so far; -1: it began in this read
        self._body: list[bytes] = []
        self._body_size = 0
        self._oversize = False  # its body is over body_limit: discarded, not kept
        self._dispatched = False  # it was handed over before its body ended (an oversize body)
        # the connection
        self._queue: deque[_Request] = deque()
        self._ahead = 0  # bytes held by the requests in _queue
        self._busy = False  # a request is being answered (or its answer waits for the client to read)
        self._responding = False  # the response to the request being answered has begun
        self._closing = False
        self._reading_paused = False
        self._write_paused = False
        self._after_drain = False  # the next request waits for the write buffer to drain
        self._writable: asyncio.Event | None = None  # set while the transport accepts writes
        self._held: bytes | None = None  # a response written at the end of the loop turn (_hold)
        self._refusal: bytes | None = None  # a server-level answer owed after the one in flight
        self._upgraded: _Request | None = None  # an Upgrade request whose body is still to be parsed
        self._client_done = False  # the client half-closed: answer what it sent, then close
        self.idle_since: float | None = None  # loop time; None while a request is being read or answered
        # reads so far; the reads count and the loop time the idle sweep last saw them change
        self.reads = self.swept_reads = 0
        self.swept_at = 0.0
        #: loop time the sweep first saw the current head unfinished (0: not yet)
        self.head_seen_at = 0.0
        #: the write buffer's size and the loop time the sweep last saw it change, while paused
        self.swept_buffer = -1
        self.buffer_swept_at = 0.0

    # -- connection ---------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple):
            self.client_ip = peer[0]
        sockname = transport.get_extra_info("sockname")
        if isinstance(sockname, tuple):
            self.local = (sockname[0], sockname[1])
        transport.set_write_buffer_limits(WRITE_HIGH_WATER, WRITE_LOW_WATER)
        self.server.connections.add(self)
        if self.server.stopping:
            self.close()
            return
        self.idle_since = self.loop.time()

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self._closing = True
        self._held = None
        # what the connection held goes now, not at the next cyclic garbage collection (the
        # parser and this protocol refer to each other)
        self.parser = None
        self._body = []
        self._queue.clear()
        self._upgraded = None
        if self._writable is not None:
            self._writable.set()  # a writer waiting on a slow client gives up (transport is closing)

    def eof_received(self) -> bool | None:
        """The client shut down its sending side: keep the connection open for the answers owed
        (the one in flight, those queued), then close."""
        if not self._busy:
            if self._held is not None:
                self.write_held()  # the last answer goes out before the close
            return None  # nothing owed: the transport closes
        self._client_done = True
        return True

    def pause_writing(self) -> None:
        """The transport's write buffer passed :data:`WRITE_HIGH_WATER`: answer nothing more and
        read nothing until it drains."""
        self._write_paused = True
        if self._writable is None:
            self._writable = asyncio.Event()
        self._writable.clear()
        self._pause_reading()

    def resume_writing(self) -> None:
        self._write_paused = False
        self.swept_buffer = -1
        if self._writable is not None:
            self._writable.set()
        if self._after_drain:
            self._after_drain = False
            self._proceed()
        else:
            self._update_reading()

    async def _drain(self) -> None:
        if self._writable is not None and not self._writable.is_set():
            await self._writable.wait()

    def _pause_reading(self) -> None:
        transport = self.transport
        if not self._reading_paused and transport is not None and not transport.is_closing():
            transport.pause_reading()
            self._reading_paused = True

    def _update_reading(self) -> None:
        """Resume reading when nothing holds it back: the write buffer has drained and the
        requests parsed ahead hold under half of :data:`MAX_AHEAD_BYTES`."""
        if not self._reading_paused or self._write_paused:
            return
        if self._busy and self._ahead + self._head_size + self._body_size > MAX_AHEAD_BYTES // 2:
            return
        self._reading_paused = False
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.resume_reading()

    def reset(self) -> None:
        """Abort with a TCP reset (``SO_LINGER`` 0), so that what the kernel still holds for a
        client that reads nothing is dropped too, not sent for minutes after the close."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._closing = True
        self._held = None
        transport.abort()

    def close(self) -> None:
        self._closing = True
        if self._held is not None:
            self.write_held()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def _hold(self, data: bytes) -> None:
        """Write ``data`` at the end of this loop turn, with the other responses of the turn back to
        back (:meth:`GatewayHttpServer.write_held`): the client's side wakes once for them, not once
        per response with the next request's work in between. At most one response per connection
        is held (the next request starts in a later turn); any other write writes it first."""
        if self._held is not None:
            self.write_held()
        self._held = data
        self.server.hold(self)

    def write_held(self) -> None:
        data, self._held = self._held, None
        transport = self.transport
        if data is not None and transport is not None and not transport.is_closing():
            transport.write(data)

    def shutdown(self) -> None:
        """Server shutdown: close now when idle, else after the response to the request in flight
        or being read."""
        if not self._busy and self.idle_since is not None:
            self.close()
        else:
            self._closing = True

    def abandon(self) -> None:
        """The grace period is over: a request whose response has not begun gets ``503``; the
        connection closes (what is written is still sent)."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if self._held is not None:
            self.write_held()
        if (self._busy or self._in_message) and not self._responding and not self._dispatched:
            transport.write(_SERVICE_UNAVAILABLE)
        self.close()

    # -- parsing --------------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self.idle_since = None
        self.reads += 1
        if len(data) >= LARGE_READ_BYTES:  # a large body is coming in (hand_back_memory)
            self.server.received_large += len(data)
        parser = self.parser
        if self._refusal is not None or parser is None:
            return  # a refused request: nothing after it is read
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            self._after_upgrade(data[upgrade.args[0] :])
            return
        except httptools.HttpParserError:
            self._refuse(_HEAD_TOO_LARGE if self._head_size > MAX_HEAD_BYTES else _BAD_REQUEST)
            return
        if self._in_head:
            # the parser keeps an unfinished header line to itself: count what the head took so far
            # (all of this read when the head began before it), so an endless one is refused too
            self._head_seen = self._head_size if self._head_seen < 0 else self._head_seen + len(data)
            if self._head_seen > MAX_HEAD_BYTES:
                self._refuse(_HEAD_TOO_LARGE)
        elif self._busy and self._ahead + self._head_size + self._body_size > MAX_AHEAD_BYTES:
            self._pause_reading()  # parsed far enough ahead of the request being answered

    def _after_upgrade(self, rest: bytes) -> None:
        """An ``Upgrade`` (or ``CONNECT``) request is served as plain HTTP/1.1 (module docstring), but
        httptools stops at the end of its head, body unread: what follows is its body, if it declared
        one, then the next requests. The body is parsed behind a head made of the request's own
        ``Content-Length`` and ``Transfer-Encoding`` lines, so that llhttp validates them as for any
        request (an unknown transfer coding is a 400)."""
        held = self._upgraded
        if held is not None:
            rest = b"POST / HTTP/1.1\r\n" + _framing_lines(held.headers) + b"\r\n" + rest
        if rest:
            self.data_received(rest)

    def _refuse(self, answer: bytes) -> None:
        """Answer ``answer`` (after the responses owed to the requests before it, if any) and close.
        A request already answered (an oversize body, answered early) gets no second answer."""
        if self._dispatched:
            answer = b""
        if self._busy:
            self._refusal = answer
            return
        if self._held is not None:
            self.write_held()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(answer)
        self.close()

    def on_message_begin(self) -> None:
        self._target = b""
        self._headers = []
        self._head_size = 0
        self._in_head = True
        self._in_message = True
        self._head_seen = -1
        self.head_seen_at = 0.0
        self._body = []
        self._body_size = 0

    def on_url(self, url: bytes) -> None:
        self._target += url
        self._head_size += len(url)
        if self._head_size > MAX_HEAD_BYTES:
            raise InvalidHeader("request head too large")  # feed_data raises HttpParserCallbackError

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value)
        if self._head_size > MAX_HEAD_BYTES:
            raise InvalidHeader("request head too large")  # feed_data raises HttpParserCallbackError
        self._headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        self._in_head = False
        expects_continue = False
        for name, value in self._headers:
            size = len(name)
            if size == 14 and name.lower() == "content-length":
                if int(value) > self.body_limit:  # llhttp checked the digits
                    self._oversize = True
            elif size == 6 and name.lower() == "expect" and value.lower() == "100-continue":
                expects_continue = True
        parser = self.parser
        assert parser is not None
        if self._oversize:
            # answered now, no 100 Continue for a body that is refused; an Upgrade request's body
            # is parsed separately (_after_upgrade), and its request is handed over then
            if self._upgraded is not None or not parser.should_upgrade():
                self._dispatch_oversize()
        elif (
            expects_continue
            and self.transport is not None
            and parser.get_http_version() != "1.0"  # ignored from HTTP/1.0 (RFC 9110 §10.1.1)
        ):
            if self._busy:
                self._continue_owed = True  # not inside the response in flight: after it (_next)
            else:
                if self._held is not None:
                    self.write_held()
                self.transport.write(_CONTINUE)

    def on_body(self, body: bytes) -> None:
        if self._oversize:
            return  # drained, not kept
        self._body.append(body)
        self._body_size += len(body)
        if self._body_size > self.body_limit:
            self._body = []  # what was kept goes at once
            self._body_size = 0
            self._oversize = True
            self._dispatch_oversize()

    def _dispatch_oversize(self) -> None:
        """Hand over the request being parsed as one whose body is too large (its answer may come
        before the rest of the body, which is read and discarded: RFC 9110 §10.1.1 lets a server
        answer before the content ends, and the connection says whether it stays open)."""
        if self._upgraded is not None:  # the body of an Upgrade request (_after_upgrade)
            request, self._upgraded = self._upgraded, None
            request.too_large = True
        else:
            request = self._new_request(b"")
            request.too_large = True
        self._dispatched = True
        self._continue_owed = False
        self._enqueue(request)

    def _new_request(self, body: bytes) -> _Request:
        parser = self.parser
        assert parser is not None
        return _Request(
            parser.get_method().decode("latin-1"),
            self._target,
            self._headers,
            body,
            parser.should_keep_alive(),
            parser.get_http_version(),
            self._head_size + self._body_size + REQUEST_OVERHEAD_BYTES,
        )

    def on_message_complete(self) -> None:
        self._in_message = self._continue_owed = False
        if self._dispatched:  # an oversize body, answered already: its end
            self._dispatched = self._oversize = False
            self._head_size = self._body_size = 0
            return
        parser = self.parser
        assert parser is not None
        body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        self._body = []
        if self._upgraded is not None:  # the body of an Upgrade request (_after_upgrade)
            request, self._upgraded = self._upgraded, None
            request.body = body
            request.size += self._body_size
        else:
            request = self._new_request(body)
            if parser.should_upgrade() and _framing_lines(request.headers):
                self._oversize = False  # decided again when its body is parsed
                self._upgraded = request  # its body follows (_after_upgrade)
                self._head_size = self._body_size = 0
                return
        self._head_size = self._body_size = 0
        self._enqueue(request)

    def _enqueue(self, request: _Request) -> None:
        if self._busy:
            self._queue.append(request)
            self._ahead += request.size
            if self._ahead > MAX_AHEAD_BYTES:
                self._pause_reading()
        else:
            self._start(request)

    # -- answering --------------------------------------------------------------------------------------

    def _start(self, request: _Request) -> None:
        self._busy = True
        self._responding = False
        task = self.loop.create_task(self._answer(request))
        self.server.tasks.add(task)
        task.add_done_callback(self.server.tasks.discard)

    async def _answer(self, request: _Request) -> None:
        target = request.target
        if target[:1] != b"/":
            target = _origin_form(target)
        path, _, query = target.partition(b"?")
        answer: ResponderAnswer | None = None
        self.app = app = self.server.app  # the app of the moment (hot reload swaps it: replace_app)
        try:
            answer = await app.respond(
                request.method,
                path.decode("latin-1"),
                query.decode("latin-1"),
                request.headers,
                request.body,
                source_ip=self.client_ip,
                protocol=_PROTOCOLS.get(request.version) or f"HTTP/{request.version}",
                server=self.local,
                body_too_large=request.too_large,
            )
            request.body = b""  # the app has it (or is done with it)
            await self._write(answer, request)
        except Exception:
            log.exception("gateway server error")
            if self._held is not None:
                self.write_held()
            if self.transport is not None and not self.transport.is_closing():
                self.transport.write(_plain(500, "Internal Server Error"))
            self._busy = False
            self.close()
            return
        finally:
            if answer is not None:
                answer.done()
        self._next(request.keep_alive)

    async def _write(self, answer: ResponderAnswer, request: _Request) -> None:
        transport = self.transport
        assert transport is not None
        response = answer.response
        keep_alive = request.keep_alive and not self._closing
        connection = "Connection: keep-alive\r\n\r\n" if keep_alive else "Connection: close\r\n\r\n"
        request.keep_alive = keep_alive
        head_only = request.method == "HEAD"
        self._responding = True
        if self._held is not None:
            self.write_held()
        if isinstance(response, StreamedResponse):
            await self._write_streamed(response, connection, head_only)
            return
        try:
            head, body = _full_response(response.status, response.headers, response.body, connection)
        except InvalidHeader:
            answer.response = response = self.app.invalid_response(answer)
            head, body = _full_response(response.status, response.headers, response.body, connection)
        if transport.is_closing():
            return
        if head_only or not body:
            self._hold(head)
        elif len(body) < 65536:
            self._hold(head + body)
        else:
            transport.write(head)
            transport.write(body)

    async def _write_streamed(self, response: StreamedResponse, connection: str, head_only: bool) -> None:
        transport = self.transport
        assert transport is not None
        no_body_status = response.status in _NO_BODY_STATUSES
        length = (
            None
            if no_body_status
            else next((v for n, v in response.headers if n.lower() == "content-length"), None)
        )
        no_body = head_only or no_body_status
        if length is not None:
            framing = f"Content-Length: {length}\r\n{connection}"
        elif no_body:
            framing = connection
        else:
            framing = f"Transfer-Encoding: chunked\r\n{connection}"
        chunked = length is None and not no_body
        try:
            transport.write(response_head(response.status, response.headers, framing))
            async for chunk in response.body:
                if transport.is_closing():
                    break  # the client is gone: stop reading the upstream (it may never end)
                if chunk and not no_body:
                    transport.write(b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
                    await self._drain()
            if chunked and not transport.is_closing():
                transport.write(b"0\r\n\r\n")
        except Exception as exc:  # the head may be out: an incomplete body and the close say it
            log.warning("streamed response interrupted: %r", exc)
            self.close()
        finally:
            await response.aclose()

    def _next(self, keep_alive: bool) -> None:
        if not keep_alive or self._closing:
            # the response said ``Connection: close``: nothing follows it (RFC 9112 §9.6)
            self._busy = False
            self.close()
            return
        if self._write_paused:
            self._after_drain = True  # the client has not taken the response yet (resume_writing)
            return
        self._proceed()

    def _proceed(self) -> None:
        """The response is out (or in the transport's buffer, under its high-water mark): answer
        the next request, or become idle."""
        if self._closing:
            self._busy = False
            self.close()
            return
        if self._queue:
            request = self._queue.popleft()
            self._ahead -= request.size
            if self._reading_paused:
                self._update_reading()
            self._start(request)
            return
        self._busy = self._responding = False
        if self._reading_paused:
            self._update_reading()
        if self._refusal is not None:  # the malformed request after those answered
            self._refuse(self._refusal)
            return
        if self._client_done:
            self.close()
            return
        if self._continue_owed and self.transport is not None:
            self._continue_owed = False
            if self._held is not None:
                self.write_held()
            self.transport.write(_CONTINUE)
        if not self._in_message:  # not idle while the next request is being read
            self.idle_since = self.loop.time()


class GatewayHttpServer:
    """Serves a :class:`Responder` (the gateway, or an ASGI app) on listening sockets.

    It has the face :func:`gatehold.server.serve` expects of a uvicorn ``Server``: ``serve(sockets)``
    runs until ``should_exit``; ``started``; ``force_exit`` skips the grace period.
    """

    def __init__(
        self, app: Responder, *, keep_alive_timeout: float = 30.0, graceful_timeout: float = 10.0
    ) -> None:
        self.app = app
        self.max_body_bytes = app.max_body_bytes
        self.keep_alive_timeout = keep_alive_timeout
        self.graceful_timeout = graceful_timeout
        self.connections: set[GatewayProtocol] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.started = False
        self.should_exit = False
        self.force_exit = False
        self.stopping = False
        self._servers: list[asyncio.AbstractServer] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        #: bytes read in large reads so far, and that count when memory was last handed back
        self.received_large = 0
        self._trimmed_at = self._swept_large = 0
        self._held: list[GatewayProtocol] = []  # connections with a response held for this turn

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        assert self._loop is not None
        return self._loop

    def replace_app(self, app: Responder) -> set[asyncio.Task[None]]:
        """Serve ``app`` from the next request on (hot reload, :mod:`gatehold.reload`). The requests
        being answered finish on the previous app: their tasks are returned, so that the caller can
        close what only the previous app used once they are done."""
        self.app = app
        self.max_body_bytes = app.max_body_bytes
        return set(self.tasks)

    def hold(self, connection: GatewayProtocol) -> None:
        """``connection`` holds a response: write every held one at the end of the loop turn."""
        if not self._held:
            self.loop.call_soon(self.write_held)
        self._held.append(connection)

    def write_held(self) -> None:
        held, self._held = self._held, []
        for connection in held:
            if connection._held is not None:
                connection.write_held()

    async def start(self, sockets: list[socket.socket]) -> None:
        self._loop = asyncio.get_running_loop()
        _tune_malloc()
        await self.app.startup()
        for sock in sockets:
            server = await self._loop.create_server(
                lambda: GatewayProtocol(self),
                sock=sock,
                backlog=4096,
            )
            self._servers.append(server)
        self.started = True

    async def serve(self, sockets: list[socket.socket]) -> None:
        """Start, run until ``should_exit``, then :meth:`shutdown`."""
        await self.start(sockets)
        try:
            ticks = 0
            while not self.should_exit:
                await asyncio.sleep(0.1)
                ticks += 1
                if ticks % 10 == 0:
                    self.close_idle()
                    self.hand_back_memory()
        finally:
            await self.shutdown()

    def close_idle(self) -> None:
        """Checked each second, rather than with a timer per connection re-armed after every
        request or read, against :attr:`keep_alive_timeout`:

        * a connection idle for that long is closed;
        * a request whose head is still unfinished that long after the sweep first saw it
          (slowloris: a header line now and then), or that sent nothing for as long half-way
          through, gets ``408`` and the close;
        * a client that took nothing of its responses for as long (the write buffer full and not
          shrinking) is cut off with a reset, which also drops what the kernel holds for it.
        """
        now = self.loop.time()
        limit = now - self.keep_alive_timeout
        for connection in list(self.connections):
            if connection._write_paused:
                transport = connection.transport
                buffered = transport.get_write_buffer_size() if transport is not None else 0
                if buffered != connection.swept_buffer:
                    connection.swept_buffer, connection.buffer_swept_at = buffered, now
                elif connection.buffer_swept_at < limit and transport is not None:
                    connection.reset()
                continue
            since = connection.idle_since
            if since is not None:
                if since < limit:
                    connection.close()
                continue
            if connection._busy:
                continue
            # reading a request
            if connection._in_head:
                if not connection.head_seen_at:
                    connection.head_seen_at = now
                elif connection.head_seen_at < limit:
                    connection._refuse(_REQUEST_TIMEOUT)
                    continue
            if connection.reads != connection.swept_reads:
                connection.swept_reads, connection.swept_at = connection.reads, now
            elif connection.swept_at < limit:
                connection._refuse(_REQUEST_TIMEOUT)

    def hand_back_memory(self) -> None:
        """After :data:`TRIM_AFTER_BYTES` of large request bodies, give the free memory they left
        inside malloc's heaps back to the system (``malloc_trim``, glibc only; at most once a
        second, a few ms of the loop's time; reads under :data:`LARGE_READ_BYTES` do not count, so
        ordinary API traffic never pays it).

        Large bodies are freed once answered, but glibc keeps what it freed in its heaps (on
        purpose: :func:`_tune_malloc`), and a request handled on another thread (the Lambda
        runtime's) leaves it in that thread's arena. The trim runs after every 16 MiB of large
        reads, and once more when they stop: 8 connections x 16 pipelined 9.5 MB bodies left
        RSS +253 MB without it, +0 with it."""
        received, swept = self.received_large, self._swept_large
        self._swept_large = received
        if received == self._trimmed_at or _malloc_trim is None:
            return
        # enough since the last trim, or large bodies came and have stopped coming
        if received - self._trimmed_at >= TRIM_AFTER_BYTES or received == swept:
            self._trimmed_at = received
            _malloc_trim(0)

    async def shutdown(self) -> None:
        """Stop accepting, close idle connections, let in-flight requests finish (module docstring)."""
        self.stopping = True
        for server in self._servers:
            server.close()
        for connection in list(self.connections):
            connection.shutdown()
        deadline = time.monotonic() + self.graceful_timeout
        while (self.tasks or self.connections) and time.monotonic() < deadline and not self.force_exit:
            await asyncio.sleep(0.05)
            for connection in list(self.connections):
                connection.shutdown()
        for connection in list(self.connections):
            connection.abandon()
        for task in list(self.tasks):
            task.cancel()
        flushed = time.monotonic() + 1.0  # a moment for the 503s to go out
        while self.connections and time.monotonic() < flushed and not self.force_exit:
            await asyncio.sleep(0.02)
        for connection in list(self.connections):
            if connection.transport is not None:
                connection.transport.abort()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1.0)
        with contextlib.suppress(Exception):
            await self.app.aclose()
