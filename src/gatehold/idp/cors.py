"""CORS for the endpoints a browser calls (Fetch standard; Auth0's "Allowed Origins").

* ``/oauth/token``, ``/oauth/revoke``, ``/userinfo``: the origin must be one of an application's
  ``web_origins`` or ``allowed_origins``; it is echoed back with ``Vary: Origin``.
* Discovery and JWKS are public documents: ``Access-Control-Allow-Origin: *``.

Preflights (auth0-spa-js always sends ``Auth0-Client``, so every token call is preflighted) allow
``Auth0-Client``, ``Content-Type``, ``DPoP`` and ``Authorization``. No credentials are allowed:
these endpoints never read cookies.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CREDENTIALED_PATHS = frozenset({"/oauth/token", "/oauth/revoke", "/userinfo"})
PUBLIC_PATHS = frozenset({"/.well-known/openid-configuration", "/.well-known/jwks.json"})
ALLOW_HEADERS = "Auth0-Client, Content-Type, DPoP, Authorization"
MAX_AGE = "86400"


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
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        allow: str | None = None
        if public:
            allow = "*"
        elif origin is not None and origin.rstrip("/") in self.origins():
            allow = origin
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
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
                out = MutableHeaders(scope=message)
                if not public:
                    out.add_vary_header("Origin")
                if allow is not None:
                    out["Access-Control-Allow-Origin"] = allow
            await send(message)

        await self.app(scope, receive, send_with_cors)
