"""OAuth 2.0 / OIDC errors with their wire ``error`` code and HTTP status, rendered in one place.

::

    OAuthError                      RFC 6749 §5.2 / §4.1.2.1, OIDC Core §3.1.2.6
    ├── InvalidRequest              400 invalid_request
    ├── InvalidClient               401 invalid_client (WWW-Authenticate when Basic was used)
    ├── InvalidGrant                400 invalid_grant
    ├── UnauthorizedClient          403 unauthorized_client
    ├── UnsupportedGrantType        400 unsupported_grant_type
    ├── UnsupportedResponseType     400 unsupported_response_type
    ├── InvalidScope                400 invalid_scope
    ├── AccessDenied                403 access_denied
    ├── LoginRequired               400 login_required  (prompt=none)
    ├── RequestNotSupported         400 request_not_supported      (OIDC Core §6)
    ├── RequestUriNotSupported      400 request_uri_not_supported  (OIDC Core §6)
    ├── InvalidToken                401 invalid_token   (RFC 6750 §3.1, /userinfo)
    ├── ServerError                 500 server_error
    └── TemporarilyUnavailable      503 temporarily_unavailable (+ Retry-After; the store's
                                        StoreUnavailable: the database does not answer)

:class:`AuthorizeError` marks an error found *before* the client and redirect URI are known to be
valid: it is never redirected (RFC 6749 §4.1.2.1, RFC 9700 §4.11) and renders as an error page.
"""

from __future__ import annotations

import html
from typing import ClassVar

from starlette.responses import HTMLResponse, JSONResponse

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(Exception):
    error: ClassVar[str] = "invalid_request"
    status: ClassVar[int] = 400

    def __init__(self, description: str = "", *, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.headers = headers or {}

    def body(self) -> dict[str, str]:
        out = {"error": self.error}
        if self.description:
            out["error_description"] = self.description
        return out


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    error = "invalid_client"
    status = 401


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"
    status = 403


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class AccessDenied(OAuthError):
    error = "access_denied"
    status = 403


class LoginRequired(OAuthError):
    error = "login_required"


class RequestNotSupported(OAuthError):
    error = "request_not_supported"


class RequestUriNotSupported(OAuthError):
    error = "request_uri_not_supported"


class InvalidToken(OAuthError):
    error = "invalid_token"
    status = 401


class ServerError(OAuthError):
    error = "server_error"
    status = 500


class TemporarilyUnavailable(OAuthError):
    """RFC 6749 §4.1.2.1 defines ``temporarily_unavailable`` for the authorization endpoint, which
    can only redirect; Gatehold answers it on the token, revocation and userinfo endpoints too, with
    503 and ``Retry-After`` (RFC 9110 §15.6.4, §10.2.3), where §5.2 lists no code for it: a client
    that knows only §5.2's codes still sees a 503 it may retry."""

    error = "temporarily_unavailable"
    status = 503


class AuthorizeError(Exception):
    """An /authorize problem that must not redirect: unknown client or unregistered redirect URI."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


def json_error(err: OAuthError) -> JSONResponse:
    """The token, revocation and userinfo endpoints' error shape (RFC 6749 §5.2)."""
    headers = {**NO_STORE, **err.headers}
    return JSONResponse(err.body(), status_code=err.status, headers=headers)


def error_page(description: str, *, status: int = 400) -> HTMLResponse:
    """A plain page for errors that cannot be sent back to the client (never a redirect)."""
    text = html.escape(description)
    body = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Error</title></head>"
        f"<body><h1>Authorization error</h1><p id='error'>{text}</p></body></html>"
    )
    return HTMLResponse(
        body,
        status_code=status,
        headers={**NO_STORE, "Content-Security-Policy": "frame-ancestors 'none'"},
    )
