"""The ``gatehold up`` process: each service in a process of its own, kept running, stopped gracefully.

:class:`Supervisor` starts one process per service (``python -m gatehold.server NAME …``, see
:mod:`gatehold.server`): ``gateway-1`` … ``gateway-N``, ``idp``, ``spa``, ``dynamodb``. It binds
every listening socket itself and hands each process its own (inherited descriptors), so that a
process started again serves the same socket: connections that arrive while it restarts wait in the
socket's backlog instead of being refused. Each process gets its spec (the validated configuration and its
settings) over its control channel (:class:`gatehold.server.Channel`) and says when it is ready.

* **Restarts**: a process that exits while the stack runs is logged (its name, pid, exit status or
  signal) and started again: at once if it had been serving for :data:`STABLE_S`, else after
  :data:`RESTART_DELAYS` (a process that keeps failing is retried every 30 s at most).
* **Readiness** (:meth:`Supervisor.ready`, the admin port's ``/readyz``): every process has said it
  serves, and the stack is not stopping.
* **Stop** (:meth:`Supervisor.stop`): the supervisor closes its copies of the listening sockets, so
  that a process's close really closes its listener; SIGTERM to the gateway and SPA processes, which
  stop accepting and let in-flight requests finish within the grace period (responses say
  ``Connection: close``); then the identity provider and the DynamoDB endpoint, which the gateway's
  requests and functions may still have needed. A process still there ``KILL_AFTER_S`` past the
  grace is killed.
* **Orphans**: processes start in their own process group (the terminal's Ctrl+C reaches the
  supervisor only, which stops them in order) and get SIGTERM if the supervisor dies
  (``PR_SET_PDEATHSIG``, Linux) or see their channel close (everywhere).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from gatehold.server import Channel, role_of, serve_forked

log = logging.getLogger("gatehold.server")

#: a process that served this long before it exited is started again at once
STABLE_S: Final = 10.0
#: otherwise, the delay before each further attempt (the last one repeats)
RESTART_DELAYS: Final = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
#: how long past the grace period a stopping process may take before it is killed
KILL_AFTER_S: Final = 5.0
#: how long start-up waits for every process to say it serves
START_TIMEOUT_S: Final = 120.0
#: how long ``/metrics`` waits for a process's numbers
METRICS_TIMEOUT_S: Final = 2.0
#: every process is asked for a sign of life this often; one that gives none for UNRESPONSIVE_S
#: (its event loop blocked, or the process stopped) makes /readyz 503 until it answers again
HEARTBEAT_S: Final = 1.0
UNRESPONSIVE_S: Final = 5.0


class StartFailed(RuntimeError):
    """A process exited (or never said it was ready) while the stack was starting."""


@dataclass
class ServiceSpec:
    """A process to run: its name (``gateway-1``, ``idp``, ``spa``), what log lines call it, its
    listening sockets (the supervisor's; the process inherits them) and the spec it is sent."""

    name: str
    title: str
    sockets: list[socket.socket]
    spec: dict[str, Any] = field(default_factory=dict)

    @property
    def role(self) -> str:
        return role_of(self.name)


class Process(Protocol):
    """A started process: ``subprocess.Popen``, or :class:`_Forked`."""

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...

    def poll(self) -> int | None: ...

    def wait(self) -> int: ...

    def send_signal(self, sig: int) -> None: ...


class _Forked:
    """A child made with ``os.fork`` (start-up), with the part of ``Popen``'s face used here."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def _reap(self, options: int) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, options)
            except ChildProcessError:  # reaped elsewhere
                self.returncode = 0
            else:
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def poll(self) -> int | None:
        return self._reap(os.WNOHANG)

    def wait(self) -> int:
        code = self._reap(0)
        assert code is not None
        return code

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, sig)


def describe_exit(returncode: int) -> str:
    """``exited with status 1`` / ``was killed by SIGKILL``."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"was killed by {name}"
    return f"exited with status {returncode}"


class Child:
    """One service's process, started again when it dies (:class:`Supervisor`)."""

    def __init__(self, service: ServiceSpec, supervisor: Supervisor) -> None:
        self.service = service
        self.supervisor = supervisor
        self.proc: Process | None = None
        self.channel: Channel | None = None
        self._control: socket.socket | None = None
        self.ready = False
        self.ready_since = 0.0
        #: when the oldest heartbeat the process has not answered yet was sent (monotonic)
        self.unanswered_since: float | None = None
        #: the warning that it stopped answering was logged
        self.silent = False
        #: exits in a row that came before the process had served STABLE_S
        self.failures = 0
        #: a restart asked for (a changed spa: section): its exit is no failure
        self.replacing = False
        self._replies: dict[int, asyncio.Future[str]] = {}
        self._explained: dict[int, asyncio.Future[dict[str, Any] | None]] = {}
        self._follower: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return self.service.name

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc is not None else 0

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def spawn(self, *, fork: bool = False) -> None:
        """Start the process, from the event loop's thread or before the loop runs (Linux ties
        ``PR_SET_PDEATHSIG`` to the thread that started the child); it then waits for
        :meth:`send_spec`.

        ``fork``: a copy of this process, which has imported everything the service needs (start-up,
        :meth:`Supervisor.spawn`); else a new interpreter that imports it (``python -m
        gatehold.server``: restarts, which happen while the loop and its threads run)."""
        ours, theirs = socket.socketpair()
        try:
            self.proc = self._fork(ours, theirs) if fork else self._exec(theirs)
        finally:
            theirs.close()
        self._control = ours
        self.ready = False

    def _exec(self, theirs: socket.socket) -> Process:
        return subprocess.Popen(
            [sys.executable, "-m", "gatehold.server", self.name, str(theirs.fileno()), str(os.getpid())],
            pass_fds=(theirs.fileno(), *(s.fileno() for s in self.service.sockets)),
            stdin=subprocess.DEVNULL,
            process_group=0,
        )

    def _fork(self, ours: socket.socket, theirs: socket.socket) -> Process:
        supervisor = os.getpid()
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        pid = os.fork()
        if pid:
            return _Forked(pid)
        # the child: close what belongs to the supervisor and the other processes (through their
        # objects, so that nothing closes a reused descriptor number later), then serve
        try:
            os.setpgid(0, 0)
            for sock in (ours, *self.supervisor.sockets_except(self)):
                sock.close()
            control = theirs.detach()  # the process's channel owns it now
        except BaseException:
            os._exit(1)
        serve_forked(self.name, control, supervisor)

    async def attach(self) -> None:
        """Follow the process started by :meth:`spawn`: its messages, and its exit."""
        assert self.proc is not None
        assert self._control is not None
        proc, control = self.proc, self._control
        self._control = None
        self.channel = channel = await Channel.open(control)
        self._follower = asyncio.create_task(self._follow(channel))
        _on_exit(proc, lambda code: self._exited(proc, channel, code))

    def send_spec(self) -> None:
        spec = {**self.service.spec, "listen_fds": [s.fileno() for s in self.service.sockets]}
        self.tell({"spec": spec})

    def tell(self, message: dict[str, Any] | bytes) -> None:
        """Send a message (or one :meth:`Channel.encode` d) if the process runs."""
        if self.channel is not None and self.running:
            self.channel.send_encoded(message if isinstance(message, bytes) else Channel.encode(message))

    async def metrics(self, number: int) -> str | None:
        """This process's ``/metrics`` text, or None when it does not answer in time."""
        if self.channel is None or not self.ready:
            return None
        reply = self._replies[number] = asyncio.get_running_loop().create_future()
        self.channel.send({"metrics": number})
        try:
            return await asyncio.wait_for(reply, METRICS_TIMEOUT_S)
        except TimeoutError:
            return None
        finally:
            self._replies.pop(number, None)

    async def explain(self, number: int, request_id: str) -> dict[str, Any] | None:
        """A recent request of this (gateway) process, explained; None when it does not know it or
        does not answer in time."""
        if self.channel is None or not self.ready:
            return None
        reply = self._explained[number] = asyncio.get_running_loop().create_future()
        self.channel.send({"explain": number, "request_id": request_id})
        try:
            return await asyncio.wait_for(reply, METRICS_TIMEOUT_S)
        except TimeoutError:
            return None
        finally:
            self._explained.pop(number, None)

    @property
    def responsive(self) -> bool:
        """The process answered the heartbeats sent more than :data:`UNRESPONSIVE_S` ago."""
        since = self.unanswered_since
        return since is None or time.monotonic() - since < UNRESPONSIVE_S

    def ping(self) -> None:
        if self.unanswered_since is None:
            self.unanswered_since = time.monotonic()
        self.tell({"ping": True})

    async def _follow(self, channel: Channel) -> None:
        while (message := await channel.receive()) is not None:
            self.unanswered_since = None  # any message: its event loop turns
            if message.get("ready"):
                self.ready, self.silent = True, False
                self.ready_since = time.monotonic()
                self.supervisor.became_ready(self)
            elif "metrics" in message:
                reply = self._replies.get(message["metrics"])
                if reply is not None and not reply.done():
                    reply.set_result(str(message.get("text", "")))
            elif "explain" in message:
                explained = self._explained.get(message["explain"])
                if explained is not None and not explained.done():
                    explained.set_result(message.get("trace"))

    def _exited(self, proc: Process, channel: Channel, returncode: int) -> None:
        served = time.monotonic() - self.ready_since if self.ready else 0.0
        self.ready = False
        channel.close()
        if self._follower is not None:
            self._follower.cancel()
        for reply in self._replies.values():
            if not reply.done():
                reply.set_result("")
        for explained in self._explained.values():
            if not explained.done():
                explained.set_result(None)
        self.supervisor.exited(self, proc.pid, returncode, served)

    def signal(self, sig: int) -> None:
        if self.running:
            assert self.proc is not None
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)


