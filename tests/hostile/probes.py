"""The probes of issue 12's table, each a function from a running server to what it observed.

The tests (tests/hostile/test_*.py) assert what Gatehold's server must do; ``bench/hostile_probes.py``
runs the same probes against uvicorn (httptools, uvloop) serving the same app and prints both, for
docs/gateway.md. A probe never asserts; it reports an :class:`Outcome`.
"""

from __future__ import annotations

import contextlib
import math
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tests.hostile.wire import (
    MB,
    PATIENCE,
    Client,
    Closed,
    Response,
    Server,
    chunked,
    refused,
    request,
    sending,
    settle,
)

#: the paths each app offers the probes: a cheap GET, a POST that reads its body, a large GET
PATHS = {
    "gateway": {
        "get": "/rest/test/fixed",
        "post": "/rest/test/size",
        "post_http": "/http/size",
        "blob": "/rest/test/blob?bytes=",
    },
    "idp": {"get": "/.well-known/jwks.json", "post": "/oauth/token", "post_http": "/oauth/token", "blob": ""},
}
FORM = [("Content-Type", "application/x-www-form-urlencoded")]


@dataclass
class Outcome:
    """What a probe saw. ``statuses``: the responses, in order; ``closed``: the server closed the
    connection after them (None: not asked); ``growth_mb``: the server's peak RSS over its RSS before
    the probe; ``left_mb``: its RSS once the probe was over and the server settled, over the same."""

    statuses: list[int] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    closed: bool | None = None
    growth_mb: float = math.nan  # NaN (not measured) fails every bound
    left_mb: float = math.nan
    note: str = ""

    def summary(self) -> str:
        runs: list[str] = []
        for status in self.statuses:
            if runs and runs[-1].split(" x ")[-1] == str(status):
                count = int(runs[-1].split(" x ")[0]) if " x " in runs[-1] else 1
                runs[-1] = f"{count + 1} x {status}"
            else:
                runs.append(str(status))
        parts = [",".join(runs) or "no answer"]
        if self.closed is not None:
            parts.append("closed" if self.closed else "left open")
        if not math.isnan(self.growth_mb):
            parts.append(f"peak +{self.growth_mb:.0f} MB")
        if not math.isnan(self.left_mb):
            parts.append(f"left +{self.left_mb:.0f} MB")
        if self.note:
            parts.append(self.note)
        return "; ".join(parts)


def _statuses(responses: list[Response]) -> list[int]:
    return [r.status for r in responses]


# -- one request, refused ---------------------------------------------------------------------------


def one_shot(server: Server, raw: bytes) -> Outcome:
    """Send ``raw`` and read every answer until the server closes or goes quiet."""
    with Client(server.port, timeout=server.keep_alive + 5) as client:
        client.send(raw)
        responses, closed = client.responses()
    return Outcome(_statuses(responses), closed=closed)


def _head(target: str, lines: list[bytes], method: bytes = b"POST") -> bytes:
    return (
        b"%s %s HTTP/1.1\r\nHost: x\r\n" % (method, target.encode())
        + b"".join(line + b"\r\n" for line in lines)
        + b"\r\n"
    )


