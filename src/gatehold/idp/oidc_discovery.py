"""OpenID Provider metadata (OIDC Discovery 1.0 §3, RFC 8414) and the JWK Set (RFC 7517 §5)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from gatehold.idp.service import IdentityProvider

CLAIMS_SUPPORTED = [
    "aud", "auth_time", "azp", "email", "email_verified", "exp", "iat", "iss", "name", "nickname",
    "nonce", "permissions", "scope", "sid", "sub", "updated_at",
]  # fmt: skip


def metadata(idp: IdentityProvider) -> dict[str, Any]:
    base = idp.issuer
    scopes = ["openid", "profile", "email", "offline_access"]
    for api in idp.t.apis.values():
        scopes.extend(p for p in api.permissions if p not in scopes)
    return {
        "issuer": base,
        "authorization_endpoint": base + "authorize",
        "token_endpoint": base + "oauth/token",
        "userinfo_endpoint": base + "userinfo",
        "jwks_uri": base + ".well-known/jwks.json",
        "revocation_endpoint": base + "oauth/revoke",
        "end_session_endpoint": base + "oidc/logout",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "web_message"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "subject_types_supported": ["public"],
        "scopes_supported": scopes,
        "claims_supported": CLAIMS_SUPPORTED,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "authorization_response_iss_parameter_supported": True,
        "prompt_values_supported": ["none", "login"],
    }


async def openid_configuration(request: Request) -> JSONResponse:
    idp: IdentityProvider = request.app.state.idp
    return JSONResponse(metadata(idp), headers={"Cache-Control": "public, max-age=300"})


async def jwks(request: Request) -> JSONResponse:
    """Published keys: current, next (before it signs) and previous (for older tokens)."""
    idp: IdentityProvider = request.app.state.idp
    idp.keys.refresh_if_stale()
    return JSONResponse(idp.keys.jwks(), headers={"Cache-Control": "public, max-age=60"})
