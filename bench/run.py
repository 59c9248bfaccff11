"""Gatehold's benchmark harness: every scenario of issue 5, one command, medians and ratios.

    bench/setup.sh                          # once: wrk, nginx, the peers
    .venv/bin/python bench/run.py           # full: warm-up 3 s, 3 runs x 10 s per load
    .venv/bin/python bench/run.py --quick   # warm-up 1 s, 3 runs x 3 s
    .venv/bin/python bench/run.py --only S1,S3,P1

Each load is wrk (``-t1``, fixed connection count) on loopback; the server is pinned to CPU 0 and
wrk to CPU 1 with taskset (the ``--workers`` comparison runs both unpinned). Medians of 3 runs; ratios
are against baselines measured in the same invocation. Writes bench/results/latest.json and
bench/results/latest.png. Never asserts a timing: targets are reported as met or missed.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import traceback
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import targets
from bench.common import (
    ALL_CPUS,
    BENCH,
    ROOT,
    SERVER_CPU,
    Load,
    Measurement,
    Proc,
    WrkSpec,
    http_get,
    interleave,
    log,
    python_exe,
    raw_sign,
    rss_kb,
)
from bench.keys import Issuer

RESULTS = BENCH / "results"
ALL = ["S1", "S2", "S3", "S4", "S5", "S6", "S7", "P1", "servers", "workers", "micro", "breakdown", "rss"]

S1 = "S1 ASGI hello (gatehold server: uvicorn)"
S1_RAW = "S1 hello, bare httptools protocol (floor)"
S1_BRIDGE = "S1 ASGI hello (gatehold http1 + ASGI bridge)"

M2M_ID, M2M_SECRET = "bench-m2m", "bench-m2m-secret-0123456789abcdef"


class Harness:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.quick = args.quick
        self.duration = args.duration or (3.0 if self.quick else 10.0)
        self.warmup = args.warmup if args.warmup is not None else (1.0 if self.quick else 3.0)
        self.runs = args.runs
        self.connections = args.connections
        self.only = set(args.only.split(",")) if args.only else set(ALL)
        self.results: dict[str, Measurement] = {}
        self.extra: dict[str, Any] = {}
        self.problems: list[str] = []
        self.skipped: list[str] = []  # targets that could not start, and why
        self.issuer = Issuer()
        self.gatehold_proc: Proc | None = None

    # -- helpers ----------------------------------------------------------------------------------

    def want(self, *names: str) -> bool:
        return any(n in self.only for n in names)

    def check(
        self,
        label: str,
        url: str,
        expect: int,
        headers: dict[str, str] | None = None,
        method: str = "GET",
        body: str | None = None,
        proc: Proc | None = None,
    ) -> bool:
        """A smoke request before a load: the load only counts if the target answers as it should."""
        status, content = http_get(url, headers, method, body.encode() if body else None)
        if status != expect:
            self.problems.append(f"{label}: expected {expect}, got {status} {content[:200]!r}")
            log(f"CHECK FAILED {label}: expected {expect}, got {status} {content[:200]!r}")
            if proc is not None:
                log(f"server log tail:\n{proc.tail(40)}")
            return False
        return True

    @contextlib.contextmanager
    def section(self, name: str) -> Iterator[None]:
        t0 = time.monotonic()
        log(f"--- {name}")
        try:
            yield
        except Exception as exc:
            self.problems.append(f"{name}: {exc}")
            log(f"{name} FAILED: {exc}\n{traceback.format_exc()}")
        finally:
            log(f"--- {name} done in {time.monotonic() - t0:.0f}s")

    # -- scenarios: each starts its servers on ``stack`` and returns its loads ----------------------

    def start(self, stack: contextlib.ExitStack, label: str, starter: Callable[[], Any]) -> Any:
        """Start one target; when it cannot start (not installed, bench/setup.sh not run), say what
        was skipped and why, and go on with the others (None)."""
        try:
            return stack.enter_context(starter())
        except Exception as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self.skipped.append(f"{label}: {reason}")
            log(f"SKIPPED {label}: {reason}")
            return None

    def s1(self, stack: contextlib.ExitStack) -> list[Load]:
        env = {"PYTHONPATH": str(ROOT)}
        loads = []
        # an ASGI hello-world on the server Gatehold runs its ASGI apps on (gatehold.server: uvicorn,
        # httptools, uvloop), then the candidates, then the floor: the same httptools + uvloop pieces
        # the gateway's own HTTP/1.1 server (gatehold.gateway.http1) is made of, with no app at all;
        # each target on its own, so that one missing (nginx, granian) drops only its own row
        ours: list[tuple[str, Callable[[], Any]]] = [
            (S1, targets.gatehold_hello),
            (S1_BRIDGE, lambda: targets.gatehold_hello(kind="http1")),
            (S1_RAW, targets.raw_hello),
        ]
        for name, starter in ours:
            started = self.start(stack, name, starter)
            if started and self.check(name, started[0], 200):
                loads.append(Load(name, WrkSpec(started[0]), pid=started[1].pid))
        for server in ("uvicorn", "granian"):
            name = f"S1 hello ({server})"
            started = self.start(
                stack, name, lambda server=server: targets.asgi_app(server, "bench.apps.hello:app", env=env)
            )
            if started:
                loads.append(Load(name, WrkSpec(started[0] + "/"), pid=started[1].pid))
        if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
            self.skipped.append("S1 nginx static: nginx is not installed (bench/setup.sh installs it)")
            log("SKIPPED S1 nginx static: nginx is not installed")
        else:
            started = self.start(stack, "S1 nginx static", targets.nginx)
            if started:
                loads.append(Load("S1 nginx static", WrkSpec(started[0]), pid=started[1].pid))
        return loads

    def gatehold_scenarios(self, stack: contextlib.ExitStack) -> list[Load]:
        if not self.want("S2", "S3", "S4", "S5", "S6", "S7", "P1"):
            return []
        loads = []
        pool = self.issuer.token_pool(self.args.pool) if self.want("S4") else None
        token = self.issuer.mint(jti="reused")
        gh = stack.enter_context(targets.gatehold(self.issuer))
        self.gatehold_proc = gh.proc
        pid = gh.proc.pid
        metrics = gh.metrics

        def load(name: str, spec: WrkSpec, **kw: Any) -> Load:
            """A load on this gatehold: its process tree's CPU and its 429s counted."""
            return Load(name, spec, pid=pid, metrics_url=metrics, **kw)

        self.extra["gatehold_command"] = "gatehold " + gh.how
        gw = gh.gateway
        bearer = {"Authorization": f"Bearer {token}"}
        if self.want("S2"):
            url = gw + "/open/unicorn?name=x"
            if self.check("S2", url, 200):
                loads.append(load("S2 open route", WrkSpec(url)))
        if self.want("S3", "S4", "P1"):
            url = gw + "/unicorns/unicorn?name=x"
            ok = self.check("S3 no token -> 401", url, 401)
            ok &= self.check(
                "S3 bad signature -> 401", url, 401, {"Authorization": f"Bearer {token[:-6]}AAAAAA"}
            )
            ok &= self.check("S3 valid token", url, 200, bearer, proc=gh.proc)
            if ok and self.want("S3", "P1"):
                loads.append(load("S3 JWT, same token", WrkSpec(url, headers=bearer)))
            if ok and pool is not None:
                loads.append(
                    load("S4 JWT, fresh token", WrkSpec(url, tokens_file=pool), tokens=self.args.pool)
                )
        allow = {"Authorization": "Bearer allow-bench"}
        if self.want("S5"):
            url = gw + "/cached/bench/unicorn?name=x"
            deny_ok = self.check("S5 deny -> 403", url, 403, {"Authorization": "Bearer deny"})
            if self.check("S5 allow", url, 200, allow) and deny_ok:
                loads.append(load("S5 TOKEN authorizer, cached", WrkSpec(url, headers=allow)))
        if self.want("S6"):
            url = gw + "/uncached/bench/unicorn?name=x"
            if self.check("S6 allow", url, 200, allow):
                loads.append(load("S6 TOKEN authorizer, TTL 0", WrkSpec(url, headers=allow)))
        if self.want("S7"):
            url = gh.idp + "/oauth/token"
            body = urllib.parse.urlencode(
                {
                    "grant_type": "client_credentials",
                    "client_id": M2M_ID,
                    "client_secret": M2M_SECRET,
                    "audience": "https://unicorns-api",
                }
            )
            form = {"Content-Type": "application/x-www-form-urlencoded"}
            if self.check("S7 token", url, 200, form, "POST", body):
                loads.append(
                    Load(
                        "S7 Gatehold /oauth/token",
                        WrkSpec(url, headers=form, method="POST", body=body),
                        pid=pid,
                    )
                )
        return loads

    def s7_baselines(self, stack: contextlib.ExitStack) -> list[Load]:
        if not self.want("S7"):
            return []

        loads = [Load("S7 raw RS256 sign (cryptography, 1 process)", func=raw_sign)]
        started = self.start(stack, "S7 oauth2-mock-server 8.2.3", targets.oauth2_mock_server)
        if started is None:
            return loads
        url, proc = started
        form = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "Basic " + base64.b64encode(f"{M2M_ID}:{M2M_SECRET}".encode()).decode(),
        }
        body = "grant_type=client_credentials&scope=read%3Aunicorn"
        if self.check("S7 oauth2-mock-server", url, 200, form, "POST", body):
            loads.append(
                Load(
                    "S7 oauth2-mock-server 8.2.3",
                    WrkSpec(url, headers=form, method="POST", body=body),
                    pid=proc.pid,
                )
            )
        return loads

    def p1(self, stack: contextlib.ExitStack) -> list[Load]:
        if not self.want("P1"):
            return []
        loads = []
        token = self.issuer.mint(jti="reused")
        bearer = {"Authorization": f"Bearer {token}"}
        peers: list[tuple[str, Callable[[], Any]]] = [
            ("P1 MiniStack", lambda: targets.ministack(self.issuer)),
            ("P1 serverless-offline", lambda: targets.serverless_offline(self.issuer)),
        ]
        for name, start in peers:
            started = self.start(stack, name, start)
            if started is None:
                continue
            url, proc = started
            ok = self.check(f"{name} no token -> 401", url, 401)
            ok &= self.check(f"{name} valid token", url, 200, bearer)
            if not self.check(
                f"{name} bad signature -> 401", url, 401, {"Authorization": f"Bearer {token[:-6]}AAAAAA"}
            ):
                self.problems.pop()  # a finding about the peer, not a harness failure
                self.extra.setdefault("peer_findings", []).append(
                    f"{name}: a token with a forged signature is accepted (200)"
                )
            if ok:
                # peers spin up Lambda workers on first use: a longer warm-up
                loads.append(
                    Load(name, WrkSpec(url, headers=bearer), warmup=max(self.warmup, 5.0), pid=proc.pid)
                )
        return loads

    def servers(self, stack: contextlib.ExitStack) -> list[Load]:
        """The server choice: the same gateway app (S3) under uvicorn and granian, 1 worker, pinned."""
        if not self.want("servers"):
            return []
        loads = []
        bearer = {"Authorization": f"Bearer {self.issuer.mint(jti='reused')}"}
        env = {
            "PYTHONPATH": str(ROOT),
            "GATEHOLD_BENCH_CONFIG": str(targets.BENCH_CONFIG),
            "BENCH_ISSUER": self.issuer.issuer,
        }
        for server in ("uvicorn", "uvicorn-asyncio", "granian"):
            started = self.start(
                stack,
                f"S3 gateway app under {server}",
                lambda server=server: targets.asgi_app(server, "bench.apps.gateway:app", env=env),
            )
            if started is None:
                continue
            base, proc = started
            url = base + "/unicorns/unicorn?name=x"
            if self.check(f"servers {server}", url, 200, bearer):
                loads.append(
                    Load(f"S3 gateway app under {server}", WrkSpec(url, headers=bearer), pid=proc.pid)
                )
        return loads

    def workers(self) -> None:
        """``--workers 2`` vs 1 for S3; servers and wrk unpinned (2 cores shared), interleaved."""
        if not self.want("workers"):
            return
        bearer = {"Authorization": f"Bearer {self.issuer.mint(jti='reused')}"}
        with self.section("workers 1 vs 2"), contextlib.ExitStack() as stack:
            loads = []
            for n in (1, 2):
                gh = stack.enter_context(targets.gatehold(self.issuer, workers=n, cpus=None))
                url = gh.gateway + "/unicorns/unicorn?name=x"
                if self.check(f"workers {n}", url, 200, bearer, proc=gh.proc):
                    loads.append(
                        Load(
                            f"S3 workers={n} (unpinned)",
                            WrkSpec(url, headers=bearer),
                            cpus=None,
                            pid=gh.proc.pid,
                            metrics_url=gh.metrics,
                        )
                    )
            self.interleave(loads)

    def interleave(self, loads: list[Load]) -> None:
        for m in interleave(
            loads, duration=self.duration, warmup=self.warmup, runs=self.runs, connections=self.connections
        ):
            self.results[m.name] = m

    def main_round(self) -> None:
        """Every pinned scenario with all its servers up at once, runs interleaved."""
        with self.section("pinned scenarios (interleaved)"), contextlib.ExitStack() as stack:
            loads: list[Load] = []
            for prepare in (
                self.s1 if self.want("S1") else None,
                self.gatehold_scenarios,
                self.s7_baselines,
                self.p1,
                self.servers,
            ):
                if prepare is None:
                    continue
                try:
                    loads += prepare(stack)
                except Exception as exc:
                    self.problems.append(f"{prepare.__name__}: {exc}")
                    log(f"{prepare.__name__} FAILED: {exc}\n{traceback.format_exc()}")
            log("loads: " + ", ".join(ld.name for ld in loads))
            rss0 = rss_kb(self.gatehold_proc.pid) if self.gatehold_proc else 0
            self.interleave(loads)
            if self.gatehold_proc is not None and "S4 JWT, fresh token" in self.results:
                rss1 = rss_kb(self.gatehold_proc.pid)
                self.extra["rss_http"] = {
                    "before_kb": rss0,
                    "after_kb": rss1,
                    "growth_mb": round((rss1 - rss0) / 1024, 1),
                    "note": "gatehold up RSS across the whole round; S4 "
                    + self.results["S4 JWT, fresh token"].note,
                }

    def micro(self) -> None:
        if not self.want("micro"):
            return
        script = BENCH / "jwt_micro.py"
        with self.section("micro (bench/jwt_micro.py)"):
            if not script.exists():
                self.extra["micro"] = {"skipped": "bench/jwt_micro.py not present"}
                return
            out_json = RESULTS / "micro.tmp"
            argv = ["taskset", "-c", SERVER_CPU, python_exe(), str(script), "--json", str(out_json)]
            if self.quick:
                argv += ["--tokens", "500", "--repeats", "5"]
            out = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=900,
                env={**os.environ, "PYTHONPATH": f"{ROOT}/src:{ROOT}"},
            )
            print(out.stdout)
            parsed: Any = None
            with contextlib.suppress(OSError, ValueError):
                parsed = json.loads(out_json.read_text())
                out_json.unlink()
            self.extra["micro"] = {
                "returncode": out.returncode,
                "report": parsed,
                "stdout": out.stdout[-4000:],
                "stderr": out.stderr[-1500:],
            }

    def breakdown(self) -> None:
        """CPU per request of each gateway path without an HTTP server (bench/gateway_breakdown.py)."""
        if not self.want("breakdown"):
            return
        with self.section("gateway breakdown (in process, no HTTP server)"):
            argv = ["taskset", "-c", SERVER_CPU, python_exe(), str(BENCH / "gateway_breakdown.py")]
            if self.quick:
                argv += ["--requests", "3000"]
            out = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=900,
                check=True,
                env={**os.environ, "PYTHONPATH": f"{ROOT}/src:{ROOT}"},
            )
            print(out.stdout)
            self.extra["breakdown"] = json.loads(out.stdout.strip().splitlines()[-1])

    def rss(self) -> None:
        if not self.want("rss"):
            return
        with self.section("RSS after distinct tokens (in process)"):
            n = self.args.rss_tokens
            out = subprocess.run(
                ["taskset", "-c", SERVER_CPU, python_exe(), str(BENCH / "rss_tokens.py"), str(n)],
                capture_output=True,
                text=True,
                timeout=1800,
                check=True,
                env={**os.environ, "PYTHONPATH": f"{ROOT}/src:{ROOT}"},
            )
            self.extra["rss_in_process"] = json.loads(out.stdout.strip().splitlines()[-1])
            log(f"RSS in process: {self.extra['rss_in_process']}")

    # -- report -----------------------------------------------------------------------------------

    def rps(self, name: str) -> float | None:
        m = self.results.get(name)
        return m.rps if m and m.runs else None

    def capacity(self, name: str) -> float | None:
        """Requests per CPU-second of the server (1e6 / median CPU µs per request)."""
        m = self.results.get(name)
        return 1e6 / m.cpu_us if m and m.cpu_us else None

    def ratios(self) -> list[dict[str, Any]]:
        """Each target as a req/s ratio (what issue 5 asks) and as a CPU-cost ratio (robust to noise)."""

        def ratio(a: float | None, b: float | None) -> float | None:
            return round(a / b, 3) if a and b else None

        def row(target: str, a: str, b: str, goal: float | None) -> dict[str, Any]:
            return {
                "target": target,
                "value": ratio(self.rps(a), self.rps(b)),
                "value_cpu": ratio(self.capacity(a), self.capacity(b)),
                "goal": goal,
                "higher": True,
            }

        # S1 is the bare ASGI hello-world on the gateway's own server (gatehold.gateway.http1, the ASGI
        # app through gatehold.asgi_bridge): the same server, and the cheaper of Gatehold's two ways
        # to serve an ASGI app, so the stricter baseline. The uvicorn one is reported next to it.
        s1, s3 = S1_BRIDGE, "S3 JWT, same token"
        rows = [
            row("S3 >= 0.7 x S1 (ASGI hello, same server)", s3, s1, 0.7),
            row("S4 / S3 (fresh vs same token, info)", "S4 JWT, fresh token", s3, None),
            row("P1 Gatehold >= 10 x MiniStack", s3, "P1 MiniStack", 10),
            row("P1 Gatehold >= 10 x serverless-offline", s3, "P1 serverless-offline", 10),
            row(
                "S7 >= 0.8 x raw RS256 sign rate",
                "S7 Gatehold /oauth/token",
                "S7 raw RS256 sign (cryptography, 1 process)",
                0.8,
            ),
            row(
                "S7 >= 1 x oauth2-mock-server", "S7 Gatehold /oauth/token", "S7 oauth2-mock-server 8.2.3", 1.0
            ),
            row(
                "--workers 2 >= 1.7 x 1 worker (S3)",
                "S3 workers=2 (unpinned)",
                "S3 workers=1 (unpinned)",
                1.7,
            ),
            row("S1 gatehold server / nginx (info)", s1, "S1 nginx static", None),
            row("S1 ASGI hello: http1 + bridge / uvicorn (info)", s1, S1, None),
            row("S3 / ASGI hello under uvicorn (info)", s3, S1, None),
            row("S3 / raw protocol hello (the floor, info)", s3, S1_RAW, None),
            row(
                "S3 gateway http1 / under uvicorn (server choice, info)",
                s3,
                "S3 gateway app under uvicorn",
                None,
            ),
            row("S1 granian / uvicorn hello (info)", "S1 hello (granian)", "S1 hello (uvicorn)", None),
            row(
                "S3 granian / uvicorn gateway (server choice, info)",
                "S3 gateway app under granian",
                "S3 gateway app under uvicorn",
                None,
            ),
            row(
                "S3 uvloop / asyncio gateway (info)",
                "S3 gateway app under uvicorn",
                "S3 gateway app under uvicorn-asyncio",
                None,
            ),
        ]
        # the workers ratio is about using both cores: CPU per request cannot show it
        rows[6]["value_cpu"] = None
        rss = self.extra.get("rss_in_process")
        if rss:
            rows.append(
                {
                    "target": f"RSS growth < 50 MB after {rss['tokens']:,} tokens (MB)",
                    "value": rss["rss_growth_mb"],
                    "value_cpu": None,
                    "goal": 50,
                    "higher": False,
                }
            )
        report = (self.extra.get("micro") or {}).get("report")
        if isinstance(report, dict):
            results = report.get("results", {})
            for name, goal in (
                ("gatehold fresh (verify+claims+cache insert)", 1.5),
                ("gatehold core (parse+verify+claims)", None),
                ("gatehold cached (same token)", None),
                ("PyJWT decode", None),
            ):
                if name in results:
                    rows.append(
                        {
                            "target": f"micro: {name} / raw RSA verify" + (" <= 1.5" if goal else ""),
                            "value": round(results[name]["ratio_to_raw"], 3),
                            "value_cpu": None,
                            "goal": goal,
                            "higher": False,
                        }
                    )
        for r in rows:
            g = r["goal"]
            for key, met in (("value", "met"), ("value_cpu", "met_cpu")):
                v = r[key]
                r[met] = None if v is None or g is None else (v >= g if r["higher"] else v <= g)
        return rows

    def report(self) -> dict[str, Any]:
        rows = self.ratios()
        print()
        head = ("scenario", "req/s", "p50 ms", "p99 ms", "CPU µs/req", "err", "429")
        print(
            f"{head[0]:46} {head[1]:>9} {head[2]:>8} {head[3]:>8} {head[4]:>10} {head[5]:>4} {head[6]:>5}"
            "  runs (req/s)"
        )
        for name, m in self.results.items():
            runs = ", ".join(f"{r.rps:,.0f}" for r in m.runs)
            cpu = f"{m.cpu_us:,.0f}" if m.cpu_us else "-"
            throttled = "-" if m.throttled is None else str(m.throttled)
            line = f"{name:46} {m.rps:>9,.0f} {m.p50_ms:>8.2f} {m.p99_ms:>8.2f} {cpu:>10}"
            line += f" {m.errors:>4} {throttled:>5}"
            print(f"{line}  [{runs}]")
        print()
        print(f"{'target / ratio':56} {'req/s':>7} {'CPU':>7} {'goal':>5}  met (req/s, CPU)")
        for r in rows:
            v = "n/a" if r["value"] is None else f"{r['value']:.3g}"
            c = "-" if r["value_cpu"] is None else f"{r['value_cpu']:.3g}"
            g = "" if r["goal"] is None else f"{r['goal']:g}"
            yes = {True: "yes", False: "NO", None: "-"}
            print(f"{r['target']:56} {v:>7} {c:>7} {g:>5}  {yes[r['met']]}, {yes[r['met_cpu']]}")
        for p in self.problems:
            print(f"problem: {p}")
        for sk in self.skipped:
            print(f"skipped: {sk}")
        print(
            "429: answers the Gatehold gateway throttled during the timed runs (from its /metrics; '-' for"
            " targets that are not Gatehold, whose non-2xx answers are in 'err')"
        )
        for f in self.extra.get("peer_findings", []):
            print(f"finding: {f}")
        print(f"load average before/after: {self.extra.get('loadavg_before')} / {_loadavg()}")
        return {
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "command": " ".join([".venv/bin/python", "bench/run.py", *sys.argv[1:]]),
            "machine": machine(),
            "settings": {
                "duration_s": self.duration,
                "warmup_s": self.warmup,
                "runs": self.runs,
                "connections": self.connections,
                "wrk_threads": 1,
                "pinning": f"server on CPU {SERVER_CPU}, wrk on CPU 1 (workers: unpinned, {ALL_CPUS})",
            },
            "scenarios": {k: v.as_dict() for k, v in self.results.items()},
            "ratios": rows,
            "extra": self.extra,
            "problems": self.problems,
            "skipped": self.skipped,
            "loadavg": {"before": self.extra.get("loadavg_before"), "after": _loadavg()},
        }


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return ""


