"""The gateway's own HTTP/1.1 server (:mod:`gatehold.gateway.http1`) serving the real GatewayApp
(tests/gateway/gateway.yaml, the real Lambda runtime), talked to with raw sockets so the bytes on
the wire are exactly the test's and the server's: framing, keep-alive, pipelining, 100-continue,
400/431/413, header spelling, streamed proxy bodies, idle timeout and graceful shutdown."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.gateway.conftest import (
    BIG_BODY,
    ENDLESS_EVENTS,
    GatewayServerThread,
    ServerThread,
    close_invoker,
    gateway_app,
)

KEEP_ALIVE_TIMEOUT = 1.5
#: a generous bound for anything the server does "soon" (never a timing assertion)
PATIENCE = 15.0
REST_502 = b'{"message": "Internal server error"}'
HTTP_500 = b'{"message":"Internal Server Error"}'
TEN_MB = 10 * 1024 * 1024


# -- the wire -----------------------------------------------------------------------------------------


@dataclass
class Wire:
    """One response as it came off the socket."""

    status: int
    head: bytes  # status line and header lines, without the blank line
    headers: list[tuple[str, str]]  # names as written on the wire
    body: bytes  # de-chunked when chunked

    def values(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def header(self, name: str) -> str | None:
        found = self.values(name)
        assert len(found) <= 1, f"{name} written {len(found)} times: {self.head!r}"
        return found[0] if found else None

    def json(self) -> Any:
        return json.loads(self.body)


class Connection:
    """A raw client connection: ``send`` bytes as they are, read responses one by one."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=PATIENCE)
        self.buffer = b""

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError(f"connection closed; unread: {self.buffer[:200]!r}")
        self.buffer += chunk

    def _take(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._more()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            self._more()
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def _until_eof(self) -> None:
        try:
            while True:
                self._more()
        except EOFError:
            return

    def response(self, method: str = "GET") -> Wire:
        """The next response (an interim ``100`` too), framed as RFC 9112 §6.3 says."""
        while b"\r\n\r\n" not in self.buffer:
            self._more()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        version, status, *_ = status_line.split(" ")
        assert version == "HTTP/1.1", status_line
        headers = [(n, v.strip()) for n, v in (line.split(":", 1) for line in lines)]
        wire = Wire(int(status), head, headers, b"")
        if method == "HEAD" or wire.status < 200 or wire.status in (204, 304):
            return wire
        if (wire.header("transfer-encoding") or "").lower() == "chunked":
            assert wire.header("content-length") is None
            chunks = []
            while size := int(self._line().split(b";")[0], 16):
                chunks.append(self._take(size))
                assert self._take(2) == b"\r\n"
            assert self._line() == b""  # no trailers
            wire.body = b"".join(chunks)
        elif (length := wire.header("content-length")) is not None:
            wire.body = self._take(int(length))
        else:
            self._until_eof()
            wire.body, self.buffer = self.buffer, b""
        return wire

    def closed(self) -> bool:
        """Whether the server closes the connection (within :data:`PATIENCE`) with nothing more sent."""
        try:
            self._more()
        except (EOFError, ConnectionResetError):
            assert not self.buffer, f"unexpected bytes after the last response: {self.buffer[:200]!r}"
            return True
        except TimeoutError:
            return False
        raise AssertionError(f"unexpected bytes after the last response: {self.buffer[:200]!r}")


def request(
    method: str,
    target: str,
    headers: list[tuple[str, str]] | None = None,
    body: bytes | None = None,
    version: str = "1.1",
) -> bytes:
    """Request bytes; ``Host`` first, a ``Content-Length`` for ``body`` unless ``headers`` frame it."""
    lines = [f"{method} {target} HTTP/{version}", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers or []]
    framed = any(name.lower() in ("content-length", "transfer-encoding") for name, _ in headers or [])
    if body is not None and not framed:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


def respond(path: str, result: dict[str, Any], extra: list[tuple[str, str]] | None = None) -> bytes:
    """A request to a ``respond`` route: the function returns ``result`` as its response."""
    body = json.dumps({"result": result}).encode()
    return request("POST", path, [("Content-Type", "application/json"), *(extra or [])], body)


def chunked(*chunks: bytes) -> bytes:
    return b"".join(b"%x\r\n%b\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"


# -- servers ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(upstream: ServerThread) -> Iterator[GatewayServerThread]:
    """The gateway's HTTP/1.1 server with a short keep-alive timeout, for the whole module."""
    app, invoker = gateway_app(upstream)
    with GatewayServerThread(app, keep_alive_timeout=KEEP_ALIVE_TIMEOUT) as server:
        yield server
    close_invoker(invoker)


@pytest.fixture
def stoppable(upstream: ServerThread) -> Iterator[GatewayServerThread]:
    """A server of its own, for a test that shuts it down."""
    app, invoker = gateway_app(upstream)
    server = GatewayServerThread(app, keep_alive_timeout=30.0, graceful_timeout=60.0)
    with server:
        yield server
    close_invoker(invoker)


def connect(server: GatewayServerThread) -> Connection:
    return Connection(server.port)


def assert_serves(server: GatewayServerThread) -> None:
    """The server still answers a plain request on a new connection."""
    with connect(server) as conn:
        conn.send(request("GET", "/rest/test/fixed"))
        response = conn.response()
    assert (response.status, response.body) == (200, b"a fixed body")


# -- keep-alive and pipelining ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "status"),
    [
        pytest.param("/rest/test/", 200, id="rest-mock"),
        pytest.param("/http/pets/dog/1", 200, id="http-api-lambda"),
        pytest.param("/rest/test/upstream/pets/1", 200, id="rest-http-proxy-streamed"),
        pytest.param("/rest/test/nowhere", 403, id="rest-gateway-error"),
    ],
)
def test_keep_alive_serves_several_requests_on_one_connection(
    served: GatewayServerThread, target: str, status: int
) -> None:
    with connect(served) as conn:
        for _ in range(3):
            conn.send(request("GET", target))
            response = conn.response()
            assert response.status == status, response.body
            assert response.header("connection") == "keep-alive"


PIPELINE = [
    (request("GET", "/rest/test/pets/1"), "GET", 200, b'"petId": "1"'),
    (respond("/http/respond", {"statusCode": 201, "body": "second"}), "POST", 201, b"second"),
    (request("DELETE", "/rest/test/any"), "DELETE", 204, b""),
    (request("GET", "/rest/test/upstream/stream"), "GET", 200, b"one,two,three"),
    (request("HEAD", "/rest/test/fixed"), "HEAD", 200, b""),
    (request("POST", "/rest/test/any", body=b"fifth body"), "POST", 200, b'"body": "fifth body"'),
    (request("GET", "/http/pets/dog/7"), "GET", 200, b'"id": "7"'),
]


@pytest.mark.parametrize(
    "repeat",
    [
        pytest.param(1, id="seven-requests"),
        pytest.param(6, id="42-requests-past-the-queue-limit"),
    ],
)
def test_pipelined_requests_are_answered_in_order(served: GatewayServerThread, repeat: int) -> None:
    pipeline = PIPELINE * repeat
    with connect(served) as conn:
        conn.send(b"".join(raw for raw, *_ in pipeline))
        for index, (_, method, status, expected) in enumerate(pipeline):
            response = conn.response(method)
            assert response.status == status, (index, response.body)
            assert expected in response.body, (index, response.body)
            assert response.header("connection") == "keep-alive"
        conn.send(request("GET", "/rest/test/fixed"))
        assert conn.response().body == b"a fixed body"


@pytest.mark.parametrize(
    ("raw", "connection", "stays_open"),
    [
        pytest.param(request("GET", "/rest/test/fixed", version="1.0"), "close", False, id="http-1.0"),
        pytest.param(
            request("GET", "/rest/test/fixed", [("Connection", "close")]),
            "close",
            False,
            id="connection-close",
        ),
        pytest.param(
            request("GET", "/rest/test/fixed", [("connection", "Close")]), "close", False, id="close-any-case"
        ),
        pytest.param(
            request("GET", "/rest/test/fixed", [("Connection", "keep-alive")], version="1.0"),
            "keep-alive",
            True,
            id="http-1.0-keep-alive",
        ),
        pytest.param(request("GET", "/rest/test/fixed"), "keep-alive", True, id="http-1.1"),
    ],
)
def test_connection_closes_when_the_client_asks(
    served: GatewayServerThread, raw: bytes, connection: str, stays_open: bool
) -> None:
    with connect(served) as conn:
        conn.send(raw)
        response = conn.response()
        assert (response.status, response.body) == (200, b"a fixed body")
        assert response.header("connection") == connection
        if stays_open:
            conn.send(raw)
            assert conn.response().body == b"a fixed body"
        else:
            with contextlib.suppress(OSError):  # a request after it is not answered
                conn.send(request("GET", "/rest/test/fixed"))
            assert conn.closed()


def test_response_after_connection_close_ends_the_pipeline(served: GatewayServerThread) -> None:
    """RFC 9112 §9.6: a server that sends ``close`` answers nothing after it."""
    with connect(served) as conn:
        conn.send(
            request("GET", "/rest/test/fixed", [("Connection", "close")]) + request("GET", "/rest/test/fixed")
        )
        assert conn.response().header("connection") == "close"
        assert conn.closed()


# -- request bodies -----------------------------------------------------------------------------------

BINARY = bytes(range(256)) * 40  # CR, LF, NUL and every other byte, 10 KB
#: a binary media type both ways: the gateway base64-encodes the body and decodes the response
OCTETS = [("Content-Type", "application/octet-stream"), ("Accept", "application/octet-stream")]


@pytest.mark.parametrize(
    ("headers", "parts"),
    [
        pytest.param([("Content-Length", str(len(BINARY)))], [BINARY], id="content-length"),
        pytest.param(
            [("Content-Length", str(len(BINARY)))],
            [BINARY[:1], BINARY[1:5000], BINARY[5000:]],
            id="content-length-in-several-writes",
        ),
        pytest.param(
            [("Transfer-Encoding", "chunked")],
            [chunked(BINARY[:100], BINARY[100:4096], BINARY[4096:])],
            id="chunked",
        ),
        pytest.param(
            [("Transfer-Encoding", "chunked")],
            [b"%x\r\n" % len(BINARY), BINARY[:7], BINARY[7:], b"\r\n0\r", b"\n\r\n"],
            id="chunked-split-across-writes",
        ),
        pytest.param(
            [("Transfer-Encoding", "chunked")],
            [b"%x;ext=1\r\n%b\r\n0\r\nX-Trailer: t\r\n\r\n" % (len(BINARY), BINARY)],
            id="chunked-with-extension-and-trailer",
        ),
    ],
)
def test_request_body_reaches_the_function_intact(
    served: GatewayServerThread, headers: list[tuple[str, str]], parts: list[bytes]
) -> None:
    """The binary route's function returns the (base64) body the gateway gave it; the gateway
    decodes it: the response is the request body byte for byte."""
    head = request("POST", "/rest/test/binary", [*OCTETS, *headers])
    with connect(served) as conn:
        conn.send(head)
        for part in parts:
            conn.send(part)
        response = conn.response()
    assert response.status == 200, response.body
    assert response.body == BINARY


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        pytest.param([], "plain text ✓".encode(), "plain text ✓", id="content-length"),
        pytest.param([("Transfer-Encoding", "chunked")], chunked(b"ab", "c✓".encode()), "abc✓", id="chunked"),
        pytest.param([("Transfer-Encoding", "chunked")], chunked(), None, id="empty-chunked"),
        pytest.param([("Content-Length", "0")], b"", None, id="empty-content-length"),
    ],
)
def test_lambda_event_body(
    served: GatewayServerThread, headers: list[tuple[str, str]], body: bytes, expected: str | None
) -> None:
    with connect(served) as conn:
        conn.send(request("POST", "/rest/test/any", [("Content-Type", "text/plain"), *headers], body))
        response = conn.response()
    assert response.status == 200, response.body
    assert response.json()["body"] == expected


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("Expect", "100-continue", id="expect"),
        pytest.param("eXPECT", "100-Continue", id="any-case"),
    ],
)
def test_expect_100_continue(served: GatewayServerThread, name: str, value: str) -> None:
    head = request("POST", "/rest/test/binary", [*OCTETS, ("Content-Length", "5"), (name, value)])
    with connect(served) as conn:
        conn.send(head)
        interim = conn.response()
        assert interim.head == b"HTTP/1.1 100 Continue"
        conn.send(b"hello")
        response = conn.response()
    assert (response.status, response.body) == (200, b"hello")


