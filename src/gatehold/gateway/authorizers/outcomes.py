"""The refusals an authorizer raises, as :class:`~gatehold.errors.GatewayError` with AWS's bytes.

REST APIs (docs/aws-reference.md §1.5): 401 ``{"message":"Unauthorized"}``; explicit deny 403
``{"Message":"User is not authorized to access this resource with an explicit deny"}``; implicit deny
403 ``{"Message":"User is not authorized to access this resource"}`` (key casing and explicit-deny
text from :class:`~gatehold.config.models.GatewaySettings`); errors 500 ``{"message": null}``.
HTTP APIs (§3.2, §3.5, §3.8): 401 ``{"message":"Unauthorized"}``, 403 ``{"message":"Forbidden"}``,
500 ``{"message":"Internal Server Error"}`` — bodies chosen by the renderer from the status.
"""

from __future__ import annotations

import orjson

from gatehold.config.models import GatewaySettings
from gatehold.errors import GatewayError, GatewayResponseType

IMPLICIT_DENY_MESSAGE = "User is not authorized to access this resource"


def unauthorized(reason: str, headers: dict[str, str] | None = None) -> GatewayError:
    return GatewayError(GatewayResponseType.UNAUTHORIZED, headers=headers or {}, reason=reason)


def configuration_error(reason: str) -> GatewayError:
    return GatewayError(GatewayResponseType.AUTHORIZER_CONFIGURATION_ERROR, reason=reason)


def rest_deny(settings: GatewaySettings, *, explicit: bool, reason: str) -> GatewayError:
    message = settings.explicit_deny_message if explicit else IMPLICIT_DENY_MESSAGE
    return GatewayError(
        GatewayResponseType.ACCESS_DENIED,
        message=message,
        body=orjson.dumps({settings.deny_message_key: message}),
        reason=reason,
    )


def forbidden(reason: str, headers: dict[str, str] | None = None) -> GatewayError:
    """HTTP API 403 ``{"message":"Forbidden"}`` (REST renders the same via the explicit body)."""
    return GatewayError(
        GatewayResponseType.ACCESS_DENIED,
        message="Forbidden",
        body=b'{"message":"Forbidden"}',
        headers=headers or {},
        reason=reason,
    )
