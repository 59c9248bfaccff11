"""Execution environments: a process and a protocol adapter.

An *execution environment* is what Lambda calls one: a process that runs one function's invocations
one at a time and stays warm between them. The pool (:mod:`gatehold.runtime.pool`) supervises
environments through this module only:

* :class:`Process` is the operating-system side, the same for every language: spawned with
  ``posix_spawn`` (cheap however large the gateway is), in a process group of its own (a Ctrl-C in
  the terminal is the gateway's to handle), watched through a pidfd (its exit wakes the event loop;
  no SIGCHLD handler, no thread), killed with ``pidfd_send_signal``, reaped for its exit status, and
  measured (RSS from ``/proc``);
* :class:`Environment` is the protocol side: ``submit`` a batch of calls (run in order), ``collect``
  the answers already there, ``take_back`` the calls not started, ``close`` or ``kill``; it reports
  to :class:`PoolEvents` —
  ``ready`` once initialised, ``answered`` for each call in order, ``drained`` when its batch is
  answered, ``exited`` when the process is gone.

A language is a subclass and a :data:`Launcher`. Python's is
:class:`gatehold.runtime.python_env.PythonEnvironment` (framed batches over a socket, worker.py).
Lambda's Runtime API fits the same seam: a ``node`` (or any runtime interface client) process whose
adapter serves ``GET /2018-06-01/runtime/invocation/next`` from the submitted calls and turns
``POST …/{id}/response`` / ``…/{id}/error`` / ``/runtime/init/error`` into ``answered`` /
``ready``; the pool's queueing, throttling, timeouts, memory limit and crash handling do not change.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol

from gatehold.runtime.errors import LambdaError

if TYPE_CHECKING:
    from gatehold.runtime.context import FunctionSpec

#: an answer: the payload's JSON (success) or Lambda's error payload
Outcome = tuple[bytes | str | None, LambdaError | None]
#: what a sandbox's ``invoke`` returns when the function's concurrency is used up (by identity)
THROTTLED: Final[Outcome] = (None, {"errorType": "TooManyRequestsException"})

_PAGE: Final = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
HAS_PIDFD: Final = hasattr(os, "pidfd_open") and hasattr(signal, "pidfd_send_signal")


def resident_bytes(pid: int) -> int | None:
    """A process's resident memory in bytes (``/proc/<pid>/statm``), or None where there is no
    ``/proc`` (or no such process)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


class Call:
    """One invocation, from the caller to an environment and back."""

    __slots__ = ("event", "expires", "future", "request_id")

    def __init__(self, request_id: str, event: Any, future: asyncio.Future[Outcome | None]) -> None:
        self.request_id = request_id
        self.event = event
        self.future = future
        self.expires = 0.0  # loop.time() of the caller's deadline (integration timeout); 0: none


class PoolEvents(Protocol):
    """What an environment tells its pool (all on the pool's event loop)."""

    def ready(self, env: Environment, init_error: LambdaError | None) -> None: ...

    def answered(self, env: Environment, call: Call, outcome: Outcome) -> None: ...

    def drained(self, env: Environment) -> None: ...

    def exited(self, env: Environment, returncode: int | None) -> None: ...


class ProcessHandle(Protocol):
    """What an environment needs of its process, spawned (:class:`Process`) or forked
    (:class:`gatehold.runtime.forkserver.ForkedProcess`)."""

    pid: int
    pidfd: int | None
    returncode: int | None

    def kill(self) -> None: ...

    def rss(self) -> int | None: ...

    def close(self) -> None: ...


