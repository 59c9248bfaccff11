"""The gateway's shared state in Redis (``gatehold up --redis-url``; :mod:`gatehold.redis_state`).

* :class:`RedisBuckets` — a :class:`~gatehold.gateway.throttle.BucketStore`: API Gateway's token
  bucket (``burst_limit`` tokens at most, refilled at ``rate_limit`` per second, one per request),
  all buckets of a request taken in one Lua script, so the check and the take are atomic across
  every gateway process and replica. A bucket is a hash ``{t: tokens, ts: when}``, expiring once
  it would be full again. Large buckets (the account's) are taken from in small leases, so that
  most requests do not wait for Redis at all (:class:`RedisBuckets`).
* :class:`RedisQuotas` — a :class:`~gatehold.gateway.usage_plans.QuotaStore`: a counter per key and
  quota period (``INCR``, refused past the limit, in one script), kept a day past the period's end.
* :class:`SharedAuthorizerCache` — the Lambda authorizer's result, by the same key as the
  in-process cache, for the authorizer's TTL. The in-process cache stays in front of it as a near
  cache: an entry copied from Redis keeps its original expiry (a result is never served past the
  TTL it was cached with, as on AWS), so a Redis lookup is paid only on a local miss.

Time: the stack's wall clock (:mod:`gatehold.clock`, so ``--test-clock`` still drives the windows),
shared by replicas on hosts whose clocks agree (NTP); a bucket never refills for time going
backwards (elapsed time is clamped at 0).

Every store falls back to its in-process twin while Redis is unavailable (:class:`RedisState`
decides; counted in ``gatehold_redis_fallbacks``): limits then hold per process, as without Redis.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import orjson

from gatehold import clock as shared_clock
from gatehold.gateway.authorizers import AuthorizerSet
from gatehold.gateway.authorizers.cache import LambdaAuthorizerResult
from gatehold.gateway.authorizers.lambda_ import LambdaAuthorizer
from gatehold.gateway.throttle import Bucket, InMemoryBuckets
from gatehold.gateway.usage_plans import InMemoryQuotas
from gatehold.redis_state import RedisState, is_redis_failure

log = logging.getLogger("gatehold.redis")

# KEYS: the buckets; ARGV[1]: now (s, wall clock); from ARGV[2], three per bucket: its rate, its
# burst and how many tokens the caller wants (1, or a lease: below). Returns {0, granted...} when
# every bucket gave at least one token (up to what was wanted), else {i}: bucket i is empty.
TAKE_SCRIPT = """
local now = tonumber(ARGV[1])
local levels = {}
local granted = {0}
for i, key in ipairs(KEYS) do
  local base = 3 * i - 1
  local rate = tonumber(ARGV[base])
  local burst = tonumber(ARGV[base + 1])
  local want = tonumber(ARGV[base + 2])
  local state = redis.call('HMGET', key, 't', 'ts')
  local tokens = burst
  if state[1] then
    local elapsed = math.max(0, now - tonumber(state[2]))
    tokens = math.min(burst, tonumber(state[1]) + elapsed * rate)
  end
  if tokens < 1 then
    return {i}
  end
  local got = math.min(want, math.floor(tokens))
  levels[i] = tokens - got
  granted[i + 1] = got
end
for i, key in ipairs(KEYS) do
  local base = 3 * i - 1
  local rate = tonumber(ARGV[base])
  local burst = tonumber(ARGV[base + 1])
  redis.call('HSET', key, 't', string.format('%.6f', levels[i]), 'ts', ARGV[1])
  local full_in = 86400
  if rate > 0 then
    full_in = (burst - levels[i]) / rate
  end
  redis.call('PEXPIRE', key, math.ceil(full_in * 1000) + 1000)
