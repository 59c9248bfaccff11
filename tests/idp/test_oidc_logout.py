"""/v2/logout (Auth0) and /oidc/logout (RP-Initiated Logout): session ended, only listed redirects."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.idp.conftest import PASSWORD, IdpServer
from tests.oauth_flow import login, pkce_pair

CALLBACK = "http://localhost:3000/callback"


def logged_in(idp: IdpServer, browser: httpx.Client, scope: str = "openid") -> dict[str, Any]:
    return login(
        idp.url,
        client_id="demo-spa",
        redirect_uri=CALLBACK,
        username="rider@example.com",
        password=PASSWORD,
        scope=scope,
        client=browser,
    )


def prompt_none(idp: IdpServer, browser: httpx.Client) -> str:
    _, challenge = pkce_pair()
    r = browser.get(
        idp.url + "/authorize",
        params={
            "client_id": "demo-spa",
            "redirect_uri": CALLBACK,
            "response_type": "code",
            "prompt": "none",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "scope": "openid",
        },
    )
    return str(r.headers["location"])


def test_v2_logout_ends_session_and_redirects_to_allowed_url(idp: IdpServer) -> None:
    with httpx.Client() as browser:
        logged_in(idp, browser)
        assert "code=" in prompt_none(idp, browser)
        r = browser.get(
            idp.url + "/v2/logout",
            params={"client_id": "demo-spa", "returnTo": "http://localhost:3000", "federated": ""},
        )
        assert r.status_code == 302
        assert r.headers["location"] == "http://localhost:3000"
        assert "error=login_required" in prompt_none(idp, browser)


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"client_id": "demo-spa", "returnTo": "https://evil.example"}, id="unlisted-returnTo"),
        pytest.param({"client_id": "demo-spa", "returnTo": "http://localhost:3000/"}, id="trailing-slash"),
        pytest.param({"returnTo": "http://localhost:3000"}, id="returnTo-without-client"),
        pytest.param({"client_id": "nope", "returnTo": "http://localhost:3000"}, id="unknown-client"),
    ],
)
def test_v2_logout_never_redirects_to_unlisted_urls(idp: IdpServer, params: dict[str, str]) -> None:
    r = httpx.get(idp.url + "/v2/logout", params=params)
    assert r.status_code == 400
    assert "location" not in r.headers


def test_oidc_end_session_with_id_token_hint_and_state(idp: IdpServer) -> None:
    with httpx.Client() as browser:
        tokens = logged_in(idp, browser)
        r = browser.get(
            idp.url + "/oidc/logout",
            params={
                "id_token_hint": tokens["id_token"],
                "post_logout_redirect_uri": "http://localhost:3000",
                "state": "a b",
            },
        )
        assert r.status_code == 302
        assert r.headers["location"] == "http://localhost:3000?state=a+b"
        assert "error=login_required" in prompt_none(idp, browser)


def test_oidc_end_session_refuses_unlisted_redirect(idp: IdpServer) -> None:
    r = httpx.get(
        idp.url + "/oidc/logout",
        params={"client_id": "demo-spa", "post_logout_redirect_uri": "https://evil.example"},
    )
    assert r.status_code == 400
    assert "location" not in r.headers
    plain = httpx.get(idp.url + "/oidc/logout")
    assert plain.status_code == 200
    assert "logged out" in plain.text
