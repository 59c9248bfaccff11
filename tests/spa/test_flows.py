"""The seed flows in Chromium against the running example stack (`gatehold up`): log in on the identity
provider's page, press the buttons, see the APIs answer or refuse; reload; log out; a wrong password.

Every test starts from a fresh browser context (no cookies, no localStorage).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.spa.flows import PASSWORD, go_to_login_page, log_in, open_app, press, submit_login_form
from tests.stackctl import Stack


@pytest.fixture
def stack(example_stack: Stack) -> Stack:
    """Every test here holds for the stack with the seeds' Python ports and with their own Node.js code."""
    return example_stack


pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("spa_assets")]

MOVIE_INFO = "Movie Info retrieved from Movie API"
DEVICE_INFO = "Device Info retrieved from Device API"
Shot = Callable[[Any, str], Path]


@pytest.mark.parametrize(
    ("email", "connection", "movie", "device"),
    [
        pytest.param("movie-fan@example.com", "amazon", MOVIE_INFO, "UnAuthorized", id="amazon"),
        pytest.param("device-fan@example.com", "google", "UnAuthorized", DEVICE_INFO, id="google"),
    ],
)
def test_seed000_movies_and_devices(
    page: Any, stack: Stack, screenshot: Shot, email: str, connection: str, movie: str, device: str
) -> None:
    log_in(page, stack, email, connection)
    left_app: list[str] = []
    page.on("framenavigated", lambda f: left_app.append(f.url) if f == page.main_frame else None)

    assert press(page, "movie")[1] == movie, page.console_lines
    assert press(page, "device")[1] == device, page.console_lines
    refused = "movie" if movie == "UnAuthorized" else "device"
    assert page.get_attribute(f"#result-{refused}", "data-http-status") == "403"
    # the streaming API's token came silently (hidden iframe, web_message): the page never left
    assert left_app == [], left_app
    row = page.locator("#scopes-body tr[data-audience='https://StreamingResourceServer'] td").nth(1)
    scopes = row.inner_text().split()
    assert ("read:Movies" in scopes, "read:Devices" in scopes) == (movie == MOVIE_INFO, device == DEVICE_INFO)
    screenshot(page, f"seed000-{connection}")


def test_login_shortcut_preselects_the_connection(page: Any, stack: Stack) -> None:
    open_app(page, stack)
    page.click("#btn-login-google")
    page.wait_for_url(re.compile("^" + re.escape(stack.idp_url) + "/"))
    page.wait_for_selector("input[name='password']")
    chosen = page.locator("[name='connection']")
    assert chosen.input_value() == "google"
    submit_login_form(page, "device-fan@example.com", PASSWORD, None)
    page.wait_for_selector("body[data-state='logged-in']")
    assert press(page, "device")[1] == DEVICE_INFO


@pytest.mark.parametrize(
    ("email", "list_status"),
    [
        pytest.param("rider@example.com", "refused", id="rider-refused-list"),
        pytest.param("trainer@example.com", "ok", id="trainer-gets-list"),
    ],
)
def test_seed002_unicorns(page: Any, stack: Stack, screenshot: Shot, email: str, list_status: str) -> None:
    log_in(page, stack, email)
    page.fill("#unicorn-name", "Sparkles")
    status, headline, _ = press(page, "get-unicorn")
    assert status == "ok", (headline, page.console_lines)
    assert json.loads(headline)["name"] == "Sparkles"

    status, headline, detail = press(page, "list-unicorns")
    assert status == list_status, (headline, detail, page.console_lines)
    if list_status == "ok":
        assert {u["name"] for u in json.loads(headline)} >= {"Gaia", "Magestic", "Sparkles"}
    else:
        assert headline == "Refused: 403 Forbidden"
        assert page.get_attribute("#result-list-unicorns", "data-http-status") == "403"
    screenshot(page, f"seed002-{email.split('@')[0]}")


def test_profile_and_granted_scopes(page: Any, stack: Stack, screenshot: Shot) -> None:
    log_in(page, stack, "rider@example.com")
    assert page.inner_text("#profile-name") == "Unicorn Rider"
    assert page.inner_text("#profile-email") == "rider@example.com"
    row = page.locator("#scopes-body tr[data-audience='https://unicorns-api'] td").nth(1)
    scopes = row.inner_text().split()
    assert "read:unicorn" in scopes
    assert "list:unicorns" not in scopes

    page.click("#btn-scopes")  # a token for every API: rows appear as they arrive
    page.wait_for_selector("#scopes-body tr:nth-child(3)")
    audiences = page.locator("#scopes-body tr").evaluate_all("rows => rows.map(r => r.dataset.audience)")
    assert sorted(audiences) == [
        "https://StreamingResourceServer",
        "https://auth0-jwt-authorizer",
        "https://unicorns-api",
    ]
    streaming = page.locator("#scopes-body tr[data-audience='https://StreamingResourceServer'] td").nth(1)
    assert not {"read:Movies", "read:Devices"} & set(
        streaming.inner_text().split()
    )  # not an amazon/google login
    screenshot(page, "profile-rider")


