"""Lambda authorizers: REST TOKEN / REQUEST and HTTP API REQUEST (payload 1.0 / 2.0, simple responses).

For each request (docs/aws-reference.md §1.2-§1.8, §3.5):

1. resolve the identity sources; one missing, null or empty → 401 without invoking;
2. TOKEN only: ``identityValidationExpression`` must match the whole token (``re.fullmatch``: AWS
   does not document full vs partial matching, §7.3; full matching is Java's ``String.matches``) →
   else 401 without invoking;
3. the result cache (:mod:`.cache`), keyed by token or identity values, per stage;
4. on a miss, invoke the function with the input event; an error whose message is exactly
   ``Unauthorized`` → 401; any other error, a timeout, or output that is not a valid result
   (no ``principalId``/``policyDocument``, a malformed policy, REST ``context`` values that are
   objects or arrays, a non-boolean ``isAuthorized``) → 500; errors are never cached;
5. evaluate the (possibly cached) policy against this request's method/route ARN (:mod:`.policy`):
   allow → the caller's identity; explicit or implicit deny → 403. Simple responses: the cached
   verdict applies to every route.

HTTP APIs: an ``Unauthorized`` function error maps to 401 as on REST (undocumented for HTTP APIs,
§7.5); a deny or ``isAuthorized: false`` is 403 ``{"message":"Forbidden"}`` (§7.5 notes one report
of 401; we follow the documented reading).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any

from gatehold import metrics
from gatehold.config.models import AuthorizerConfig, GatewaySettings
from gatehold.errors import GatewayError
from gatehold.gateway.authorizers.cache import (
    DEFAULT_TTL,
    AuthorizerResultCache,
    CachedResult,
    LambdaAuthorizerResult,
)
from gatehold.gateway.authorizers.identity import IdentitySource, resolve
from gatehold.gateway.authorizers.outcomes import configuration_error, forbidden, rest_deny, unauthorized
from gatehold.gateway.authorizers.policy import Decision, PolicyError, evaluate
from gatehold.gateway.events import (
    request_authorizer_event_v1,
    request_authorizer_event_v2,
    token_authorizer_event,
    uuid4_text,
)
from gatehold.gateway.model import AuthorizerOutcome, DecisionTrace, GatewayRequest, RouteMatch
from gatehold.runtime.contract import Invoker

if TYPE_CHECKING:
    from gatehold.gateway.redis_stores import SharedAuthorizerCache

log = logging.getLogger("gatehold.authorizers")

REST_AUTHORIZER_DEADLINE_S = 29.0  # undocumented for REST; the integration limit
HTTP_AUTHORIZER_DEADLINE_S = 10.0  # DG:limits, HTTP API authorizer timeout


class AuthorizerOutputError(ValueError):
    """The function returned something API Gateway could not use (→ 500)."""


def _context(value: Any, *, allow_nested: bool, reserved: Sequence[str] = ()) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise AuthorizerOutputError("context must be an object")
    for key, item in value.items():
        if key in reserved:
            raise AuthorizerOutputError(f"context key {key!r} is reserved")
        if not allow_nested and isinstance(item, dict | list):
            raise AuthorizerOutputError(
                f"context value {key!r} is an object or array (only string, number and boolean are allowed)"
            )
    return value


def parse_authorizer_output(
    payload: Any, *, api_type: str, version: str, simple: bool
) -> LambdaAuthorizerResult:
    """Validate a function's return value as an authorizer result (§1.6, §3.5).

    REST and HTTP payload 1.0: ``context`` values are strings, numbers, booleans (or null); HTTP
    payload 2.0 also allows arrays and maps. HTTP 1.0 reserves the ``claims`` key.
    """
    if not isinstance(payload, dict):
        raise AuthorizerOutputError("the authorizer result is not a JSON object")
    allow_nested = api_type == "HTTP" and version == "2.0"
    reserved = ("claims",) if api_type == "HTTP" and version == "1.0" else ()
    if simple:
        is_authorized = payload.get("isAuthorized")
        if not isinstance(is_authorized, bool):
            raise AuthorizerOutputError("isAuthorized must be a boolean")
        return LambdaAuthorizerResult(
            None, None, _context(payload.get("context"), allow_nested=True), None, is_authorized
        )
    principal_id = payload.get("principalId")
    if not isinstance(principal_id, str):
        raise AuthorizerOutputError("principalId is missing or not a string")
    policy = payload.get("policyDocument")
    if not isinstance(policy, dict):
        raise AuthorizerOutputError("policyDocument is missing or not an object")
    usage_key = payload.get("usageIdentifierKey")
    if usage_key is not None and not isinstance(usage_key, str):
        raise AuthorizerOutputError("usageIdentifierKey must be a string")
    context = _context(payload.get("context"), allow_nested=allow_nested, reserved=reserved)
    return LambdaAuthorizerResult(principal_id, policy, context, usage_key)


def _statement_detail(decision: Decision) -> dict[str, Any]:
    if decision.statement is None:
        return {"policy": decision.outcome}
    st = decision.statement
    return {
        "policy": decision.outcome,
        "statement": decision.statement_index,
        "effect": st.get("Effect"),
        "resource": st.get("Resource", st.get("NotResource")),
    }


class LambdaAuthorizer:
    def __init__(
        self,
        *,
        name: str,
        api_name: str,
        api_type: str,
        config: AuthorizerConfig,
        identity_sources: Sequence[IdentitySource],
        validation: re.Pattern[str] | None,
        invoker: Invoker,
        settings: GatewaySettings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        assert config.function is not None
        self.name = name
        self.api_name = api_name
        self.api_type = api_type
        self.config = config
        self.function = config.function
        self.kind = config.type  # TOKEN | REQUEST
        self.version = config.payload_format_version or ("2.0" if api_type == "HTTP" else "1.0")
        self.simple = config.enable_simple_responses
        self.identity_sources = tuple(identity_sources)
        self.validation = validation
        self.invoker = invoker
        self.settings = settings
        ttl = config.result_ttl if config.result_ttl is not None else DEFAULT_TTL
        self.cache = AuthorizerResultCache(ttl if self.identity_sources else 0, clock=clock)
        self.deadline_s = HTTP_AUTHORIZER_DEADLINE_S if api_type == "HTTP" else REST_AUTHORIZER_DEADLINE_S
        self._warned_method_arn = False
        #: the result cache every gateway process and replica shares (gatehold up --redis-url);
        #: :attr:`cache` is then its near cache
        self.shared: SharedAuthorizerCache | None = None

    async def _shared_get(self, key: Hashable) -> CachedResult | None:
        """A result another process or replica cached, copied into the near cache with the time
        it has left."""
        assert self.shared is not None
        found = await self.shared.get(key)
        if found is None:
            return None
        result, issued_for, left = found
        return self.cache.put(key, result, issued_for, ttl_left=left)

    # -- the pipeline step ------------------------------------------------------------------------

    async def authorize(
        self, request: GatewayRequest, match: RouteMatch, trace: DecisionTrace
    ) -> AuthorizerOutcome:
        base = {
            "authorizer": self.name,
            "type": self.kind if self.api_type == "REST" else f"REQUEST {self.version}",
        }
        settings = self.settings
        arn = match.method_arn(request.method, region=settings.region, account_id=settings.account_id)
        values, missing = resolve(
            self.identity_sources,
            request,
            match,
            account_id=settings.account_id,
            join_repeats=self.api_type == "HTTP",
        )
        trace.note(identity=values, method_arn=arn)  # for gatehold explain
        if missing is not None:
            trace.add("authorizer", "unauthorized", **base, check="identity", missing=missing)
            raise unauthorized(f"identity source {missing} is missing or empty")
        if self.kind == "TOKEN" and self.validation is not None and not self.validation.fullmatch(values[0]):
            trace.add("authorizer", "unauthorized", **base, check="identityValidationExpression")
            raise unauthorized("the token does not match identityValidationExpression")

        key: Hashable = (match.stage_name, values[0] if self.kind == "TOKEN" else tuple(values))
        cached = self.cache.get(key) if self.cache.enabled else None
        if cached is None and self.shared is not None:
            cached = await self._shared_get(key)
        if self.cache.enabled:
            metrics.authorizer_cache(self.api_name, self.name, hit=cached is not None)
        if cached is not None:
            result, latency, cache_state = cached.result, 0, "hit"
            trace.note(cached=cached, ttl_left=cached.expires_at - self.cache.clock())
        else:
            result, latency = await self._invoke(request, match, arn, values, base, trace)
            if self.shared is not None:  # a valid result (errors raised): every replica's now
                await self.shared.put(key, result, arn)
            cache_state = "miss" if self.cache.enabled else "off"
        return self._decide(result, arn, latency, cached, cache_state, key, base, trace)

    # -- invoking the function --------------------------------------------------------------------

    def _event(
        self, request: GatewayRequest, match: RouteMatch, arn: str, values: list[str]
    ) -> dict[str, Any]:
        account_id = self.settings.account_id
        if self.kind == "TOKEN":
            return token_authorizer_event(values[0], arn)
        if self.api_type == "HTTP" and self.version == "2.0":
            return request_authorizer_event_v2(
                request, match, account_id=account_id, route_arn=arn, identity_values=values
            )
        return request_authorizer_event_v1(
            request, match, account_id=account_id, method_arn=arn, identity_values=values
        )

    async def _invoke(
        self,
        request: GatewayRequest,
        match: RouteMatch,
        arn: str,
        values: list[str],
        base: dict[str, Any],
        trace: DecisionTrace,
    ) -> tuple[LambdaAuthorizerResult, int]:
        event = self._event(request, match, arn, values)
        started = time.perf_counter()
        res = await self.invoker.invoke(
            # Lambda's own request id: a fresh UUID, as Lambda assigns
            self.function,
            event,
            request_id=uuid4_text(),
            deadline_s=self.deadline_s,
        )
        latency = int(res.duration_ms or (time.perf_counter() - started) * 1000)
        failure: GatewayError | None = None
        if res.integration_timeout:
            trace.add("authorizer", "error", **base, cache="miss", check="timeout", function=self.function)
            raise configuration_error(f"authorizer function {self.function} timed out")
        if res.error is not None:
            trace.note(function_error=res.error)
            message = res.error.get("errorMessage")
            if message == "Unauthorized":
                trace.add("authorizer", "unauthorized", **base, check="function", function=self.function)
                raise unauthorized(f"authorizer function {self.function} raised Unauthorized")
            trace.add(
                "authorizer",
                "error",
                **base,
                check="function-error",
                function=self.function,
                error=str(message),
            )
            raise configuration_error(f"authorizer function {self.function} failed: {message}")
        try:
            result = parse_authorizer_output(
                res.payload, api_type=self.api_type, version=self.version, simple=self.simple
            )
            if result.policy_document is not None:
                evaluate(result.policy_document, arn)  # a malformed policy is an error, never cached
        except (AuthorizerOutputError, PolicyError) as exc:
            trace.note(output=res.payload)
            failure = configuration_error(
                f"authorizer function {self.function} returned an invalid result: {exc}"
            )
            trace.add("authorizer", "error", **base, check="output", function=self.function, error=str(exc))
            raise failure from None
        trace.note(result=result, latency_ms=latency)
        return result, latency

    # -- the decision -----------------------------------------------------------------------------

    def _decide(
        self,
        result: LambdaAuthorizerResult,
        arn: str,
        latency: int,
        cached: CachedResult | None,
        cache_state: str,
        key: Hashable,
        base: dict[str, Any],
        trace: DecisionTrace,
    ) -> AuthorizerOutcome:
        if cached is None:
            self.cache.put(key, result, arn)
        if result.is_authorized is not None:
            if not result.is_authorized:
                trace.add("authorizer", "deny", **base, cache=cache_state, simple=True)
                raise forbidden("the authorizer answered isAuthorized: false")
            trace.add("authorizer", "allow", **base, cache=cache_state, simple=True)
            return AuthorizerOutcome(kind="lambda", context=result.context, integration_latency_ms=latency)

        decision = cached.decide(arn) if cached is not None else evaluate(result.policy_document, arn)
        detail = {
            **base,
            "cache": cache_state,
            "principalId": result.principal_id,
            **_statement_detail(decision),
        }
        if (
            cached is not None
            and not decision.allowed
            and cached.issued_for != arn
            and cached.decide(cached.issued_for).allowed
        ):
            warning = self._method_arn_warning(cached.issued_for, arn)
            detail["warning"] = warning
        if decision.allowed:
            trace.add("authorizer", "allow", **detail)
            return AuthorizerOutcome(
                kind="lambda",
                principal_id=result.principal_id,
                context=result.context,
                usage_identifier_key=result.usage_identifier_key,
                integration_latency_ms=latency,
            )
        trace.add("authorizer", "deny", **detail)
        explicit = decision.outcome == "explicit-deny"
        reason = f"policy {decision.outcome} for {arn}"
        if self.api_type == "HTTP":
            raise forbidden(reason)
        raise rest_deny(self.settings, explicit=explicit, reason=reason)

    def _method_arn_warning(self, issued_for: str, arn: str) -> str:
        everything = "/".join(issued_for.split("/")[:2]) + "/*/*"
        warning = (
            f"authorizer {self.name!r}: the cached policy was issued for {issued_for} and does not cover "
            f"{arn}. API Gateway re-evaluates a cached policy for every method the same identity calls "
            f"(TTL {self.cache.ttl} s): return a policy for all methods (for example {everything}) instead "
            "of event.methodArn alone, or set the result TTL to 0"
        )
        if not self._warned_method_arn:
            self._warned_method_arn = True
            log.warning(warning, extra={"authorizer": self.name, "api": self.api_name})
        return warning
