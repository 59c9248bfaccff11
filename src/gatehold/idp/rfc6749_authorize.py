"""The authorization endpoint, ``GET /authorize`` (RFC 6749 §3.1, §4.1.1-§4.1.2; OIDC Core §3.1.2).

Order of checks (RFC 6749 §4.1.2.1, RFC 9700 §4.11, OIDF ``oidcc-ensure-registered-redirect-uri``):

1. ``client_id`` known and ``redirect_uri`` registered for it by **exact string match** — else an
   error page, never a redirect (no open redirector).
2. Everything after that is answered *to the client*: ``response_mode=query`` redirects with
   ``error``/``code``, ``state`` echoed byte-for-byte and ``iss`` (RFC 9207);
   ``response_mode=web_message`` returns a framable page that posts
   ``{type: "authorization_response", response: {...}}`` to the opener/parent, with
   ``targetOrigin`` = the redirect URI's origin (auth0-spa-js silent auth).
3. PKCE S256 required for public clients, ``plain`` refused (RFC 9700 §2.1.1).
4. Login: ``prompt=none`` without a usable session → ``login_required``; ``prompt=login`` and an
   exceeded ``max_age`` force the login page; ``connection`` preselects (and requires) a connection.

Unknown parameters (``auth0Client``, ``dpop_jkt``, ``ui_locales`` …) are ignored.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import asdict, dataclass, field
from importlib import resources
from string import Template
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from gatehold import clock as shared_clock
from gatehold.idp.errors import (
    AuthorizeError,
    InvalidRequest,
    LoginRequired,
    OAuthError,
    RequestNotSupported,
    RequestUriNotSupported,
    TemporarilyUnavailable,
    UnsupportedResponseType,
    error_page,
)
from gatehold.idp.rfc7636 import check_challenge
from gatehold.idp.scopes import parse_scope
from gatehold.idp.service import IdentityProvider
from gatehold.idp.store import ClientRow, TransactionRow, UserRow, digest

log = logging.getLogger("gatehold.idp.authorize")

SESSION_COOKIE = "gatehold_session"
TX_COOKIE = "gatehold_tx"
LOGIN_PATH = "/u/login"
TX_LIFETIME = 900
RESPONSE_MODES = ("query", "web_message")
IMPLICIT_RESPONSE_TYPES = ("token", "id_token", "id_token token", "token id_token")

_WEB_MESSAGE = Template(
    resources.files("gatehold.idp").joinpath("templates/web_message.html").read_text(encoding="utf-8")
)


@dataclass(frozen=True)
class AuthorizeRequest:
    """A validated authorization request (what the login transaction stores)."""

    client_id: str
    redirect_uri: str
    response_mode: str
    state: str | None
    response_type: str = "code"
    scope: list[str] = field(default_factory=list)
    audience: str | None = None
    nonce: str | None = None
    code_challenge: str | None = None
    prompt: list[str] = field(default_factory=list)
    max_age: int | None = None
    connection: str | None = None
    login_hint: str | None = None
    id_token_hint_sub: str | None = None
    redirect_uri_given: bool = True

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AuthorizeRequest:
        return cls(**data)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def check_client(idp: IdentityProvider, params: QueryParams) -> tuple[ClientRow, str, str]:
    """Step 1: the client and its redirect URI, or AuthorizeError (never redirected)."""
    client = idp.t.clients.get(params.get("client_id", ""))
    if client is None:
        raise AuthorizeError("Unknown client: the client_id is not registered.")
    redirect_uri = params.get("redirect_uri")
    if redirect_uri is None:
        if len(client.callbacks) != 1:
            raise AuthorizeError("redirect_uri is required.")
        redirect_uri = client.callbacks[0]
    if not any(secrets.compare_digest(redirect_uri.encode(), cb.encode()) for cb in client.callbacks):
        raise AuthorizeError(
            "Callback URL mismatch: the redirect_uri is not in the application's Allowed Callback URLs."
        )
    implicit = params.get("response_type") in IMPLICIT_RESPONSE_TYPES
    mode = params.get("response_mode") or ("fragment" if implicit else "query")
    if mode == "web_message":
        origins = {o.rstrip("/") for o in client.web_origins}
        if origin_of(redirect_uri) not in origins:
            raise AuthorizeError(
                "response_mode=web_message needs the redirect_uri's origin in Allowed Web Origins."
            )
    if mode == "fragment" and implicit and "implicit" in client.grant_types:
        return client, redirect_uri, mode
    return client, redirect_uri, mode if mode in RESPONSE_MODES else "query"


def _hinted_subject(idp: IdentityProvider, hint: str | None) -> str | None:
    if not hint:
        return None
    claims = idp.verify_id_token_hint(hint)
    if claims is None:
        raise InvalidRequest("id_token_hint is not an ID token issued here")
    return str(claims.get("sub"))


def parse_request(
    idp: IdentityProvider, params: QueryParams, client: ClientRow, redirect_uri: str, mode: str
) -> AuthorizeRequest:
    """Step 2-3: the rest of the request; OAuthErrors raised here are sent to the client."""
    response_type = params.get("response_type")
    if not response_type:
        raise InvalidRequest("missing response_type")
    implicit = response_type in IMPLICIT_RESPONSE_TYPES and "implicit" in client.grant_types
    if params.get("response_mode") not in (None, "", *RESPONSE_MODES) and not (
        implicit and params.get("response_mode") == "fragment"
    ):
        raise InvalidRequest("response_mode must be query or web_message")
    if implicit:
        # RFC 9700 §2.1.2: tokens in the front channel. Served only because the app opted in.
        log.warning(
            "implicit grant used by %s (response_type=%s): migrate to code + PKCE",
            client.client_id,
            response_type,
        )
        if mode == "query":
            raise InvalidRequest("the implicit grant never returns tokens in the query")
        if "id_token" in response_type and not params.get("nonce"):
            raise InvalidRequest("nonce is required when an id_token is returned from /authorize")
    elif response_type != "code":
        raise UnsupportedResponseType("only response_type=code is supported")
    elif "authorization_code" not in client.grant_types:
        raise UnsupportedResponseType("the application may not use the authorization code grant")
    if "request" in params:
        raise RequestNotSupported("request objects are not supported")
    if "request_uri" in params:  # never fetched (no SSRF surface)
        raise RequestUriNotSupported("request_uri is not supported")
    audience = params.get("audience") or None
    resource = params.get("resource") or None  # RFC 8707
    if audience and resource and audience != resource:
        raise InvalidRequest("audience and resource name different APIs")
    audience = audience or resource
    if audience is not None and audience not in idp.t.apis:
        raise InvalidRequest(f"Service not found: {audience}")
    challenge = None
    if not implicit:
        challenge = check_challenge(
            params.get("code_challenge"), params.get("code_challenge_method"), required=client.is_public
        )
    max_age: int | None = None
    if params.get("max_age"):
        try:
            max_age = int(params["max_age"])
        except ValueError:
            raise InvalidRequest("max_age must be a number of seconds") from None
        if max_age < 0:
            raise InvalidRequest("max_age must not be negative")
    prompt = params.get("prompt", "").split()
    if "none" in prompt and len(prompt) > 1:
        raise InvalidRequest("prompt=none cannot be combined with other values")
    connection = params.get("connection") or None
    if connection is not None and connection not in {c.name for c in idp.t.client_connections(client)}:
        raise InvalidRequest(f"the connection {connection!r} is not enabled for this application")
    return AuthorizeRequest(
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        response_mode=mode,
        state=params.get("state"),
        response_type=response_type,
        scope=parse_scope(params.get("scope")),
        audience=audience,
        nonce=params.get("nonce"),
        code_challenge=challenge,
        prompt=prompt,
        max_age=max_age,
        connection=connection,
        login_hint=params.get("login_hint") or None,
        id_token_hint_sub=_hinted_subject(idp, params.get("id_token_hint")),
        redirect_uri_given="redirect_uri" in params,
    )


# -- responses --------------------------------------------------------------------------------


def respond(
    idp: IdentityProvider, client_id: str, redirect_uri: str, mode: str, result: dict[str, str]
) -> Response:
    """Deliver an authorization response (success or error) to the client (RFC 6749 §4.1.2)."""
    result = {**result, "iss": idp.issuer}  # RFC 9207
    if mode == "web_message":
        return web_message(idp, client_id, redirect_uri, result)
    if mode == "fragment":
        target = redirect_uri + "#" + urlencode(result)
        return RedirectResponse(target, status_code=302, headers={"Cache-Control": "no-store"})
    sep = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(
        redirect_uri + sep + urlencode(result), status_code=302, headers={"Cache-Control": "no-store"}
    )


def respond_error(
    idp: IdentityProvider,
    req: AuthorizeRequest | None,
    err: OAuthError,
    *,
    client_id: str,
    redirect_uri: str,
    mode: str,
    state: str | None,
) -> Response:
    result = err.body()
    if state is not None:
        result["state"] = state
    return respond(idp, client_id, redirect_uri, mode, result)


def _js(value: Any) -> str:
    """JSON safe inside a <script> element."""
    text = json.dumps(value)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def web_message(idp: IdentityProvider, client_id: str, redirect_uri: str, result: dict[str, str]) -> Response:
    """The web_message response mode: framable by the client's web origins only."""
    nonce = secrets.token_urlsafe(16)
    message = {"type": "authorization_response", "response": result}
    page = _WEB_MESSAGE.substitute(
        nonce=nonce, message=_js(message), target_origin=_js(origin_of(redirect_uri))
    )
    client = idp.t.clients[client_id]
    ancestors = " ".join(sorted({o.rstrip("/") for o in client.web_origins})) or "'none'"
    return HTMLResponse(
        page,
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": (
                f"default-src 'none'; script-src 'nonce-{nonce}'; frame-ancestors {ancestors}"
            ),
        },
    )


