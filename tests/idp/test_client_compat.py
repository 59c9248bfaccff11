"""requests-oauthlib, unchanged: Basic auth with an empty secret for public clients, exact scope echo."""

from __future__ import annotations

import os

import httpx
import pytest
from requests_oauthlib import OAuth2Session

from tests.idp.conftest import M2M_SECRET, PASSWORD, IdpServer
from tests.oauth_flow import parse_forms

CALLBACK = "http://localhost:3000/callback"


@pytest.fixture(autouse=True)
def insecure_transport_for_localhost(monkeypatch: pytest.MonkeyPatch) -> None:
    # requests-oauthlib refuses http:// unless told otherwise (oauthlib's InsecureTransportError)
    monkeypatch.setitem(os.environ, "OAUTHLIB_INSECURE_TRANSPORT", "1")


def test_requests_oauthlib_code_pkce_and_refresh(idp: IdpServer) -> None:
    scope = ["openid", "offline_access", "read:unicorn"]
    session = OAuth2Session("demo-spa", redirect_uri=CALLBACK, scope=scope, pkce="S256")
    url, _state = session.authorization_url(idp.url + "/authorize", audience="https://unicorns-api")
    with httpx.Client() as browser:
        r = browser.get(url)
        r = browser.get(idp.url + r.headers["location"])
        form = next(f for f in parse_forms(r.text) if "password" in f.fields)
        r = browser.post(
            idp.url + form.action, data={**form.fields, "username": "rider@example.com", "password": PASSWORD}
        )
    # default client auth: HTTP Basic "demo-spa:" (empty secret); scope must come back unchanged
    token = session.fetch_token(idp.url + "/oauth/token", authorization_response=r.headers["location"])
    assert token["scope"] == scope
    refreshed = session.refresh_token(idp.url + "/oauth/token", client_id="demo-spa")
    assert refreshed["refresh_token"] != token["refresh_token"]
    assert refreshed["id_token"]


def test_requests_oauthlib_client_credentials(idp: IdpServer) -> None:
    from oauthlib.oauth2 import BackendApplicationClient

    session = OAuth2Session(client=BackendApplicationClient(client_id="demo-m2m"))
    token = session.fetch_token(
        idp.url + "/oauth/token",
        client_id="demo-m2m",
        client_secret=M2M_SECRET,
        audience="https://unicorns-api",
    )
    assert token["token_type"] == "Bearer"
    assert token["scope"] == ["read:unicorn", "list:unicorns"]
