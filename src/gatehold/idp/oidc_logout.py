"""Logout: Auth0's ``GET /v2/logout`` and OIDC RP-Initiated Logout 1.0 (``/oidc/logout``).

Both end the identity provider's session (row deleted, cookie cleared), then redirect only to a
URL listed in the application's ``allowed_logout_urls`` (exact match); otherwise they show a
"logged out" page or an error page — never an open redirect.

* ``/v2/logout?client_id=…&returnTo=…[&federated]``: without ``returnTo`` the application's first
  allowed logout URL is used; ``returnTo`` without ``client_id`` is refused (Auth0 checks the
  tenant's list, and Gatehold tenants have none).
* ``/oidc/logout`` (GET or POST): ``id_token_hint`` (an ID token we issued, expired or not),
  ``client_id``, ``post_logout_redirect_uri``, ``state`` (appended to the redirect).
"""

from __future__ import annotations

import hmac
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from gatehold.idp.errors import error_page
from gatehold.idp.rfc6749_authorize import SESSION_COOKIE
from gatehold.idp.service import IdentityProvider
from gatehold.idp.store import ClientRow


def _allowed(client: ClientRow, url: str) -> bool:
    return any(hmac.compare_digest(url.encode(), allowed.encode()) for allowed in client.allowed_logout_urls)


def _logged_out(target: str | None) -> Response:
    if target is None:
        response: Response = HTMLResponse(
            "<!doctype html><html><head><meta charset='utf-8'><title>Logged out</title></head>"
            "<body><h1>You are logged out.</h1></body></html>",
            headers={"Cache-Control": "no-store", "Content-Security-Policy": "frame-ancestors 'none'"},
        )
    else:
        response = RedirectResponse(target, status_code=302, headers={"Cache-Control": "no-store"})
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def v2_logout(request: Request) -> Response:
    idp: IdentityProvider = request.app.state.idp
    params = request.query_params
    client_id = params.get("client_id")
    return_to = params.get("returnTo")
    target: str | None = None
    if client_id is not None:
        client = idp.t.clients.get(client_id)
        if client is None:
            return error_page("Unknown client.")
        if return_to is not None:
            if not _allowed(client, return_to):
                return error_page("returnTo is not in the application's Allowed Logout URLs.")
            target = return_to
        elif client.allowed_logout_urls:
            target = client.allowed_logout_urls[0]
    elif return_to is not None:
        return error_page("returnTo needs client_id (the URL is checked against the application's list).")
    await run_in_threadpool(idp.end_session, request.cookies.get(SESSION_COOKIE))
    return _logged_out(target)


async def end_session(request: Request) -> Response:
    idp: IdentityProvider = request.app.state.idp
    params: dict[str, str] = dict(request.query_params)
    if request.method == "POST":
        form = await request.form()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    client_id = params.get("client_id")
    hint = params.get("id_token_hint")
    if hint:
        claims = idp.verify_id_token_hint(hint)
        if claims is None:
            return error_page("id_token_hint is not an ID token issued here.")
        aud = claims.get("aud")
        hinted = aud if isinstance(aud, str) else (aud[0] if isinstance(aud, list) and aud else None)
        if client_id is not None and hinted != client_id:
            return error_page("client_id does not match the id_token_hint.")
        client_id = hinted
    redirect = params.get("post_logout_redirect_uri")
    target: str | None = None
    if redirect is not None:
        client = idp.t.clients.get(client_id or "")
        if client is None:
            return error_page("post_logout_redirect_uri needs client_id or id_token_hint.")
        if not _allowed(client, redirect):
            return error_page("post_logout_redirect_uri is not in the application's Allowed Logout URLs.")
        target = redirect
        if params.get("state") is not None:
            target += ("&" if "?" in target else "?") + urlencode({"state": params["state"]})
    await run_in_threadpool(idp.end_session, request.cookies.get(SESSION_COOKIE))
    return _logged_out(target)
