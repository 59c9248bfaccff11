"""Tokens for a route, and one per failure mode, each with the response the gateway must give it.

Gatehold holds both the issuer and the gateway, so it can mint "a token that passes ``GET /unicorns``
of API ``unicorns``" by reading the route's authorizer, and a token for each way a token can be
wrong, knowing the exact bytes API Gateway answers each one with::

    tokens = Tokens.for_stack(Path(".gatehold"))            # follows the running `gatehold up`
    tokens.passing("GET /unicorns")                        # 200
    tokens.failing("expired", "GET /unicorns")             # 401, www-authenticate … "the token has expired"
    tokens.expected("expired", "GET /unicorns")            # ExpectedResponse(401, b'{"message":…}', {…})

What a token must satisfy comes from the configuration:

* a JWT authorizer (HTTP API ``jwt_configuration``, REST ``issuers``): its issuer, which must be the
  stack's own identity provider (or an issuer served by it through ``--issuer-alias``, which the
  importers have already replaced by the local issuer), its first audience, the route's
  ``authorization_scopes`` and ``required_claims``; the gateway's ``clock_skew`` is the leeway;
* a Lambda authorizer (TOKEN / REQUEST): what the user declares its code checks, in the authorizer's
  ``expects`` block (:class:`~gatehold.config.models.AuthorizerExpectations`): issuer, audience,
  scopes, RS256 (the identity provider's key) or HS256/384/512 (a secret from the function's
  environment), and whether it refuses with 401 (raises ``Unauthorized``) or 403 (a ``Deny``).

Passing tokens have Auth0's access-token shape (:func:`gatehold.idp.tokens.access_token_claims`:
``iss sub aud iat exp azp scope jti [gty] [permissions]``), RS256 with the identity provider's current
key and its exact header, or HS* with the API's secret and no ``kid``, as the identity provider signs.
A failure-mode token is the same claim set with exactly one thing broken (:data:`FAILURE_MODES`).
A mode that cannot fail at this route (``missing-scope`` where the route asks for no scope,
``wrong-issuer`` where the authorizer does not check ``iss``, ``unknown-kid`` with a shared secret)
is refused with a :class:`TokenRequestError` that says why, never minted as a token that would pass.

Module layout: the pure core (:func:`route_check`, :func:`refusal`, :func:`expected_response`,
:func:`break_claims`, the signers) takes the configuration and ``now``; :class:`Tokens` is the edge
that reads the stack's state, store and keys.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gatehold.config import ConfigError, LoadedConfig, load_config
from gatehold.config.models import ApiConfig, AuthorizerConfig, GatewaySettings, RouteConfig
from gatehold.idp.keys import SigningKey, b64url
from gatehold.idp.tokens import access_token_claims
from gatehold.idp.tokens import sign_rs256 as idp_sign_rs256

if TYPE_CHECKING:
    from gatehold.idp.service import IdentityProvider
    from gatehold.importers import ImportOptions

__all__ = [
    "FAILURE_MODES",
    "VALID",
    "ExpectedResponse",
    "RouteCheck",
    "TokenRequestError",
    "Tokens",
    "expected_response",
    "refusal",
    "route_check",
]

VALID = "valid"

#: every way a token can be wrong, in the order the documentation lists them
FAILURE_MODES: tuple[str, ...] = (
    "expired",
    "not-yet-valid",
    "wrong-audience",
    "wrong-issuer",
    "unknown-kid",
    "missing-scope",
    "wrong-algorithm",
    "bad-signature",
    "alg-none",
)

#: what each failure mode breaks (``--fail list`` prints it)
MODE_DESCRIPTIONS: Mapping[str, str] = {
    VALID: "every check passes",
    "expired": "exp in the past by more than the verifier's leeway",
    "not-yet-valid": "nbf an hour in the future",
    "wrong-audience": "aud names another API",
    "wrong-issuer": "iss names another issuer (signed with the right key)",
    "unknown-kid": "signed with a fresh RSA key whose kid the JWKS lacks",
    "missing-scope": "no scope at all (the route requires one)",
    "wrong-algorithm": "RS256 verifier: HS256 keyed with the public key (algorithm confusion); "
    "HS256 verifier: HS512 with the same secret",
    "bad-signature": "the signature's last byte flipped",
    "alg-none": 'unsigned: header {"alg":"none"} and an empty signature',
}

#: the HTTP/REST JWT authorizers' ``error_description`` per failure mode (docs/authorizers.md)
JWT_DESCRIPTIONS: Mapping[str, str] = {
    "expired": "the token has expired",
    "not-yet-valid": "the token is not valid yet",
    "wrong-audience": "the token does not have a valid audience",
    "wrong-issuer": "the token does not have a valid issuer",
    "unknown-kid": "the token's signing key is unknown",
    "wrong-algorithm": "signing method HS256 is invalid",
    "bad-signature": "the token has an invalid signature",
    "alg-none": "the token has an empty segment (a null signature?)",
}

WRONG_ISSUER = "https://wrong-issuer.gatehold.invalid/"
WRONG_AUDIENCE = "https://wrong-audience.gatehold.invalid"
UNAUTHORIZED_BODY = b'{"message":"Unauthorized"}'
FORBIDDEN_BODY = b'{"message":"Forbidden"}'


class TokenRequestError(ValueError):
    """A route, API or failure mode Gatehold cannot mint for; the message says why and what to do."""


@dataclass(frozen=True)
class ExpectedResponse:
    """What the gateway answers a request bearing the token.

    ``body`` is the exact bytes for a gateway-generated refusal, or None for ``valid`` (the
    integration answers; ``status`` is then a mock integration's status, else 200). ``headers`` are
    the ones the gateway decides (lower-case names): ``www-authenticate`` for JWT authorizers,
    ``x-amzn-errortype`` on REST APIs, and a REST API's ``gateway_responses`` static headers.
    """

    status: int
    body: bytes | dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        body: Any = self.body
        if isinstance(body, bytes):
            try:
                body = orjson.loads(body)
            except orjson.JSONDecodeError:
                body = body.decode("utf-8", "replace")
        return {"status": self.status, "body": body, "headers": dict(self.headers)}


@dataclass(frozen=True)
class RouteCheck:
    """What one route's authorizer checks in a token (pure data, from the configuration)."""

    api: str
    api_type: Literal["REST", "HTTP"]
    route_key: str
    authorizer: str
    kind: Literal["jwt", "lambda"]
    issuer: str | None  # None: not checked
    audience: str
    scopes: tuple[str, ...]  # JWT: any of them; Lambda: the declared ones
    algorithm: str
    secret: bytes | None = field(repr=False)  # HS*: the shared secret
    leeway: int
    required_claims: Mapping[str, Any] | tuple[str, ...] = ()
    invalid_token: int = 401
    missing_scope: int = 403
    valid_status: int = 200

    @property
    def label(self) -> str:
        return f"{self.route_key} of API {self.api}"


# --------------------------------------------------------------------------------------------------
# the pure core: route → what its authorizer checks → the response per mode
# --------------------------------------------------------------------------------------------------


def find_route(loaded: LoadedConfig, route: str, api: str | None) -> tuple[str, str]:
    """``(api name, route key)`` for ``"GET /unicorns"``; the API may be omitted when the key is unique.

    A key written with the API's base path (``GET /unicorns/unicorns``) is found too."""
    method, _, path = route.strip().partition(" ")
    key = f"{method.upper()} {path.strip()}"
    apis = loaded.config.apis
    if api is not None and api not in apis:
        raise TokenRequestError(f"no API {api!r}; the configuration's APIs: {', '.join(apis) or 'none'}")
    candidates: list[tuple[str, str]] = []
    for name, config in apis.items():
        if api is not None and name != api:
            continue
        base = (config.base_path or f"/{name}").rstrip("/")
        for route_key in config.routes:
            route_method, _, route_path = route_key.partition(" ")
            if route_key == key or (base and f"{route_method} {base}{route_path}" == key):
                candidates.append((name, route_key))
    if not candidates:
        known = [f"{k} ({n})" for n, c in apis.items() if api in (None, n) for k in c.routes]
        raise TokenRequestError(
            f"no route {key!r}" + (f" in API {api!r}" if api else "") + "; routes: " + ", ".join(known)
        )
    if len(candidates) > 1:
        listed = ", ".join(f"--api {n} ({k})" for n, k in candidates)
        raise TokenRequestError(f"route {key!r} is in several APIs; choose one: {listed}")
    return candidates[0]


def route_check(loaded: LoadedConfig, api_name: str, route_key: str, local_issuer: str) -> RouteCheck:
    """What the route's authorizer checks; :class:`TokenRequestError` when no token can pass it."""
    api = loaded.config.apis[api_name]
    route = api.routes[route_key]
    label = f"{route_key} of API {api_name}"
    if route.authorizer is None:
        raise TokenRequestError(f"{label} has no authorizer: every request passes, no token is needed")
    auth = api.authorizers[route.authorizer]
    settings = loaded.config.gateway
    common: dict[str, Any] = {
        "api": api_name,
        "api_type": api.type,
        "route_key": route_key,
        "authorizer": route.authorizer,
        "valid_status": _integration_status(route),
    }
    if auth.type == "JWT":
        return _jwt_check(api, route, auth, settings, local_issuer, label, common)
    return _lambda_check(loaded, auth, local_issuer, label, common)


def _integration_status(route: RouteConfig) -> int:
    status = getattr(route.integration, "status_code", None) if route.integration.type == "mock" else None
    return status if isinstance(status, int) else 200


def _jwt_check(
    api: ApiConfig,
    route: RouteConfig,
    auth: AuthorizerConfig,
    settings: GatewaySettings,
    local_issuer: str,
    label: str,
    common: dict[str, Any],
) -> RouteCheck:
    if auth.jwt_configuration is not None:
        trusted = {auth.jwt_configuration.issuer: list(auth.jwt_configuration.audience)}
    else:
        trusted = {entry.issuer: list(entry.audiences) for entry in auth.issuers or []}
    if local_issuer not in trusted:
        raise TokenRequestError(
            f"{label}: authorizer {common['authorizer']} trusts {', '.join(trusted)}, not the local identity "
            f"provider ({local_issuer}); start the stack with --issuer-alias ISSUER to serve it locally"
        )
    algorithms = auth.allowed_algorithms or ["RS256"]
    if "RS256" not in algorithms:
        raise TokenRequestError(
            f"{label}: authorizer {common['authorizer']} allows {', '.join(algorithms)}; the local "
            "identity provider signs RS256"
        )
    required = auth.required_claims
    return RouteCheck(
        **common,
        kind="jwt",
        issuer=local_issuer,
        audience=trusted[local_issuer][0],
        scopes=tuple(route.authorization_scopes),
        algorithm="RS256",
        secret=None,
        leeway=settings.clock_skew,
        required_claims=dict(required) if isinstance(required, Mapping) else tuple(required or ()),
    )


def _lambda_check(
    loaded: LoadedConfig, auth: AuthorizerConfig, local_issuer: str, label: str, common: dict[str, Any]
) -> RouteCheck:
    expects = auth.expects
    name = common["authorizer"]
    if expects is None:
        raise TokenRequestError(
            f"{label}: Lambda authorizer {name} ({auth.function}) checks what its code checks; declare it "
            f"{where_to_declare(loaded, common['api'], name)} (issuer, audience, scopes, algorithm, "
            "secret_env, invalid_token, missing_scope: docs/configuration.md)"
        )
    secret: bytes | None = None
    if expects.algorithm.startswith("HS"):
        function = loaded.config.functions.get(auth.function or "")
        value = function.environment.get(expects.secret_env or "") if function else None
        if not value:
            raise TokenRequestError(
                f"{label}: expects.secret_env {expects.secret_env!r} is not in the environment of "
                f"function {auth.function}"
            )
        secret = value.encode()
    elif expects.issuer is not None and expects.issuer != local_issuer:
        raise TokenRequestError(
            f"{label}: authorizer {name} expects issuer {expects.issuer}, not the local identity provider "
            f"({local_issuer}), whose key signs RS256 tokens"
        )
    return RouteCheck(
        **common,
        kind="lambda",
        issuer=expects.issuer,
        audience=expects.audience,
        scopes=tuple(expects.scopes),
        algorithm=expects.algorithm,
        secret=secret,
        leeway=0,
        invalid_token=expects.invalid_token,
        missing_scope=expects.missing_scope,
    )


def where_to_declare(loaded: LoadedConfig, api: str, name: str) -> str:
    """Where the user can write an authorizer's ``expects``, in the format that defines it: its block
    in a ``gatehold.yaml``; for an imported document, the ``imports:`` entry (by name) or the
    document's own way (a function's ``Metadata``, ``x-gatehold-expects``, ``custom.gatehold``)."""
    from gatehold.config.document import read_document
    from gatehold.importers import detect_format

    src = loaded.where("apis", api, "authorizers", name)
    fmt = loaded.format
    imported = fmt == "gatehold" and loaded.path is not None and Path(src.file) != loaded.path
    if fmt == "gatehold" and not imported:
        return f"under apis.{api}.authorizers.{name}.expects"
    if imported:
        try:
            fmt = detect_format(read_document(Path(src.file)))
        except ConfigError:
            fmt = "gatehold"
    auth = loaded.config.apis[api].authorizers[name]
    metadata = (
        f"in the Metadata of function {auth.function}'s resource (Metadata: {{Gatehold: {{expects: …}}}})"
    )
    own = {
        "sam": metadata,
        "cloudformation": metadata,
        "openapi": f"as x-gatehold-expects on security scheme {name}",
        "serverless": f"under custom.gatehold.expects.{name}",
    }.get(fmt)
    entry = f"in the imports: entry of {src.file} (expects: {{{name}: …}})"
    if imported:
        return entry + (f", or {own} there" if own else "")
    return (own or f"under apis.{api}.authorizers.{name}.expects") + (
        f", or import the file from a gatehold.yaml with expects: {{{name}: …}} on its imports: entry"
    )


def refusal(check: RouteCheck, mode: str) -> str | None:
    """Why ``mode`` cannot fail at this route (None: it applies)."""
    if mode == VALID:
        return None
    if mode not in FAILURE_MODES:
        raise TokenRequestError(f"unknown failure mode {mode!r}; one of: {', '.join(FAILURE_MODES)}")
    if mode == "missing-scope" and not check.scopes:
        return f"{check.label} requires no scope, so no token lacks one"
    if mode == "wrong-issuer" and check.issuer is None:
        return f"authorizer {check.authorizer} does not check the issuer (its expects has no issuer)"
    if mode == "unknown-kid" and check.secret is not None:
        return (
            f"authorizer {check.authorizer} verifies {check.algorithm} with one shared secret, not keys "
            "chosen by kid (bad-signature is the token signed with another key)"
        )
    return None


def applicable_modes(check: RouteCheck) -> dict[str, str | None]:
    """Every failure mode and why it does not apply here (None: it does)."""
    return {mode: refusal(check, mode) for mode in FAILURE_MODES}


def expected_response(
    check: RouteCheck, mode: str, settings: GatewaySettings, api: ApiConfig
) -> ExpectedResponse:
    """The exact response the gateway gives a token of ``mode`` at this route (docs/testing.md)."""
    reason = refusal(check, mode)
    if reason is not None:
        raise TokenRequestError(f"{mode} does not apply to {check.label}: {reason}")
    if mode == VALID:
        return ExpectedResponse(check.valid_status, None, {})
    if check.kind == "jwt":
        if mode == "missing-scope":
            header = (
                f'Bearer scope="{" ".join(check.scopes)}" error="insufficient_scope" '
                'error_description="the token does not have the required scopes"'
            )
            return _refusal(check, 403, settings, api, {"www-authenticate": header}, explicit=False)
        header = f'Bearer scope="" error="invalid_token" error_description="{JWT_DESCRIPTIONS[mode]}"'
        return _refusal(check, 401, settings, api, {"www-authenticate": header}, explicit=False)
    status = check.missing_scope if mode == "missing-scope" else check.invalid_token
    return _refusal(check, status, settings, api, {}, explicit=True)


def _refusal(
    check: RouteCheck,
    status: int,
    settings: GatewaySettings,
    api: ApiConfig,
    headers: dict[str, str],
    *,
    explicit: bool,
) -> ExpectedResponse:
    """A 401 / 403 as :mod:`gatehold.gateway.gateway_responses` renders it."""
    if check.api_type == "HTTP":
        return ExpectedResponse(status, UNAUTHORIZED_BODY if status == 401 else FORBIDDEN_BODY, headers)
    if status == 401:
        type_name, body = "UNAUTHORIZED", UNAUTHORIZED_BODY
        out = {"x-amzn-errortype": "UnauthorizedException", **headers}
    else:
        type_name = "ACCESS_DENIED"
        # a Lambda's Deny: the explicit-deny body; a JWT scope miss: {"message":"Forbidden"}
        deny = {settings.deny_message_key: settings.explicit_deny_message}
        body = orjson.dumps(deny) if explicit else FORBIDDEN_BODY
        out = {"x-amzn-errortype": "AccessDeniedException", **headers}
    custom = api.gateway_responses.get(type_name) or api.gateway_responses.get("DEFAULT_4XX")
    if custom is not None:
        from gatehold.config.expressions import parse_header_source
        from gatehold.gateway.gateway_responses import header_name

        status = custom.status_code or status
        for name, source in custom.headers.items():
            kind, value = parse_header_source(source)
            if kind == "static":
                out[header_name(name).lower()] = value
        if custom.template is not None:
            body = _render_template(custom.template, type_name, body)
    return ExpectedResponse(status, body, out)


def _render_template(template: str, type_name: str, default_body: bytes) -> bytes:
    """A custom gateway response template, with the error's own ``$context`` values (a template
    reading the request's values cannot be known before the request)."""
    from gatehold.gateway.context_template import ContextTemplate
    from gatehold.gateway.gateway_responses import message_json

    message = orjson.loads(default_body).get("message") or orjson.loads(default_body).get("Message")
    context: dict[str, Any] = {
        "error.message": message,
        "error.messageString": message_json(message),
        "error.responseType": type_name,
    }
    return ContextTemplate.compile(template).render(context, None).encode()


# --------------------------------------------------------------------------------------------------
# claims and signatures (pure but for the fresh key of unknown-kid)
# --------------------------------------------------------------------------------------------------


def break_claims(mode: str, claims: dict[str, Any], check: RouteCheck, now: int) -> dict[str, Any]:
    """The claim set with the one claim ``mode`` breaks (signature modes leave claims alone)."""
    out = dict(claims)
    lifetime = int(claims["exp"]) - int(claims["iat"])
    if mode == "expired":
        out["exp"] = now - check.leeway - 60
        out["iat"] = out["exp"] - lifetime
    elif mode == "not-yet-valid":
        out["nbf"] = now + check.leeway + 3600
        out["exp"] = out["nbf"] + lifetime
    elif mode == "wrong-audience":
        out["aud"] = WRONG_AUDIENCE
    elif mode == "wrong-issuer":
        out["iss"] = WRONG_ISSUER
    elif mode == "missing-scope":
        out["scope"] = ""
        if "permissions" in out:
            out["permissions"] = []
    return out


def sign_rs256(claims: Mapping[str, Any], key: SigningKey) -> str:
    """As the identity provider signs (:func:`gatehold.idp.tokens.sign_rs256`): its header, its kid."""
    return idp_sign_rs256(orjson.dumps(claims), key)


def sign_hmac(claims: Mapping[str, Any], alg: str, secret: bytes, kid: str | None = None) -> str:
    """HS256/384/512 with ``secret`` (PyJWT's header: ``{"alg":…,"typ":"JWT"}``, plus ``kid`` if given)."""
    header: dict[str, str] = {"alg": alg, "typ": "JWT"}
    if kid is not None:
        header["kid"] = kid
    signing_input = b64url(orjson.dumps(header)) + b"." + b64url(orjson.dumps(claims))
    mac = hmac.new(secret, signing_input, getattr(hashlib, "sha" + alg[2:])).digest()
    return (signing_input + b"." + b64url(mac)).decode("ascii")


def unsigned(claims: Mapping[str, Any]) -> str:
    """RFC 7519 §6.1's unsecured JWT: ``{"alg":"none"}`` and an empty signature."""
    return (b64url(b'{"alg":"none","typ":"JWT"}') + b"." + b64url(orjson.dumps(claims)) + b".").decode()


def flip_last_signature_byte(token: str) -> str:
    from gatehold.jose.b64 import b64url_decode

    head, body, signature = token.split(".")
    raw = bytearray(b64url_decode(signature.encode("ascii")))
    raw[-1] ^= 0x01
    return f"{head}.{body}.{b64url(bytes(raw)).decode('ascii')}"


@lru_cache(maxsize=1)
def unknown_key() -> SigningKey:
    """A fresh RSA key, never published: its kid is in no JWKS (made once per process)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = "gatehold-unknown-" + secrets.token_urlsafe(8)
    from gatehold.idp.keys import jws_header

    return SigningKey(kid, "unknown", private, private.public_key(), {}, jws_header(kid))


def public_pem(key: SigningKey) -> bytes:
    return key.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def sign_for_mode(mode: str, claims: Mapping[str, Any], check: RouteCheck, key: SigningKey) -> str:
    """The token for ``mode`` (claims already broken by :func:`break_claims`)."""
    if mode == "alg-none":
        return unsigned(claims)
    if check.secret is not None:
        if mode == "wrong-algorithm":  # the same secret, an algorithm the verifier does not allow
            return sign_hmac(claims, "HS512" if check.algorithm != "HS512" else "HS256", check.secret)
        token = sign_hmac(claims, check.algorithm, check.secret)
    elif mode == "wrong-algorithm":
        # CVE-2016-10555: HS256 keyed with the RSA public key a naive verifier would use as the secret;
        # the kid is the real one, so the key is found and its one algorithm (RS256) refuses HS256
        token = sign_hmac(claims, "HS256", public_pem(key), kid=key.kid)
    elif mode == "unknown-kid":
        token = sign_rs256(claims, unknown_key())
    else:
        token = sign_rs256(claims, key)
    return flip_last_signature_byte(token) if mode == "bad-signature" else token


# --------------------------------------------------------------------------------------------------
# the edge: the running stack's configuration, store and keys
# --------------------------------------------------------------------------------------------------


def _stack_wall_clock(data_dir: Path) -> Callable[[], float]:
    """The stack's wall time: its shared clock when it runs with ``--test-clock``, else the system's."""
    from gatehold.clock import stack_clock

    return stack_clock(data_dir).time


class Tokens:
    """Tokens that pass or fail one route of a stack, and the response each one gets."""

    def __init__(
        self, loaded: LoadedConfig, idp: IdentityProvider, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.loaded = loaded
        self.idp = idp
        self.clock = clock

    @classmethod
    def for_stack(
        cls, data_dir: Path, config: Path | None = None, *, options: ImportOptions | None = None
    ) -> Tokens:
        """For the stack ``gatehold up --data-dir DATA_DIR`` runs (its ``stack.json``: configuration,
        import options, issuer), or, without one, for ``config`` (default: the example stack).
        ``options``: import options that replace the stack's (``--issuer-alias`` …)."""
        from gatehold.cli.common import example_config_path
        from gatehold.idp.service import IdentityProvider
        from gatehold.idp.store import Store
        from gatehold.importers import ImportOptions
        from gatehold.server import StackOptions
        from gatehold.stack_state import read_stack_state

        given, data_dir = options, Path(data_dir)
        state = read_stack_state(data_dir)
        options = ImportOptions()
        public_url = database_url = None
        if state is not None:
            public_url, database_url = state.idp_url, state.database_url
            if config is None:
                config = Path(state.config_path) if state.config_path else None
                options = state.options()
            elif state.config_path and Path(state.config_path).resolve() == Path(config).resolve():
                options = state.options()
        if given is not None and given != ImportOptions():
            options = given  # the import options on the command line win, as in `gatehold token`
        opts = StackOptions(data_dir=data_dir, public_url=public_url, database_url=database_url)
        loaded = load_config(config or example_config_path(), variables=opts.variables(), options=options)
        store = Store.open(data_dir, database_url)
        idp = IdentityProvider(
            store, loaded.config.tenant, issuer=opts.idp_url + "/", base_dir=loaded.base_dir
        )
        # a running stack applied its tenant already (and with its own URLs): read, never rewrite it
        idp.startup(apply=state is None)
        return cls(loaded, idp, clock=_stack_wall_clock(data_dir))

    # -- what a route checks -------------------------------------------------------------------

    def check(self, route: str, api: str | None = None) -> RouteCheck:
        api_name, route_key = find_route(self.loaded, route, api)
        return route_check(self.loaded, api_name, route_key, self.idp.issuer)

    def routes(self) -> list[tuple[str, str]]:
        """``(api, route key)`` of every route behind an authorizer."""
        return [
            (name, key)
            for name, api in self.loaded.config.apis.items()
            for key, route in api.routes.items()
            if route.authorizer is not None
        ]

    def modes(self, route: str, api: str | None = None) -> dict[str, str | None]:
        """Every failure mode, and why it does not apply to this route (None: it does)."""
        return applicable_modes(self.check(route, api))

    # -- tokens and responses ------------------------------------------------------------------

    def passing(
        self,
        route: str,
        api: str | None = None,
        *,
        user: str | None = None,
        scopes: Iterable[str] | None = None,
    ) -> str:
        """A token the route's authorizer accepts (for ``user``'s id when given, else an M2M client)."""
        check = self.check(route, api)
        chosen = list(check.scopes) if scopes is None else list(scopes)
        if check.scopes and scopes is not None:
            if check.kind == "jwt" and not set(chosen) & set(check.scopes):
                raise TokenRequestError(
                    f"{check.label} requires one of {' '.join(check.scopes)}; scopes "
                    f"{' '.join(chosen) or '(none)'} would be refused (that is the missing-scope token)"
                )
            if check.kind == "lambda" and chosen != list(check.scopes):
                raise TokenRequestError(
                    f"authorizer {check.authorizer} is declared to expect exactly the scopes "
                    f"{' '.join(check.scopes)}"
                )
        return self._sign(VALID, check, self._claims(check, user, chosen))

    def failing(self, mode: str, route: str, api: str | None = None) -> str:
        """A token with exactly one thing wrong; :class:`TokenRequestError` if ``mode`` cannot fail here."""
        check = self.check(route, api)
        reason = refusal(check, mode)
        if reason is not None:
            raise TokenRequestError(f"{mode} does not apply to {check.label}: {reason}")
        if mode == VALID:
            return self.passing(route, api)
        claims = self._claims(check, None, list(check.scopes))
        return self._sign(mode, check, break_claims(mode, claims, check, int(self.clock())))

    def expected(self, mode: str, route: str, api: str | None = None) -> ExpectedResponse:
        check = self.check(route, api)
        return expected_response(check, mode, self.loaded.config.gateway, self.loaded.config.apis[check.api])

    # -- internals -----------------------------------------------------------------------------

    def _claims(self, check: RouteCheck, user: str | None, scopes: list[str]) -> dict[str, Any]:
        idp = self.idp
        tenant = idp.t
        api_row = tenant.apis.get(check.audience)
        now = int(self.clock())
        if user is None:
            client_id = self._m2m_client(check.audience)
            sub, gty = f"{client_id}@clients", "client-credentials"
        else:
            found = idp.store.users_by_email(user)
            if not found:
                raise TokenRequestError(f"no user {user!r} in the stack's store")
            sub, gty = found[0].user_id, None
            client_id = self._user_client()
        rbac = (
            api_row is not None and api_row.enforce_policies and api_row.token_dialect == "access_token_authz"
        )
        claims = access_token_claims(
            issuer=check.issuer or idp.issuer,
            sub=sub,
            audience=check.audience,
            client_id=client_id,
            scopes=scopes,
            now=now,
            lifetime=api_row.token_lifetime if api_row is not None else 86400,
            jti=secrets.token_urlsafe(16),
            gty=gty,
            permissions=list(scopes) if rbac else None,
        )
        if isinstance(check.required_claims, Mapping):
            for name, value in check.required_claims.items():
                claims.setdefault(name, value[0] if isinstance(value, list) else value)
        else:
            for name in check.required_claims:
                claims.setdefault(name, "gatehold")
        return claims

    def _m2m_client(self, audience: str) -> str:
        """The client an Auth0 M2M token for ``audience`` would name: one with a client grant for it,
        else any client-credentials client, else the first application."""
        clients = self.idp.t.clients
        for client_id, aud in self.idp.m2m:
            if aud == audience:
                return client_id
        for client_id, client in clients.items():
            if "client_credentials" in client.grant_types:
                return client_id
        if not clients:
            raise TokenRequestError("the tenant has no application to name in azp")
        return next(iter(clients))

    def _user_client(self) -> str:
        spa = self.loaded.config.spa
        clients = self.idp.t.clients
        if spa is not None and spa.client_id in clients:
            return spa.client_id
        for client_id, client in clients.items():
            if "authorization_code" in client.grant_types:
                return client_id
        return self._m2m_client("")

    def _sign(self, mode: str, check: RouteCheck, claims: dict[str, Any]) -> str:
        self.idp.keys.refresh_if_stale()
        return sign_for_mode(mode, claims, check, self.idp.keys.current)