def machine() -> dict[str, Any]:
    def cmd(*argv: str) -> str:
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip()
        except OSError:
            return ""

    cpu = ""
    with contextlib.suppress(OSError):
        cpu = next(
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        )
    versions: dict[str, str] = {}
    with contextlib.suppress(Exception):
        from importlib.metadata import version

        for pkg in ("uvicorn", "uvloop", "httptools", "granian", "cryptography", "starlette", "orjson"):
            with contextlib.suppress(Exception):
                versions[pkg] = version(pkg)
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "wrk": cmd("wrk", "-v").splitlines()[0] if cmd("wrk", "-v") else "",
        "nginx": subprocess.run(
            ["bash", "-c", "nginx -v 2>&1 || /usr/sbin/nginx -v 2>&1"], capture_output=True, text=True
        ).stdout.strip(),
        "node": cmd("node", "--version"),
        "packages": versions,
    }


def plot(data: dict[str, Any], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib missing: no plot (bench/setup.sh installs it)")
        return
    items = [(k, v["rps_median"]) for k, v in data["scenarios"].items() if v["rps_median"] > 0]
    if not items:
        return

    def color(name: str) -> str:
        if name.startswith("P1 MiniStack") or name.startswith("P1 serverless") or "oauth2-mock" in name:
            return "#d62728"
        if "nginx" in name or "hello" in name or "raw" in name:
            return "#7f7f7f"
        return "#1f77b4"

    names = [n for n, _ in items][::-1]
    values = [v for _, v in items][::-1]
    caps = [1e6 / c if (c := data["scenarios"][n].get("cpu_us_per_req_median")) else 0.0 for n in names]
    fig, (ax, ax2) = plt.subplots(1, 2, sharey=True, figsize=(14, 0.42 * len(items) + 1.8))
    s = data["settings"]
    fig.suptitle(
        f"Gatehold benchmarks: wrk -t1 -c{s['connections']}, median of {s['runs']} x {s['duration_s']:g} s, "
        f"{data['machine']['cpus']} vCPU {data['machine']['cpu'][:40]}, {data['when']}",
        fontsize=9,
    )
    for axis, vals, label in (
        (ax, values, "requests (tokens) per second, log scale"),
        (ax2, caps, "requests per CPU-second of the server = 1e6 / CPU µs per request (robust to noise)"),
    ):
        bars = axis.barh(names, vals, color=[color(n) for n in names])
        axis.set_xscale("log")
        axis.set_xlabel(label, fontsize=8)
        for bar, v in zip(bars, vals, strict=True):
            if v:
                axis.text(v * 1.05, bar.get_y() + bar.get_height() / 2, f"{v:,.0f}", va="center", fontsize=8)
        axis.set_xlim(right=max(vals) * 4)
    fig.text(0.01, 0.005, "grey: ceilings/baselines   blue: Gatehold   red: peers", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(data: dict[str, Any]) -> str:
    """The two tables of BENCHMARKS.md, from a results JSON."""
    st, la = data["settings"], data["loadavg"]
    out = [
        f"Run {data['when']}: `{data['command']}`, {st['runs']} x {st['duration_s']:g} s per load after "
        f"{st['warmup_s']:g} s warm-up, wrk -t1 -c{st['connections']}; "
        f"load average before/after {la['before']} / {la['after']}.",
        "",
        "| scenario | req/s (median) | p50 ms | p99 ms | server CPU µs/req | server cores busy | errors "
        "| 429 | runs (req/s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, m in data["scenarios"].items():
        cpu = f"{m['cpu_us_per_req_median']:,.0f}" if m.get("cpu_us_per_req_median") else "-"
        runs = ", ".join(f"{r['rps']:,.0f}" for r in m["runs"])
        p = "-" if not m["p99_ms_median"] else f"{m['p99_ms_median']:.1f}"
        p50 = "-" if not m["p50_ms_median"] else f"{m['p50_ms_median']:.2f}"
        busy = (
            f"{m['rps_median'] * m['cpu_us_per_req_median'] / 1e6:.2f}"
            if m.get("cpu_us_per_req_median")
            else "-"
        )
        throttled = "-" if m.get("throttled_429") is None else str(m["throttled_429"])
        out.append(
            f"| {name} | {m['rps_median']:,.0f} | {p50} | {p} | {cpu} | {busy} | {m['errors']} | {throttled} "
            f"| {runs} |"
        )
    if data.get("skipped"):
        out += ["", "Not measured in this run: " + "; ".join(data["skipped"]) + "."]
    out += ["", "| target / ratio | by req/s | by CPU µs/req | goal | met |", "|---|---:|---:|---:|---|"]
    yes = {True: "**yes**", False: "**no**", None: "-"}
    for r in data["ratios"]:
        v = "n/a" if r["value"] is None else f"{r['value']:.3g}"
        c = "-" if r["value_cpu"] is None else f"{r['value_cpu']:.3g}"
        g = "" if r["goal"] is None else f"{'≥' if r['higher'] else '≤'} {r['goal']:g}"
        met = (
            yes[r["met"]]
            if r["value_cpu"] is None or r["met"] == r["met_cpu"]
            else (f"{yes[r['met']]} by req/s, {yes[r['met_cpu']]} by CPU")
        )
        out.append(f"| {r['target']} | {v} | {c} | {g} | {met} |")
    bd = data["extra"].get("breakdown")
    if bd:
        out += ["", "| gateway path, in process without an HTTP server | CPU µs/req |", "|---|---:|"]
        out += [f"| {k} | {v['cpu_us_per_req']:.1f} |" for k, v in bd.items()]
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="warm-up 1 s, 3 runs x 3 s per load")
    ap.add_argument("--duration", type=float, default=None, help="seconds per timed run")
    ap.add_argument("--warmup", type=float, default=None, help="seconds of warm-up per load")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--only", default=None, help=f"comma-separated subset of {','.join(ALL)}")
    ap.add_argument("--pool", type=int, default=None, help="distinct tokens minted for S4")
    ap.add_argument("--rss-tokens", type=int, default=1_000_000)
    ap.add_argument("--out", default=str(RESULTS / "latest"), help="results path without extension")
    args = ap.parse_args()
    if args.pool is None:
        args.pool = 60_000 if args.quick else 150_000
    h = Harness(args)
    h.extra["loadavg_before"] = _loadavg()
    t0 = time.monotonic()
    try:
        h.main_round()
        h.workers()
        h.micro()
        h.breakdown()
        h.rss()
    finally:
        h.issuer.close()
    data = h.report()
    data["elapsed_s"] = round(time.monotonic() - t0)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(data, indent=2) + "\n")
    plot(data, out.with_suffix(".png"))
    out.with_suffix(".md").write_text(markdown(data))
    log(f"wrote {out}.json, .png and .md in {data['elapsed_s']}s")


if __name__ == "__main__":
    main()
