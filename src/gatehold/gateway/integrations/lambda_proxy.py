"""Lambda proxy integration (``AWS_PROXY``): build the event, invoke, map the result.

Payload 1.0 for REST APIs, 1.0 or 2.0 (default) for HTTP APIs (docs/aws-reference.md §2, §3.6, §3.7).
The integration timeout is API Gateway's cap (REST 29 s, HTTP 30 s) or the route's ``timeout_ms``
when smaller; when it passes the client gets REST 504 / HTTP 503, a function error or a malformed
result REST 502 / HTTP 500, and an invocation Lambda refused (throttled) 500 on both.
"""

from __future__ import annotations

from gatehold.config.models import LambdaIntegration
from gatehold.errors import GatewayError, GatewayResponseType
from gatehold.gateway.events import proxy_event_v1, proxy_event_v2, uuid4_text
from gatehold.gateway.model import AuthorizerOutcome, CompiledApi, GatewayRequest, GatewayResponse, RouteMatch
from gatehold.gateway.responses import (
    REST_INTEGRATION_FAILURE_BODY,
    integration_failure,
    integration_timeout,
    map_response_v1,
    map_response_v2,
)
from gatehold.runtime.contract import Invoker

REST_TIMEOUT_CAP_S = 29.0
HTTP_TIMEOUT_CAP_S = 30.0


class LambdaProxyIntegration:
    def __init__(
        self, api: CompiledApi, config: LambdaIntegration, invoker: Invoker, *, account_id: str
    ) -> None:
        self.function = config.function
        self.api_type = api.type
        self.payload_v2 = api.type == "HTTP" and (config.payload_format_version or "2.0") == "2.0"
        cap = REST_TIMEOUT_CAP_S if api.type == "REST" else HTTP_TIMEOUT_CAP_S
        self.deadline_s = min(cap, config.timeout_ms / 1000) if config.timeout_ms else cap
        self.binary_media_types = tuple(api.config.binary_media_types)
        self.account_id = account_id
        self.invoker = invoker

    async def __call__(
        self, request: GatewayRequest, match: RouteMatch, authorizer: AuthorizerOutcome | None
    ) -> GatewayResponse:
        if self.payload_v2:
            event = proxy_event_v2(request, match, account_id=self.account_id, authorizer=authorizer)
        else:
            event = proxy_event_v1(
                request,
                match,
                account_id=self.account_id,
                authorizer=authorizer,
                binary_media_types=self.binary_media_types,
                api_key=request.api_key,
            )
        # Lambda's own request id for the invocation: a fresh UUID, as Lambda assigns (the same
        # as runtime.contract.new_invocation_id, without uuid4()'s getrandom() syscall and object)
        result = await self.invoker.invoke(
            self.function, event, request_id=uuid4_text(), deadline_s=self.deadline_s
        )
        if result.integration_timeout:
            raise integration_timeout(self.api_type, f"function {self.function} did not answer in time")
        if result.status_code != 200:
            # Lambda refused the invocation (throttled: TooManyRequestsException): API Gateway
            # answers 500 {"message": "Internal server error"}, not the 502 of a function error
            raise GatewayError(
                GatewayResponseType.INTEGRATION_FAILURE,
                body=REST_INTEGRATION_FAILURE_BODY if self.api_type == "REST" else None,
                status=500,
                reason=f"Lambda invocation failed with status: {result.status_code}"
                f" ({result.error.get('errorType') if result.error else ''})",
            )
        if result.error is not None:
            raise integration_failure(
                self.api_type, f"function {self.function} failed: {result.error.get('errorType')}"
            )
        if self.payload_v2:
            return map_response_v2(result.payload)
        return map_response_v1(
            result.payload,
            api_type=self.api_type,
            accept=request.header("accept"),
            binary_media_types=self.binary_media_types,
        )