def test_expect_100_continue_from_an_http_1_0_client_is_ignored(served: GatewayServerThread) -> None:
    """RFC 9110 §10.1.1: a server MUST ignore a 100-continue expectation in an HTTP/1.0 request."""
    raw = request("POST", "/rest/test/binary", [*OCTETS, ("Expect", "100-continue")], b"hello", version="1.0")
    with connect(served) as conn:
        conn.send(raw)
        response = conn.response()
    assert (response.status, response.body) == (200, b"hello")


def test_expect_100_continue_behind_a_request_in_flight(served: GatewayServerThread) -> None:
    """Pipelined behind a slow request, the ``100 Continue`` comes once that one is answered (not
    in the middle of its response)."""
    head = request(
        "POST", "/rest/test/binary", [*OCTETS, ("Content-Length", "5"), ("Expect", "100-continue")]
    )
    with connect(served) as conn:
        conn.send(request("GET", "/rest/test/slow") + head)
        assert conn.response().status == 504
        assert conn.response().head == b"HTTP/1.1 100 Continue"
        conn.send(b"hello")
        response = conn.response()
    assert (response.status, response.body) == (200, b"hello")


# -- server-level refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"NOT HTTP AT ALL\r\n\r\n", id="garbage"),
        pytest.param(
            b"GET /rest/test/fixed HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n", id="header-without-colon"
        ),
        pytest.param(
            b"GET /rest/test/fixed HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n", id="space-in-header-name"
        ),
        pytest.param(b"POST /rest/test/any HTTP/1.1\r\nContent-Length: abc\r\n\r\n", id="bad-content-length"),
        pytest.param(
            b"POST /rest/test/any HTTP/1.1\r\nContent-Length: 3\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            id="content-length-and-chunked",
        ),
        pytest.param(
            b"POST /rest/test/any HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", id="bad-chunk-size"
        ),
        pytest.param(b"GET /rest/test/fixed HTTP/1.1\r\nHost: a\x00b\r\n\r\n", id="nul-in-header"),
        pytest.param(
            b"POST /rest/test/any HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            id="two-content-lengths",
        ),
        pytest.param(
            b"POST /rest/test/any HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n"
            b"Transfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            id="upgrade-with-unknown-transfer-coding",
        ),
        pytest.param(
            b"POST /rest/test/any HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            b"Transfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            id="upgrade-with-chunked-not-last",
        ),
    ],
)
def test_malformed_request_is_400_and_closed(served: GatewayServerThread, raw: bytes) -> None:
    with connect(served) as conn:
        conn.send(raw)
        response = conn.response()
        assert (response.status, response.body) == (400, b"Bad Request")
        assert response.header("connection") == "close"
        assert conn.closed()
    assert_serves(served)


