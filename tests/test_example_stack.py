"""The example stack end to end: every row of the design's table, over real HTTP, with tokens from
Gatehold's own identity provider (login form + PKCE for people, client credentials for machines).
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import jwt
import pytest

from tests.oauth_flow import client_credentials, login
from tests.stackctl import Stack


@pytest.fixture
def stack(example_stack: Stack) -> Stack:
    """Every test here holds for the stack with the seeds' Python ports and with their own Node.js code."""
    return example_stack


PASSWORD = "Gatehold-demo-1"
M2M = ("demo-m2m", "demo-m2m-secret-change-me-0123456789")
UNAUTHORIZED = b'{"message":"Unauthorized"}'
EXPLICIT_DENY = b'{"Message":"User is not authorized to access this resource with an explicit deny"}'
FORBIDDEN_HTTP = b'{"message":"Forbidden"}'


@functools.cache
def _user_token(
    idp_url: str, spa_url: str, email: str, audience: str, scope: str, connection: str | None
) -> str:
    tokens = login(
        idp_url,
        client_id="demo-spa",
        redirect_uri=f"{spa_url}/callback",
        username=email,
        password=PASSWORD,
        audience=audience,
        scope=f"openid profile email {scope}",
        connection=connection,
    )
    token: str = tokens["access_token"]
    return token


def user_token(stack: Stack, email: str, audience: str, scope: str, connection: str | None = None) -> str:
    return _user_token(stack.idp_url, stack.spa_url, email, audience, scope, connection)


def get(stack: Stack, path: str, token: str | None = None, **kw: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{stack.gateway_url}{path}", headers=headers, timeout=15, **kw)  # type: ignore[arg-type]


STREAMING = ("https://StreamingResourceServer", "read:Movies read:Devices")


@pytest.mark.parametrize(
    ("email", "connection", "path", "status", "body"),
    [
        pytest.param(
            "movie-fan@example.com",
            "amazon",
            "/movies/beta/movie",
            200,
            "Movie Info retrieved from Movie API",
            id="amazon-gets-movie",
        ),
        pytest.param(
            "movie-fan@example.com",
            "amazon",
            "/devices/beta/device",
            403,
            EXPLICIT_DENY,
            id="amazon-refused-device",
        ),
        pytest.param(
            "device-fan@example.com",
            "google",
            "/devices/beta/device",
            200,
            "Device Info retrieved from Device API",
            id="google-gets-device",
        ),
        pytest.param(
            "device-fan@example.com",
            "google",
            "/movies/beta/movie",
            403,
            EXPLICIT_DENY,
            id="google-refused-movie",
        ),
    ],
)
def test_seed000_movies_and_devices(
    stack: Stack, email: str, connection: str, path: str, status: int, body: object
) -> None:
    token = user_token(stack, email, *STREAMING, connection=connection)
    resp = get(stack, path, token)
    assert resp.status_code == status, resp.text
    if isinstance(body, bytes):
        assert resp.content == body
    else:
        assert body in resp.text


@pytest.mark.parametrize("path", ["/movies/beta/movie", "/devices/beta/device"])
def test_seed000_no_token_is_401(stack: Stack, path: str) -> None:
    resp = get(stack, path)
    assert resp.status_code == 401
    assert resp.content == UNAUTHORIZED
    assert resp.headers["x-amzn-ErrorType"] == "UnauthorizedException"


@pytest.mark.parametrize(
    ("email", "path", "status"),
    [
        pytest.param("rider@example.com", "/unicorns/unicorn?name=Gaia", 200, id="rider-reads"),
        pytest.param("rider@example.com", "/unicorns/unicorns", 403, id="rider-cannot-list"),
        pytest.param("trainer@example.com", "/unicorns/unicorn?name=Gaia", 200, id="trainer-reads"),
        pytest.param("trainer@example.com", "/unicorns/unicorns", 200, id="trainer-lists"),
    ],
)
def test_seed002_unicorns_rbac(stack: Stack, email: str, path: str, status: int) -> None:
    token = user_token(stack, email, "https://unicorns-api", "read:unicorn list:unicorns")
    resp = get(stack, path, token)
    assert resp.status_code == status, resp.text
    if status == 200 and "name=" in path:
        assert resp.json() == {"name": "Gaia", "gift": "Flight"}
    if status == 200 and path.endswith("/unicorns"):
        assert [u["name"] for u in resp.json()] == ["Gaia", "Magestic", "Sparkles"]
    if status == 403:
        assert resp.content == FORBIDDEN_HTTP


def test_seed002_missing_name_is_400(stack: Stack) -> None:
    token = client_credentials(stack.idp_url, *M2M, "https://unicorns-api")
    resp = get(stack, "/unicorns/unicorn", token)
    assert resp.status_code == 400
    assert resp.json() == "Missing Unicorn Name"


def test_seed002_no_token(stack: Stack) -> None:
    resp = get(stack, "/unicorns/unicorns")
    assert resp.status_code == 401
    assert resp.content == UNAUTHORIZED
    assert resp.headers["www-authenticate"].startswith("Bearer")


def test_seed001_petstore(stack: Stack) -> None:
    assert get(stack, "/petstore/test/pets").content == UNAUTHORIZED
    token = client_credentials(stack.idp_url, *M2M, "https://your-api-gateway")
    pets = get(stack, "/petstore/test/pets", token)
    assert pets.status_code == 200, pets.text
    assert pets.json() == [
        {"id": 1, "type": "dog", "price": 249.99},
        {"id": 2, "type": "cat", "price": 124.99},
        {"id": 3, "type": "fish", "price": 0.99},
    ]
    # the validation expression ^Bearer [-0-9a-zA-z\.]*$ refuses other schemes without invoking
    raw = httpx.get(f"{stack.gateway_url}/petstore/test/pets", headers={"Authorization": token}, timeout=10)
    assert raw.status_code == 401
    one = get(stack, "/petstore/test/pets/1")
    assert one.status_code == 200
    assert one.json() == {"id": 1, "type": "dog", "price": 249.99}
    created = httpx.post(
        f"{stack.gateway_url}/petstore/test/pets", json={"type": "dog", "price": 249.99}, timeout=10
    )
    assert created.status_code == 200
    assert created.json() == {"pet": {"type": "dog", "price": 249.99}, "message": "success"}
    home = get(stack, "/petstore/test/")
    assert home.status_code == 200
    assert home.headers["content-type"].startswith("text/html")
    assert 'href="/test/pets/1"' in home.text


def test_seed004_wishlist(stack: Stack) -> None:
    url = f"{stack.gateway_url}/wishlist/default/wish-list-service"
    item = {"name": "Test Item", "description": "Test Description", "url": "https://www.amazon.com"}
    refused = httpx.post(url, json=item, timeout=10)
    assert refused.status_code == 401
    assert refused.content == UNAUTHORIZED
    token = client_credentials(stack.idp_url, *M2M, "https://auth0-jwt-authorizer")
    created = httpx.post(url, json=item, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert created.status_code == 201, created.text
    new_id = created.json()["id"]
    assert created.json() == {"id": new_id}
    # the seed stores Lambda's context.awsRequestId: a fresh UUID, not API Gateway's request id
    assert str(uuid.UUID(new_id)) == new_id
    assert new_id != created.headers["apigw-requestid"]
    listed = httpx.get(url, timeout=10).json()
    assert listed["Count"] == listed["ScannedCount"] == len(listed["Items"])
    assert {**item, "id": new_id} in listed["Items"]


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        pytest.param(
            "/movies/beta/nope", 403, b'{"message":"Missing Authentication Token"}', id="rest-unknown-path"
        ),
        pytest.param(
            "/petstore/test/pets/1/x", 403, b'{"message":"Missing Authentication Token"}', id="rest-too-deep"
        ),
        pytest.param("/unicorns/nope", 404, b'{"message":"Not Found"}', id="http-unknown-route"),
    ],
)
def test_unknown_routes(stack: Stack, path: str, status: int, body: bytes) -> None:
    resp = get(stack, path)
    assert resp.status_code == status
    assert resp.content == body


