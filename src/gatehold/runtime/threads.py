"""In-process isolation (``isolation: in-process``, formerly ``thread``): every function runs in the
gateway's process, on a pool of daemon threads. For trusted handlers only: a crash there
(``os._exit``, a segfault) ends the gateway, and a handler that holds the GIL holds the gateway.

One *sandbox* per function (its log stream, its environment copy, its warm module), threads shared
by all functions. A thread cannot be killed: when a handler passes its timeout the caller gets
Lambda's timeout error at once, but the handler keeps running on its thread until it returns, and
its result is then discarded. That thread is not reused meanwhile (the pool starts another), and
because pool threads are daemons a stuck handler never blocks interpreter exit.

**The hand-off** (docs/runtime.md, "What an invocation costs in thread mode"). The benchmark pins
the server to one CPU, so handing a call to a pool thread and back is two context switches on that
core, and on this machine (a KVM guest) each switch also costs the Python code around it its warm
caches: a round trip costs ≈ 13-25 µs of CPU, more than all the rest of an invocation (the event
copy, context, handler and marshalling: ≈ 10 µs). So the runtime makes as few round trips as it
can, and adds as little as it can per call:

* *pipes*: each pool thread blocks reading one byte from its *wake* pipe and answers with one byte
  on its *answer* pipe. ``os.read``/``os.write`` release the GIL around the system call, so a woken
  thread finds the GIL free: two switches per round trip (a ``queue``/``Lock`` hand-off costs five
  or six: the woken thread wakes while the waker still holds the GIL).
* *no timer while the loop waits*: writing the wake byte gives the woken thread the CPU at once
  (the kernel preempts the waker, whose ``os.write`` had released the GIL), so when the loop runs
  again the answer is usually there (> 99 % of round trips in ``bench/gateway_breakdown.py``) and a
  non-blocking read takes it. Else ``sched_yield`` lets the thread run if it shares this CPU, and
  only then does the loop sleep in ``poll`` with a timeout (whose kernel timer alone cost ≈ 8 µs
  per round trip here).
* *batches*: a function whose last run took less than :data:`QUICK_S` is *quick*. A quick call
  runs at once while the loop waits for it, unless the calls of this loop turn are being collected:
  once a call of the turn ran at once, the calls of *other* tasks in the same turn (other requests)
  are collected, and one callback at the end of the turn hands them all to one thread, which runs
  them back to back while the loop waits; the loop then completes their futures. When the last
  batch held several calls (the loop is under concurrent load) the first call of a turn is
  collected too, so a turn costs one round trip however many requests it read. The same task may
  run :data:`RUNS_PER_TURN` calls at once in a row (an authorizer, then the integration) before
  its next one waits like the others, so that no task keeps the loop to itself.
* *bounded waits*: the loop waits for a batch as long as the call running has run less than
  :data:`QUICK_S`, and :data:`BATCH_WAIT_S` at most for the whole batch. The handlers hold the GIL
  while they compute, so the loop could not have run meanwhile anyway; what a handler that turns
  slow (or never returns) can cost the loop is :data:`QUICK_S`, once. The loop then takes back the
  calls the thread has not started (the slow function's to threads of their own, the others to the
  next turn's batch), and the thread delivers what it still runs with ``call_soon_threadsafe``. A
  function that is not quick takes that way from the start: a thread of its own per call, so
  several invocations of one function run in parallel.
* *nothing per call that a batch can share*: no lock (``deque.popleft`` and ``list.append`` are
  atomic under the GIL: :class:`_Batch`), no timer unless the loop stops waiting for the call (then
  one ``call_at`` at the call's expiry enforces the function timeout or the caller's deadline,
  whichever comes first), the concurrency limit as a counter (past it: Lambda's throttling error),
  the context's per-function fields computed once per sandbox.

The handler's copy of the event is ``orjson.loads(orjson.dumps(event))``, one half on each side;
measured on the ~1 KB 2.0 event it is the cheapest deep copy there is here (4-6 µs, against 6-7 µs
for a Python copy of the dicts and lists that shares the strings, 9-10 µs for pickle and 24-45 µs
for ``copy.deepcopy``) and it is Lambda's JSON boundary.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import threading
import time
from collections import deque
from typing import Any, Final

import orjson

from gatehold.runtime import environ, errors, modules
from gatehold.runtime.context import FunctionSpec, LambdaContext, new_log_stream_name
from gatehold.runtime.environment import THROTTLED
from gatehold.runtime.errors import LambdaError
from gatehold.runtime.handler import Handler, InitError, call_handler

Outcome = tuple[bytes | str | None, LambdaError | None]

# A run shorter than this keeps its function on the quick way; the same value bounds how long the
# loop waits for one handler (module docstring).
QUICK_S: Final = 0.001
# However quick each call, the loop stops waiting for a batch after this long and goes on serving.
BATCH_WAIT_S: Final = 0.005
#: Lambda's default concurrency quota of an account (functions without reserved concurrency)
ACCOUNT_CONCURRENCY: Final = 1000
# One task may run this many calls at once in a row (an authorizer, then the integration) before its
# next call waits for the end of the turn like the others, so that it cannot keep the loop to itself.
RUNS_PER_TURN: Final = 8
_EXPIRED: Final[Outcome] = (None, None)  # what a timer delivers; never a real outcome (identity)
_LOOP: Final = "loop"  # the two claims on a batch's last word (_Batch.claim)
_THREAD: Final = "thread"


class _Worker:
    """One pool thread: its pipes and the batch it runs next (``None`` asks it to stop)."""

    __slots__ = ("answer_r", "answer_w", "job", "poller", "wake_r", "wake_w")

    def __init__(self) -> None:
        self.wake_r, self.wake_w = os.pipe()
        self.answer_r, self.answer_w = os.pipe()
        os.set_blocking(self.answer_r, False)
        self.poller = select.poll()
        self.poller.register(self.answer_r, select.POLLIN)
        self.job: _Batch | None = None

    def answered(self) -> bool:
        """On the loop's thread: has the thread answered already? Most often it has: writing its wake
        byte gave it the CPU at once (the kernel preempts the waker, and ``os.write`` had released
        the GIL), so a non-blocking read finds the answer."""
        try:
            os.read(self.answer_r, 1)
            return True
        except BlockingIOError:
            return False

    def wait_answer(self, timeout_s: float) -> bool:
        """On the loop's thread: ``True`` when the answer byte came within ``timeout_s`` (the GIL is
        released meanwhile). ``sched_yield`` first gives the thread the CPU when it shares this one;
        only then does the loop sleep in ``poll`` with a timeout, whose timer costs as much as the
        rest of the hand-off on this machine (a VM)."""
        answer_r = self.answer_r
        os.sched_yield()
        try:
            os.read(answer_r, 1)
            return True
        except BlockingIOError:
            pass
        if self.poller.poll(timeout_s * 1000.0):
            os.read(answer_r, 1)
            return True
        return False

    def take_answer(self) -> None:
        """On the loop's thread: the batch is finished and its answer byte written or about to be."""
        self.poller.poll()
        os.read(self.answer_r, 1)

    def close(self) -> None:
        for fd in (self.wake_r, self.wake_w, self.answer_r, self.answer_w):
            with contextlib.suppress(OSError):
                os.close(fd)


