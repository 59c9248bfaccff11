"""Identity sources: where an authorizer finds the caller's identity in a request.

REST APIs (docs/aws-reference.md §1.1, §1.2): ``method.request.header.X`` (case-insensitive),
``method.request.querystring.X`` (case-sensitive), ``stageVariables.X``, ``context.X``. A TOKEN
authorizer has exactly one, a header. HTTP APIs (§3.5): ``$request.header.X``,
``$request.querystring.X``, ``$context.X``, ``$stageVariables.X``.

A source that is absent, null or empty counts as missing: the authorizer answers 401 without
invoking anything. Path parameters cannot be identity sources (AWS refuses them), so neither do we.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl

from gatehold.gateway.model import GatewayRequest, RouteMatch

Part = Literal["header", "querystring", "stageVariables", "context"]

_REST = re.compile(
    r"^(?:method\.request\.(?P<part>header|querystring)\.(?P<name>[^\s,]+)"
    r"|(?P<scope>stageVariables|context)\.(?P<var>[A-Za-z0-9_.$-]+))$"
)
_HTTP = re.compile(
    r"^(?:\$request\.(?P<part>header|querystring)\.(?P<name>[^\s,]+)"
    r"|\$(?P<scope>stageVariables|context)\.(?P<var>[A-Za-z0-9_.$-]+))$"
)


@dataclass(frozen=True, slots=True)
class IdentitySource:
    expression: str
    part: Part
    name: str

    @property
    def lower_name(self) -> str:
        return self.name.lower()


def header_values(request: GatewayRequest, lower_name: str) -> list[str]:
    return [v for k, v in request.headers if k.lower() == lower_name]


def parse_identity_source(expression: str, api_type: str) -> IdentitySource:
    """``"method.request.header.Authorization"`` → ``IdentitySource(…, "header", "Authorization")``.

    Raises ValueError naming the accepted forms for the API type.
    """
    m = (_REST if api_type == "REST" else _HTTP).match(expression.strip())
    if m is None:
        forms = (
            "method.request.header.NAME, method.request.querystring.NAME, stageVariables.NAME, context.NAME"
            if api_type == "REST"
            else "$request.header.NAME, $request.querystring.NAME, $context.NAME, $stageVariables.NAME"
        )
        raise ValueError(f"identity source {expression!r} is not one of {forms}")
    if m.group("part"):
        part: Part = "header" if m.group("part") == "header" else "querystring"
        return IdentitySource(expression, part, m.group("name"))
    scope: Part = "stageVariables" if m.group("scope") == "stageVariables" else "context"
    return IdentitySource(expression, scope, m.group("var"))


def context_variable(name: str, request: GatewayRequest, match: RouteMatch, account_id: str) -> str | None:
    """The ``$context`` variables an identity source may name (a useful subset of AWS's list)."""
    values: dict[str, str | None] = {
        "requestId": request.request_id,
        "extendedRequestId": request.request_id,
        "apiId": match.api.api_id,
        "accountId": account_id,
        "stage": match.stage_name,
        "routeKey": match.route.route_key,
        "resourcePath": match.route.resource_path,
        "resourceId": match.route.resource_id,
        "httpMethod": request.method,
        "path": match.stage_path,
        "protocol": request.protocol,
        "domainName": request.host,
        "identity.sourceIp": request.source_ip,
        "identity.userAgent": request.header("user-agent"),
        "http.method": request.method,
        "http.path": match.stage_path,
        "http.protocol": request.protocol,
        "http.sourceIp": request.source_ip,
        "http.userAgent": request.header("user-agent"),
    }
    return values.get(name)


def resolve(
    sources: Sequence[IdentitySource],
    request: GatewayRequest,
    match: RouteMatch,
    *,
    account_id: str,
    join_repeats: bool,
) -> tuple[list[str], str | None]:
    """The identity values in configured order, and the first missing source (or None).

    ``join_repeats``: HTTP APIs join repeated headers / query parameters with commas (as in their
    events); REST takes the last value.
    """
    values: list[str] = []
    query: list[tuple[str, str]] | None = None
    for source in sources:
        value: str | None
        if source.part == "header":
            lname = source.name.lower()
            found = [v for k, v in request.headers if k.lower() == lname]
            value = (",".join(found) if join_repeats else found[-1]) if found else None
        elif source.part == "querystring":
            if query is None:
                query = parse_qsl(request.query_string, keep_blank_values=True)
            found = [v for k, v in query if k == source.name]
            value = (",".join(found) if join_repeats else found[-1]) if found else None
        elif source.part == "stageVariables":
            value = match.stage.variables.get(source.name)
        else:
            value = context_variable(source.name, request, match, account_id)
        if not value:
            return values, source.expression
        values.append(value)
    return values, None