end
return granted
"""

#: buckets at least this large are taken from in leases (:class:`RedisBuckets`)
LEASE_MIN_BURST = 1000
#: a lease is this part of the bucket's burst
LEASE_FRACTION = 20
#: tokens of a lease not used within this many seconds are given up (never returned: see below)
LEASE_LIFETIME_S = 1.0

# KEYS[1]: the counter; ARGV[1]: the limit; ARGV[2]: its lifetime (ms). 1 counted, 0 full.
CONSUME_SCRIPT = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= tonumber(ARGV[1]) then
  return 0
end
redis.call('INCR', KEYS[1])
if count == 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
"""

#: a quota counter is kept this long past its period's end (the key names the period: harmless)
QUOTA_MARGIN_S = 86400


class RedisBuckets:
    """Token buckets shared through Redis (module docstring); ``local`` while Redis is down.

    A large bucket (``burst_limit`` ≥ :data:`LEASE_MIN_BURST`: the account's 5,000 by default) is
    taken from in leases of a twentieth of its burst (250 tokens for the account's): the process
    takes up to that many tokens in one script and spends them on its next requests, for at most
    :data:`LEASE_LIFETIME_S`, without asking Redis; when half of a lease is spent, the next one is
    asked for in the background (:meth:`_top_up`), and a request finds a lease empty only when a
    burst outruns it; then it waits for the one lease request this process has in flight for that
    bucket rather than asking for its own. Leased tokens are taken from the shared bucket, so the
    limit is never exceeded; the tokens a process leaves unused are lost (at most a lease and a half
    per process per second: the bucket admits slightly fewer requests, never more). Small buckets
    are taken from one token at a time. A twentieth, not less: with 64 requests in flight a lease of
    50 ran out within one turn of the event loop, and the waits cost the JWT route 14 % more CPU
    per request (bench/replicas.py, ``--account-throttle aws-default``); with 250, 0.4 %.
    """

    def __init__(self, redis: RedisState, *, wall_clock: Callable[[], float] | None = None) -> None:
        self.redis = redis
        self.local = InMemoryBuckets()
        self.wall_clock = wall_clock if wall_clock is not None else shared_clock.wall
        self._script = redis.client.register_script(TAKE_SCRIPT)
        #: bucket key → (tokens left in this process's lease, when the lease ends)
        self._leases: dict[str, tuple[int, float]] = {}
        #: bucket key → the lease this process is asking Redis for: one at a time per bucket, the
        #: requests that find no lease meanwhile wait for it (else each would take a lease of its
        #: own, and the last answer would drop the others': tokens taken from the bucket, unused)
        self._renewing: dict[str, asyncio.Future[None]] = {}
        #: the lease top-ups under way (held, so that they are not collected mid-flight)
        self._background: set[asyncio.Task[None]] = set()

    @staticmethod
    def lease_size(bucket: Bucket) -> int:
        burst = bucket.limit.burst_limit
        return burst // LEASE_FRACTION if burst >= LEASE_MIN_BURST else 1

    def _leased(self, bucket: Bucket, now: float) -> bool:
        lease = self._leases.get(bucket.key)
        return lease is not None and lease[0] >= 1 and now < lease[1]

    def _spend(self, buckets: Sequence[Bucket], tokens: int) -> None:
        for bucket in buckets:
            lease = self._leases.get(bucket.key)
            if lease is not None:
                self._leases[bucket.key] = (lease[0] + tokens, lease[1])

    async def take(self, buckets: Sequence[Bucket], now: float) -> Bucket | None:
        if not self.redis.up:
            self.redis.fell_back("throttle")
            return await self.local.take(buckets, now)
        while True:
            asked = [b for b in buckets if not self._leased(b, now)]
            if not asked:  # every bucket's lease pays for this request: no Redis at all
                self._spend(buckets, -1)
                self._top_up(buckets, now)
                return None
            renewing = [self._renewing[b.key] for b in asked if b.key in self._renewing]
            if not renewing:
                break
            # another request of this process is asking for that lease: wait for it, then look again
            for renewal in renewing:  # each awaited as it is (asyncio.wait costs ~10 µs a caller)
                await renewal
        paid = [b for b in buckets if b not in asked]
        self._spend(paid, -1)  # before waiting for Redis: another request may spend them meanwhile
        leasing = [b.key for b in asked if self.lease_size(b) > 1]
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for key in leasing:
            self._renewing[key] = done
        try:
            return await self._ask(buckets, asked, paid, now)
        finally:
            for key in leasing:
                self._renewing.pop(key, None)
            done.set_result(None)

    def _top_up(self, buckets: Sequence[Bucket], now: float) -> None:
        """Ask for the next lease of each bucket whose lease is half spent, in the background: the
        requests go on spending what is left meanwhile, and rarely find a lease empty and wait."""
        for bucket in buckets:
            lease = self._leases.get(bucket.key)
            size = self.lease_size(bucket)
            if lease is None or size <= 1 or lease[0] > size // 2 or bucket.key in self._renewing:
                continue
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._renewing[bucket.key] = done
            task = asyncio.create_task(self._renew(bucket, size, now, done))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _renew(self, bucket: Bucket, size: int, now: float, done: asyncio.Future[None]) -> None:
        try:
            args: list[Any] = [
                repr(self.wall_clock()),
                bucket.limit.rate_limit,
                bucket.limit.burst_limit,
                size,
            ]
            answer = await self._script(keys=[self.redis.settings.key("throttle", bucket.key)], args=args)
            if not int(answer[0]):  # else the bucket is empty: what is left of the lease is all there is
                lease = self._leases.get(bucket.key)
                left = lease[0] if lease is not None and now < lease[1] else 0
                self._leases[bucket.key] = (max(left, 0) + int(answer[1]), now + LEASE_LIFETIME_S)
        except Exception as exc:
            if not is_redis_failure(exc):
                log.exception("throttle: renewing a lease of %s failed", bucket.key)
            else:
                self.redis.failed("throttle", exc)
        finally:
            self._renewing.pop(bucket.key, None)
            done.set_result(None)

    async def _ask(
        self, buckets: Sequence[Bucket], asked: list[Bucket], paid: list[Bucket], now: float
    ) -> Bucket | None:
        """One script for the buckets this process holds no lease of (``asked``)."""
        args: list[Any] = [repr(self.wall_clock())]
        for bucket in asked:
            args += [bucket.limit.rate_limit, bucket.limit.burst_limit, self.lease_size(bucket)]
        keys = [self.redis.settings.key("throttle", b.key) for b in asked]
        try:
            answer = await self._script(keys=keys, args=args)
        except Exception as exc:
            self._spend(paid, +1)
            if not is_redis_failure(exc):
                raise
            self.redis.failed("throttle", exc)
            return await self.local.take(buckets, now)
        if int(answer[0]):
            self._spend(paid, +1)  # all or nothing: the leased tokens go back
            return asked[int(answer[0]) - 1]
        for bucket, granted in zip(asked, answer[1:], strict=True):
            if int(granted) > 1:  # one token for this request, the rest leased
                self._leases[bucket.key] = (int(granted) - 1, now + LEASE_LIFETIME_S)
            else:
                self._leases.pop(bucket.key, None)
        return None


