"""The default grace period of a stop: the longest a route of the configuration can take
(gatehold.server.default_graceful_timeout), from the same settings the gateway applies."""

from __future__ import annotations

from typing import Any

import pytest

from gatehold.config import LoadedConfig
from gatehold.config.models import GateholdConfig
from gatehold.server import GRACE_FLOOR_S, GRACE_MARGIN_S, default_graceful_timeout


def _loaded(
    api_type: str, routes: dict[str, Any], functions: dict[str, Any] | None = None, **api: Any
) -> LoadedConfig:
    raw = {
        "functions": {
            name: {"handler": f"m.{name}", **settings} for name, settings in (functions or {}).items()
        },
        "apis": {"a": {"type": api_type, "routes": routes, **api}},
    }
    return LoadedConfig(GateholdConfig.model_validate(raw), None)


def _lambda(function: str, **extra: Any) -> dict[str, Any]:
    return {"integration": {"type": "lambda", "function": function, **extra}}


HTTP = {"integration": {"type": "http_proxy", "uri": "http://upstream/{proxy}"}}
MOCK = {"integration": {"type": "mock"}}


@pytest.mark.parametrize(
    ("loaded", "grace"),
    [
        pytest.param(_loaded("HTTP", {"GET /m": MOCK}), GRACE_FLOOR_S, id="mock-only-the-floor"),
        pytest.param(
            _loaded("HTTP", {"GET /f": _lambda("f")}, {"f": {"timeout": 3}}),
            GRACE_FLOOR_S,
            id="short-function-floor",
        ),
        pytest.param(
            _loaded("HTTP", {"GET /f": _lambda("f")}, {"f": {"timeout": 20}}),
            20 + GRACE_MARGIN_S,
            id="function-timeout",
        ),
        pytest.param(
            _loaded("HTTP", {"GET /f": _lambda("f")}, {"f": {"timeout": 900}}),
            30 + GRACE_MARGIN_S,
            id="http-api-integration-cap",
        ),
        pytest.param(
            _loaded("REST", {"GET /f": _lambda("f")}, {"f": {"timeout": 900}}),
            29 + GRACE_MARGIN_S,
            id="rest-integration-cap",
        ),
        pytest.param(
            _loaded("HTTP", {"GET /f": _lambda("f", timeout_ms=12000)}, {"f": {"timeout": 900}}),
            12 + GRACE_MARGIN_S,
            id="route-timeout-ms",
        ),
        pytest.param(_loaded("REST", {"GET /h": HTTP}), 29 + GRACE_MARGIN_S, id="http-proxy-cap"),
        pytest.param(
            _loaded(
                "REST",
                {"GET /f": {**_lambda("f"), "authorizer": "tok"}},
                {"f": {"timeout": 15}, "auth": {"timeout": 5}},
                authorizers={"tok": {"type": "TOKEN", "function": "auth"}},
            ),
            15 + 5 + GRACE_MARGIN_S,
            id="lambda-authorizer-then-function",
        ),
        pytest.param(
            _loaded(
                "HTTP",
                {"GET /f": {**_lambda("f"), "authorizer": "req"}},
                {"f": {"timeout": 15}, "auth": {"timeout": 60}},
                authorizers={"req": {"type": "REQUEST", "function": "auth"}},
            ),
            15 + 10 + GRACE_MARGIN_S,
            id="http-authorizer-deadline",
        ),
    ],
)
def test_default_graceful_timeout(loaded: LoadedConfig, grace: float) -> None:
    assert default_graceful_timeout(loaded) == grace
