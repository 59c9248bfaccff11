"""Redis for what several gateway processes and replicas must agree on (gatehold up --redis-url;
gatehold.redis_state, gatehold.gateway.redis_stores), over real stacks and a real Redis.

Two stacks, A and B, share one Redis and one key prefix (``gatehold:test-<random>:``, so that runs
never meet) and act as two replicas: B's ``--public-url`` is A's identity provider, so both gateways
trust A's issuer. Each check below would fail with state kept per process: a throttle bucket and a
quota that hold across both gateways, an authorizer result cached by A and served at B without
invoking the function again, a key rotation announced by ``gatehold keys rotate`` reaching B's
gateway (``jwks_refetch: ttl-only`` with an hour's TTL: without the announcement B would not fetch).

Degradation runs against a ``redis-server`` of its own (a free port, no persistence), stopped and
started again while the stack serves.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from tests.oauth_flow import client_credentials
from tests.stackctl import Stack, free_port, new_stack

pytestmark = pytest.mark.redis

HANDLERS = Path(__file__).parent / "handlers"
REDIS_URL = "redis://127.0.0.1:6379/0"
API_KEY = "redis-test-key-0123456789abcdef"
M2M = ("redis-m2m", "redis-m2m-secret-0123456789abcdef")

CONFIG = f"""\
gateway:
  jwks_cache_ttl: 3600
  jwks_refetch: ttl-only
  usage_plans:
    basic:
      api_stages: [shop/prod]
      api_keys: [{API_KEY}]
      quota: {{limit: 3, period: DAY}}
functions:
  authz: {{handler: gw_redis_authorizer.handler, code_path: {HANDLERS}}}
  echo: {{handler: gw_echo.handler, code_path: {HANDLERS}}}