class _Call:
    """One invocation: what the pool thread needs, its outcome, and (once the caller has to wait for
    it) the future the caller awaits and the timer bounding that wait."""

    __slots__ = (
        "deadline_ms",
        "event_json",
        "expires",
        "future",
        "loop",
        "outcome",
        "request_id",
        "sandbox",
        "timer",
    )

    def __init__(
        self,
        sandbox: ThreadSandbox,
        loop: asyncio.AbstractEventLoop,
        event_json: bytes,
        request_id: str,
        deadline_ms: int,
        expires: float,
    ) -> None:
        self.sandbox = sandbox
        self.loop = loop
        self.event_json = event_json
        self.request_id = request_id
        self.deadline_ms = deadline_ms  # the context's epoch deadline (function timeout)
        self.expires = expires  # loop.time() past which the caller stops waiting
        self.outcome: Outcome | None = None  # set by the pool thread
        self.future: asyncio.Future[Outcome] | None = None
        self.timer: asyncio.TimerHandle | None = None

    def awaitable(self) -> asyncio.Future[Outcome]:
        """On the loop's thread: the future the caller awaits (made once)."""
        future = self.future
        if future is None:
            future = self.future = self.loop.create_future()
        return future

    def arm(self) -> None:
        """On the loop's thread: the caller now waits for the pool thread; bound that wait."""
        if self.timer is None:
            self.timer = self.loop.call_at(self.expires, _expire, self.awaitable())

    def deliver(self) -> None:
        """On the loop's thread, once ``outcome`` is set."""
        future = self.future
        if future is not None and not future.done():
            future.set_result(self.outcome)  # type: ignore[arg-type]

    def deliver_threadsafe(self) -> None:
        """On the pool thread, when the loop no longer waits for the batch."""
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
            self.loop.call_soon_threadsafe(self.deliver)


def _expire(future: asyncio.Future[Outcome]) -> None:
    if not future.done():
        future.set_result(_EXPIRED)


