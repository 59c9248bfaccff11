"""The gateway keeps its last requests and explains one (gatehold.gateway.explain), in process: a
GatewayApp on tests/cli/explain_stack's configuration with the real Lambda runtime, requests through
``GatewayApp.respond`` as the HTTP server makes them; the policy judged statement by statement."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from gatehold.config import load_config
from gatehold.config.loader import LoadedConfig, parse_config
from gatehold.gateway.app import GatewayApp
from gatehold.gateway.explain import ENTRY_OVERHEAD, KEEP_RESPONSE_BYTES, RecentTraces, explain_policy
from gatehold.runtime import build_invoker
from tests.jose.conftest import issuer, rsa_keys  # noqa: F401  (the JWKS issuer fixtures)
from tests.jose.support import FakeIssuer, claims_for

CONFIG = Path(__file__).parents[1] / "cli" / "explain_stack" / "gatehold.yaml"
ARN = "arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/orders"
ITEMS = ARN.replace("orders", "items")


@pytest.fixture
async def app() -> AsyncIterator[GatewayApp]:
    loaded = load_config(CONFIG)
    invoker = build_invoker(loaded, prewarm=False)
    gateway = GatewayApp(loaded, invoker, traces=RecentTraces(max_entries=3))
    try:
        yield gateway
    finally:
        await gateway.aclose()
        await invoker.aclose()


async def call(app: GatewayApp, path: str, token: str | None = None, body: bytes = b"") -> tuple[str, Any]:
    headers = [("Host", "localhost")] + ([("Authorization", token)] if token else [])
    answer = await app.respond("GET", path, "", headers, body, source_ip="127.0.0.1")
    answer.done()
    request_id = dict(answer.response.headers)["x-amzn-RequestId"]
    return request_id, answer.response


async def test_a_request_is_explained_with_its_evidence_out_of_the_log_line(app: GatewayApp) -> None:
    request_id, response = await call(app, "/shop/prod/orders", "alice")
    assert response.status == 200
    found = app.explain(request_id)
    assert found is not None
    assert found["authorizer"]["cache"]["issuedFor"].endswith("/prod/GET/orders")
    assert found["authorizer"]["principalId"] == "user-alice"
    assert found["authorizer"]["context"] == {"token": "alice"}
    # the evidence (the function's result, the identity values) never reaches the log line
    kept = app.traces.get(request_id)
    assert kept is not None
    trace = kept[1]
    assert trace.evidence is not None
    assert set(trace.evidence) >= {"identity", "method_arn", "result", "latency_ms"}
    assert trace.summary() == (
        "authorizer=allow(authorizer=per-method,type=TOKEN,cache=miss,principalId=user-alice,policy=allow,"
        "statement=0,effect=Allow,resource=" + found["route"]["methodArn"] + ")"
    )


async def test_kept_requests_are_bounded_by_count(app: GatewayApp) -> None:
    ids = [(await call(app, "/shop/prod/items/1"))[0] for _ in range(4)]
    assert len(app.traces) == 3
    assert app.explain(ids[0]) is None  # the oldest went first
    assert all(app.explain(i) is not None for i in ids[1:])
    # a REST request is found by its extended request id (x-amz-apigw-id) too
    from gatehold.gateway.events import extended_request_id

    assert app.explain(extended_request_id(ids[-1]))["requestId"] == ids[-1]  # type: ignore[index]


def test_kept_requests_are_bounded_by_bytes() -> None:
    from gatehold.gateway.access_log import RequestRecord
    from gatehold.gateway.model import DecisionTrace, GatewayRequest

    traces = RecentTraces(max_entries=100, max_bytes=3 * (ENTRY_OVERHEAD + KEEP_RESPONSE_BYTES))
    for n in range(5):
        request = GatewayRequest("POST", "/x", "", [], b"x" * 1_000_000, "127.0.0.1", request_id=f"r{n}")
        traces.keep(RequestRecord(request, f"r{n}"), DecisionTrace(), [], b"y" * 1_000_000, "/x")
        kept = traces.get(f"r{n}")
        assert kept is not None
        assert kept[0].request.body == b""  # a large request body is not kept
        assert kept[3] == b"y" * KEEP_RESPONSE_BYTES  # nor more than the start of the response
    assert len(traces) == 3
    assert traces.bytes == 3 * (ENTRY_OVERHEAD + KEEP_RESPONSE_BYTES)
    assert traces.get("r1") is None
    assert traces.get("r4") is not None


@pytest.mark.parametrize(
    ("statements", "decision", "index", "applies"),
    [
        pytest.param(
            [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": ARN}],
            "allow",
            0,
            [True],
            id="allow-exact",
        ),
        pytest.param(
            [
                {"Effect": "Allow", "Action": "execute-api:*", "Resource": "arn:aws:execute-api:*:*:abc/*"},
                {"Effect": "Deny", "Action": "*", "Resource": ARN},
            ],
            "explicit-deny",
            1,
            [True, True],
            id="deny-wins",
        ),
        pytest.param(
            [
                {
                    "Effect": "Allow",
                    "Action": "execute-api:Invoke",
                    "Resource": ARN.replace("orders", "items"),
                },
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
            ],
            "implicit-deny",
            None,
            [False, False],
            id="nothing-applies",
        ),
        pytest.param(
            [{"Effect": "Allow", "Action": "execute-api:Invoke", "NotResource": ARN.replace("orders", "x")}],
            "allow",
            0,
            [True],
            id="not-resource",
        ),
    ],
)
def test_every_statement_is_judged(
    statements: list[dict[str, Any]], decision: str, index: int | None, applies: list[bool]
) -> None:
    judged = explain_policy({"Version": "2012-10-17", "Statement": statements}, ARN)
    assert judged["decision"] == decision
    assert judged["statement"] == index
    assert [s["applies"] for s in judged["statements"]] == applies


def test_why_a_statement_does_not_apply() -> None:
    other = {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": ITEMS}
    s3 = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    judged = explain_policy({"Statement": [other, s3]}, ARN)
    assert [s["why"] for s in judged["statements"]] == [
        "does not apply: no Resource matches the methodArn",
        "does not apply: its Action does not include execute-api:Invoke",
    ]
    assert judged["summary"] == "implicit deny: no statement allows the methodArn"
    broken = explain_policy({"Statement": [{"Effect": "Maybe"}]}, ARN)
    assert broken["decision"] == "error"
    assert "Effect" in broken["summary"]


async def test_a_cors_preflight_is_answered_before_routing(tmp_path: Path) -> None:
    from gatehold.cli.common import example_config_path

    variables = {"idp_url": "http://localhost:1", "spa_url": "http://localhost:2", "data_dir": str(tmp_path)}
    loaded = load_config(example_config_path(), variables=variables)
    invoker = build_invoker(loaded, prewarm=False)
    app = GatewayApp(loaded, invoker, traces=RecentTraces())
    try:
        headers = [("Host", "localhost"), ("Origin", "http://x"), ("Access-Control-Request-Method", "GET")]
        answer = await app.respond("OPTIONS", "/unicorns/unicorns", "", headers, b"", source_ip="127.0.0.1")
        answer.done()
        assert answer.response.status == 204
        found = app.explain(dict(answer.response.headers)["apigw-requestid"])
        assert found is not None
        assert found["route"] is None
        assert found["authorizer"] is None
        assert found["routeError"] == "answered before routing (a CORS preflight)"
    finally:
        await app.aclose()
        await invoker.aclose()


def rest_jwt_yaml(trusted: str) -> str:
    return f"""
