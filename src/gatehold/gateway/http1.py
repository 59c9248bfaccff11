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
  a request head over :data:`MAX_HEAD_BYTES` gets ``431``; a body past the gateway's 10 MB payload
  quota (:data:`~gatehold.gateway.app.MAX_PAYLOAD_BYTES`) is drained, not kept, and the gateway
  answers ``413``.
* **Keep-alive and pipelining**: requests on one connection are answered in order, one at a time;
  pipelined ones wait in a short queue (reading pauses when it is full). HTTP/1.0 and
  ``Connection: close`` close after the response; a client that half-closes gets the answers it is
  owed, then the close. Idle connections close after
  :attr:`GatewayHttpServer.keep_alive_timeout` (API Gateway closes idle connections too); a
  request the client stops sending half-way for as long gets ``408`` and the close.
* ``Expect: 100-continue`` is answered with ``100 Continue`` before the body is read (after the
  response in flight, when the request is pipelined; never to HTTP/1.0, RFC 9110 §10.1.1).
* **Responses** go out in one ``write``: status line, the gateway's headers with the names as the
  gateway spelled them (``x-amzn-RequestId``, a function's ``tesT-Multi``), ``Date``,
  ``Content-Length`` and ``Connection``, then the body. A header name or value with CR, LF or NUL
  (a Lambda function's, say) is never written, nor is a 1xx status as the final one: the request
  gets the API's integration failure.
  Streamed (HTTP proxy) bodies are written as they arrive, with their ``Content-Length`` or chunked,
  and writing waits while the client reads slowly (transport flow control).
* **Graceful shutdown** (:meth:`GatewayHttpServer.shutdown`): stop accepting, close idle
  connections, let in-flight requests and those being read finish (their response says
  ``Connection: close``), then abort what is left after the grace period.

Upgrade requests (``Upgrade: h2c``, WebSocket) are served as plain HTTP/1.1 requests, as API Gateway
REST and HTTP APIs do: they have no WebSocket support on those endpoints.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import http
import logging
import socket
import time
from collections import deque
from typing import Any, Final, Protocol, cast

import httptools

from gatehold.gateway.app import MAX_PAYLOAD_BYTES
from gatehold.gateway.integrations.base import StreamedResponse
from gatehold.gateway.model import GatewayResponse

log = logging.getLogger("gatehold.gateway.http")


class ResponderAnswer(Protocol):
    """A response to write; ``done()`` once it is written (access log, metrics)."""

    response: GatewayResponse | StreamedResponse

    def done(self) -> None: ...


class Responder(Protocol):
    """What the server serves: :class:`~gatehold.gateway.app.GatewayApp`, or an ASGI app through
    :class:`gatehold.asgi_bridge.AsgiResponder`."""

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
    ) -> ResponderAnswer: ...

    def invalid_response(self, answer: Any) -> GatewayResponse: ...

    async def aclose(self) -> None: ...


#: request line + headers; past this the request gets 431 and the connection closes
MAX_HEAD_BYTES: Final = 64 * 1024
#: pipelined requests parsed ahead of the one being answered before reading pauses
MAX_PIPELINED: Final = 16
#: headers the server writes itself (from the response's own values where it has them)
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


def _body_framing(headers: list[tuple[str, str]]) -> bytes:
    """The ``Content-Length`` or ``Transfer-Encoding`` line of a request with a body, else ``b""``."""
    for name, value in headers:
        lname = name.lower()
        if lname == "transfer-encoding":
            return b"Transfer-Encoding: chunked\r\n"
        if lname == "content-length" and value.strip() not in ("", "0"):
            return f"Content-Length: {value.strip()}\r\n".encode("latin-1")
    return b""


class _Request:
    """One parsed request, waiting for its turn on the connection."""

    __slots__ = ("body", "headers", "keep_alive", "method", "target", "version")

    def __init__(
        self,
        method: str,
        target: bytes,
        headers: list[tuple[str, str]],
        body: bytes,
        keep_alive: bool,
        version: str,
    ) -> None:
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
        self.keep_alive = keep_alive
        self.version = version


class GatewayProtocol(asyncio.Protocol):
    """One client connection (module docstring)."""

    def __init__(self, server: GatewayHttpServer) -> None:
        self.server = server
        self.app = server.app
        self.loop = server.loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.client_ip = "127.0.0.1"
        self.local: tuple[str, int] | None = None
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
        # the connection
        self._queue: deque[_Request] = deque()
        self._busy = False
        self._closing = False
        self._reading_paused = False
        self._writable: asyncio.Event | None = None  # set while the transport accepts writes
        self._refusal: bytes | None = None  # a server-level answer owed after the one in flight
        self._upgraded: _Request | None = None  # an Upgrade request whose body is still to be parsed
        self._client_done = False  # the client half-closed: answer what it sent, then close
        self.idle_since: float | None = None  # loop time; None while a request is being read or answered
        # reads so far; the reads count and the loop time the idle sweep last saw them change
        self.reads = self.swept_reads = 0
        self.swept_at = 0.0

    # -- connection ---------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple):
            self.client_ip = peer[0]
        sockname = transport.get_extra_info("sockname")
        if isinstance(sockname, tuple):
            self.local = (sockname[0], sockname[1])
        self.server.connections.add(self)
        if self.server.stopping:
            self.close()
            return
        self.idle_since = self.loop.time()

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self._closing = True
        if self._writable is not None:
            self._writable.set()  # a writer waiting on a slow client gives up (transport is closing)

    def eof_received(self) -> bool | None:
        """The client shut down its sending side: keep the connection open for the answers owed
        (the one in flight, those queued), then close."""
        if not self._busy:
            return None  # nothing owed: the transport closes
        self._client_done = True
        return True

    def pause_writing(self) -> None:
        if self._writable is None:
            self._writable = asyncio.Event()
        self._writable.clear()

    def resume_writing(self) -> None:
        if self._writable is not None:
            self._writable.set()

    async def _drain(self) -> None:
        if self._writable is not None and not self._writable.is_set():
            await self._writable.wait()

    def close(self) -> None:
        self._closing = True
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def shutdown(self) -> None:
        """Server shutdown: close now when idle, else after the response to the request in flight
        or being read."""
        if not self._busy and self.idle_since is not None:
            self.close()
        else:
            self._closing = True

    # -- parsing --------------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self.idle_since = None
        self.reads += 1
        if self._refusal is not None:
            return  # a refused request: nothing after it is read
        try:
            self.parser.feed_data(data)
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

    def _after_upgrade(self, rest: bytes) -> None:
        """An ``Upgrade`` (or ``CONNECT``) request is served as plain HTTP/1.1 (module docstring), but
        httptools stops at the end of its head, body unread: what follows is its body, if it declared
        one, then the next requests. The body is parsed behind a head that frames it the same way."""
        held = self._upgraded
        if held is not None:
            rest = b"POST / HTTP/1.1\r\n" + _body_framing(held.headers) + b"\r\n" + rest
        if rest:
            self.data_received(rest)

    def _refuse(self, answer: bytes) -> None:
        """Answer ``answer`` (after the responses owed to the requests before it, if any) and close."""
        if self._busy:
            self._refusal = answer
            return
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
        for name, value in self._headers:
            if (
                len(name) == 6
                and name.lower() == "expect"
                and value.lower() == "100-continue"
                and self.parser.get_http_version() != "1.0"  # ignored from HTTP/1.0 (RFC 9110 §10.1.1)
                and self.transport is not None
            ):
                if self._busy:
                    self._continue_owed = True  # not inside the response in flight: after it (_next)
                else:
                    self.transport.write(_CONTINUE)

    def on_body(self, body: bytes) -> None:
        if self._body_size <= MAX_PAYLOAD_BYTES:  # past the quota: drained, not kept (→ 413)
            self._body.append(body)
            self._body_size += len(body)

    def on_message_complete(self) -> None:
        self._in_message = self._continue_owed = False
        parser = self.parser
        body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        if self._upgraded is not None:  # the body of an Upgrade request (_after_upgrade)
            request, self._upgraded = self._upgraded, None
            request.body = body
        else:
            request = _Request(
                parser.get_method().decode("latin-1"),
                self._target,
                self._headers,
                body,
                parser.should_keep_alive(),
                parser.get_http_version(),
            )
            if parser.should_upgrade() and _body_framing(request.headers):
                self._upgraded = request  # its body follows (_after_upgrade)
                return
        if self._busy:
            self._queue.append(request)
            if len(self._queue) >= MAX_PIPELINED and self.transport is not None:
                self.transport.pause_reading()
                self._reading_paused = True
        else:
            self._start(request)

    # -- answering --------------------------------------------------------------------------------------

    def _start(self, request: _Request) -> None:
        self._busy = True
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
            )
            await self._write(answer, request)
        except Exception:
            log.exception("gateway server error")
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
            transport.write(head)
        elif len(body) < 65536:
            transport.write(head + body)
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
        if self._queue:
            if self._reading_paused and len(self._queue) <= MAX_PIPELINED // 2 and self.transport is not None:
                self.transport.resume_reading()
                self._reading_paused = False
            self._start(self._queue.popleft())
            return
        self._busy = False
        if self._refusal is not None:  # the malformed request after those answered
            self._refuse(self._refusal)
            return
        if self._client_done:
            self.close()
            return
        if self._continue_owed and self.transport is not None:
            self._continue_owed = False
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

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        assert self._loop is not None
        return self._loop

    def replace_app(self, app: Responder) -> set[asyncio.Task[None]]:
        """Serve ``app`` from the next request on (hot reload, :mod:`gatehold.reload`). The requests
        being answered finish on the previous app: their tasks are returned, so that the caller can
        close what only the previous app used once they are done."""
        self.app = app
        return set(self.tasks)

    async def start(self, sockets: list[socket.socket]) -> None:
        self._loop = asyncio.get_running_loop()
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
        finally:
            await self.shutdown()

    def close_idle(self) -> None:
        """Close connections idle for longer than :attr:`keep_alive_timeout`, and answer ``408`` and
        close those that sent nothing for as long half-way through a request (checked each second,
        rather than a timer per connection re-armed after every request or read)."""
        now = self.loop.time()
        limit = now - self.keep_alive_timeout
        for connection in list(self.connections):
            since = connection.idle_since
            if since is not None:
                if since < limit:
                    connection.close()
            elif not connection._busy:  # reading a request
                if connection.reads != connection.swept_reads:
                    connection.swept_reads, connection.swept_at = connection.reads, now
                elif connection.swept_at < limit:
                    connection._refuse(_REQUEST_TIMEOUT)

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
        for task in list(self.tasks):
            task.cancel()
        for connection in list(self.connections):
            if connection.transport is not None:
                connection.transport.abort()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1.0)
        with contextlib.suppress(Exception):
            await self.app.aclose()
