"""/authorize: redirect-URI exactness, errors redirected or not, state, iss, PKCE, prompt, web_message."""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.idp.conftest import PASSWORD, IdpServer
from tests.oauth_flow import authorize_code, pkce_pair

CALLBACK = "http://localhost:3000/callback"


def params(**extra: str) -> dict[str, str]:
    _, challenge = pkce_pair()
    out = {
        "client_id": "demo-spa",
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "openid profile email",
        "state": "st",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    out.update(extra)
    return {k: v for k, v in out.items() if v != "<omit>"}


@pytest.mark.parametrize(
    "redirect_uri",
    [
        pytest.param("http://localhost:3000/callback/", id="trailing-slash"),
        pytest.param("http://localhost:3000/callback?x=1", id="added-query"),
        pytest.param("http://LOCALHOST:3000/callback", id="host-case"),
        pytest.param("http://localhost:3000/Callback", id="path-case"),
        pytest.param("http://localhost:3000/callback#f", id="fragment"),
        pytest.param("http://localhost:3001/callback", id="other-port"),
        pytest.param("https://localhost:3000/callback", id="https"),
        pytest.param("https://evil.example/callback", id="evil-host"),
        pytest.param("http://localhost:3000.evil.example/callback", id="evil-suffix"),
    ],
)
def test_unregistered_redirect_uri_shows_error_page_and_never_redirects(
    idp: IdpServer, redirect_uri: str
) -> None:
    r = httpx.get(idp.url + "/authorize", params=params(redirect_uri=redirect_uri, response_type="bogus"))
    assert r.status_code == 400
    assert "location" not in r.headers
    assert "Callback URL mismatch" in r.text


def test_unknown_client_shows_error_page(idp: IdpServer) -> None:
    r = httpx.get(idp.url + "/authorize", params=params(client_id="nope"))
    assert r.status_code == 400
    assert "location" not in r.headers


def _redirected_error(r: httpx.Response) -> dict[str, list[str]]:
    assert r.status_code == 302, r.text
    location = r.headers["location"]
    assert location.startswith(CALLBACK + "?")
    return parse_qs(urlsplit(location).query)


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        pytest.param({"response_type": "token"}, "unsupported_response_type", id="implicit-refused"),
        pytest.param({"response_type": "<omit>"}, "invalid_request", id="response-type-missing"),
        pytest.param(
            {"code_challenge": "<omit>", "code_challenge_method": "<omit>"},
            "invalid_request",
            id="pkce-missing-public-client",
        ),
        pytest.param({"code_challenge_method": "plain"}, "invalid_request", id="pkce-plain-refused"),
        pytest.param({"code_challenge_method": "<omit>"}, "invalid_request", id="pkce-method-missing"),
        pytest.param({"audience": "https://nowhere"}, "invalid_request", id="unknown-audience"),
        pytest.param({"prompt": "none"}, "login_required", id="prompt-none-no-session"),
        pytest.param({"connection": "github"}, "invalid_request", id="unknown-connection"),
        pytest.param({"response_mode": "form_post"}, "invalid_request", id="unsupported-response-mode"),
        pytest.param({"request": "eyJ.e30."}, "request_not_supported", id="request-object"),
        pytest.param(
            {"request_uri": "http://169.254.169.254/x"}, "request_uri_not_supported", id="request-uri"
        ),
        pytest.param({"id_token_hint": "garbage"}, "invalid_request", id="bad-id-token-hint"),
    ],
)
def test_errors_after_valid_redirect_are_redirected(
    idp: IdpServer, extra: dict[str, str], error: str
) -> None:
    state = "ab+/cd==&x%y"
    r = httpx.get(idp.url + "/authorize", params=params(state=state, **extra))
    query = _redirected_error(r)
    assert query["error"] == [error]
    assert query["state"] == [state]
    assert query["iss"] == [idp.issuer]


def test_unknown_parameters_ignored_and_login_page_shown(idp: IdpServer) -> None:
    r = httpx.get(idp.url + "/authorize", params=params(auth0Client="eyJ9", ui_locales="fr", dpop_jkt="x"))
    assert r.status_code == 302
    assert r.headers["location"].startswith("/u/login?state=")


def test_state_echoed_byte_for_byte_with_iss(idp: IdpServer) -> None:
    state = "bXlzdGF0ZQ==~.+ /?é"
    _verifier, challenge = pkce_pair()
    with httpx.Client() as client:
        query = authorize_code(
            client,
            idp.url,
            client_id="demo-spa",
            redirect_uri=CALLBACK,
            username="rider@example.com",
            password=PASSWORD,
            code_challenge=challenge,
            state=state,
        )
    assert query["state"] == [state]
    assert query["iss"] == [idp.issuer]
    assert query["code"]