apis:
  orders:
    type: REST
    stages: {{prod: {{}}}}
    authorizers:
      jwt:
        type: JWT
        issuers:
          - {{issuer: "{trusted}", audiences: [aud-a]}}
        required_claims: [email]
    routes:
      GET /orders:
        integration: {{type: mock, body: '[]'}}
        authorizer: jwt
        authorization_scopes: [orders:read]
"""


@pytest.mark.parametrize(
    ("claims", "failed", "status"),
    [
        pytest.param({"aud": "aud-a", "scope": "orders:read", "email": "a@x"}, None, 200, id="allowed"),
        pytest.param({"aud": "aud-b", "scope": "orders:read", "email": "a@x"}, "aud", 401, id="audience"),
        pytest.param({"aud": "aud-a", "scope": "orders:read"}, "claims", 401, id="required-claim"),
        pytest.param({"aud": "aud-a", "scope": "orders:write", "email": "a@x"}, "scope", 403, id="scope"),
    ],
)
async def test_a_rest_jwt_authorizer_lists_its_checks_in_its_order(
    issuer: FakeIssuer,  # noqa: F811  (the fixture imported above)
    claims: dict[str, Any],
    failed: str | None,
    status: int,
) -> None:
    config, lines = parse_config(rest_jwt_yaml(issuer.issuer))
    loaded = LoadedConfig(config=config, path=None, lines=lines)
    invoker = build_invoker(loaded, prewarm=False)
    app = GatewayApp(loaded, invoker, traces=RecentTraces())
    aud = claims.pop("aud")
    token = issuer.token(claims_for(issuer.issuer, aud, **claims))
    try:
        request_id, response = await call(app, "/orders/prod/orders", f"Bearer {token}")
        assert response.status == status
        found = app.explain(request_id)
        assert found is not None
        outcomes = [(c["check"], c["outcome"]) for c in found["authorizer"]["checks"]]
        order = ["identity", "format", "iss", "header", "alg", "kid", "signature", "aud"]
        order += ["exp", "nbf", "iat", "claims", "scope"]
        assert [name for name, _ in outcomes] == order
        cut = order.index(failed) if failed else len(order)
        expected = ["pass"] * cut + (["fail"] + ["skipped"] * (len(order) - cut - 1) if failed else [])
        assert [outcome for _, outcome in outcomes] == expected
        assert found["authorizer"]["issuer"] == issuer.issuer
    finally:
        await app.aclose()
        await invoker.aclose()


@pytest.mark.parametrize(("user", "status", "outcome"), [("admin", 200, "pass"), ("guest", 403, "fail")])
async def test_a_simple_response_is_the_deciding_check(
    app: GatewayApp, user: str, status: int, outcome: str
) -> None:
    headers = [("Host", "localhost"), ("x-user", user)]
    answer = await app.respond("GET", "/simple/hello", "", headers, b"", source_ip="127.0.0.1")
    answer.done()
    assert answer.response.status == status
    found = app.explain(dict(answer.response.headers)["apigw-requestid"])
    assert found is not None
    auth = found["authorizer"]
    assert auth["type"] == "REQUEST 2.0"
    assert auth["identitySources"] == [{"expression": "$request.header.x-user", "value": user}]
    assert [(c["check"], c["outcome"]) for c in auth["checks"]] == [
        ("identity", "pass"),
        ("cache", "pass"),
        ("function", "pass"),
        ("isAuthorized", outcome),
    ]
    assert auth["context"] == {"user": user}
    assert auth["policy"] is None
