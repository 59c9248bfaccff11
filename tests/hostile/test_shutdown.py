"""SIGTERM with requests in flight: they finish within the grace period and say ``Connection:
close``; idle keep-alive connections are closed at once; new connections are refused; past the
grace, a request still unanswered gets 503 rather than nothing. The process exits 0."""

from __future__ import annotations

import signal
from collections.abc import Callable

from tests.hostile import probes
from tests.hostile.wire import Client, Server, refused, request, wait_until


def test_sigterm_drains_in_flight_requests(fresh_gateway: Callable[..., Server]) -> None:
    server = fresh_gateway(grace=30)
    outcome = probes.sigterm_drain(server, seconds=3)
    assert outcome.statuses == [200, 200], outcome.note
    assert outcome.note == ("idle closed, new refused, Connection: close, Connection: close, exit 0"), (
        outcome.note
    )


def test_past_the_grace_an_unanswered_request_gets_503(fresh_gateway: Callable[..., Server]) -> None:
    server = fresh_gateway(grace=2)
    with Client(server.port, timeout=60) as slow:
        slow.send(request("GET", "/rest/test/slow?s=20"))
        with Client(server.port) as idle:
            # answered after the loop has read the slow request, sent before on its connection
            idle.send(request("GET", probes.PATHS["gateway"]["get"]))
            assert idle.response().status == 200
            server.signal(signal.SIGTERM)
            assert idle.closed_by_server()
        wait_until(lambda: refused(server.port), "new connections refused")
        response = slow.response()
        assert (response.status, response.body) == (503, b"Service Unavailable")
        assert response.header("connection") == "close"
        assert slow.closed_by_server()
    assert server.wait(30) == 0
