"""The hostile suite's tools: a server in a process of its own (its RSS read from /proc) and a raw
socket client that reads responses as RFC 9112 frames them, with socket timeouts only (no timing
assertions: every wait is bounded so that a failure is an assertion, never a hang)."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: a generous bound for anything a server does "soon"
PATIENCE = 20.0
MB = 1024 * 1024


@dataclass
class Server:
    """``python -m tests.hostile.serve SERVER APP`` (tests/hostile/serve.py) on a free port."""

    server: str  # "gatehold" or "uvicorn"
    app: str  # "gateway" or "idp"
    keep_alive: float = 2.0
    grace: float = 30.0
    proc: subprocess.Popen[bytes] | None = None
    port: int = 0
    log_path: Path | None = None

    @property
    def label(self) -> str:
        return f"{self.server} {self.app}"

    def start(self, log_dir: Path) -> Server:
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{self.server}-{self.app}-{os.getpid()}-{time.monotonic_ns()}.log"
        command = [sys.executable, "-m", "tests.hostile.serve", self.server, self.app]
        command += ["--keep-alive", str(self.keep_alive), "--grace", str(self.grace)]
        command += ["--data-dir", str(log_dir / f"data-{time.monotonic_ns()}")]
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                command, cwd=ROOT, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL
            )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 60)
        line = self.proc.stdout.readline().decode() if ready else ""
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"{self.label} did not start: {line!r}\n{self.output()}")
        self.port = int(line.split()[1])
        return self

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _status(self, key: str) -> float:
        """A ``VmRSS`` / ``VmHWM`` line of /proc/PID/status, in MB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
        raise KeyError(key)

    def rss_mb(self) -> float:
        return self._status("VmRSS")

    def peak_mb(self) -> float:
        """The highest RSS since :meth:`reset_peak` (the kernel's own high-water mark)."""
        return self._status("VmHWM")

    def reset_peak(self) -> None:
        """Reset the kernel's RSS high-water mark to the current RSS (``clear_refs`` 5)."""
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout: float = PATIENCE) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(self.grace + 15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return self.proc.returncode


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        found = [v for n, v in self.headers if n.lower() == name.lower()]
        return found[-1] if found else None


class Closed(Exception):
    """The server closed the connection (or reset it) before a whole response arrived."""


@dataclass
class Client:
    """One raw connection. ``send`` writes bytes as they are; ``response`` reads the next one."""

    port: int
    timeout: float = PATIENCE
    sock: socket.socket = field(init=False)
    buffer: bytes = b""

    def __post_init__(self) -> None:
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def send(self, data: bytes) -> bool:
        """Send ``data``; False when the server closed or reset the connection first."""
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            return False
        return True

    def _more(self) -> None:
        try:
            chunk = self.sock.recv(1 << 20)
        except ConnectionResetError as exc:
            raise Closed("reset") from exc
        if not chunk:
            raise Closed("closed")
        self.buffer += chunk

    def _take(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._more()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            self._more()
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def response(self, method: str = "GET", keep_body: bool = True) -> Response:
        """The next final response (interim 1xx ones are skipped)."""
        while True:
            while b"\r\n\r\n" not in self.buffer:
                self._more()
            head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
            status_line, *lines = head.decode("latin-1").split("\r\n")
            status = int(status_line.split(" ")[1])
            headers = [(n, v.strip()) for n, v in (line.split(":", 1) for line in lines)]
            if status >= 200:
                break
        response = Response(status, headers, b"")
        if method == "HEAD" or status in (204, 304):
            return response
        if (response.header("transfer-encoding") or "").lower() == "chunked":
            chunks = []
            while size := int(self._line().split(b";")[0], 16):
                chunks.append(self._take(size))
                self._take(2)
            while self._line():  # trailers
                pass
            body = b"".join(chunks)
        elif (length := response.header("content-length")) is not None:
            body = self._take(int(length))
        else:
            body = self.rest()
        response.body = body if keep_body else b""
        return response

    def responses(self, method: str = "GET") -> tuple[list[Response], bool]:
        """Every response until the server closes the connection or goes quiet for
        :attr:`timeout`; and whether it closed."""
        answers: list[Response] = []
        try:
            while True:
                answers.append(self.response(method))
        except Closed:
            return answers, True
        except TimeoutError:
            return answers, False

    def rest(self) -> bytes:
        """Whatever arrives until the close."""
        with contextlib.suppress(Closed):
            while True:
                self._more()
        data, self.buffer = self.buffer, b""
        return data

    def closed_by_server(self) -> bool:
        """Whether the server closes the connection with nothing more sent (within :attr:`timeout`)."""
        try:
            self._more()
        except Closed:
            return True
        except TimeoutError:
            return False
        return False


def request(
    method: str,
    target: str,
    headers: list[tuple[str, str]] | None = None,
    body: bytes | None = None,
    version: str = "1.1",
) -> bytes:
    """Request bytes: ``Host`` first, then ``headers``, and a ``Content-Length`` for ``body`` unless
    ``headers`` frame it."""
    lines = [f"{method} {target} HTTP/{version}", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers or []]
    framed = any(name.lower() in ("content-length", "transfer-encoding") for name, _ in headers or [])
    if body is not None and not framed:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


def chunked(*chunks: bytes) -> bytes:
    return b"".join(b"%x\r\n%b\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"


def wait_until(condition: Callable[[], bool], what: str, patience: float = PATIENCE) -> None:
    """Poll ``condition`` until it holds; fail (not hang) after ``patience`` seconds."""
    deadline = time.monotonic() + patience
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.02)


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except (ConnectionRefusedError, TimeoutError):
        return True
    return False


@contextlib.contextmanager
def sending(client: Client, data: Iterator[bytes] | list[bytes]) -> Iterator[threading.Thread]:
    """Send ``data`` on a thread (the server may stop reading while the test reads its answers);
    joined on exit. A server that closes or resets the connection ends the sending."""

    def run() -> None:
        for part in data:
            if not client.send(part):
                return

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        thread.join(PATIENCE)


def settle(read: Callable[[], float], quiet: float = 2.0, patience: float = PATIENCE) -> float:
    """Sample ``read`` (an RSS) until it has not changed by 1 MB for ``quiet`` seconds or
    ``patience`` passed; the last value."""
    deadline = time.monotonic() + patience
    last, since = read(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = read()
        if abs(now - last) >= 1:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last