class RedisQuotas:
    """Usage-plan quota counters shared through Redis; ``local`` while Redis is down."""

    def __init__(self, redis: RedisState, *, wall_clock: Callable[[], float] | None = None) -> None:
        self.redis = redis
        self.local = InMemoryQuotas()
        self.wall_clock = wall_clock if wall_clock is not None else shared_clock.wall
        self._script = redis.client.register_script(CONSUME_SCRIPT)

    async def consume(self, key: str, limit: int, expires_at: float) -> bool:
        if self.redis.up:
            lifetime_ms = int((max(0.0, expires_at - self.wall_clock()) + QUOTA_MARGIN_S) * 1000)
            try:
                counted = int(
                    await self._script(keys=[self.redis.settings.key(key)], args=[limit, lifetime_ms])
                )
            except Exception as exc:
                if not is_redis_failure(exc):
                    raise
                self.redis.failed("quota", exc)
            else:
                return counted == 1
        else:
            self.redis.fell_back("quota")
        return await self.local.consume(key, limit, expires_at)


def _encode(result: LambdaAuthorizerResult, issued_for: str, expires_at: float) -> bytes:
    return orjson.dumps(
        {
            "principalId": result.principal_id,
            "policyDocument": result.policy_document,
            "context": result.context,
            "usageIdentifierKey": result.usage_identifier_key,
            "isAuthorized": result.is_authorized,
            "issuedFor": issued_for,
            "expiresAt": expires_at,
        }
    )


