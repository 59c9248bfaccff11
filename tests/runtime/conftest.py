"""Fixtures for the runtime tests: real invokers, closed after each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from gatehold.runtime import LambdaInvoker, build_invoker
from tests.runtime.support import load

MakeInvoker = Callable[..., LambdaInvoker]


@pytest.fixture
async def make_invoker() -> AsyncIterator[MakeInvoker]:
    made: list[LambdaInvoker] = []

    def make(functions: dict[str, Any], *, isolation: str = "in-process", **gateway: Any) -> LambdaInvoker:
        invoker = build_invoker(load(functions, isolation=isolation, **gateway))
        made.append(invoker)
        return invoker

    yield make
    for invoker in made:
        await invoker.aclose()