def test_malformed_request_behind_pipelined_ones(served: GatewayServerThread) -> None:
    """The requests before the bad one are answered in order, then the 400, then the close: one
    response per request, none after a ``Connection: close``."""
    with connect(served) as conn:
        conn.send(
            request("GET", "/rest/test/fixed")
            + request("GET", "/rest/test/slow")  # answered after the bad request is parsed
            + b"GARBAGE\r\n\r\n"
        )
        first, second, third = conn.response(), conn.response(), conn.response()
        assert [r.status for r in (first, second, third)] == [200, 504, 400]
        assert [r.header("connection") for r in (first, second, third)] == [
            "keep-alive",
            "keep-alive",
            "close",
        ]
        assert conn.closed()


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(request("GET", "/rest/test/fixed", [("X-Big", "v" * 70_000)]), id="one-big-header"),
        pytest.param(
            request("GET", "/rest/test/fixed", [(f"X-H{i}", "v" * 40) for i in range(2000)]),
            id="many-headers",
        ),
        pytest.param(request("GET", "/rest/test/fixed?" + "q" * 70_000), id="long-target"),
        pytest.param(
            b"GET /rest/test/fixed?" + b"q" * 70_000 + b" HTTP/1.0\r\n\r\n", id="long-target-without-headers"
        ),
    ],
)
def test_oversize_head_is_431(served: GatewayServerThread, raw: bytes) -> None:
    with connect(served) as conn:
        conn.send(raw)
        response = conn.response()
        assert (response.status, response.body) == (431, b"Request Header Fields Too Large")
        assert response.header("connection") == "close"
        assert conn.closed()
    assert_serves(served)


