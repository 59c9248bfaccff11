"""One error tree for token verification, each carrying the ``error_description`` a gateway sends.

::

    JoseError                     any reason a token is not accepted (always a 401, never a 500)
    ├── MalformedToken            not a compact JWS we accept (RFC 7515 §7.1, size caps, UTF-8)
    ├── UnsupportedHeader         ``crit`` we do not understand (RFC 7515 §4.1.11), ``jku``/``x5u``/``jwk``
    ├── AlgorithmNotAllowed       header ``alg`` differs from the key's one algorithm (RFC 8725 §3.1)
    ├── UnknownKey                no key with the token's ``kid``
    ├── InvalidSignature
    └── InvalidClaims             ``iss``/``aud``/``exp``/``nbf``/``iat``/required claims (RFC 7519 §4.1)

``description`` follows API Gateway's ``www-authenticate`` wording where AWS documents it ("the token
does not have a valid audience", docs/aws-reference.md §3.2); the others are ours, in the same style.
``check`` names the failed check for the decision trace.
"""

from __future__ import annotations


class JoseError(Exception):
    check = "token"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class MalformedToken(JoseError):
    check = "format"


class UnsupportedHeader(JoseError):
    check = "header"


class AlgorithmNotAllowed(JoseError):
    check = "alg"


class UnknownKey(JoseError):
    check = "kid"


class InvalidSignature(JoseError):
    check = "signature"


class InvalidClaims(JoseError):
    def __init__(self, check: str, description: str) -> None:
        super().__init__(description)
        self.check = check
