"""The key-rotation drill (gatehold.testing.drills.rotation_drill) against real stacks on
`--test-clock`, one per `gateway.jwks_refetch` mode: the issuer's key rotated by `gatehold keys
rotate` while the gateway runs, tokens of the old and the new key sent before and after the
gateway's cached key set expires (docs/authorizers.md, "Key rotation")."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gatehold.cli.idp import rotation_outlook
from gatehold.config.models import GatewaySettings
from gatehold.testing.clock import StackClock
from gatehold.testing.drills import RotationReport, rotation_drill
from tests.oauth_flow import client_credentials
from tests.stackctl import Stack, new_stack

TTL = 300
M2M = ("drill-m2m", "drill-m2m-secret-0123456789abcdef")
UNKNOWN_KEY = 'Bearer scope="" error="invalid_token" error_description="the token\'s signing key is unknown"'

CONFIG = """\
gateway:
  jwks_cache_ttl: {ttl}
  jwks_refetch: {mode}
apis:
  drill:
    type: HTTP
    authorizers:
      auth0:
        type: JWT
        identity_source: $request.header.Authorization
        jwt_configuration:
          issuer: ${{idp_url}}/
          audience: [https://drill-api]
    routes:
      GET /jwt:
        integration: {{type: mock, status_code: 200, body: '{{"ok": true}}'}}
        authorizer: auth0
tenant:
  apis:
    - {{identifier: https://drill-api, name: Drill API, token_lifetime: 3600}}
  applications:
    {client}:
      app_type: non_interactive
      client_secret: "{secret}"
      grant_types: [client_credentials]
  client_grants:
    - {{client_id: {client}, audience: https://drill-api, scope: []}}
"""


def start(root: Path, mode: str) -> Stack:
    root.mkdir(parents=True, exist_ok=True)
    config = root / "gatehold.yaml"
    config.write_text(CONFIG.format(ttl=TTL, mode=mode, client=M2M[0], secret=M2M[1]))
    return new_stack(root / "data", config, ["--test-clock", "--no-reload"]).start()


@pytest.fixture(scope="module", params=["on-unknown-kid", "ttl-only"])
def drilled(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = start(tmp_path_factory.mktemp(request.param), request.param)
    try:
        yield stack
    finally:
        stack.stop()


def mint(stack: Stack) -> str:
    return client_credentials(stack.idp_url, M2M[0], M2M[1], "https://drill-api")


def rotate_printing(stack: Stack, printed: list[str]) -> str:
    """`gatehold keys rotate` on the stack's data directory, keeping what it printed."""
    done = subprocess.run(
        [sys.executable, "-m", "gatehold", "keys", "rotate", "--data-dir", str(stack.data_dir)],
        capture_output=True,
        text=True,
        check=True,
    )
    printed.append(done.stdout)
    return done.stdout.split("signing with ", 1)[1].split(";", 1)[0]


def mode_of(stack: Stack) -> str:
    return (
        "ttl-only" if "ttl-only" in (stack.config.read_text() if stack.config else "") else "on-unknown-kid"
    )


def test_a_rotation_the_gateway_cannot_have_seen(drilled: Stack) -> None:
    """Two rotations: the key that signs afterwards was never in the key set the gateway cached, and
    the key that signed before is no longer published."""
    mode = mode_of(drilled)
    printed: list[str] = []
    try:
        report = rotation_drill(
            drilled,
            "/drill/jwt",
            mint=lambda: mint(drilled),
            ttl=TTL,
            rotate=lambda: rotate_printing(drilled, printed),
        )
    finally:
        StackClock(drilled.admin_url).resume()
    explain = report.table()
    assert report.new_kid != report.old_kid
    assert report.status("old key", "before rotation") == 200, explain
    if mode == "on-unknown-kid":
        assert report.status("new key", "at once") == 200, explain  # the unknown kid fetched the set again
    else:
        refused = report.observation("new key", "at once")
        assert refused.status == 401, explain  # unknown until the cached set is TTL old
        assert refused.www_authenticate == UNKNOWN_KEY
    if mode == "on-unknown-kid":
        # the new key's token fetched the set again: the dropped key went with the old set
        assert report.status("old key", "at once") == 401, explain
    else:
        assert report.status("old key", "at once") == 200, explain  # still in the cached set
    assert report.status("new key", "after TTL") == 200, explain
    retired = report.observation("old key", "after TTL")
    assert retired.status == 401, explain  # dropped from the set fetched after the TTL
    assert retired.www_authenticate == UNKNOWN_KEY
    assert f"jwks_refetch: {mode}" in printed[-1]
    assert f"{report.old_kid} is no longer published" in printed[-1]


def test_one_rotation_promotes_a_key_already_published(drilled: Stack) -> None:
    """The identity provider publishes its next key before it signs: after one rotation a gateway
    that fetched the key set since then knows the new key in either mode, and the old one stays
    published as previous."""
    try:
        report: RotationReport = rotation_drill(
            drilled, "/drill/jwt", mint=lambda: mint(drilled), ttl=TTL, rotations=1
        )
    finally:
        StackClock(drilled.admin_url).resume()
    explain = report.table()
    assert [o.status for o in report.observations] == [200, 200, 200, 200, 200], explain


@pytest.mark.parametrize(
    ("mode", "published", "expected"),
    [
        (
            "on-unknown-kid",
            1_700_000_000,
            "fetches the key set again (at most once per 10 s) and passes at once",
        ),
        (
            "ttl-only",
            1_700_000_000,
            "refused (401, the token's signing key is unknown) until the cached key set is 300 s old",
        ),
        ("ttl-only", None, "was never published before"),
    ],
    ids=["on-unknown-kid", "ttl-only", "never-published"],
)
def test_keys_rotate_says_what_the_gateway_will_do(mode: str, published: int | None, expected: str) -> None:
    settings = GatewaySettings(jwks_refetch=mode, jwks_cache_ttl=300)  # type: ignore[arg-type]
    lines = rotation_outlook(settings, "new-kid", published, ["gone-kid"])
    assert expected in "\n".join(lines)
    assert "gone-kid is no longer published" in lines[-1]
    assert "at most 300 s" in lines[-1]


def test_the_mode_is_validated() -> None:
    with pytest.raises(ValueError, match="on-unknown-kid"):
        GatewaySettings(jwks_refetch="sometimes")  # type: ignore[arg-type]