def send_endlessly(conn: Connection, data: bytes, times: int) -> None:
    for _ in range(times):
        conn.send(data)


def test_endless_header_line_is_431(served: GatewayServerThread) -> None:
    """A head that never ends is refused once it passes the limit, not buffered without bound."""
    with connect(served) as conn:
        conn.send(b"GET /rest/test/fixed HTTP/1.1\r\nX-Endless: ")
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            send_endlessly(conn, b"v" * 65536, times=1000)  # 64 MB, unless the server refuses first
        with contextlib.suppress(ConnectionResetError):  # a reset (unread data at close) may lose it
            assert conn.response().status == 431
    assert_serves(served)


@pytest.mark.parametrize(
    ("target", "expected", "framing"),
    [
        pytest.param(
            "/rest/test/respond", b'{"message":"Request Too Long"}', "length", id="rest-content-length"
        ),
        pytest.param("/rest/test/respond", b'{"message":"Request Too Long"}', "chunked", id="rest-chunked"),
        pytest.param(
            "/http/respond", b'{"message":"Request Entity Too Large"}', "length", id="http-content-length"
        ),
        pytest.param(
            "/http/respond", b'{"message":"Request Entity Too Large"}', "chunked", id="http-chunked"
        ),
    ],
)
def test_body_over_10_mb_is_413_and_the_connection_lives_on(
    served: GatewayServerThread, target: str, expected: bytes, framing: str
) -> None:
    body = b"x" * (TEN_MB + 1)
    if framing == "length":
        raw = request("POST", target, [("Content-Type", "text/plain")], body)
    else:
        raw = request(
            "POST",
            target,
            [("Content-Type", "text/plain"), ("Transfer-Encoding", "chunked")],
            chunked(body[:1000], body[1000:]),
        )
    with connect(served) as conn:
        conn.send(raw)
        response = conn.response()
        assert (response.status, response.body) == (413, expected)
        assert response.header("connection") == "keep-alive"  # the body was read (drained)
        conn.send(request("GET", "/rest/test/fixed"))
        assert conn.response().body == b"a fixed body"


def test_body_declared_over_10_mb_with_expect_is_refused_before_it_is_sent(
    served: GatewayServerThread,
) -> None:
    """No ``100 Continue`` for a body that would be refused: the 413 comes at once (RFC 9110
    §10.1.1), ``keep-alive`` says the server reads on; a client that sends the body anyway has it
    discarded and the connection serves the next request."""
    head = request(
        "POST",
        "/http/respond",
        [("Content-Type", "text/plain"), ("Content-Length", str(TEN_MB + 1)), ("Expect", "100-continue")],
    )
    with connect(served) as conn:
        conn.send(head)
        response = conn.response()
        assert (response.status, response.body) == (413, b'{"message":"Request Entity Too Large"}')
        assert response.header("connection") == "keep-alive"
        conn.send(b"x" * (TEN_MB + 1) + request("GET", "/rest/test/fixed"))
        assert conn.response().body == b"a fixed body"


def test_many_pipelined_requests_are_all_answered_in_order(served: GatewayServerThread) -> None:
    """2,000 pipelined requests (far more than the bytes parsed ahead allow): reading pauses and
    resumes as they are answered; none is lost or reordered."""
    raw = b"".join(request("GET", f"/rest/test/pets/{i}") for i in range(2000))
    with connect(served) as conn:
        conn.send(raw)
        for i in range(2000):
            response = conn.response()
            assert response.status == 200
            assert f'"petId": "{i}"'.encode() in response.body, i


