"""Thread isolation: every function runs in this process, on a pool of daemon threads.

One *sandbox* per function (its log stream, its environment copy, its warm module), threads shared
by all functions. A thread cannot be killed: when a handler passes its timeout the caller gets
Lambda's timeout error at once, but the handler keeps running on its thread until it returns, and
its result is then discarded. That thread is not reused meanwhile (the pool starts another), and
because pool threads are daemons a stuck handler never blocks interpreter exit.

**The hand-off** (docs/runtime.md, "What an invocation costs"). Each pool thread owns two pipes: it
blocks reading one byte from its *wake* pipe for the next job and, when the caller waits for it,
writes one byte to its *answer* pipe. ``os.read``/``os.write`` release the GIL around the system
call, so the woken thread finds the GIL free: a round trip costs about two thread switches, where a
``queue``/``threading.Lock`` hand-off costs five or six (the woken thread wakes while the other one
still holds the GIL, sleeps again on the GIL, and is woken a second time). The caller then takes one
of two ways back:

* *quick*: when the function's previous run took less than :data:`QUICK_S`, the event loop waits
  for the answer pipe with ``poll`` for at most :data:`QUICK_S` (the GIL is released meanwhile, so
  the handler runs at once). A handler that finishes in time is answered without a trip through the
  event loop. The handler holds the GIL while it computes, so the loop could not have run anyway;
  what the loop can lose is at most :data:`QUICK_S` when a quick function turns slow (it then takes
  the other way until a run is quick again).
* *async*: the loop awaits a future that the thread completes with one
  ``loop.call_soon_threadsafe``; a ``call_later`` handle enforces the function timeout or the
  caller's deadline, whichever comes first.

Either way several invocations of one function run in parallel threads, bounded by
``reserved_concurrency`` when it is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import threading
import time
from typing import Any, Final

import orjson

from gatehold.runtime import environ, errors
from gatehold.runtime.context import FunctionSpec, LambdaContext, new_log_stream_name
from gatehold.runtime.errors import LambdaError
from gatehold.runtime.handler import Handler, InitError, add_code_path, call_handler, load_handler

Outcome = tuple[str | None, LambdaError | None]

# A run shorter than this makes the next call wait for its answer without the event loop; the same
# value bounds how long the loop may wait (module docstring). ``poll`` counts in milliseconds.
QUICK_S: Final = 0.001
_EXPIRED: Final = (None, None)  # the sentinel a timer delivers; never a real outcome


class _Worker:
    """One pool thread: its pipes and the job it runs next (``None`` asks it to stop)."""

    __slots__ = ("answer_r", "answer_w", "job", "poller", "wake_r", "wake_w")

    def __init__(self) -> None:
        self.wake_r, self.wake_w = os.pipe()
        self.answer_r, self.answer_w = os.pipe()
        self.poller = select.poll()
        self.poller.register(self.answer_r, select.POLLIN)
        self.job: _Call | None = None

    def wait_answer(self, timeout_s: float) -> bool:
        """On the caller's thread: ``True`` when the answer byte came within ``timeout_s``."""
        if self.poller.poll(timeout_s * 1000):
            os.read(self.answer_r, 1)
            return True
        return False

    def take_answer(self) -> None:
        """On the caller's thread: the answer byte is written or about to be (it finished)."""
        os.read(self.answer_r, 1)

    def close(self) -> None:
        for fd in (self.wake_r, self.wake_w, self.answer_r, self.answer_w):
            with contextlib.suppress(OSError):
                os.close(fd)


class ThreadPool:
    """Daemon threads started on demand, parked when idle; ``close`` stops the idle ones."""

    def __init__(self) -> None:
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._closed = False
        self._count = 0

    def submit(self, call: _Call) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the Lambda runtime is closed")
            worker = self._idle.pop() if self._idle else None
            if worker is None:
                self._count += 1
                worker = _Worker()
                threading.Thread(
                    target=self._loop, args=(worker,), name=f"gatehold-lambda-{self._count}", daemon=True
                ).start()
        call.worker = worker
        worker.job = call
        os.write(worker.wake_w, b"\0")

    def _loop(self, worker: _Worker) -> None:
        try:
            while True:
                os.read(worker.wake_r, 1)
                call, worker.job = worker.job, None
                if call is None:
                    return
                call.run()
                # back in the idle list first, then answer as the last act before blocking again
                with self._lock:
                    closed = self._closed
                    if not closed:
                        self._idle.append(worker)
                call.answer()
                if closed:
                    return
        finally:
            worker.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.job = None
            os.write(worker.wake_w, b"\0")


