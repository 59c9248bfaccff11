"""Errors that carry their wire meaning.

::

    GatewayError                 an API Gateway response type (REST) and its HTTP API equivalent
    OAuthError                   an OAuth 2.0 / OIDC ``error`` code and status (see gatehold.idp.errors)

A :class:`GatewayError` is raised anywhere in the request pipeline and turned into an HTTP response
in exactly one place (:func:`gatehold.gateway.gateway_responses.render`), which knows the exact
bytes AWS sends for each type and API kind (reference: docs/aws-reference.md §1.5, §2.3, §3.8, §6).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


@dataclass(frozen=True)
class _ResponseTypeInfo:
    status: int
    error_type: str | None  # x-amzn-ErrorType (REST only)
    message: str | None  # default $context.error.message


class GatewayResponseType(Enum):
    """REST gateway response types with AWS's default status, ``x-amzn-ErrorType`` and message."""

    ACCESS_DENIED = _ResponseTypeInfo(
        403, "AccessDeniedException", "User is not authorized to access this resource"
    )
    API_CONFIGURATION_ERROR = _ResponseTypeInfo(500, "ApiConfigurationException", "Internal server error")
    AUTHORIZER_CONFIGURATION_ERROR = _ResponseTypeInfo(500, "AuthorizerConfigurationException", None)
    AUTHORIZER_FAILURE = _ResponseTypeInfo(500, "AuthorizerFailureException", None)
    BAD_REQUEST_PARAMETERS = _ResponseTypeInfo(400, "BadRequestException", "Bad request parameters")
    BAD_REQUEST_BODY = _ResponseTypeInfo(400, "BadRequestException", "Invalid request body")
    EXPIRED_TOKEN = _ResponseTypeInfo(
        403, "ExpiredTokenException", "The security token included in the request is expired"
    )
    INTEGRATION_FAILURE = _ResponseTypeInfo(502, "InternalServerErrorException", "Internal server error")
    INTEGRATION_TIMEOUT = _ResponseTypeInfo(504, "InternalServerErrorException", "Endpoint request timed out")
    INVALID_API_KEY = _ResponseTypeInfo(403, "ForbiddenException", "Forbidden")
    INVALID_SIGNATURE = _ResponseTypeInfo(403, "InvalidSignatureException", "Invalid signature")
    MISSING_AUTHENTICATION_TOKEN = _ResponseTypeInfo(
        403, "MissingAuthenticationTokenException", "Missing Authentication Token"
    )
    QUOTA_EXCEEDED = _ResponseTypeInfo(429, "LimitExceededException", "Limit Exceeded")
    REQUEST_TOO_LARGE = _ResponseTypeInfo(413, "RequestTooLargeException", "Request Too Long")
    RESOURCE_NOT_FOUND = _ResponseTypeInfo(404, "NotFoundException", "Not Found")
    THROTTLED = _ResponseTypeInfo(429, "TooManyRequestsException", "Too Many Requests")
    UNAUTHORIZED = _ResponseTypeInfo(401, "UnauthorizedException", "Unauthorized")
    UNSUPPORTED_MEDIA_TYPE = _ResponseTypeInfo(415, "UnsupportedMediaTypeException", "Unsupported Media Type")
    WAF_FILTERED = _ResponseTypeInfo(403, "WAFFilteredException", "Forbidden")

    @property
    def status(self) -> int:
        return self.value.status

    @property
    def error_type(self) -> str | None:
        return self.value.error_type

    @property
    def default_message(self) -> str | None:
        return self.value.message


@dataclass
class GatewayError(Exception):
    """A gateway-generated response.

    ``message`` overrides the type's default message (``None`` renders JSON ``null``). ``headers`` are
    added to the response (e.g. ``www-authenticate`` for JWT authorizers). ``body`` forces exact bytes
    where AWS's body is not the ``{"message":…}`` template (the authorizer deny bodies with a capital
    ``M``, the REST integration failures with a space after the colon).
    """

    type: GatewayResponseType
    message: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    status: int | None = None
    use_default_message: bool = True
    reason: str = ""  # for the decision trace and logs; never sent to the client

    def __post_init__(self) -> None:
        super().__init__(self.reason or self.type.name)

    @property
    def message_text(self) -> str | None:
        if self.message is not None:
            return self.message
        return self.type.default_message if self.use_default_message else None
