"""Typed verification keys, each bound to exactly one algorithm (RFC 8725 §3.1), parsed once.

A key never comes from the token: RSA and EC keys come from a JWKS (RFC 7517) whose ``alg`` (or, when
absent, the configuration's allowed algorithms and the key type) fixes the one algorithm the key may
verify; HMAC keys come only from local configuration (:class:`HmacKey`), never from a key set, so
no public key can ever be used as an HMAC secret (CVE-2016-10555 and its PEM / PKCS1 / DER / JWK /
``ssh-rsa`` variants). Signatures are checked with ``cryptography`` directly.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from gatehold.jose.b64 import b64url_decode

RSA_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
EC_ALGORITHMS = ("ES256", "ES384", "ES512")
HMAC_ALGORITHMS = ("HS256", "HS384", "HS512")
ASYMMETRIC_ALGORITHMS = RSA_ALGORITHMS + EC_ALGORITHMS

_HASHES: Mapping[str, type[hashes.HashAlgorithm]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}
_EC_CURVES: Mapping[str, tuple[str, type[ec.EllipticCurve], int]] = {
    "ES256": ("P-256", ec.SECP256R1, 32),
    "ES384": ("P-384", ec.SECP384R1, 48),
    "ES512": ("P-521", ec.SECP521R1, 66),
}
MIN_RSA_BITS = 2048  # RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used"
MIN_HMAC_BYTES = 32  # RFC 7518 §3.2 / RFC 8725 §3.5: at least the hash size


class VerificationKey(Protocol):
    @property
    def kid(self) -> str | None: ...

    @property
    def alg(self) -> str: ...

    @property
    def fingerprint(self) -> bytes: ...

    def verify(self, signing_input: bytes, signature: bytes) -> bool: ...


@dataclass(frozen=True, slots=True)
class RsaKey:
    kid: str | None
    alg: str
    public_key: rsa.RSAPublicKey
    fingerprint: bytes
    _size: int = field(repr=False)
    _padding: padding.AsymmetricPadding = field(repr=False)
    _hash: hashes.HashAlgorithm = field(repr=False)

    @classmethod
    def create(cls, public_key: rsa.RSAPublicKey, alg: str, kid: str | None = None) -> RsaKey:
        if alg not in RSA_ALGORITHMS:
            raise ValueError(f"{alg} is not an RSA algorithm")
        if public_key.key_size < MIN_RSA_BITS:
            raise ValueError(f"RSA key of {public_key.key_size} bits is shorter than {MIN_RSA_BITS}")
        digest = _HASHES[alg[2:]]()
        pad: padding.AsymmetricPadding = (
            padding.PKCS1v15()
            if alg.startswith("RS")
            else padding.PSS(mgf=padding.MGF1(digest), salt_length=padding.PSS.DIGEST_LENGTH)
        )
        nums = public_key.public_numbers()
        fp = hashlib.sha256(f"RSA:{alg}:{kid}:{nums.e}:{nums.n}".encode()).digest()
        return cls(kid, alg, public_key, fp, (public_key.key_size + 7) // 8, pad, digest)

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        if len(signature) != self._size:
            return False
        try:
            self.public_key.verify(signature, signing_input, self._padding, self._hash)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True, slots=True)
class EcKey:
    kid: str | None
    alg: str
    public_key: ec.EllipticCurvePublicKey
    fingerprint: bytes
    _coord: int = field(repr=False)
    _sig: ec.ECDSA = field(repr=False)

    @classmethod
    def create(cls, public_key: ec.EllipticCurvePublicKey, alg: str, kid: str | None = None) -> EcKey:
        if alg not in _EC_CURVES:
            raise ValueError(f"{alg} is not an EC algorithm")
        _, curve, coord = _EC_CURVES[alg]
        if not isinstance(public_key.curve, curve):
            raise ValueError(f"{alg} needs curve {curve.name}")
        nums = public_key.public_numbers()
        fp = hashlib.sha256(f"EC:{alg}:{kid}:{nums.x}:{nums.y}".encode()).digest()
        return cls(kid, alg, public_key, fp, coord, ec.ECDSA(_HASHES[alg[2:]]()))

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        # RFC 7518 §3.4: R || S, each exactly the coordinate size; r = s = 0 can never verify.
        if len(signature) != 2 * self._coord:
            return False
        r = int.from_bytes(signature[: self._coord], "big")
        s = int.from_bytes(signature[self._coord :], "big")
        if r == 0 or s == 0:
            return False
        try:
            self.public_key.verify(encode_dss_signature(r, s), signing_input, self._sig)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True, slots=True)
class HmacKey:
    """A shared secret from local configuration (never from a JWKS)."""

    kid: str | None
    alg: str
    secret: bytes = field(repr=False)
    fingerprint: bytes = field(repr=False)

    @classmethod
    def create(cls, secret: bytes | str, alg: str = "HS256", kid: str | None = None) -> HmacKey:
        if alg not in HMAC_ALGORITHMS:
            raise ValueError(f"{alg} is not an HMAC algorithm")
        raw = secret.encode() if isinstance(secret, str) else secret
        if len(raw) < MIN_HMAC_BYTES:
            raise ValueError(f"an HMAC secret needs at least {MIN_HMAC_BYTES} bytes (RFC 7518 §3.2)")
        return cls(kid, alg, raw, hashlib.sha256(b"HMAC:" + alg.encode() + raw).digest())

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        mac = hmac.new(self.secret, signing_input, "sha" + self.alg[2:]).digest()
        return hmac.compare_digest(mac, signature)


def _b64_uint(jwk: Mapping[str, Any], name: str) -> int:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise ValueError(f"JWK member {name!r} must be a base64url string")
    raw = b64url_decode(value.encode("ascii"))
    if not raw:
        raise ValueError(f"JWK member {name!r} is empty")
    return int.from_bytes(raw, "big")


def choose_algorithm(jwk: Mapping[str, Any], family: Sequence[str], allowed: Sequence[str]) -> str:
    """The one algorithm a JWK may verify: its ``alg`` (which must be allowed), else the first allowed
    algorithm of the key type's family."""
    alg = jwk.get("alg")
    if alg is not None:
        if not isinstance(alg, str) or alg not in family or alg not in allowed:
            raise ValueError(f"JWK alg {alg!r} is not allowed here")
        return alg
    for candidate in allowed:
        if candidate in family:
            return candidate
    raise ValueError(f"no allowed algorithm for key type {jwk.get('kty')!r}")


