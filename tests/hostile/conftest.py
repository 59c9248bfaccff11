"""Servers for the hostile-traffic suite: Gatehold's HTTP/1.1 server in a process of its own
(tests/hostile/serve.py), serving the gateway of tests/hostile/hostile.yaml or the example stack's
identity provider, with a 2 s keep-alive timeout so that the slow-client probes end soon."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.hostile.wire import Server


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server("gatehold", "gateway").start(tmp_path_factory.mktemp("hostile-gateway"))
    yield server
    assert server.alive(), f"the gateway's server died:\n{server.output()}"
    server.stop()


@pytest.fixture(scope="session")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server("gatehold", "idp").start(tmp_path_factory.mktemp("hostile-idp"))
    yield server
    assert server.alive(), f"the identity provider's server died:\n{server.output()}"
    server.stop()


@pytest.fixture
def fresh_gateway(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """A gateway server of the test's own (one that the test stops), ``grace`` seconds to drain."""
    started: list[Server] = []

    def start(grace: float = 30.0) -> Server:
        server = Server("gatehold", "gateway", grace=grace).start(tmp_path / f"server{len(started)}")
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
