"""REST API keys and usage plans (docs/aws-reference.md §0 step 5, §4.5).

For a method with ``api_key_required``, after the authorizer:

1. the key is the ``x-api-key`` header (``api_key_source: HEADER``) or the Lambda authorizer's
   ``usageIdentifierKey`` (``api_key_source: AUTHORIZER``);
2. it must belong to a usage plan (``gateway.usage_plans``) that lists this API stage, else 403
   ``INVALID_API_KEY`` ``{"message":"Forbidden"}`` (``x-amzn-ErrorType: ForbiddenException``);
3. the plan's ``throttling`` is a token bucket per key, else 429 ``THROTTLED``;
4. the plan's ``quota`` (``limit`` per ``DAY`` / ``WEEK`` / ``MONTH``, UTC, ``offset`` = the day
   the period starts: WEEK 0 = Sunday, MONTH 0 = the 1st) is counted per key, else 429
   ``QUOTA_EXCEEDED`` ``{"message":"Limit Exceeded"}`` (``LimitExceededException``).

The identified key is returned for the integration event (``identity.apiKey`` /
``identity.apiKeyId``). Methods without ``api_key_required`` are neither checked nor counted, as in
AWS. Counters live behind :class:`QuotaStore` and :class:`~gatehold.gateway.throttle.BucketStore`
(in process now; Redis with the scale-out issue).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from gatehold import clock as shared_clock
from gatehold import metrics
from gatehold.config.models import GatewaySettings, QuotaConfig, UsagePlanConfig
from gatehold.errors import GatewayError, GatewayResponseType
from gatehold.gateway.model import AuthorizerOutcome, GatewayRequest, RouteMatch
from gatehold.gateway.throttle import Bucket, BucketStore, InMemoryBuckets, throttled_error

Clock = Callable[[], float]


def api_key_id(api_key: str) -> str:
    """The key's stable 10-character id (``identity.apiKeyId``), as :mod:`gatehold.gateway.events`."""
    digest = hashlib.sha256(("apikey:" + api_key).encode()).digest()
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[b % 36] for b in digest[:10])


def quota_period(quota: QuotaConfig, now: float) -> tuple[str, float]:
    """The current quota period of ``quota`` at wall-clock ``now``: (its start date, its end epoch)."""
    today = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if quota.period == "DAY":
        start, end = today, today + timedelta(days=1)
    elif quota.period == "WEEK":
        sunday_index = (today.weekday() + 1) % 7  # Sunday 0 … Saturday 6
        start = today - timedelta(days=(sunday_index - quota.offset) % 7)
        end = start + timedelta(days=7)
    else:
        first_day = quota.offset + 1
        start = today.replace(day=first_day)
        if today.day < first_day:
            start = _add_months(start, -1)
        end = _add_months(start, 1)
    return start.date().isoformat(), end.timestamp()


def _add_months(d: datetime, months: int) -> datetime:
    month = d.month - 1 + months
    return d.replace(year=d.year + month // 12, month=month % 12 + 1)


class QuotaStore(Protocol):
    async def consume(self, key: str, limit: int, expires_at: float) -> bool:
        """Count one request under ``key`` if fewer than ``limit`` were counted; False when full."""
        ...


class InMemoryQuotas:
    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}

    async def consume(self, key: str, limit: int, expires_at: float) -> bool:
        count, _ = self._counts.get(key, (0, expires_at))
        if count >= limit:
            return False
        self._counts[key] = (count + 1, expires_at)
        return True

    def prune(self, now: float) -> None:
        """Forget periods that ended before ``now``."""
        self._counts = {k: v for k, v in self._counts.items() if v[1] > now}


@dataclass(frozen=True, slots=True)
class ApiKeyIdentity:
    api_key: str
    api_key_id: str
    usage_plan: str


class UsagePlans:
    """The pipeline's API-key step for REST methods with ``api_key_required``."""

    def __init__(
        self,
        settings: GatewaySettings,
        *,
        buckets: BucketStore | None = None,
        quotas: QuotaStore | None = None,
        clock: Clock | None = None,
        wall_clock: Clock | None = None,
    ) -> None:
        self.buckets: BucketStore = buckets if buckets is not None else InMemoryBuckets()
        self.quotas: QuotaStore = quotas if quotas is not None else InMemoryQuotas()
        # by default the stack's clock (gatehold.clock): windows and quota periods follow --test-clock
        self.clock = clock if clock is not None else shared_clock.mono
        self.wall_clock = wall_clock if wall_clock is not None else shared_clock.wall
        self._plans: dict[str, UsagePlanConfig] = dict(settings.usage_plans)
        self._plans_by_stage: dict[str, list[tuple[str, frozenset[str]]]] = {}
        for name, plan in settings.usage_plans.items():
            for api_stage in plan.api_stages:
                self._plans_by_stage.setdefault(api_stage, []).append((name, frozenset(plan.api_keys)))

    def api_key(
        self, request: GatewayRequest, match: RouteMatch, outcome: AuthorizerOutcome | None
    ) -> str | None:
        if match.api.config.api_key_source == "AUTHORIZER":
            return outcome.usage_identifier_key if outcome is not None else None
        return request.header("x-api-key")

    async def check(
        self, request: GatewayRequest, match: RouteMatch, outcome: AuthorizerOutcome | None
    ) -> ApiKeyIdentity | None:
        """Identify, throttle and count the API key; None when the method needs no key."""
        if not match.route.config.api_key_required:
            return None
        key = self.api_key(request, match, outcome)
        plan_name = self._plan_for(f"{match.api.name}/{match.stage_name}", key)
        if key is None or plan_name is None:
            raise GatewayError(
                GatewayResponseType.INVALID_API_KEY, reason="API key missing or not in a usage plan"
            )
        identity = ApiKeyIdentity(key, api_key_id(key), plan_name)
        plan = self._plans[plan_name]
        if plan.throttling is not None:
            bucket = Bucket(f"plan:{plan_name}:{identity.api_key_id}", plan.throttling, "usage_plan")
            if await self.buckets.take((bucket,), self.clock()) is not None:
                metrics.throttled(match.api.name, match.stage_name, "usage_plan")
                raise throttled_error(bucket)
        if plan.quota is not None:
            period, ends = quota_period(plan.quota, self.wall_clock())
            quota_key = f"quota:{plan_name}:{identity.api_key_id}:{period}"
            if not await self.quotas.consume(quota_key, plan.quota.limit, ends):
                metrics.throttled(match.api.name, match.stage_name, "quota")
                raise GatewayError(
                    GatewayResponseType.QUOTA_EXCEEDED, reason=f"quota of usage plan {plan_name!r} exceeded"
                )
        return identity

    def _plan_for(self, api_stage: str, key: str | None) -> str | None:
        if key is None:
            return None
        for name, keys in self._plans_by_stage.get(api_stage, ()):
            if key in keys:
                return name
        return None
