"""How long loading a large configuration takes, phase by phase (issue 11 target: 2,000 routes ≤ 1 s).

    .venv/bin/python bench/config_load.py [--routes 2000] [--repeats 5] [--format gatehold sam openapi]

Generates, in a temporary directory, the same API in each format (``gatehold.yaml``; a SAM template
with one function per 40 routes, ``HttpApi`` events behind a JWT authorizer and ``Api`` events behind
a TOKEN authorizer; an OpenAPI 3.0 document imported from a ``gatehold.yaml``), then times, ``--repeats``
times each, in this process:

* ``load``: :func:`gatehold.config.load_config` (read with lines, import, schema, cross references);
* ``validate``: what ``gatehold check`` and ``gatehold up`` add before listening (route tables,
  authorizers, integrations, every handler found and parsed without importing it);
* ``gateway``: building the :class:`~gatehold.gateway.app.GatewayApp` (routers, authorizers,
  integrations);
* ``total``: the three together, the part of ``gatehold up``'s start that grows with the routes.

Prints the median and the worst of each phase in ms, and ``total`` against the 1 s target. The
baseline is the same generator and phases at the commit before issue 11 (``git stash``-free: run this
script from that checkout), which took 4.2 s for 2,000 routes. No timing is asserted in the tests.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import yaml

from gatehold.config import load_config
from gatehold.config.loader import LoadedConfig

VARIABLES = {
    "idp_url": "http://localhost:9000",
    "issuer": "http://localhost:9000/",
    "gateway_url": "http://localhost:8000",
    "spa_url": "http://localhost:3000",
    "data_dir": "/tmp/gatehold-bench",
}
HANDLER = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n"


def gatehold_yaml(routes: int, root: Path) -> Path:
    functions = {f"fn{i}": {"handler": "app.handler", "code_path": "."} for i in range(max(1, routes // 40))}
    apis: dict[str, Any] = {}
    per_api = routes // 4
    for a in range(4):
        rest = a % 2 == 0
        api: dict[str, Any] = {"type": "REST" if rest else "HTTP", "stages": {"prod": {}}}
        if rest:
            api["authorizers"] = {"tok": {"type": "TOKEN", "function": "fn0", "result_ttl": 300}}
        else:
            api["authorizers"] = {
                "jwt": {
                    "type": "JWT",
                    "jwt_configuration": {"issuer": "${issuer}", "audience": ["https://api"]},
                }
            }
        api["routes"] = {
            f"{'GET' if i % 2 else 'POST'} /r{i}/{{id}}/items": {
                "integration": {"type": "lambda", "function": f"fn{i % len(functions)}"},
                "authorizer": "tok" if rest else "jwt",
                **({} if rest else {"authorization_scopes": ["read:items"]}),
            }
            for i in range(per_api)
        }
        apis[f"api{a}"] = api
    path = root / "gatehold.yaml"
    path.write_text(yaml.safe_dump({"functions": functions, "apis": apis}, sort_keys=False))
    return path


def sam_template(routes: int, root: Path) -> Path:
    functions = max(1, routes // 40)
    resources: dict[str, Any] = {
        "RestApi": {
            "Type": "AWS::Serverless::Api",
            "Properties": {
                "StageName": "prod",
                "Auth": {
                    "DefaultAuthorizer": "Tok",
                    "Authorizers": {"Tok": {"FunctionArn": {"Fn::GetAtt": ["Fn0", "Arn"]}}},
                },
            },
        },
        "HttpApi": {
            "Type": "AWS::Serverless::HttpApi",
            "Properties": {
                "Auth": {
                    "DefaultAuthorizer": "Jwt",
                    "Authorizers": {
                        "Jwt": {
                            "IdentitySource": "$request.header.Authorization",
                            "JwtConfiguration": {"issuer": VARIABLES["issuer"], "audience": ["https://api"]},
                        }
                    },
                }
            },
        },
    }
    for f in range(functions):
        events: dict[str, Any] = {}
        for i in range(f, routes, functions):
            rest = i % 2 == 0
            events[f"E{i}"] = {
                "Type": "Api" if rest else "HttpApi",
                "Properties": {
                    "Path": f"/r{i}/{{id}}/items",
                    "Method": "get",
                    ("RestApiId" if rest else "ApiId"): {"Ref": "RestApi" if rest else "HttpApi"},
                    **({} if rest else {"Auth": {"AuthorizationScopes": ["read:items"]}}),
                },
            }
        resources[f"Fn{f}"] = {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "Handler": "app.handler",
                "Runtime": "python3.11",
                "CodeUri": ".",
                "Events": events,
            },
        }
    path = root / "template.yaml"
    path.write_text(
        yaml.safe_dump(
            {"Transform": "AWS::Serverless-2016-10-31", "Resources": resources},
            sort_keys=False,
        )
    )
    return path


def openapi_wrapper(routes: int, root: Path) -> Path:
    paths: dict[str, Any] = {}
    for i in range(routes):
        paths.setdefault(f"/r{i // 2}/{{id}}/items", {})["get" if i % 2 else "post"] = {
            "security": [{"jwt": ["read:items"]}],
            "x-amazon-apigateway-integration": {
                "type": "aws_proxy",
                "httpMethod": "POST",
                "payloadFormatVersion": "2.0",
                "uri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                f"arn:aws:lambda:us-east-1:123456789012:function:fn{i % 50}/invocations",
            },
        }
    doc = {
        "openapi": "3.0.1",
        "info": {"title": "big", "version": "1"},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "jwt": {
                    "type": "oauth2",
                    "x-amazon-apigateway-authorizer": {
                        "type": "jwt",
                        "identitySource": "$request.header.Authorization",
                        "jwtConfiguration": {"issuer": VARIABLES["issuer"], "audience": ["https://api"]},
                    },
                }
            }
        },
    }
    (root / "openapi.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    wrapper = {
        "functions": {f"fn{i}": {"handler": "app.handler", "code_path": "."} for i in range(50)},
        "imports": [{"path": "openapi.yaml"}],
    }
    path = root / "gatehold.yaml"
    path.write_text(yaml.safe_dump(wrapper, sort_keys=False))
    return path


GENERATORS: dict[str, Callable[[int, Path], Path]] = {
    "gatehold": gatehold_yaml,
    "sam": sam_template,
    "openapi": openapi_wrapper,
}


def _time(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return (time.perf_counter() - started) * 1000, result


def measure(path: Path, repeats: int) -> dict[str, list[float]]:
    import httpx

    from gatehold.cli.common import validate
    from gatehold.gateway.app import GatewayApp
    from gatehold.runtime.contract import Invoker

    phases: dict[str, list[float]] = {"load": [], "validate": [], "gateway": [], "total": []}
    for _ in range(repeats):
        load_ms, loaded = _time(lambda: load_config(path, variables=VARIABLES))
        loaded = cast(LoadedConfig, loaded)
        validate_ms, (problems, _warnings) = _time(lambda loaded=loaded: validate(loaded))
        if problems:
            raise SystemExit("\n".join(str(p) for p in problems))
        gateway_ms, _ = _time(
            lambda loaded=loaded: GatewayApp(
                loaded, cast(Invoker, None), http_client=cast(httpx.AsyncClient, None)
            )
        )
        phases["load"].append(load_ms)
        phases["validate"].append(validate_ms)
        phases["gateway"].append(gateway_ms)
        phases["total"].append(load_ms + validate_ms + gateway_ms)
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--routes", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--format", nargs="+", default=list(GENERATORS), choices=list(GENERATORS))
    args = parser.parse_args()
    for fmt in args.format:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            (root / "app.py").write_text(HANDLER)
            path = GENERATORS[fmt](args.routes, root)
            try:
                phases = measure(path, args.repeats)
            except Exception as exc:  # an importer not written yet, say
                print(f"{fmt:9} {args.routes} routes: cannot load ({exc.__class__.__name__}: {exc})"[:200])
                continue
        cells = "  ".join(
            f"{name} {statistics.median(values):7.1f} ms (max {max(values):7.1f})"
            for name, values in phases.items()
        )
        total = statistics.median(phases["total"])
        print(f"{fmt:9} {args.routes} routes  {cells}  → {total / 1000:.2f} s of the 1 s target")


if __name__ == "__main__":
    main()