class _Batch:
    """Calls run in order on one pool thread, without a lock: the GIL makes ``deque.popleft`` and
    ``list.append`` atomic.

    * ``queue``: the calls not started yet. The thread takes them one by one; when the loop stops
      waiting, it takes back the rest the same way, so each call is run exactly once.
    * ``claim``: who has the last word. The thread appends :data:`_THREAD` when it has run every call
      it took, the loop :data:`_LOOP` when it stops waiting; whoever comes first decides. Thread
      first: it writes its answer byte and the loop delivers every outcome. Loop first: the thread
      writes nothing, and delivers each outcome it still produces with ``call_soon_threadsafe`` (a
      call may be delivered twice; the second is a no-op).
    * ``call_started``: when the thread started its current call (``perf_counter``), so that the
      loop can tell a slow call from a long batch of quick ones.
    """

    __slots__ = ("call_started", "calls", "claim", "queue")

    def __init__(self, calls: list[_Call]) -> None:
        self.calls = calls
        self.queue = deque(calls)
        self.claim: list[str] = []
        self.call_started = time.perf_counter()

    def run(self) -> None:
        """On the pool thread. A function whose run took less than :data:`QUICK_S` is ``quick``."""
        queue, claim, clock = self.queue, self.claim, time.perf_counter
        started = clock()
        while queue:
            try:
                call = queue.popleft()
            except IndexError:  # the loop took the rest back
                return
            self.call_started = started
            sandbox = call.sandbox
            call.outcome = sandbox.run(call.event_json, call.request_id, call.deadline_ms)
            ended = clock()
            sandbox.quick = ended - started < QUICK_S
            started = ended
            if claim:  # the loop stopped waiting: deliver it ourselves
                call.deliver_threadsafe()

    def answer(self, worker: _Worker) -> None:
        """On the pool thread, after :meth:`run`: the answer byte, unless the loop stopped waiting."""
        claim = self.claim
        claim.append(_THREAD)
        if claim[0] is _THREAD:
            os.write(worker.answer_w, b"\0")


class ThreadPool:
    """Daemon threads started on demand, parked when idle; ``close`` stops the idle ones.

    Quick calls (:meth:`quick`) run at once or with the other quick calls of the same loop turn, on
    one thread, while the loop waits (module docstring); :meth:`alone` gives a call a thread of its
    own and returns at once.
    """

    def __init__(self) -> None:
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()  # _idle, _closed, _count: pool threads touch them too
        self._closed = False
        self._count = 0
        self._pending: list[_Call] = []  # this turn's batch, flushed at the end of the turn
        self._turn_runs = 0  # calls run at once in this loop turn ...
        self._turn_task: object = None  # ... all by this task
        self._batching = False  # the last batch held several calls: batch the first call too

    # -- the loop's side ---------------------------------------------------------------------

    def quick(self, call: _Call) -> bool:
        """On the loop's thread: run ``call`` at once (``True``: ``call.outcome`` is there) or with
        the rest of this loop turn's calls (``False``: await ``call.future``)."""
        if self._pending or self._batching:
            self._add(call)
            return False
        runs = self._turn_runs
        if runs == 0:
            call.loop.call_soon(self._end_turn)
            self._turn_task = asyncio.current_task(call.loop)
        elif runs >= RUNS_PER_TURN or asyncio.current_task(call.loop) is not self._turn_task:
            self._add(call)  # another request's call: batch it with the rest of the turn
            return False
        self._turn_runs = runs + 1
        return self._run_batch(_Batch([call]))

    def alone(self, call: _Call) -> None:
        """On the loop's thread: run ``call`` on a thread of its own; await ``call.future``."""
        call.awaitable()
        batch = _Batch([call])
        batch.claim.append(_LOOP)  # nobody waits: the thread delivers
        self._submit(batch)
        call.arm()

    def _end_turn(self) -> None:
        self._turn_runs = 0
        self._turn_task = None

    def _add(self, call: _Call) -> None:
        if self._closed:
            raise RuntimeError("the Lambda runtime is closed")
        if call.future is None:
            call.future = call.loop.create_future()
        pending = self._pending
        if not pending:
            call.loop.call_soon(self._flush)
        pending.append(call)

    def _flush(self) -> None:
        calls, self._pending = self._pending, []
        self._batching = len(calls) > 1
        try:
            done = self._run_batch(_Batch(calls))
        except RuntimeError as exc:  # closed meanwhile
            for call in calls:
                failed = call.awaitable()
                if not failed.done():
                    failed.set_exception(exc)
            return
        if done:
            for call in calls:
                future = call.future
                if future is not None and not future.done():
                    future.set_result(call.outcome)  # type: ignore[arg-type]

    def _run_batch(self, batch: _Batch) -> bool:
        """Hand ``batch`` to a thread and wait for it: ``True`` when every outcome is there, else the
        outcomes come through the calls' futures."""
        worker = self._submit(batch)
        if worker.answered():
            return True
        waited_until = time.perf_counter() + BATCH_WAIT_S
        while True:
            if worker.wait_answer(max(0.0, QUICK_S - (time.perf_counter() - batch.call_started))):
                return True
            now = time.perf_counter()
            if now - batch.call_started >= QUICK_S or now >= waited_until:
                return self._stop_waiting(batch, worker, now)

    def _stop_waiting(self, batch: _Batch, worker: _Worker, now: float) -> bool:
        """The loop goes on serving: take back the calls not started, hand them to other threads."""
        for call in batch.calls:
            call.awaitable()  # before the claim: the thread may deliver as soon as it sees it
        batch.claim.append(_LOOP)
        if batch.claim[0] is _THREAD:  # it finished meanwhile
            worker.take_answer()
            return True
        slow = now - batch.call_started >= QUICK_S
        taken: list[_Call] = []
        with contextlib.suppress(IndexError):
            while True:
                taken.append(batch.queue.popleft())
        for call in batch.calls[: len(batch.calls) - len(taken)]:  # the ones the thread took
            if call.outcome is not None:
                call.deliver()
            else:
                if slow:  # this one is the slow call: its function stops taking the quick way
                    call.sandbox.quick = False
                call.arm()
        for call in taken:
            if call.sandbox.quick:
                self._add(call)  # with the next turn's batch
            else:
                self.alone(call)
        return False

    def _submit(self, batch: _Batch) -> _Worker:
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
        worker.job = batch
        os.write(worker.wake_w, b"\0")
        return worker

    # -- the pool threads' side ----------------------------------------------------------------

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
                batch.answer(worker)
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