def smuggling_shapes(post: str) -> dict[str, bytes]:
    """Request framings that two parsers could read differently (request smuggling)."""
    te = b"Transfer-Encoding: chunked"
    body = b"5\r\nhello\r\n0\r\n\r\n"
    return {
        "content-length-and-chunked": _head(post, [b"Content-Length: 4", te]) + body,
        "chunked-and-content-length": _head(post, [te, b"Content-Length: 4"]) + body,
        "two-content-lengths": _head(post, [b"Content-Length: 5", b"Content-Length: 6"]) + b"hello!",
        "content-length-list": _head(post, [b"Content-Length: 5, 5"]) + b"hello",
        "content-length-plus-sign": _head(post, [b"Content-Length: +5"]) + b"hello",
        "transfer-encoding-xchunked": _head(post, [b"Transfer-Encoding: xchunked"]) + body,
        "chunked-not-last": _head(post, [b"Transfer-Encoding: chunked, identity"]) + body,
        "space-before-colon": _head(post, [b"Transfer-Encoding : chunked"]) + body,
        "obs-fold-transfer-encoding": _head(post, [b"Transfer-Encoding:", b" chunked"]) + body,
        "bare-lf-line-ends": b"POST " + post.encode() + b" HTTP/1.1\nHost: x\nContent-Length: 5\n\nhello",
        "chunk-size-overflow": _head(post, [te]) + b"fffffffffffffffff1\r\nhello\r\n0\r\n\r\n",
        "chunk-without-crlf": _head(post, [te]) + b"5\r\nhelloXX0\r\n\r\n",
        "upgrade-with-xchunked": _head(
            post, [b"Connection: Upgrade", b"Upgrade: h2c", b"Transfer-Encoding: xchunked"]
        )
        + body,
        "upgrade-with-length-and-chunked": _head(
            post, [b"Connection: Upgrade", b"Upgrade: websocket", b"Content-Length: 4", te]
        )
        + body,
        "upgrade-with-two-lengths": _head(
            post, [b"Connection: Upgrade", b"Upgrade: h2c", b"Content-Length: 5", b"Content-Length: 6"]
        )
        + b"hello!",
    }


def invalid_header_bytes(get: str) -> dict[str, bytes]:
    """Bytes that have no place in a header."""
    return {
        "nul-in-value": _head(get, [b"X-A: a\x00b"], b"GET"),
        "bare-cr-in-value": _head(get, [b"X-A: a\rb"], b"GET"),
        "control-byte-in-value": _head(get, [b"X-A: a\x01b"], b"GET"),
        "del-in-name": _head(get, [b"X-\x7fA: b"], b"GET"),
        "high-byte-in-name": _head(get, [b"X-\xffA: b"], b"GET"),
        "space-in-name": _head(get, [b"X A: b"], b"GET"),
        "empty-name": _head(get, [b": b"], b"GET"),
        "no-colon": _head(get, [b"X-A b"], b"GET"),
    }


def absurd_request_lines(get: str) -> dict[str, bytes]:
    """Request lines no client sends."""
    return {
        "garbage": b"NOT HTTP AT ALL\r\n\r\n",
        "http-9.9": b"GET " + get.encode() + b" HTTP/9.9\r\nHost: x\r\n\r\n",
        "https-as-version": b"GET " + get.encode() + b" HTTPS/1.1\r\nHost: x\r\n\r\n",
        "space-in-target": b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n",
        "nul-in-method": b"G\x00T " + get.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        "nul-in-target": b"GET /a\x00b HTTP/1.1\r\nHost: x\r\n\r\n",
        "extra-field": b"GET " + get.encode() + b" HTTP/1.1 extra\r\nHost: x\r\n\r\n",
        "10-kb-method": b"G" * 10_000 + b" / HTTP/1.1\r\nHost: x\r\n\r\n",
    }


def oversize_head(get: str, size: int = MB) -> dict[str, bytes]:
    """A 1 MB header, and a 1 MB request target."""
    return {
        "1-mb-header": request("GET", get, [("X-Big", "v" * size)]),
        "1-mb-target": request("GET", get + "?" + "q" * size),
        "10000-headers": request("GET", get, [(f"X-H{i}", "v" * 100) for i in range(10_000)]),
    }


def big_head(server: Server, raw: bytes) -> Outcome:
    """A head past any limit: the server may close while it is still being sent."""
    parts = [raw[i : i + 65536] for i in range(0, len(raw), 65536)]
    with Client(server.port, timeout=server.keep_alive + 5) as client, sending(client, parts):
        responses, closed = client.responses()
    return Outcome(_statuses(responses), closed=closed)


