"""Where a gateway request's CPU goes, without an HTTP server: the gateway driven in process.

    .venv/bin/python bench/gateway_breakdown.py [--requests 20000]    # one JSON line at the end

Calls ``GatewayApp.respond`` (bench/config/bench.yaml) directly, as the gateway's HTTP/1.1 server
does, one request after another on one event loop (uvloop), and reports CPU µs per request
(``time.process_time``, so threads count) for:

* ``mock``: API mapping, route match, mock integration, response (the pipeline, no Lambda);
* ``open lambda``: the same with the Lambda proxy integration (event 2.0, runtime hop, mapping);
* ``jwt same token``: plus the JWT authorizer with a verified-token cache hit (S3 without a server);
* ``jwt fresh token``: plus a full RS256 verification per request (S4 without a server);
* ``token authorizer cached`` / ``ttl 0``: the Lambda TOKEN authorizer paths (S5/S6);
* ``... inline handler (what-if)``: the same gateway with the handler called on the event loop (not
  Gatehold's runtime), to price the Lambda hop.

The HTTP server's own share (parsing, response bytes) is in bench/http1_breakdown.py, which feeds
the real protocol 50 connections at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.keys import Issuer


def scope(path: str, query: str, token: str | None) -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench"), (b"accept", b"*/*")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def drive(app: Any, scopes: list[dict[str, Any]]) -> tuple[float, int]:
    """CPU µs per request over ``scopes`` (what the requests are), and the last status."""
    status = 0
    requests = [
        (
            sc["path"],
            sc["query_string"].decode(),
            [(k.decode().title(), v.decode()) for k, v in sc["headers"]],
        )
        for sc in scopes
    ]
    t0 = time.process_time()
    for path, query, headers in requests:
        answer = await app.respond(
            "GET", path, query, list(headers), b"", source_ip="127.0.0.1", server=("127.0.0.1", 8000)
        )
        status = answer.response.status
        answer.done()
    return (time.process_time() - t0) * 1e6 / len(scopes), status


class InlineInvoker:
    """A what-if, not Gatehold's runtime: call the handler on the event loop, no thread, no timeout.

    It shows what the Lambda hop costs (the runtime's thread pool, Lambda context, deadlines):
    ``open lambda`` minus ``open lambda, inline handler``.
    """

    def __init__(self) -> None:
        from bench.handlers import token_authorizer, unicorns

        self.functions = {
            "get-unicorn": unicorns.lambda_handler,
            "token-authorizer": token_authorizer.handler,
        }

    async def invoke(
        self, function_name: str, event: Any, *, request_id: str, deadline_s: float | None = None
    ) -> Any:
        from gatehold.runtime.contract import InvocationResult

        return InvocationResult(payload=self.functions[function_name](event, None))

    async def aclose(self) -> None:
        pass


def unthrottled(app: Any) -> Any:
    """In process the paths run faster than AWS's default 10,000 rps account limit: lift it, so that
    every request takes the path being measured (never the 429 answer)."""
    app.throttler = None
    return app


async def main(n: int, repeats: int) -> dict[str, Any]:
    issuer = Issuer()
    os.environ["BENCH_ISSUER"] = issuer.issuer
    from gatehold.config.loader import load_config
    from gatehold.gateway.app import GatewayApp
    from gatehold.runtime import build_invoker

    loaded = load_config(Path(__file__).resolve().parent / "config" / "bench.yaml")
    app = unthrottled(GatewayApp(loaded, build_invoker(loaded)))
    token = issuer.mint(jti="same")
    fresh = [issuer.mint(jti=f"fresh-{i}") for i in range(min(n, 2000))]
    cases = {
        "mock (pipeline, no Lambda)": [scope("/mock/unicorn", "name=x", None)] * n,
        "open lambda (S2)": [scope("/open/unicorn", "name=x", None)] * n,
        "jwt same token (S3)": [scope("/unicorns/unicorn", "name=x", token)] * n,
        "jwt fresh token (S4)": [scope("/unicorns/unicorn", "name=x", t) for t in fresh],
        "token authorizer cached (S5)": [scope("/cached/bench/unicorn", "name=x", "allow-bench")] * n,
        "token authorizer ttl 0 (S6)": [scope("/uncached/bench/unicorn", "name=x", "allow-bench")] * n,
    }
    inline = unthrottled(GatewayApp(loaded, InlineInvoker()))
    for name, sc in cases.items():  # warm: JWKS fetch, handler imports, caches
        _, status = await drive(app, sc[:50])
        if status != 200:
            raise SystemExit(f"{name}: status {status}")
    inline_cases = {
        "open lambda, inline handler (what-if)": cases["open lambda (S2)"],
        "jwt same token, inline handler (what-if)": cases["jwt same token (S3)"],
    }
    for sc in inline_cases.values():
        await drive(inline, sc[:50])
    runs: dict[str, list[float]] = {k: [] for k in [*cases, *inline_cases]}
    statuses = {}
    for _ in range(repeats):
        for name, scs in cases.items():
            if name.startswith("jwt fresh"):  # fresh tokens must be new to the cache every repeat
                app = unthrottled(GatewayApp(loaded, build_invoker(loaded)))
                await drive(app, cases["jwt same token (S3)"][:50])
            us, statuses[name] = await drive(app, scs)
            runs[name].append(us)
        for name, scs in inline_cases.items():
            us, statuses[name] = await drive(inline, scs)
            runs[name].append(us)
    issuer.close()
    result = {
        k: {"cpu_us_per_req": round(statistics.median(v), 1), "status": statuses[k]} for k, v in runs.items()
    }
    print(f"{'path (no HTTP server)':34} {'CPU µs/req':>10}  status")
    for k, v in result.items():
        print(f"{k:34} {v['cpu_us_per_req']:>10.1f}  {v['status']}")
    return result


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    import uvloop

    print(json.dumps(uvloop.run(main(args.requests, args.repeats))))
