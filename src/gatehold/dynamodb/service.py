"""The ``dynamodb`` process of ``gatehold up`` (:mod:`gatehold.server`): it runs the engine
(:mod:`gatehold.dynamodb.engine`) as its child on the listening socket the supervisor bound
(127.0.0.1, ``--dynamodb-port``), creates the configuration's tables, and says it is ready.

* **Tables** are created when missing, with their keys and indexes (:mod:`gatehold.dynamodb.tables`),
  and left as they are when they exist: items persist in ``<data dir>/dynamodb``. A table that
  exists with other keys than the configuration's cannot be changed (DynamoDB cannot either):
  start-up fails, naming the table and both key schemas. Tables added by hot reload are created.
* **The engine's life** is this process's: the engine exits when this process's pipe to it closes
  (whatever ended this process), and this process exits when the engine does, so the supervisor
  starts both again (the socket keeps its backlog meanwhile). SIGTERM stops the engine gracefully
  (requests in flight answered, the database closed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from pathlib import Path
from typing import Any

from gatehold.config.models import TableConfig
from gatehold.dynamodb.client import Client, DynamoDBError
from gatehold.dynamodb.engine import engine_argv, ensure_engine
from gatehold.dynamodb.tables import create_table_request, differences

log = logging.getLogger("gatehold.dynamodb")

#: how long the engine may take to answer its first request
ENGINE_START_S = 30.0
#: how long a stopping engine may take before it is killed
ENGINE_STOP_S = 10.0


class EngineFailed(RuntimeError):
    """The engine exited, or a table cannot be what the configuration says."""


async def ensure_tables(
    client: Client, tables: dict[str, TableConfig], data_path: Path | None = None
) -> list[str]:
    """Create the tables that do not exist; the names created. :class:`EngineFailed` for a table
    whose keys differ from its entry (its indexes differing is logged: they stay as they are)."""
    existing = set(await client.table_names())
    created = []
    for name, table in tables.items():
        if name not in existing:
            try:
                await client.call("CreateTable", create_table_request(name, table))
            except DynamoDBError as exc:
                raise EngineFailed(f"table {name} could not be created: {exc}") from None
            created.append(name)
            continue
        found = differences(name, table, await client.describe(name))
        if found and found[0].startswith("its key is"):
            raise EngineFailed(
                f"table {name} exists in the data directory with another key than the configuration's:"
                f" {found[0]}. A table's key cannot change: put the key back, delete the table while the"
                f" stack runs (aws dynamodb delete-table --table-name {name} --endpoint-url"
                f" {client.http.base_url}) and change it again; or start from an empty"
                f" {data_path or 'dynamodb directory'} (every table's items are lost)"
            )
        for what in found:
            log.warning(
                "table %s: %s; the existing table is kept as it is (delete it to create it again)",
                name,
                what,
                extra={"event": "dynamodb_table_differs", "table": name},
            )
    return created


class EngineServer:
    """What :func:`gatehold.server._process_main` serves: the engine process, ready once its tables
    exist (``started``), stopped by ``should_exit``."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.data_path = Path(spec["data_dir"]) / "dynamodb"
        self.tables: dict[str, TableConfig] = dict(spec["tables"])
        self.endpoint: str = spec["endpoint"]
        self.started = False
        self.should_exit = False
        self.force_exit = False
        self.client = Client(self.endpoint)
        self._engine: asyncio.subprocess.Process | None = None

    async def serve(self, sockets: list[socket.socket]) -> None:
        (sock,) = sockets
        self.data_path.mkdir(parents=True, exist_ok=True)
        node = await asyncio.to_thread(ensure_engine)
        engine = self._engine = await asyncio.create_subprocess_exec(
            *engine_argv(node, sock.fileno(), self.data_path),
            pass_fds=(sock.fileno(),),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
        )
        exited = asyncio.create_task(engine.wait())
        try:
            await self._start(exited)
            created = await ensure_tables(self.client, self.tables, self.data_path)
            log.info(
                "DynamoDB endpoint %s (dynalite, pid %d): %d tables, created %s",
                self.endpoint,
                engine.pid,
                len(self.tables),
                ", ".join(created) or "none",
                extra={"event": "dynamodb_ready", "tables": sorted(self.tables), "tables_created": created},
            )
            self.started = True
            while not self.should_exit and not exited.done():
                await asyncio.wait({exited}, timeout=0.1)
            if exited.done() and not self.should_exit:
                raise EngineFailed(
                    f"the DynamoDB engine (pid {engine.pid}) exited with status {exited.result()}"
                )
        except EngineFailed as exc:  # the reason, in one line, before the process's exit is reported
            log.error("%s", exc, extra={"event": "dynamodb_failed"})
            raise
        finally:
            await self._stop(engine, exited)
            await self.client.aclose()

    async def _start(self, exited: asyncio.Task[int]) -> None:
        deadline = time.monotonic() + ENGINE_START_S
        while True:
            if exited.done():
                raise EngineFailed(f"the DynamoDB engine exited with status {exited.result()} as it started")
            try:
                await self.client.table_names()
                return
            except Exception as exc:  # not listening yet, or the database still opening
                if time.monotonic() > deadline:
                    raise EngineFailed(
                        f"the DynamoDB engine did not answer in {ENGINE_START_S:g} s: {exc}"
                    ) from None
            await asyncio.sleep(0.02)

    async def _stop(self, engine: asyncio.subprocess.Process, exited: asyncio.Task[int]) -> None:
        if not exited.done():
            with contextlib.suppress(ProcessLookupError):
                engine.terminate()
            try:
                await asyncio.wait_for(asyncio.shield(exited), ENGINE_STOP_S)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    engine.kill()
                await exited
        if engine.stdin is not None:
            engine.stdin.close()

    async def create_new(self, tables: dict[str, TableConfig]) -> None:
        """Hot reload: the tables not there yet are created."""
        self.tables = dict(tables)
        if self.started:
            created = await ensure_tables(self.client, self.tables)
            if created:
                log.info(
                    "DynamoDB: created %s",
                    ", ".join(created),
                    extra={"event": "reload", "tables_created": created},
                )


class DynamoDBService:
    """The ``dynamodb`` service of :mod:`gatehold.server`."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.server = EngineServer(spec)

    async def handle(self, message: dict[str, Any]) -> None:
        if "tables" in message:
            await self.server.create_new(message["tables"])

    async def aclose(self) -> None:
        pass
