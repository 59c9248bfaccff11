"""Why was this request answered the way it was: the decision trace of a recent request, explained.

The gateway keeps what it learnt about each of its last requests (:class:`RecentTraces`, bounded by
count and bytes): the request (its body dropped past :data:`KEEP_BODY_BYTES`), the route it matched,
the :class:`~gatehold.gateway.model.DecisionTrace` with the evidence the authorizer had in hand
(``trace.evidence``: the identity values, the cached entry, the function's result, the time claims
were checked against), the error and the response. Keeping costs a tuple and a dict insert per
request; nothing is rendered on the request path.

:func:`explain` turns one kept request into the explanation ``gatehold explain`` prints (pure: it
reads the configuration the request was served with, re-evaluates the policy statement by statement
and decodes the token without verifying it; it never calls a function or fetches a key)::

    {"requestId", "time", "request": {method, path, query, headers},
     "route": {api, apiType, stage, routeKey, resourcePath, matched, pathParameters, methodArn} | null,
     "authorizer": {name, type, identitySources: [{expression, value}], outcome, cache: {...},
                    checks: [{check, outcome: pass|fail|skipped, detail}], policy: {...}, warning},
     "decision": {status, responseType, errorType, reason}, "response": {status, headers, body},
     "trace": [the trace steps, as logged]}

``gatehold up`` serves it on the admin port (``GET /explain/<requestId>``, the supervisor asks each
gateway process); :meth:`gatehold.gateway.app.GatewayApp.explain` is the in-process entry.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from gatehold.config.models import ApiConfig, AuthorizerConfig
from gatehold.errors import GatewayError
from gatehold.gateway.access_log import RequestRecord
from gatehold.gateway.authorizers.cache import DEFAULT_TTL, CachedResult, LambdaAuthorizerResult
from gatehold.gateway.authorizers.identity import IdentitySource, parse_identity_source, resolve
from gatehold.gateway.authorizers.policy import PolicyError, evaluate, match_statement, statements_of
from gatehold.gateway.events import extended_request_id
from gatehold.gateway.model import DecisionTrace, RouteMatch
from gatehold.jose import token_scopes

__all__ = ["RECENT", "RecentTraces", "explain"]

#: requests kept per gateway process
DEFAULT_MAX_ENTRIES = 1000
#: their bytes (request and response bodies kept, plus :data:`ENTRY_OVERHEAD` each)
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
#: a request body longer than this is not kept (no authorizer reads the body)
KEEP_BODY_BYTES = 4096
#: the first bytes of a response body kept
KEEP_RESPONSE_BYTES = 4096
#: what an entry's headers, route and trace are counted as (the request head is at most 64 KB)
ENTRY_OVERHEAD = 2048

_Kept = tuple[RequestRecord, DecisionTrace, list[tuple[str, str]], bytes | None, str, int]


class RecentTraces:
    """The last requests of a gateway process by request id, oldest dropped first."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: dict[str, _Kept] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def keep(
        self,
        record: RequestRecord,
        trace: DecisionTrace,
        headers: list[tuple[str, str]],
        body: bytes | None,
        full_path: str,
    ) -> None:
        """Keep one answered request (``body`` None: a streamed response)."""
        if self.max_entries <= 0:
            return
        request = record.request
        size = len(request.body)
        if size > KEEP_BODY_BYTES:
            record.request = replace(request, body=b"")
            size = 0
        size += ENTRY_OVERHEAD
        if body is not None:
            if len(body) > KEEP_RESPONSE_BYTES:
                body = body[:KEEP_RESPONSE_BYTES]
            size += len(body)
        entries = self._entries
        entries[record.request_id] = (record, trace, headers, body, full_path, size)
        self.bytes += size
        if len(entries) > self.max_entries or self.bytes > self.max_bytes:
            while len(entries) > self.max_entries or self.bytes > self.max_bytes:
                self.bytes -= entries.pop(next(iter(entries)))[5]

    def get(self, request_id: str) -> _Kept | None:
        """The kept request with this id, or whose REST extended id (``x-amz-apigw-id``) it is."""
        found = self._entries.get(request_id)
        if found is not None:
            return found
        for key, kept in self._entries.items():
            if len(key) == 36 and extended_request_id(key) == request_id:
                return kept
        return None

    def clear(self) -> None:
        self._entries.clear()
        self.bytes = 0


#: this process's requests (shared by the gateway apps hot reload swaps in)
RECENT = RecentTraces()


# --------------------------------------------------------------------------------------------------
# the explanation (pure)
# --------------------------------------------------------------------------------------------------


