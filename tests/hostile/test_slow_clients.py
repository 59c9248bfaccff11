"""Clients that take their time, or hold connections: stalled requests and slowloris get 408 and the
close, half-closed clients get what they are owed, idle keep-alive connections are closed, and a
thousand connections at once are all served. The server's keep-alive timeout is 2 s here; every
wait is bounded by socket timeouts (no timing assertions)."""

from __future__ import annotations

import select
import socket
import time

import pytest

from tests.hostile import probes
from tests.hostile.wire import PATIENCE, Client, Server, request

GET = probes.PATHS["gateway"]["get"]


@pytest.mark.parametrize(
    "partial",
    [
        pytest.param(b"GET /rest/test/fix", id="in-the-request-line"),
        pytest.param(b"GET /rest/test/fixed HTTP/1.1\r\nHost: x\r\nX-Half: ", id="in-the-headers"),
        pytest.param(
            b"POST /rest/test/size HTTP/1.1\r\nContent-Length: 100\r\n\r\nonly ten..", id="in-the-body"
        ),
    ],
)
def test_stalled_request_is_408_and_closed(gateway: Server, partial: bytes) -> None:
    outcome = probes.stalled(gateway, partial)
    assert (outcome.statuses, outcome.closed) == ([408], True)


def test_slowloris_is_cut_off_while_it_still_sends(gateway: Server) -> None:
    """20 clients each adding a header line every 0.2 s (a timer reset by every read would wait
    for ever): each gets 408 and the close while it is still sending."""
    outcome = probes.slowloris(gateway, GET)
    assert outcome.statuses == [408]
    assert outcome.closed, outcome.note


def test_half_closed_client_gets_every_answer_then_the_close(gateway: Server) -> None:
    outcome = probes.half_closed(gateway, GET)
    assert (outcome.statuses, outcome.closed) == ([200, 200], True)


def test_client_half_closed_mid_body_is_closed_unanswered(gateway: Server) -> None:
    """The request can never complete: no answer to half a body, just the close."""
    outcome = probes.half_closed_mid_request(gateway, probes.PATHS["gateway"]["post"])
    assert (outcome.statuses, outcome.closed) == ([], True)


@pytest.mark.parametrize(
    "used", [pytest.param(True, id="after-a-response"), pytest.param(False, id="never-used")]
)
def test_idle_keep_alive_connection_is_closed(gateway: Server, used: bool) -> None:
    outcome = probes.idle_keep_alive(gateway, GET, used)
    assert (outcome.statuses, outcome.closed) == ([200] if used else [], True)


def test_a_thousand_connections_are_all_served_then_closed_when_idle(gateway: Server) -> None:
    outcome = probes.many_connections(gateway, 1000)
    assert outcome.statuses == [200], outcome.note
    assert outcome.closed
    assert outcome.growth_mb < 100, outcome.summary()
    with Client(gateway.port) as client:
        client.send(request("GET", GET))
        assert client.response().status == 200


def test_a_client_that_reads_none_of_its_responses_is_cut_off(gateway: Server) -> None:
    """Pipelined GETs of 4 MB responses and nothing read: once the write buffer has taken nothing
    for the keep-alive timeout, the server aborts the connection (seen as a reset, without
    reading: reading would let it go on)."""
    with Client(gateway.port) as client:
        client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        client.send(request("GET", probes.PATHS["gateway"]["blob"] + "4000000") * 20)
        poller = select.poll()
        poller.register(client.sock, select.POLLERR | select.POLLHUP | select.POLLRDHUP)
        deadline = time.monotonic() + PATIENCE
        events = 0
        while time.monotonic() < deadline and not events & (select.POLLERR | select.POLLHUP):
            events = sum(mask for _, mask in poller.poll(200))
        assert events & (select.POLLERR | select.POLLHUP), "the connection was not cut off"
    with Client(gateway.port) as other:
        other.send(request("GET", GET))
        assert other.response().status == 200
