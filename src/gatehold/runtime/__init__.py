"""The Python Lambda runtime: handlers loaded once, kept warm, run in threads or worker processes.

``build_invoker(loaded)`` is the entry point (see :mod:`gatehold.runtime.invoker`). Imports are lazy
so that a worker process (:mod:`gatehold.runtime.worker`) starts without loading the gateway's
configuration stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gatehold.runtime.context import LambdaContext
    from gatehold.runtime.contract import InvocationResult, Invoker
    from gatehold.runtime.invoker import LambdaInvoker, build_invoker

__all__ = ["InvocationResult", "Invoker", "LambdaContext", "LambdaInvoker", "build_invoker"]

_LAZY = {
    "build_invoker": "gatehold.runtime.invoker",
    "LambdaInvoker": "gatehold.runtime.invoker",
    "LambdaContext": "gatehold.runtime.context",
    "InvocationResult": "gatehold.runtime.contract",
    "Invoker": "gatehold.runtime.contract",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gatehold.runtime' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