def test_login_page_headers_and_wrong_password(idp: IdpServer) -> None:
    with httpx.Client(follow_redirects=True) as client:
        page = client.get(idp.url + "/authorize", params=params())
        assert page.status_code == 200
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert 'name="username"' in page.text
        assert 'name="password"' in page.text
        assert 'name="connection"' in page.text  # three connections: a choice
        fields = dict(re.findall(r'name="(state|csrf_token)" value="([^"]*)"', page.text))
        bad = client.post(
            str(page.url),
            data={
                **fields,
                "username": "rider@example.com",
                "password": "wrong",
                "connection": "Username-Password-Authentication",
            },
        )
        assert bad.status_code == 401
        assert "Wrong email or password." in bad.text
        forged = client.post(
            str(page.url),
            data={
                "state": fields["state"],
                "csrf_token": "forged",
                "username": "rider@example.com",
                "password": PASSWORD,
            },
        )
        assert forged.status_code == 403
        ok = client.post(
            str(page.url),
            data={
                **fields,
                "username": "rider@example.com",
                "password": PASSWORD,
                "connection": "Username-Password-Authentication",
            },
            follow_redirects=False,
        )
        assert ok.status_code == 302
        cookie = ok.headers["set-cookie"].lower()
        assert "gatehold_session=" in cookie
        assert "httponly" in cookie
        assert "samesite=lax" in cookie


def test_login_transaction_bound_to_browser(idp: IdpServer) -> None:
    with httpx.Client() as client:
        r = client.get(idp.url + "/authorize", params=params())
        login_url = idp.url + r.headers["location"]
    other = httpx.get(login_url)  # another browser: no transaction cookie
    assert other.status_code == 400
    assert "password" not in other.text


def test_connection_preselects(idp: IdpServer) -> None:
    with httpx.Client(follow_redirects=True) as client:
        page = client.get(idp.url + "/authorize", params=params(connection="amazon"))
    assert '<input type="hidden" name="connection" value="amazon">' in page.text
    assert "<select" not in page.text


@contextlib.contextmanager
def _logged_in_client(idp: IdpServer) -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        _, challenge = pkce_pair()
        authorize_code(
            client,
            idp.url,
            client_id="demo-spa",
            redirect_uri=CALLBACK,
            username="trainer@example.com",
            password=PASSWORD,
            code_challenge=challenge,
        )
        yield client


def test_prompt_none_with_session_issues_code_without_ui(idp: IdpServer) -> None:
    with _logged_in_client(idp) as client:
        r = client.get(idp.url + "/authorize", params=params(prompt="none"))
        query = _redirected_error(r)
        assert "code" in query
        assert query["state"] == ["st"]


def test_prompt_login_forces_login_even_with_session(idp: IdpServer) -> None:
    with _logged_in_client(idp) as client:
        r = client.get(idp.url + "/authorize", params=params(prompt="login"))
        assert r.headers["location"].startswith("/u/login")


def test_max_age_exceeded_forces_login_and_prompt_none_fails(idp: IdpServer) -> None:
    with _logged_in_client(idp) as client:
        time.sleep(1.1)
        r = client.get(idp.url + "/authorize", params=params(max_age="0", prompt="none"))
        assert _redirected_error(r)["error"] == ["login_required"]
        r = client.get(idp.url + "/authorize", params=params(max_age="3600", prompt="none"))
        assert "code" in _redirected_error(r)


def test_web_message_success_page(idp: IdpServer) -> None:
    with _logged_in_client(idp) as client:
        r = client.get(
            idp.url + "/authorize",
            params=params(prompt="none", response_mode="web_message", redirect_uri="http://localhost:3000"),
        )
    assert r.status_code == 200
    assert "x-frame-options" not in r.headers
    assert "frame-ancestors http://localhost:3000" in r.headers["content-security-policy"]
    message = json.loads(re.search(r"var message = (.*);", r.text).group(1))  # type: ignore[union-attr]
    assert message["type"] == "authorization_response"
    assert set(message["response"]) == {"code", "state", "iss"}
    assert message["response"]["state"] == "st"
    assert 'postMessage(message, "http://localhost:3000")' in r.text


