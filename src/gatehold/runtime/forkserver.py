"""Cheap cold starts for Python execution environments: a fork server.

Starting an interpreter and importing the worker's modules costs 60-100 ms of CPU per environment on
this machine class (docs/runtime.md, "Cold starts"); forking a process that has done it once costs a
few. So the gateway starts one *fork server* — a Python process that imports
:mod:`gatehold.runtime.worker` and nothing of the functions' code — and asks it for each
environment. The fork runs the worker's loop with the function's environment variables and the
channel, bell and claims descriptors it was sent; it is a separate process, exactly as isolated as a
spawned one (its own memory, killed on its own, its crash its own).

Protocol, on a ``SOCK_SEQPACKET`` socket (one message each, descriptors passed with ``SCM_RIGHTS``):

* gateway → server: ``orjson {"data": <worker data>, "env": {…}}`` with the three descriptors;
* server → gateway: ``{"ready": true}`` once, then per request, in order, ``{"pid": N}`` with a
  pidfd of the child (so the gateway can kill it race-free), and ``{"exit": N, "code": C}`` when a
  child ended (``C`` as :mod:`subprocess` gives it: ``-9`` for SIGKILL).

The server dies with the gateway (``PR_SET_PDEATHSIG``) and its children with it. Interpreter
settings read at start-up (``PYTHONHASHSEED``, ``-X`` options) are the server's; ``os.environ``,
``TZ`` and ``PYTHONPATH`` are the function's.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import gc
import logging
import os
import select
import signal
import socket
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Final

import orjson

from gatehold.runtime.environment import HAS_PIDFD, resident_bytes

log = logging.getLogger("gatehold.lambda")

CONTROL_FD: Final = 3
_MAX_MESSAGE: Final = 1 << 20


def available() -> bool:
    """Linux with pidfds (the gateway kills forks it is not the parent of), unless
    ``GATEHOLD_FORKSERVER=0`` asks for a new interpreter per environment."""
    if os.environ.get("GATEHOLD_FORKSERVER", "1") == "0":
        return False
    return HAS_PIDFD and sys.platform.startswith("linux") and hasattr(socket, "SOCK_SEQPACKET")


# -- the server process ---------------------------------------------------------------------------------


def _fork_worker(
    data: dict[str, Any], env: dict[str, str], fds: list[int], control: socket.socket, own: tuple[int, ...]
) -> int:
    """Fork; the child becomes the worker (``own``: the server's descriptors it must not keep)."""
    server = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    # the child: become the worker; never return into the server's loop
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        control.close()
        for fd in own:
            os.close(fd)
        for target, fd in zip((3, 4, 5), fds, strict=True):
            os.dup2(fd, target)
        for fd in fds:
            if fd not in (3, 4, 5):
                os.close(fd)
        path = env.get("PYTHONPATH")
        os.environ.clear()
        os.environ.update(env)
        time.tzset()
        if path:
            sys.path[1:1] = [p for p in path.split(os.pathsep) if p and p not in sys.path]
        from gatehold.runtime import worker

        worker.die_with_parent(server)
        worker.run(data)
        code = 0
    except SystemExit as exc:  # sys.exit() in a handler ends the environment, as in Lambda
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)
    return 0  # not reached


def serve(control: socket.socket) -> None:
    """The server's loop: fork on request, report exits."""
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    control.send(orjson.dumps({"ready": True}))
    poller = select.poll()
    poller.register(control, select.POLLIN)
    poller.register(wake_r, select.POLLIN)
    while True:
        for fd, _ in poller.poll():
            if fd == wake_r:
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_r, 4096)
                _report_exits(control)
                continue
            message, fds = _receive(control)
            if message is None:
                return  # the gateway closed the socket (or died)
            try:
                pid = _fork_worker(message["data"], message["env"], fds, control, (wake_r, wake_w))
            finally:
                for fd in fds:
                    os.close(fd)
            pidfd = os.pidfd_open(pid)
            try:
                control.sendmsg(
                    [orjson.dumps({"pid": pid})],
                    [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [pidfd]))],
                )
            finally:
                os.close(pidfd)
        _report_exits(control)


def _receive(control: socket.socket) -> tuple[dict[str, Any] | None, list[int]]:
    fds = array.array("i")
    try:
        msg, ancdata, _flags, _addr = control.recvmsg(_MAX_MESSAGE, socket.CMSG_SPACE(3 * fds.itemsize))
    except ConnectionError:
        return None, []
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
    if not msg:
        for fd in fds:
            os.close(fd)
        return None, []
    return orjson.loads(msg), list(fds)


