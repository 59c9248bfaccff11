"""The hostile-token catalogue (RFC 8725, jwt_tool's attacks; docs/authorizers.md, "Tests"), shared by the
jose, authorizer and over-HTTP tests. Each entry builds a token from the loopback issuer and the test's RSA
keys."""

from __future__ import annotations

import json
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.jose.support import FakeIssuer, b64, claims_for, rsa_jwk, segment, sign_hmac, sign_rsa, unsigned

AUD = "https://api.example"


def _forgeries(public: rsa.RSAPublicKey) -> dict[str, bytes]:
    ser = serialization
    return {
        "pem-spki": public.public_bytes(ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo),
        "pem-pkcs1": public.public_bytes(ser.Encoding.PEM, ser.PublicFormat.PKCS1),
        "der-spki": public.public_bytes(ser.Encoding.DER, ser.PublicFormat.SubjectPublicKeyInfo),
        "der-pkcs1": public.public_bytes(ser.Encoding.DER, ser.PublicFormat.PKCS1),
        "jwk-json": json.dumps(rsa_jwk(public, "k1")).encode(),
        "ssh-rsa": public.public_bytes(ser.Encoding.OpenSSH, ser.PublicFormat.OpenSSH),
        "empty": b"",
    }


HOSTILE: list[tuple[str, Callable[[FakeIssuer, list[rsa.RSAPrivateKey]], str]]] = [
    *[
        (f"alg-{alg}", lambda i, k, alg=alg: unsigned(claims_for(i.issuer, AUD), alg=alg))
        for alg in ("none", "None", "NONE", "nOnE")
    ],
    *[
        (
            f"hs256-with-public-key-{name}",
            lambda i, k, name=name: sign_hmac(_forgeries(k[0].public_key())[name], claims_for(i.issuer, AUD)),
        )
        for name in ("pem-spki", "pem-pkcs1", "der-spki", "der-pkcs1", "jwk-json", "ssh-rsa", "empty")
    ],
    ("null-signature", lambda i, k: i.token(claims_for(i.issuer, AUD)).rsplit(".", 1)[0] + "."),
    ("truncated-signature", lambda i, k: i.token(claims_for(i.issuer, AUD))[:-4]),
    (
        "signature-of-other-token",
        lambda i, k: (
            i.token(claims_for(i.issuer, AUD)).rsplit(".", 1)[0]
            + "."
            + i.token(claims_for(i.issuer, AUD, jti="x")).rsplit(".", 1)[1]
        ),
    ),
    ("junk-after-signature", lambda i, k: i.token(claims_for(i.issuer, AUD)) + "!!!!"),
    ("whitespace-after-signature", lambda i, k: i.token(claims_for(i.issuer, AUD)) + " "),
    ("padding-after-payload", lambda i, k: i.token(claims_for(i.issuer, AUD)).replace(".", "=.", 2)),
    ("signed-by-unknown-key", lambda i, k: sign_rsa(k[1], claims_for(i.issuer, AUD), kid="k1")),
    (
        "jku-to-attacker",
        lambda i, k: sign_rsa(
            k[1], claims_for(i.issuer, AUD), kid="k9", header={"jku": i.base_url + "/attacker-jwks"}
        ),
    ),
    (
        "x5u-to-attacker",
        lambda i, k: sign_rsa(
            k[1], claims_for(i.issuer, AUD), kid="k9", header={"x5u": i.base_url + "/attacker-cert"}
        ),
    ),
    (
        "embedded-jwk",
        lambda i, k: sign_rsa(
            k[1], claims_for(i.issuer, AUD), kid="k9", header={"jwk": rsa_jwk(k[1].public_key(), "k9")}
        ),
    ),
    *[
        (f"kid-{name}", lambda i, k, kid=kid: sign_hmac(b"1" * 32, claims_for(i.issuer, AUD), kid=kid))
        for name, kid in [
            ("path", "../../../../dev/null"),
            ("abs-path", "/dev/null"),
            ("blank", ""),
            ("sql", "x' UNION SELECT '1';--"),
            ("quote", 'k1"'),
            ("url", "http://127.0.0.1:1/"),
        ]
    ],
    ("kid-path-rs256", lambda i, k: sign_rsa(k[1], claims_for(i.issuer, AUD), kid="../../../../dev/null")),
    ("no-kid", lambda i, k: sign_rsa(k[0], claims_for(i.issuer, AUD), kid=None)),
    ("crit-unknown", lambda i, k: i.token(claims_for(i.issuer, AUD), header={"crit": ["x"], "x": 1})),
    ("alg-mismatch-rs384", lambda i, k: i.token(claims_for(i.issuer, AUD), alg="RS384")),
    ("alg-ps256-same-key", lambda i, k: i.token(claims_for(i.issuer, AUD), alg="PS256")),
    ("five-segments", lambda i, k: i.token(claims_for(i.issuer, AUD)) + ".a.b"),
    ("oversized", lambda i, k: i.token(claims_for(i.issuer, AUD, pad="x" * 20_000))),
    ("iss-as-list", lambda i, k: i.token(claims_for(i.issuer, AUD) | {"iss": ["evil", i.issuer]})),
    ("invalid-utf8-payload", lambda i, k: _raw_signed(k[0], b'{"iss":"\xff"}')),
    ("payload-array", lambda i, k: _raw_signed(k[0], b"[1,2]")),
    ("deeply-nested", lambda i, k: _raw_signed(k[0], b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}")),
]


def _raw_signed(key: rsa.RSAPrivateKey, payload: bytes) -> str:
    signing_input = f"{segment({'alg': 'RS256', 'kid': 'k1'})}.{b64(payload)}"
    return signing_input + "." + b64(key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()))
