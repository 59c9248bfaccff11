"""Identity-provider fixtures: the IdP app on a free loopback port (no gateway), served as `gatehold up`
serves it: the gateway's HTTP/1.1 server running the ASGI app through `AsgiResponder`.

`idp` is the example tenant (module scope); `idp_factory` starts more (own data dir, own config
text, PostgreSQL URL) and stops them at the end, so restart tests can stop and start on one dir.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvloop

from gatehold.asgi_bridge import AsgiResponder
from gatehold.cli.common import example_config_path
from gatehold.config import LoadedConfig, load_config
from gatehold.gateway.http1 import GatewayHttpServer
from gatehold.idp.app import create_idp_app
from gatehold.idp.service import IdentityProvider

SPA = "http://localhost:3000"
M2M_SECRET = "demo-m2m-secret-change-me-0123456789"
PASSWORD = "Gatehold-demo-1"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load_example(public_url: str, data_dir: Path, config: Path | None = None) -> LoadedConfig:
    variables = {
        "idp_url": public_url,
        "spa_url": SPA,
        "gateway_url": "http://localhost:8000",
        "data_dir": str(data_dir),
    }
    return load_config(config or example_config_path(), variables=variables)


@dataclass
class IdpServer:
    data_dir: Path
    config: Path | None = None
    database_url: str | None = None
    port: int = field(default_factory=free_port)
    server: GatewayHttpServer | None = None
    thread: threading.Thread | None = None
    app: Any = None

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def issuer(self) -> str:
        return self.url + "/"

    @property
    def provider(self) -> IdentityProvider:
        assert self.app is not None
        idp: IdentityProvider = self.app.state.idp
        return idp

    def start(self) -> IdpServer:
        loaded = load_example(self.url, self.data_dir, self.config)
        app = create_idp_app(
            loaded, public_url=self.url, data_dir=self.data_dir, database_url=self.database_url
        )
        # served as `gatehold up` serves it: the gateway's HTTP/1.1 server, the ASGI app through
        # AsgiResponder (lifespan on), POST /oauth/token by its shortcut
        self.app = app
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(128)
        sock.setblocking(False)
        server = self.server = GatewayHttpServer(AsgiResponder(app), graceful_timeout=5)

        def run() -> None:
            try:
                uvloop.run(server.serve(sockets=[sock]))
            finally:
                sock.close()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the identity provider did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(timeout=15)
            self.server = None
            self.thread = None


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IdpServer]:
    server = IdpServer(tmp_path_factory.mktemp("idp")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def idp_factory(tmp_path: Path) -> Iterator[Callable[..., IdpServer]]:
    started: list[IdpServer] = []

    def factory(
        data_dir: Path | None = None,
        *,
        config_text: str | None = None,
        database_url: str | None = None,
        port: int | None = None,
    ) -> IdpServer:
        config = None
        if config_text is not None:
            config = tmp_path / f"gatehold{len(started)}.yaml"
            config.write_text(config_text)
        server = IdpServer(data_dir or tmp_path / f"idp{len(started)}", config, database_url)
        if port is not None:
            server.port = port
        started.append(server.start())
        return server

    yield factory
    for server in started:
        server.stop()


def _postgres_reachable() -> str | None:
    try:
        import psycopg

        with psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=postgres", connect_timeout=2):
            return None
    except Exception as exc:  # any failure means: skip, saying why
        return f"PostgreSQL at 127.0.0.1:5432 (database 'test', trust auth) is unreachable: {exc}"


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    """None (SQLite in the data dir) or a PostgreSQL URL on a fresh schema, dropped afterwards."""
    if request.param == "sqlite":
        yield None
        return
    problem = _postgres_reachable()
    if problem:
        pytest.skip(problem)
    import secrets

    import psycopg

    schema = f"gatehold_idp_{secrets.token_hex(6)}"
    dsn = "host=127.0.0.1 port=5432 dbname=test user=postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
