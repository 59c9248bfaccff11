"""Process, port and load-generator plumbing shared by the benchmark harness.

Everything here is IO at the edge: start a server pinned to some CPUs, wait for its port, drive it
with wrk pinned to the other CPU, parse wrk's JSON summary (printed by our Lua ``done`` hook).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PEERS = BENCH / "peers"
VENV_PY = ROOT / ".venv" / "bin" / "python"
LUA_DIR = BENCH / "lua"

SERVER_CPU = "0"
LOADGEN_CPU = "1"
ALL_CPUS = "0,1"

# The machine is shared with other work (tests, browsers); as root, give the measured processes a
# higher scheduling weight so that a busy neighbour moves the numbers less. Set BENCH_NICE=0 to skip.
NICE = int(os.environ.get("BENCH_NICE", "-10"))


def _niced(argv: list[str]) -> list[str]:
    if NICE and os.geteuid() == 0:
        return ["nice", "-n", str(NICE), *argv]
    return argv


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before port {port} opened")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"port {port} not open after {timeout}s")


@dataclass
class Proc:
    """A started server: its process group is ended (SIGTERM, then SIGKILL) on ``stop``."""

    name: str
    popen: subprocess.Popen[bytes]
    logfile: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stop(self) -> None:
        if self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=8)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=5)

    def tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


_LOG_DIR = Path(tempfile.mkdtemp(prefix="gatehold-bench-logs-"))


def start(
    name: str,
    argv: Sequence[str],
    *,
    cpus: str | None = SERVER_CPU,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Proc:
    """Start ``argv`` in its own process group, pinned with taskset to ``cpus`` (None: unpinned)."""
    full = _niced(["taskset", "-c", cpus, *argv] if cpus else list(argv))
    logfile = _LOG_DIR / f"{name.replace('/', '_')}-{time.monotonic_ns()}.log"
    out = logfile.open("wb")
    merged = {**os.environ, **(env or {})}
    popen = subprocess.Popen(
        full, stdout=out, stderr=subprocess.STDOUT, env=merged, cwd=cwd, start_new_session=True
    )
    return Proc(name, popen, logfile)


@contextlib.contextmanager
def running(
    name: str,
    argv: Sequence[str],
    port: int,
    *,
    cpus: str | None = SERVER_CPU,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60.0,
) -> Iterator[Proc]:
    proc = start(name, argv, cpus=cpus, env=env, cwd=cwd)
    try:
        try:
            wait_port(port, timeout, proc.popen)
        except Exception as exc:
            raise RuntimeError(f"{name} did not start: {exc}\n{proc.tail()}") from exc
        yield proc
    finally:
        proc.stop()


_CLK_TCK = os.sysconf("SC_CLK_TCK")


def _tree(root: int) -> list[int]:
    """``root`` and all its descendants, from /proc."""
    parent: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                parent[int(entry)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    out, frontier = [root], [root]
    while frontier:
        frontier = [p for p, pp in parent.items() if pp in frontier]
        out += frontier
    return out


def cpu_seconds(root: int) -> float:
    """User + system CPU of ``root`` and its live descendants (all threads), in seconds.

    Under a busy neighbour a server's req/s moves with its share of the core; its CPU time per
    request does not (much): it is the contention-robust cost the report shows next to req/s.
    """
    ticks = 0
    for pid in _tree(root):
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = Path(f"/proc/{pid}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / _CLK_TCK


def rss_kb(pid: int) -> int:
    """Resident set size of ``pid`` and its children (kB), from /proc."""
    total = 0
    pids = [pid]
    with contextlib.suppress(OSError):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    for p in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


# --------------------------------------------------------------------------------------------------
# wrk
# --------------------------------------------------------------------------------------------------


@dataclass
class WrkRun:
    requests: int
    duration_s: float
    rps: float
    errors_non2xx: int
    errors_socket: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    cpu_us_per_req: float | None = None
    wrk_cpu_us_per_req: float | None = None


@dataclass
class Measurement:
    """Warm-up, then ``runs`` timed wrk runs; the median is what the table shows."""

    name: str
    runs: list[WrkRun] = field(default_factory=list)
    note: str = ""
    throttled: int | None = None  # 429s the gateway answered during the runs (None: not known)

    @property
    def rps(self) -> float:
        return statistics.median(r.rps for r in self.runs) if self.runs else 0.0

    @property
    def p99_ms(self) -> float:
        return statistics.median(r.p99_ms for r in self.runs) if self.runs else 0.0

    @property
    def p50_ms(self) -> float:
        return statistics.median(r.p50_ms for r in self.runs) if self.runs else 0.0

    @property
    def cpu_us(self) -> float | None:
        """Median server CPU per request (µs), when the server's process was known."""
        values = [r.cpu_us_per_req for r in self.runs if r.cpu_us_per_req]
        return statistics.median(values) if values else None

    @property
    def errors(self) -> int:
        return sum(r.errors_non2xx + r.errors_socket for r in self.runs)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rps_median": round(self.rps, 1),
            "p50_ms_median": round(self.p50_ms, 3),
            "p99_ms_median": round(self.p99_ms, 3),
            "errors": self.errors,
            "cpu_us_per_req_median": round(self.cpu_us, 1) if self.cpu_us else None,
            "throttled_429": self.throttled,
            "runs": [r.__dict__ for r in self.runs],
            "note": self.note,
        }