# -- clients that take their time -------------------------------------------------------------------


def stalled(server: Server, partial: bytes) -> Outcome:
    """Part of a request, then nothing: the server should answer 408 and close (after its
    keep-alive timeout), not wait for ever."""
    with Client(server.port, timeout=server.keep_alive * 3 + 5) as client:
        client.send(partial)
        responses, closed = client.responses()
    return Outcome(_statuses(responses), closed=closed)


def slowloris(server: Server, get: str, connections: int = 20) -> Outcome:
    """``connections`` clients each sending one more header line every 0.2 s, for up to six
    keep-alive timeouts: a deadline on the whole head ends them while they still trickle; a timer
    reset by every read does not. ``closed``: every one was closed while still sending."""
    trickle_for = server.keep_alive * 6
    clients = [Client(server.port, timeout=trickle_for + 5) for _ in range(connections)]
    answered = [threading.Event() for _ in clients]
    cut_short = [False] * connections
    statuses: list[int] = []

    def trickle(index: int, client: Client) -> None:
        client.send(b"GET " + get.encode() + b" HTTP/1.1\r\nHost: x\r\n")
        deadline = time.monotonic() + trickle_for
        line = 0
        while time.monotonic() < deadline:
            line += 1
            if answered[index].is_set() or not client.send(b"X-Slow-%d: v\r\n" % line):
                cut_short[index] = True
                return
            time.sleep(0.2)

    def read(index: int, client: Client) -> None:
        responses, _ = client.responses()
        statuses.extend(_statuses(responses))
        answered[index].set()

    threads = [
        threading.Thread(target=work, args=(i, c), daemon=True)
        for i, c in enumerate(clients)
        for work in (trickle, read)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(trickle_for + PATIENCE)
    for client in clients:
        client.close()
    ended = sum(cut_short)
    note = f"{ended}/{connections} cut off while sending"
    return Outcome(sorted(set(statuses)), closed=ended == connections, note=note)


def half_closed(server: Server, get: str) -> Outcome:
    """Two requests, then ``shutdown(SHUT_WR)``: both answered, then the close."""
    with Client(server.port) as client:
        client.send(request("GET", get) + request("GET", get))
        client.sock.shutdown(socket.SHUT_WR)
        responses, closed = client.responses()
    return Outcome(_statuses(responses), closed=closed)


def half_closed_mid_request(server: Server, post: str) -> Outcome:
    """Half a body, then ``shutdown(SHUT_WR)``: the request can never complete; the server closes
    (any answer is a 400 or a 408, never a response to half a body)."""
    with Client(server.port, timeout=server.keep_alive * 3 + 5) as client:
        client.send(request("POST", post, [*FORM, ("Content-Length", "100")]) + b"only ten..")
        client.sock.shutdown(socket.SHUT_WR)
        responses, closed = client.responses()
    return Outcome(_statuses(responses), closed=closed)


def idle_keep_alive(server: Server, get: str, used: bool) -> Outcome:
    """A keep-alive connection left idle (after a response, or never used): closed by the server."""
    with Client(server.port, timeout=server.keep_alive * 3 + 5) as client:
        statuses = []
        if used:
            client.send(request("GET", get))
            statuses.append(client.response().status)
        closed = client.closed_by_server()
    return Outcome(statuses, closed=closed)


# -- memory ---------------------------------------------------------------------------------------


def warm(server: Server, target: str) -> None:
    """One small request to the gateway's ``target`` first: what its first use sets up for good
    (the function's environment, imports) is not counted as left behind by a probe."""
    if server.app != "gateway":
        return
    with Client(server.port) as client:
        client.send(request("POST", target, list(FORM), b"warm=1"))
        client.response()


@contextlib.contextmanager
def measured(server: Server, outcome: Outcome, settle_after: bool = True) -> Any:
    """Record the server's peak RSS growth over the block (``growth_mb``) and, once the server
    settles, what is left (``left_mb``)."""
    before = settle(server.rss_mb, quiet=0.5, patience=5)
    server.reset_peak()
    yield
    outcome.growth_mb = server.peak_mb() - before
    if settle_after:
        outcome.left_mb = settle(server.rss_mb, quiet=1.0, patience=8) - before


def pipelined_bodies(
    server: Server, connections: int = 8, depth: int = 16, size: int = 9_500_000, path: str = "post"
) -> Outcome:
    """``connections`` clients each pipelining ``depth`` POSTs of ``size`` bytes (under the 10 MB
    limit), sent without waiting for answers; every answer is read."""
    target = PATHS[server.app][path]
    raw = request("POST", target, [("Content-Type", "text/plain")], b"x" * size)
    warm(server, target)
    outcome = Outcome()
    sizes_ok = 0
    with measured(server, outcome):
        clients = [Client(server.port, timeout=120) for _ in range(connections)]
        results: list[list[Response]] = [[] for _ in clients]

        def read(index: int, client: Client) -> None:
            with contextlib.suppress(Closed, TimeoutError):
                for _ in range(depth):
                    results[index].append(client.response())

        with contextlib.ExitStack() as stack:
            for client in clients:
                stack.enter_context(sending(client, (raw for _ in range(depth))))
            readers = [threading.Thread(target=read, args=(i, c), daemon=True) for i, c in enumerate(clients)]
            for reader in readers:
                reader.start()
            for reader in readers:
                reader.join(300)
        for client in clients:
            client.close()
    for responses in results:
        outcome.statuses += _statuses(responses)
        sizes_ok += sum(r.body == str(size).encode() for r in responses)
    outcome.note = f"{sizes_ok}/{connections * depth} bodies whole"
    return outcome


def unread_responses(server: Server, count: int = 40, size: int = 4_000_000, connections: int = 1) -> Outcome:
    """``count`` pipelined GETs of a ``size``-byte response per connection, never read."""
    target = PATHS[server.app]["blob"] + str(size)
    outcome = Outcome()
    before = server.rss_mb()
    with measured(server, outcome, settle_after=False):
        clients = [Client(server.port) for _ in range(connections)]
        for client in clients:
            client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            client.send(request("GET", target) * count)
        settle(server.peak_mb, quiet=3.0, patience=30)
    for client in clients:
        client.close()
    outcome.left_mb = settle(server.rss_mb, quiet=1.0, patience=8) - before
    with Client(server.port) as probe:
        probe.send(request("GET", PATHS[server.app]["get"]))
        outcome.statuses.append(probe.response().status)
    return outcome


def large_bodies(server: Server, count: int, size: int, path: str = "post") -> Outcome:
    """``count`` POSTs of ``size`` bytes, one connection each, sent in 1 MB writes; every answer read."""
    target = PATHS[server.app][path]
    piece = b"x" * MB
    warm(server, target)
    outcome = Outcome()
    with measured(server, outcome):
        for _ in range(count):
            with Client(server.port, timeout=120) as client:
                head = request("POST", target, [*FORM, ("Content-Length", str(size))])
                parts = [head] + [piece] * (size // MB) + [b"x" * (size % MB)]
                with sending(client, parts):
                    responses, _ = client.responses()
                outcome.statuses += _statuses(responses[:1])
                outcome.bodies += [r.body[:200] for r in responses[:1]]
    return outcome


def large_bodies_kept_alive(server: Server, count: int, size: int, path: str = "post") -> Outcome:
    """``count`` connections each POST ``size`` bytes, read the answer and stay open, idle: what the
    server still holds for them (``left_mb``) is measured before they close."""
    target = PATHS[server.app][path]
    raw = request("POST", target, list(FORM), b"x" * size)
    warm(server, target)
    outcome = Outcome()
    clients = [Client(server.port, timeout=60) for _ in range(count)]
    try:
        with measured(server, outcome):
            for client in clients:
                client.send(raw)
                response = client.response()
                outcome.statuses.append(response.status)
                outcome.bodies.append(response.body[:200])
    finally:
        for client in clients:
            client.close()
    return outcome


def large_chunked_body(server: Server, size: int, path: str = "post") -> Outcome:
    """One chunked POST of ``size`` bytes (no length announced): refused without being kept."""
    target = PATHS[server.app][path]
    warm(server, target)
    outcome = Outcome()
    piece = chunked(b"x" * MB)[:-5]  # one 1 MB chunk, without the last-chunk
    head = request("POST", target, [*FORM, ("Transfer-Encoding", "chunked")])
    with measured(server, outcome), Client(server.port, timeout=120) as client:
        with sending(client, [head] + [piece] * (size // MB) + [b"0\r\n\r\n"]):
            response = client.response()
        outcome.statuses.append(response.status)
        outcome.bodies.append(response.body[:200])
    return outcome


def idp_large_post(server: Server, size: int = 50 * MB) -> Outcome:
    """A 50 MB form POSTed to the token endpoint, then what the app was handed (``/__witness``)."""
    outcome = large_bodies(server, 1, size)
    with Client(server.port) as client:
        client.send(request("GET", "/__witness"))
        seen = client.response().body.decode()
    outcome.note = f"app saw {seen}"
    return outcome


def many_connections(server: Server, count: int = 1000) -> Outcome:
    """``count`` connections open at once, each sending one request; then all of them idle."""
    get = PATHS[server.app]["get"]
    outcome = Outcome()
    with measured(server, outcome, settle_after=False):
        clients = []
        for _ in range(count):
            client = Client(server.port)
            clients.append(client)
            client.send(request("GET", get))
        statuses = [c.response().status for c in clients]
    outcome.statuses = sorted(set(statuses))
    closed = sum(c.closed_by_server() for c in clients[:: max(1, count // 20)])
    outcome.closed = closed == len(clients[:: max(1, count // 20)])
    for client in clients:
        client.close()
    outcome.note = f"{statuses.count(200)}/{count} answered 200"
    return outcome


# -- stopping ---------------------------------------------------------------------------------------


def sigterm_drain(server: Server, seconds: float) -> Outcome:
    """SIGTERM while a request that takes ``seconds`` is in flight, a keep-alive connection is
    idle and another is half-way through its request: what each gets, whether a new connection is
    refused, and the exit status. ``statuses``: the in-flight one's, then the half-sent one's."""
    slow = Client(server.port, timeout=seconds + server.grace + 10)
    slow.send(request("GET", f"/rest/test/slow?s={seconds}"))
    idle = Client(server.port, timeout=server.grace + 10)
    idle.send(request("GET", PATHS[server.app]["get"]))
    idle.response()
    reading = Client(server.port, timeout=server.grace + 10)
    reading.send(request("POST", PATHS[server.app]["post"], [*FORM, ("Content-Length", "10")]) + b"hello")
    time.sleep(0.5)  # the slow request reaches its function (the probe reports; it asserts nothing)
    server.signal(signal.SIGTERM)
    notes = []
    idle_closed = idle.closed_by_server()
    notes.append("idle closed" if idle_closed else "idle left open")
    notes.append("new refused" if refused(server.port) else "new accepted")
    reading.send(b"world")
    outcome = Outcome()
    for client in (slow, reading):
        try:
            response = client.response()
        except (Closed, TimeoutError) as exc:
            notes.append(f"{type(exc).__name__}")
            continue
        outcome.statuses.append(response.status)
        notes.append(f"Connection: {response.header('connection')}")
    try:
        code = server.wait(server.grace + 15)
        notes.append(f"exit {code}")
    except Exception:
        notes.append("did not exit")
    for client in (slow, idle, reading):
        client.close()
    outcome.note = ", ".join(notes)
    return outcome
