"""The rules that span more than one key: every violation found, each at its own key path.

The schema (:mod:`gatehold.config.models`) checks each value where it stands; these checks look
across keys (a route naming an authorizer, a grant naming an application) and return *every*
problem, each with the key path of the value at fault, so ``gatehold check`` reports them all, each
at its own line. Pure: a typed configuration in, ``(key path, message)`` pairs out.
"""

from __future__ import annotations

from collections.abc import Iterator

from gatehold.config.models import (
    NODE_RUNTIMES,
    ApiConfig,
    GateholdConfig,
    LambdaIntegration,
    TenantConfig,
)
from gatehold.config.problems import KeyPath

Violation = tuple[KeyPath, str]


def check_config(config: GateholdConfig) -> list[Violation]:
    """Every cross-reference and consistency violation of ``config``."""
    out: list[Violation] = []
    out.extend(_functions(config))
    bases: dict[str, str] = {}
    for name, api in config.apis.items():
        base = api.base_path or f"/{name}"
        if base in bases:
            out.append(
                (("apis", name, "base_path"), f"APIs {bases[base]!r} and {name!r} share base path {base!r}")
            )
        bases.setdefault(base, name)
        out.extend(_api(name, api, config))
    out.extend(_usage_plans(config))
    out.extend(_tenant(config.tenant))
    if config.spa is not None:
        app = config.tenant.applications.get(config.spa.client_id)
        if app is None:
            out.append((("spa", "client_id"), f"names unknown application {config.spa.client_id!r}"))
        elif app.app_type != "spa":
            out.append((("spa", "client_id"), f"application {config.spa.client_id!r} is not of app_type spa"))
    return out


def _functions(config: GateholdConfig) -> Iterator[Violation]:
    for name, fn in config.functions.items():
        if not fn.runtime.startswith("nodejs"):
            continue
        if fn.runtime not in NODE_RUNTIMES:
            yield (
                ("functions", name, "runtime"),
                f"{fn.runtime} is not a Node.js runtime Lambda runs: {', '.join(NODE_RUNTIMES)}",
            )
        if fn.isolation in ("in-process", "thread"):
            yield (
                ("functions", name, "isolation"),
                f"a {fn.runtime} function runs in execution environments of its own (node processes):"
                " in-process isolation is for Python handlers",
            )


def _api(name: str, api: ApiConfig, config: GateholdConfig) -> Iterator[Violation]:
    at: KeyPath = ("apis", name)
    if api.type == "REST" and "stages" not in api.model_fields_set:
        yield at, "a REST API is served on a named stage: add stages (for example stages: {prod: {}})"
    if api.type == "HTTP":
        if api.binary_media_types:
            yield (
                (*at, "binary_media_types"),
                "binary media types exist only in REST APIs (HTTP APIs base64-encode by content type)",
            )
        if "api_key_source" in api.model_fields_set:
            yield (*at, "api_key_source"), "API keys exist only in REST APIs"
    if api.type == "REST":
        if "$default" in api.routes:
            yield (*at, "routes", "$default"), "'$default' routes exist only in HTTP APIs"
        if "$default" in api.stages and "stages" in api.model_fields_set:
            yield (
                (*at, "stages", "$default"),
                "REST API stages are named (the stage is the first path segment)",
            )
        if api.cors is not None:
            yield (
                (*at, "cors"),
                "REST APIs have no CORS configuration: add an OPTIONS route with a mock integration",
            )
    if api.type == "HTTP" and api.gateway_responses:
        yield (*at, "gateway_responses"), "custom gateway responses exist only in REST APIs"
    for stage_name, stage in api.stages.items():
        for route_key in stage.route_throttling:
            if route_key not in api.routes:
                yield (
                    (*at, "stages", stage_name, "route_throttling", route_key),
                    f"names unknown route {route_key!r}",
                )
    for key, route in api.routes.items():
        r: KeyPath = (*at, "routes", key)
        if api.type == "HTTP" and route.api_key_required:
            yield (*r, "api_key_required"), "API keys (api_key_required) exist only in REST APIs"
        if api.type == "HTTP" and route.request_validation is not None:
            yield (*r, "request_validation"), "request validation exists only in REST APIs"
        if route.authorizer is not None and route.authorizer not in api.authorizers:
            yield (*r, "authorizer"), f"names authorizer {route.authorizer!r}, which is not defined"
        if route.authorization_scopes and route.authorizer is None:
            yield (*r, "authorization_scopes"), "authorization_scopes need an authorizer"
        integ = route.integration
        if isinstance(integ, LambdaIntegration):
            if integ.function not in config.functions:
                yield (*r, "integration", "function"), f"names unknown function {integ.function!r}"
            if api.type == "REST" and integ.payload_format_version not in (None, "1.0"):
                yield (
                    (*r, "integration", "payload_format_version"),
                    "REST Lambda proxy integrations use payload format 1.0",
                )
    for aname, auth in api.authorizers.items():
        a: KeyPath = (*at, "authorizers", aname)
        if api.type == "HTTP" and auth.type == "TOKEN":
            yield (*a, "type"), "HTTP APIs have no TOKEN authorizers (use REQUEST)"
        if api.type == "REST" and auth.jwt_configuration is not None:
            yield (*a, "jwt_configuration"), "REST JWT authorizers use 'issuers'"
        if api.type == "HTTP" and auth.issuers is not None:
            yield (*a, "issuers"), "HTTP JWT authorizers use 'jwt_configuration'"
        if api.type == "REST" and auth.type == "REQUEST" and auth.payload_format_version is not None:
            yield (*a, "payload_format_version"), "payload_format_version applies to HTTP APIs only"
        if auth.function and auth.function not in config.functions:
            yield (*a, "function"), f"names unknown function {auth.function!r}"


def _usage_plans(config: GateholdConfig) -> Iterator[Violation]:
    for plan_name, plan in config.gateway.usage_plans.items():
        for i, ref in enumerate(plan.api_stages):
            at: KeyPath = ("gateway", "usage_plans", plan_name, "api_stages", i)
            api_name, _, stage = ref.partition("/")
            if api_name not in config.apis or stage not in config.apis[api_name].stages:
                yield at, f"names unknown API stage {ref!r}"
            elif config.apis[api_name].type != "REST":
                yield at, f"usage plans exist only for REST APIs ({ref!r})"


def _tenant(tenant: TenantConfig) -> Iterator[Violation]:
    audiences = {a.identifier for a in tenant.apis}
    connections = {c.name for c in tenant.connections}
    for i, grant in enumerate(tenant.client_grants):
        at: KeyPath = ("tenant", "client_grants", i)
        if grant.client_id not in tenant.applications:
            yield (*at, "client_id"), f"names unknown application {grant.client_id!r}"
        if grant.audience not in audiences:
            yield (*at, "audience"), f"names unknown API {grant.audience!r}"
    for name, role in tenant.roles.items():
        for aud in role.permissions:
            if aud not in audiences:
                yield ("tenant", "roles", name, "permissions", aud), f"names unknown API {aud!r}"
    for app_name, app in tenant.applications.items():
        for i, connection in enumerate(app.connections or ()):
            if connection not in connections:
                yield (
                    ("tenant", "applications", app_name, "connections", i),
                    f"unknown connection {connection!r}",
                )
    for i, user in enumerate(tenant.users):
        if user.connection not in connections:
            yield ("tenant", "users", i, "connection"), f"unknown connection {user.connection!r}"
        for j, role_name in enumerate(user.roles):
            if role_name not in tenant.roles:
                yield ("tenant", "users", i, "roles", j), f"unknown role {role_name!r}"
