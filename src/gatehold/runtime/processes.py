"""Process isolation: a pool of worker processes per function, started lazily.

Each worker (:mod:`gatehold.runtime.worker`) is one Lambda execution environment: it imports the
handler once and serves one invocation at a time, so a function has at most ``concurrency`` workers
(``reserved_concurrency``, default 4) and further requests wait for a free one.

Failure handling, as Lambda does it:

* the worker dies mid-invocation (``os._exit``, a segfault, the OOM killer): that invocation returns
  ``Runtime.ExitError`` ("RequestId: … Error: Runtime exited with error: exit status 1"), the worker
  is dropped and the next request starts a fresh one;
* the handler runs past the function's ``timeout``: the worker is killed (SIGKILL), the invocation
  returns the ``Task timed out`` error, the next request starts a fresh worker;
* the caller's integration deadline passes first: the caller gets ``integration_timeout`` at once;
  the invocation carries on in the background (bounded by the function timeout) and the worker goes
  back to the pool when it answers.

IPC is a Unix socketpair with length-prefixed frames and orjson (see the worker's docstring); the
parent reads with asyncio streams, so no thread is involved per call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

import gatehold
from gatehold.runtime import environ, errors
from gatehold.runtime.context import FunctionSpec, new_log_stream_name
from gatehold.runtime.errors import LambdaError

log = logging.getLogger("gatehold.lambda")

Outcome = tuple[str | None, LambdaError | None]

DEFAULT_CONCURRENCY = 4
INIT_TIMEOUT_S = 10.0  # Lambda's init phase limit
_LEN = struct.Struct(">I")
_SRC_DIR = str(Path(gatehold.__file__).resolve().parent.parent)
_BOOT = (
    "import sys\n"
    f"sys.path.insert(0, {_SRC_DIR!r})\n"
    "from gatehold.runtime.worker import main\n"
    "main(sys.argv)\n"
)


class _StartFailed(Exception):
    def __init__(self, error: LambdaError) -> None:
        super().__init__(error["errorMessage"])
        self.error = error


async def _read_frame(reader: asyncio.StreamReader) -> bytes:
    (size,) = _LEN.unpack(await reader.readexactly(4))
    return await reader.readexactly(size)


class Worker:
    """The parent's handle on one worker process."""

    def __init__(
        self, proc: asyncio.subprocess.Process, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.proc = proc
        self._reader = reader
        self._writer = writer
        self.generation = 0  # the pool's code generation it was started with (ProcessPool.retire)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None and not self._reader.at_eof()

    @classmethod
    async def start(cls, spec: FunctionSpec, sys_path: list[str], request_id: str) -> Worker:
        log_stream_name = new_log_stream_name()
        env = environ.process_environ() | spec.lambda_environment(log_stream_name)
        boot = {
            "name": spec.name,
            "handler": spec.handler,
            "code_path": str(spec.code_path) if spec.code_path else None,
            "timeout": spec.timeout,
            "memory_size": spec.memory_size,
            "region": spec.region,
            "account_id": spec.account_id,
            "runtime": spec.runtime,
            "log_stream_name": log_stream_name,
            "sys_path": sys_path,
        }
        parent_sock, child_sock = socket.socketpair()
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-u",
                "-c",
                _BOOT,
                str(child_sock.fileno()),
                orjson.dumps(boot).decode(),
                pass_fds=(child_sock.fileno(),),
                env=env,
                stdin=subprocess.DEVNULL,
            )
        except BaseException:
            parent_sock.close()
            raise
        finally:
            child_sock.close()
        reader, writer = await asyncio.open_unix_connection(sock=parent_sock)
        worker = cls(proc, reader, writer)
        try:
            ready = await asyncio.wait_for(_read_frame(reader), max(INIT_TIMEOUT_S, spec.timeout))
        except TimeoutError:
            worker.kill()
            await worker.wait()
            raise _StartFailed(
                errors.make_error(
                    f"RequestId: {request_id} Error: Init phase timed out", errors.TIMED_OUT, None, request_id
                )
            ) from None
        except (asyncio.IncompleteReadError, ConnectionError):
            returncode = await worker.wait()
            worker.kill()
            raise _StartFailed(errors.exit_error(request_id, returncode)) from None
        if ready[:1] == b"E":
            log.error(
                "init error in %s: %s",
                spec.name,
                ready[1:].decode(errors="replace"),
                extra={"function_name": spec.name},
            )
        return worker

    async def call(self, request: bytes, request_id: str, timeout: float) -> tuple[Outcome, bool]:
        """One exchange: ``(outcome, worker still usable)``."""
        started = time.perf_counter()
        try:
            self._writer.write(_LEN.pack(len(request)) + request)
            await self._writer.drain()
            reply = await asyncio.wait_for(_read_frame(self._reader), timeout)
        except TimeoutError:
            self.kill()
            await self.wait()
            elapsed = time.perf_counter() - started
            return (None, errors.timeout_error(request_id, elapsed, errors.utcnow())), False
        except (asyncio.IncompleteReadError, ConnectionError):
            returncode = await self.wait()
            self.kill()
            return (None, errors.exit_error(request_id, returncode)), False
        if reply[:1] == b"0":
            return (reply[1:].decode(), None), True
        return (None, orjson.loads(reply[1:])), True

    def kill(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
        self._writer.close()

    async def wait(self, timeout: float = 5.0) -> int | None:
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            return self.proc.returncode

    async def close(self, grace_s: float = 2.0) -> None:
        """Close the socket (the worker exits on EOF); kill it if it has not within ``grace_s``."""
        self._writer.close()
        if self.proc.returncode is None:
            try:
                await asyncio.wait_for(self.proc.wait(), grace_s)
            except TimeoutError:
                self.kill()
                await self.wait()


class ProcessPool:
    """The worker processes of one function."""

    def __init__(self, spec: FunctionSpec, sys_path: list[str]) -> None:
        self.spec = spec
        self._sys_path = sys_path
        self._limit = asyncio.Semaphore(spec.concurrency or DEFAULT_CONCURRENCY)
        self._idle: list[Worker] = []
        self._workers: set[Worker] = set()
        self._background: set[asyncio.Task[Outcome]] = set()
        self._closed = False
        self._generation = 0  # bumped when the function's code changes (retire)

    @property
    def workers(self) -> list[Worker]:
        return list(self._workers)

    async def invoke(self, event: Any, request_id: str, deadline_s: float | None) -> Outcome | None:
        """The outcome, or ``None`` when ``deadline_s`` passed first (integration timeout)."""
        request = orjson.dumps([request_id, int(time.time() * 1000 + self.spec.timeout * 1000), event])
        task = asyncio.ensure_future(self._exchange(request, request_id))
        if deadline_s is None:
            return await task
        try:
            return await asyncio.wait_for(asyncio.shield(task), deadline_s)
        except TimeoutError:
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            return None

    async def _exchange(self, request: bytes, request_id: str) -> Outcome:
        async with self._limit:
            worker = self._take_idle()
            if worker is None:
                if self._closed:
                    raise RuntimeError("the Lambda runtime is closed")
                generation = self._generation
                try:
                    worker = await Worker.start(self.spec, self._sys_path, request_id)
                except _StartFailed as exc:
                    return None, exc.error
                worker.generation = generation
                self._workers.add(worker)
            healthy = False
            try:
                outcome, healthy = await worker.call(request, request_id, self.spec.timeout)
                return outcome
            finally:
                if healthy and not self._closed and worker.generation == self._generation:
                    self._idle.append(worker)
                else:
                    self._workers.discard(worker)
                    worker.kill()

    def retire(self) -> None:
        """The function's code changed (hot reload): idle workers stop now, busy ones once their
        invocation is answered; the next invocations start fresh workers that import the new code."""
        self._generation += 1
        idle, self._idle = self._idle, []
        for worker in idle:
            self._workers.discard(worker)
            worker.kill()

    def _take_idle(self) -> Worker | None:
        while self._idle:
            worker = self._idle.pop()
            if worker.alive:
                return worker
            self._workers.discard(worker)
            worker.kill()
        return None

    async def aclose(self) -> None:
        self._closed = True
        for task in list(self._background):
            task.cancel()
        workers, self._workers, self._idle = list(self._workers), set(), []
        await asyncio.gather(*(w.close() for w in workers), return_exceptions=True)