def key_from_jwk(jwk: Any, allowed_algorithms: Sequence[str]) -> RsaKey | EcKey:
    """Parse one public JWK (RFC 7517 §4, RFC 7518 §6); ``ValueError`` when it is not usable.

    ``kty: oct`` (a shared secret published in a key set) is refused; so are keys whose ``use`` is
    not ``sig`` or whose ``key_ops`` lack ``verify``.
    """
    if not isinstance(jwk, dict):
        raise ValueError("a JWK must be an object")
    kid = jwk.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise ValueError("JWK kid must be a string")
    use = jwk.get("use")
    if use is not None and use != "sig":
        raise ValueError(f"JWK use {use!r} is not 'sig'")
    ops = jwk.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        raise ValueError("JWK key_ops does not include 'verify'")
    kty = jwk.get("kty")
    if kty == "RSA":
        alg = choose_algorithm(jwk, RSA_ALGORITHMS, allowed_algorithms)
        n, e = _b64_uint(jwk, "n"), _b64_uint(jwk, "e")
        if e < 3 or e % 2 == 0:
            raise ValueError("RSA exponent must be odd and at least 3")
        return RsaKey.create(rsa.RSAPublicNumbers(e, n).public_key(), alg, kid)
    if kty == "EC":
        alg = choose_algorithm(jwk, EC_ALGORITHMS, allowed_algorithms)
        crv, curve, _ = _EC_CURVES[alg]
        if jwk.get("crv") != crv:
            raise ValueError(f"{alg} needs crv {crv}")
        numbers = ec.EllipticCurvePublicNumbers(_b64_uint(jwk, "x"), _b64_uint(jwk, "y"), curve())
        return EcKey.create(numbers.public_key(), alg, kid)  # off-curve points raise ValueError
    raise ValueError(f"JWK kty {kty!r} is not accepted in a key set")