def test_rest_wrong_method(stack: Stack) -> None:
    resp = httpx.delete(f"{stack.gateway_url}/petstore/test/pets", timeout=10)
    assert resp.status_code == 403
    assert resp.content == b'{"message":"Missing Authentication Token"}'
    assert resp.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def test_wishlist_and_keys_survive_restart(stack_factory: Callable[..., Stack], tmp_path: Path) -> None:
    s = stack_factory(data_dir=tmp_path / "restart", extra_args=["--no-spa"])
    token = client_credentials(s.idp_url, *M2M, "https://auth0-jwt-authorizer")
    url = f"{s.gateway_url}/wishlist/default/wish-list-service"
    item = {"name": "Kept", "description": "survives a restart", "url": "https://example.com"}
    created = httpx.post(
        url, content=json.dumps(item), headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert created.status_code == 201, created.text
    s.restart()  # SIGTERM, graceful exit 0, same ports and data directory
    items = httpx.get(url, timeout=10).json()["Items"]
    assert {**item, "id": created.json()["id"]} in items
    # the identity provider kept its signing keys: a token issued before the restart still verifies
    again = httpx.post(url, json=item, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert again.status_code == 201, again.text


def test_bad_signatures_are_refused(stack: Stack) -> None:
    """Seed 000's HS256 authorizer denies a token signed with another secret (its verification error
    path: an explicit Deny, 403); seed 001/003's RS256 authorizer answers a tampered signature with
    "Unauthorized" (401)."""
    now = int(time.time())
    forged = jwt.encode(
        {
            "iss": stack.issuer,
            "sub": "amazon|forger",
            "aud": STREAMING[0],
            "scope": "read:Movies",
            "iat": now,
            "exp": now + 600,
        },
        "not-the-streaming-signing-secret-0123456789",
        algorithm="HS256",
    )
    movie = get(stack, "/movies/beta/movie", forged)
    assert (movie.status_code, movie.content) == (403, EXPLICIT_DENY)

    token = client_credentials(stack.idp_url, *M2M, "https://your-api-gateway")
    head, payload, signature = token.split(".")
    tampered = f"{head}.{payload}.{signature[:-4]}{'AAAA' if not signature.endswith('AAAA') else 'BBBB'}"
    pets = get(stack, "/petstore/test/pets", tampered)
    assert (pets.status_code, pets.content) == (401, UNAUTHORIZED)
