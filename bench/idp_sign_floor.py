"""S7's floor: the raw RS256 sign rate against "one signature per POST" on Gatehold's HTTP server.

    .venv/bin/python bench/idp_sign_floor.py [--duration 10] [--runs 3] [--with-idp]

Interleaves (like ``bench/run.py``) ``bench/raw_sign.py`` and ``bench/apps/sign_floor.py`` (an ASGI
app that reads the body, signs once and answers a token-sized JSON body, nothing else) under wrk
``-t1 -c50`` with S7's request, server on CPU 0 and wrk on CPU 1. The floor's sign-rate ratio is
the best S7 can reach on this server whatever the identity provider does.

``--with-idp`` adds S7 itself (``gatehold up`` with bench/config/bench.yaml, as ``bench/run.py``
starts it) to the same rounds and prints what the identity provider costs beyond the floor, in CPU
µs per token: the number to watch on a shared machine, where the signature's own cost moves by a factor of
2-3 from one hour to the next and the ratios move with it.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, Load, WrkSpec, free_port, interleave, python_exe, raw_sign, running

M2M_ID, M2M_SECRET = "bench-m2m", "bench-m2m-secret-0123456789abcdef"  # bench/config/bench.yaml


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--with-idp", action="store_true", help="add S7 (gatehold up) to the same rounds")
    args = ap.parse_args()
    port = free_port()
    argv = [python_exe(), "-m", "bench.apps.sign_floor", str(port)]
    # S7's request (bench/run.py): client_secret_post
    body = urllib.parse.urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": M2M_ID,
            "client_secret": M2M_SECRET,
            "audience": "https://unicorns-api",
        }
    )
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    with contextlib.ExitStack() as stack:
        proc = stack.enter_context(running("sign-floor", argv, port, cwd=ROOT, env={"PYTHONPATH": str(ROOT)}))
        loads = [
            Load(
                "floor: body + 1 RS256 sign + response",
                WrkSpec(f"http://127.0.0.1:{port}/oauth/token", headers=form, method="POST", body=body),
                pid=proc.pid,
            ),
            Load("raw RS256 sign (cryptography, 1 process)", func=raw_sign),
        ]
        if args.with_idp:
            from bench import targets
            from bench.keys import Issuer

            gh = stack.enter_context(targets.gatehold(stack.enter_context(contextlib.closing(Issuer()))))
            url = gh.idp + "/oauth/token"
            loads.append(
                Load(
                    "S7 Gatehold /oauth/token",
                    WrkSpec(url, headers=form, method="POST", body=body),
                    pid=gh.proc.pid,
                )
            )
        measured = interleave(
            loads, duration=args.duration, warmup=args.warmup, runs=args.runs, connections=50
        )
    floor, raw = measured[:2]
    print(f"{'':44s} {'req/s':>8s} {'CPU µs/req':>11s}  runs (CPU µs/req)")
    for m in measured:
        runs = ", ".join(f"{r.cpu_us_per_req:.0f}" for r in m.runs if r.cpu_us_per_req)
        print(f"{m.name:44s} {m.rps:8,.0f} {m.cpu_us or 0:11.0f}  {runs}")
    cpu = raw.cpu_us / floor.cpu_us if raw.cpu_us and floor.cpu_us else float("nan")
    print(f"floor / raw sign rate: {floor.rps / raw.rps:.3f} by req/s, {cpu:.3f} by CPU")
    if args.with_idp:
        s7 = measured[2]
        s7_cpu, floor_cpu, raw_cpu = (
            s7.cpu_us or float("nan"),
            floor.cpu_us or float("nan"),
            raw.cpu_us or float("nan"),
        )
        print(
            f"S7 / raw sign rate: {s7.rps / raw.rps:.3f} by req/s, {raw_cpu / s7_cpu:.3f} by CPU; "
            f"S7 - floor: {s7_cpu - floor_cpu:.0f} µs per token "
            f"(0.8 needs <= {raw_cpu / 0.8 - floor_cpu:.0f} µs)"
        )


if __name__ == "__main__":
    main()
