"""`gatehold up --test-clock`: one clock for the identity provider, the gateway and the functions,
moved through the admin port (gatehold.testing.clock.StackClock), over real HTTP.

Advancing it expires a token at the gateway (the HTTP API JWT authorizer's 401 and
www-authenticate, docs/authorizers.md "Responses"), a Lambda authorizer's cached result (the
function is invoked again: it counts its invocations in a file), and a refresh token (idle and
absolute lifetimes: `invalid_grant`); a throttle bucket refills and a daily quota starts again only
as the clock moves; events and handlers see the stack's time. Without the flag the
/clock endpoints answer 404 naming it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from gatehold.testing.clock import StackClock, TestClockOff
from tests.oauth_flow import client_credentials, login
from tests.stackctl import Stack, new_stack

AUDIENCE = "https://clock-api"
TOKEN_LIFETIME = 600
AUTHORIZER_TTL = 300
REFRESH_IDLE = 3600
REFRESH_ABSOLUTE = 7200
M2M = ("clock-m2m", "clock-m2m-secret-0123456789abcdef")
SPA_CALLBACK = "http://localhost:5999/callback"
USER = ("user@example.com", "Clock-test-pass-1")
THROTTLED_KEY = "throttled-key-0123456789abcdef"
QUOTA_KEY = "quota-key-0123456789abcdef0123"

ECHO = """\
import json
import time
from datetime import datetime, timezone


def handler(event, context):
    body = {
        "timeEpoch": event["requestContext"]["timeEpoch"],
        "time": time.time(),
        "now": datetime.now(tz=timezone.utc).timestamp(),
        "remaining": context.get_remaining_time_in_millis(),
    }
    return {"statusCode": 200, "body": json.dumps(body)}
"""

ECHO_NODE = """\
exports.handler = async (event, context) => ({
  statusCode: 200,
  body: JSON.stringify({
    timeEpoch: event.requestContext.timeEpoch,
    time: Date.now() / 1000,
    now: new Date().getTime() / 1000,
    remaining: context.getRemainingTimeInMillis(),
  }),
});
"""

NODE_FUNCTION = """\
  echo-node:
    runtime: nodejs20.x
    handler: index.handler
    code_path: fn-node
"""

NODE_ROUTE = """\
      GET /node:
        integration: {type: lambda, function: echo-node, payload_format_version: "2.0"}
        authorizer: auth0
"""

GATE = """\
import os


def handler(event, context):
    with open(os.environ["COUNTER"], "a") as counter:
        counter.write("invoked\\n")
    return {"isAuthorized": True, "context": {"key": event["headers"].get("x-key", "")}}
