"""Request throttling: token buckets as API Gateway applies them (docs/aws-reference.md §4.5).

Buckets a request must find a token in, all or nothing:

* ``account`` — ``gateway.throttling`` (AWS's 10,000 rps / 5,000 burst), one bucket shared by every
  API and stage;
* ``route`` — ``stages.<s>.route_throttling["GET /pets"]``, else the stage's ``throttling`` as
  the default for each route (AWS's default route / method settings: each route its own bucket);
* ``usage_plan`` — per API key of a usage plan with ``throttling`` (checked after the authorizer,
  by :mod:`gatehold.gateway.usage_plans`, through the same store).

A refused request is 429 ``THROTTLED`` (REST ``{"message":"Too Many Requests"}`` with
``x-amzn-ErrorType: TooManyRequestsException``; HTTP APIs the same body).

The token bucket: ``burst_limit`` tokens at most, refilled at ``rate_limit`` tokens per second,
one token per request; a bucket starts full. Time comes from an injectable clock. The store is an
interface (:class:`BucketStore`) so the scale-out issue can back it with Redis; the in-process
store is :class:`InMemoryBuckets`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from gatehold import clock as shared_clock
from gatehold import metrics
from gatehold.config.models import GatewaySettings, ThrottleConfig
from gatehold.errors import GatewayError, GatewayResponseType
from gatehold.gateway.model import RouteMatch

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Bucket:
    """One bucket to take a token from: ``key`` names it in the store, ``scope`` in metrics/logs."""

    key: str
    limit: ThrottleConfig
    scope: str


class BucketStore(Protocol):
    async def take(self, buckets: Sequence[Bucket], now: float) -> Bucket | None:
        """Take one token from every bucket, or from none: return the first bucket that is empty."""
        ...


def refill(tokens: float, last: float, limit: ThrottleConfig, now: float) -> float:
    """Tokens in a bucket at ``now``, given ``tokens`` at ``last`` (pure)."""
    elapsed = max(0.0, now - last)
    return min(float(limit.burst_limit), tokens + elapsed * limit.rate_limit)


class InMemoryBuckets:
    """Token buckets in this process (one event loop: each ``take`` is atomic)."""

    def __init__(self) -> None:
        self._state: dict[str, tuple[float, float]] = {}

    def _tokens(self, bucket: Bucket, now: float) -> float:
        state = self._state.get(bucket.key)
        if state is None:
            return float(bucket.limit.burst_limit)
        return refill(state[0], state[1], bucket.limit, now)

    async def take(self, buckets: Sequence[Bucket], now: float) -> Bucket | None:
        levels = []
        for bucket in buckets:
            tokens = self._tokens(bucket, now)
            if tokens < 1.0:
                return bucket
            levels.append(tokens)
        for bucket, tokens in zip(buckets, levels, strict=True):
            self._state[bucket.key] = (tokens - 1.0, now)
        return None


class Throttler:
    """The pipeline's throttle step: account, stage and route buckets for a routed request."""

    def __init__(
        self,
        settings: GatewaySettings,
        *,
        store: BucketStore | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.store: BucketStore = store if store is not None else InMemoryBuckets()
        self.clock = clock if clock is not None else shared_clock.mono  # the stack's (gatehold.clock)
        self._account = Bucket("account", settings.throttling, "account")
        self._route_buckets: dict[tuple[str, str, str], tuple[Bucket, ...]] = {}

    def buckets_for(self, match: RouteMatch) -> tuple[Bucket, ...]:
        """The buckets a request to ``match``'s route draws from (cached per API/stage/route)."""
        cache_key = (match.api.name, match.stage_name, match.route.route_key)
        found = self._route_buckets.get(cache_key)
        if found is not None:
            return found
        buckets = [self._account]
        route_limit = match.stage.route_throttling.get(match.route.route_key)
        if route_limit is not None:
            buckets.append(Bucket("route:" + "/".join(cache_key), route_limit, "route"))
        elif match.stage.throttling is not None:
            buckets.append(Bucket("route:" + "/".join(cache_key), match.stage.throttling, "stage"))
        found = self._route_buckets[cache_key] = tuple(buckets)
        return found

    async def check(self, match: RouteMatch) -> None:
        """Take a token for ``match``; raise 429 THROTTLED when a bucket is empty."""
        refused = await self.store.take(self.buckets_for(match), self.clock())
        if refused is not None:
            metrics.throttled(match.api.name, match.stage_name, refused.scope)
            raise throttled_error(refused)


def throttled_error(bucket: Bucket) -> GatewayError:
    reason = f"throttled: {bucket.scope} bucket {bucket.key}"
    return GatewayError(GatewayResponseType.THROTTLED, reason=reason)
