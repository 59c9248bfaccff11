"""The page in Chromium with no identity provider or gateway behind it: what a person sees before
logging in, and when the SDK is missing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gatehold import spa
from gatehold.spa import assets
from tests.spa.conftest import ServedApp

pytestmark = pytest.mark.browser


@pytest.mark.usefixtures("spa_assets")
def test_logged_out_page_offers_login(page: Any, serve_spa: Callable[..., ServedApp]) -> None:
    served = serve_spa()
    page.goto(served.url + "/")
    page.wait_for_selector("body[data-state='logged-out']")
    assert page.is_visible("#btn-login")
    assert not page.is_visible("#btn-logout")
    assert not page.is_visible("#btn-movie")
    assert page.is_visible("#wishlist")
    assert not page.is_visible("#wish-form")
    # the gateway is not running: the open wish list says so instead of failing silently
    page.wait_for_selector("#result-list-wishes[data-status='error']")
    assert page.inner_text("#result-list-wishes") == "Network or CORS error"
    assert page.evaluate("typeof window.auth0.createAuth0Client") == "function"


@pytest.mark.usefixtures("spa_assets")
def test_login_button_goes_to_the_identity_provider(page: Any, serve_spa: Callable[..., ServedApp]) -> None:
    served = serve_spa(idp_url="http://localhost:1")
    page.goto(served.url + "/")
    page.wait_for_selector("body[data-state='logged-out']")
    with page.expect_request("http://localhost:1/authorize**") as request_info:
        page.click("#btn-login-amazon")
    url = request_info.value.url
    assert "client_id=demo-spa" in url
    assert "connection=amazon" in url
    assert "code_challenge_method=S256" in url
    assert "audience=https%3A%2F%2Funicorns-api" in url
    assert f"redirect_uri={served.url.replace(':', '%3A').replace('/', '%2F')}%2Fcallback" in url
    assert "scope=openid+profile+email+offline_access+read%3Aunicorn+list%3Aunicorns&" in url


def test_missing_sdk_is_shown_to_the_person(
    page: Any, serve_spa: Callable[..., ServedApp], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "auth0-spa-js.production.js"
    monkeypatch.setattr(assets, "SDK_BUNDLE", missing)
    monkeypatch.setattr(spa.app, "SDK_BUNDLE", missing)
    monkeypatch.setenv("PATH", str(tmp_path))  # as on a machine without Node.js
    served = serve_spa()
    page.goto(served.url + "/")
    page.wait_for_selector("body[data-state='unavailable']")
    assert page.inner_text("#sdk-problem").startswith("Node.js is not installed")
    assert page.is_visible("#app-error")
    assert not page.is_visible("#btn-login")
