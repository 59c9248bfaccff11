"""The token endpoint, ``POST /oauth/token`` (RFC 6749 §3.2, §4.1.3, §4.4, §6).

Bodies are ``application/x-www-form-urlencoded`` (RFC 6749 §3.2) or JSON (Auth0 and auth0-spa-js
with ``useFormData: false``). Client authentication (§2.3.1): ``client_secret_basic`` (Basic with
an empty secret identifies a public client, as requests-oauthlib sends it), ``client_secret_post``,
or ``none`` (``client_id`` only, public clients). Unknown parameters are ignored (§3.2).

Grants: ``client_credentials``, ``authorization_code`` (+ PKCE, RFC 7636), ``refresh_token``.
``password`` is refused (RFC 9700 §2.4). Responses carry ``Cache-Control: no-store`` (§5.1).

The endpoint is a plain ASGI app (:class:`TokenEndpoint`), not a Starlette ``Request`` handler: it
is the identity provider's one hot path (client credentials: thousands of tokens/s), so it reads
the two headers it needs from the raw list, parses the body with a split-and-unquote that reads
forms as ``parse_qsl`` does (Starlette's ``request.form()`` with python-multipart costs ≈ 30 µs
for four fields; this ≈ 3 µs), and writes the response with
orjson and precomputed headers. Client credentials run inline on the event loop (no store access:
the tenant snapshot is in memory); the code and refresh grants touch the store and run in a thread.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
from collections.abc import Callable, Mapping
from urllib.parse import unquote_plus

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from gatehold import clock as shared_clock
from gatehold import metrics
from gatehold.idp.cors import credentialed_headers
from gatehold.idp.errors import (
    InvalidClient,
    InvalidRequest,
    OAuthError,
    TemporarilyUnavailable,
    UnsupportedGrantType,
)
from gatehold.idp.service import ClientAuth, IdentityProvider, TokenResponse

log = logging.getLogger("gatehold.idp.token")

MAX_BODY = 64 * 1024
MAX_FIELDS = 1000  # Starlette's form limit, kept
GRANT_TYPES = ("client_credentials", "authorization_code", "refresh_token")
FORM = "application/x-www-form-urlencoded"
# RFC 6749 §5.1: no-store (and Pragma for HTTP/1.0 caches) on every token response, errors included
_RESPONSE_HEADERS = (
    (b"cache-control", b"no-store"),
    (b"pragma", b"no-cache"),
    (b"content-type", b"application/json"),
)
# Fields that never carry a secret: their percent-decoded form is remembered (LRU), since the same
# few values (``audience=https%3A%2F%2F…``) come back on every request. Secrets are decoded afresh.
PUBLIC_FIELDS = frozenset({"grant_type", "audience", "resource", "scope", "client_id", "redirect_uri"})
_unquote_public: Callable[[str], str] = functools.lru_cache(maxsize=1024)(unquote_plus)


def parse_params(content_type: str, body: bytes) -> dict[str, str]:
    """Form or JSON body as a flat ``str → str`` mapping; repeated form parameters are refused.

    A form is decoded as Starlette's form parser does (latin-1 bytes, then ``unquote_plus``: UTF-8
    percent-escapes, ``+`` is a space; empty ``&&`` chunks skipped; a name without ``=`` has the
    value ``""``). Without a ``Content-Type`` the body is not read (as before: no parameters).

    >>> parse_params("application/x-www-form-urlencoded", b"grant_type=client_credentials&scope=a+b")
    {'grant_type': 'client_credentials', 'scope': 'a b'}
    """
    if len(body) > MAX_BODY:
        raise InvalidRequest("request body too large")
    if content_type == FORM:  # what clients send: skip the parameters and case rules below
        return parse_form(body.decode("latin-1"))
    ctype = content_type.split(";", 1)[0].strip().lower()
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
    if ctype == FORM:
        return parse_form(body.decode("latin-1"))
    if ctype == "":
        return {}
    raise InvalidRequest("the body must be application/x-www-form-urlencoded or application/json")


def parse_form(text: str) -> dict[str, str]:
    """``application/x-www-form-urlencoded`` (URL Standard §5.1), as ``urllib.parse.parse_qsl(text,
    keep_blank_values=True)`` reads it, without calling ``unquote_plus`` on the fields that have
    no ``%`` or ``+`` (most of them: ``grant_type=client_credentials``), which halves its cost;
    names and :data:`PUBLIC_FIELDS` values are decoded through a small cache."""
    out: dict[str, str] = {}
    for field in text.split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")
        if "%" in name or "+" in name:
            name = _unquote_public(name)
        if "%" in value or "+" in value:
            value = _unquote_public(value) if name in PUBLIC_FIELDS else unquote_plus(value)
        if name in out:
            raise InvalidRequest(f"parameter {name!r} is repeated (RFC 6749 §3.2)")
        out[name] = value
        if len(out) > MAX_FIELDS:
            raise InvalidRequest(f"more than {MAX_FIELDS} parameters")
    return out


async def read_params(request: Request) -> dict[str, str]:
    """:func:`parse_params` of a Starlette request (the revocation endpoint)."""
    return parse_params(request.headers.get("content-type", ""), await request.body())


async def read_body(receive: Receive) -> bytes | None:
    """The whole request body, refused once it exceeds ``MAX_BODY``; ``None`` if the client left."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise InvalidRequest("request body too large")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


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


