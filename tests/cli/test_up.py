"""`gatehold up -c FILE` as a new user meets it: the demo single-page app only when FILE configures
it (issue 11, item 10)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.stackctl import Stack

OWN_CONFIG = """\
functions:
  hello:
    handler: app.hello
    code_path: .
apis:
  shop:
    type: HTTP
    routes:
      GET /hello:
        integration: {type: lambda, function: hello}
"""


def test_own_config_without_spa_section_serves_no_spa(
    tmp_path: Path, stack_factory: Callable[..., Stack]
) -> None:
    (tmp_path / "app.py").write_text("def hello(event, context):\n    return {'hello': 'world'}\n")
    config = tmp_path / "gatehold.yaml"
    config.write_text(OWN_CONFIG)
    stack = stack_factory(config)
    response = httpx.get(f"{stack.gateway_url}/shop/hello", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"hello": "world"}
    with pytest.raises(httpx.ConnectError):
        httpx.get(stack.spa_url, timeout=5)
    assert "single-page app" not in stack.output()


def test_handler_beside_the_config_needs_no_code_path(
    tmp_path: Path, stack_factory: Callable[..., Stack]
) -> None:
    (tmp_path / "app.py").write_text("def hello(event, context):\n    return {'beside': 'config'}\n")
    config = tmp_path / "gatehold.yaml"
    config.write_text(OWN_CONFIG.replace("    code_path: .\n", ""))
    stack = stack_factory(config)  # started from the test's working directory, not tmp_path
    response = httpx.get(f"{stack.gateway_url}/shop/hello", timeout=10)
    assert response.json() == {"beside": "config"}
