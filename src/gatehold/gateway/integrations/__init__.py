"""Integrations: Lambda proxy, HTTP proxy, HTTP (non-proxy) and mock, built once per route.

:func:`build_integration` is the one place a route's integration config becomes its handler;
:func:`check_integrations` builds them all without IO so that ``gatehold check`` (and ``gatehold up``
before it listens) reports every integration it cannot honour at its file, line and key path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import httpx

from gatehold.config.loader import ConfigError, ConfigProblem, LoadedConfig
from gatehold.config.models import HttpIntegration, HttpProxyIntegration, LambdaIntegration, MockIntegration
from gatehold.gateway.integrations.base import Integration
from gatehold.gateway.integrations.http import HttpIntegrationHandler, apply_upstreams
from gatehold.gateway.integrations.http_proxy import HttpProxyIntegrationHandler
from gatehold.gateway.integrations.lambda_proxy import LambdaProxyIntegration
from gatehold.gateway.integrations.mock import MockIntegrationHandler
from gatehold.gateway.model import CompiledApi
from gatehold.runtime.contract import Invoker

IntegrationConfig = LambdaIntegration | HttpProxyIntegration | HttpIntegration | MockIntegration


def build_integration(
    api: CompiledApi,
    config: IntegrationConfig,
    invoker: Invoker,
    http_client: httpx.AsyncClient,
    *,
    account_id: str,
    upstreams: Mapping[str, str] | None = None,
) -> Integration:
    """The handler of one route's integration; ValueError for settings it cannot honour.
    ``upstreams`` (``gateway.upstreams``) rewrites http and http_proxy URIs."""
    if upstreams and isinstance(config, HttpProxyIntegration | HttpIntegration):
        config = config.model_copy(update={"uri": apply_upstreams(config.uri, upstreams)})
    if isinstance(config, LambdaIntegration):
        return LambdaProxyIntegration(api, config, invoker, account_id=account_id)
    if isinstance(config, HttpProxyIntegration):
        return HttpProxyIntegrationHandler(api, config, http_client)
    if isinstance(config, HttpIntegration):
        return HttpIntegrationHandler(api, config, http_client)
    return MockIntegrationHandler(config)


def check_integrations(loaded: LoadedConfig) -> None:
    """Build every route's integration without IO; :class:`ConfigError` lists every failure."""
    from gatehold.gateway.routing import compile_api

    problems: list[ConfigProblem] = []
    settings = loaded.config.gateway
    for name, api_config in loaded.config.apis.items():
        try:
            api = compile_api(name, api_config).api
        except ValueError:
            continue  # the route compiler reports it
        for key, route in api_config.routes.items():
            try:
                build_integration(
                    api,
                    route.integration,
                    cast(Invoker, None),
                    cast(httpx.AsyncClient, None),
                    account_id=settings.account_id,
                    upstreams=settings.upstreams,
                )
            except ValueError as exc:
                problems.append(loaded.problem(("apis", name, "routes", key, "integration"), str(exc)))
    if problems:
        raise ConfigError(problems)


__all__ = ["Integration", "IntegrationConfig", "build_integration", "check_integrations"]
