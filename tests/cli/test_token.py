"""`gatehold token` follows the running stack (issue 11, item 7): after `gatehold up -c FILE
--issuer-alias …` on any ports, `gatehold token` with the same data directory and no -c mints, for
that stack's configuration and issuer, a token its gateway accepts."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import httpx

from tests.importers.support import EXAMPLES
from tests.stackctl import Stack

ALIAS = "https://example-tenant.eu.auth0.com/"


def token(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gatehold", "token", "--data-dir", str(stack.data_dir), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_token_for_an_imported_api_without_repeating_the_flags(stack_factory: Callable[..., Stack]) -> None:
    stack = stack_factory(
        EXAMPLES / "openapi-http-jwt" / "gatehold.yaml", extra_args=["--issuer-alias", ALIAS]
    )
    minted = token(
        stack, "--client", "gatehold-m2m", "--audience", "https://notes-api", "--scope", "read:notes"
    )
    assert minted.returncode == 0, minted.stderr
    assert f"issuer {stack.issuer}" in minted.stderr
    bearer = {"Authorization": f"Bearer {minted.stdout.strip()}"}
    response = httpx.get(f"{stack.gateway_url}/notes", headers=bearer, timeout=15)
    assert response.status_code == 200, response.text
    refused = httpx.post(f"{stack.gateway_url}/notes", headers=bearer, json={"text": "x"}, timeout=15)
    assert refused.status_code == 403  # the token has read:notes, the route asks for write:notes
    assert refused.content == b'{"message":"Forbidden"}'


def test_explicit_config_wins_over_the_running_stack(stack_factory: Callable[..., Stack]) -> None:
    stack = stack_factory(
        EXAMPLES / "openapi-http-jwt" / "gatehold.yaml", extra_args=["--issuer-alias", ALIAS]
    )
    # -c without --issuer-alias: the issuer stays remote, so no local API and no gatehold-m2m
    minted = token(
        stack, "-c", str(EXAMPLES / "openapi-http-jwt" / "gatehold.yaml"), "--client", "gatehold-m2m"
    )
    assert minted.returncode == 1
    assert "unknown application 'gatehold-m2m'" in minted.stderr
