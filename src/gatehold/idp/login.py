"""The login page, ``GET``/``POST /u/login`` (Auth0's Universal Login, reduced to a form).

Fields ``username`` and ``password``, plus ``connection`` when the application has several
(``/authorize?connection=…`` preselects it). The form is bound to its login transaction twice: the
``state`` field names the transaction and must equal the HttpOnly ``gatehold_tx`` cookie, and the
``csrf_token`` field must equal the transaction's token (constant-time). The page can never be
framed (``frame-ancestors 'none'``, RFC 9700 §4.16). A wrong password re-renders the form with an
error; success sets the session cookie (HttpOnly, SameSite=Lax) and finishes the authorization.
Ten failures for one user from one address block that pair for 15 minutes (429), like Auth0's
brute-force protection (:mod:`gatehold.idp.attempts`).
"""

from __future__ import annotations

import hmac
import html
import logging
from importlib import resources
from string import Template
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from gatehold import clock as shared_clock
from gatehold.idp.errors import error_page
from gatehold.idp.rfc6749_authorize import (
    LOGIN_PATH,
    SESSION_COOKIE,
    TX_COOKIE,
    AuthorizeRequest,
    complete,
)
from gatehold.idp.service import IdentityProvider
from gatehold.idp.store import TransactionRow, digest

_LOGIN = Template(
    resources.files("gatehold.idp").joinpath("templates/login.html").read_text(encoding="utf-8")
)
log = logging.getLogger("gatehold.idp.login")
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "frame-ancestors 'none'; default-src 'self'; style-src 'unsafe-inline'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def render_login(
    idp: IdentityProvider,
    tx: str,
    row: TransactionRow,
    *,
    error: str | None = None,
    username: str = "",
    status: int = 200,
) -> HTMLResponse:
    req = AuthorizeRequest.from_json(row.request)
    client = idp.t.clients[req.client_id]
    connections = idp.t.client_connections(client)
    if req.connection is not None:
        connections = [c for c in connections if c.name == req.connection]
    if len(connections) == 1:
        field = f'<input type="hidden" name="connection" value="{html.escape(connections[0].name)}">'
    else:
        options = "".join(
            f'<option value="{html.escape(c.name)}">{html.escape(c.display_name)}</option>'
            for c in connections
        )
        field = (
            '<label for="connection">Log in with</label>'
            f'<select id="connection" name="connection">{options}</select>'
        )
    page = _LOGIN.substitute(
        tenant=html.escape(idp.config.friendly_name or idp.config.name),
        client_name=html.escape(client.name),
        error=f'<div class="error" role="alert" id="error">{html.escape(error)}</div>' if error else "",
        action=html.escape(f"{LOGIN_PATH}?{urlencode({'state': tx})}"),
        state=html.escape(tx),
        csrf=html.escape(row.csrf),
        connection_field=field,
        username=html.escape(username),
    )
    return HTMLResponse(page, status_code=status, headers=PAGE_HEADERS)


def _transaction(idp: IdentityProvider, tx: str | None, cookie: str | None) -> TransactionRow | None:
    if not tx or not cookie or not hmac.compare_digest(tx.encode(), cookie.encode()):
        return None
    row = idp.store.transaction(digest(tx))
    if row is None or row.expires_at <= int(shared_clock.wall()):
        return None
    return row


def _expired() -> Response:
    return error_page(
        "This login page has expired or was opened in another browser. Start again from the application."
    )


def _get(idp: IdentityProvider, tx: str | None, cookie: str | None) -> Response:
    row = _transaction(idp, tx, cookie)
    if row is None or tx is None:
        return _expired()
    hint = AuthorizeRequest.from_json(row.request).login_hint or ""
    return render_login(idp, tx, row, username=hint)


def _post(idp: IdentityProvider, form: dict[str, str], cookie: str | None, address: str) -> Response:
    tx = form.get("state")
    row = _transaction(idp, tx, cookie)
    if row is None or tx is None:
        return _expired()
    if not hmac.compare_digest(form.get("csrf_token", "").encode(), row.csrf.encode()):
        return error_page("The form is not valid (CSRF token mismatch).", status=403)
    req = AuthorizeRequest.from_json(row.request)
    client = idp.t.clients[req.client_id]
    allowed = {c.name for c in idp.t.client_connections(client)}
    # no choice made (a client that skips the <select>): the preselected or first connection,
    # which is what a browser submits for an untouched <select>
    ordered = [c.name for c in idp.t.client_connections(client)]
    connection = form.get("connection") or req.connection or (ordered[0] if ordered else "")
    username = form.get("username", "")
    if connection not in allowed or (req.connection is not None and connection != req.connection):
        return render_login(idp, tx, row, error="Choose a connection.", username=username, status=400)
    key = idp.attempts.key(connection, username, address)
    now_f = shared_clock.wall()
    if idp.attempts.blocked(key, now_f):
        log.warning("login blocked after repeated failures (connection %s)", connection)
        return render_login(
            idp, tx, row, error="Too many failed attempts. Try again later.", username=username, status=429
        )
    user = idp.login(connection, username, form.get("password", ""))
    if user is None:
        idp.attempts.failed(key, now_f)
        return render_login(idp, tx, row, error="Wrong email or password.", username=username, status=401)
    idp.attempts.succeeded(key)
    idp.store.delete_transaction(row.tx_hash)
    now = int(shared_clock.wall())
    session_id = idp.new_session(user, now)
    response = complete(idp, req, user, session_id, now)
    secure = idp.issuer.startswith("https://")
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=idp.config.session_lifetime,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure,
    )
    response.delete_cookie(TX_COOKIE, path=LOGIN_PATH)
    return response


async def login_page(request: Request) -> Response:
    idp: IdentityProvider = request.app.state.idp
    cookie = request.cookies.get(TX_COOKIE)
    if request.method == "GET":
        return await run_in_threadpool(_get, idp, request.query_params.get("state"), cookie)
    raw = await request.form()
    form = {k: v for k, v in raw.items() if isinstance(v, str)}
    address = request.client.host if request.client else ""
    return await run_in_threadpool(_post, idp, form, cookie, address)