# -- responses ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "length"),
    [
        pytest.param("/rest/test/fixed", "12", id="mock"),
        pytest.param("/rest/test/upstream/stream", None, id="streamed-proxy-chunked"),
    ],
)
def test_head_has_no_body_but_the_get_length(
    served: GatewayServerThread, target: str, length: str | None
) -> None:
    """The pipelined GET after the HEAD parses only if the HEAD response has no body bytes."""
    with connect(served) as conn:
        conn.send(request("HEAD", target) + request("GET", "/rest/test/fixed"))
        head = conn.response("HEAD")
        assert head.status == 200
        assert head.header("content-length") == length
        after = conn.response()
        assert (after.status, after.body) == (200, b"a fixed body")


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        pytest.param(respond("/http/respond", {"statusCode": 204}), 204, id="http-lambda-204"),
        pytest.param(
            respond("/http/respond", {"statusCode": 204, "body": "must not be sent"}),
            204,
            id="http-lambda-204-with-body",
        ),
        pytest.param(
            respond("/rest/test/respond", {"statusCode": 204, "body": ""}), 204, id="rest-lambda-204"
        ),
        pytest.param(
            respond("/rest/test/respond", {"statusCode": 304, "body": "must not be sent"}),
            304,
            id="rest-lambda-304",
        ),
        pytest.param(request("DELETE", "/rest/test/any"), 204, id="rest-mock-204"),
        pytest.param(request("GET", "/rest/test/upstream/no-content"), 204, id="http-proxy-204-with-length"),
    ],
)
def test_no_body_status_has_neither_body_nor_length(
    served: GatewayServerThread, raw: bytes, status: int
) -> None:
    with connect(served) as conn:
        conn.send(raw + request("GET", "/rest/test/fixed"))
        response = conn.response()
        assert response.status == status
        assert response.header("content-length") is None
        assert response.header("transfer-encoding") is None
        after = conn.response()  # parses only if no body bytes came with the 204/304
        assert (after.status, after.body) == (200, b"a fixed body")


INJECTED = "a\r\nInjected: yes"


@pytest.mark.parametrize(
    ("target", "result", "status", "body"),
    [
        pytest.param(
            "/rest/test/respond", {"headers": {"X-Bad": INJECTED}}, 502, REST_502, id="rest-crlf-in-value"
        ),
        pytest.param(
            "/rest/test/respond",
            {"headers": {"X-Bad\r\nInjected": "yes"}},
            502,
            REST_502,
            id="rest-crlf-in-name",
        ),
        pytest.param(
            "/rest/test/respond",
            {"multiValueHeaders": {"X-Bad": ["fine", INJECTED]}},
            502,
            REST_502,
            id="rest-crlf-in-multi-value",
        ),
        pytest.param(
            "/rest/test/respond", {"headers": {"X-Bad": "a\nInjected: yes"}}, 502, REST_502, id="rest-bare-lf"
        ),
        pytest.param(
            "/rest/test/respond", {"headers": {"X-Bad": "a\rInjected: yes"}}, 502, REST_502, id="rest-bare-cr"
        ),
        pytest.param(
            "/rest/test/respond", {"headers": {"X-Bad": "a\0Injected"}}, 502, REST_502, id="rest-nul"
        ),
        pytest.param(
            "/http/respond", {"headers": {"X-Bad": INJECTED}}, 500, HTTP_500, id="http-crlf-in-value"
        ),
        pytest.param(
            "/http/respond", {"cookies": ["a=1", f"b={INJECTED}"]}, 500, HTTP_500, id="http-crlf-in-cookie"
        ),
        pytest.param(
            "/http/respond-v1", {"headers": {"X-Bad": INJECTED}}, 500, HTTP_500, id="http-payload-1.0-crlf"
        ),
    ],
)
def test_header_with_cr_lf_or_nul_is_the_integration_failure(
    served: GatewayServerThread, target: str, result: dict[str, Any], status: int, body: bytes
) -> None:
    with connect(served) as conn:
        conn.send(respond(target, {"statusCode": 200, "body": "original", **result}))
        response = conn.response()
        assert (response.status, response.body) == (status, body)
        assert b"Injected" not in response.head
        assert b"original" not in response.body
        assert response.values("x-amzn-RequestId") or response.values("apigw-requestid")
        conn.send(request("GET", "/rest/test/fixed"))  # the connection is still in step
        assert conn.response().body == b"a fixed body"


def test_integration_failure_for_a_bad_header_has_one_request_id(served: GatewayServerThread) -> None:
    with connect(served) as conn:
        conn.send(respond("/rest/test/respond", {"statusCode": 200, "headers": {"X-Bad": INJECTED}}))
        response = conn.response()
    assert response.status == 502
    assert len(response.values("x-amzn-RequestId")) == 1
    assert len(response.values("x-amz-apigw-id")) == 1