def explain(kept: _Kept, *, region: str, account_id: str) -> dict[str, Any]:
    """The explanation of one kept request (module docstring), JSON-ready."""
    record, trace, headers, body, full_path, _ = kept
    request, match = record.request, record.match
    route = _route(match, request.method, request.path, region, account_id) if match else None
    step = next((s for s in trace.steps if s.step == "authorizer"), None)
    authorizer = None
    if match is not None and match.route.config.authorizer is not None:
        name = match.route.config.authorizer
        config = match.api.config.authorizers.get(name)
        if config is not None:
            detail = dict(step.detail) if step is not None else {}
            outcome = step.outcome if step is not None else "not run"
            authorizer = _authorizer(
                name, config, match, record, trace, detail, outcome, route, account_id=account_id
            )
    error = record.error
    return {
        "requestId": record.request_id,
        "time": _iso(request.time_epoch_ms / 1000),
        "request": {
            "method": request.method,
            "path": full_path,
            "query": request.query_string,
            "headers": [[k, v] for k, v in request.headers],
        },
        "route": route,
        "routeError": (_route_error(error) or "answered before routing (a CORS preflight)")
        if match is None
        else None,
        "authorizer": authorizer,
        "decision": _decision(record, error),
        "response": {
            "status": record.status,
            "headers": [[k, v] for k, v in headers],
            "body": _text(body) if body is not None else None,
            "streamed": body is None,
        },
        "trace": [{"step": s.step, "outcome": s.outcome, **_jsonable(s.detail)} for s in trace.steps],
    }


def _route(match: RouteMatch, method: str, path: str, region: str, account_id: str) -> dict[str, Any]:
    route = match.route
    params = match.path_parameters or {}
    if route.route_key == "$default":
        how = "the $default route (no other route matched)"
    else:
        parts = []
        greedy = [p.strip("{}+") for p in route.resource_path.split("/") if p.endswith("+}")]
        if greedy:
            parts.append("greedy path variable " + ", ".join(f"{{{g}+}} = {params.get(g)!r}" for g in greedy))
        named = {k: v for k, v in params.items() if k not in greedy}
        if named:
            parts.append("path parameters " + ", ".join(f"{k} = {v!r}" for k, v in named.items()))
        if not parts:
            parts.append("exact path")
        if route.method == "ANY":
            parts.append(f"method ANY (for {method})")
        how = "; ".join(parts)
    return {
        "api": match.api.name,
        "apiType": match.api.type,
        "apiId": match.api.api_id,
        "stage": match.stage_name,
        "routeKey": route.route_key,
        "resourcePath": route.resource_path,
        "matched": how,
        "pathParameters": match.path_parameters,
        "methodArn": match.method_arn(method, region=region, account_id=account_id),
    }


def _route_error(error: GatewayError | None) -> str | None:
    return error.reason or error.type.name if error is not None else None


def _decision(record: RequestRecord, error: GatewayError | None) -> dict[str, Any]:
    if error is None:
        how = "answered by the integration" if record.integration_status is not None else "answered"
        return {"status": record.status, "responseType": None, "errorType": None, "reason": how}
    return {
        "status": record.status,
        "responseType": error.type.name,
        # x-amzn-ErrorType: REST APIs send it, HTTP APIs do not
        "errorType": error.type.error_type if record.api is None or record.api.type == "REST" else None,
        "reason": error.reason,
    }


# -- the authorizer -------------------------------------------------------------------------------


def _sources(api: ApiConfig, config: AuthorizerConfig) -> list[IdentitySource]:
    default = "method.request.header.Authorization" if api.type == "REST" else "$request.header.Authorization"
    expressions = config.identity_source if config.identity_source is not None else [default]
    out = []
    for expression in expressions:
        try:
            out.append(parse_identity_source(expression, api.type))
        except ValueError:
            continue
    return out


def _authorizer(
    name: str,
    config: AuthorizerConfig,
    match: RouteMatch,
    record: RequestRecord,
    trace: DecisionTrace,
    detail: dict[str, Any],
    outcome: str,
    route: dict[str, Any] | None,
    *,
    account_id: str,
) -> dict[str, Any]:
    api = match.api.config
    evidence = trace.evidence or {}
    sources = _sources(api, config)
    values, missing = resolve(
        sources, record.request, match, account_id=account_id, join_repeats=api.type == "HTTP"
    )
    identity = [
        {"expression": s.expression, "value": values[i] if i < len(values) else None}
        for i, s in enumerate(sources)
    ]
    out: dict[str, Any] = {
        "name": name,
        "type": detail.get("type", config.type),
        "identitySources": identity,
        "outcome": outcome,
        "check": detail.get("check"),
        "error": detail.get("error"),
        "warning": detail.get("warning"),
    }
    if outcome == "not run":  # the request was refused before it (throttling)
        out.update({"cache": None, "checks": [], "policy": None})
        return out
    method_arn = evidence.get("method_arn") or (route or {}).get("methodArn", "")
    if config.type == "JWT":
        out.update(_jwt(config, api, match, record, detail, values, missing, evidence))
    else:
        out.update(_lambda(config, match, detail, values, missing, evidence, method_arn))
    return out