class Process:
    """A child process: spawned, watched for its exit, killed, reaped, measured."""

    def __init__(self, argv: Sequence[str], env: dict[str, str], fds: dict[int, int]) -> None:
        """Spawn ``argv`` with ``env``; ``fds`` maps a descriptor number in the child to one of ours
        (the child gets nothing else but stdout and stderr, and ``/dev/null`` as stdin)."""
        # move ours above any number the child is to get, so that no dup2 overwrites another's source
        high = {child: fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 64) for child, fd in fds.items()}
        actions: list[tuple[Any, ...]] = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0)]
        actions += [(os.POSIX_SPAWN_DUP2, fd, child) for child, fd in high.items()]
        try:
            self.pid = os.posix_spawn(argv[0], list(argv), env, file_actions=actions, setpgroup=0)
        finally:
            for fd in high.values():
                os.close(fd)
        self.returncode: int | None = None
        self.pidfd: int | None = None
        if HAS_PIDFD:
            with contextlib.suppress(OSError):
                self.pidfd = os.pidfd_open(self.pid)

    def kill(self) -> None:
        """SIGKILL, unless it has been reaped already (a pidfd never signals a reused pid)."""
        if self.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError, OSError):
            if self.pidfd is not None:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            else:
                os.kill(self.pid, signal.SIGKILL)

    def reap(self, block: bool = False) -> int | None:
        """The exit status once it has exited (``-N`` for signal N, as :mod:`subprocess` gives it)."""
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
            except ChildProcessError:  # reaped by someone else: the status is lost
                self.returncode = -255
            else:
                if pid == 0:
                    return None
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def rss(self) -> int | None:
        return resident_bytes(self.pid)

    def close(self) -> None:
        if self.pidfd is not None:
            with contextlib.suppress(OSError):
                os.close(self.pidfd)
            self.pidfd = None


STARTING: Final = "starting"
IDLE: Final = "idle"
BUSY: Final = "busy"
DEAD: Final = "dead"