def test_web_message_login_required(idp: IdpServer) -> None:
    r = httpx.get(
        idp.url + "/authorize",
        params=params(
            prompt="none", response_mode="web_message", redirect_uri="http://localhost:3000", state="s1"
        ),
    )
    assert r.status_code == 200
    message = json.loads(re.search(r"var message = (.*);", r.text).group(1))  # type: ignore[union-attr]
    assert message["response"]["error"] == "login_required"
    assert message["response"]["state"] == "s1"


IMPLICIT_TENANT = """
tenant:
  apis:
    - {identifier: "https://api.example", permissions: ["read:x"]}
  users:
    - {email: u@example.com, password: "Gatehold-demo-1"}
  applications:
    legacy:
      app_type: spa
      callbacks: ["http://localhost:3000/cb"]
      grant_types: [implicit]
    modern:
      app_type: spa
      callbacks: ["http://localhost:3000/cb"]
"""


@pytest.mark.parametrize(
    ("client_id", "response_type", "expect"),
    [
        pytest.param(
            "legacy", "token id_token", {"access_token", "id_token", "state"}, id="opted-in-implicit"
        ),
        pytest.param("legacy", "code", {"error"}, id="opted-in-no-code-grant"),
        pytest.param("modern", "token", {"error"}, id="not-opted-in"),
    ],
)
def test_implicit_only_when_enabled(
    idp_factory: Callable[..., IdpServer], client_id: str, response_type: str, expect: set[str]
) -> None:
    server = idp_factory(config_text=IMPLICIT_TENANT)
    with httpx.Client() as browser:
        r = browser.get(
            server.url + "/authorize",
            params={
                "client_id": client_id,
                "redirect_uri": "http://localhost:3000/cb",
                "response_type": response_type,
                "scope": "openid read:x",
                "audience": "https://api.example",
                "nonce": "n",
                "state": "s",
            },
        )
        if r.headers["location"].startswith("/u/login"):
            page = browser.get(server.url + r.headers["location"])
            fields = dict(re.findall(r'name="(state|csrf_token)" value="([^"]*)"', page.text))
            r = browser.post(
                str(page.url), data={**fields, "username": "u@example.com", "password": PASSWORD}
            )
    location = r.headers["location"]
    if "error" in expect:
        assert "error=unsupported_response_type" in location
        return
    fragment = parse_qs(urlsplit(location).fragment)
    assert set(fragment) >= expect
    assert "?" not in location  # never in the query


def test_brute_force_protection_blocks_user_and_address(idp_factory: Callable[..., IdpServer]) -> None:
    server = idp_factory()
    with httpx.Client(follow_redirects=True) as browser:
        page = browser.get(server.url + "/authorize", params=params())
        fields = dict(re.findall(r'name="(state|csrf_token)" value="([^"]*)"', page.text))
        form = {**fields, "connection": "Username-Password-Authentication", "username": "rider@example.com"}
        for _ in range(10):
            assert browser.post(str(page.url), data={**form, "password": "guess"}).status_code == 401
        blocked = browser.post(str(page.url), data={**form, "password": PASSWORD}, follow_redirects=False)
        assert blocked.status_code == 429
        assert "Too many failed attempts" in blocked.text
        other = browser.post(
            str(page.url),
            data={**form, "username": "trainer@example.com", "password": PASSWORD},
            follow_redirects=False,
        )
        assert other.status_code == 302  # another user is not affected


def test_authorize_by_post_and_login_hint(idp: IdpServer) -> None:
    """OIDC Core §3.1.2.1: POST is supported too; login_hint prefills the username."""
    with httpx.Client(follow_redirects=True) as browser:
        page = browser.post(idp.url + "/authorize", data=params(login_hint="rider@example.com"))
    assert page.status_code == 200
    assert 'value="rider@example.com"' in page.text


def test_prompt_none_with_someone_elses_id_token_hint(idp: IdpServer) -> None:
    with _logged_in_client(idp) as trainer:  # the session is the trainer's
        verifier, challenge = pkce_pair()
        with httpx.Client() as other:
            query = authorize_code(
                other,
                idp.url,
                client_id="demo-spa",
                redirect_uri=CALLBACK,
                username="rider@example.com",
                password=PASSWORD,
                code_challenge=challenge,
            )
            rider = other.post(
                idp.url + "/oauth/token",
                data={
                    "grant_type": "authorization_code",
                    "client_id": "demo-spa",
                    "code": query["code"][0],
                    "code_verifier": verifier,
                    "redirect_uri": CALLBACK,
                },
            ).json()
        r = trainer.get(idp.url + "/authorize", params=params(prompt="none", id_token_hint=rider["id_token"]))
        assert _redirected_error(r)["error"] == ["login_required"]