# -- JWT ------------------------------------------------------------------------------------------

_HTTP_JWT_CHECKS = (
    "identity",
    "format",
    "header",
    "alg",
    "kid",
    "signature",
    "iss",
    "aud",
    "exp",
    "nbf",
    "iat",
)
_REST_JWT_CHECKS = (
    *("identity", "format", "iss", "header", "alg", "kid", "signature", "aud", "exp", "nbf", "iat"),
    "claims",
)


def _b64_json(segment: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, binascii.Error):
        return None


def decode_unverified(token: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The token's header and claims, not verified (None where a segment is not base64url JSON)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None, None
    header, claims = _b64_json(parts[0]), _b64_json(parts[1])
    return (header if isinstance(header, dict) else None, claims if isinstance(claims, dict) else None)


def _jwt(
    config: AuthorizerConfig,
    api: ApiConfig,
    match: RouteMatch,
    record: RequestRecord,
    detail: dict[str, Any],
    values: list[str],
    missing: str | None,
    evidence: Mapping[str, Any],
) -> dict[str, Any]:
    token = values[0] if values else ""
    if token.startswith("Bearer "):
        token = token[7:]
    header, claims = decode_unverified(token) if token else (None, None)
    if record.authorizer is not None and record.authorizer.claims is not None:
        claims = record.authorizer.claims  # verified
    now = evidence.get("now")
    if not isinstance(now, int | float):
        now = record.request.time_epoch_ms / 1000
    rest = api.type == "REST"
    if rest:
        issuers = {i.issuer: i.audiences for i in config.issuers or []}
        algs = list(config.allowed_algorithms or ["RS256"])
    else:
        jwt = config.jwt_configuration
        issuers = {jwt.issuer: list(jwt.audience)} if jwt is not None else {}
        algs = list(config.allowed_algorithms or ["RS256", "RS384", "RS512"])
    iss = (claims or {}).get("iss")
    audiences = issuers.get(iss) if isinstance(iss, str) and iss in issuers else None
    if audiences is None and len(issuers) == 1:
        audiences = next(iter(issuers.values()))
    required = list(match.route.config.authorization_scopes)
    failed = detail.get("check")
    order = list(_REST_JWT_CHECKS if rest else _HTTP_JWT_CHECKS)
    if failed is not None and failed not in (*order, "scope", "token"):
        failed = "claims"  # a REST required claim, named by the claim
    if required or failed == "scope":
        order.append("scope")
    if not (rest and config.required_claims) and "claims" in order and failed != "claims":
        order.remove("claims")
    cached = detail.get("cache") == "hit"
    h = header or {}
    c = claims or {}
    say: dict[str, str] = {
        "identity": f"{missing} is missing or empty" if missing else "present",
        "format": "a compact JWS: header.payload.signature" if header is not None else "not a compact JWS",
        "header": ", ".join(f"{k}={h[k]}" for k in ("alg", "kid", "typ") if k in h) or "-",
        "alg": f"{h.get('alg')} (allowed: {', '.join(algs)})",
        "kid": f"{h.get('kid')!r} in the issuer's key set" if "kid" in h else "no kid in the header",
        "signature": "valid (verified by an earlier request: cached)" if cached else "valid",
        "iss": f"{c.get('iss')!r} (trusted: {', '.join(repr(i) for i in issuers) or '-'})",
        "aud": f"{_claim_text(c.get('aud', c.get('client_id')))} "
        f"(expected one of: {', '.join(audiences or [])})",
        "exp": _time_claim(c.get("exp"), now, "expires", "expired"),
        "nbf": _time_claim(c.get("nbf"), now, "valid from", "valid since"),
        "iat": _time_claim(c.get("iat"), now, "issued at (future)", "issued"),
        "claims": f"required: {_claim_text(config.required_claims)}",
        "scope": f"token scopes: {' '.join(token_scopes(c)) or '-'}; the route needs one of: "
        f"{' '.join(required) or '-'}",
    }
    checks = _checks(order, failed, say, detail.get("error"))
    return {
        "issuer": iss,
        "tokenHeader": header,
        "claims": claims,
        "cache": {
            "kind": "verified tokens",
            "state": detail.get("cache", "miss" if failed not in (None, "identity") else None),
            "key": "SHA-256 of the token",
            "ttlLeft": _seconds(c.get("exp"), now) if cached else None,
            "note": "a verified token is kept until its exp; the route's scopes are checked every time",
        },
        "checks": checks,
        "requiredScopes": required,
        "time": _iso(now),
    }


def _checks(
    order: Sequence[str], failed: str | None, say: Mapping[str, str], error: Any
) -> list[dict[str, Any]]:
    checks = []
    state = "pass"
    for name in order:
        if name == failed:
            text = say.get(name, "")
            checks.append({"check": name, "outcome": "fail", "detail": f"{text}: {error}" if error else text})
            state = "skipped"
            continue
        checks.append(
            {"check": name, "outcome": state, "detail": say.get(name, "") if state == "pass" else ""}
        )
    if failed is not None and failed not in order:
        checks.append({"check": failed, "outcome": "fail", "detail": str(error or "")})
    return checks


def _claim_text(value: Any) -> str:
    if value is None:
        return "absent"
    return value if isinstance(value, str) else json.dumps(value)


def _seconds(value: Any, now: float) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value - now)


