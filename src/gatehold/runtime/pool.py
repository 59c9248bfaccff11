"""One function's execution environments, supervised: AWS's isolation semantics (the default).

Each environment (:mod:`gatehold.runtime.environment`) is a process of its own, so nothing a
handler does — ``os._exit``, a segfault, a loop that holds the GIL, a memory blow-up — reaches the
gateway, the identity provider or another function. The pool answers for it as Lambda does:

* **crash**: the call that was running gets ``Runtime.ExitError`` (``RequestId: … Error: Runtime
  exited with error: exit status 1`` / ``signal: segmentation fault`` / ``signal: killed``); the
  calls queued behind it in its batch never started and go to another environment; the next
  invocation gets a fresh environment;
* **timeout**: an environment whose running call has run ``timeout`` seconds is killed (SIGKILL:
  no handler can hold it off) and the call gets ``Task timed out after N.NN seconds``;
* **memory**: the resident memory of busy environments is sampled every :data:`MEMORY_POLL_S`
  (:data:`MEMORY_POLL_NEAR_S` while one is past half its limit); one past ``memory_size`` MB is
  killed and the call gets ``Runtime.OutOfMemory``;
* **concurrency**: at most ``reserved_concurrency`` invocations in flight (running, batched or
  waiting for an environment), else the account's :data:`ACCOUNT_CONCURRENCY`; one more gets
  Lambda's ``TooManyRequestsException`` (429), which API Gateway answers with a 500. Environments
  are started as the calls need them, up to ``reserved_concurrency`` (else
  :data:`DEFAULT_ENVIRONMENTS`); calls beyond them wait in this pool's FIFO, so one function's flood
  fills its own queue and no other's;
* **integration deadline**: a caller whose ``deadline_s`` passes gets ``None`` at once (the
  gateway's 504/503); a call still waiting for an environment is dropped, one running carries on.

**Batches.** A function whose calls take less than :data:`QUICK_S` is *quick*: the calls of one
event-loop turn go to one environment as one batch, run back to back, and while that batch runs the
next calls wait to be its successor rather than wake another environment, so that under load the
gateway and one worker wake once per batch, not once per call (docs/runtime.md, "Execution
environments", has the numbers). When a batch shows no progress for :data:`QUICK_S` and the call
running has turned slow — it ran :data:`QUICK_S` more of its own CPU, or it is blocked (IO); an
environment that is runnable and hardly ran waits for a CPU, which another would wait for too
(``/proc``: :meth:`FunctionPool._slow`) — the calls behind it that have not started are taken back
(worker.py, "claims"; the Runtime API's batch extension has the same) and run in other
environments, and the function stops being batched: a function that is not quick gets one call per
environment, as Lambda does. When every environment is busy with a batch for longer than
:data:`QUICK_S`, another is started.

Timers are lazy: one per busy environment, re-armed only when it fires (every ``timeout``), one for
the callers' deadlines, one for memory sampling while environments are busy; nothing per call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any, Final

from gatehold.runtime import errors
from gatehold.runtime.context import FunctionSpec
from gatehold.runtime.environment import (
    BUSY,
    DEAD,
    IDLE,
    STARTING,
    THROTTLED,
    Call,
    Environment,
    Launcher,
    Outcome,
)
from gatehold.runtime.errors import LambdaError

log = logging.getLogger("gatehold.lambda")

#: a function whose calls took less than this, on average over its last batch, is batched
QUICK_S: Final = 0.001
#: an environment that has not started the call due for this long is stuck (see _waits_for_cpu)
UNSTARTED_S: Final = 0.01
#: a batch of a quick function holds at most this much work, by its last average
BATCH_BUDGET_S: Final = 0.002
BATCH_MAX: Final = 256
#: Lambda's default concurrency quota of an account (functions without reserved concurrency)
ACCOUNT_CONCURRENCY: Final = 1000
#: environments of a function without ``reserved_concurrency``
DEFAULT_ENVIRONMENTS: Final = 8
#: Lambda's init phase limit: an environment not ready by then is killed
INIT_TIMEOUT_S: Final = 10.0
#: how often busy environments' resident memory is sampled
MEMORY_POLL_S: Final = 0.02
#: ... and this often while one of them is past half of it (a blow-up is caught closer to the limit)
MEMORY_POLL_NEAR_S: Final = 0.002
_MB: Final = 1 << 20


class FunctionPool:
    """The execution environments of one function (module docstring)."""

    def __init__(self, spec: FunctionSpec, launcher: Launcher) -> None:
        self.spec = spec
        self._launcher = launcher
        self.limit = spec.concurrency or ACCOUNT_CONCURRENCY  # invocations in flight
        self.env_limit = spec.concurrency or DEFAULT_ENVIRONMENTS
        self._memory_limit = spec.memory_size * _MB if spec.memory_size else 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: deque[Call] = deque()
        self._envs: set[Environment] = set()
        self._idle: list[Environment] = []
        self.in_flight = 0  # accepted, not answered (or given up) yet
        self.quick = False  # the first calls go one per environment (the first one imports)
        self._per_call_s = QUICK_S
        self._generation = 0
        self._closed = False
        self._dispatch_soon = False
        self._grow_timer: asyncio.TimerHandle | None = None
        self._deadline_timer: asyncio.TimerHandle | None = None
        self._deadline_at = 0.0
        self._memory_timer: asyncio.TimerHandle | None = None

    # -- what the invoker calls ------------------------------------------------------------------------

    @property
    def environments(self) -> list[Environment]:
        """The live environments (starting, idle or busy)."""
        return [env for env in self._envs if env.state != DEAD]

    async def invoke(self, event: Any, request_id: str, deadline_s: float | None) -> Outcome | None:
        """The outcome, :data:`THROTTLED`, or ``None`` when ``deadline_s`` passed first."""
        if self.in_flight >= self.limit:
            return THROTTLED
        loop = self._bind()
        if self._closed:
            raise RuntimeError("the Lambda runtime is closed")
        future: asyncio.Future[Outcome | None] = loop.create_future()
        call = Call(request_id, event, future)
        if deadline_s is not None:
            call.expires = expires = loop.time() + deadline_s
            if self._deadline_timer is None or expires < self._deadline_at:
                self._arm_deadlines(expires)
        self.in_flight += 1
        self._pending.append(call)
        if not self._dispatch_soon:
            self._dispatch_soon = True
            loop.call_soon(self._dispatch)
        return await future

    def prewarm(self) -> None:
        """Start one environment now (on the running loop), so the first invocation is warm."""
        if self._closed or any(env.generation == self._generation for env in self.environments):
            return
        try:
            self._bind()
        except RuntimeError:  # no running loop: environments start with the first invocation
            return
        self._start()

    def retire(self) -> None:
        """The function's code changed (hot reload): idle environments stop now, busy ones once their
        batch is answered; a fresh one starts, importing the new code."""
        self._generation += 1
        idle, self._idle = self._idle, []
        for env in idle:
            env.close()
        for env in self.environments:
            if env.state == STARTING:
                env.close()
        if self._loop is not None and not self._loop.is_closed():
            self.prewarm()

    async def aclose(self) -> None:
        """Stop every environment: idle ones exit when their channel closes, busy ones are killed
        (their running call ends as a crashed one); waits until all have exited."""
        self._closed = True
        for timer in (self._grow_timer, self._deadline_timer, self._memory_timer):
            if timer is not None:
                timer.cancel()
        pending, self._pending = list(self._pending), deque()
        for call in pending:
            self._answer(call, (None, errors.exit_error(call.request_id, None)))
        envs = self.environments
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is None or running is not loop or loop.is_closed():
            for env in envs:  # not on the loop that watched them: kill and reap right here
                env.kill("closed")
                env.reap_now()
            self._envs.clear()
            return
        waiters = []
        for env in envs:
            done: asyncio.Future[None] = loop.create_future()
            env.exit_waiter = done
            waiters.append(done)
            if env.state == BUSY:
                env.kill("closed")
            else:
                env.close()
        if waiters:
            _, late = await asyncio.wait(waiters, timeout=2.0)
            for env in envs:
                if env.state != DEAD:
                    env.kill("closed")
            if late:
                await asyncio.wait(late, timeout=2.0)
        for env in envs:
            if env.state != DEAD:
                env.reap_now()

    # -- dispatch ------------------------------------------------------------------------------------

    def _bind(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            if self._loop is not None:  # a test's second event loop: the first one's are unusable
                for env in list(self._envs):
                    env.kill("closed")
                    env.reap_now()
                self._envs.clear()
                self._idle.clear()
                self._grow_timer = self._deadline_timer = self._memory_timer = None
            self._loop = loop
        return loop

    def _dispatch(self) -> None:
        self._dispatch_soon = False
        pending, idle = self._pending, self._idle
        if self.quick and pending and idle and self._busy():
            # the busy environment takes them as its next batch when it drains; look again in
            # QUICK_S in case it stalls instead
            if self._grow_timer is None:
                self._grow_timer = self._at(self._now() + QUICK_S, self._grow_check)
            return
        while pending and idle:
            env = idle.pop()
            if env.state != IDLE or env.generation != self._generation:
                if env.state == IDLE:
                    env.close()
                continue
            batch = self._take_batch()
            if not batch:
                idle.append(env)
                break
            env.submit(batch)
            if self.quick or len(batch) > 1:  # a quick function's batch is watched for slowness
                env.checked = 0
                env.steal_timer = self._at(env.submitted + QUICK_S, self._steal, env)
            if env.watchdog is None:
                env.watchdog = self._at(env.progress + self.spec.timeout, self._watchdog, env)
            if self._memory_limit and self._memory_timer is None:
                self._memory_timer = self._at(self._now() + MEMORY_POLL_S, self._sample_memory)
        if pending and not idle:
            self._grow()

    def _busy(self) -> bool:
        """An environment of the current code is running a batch and answered within :data:`QUICK_S`:
        a quick function's calls wait to be its next batch (one wake-up each way per batch, one
        process's caches) rather than wake another. One that stalls is no such successor."""
        generation, since = self._generation, self._now() - QUICK_S
        return any(
            env.state == BUSY
            and env.generation == generation
            and (env.progress > since or env.steal_timer is not None or self._waits_for_cpu(env))
            for env in self._envs
        )

    def _waits_for_cpu(self, env: Environment) -> bool:
        """Its batch is out but it has not started the call due (a runtime that can tell: the
        Runtime API's), for less than :data:`UNSTARTED_S`: it waits for a CPU, which another
        environment would wait for too; that is no slow call. Longer, it is stuck between calls
        (a timer left by an earlier invocation that holds its event loop)."""
        return not env.started() and env.progress > self._now() - UNSTARTED_S

    def _take_batch(self) -> list[Call]:
        pending = self._pending
        size = min(BATCH_MAX, max(1, int(BATCH_BUDGET_S / max(self._per_call_s, 1e-6)))) if self.quick else 1
        batch: list[Call] = []
        while pending and len(batch) < size:
            call = pending.popleft()
            if call.future.done():  # its caller went away (cancelled, or its deadline passed)
                self.in_flight -= 1
                continue
            batch.append(call)
        return batch

    def _grow(self) -> None:
        """Calls wait and no environment is idle: start more, up to the limit (for a quick function,
        only once the busy ones have been at their batches for :data:`QUICK_S`)."""
        live = self.environments
        starting = sum(1 for env in live if env.state == STARTING and env.generation == self._generation)
        room = self.env_limit - len(live)
        if room <= 0:
            return
        if self.quick:
            busy = [env.submitted for env in live if env.state == BUSY]
            if starting:
                return
            if busy and len(busy) == len(live):
                ready_at = min(busy) + QUICK_S
                if self._now() < ready_at:
                    if self._grow_timer is None:
                        self._grow_timer = self._at(ready_at, self._grow_check)
                    return
                self.quick = False  # a batch has run for QUICK_S: one call per environment from now on
            wanted = 1
        else:
            wanted = len(self._pending) - starting
        for _ in range(min(room, wanted)):
            if self._start() is None:
                return

    def _grow_check(self) -> None:
        self._grow_timer = None
        if self._pending and not self._closed:
            self._dispatch()

    def _start(self) -> Environment | None:
        loop = self._loop
        assert loop is not None
        try:
            env = self._launcher(self.spec, self, loop, self._generation)
        except OSError as exc:
            log.error(
                "could not start an execution environment for %s: %s",
                self.spec.name,
                exc,
                extra={"function_name": self.spec.name},
            )
            if self._pending:
                call = self._pending.popleft()
                self._answer(call, (None, errors.exit_error(call.request_id, None)))
            return None
        self._envs.add(env)
        env.watchdog = loop.call_later(max(INIT_TIMEOUT_S, self.spec.timeout), self._init_watchdog, env)
        return env

    # -- what environments report ------------------------------------------------------------------------

    def ready(self, env: Environment, init_error: LambdaError | None) -> None:
        if env.watchdog is not None:
            env.watchdog.cancel()
            env.watchdog = None
        if init_error is not None:
            log.error(
                "init error in %s: %s: %s",
                self.spec.name,
                init_error.get("errorType"),
                init_error.get("errorMessage"),
                extra={"function_name": self.spec.name, "error_type": init_error.get("errorType")},
            )
        if self._closed or env.generation != self._generation:
            env.close()
            return
        self._idle.append(env)
        if self._pending:
            self._dispatch()

    def answered(self, env: Environment, call: Call, outcome: Outcome) -> None:
        self._answer(call, outcome)

    def drained(self, env: Environment) -> None:
        if env.steal_timer is not None:
            env.steal_timer.cancel()
            env.steal_timer = None
        per_call = env.ran_s / max(1, env.answered)
        self._per_call_s = per_call
        self.quick = per_call < QUICK_S
        if self._closed or env.generation != self._generation:
            env.close()
        else:
            self._idle.append(env)
        if self._pending:
            self._dispatch()

    def exited(self, env: Environment, returncode: int | None) -> None:
        if env.steal_timer is not None:
            env.steal_timer.cancel()
            env.steal_timer = None
        self._envs.discard(env)
        with contextlib.suppress(ValueError):
            self._idle.remove(env)
        if env.exit_waiter is not None and not env.exit_waiter.done():
            env.exit_waiter.set_result(None)
        reason = env.kill_reason
        running = env.running
        if running is not None and not env.started():  # it exited before asking for it: never ran
            self._pending.extendleft(reversed(env.batch[env.answered :]))
            env.batch = []
            running = None
        if running is not None:
            if reason == "timeout":
                elapsed = self._now() - env.progress
                outcome = (None, errors.timeout_error(running.request_id, elapsed, errors.utcnow()))
            elif reason == "memory":
                outcome = (None, errors.out_of_memory_error(running.request_id))
            else:
                outcome = (None, errors.exit_error(running.request_id, returncode))
            self._answer(running, outcome)
            # the calls batched behind it never started: another environment runs them
            self._pending.extendleft(reversed(env.batch[env.answered + 1 :]))
            env.batch = []
        elif env.ended_in == STARTING and reason != "closed" and self._pending and not self._closed:
            # its init crashed or timed out: that answers the oldest waiting call, as Lambda fails
            # the invocation whose init failed
            call = self._pending.popleft()
            if reason == "init-timeout":
                message = f"RequestId: {call.request_id} Error: Init phase timed out"
                self._answer(
                    call, (None, errors.make_error(message, errors.TIMED_OUT, None, call.request_id))
                )
            elif env.init_error is not None:  # reported before it ended (Runtime API: /init/error)
                self._answer(call, (None, env.init_error))
            else:
                self._answer(call, (None, errors.exit_error(call.request_id, returncode)))
        if reason in ("timeout", "memory", "init-timeout") or (
            reason is None and (returncode or running is not None or env.ended_in == STARTING)
        ):
            log.warning(
                "execution environment %d of %s ended (%s); the next invocation gets a fresh one",
                env.pid,
                self.spec.name,
                _ending(reason, returncode),
                extra={"function_name": self.spec.name, "event": "environment_ended"},
            )
        if self._pending and not self._closed:
            self._dispatch()

    # -- supervision -------------------------------------------------------------------------------------

    def _watchdog(self, env: Environment) -> None:
        """The function timeout, from the running call's start (its batch's start or the previous
        answer): kill the environment once it has run that long."""
        env.watchdog = None
        if env.state != BUSY:
            return
        env.collect()  # answers already written are progress
        if env.state != BUSY:
            return
        due = env.progress + self.spec.timeout
        if self._now() >= due:
            env.kill("timeout")
        else:
            env.watchdog = self._at(due, self._watchdog, env)

    def _steal(self, env: Environment) -> None:
        """A batch is still running :data:`QUICK_S` after it started: if no call of it was answered
        since the last look, the one running has turned slow; the calls behind it are taken back and
        go to other environments (the function is no longer quick), as thread isolation does."""
        env.steal_timer = None
        if env.state != BUSY:
            return
        env.collect()
        if env.state != BUSY:
            return
        if env.answered > env.checked or self._waits_for_cpu(env) or not self._slow(env):
            # still making progress (a long batch of quick calls), or not started on it yet, or
            # waiting for a CPU
            env.checked = env.answered
            env.steal_timer = self._at(self._now() + QUICK_S, self._steal, env)
            return
        self.quick = False
        taken = env.take_back()
        if taken:
            self._pending.extendleft(reversed(taken))
            self._dispatch()

    def _slow(self, env: Environment) -> bool:
        """No answer since the last look: is the call running long (it ran :data:`QUICK_S` since
        then) or waiting on IO (not runnable)? Not when it is runnable and has hardly run: on a
        loaded machine a quick call often waits for a CPU, which another environment would wait
        for too. The first look at a call only notes where it stands (so a slow call is taken
        back after two looks or three); without ``/proc``, every look says slow."""
        sched = env.scheduling()
        if sched is None:
            return True
        runnable, ran = sched
        now = self._now()
        looked, env.looked = env.looked, (now, ran)
        if looked is None or looked[0] < env.progress:
            return False  # the first look at this call
        return not runnable or (ran - looked[1]) / 1e9 >= QUICK_S

    def _init_watchdog(self, env: Environment) -> None:
        env.watchdog = None
        if env.state == STARTING:
            env.kill("init-timeout")

    def _sample_memory(self) -> None:
        """Kill a busy environment whose resident memory is past ``memory_size`` (Lambda's limit
        covers the whole environment: interpreter, modules and data)."""
        self._memory_timer = None
        busy = False
        delay = MEMORY_POLL_S
        for env in self.environments:
            if env.state != BUSY:
                continue
            busy = True
            rss = env.rss()
            if rss is not None and rss > self._memory_limit // 2:
                delay = MEMORY_POLL_NEAR_S
            if rss is not None and rss > self._memory_limit:
                log.warning(
                    "execution environment %d of %s uses %d MB, past its memory size of %d MB: killed",
                    env.pid,
                    self.spec.name,
                    rss // _MB,
                    self.spec.memory_size,
                    extra={"function_name": self.spec.name, "event": "out_of_memory"},
                )
                env.kill("memory")
        if busy and not self._closed:
            self._memory_timer = self._at(self._now() + delay, self._sample_memory)

    def _arm_deadlines(self, at: float) -> None:
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
        self._deadline_at = at
        self._deadline_timer = self._at(at, self._deadlines)

    def _deadlines(self) -> None:
        """Callers whose deadline passed get ``None`` (integration timeout); a call still waiting for
        an environment is dropped (it never ran); one running carries on, its answer discarded."""
        self._deadline_timer = None
        now = self._now()
        earliest = 0.0
        kept: deque[Call] = deque()
        for call in self._pending:
            if call.expires and call.expires <= now:
                self._give_up(call)
                self.in_flight -= 1
                continue
            kept.append(call)
            if call.expires and (not earliest or call.expires < earliest):
                earliest = call.expires
        self._pending = kept
        for env in self.environments:
            for call in env.batch[env.answered :]:
                if call.expires and call.expires <= now:
                    self._give_up(call)
                elif call.expires and not call.future.done() and (not earliest or call.expires < earliest):
                    earliest = call.expires
        if earliest and not self._closed:
            self._arm_deadlines(earliest)

    # -- helpers -------------------------------------------------------------------------------------------

    def _answer(self, call: Call, outcome: Outcome) -> None:
        self.in_flight -= 1
        future = call.future
        if not future.done():
            future.set_result(outcome)

    @staticmethod
    def _give_up(call: Call) -> None:
        if not call.future.done():
            call.future.set_result(None)

    def _now(self) -> float:
        assert self._loop is not None
        return self._loop.time()

    def _at(self, when: float, callback: Any, *args: Any) -> asyncio.TimerHandle:
        assert self._loop is not None
        return self._loop.call_at(when, callback, *args)


def _ending(reason: str | None, returncode: int | None) -> str:
    if reason == "timeout":
        return "killed at the function timeout"
    if reason == "memory":
        return "killed past its memory size"
    if reason == "init-timeout":
        return "killed: its init ran past 10 s"
    if returncode is None or returncode == 0:
        return "exited"
    if returncode < 0:
        return f"signal {-returncode}"
    return f"exit status {returncode}"