def complete(
    idp: IdentityProvider, req: AuthorizeRequest, user: UserRow, session_id: str, auth_time: int
) -> Response:
    """Issue the code for an authenticated user (runs the post-login hooks) and respond."""
    now = int(shared_clock.wall())
    try:
        grant = idp.user_grant(
            user,
            req.client_id,
            req.audience,
            req.scope,
            nonce=req.nonce,
            auth_time=auth_time,
            sid=digest(session_id)[:32],
        )
        grant["redirect_uri_given"] = req.redirect_uri_given
        result: dict[str, str] = {}
        if req.response_type == "code":
            result["code"] = idp.issue_code(
                client_id=req.client_id,
                redirect_uri=req.redirect_uri,
                user=user,
                grant=grant,
                code_challenge=req.code_challenge,
                session_id=digest(session_id),
                now=now,
            )
        else:
            result.update(_implicit_tokens(idp, req, user, grant, now))
    except OAuthError as err:
        return respond_error(
            idp,
            req,
            err,
            client_id=req.client_id,
            redirect_uri=req.redirect_uri,
            mode=req.response_mode,
            state=req.state,
        )
    if req.state is not None:
        result["state"] = req.state
    return respond(idp, req.client_id, req.redirect_uri, req.response_mode, result)


def _implicit_tokens(
    idp: IdentityProvider, req: AuthorizeRequest, user: UserRow, grant: dict[str, Any], now: int
) -> dict[str, str]:
    """OAuth 2.0 §4.2.2 / OIDC Core §3.2.2.5, for applications that enabled "implicit"."""
    body, _jti = idp.user_tokens(user, req.client_id, grant, now=now, nonce=req.nonce)
    types = req.response_type.split()
    out: dict[str, str] = {}
    if "token" in types:
        out.update(
            access_token=body["access_token"],
            token_type="Bearer",
            expires_in=str(body["expires_in"]),
            scope=body["scope"],
        )
    if "id_token" in types:
        if "id_token" not in body:
            raise InvalidRequest("response_type id_token needs the openid scope")
        out["id_token"] = body["id_token"]
    return out