def _time_claim(value: Any, now: float, future: str, past: str) -> str:
    if value is None:
        return "absent"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{value!r} (not a number)"
    delta = int(value - now)
    when = _iso(float(value))
    if delta > 0:
        return f"{when} ({future} in {delta} s)"
    return f"{when} ({past} {-delta} s before the request)"


# -- Lambda ---------------------------------------------------------------------------------------


def _lambda(
    config: AuthorizerConfig,
    match: RouteMatch,
    detail: dict[str, Any],
    values: list[str],
    missing: str | None,
    evidence: Mapping[str, Any],
    method_arn: str,
) -> dict[str, Any]:
    identity = evidence.get("identity")
    if isinstance(identity, list):
        values = identity
    failed = detail.get("check")
    ttl = config.result_ttl if config.result_ttl is not None else DEFAULT_TTL
    state = detail.get("cache")
    if state is None and failed not in (None, "identity", "identityValidationExpression"):
        state = "miss" if ttl > 0 else "off"
    cached = evidence.get("cached")
    result = evidence.get("result")
    if isinstance(cached, CachedResult):
        result = cached.result
    token_kind = config.type == "TOKEN"
    cache: dict[str, Any] = {
        "kind": "authorizer results",
        "state": state,
        "ttl": ttl,
        "key": {"stage": match.stage_name, "identity": values[0] if token_kind and values else values},
    }
    if isinstance(cached, CachedResult):
        left = evidence.get("ttl_left")
        cache["ttlLeft"] = int(left) if isinstance(left, int | float) else None
        cache["issuedFor"] = cached.issued_for
    elif state == "miss" and isinstance(result, LambdaAuthorizerResult):
        cache["ttlLeft"] = ttl
        cache["issuedFor"] = method_arn
        cache["note"] = "stored by this request"
    elif state == "miss":
        cache["note"] = "nothing stored: errors and refusals before a result are never cached"
    say: dict[str, str] = {
        "identity": f"{missing} is missing or empty" if missing and failed == "identity" else "present",
        "identityValidationExpression": f"the token must match {config.identity_validation_expression}",
        "cache": _cache_text(cache),
        "function": _function_text(config, detail, evidence, result, state),
        "policy": "",
    }
    order = ["identity"]
    if token_kind and config.identity_validation_expression is not None:
        order.append("identityValidationExpression")
    order += ["cache", "function"]
    if failed in ("function-error", "timeout", "output"):
        failed = "function"
    if state == "hit":
        say["function"] = f"not invoked: the cached result of {config.function} was used"
    out: dict[str, Any] = {"function": config.function, "cache": cache}
    policy = None
    if isinstance(result, LambdaAuthorizerResult):
        out["principalId"] = result.principal_id
        out["context"] = result.context
        if result.is_authorized is not None:
            order.append("isAuthorized")
            say["isAuthorized"] = f"simple response: isAuthorized {str(result.is_authorized).lower()}"
            if not result.is_authorized:
                failed = "isAuthorized"
        else:
            order.append("policy")
            policy = explain_policy(result.policy_document, method_arn)
            say["policy"] = policy["summary"]
            if policy["decision"] != "allow":
                failed = "policy"
    elif "output" in evidence:
        out["output"] = _jsonable_value(evidence["output"])
    if "function_error" in evidence:
        out["functionError"] = _jsonable_value(evidence["function_error"])
    out["checks"] = _checks(order, failed, say, detail.get("error") if failed == "function" else None)
    out["policy"] = policy
    return out


