"""`gatehold explain` against real stacks: the example stack (its JWT and Lambda authorizers, tokens
from its own identity provider) and tests/cli/explain_stack (a TOKEN authorizer that allows only the
methodArn it was invoked for, cached 300 s: the authorizer-cache pitfall). The command sends the
request to the stack's gateway, reads the trace from the admin port and prints it."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from gatehold.cli import cli
from gatehold.testing.tokens import Tokens
from tests.stackctl import Stack

EXPLAIN_STACK = Path(__file__).parent / "explain_stack" / "gatehold.yaml"


def run(stack: Stack, *args: str) -> Result:
    return CliRunner().invoke(cli, ["explain", "--data-dir", str(stack.data_dir), *args])


def explained(stack: Stack, *args: str) -> dict[str, Any]:
    result = run(stack, *args, "--json")
    assert result.exit_code == 0, result.output
    found: dict[str, Any] = json.loads(result.output)
    return found


@functools.cache
def _tokens(data_dir: str) -> Tokens:
    return Tokens.for_stack(Path(data_dir))


def token(stack: Stack, mode: str | None, route: str, api: str) -> str:
    tokens = _tokens(str(stack.data_dir))
    return tokens.passing(route, api) if mode is None else tokens.failing(mode, route, api)


def checks(found: dict[str, Any]) -> dict[str, str]:
    return {c["check"]: c["outcome"] for c in found["authorizer"]["checks"]}


def bearer(value: str) -> list[str]:
    return ["-H", f"Authorization: Bearer {value}"]


# -- JWT (the unicorns HTTP API) -------------------------------------------------------------------


def test_allowed_jwt_route(stack: Stack) -> None:
    found = explained(
        stack, "GET", "/unicorns/unicorns", *bearer(token(stack, None, "GET /unicorns", "unicorns"))
    )
    assert found["requestId"]
    assert found["request"]["method"] == "GET"
    assert found["request"]["path"] == "/unicorns/unicorns"
    route = found["route"]
    assert route["api"] == "unicorns"
    assert route["apiType"] == "HTTP"
    assert route["stage"] == "$default"
    assert route["routeKey"] == "GET /unicorns"
    assert route["matched"] == "exact path"
    assert route["methodArn"].endswith("/$default/GET/unicorns")
    auth = found["authorizer"]
    assert auth["name"] == "auth0"
    assert auth["type"] == "JWT"
    assert auth["outcome"] == "allow"
    assert auth["identitySources"][0]["expression"] == "$request.header.Authorization"
    assert auth["identitySources"][0]["value"].startswith("Bearer ey")
    assert auth["issuer"] == stack.issuer
    assert auth["claims"]["aud"] == "https://unicorns-api"
    assert auth["requiredScopes"] == ["list:unicorns"]
    assert set(checks(found).values()) == {"pass"}
    assert list(checks(found)) == [
        *("identity", "format", "header", "alg", "kid", "signature", "iss", "aud", "exp", "nbf", "iat"),
        "scope",
    ]
    # past the authorizer: the integration's answer (whatever the function does)
    assert found["decision"]["responseType"] not in ("UNAUTHORIZED", "ACCESS_DENIED")
    assert found["decision"]["status"] == found["response"]["status"]
    assert found["trace"][0] == {
        "step": "authorizer",
        "outcome": "allow",
        "authorizer": "auth0",
        "type": "JWT",
        "cache": "miss",
        "sub": "demo-m2m@clients",
    }
    assert found["routeError"] is None


@pytest.mark.parametrize(
    ("mode", "failed", "status", "error"),
    [
        pytest.param("expired", "exp", 401, "the token has expired", id="expired"),
        pytest.param("wrong-audience", "aud", 401, "the token does not have a valid audience", id="audience"),
        pytest.param("bad-signature", "signature", 401, "the token has an invalid signature", id="signature"),
        pytest.param("missing-scope", "scope", 403, None, id="scope"),
    ],
)
def test_failing_jwt_check(stack: Stack, mode: str, failed: str, status: int, error: str | None) -> None:
    found = explained(
        stack, "GET", "/unicorns/unicorns", *bearer(token(stack, mode, "GET /unicorns", "unicorns"))
    )
    outcomes = checks(found)
    assert outcomes[failed] == "fail"
    names = list(outcomes)
    assert all(outcomes[n] == "pass" for n in names[: names.index(failed)])
    assert all(outcomes[n] == "skipped" for n in names[names.index(failed) + 1 :])
    auth = found["authorizer"]
    assert auth["check"] == failed
    assert auth["outcome"] == ("deny" if status == 403 else "unauthorized")
    assert auth["error"] == error
    assert found["decision"]["status"] == status
    assert found["decision"]["responseType"] == ("ACCESS_DENIED" if status == 403 else "UNAUTHORIZED")
    assert found["response"]["status"] == status
    body = '{"message":"Forbidden"}' if status == 403 else '{"message":"Unauthorized"}'
    assert found["response"]["body"] == body
    if mode == "expired":  # the time claim shown against the time the gateway checked it
        detail = next(c["detail"] for c in auth["checks"] if c["check"] == "exp")
        assert "before the request" in detail
        assert "the token has expired" in detail


def test_text_output_has_the_decisive_lines(stack: Stack) -> None:
    result = run(
        stack,
        "GET",
        "/unicorns",
        "--api",
        "unicorns",
        *bearer(token(stack, "missing-scope", "GET /unicorns", "unicorns")),
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "GET /unicorns/unicorns  →  403" in out
    assert "unicorns (HTTP, stage $default)  GET /unicorns  exact path" in out
    assert "auth0 (JWT)  deny" in out
    assert "✗ scope" in out
    assert "the route needs one of: list:unicorns" in out
    assert "· " not in out.split("✗ scope")[0]  # every check before the failed one passed
    # an HTTP API sends no x-amzn-ErrorType: none is shown
    assert "Decision   403 ACCESS_DENIED — the token has none of the scopes list:unicorns" in out
    assert 'Response   403 {"message":"Forbidden"}' in out


# -- Lambda authorizers ------------------------------------------------------------------------------


def test_lambda_token_deny_names_the_deciding_statement(stack: Stack) -> None:
    # seed 000: the Movies/Devices authorizer denies a token without read:Devices for the device
    movie_fan = token(stack, None, "GET /movie", "movies")
    found = explained(stack, "GET", "/devices/beta/device", *bearer(movie_fan))
    auth = found["authorizer"]
    assert auth["name"] == "auth0-devices"
    assert auth["type"] == "TOKEN"
    assert auth["outcome"] == "deny"
    assert auth["function"] == "auth0-custom-authorizer"
    assert auth["cache"]["state"] == "off"  # result_ttl 0
    assert checks(found) == {"identity": "pass", "cache": "pass", "function": "pass", "policy": "fail"}
    policy = auth["policy"]
    arn = found["route"]["methodArn"]
    assert arn.endswith("/beta/GET/device")
    assert policy["decision"] == "explicit-deny"
    assert policy["statement"] == 0
    assert policy["methodArn"] == arn
    assert policy["statements"] == [
        {
            "index": 0,
            "effect": "Deny",
            "Action": "execute-api:Invoke",
            "Resource": arn,
            "actionMatches": True,
            "resourceMatches": True,
            "applies": True,
            "why": "applies: the Resource is the methodArn",
        }
    ]
    assert found["decision"]["responseType"] == "ACCESS_DENIED"
    body = '{"Message":"User is not authorized to access this resource with an explicit deny"}'
    assert found["response"]["body"] == body

    text = run(stack, "GET", "/devices/beta/device", *bearer(movie_fan)).output
    assert "✗ policy                       explicit deny: Statement[0] (Deny) covers the methodArn" in text
    assert f"→ [0] Deny  execute-api:Invoke  {arn}  applies: the Resource is the methodArn" in text


def test_cache_hit_shows_the_entry_and_the_method_arn_it_was_issued_for(
    stack_factory: Callable[..., Stack],
) -> None:
    stack = stack_factory(EXPLAIN_STACK)
    first = explained(stack, "GET", "/shop/prod/orders", "-H", "Authorization: alice")
    orders_arn = first["route"]["methodArn"]
    assert first["authorizer"]["cache"] == {
        "kind": "authorizer results",
        "state": "miss",
        "ttl": 300,
        "key": {"stage": "prod", "identity": "alice"},
        "ttlLeft": 300,
        "issuedFor": orders_arn,
        "note": "stored by this request",
    }
    assert first["response"]["status"] == 200

    again = explained(stack, "GET", "/orders", "--api", "shop", "-H", "Authorization: alice")
    cache = again["authorizer"]["cache"]
    assert cache["state"] == "hit"
    assert cache["issuedFor"] == orders_arn
    assert 0 < cache["ttlLeft"] <= 300
    assert checks(again) == {"identity": "pass", "cache": "pass", "function": "pass", "policy": "pass"}
    assert again["authorizer"]["warning"] is None

    # the pitfall: the same token on another route meets the policy cached for GET /orders
    other = explained(stack, "GET", "/shop/prod/invoices", "-H", "Authorization: alice")
    auth = other["authorizer"]
    assert auth["cache"]["state"] == "hit"
    assert auth["cache"]["issuedFor"] == orders_arn
    assert auth["policy"]["decision"] == "implicit-deny"
    assert auth["policy"]["statements"][0]["resourceMatches"] is False
    assert f"the cached policy was issued for {orders_arn}" in auth["warning"]
    assert other["response"]["body"] == '{"Message":"User is not authorized to access this resource"}'
    text = run(stack, "GET", "/shop/prod/invoices", "-H", "Authorization: alice").output
    assert "WARNING    authorizer 'per-method': the cached policy was issued for" in text
    assert f"issued for {orders_arn}" in text

    # an explicit Deny after an Allow for everything: the Deny decides
    denied = explained(stack, "GET", "/shop/prod/orders", "-H", "Authorization: deny-me")
    policy = denied["authorizer"]["policy"]
    assert (policy["decision"], policy["statement"]) == ("explicit-deny", 1)
    assert [s["applies"] for s in policy["statements"]] == [True, True]

    # a function that raises Unauthorized: 401, nothing cached
    raised = explained(stack, "GET", "/shop/prod/orders", "-H", "Authorization: raise")
    assert checks(raised)["function"] == "fail"
    assert raised["authorizer"]["cache"]["state"] == "miss"
    assert "issuedFor" not in raised["authorizer"]["cache"]
    assert raised["decision"]["status"] == 401

    # no identity: refused before the cache and the function
    missing = explained(stack, "GET", "/shop/prod/orders")
    assert checks(missing) == {"identity": "fail", "cache": "skipped", "function": "skipped"}
    assert missing["authorizer"]["identitySources"] == [
        {"expression": "method.request.header.Authorization", "value": None}
    ]

    # an open route with a path parameter, and no route at all
    item = explained(stack, "GET", "/shop/prod/items/42")
    assert item["authorizer"] is None
    assert item["route"]["matched"] == "path parameters itemId = '42'"
    nowhere = explained(stack, "GET", "/shop/prod/nowhere")
    assert nowhere["route"] is None
    assert nowhere["routeError"] == "no matching route"
    assert nowhere["decision"]["responseType"] == "MISSING_AUTHENTICATION_TOKEN"


# -- request ids ---------------------------------------------------------------------------------


def test_request_id_from_a_response_and_an_unknown_one(stack: Stack) -> None:
    response = httpx.get(f"{stack.gateway_url}/petstore/test/pets", timeout=15)
    assert response.status_code == 401
    request_id = response.headers["x-amzn-RequestId"]
    found = explained(stack, "--request-id", request_id)
    assert found["requestId"] == request_id
    assert found["authorizer"]["name"] == "jwt-rsa-custom-authorizer"
    assert checks(found)["identity"] == "fail"
    # REST's extended request id (x-amz-apigw-id) finds it too
    by_extended = explained(stack, "--request-id", response.headers["x-amz-apigw-id"])
    assert by_extended["requestId"] == request_id

    unknown = run(stack, "--request-id", "no-such-request")
    assert unknown.exit_code == 1
    assert "the stack keeps no request 'no-such-request'" in unknown.output
    admin = httpx.get(f"{stack.admin_url}/explain/no-such-request", timeout=5)
    assert admin.status_code == 404
    assert "no-such-request" in admin.json()["message"]


def test_no_running_stack_says_how_to_start_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["explain", "--data-dir", str(tmp_path), "GET", "/unicorns/unicorns"])
    assert result.exit_code == 2
    assert "no running stack" in result.output
    assert "./gatehold up" in result.output
    (tmp_path / "stack.json").write_text(
        json.dumps(
            {"idp_url": "http://localhost:1", "pid": _dead_pid(), "gateway_url": "x", "admin_url": "y"}
        )
    )
    stopped = CliRunner().invoke(cli, ["explain", "--data-dir", str(tmp_path), "GET", "/x"])
    assert stopped.exit_code == 2
    assert "stopped" in stopped.output


def _dead_pid() -> int:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid
