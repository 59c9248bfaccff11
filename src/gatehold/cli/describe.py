"""The effective API of a loaded configuration, as data: what ``gatehold check`` prints (text or
JSON) and what ``gatehold up`` shows at start-up.

Each API with its type, base path and invoke URL per stage; each route with its URL, integration and
authorizer; each function with its handler and code; then what the importers ignored or adapted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from gatehold.config.loader import LoadedConfig
from gatehold.config.models import (
    ApiConfig,
    AuthorizerConfig,
    HttpIntegration,
    HttpProxyIntegration,
    LambdaIntegration,
    RouteConfig,
)


@dataclass(frozen=True)
class RouteView:
    route_key: str
    urls: list[str]
    integration: str
    authorizer: str
    where: str


@dataclass(frozen=True)
class ApiView:
    name: str
    type: str
    base_path: str
    stages: dict[str, str]  # stage → invoke URL
    routes: list[RouteView] = field(default_factory=list)
    cors: bool = False


def stage_url(gateway_url: str, base_path: str, stage: str) -> str:
    """The invoke URL of a stage, like the console's: REST and named HTTP stages take the stage as
    the first segment below the API mapping; the HTTP ``$default`` stage takes none."""
    base = "" if base_path == "/" else base_path
    return f"{gateway_url}{base}/" if stage == "$default" else f"{gateway_url}{base}/{stage}/"


def route_url(stage_invoke_url: str, route_key: str) -> str:
    if route_key == "$default":
        return stage_invoke_url + "{anything}"
    _, _, path = route_key.partition(" ")
    return stage_invoke_url.rstrip("/") + path


def integration_text(route: RouteConfig, functions: dict[str, Any]) -> str:
    integ = route.integration
    if isinstance(integ, LambdaIntegration):
        fn = functions.get(integ.function)
        handler = f" ({fn.handler})" if fn is not None else ""
        version = f", payload {integ.payload_format_version}" if integ.payload_format_version else ""
        return f"Lambda {integ.function}{handler}{version}"
    if isinstance(integ, HttpProxyIntegration):
        return f"HTTP proxy {integ.method} {integ.uri}"
    if isinstance(integ, HttpIntegration):
        return f"HTTP {integ.method} {integ.uri}"
    return f"mock {integ.status_code}"


def authorizer_text(api: ApiConfig, route: RouteConfig) -> str:
    parts: list[str] = []
    if route.authorizer is None:
        parts.append("no authorizer")
    else:
        auth: AuthorizerConfig = api.authorizers[route.authorizer]
        if auth.type == "JWT":
            if auth.jwt_configuration is not None:
                jwt = auth.jwt_configuration
                issuers = f"issuer {jwt.issuer}, audience {' '.join(jwt.audience)}"
            else:
                issuers = "; ".join(
                    f"issuer {i.issuer}, audience {' '.join(i.audiences)}" for i in auth.issuers or []
                )
            parts.append(f"JWT authorizer {route.authorizer} ({issuers})")
        else:
            ttl = auth.result_ttl if auth.result_ttl is not None else 300
            parts.append(
                f"Lambda {auth.type} authorizer {route.authorizer} → function {auth.function}, cache {ttl} s"
            )
        if route.authorization_scopes:
            parts.append("scopes " + " ".join(route.authorization_scopes))
    if route.api_key_required:
        parts.append("API key")
    return ", ".join(parts)


def describe(loaded: LoadedConfig, gateway_url: str) -> list[ApiView]:
    config = loaded.config
    views: list[ApiView] = []
    for name, api in config.apis.items():
        base = api.base_path or f"/{name}"
        stages = {stage: stage_url(gateway_url, base, stage) for stage in api.stages}
        view = ApiView(name=name, type=api.type, base_path=base, stages=stages, cors=api.cors is not None)
        for key, route in api.routes.items():
            view.routes.append(
                RouteView(
                    route_key=key,
                    urls=[route_url(url, key) for url in stages.values()],
                    integration=integration_text(route, config.functions),
                    authorizer=authorizer_text(api, route),
                    where=str(loaded.where("apis", name, "routes", key)),
                )
            )
        views.append(view)
    return views


def as_json(loaded: LoadedConfig, gateway_url: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "file": str(loaded.path),
        "format": loaded.format,
        "apis": [asdict(v) for v in describe(loaded, gateway_url)],
        "functions": {
            name: {"handler": fn.handler, "runtime": fn.runtime, "code_path": fn.code_path}
            for name, fn in loaded.config.functions.items()
        },
        "ignored": [{"where": str(f.ref), "message": f.message} for f in loaded.ignored],
        "notes": [{"where": str(f.ref), "message": f.message} for f in loaded.notes],
        **(extra or {}),
    }
