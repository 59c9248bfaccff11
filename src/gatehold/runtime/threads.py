"""Thread isolation: every function runs in this process, on a pool of daemon threads.

One *sandbox* per function (its log stream, its environment copy, its warm module), threads shared
by all functions. A thread cannot be killed: when a handler passes its timeout the caller gets
Lambda's timeout error at once, but the handler keeps running on its thread until it returns, and
its result is then discarded. That thread is not reused meanwhile (the pool starts another), and
because pool threads are daemons a stuck handler never blocks interpreter exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson

from gatehold.runtime import environ, errors
from gatehold.runtime.context import FunctionSpec, LambdaContext, new_log_stream_name
from gatehold.runtime.errors import LambdaError
from gatehold.runtime.handler import Handler, InitError, add_code_path, call_handler, load_handler

Outcome = tuple[str | None, LambdaError | None]
_Job = Callable[[], None] | None


class ThreadPool:
    """Daemon threads started on demand, parked when idle; ``close`` stops the idle ones."""

    def __init__(self) -> None:
        self._idle: list[queue.SimpleQueue[_Job]] = []
        self._lock = threading.Lock()
        self._closed = False
        self._count = 0

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the Lambda runtime is closed")
            inbox = self._idle.pop() if self._idle else None
            if inbox is None:
                self._count += 1
                inbox = queue.SimpleQueue()
                threading.Thread(
                    target=self._loop, args=(inbox,), name=f"gatehold-lambda-{self._count}", daemon=True
                ).start()
        inbox.put(job)

    def _loop(self, inbox: queue.SimpleQueue[_Job]) -> None:
        while True:
            job = inbox.get()
            if job is None:
                return
            job()
            with self._lock:
                if self._closed:
                    return
                self._idle.append(inbox)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for inbox in idle:
            inbox.put(None)


def _deliver(future: asyncio.Future[Outcome], outcome: Outcome) -> None:
    if not future.done():
        future.set_result(outcome)


class ThreadSandbox:
    """One function's warm execution environment inside this process."""

    def __init__(self, spec: FunctionSpec, pool: ThreadPool) -> None:
        self.spec = spec
        self.log_stream_name = new_log_stream_name()
        self.environment = environ.process_environ() | spec.lambda_environment(self.log_stream_name)
        self._pool = pool
        self._handler: Handler | None = None
        self._init_lock = threading.Lock()
        self._limit = asyncio.Semaphore(spec.concurrency) if spec.concurrency else None

    def _ensure_loaded(self) -> Handler:
        if self._handler is not None:
            return self._handler
        with self._init_lock:  # a failed init is run again on the next invocation, as in Lambda
            if self._handler is None:
                add_code_path(self.spec.code_path)
                self._handler = load_handler(self.spec.handler)
            return self._handler

    def _run(self, event_json: bytes, request_id: str, deadline_ms: int) -> Outcome:
        """Runs on a pool thread, with this function's environment active."""
        token = environ.activate(self.environment)
        try:
            try:
                handler = self._ensure_loaded()
            except InitError as exc:
                return None, exc.error
            context = LambdaContext.for_invocation(self.spec, request_id, self.log_stream_name, deadline_ms)
            # Lambda hands the handler a freshly parsed event, never the caller's object.
            return call_handler(handler, orjson.loads(event_json), context)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            return None, errors.exit_error(request_id, code)
        except BaseException as exc:  # KeyboardInterrupt & co.: report it, keep the thread
            return None, errors.error_from_exception(exc, exc.__traceback__, request_id)
        finally:
            environ.deactivate(token)

    async def invoke(self, event: Any, request_id: str, deadline_s: float | None) -> Outcome | None:
        """The outcome (Lambda's timeout error past ``timeout``), or ``None`` when ``deadline_s`` passed
        first (integration timeout). Either way a late handler keeps its thread until it returns."""
        if self._limit is None:
            return await self._invoke(event, request_id, deadline_s)
        async with self._limit:
            return await self._invoke(event, request_id, deadline_s)

    async def _invoke(self, event: Any, request_id: str, deadline_s: float | None) -> Outcome | None:
        loop = asyncio.get_running_loop()
        event_json = orjson.dumps(event)
        timeout = self.spec.timeout
        started = time.perf_counter()
        deadline_ms = int(time.time() * 1000 + timeout * 1000)
        future: asyncio.Future[Outcome] = loop.create_future()

        def job() -> None:
            outcome = self._run(event_json, request_id, deadline_ms)
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
                loop.call_soon_threadsafe(_deliver, future, outcome)

        self._pool.submit(job)
        integration_first = deadline_s is not None and deadline_s < timeout
        try:
            return await asyncio.wait_for(future, deadline_s if integration_first else timeout)
        except TimeoutError:
            if integration_first:
                return None
            elapsed = time.perf_counter() - started
            return None, errors.timeout_error(request_id, elapsed, errors.utcnow())