def _needs_login(
    idp: IdentityProvider, req: AuthorizeRequest, session_user: UserRow | None, auth_time: int, now: int
) -> bool:
    if session_user is None or session_user.blocked:
        return True
    if "login" in req.prompt:
        return True
    if req.max_age is not None and now - auth_time > req.max_age:
        return True
    client = idp.t.clients[req.client_id]
    allowed = {c.name for c in idp.t.client_connections(client)}
    if session_user.connection not in allowed:
        return True
    if req.id_token_hint_sub is not None and req.id_token_hint_sub != session_user.user_id:
        return True  # OIDC Core §3.1.2.1: the session is someone else's
    return req.connection is not None and session_user.connection != req.connection


def _authorize(idp: IdentityProvider, params: QueryParams, session_cookie: str | None) -> Response:
    try:
        client, redirect_uri, mode = check_client(idp, params)
    except AuthorizeError as exc:
        return error_page(exc.description)
    state = params.get("state")
    try:
        req = parse_request(idp, params, client, redirect_uri, mode)
    except OAuthError as err:
        return respond_error(
            idp, None, err, client_id=client.client_id, redirect_uri=redirect_uri, mode=mode, state=state
        )
    try:
        return _login_or_complete(idp, req, session_cookie)
    except TemporarilyUnavailable as err:
        # the store does not answer: told to the client, which may try again (RFC 6749 §4.1.2.1)
        return respond_error(
            idp,
            req,
            err,
            client_id=req.client_id,
            redirect_uri=req.redirect_uri,
            mode=req.response_mode,
            state=req.state,
        )