@pytest.mark.parametrize(
    ("target", "status", "expected_status", "body"),
    [
        pytest.param("/rest/test/respond", 100, 502, REST_502, id="rest-100"),
        pytest.param("/rest/test/respond", 101, 502, REST_502, id="rest-101"),
        pytest.param("/http/respond", 103, 500, HTTP_500, id="http-103"),
        pytest.param("/http/respond", 199, 500, HTTP_500, id="http-199"),
    ],
)
def test_interim_status_from_a_function_is_the_integration_failure(
    served: GatewayServerThread, target: str, status: int, expected_status: int, body: bytes
) -> None:
    """A 1xx is an interim response on the wire: written as the final one, the client would wait for
    another. The server cannot write it, so the request gets the API's integration failure."""
    with connect(served) as conn:
        conn.send(respond(target, {"statusCode": status, "body": "original"}))
        response = conn.response()
        assert (response.status, response.body) == (expected_status, body)
        conn.send(request("GET", "/rest/test/fixed"))
        assert conn.response().body == b"a fixed body"


def test_header_names_are_written_as_spelled(served: GatewayServerThread) -> None:
    result = {
        "statusCode": 200,
        "headers": {"tesT-Multi": "1", "X-lower-UPPER": "v"},
        "body": "spelled",
    }
    with connect(served) as conn:
        conn.send(respond("/rest/test/respond", result))
        rest = conn.response()
        conn.send(respond("/http/respond", result))
        http = conn.response()
    assert b"\r\ntesT-Multi: 1\r\n" in rest.head
    assert b"\r\nX-lower-UPPER: v\r\n" in rest.head
    assert b"\r\nx-amzn-RequestId: " in rest.head
    assert b"\r\nx-amz-apigw-id: " in rest.head
    assert b"\r\ntesT-Multi: 1\r\n" in http.head
    assert b"\r\napigw-requestid: " in http.head


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="plain"),
        pytest.param({"Content-Length": "999"}, id="function-content-length-wrong"),
        pytest.param({"content-length": "4", "Content-Length": "4"}, id="function-content-length-twice"),
        pytest.param({"Connection": "close"}, id="function-connection-close"),
        pytest.param({"Transfer-Encoding": "chunked"}, id="function-transfer-encoding"),
        pytest.param({"Date": "Thu, 01 Jan 1970 00:00:00 GMT"}, id="function-date"),
    ],
)
def test_server_writes_date_length_and_connection_once(
    served: GatewayServerThread, headers: dict[str, str]
) -> None:
    with connect(served) as conn:
        conn.send(respond("/rest/test/respond", {"statusCode": 200, "headers": headers, "body": "four"}))
        response = conn.response()
        assert (response.status, response.body) == (200, b"four")
        assert response.header("content-length") == "4"
        assert response.header("transfer-encoding") is None
        assert response.header("connection") == "keep-alive"
        date = response.header("date")
        assert date is not None
        assert date.endswith(" GMT")
        assert "1970" not in date
        conn.send(request("GET", "/rest/test/fixed"))
        assert conn.response().body == b"a fixed body"


def test_streamed_proxy_response_arrives_complete(served: GatewayServerThread) -> None:
    with connect(served) as conn:
        conn.send(request("GET", "/rest/test/upstream/stream"))
        response = conn.response()
        assert response.status == 200
        assert response.header("transfer-encoding") == "chunked"
        assert response.body == b"one,two,three"
        conn.send(request("POST", "/rest/test/upstream/pets/1", body=b"proxied"))
        proxied = conn.response()
    assert proxied.status == 201
    assert proxied.json()["body"] == "proxied"


def test_slow_reader_gets_a_large_streamed_body_complete(served: GatewayServerThread) -> None:
    """8 MB from the upstream to a client that reads late: writing waits for the client (flow
    control) and nothing is lost."""
    with connect(served) as conn:
        conn.send(request("GET", "/rest/test/upstream/big"))
        time.sleep(0.5)  # not reading yet: the server's writes back up
        response = conn.response()
        assert response.body == BIG_BODY
        conn.send(request("GET", "/rest/test/fixed"))
        assert conn.response().body == b"a fixed body"


def test_client_gone_mid_stream_releases_the_upstream(served: GatewayServerThread) -> None:
    """An endless upstream stream (server-sent events, say) ends when the client goes away."""
    ENDLESS_EVENTS.clear()
    conn = connect(served)
    conn.send(request("GET", "/rest/test/upstream/endless"))
    while b"tick" not in conn.buffer:
        conn._more()
    conn.sock.close()
    _wait_until(lambda: ENDLESS_EVENTS, "the upstream's stream to its client (the gateway) closed")
    assert_serves(served)


def test_upstream_failing_mid_body_cuts_the_response(served: GatewayServerThread) -> None:
    """The head is out: the only honest signal left is an incomplete body (no terminating chunk)
    and the close; no second response inside the first."""
    with connect(served) as conn:
        conn.send(request("GET", "/rest/test/upstream/broken"))
        conn._until_eof()
    head, _, body = conn.buffer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nTransfer-Encoding: chunked\r\n" in head
    assert body in (b"", b"8\r\npartial,\r\n")
    assert_serves(served)


def test_httpx_client_over_the_server(served: GatewayServerThread) -> None:
    with httpx.Client(base_url=served.url, timeout=PATIENCE) as client:
        streamed = client.get("/rest/test/upstream/stream")
        posted = client.post("/rest/test/binary", content=BINARY, headers=dict(OCTETS))
        event = client.get("/http/pets/dog/3").json()
    assert streamed.content == b"one,two,three"
    assert posted.content == BINARY
    assert event["pathParameters"] == {"id": "3"}


