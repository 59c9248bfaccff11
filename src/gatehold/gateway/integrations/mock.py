"""Mock integration: a static status, headers and body.

The body may use ``$context.stage``, ``$context.requestId`` (and the other ``$context`` names below)
and ``$stageVariables.x``, substituted per request like the PetStore example's root page
(docs/aws-reference.md §5.5). A body without ``$`` is encoded once. An unknown or null variable renders
empty. The importers refuse response templates that need real VTL (``#if``, ``$input``, ``$util``).
"""

from __future__ import annotations

from gatehold.config.models import MockIntegration
from gatehold.gateway.context_template import ContextTemplate, ContextValue
from gatehold.gateway.events import clf_time, extended_request_id
from gatehold.gateway.model import AuthorizerOutcome, GatewayRequest, GatewayResponse, RouteMatch


class MockIntegrationHandler:
    def __init__(self, config: MockIntegration) -> None:
        self.status = config.status_code
        headers = list(config.headers.items())
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", "application/json"))
        self.headers = headers
        self.template = ContextTemplate.compile(config.body) if "$" in config.body else None
        self.static_body = config.body.encode("utf-8")

    async def __call__(
        self, request: GatewayRequest, match: RouteMatch, authorizer: AuthorizerOutcome | None
    ) -> GatewayResponse:
        body = self.static_body
        if self.template is not None:
            context: dict[str, ContextValue] = {
                "stage": match.stage_name,
                "requestId": request.request_id,
                "extendedRequestId": extended_request_id(request.request_id),
                "domainName": request.host,
                "protocol": request.protocol,
                "requestTime": clf_time(request.time_epoch_ms),
                "requestTimeEpoch": request.time_epoch_ms,
                "identity.userAgent": request.header("user-agent"),
                "apiId": match.api.api_id,
                "httpMethod": request.method,
                "path": match.stage_path,
                "resourcePath": match.route.resource_path,
                "resourceId": match.route.resource_id,
                "identity.sourceIp": request.source_ip,
                "authorizer.principalId": authorizer.principal_id if authorizer else None,
            }
            body = self.template.render(context, match.stage.variables).encode("utf-8")
        return GatewayResponse(self.status, list(self.headers), body)
