"""What a person does in the browser, as small steps the flow tests compose."""

from __future__ import annotations

import re
from typing import Any

from tests.stackctl import Stack

PASSWORD = "Gatehold-demo-1"


def open_app(page: Any, stack: Stack) -> None:
    page.goto(stack.spa_url + "/")
    page.wait_for_selector("body[data-state='logged-out'], body[data-state='logged-in']")


def go_to_login_page(page: Any, stack: Stack) -> None:
    open_app(page, stack)
    page.click("#btn-login")
    page.wait_for_url(re.compile("^" + re.escape(stack.idp_url) + "/"))
    page.wait_for_selector("input[name='password']")


def submit_login_form(page: Any, email: str, password: str, connection: str | None) -> None:
    """Fill the identity provider's login form: `username`, `password` and the connection choice
    (a select, radio buttons, or one submit button per connection)."""
    form = page.locator("form:has(input[name='password'])").first
    form.locator("input[name='username']").fill(email)
    form.locator("input[name='password']").fill(password)
    submit = form.locator("button[type='submit'], input[type='submit'], button:not([type])").first
    if connection:
        select = form.locator("select[name='connection']")
        radio = form.locator(f"input[type='radio'][name='connection'][value='{connection}']")
        button = form.locator(f"button[name='connection'][value='{connection}']")
        if select.count():
            select.select_option(connection)
        elif radio.count():
            radio.check()
        elif button.count():
            submit = button
        else:
            form.locator("input[name='connection']").evaluate("(e, v) => { e.value = v; }", connection)
    submit.click()


def log_in(page: Any, stack: Stack, email: str, connection: str | None = None) -> None:
    """Log in from the app's Log in button through the identity provider's page, as in seed 000."""
    go_to_login_page(page, stack)
    submit_login_form(page, email, PASSWORD, connection)
    page.wait_for_url(re.compile("^" + re.escape(stack.spa_url) + "/"))
    wait_logged_in(page)


def wait_logged_in(page: Any) -> None:
    page.wait_for_selector("body[data-state='logged-in']")


def press(page: Any, call_id: str) -> tuple[str, str, str]:
    """Press the button of one call and wait for its outcome; returns (status, headline, detail)."""
    result = f"#result-{call_id}"
    page.click(f"#btn-{call_id}")
    follow_login_if_asked(page)
    page.wait_for_selector(
        f"{result}[data-status='ok'], {result}[data-status='refused'], {result}[data-status='error']"
    )
    return (
        page.get_attribute(result, "data-status"),
        page.inner_text(result),
        page.inner_text(f"{result}-detail"),
    )


def follow_login_if_asked(page: Any) -> None:
    """If the app had to go back to the identity provider for a token (a redirect that returns by
    itself when the identity provider still knows the person), wait until it is back."""
    page.wait_for_load_state()
    page.wait_for_selector("body[data-state='logged-in']")
