"""Issue 12's hostile-traffic probes against Gatehold's HTTP/1.1 server and uvicorn, side by side.

    .venv/bin/python bench/hostile_probes.py [--only NAME,...] [--servers gatehold,uvicorn] [--full]

Each server runs the same app in a process of its own (tests/hostile/serve.py): the gateway of
tests/hostile/hostile.yaml, and the example stack's identity provider. uvicorn runs with httptools
and uvloop, its keep-alive timeout set to the same 2 s. The probes are the ones tests/hostile runs
(tests/hostile/probes.py); here nothing is asserted: each outcome is printed as a Markdown table
(docs/gateway.md keeps the last one). ``--full`` uses the issue's sizes for the memory probes
(8 connections x 16 x 9.5 MB, 14 x 100 MB) instead of the smaller ones the tests use.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.hostile import probes
from tests.hostile.wire import MB, Server

Probe = Callable[[Server], probes.Outcome]


def catalogue(full: bool) -> list[tuple[str, str, Probe]]:
    """(name, app, probe): every row of the table."""
    rows: list[tuple[str, str, Probe]] = []
    gw = probes.PATHS["gateway"]
    for name, raw in probes.smuggling_shapes(gw["post"]).items():
        rows.append((f"smuggling: {name}", "gateway", partial(probes.one_shot, raw=raw)))
    for name, raw in probes.invalid_header_bytes(gw["get"]).items():
        rows.append((f"header bytes: {name}", "gateway", partial(probes.one_shot, raw=raw)))
    for name, raw in probes.absurd_request_lines(gw["get"]).items():
        rows.append((f"request line: {name}", "gateway", partial(probes.one_shot, raw=raw)))
    for name, raw in probes.oversize_head(gw["get"]).items():
        rows.append((f"head: {name}", "gateway", partial(probes.big_head, raw=raw)))
    for name, head in {
        "stalled in the request line": b"GET /rest/test/fix",
        "stalled in the headers": b"GET /rest/test/fixed HTTP/1.1\r\nHost: x\r\nX-Half: ",
        "stalled in the body": b"POST /rest/test/size HTTP/1.1\r\nContent-Length: 100\r\n\r\nonly ten..",
    }.items():
        rows.append((name, "gateway", partial(probes.stalled, partial=head)))
    rows += [
        ("slowloris (20 connections)", "gateway", lambda s: probes.slowloris(s, gw["get"])),
        ("half-closed after two requests", "gateway", lambda s: probes.half_closed(s, gw["get"])),
        ("half-closed mid-body", "gateway", lambda s: probes.half_closed_mid_request(s, gw["post"])),
        ("idle keep-alive (used)", "gateway", lambda s: probes.idle_keep_alive(s, gw["get"], True)),
        ("idle keep-alive (never used)", "gateway", lambda s: probes.idle_keep_alive(s, gw["get"], False)),
        ("1,000 connections", "gateway", lambda s: probes.many_connections(s, 1000)),
    ]
    depth, conns, repeats = (16, 8, 14) if full else (8, 4, 6)
    big_header = probes.oversize_head("/.well-known/jwks.json")["1-mb-header"]
    rows += [
        (
            f"pipelined {conns} x {depth} x 9.5 MB bodies",
            "gateway",
            lambda s: probes.pipelined_bodies(s, conns, depth),
        ),
        ("40 pipelined 4 MB responses, never read", "gateway", lambda s: probes.unread_responses(s, 40)),
        (f"{repeats} x 100 MB body", "gateway", lambda s: probes.large_bodies(s, repeats, 100 * MB)),
        ("100 MB chunked body", "gateway", lambda s: probes.large_chunked_body(s, 100 * MB)),
        (f"{repeats} x 9 MB body (accepted)", "gateway", lambda s: probes.large_bodies(s, repeats, 9 * MB)),
        ("identity provider: 50 MB POST /oauth/token", "idp", probes.idp_large_post),
        ("identity provider: 1 MB header", "idp", lambda s: probes.big_head(s, big_header)),
    ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", help="comma-separated substrings of probe names")
    parser.add_argument("--servers", default="gatehold,uvicorn")
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args()
    kinds = args.servers.split(",")
    rows = catalogue(args.full)
    if args.only:
        wanted = args.only.split(",")
        rows = [row for row in rows if any(w in row[0] for w in wanted)]
    logs = Path(tempfile.mkdtemp(prefix="gatehold-probes-"))
    servers: dict[tuple[str, str], Server] = {}

    def server(kind: str, app: str) -> Server:
        running = servers.get((kind, app))
        if running is None or not running.alive():
            running = servers[kind, app] = Server(kind, app).start(logs)
        return running

    print(f"| probe | {' | '.join(kinds)} |")
    print(f"|---|{'---|' * len(kinds)}")
    try:
        for name, app, probe in rows:
            cells = []
            for kind in kinds:
                started = time.monotonic()
                try:
                    outcome = probe(server(kind, app)).summary()
                except Exception as exc:  # a probe that broke is a finding too
                    outcome = f"probe failed: {type(exc).__name__}: {exc}"[:160]
                cells.append(f"{outcome} ({time.monotonic() - started:.1f} s)")
            print(f"| {name} | {' | '.join(cells)} |", flush=True)
        for kind in kinds if not args.only or "sigterm" in args.only else []:  # last: stops the server
            fresh = Server(kind, "gateway", grace=30).start(logs)
            print(f"| SIGTERM, 3 s request in flight ({kind}) | {probes.sigterm_drain(fresh, 3).summary()} |")
            fresh.stop()
            short = Server(kind, "gateway", grace=2).start(logs)
            outcome = probes.sigterm_drain(short, 20).summary()
            print(f"| SIGTERM, 20 s request, 2 s grace ({kind}) | {outcome} |")
            short.stop()
    finally:
        for running in servers.values():
            running.stop()


if __name__ == "__main__":
    main()