def _audience(params: dict[str, str]) -> str | None:
    audience = params.get("audience")
    resource = params.get("resource")  # RFC 8707
    if audience and resource and audience != resource:
        raise InvalidRequest("audience and resource name different APIs")
    return audience or resource or None


Answer = tuple[int, list[tuple[bytes, bytes]], bytes]  # status, raw headers, body


def json_answer(
    status: int,
    body: Mapping[str, object],
    headers: Mapping[str, str] | None = None,
    raw_headers: list[tuple[bytes, bytes]] | None = None,
) -> Answer:
    """A token or error response (RFC 6749 §5.1, §5.2): JSON, ``no-store``, plus ``headers`` and
    ``raw_headers`` (already encoded: CORS)."""
    content = orjson.dumps(body)
    raw = [*_RESPONSE_HEADERS, (b"content-length", b"%d" % len(content))]
    if headers:
        raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    if raw_headers:
        raw += raw_headers
    return status, raw, content


class TokenEndpoint:
    """``POST /oauth/token`` (ASGI).

    With ``cors_origins`` it also does what :class:`~gatehold.idp.cors.IdpCors` does for a POST
    (``Vary: Origin``, the allowed origin echoed), reading ``Origin`` in the same pass over the
    headers: the app's shortcut calls it without the middleware in front.
    """

    def __init__(
        self, idp: IdentityProvider, *, cors_origins: Callable[[], frozenset[str]] | None = None
    ) -> None:
        self.idp = idp
        self.cors_origins = cors_origins
        # labelled counter children resolved once (prometheus_client's labels() costs a few µs)
        self.issued = {g: metrics.TOKENS_ISSUED.labels(grant_type=g) for g in GRANT_TYPES}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        content_type = authorization = origin = None
        for name, value in scope["headers"]:  # ASGI: names are lower-case; the first one counts
            if name == b"content-type":
                content_type = content_type if content_type is not None else value.decode("latin-1")
            elif name == b"authorization":
                authorization = authorization if authorization is not None else value.decode("latin-1")
            elif name == b"origin":
                origin = origin if origin is not None else value.decode("latin-1")
        try:
            body = await read_body(receive)
        except OAuthError as err:
            status, raw, content = self._refusal(err, origin)
        else:
            if body is None:
                return
            status, raw, content = await self.answer(content_type, authorization, origin, body)
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": content})

    async def respond(
        self, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """The same endpoint for a server that read the request itself: headers as the client wrote
        them, the whole body (:mod:`gatehold.asgi_bridge` shortcut, how ``gatehold up`` serves it)."""
        content_type = authorization = origin = None
        for name, value in headers:  # the first one counts
            size = len(name)
            if size == 12 and content_type is None and name.lower() == "content-type":
                content_type = value
            elif size == 13 and authorization is None and name.lower() == "authorization":
                authorization = value
            elif size == 6 and origin is None and name.lower() == "origin":
                origin = value
        status, raw, content = await self.answer(content_type, authorization, origin, body)
        return status, [(n.decode("latin-1"), v.decode("latin-1")) for n, v in raw], content

    def _refusal(self, err: OAuthError, origin: str | None) -> Answer:
        if err.status >= 500 and not isinstance(err, TemporarilyUnavailable):  # the store logged that once
            log.error("token endpoint: %s", err.description)
        cors = credentialed_headers(origin, self.cors_origins) if self.cors_origins else None
        return json_answer(err.status, err.body(), err.headers, cors)

    async def answer(
        self, content_type: str | None, authorization: str | None, origin: str | None, body: bytes
    ) -> Answer:
        """The token response or the OAuth error for one request (RFC 6749 §5.1, §5.2)."""
        try:
            params = parse_params(content_type or "", body)
            grant_type = params.get("grant_type")
            if not grant_type:
                raise InvalidRequest("missing grant_type")
            if grant_type not in GRANT_TYPES:
                raise UnsupportedGrantType(f"grant type {grant_type!r} is not supported")
            client = self.idp.authenticate_client(client_auth(authorization, params))
            now = int(shared_clock.wall())
            if grant_type == "client_credentials":
                # in memory only (compiled client grants, cached key): no thread hop, no await
                response = self.idp.client_credentials(
                    client.client_id, _audience(params), params.get("scope"), now=now
                )
            else:
                response = await self.user_grant(grant_type, client.client_id, params, now)
        except OAuthError as err:
            return self._refusal(err, origin)
        self.issued[grant_type].inc()
        cors = credentialed_headers(origin, self.cors_origins) if self.cors_origins else None
        return json_answer(200, response, None, cors)

    async def user_grant(
        self, grant_type: str, client_id: str, params: dict[str, str], now: int
    ) -> TokenResponse:
        """The code and refresh grants: they read and write the store, in a worker thread."""
        if grant_type == "authorization_code":
            return await run_in_threadpool(
                self.idp.redeem_code,
                client_id,
                params.get("code", ""),
                params.get("redirect_uri"),
                params.get("code_verifier"),
                now=now,
            )
        return await run_in_threadpool(
            self.idp.refresh, client_id, params.get("refresh_token", ""), params.get("scope"), now=now
        )