class ThreadSandbox:
    """One function's warm execution environment inside this process.

    Its modules are those of its code directory's :class:`~gatehold.runtime.modules.Namespace`, so
    two functions whose code directories each hold an ``app.py`` each run their own; when that code
    changes (hot reload) the namespace calls :meth:`reset` and the next invocation imports afresh.
    """

    def __init__(self, spec: FunctionSpec, pool: ThreadPool) -> None:
        self.spec = spec
        self.log_stream_name = new_log_stream_name()
        self.environment = environ.process_environ() | spec.lambda_environment(self.log_stream_name)
        self._pool = pool
        self._handler: Handler | None = None
        self.namespace = modules.namespace_for(spec)
        if self.namespace is not None:
            self.namespace.sandboxes.add(self)
        # invocations in flight at most: reserved concurrency, else the account's (pool.py)
        self.limit = spec.concurrency or ACCOUNT_CONCURRENCY
        self.in_flight = 0
        self.quick = False  # did the last run take less than QUICK_S? (the first one imports)
        # the context's per-function fields, computed once
        self._context_fields = (
            spec.name,
            str(spec.memory_size),
            spec.function_arn,
            spec.log_group_name,
            self.log_stream_name,
        )

    def _ensure_loaded(self) -> Handler:
        with modules.LOCK:  # a failed init is run again on the next invocation, as in Lambda
            handler = self._handler
            if handler is None:
                handler, current = modules.load(self.namespace, self.spec.handler)
                if current:  # else its code changed while it was being imported: import again next time
                    self._handler = handler
            return handler

    def reset(self) -> None:
        """Its code changed (hot reload): the next invocation imports the handler afresh."""
        self._handler = None

    def run(self, event_json: bytes, request_id: str, deadline_ms: int) -> Outcome:
        """Runs on a pool thread, with this function's environment active."""
        environ.use(self.environment)
        try:
            try:
                handler = self._handler or self._ensure_loaded()
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

    async def invoke(self, event: Any, request_id: str, deadline_s: float | None) -> Outcome | None:
        """The outcome (Lambda's timeout error past ``timeout``), :data:`THROTTLED` past the
        concurrency limit, or ``None`` when ``deadline_s`` passed first (integration timeout). Either
        way a late handler keeps its thread until it returns (and counts as in flight until then)."""
        if self.in_flight >= self.limit:
            return THROTTLED
        self.in_flight += 1
        try:
            loop = asyncio.get_running_loop()
            event_json = orjson.dumps(event)  # the handler's own copy is parsed from this
            timeout = self.spec.timeout
            integration_first = deadline_s is not None and deadline_s < timeout
            limit = deadline_s if deadline_s is not None and integration_first else timeout
            started = loop.time()
            deadline_ms = int(time.time() * 1000 + timeout * 1000)
            call = _Call(self, loop, event_json, request_id, deadline_ms, started + limit)
            if self.quick and limit > QUICK_S:
                if self._pool.quick(call):
                    return call.outcome
            else:
                self._pool.alone(call)
            try:
                outcome = await call.awaitable()
            finally:
                if call.timer is not None:
                    call.timer.cancel()
        finally:
            self.in_flight -= 1
        if outcome is not _EXPIRED:
            return outcome
        if integration_first:
            return None
        return None, errors.timeout_error(request_id, loop.time() - started, errors.utcnow())
