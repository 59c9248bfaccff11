"""CORS for the endpoints a browser calls (Fetch standard; Auth0's "Allowed Origins").

* ``/oauth/token``, ``/oauth/revoke``, ``/userinfo``: the origin must be one of an application's
  ``web_origins`` or ``allowed_origins``; it is echoed back with ``Vary: Origin``.
* Discovery and JWKS are public documents: ``Access-Control-Allow-Origin: *``.

Preflights (auth0-spa-js always sends ``Auth0-Client``, so every token call is preflighted) allow
``Auth0-Client``, ``Content-Type``, ``DPoP`` and ``Authorization``. No credentials are allowed:
these endpoints never read cookies.

It sits in front of the token endpoint, so it works on the raw ASGI header lists (one pass over
the request headers, a list copy on the response) rather than Starlette's ``Headers`` objects.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CREDENTIALED_PATHS = frozenset({"/oauth/token", "/oauth/revoke", "/userinfo"})
PUBLIC_PATHS = frozenset({"/.well-known/openid-configuration", "/.well-known/jwks.json"})
ALLOW_HEADERS = "Auth0-Client, Content-Type, DPoP, Authorization"
MAX_AGE = "86400"
RawHeaders = list[tuple[bytes, bytes]]
VARY_ORIGIN = (b"vary", b"Origin")


def with_cors_headers(headers: RawHeaders, *, vary: bool, allow: str | None) -> RawHeaders:
    """``headers`` plus ``Vary: Origin`` (merged into an existing ``Vary``) and, when ``allow`` is
    set, ``Access-Control-Allow-Origin`` replacing any other (Starlette's ``add_vary_header`` and
    ``__setitem__`` semantics)."""
    out = list(headers)
    if vary:
        existing = next((v for k, v in out if k == b"vary"), None)
        value = b"Origin" if existing is None else existing + b", Origin"
        out = [(k, v) for k, v in out if k != b"vary"]
        out.append((b"vary", value))
    if allow is not None:
        out = [(k, v) for k, v in out if k != b"access-control-allow-origin"]
        out.append((b"access-control-allow-origin", allow.encode("latin-1")))
    return out


def credentialed_headers(origin: str | None, origins: Callable[[], frozenset[str]]) -> RawHeaders:
    """What :class:`IdpCors` adds to a response of a credentialed path that had no ``Vary`` or
    ``Access-Control-Allow-Origin`` of its own (the token endpoint's shortcut uses it directly)."""
    if origin is not None and origin.rstrip("/") in origins():
        return [VARY_ORIGIN, (b"access-control-allow-origin", origin.encode("latin-1"))]
    return [VARY_ORIGIN]


class IdpCors:
    """ASGI middleware; ``origins()`` returns the tenant's allowed origins (read per request)."""

    def __init__(self, app: ASGIApp, origins: Callable[[], frozenset[str]]) -> None:
        self.app = app
        self.origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        public = path in PUBLIC_PATHS
        if not public and path not in CREDENTIALED_PATHS:
            await self.app(scope, receive, send)
            return
        origin: str | None = None
        preflight_request = False
        for name, value in scope["headers"]:  # ASGI: lower-case names; the first Origin counts
            if name == b"origin":
                origin = origin if origin is not None else value.decode("latin-1")
            elif name == b"access-control-request-method":
                preflight_request = True
        allow: str | None = None
        if public:
            allow = "*"
        elif origin is not None and origin.rstrip("/") in self.origins():
            allow = origin
        if scope["method"] == "OPTIONS" and preflight_request:
            methods = "GET, OPTIONS" if public else "GET, POST, OPTIONS"
            preflight = {"Vary": "Origin", "Access-Control-Max-Age": MAX_AGE}
            if allow is not None:
                preflight.update(
                    {
                        "Access-Control-Allow-Origin": allow,
                        "Access-Control-Allow-Methods": methods,
                        "Access-Control-Allow-Headers": ALLOW_HEADERS,
                    }
                )
                await Response(status_code=204, headers=preflight)(scope, receive, send)
            else:
                await Response("Origin not allowed", status_code=403, headers=preflight)(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                message["headers"] = with_cors_headers(headers, vary=not public, allow=allow)
            await send(message)

        await self.app(scope, receive, send_with_cors)