UPGRADE = [
    ("Connection", "Upgrade, HTTP2-Settings"),
    ("Upgrade", "h2c"),
    ("HTTP2-Settings", "AAMAAABkAAQAAP__"),
]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(request("GET", "/rest/test/fixed", UPGRADE), b"a fixed body", id="h2c-get"),
        pytest.param(
            request("POST", "/rest/test/binary", [*OCTETS, *UPGRADE], BINARY), BINARY, id="h2c-post-with-body"
        ),
        pytest.param(
            request("POST", "/rest/test/binary", [*OCTETS, *UPGRADE, ("Transfer-Encoding", "chunked")])
            + chunked(BINARY[:10], BINARY[10:]),
            BINARY,
            id="h2c-post-chunked",
        ),
        pytest.param(
            request("GET", "/rest/test/fixed", [("Connection", "Upgrade"), ("Upgrade", "websocket")]),
            b"a fixed body",
            id="websocket",
        ),
    ],
)
def test_upgrade_request_is_served_as_http_1_1(
    served: GatewayServerThread, raw: bytes, expected: bytes
) -> None:
    """No WebSocket or h2c on REST/HTTP API endpoints: the request is answered as HTTP/1.1 and the
    connection keeps serving HTTP/1.1 requests."""
    with connect(served) as conn:
        conn.send(raw)
        response = conn.response()
        assert (response.status, response.body) == (200, expected)
        conn.send(request("GET", "/rest/test/fixed"))
        assert conn.response().body == b"a fixed body"
        conn.send(raw + request("GET", "/rest/test/fixed"))  # pipelined behind it
        assert conn.response().body == expected
        assert conn.response().body == b"a fixed body"


@pytest.mark.parametrize(
    ("target", "path", "query"),
    [
        pytest.param("http://127.0.0.1/rest/test/pets/1?x=1", "/pets/1", {"x": "1"}, id="absolute-form"),
        pytest.param("HTTP://example.com:8080/rest/test/pets/2", "/pets/2", None, id="absolute-form-port"),
        pytest.param("/rest/test/pets/3?x=3", "/pets/3", {"x": "3"}, id="origin-form"),
    ],
)
def test_request_target_forms(
    served: GatewayServerThread, target: str, path: str, query: dict[str, str] | None
) -> None:
    """RFC 9112 §3.2.2: a server MUST accept the absolute-form; the path is what follows the authority."""
    with connect(served) as conn:
        conn.send(request("GET", target))
        response = conn.response()
    assert response.status == 200, response.body
    event = response.json()
    assert (event["path"], event["queryStringParameters"]) == (path, query)


def test_client_header_names_reach_a_payload_1_0_event_as_written(served: GatewayServerThread) -> None:
    """docs/aws-reference.md §2.1: payload 1.0 ``headers`` keep the client's spelling."""
    with connect(served) as conn:
        conn.send(
            request(
                "GET", "/rest/test/echo", [("tEsT-HEADeR", "aValUE"), ("X-Multi", "one"), ("X-Multi", "two")]
            )
        )
        event = conn.response().json()
    assert event["headers"]["tEsT-HEADeR"] == "aValUE"
    assert event["multiValueHeaders"]["X-Multi"] == ["one", "two"]


# -- connection lifetime ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "after_a_request", [pytest.param(True, id="after-a-response"), pytest.param(False, id="never-used")]
)
def test_idle_connection_is_closed_after_the_keep_alive_timeout(
    served: GatewayServerThread, after_a_request: bool
) -> None:
    with connect(served) as conn:
        if after_a_request:
            conn.send(request("GET", "/rest/test/fixed"))
            assert conn.response().header("connection") == "keep-alive"
        assert conn.closed()  # within PATIENCE (10 x the timeout); no timing assertion


@pytest.mark.parametrize(
    "partial",
    [
        pytest.param(b"GET /rest/test/fix", id="in-the-request-line"),
        pytest.param(b"GET /rest/test/fixed HTTP/1.1\r\nHost: x\r\nX-Half: ", id="in-the-headers"),
        pytest.param(
            b"POST /rest/test/any HTTP/1.1\r\nContent-Length: 100\r\n\r\nonly ten..", id="in-the-body"
        ),
    ],
)
def test_request_stalled_past_the_keep_alive_timeout_is_408_and_closed(
    served: GatewayServerThread, partial: bytes
) -> None:
    """A client that stops sending half-way through its request (gone without a FIN, or slowloris)
    does not hold the connection forever: 408 and the close, like an idle one."""
    with connect(served) as conn:
        conn.send(partial)
        response = conn.response()  # within PATIENCE (10 x the timeout); no timing assertion
        assert (response.status, response.body) == (408, b"Request Timeout")
        assert response.header("connection") == "close"
        assert conn.closed()