class Environment:
    """One execution environment of one function: its process and the calls it is running.

    Subclasses speak a protocol (module docstring); this class keeps what the pool reads:
    ``state``, the ``batch`` in flight and how many of its calls are ``answered``, when it last made
    ``progress`` (a batch submitted or a call answered: the function timeout runs from there), and why
    it was killed, if it was.
    """

    def __init__(
        self, spec: FunctionSpec, events: PoolEvents, loop: asyncio.AbstractEventLoop, generation: int
    ) -> None:
        self.spec = spec
        self.events = events
        self.loop = loop
        self.generation = generation
        self.state: str = STARTING
        self.batch: list[Call] = []
        self.answered = 0
        self.submitted = 0.0  # loop.time() when the batch was submitted
        self.progress = 0.0  # loop.time() of the batch's start or its last answer
        self.batch_size = 0  # of the last batch submitted
        self.ran_s = 0.0  # the time its calls took, as the environment measured it
        self.kill_reason: str | None = None  # "timeout", "memory", "closed", "init-timeout", "init-error"
        self.init_error: LambdaError | None = None  # an init that failed and ended the environment
        self.ended_in: str = STARTING  # the state it was in when its process ended
        self.watchdog: asyncio.TimerHandle | None = None
        self.steal_timer: asyncio.TimerHandle | None = None
        self.checked = 0  # calls answered when the pool last looked at a long batch
        self.looked: tuple[float, int] | None = None  # then: loop.time(), the ns it had run
        self.exit_waiter: asyncio.Future[None] | None = None  # set when it has exited
        self.process: ProcessHandle | None = None
        self._pidfd_watched = False  # the event loop watches the process's pidfd

    @property
    def pid(self) -> int:
        return self.process.pid if self.process is not None else 0

    @property
    def running(self) -> Call | None:
        """The call running now (the first of the batch not answered yet)."""
        return self.batch[self.answered] if self.answered < len(self.batch) else None

    def started(self) -> bool:
        """Whether the running call has started: a protocol that hands calls out when the runtime
        asks (the Runtime API) may hold one not yet asked for, which a crash then never ran."""
        return True

    def submit(self, calls: list[Call]) -> None:
        raise NotImplementedError

    def collect(self) -> None:
        """Deliver the answers already written, without waiting."""
        raise NotImplementedError

    def take_back(self) -> list[Call]:
        """The calls of the batch this environment has not started, taken back (it will not run
        them); ``[]`` when the protocol cannot tell (then they wait for it)."""
        return []

    def close(self) -> None:
        """Stop once the batch in flight (if any) is answered."""
        raise NotImplementedError

    def kill(self, reason: str) -> None:
        """Kill the process now; ``exited`` follows."""
        if self.kill_reason is None:
            self.kill_reason = reason
        if self.process is not None:
            self.process.kill()

    def rss(self) -> int | None:
        return self.process.rss() if self.process is not None else None

    def scheduling(self) -> tuple[bool, int] | None:
        """Whether its main thread is runnable (running, or waiting for a CPU) and the ns it has
        run, or None where there is no ``/proc``."""
        return scheduling(self.pid) if self.process is not None and self.pid else None

    # -- the process's end, the same for every protocol ------------------------------------------------

    def watch(self, process: Process) -> None:
        """Watch a spawned process for its exit: its pidfd on the event loop, else a look every 50 ms
        (no pidfds: not Linux). A forked one is watched by its fork server, which calls
        :meth:`ended`."""
        if process.pidfd is not None:
            self.loop.add_reader(process.pidfd, self._on_pidfd)
            self._pidfd_watched = True
        else:
            self.loop.call_later(0.05, self._poll_exit)

    def _on_pidfd(self) -> None:
        process = self.process
        if isinstance(process, Process) and self.state != DEAD:
            returncode = process.reap()
            if returncode is not None:
                self.ended(returncode)

    def _poll_exit(self) -> None:
        process = self.process
        if self.state == DEAD or not isinstance(process, Process):
            return
        returncode = process.reap()
        if returncode is None:
            self.loop.call_later(0.05, self._poll_exit)
        else:
            self.ended(returncode)

    def ended(self, returncode: int | None) -> None:
        """The process is gone: deliver the answers it sent first, then release everything and
        report ``exited``."""
        if self.state == DEAD:
            return
        self.collect()
        if self.state == DEAD:
            return
        self.ended_in = self.state
        self.state = DEAD
        loop = self.loop
        if not loop.is_closed():
            self.unwatch()
            if self._pidfd_watched and self.process is not None and self.process.pidfd is not None:
                loop.remove_reader(self.process.pidfd)
        if self.watchdog is not None:
            self.watchdog.cancel()
            self.watchdog = None
        self.close_descriptors()
        self.events.exited(self, returncode)

    def reap_now(self) -> None:
        """Off the event loop (a closed loop, a shutdown from another one): kill, wait, release
        without touching that loop's selector."""
        process = self.process
        if process is not None and process.returncode is None:
            process.kill()
            if isinstance(process, Process):
                process.reap(block=True)
        if self.state == DEAD:
            return
        self.ended_in = self.state
        self.state = DEAD
        self.close_descriptors()

    def unwatch(self) -> None:
        """Stop watching the protocol's descriptors on the event loop (the process has ended)."""

    def close_descriptors(self) -> None:
        """Close the protocol's descriptors and the process's handle."""
        if self.process is not None:
            self.process.close()


def scheduling(pid: int) -> tuple[bool, int] | None:
    """Whether the process's main thread is runnable (state ``R`` in ``/proc/<pid>/stat``) and the
    ns it has run (``/proc/<pid>/schedstat``); None where there is no ``/proc``."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            state = stat.read().rpartition(b")")[2][1:2]
        with open(f"/proc/{pid}/schedstat", "rb") as schedstat:
            ran = int(schedstat.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return state == b"R", ran


#: starts one environment of ``spec`` (its ``ready`` or ``exited`` follows)
Launcher = Callable[["FunctionSpec", PoolEvents, asyncio.AbstractEventLoop, int], Environment]


def worker_argv(module: str, data: str) -> list[str]:
    """``python -u -c <boot> <data>``: this interpreter, Gatehold found where this process found it."""
    import gatehold

    src = os.path.dirname(os.path.dirname(os.path.abspath(gatehold.__file__)))
    boot = f"import sys\nsys.path.insert(0, {src!r})\nfrom {module} import main\nmain(sys.argv)\n"
    return [sys.executable, "-u", "-c", boot, data]
