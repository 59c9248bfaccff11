"""Issue 12's six request-path targets, measured in one invocation, interleaved, against baselines
started in the same run.

    .venv/bin/python bench/issue12_targets.py                  # 3 rounds x 8 s per load (~20 min)
    .venv/bin/python bench/issue12_targets.py --quick          # 3 rounds x 3 s, 20,000 tokens
    .venv/bin/python bench/issue12_targets.py --only T1,T4     # a subset (T1..T6)

| id | target | Gatehold | baseline |
|---|---|---|---|
| T1 | authorized JWT route >= 0.7 x hello-world | the example stack as it ships (``gatehold up -c``
  the bundled ``gatehold.yaml``, access log on at ``info``), ``GET /unicorns/unicorns`` with an M2M
  token, wrk -c32 | uvicorn + httptools + uvloop, ``bench/apps/hello.py`` |
| T2 | p99 at -c64 <= 2 x the hello-world's | the same route at -c64 | the same hello at -c64 |
| T3 | N distinct live tokens rotating <= 1.3 x one reused token | ``bench/config/bench.yaml`` (the
  harness's issuer, ``GET /unicorns/unicorn``), every token of the pool presented once during the
  warm-up, then the pool walked again from a new offset each run | the same route, one token |
| T4 | API mapping O(1): 10,000 base paths <= 1.1 x one | 10,000 HTTP APIs on two-segment base paths
  (``/v1/api-NNNNN``, mock integration), the last one requested | the same with one API |
| T5 | 1 MB request body <= 1.2 x a uvicorn echo | ``POST /echo/body``, 1 MB ``text/plain``, a Python
  Lambda (``bench/handlers/echo.py``) answering with the body | ``bench/apps/echo.py`` under uvicorn |
| T6 | ``--workers 2`` >= 1.8 x one worker (req/s) | T1's stack and route with ``--workers 2``,
  servers and wrk unpinned | ``--workers 1``, unpinned |

The ratios are of **CPU per request of the whole process tree** (read from /proc around each run:
the supervisor, gateway processes, identity provider, SPA, fork server and every function's
execution environment; the baselines' uvicorn process), taken as capacity (1e6 / µs) so that >= reads
"as cheap as"; req/s ratios are printed next to them. T2 compares p99s, T6 req/s. Servers are pinned
to CPU 0 and wrk to CPU 1 (T6: both unpinned). Every run of every load in a phase runs once before
any runs again; medians of the rounds.

The example stack's account throttle (AWS's default: 10,000 rps, burst 5,000) is raised to 1,000,000
for this benchmark, in a copy of the bundled file, so that no request takes the 429 path; the 429s
each load got anyway are counted (from the gateway's ``/metrics``) and printed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import targets
from bench.common import (
    BENCH,
    LOADGEN_CPU,
    ROOT,
    WrkRun,
    WrkSpec,
    cpu_seconds,
    expect,
    http_get,
    log,
    rss_kb,
    throttled_count,
    wrk,
)
from bench.keys import Issuer

EXAMPLE = ROOT / "src" / "gatehold" / "examples" / "gatehold.yaml"
RAISED = "gateway:\n  throttling: {rate_limit: 1000000, burst_limit: 1000000}  # raised for the benchmark\n\n"
BODY_BYTES = 1 << 20
MAPPED_APIS = 10_000


@dataclass
class Load:
    name: str
    spec: WrkSpec
    root: int  # the process tree whose CPU counts
    connections: int = 32
    cpus: str | None = LOADGEN_CPU
    metrics_url: str | None = None  # a gatehold admin /metrics: 429s counted from it
    tokens: int = 0  # a rotating token pool of this size
    offset: int = 0
    runs: list[WrkRun] = field(default_factory=list)
    throttled: int = 0

    def median(self, attr: str) -> float:
        values = [getattr(r, attr) for r in self.runs if getattr(r, attr)]
        return statistics.median(values) if values else 0.0


def run_once(load: Load, duration: float) -> WrkRun:
    spec = WrkSpec(**{**load.spec.__dict__, "token_offset": load.offset})
    before_429 = throttled_count(load.metrics_url)
    cpu0 = cpu_seconds(load.root)
    r = wrk(spec, duration=duration, connections=load.connections, cpus=load.cpus, timeout_s=30)
    cpu1 = cpu_seconds(load.root)
    if r.requests:
        r.cpu_us_per_req = round((cpu1 - cpu0) * 1e6 / r.requests, 1)
    load.throttled += throttled_count(load.metrics_url) - before_429
    load.offset += r.requests + load.connections
    return r


def interleaved(loads: list[Load], rounds: int, duration: float, warmup: float) -> None:
    for load in loads:
        if warmup > 0:
            r = wrk(
                WrkSpec(**{**load.spec.__dict__, "token_offset": load.offset}),
                duration=warmup,
                connections=load.connections,
                cpus=load.cpus,
                timeout_s=30,
            )
            load.offset += r.requests + load.connections
    for i in range(rounds):
        for load in loads:
            r = run_once(load, duration)
            load.runs.append(r)
            log(
                f"  round {i + 1}/{rounds} {load.name}: {r.rps:,.0f}/s, p99 {r.p99_ms:.1f} ms, "
                f"{r.cpu_us_per_req} µs CPU/req, non-2xx {r.errors_non2xx}"
            )


# -- the servers -------------------------------------------------------------------------------------


def example_config(tmp: Path, name: str = "example") -> Path:
    """The bundled example stack with the account throttle raised (the only change), as
    ``tmp/<name>.yaml`` (one file per stack: a stack reloads when its file changes)."""
    text = EXAMPLE.read_text()
    marker = "\napis:\n"
    assert marker in text, "the example stack has no apis: section"
    path = tmp / f"{name}.yaml"
    path.write_text(text.replace(marker, "\n" + RAISED + "apis:\n", 1))
    return path


def mapping_config(tmp: Path, apis: int) -> Path:
    """``apis`` HTTP APIs on two-segment base paths with a mock route, and the echo route (T5)."""
    lines = [
        "gateway:",
        "  throttling: {rate_limit: 1000000, burst_limit: 1000000}",
        "functions:",
        "  echo:",
        "    handler: echo.handler",
        f"    code_path: {BENCH / 'handlers'}",
        "apis:",
        "  echo:",
        "    type: HTTP",
        "    base_path: /echo",
        "    routes:",
        "      POST /body:",
        '        integration: {type: lambda, function: echo, payload_format_version: "2.0"}',
    ]
    for i in range(apis):
        lines += [
            f"  api-{i:05d}:",
            "    type: HTTP",
            f"    base_path: /v1/api-{i:05d}",
            "    routes:",
            "      GET /ping:",
            "        integration: {type: mock, status_code: 200, body: '{\"ok\": true}',"
            " headers: {Content-Type: application/json}}",
        ]
    path = tmp / f"mapping-{apis}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def m2m_token(stack: targets.GateholdUrls) -> str:
    """An M2M access token for the Unicorns API from the stack's identity provider (client
    credentials, the example tenant's documented demo client)."""
    expect("the identity provider's keys", stack.idp + "/.well-known/jwks.json", 200)
    out = subprocess.run(
        [
            str(targets.GATEHOLD),
            "token",
            "-c",
            str(stack.config),
            "--data-dir",
            str(stack.data),
            "--public-url",
            stack.idp,
            "--client",
            "demo-m2m",
            "--audience",
            "https://unicorns-api",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return out.stdout.strip().splitlines()[-1]


def gateway_pids(stack: targets.GateholdUrls) -> list[int]:
    """The gateway processes (children of the supervisor named ``gatehold gw-N``)."""
    pids = []
    children = Path(f"/proc/{stack.proc.pid}/task/{stack.proc.pid}/children").read_text().split()
    for pid in children:
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/comm").read_text().startswith("gatehold gw"):
                pids.append(int(pid))
    return pids


# -- the report ----------------------------------------------------------------------------------------


@dataclass
class Target:
    id: str
    text: str
    goal: float
    higher: bool  # the value must be >= goal (else <=)
    value: float | None = None
    rps_value: float | None = None
    detail: str = ""

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return None
        return self.value >= self.goal if self.higher else self.value <= self.goal


def _ratio(attr: str, a: Load, b: Load, digits: int = 3) -> float | None:
    """The median of ``attr`` over ``a``'s runs divided by ``b``'s."""
    va, vb = a.median(attr), b.median(attr)
    return round(va / vb, digits) if va and vb else None


def capacity_ratio(a: Load, b: Load) -> float | None:
    """How cheap ``a`` is next to ``b``: CPU per request of b / of a."""
    return _ratio("cpu_us_per_req", b, a)


def cost_ratio(a: Load, b: Load) -> float | None:
    return _ratio("cpu_us_per_req", a, b)


def p99_ratio(a: Load, b: Load) -> float | None:
    return _ratio("p99_ms", a, b, 2)


def rps_ratio(a: Load, b: Load) -> float | None:
    return _ratio("rps", a, b)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=None, help="seconds per run (default 8, quick 3)")
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--tokens", type=int, default=None, help="distinct tokens for T3 (default 100,000)")
    ap.add_argument("--apis", type=int, default=MAPPED_APIS)
    ap.add_argument("--only", default="T1,T2,T3,T4,T5,T6")
    ap.add_argument("--json", default=str(BENCH / "results" / "issue12.json"))
    args = ap.parse_args()
    duration = args.duration or (3.0 if args.quick else 8.0)
    n_tokens = args.tokens or (20_000 if args.quick else 100_000)
    only = set(args.only.split(","))
    t0 = time.monotonic()
    loadavg0 = Path("/proc/loadavg").read_text().split()[:3]
    issuer = Issuer()
    tmp = Path(tempfile.mkdtemp(prefix="gatehold-i12-"))
    loads: dict[str, Load] = {}
    notes: list[str] = []
    try:
        with contextlib.ExitStack() as stack:
            pinned: list[Load] = []
            env = {"PYTHONPATH": str(ROOT)}
            if only & {"T1", "T2"}:
                hello, hello_proc = stack.enter_context(
                    targets.asgi_app("uvicorn", "bench.apps.hello:app", env=env)
                )
                example = stack.enter_context(
                    targets.gatehold(None, config=example_config(tmp), log_level=None, spa=True)
                )
                token = m2m_token(example)
                route = example.gateway + "/unicorns/unicorns"
                expect("T1 without a token", route, 401)
                expect("T1 with the token", route, 200, headers={"Authorization": f"Bearer {token}"})
                bearer = {"Authorization": f"Bearer {token}"}
                for c in (32, 64) if "T2" in only else (32,):
                    if c == 32 and "T1" not in only:
                        continue
                    pinned.append(Load(f"hello (uvicorn) -c{c}", WrkSpec(hello + "/"), hello_proc.pid, c))
                    pinned.append(
                        Load(
                            f"example stack GET /unicorns/unicorns -c{c}",
                            WrkSpec(route, headers=bearer),
                            example.proc.pid,
                            c,
                            metrics_url=example.metrics,
                        )
                    )
            if "T3" in only:
                pool = issuer.token_pool(n_tokens)
                bench_stack = stack.enter_context(targets.gatehold(issuer))
                url = bench_stack.gateway + "/unicorns/unicorn?name=x"
                reused = issuer.mint(jti="reused")
                expect("T3 token", url, 200, headers={"Authorization": f"Bearer {reused}"})
                gw = gateway_pids(bench_stack)
                rss0 = sum(rss_kb(p) for p in gw)
                # every token of the pool once: the cache has seen them all (live tokens, not new ones)
                log(f"T3: presenting each of the {n_tokens:,} tokens once")
                rotating = Load(
                    f"{n_tokens:,} distinct tokens rotating",
                    WrkSpec(url, tokens_file=pool),
                    bench_stack.proc.pid,
                    metrics_url=bench_stack.metrics,
                    tokens=n_tokens,
                )
                while rotating.offset < n_tokens:
                    r = wrk(
                        WrkSpec(url, tokens_file=pool, token_offset=rotating.offset),
                        duration=min(30.0, max(2.0, (n_tokens - rotating.offset) / 3000)),
                        connections=rotating.connections,
                        timeout_s=30,
                    )
                    rotating.offset += r.requests + rotating.connections
                rss1 = sum(rss_kb(p) for p in gw)
                notes.append(
                    f"T3: the gateway's RSS grew {(rss1 - rss0) / 1024:.1f} MB while the {n_tokens:,} tokens"
                    f" were first presented ({rss0 / 1024:.0f} -> {rss1 / 1024:.0f} MB)"
                )
                pinned.append(
                    Load(
                        "one reused token",
                        WrkSpec(url, headers={"Authorization": f"Bearer {reused}"}),
                        bench_stack.proc.pid,
                        metrics_url=bench_stack.metrics,
                    )
                )
                pinned.append(rotating)
            if only & {"T4", "T5"}:
                one = stack.enter_context(targets.gatehold(None, config=mapping_config(tmp, 1)))
            if "T4" in only:
                log(f"T4: starting a stack with {args.apis:,} APIs")
                many = stack.enter_context(
                    targets.gatehold(None, config=mapping_config(tmp, args.apis), timeout=300)
                )
                last = f"/v1/api-{args.apis - 1:05d}/ping"
                expect("T4 one API", one.gateway + "/v1/api-00000/ping", 200)
                expect("T4 the last of many", many.gateway + last, 200, wait=180)
                pinned.append(
                    Load(
                        "mapping: 1 API",
                        WrkSpec(one.gateway + "/v1/api-00000/ping"),
                        one.proc.pid,
                        metrics_url=one.metrics,
                    )
                )
                pinned.append(
                    Load(
                        f"mapping: {args.apis:,} APIs",
                        WrkSpec(many.gateway + last),
                        many.proc.pid,
                        metrics_url=many.metrics,
                    )
                )
            if "T5" in only:
                body = "x" * BODY_BYTES
                text = {"Content-Type": "text/plain"}
                echo, echo_proc = stack.enter_context(
                    targets.asgi_app("uvicorn", "bench.apps.echo:app", env=env)
                )
                got, answer = http_get(echo + "/", text, "POST", body.encode())
                if got != 200 or len(answer) != BODY_BYTES:
                    raise RuntimeError(f"T5 uvicorn echo: {got}, {len(answer)} bytes")
                got, answer = http_get(one.gateway + "/echo/body", text, "POST", body.encode())
                if got != 200 or len(answer) != BODY_BYTES:
                    raise RuntimeError(f"T5 gatehold echo: {got}, {len(answer)} bytes")
                pinned.append(
                    Load("1 MB body: uvicorn echo", WrkSpec(echo + "/", text, "POST", body), echo_proc.pid, 8)
                )
                pinned.append(
                    Load(
                        "1 MB body: gatehold Lambda echo",
                        WrkSpec(one.gateway + "/echo/body", text, "POST", body),
                        one.proc.pid,
                        8,
                        metrics_url=one.metrics,
                    )
                )
            log("pinned loads: " + ", ".join(ld.name for ld in pinned))
            interleaved(pinned, args.rounds, duration, args.warmup)
            for ld in pinned:
                loads[ld.name] = ld
            if "T3" in only:
                rss2 = sum(rss_kb(p) for p in gw)
                notes.append(f"T3: gateway RSS after the measured rounds: {rss2 / 1024:.0f} MB")
        if "T6" in only:
            with contextlib.ExitStack() as stack:
                unpinned = []
                for n in (1, 2):
                    s = stack.enter_context(
                        targets.gatehold(
                            None,
                            config=example_config(tmp, f"workers-{n}"),
                            workers=n,
                            cpus=None,
                            log_level=None,
                            spa=True,
                        )
                    )
                    token = m2m_token(s)
                    route = s.gateway + "/unicorns/unicorns"
                    expect(f"T6 workers={n}", route, 200, headers={"Authorization": f"Bearer {token}"})
                    unpinned.append(
                        Load(
                            f"example stack --workers {n} (unpinned)",
                            WrkSpec(route, headers={"Authorization": f"Bearer {token}"}),
                            s.proc.pid,
                            64,
                            cpus=None,
                            metrics_url=s.metrics,
                        )
                    )
                interleaved(unpinned, args.rounds, duration, args.warmup)
                for ld in unpinned:
                    loads[ld.name] = ld
    finally:
        issuer.close()
        shutil.rmtree(tmp, ignore_errors=True)

    results: list[Target] = []
    hello_c, example_c = "hello (uvicorn) -c{}", "example stack GET /unicorns/unicorns -c{}"
    # (id, text, goal, higher, the measured load, its baseline, the ratio)
    pairs: list[tuple[str, str, float, bool, str, str, Any]] = [
        ("T1", "authorized JWT route >= 0.7 x hello-world (CPU/req)", 0.7, True,
         example_c.format(32), hello_c.format(32), capacity_ratio),
        ("T2", "p99 at -c64 <= 2 x hello-world's p99", 2.0, False,
         example_c.format(64), hello_c.format(64), p99_ratio),
        ("T3", f"{n_tokens:,} live tokens rotating <= 1.3 x one reused token (CPU/req)", 1.3, False,
         f"{n_tokens:,} distinct tokens rotating", "one reused token", cost_ratio),
        ("T4", f"{args.apis:,} base paths <= 1.1 x one (CPU/req)", 1.1, False,
         f"mapping: {args.apis:,} APIs", "mapping: 1 API", cost_ratio),
        ("T5", "1 MB request body <= 1.2 x uvicorn echo (CPU/req)", 1.2, False,
         "1 MB body: gatehold Lambda echo", "1 MB body: uvicorn echo", cost_ratio),
        ("T6", "--workers 2 >= 1.8 x one worker (req/s)", 1.8, True,
         "example stack --workers 2 (unpinned)", "example stack --workers 1 (unpinned)", rps_ratio),
    ]  # fmt: skip
    for tid, label, goal, higher, name, base, ratio in pairs:
        measured, baseline = loads.get(name), loads.get(base)
        if measured is None or baseline is None:
            continue
        detail = (
            f"p99 {measured.median('p99_ms'):.1f} ms vs {baseline.median('p99_ms'):.1f} ms"
            if tid == "T2"
            else ""
        )
        # the req/s ratio read the same way as the CPU one (cost: baseline's req/s over the load's)
        rps = {capacity_ratio: rps_ratio(measured, baseline), cost_ratio: rps_ratio(baseline, measured)}.get(
            ratio
        )
        results.append(Target(tid, label, goal, higher, ratio(measured, baseline), rps, detail))

    print()
    print(
        f"{'load':52} {'req/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'CPU µs/req':>10} {'non-2xx':>7} {'429':>5}"
    )
    for name, ld in loads.items():
        if name.startswith("_"):
            continue
        non2xx = sum(r.errors_non2xx for r in ld.runs)
        print(
            f"{name:52} {ld.median('rps'):>9,.0f} {ld.median('p50_ms'):>7.2f} {ld.median('p99_ms'):>7.2f} "
            f"{ld.median('cpu_us_per_req'):>10,.1f} {non2xx:>7} {ld.throttled:>5}"
        )
    print()
    yes = {True: "yes", False: "NO", None: "-"}
    for t in results:
        extra = f" (req/s ratio {t.rps_value})" if t.rps_value is not None else ""
        print(
            f"{t.id} {t.text:62} {t.value!s:>7}  goal {'>=' if t.higher else '<='} {t.goal:g}  met: "
            f"{yes[t.met]}{extra} {t.detail}"
        )
    for note in notes:
        print(note)
    loadavg1 = Path("/proc/loadavg").read_text().split()[:3]
    elapsed = time.monotonic() - t0
    print(f"load average before/after: {' '.join(loadavg0)} / {' '.join(loadavg1)}; {elapsed:.0f} s")
    out = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": " ".join([".venv/bin/python", "bench/issue12_targets.py", *sys.argv[1:]]),
        "settings": {
            "rounds": args.rounds,
            "duration_s": duration,
            "warmup_s": args.warmup,
            "tokens": n_tokens,
        },
        "loads": {
            k: {
                "rps": v.median("rps"),
                "p50_ms": v.median("p50_ms"),
                "p99_ms": v.median("p99_ms"),
                "cpu_us_per_req": v.median("cpu_us_per_req"),
                "non_2xx": sum(r.errors_non2xx for r in v.runs),
                "throttled_429": v.throttled,
                "runs": [r.__dict__ for r in v.runs],
            }
            for k, v in loads.items()
            if not k.startswith("_")
        },
        "targets": [{**t.__dict__, "met": t.met} for t in results],
        "notes": notes,
        "loadavg": [loadavg0, loadavg1],
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    log(f"wrote {args.json}")


if __name__ == "__main__":
    main()