@pytest.mark.parametrize(
    "partial",
    [
        pytest.param(b"GET /rest/test/fix", id="in-the-request-line"),
        pytest.param(b"POST /rest/test/any HTTP/1.1\r\nHost: x\r\nContent-Le", id="in-the-headers"),
        pytest.param(
            b"POST /rest/test/any HTTP/1.1\r\nContent-Length: 100\r\n\r\nonly ten..", id="in-the-body"
        ),
        pytest.param(request("GET", "/rest/test/slow"), id="waiting-for-the-function"),
        pytest.param(request("GET", "/rest/test/upstream/slow"), id="waiting-for-the-upstream"),
        pytest.param(request("GET", "/rest/test/upstream/stream"), id="streamed-response"),
        pytest.param(
            request("POST", "/rest/test/respond", body=b"x" * 300_000)[:200_000], id="in-a-large-body"
        ),
    ],
)
@pytest.mark.parametrize("reset", [pytest.param(False, id="close"), pytest.param(True, id="reset")])
def test_client_gone_mid_request_leaves_the_server_serving(
    served: GatewayServerThread, partial: bytes, reset: bool, caplog: pytest.LogCaptureFixture
) -> None:
    conn = connect(served)
    conn.send(partial)
    if reset:  # RST instead of FIN
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    conn.sock.close()
    assert_serves(served)
    _wait_until(lambda: not served.server.tasks, "the abandoned request answered into the void")
    assert served.thread.is_alive()
    errors = [
        r
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name in ("asyncio", "gatehold.gateway.http")
    ]
    assert errors == []


@pytest.mark.parametrize(
    ("raw", "statuses"),
    [
        pytest.param(request("GET", "/rest/test/fixed"), [200], id="one-request"),
        pytest.param(request("GET", "/rest/test/slow"), [504], id="slow-function"),
        pytest.param(
            request("GET", "/rest/test/slow")
            + request("GET", "/rest/test/fixed")
            + request("DELETE", "/rest/test/any"),
            [504, 200, 204],
            id="pipelined",
        ),
    ],
)
def test_client_half_close_still_gets_its_answers(
    served: GatewayServerThread, raw: bytes, statuses: list[int]
) -> None:
    """A client that shuts down its sending side after its requests (``shutdown(SHUT_WR)``, some
    netcat builds) gets every answer, then the close."""
    with connect(served) as conn:
        conn.send(raw)
        conn.sock.shutdown(socket.SHUT_WR)
        assert [conn.response().status for _ in statuses] == statuses
        assert conn.closed()


def _wait_until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.02)


def refused(server: GatewayServerThread) -> bool:
    try:
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def test_graceful_shutdown(stoppable: GatewayServerThread) -> None:
    """In flight: finishes, says ``Connection: close``, closes. Idle keep-alive: closed. New
    connections: refused. The server stops."""
    idle = connect(stoppable)
    idle.send(request("GET", "/rest/test/fixed"))
    assert idle.response().header("connection") == "keep-alive"
    slow = connect(stoppable)
    slow.send(request("GET", "/rest/test/upstream/slow"))  # the upstream answers after 2 s
    _wait_until(lambda: stoppable.server.tasks, "the slow request in flight")

    stoppable.server.should_exit = True
    assert idle.closed()

    _wait_until(lambda: refused(stoppable), "new connections refused")
    response = slow.response()
    assert response.status == 200
    assert response.json()["path"] == "/slow"
    assert response.header("connection") == "close"
    assert slow.closed()
    stoppable.stop()
    idle.sock.close()
    slow.sock.close()


def test_graceful_shutdown_lets_a_request_being_read_finish(stoppable: GatewayServerThread) -> None:
    """A client half-way through sending its request when the server stops gets its answer."""
    with connect(stoppable) as conn:
        conn.send(request("POST", "/rest/test/binary", [*OCTETS, ("Content-Length", "11")]) + b"hello")
        _wait_until(
            lambda: any(c.idle_since is None for c in stoppable.server.connections), "the request being read"
        )
        stoppable.server.should_exit = True
        _wait_until(lambda: refused(stoppable), "new connections refused")
        conn.send(b" world")
        response = conn.response()
        assert (response.status, response.body) == (200, b"hello world")
        assert response.header("connection") == "close"
        assert conn.closed()
    stoppable.stop()


def test_shutdown_while_a_pipeline_is_queued(stoppable: GatewayServerThread) -> None:
    """The request in flight is answered (``close``); the queued ones are not: the client retries them."""
    with connect(stoppable) as conn:
        conn.send(request("GET", "/rest/test/upstream/slow") + request("GET", "/rest/test/fixed"))
        _wait_until(lambda: stoppable.server.tasks, "the slow request in flight")
        stoppable.server.should_exit = True
        response = conn.response()
        assert (response.status, response.header("connection")) == (200, "close")
        assert conn.closed()
    stoppable.stop()


def test_function_response_is_a_base64_body(served: GatewayServerThread) -> None:
    """A binary response (isBase64Encoded) goes out as raw bytes with their own length."""
    result = {
        "statusCode": 200,
        "headers": {"Content-Type": "application/octet-stream"},
        "body": base64.b64encode(BINARY).decode(),
        "isBase64Encoded": True,
    }
    with connect(served) as conn:
        conn.send(respond("/http/respond", result))
        response = conn.response()
    assert response.body == BINARY
    assert response.header("content-length") == str(len(BINARY))
