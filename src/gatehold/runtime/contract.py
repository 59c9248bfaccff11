"""What the gateway needs from the Lambda runtime: invoke a named function with an event.

The gateway and the authorizers depend only on :class:`Invoker`; the runtime package provides the
in-process (threads) and worker-process implementations.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol


def new_invocation_id() -> str:
    """A Lambda request id (``context.aws_request_id``): Lambda assigns a fresh UUID to every
    invocation; it is not API Gateway's ``requestContext.requestId``."""
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class InvocationResult:
    """The outcome of one invocation, as Lambda's Invoke API reports it.

    * success: ``payload`` is the handler's JSON-serialisable return value, ``error`` is None;
    * function error: ``error`` is ``{"errorMessage", "errorType", "stackTrace"}`` (Lambda's shape;
      a handler that exceeded its own ``timeout`` gets ``errorMessage`` "Task timed out after N.NN
      seconds"), and the traceback has been logged, never returned to a client;
    * ``integration_timeout``: the caller's deadline passed before the function answered
      (API Gateway's 29 s / 30 s integration timeout, or the route's ``timeout_ms``);
    * ``status_code``: what Lambda's Invoke API answered. 200 when the function ran, whether it
      succeeded or failed; 429 when the invocation was refused (``TooManyRequestsException``: the
      function's concurrency is used up), 404 for an unknown function (``ResourceNotFoundException``);
      ``error`` then holds the refusal. API Gateway answers 500 for a refused invocation and 502
      (REST) for a function error.
    """

    payload: Any = None
    error: dict[str, Any] | None = None
    integration_timeout: bool = False
    duration_ms: float = 0.0
    status_code: int = 200


class Invoker(Protocol):
    async def invoke(
        self, function_name: str, event: Any, *, request_id: str, deadline_s: float | None = None
    ) -> InvocationResult:
        """Run ``function_name`` with ``event``; ``deadline_s`` bounds the wait (integration timeout)."""
        ...

    async def aclose(self) -> None: ...
