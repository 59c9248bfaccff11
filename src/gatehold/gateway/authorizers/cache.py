"""Authorizer result caching like API Gateway (docs/aws-reference.md §1.8, §3.5).

* TTL 0-3600 s, default 300; 0 turns caching off.
* Key: the token (TOKEN) or the tuple of identity-source values (REQUEST), scoped per authorizer x
  API x stage (one cache per authorizer of an API, keyed by stage and identity).
* The *whole* result is cached (principal, policy, context, usage key) and the policy is re-evaluated
  against each request's method ARN, so a policy that allows only the ``methodArn`` it was issued for
  denies the caller's next route, exactly as on AWS. Simple responses cache the verdict.
* Errors (401 ``Unauthorized``, 500) are never cached; Deny policies are cached like any policy.
* Bounded: the oldest entry is dropped when full.
* With ``gatehold up --redis-url`` the result is shared by every gateway process and replica
  (:class:`gatehold.gateway.redis_stores.SharedAuthorizerCache`); this cache is then its near cache.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from gatehold.gateway.authorizers.policy import Decision, evaluate

MAX_DECISIONS_PER_ENTRY = 64

DEFAULT_TTL = 300
MAX_TTL = 3600
DEFAULT_MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class LambdaAuthorizerResult:
    """A parsed authorizer response: an IAM policy result or a simple response."""

    principal_id: str | None
    policy_document: dict[str, Any] | None
    context: dict[str, Any] | None
    usage_identifier_key: str | None = None
    is_authorized: bool | None = None


@dataclass(frozen=True, slots=True)
class CachedResult:
    result: LambdaAuthorizerResult
    issued_for: str  # the method/route ARN the function was invoked with
    expires_at: float
    decisions: dict[str, Decision] = field(default_factory=dict)

    def decide(self, arn: str) -> Decision:
        """The cached policy evaluated for ``arn`` (memoised per ARN: the policy never changes)."""
        decision = self.decisions.get(arn)
        if decision is None:
            decision = evaluate(self.result.policy_document, arn)
            if len(self.decisions) < MAX_DECISIONS_PER_ENTRY:
                self.decisions[arn] = decision
        return decision


class AuthorizerResultCache:
    def __init__(
        self,
        ttl: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = DEFAULT_MAX_ENTRIES,
    ) -> None:
        if not 0 <= ttl <= MAX_TTL:
            raise ValueError(f"authorizer result TTL must be 0-{MAX_TTL} seconds")
        self.ttl = ttl
        self.clock = clock
        self.max_entries = max_entries
        self._entries: dict[Hashable, CachedResult] = {}

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> CachedResult | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if self.clock() >= entry.expires_at:
            del self._entries[key]
            return None
        return entry

    def put(
        self, key: Hashable, result: LambdaAuthorizerResult, issued_for: str, ttl_left: float | None = None
    ) -> CachedResult | None:
        """Cache ``result`` for the TTL, or for the ``ttl_left`` seconds an entry copied from the
        shared cache (:mod:`gatehold.gateway.redis_stores`) has left: never longer than it was
        cached for."""
        if not self.enabled:
            return None
        if key not in self._entries and len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]
        left = self.ttl if ttl_left is None else min(float(self.ttl), ttl_left)
        entry = self._entries[key] = CachedResult(result, issued_for, self.clock() + left)
        return entry

    def clear(self) -> None:
        self._entries.clear()
