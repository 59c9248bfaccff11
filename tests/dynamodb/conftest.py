"""A running engine (:class:`gatehold.dynamodb.service.EngineServer`) on a free loopback port, its
event loop in a thread of its own, for the tests of the service and of the engine's fidelity."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest

from gatehold.config.models import TableConfig
from gatehold.dynamodb.engine import ENGINE_PACKAGE
from gatehold.dynamodb.service import EngineServer
from gatehold.server import listening_sockets

T = TypeVar("T")


def local_boto3(kind: str, endpoint: str) -> Any:
    """A boto3 ``client`` or ``resource`` of DynamoDB at ``endpoint`` (the credentials gatehold gives
    functions), as a developer reaches the local endpoint from a shell or a test."""
    factory = boto3.client if kind == "client" else boto3.resource
    return factory(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


@dataclass
class Engine:
    server: EngineServer
    loop: asyncio.AbstractEventLoop
    serving: Any  # concurrent.futures.Future of serve()
    url: str

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    def client(self) -> Any:
        return local_boto3("client", self.url)


def start_engine(data_dir: Path, tables: dict[str, TableConfig]) -> Engine:
    if not ENGINE_PACKAGE.is_file():
        pytest.skip("the engine is not installed (scripts/bootstrap installs it)")
    sock = listening_sockets("DynamoDB", "127.0.0.1", 0)[0]
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = EngineServer({"data_dir": str(data_dir), "tables": tables, "endpoint": url})
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    serving = asyncio.run_coroutine_threadsafe(server.serve([sock]), loop)
    deadline = time.monotonic() + 30
    while not server.started:
        if serving.done():
            serving.result()  # raises what stopped it
        assert time.monotonic() < deadline, "the engine did not start"
        time.sleep(0.02)
    return Engine(server, loop, serving, url)


def stop_engine(engine: Engine) -> None:
    engine.server.should_exit = True
    try:
        engine.serving.result(30)
    finally:
        engine.loop.call_soon_threadsafe(engine.loop.stop)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    tables = {
        "Items": TableConfig.model_validate(
            {"partition_key": "id", "global_secondary_indexes": {"byOwner": {"partition_key": "owner"}}}
        )
    }
    running = start_engine(tmp_path / "data", tables)
    yield running
    if not running.serving.done():
        stop_engine(running)
