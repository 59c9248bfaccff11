"""Start and stop ``gatehold up`` from Python, on free loopback ports: what the pytest plugin, ``gatehold
run`` and Gatehold's own tests use.

A :class:`Stack` is ``python -m gatehold up`` as a subprocess of the caller, exactly as a developer
runs it (the supervisor and one process per service, docs/runtime.md), its output in a log file of
its data directory. :meth:`Stack.start` returns once the admin port's ``/readyz`` says every process
serves, or raises :class:`StackStartError` with the log; :meth:`Stack.stop` is ``gatehold up``'s own
graceful stop (SIGTERM), then a kill if it takes too long. A stack never outlives the process that
started it (Linux): killed test runs leave no ``gatehold up`` behind on their ports::

    from gatehold.testing.stack import new_stack

    with new_stack(tmp_path / "gatehold", config=Path("template.yaml")) as stack:
        httpx.get(stack.gateway_url + "/Prod/hello")

The URLs say ``localhost``, as the browser, the issuer (``iss``) and the printed banner do.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

__all__ = ["Stack", "StackStartError", "free_port", "new_stack"]


def free_port() -> int:
    """A TCP port of 127.0.0.1 free at the time of the call (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        return s.connect_ex(("127.0.0.1", port)) == 0


#: ``gatehold up`` stops (SIGTERM: gracefully, its processes with it) when the process that started it
#: dies, even by SIGKILL (a test run killed by its CI's timeout): ``PR_SET_PDEATHSIG`` (Linux), set in
#: the child before it becomes ``gatehold up`` (it survives ``execv``); argv[1] is the parent's pid, in
#: case it died before the call
_DIE_WITH_PARENT = (
    "import ctypes, os, signal, sys\n"
    "ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    sys.exit(1)\n"
    "os.execv(sys.executable, [sys.executable, *sys.argv[2:]])\n"
)


class StackStartError(RuntimeError):
    """``gatehold up`` exited, or was not ready in time; the message ends with its output."""


@dataclass
class Stack:
    """A ``gatehold up`` on the given ports, started by :meth:`start` (or ``with``)."""

    data_dir: Path
    gateway_port: int
    idp_port: int
    spa_port: int
    admin_port: int
    #: gatehold.yaml, or a template or document to import (None: the bundled example stack)
    config: Path | None = None
    #: the local DynamoDB endpoint's (served when the configuration has tables)
    dynamodb_port: int = field(default_factory=free_port)
    #: more ``gatehold up`` arguments: ``--issuer-alias``, ``--parameter-overrides``, ``--no-reload`` …
    extra_args: list[str] = field(default_factory=list)
    #: ``--public-url``: the identity provider's public base URL (the issuer's, a load balancer's in
    #: front of replicas); None: its own, ``http://localhost:<idp_port>``
    public_url: str | None = None
    #: the environment of ``gatehold up`` (and so of the functions): this process's when None
    env: dict[str, str] | None = None
    #: start it in a process group of its own, out of reach of the terminal's Ctrl+C (``gatehold
    #: run``: the command gets the Ctrl+C and may still need the stack; the stack stops after it)
    own_process_group: bool = False
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def gateway_url(self) -> str:
        return f"http://localhost:{self.gateway_port}"

    @property
    def idp_url(self) -> str:
        return f"http://localhost:{self.idp_port}"

    @property
    def issuer(self) -> str:
        """The identity provider's issuer (``iss`` of its tokens): its public URL and a slash, as
        Auth0's (``idp_url`` stays this stack's own listener)."""
        return (self.public_url or self.idp_url).rstrip("/") + "/"

    @property
    def spa_url(self) -> str:
        return f"http://localhost:{self.spa_port}"

    @property
    def admin_url(self) -> str:
        return f"http://localhost:{self.admin_port}"

    @property
    def dynamodb_url(self) -> str:
        return f"http://127.0.0.1:{self.dynamodb_port}"

    def command(self) -> list[str]:
        python = [sys.executable]
        if sys.platform == "linux":
            python += ["-c", _DIE_WITH_PARENT, str(os.getpid())]
        cmd = [
            *python,
            "-m",
            "gatehold",
            "up",
            "--host",
            "127.0.0.1",
            "--gateway-port",
            str(self.gateway_port),
            "--idp-port",
            str(self.idp_port),
            "--spa-port",
            str(self.spa_port),
            "--admin-port",
            str(self.admin_port),
            "--dynamodb-port",
            str(self.dynamodb_port),
            "--data-dir",
            str(self.data_dir),
        ]
        if self.config is not None:
            cmd += ["-c", str(self.config)]
        if self.public_url is not None:
            cmd += ["--public-url", self.public_url]
        return cmd + self.extra_args

    def start(self, timeout: float = 60.0) -> Stack:
        """Start ``gatehold up`` and wait until ``/readyz`` answers 200; :class:`StackStartError`
        (with the output) if it exits first or is not ready within ``timeout`` seconds."""
        self.launch()
        return self.wait_ready(timeout)

    def launch(self) -> None:
        """Start ``gatehold up`` without waiting (:meth:`wait_ready`): several stacks started at once.

        Call it from a thread that lives as long as the stack, the main thread say: on Linux the stack
        stops when the thread that started it ends (``PR_SET_PDEATHSIG`` follows the thread)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / f"gatehold-{int(time.time() * 1000)}.log"
        env = {**(os.environ if self.env is None else self.env), "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                process_group=0 if self.own_process_group else None,
            )

    def wait_ready(self, timeout: float = 60.0) -> Stack:
        """Wait until the launched stack's ``/readyz`` answers 200 (see :meth:`start`)."""
        if self.proc is None:
            raise StackStartError("gatehold up was not launched")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StackStartError(f"gatehold up exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.admin_url}/readyz", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise StackStartError(f"gatehold up did not become ready in {timeout:g} s:\n{self.output()}")

    def restart(self, timeout: float = 60.0) -> Stack:
        """Stop gracefully and start again on the same ports and data directory."""
        code = self.stop()
        if code != 0:
            raise StackStartError(f"gatehold up exited with {code} on SIGTERM:\n{self.output()}")
        return self.start(timeout)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def output(self) -> str:
        """What ``gatehold up`` printed (banner, access log, errors) since the last start."""
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int | None:
        """Stop ``gatehold up`` (SIGTERM: in-flight requests finish) and return its exit status; killed
        if still there after ``timeout`` seconds. None if it was never started."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)

    def serves_tables(self) -> bool:
        """Whether the local DynamoDB endpoint is up (the configuration has tables)."""
        return self.running and _listening(self.dynamodb_port)

    def serves_spa(self) -> bool:
        return self.running and _listening(self.spa_port)

    def environment(self) -> dict[str, str]:
        """The stack's URLs as ``GATEHOLD_*`` variables, as ``gatehold run`` gives them to its command.

        ``GATEHOLD_SPA_URL`` and ``GATEHOLD_DYNAMODB_URL`` only when the stack serves them."""
        env = {
            "GATEHOLD_GATEWAY_URL": self.gateway_url,
            "GATEHOLD_ISSUER": self.issuer,
            "GATEHOLD_IDP_URL": self.idp_url,
            "GATEHOLD_JWKS_URL": self.issuer + ".well-known/jwks.json",
            "GATEHOLD_TOKEN_URL": self.idp_url + "/oauth/token",
            "GATEHOLD_ADMIN_URL": self.admin_url,
            "GATEHOLD_DATA_DIR": str(self.data_dir.resolve()),
        }
        if self.serves_spa():
            env["GATEHOLD_SPA_URL"] = self.spa_url
        if self.serves_tables():
            env["GATEHOLD_DYNAMODB_URL"] = self.dynamodb_url
        return env

    def __enter__(self) -> Stack:
        return self if self.running else self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def new_stack(
    data_dir: Path,
    config: Path | None = None,
    extra_args: Sequence[str] | None = None,
    *,
    env: dict[str, str] | None = None,
) -> Stack:
    """A :class:`Stack` on free ports (not started): ``config`` is a gatehold.yaml or any template
    ``gatehold up -c`` imports (None: the bundled example stack)."""
    return Stack(
        data_dir=data_dir,
        gateway_port=free_port(),
        idp_port=free_port(),
        spa_port=free_port(),
        admin_port=free_port(),
        config=config,
        extra_args=list(extra_args or []),
        env=env,
    )