def _on_exit(proc: Process, callback: Callable[[int], None]) -> None:
    """Call ``callback(returncode)`` on the loop once ``proc`` has exited: a pidfd readable at its
    exit (Linux), else a poll."""
    loop = asyncio.get_running_loop()
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        pidfd = -1

    if pidfd >= 0:

        def readable() -> None:
            loop.remove_reader(pidfd)
            os.close(pidfd)
            callback(proc.wait())

        loop.add_reader(pidfd, readable)
        return

    async def poll() -> None:
        while (code := proc.poll()) is None:
            await asyncio.sleep(0.1)
        callback(code)

    task = asyncio.create_task(poll())
    _polls.add(task)
    task.add_done_callback(_polls.discard)


_polls: set[asyncio.Task[None]] = set()


class Supervisor:
    """Runs :class:`ServiceSpec` s as processes (module docstring)."""

    def __init__(self, services: Iterable[ServiceSpec], *, graceful_timeout: float) -> None:
        self.children = [Child(service, self) for service in services]
        #: the supervisor's own listening sockets (the admin port): no process inherits them
        self.sockets: list[socket.socket] = []
        self.graceful_timeout = graceful_timeout
        #: "starting", "serving", "stopping"
        self.state = "starting"
        self._restarts: set[asyncio.Task[None]] = set()
        self._numbers = itertools.count(1)

    def add(self, service: ServiceSpec) -> None:
        self.children.append(Child(service, self))

    def child(self, name: str) -> Child:
        return next(c for c in self.children if c.name == name)

    def of_role(self, role: str) -> list[Child]:
        return [c for c in self.children if c.service.role == role]

    # -- start --------------------------------------------------------------------------------------

    def spawn(self) -> None:
        """Start every process not started yet, as copies of this one (see :meth:`Child.spawn`):
        call it before the event loop runs, once everything the services need is imported (the
        copies share it, and start in milliseconds). Where ``fork`` is not safe (threads running;
        macOS, whose system frameworks are not fork-safe) they are new interpreters."""
        import threading

        fork = sys.platform == "linux" and threading.active_count() == 1
        gc.freeze()  # the copies' collectors leave the shared pages alone
        for child in self.children:
            if child.proc is None:
                child.spawn(fork=fork)
        gc.unfreeze()

    def sockets_except(self, child: Child) -> list[socket.socket]:
        """Every socket of this process that ``child``'s process has no use for."""
        others = [c for c in self.children if c is not child]
        return [
            *self.sockets,
            *(s for c in others for s in c.service.sockets),
            *(c._control for c in others if c._control is not None),
        ]

    async def start(self, specs: dict[str, dict[str, Any]]) -> None:
        """Send each process its spec (by name) and wait until all serve; :class:`StartFailed` if
        one exits first or takes longer than :data:`START_TIMEOUT_S`."""
        for child in self.children:
            if child.proc is None:
                child.spawn()
            child.service.spec = specs[child.name]
            await child.attach()
            child.send_spec()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not all(c.ready for c in self.children):
            if self.state == "stopping":
                raise asyncio.CancelledError
            for child in self.children:
                code = child.proc.returncode if child.proc is not None else None
                if code is not None:
                    how = describe_exit(code)
                    raise StartFailed(
                        f"the {child.service.title} (pid {child.pid}) {how} before it was ready"
                    )
            if time.monotonic() > deadline:
                waiting = ", ".join(c.service.title for c in self.children if not c.ready)
                raise StartFailed(f"not ready after {START_TIMEOUT_S:.0f} s: {waiting}")
            await asyncio.sleep(0.01)
        self.state = "serving"

    # -- readiness ----------------------------------------------------------------------------------

    def ready(self) -> bool:
        return self.state == "serving" and all(c.ready and c.responsive for c in self.children)

    def readiness(self) -> dict[str, Any]:
        """The ``/readyz`` body while not ready."""
        if self.state != "serving":
            return {"status": self.state}
        if any(not c.ready for c in self.children):
            return {"status": "restarting", "waiting": [c.name for c in self.children if not c.ready]}
        return {"status": "unresponsive", "waiting": [c.name for c in self.children if not c.responsive]}

    async def heartbeat(self) -> None:
        """Ask every serving process for a sign of life each :data:`HEARTBEAT_S`, and say when one
        stops answering (a handler holding the GIL in in-process isolation, say) and when it
        answers again. Nothing is killed for it: a process busy in C code may come back."""
        while self.state == "serving":
            for child in self.children:
                if not child.ready:
                    continue
                if not child.responsive and not child.silent:
                    child.silent = True
                    log.warning(
                        "%s (pid %d) has not answered for %g s (its event loop is blocked); /readyz says so",
                        child.service.title,
                        child.pid,
                        UNRESPONSIVE_S,
                        extra={"event": "process_unresponsive", "service": child.name, "pid": child.pid},
                    )
                elif child.responsive and child.silent:
                    child.silent = False
                    log.info(
                        "%s (pid %d) answers again",
                        child.service.title,
                        child.pid,
                        extra={"event": "process_responsive", "service": child.name, "pid": child.pid},
                    )
                child.ping()
            due = time.monotonic() + HEARTBEAT_S
            await asyncio.sleep(HEARTBEAT_S)
            if time.monotonic() - due > HEARTBEAT_S:  # this process was held up (suspended, swapped)
                for child in self.children:  # the processes' answers may be waiting to be read
                    if child.unanswered_since is not None:
                        child.unanswered_since = time.monotonic()

    def processes(self) -> dict[str, int]:
        """Each running process's pid, by name."""
        return {c.name: c.pid for c in self.children if c.running}

    # -- restarts -----------------------------------------------------------------------------------

    def became_ready(self, child: Child) -> None:
        if self.state == "serving" and (child.failures or child.replacing):
            log.info(
                "%s (pid %d) serves again",
                child.service.title,
                child.pid,
                extra={"event": "process_ready", "service": child.name, "pid": child.pid},
            )
        child.replacing = False

    def exited(self, child: Child, pid: int, returncode: int, served_s: float) -> None:
        how = describe_exit(returncode)
        details = {"service": child.name, "pid": pid, "exit_code": returncode}
        if returncode < 0:
            details["signal"] = (
                signal.Signals(-returncode).name if -returncode in signal.valid_signals() else ""
            )
        if self.state == "stopping":
            log.info(
                "%s (pid %d) stopped", child.service.title, pid, extra={"event": "process_stopped", **details}
            )
            return
        if self.state == "starting":
            return  # start() reports it
        if child.replacing:
            delay = 0.0
            log.info(
                "%s (pid %d) %s; starting it with the new settings",
                child.service.title,
                pid,
                how,
                extra={"event": "process_replaced", **details},
            )
        else:
            if served_s >= STABLE_S:
                child.failures = 0
            delay = RESTART_DELAYS[min(child.failures, len(RESTART_DELAYS) - 1)]
            child.failures += 1
            log.error(
                "%s (pid %d) %s; starting it again%s",
                child.service.title,
                pid,
                how,
                f" in {delay:g} s" if delay else "",
                extra={"event": "process_exit", **details, "restart_in_s": delay, "failures": child.failures},
            )
        task = asyncio.create_task(self._restart(child, delay))
        self._restarts.add(task)
        task.add_done_callback(self._restarts.discard)

    async def _restart(self, child: Child, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        if self.state == "stopping":
            return
        child.spawn()
        await child.attach()
        child.send_spec()

    def replace(self, name: str, spec: dict[str, Any]) -> None:
        """Run ``name`` with a new spec: its process stops gracefully and a new one starts."""
        child = self.child(name)
        child.service.spec = spec
        child.replacing = True
        child.signal(signal.SIGTERM)

    # -- messages -----------------------------------------------------------------------------------

    def tell(self, role: str, message: dict[str, Any]) -> None:
        """Send ``message`` to every running process of ``role`` (one that is starting again gets
        the current spec instead)."""
        children = [c for c in self.of_role(role) if c.running]
        if children:
            frame = Channel.encode(message)
            for child in children:
                child.tell(frame)

    async def metrics(self) -> dict[str, str]:
        """Every serving process's ``/metrics`` text, by name."""
        number = next(self._numbers)
        texts = await asyncio.gather(*(c.metrics(number) for c in self.children))
        return {c.name: text for c, text in zip(self.children, texts, strict=True) if text}

    async def explain(self, request_id: str) -> dict[str, Any] | None:
        """A recent request explained by the gateway process that answered it (``gatehold explain``;
        each gateway process keeps its own), or None when none knows it."""
        number = next(self._numbers)
        found = await asyncio.gather(*(c.explain(number, request_id) for c in self.of_role("gateway")))
        return next((f for f in found if f is not None), None)

    # -- stop ---------------------------------------------------------------------------------------

    async def stop(self) -> None:
        """Stop every process gracefully (module docstring); returns once all have exited."""
        if self.state == "stopping":
            return
        self.state = "stopping"
        for task in self._restarts:
            task.cancel()
        for child in self.children:
            for sock in child.service.sockets:
                sock.close()
        first = [c for c in self.children if c.service.role not in ("idp", "dynamodb")]
        await self._stop(first)
        await self._stop([c for c in self.children if c not in first])

    def force(self) -> None:
        """Skip the grace period: in-flight requests are cut (a second Ctrl+C)."""
        for child in self.children:
            child.tell({"force": True})

    async def _stop(self, children: list[Child]) -> None:
        for child in children:
            child.signal(signal.SIGTERM)
        deadline = time.monotonic() + self.graceful_timeout + KILL_AFTER_S
        while any(c.running for c in children) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for child in children:
            if child.running:
                assert child.proc is not None
                log.warning(
                    "%s (pid %d) did not stop within the grace period; killing it",
                    child.service.title,
                    child.pid,
                    extra={"event": "process_killed", "service": child.name, "pid": child.pid},
                )
                child.signal(signal.SIGKILL)
                await asyncio.to_thread(child.proc.wait)
        await asyncio.sleep(0)  # the exit callbacks
