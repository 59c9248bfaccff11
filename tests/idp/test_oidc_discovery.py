"""Discovery document and JWKS: complete, consistent, JSON, CORS (oidc-client-ts fetches them)."""

from __future__ import annotations

import httpx
import jwt

from tests.idp.conftest import M2M_SECRET, IdpServer


def test_discovery_document_complete(idp: IdpServer) -> None:
    r = httpx.get(idp.url + "/.well-known/openid-configuration", headers={"Origin": "http://localhost:3000"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers["access-control-allow-origin"] == "*"
    doc = r.json()
    base = idp.issuer
    assert doc["issuer"] == base
    assert doc["authorization_endpoint"] == base + "authorize"
    assert doc["token_endpoint"] == base + "oauth/token"
    assert doc["userinfo_endpoint"] == base + "userinfo"
    assert doc["jwks_uri"] == base + ".well-known/jwks.json"
    assert doc["revocation_endpoint"] == base + "oauth/revoke"
    assert doc["end_session_endpoint"] == base + "oidc/logout"
    assert doc["response_types_supported"] == ["code"]
    assert doc["response_modes_supported"] == ["query", "web_message"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert set(doc["grant_types_supported"]) == {"authorization_code", "refresh_token", "client_credentials"}
    assert set(doc["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
        "none",
    }
    assert doc["subject_types_supported"] == ["public"]
    assert {"openid", "profile", "email", "offline_access", "read:unicorn"} <= set(doc["scopes_supported"])
    assert {"sub", "iss", "aud", "email", "name"} <= set(doc["claims_supported"])


def test_jwks_shape_and_issuer_matches_tokens(idp: IdpServer) -> None:
    r = httpx.get(idp.url + "/.well-known/jwks.json")
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers["access-control-allow-origin"] == "*"
    keys = r.json()["keys"]
    for key in keys:
        assert set(key) == {"kty", "use", "kid", "alg", "n", "e"}  # no x5c
    token = httpx.post(
        idp.url + "/oauth/token",
        data={"grant_type": "client_credentials", "audience": "https://unicorns-api"},
        auth=("demo-m2m", M2M_SECRET),
    ).json()["access_token"]
    assert jwt.get_unverified_header(token)["kid"] in {k["kid"] for k in keys}
    doc = httpx.get(idp.url + "/.well-known/openid-configuration").json()
    assert jwt.decode(token, options={"verify_signature": False})["iss"] == doc["issuer"]


def test_cors_preflight_on_discovery(idp: IdpServer) -> None:
    r = httpx.options(
        idp.url + "/.well-known/openid-configuration",
        headers={"Origin": "http://anything.example", "Access-Control-Request-Method": "GET"},
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "*"
