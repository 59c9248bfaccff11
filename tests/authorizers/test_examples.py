"""The example stack's authorizers (seeds 000, 001/003, 002, 004), through the real Lambda runtime,
with tokens signed by keys we control and a loopback issuer standing in for the identity provider."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from gatehold.cli import cli
from gatehold.cli.common import example_config_path
from gatehold.config.loader import load_config
from gatehold.gateway.authorizers import build_authorizers
from gatehold.gateway.routing import compile_apis
from gatehold.runtime import build_invoker
from tests.authorizers.conftest import Harness, InProcessInvoker
from tests.jose.support import FakeIssuer, ManualClock, claims_for, sign_hmac

SECRET = b"demo-streaming-signing-secret-0123456789abcdef"
STREAMING_AUD = "https://StreamingResourceServer"
EXPLICIT = b'{"Message":"User is not authorized to access this resource with an explicit deny"}'


def streaming_token(
    scope: str, *, secret: bytes = SECRET, aud: str = STREAMING_AUD, lifetime: int = 600
) -> str:
    t = int(time.time())
    claims = {
        "iss": "x",
        "sub": "amazon|movie-fan",
        "aud": aud,
        "scope": scope,
        "iat": t - 5,
        "exp": t + lifetime,
    }
    return sign_hmac(secret, claims, kid=None)


@pytest.fixture
async def stack(issuer: FakeIssuer, tmp_path: Path, http: httpx.AsyncClient) -> AsyncIterator[Harness]:
    variables = {
        "idp_url": issuer.base_url,
        "issuer": issuer.issuer,
        "spa_url": "http://localhost:3000",
        "gateway_url": "http://localhost:8000",
        "data_dir": str(tmp_path),
    }
    loaded = load_config(example_config_path(), variables=variables)
    invoker = build_invoker(loaded)
    clock = ManualClock()
    authorizers = build_authorizers(loaded, invoker, http, wall_clock=clock)
    try:
        yield Harness(loaded, authorizers, compile_apis(loaded), InProcessInvoker({}), clock)
    finally:
        await invoker.aclose()


@pytest.mark.parametrize(
    ("scope", "api", "path", "status", "body"),
    [
        pytest.param("openid profile read:Movies", "movies", "/beta/movie", 200, b"", id="amazon-gets-movie"),
        pytest.param(
            "openid profile read:Movies", "devices", "/beta/device", 403, EXPLICIT, id="amazon-refused-device"
        ),
        pytest.param("read:Devices", "devices", "/beta/device", 200, b"", id="google-gets-device"),
        pytest.param("read:Devices", "movies", "/beta/movie", 403, EXPLICIT, id="google-refused-movie"),
        pytest.param("openid profile", "movies", "/beta/movie", 403, EXPLICIT, id="no-scope"),
    ],
)
async def test_seed_000_streaming_authorizer(
    stack: Harness, scope: str, api: str, path: str, status: int, body: bytes
) -> None:
    result = await stack.call(api, "GET", path, {"Authorization": f"Bearer {streaming_token(scope)}"})
    assert (result.status, result.body) == (status, body)
    if status == 200:
        assert result.outcome is not None
        assert result.outcome.principal_id == "amazon|movie-fan"


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(streaming_token("read:Movies", secret=b"x" * 46), id="wrong-secret"),
        pytest.param(streaming_token("read:Movies", aud="other"), id="wrong-audience"),
        pytest.param(streaming_token("read:Movies", lifetime=-10), id="expired"),
        pytest.param("garbage", id="not-a-jwt"),
    ],
)
async def test_seed_000_invalid_token_is_a_deny(stack: Harness, token: str) -> None:
    result = await stack.call("movies", "GET", "/beta/movie", {"Authorization": token})
    assert (result.status, result.body) == (403, EXPLICIT)
    assert result.step["principalId"] == ""


async def test_seed_000_no_token_is_401(stack: Harness) -> None:
    result = await stack.call("movies", "GET", "/beta/movie")
    assert (result.status, result.body) == (401, b'{"message":"Unauthorized"}')


def petstore_token(issuer: FakeIssuer, **extra: Any) -> str:
    return issuer.token(
        claims_for(
            issuer.issuer, extra.pop("aud", "https://your-api-gateway"), scope="read:pets write:pets", **extra
        )
    )


async def test_seed_001_rs256_jwks_authorizer_allows(stack: Harness, issuer: FakeIssuer) -> None:
    result = await stack.call(
        "petstore", "GET", "/test/pets", {"Authorization": f"Bearer {petstore_token(issuer)}"}
    )
    assert result.status == 200
    assert result.outcome is not None
    assert result.outcome.principal_id == "auth0|user-1"
    assert result.outcome.context == {"scope": "read:pets write:pets"}
    again = await stack.call(
        "petstore", "GET", "/test/pets", {"Authorization": f"Bearer {petstore_token(issuer)}"}
    )
    assert again.status == 200


@pytest.mark.parametrize(
    ("header", "why"),
    [
        pytest.param(None, "missing", id="missing"),
        pytest.param("TOKEN", "validation", id="no-bearer-prefix-fails-validation"),
        pytest.param("Bearer a.b.c", "Unauthorized", id="garbage-jwt"),
        pytest.param("wrong-aud", "Unauthorized", id="wrong-audience"),
        pytest.param("wrong-iss", "Unauthorized", id="wrong-issuer"),
        pytest.param("no-kid", "Unauthorized", id="no-kid"),
    ],
)
async def test_seed_001_refusals_are_401(
    stack: Harness, issuer: FakeIssuer, header: str | None, why: str
) -> None:
    tokens = {
        "TOKEN": petstore_token(issuer),
        "wrong-aud": "Bearer " + petstore_token(issuer, aud="https://other"),
        "wrong-iss": "Bearer " + issuer.token(claims_for("https://evil/", "https://your-api-gateway")),
        "no-kid": "Bearer " + issuer.token(claims_for(issuer.issuer, "https://your-api-gateway"), kid=None),
    }
    headers = {} if header is None else {"Authorization": tokens.get(header, header)}
    result = await stack.call("petstore", "GET", "/test/pets", headers)
    assert (result.status, result.body) == (401, b'{"message":"Unauthorized"}')


@pytest.mark.parametrize(
    ("scope", "path", "status"),
    [
        pytest.param("read:unicorn", "/unicorn", 200, id="rider-reads-a-unicorn"),
        pytest.param("read:unicorn", "/unicorns", 403, id="rider-cannot-list"),
        pytest.param("read:unicorn list:unicorns", "/unicorns", 200, id="trainer-lists"),
    ],
)
async def test_seed_002_unicorns_jwt(
    stack: Harness, issuer: FakeIssuer, scope: str, path: str, status: int
) -> None:
    token = issuer.token(claims_for(issuer.issuer, "https://unicorns-api", scope=scope))
    result = await stack.call("unicorns", "GET", path, {"Authorization": f"Bearer {token}"})
    assert result.status == status


async def test_seed_004_wishlist_post_needs_a_token(stack: Harness, issuer: FakeIssuer) -> None:
    assert (
        await stack.call("wishlist", "POST", "/default/wish-list-service")
    ).body == b'{"message":"Unauthorized"}'
    token = issuer.token(claims_for(issuer.issuer, "https://auth0-jwt-authorizer"))
    result = await stack.call(
        "wishlist", "POST", "/default/wish-list-service", {"Authorization": f"Bearer {token}"}
    )
    assert result.status == 200
    assert (await stack.call("wishlist", "GET", "/default/wish-list-service")).outcome is None


# -- gatehold authorizer test ------------------------------------------------------------------


def run_cli(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["authorizer", "test", *args])
    return result.exit_code, result.output


def test_cli_judges_a_streaming_token(tmp_path: Path) -> None:
    arn = "arn:aws:execute-api:us-east-1:123456789012:abc/beta/GET/movie"
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps({"type": "TOKEN", "authorizationToken": streaming_token("read:Movies"), "methodArn": arn})
    )
    code, out = run_cli(["--api", "movies", "--authorizer", "auth0-movies", "--event", str(event)])
    assert code == 0, out
    assert '"Effect": "Allow"' in out
    assert "Allow by Statement[0]" in out
    code, out = run_cli(
        [
            "--function",
            "auth0-custom-authorizer",
            "--event",
            str(event),
            "--method-arn",
            arn.replace("movie", "device"),
        ]
    )
    assert code == 1
    assert 'implicit-deny → 403 {"Message":"User is not authorized to access this resource"}' in out


def test_cli_reports_unauthorized(tmp_path: Path, issuer: FakeIssuer) -> None:
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {
                "type": "TOKEN",
                "authorizationToken": "Bearer nope",
                "methodArn": "arn:aws:execute-api:us-east-1:1:apiId/stage/GET/pets",
            }
        )
    )
    code, out = run_cli(
        ["--authorizer", "jwt-rsa-custom-authorizer", "--event", str(event), "--idp-url", issuer.base_url]
    )
    assert code == 1
    assert '401 {"message":"Unauthorized"}' in out


def test_cli_allows_the_sample_event(tmp_path: Path, issuer: FakeIssuer) -> None:
    event = tmp_path / "event.json"
    token = petstore_token(issuer)
    event.write_text(
        json.dumps(
            {
                "type": "TOKEN",
                "authorizationToken": f"Bearer {token}",
                "methodArn": "arn:aws:execute-api:us-east-1:1234567890:apiId/stage/method/resourcePath",
            }
        )
    )
    code, out = run_cli(
        ["--authorizer", "jwt-rsa-custom-authorizer", "--event", str(event), "--idp-url", issuer.base_url]
    )
    assert code == 0, out
    assert '"scope": "read:pets write:pets"' in out
