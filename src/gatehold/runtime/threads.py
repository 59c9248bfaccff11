"""Thread isolation: every function runs in this process, on a pool of daemon threads.

One *sandbox* per function (its log stream, its environment copy, its warm module), threads shared
by all functions. A thread cannot be killed: when a handler passes its timeout the caller gets
Lambda's timeout error at once, but the handler keeps running on its thread until it returns, and
its result is then discarded. That thread is not reused meanwhile (the pool starts another), and
because pool threads are daemons a stuck handler never blocks interpreter exit.

**The hand-off** (docs/runtime.md, "What an invocation costs in thread mode"). Each pool thread
owns two pipes: it blocks reading one byte from its *wake* pipe for its next job and, when the loop
waits for it, writes one byte to its *answer* pipe. ``os.read``/``os.write`` release the GIL around
the system call, so the woken thread finds the GIL free: a round trip costs two thread switches,
where a ``queue``/``threading.Lock`` hand-off costs five or six (the woken thread wakes while the
other one still holds the GIL, sleeps again on the GIL, and is woken a second time). Two ways:

* *quick*, when the function's previous run took less than :data:`QUICK_S`: the first quick call
  of a loop turn goes to a thread at once and the loop waits for it (below); the ones after it in
  the same turn are collected, and one callback at the end of the turn hands them all to one
  thread, which runs them back to back; the loop waits for its answer with ``poll`` for at most
  :data:`QUICK_S` (the GIL is released meanwhile) and completes their futures itself. Under load
  that is one wake-up and one answer for all the requests a loop turn read. The handlers hold the
  GIL while they compute, so the loop could not have run anyway; what it can lose is at most
  :data:`QUICK_S` when a quick function turns slow. The loop then takes back the calls the thread has
  not started, hands them to another thread, and the thread delivers the calls it still runs with
  ``loop.call_soon_threadsafe``; the function takes the other way until a run is quick again.
* *async*: a thread of its own, which completes the call's future with one
  ``loop.call_soon_threadsafe``.

Either way a ``call_later`` handle enforces the function timeout or the caller's deadline, whichever
comes first, and several invocations of one function run in parallel threads, bounded by
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
        self.job: _Batch | None = None

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
    """Daemon threads started on demand, parked when idle; ``close`` stops the idle ones.

    Quick calls (:meth:`enqueue`) are collected during one turn of the event loop and run back to
    back on one thread (a :class:`_Batch`): one wake-up and one answer for all the requests a turn
    read. The loop waits for the batch's answer for at most :data:`QUICK_S`; past that it takes back
    the calls the thread has not started and hands them to another thread, so a call that turned
    slow holds up no other.
    """

    def __init__(self) -> None:
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._closed = False
        self._count = 0
        self._pending: list[_Call] = []
        self._turn_marked = False

    def first_in_turn(self, loop: asyncio.AbstractEventLoop) -> bool:
        """On the loop's thread: is this the first quick call of this loop turn? (The first one is
        answered at once; the ones after it in the same turn are batched.)"""
        if self._turn_marked:
            return False
        self._turn_marked = True
        loop.call_soon(self._unmark)
        return True

    def _unmark(self) -> None:
        self._turn_marked = False

    def run_now(self, call: _Call) -> bool:
        """On the loop's thread: run ``call`` alone and wait up to :data:`QUICK_S` for it; ``True``
        when ``call.outcome`` is there, else the thread delivers it to ``call.future`` later."""
        batch = _Batch([call], detached=False)
        self.submit(batch)
        worker = batch.worker
        assert worker is not None
        if worker.wait_answer(QUICK_S):
            return True
        with batch.mutex:
            finished = batch.finished
            batch.detached = not finished
        if finished:
            worker.take_answer()
        return finished

    def submit(self, batch: _Batch) -> None:
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
        batch.worker = worker
        worker.job = batch
        os.write(worker.wake_w, b"\0")

    def enqueue(self, call: _Call) -> None:
        """On the loop's thread: run ``call`` with the other quick calls of this loop turn."""
        if self._closed:
            raise RuntimeError("the Lambda runtime is closed")
        if not self._pending:
            call.loop.call_soon(self._flush)
        self._pending.append(call)

    def _flush(self) -> None:
        calls, self._pending = self._pending, []
        batch = _Batch(calls, detached=False)
        try:
            self.submit(batch)
        except RuntimeError as exc:
            for call in calls:
                if not call.future.done():
                    call.future.set_exception(exc)
            return
        worker = batch.worker
        assert worker is not None
        if worker.wait_answer(QUICK_S):
            for call in calls:
                call.deliver()
            return
        with batch.mutex:
            finished = batch.finished
            if not finished:
                batch.detached = True
                done = [call for call in calls[: batch.next] if call.finished]
                rest = calls[batch.next :]
                del calls[batch.next :]
        if finished:
            worker.take_answer()
            done, rest = calls, []
        for call in done:
            call.deliver()
        for call in rest:  # to another thread, on the next turn
            self.enqueue(call)

    def _loop(self, worker: _Worker) -> None:
        try:
            while True:
                os.read(worker.wake_r, 1)
                batch, worker.job = worker.job, None
                if batch is None:
                    return
                batch.run()
                # back in the idle list first, then answer as the last act before blocking again
                with self._lock:
                    closed = self._closed
                    if not closed:
                        self._idle.append(worker)
                batch.answer()
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
    """One invocation: what the pool thread needs, and the future its caller awaits."""

    __slots__ = (
        "deadline_ms",
        "event_json",
        "finished",
        "future",
        "loop",
        "outcome",
        "request_id",
        "sandbox",
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
        self.finished = False  # set under the batch's mutex
        self.future: asyncio.Future[Outcome] = loop.create_future()
        self.outcome: Outcome = _EXPIRED

    def run(self) -> None:
        """On the pool thread."""
        self.outcome = self.sandbox.run(self.event_json, self.request_id, self.deadline_ms)

    def deliver(self) -> None:
        """On the loop's thread."""
        _deliver(self.future, self.outcome)

    def deliver_threadsafe(self) -> None:
        """On the pool thread."""
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
            self.loop.call_soon_threadsafe(_deliver, self.future, self.outcome)


class _Batch:
    """Calls run in order on one pool thread. While the loop waits (not ``detached``) the thread
    answers once through its answer pipe and the loop delivers; once ``detached`` the thread delivers
    each call itself (``call_soon_threadsafe``). ``mutex`` guards ``calls``, ``next``, ``detached``,
    ``finished`` and each call's ``finished``."""

    __slots__ = ("calls", "detached", "finished", "mutex", "next", "worker")

    def __init__(self, calls: list[_Call], *, detached: bool) -> None:
        self.calls = calls
        self.next = 0
        self.detached = detached
        self.finished = False
        self.mutex = threading.Lock()
        self.worker: _Worker | None = None

    def run(self) -> None:
        """On the pool thread."""
        while True:
            with self.mutex:
                if self.next >= len(self.calls):
                    return
                call = self.calls[self.next]
                self.next += 1
            call.run()
            with self.mutex:
                call.finished = True
                detached = self.detached
            if detached:
                call.deliver_threadsafe()

    def answer(self) -> None:
        """On the pool thread, after :meth:`run`."""
        with self.mutex:
            self.finished = True
            detached = self.detached
        if not detached:
            assert self.worker is not None
            os.write(self.worker.answer_w, b"\0")


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
        if self._quick and limit > QUICK_S:
            if self._pool.first_in_turn(loop):
                if self._pool.run_now(call):
                    return call.outcome
            else:
                self._pool.enqueue(call)
        else:
            self._pool.submit(_Batch([call], detached=True))
        future = call.future
        expiry = loop.call_later(limit, _deliver, future, _EXPIRED)
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