def test_seed004_add_wish_list_item(page: Any, stack: Stack, screenshot: Shot) -> None:
    log_in(page, stack, "trainer@example.com")
    name = f"Saddle {secrets.token_hex(3)}"
    page.fill("#wish-name", name)
    page.fill("#wish-description", "A comfortable unicorn saddle")
    page.fill("#wish-url", "https://www.example.com/saddle")
    status, headline, detail = press(page, "add-wish")
    assert status == "ok", (headline, detail, page.console_lines)
    assert page.get_attribute("#result-add-wish", "data-http-status") == "201"
    item = page.locator("#wish-list li", has_text=name)
    assert item.count() == 1
    assert "A comfortable unicorn saddle" in item.inner_text()
    assert item.locator("a").get_attribute("href") == "https://www.example.com/saddle"
    screenshot(page, "seed004-wish-list")


def test_wish_list_is_open_to_everyone(page: Any, stack: Stack) -> None:
    open_app(page, stack)
    page.wait_for_selector("#result-list-wishes[data-status='ok']")
    assert not page.is_visible("#wish-form")


def test_reload_keeps_the_person_logged_in(page: Any, stack: Stack) -> None:
    log_in(page, stack, "trainer@example.com")
    assert press(page, "get-unicorn")[0] == "ok"
    idp_requests: list[str] = []
    page.on("request", lambda r: idp_requests.append(r.url) if r.url.startswith(stack.idp_url) else None)
    page.reload()
    page.wait_for_selector("body[data-state='logged-in']")
    assert page.inner_text("#profile-email") == "trainer@example.com"
    assert press(page, "get-unicorn")[0] == "ok"
    assert not [u for u in idp_requests if "/authorize" in u], idp_requests  # no new login


def test_log_out(page: Any, stack: Stack, screenshot: Shot) -> None:
    log_in(page, stack, "rider@example.com")
    page.click("#btn-logout")
    page.wait_for_url(re.compile("^" + re.escape(stack.spa_url) + "/?$"))
    page.wait_for_selector("body[data-state='logged-out']")
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('@@auth0spajs@@'))") == []
    screenshot(page, "logged-out")
    # the identity provider's session ended too: logging in asks for the password again
    go_to_login_page(page, stack)


def test_wrong_password_shows_an_error_on_the_login_page(page: Any, stack: Stack, screenshot: Shot) -> None:
    go_to_login_page(page, stack)
    screenshot(page, "login-page")
    submit_login_form(page, "rider@example.com", PASSWORD + "-wrong", None)
    page.wait_for_selector("input[name='password']")
    assert page.url.startswith(stack.idp_url)
    error = page.locator("[role='alert'], .error, #error").first
    assert error.is_visible()
    assert re.search(r"wrong|invalid|incorrect", error.inner_text(), re.IGNORECASE), error.inner_text()
    screenshot(page, "login-wrong-password")


def test_lost_idp_session_logs_in_again_and_finishes_the_click(page: Any, stack: Stack) -> None:
    """No silent way to a new API's token (the identity provider's session is gone): the app sends the
    person to the login page once, and on return finishes what they clicked, form values included."""
    log_in(page, stack, "trainer@example.com")
    # cookies ignore ports: keep the app's own (auth0.*), drop the identity provider's session
    for cookie in page.context.cookies():
        if "auth0." not in cookie["name"]:
            page.context.clear_cookies(name=cookie["name"])
    name = f"Bridle {secrets.token_hex(3)}"
    page.fill("#wish-name", name)
    page.fill("#wish-description", "added after logging in again")
    page.click("#btn-add-wish")
    page.wait_for_url(re.compile("^" + re.escape(stack.idp_url) + "/"))
    submit_login_form(page, "trainer@example.com", PASSWORD, None)
    page.wait_for_selector("#result-add-wish[data-status='ok']")
    assert page.locator("#wish-list li", has_text=name).count() == 1
    assert "added after logging in again" in page.locator("#wish-list li", has_text=name).inner_text()
