"""S7's floor: the raw RS256 sign rate against "one signature per POST" on Gatehold's HTTP server.

    .venv/bin/python bench/idp_sign_floor.py [--duration 10] [--runs 3]

Interleaves (like ``bench/run.py``) ``bench/raw_sign.py`` and ``bench/apps/sign_floor.py`` (an ASGI
app that reads the body, signs once and answers a token-sized JSON body, nothing else) under wrk
``-t1 -c50`` with S7's request, server on CPU 0 and wrk on CPU 1. The floor's sign-rate ratio is
the best S7 can reach on this server whatever the identity provider does.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BENCH, ROOT, SERVER_CPU, Load, WrkSpec, free_port, interleave, python_exe, running


def raw_sign(seconds: float) -> tuple[float, float | None]:
    out = subprocess.run(
        ["taskset", "-c", SERVER_CPU, python_exe(), str(BENCH / "raw_sign.py"), str(seconds), "1"],
        capture_output=True,
        text=True,
        check=True,
    )
    d = json.loads(out.stdout)
    return float(d["signs_per_s"]), float(d["cpu_us_per_sign"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    port = free_port()
    argv = [python_exe(), "-m", "bench.apps.sign_floor", str(port)]
    body = urllib.parse.urlencode({"grant_type": "client_credentials", "audience": "https://unicorns-api"})
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    with running("sign-floor", argv, port, cwd=ROOT, env={"PYTHONPATH": str(ROOT)}) as proc:
        loads = [
            Load(
                "floor: body + 1 RS256 sign + response",
                WrkSpec(f"http://127.0.0.1:{port}/oauth/token", headers=form, method="POST", body=body),
                pid=proc.pid,
            ),
            Load("raw RS256 sign (cryptography, 1 process)", func=raw_sign),
        ]
        floor, raw = interleave(
            loads, duration=args.duration, warmup=args.warmup, runs=args.runs, connections=50
        )
    print(f"{'':44s} {'req/s':>8s} {'CPU µs/req':>11s}")
    for m in (floor, raw):
        print(f"{m.name:44s} {m.rps:8,.0f} {m.cpu_us or 0:11.0f}")
    cpu = raw.cpu_us / floor.cpu_us if raw.cpu_us and floor.cpu_us else float("nan")
    print(f"floor / raw sign rate: {floor.rps / raw.rps:.3f} by req/s, {cpu:.3f} by CPU")


if __name__ == "__main__":
    main()
