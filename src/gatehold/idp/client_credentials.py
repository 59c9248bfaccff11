"""Client-credentials issuance (RFC 6749 §4.4), compiled once per tenant snapshot.

Auth0's rules: the client is confidential and may use the ``client_credentials`` grant, the
audience names an API, and a client grant exists for (client, audience); the scopes are the
requested ones the grant allows, or the whole grant when none are requested (:mod:`scopes`).

Everything fixed for a (client, audience) pair is worked out when the tenant loads, so issuing
a token is a dictionary lookup, the per-scope-string work (cached), and the three per-token values::

    grants[(client_id, audience)]  -> M2MGrant (API settings, grant scopes; absent = refused)
    M2MGrant.plan(scope)           -> M2MPlan  (granted scopes, permissions, the claims template)
    M2MPlan.payload(now, jti)      -> the JWT claims set as JSON bytes (RFC 7519 §7.1 step 2)

The template is the same JSON ``orjson.dumps(access_token_claims(...))`` writes, claim for claim and
in the same order; only ``iat``, ``exp`` and ``jti`` are filled in per token. A refused request
falls back to :meth:`IdentityProvider.client_credentials`'s checks, which give the error.

No store access: Auth0 does not persist client-credentials access tokens (they are self-contained
JWTs, valid until ``exp``), and neither does Gatehold, so issuance needs no database round trip.
"""

from __future__ import annotations

import os
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

import orjson

from gatehold.idp.keys import b64url
from gatehold.idp.scopes import client_credentials_scopes, parse_scope
from gatehold.idp.store import ApiRow, ClientGrantRow, ClientRow
from gatehold.idp.tokens import access_token_claims

GTY = "client-credentials"
# requested-scope strings remembered per grant; beyond that a plan is computed per request
MAX_PLANS = 256


class JtiSource:
    """Token ids (RFC 7519 §4.1.7): 22 base64url characters of random bits (132 of them; the form of
    ``secrets.token_urlsafe(16)``).

    The bits come from ``os.urandom`` (the same CSPRNG ``secrets`` uses) ``batch`` ids at a time, and
    are base64url-encoded at once: an id is then a slice of that text, and there is one ``getrandom``
    system call per 256 tokens instead of one per token. 18 random bytes encode to exactly 24
    characters, of which each id keeps 22. A forked child starts a fresh batch, so no two processes
    hand out the same ids.
    """

    def __init__(self, batch: int = 256) -> None:
        self._batch = batch
        self._text = ""
        self._next = 0
        self._lock = threading.Lock()
        _JTI_SOURCES.add(self)

    def _discard(self) -> None:
        self._text, self._next = "", 0

    def __call__(self) -> str:
        with self._lock:
            start = self._next
            if start >= len(self._text):
                self._text, start = b64url(os.urandom(18 * self._batch)).decode("ascii"), 0
            self._next = start + 24
            return self._text[start : start + 22]


_JTI_SOURCES: weakref.WeakSet[JtiSource] = weakref.WeakSet()


def _discard_batches_in_child() -> None:
    for source in list(_JTI_SOURCES):
        source._discard()


os.register_at_fork(after_in_child=_discard_batches_in_child)


@dataclass(frozen=True)
class M2MPlan:
    """One (client, audience, requested scope) combination: what to issue, minus the per-token values."""

    scopes: list[str]
    scope: str  # the granted scopes, space-separated (the response's ``scope`` and the claim)
    permissions: list[str] | None
    head: bytes  # '{"iss":…,"sub":…,"aud":…,"iat":'
    middle: bytes  # ',"azp":…,"scope":…,"jti":"'
    tail: bytes  # '","gty":"client-credentials"[,"permissions":[…]]}'
    lifetime: int

    def payload(self, now: int, jti: str) -> bytes:
        """The claims set as JSON: ``orjson.dumps(access_token_claims(...))``'s bytes (jti is base64url,
        so it needs no escaping)."""
        return b'%s%d,"exp":%d%s%s%s' % (
            self.head,
            now,
            now + self.lifetime,
            self.middle,
            jti.encode("ascii"),
            self.tail,
        )


@dataclass
class M2MGrant:
    """A client grant that can issue: confidential client with the grant type, existing API."""

    issuer: str
    client_id: str
    audience: str
    grant_scopes: list[str]
    lifetime: int
    signing_alg: str
    signing_secret: str | None
    rbac_permissions: bool  # RBAC on with the access_token_authz dialect: a ``permissions`` claim
    _plans: dict[str | None, M2MPlan] = field(default_factory=dict, repr=False)

    def plan(self, scope: str | None) -> M2MPlan:
        """The plan for a ``scope`` parameter (``None``: not sent), computed once per distinct string."""
        plan = self._plans.get(scope)
        if plan is None:
            plan = self._compile(client_credentials_scopes(parse_scope(scope), self.grant_scopes))
            if len(self._plans) < MAX_PLANS:
                self._plans[scope] = plan
        return plan

    def claims(self, scopes: list[str], *, now: int, jti: str, extra: dict[str, Any]) -> dict[str, Any]:
        """The access token's claims as a dict (hooks, HS256 and the template itself use this)."""
        return access_token_claims(
            issuer=self.issuer,
            sub=f"{self.client_id}@clients",
            audience=self.audience,
            client_id=self.client_id,
            scopes=scopes,
            now=now,
            lifetime=self.lifetime,
            jti=jti,
            gty=GTY,
            permissions=list(scopes) if self.rbac_permissions else None,
            extra=extra,
        )

    def _compile(self, scopes: list[str]) -> M2MPlan:
        # Serialise the real claims with sample per-token values and cut the JSON around them, so
        # the template is whatever orjson writes (escaping included). The cuts include the quoted
        # claim names, which inside a string value would be escaped: they match only the claims.
        now, jti = 1_000_000_000, "J"
        claims = self.claims(scopes, now=now, jti=jti, extra={})
        text = orjson.dumps(claims)
        before, after = text.split(b'"iat":%d,"exp":%d' % (now, now + self.lifetime))
        middle, tail = after.split(b'"jti":"%s"' % jti.encode())
        plan = M2MPlan(
            scopes=scopes,
            scope=claims["scope"],
            permissions=claims.get("permissions"),
            head=before + b'"iat":',
            middle=middle + b'"jti":"',
            tail=b'"' + tail,
            lifetime=self.lifetime,
        )
        if plan.payload(now, jti) != text:
            raise AssertionError(f"the claims template does not reproduce {text!r}")
        return plan


def compile_grants(
    issuer: str,
    clients: dict[str, ClientRow],
    apis: dict[str, ApiRow],
    grants: dict[tuple[str, str], ClientGrantRow],
) -> dict[tuple[str, str], M2MGrant]:
    """The (client_id, audience) pairs for which client credentials succeed, with what they issue."""
    out: dict[tuple[str, str], M2MGrant] = {}
    for (client_id, audience), grant in grants.items():
        client, api = clients.get(client_id), apis.get(audience)
        if client is None or api is None or not audience:
            continue
        if "client_credentials" not in client.grant_types or client.secret_hash is None:
            continue
        out[(client_id, audience)] = M2MGrant(
            issuer=issuer,
            client_id=client_id,
            audience=audience,
            grant_scopes=list(grant.scope),
            lifetime=api.token_lifetime,
            signing_alg=api.signing_alg,
            signing_secret=api.signing_secret,
            rbac_permissions=api.enforce_policies and api.token_dialect == "access_token_authz",
        )
    return out
