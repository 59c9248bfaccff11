"""The benchmark's own issuer: one RSA key we control, a tiny OIDC discovery + JWKS server on loopback,
and RS256 token minting (single tokens, and pools of distinct tokens for the fresh-token scenario).

Every target (Gatehold, MiniStack, serverless-offline) is configured with this issuer, so the same
tokens are presented to all of them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import multiprocessing
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bench.common import PEERS, free_port, log

KEY_FILE = PEERS / "bench-rsa.pem"
AUDIENCE = "https://unicorns-api"
SCOPE = "read:unicorn"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def load_key() -> rsa.RSAPrivateKey:
    PEERS.mkdir(parents=True, exist_ok=True)
    if not KEY_FILE.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        KEY_FILE.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    loaded = serialization.load_pem_private_key(KEY_FILE.read_bytes(), password=None)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    return loaded


def jwk(key: rsa.RSAPrivateKey) -> dict[str, str]:
    pub = key.public_key().public_numbers()
    n = pub.n.to_bytes((pub.n.bit_length() + 7) // 8, "big")
    e = pub.e.to_bytes((pub.e.bit_length() + 7) // 8, "big")
    kid = hashlib.sha256(n).hexdigest()[:16]
    return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": b64url(n), "e": b64url(e)}


STABLE_ISSUER_PORT = 18777


def _stable_port() -> int:
    """A fixed port when free, so pooled tokens (whose ``iss`` names the port) stay valid across runs."""
    import socket

    with socket.socket() as s:
        # as the HTTP server will: a TIME_WAIT left by the previous run must not move the port
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", STABLE_ISSUER_PORT))
            return STABLE_ISSUER_PORT
        except OSError:
            return free_port()


class Issuer:
    """OIDC discovery + JWKS for ``http://127.0.0.1:<port>/`` (Auth0 style: trailing slash)."""

    def __init__(self) -> None:
        self.key = load_key()
        self.jwk = jwk(self.key)
        self.port = _stable_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.issuer = f"{self.url}/"
        self.jwks_uri = f"{self.url}/.well-known/jwks.json"
        self.hits = 0
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.hits += 1
                path = "/" + self.path.lstrip("/")
                if path.startswith("/.well-known/openid-configuration"):
                    body = {
                        "issuer": issuer.issuer,
                        "jwks_uri": issuer.jwks_uri,
                        "id_token_signing_alg_values_supported": ["RS256"],
                        "response_types_supported": ["code"],
                        "subject_types_supported": ["public"],
                    }
                elif path.startswith("/.well-known/jwks.json"):
                    body = {"keys": [issuer.jwk]}
                else:
                    self.send_error(404)
                    return
                raw = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def mint(self, *, jti: str = "bench", lifetime: int = 86400, **extra: Any) -> str:
        return mint(self.key, self.jwk["kid"], self.issuer, jti=jti, lifetime=lifetime, **extra)

    def token_pool(self, count: int) -> Path:
        return token_pool(self, count)


def mint(
    key: rsa.RSAPrivateKey,
    kid: str,
    issuer: str,
    *,
    jti: str,
    lifetime: int = 86400,
    now: int | None = None,
    **extra: Any,
) -> str:
    now = int(time.time()) if now is None else now
    header = {"alg": "RS256", "typ": "JWT", "kid": kid}
    claims = {
        "iss": issuer,
        "sub": "bench-client@clients",
        "aud": AUDIENCE,
        "azp": "bench-client",
        "scope": SCOPE,
        "gty": "client-credentials",
        "iat": now,
        "exp": now + lifetime,
        "jti": jti,
        **extra,
    }
    signing_input = (
        b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    sig = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(sig)}"


def _mint_range(args: tuple[str, str, int, int, int]) -> list[str]:
    issuer, kid, start, stop, now = args
    key = load_key()
    return [mint(key, kid, issuer, jti=f"pool-{i}", now=now) for i in range(start, stop)]


def token_pool(issuer: Issuer, count: int) -> Path:
    """``count`` distinct RS256 tokens for ``issuer`` (one per line), cached on disk for a day.

    The cache is keyed by issuer URL and key id; the issuer binds a stable port when it is free."""
    tag = hashlib.sha256(f"{issuer.issuer}|{issuer.jwk['kid']}".encode()).hexdigest()[:10]
    path = PEERS / f"tokens-{tag}-{count}.txt"
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        info = json.loads(meta.read_text())
        if info.get("exp_min", 0) > time.time() + 3 * 3600:
            return path
    log(f"minting {count:,} distinct RS256 tokens on 2 processes (cached in {path.name})")
    t0 = time.monotonic()
    now = int(time.time())
    procs = max(1, os.cpu_count() or 1)
    step = (count + procs * 8 - 1) // (procs * 8)
    chunks = [(issuer.issuer, issuer.jwk["kid"], s, min(s + step, count), now) for s in range(0, count, step)]
    with multiprocessing.get_context("fork").Pool(procs) as pool, path.open("w") as out:
        for toks in pool.imap(_mint_range, chunks):
            out.write("\n".join(toks) + "\n")
    meta.write_text(json.dumps({"count": count, "exp_min": now + 86400}))
    log(f"minted {count:,} tokens in {time.monotonic() - t0:.1f}s")
    return path
