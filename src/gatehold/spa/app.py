"""The demo single-page app as a Starlette app: static files, ``/config.json`` and the SDK bundle.

Routes:

* ``GET /`` and ``GET /callback`` → ``index.html`` (the SDK's redirect lands on ``/callback``);
* ``GET /config.json`` → the identity provider's domain, the client id, the redirect URI and the APIs
  the page calls (audience, scopes, URLs), so the same files work on any ports;
* ``GET /app.js``, ``GET /styles.css`` → the page's own code;
* ``GET /vendor/auth0-spa-js.production.js`` → the UMD bundle from npm, unchanged (503 with a message
  when it is not installed; the page then says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from gatehold.spa.assets import SDK_BUNDLE, assets_problem

STATIC_DIR = Path(__file__).resolve().parent / "static"


class ApiCall(TypedDict):
    id: str
    label: str
    method: str
    path: str


class DemoApi(TypedDict):
    """One API of the example stack as the page sees it: the audience to ask a token for and its calls."""

    name: str
    seed: str
    audience: str
    scope: str
    calls: list[ApiCall]


WISH_LIST_PATH = "/wishlist/default/wish-list-service"

DEMO_APIS: list[DemoApi] = [
    {
        "name": "streaming",
        "seed": "000",
        "audience": "https://StreamingResourceServer",
        "scope": "read:Movies read:Devices",
        "calls": [
            {"id": "movie", "label": "Invoke Movie API", "method": "GET", "path": "/movies/beta/movie"},
            {"id": "device", "label": "Invoke Device API", "method": "GET", "path": "/devices/beta/device"},
        ],
    },
    {
        "name": "unicorns",
        "seed": "002",
        "audience": "https://unicorns-api",
        "scope": "read:unicorn list:unicorns",
        "calls": [
            {"id": "get-unicorn", "label": "Get unicorn", "method": "GET", "path": "/unicorns/unicorn"},
            {"id": "list-unicorns", "label": "List unicorns", "method": "GET", "path": "/unicorns/unicorns"},
        ],
    },
    {
        "name": "wishlist",
        "seed": "004",
        "audience": "https://auth0-jwt-authorizer",
        "scope": "",
        "calls": [
            {"id": "list-wishes", "label": "Refresh list", "method": "GET", "path": WISH_LIST_PATH},
            {"id": "add-wish", "label": "Add to wish list", "method": "POST", "path": WISH_LIST_PATH},
        ],
    },
]

# The scopes asked for at login besides the APIs' own (offline_access: refresh tokens).
BASE_SCOPE = "openid profile email offline_access"


@dataclass(frozen=True)
class SpaSettings:
    idp_url: str
    gateway_url: str
    spa_url: str
    client_id: str = "demo-spa"

    def config(self) -> dict[str, Any]:
        """The page's configuration (``/config.json``). ``domain`` has no trailing slash: auth0-spa-js
        appends ``/`` to compute the issuer (docs/identity-provider.md)."""
        return {
            "domain": self.idp_url.rstrip("/"),
            "clientId": self.client_id,
            "spaUrl": self.spa_url.rstrip("/"),
            "redirectUri": self.spa_url.rstrip("/") + "/callback",
            "gatewayUrl": self.gateway_url.rstrip("/"),
            "scope": BASE_SCOPE,
            "loginAudience": "https://unicorns-api",
            "apis": DEMO_APIS,
            "sdkProblem": assets_problem(),
        }

    def content_security_policy(self) -> str:
        """What the page may talk to: itself, the identity provider (token calls and the silent-login
        iframe) and the gateway."""
        idp, gateway = self.idp_url.rstrip("/"), self.gateway_url.rstrip("/")
        return "; ".join(
            [
                "default-src 'self'",
                f"connect-src 'self' {idp} {gateway}",
                f"frame-src {idp}",
                "img-src 'self' data: https: http:",
                "style-src 'self'",
                "script-src 'self'",
                "object-src 'none'",
                "base-uri 'self'",
                "frame-ancestors 'none'",
            ]
        )


def create_spa_app(*, idp_url: str, gateway_url: str, spa_url: str, client_id: str = "demo-spa") -> Starlette:
    """The single-page app for the example stack, served at ``spa_url``."""
    settings = SpaSettings(idp_url=idp_url, gateway_url=gateway_url, spa_url=spa_url, client_id=client_id)
    csp = settings.content_security_policy()
    security_headers = {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }

    async def index(request: Request) -> Response:
        html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
        problem = assets_problem()
        if problem:
            html = html.replace('<div id="sdk-problem" hidden></div>', _problem_banner(problem))
        return HTMLResponse(html, headers=security_headers)

    async def config(request: Request) -> Response:
        return JSONResponse(settings.config(), headers={"Cache-Control": "no-store"})

    async def static_file(request: Request) -> Response:
        name = request.url.path.lstrip("/")
        return FileResponse(STATIC_DIR / name, headers=security_headers)

    async def sdk_bundle(request: Request) -> Response:
        if not SDK_BUNDLE.is_file():
            problem = assets_problem() or "auth0-spa-js is missing"
            return PlainTextResponse(problem, status_code=503, headers=security_headers)
        return FileResponse(SDK_BUNDLE, media_type="text/javascript", headers=security_headers)

    return Starlette(
        routes=[
            Route("/", index),
            Route("/callback", index),
            Route("/config.json", config),
            Route("/app.js", static_file),
            Route("/styles.css", static_file),
            Route("/vendor/auth0-spa-js.production.js", sdk_bundle),
        ]
    )


def _problem_banner(problem: str) -> str:
    from html import escape

    return f'<div id="sdk-problem" class="problem" role="alert">{escape(problem)}</div>'