"""

CONFIG = """\
functions:
  echo:
    handler: echo.handler
    code_path: fn
  gate:
    handler: gate.handler
    code_path: fn
    environment: {{COUNTER: "{counter}"}}
{node_function}apis:
  clocked:
    type: HTTP
    authorizers:
      auth0:
        type: JWT
        identity_source: $request.header.Authorization
        jwt_configuration:
          issuer: ${{idp_url}}/
          audience: [https://clock-api]
      gate:
        type: REQUEST
        function: gate
        identity_source: $request.header.X-Key
        result_ttl: {ttl}
        payload_format_version: "2.0"
        enable_simple_responses: true
    routes:
      GET /jwt:
        integration: {{type: lambda, function: echo, payload_format_version: "2.0"}}
        authorizer: auth0
      GET /gated:
        integration: {{type: lambda, function: echo, payload_format_version: "2.0"}}
        authorizer: gate
{node_route}  metered:
    type: REST
    stages:
      prod: {{}}
    routes:
      GET /throttled:
        integration: {{type: mock, status_code: 200, body: '{{"ok": true}}'}}
        api_key_required: true
      GET /quota:
        integration: {{type: mock, status_code: 200, body: '{{"ok": true}}'}}
        api_key_required: true
gateway:
  usage_plans:
    throttled:
      api_stages: [metered/prod]
      api_keys: [{throttled_key}]
      throttling: {{rate_limit: 1, burst_limit: 1}}
    quota:
      api_stages: [metered/prod]
      api_keys: [{quota_key}]
      quota: {{limit: 2, period: DAY}}
tenant:
  apis:
    - identifier: https://clock-api
      name: Clock API
      token_lifetime: {lifetime}
      token_lifetime_for_web: {lifetime}
      allow_offline_access: true
  connections:
    - {{name: Username-Password-Authentication, strategy: auth0}}
  users:
    - {{email: "{user}", password: "{password}"}}
  applications:
    clock-spa:
      app_type: spa
      callbacks: ["{callback}"]
      grant_types: [authorization_code, refresh_token]
      refresh_token:
        rotation_type: rotating
        expiration_type: expiring
        token_lifetime: {absolute}
        idle_token_lifetime: {idle}
        leeway: 0
    {m2m}:
      app_type: non_interactive
      client_secret: "{secret}"
      grant_types: [client_credentials]
  client_grants:
    - {{client_id: {m2m}, audience: https://clock-api, scope: []}}
"""


def write_project(root: Path) -> Path:
    (root / "fn").mkdir(parents=True, exist_ok=True)
    (root / "fn" / "echo.py").write_text(ECHO)
    (root / "fn" / "gate.py").write_text(GATE)
    (root / "fn-node").mkdir(exist_ok=True)
    (root / "fn-node" / "index.js").write_text(ECHO_NODE)
    node = shutil.which("node") is not None
    config = root / "gatehold.yaml"
    config.write_text(
        CONFIG.format(
            counter=root / "gate.count",
            ttl=AUTHORIZER_TTL,
            lifetime=TOKEN_LIFETIME,
            user=USER[0],
            password=USER[1],
            callback=SPA_CALLBACK,
            absolute=REFRESH_ABSOLUTE,
            idle=REFRESH_IDLE,
            m2m=M2M[0],
            secret=M2M[1],
            node_function=NODE_FUNCTION if node else "",
            node_route=NODE_ROUTE if node else "",
            throttled_key=THROTTLED_KEY,
            quota_key=QUOTA_KEY,
        )
    )
    return config


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(tmp_path_factory.mktemp("clock-project"))


@pytest.fixture(scope="module")
def clocked(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = new_stack(tmp_path_factory.mktemp("clock-stack"), project, ["--test-clock"]).start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def clock(clocked: Stack) -> Iterator[StackClock]:
    with StackClock(clocked.admin_url) as c:
        c.freeze()
        yield c
        c.resume()


def m2m_token(stack: Stack) -> str:
    return client_credentials(stack.idp_url, M2M[0], M2M[1], AUDIENCE)


def get(stack: Stack, path: str, **headers: str) -> httpx.Response:
    return httpx.get(f"{stack.gateway_url}/clocked{path}", headers=headers, timeout=15)


# --------------------------------------------------------------------------------------------------
# the admin endpoints
# --------------------------------------------------------------------------------------------------


def test_the_clock_endpoints_freeze_advance_and_resume(clocked: Stack) -> None:
    admin = clocked.admin_url
    frozen = httpx.post(f"{admin}/clock/freeze", json={"at": 2_000_000_000}).json()
    assert frozen["now"] == 2_000_000_000
    assert frozen["frozen"] is True
    assert httpx.get(f"{admin}/clock").json()["now"] == 2_000_000_000
    advanced = httpx.post(f"{admin}/clock/advance", json={"seconds": 90.5}).json()
    assert advanced["now"] == 2_000_000_090.5
    resumed = httpx.post(f"{admin}/clock/resume").json()
    assert resumed["frozen"] is False
    assert resumed["now"] >= 2_000_000_090.5


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/clock/advance", {"seconds": 0}, "'seconds' must be a number greater than 0"),
        ("/clock/advance", {"seconds": -5}, "'seconds' must be a number greater than 0"),
        ("/clock/advance", {"seconds": "60"}, "'seconds' must be a number greater than 0"),
        ("/clock/advance", {}, "'seconds' must be a number greater than 0"),
        ("/clock/advance", [60], "The body must be a JSON object."),
        ("/clock/freeze", {"at": "tomorrow"}, "'at' must be a number of seconds since the epoch"),
    ],
    ids=["zero", "negative", "string", "missing", "array", "freeze-at-string"],
)
def test_the_clock_endpoints_validate_their_body(clocked: Stack, path: str, body: Any, message: str) -> None:
    before = httpx.get(f"{clocked.admin_url}/clock").json()
    response = httpx.post(clocked.admin_url + path, json=body)
    assert response.status_code == 400
    assert response.json()["message"].startswith(message)
    after = httpx.get(f"{clocked.admin_url}/clock").json()
    assert after["frozen"] == before["frozen"]
    assert after["offset"] == pytest.approx(before["offset"], abs=1.0)  # not moved


def test_the_clock_endpoints_refuse_other_methods_and_paths(clocked: Stack) -> None:
    assert httpx.get(f"{clocked.admin_url}/clock/advance").status_code == 405
    assert httpx.post(f"{clocked.admin_url}/clock").status_code == 405
    assert httpx.post(f"{clocked.admin_url}/clock/rewind", json={"seconds": 1}).status_code == 404


def test_without_the_flag_the_clock_endpoints_name_it(stack_factory: Any, project: Path) -> None:
    plain: Stack = stack_factory(project)
    for method, path in [("GET", "/clock"), ("POST", "/clock/advance"), ("POST", "/clock/freeze")]:
        response = httpx.request(method, plain.admin_url + path, json={"seconds": 60})
        assert response.status_code == 404
        assert "gatehold up --test-clock" in response.json()["message"]
    with pytest.raises(TestClockOff, match="--test-clock"):
        StackClock(plain.admin_url).advance(60)
    assert not (plain.data_dir / "clock").exists()


# --------------------------------------------------------------------------------------------------
# what follows the clock
# --------------------------------------------------------------------------------------------------


def test_advancing_the_clock_expires_a_token_at_the_gateway(clocked: Stack, clock: StackClock) -> None:
    token = m2m_token(clocked)
    assert get(clocked, "/jwt", Authorization=f"Bearer {token}").status_code == 200
    clock.advance(TOKEN_LIFETIME - 1)
    assert get(clocked, "/jwt", Authorization=f"Bearer {token}").status_code == 200
    clock.advance(1)
    refused = get(clocked, "/jwt", Authorization=f"Bearer {token}")
    assert refused.status_code == 401
    assert refused.json() == {"message": "Unauthorized"}
    assert refused.headers["www-authenticate"] == (
        'Bearer scope="" error="invalid_token" error_description="the token has expired"'
    )


def test_the_identity_provider_mints_in_the_stack_time(clocked: Stack, clock: StackClock) -> None:
    import jwt

    reading = clock.freeze(at=1_900_000_000)
    claims = jwt.decode(m2m_token(clocked), options={"verify_signature": False})
    assert claims["iat"] == int(reading.now)
    assert claims["exp"] == int(reading.now) + TOKEN_LIFETIME


def test_advancing_the_clock_expires_an_authorizer_cache_entry(
    clocked: Stack, project: Path, clock: StackClock
) -> None:
    counter = project.parent / "gate.count"

    def invocations() -> int:
        return len(counter.read_text().splitlines()) if counter.exists() else 0

    before = invocations()
    assert get(clocked, "/gated", **{"X-Key": "cache-me"}).status_code == 200
    assert invocations() == before + 1
    clock.advance(AUTHORIZER_TTL - 1)
    assert get(clocked, "/gated", **{"X-Key": "cache-me"}).status_code == 200
    assert invocations() == before + 1  # a cache hit
    clock.advance(1)
    assert get(clocked, "/gated", **{"X-Key": "cache-me"}).status_code == 200
    assert invocations() == before + 2  # the entry expired: the function ran again


def user_login(stack: Stack) -> dict[str, Any]:
    return login(
        stack.idp_url,
        client_id="clock-spa",
        redirect_uri=SPA_CALLBACK,
        username=USER[0],
        password=USER[1],
        audience=AUDIENCE,
        scope="openid offline_access",
    )


def refresh(stack: Stack, token: str) -> httpx.Response:
    return httpx.post(
        f"{stack.idp_url}/oauth/token",
        data={"grant_type": "refresh_token", "client_id": "clock-spa", "refresh_token": token},
        timeout=10,
    )


def test_a_refresh_token_unused_for_its_idle_lifetime_is_refused(clocked: Stack, clock: StackClock) -> None:
    token = user_login(clocked)["refresh_token"]
    clock.advance(REFRESH_IDLE)
    refused = refresh(clocked, token)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"


def test_a_refresh_token_past_its_absolute_lifetime_is_refused(clocked: Stack, clock: StackClock) -> None:
    token = user_login(clocked)["refresh_token"]
    for _ in range(3):  # used within its idle lifetime each time: 3 x 2,000 s
        clock.advance(2000)
        answered = refresh(clocked, token)
        assert answered.status_code == 200, answered.text
        token = answered.json()["refresh_token"]
    clock.advance(REFRESH_ABSOLUTE - 3 * 2000)
    refused = refresh(clocked, token)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("runtime", ["python", "nodejs"])
def test_events_and_handlers_see_the_stack_time(clocked: Stack, clock: StackClock, runtime: str) -> None:
    if runtime == "nodejs" and shutil.which("node") is None:
        pytest.skip("node is needed for a Node.js function")
    at = clock.freeze(at=1_950_000_000.25).now
    token = m2m_token(clocked)
    answer = get(clocked, "/jwt" if runtime == "python" else "/node", Authorization=f"Bearer {token}")
    assert answer.status_code == 200, answer.text
    seen = answer.json()
    assert seen["timeEpoch"] == int(at * 1000)
    assert seen["time"] == pytest.approx(at, abs=0.001)  # Node.js: milliseconds
    assert seen["now"] == pytest.approx(at, abs=0.001)
    assert seen["remaining"] > 0
    clock.advance(60)
    later = get(clocked, "/jwt" if runtime == "python" else "/node", Authorization=f"Bearer {token}").json()
    assert later["time"] == pytest.approx(at + 60, abs=0.001)


def metered(stack: Stack, path: str, key: str) -> tuple[int, Any]:
    answer = httpx.get(f"{stack.gateway_url}/metered/prod{path}", headers={"x-api-key": key}, timeout=15)
    return answer.status_code, answer.json()


def test_a_frozen_clock_holds_a_throttle_bucket_empty_until_advanced(
    clocked: Stack, clock: StackClock
) -> None:
    metered(clocked, "/throttled", THROTTLED_KEY)  # whatever the bucket held: it is empty now
    assert metered(clocked, "/throttled", THROTTLED_KEY) == (429, {"message": "Too Many Requests"})
    assert metered(clocked, "/throttled", THROTTLED_KEY) == (429, {"message": "Too Many Requests"})
    clock.advance(1)  # one token, at 1 request a second
    assert metered(clocked, "/throttled", THROTTLED_KEY) == (200, {"ok": True})


def test_a_daily_quota_starts_again_when_the_clock_reaches_the_next_day(
    clocked: Stack, clock: StackClock
) -> None:
    noon = datetime(2033, 3, 4, 12, tzinfo=UTC).timestamp()  # later than the instants other tests set
    clock.freeze(at=noon)
    assert metered(clocked, "/quota", QUOTA_KEY)[0] == 200
    assert metered(clocked, "/quota", QUOTA_KEY)[0] == 200
    assert metered(clocked, "/quota", QUOTA_KEY) == (429, {"message": "Limit Exceeded"})
    clock.advance(12 * 3600 - 1)  # 23:59:59, the same day
    assert metered(clocked, "/quota", QUOTA_KEY) == (429, {"message": "Limit Exceeded"})
    clock.advance(1)  # midnight UTC: a new period
    assert metered(clocked, "/quota", QUOTA_KEY)[0] == 200