def _decode(raw: bytes | str) -> tuple[LambdaAuthorizerResult, str, float] | None:
    try:
        doc = orjson.loads(raw)
        result = LambdaAuthorizerResult(
            doc["principalId"],
            doc["policyDocument"],
            doc["context"],
            doc["usageIdentifierKey"],
            doc["isAuthorized"],
        )
        return result, str(doc["issuedFor"]), float(doc["expiresAt"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


class SharedAuthorizerCache:
    """One Lambda authorizer's results in Redis, for every gateway process and replica.

    ``namespace`` names the authorizer (API, authorizer, and a digest of its configuration, so a
    changed authorizer never reads its former self's results, as a redeployment flushes AWS's
    cache). Values are the whole result plus the ARN it was issued for and its expiry on the
    stack's wall clock; Redis drops them after the TTL too.
    """

    def __init__(
        self,
        redis: RedisState,
        namespace: str,
        ttl: int,
        *,
        wall_clock: Callable[[], float] | None = None,
    ) -> None:
        self.redis = redis
        self.namespace = namespace
        self.ttl = ttl
        self.wall_clock = wall_clock if wall_clock is not None else shared_clock.wall

    def redis_key(self, key: Hashable) -> str:
        digest = hashlib.sha256(orjson.dumps(key, option=orjson.OPT_PASSTHROUGH_DATACLASS)).hexdigest()
        return self.redis.settings.key("authorizer", self.namespace, digest)

    async def get(self, key: Hashable) -> tuple[LambdaAuthorizerResult, str, float] | None:
        """``(result, issued_for, seconds left)`` or None (a miss, or Redis unavailable)."""
        if not self.redis.up:
            self.redis.fell_back("authorizer_cache")
            return None
        try:
            raw = await self.redis.client.get(self.redis_key(key))
        except Exception as exc:
            if not is_redis_failure(exc):
                raise
            self.redis.failed("authorizer_cache", exc)
            return None
        if raw is None:
            return None
        found = _decode(raw)
        if found is None:
            return None
        result, issued_for, expires_at = found
        left = expires_at - self.wall_clock()
        return (result, issued_for, left) if left > 0 else None

    async def put(self, key: Hashable, result: LambdaAuthorizerResult, issued_for: str) -> None:
        if not self.redis.up:
            self.redis.fell_back("authorizer_cache")
            return
        value = _encode(result, issued_for, self.wall_clock() + self.ttl)
        try:
            await self.redis.client.set(self.redis_key(key), value, px=self.ttl * 1000)
        except Exception as exc:
            if not is_redis_failure(exc):
                raise
            self.redis.failed("authorizer_cache", exc)


def share_authorizer_caches(authorizers: AuthorizerSet, redis: RedisState) -> None:
    """Give every Lambda authorizer that caches results the shared cache."""
    for (api_name, name), authorizer in authorizers.authorizers.items():
        if isinstance(authorizer, LambdaAuthorizer) and authorizer.cache.enabled:
            digest = hashlib.sha256(authorizer.config.model_dump_json().encode()).hexdigest()[:12]
            authorizer.shared = SharedAuthorizerCache(
                redis, f"{api_name}:{name}:{digest}", authorizer.cache.ttl
            )