def _deliver(future: asyncio.Future[Outcome], outcome: Outcome) -> None:
    if not future.done():
        future.set_result(outcome)


class _Call:
    """One invocation between the caller and a pool thread. The thread answers through its answer
    pipe, unless the caller has switched to awaiting ``future`` (decided under ``mutex``)."""

    __slots__ = (
        "deadline_ms",
        "event_json",
        "finished",
        "future",
        "loop",
        "mutex",
        "outcome",
        "request_id",
        "sandbox",
        "worker",
    )

    def __init__(
        self,
        sandbox: ThreadSandbox,
        loop: asyncio.AbstractEventLoop,
        event_json: bytes,
        request_id: str,
        deadline_ms: int,
    ) -> None:
        self.sandbox = sandbox
        self.loop = loop
        self.event_json = event_json
        self.request_id = request_id
        self.deadline_ms = deadline_ms
        self.mutex = threading.Lock()
        self.finished = False
        self.future: asyncio.Future[Outcome] | None = None
        self.outcome: Outcome = _EXPIRED
        self.worker: _Worker | None = None

    def run(self) -> None:
        """On the pool thread."""
        self.outcome = self.sandbox.run(self.event_json, self.request_id, self.deadline_ms)

    def answer(self) -> None:
        """On the pool thread, after :meth:`run`."""
        with self.mutex:
            self.finished = True
            future = self.future
        if future is None:
            assert self.worker is not None
            os.write(self.worker.answer_w, b"\0")
        else:
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
                self.loop.call_soon_threadsafe(_deliver, future, self.outcome)

    def switch_to_future(self) -> asyncio.Future[Outcome] | None:
        """On the caller's thread: the future to await, or ``None`` when the thread has finished
        (its answer byte is then consumed here)."""
        with self.mutex:
            if not self.finished:
                self.future = self.loop.create_future()
                return self.future
        assert self.worker is not None
        self.worker.take_answer()
        return None


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
        self._quick = False  # did the last run take less than QUICK_S? (the first one imports)
        # the context's per-function fields, computed once
        self._context_fields = (
            spec.name,
            str(spec.memory_size),
            spec.function_arn,
            spec.log_group_name,
            self.log_stream_name,
        )

    def _ensure_loaded(self) -> Handler:
        if self._handler is not None:
            return self._handler
        with self._init_lock:  # a failed init is run again on the next invocation, as in Lambda
            if self._handler is None:
                add_code_path(self.spec.code_path)
                self._handler = load_handler(self.spec.handler)
            return self._handler

    def run(self, event_json: bytes, request_id: str, deadline_ms: int) -> Outcome:
        """Runs on a pool thread, with this function's environment active."""
        environ.use(self.environment)
        started = time.perf_counter()
        try:
            try:
                handler = self._ensure_loaded()
            except InitError as exc:
                return None, exc.error
            context = LambdaContext(request_id, *self._context_fields, deadline_ms)
            # Lambda hands the handler a freshly parsed event, never the caller's object.
            return call_handler(handler, orjson.loads(event_json), context)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            return None, errors.exit_error(request_id, code)
        except BaseException as exc:  # KeyboardInterrupt & co.: report it, keep the thread
            return None, errors.error_from_exception(exc, exc.__traceback__, request_id)
        finally:
            self._quick = time.perf_counter() - started < QUICK_S

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
        integration_first = deadline_s is not None and deadline_s < timeout
        limit = deadline_s if deadline_s is not None and integration_first else timeout
        started = time.perf_counter()
        call = _Call(self, loop, event_json, request_id, int(time.time() * 1000 + timeout * 1000))
        self._pool.submit(call)
        worker = call.worker
        assert worker is not None
        if self._quick and limit > QUICK_S and worker.wait_answer(QUICK_S):
            return call.outcome
        future = call.switch_to_future()
        if future is None:
            return call.outcome
        expiry = loop.call_later(limit - (time.perf_counter() - started), _deliver, future, _EXPIRED)
        try:
            outcome = await future
        finally:
            expiry.cancel()
        if outcome is not _EXPIRED:
            return outcome
        if integration_first:
            return None
        elapsed = time.perf_counter() - started
        return None, errors.timeout_error(request_id, elapsed, errors.utcnow())