def _login_or_complete(idp: IdentityProvider, req: AuthorizeRequest, session_cookie: str | None) -> Response:
    """Step 4: the session's user, if it may be used, gets a code; else the login page."""
    now = int(shared_clock.wall())
    session = idp.session(session_cookie, now)
    user = idp.store.user(session.user_id) if session else None
    if not _needs_login(idp, req, user, session.auth_time if session else 0, now):
        assert user is not None
        assert session is not None
        assert session_cookie is not None
        return complete(idp, req, user, session_cookie, session.auth_time)
    if "none" in req.prompt:
        return respond_error(
            idp,
            req,
            LoginRequired("Login required"),
            client_id=req.client_id,
            redirect_uri=req.redirect_uri,
            mode=req.response_mode,
            state=req.state,
        )
    # prompt=login must not be satisfied by the same session again: the transaction remembers it
    tx = secrets.token_urlsafe(32)
    idp.store.save_transaction(
        TransactionRow(
            tx_hash=digest(tx),
            csrf=secrets.token_urlsafe(32),
            request=req.to_json(),
            expires_at=now + TX_LIFETIME,
        )
    )
    response = RedirectResponse(
        f"{LOGIN_PATH}?{urlencode({'state': tx})}", status_code=302, headers={"Cache-Control": "no-store"}
    )
    response.set_cookie(
        TX_COOKIE,
        tx,
        max_age=TX_LIFETIME,
        path=LOGIN_PATH,
        httponly=True,
        samesite="lax",
        secure=idp.issuer.startswith("https://"),
    )
    return response


async def authorize_endpoint(request: Request) -> Response:
    """GET, or POST with a form body (OIDC Core §3.1.2.1: both MUST be supported)."""
    idp: IdentityProvider = request.app.state.idp
    params = request.query_params
    if request.method == "POST":
        form = await request.form()
        params = QueryParams([(k, v) for k, v in form.multi_items() if isinstance(v, str)])
    return await run_in_threadpool(_authorize, idp, params, request.cookies.get(SESSION_COOKIE))
