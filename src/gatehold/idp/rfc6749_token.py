"""The token endpoint, ``POST /oauth/token`` (RFC 6749 §3.2, §4.1.3, §4.4, §6).

Bodies are ``application/x-www-form-urlencoded`` (RFC 6749 §3.2) or JSON (Auth0 and auth0-spa-js
with ``useFormData: false``). Client authentication (§2.3.1): ``client_secret_basic`` (Basic with
an empty secret identifies a public client, as requests-oauthlib sends it), ``client_secret_post``,
or ``none`` (``client_id`` only, public clients). Unknown parameters are ignored (§3.2).

Grants: ``client_credentials``, ``authorization_code`` (+ PKCE, RFC 7636), ``refresh_token``.
``password`` is refused (RFC 9700 §2.4). Responses carry ``Cache-Control: no-store`` (§5.1).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from urllib.parse import unquote_plus

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gatehold import metrics
from gatehold.idp.errors import (
    NO_STORE,
    InvalidClient,
    InvalidRequest,
    OAuthError,
    UnsupportedGrantType,
    json_error,
)
from gatehold.idp.service import ClientAuth, IdentityProvider, TokenResponse

log = logging.getLogger("gatehold.idp.token")

MAX_BODY = 64 * 1024


async def read_params(request: Request) -> dict[str, str]:
    """Form or JSON body as a flat ``str → str`` mapping; repeated form parameters are refused."""
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    body = await request.body()
    if len(body) > MAX_BODY:
        raise InvalidRequest("request body too large")
    if ctype == "application/json":
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            raise InvalidRequest("the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise InvalidRequest("the JSON body must be an object")
        out: dict[str, str] = {}
        for key, value in data.items():
            if isinstance(value, str):
                out[key] = value
            elif isinstance(value, int | float) and not isinstance(value, bool):
                out[key] = str(value)
            elif isinstance(value, list) and key in ("scope", "audience", "resource"):
                if not all(isinstance(v, str) for v in value):
                    raise InvalidRequest(f"{key} must be a string")
                out[key] = " ".join(value) if key == "scope" else ",".join(value)
        return out
    if ctype in ("application/x-www-form-urlencoded", ""):
        form = await request.form()
        out = {}
        for key, value in form.multi_items():
            if not isinstance(value, str):
                raise InvalidRequest("file uploads are not accepted")
            if key in out:
                raise InvalidRequest(f"parameter {key!r} is repeated (RFC 6749 §3.2)")
            out[key] = value
        return out
    raise InvalidRequest("the body must be application/x-www-form-urlencoded or application/json")


def client_auth(authorization: str | None, params: dict[str, str]) -> ClientAuth:
    """RFC 6749 §2.3.1; using two methods at once is an error."""
    body_id = params.get("client_id")
    body_secret = params.get("client_secret")
    if authorization and authorization[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidClient(
                "malformed Basic credentials", headers={"WWW-Authenticate": 'Basic realm="gatehold"'}
            ) from None
        raw_id, sep, raw_secret = decoded.partition(":")
        if not sep:
            raise InvalidClient(
                "malformed Basic credentials", headers={"WWW-Authenticate": 'Basic realm="gatehold"'}
            )
        cid, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
        if body_secret is not None:
            raise InvalidRequest("use one client authentication method (RFC 6749 §2.3)")
        if body_id is not None and body_id != cid:
            raise InvalidRequest("client_id in the body differs from the Basic credentials")
        return ClientAuth(cid, secret or None, "client_secret_basic")
    if body_secret is not None:
        return ClientAuth(body_id, body_secret, "client_secret_post")
    return ClientAuth(body_id, None, "none")


def token_response(body: TokenResponse) -> JSONResponse:
    return JSONResponse(dict(body), headers=NO_STORE)


def _audience(params: dict[str, str]) -> str | None:
    audience = params.get("audience")
    resource = params.get("resource")  # RFC 8707
    if audience and resource and audience != resource:
        raise InvalidRequest("audience and resource name different APIs")
    return audience or resource or None


async def token_endpoint(request: Request) -> Response:
    idp: IdentityProvider = request.app.state.idp
    try:
        params = await read_params(request)
        grant_type = params.get("grant_type")
        if not grant_type:
            raise InvalidRequest("missing grant_type")
        if grant_type not in ("client_credentials", "authorization_code", "refresh_token"):
            raise UnsupportedGrantType(f"grant type {grant_type!r} is not supported")
        auth = client_auth(request.headers.get("authorization"), params)
        client = idp.authenticate_client(auth)
        now = int(time.time())
        body: TokenResponse
        if grant_type == "client_credentials":
            body = idp.client_credentials(client.client_id, _audience(params), params.get("scope"), now=now)
        elif grant_type == "authorization_code":
            body = await run_in_threadpool(
                idp.redeem_code,
                client.client_id,
                params.get("code", ""),
                params.get("redirect_uri"),
                params.get("code_verifier"),
                now=now,
            )
        else:
            body = await run_in_threadpool(
                idp.refresh, client.client_id, params.get("refresh_token", ""), params.get("scope"), now=now
            )
        metrics.token_issued(grant_type)
        return token_response(body)
    except OAuthError as err:
        if err.status >= 500:
            log.error("token endpoint: %s", err.description)
        return json_error(err)
