"""Token revocation, ``POST /oauth/revoke`` (RFC 7009).

The client authenticates as at the token endpoint; revoking a refresh token revokes its whole
rotation family. Unknown, foreign or already revoked tokens still get 200 (§2.2), so the endpoint
reveals nothing about which tokens exist.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from gatehold import clock as shared_clock
from gatehold.idp.errors import NO_STORE, InvalidRequest, OAuthError, json_error
from gatehold.idp.rfc6749_token import client_auth, read_params
from gatehold.idp.service import IdentityProvider


async def revocation_endpoint(request: Request) -> Response:
    idp: IdentityProvider = request.app.state.idp
    try:
        params = await read_params(request)
        client = idp.authenticate_client(client_auth(request.headers.get("authorization"), params))
        token = params.get("token")
        if not token:
            raise InvalidRequest("missing token")
        await run_in_threadpool(idp.revoke, client.client_id, token, now=int(shared_clock.wall()))
        return Response(status_code=200, headers=NO_STORE)
    except OAuthError as err:
        return json_error(err)
