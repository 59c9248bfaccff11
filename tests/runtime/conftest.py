"""Fixtures for the runtime tests: build a real invoker from a `functions:` mapping."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from gatehold.config import LoadedConfig, parse_config
from gatehold.runtime import LambdaInvoker, build_invoker

HERE = Path(__file__).parent

MakeInvoker = Callable[..., LambdaInvoker]


def load(functions: dict[str, Any], *, isolation: str = "thread", **gateway: Any) -> LoadedConfig:
    """A LoadedConfig as if read from tests/runtime/gatehold.yaml (so code_path is relative to here)."""
    text = yaml.safe_dump({"functions": functions, "gateway": {"isolation": isolation, **gateway}})
    config, lines = parse_config(text, file=str(HERE / "gatehold.yaml"))
    return LoadedConfig(config=config, path=HERE / "gatehold.yaml", lines=lines)


def probe(handler: str, **options: Any) -> dict[str, Any]:
    return {"handler": f"rt_probe.{handler}", "code_path": "handlers", **options}


@pytest.fixture
async def make_invoker() -> AsyncIterator[MakeInvoker]:
    made: list[LambdaInvoker] = []

    def make(functions: dict[str, Any], *, isolation: str = "thread", **gateway: Any) -> LambdaInvoker:
        invoker = build_invoker(load(functions, isolation=isolation, **gateway))
        made.append(invoker)
        return invoker

    yield make
    for invoker in made:
        await invoker.aclose()
