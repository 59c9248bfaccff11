"""Client header casing: :class:`CasePreservingHttpToolsProtocol` under a real uvicorn server, talked
to with a raw socket (so the names on the wire are exactly the test's), and the gateway's use of the
names in payload 1.0 events (docs/aws-reference.md §2.1 ``tEsT-HEADeR``; §3.6 2.0 lowercases)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gatehold.config import load_config
from gatehold.gateway.app import GatewayApp
from gatehold.gateway.http_protocol import RAW_HEADER_NAMES, CasePreservingHttpToolsProtocol
from gatehold.runtime import build_invoker
from tests.gateway.conftest import HERE, ServerThread

MIXED = [("tEsT-HEADeR", "aValUE"), ("X-Multi", "one"), ("X-Multi", "two")]


def _recv_response(sock: socket.socket, buffer: bytes = b"") -> tuple[int, dict[str, str], bytes, bytes]:
    """One HTTP/1.1 response (status, lowercase headers, body) and the bytes read past it."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        assert chunk, "connection closed before the response headers"
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed before the response body"
        rest += chunk
    return int(status_line.split()[1]), headers, rest[:length], rest[length:]


def raw_exchange(port: int, request: bytes, responses: int = 1) -> list[tuple[int, dict[str, str], bytes]]:
    """Send ``request`` bytes as they are and read ``responses`` responses."""
    out = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        rest = b""
        for _ in range(responses):
            status, headers, body, rest = _recv_response(sock, rest)
            out.append((status, headers, body))
    return out


def get_request(path: str, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1"] + [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def scope_echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers with the scope's headers and raw names (and the body it read) as JSON."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    names = scope.get("extensions", {}).get(RAW_HEADER_NAMES)
    payload = json.dumps(
        {
            "headers": [k.decode("latin-1") for k, _ in scope["headers"]],
            "raw_names": None if names is None else [n.decode("latin-1") for n in names],
            "body": body.decode("latin-1"),
        }
    ).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


@pytest.fixture(scope="module")
def echo_server() -> Iterator[ServerThread]:
    with ServerThread(scope_echo, http=CasePreservingHttpToolsProtocol) as server:
        yield server


@pytest.fixture(scope="module")
def cased_gateway(upstream: ServerThread) -> Iterator[ServerThread]:
    loaded = load_config(HERE / "gateway.yaml", variables={"upstream_url": upstream.url})
    app = GatewayApp(loaded, build_invoker(loaded))
    with ServerThread(app, http=CasePreservingHttpToolsProtocol) as server:
        yield server


@pytest.fixture(scope="module")
def plain_gateway(upstream: ServerThread) -> Iterator[ServerThread]:
    """The gateway under uvicorn's own httptools protocol (the ``gateway`` fixture is Gatehold's server)."""
    loaded = load_config(HERE / "gateway.yaml", variables={"upstream_url": upstream.url})
    app = GatewayApp(loaded, build_invoker(loaded))
    with ServerThread(app) as server:
        yield server


def test_scope_lists_raw_names_in_header_order(echo_server: ServerThread) -> None:
    [(status, _, body)] = raw_exchange(echo_server.port, get_request("/", MIXED))
    assert status == 200
    seen = json.loads(body)
    assert seen["raw_names"] == ["Host", "tEsT-HEADeR", "X-Multi", "X-Multi"]
    assert seen["headers"] == ["host", "test-header", "x-multi", "x-multi"]  # ASGI stays lowercase


def test_pipelined_requests_each_get_their_own_names(echo_server: ServerThread) -> None:
    first = get_request("/a", [("X-First", "1")])
    second = get_request("/b", [("x-SECOND", "2"), ("Accept", "*/*")])
    responses = raw_exchange(echo_server.port, first + second, responses=2)
    assert [json.loads(body)["raw_names"] for _, _, body in responses] == [
        ["Host", "X-First"],
        ["Host", "x-SECOND", "Accept"],
    ]


def test_expect_100_continue_still_honoured(echo_server: ServerThread) -> None:
    head = b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\neXPECT: 100-Continue\r\n\r\n"
    with socket.create_connection(("127.0.0.1", echo_server.port), timeout=10) as sock:
        sock.sendall(head)
        interim = sock.recv(65536)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n")
        sock.sendall(b"hello")
        status, _, body, _ = _recv_response(sock, interim.partition(b"\r\n\r\n")[2])
    assert status == 200
    assert json.loads(body)["body"] == "hello"
    assert json.loads(body)["raw_names"] == ["Host", "Content-Length", "eXPECT"]


@pytest.mark.parametrize(
    ("path", "single", "multi"),
    [
        pytest.param(
            "/rest/test/echo",
            {"tEsT-HEADeR": "aValUE", "X-Multi": "two", "Host": "127.0.0.1"},
            {"tEsT-HEADeR": ["aValUE"], "X-Multi": ["one", "two"]},
            id="rest-1.0-keeps-casing",
        ),
        pytest.param(
            "/http/echo-v1",
            {"tEsT-HEADeR": "aValUE", "X-Multi": "two", "Host": "127.0.0.1"},
            {"tEsT-HEADeR": ["aValUE"], "X-Multi": ["one", "two"]},
            id="http-api-1.0-keeps-casing",
        ),
        pytest.param(
            "/http/pets/dog/1",
            {"test-header": "aValUE", "x-multi": "one,two", "host": "127.0.0.1"},
            None,
            id="http-api-2.0-lowercases",
        ),
    ],
)
def test_gateway_event_header_casing(
    cased_gateway: ServerThread, path: str, single: dict[str, str], multi: dict[str, list[str]] | None
) -> None:
    [(status, _, body)] = raw_exchange(cased_gateway.port, get_request(path, MIXED))
    assert status == 200, body
    event = json.loads(body)
    for name, value in single.items():
        assert event["headers"][name] == value
    if multi is not None:
        assert "test-header" not in event["headers"]  # the client's casing only
        for name, values in multi.items():
            assert event["multiValueHeaders"][name] == values
        # the headers API Gateway adds keep AWS's own casing
        added = {"X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto", "X-Amzn-Trace-Id"}
        assert set(event["headers"]) >= added
    else:
        assert "multiValueHeaders" not in event


def test_without_the_protocol_names_fall_back_to_lowercase(plain_gateway: ServerThread) -> None:
    """Any other server (plain httptools here): payload 1.0 gets ASGI's lowercase names."""
    event = httpx.get(f"{plain_gateway.url}/rest/test/echo", headers=MIXED, timeout=10).json()
    assert event["headers"]["test-header"] == "aValUE"
    assert event["multiValueHeaders"]["x-multi"] == ["one", "two"]
