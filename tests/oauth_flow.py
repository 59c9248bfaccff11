"""Drive the identity provider's login page like a browser would, with httpx (no mocks).

`login()` runs authorization code + PKCE: GET /authorize, fill the login form it returns (every
hidden input kept, `username`/`password`/`connection` set), follow redirects to the callback, and
exchange the code at /oauth/token.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import secrets
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str]


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._current: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = Form(a.get("action", ""), a.get("method", "get").lower(), {})
            self.forms.append(self._current)
        elif self._current is not None and tag in ("input", "select", "button"):
            name = a.get("name")
            if not name:
                return
            kind = a.get("type", "text").lower()
            if tag == "input" and kind in ("radio", "checkbox") and "checked" not in a:
                self._current.fields.setdefault(name, "")
                return
            if tag == "button":
                return
            self._current.fields[name] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def parse_forms(html: str) -> list[Form]:
    p = _FormParser()
    p.feed(html)
    return p.forms


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_code(
    client: httpx.Client,
    idp_url: str,
    *,
    client_id: str,
    redirect_uri: str,
    username: str,
    password: str,
    audience: str | None = None,
    scope: str = "openid profile email",
    connection: str | None = None,
    code_challenge: str | None = None,
    state: str | None = None,
    nonce: str | None = None,
) -> dict[str, list[str]]:
    """Log in through the form; return the callback's query parameters (code, state, iss…)."""
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state or secrets.token_urlsafe(16),
    }
    if nonce:
        params["nonce"] = nonce
    if audience:
        params["audience"] = audience
    if connection:
        params["connection"] = connection
    if code_challenge:
        params.update(code_challenge=code_challenge, code_challenge_method="S256")
    resp = client.get(f"{idp_url}/authorize", params=params)
    for _ in range(10):
        if resp.is_redirect:
            location = urljoin(str(resp.url), resp.headers["location"])
            if location.startswith(redirect_uri):
                return parse_qs(urlsplit(location).query)
            resp = client.get(location)
            continue
        forms = [f for f in parse_forms(resp.text) if "password" in f.fields]
        if not forms:
            raise AssertionError(f"no login form and no redirect: {resp.status_code} {resp.text[:500]}")
        form = forms[0]
        data = dict(form.fields)
        data["username"] = username
        data["password"] = password
        if connection and "connection" in data:
            data["connection"] = connection
        resp = client.post(urljoin(str(resp.url), form.action or str(resp.url)), data=data)
        if resp.status_code == 200 and "password" in resp.text and not resp.is_redirect:
            raise AssertionError(f"login refused: {resp.text[:300]}")
    raise AssertionError("too many redirects during login")


def redeem_code(
    client: httpx.Client, idp_url: str, *, client_id: str, code: str, verifier: str, redirect_uri: str
) -> httpx.Response:
    """The authorization-code grant at /oauth/token, as a public client (PKCE, no secret)."""
    return client.post(
        f"{idp_url}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": client_id,
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": redirect_uri,
        },
    )


def login(
    idp_url: str,
    *,
    client_id: str,
    redirect_uri: str,
    username: str,
    password: str,
    audience: str | None = None,
    scope: str = "openid profile email",
    connection: str | None = None,
    client: httpx.Client | None = None,
) -> dict[str, Any]:
    """Authorization code + PKCE through the login form; returns the token response.

    Pass ``client`` to keep its cookies (the identity provider's session) across calls.
    """
    verifier, challenge = pkce_pair()
    with contextlib.ExitStack() as stack:
        browser = client or stack.enter_context(httpx.Client(timeout=10))
        query = authorize_code(
            browser,
            idp_url,
            client_id=client_id,
            redirect_uri=redirect_uri,
            username=username,
            password=password,
            audience=audience,
            scope=scope,
            connection=connection,
            code_challenge=challenge,
        )
        assert "code" in query, query
        resp = redeem_code(
            browser,
            idp_url,
            client_id=client_id,
            code=query["code"][0],
            verifier=verifier,
            redirect_uri=redirect_uri,
        )
        assert resp.status_code == 200, resp.text
        result: dict[str, Any] = resp.json()
        return result


def client_credentials(
    idp_url: str, client_id: str, client_secret: str, audience: str, scope: str | None = None
) -> str:
    data = {"grant_type": "client_credentials", "audience": audience}
    if scope:
        data["scope"] = scope
    resp = httpx.post(f"{idp_url}/oauth/token", data=data, auth=(client_id, client_secret), timeout=10)
    assert resp.status_code == 200, resp.text
    token: str = resp.json()["access_token"]
    return token
