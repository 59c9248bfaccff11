"""What every integration is: ``await integration(request, match, authorizer) -> response``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from gatehold.gateway.model import AuthorizerOutcome, GatewayRequest, GatewayResponse, RouteMatch


@dataclass(slots=True)
class StreamedResponse:
    """A response whose body is streamed from an upstream (HTTP proxy); ``aclose`` releases it."""

    status: int
    headers: list[tuple[str, str]]
    body: AsyncIterator[bytes]
    aclose: Callable[[], Awaitable[None]]


class Integration(Protocol):
    async def __call__(
        self, request: GatewayRequest, match: RouteMatch, authorizer: AuthorizerOutcome | None
    ) -> GatewayResponse | StreamedResponse:
        """Run the integration; raise :class:`gatehold.errors.GatewayError` for AWS's 5xx responses."""
        ...
