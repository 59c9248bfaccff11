"""Graceful stop: SIGTERM and SIGINT let in-flight requests finish within the grace period, requests
arriving meanwhile get `Connection: close` or a clean refusal, and nothing is left running.

Real `gatehold up` subprocesses; the drain is watched over raw sockets, so that a reset in the middle
of a response, or a response without `Connection: close`, would be seen.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.server.processes import alive, descendants, eventually
from tests.stackctl import Stack

SLOW_HANDLER = """
import os
import pathlib
import time


def handler(event, context):
    seconds = event["queryStringParameters"]["s"]
    pathlib.Path(os.environ["MARKS"], seconds).touch()  # the test waits for it: the request is in flight
    time.sleep(float(seconds))
    return {"statusCode": 200, "body": "finished"}
"""

CONFIG = """
functions:
  slow:
    handler: slowfn.handler
    code_path: .
    timeout: 30
    environment: {MARKS: "{marks}"}
apis:
  slow:
    type: HTTP
    routes:
      GET /wait:
        integration: {type: lambda, function: slow}
      GET /quick:
        integration: {type: mock, status_code: 200, body: quick}
"""


def _project(tmp_path: Path) -> Path:
    (tmp_path / "slowfn.py").write_text(SLOW_HANDLER)
    (tmp_path / "marks").mkdir(exist_ok=True)
    path = tmp_path / "gatehold.yaml"
    path.write_text(CONFIG.replace("{marks}", str(tmp_path / "marks")))
    return path


def _in_flight(tmp_path: Path, seconds: str) -> None:
    """Wait until the handler runs for the request of ``seconds``."""
    eventually(lambda: (tmp_path / "marks" / seconds).exists(), f"the {seconds} s request in flight")


def _request(path: str, *, keep_alive: bool = True) -> bytes:
    connection = "keep-alive" if keep_alive else "close"
    return f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: {connection}\r\n\r\n".encode()


class Cut(AssertionError):
    """A response that ended (reset or closed) after some of it was received."""


def _read_response(sock: socket.socket) -> tuple[bytes, bytes]:
    """One whole response (head, body), by its Content-Length. ``ConnectionError`` or ``EOFError``
    when the connection ends before any byte of it, :class:`Cut` when it ends in the middle."""
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = sock.recv(65536)
        except ConnectionError:
            if data:
                raise Cut(f"reset after {len(data)} bytes of a response head") from None
            raise
        if not chunk:
            if data:
                raise Cut(f"closed after {len(data)} bytes of a response head")
            raise EOFError("closed before a response")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        try:
            chunk = sock.recv(65536)
        except ConnectionError:
            raise Cut(f"reset after {len(body)} of {length} body bytes") from None
        if not chunk:
            raise Cut(f"closed after {len(body)} of {length} body bytes")
        body += chunk
    return head, body


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sock.settimeout(60)
    return sock


def _refused_or_closed(port: int) -> str:
    """What a request on a new connection gets now: "refused" (no connection, or one that ends before
    any byte of a response: it was taken into the backlog just as the listener closed), or "closed"
    (a whole response with Connection: close). A response cut in the middle fails (:class:`Cut`)."""
    try:
        sock = _connect(port)
    except ConnectionRefusedError:
        return "refused"
    with sock:
        try:
            sock.sendall(_request("/slow/quick"))
            head, body = _read_response(sock)
        except (ConnectionError, EOFError):
            return "refused"
    assert b"\r\nConnection: close" in head, head
    assert body == b"quick"
    return "closed"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_in_flight_request_finishes(stack_factory: Callable[..., Stack], tmp_path: Path, sig: int) -> None:
    s = stack_factory(config=_project(tmp_path), extra_args=["--no-spa"])
    assert s.proc is not None
    below = descendants(s.proc.pid)
    sock = _connect(s.gateway_port)
    sock.sendall(_request("/slow/wait?s=1.5"))
    _in_flight(tmp_path, "1.5")
    assert s.stop(sig) == 0, s.output()
    head, body = _read_response(sock)
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"\r\nConnection: close" in head
    assert body == b"finished"
    assert sock.recv(1) == b""  # and then the close
    assert '"msg":"stopped"' in s.output()
    assert not any(alive(pid) for pid in below)


@pytest.mark.slow
def test_a_20_s_request_finishes_within_a_25_s_grace_and_the_drain_refuses_cleanly(
    stack_factory: Callable[..., Stack], tmp_path: Path
) -> None:
    """Issue 12's case: SIGTERM with a 20 s request in flight and a 25 s grace. Meanwhile: /readyz
    says the stack is stopping; an idle keep-alive connection is closed before any new response; a
    request in flight on another connection is answered whole, with Connection: close, and one
    pipelined behind it is not answered (the close says so, RFC 9112 §9.6); new connections are
    refused once the listener has closed; no response is ever cut."""
    s = stack_factory(config=_project(tmp_path), extra_args=["--no-spa", "--graceful-timeout", "25"])
    assert s.proc is not None
    below = descendants(s.proc.pid)
    long = _connect(s.gateway_port)
    long.sendall(_request("/slow/wait?s=20"))
    idle = _connect(s.gateway_port)
    idle.sendall(_request("/slow/quick"))
    head, _ = _read_response(idle)
    assert b"Connection: keep-alive" in head
    second = _connect(s.gateway_port)
    second.sendall(_request("/slow/wait?s=3"))
    _in_flight(tmp_path, "20")
    _in_flight(tmp_path, "3")

    s.proc.send_signal(signal.SIGTERM)
    eventually(
        lambda: httpx.get(f"{s.admin_url}/readyz", timeout=5).json() == {"status": "stopping"},
        "/readyz: stopping",
        10,
    )
    second.sendall(_request("/slow/quick"))  # pipelined behind the request in flight
    assert idle.recv(1) == b""  # closed, having answered all it was asked
    # until the listener has closed, a new connection gets a whole response with Connection: close
    eventually(lambda: _refused_or_closed(s.gateway_port) == "refused", "new connections refused")
    head, body = _read_response(second)
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"\r\nConnection: close" in head
    assert body == b"finished"
    assert second.recv(1) == b""  # the pipelined request was not answered: the close
    assert s.proc.poll() is None  # still draining the 20 s request

    head, body = _read_response(long)
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"\r\nConnection: close" in head
    assert body == b"finished"
    assert s.proc.wait(30) == 0, s.output()
    assert not any(alive(pid) for pid in below)


def test_past_the_grace_a_request_not_yet_answered_gets_503_and_the_stop_ends(
    stack_factory: Callable[..., Stack], tmp_path: Path
) -> None:
    """A 1 s grace and an 8 s request: the server answers it 503 (its response had not begun) and
    closes; the stack exits 0 without waiting for the handler."""
    s = stack_factory(config=_project(tmp_path), extra_args=["--no-spa", "--graceful-timeout", "1"])
    assert s.proc is not None
    sock = _connect(s.gateway_port)
    sock.sendall(_request("/slow/wait?s=8"))
    _in_flight(tmp_path, "8")
    assert s.stop(signal.SIGTERM) == 0, s.output()
    head, body = _read_response(sock)
    assert head.startswith(b"HTTP/1.1 503 ")
    assert b"\r\nConnection: close" in head
    assert body == b"Service Unavailable"
    assert sock.recv(1) == b""


def test_the_default_grace_is_the_longest_route_and_the_option_overrides_it(
    stack_factory: Callable[..., Stack], tmp_path: Path
) -> None:
    """The slow function's 30 s timeout bounds its route: a 31 s grace (1 s to write the answer)."""
    s = stack_factory(config=_project(tmp_path), extra_args=["--no-spa"])
    assert '"graceful_timeout_s":31.0' in s.output()
    s2 = stack_factory(config=_project(tmp_path), extra_args=["--no-spa", "--graceful-timeout", "4"])
    assert '"graceful_timeout_s":4.0' in s2.output()


def test_port_in_use_is_a_clear_error(stack_factory: Callable[..., Stack], tmp_path: Path) -> None:
    first = stack_factory(extra_args=["--no-spa"])
    for workers in ("1", "2"):
        proc = subprocess.run(
            [
                sys.executable, "-m", "gatehold", "up", "--no-spa", "--data-dir", str(tmp_path / "second"),
                "--gateway-port", str(first.gateway_port), "--idp-port", "0", "--admin-port", "0",
                "--workers", workers,
            ],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert proc.returncode == 1
        assert "Traceback" not in proc.stderr + proc.stdout
        assert (
            f"the gateway port 127.0.0.1:{first.gateway_port} is not available" in proc.stderr + proc.stdout
        )
        assert "address already in use" in (proc.stderr + proc.stdout).lower()