@dataclass
class WrkSpec:
    """One load: ``url`` with ``headers``; ``lua`` adds a request generator (e.g. token rotation)."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "GET"
    body: str | None = None
    tokens_file: Path | None = None
    token_offset: int = 0
    expect_status: int = 200


def _lua_script(spec: WrkSpec) -> str:
    """A wrk script: fixed request, or a rotating ``Authorization: Bearer <token>``; JSON summary."""
    hdrs = "".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}\n" for k, v in spec.headers.items())
    body = f"wrk.body = {json.dumps(spec.body)}\n" if spec.body is not None else ""
    parts = [f'wrk.method = "{spec.method}"\n', hdrs, body]
    if spec.tokens_file is not None:
        parts.append((LUA_DIR / "rotate_tokens.lua").read_text())
    parts.append((LUA_DIR / "summary.lua").read_text())
    return "".join(parts)


def wrk(
    spec: WrkSpec,
    *,
    duration: float,
    connections: int,
    cpus: str | None = LOADGEN_CPU,
    timeout_s: int = 10,
) -> WrkRun:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(_lua_script(spec))
        script = f.name
    argv = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        f"--timeout={timeout_s}s",
        "-s",
        script,
        spec.url,
    ]
    if spec.tokens_file is not None:
        argv += ["--", str(spec.tokens_file), str(spec.token_offset)]
    if cpus:
        argv = ["taskset", "-c", cpus, *argv]
    argv = _niced(argv)
    import resource

    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60)
    finally:
        os.unlink(script)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(
            f"wrk gave no summary (rc={proc.returncode}): {proc.stdout[-800:]} {proc.stderr[-800:]}"
        )
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    d = json.loads(line[len("WRKJSON ") :])
    secs = d["duration_us"] / 1e6
    return WrkRun(
        requests=d["requests"],
        duration_s=round(secs, 3),
        rps=round(d["requests"] / secs, 1) if secs else 0.0,
        errors_non2xx=d["status"],
        errors_socket=d["connect"] + d["read"] + d["write"] + d["timeout"],
        p50_ms=d["p50_us"] / 1000,
        p99_ms=d["p99_us"] / 1000,
        mean_ms=round(d["mean_us"] / 1000, 3),
        wrk_cpu_us_per_req=round(wrk_cpu * 1e6 / d["requests"], 2) if d["requests"] else None,
    )


def measure(
    name: str,
    spec: WrkSpec,
    *,
    duration: float,
    warmup: float,
    runs: int,
    connections: int,
    cpus: str | None = LOADGEN_CPU,
    tokens_per_run: int = 0,
) -> Measurement:
    """Warm up, then ``runs`` timed runs. With a token file, each run starts at a fresh offset."""
    m = Measurement(name)
    offset = spec.token_offset
    if warmup > 0:
        w = wrk(spec, duration=warmup, connections=connections, cpus=cpus)
        offset += w.requests + connections
    for _ in range(runs):
        spec_i = WrkSpec(**{**spec.__dict__, "token_offset": offset})
        r = wrk(spec_i, duration=duration, connections=connections, cpus=cpus)
        offset += r.requests + connections
        m.runs.append(r)
    if tokens_per_run:
        m.note = f"tokens used: {offset - spec.token_offset} of {tokens_per_run}"
    log(
        f"{name}: {m.rps:,.0f} req/s (p99 {m.p99_ms:.1f} ms, errors {m.errors}) "
        f"runs={[round(r.rps) for r in m.runs]}"
    )
    return m


@dataclass
class Load:
    """One named load in an interleaved round: a wrk spec, or ``func`` returning one run's rate."""

    name: str
    spec: WrkSpec | None = None
    cpus: str | None = LOADGEN_CPU
    tokens: int = 0
    warmup: float | None = None
    func: Callable[[float], tuple[float, float | None]] | None = None
    pid: int | None = None
    measurement: Measurement | None = None
    offset: int = 0
    metrics_url: str | None = None  # a Gatehold admin /metrics: the 429s of each run are counted


