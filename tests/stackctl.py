"""Start and stop `gatehold up` as a real subprocess on free loopback ports (used by the fixtures)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    """A running `gatehold up`; URLs use `localhost` like the browser and the issuer do."""

    data_dir: Path
    gateway_port: int
    idp_port: int
    spa_port: int
    admin_port: int
    config: Path | None = None
    #: the local DynamoDB endpoint's (a configuration with tables: the example stack's WishList)
    dynamodb_port: int = field(default_factory=lambda: free_port())
    extra_args: list[str] = field(default_factory=list)
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
        return self.idp_url + "/"

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
        cmd = [
            sys.executable,
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
        return cmd + self.extra_args

    def start(self, timeout: float = 60.0) -> Stack:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / f"gatehold-{int(time.time() * 1000)}.log"
        log = self.log_path.open("wb")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gatehold up exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.admin_url}/readyz", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gatehold up did not become ready in {timeout}s:\n{self.output()}")

    def restart(self, timeout: float = 60.0) -> Stack:
        """Stop gracefully and start again on the same ports and data directory."""
        code = self.stop()
        if code != 0:
            raise RuntimeError(f"gatehold up exited with {code} on SIGTERM:\n{self.output()}")
        return self.start(timeout)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)


def new_stack(data_dir: Path, config: Path | None = None, extra_args: list[str] | None = None) -> Stack:
    return Stack(
        data_dir=data_dir,
        gateway_port=free_port(),
        idp_port=free_port(),
        spa_port=free_port(),
        admin_port=free_port(),
        config=config,
        extra_args=extra_args or [],
    )
