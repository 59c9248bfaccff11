"""Test support: tokens signed with keys we control, and a real OIDC discovery + JWKS server on
loopback whose keys, availability and request log the test controls."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from base64 import urlsafe_b64encode
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

_HASH = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}


def b64(data: bytes) -> str:
    return urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(obj: Any) -> str:
    return b64(json.dumps(obj, separators=(",", ":")).encode())


def sign_rsa(
    key: rsa.RSAPrivateKey,
    claims: dict[str, Any],
    *,
    kid: str | None = "k1",
    alg: str = "RS256",
    header: dict[str, Any] | None = None,
) -> str:
    h: dict[str, Any] = {"alg": alg, "typ": "JWT"}
    if kid is not None:
        h["kid"] = kid
    h.update(header or {})
    signing_input = f"{segment(h)}.{segment(claims)}"
    digest = _HASH[alg[2:]]()
    pad = (
        padding.PKCS1v15()
        if alg.startswith("RS")
        else padding.PSS(padding.MGF1(digest), padding.PSS.DIGEST_LENGTH)
    )
    return signing_input + "." + b64(key.sign(signing_input.encode(), pad, digest))


def sign_hmac(
    secret: bytes,
    claims: dict[str, Any],
    *,
    alg: str = "HS256",
    header: dict[str, Any] | None = None,
    kid: str | None = "k1",
) -> str:
    h: dict[str, Any] = {"alg": alg, "typ": "JWT"}
    if kid is not None:
        h["kid"] = kid
    h.update(header or {})
    signing_input = f"{segment(h)}.{segment(claims)}"
    mac = hmac.new(secret, signing_input.encode(), "sha" + alg[2:]).digest()
    return signing_input + "." + b64(mac)


def unsigned(claims: dict[str, Any], alg: str = "none", kid: str | None = "k1") -> str:
    h: dict[str, Any] = {"alg": alg, "typ": "JWT"}
    if kid is not None:
        h["kid"] = kid
    return f"{segment(h)}.{segment(claims)}."


def rsa_jwk(
    public_key: rsa.RSAPublicKey, kid: str, alg: str | None = "RS256", use: str | None = "sig"
) -> dict[str, Any]:
    nums = public_key.public_numbers()
    jwk: dict[str, Any] = {
        "kty": "RSA",
        "kid": kid,
        "n": b64(nums.n.to_bytes((nums.n.bit_length() + 7) // 8, "big")),
        "e": b64(nums.e.to_bytes((nums.e.bit_length() + 7) // 8, "big")),
    }
    if alg is not None:
        jwk["alg"] = alg
    if use is not None:
        jwk["use"] = use
    return jwk


@dataclass
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey

    @property
    def jwk(self) -> dict[str, Any]:
        return rsa_jwk(self.private.public_key(), self.kid)


@dataclass
class FakeIssuer:
    """A real HTTP server: ``/.well-known/openid-configuration`` and ``/.well-known/jwks.json``.

    ``mode``: ``"ok"``, ``"503"`` (errors), ``"garbage"`` (non-JSON), ``"huge"`` (over 150000 bytes).
    ``requests`` lists every path requested, so tests can assert that no outbound request was made.
    """

    keys: list[SigningKey]
    extra_jwks: list[Any] = field(default_factory=list)
    mode: str = "ok"
    requests: list[str] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    discovery_issuer: str | None = None

    @property
    def base_url(self) -> str:
        assert self.server is not None
        port = self.server.server_address[1]
        return f"http://127.0.0.1:{port}"

    @property
    def issuer(self) -> str:
        return self.base_url + "/"

    def jwks(self) -> dict[str, Any]:
        return {"keys": [*self.extra_jwks, *(k.jwk for k in self.keys)]}

    def token(self, claims: dict[str, Any] | None = None, *, key: SigningKey | None = None, **kw: Any) -> str:
        key = key or self.keys[0]
        return sign_rsa(key.private, claims if claims is not None else {}, kid=kw.pop("kid", key.kid), **kw)

    def start(self) -> FakeIssuer:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                issuer.requests.append(self.path)
                if issuer.mode == "503":
                    self._send(503, b'{"error":"unavailable"}')
                elif issuer.mode == "garbage":
                    self._send(200, b"<html>not json")
                elif self.path == "/.well-known/openid-configuration":
                    doc = {
                        "issuer": issuer.discovery_issuer or issuer.issuer,
                        "jwks_uri": issuer.base_url + "/.well-known/jwks.json",
                    }
                    self._send(200, json.dumps(doc).encode())
                elif self.path == "/.well-known/jwks.json":
                    body = json.dumps(issuer.jwks()).encode()
                    if issuer.mode == "huge":
                        body = json.dumps({"keys": [{"kty": "RSA", "pad": "x" * 160_000}]}).encode()
                    self._send(200, body)
                else:
                    self._send(200, b'{"keys":[]}')

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def claims_for(
    issuer: str, audience: str | list[str], *, lifetime: int = 600, now: float | None = None, **extra: Any
) -> dict[str, Any]:
    t = int(now if now is not None else time.time())
    return {"iss": issuer, "sub": "auth0|user-1", "aud": audience, "iat": t - 5, "exp": t + lifetime, **extra}


def fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:12]


class ManualClock:
    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