def throttled_count(metrics_url: str | None) -> int:
    """429s a Gatehold gateway answered so far (``gatehold_gateway_requests_total{status="429"}``,
    every API, from its admin ``/metrics``); 0 when it cannot be read."""
    if metrics_url is None:
        return 0
    import urllib.request

    try:
        with urllib.request.urlopen(metrics_url, timeout=10) as resp:
            text = resp.read().decode()
    except OSError:
        return 0
    total = 0
    for line in text.splitlines():
        if line.startswith("gatehold_gateway_requests_total{") and 'status="429"' in line:
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


def interleave(
    loads: Sequence[Load], *, duration: float, warmup: float, runs: int, connections: int
) -> list[Measurement]:
    """Warm every load up, then run 1 of each, ``runs`` times over: neighbours' noise lands on all."""
    for load in loads:
        load.measurement = Measurement(load.name)
        w = load.warmup if load.warmup is not None else warmup
        if load.spec is not None:
            load.offset = load.spec.token_offset
            if w > 0:
                r = wrk(load.spec, duration=w, connections=connections, cpus=load.cpus)
                load.offset += r.requests + connections
                log(f"  warm-up {load.name}: {r.rps:,.0f}/s")
    for i in range(runs):
        for load in loads:
            assert load.measurement is not None
            if load.func is not None:
                rate, cpu_us = load.func(duration)
                load.measurement.runs.append(WrkRun(0, duration, rate, 0, 0, 0.0, 0.0, 0.0, cpu_us))
            else:
                assert load.spec is not None
                spec = WrkSpec(**{**load.spec.__dict__, "token_offset": load.offset})
                throttled0 = throttled_count(load.metrics_url)
                cpu0 = cpu_seconds(load.pid) if load.pid else 0.0
                r = wrk(spec, duration=duration, connections=connections, cpus=load.cpus)
                if load.pid and r.requests:
                    r.cpu_us_per_req = round((cpu_seconds(load.pid) - cpu0) * 1e6 / r.requests, 1)
                if load.metrics_url is not None:
                    throttled = throttled_count(load.metrics_url) - throttled0
                    load.measurement.throttled = (load.measurement.throttled or 0) + throttled
                load.offset += r.requests + connections
                load.measurement.runs.append(r)
            last = load.measurement.runs[-1]
            cpu = f", {last.cpu_us_per_req:,.0f} µs CPU/req" if last.cpu_us_per_req else ""
            log(f"  run {i + 1}/{runs} {load.name}: {last.rps:,.0f}/s{cpu}")
    out = []
    for load in loads:
        m = load.measurement
        assert m is not None
        if load.tokens:
            used = load.offset - (load.spec.token_offset if load.spec else 0)
            m.note = f"distinct tokens used: {used:,} of {load.tokens:,}" + (
                " (the pool wrapped: tokens come round again after the whole pool, long after the"
                " 10,000-entry verified-token cache dropped them, so each is still a cache miss)"
                if used > load.tokens
                else ""
            )
        log(
            f"{m.name}: {m.rps:,.0f}/s (p99 {m.p99_ms:.1f} ms, errors {m.errors}, CPU µs/req {m.cpu_us}) "
            f"runs={[round(r.rps) for r in m.runs]}"
        )
        out.append(m)
    return out


def http_get(
    url: str,
    headers: dict[str, str] | None = None,
    method: str = "GET",
    body: bytes | None = None,
    timeout: float = 10.0,
) -> tuple[int, bytes]:
    """A plain urllib request (no extra dependency), for smoke checks before a load."""
    import urllib.error
    import urllib.request

    req = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def expect(label: str, url: str, status: int, wait: float = 20.0, **kw: Any) -> None:
    """``url`` answers ``status`` (asked again for up to ``wait`` s: a stack just started may still be
    fetching its identity provider's keys); ``kw`` goes to :func:`http_get` (``headers=``)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            got, body = http_get(url, **kw)
        except OSError as exc:  # the port is the supervisor's: the gateway may still be starting
            got, body = 0, repr(exc).encode()
        if got == status:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{label}: expected {status} from {url}, got {got} {body[:300]!r}")
        time.sleep(0.5)


def python_exe() -> str:
    return str(VENV_PY if VENV_PY.exists() else Path(sys.executable))


def raw_sign(seconds: float) -> tuple[float, float | None]:
    """S7's baseline: ``bench/raw_sign.py`` pinned to the server's CPU for ``seconds``; (signs per
    second, CPU µs per sign), the shape of a :class:`Load` ``func``."""
    out = subprocess.run(
        ["taskset", "-c", SERVER_CPU, python_exe(), str(BENCH / "raw_sign.py"), str(seconds), "1"],
        capture_output=True,
        text=True,
        check=True,
    )
    d = json.loads(out.stdout)
    return float(d["signs_per_s"]), float(d["cpu_us_per_sign"])
