"""The identity provider as a Starlette application.

``create_idp_app(loaded, public_url=…, data_dir=…)`` returns an ASGI app whose lifespan applies the
tenant and loads the signing keys; a server that manages lifespans itself can ``await
startup(app)`` instead (idempotent). Issuer = ``public_url + "/"``.

Routes (Auth0's paths)::

    GET       /.well-known/openid-configuration   oidc_discovery
    GET       /.well-known/jwks.json              oidc_discovery
    GET,POST  /authorize                          rfc6749_authorize
    GET,POST  /u/login                            login
    POST      /oauth/token                        rfc6749_token
    POST      /oauth/revoke                       rfc7009
    GET,POST  /userinfo                           oidc_userinfo
    GET       /v2/logout                          oidc_logout (Auth0)
    GET,POST  /oidc/logout                        oidc_logout (OIDC end_session_endpoint)

The store's outage (:class:`~gatehold.idp.store.StoreUnavailable`, the database does not answer)
is an OAuth ``temporarily_unavailable``: 503 with ``Retry-After`` and the OAuth JSON body on the
token, revocation and userinfo endpoints, a redirect to the client with ``error=
temporarily_unavailable`` from ``/authorize`` (RFC 6749 §4.1.2.1), and a 503 page with
``Retry-After`` from the login and logout pages (:func:`temporarily_unavailable`). Never a 500.

``POST /oauth/token`` is the one hot path (client credentials: thousands of tokens/s). It is
dispatched before Starlette's middleware stack and router, straight to the endpoint, which adds
the CORS headers itself (``TokenEndpoint(cors_origins=…)``); this saves ≈ 10 µs a token.
Everything else (including ``OPTIONS``/``GET`` on ``/oauth/token``: the preflight and the 405)
goes through the ordinary stack.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from gatehold import clock as shared_clock
from gatehold.config import LoadedConfig
from gatehold.idp.cors import IdpCors
from gatehold.idp.errors import TemporarilyUnavailable, error_page
from gatehold.idp.login import login_page
from gatehold.idp.oidc_discovery import jwks, openid_configuration
from gatehold.idp.oidc_logout import end_session, v2_logout
from gatehold.idp.oidc_userinfo import userinfo_endpoint
from gatehold.idp.rfc6749_authorize import authorize_endpoint
from gatehold.idp.rfc6749_token import TokenEndpoint
from gatehold.idp.rfc7009 import revocation_endpoint
from gatehold.idp.service import IdentityProvider
from gatehold.idp.store import Store, StoreUnavailable

log = logging.getLogger("gatehold.idp")

DEFAULT_PUBLIC_URL = "http://localhost:9000"
PURGE_INTERVAL = 3600.0


def issuer_for(public_url: str) -> str:
    return public_url.rstrip("/") + "/"


def build_provider(
    loaded: LoadedConfig, *, public_url: str, data_dir: Path, database_url: str | None = None
) -> IdentityProvider:
    store = Store.open(data_dir, database_url)
    return IdentityProvider(
        store, loaded.config.tenant, issuer=issuer_for(public_url), base_dir=loaded.base_dir
    )


async def startup(app: Starlette) -> None:
    """Apply the tenant and load keys and hooks, once (safe to call from a lifespan and again)."""
    idp: IdentityProvider = app.state.idp
    if getattr(app.state, "started", False):
        return
    await run_in_threadpool(idp.startup)
    await run_in_threadpool(idp.store.purge_expired, int(shared_clock.wall()))
    app.state.purge_task = asyncio.create_task(_purge_periodically(idp))
    app.state.started = True
    log.info("identity provider ready: issuer %s", idp.issuer)


async def _purge_periodically(idp: IdentityProvider, interval: float = PURGE_INTERVAL) -> None:
    """Drop expired codes, sessions, transactions and refresh families now and then."""
    while True:
        await asyncio.sleep(interval)
        try:
            await run_in_threadpool(idp.store.purge_expired, int(shared_clock.wall()))
        except StoreUnavailable:  # logged by the store; the next purge takes them
            pass
        except Exception:  # a database hiccup must not kill the server; try again later
            log.exception("purging expired identity-provider rows failed")


async def shutdown(app: Starlette) -> None:
    idp: IdentityProvider = app.state.idp
    task: asyncio.Task[None] | None = getattr(app.state, "purge_task", None)
    if task is not None:
        task.cancel()
        app.state.purge_task = None
    await asyncio.to_thread(idp.store.close)
    app.state.started = False


async def temporarily_unavailable(request: Request, exc: Exception) -> Response:
    """A :class:`TemporarilyUnavailable` no endpoint answered itself (the login and logout pages):
    503, ``Retry-After``, a page for a browser."""
    assert isinstance(exc, TemporarilyUnavailable)
    page = error_page(exc.description, status=exc.status)
    page.headers.update(exc.headers)
    return page


class IdentityProviderApp(Starlette):
    """Starlette, with ``POST /oauth/token`` sent straight to ``token`` (see the module docstring).

    The route stays registered too. An unexpected exception on the shortcut reaches the server,
    which logs it and answers 500, as Starlette's ``ServerErrorMiddleware`` would.
    """

    def __init__(self, *, token: ASGIApp, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.token = token

    def http1_shortcuts(self) -> dict[tuple[str, str], Any]:
        """``POST /oauth/token`` for :class:`gatehold.asgi_bridge.AsgiResponder`, which answers it
        without ASGI (how ``gatehold up`` serves the identity provider)."""
        respond = getattr(self.token, "respond", None)
        return {("POST", "/oauth/token"): respond} if respond is not None else {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == "/oauth/token"
            and scope["method"] == "POST"
            and not scope.get("root_path")
        ):
            scope["app"] = self
            await self.token(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_idp_app(
    loaded: LoadedConfig,
    *,
    public_url: str = DEFAULT_PUBLIC_URL,
    data_dir: Path,
    database_url: str | None = None,
) -> Starlette:
    idp = build_provider(loaded, public_url=public_url, data_dir=data_dir, database_url=database_url)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await startup(app)
        try:
            yield
        finally:
            await shutdown(app)

    def cors_origins() -> frozenset[str]:
        return idp.t.cors_origins

    token = TokenEndpoint(idp)  # behind the middleware stack (IdpCors)

    routes = [
        Route("/oauth/token", token, methods=["POST"]),
        Route("/.well-known/openid-configuration", openid_configuration, methods=["GET"]),
        Route("/.well-known/jwks.json", jwks, methods=["GET"]),
        Route("/authorize", authorize_endpoint, methods=["GET", "POST"]),
        Route("/u/login", login_page, methods=["GET", "POST"]),
        Route("/oauth/revoke", revocation_endpoint, methods=["POST"]),
        Route("/userinfo", userinfo_endpoint, methods=["GET", "POST"]),
        Route("/v2/logout", v2_logout, methods=["GET"]),
        Route("/oidc/logout", end_session, methods=["GET", "POST"]),
    ]
    app = IdentityProviderApp(
        token=TokenEndpoint(idp, cors_origins=cors_origins),  # the shortcut: CORS in the endpoint
        routes=routes,
        middleware=[Middleware(IdpCors, origins=cors_origins)],
        exception_handlers={TemporarilyUnavailable: temporarily_unavailable},
        lifespan=lifespan,
    )
    app.state.idp = idp
    app.state.started = False
    return app
