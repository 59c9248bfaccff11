"""RSS growth after N distinct tokens through Gatehold's verifier and verified-token cache, in process.

    .venv/bin/python bench/rss_tokens.py [N]      # prints one JSON line

Each token is distinct (its own ``jti``) and valid, so every one is verified and offered to the
bounded cache (the real :class:`gatehold.jose.verifier.JwtVerifier`, default cache size). The tokens
are HS256 so that a million of them can be minted in seconds; the cache and the claim path do not
depend on the algorithm. RS256 over HTTP is covered by run.py's S4 (server RSS before/after).
"""

from __future__ import annotations

import base64
import gc
import hashlib
import hmac
import json
import sys
import time
from pathlib import Path


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def main(n: int) -> dict[str, object]:
    from gatehold.jose.claims import ClaimsExpectations
    from gatehold.jose.keys import HmacKey
    from gatehold.jose.verifier import JwtVerifier, StaticKeys

    secret = b"bench-rss-secret-0123456789abcdef-0123456789"
    issuer, audience = "https://bench.example/", "https://unicorns-api"
    verifier = JwtVerifier(
        StaticKeys([HmacKey.create(secret, "HS256", kid="k1")]),
        ClaimsExpectations(issuer=issuer, audiences=frozenset([audience])),
    )
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
    now = int(time.time())

    def token(i: int) -> str:
        claims = {
            "iss": issuer,
            "aud": audience,
            "sub": f"user-{i}",
            "scope": "read:unicorn",
            "iat": now,
            "exp": now + 3600,
            "jti": f"t{i}",
        }
        signing_input = f"{header}.{b64(json.dumps(claims, separators=(',', ':')).encode())}"
        sig = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64(sig)}"

    # warm: fill the cache once so the baseline includes a full cache, as a long-running server has
    warm = verifier.cache.max_entries
    for i in range(warm):
        verifier.verify_sync(token(i))
    gc.collect()
    before = rss_kb()
    t0 = time.monotonic()
    for i in range(warm, warm + n):
        verifier.verify_sync(token(i))
    elapsed = time.monotonic() - t0
    gc.collect()
    after = rss_kb()
    return {
        "tokens": n,
        "cache_entries": len(verifier.cache),
        "cache_max_entries": verifier.cache.max_entries,
        "rss_before_kb": before,
        "rss_after_kb": after,
        "rss_growth_mb": round((after - before) / 1024, 2),
        "seconds": round(elapsed, 1),
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)))