def _report_exits(control: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        control.send(orjson.dumps({"exit": pid, "code": os.waitstatus_to_exitcode(status)}))


def main(argv: list[str]) -> None:
    from gatehold.runtime import worker

    worker.die_with_parent(int(argv[1]))
    control = socket.socket(fileno=CONTROL_FD)
    gc.collect()
    gc.freeze()  # the imported modules stay out of the children's collections (and their pages shared)
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        serve(control)  # until the gateway closes the socket or goes away


# -- the gateway's side ------------------------------------------------------------------------------------


class ForkedProcess:
    """A process the fork server made: its pid and pidfd arrive with the server's answer."""

    def __init__(self, server: ForkServer, on_exit: Callable[[int | None], None]) -> None:
        self.server = server
        self.on_exit = on_exit
        self.pid = 0
        self.pidfd: int | None = None
        self.returncode: int | None = None
        self._kill_when_known = False

    def started(self, pid: int, pidfd: int) -> None:
        self.pid, self.pidfd = pid, pidfd
        if self._kill_when_known:
            self.kill()

    def kill(self) -> None:
        if self.returncode is not None:
            return
        if self.pidfd is None:
            self._kill_when_known = True
            return
        with contextlib.suppress(ProcessLookupError, OSError):
            signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)

    def ended(self, returncode: int | None) -> None:
        if self.returncode is not None:
            return
        self.returncode = returncode if returncode is not None else -signal.SIGKILL
        self.close()
        self.on_exit(self.returncode)

    def rss(self) -> int | None:
        return resident_bytes(self.pid) if self.pid else None

    def close(self) -> None:
        if self.pidfd is not None:
            with contextlib.suppress(OSError):
                os.close(self.pidfd)
            self.pidfd = None


class ForkServer:
    """The gateway's handle on its fork server (started on first use, on the running loop; started
    again if it dies — its children die with it and are reported as killed)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sock: socket.socket | None = None
        self._process: Any = None  # environment.Process
        self._waiting: deque[ForkedProcess] = deque()  # sent, no pid yet (answers come in order)
        self._children: dict[int, ForkedProcess] = {}

    def spawn(
        self, data: dict[str, Any], env: dict[str, str], fds: list[int], on_exit: Callable[[int | None], None]
    ) -> ForkedProcess:
        """Ask for a worker; ``fds`` (channel, bell, claims) are sent, the caller keeps its copies."""
        sock = self._ensure()
        process = ForkedProcess(self, on_exit)
        message = orjson.dumps({"data": data, "env": env})
        try:
            sock.sendmsg([message], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
        except BlockingIOError:  # the server is behind: wait for it (a few ms at most)
            sock.setblocking(True)
            try:
                sock.sendmsg([message], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
            finally:
                sock.setblocking(False)
        self._waiting.append(process)
        return process

    def _ensure(self) -> socket.socket:
        loop = asyncio.get_running_loop()
        if self._sock is not None and self._loop is loop:
            return self._sock
        self.close_now()
        from gatehold.runtime import environ
        from gatehold.runtime.environment import Process, worker_argv

        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._process = Process(
                worker_argv("gatehold.runtime.forkserver", str(os.getpid())),
                environ.process_environ(),
                {CONTROL_FD: theirs.fileno()},
            )
        finally:
            theirs.close()
        ours.setblocking(False)
        self._sock, self._loop = ours, loop
        loop.add_reader(ours, self._on_message)
        return ours

    def _on_message(self) -> None:
        sock = self._sock
        assert sock is not None
        while True:
            fds = array.array("i")
            try:
                msg, ancdata, _flags, _addr = sock.recvmsg(4096, socket.CMSG_SPACE(fds.itemsize))
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                msg, ancdata = b"", []
            for level, kind, payload in ancdata:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds.frombytes(payload[: len(payload) - (len(payload) % fds.itemsize)])
            if not msg:
                self._server_died()
                return
            message = orjson.loads(msg)
            if "pid" in message:
                process = self._waiting.popleft()
                self._children[message["pid"]] = process
                process.started(message["pid"], fds[0])
            elif "exit" in message:
                child = self._children.pop(message["exit"], None)
                if child is not None:
                    child.ended(message["code"])

    def _server_died(self) -> None:
        """Its children got SIGKILL with it (``PR_SET_PDEATHSIG``): report them so."""
        log.warning("the fork server of the Lambda runtime ended; it starts again for the next environment")
        orphans = list(self._children.values()) + list(self._waiting)
        self._children.clear()
        self._waiting.clear()
        self.close_now()
        for process in orphans:
            process.ended(-signal.SIGKILL)

    def close_now(self) -> None:
        """Stop the server (its children die with it) and forget it."""
        sock, self._sock = self._sock, None
        loop, self._loop = self._loop, None
        if sock is not None:
            if loop is not None and not loop.is_closed():
                with contextlib.suppress(Exception):
                    loop.remove_reader(sock)
            sock.close()
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.reap(block=True)
            process.close()


if __name__ == "__main__":
    main(sys.argv)
