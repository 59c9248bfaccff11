"""The UserInfo endpoint (OIDC Core §5.3): ``GET``/``POST`` with the access token in the
``Authorization`` header or, for ``POST``, the ``access_token`` form field (RFC 6750 §2.1, §2.2)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gatehold import clock as shared_clock
from gatehold.idp.errors import (
    NO_STORE,
    InvalidRequest,
    InvalidToken,
    OAuthError,
    TemporarilyUnavailable,
    json_error,
)
from gatehold.idp.service import IdentityProvider


def _challenge(err: OAuthError) -> Response:
    header = f'Bearer realm="gatehold", error="{err.error}"'
    if err.description:
        header += f', error_description="{err.description}"'
    return JSONResponse(err.body(), status_code=err.status, headers={**NO_STORE, "WWW-Authenticate": header})


async def userinfo_endpoint(request: Request) -> Response:
    idp: IdentityProvider = request.app.state.idp
    try:
        token = None
        authorization = request.headers.get("authorization", "")
        if authorization[:7].lower() == "bearer ":
            token = authorization[7:].strip()
        if request.method == "POST":
            ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if ctype == "application/x-www-form-urlencoded":
                form = await request.form()
                body_token = form.get("access_token")
                if isinstance(body_token, str) and body_token:
                    if token is not None:
                        raise InvalidRequest("the access token was sent twice (RFC 6750 §2)")
                    token = body_token
        if not token:
            return Response(
                status_code=401, headers={**NO_STORE, "WWW-Authenticate": 'Bearer realm="gatehold"'}
            )
        claims = await run_in_threadpool(idp.verify_access_token, token, now=int(shared_clock.wall()))
        info = await run_in_threadpool(idp.userinfo, claims)
        return JSONResponse(info, headers=NO_STORE)
    except InvalidToken as err:
        return _challenge(err)
    except TemporarilyUnavailable as err:  # the store does not answer: no challenge, a retry later
        return json_error(err)
    except OAuthError as err:
        return _challenge(err)
