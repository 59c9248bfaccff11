"""Requests that are malformed on purpose: request smuggling shapes (``Transfer-Encoding`` checked
on every path, ``Upgrade`` included), bytes that have no place in a header, absurd request lines and
oversize heads. Each gets 400 (431 for a head over 64 KiB) and the close, and the server serves the
next client. Raw sockets against the gateway's server in its own process."""

from __future__ import annotations

import pytest

from tests.hostile import probes
from tests.hostile.wire import Client, Server, request

GET = probes.PATHS["gateway"]["get"]
POST = probes.PATHS["gateway"]["post"]


def assert_serves(server: Server, path: str = GET) -> None:
    with Client(server.port) as client:
        client.send(request("GET", path))
        assert client.response().status == 200


def table(shapes: dict[str, bytes]) -> list[pytest.ParameterSet]:
    return [pytest.param(raw, id=name) for name, raw in shapes.items()]


@pytest.mark.parametrize("raw", table(probes.smuggling_shapes(POST)))
def test_smuggling_shape_is_400_and_closed(gateway: Server, raw: bytes) -> None:
    outcome = probes.one_shot(gateway, raw)
    assert (outcome.statuses, outcome.closed) == ([400], True)
    assert_serves(gateway)


@pytest.mark.parametrize("raw", table(probes.invalid_header_bytes(GET)))
def test_invalid_header_bytes_are_400_and_closed(gateway: Server, raw: bytes) -> None:
    outcome = probes.one_shot(gateway, raw)
    assert (outcome.statuses, outcome.closed) == ([400], True)


@pytest.mark.parametrize("raw", table(probes.absurd_request_lines(GET)))
def test_absurd_request_line_is_400_and_closed(gateway: Server, raw: bytes) -> None:
    outcome = probes.one_shot(gateway, raw)
    assert (outcome.statuses, outcome.closed) == ([400], True)


@pytest.mark.parametrize("raw", table(probes.oversize_head(GET)))
def test_oversize_head_is_431_and_closed(gateway: Server, raw: bytes) -> None:
    outcome = probes.big_head(gateway, raw)
    assert (outcome.statuses, outcome.closed) == ([431], True)
    assert_serves(gateway)


def test_identity_provider_refuses_a_1_mb_header(idp: Server) -> None:
    outcome = probes.big_head(idp, probes.oversize_head("/.well-known/jwks.json")["1-mb-header"])
    assert (outcome.statuses, outcome.closed) == ([431], True)
    assert_serves(idp, "/.well-known/jwks.json")


def test_upgrade_request_body_is_framed_as_declared(gateway: Server) -> None:
    """The Upgrade path validates the framing (the 400s above) and still reads a valid body."""
    body = b"x" * 5000
    head = request(
        "POST",
        POST,
        [("Connection", "Upgrade"), ("Upgrade", "h2c"), ("Transfer-Encoding", "chunked")],
    )
    with Client(gateway.port) as client:
        client.send(head + b"%x\r\n%b\r\n0\r\n\r\n" % (len(body), body) + request("GET", GET))
        first, second = client.response(), client.response()
    assert (first.status, first.body) == (200, b"5000")
    assert (second.status, second.body) == (200, b"a fixed body")