def _function_text(
    config: AuthorizerConfig,
    detail: Mapping[str, Any],
    evidence: Mapping[str, Any],
    result: Any,
    state: Any,
) -> str:
    check = detail.get("check")
    fn = config.function
    if check == "timeout":
        return f"{fn} timed out (500)"
    if check == "function":
        return f"{fn} raised Unauthorized (401)"
    if check == "function-error":
        return f"{fn} failed (500)"
    if check == "output":
        return f"{fn} returned an invalid result (500)"
    if isinstance(result, LambdaAuthorizerResult) and state != "hit":
        latency = evidence.get("latency_ms")
        took = f" in {latency} ms" if isinstance(latency, int) else ""
        return f"{fn} invoked{took}: principalId {result.principal_id!r}"
    return str(fn)


def explain_policy(policy_document: Any, method_arn: str) -> dict[str, Any]:
    """Every statement of ``policy_document`` judged for ``execute-api:Invoke`` on ``method_arn``, and
    the one that decided (:func:`gatehold.gateway.authorizers.policy.evaluate`'s rules)::

        {"decision": "allow" | "explicit-deny" | "implicit-deny", "statement": index | None,
         "summary": "…", "statements": [{index, effect, action, resource, actionMatches,
         resourceMatches, applies}], "methodArn": …}
    """
    try:
        decision = evaluate(policy_document, method_arn)
        statements = statements_of(policy_document)
    except PolicyError as exc:
        return {
            "decision": "error",
            "statement": None,
            "summary": str(exc),
            "statements": [],
            "methodArn": method_arn,
        }
    rows = []
    for i, st in enumerate(statements):
        match = match_statement(st, i, method_arn)
        not_action, not_resource = "NotAction" in st, match.not_resource
        action_ok, resource_ok = match.applies_to_action, match.applies_to_resource
        rows.append(
            {
                "index": i,
                "effect": st.get("Effect"),
                ("NotAction" if not_action else "Action"): st.get("NotAction" if not_action else "Action"),
                ("NotResource" if not_resource else "Resource"): st.get(
                    "NotResource" if not_resource else "Resource"
                ),
                "actionMatches": action_ok,
                "resourceMatches": resource_ok,
                "applies": action_ok and resource_ok,
                "why": _why(action_ok, resource_ok, match.resources_hit, not_resource, method_arn),
            }
        )
    index = decision.statement_index
    if decision.outcome == "allow":
        summary = f"allow: Statement[{index}] (Allow) covers the methodArn"
    elif decision.outcome == "explicit-deny":
        summary = f"explicit deny: Statement[{index}] (Deny) covers the methodArn; a Deny wins over any Allow"
    else:
        summary = "implicit deny: no statement allows the methodArn"
    return {
        "decision": decision.outcome,
        "statement": index,
        "summary": summary,
        "statements": rows,
        "methodArn": method_arn,
    }


def _why(action_ok: bool, resource_ok: bool, hits: Sequence[str], negated: bool, arn: str) -> str:
    if not action_ok:
        return "does not apply: its Action does not include execute-api:Invoke"
    if not resource_ok:
        return (
            "does not apply: the methodArn is one of its NotResource"
            if negated
            else ("does not apply: no Resource matches the methodArn")
        )
    if negated:
        return "applies: the methodArn is not in its NotResource"
    return "applies: the Resource is the methodArn" if hits[0] == arn else f"applies: {hits[0]} matches"


def _cache_text(cache: Mapping[str, Any]) -> str:
    state = cache.get("state")
    if state == "off":
        return "off (result TTL 0): the function runs for every request"
    if state == "hit":
        return f"hit: a result cached for this identity ({cache.get('ttlLeft')} s left)"
    if state == "miss":
        return f"miss: nothing cached for this identity and stage (TTL {cache.get('ttl')} s)"
    return str(state)


# -- helpers --------------------------------------------------------------------------------------


def _short(value: str, keep: int = 24) -> str:
    """A long identity value (a token) shortened for a line of text."""
    return value if len(value) <= 2 * keep + 1 else f"{value[:keep]}…{value[-8:]}"


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _text(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")


def _jsonable_value(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


def _jsonable(detail: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _jsonable_value(v) for k, v in detail.items()}
