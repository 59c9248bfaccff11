"""Micro-benchmark: Gatehold's JWT verify+claims against a raw ``cryptography`` RSA verify and PyJWT.

Per-operation CPU time (``time.thread_time_ns``, so other processes on a busy machine do not count).
Everything runs in one process on the same RS256 key (2048 bits) and the same kind of token (an
Auth0-style access token, 9 claims). Per operation, medians of ``--repeats`` runs:

* ``raw RSA verify``: ``public_key.verify(sig, signing_input, PKCS1v15(), SHA256())`` only — the floor;
* ``gatehold fresh``: ``JwtVerifier.verify_sync`` on a token never seen before (strict parse, key by
  kid, signature, iss/aud/exp/nbf/iat, and the insert into the verified-token cache);
* ``gatehold core``: ``parse_compact`` + ``verify_jws`` (no digest, no cache);
* ``gatehold cached``: the same token again (digest + dictionary lookup + exp check);
* ``strict parse only``: ``parse_compact`` alone (where the non-crypto time goes);
* ``PyJWT decode``: ``jwt.decode(token, key, algorithms=["RS256"], audience=…, issuer=…)``.

    .venv/bin/python bench/jwt_micro.py [--tokens 2000] [--repeats 7] [--json out.json]

Target (issue 5): gatehold fresh <= 1.5 x raw RSA verify.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from gatehold.jose import ClaimsExpectations, JwtVerifier, RsaKey, StaticKeys, parse_compact, verify_jws

ISSUER = "http://localhost:9000/"
AUDIENCE = "https://unicorns-api"


def make_tokens(key: rsa.RSAPrivateKey, n: int) -> list[str]:
    now = int(time.time())
    tokens = []
    for i in range(n):
        claims = {
            "iss": ISSUER,
            "sub": f"auth0|user-{i}",
            "aud": [AUDIENCE, ISSUER + "userinfo"],
            "azp": "demo-spa",
            "scope": "openid profile email read:unicorn",
            "iat": now,
            "exp": now + 3600,
            "jti": f"t{i}",
            "permissions": ["read:unicorn"],
        }
        tokens.append(pyjwt.encode(claims, key, "RS256", headers={"kid": "k1", "typ": "JWT"}))
    return tokens


def per_op(fn: Callable[[str], Any], tokens: Sequence[str], repeats: int) -> list[float]:
    """Per-operation microseconds of ``fn`` over ``tokens``, one figure per repeat.

    Measured in this thread's CPU time (``time.thread_time_ns``), not wall time: on a shared machine
    the wall clock also counts the time other processes held the CPU, which is noise here.
    """
    results = []
    for _ in range(repeats):
        start = time.thread_time_ns()
        for token in tokens:
            fn(token)
        results.append((time.thread_time_ns() - start) / len(tokens) / 1000)
    return results


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", dest="json_path")
    args = parser.parse_args(argv)

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key()
    tokens = make_tokens(key, args.tokens)
    same = [tokens[0]] * args.tokens
    expected = ClaimsExpectations(ISSUER, frozenset({AUDIENCE}))
    rsa_key = RsaKey.create(public, "RS256", "k1")
    keys = StaticKeys([rsa_key])

    split = [t.rsplit(".", 1) for t in tokens]
    from gatehold.jose.b64 import b64url_decode

    raw_inputs = {
        t: (s[0].encode(), b64url_decode(s[1].encode())) for t, s in zip(tokens, split, strict=True)
    }
    pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()

    def raw(token: str) -> None:
        signing_input, signature = raw_inputs[token]
        public.verify(signature, signing_input, pkcs1, sha256)

    def core(token: str) -> None:
        verify_jws(parse_compact(token), rsa_key, expected, time.time())

    def pyjwt_decode(token: str) -> None:
        pyjwt.decode(token, public, algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER)

    cached_verifier = JwtVerifier(keys, expected)
    cached_verifier.verify_sync(tokens[0])

    def fresh_round() -> float:
        # a new verifier each round, so every token is a cache miss (and then inserted)
        return per_op(JwtVerifier(keys, expected, cache_size=len(tokens)).verify_sync, tokens, 1)[0]

    measures: dict[str, Callable[[], float]] = {
        "raw RSA verify (cryptography)": lambda: per_op(raw, tokens, 1)[0],
        "gatehold fresh (verify+claims+cache insert)": fresh_round,
        "gatehold core (parse+verify+claims)": lambda: per_op(core, tokens, 1)[0],
        "gatehold cached (same token)": lambda: per_op(cached_verifier.verify_sync, same, 1)[0],
        "  of which: strict parse only": lambda: per_op(parse_compact, tokens, 1)[0],
        "PyJWT decode": lambda: per_op(pyjwt_decode, tokens, 1)[0],
    }
    runs: dict[str, list[float]] = {name: [] for name in measures}
    for _ in range(args.repeats):  # interleaved, so drifting machine load hits every row alike
        for name, measure in measures.items():
            runs[name].append(measure())
    raw_median = statistics.median(runs["raw RSA verify (cryptography)"])
    print(
        f"RS256, 2048-bit key, {args.tokens} distinct tokens of {len(tokens[0])} bytes, "
        f"{args.repeats} interleaved repeats"
    )
    print(f"{'operation':46} {'median CPU µs/op':>17} {'x raw':>7}")
    report: dict[str, Any] = {
        "tokens": args.tokens,
        "repeats": args.repeats,
        "token_bytes": len(tokens[0]),
        "results": {},
    }
    for name, values in runs.items():
        median = statistics.median(values)
        print(f"{name:46} {median:17.2f} {median / raw_median:7.2f}")
        report["results"][name] = {
            "median_us": median,
            "ratio_to_raw": median / raw_median,
            "runs_us": values,
        }
    if args.json_path:
        with open(args.json_path, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=2)
    return report


if __name__ == "__main__":
    main()