apis:
  shop:
    type: REST
    base_path: /shop
    stages:
      prod:
        route_throttling:
          GET /limited: {{rate_limit: 0, burst_limit: 5}}
    authorizers:
      lam: {{type: TOKEN, function: authz, result_ttl: 300}}
    routes:
      GET /open: {{integration: {{type: mock, body: open}}}}
      GET /limited: {{integration: {{type: mock, body: limited}}}}
      GET /keyed: {{api_key_required: true, integration: {{type: mock, body: keyed}}}}
      GET /guarded: {{authorizer: lam, integration: {{type: lambda, function: echo}}}}
  orders:
    type: HTTP
    base_path: /orders
    authorizers:
      auth0:
        type: JWT
        identity_source: $request.header.Authorization
        jwt_configuration:
          issuer: ${{issuer}}
          audience: [https://orders-api]
    routes:
      GET /jwt:
        integration: {{type: mock, status_code: 200, body: '{{"ok": true}}'}}
        authorizer: auth0
tenant:
  apis:
    - {{identifier: https://orders-api, name: Orders}}
  applications:
    {M2M[0]}:
      app_type: non_interactive
      client_secret: "{M2M[1]}"
      grant_types: [client_credentials]
  client_grants:
    - {{client_id: {M2M[0]}, audience: https://orders-api, scope: []}}
"""


def _redis_problem(url: str = REDIS_URL) -> str | None:
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:  # any failure means: skip, saying why
        return f"Redis at {url} is unreachable: {exc}"
    return None


@pytest.fixture(scope="module")
def prefix() -> Iterator[str]:
    problem = _redis_problem()
    if problem:
        pytest.skip(problem)
    found = f"gatehold:test-{uuid.uuid4().hex}:"
    yield found
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=found + "*"))
    if keys:
        client.delete(*keys)


def _start(root: Path, redis_url: str, prefix: str, public_url: str | None = None) -> Stack:
    root.mkdir(parents=True, exist_ok=True)
    config = root / "gatehold.yaml"
    config.write_text(CONFIG)
    stack = new_stack(
        root / "data", config, ["--no-reload", "--redis-url", redis_url, "--redis-prefix", prefix]
    )
    stack.public_url = public_url
    return stack.start()


@pytest.fixture(scope="module")
def replicas(prefix: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Stack]]:
    """Stacks A and B on one Redis and prefix; B's issuer is A's identity provider."""
    a = _start(tmp_path_factory.mktemp("a"), REDIS_URL, prefix)
    try:
        b = _start(tmp_path_factory.mktemp("b"), REDIS_URL, prefix, public_url=a.idp_url)
    except BaseException:
        a.stop()
        raise
    try:
        yield a, b
    finally:
        b.stop()
        a.stop()


def _statuses(stack: Stack, path: str, n: int, headers: dict[str, str] | None = None) -> list[int]:
    with httpx.Client(base_url=stack.gateway_url, timeout=10) as http:
        return [http.get(path, headers=headers).status_code for _ in range(n)]


def _eventually(check: Callable[[], bool], timeout: float = 3.0) -> bool:
    """Whether ``check`` holds within ``timeout`` seconds (rotation is announced, not instant)."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def _metric(stack: Stack, name: str, labels: str) -> float | None:
    text = httpx.get(f"{stack.admin_url}/metrics", timeout=10).text
    found = re.search(rf"^{re.escape(name)}\{{{re.escape(labels)}\}} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else None


# --------------------------------------------------------------------------------------------------
# two stacks sharing one Redis
# --------------------------------------------------------------------------------------------------


def test_a_route_throttle_bucket_holds_across_two_gateways(replicas: tuple[Stack, Stack]) -> None:
    a, b = replicas  # burst 5, no refill: five tokens for both gateways together
    assert _statuses(a, "/shop/prod/limited", 3) == [200, 200, 200]
    assert _statuses(b, "/shop/prod/limited", 3) == [200, 200, 429]
    assert _statuses(a, "/shop/prod/limited", 1) == [429]


def test_a_usage_plan_quota_holds_across_two_gateways(replicas: tuple[Stack, Stack]) -> None:
    a, b = replicas  # 3 requests a day for the key, counted wherever they arrive
    key = {"x-api-key": API_KEY}
    assert _statuses(a, "/shop/prod/keyed", 2, key) == [200, 200]
    with httpx.Client(base_url=b.gateway_url, timeout=10) as http:
        assert http.get("/shop/prod/keyed", headers=key).status_code == 200
        refused = http.get("/shop/prod/keyed", headers=key)
    assert (refused.status_code, refused.content) == (429, b'{"message":"Limit Exceeded"}')


def test_an_authorizer_result_cached_at_one_gateway_is_served_at_the_other(
    replicas: tuple[Stack, Stack],
) -> None:
    a, b = replicas
    token = {"Authorization": f"allow-{uuid.uuid4().hex}"}

    def invocation(stack: Stack) -> str:
        answer = httpx.get(f"{stack.gateway_url}/shop/prod/guarded", headers=token, timeout=15)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["requestContext"]["authorizer"]["invocation"])

    first = invocation(a)
    assert invocation(b) == first  # B did not invoke the function: A's cached result
    assert invocation(a) == first
    other = {"Authorization": f"allow-{uuid.uuid4().hex}"}  # another identity: invoked again
    fresh = httpx.get(f"{b.gateway_url}/shop/prod/guarded", headers=other, timeout=15)
    assert fresh.json()["requestContext"]["authorizer"]["invocation"] != first


def _rotate(stack: Stack) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "gatehold", "keys", "rotate", "--data-dir", str(stack.data_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "announced on Redis redis://127.0.0.1:6379/0" in done.stdout, done.stdout
    found = re.search(r"signing with (\S+);", done.stdout)
    assert found is not None, done.stdout
    return found.group(1)


def test_a_key_rotation_reaches_the_other_gateway_within_a_second(replicas: tuple[Stack, Stack]) -> None:
    a, b = replicas

    def mint() -> str:
        return client_credentials(a.idp_url, M2M[0], M2M[1], "https://orders-api")

    def status_at_b(token: str) -> int:
        answer = httpx.get(f"{b.gateway_url}/orders/jwt", headers={"Authorization": f"Bearer {token}"})
        return answer.status_code

    old = mint()
    assert status_at_b(old) == 200  # B's gateway holds A's key set from now on (TTL: an hour)
    signer = _rotate(a)
    # A's identity provider reloads its keys on the announcement, B's gateway fetches the key set
    new: list[str] = []
    assert _eventually(lambda: jwt.get_unverified_header(t := mint())["kid"] == signer and not new.append(t))
    assert _eventually(lambda: status_at_b(new[0]) == 200)
    # the second rotation drops the key that signed `old`: B's verified-token cache goes with it
    _rotate(a)
    assert _eventually(lambda: status_at_b(old) == 401)


def test_readyz_and_metrics_say_redis_is_up(replicas: tuple[Stack, Stack]) -> None:
    a, _ = replicas
    ready = httpx.get(f"{a.admin_url}/readyz", timeout=10)
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "redis": {"status": "up", "url": REDIS_URL}}
    assert _metric(a, "gatehold_redis_up", 'process="gateway-1"') == 1.0
    assert _metric(a, "gatehold_redis_up", 'process="supervisor"') == 1.0


# --------------------------------------------------------------------------------------------------
# Redis stopped and started again
# --------------------------------------------------------------------------------------------------


class RedisServer:
    """A ``redis-server`` of the test's own, on a free port, without persistence."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert _eventually(lambda: _redis_problem(self.url) is None, timeout=10), "redis-server did not start"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)
        self.proc = None


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_redis_stopped_the_gateway_serves_on_local_state_and_resyncs_when_it_is_back(
    own_redis: RedisServer, tmp_path: Path
) -> None:
    stack = _start(tmp_path / "c", own_redis.url, "gatehold:")
    try:
        assert _statuses(stack, "/shop/prod/limited", 2) == [200, 200]
        own_redis.stop()
        # still serving: open routes answer, the throttle holds per process (a fresh local bucket)
        assert _statuses(stack, "/shop/prod/open", 3) == [200, 200, 200]
        assert _statuses(stack, "/shop/prod/limited", 6) == [200] * 5 + [429]
        ready = httpx.get(f"{stack.admin_url}/readyz", timeout=10)
        assert ready.status_code == 200  # degraded, not down
        body = ready.json()
        assert (body["status"], body["redis"]["status"]) == ("ready", "down")
        assert _eventually(lambda: _metric(stack, "gatehold_redis_up", 'process="gateway-1"') == 0.0)
        fallbacks = _metric(stack, "gatehold_redis_fallbacks_total", 'what="throttle"')
        assert fallbacks is not None
        assert fallbacks >= 6

        own_redis.start()  # an empty Redis on the same port
        assert _eventually(lambda: _metric(stack, "gatehold_redis_up", 'process="gateway-1"') == 1.0, 10)
        assert httpx.get(f"{stack.admin_url}/readyz", timeout=10).json()["redis"]["status"] == "up"
        assert "is back" in stack.output()
        # shared state again: the bucket is Redis's (empty Redis: full again)
        assert _statuses(stack, "/shop/prod/limited", 6) == [200] * 5 + [429]
        # subscribed again: an announced rotation is followed
        import redis

        issuer = stack.idp_url + "/"
        redis.Redis.from_url(own_redis.url).publish(
            "gatehold:keys", f'{{"issuer": "{issuer}", "kids": [], "current": "x"}}'
        )
        assert _eventually(lambda: f"key rotation of {issuer} followed" in stack.output())
        down_lines = [line for line in stack.output().splitlines() if "is unavailable" in line]
        gateway_down = [line for line in down_lines if "gateway-1" in line]
        assert len(gateway_down) == 1, down_lines  # once per transition, not per request
    finally:
        stack.stop()


# --------------------------------------------------------------------------------------------------
# the identity provider's login-attempt counters
# --------------------------------------------------------------------------------------------------


def test_login_attempt_counters_are_shared_and_fall_back_when_redis_is_unreachable(prefix: str) -> None:
    from gatehold.idp.attempts import RedisLoginAttempts
    from gatehold.redis_state import RedisSettings, SyncRedis

    settings = RedisSettings(REDIS_URL, prefix)
    one = RedisLoginAttempts(SyncRedis(settings, process="idp"), limit=3, window=60)
    two = RedisLoginAttempts(SyncRedis(settings, process="idp"), limit=3, window=60)
    key = one.key("Username-Password-Authentication", f"{uuid.uuid4().hex}@example.com", "127.0.0.1")
    one.failed(key, 0.0)
    two.failed(key, 0.0)
    assert not one.blocked(key, 0.0)
    one.failed(key, 0.0)
    assert two.blocked(key, 0.0)  # three failures, counted in two processes
    two.succeeded(key)
    assert not one.blocked(key, 0.0)

    closed = RedisSettings(f"redis://127.0.0.1:{free_port()}/0", prefix)
    local = RedisLoginAttempts(SyncRedis(closed, process="idp"), limit=2, window=60)
    local.failed(key, 0.0)
    local.failed(key, 0.0)
    assert local.blocked(key, 0.0)  # this process's own counters


# --------------------------------------------------------------------------------------------------
# the URL as the banner and stack.json show it
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://:s3cret@redis.internal:6379/2", "redis://redis.internal:6379/2"),
        ("rediss://app:s3cret@redis.internal:6380/0", "rediss://app@redis.internal:6380/0"),
        ("redis://app@redis.internal/1", "redis://app@redis.internal/1"),
    ],
    ids=["no-password", "password-only", "user-and-password", "user-only"],
)
def test_the_url_is_shown_without_its_password(url: str, shown: str) -> None:
    from gatehold.redis_state import redact

    assert redact(url) == shown


def test_the_banner_and_stack_json_name_redis_and_the_prefix(
    replicas: tuple[Stack, Stack], prefix: str
) -> None:
    from gatehold.stack_state import read_stack_state

    a, _ = replicas
    assert f"Redis              {REDIS_URL}   (key prefix {prefix})" in a.output()
    state = read_stack_state(a.data_dir)
    assert state is not None
    assert (state.redis_url, state.redis_prefix) == (REDIS_URL, prefix)


def test_a_url_that_is_not_redis_is_refused_before_anything_starts(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gatehold", "up", "--data-dir", str(tmp_path), "--redis-url", "http://x:1/"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "is not a redis://, rediss:// or unix:// URL" in done.stdout + done.stderr


# --------------------------------------------------------------------------------------------------
# leases of a large bucket
# --------------------------------------------------------------------------------------------------


async def test_a_large_bucket_is_leased_and_never_admits_more_than_its_burst(prefix: str) -> None:
    from gatehold.config.models import ThrottleConfig
    from gatehold.gateway.redis_stores import RedisBuckets
    from gatehold.gateway.throttle import Bucket
    from gatehold.redis_state import RedisSettings, RedisState

    settings = RedisSettings(REDIS_URL, prefix)
    one, two = RedisState(settings, process="one"), RedisState(settings, process="two")
    await one.start()
    await two.start()
    try:
        bucket = Bucket(f"lease-{uuid.uuid4().hex}", ThrottleConfig(rate_limit=0, burst_limit=1000), "route")
        first, second = RedisBuckets(one), RedisBuckets(two)
        assert await first.take((bucket,), 0.0) is None
        # one script took a lease of a twentieth of the burst: 950 left in Redis, 49 in the process
        assert first.lease_size(bucket) == 50
        left = await one.client.hget(settings.key("throttle", bucket.key), "t")
        assert float(left) == 950.0
        admitted = 1
        while True:  # both processes, until neither is admitted any more
            answers = [await store.take((bucket,), 0.0) is None for store in (first, second, second)]
            admitted += sum(answers)
            if not any(answers):
                break
        assert admitted == 1000
    finally:
        await one.aclose()
        await two.aclose()


async def test_concurrent_requests_share_one_lease_and_none_is_refused_below_the_burst(prefix: str) -> None:
    """Requests in flight together that find no lease wait for the one this process is asking for,
    instead of each taking a lease of its own (the last answer dropped the others': 64 requests in
    flight took 64 leases from the bucket, and a bucket far from empty refused requests)."""
    import asyncio

    from gatehold.config.models import ThrottleConfig
    from gatehold.gateway.redis_stores import RedisBuckets
    from gatehold.gateway.throttle import Bucket
    from gatehold.redis_state import RedisSettings, RedisState

    settings = RedisSettings(REDIS_URL, prefix)
    state = RedisState(settings, process="one")
    await state.start()
    try:
        bucket = Bucket(f"lease-{uuid.uuid4().hex}", ThrottleConfig(rate_limit=0, burst_limit=1000), "route")
        store = RedisBuckets(state)
        for _ in range(5):  # 5 waves of 64 requests at once: 320 of a burst of 1000
            answers = await asyncio.gather(*(store.take((bucket,), 0.0) for _ in range(64)))
            assert answers == [None] * 64
        left = float(await state.client.hget(settings.key("throttle", bucket.key), "t"))
        # 320 admitted, in leases of 50: Redis gave what was spent and at most the lease in hand and
        # the one being topped up
        size = store.lease_size(bucket)
        assert 1000 - 320 - 2 * size <= left <= 1000 - 320
    finally:
        await state.aclose()


async def test_a_half_spent_lease_is_topped_up_in_the_background(prefix: str) -> None:
    """The next lease is asked for when half of one is spent, while requests go on spending the
    rest: a request then rarely waits for Redis."""
    import asyncio

    from gatehold.config.models import ThrottleConfig
    from gatehold.gateway.redis_stores import RedisBuckets
    from gatehold.gateway.throttle import Bucket
    from gatehold.redis_state import RedisSettings, RedisState

    settings = RedisSettings(REDIS_URL, prefix)
    state = RedisState(settings, process="one")
    await state.start()
    try:
        bucket = Bucket(f"lease-{uuid.uuid4().hex}", ThrottleConfig(rate_limit=0, burst_limit=1000), "route")
        store = RedisBuckets(state)
        key = settings.key("throttle", bucket.key)
        size = store.lease_size(bucket)  # 50
        # the first take leases 50 (49 left); until more than half is spent, Redis is not asked
        for _ in range(size - size // 2 - 1):
            assert await store.take((bucket,), 0.0) is None
        await asyncio.sleep(0.05)
        assert float(await state.client.hget(key, "t")) == 1000 - size
        assert await store.take((bucket,), 0.0) is None  # half spent: the next lease asked for
        for _ in range(100):
            if float(await state.client.hget(key, "t")) == 1000 - 2 * size:
                break
            await asyncio.sleep(0.01)
        assert float(await state.client.hget(key, "t")) == 1000 - 2 * size
    finally:
        await state.aclose()
