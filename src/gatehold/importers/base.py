"""What every importer shares: its options, and the context it writes the model into.

An importer is a function ``(document, context) -> None`` that reads one input format and writes
``gatehold.yaml``-shaped data into :attr:`ImportContext.data`, recording for each piece the place in
the source it came from (:meth:`ImportContext.put`), so that a problem found later (by the schema,
the route compiler, the authorizer builder) is reported at the template's file, line and property
path. What it reads and cannot honour is *refused* (an error naming file, line and property path,
unless the user's ignore list names that path); what has no local meaning (IAM roles, tracing,
architectures …) is *ignored* and listed by ``gatehold check``. Nothing is dropped silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gatehold.config.document import Document, read_document
from gatehold.config.problems import ConfigError, ConfigProblem, Finding, KeyPath, SourceRef

#: the application `gatehold token --client gatehold-m2m` uses for imported APIs (docs/importing.md)
LOCAL_M2M_CLIENT = "gatehold-m2m"
LOCAL_M2M_SECRET = "gatehold-m2m-local-secret-0123456789"


@dataclass(frozen=True)
class ImportOptions:
    """What the command line (or an ``imports:`` entry) adds to a document being imported."""

    format: str = "auto"
    parameter_overrides: Mapping[str, str] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()
    issuer_aliases: tuple[str, ...] = ()
    values: Mapping[str, str] = field(default_factory=dict)
    stage: str | None = None
    api_name: str | None = None
    base_path: str | None = None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ImportOptions:
        """The inverse of ``dataclasses.asdict`` (options cross to ``--workers`` processes as JSON)."""
        return cls(
            format=str(raw.get("format", "auto")),
            parameter_overrides=dict(raw.get("parameter_overrides", {})),
            ignore=tuple(raw.get("ignore", ())),
            issuer_aliases=tuple(raw.get("issuer_aliases", ())),
            values=dict(raw.get("values", {})),
            stage=raw.get("stage"),
            api_name=raw.get("api_name"),
            base_path=raw.get("base_path"),
        )

    def combined(self, entry: Mapping[str, Any]) -> ImportOptions:
        """These options under an ``imports:`` entry's own (the entry's values win)."""
        return replace(
            self,
            format=entry.get("format") or self.format,
            parameter_overrides={**self.parameter_overrides, **entry.get("parameter_overrides", {})},
            ignore=(*self.ignore, *entry.get("ignore", ())),
            issuer_aliases=(*self.issuer_aliases, *entry.get("issuer_aliases", ())),
            values={**self.values, **entry.get("values", {})},
            stage=entry.get("stage") or self.stage,
            api_name=entry.get("api_name") or self.api_name,
            base_path=entry.get("base_path") or self.base_path,
        )


def path_pattern(pattern: str) -> re.Pattern[str]:
    """An ignore pattern: a key path as Gatehold prints it, where ``*`` stands for one key and ``**``
    for any number; it also covers everything below the path it names."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += r"[^.\[\]]*"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out + r"(?:$|[.\[].*)")


def glob_match(pattern: str, text: str) -> bool:
    """Issuer aliases: ``*`` stands for any run of characters (``https://*.auth0.com/``)."""
    return re.fullmatch(".*".join(re.escape(p) for p in pattern.split("*")), text) is not None


@dataclass
class ImportResult:
    data: dict[str, Any]
    refs: dict[KeyPath, SourceRef]
    ignored: list[Finding]
    notes: list[Finding]
    files: list[Path]


class ImportContext:
    """The model an importer writes, where each piece came from, and what it left out."""

    def __init__(
        self,
        doc: Document,
        path: Path,
        options: ImportOptions,
        variables: Mapping[str, str],
        *,
        region: str = "us-east-1",
        account_id: str = "123456789012",
    ) -> None:
        self.doc = doc
        self.path = path
        self.options = options
        self.variables = variables
        self.region = region
        self.account_id = account_id
        self.local_issuer: str | None = variables.get("issuer")
        self.local_idp_url: str | None = variables.get("idp_url")
        self.data: dict[str, Any] = {"functions": {}, "apis": {}}
        self.refs: dict[KeyPath, SourceRef] = {}
        self.ignored: list[Finding] = []
        self.notes: list[Finding] = []
        self.problems: list[ConfigProblem] = []
        self.files: list[Path] = [path]
        self._ignore = [(p, path_pattern(p)) for p in options.ignore]
        #: True when the document is the whole configuration (``gatehold up -c template.yaml``);
        #: False when a ``gatehold.yaml`` names it under ``imports:`` beside other APIs
        self.standalone = True
        #: Lambda function name (as in an ARN) → the model's function key, for the importers that
        #: map ``arn:aws:lambda:…:function:NAME`` (OpenAPI integration URIs) back to a function
        self.lambda_names: dict[str, str] = {}
        #: audiences (with scopes) checked by imported Lambda authorizers whose keys and issuer are
        #: served by the local identity provider: created in the local tenant like JWT authorizers'
        self.local_audiences: dict[str, tuple[set[str], SourceRef]] = {}

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def ref(self, path: KeyPath, doc: Document | None = None) -> SourceRef:
        return (doc or self.doc).ref(path)

    # -- writing the model ------------------------------------------------------------------------

    def put(self, out_path: KeyPath, value: Any, src: SourceRef) -> None:
        """Set ``out_path`` of the model to ``value``; problems with it are reported at ``src``."""
        node: Any = self.data
        for part in out_path[:-1]:
            node = node.setdefault(part, {})
        node[out_path[-1]] = value
        self.refs[out_path] = src

    def at(self, out_path: KeyPath, src: SourceRef) -> None:
        """Record that ``out_path`` (written already) came from ``src``."""
        self.refs[out_path] = src

    def function_key(self, lambda_name: str) -> str:
        """The model's function for a Lambda function name (itself when no importer renamed it)."""
        return self.lambda_names.get(lambda_name, lambda_name)

    def base_path(self, api_name: str, api_count: int) -> str:
        """Where an imported API is served: ``options.base_path``; else ``/`` when the document is
        the whole configuration and defines one API (its URLs are then those of the real invoke
        URL below the host); else ``/<api name>``."""
        if self.options.base_path:
            return self.options.base_path
        if self.standalone and api_count == 1:
            return "/"
        return f"/{api_name}"

    # -- what is left out -------------------------------------------------------------------------

    def ignore(self, src: SourceRef, why: str) -> None:
        """Read, and without local meaning: listed by ``gatehold check``."""
        self.ignored.append(Finding(src, why))

    def note(self, src: SourceRef, what: str) -> None:
        """Read, and adapted to run locally (an issuer alias, a default): listed by ``gatehold check``."""
        self.notes.append(Finding(src, what))

    def refuse(self, src: SourceRef, why: str) -> None:
        """Read, and not supported: an error, unless the ignore list names ``src.path``."""
        for pattern, regex in self._ignore:
            if regex.match(src.path):
                self.ignored.append(Finding(src, f"{why} (ignored: --ignore {pattern})"))
                return
        self.problems.append(
            ConfigProblem.at(src, f"{why}; to run without it, pass --ignore {shell_quoted(src.path)}")
        )

    def error(self, src: SourceRef, message: str) -> None:
        """A problem no ignore list can waive (a broken reference, a bad value)."""
        self.problems.append(ConfigProblem.at(src, message))

    # -- other files ------------------------------------------------------------------------------

    def read(self, relative: str, src: SourceRef) -> Document | None:
        """Another document the template names (``DefinitionUri``), relative to the template."""
        target = (self.base_dir / relative).resolve()
        try:
            doc = read_document(target)
        except ConfigError as exc:
            self.problems.append(ConfigProblem.at(src, f"cannot read {relative}: {exc.problems[0].message}"))
            self.problems.extend(exc.problems[1:])
            return None
        self.files.append(target)
        return doc

    # -- issuers ----------------------------------------------------------------------------------

    def alias_issuer(self, issuer: str, src: SourceRef) -> str:
        """The local issuer when ``issuer`` matches an ``--issuer-alias`` pattern, else ``issuer``."""
        if self.local_issuer is None:
            return issuer
        for pattern in self.options.issuer_aliases:
            if glob_match(pattern.rstrip("/"), issuer.rstrip("/")):
                self.note(src, f"issuer {issuer} is served by the local identity provider (--issuer-alias)")
                return self.local_issuer
        return issuer

    def alias_url(self, value: str) -> str:
        """A URL under an aliased issuer (a JWKS URI in a function's environment) → the local one."""
        if self.local_idp_url is None:
            return value
        for pattern in self.options.issuer_aliases:
            base = pattern.rstrip("/")
            m = re.match(".*?".join(re.escape(p) for p in base.split("*")) + r"(/|$)", value)
            if m:
                return self.local_idp_url + "/" + value[m.end() :] if m.group(1) else self.local_idp_url + "/"
        return value

    def finish(self) -> ImportResult:
        if self.problems:
            raise ConfigError(sorted(self.problems, key=lambda p: (p.file, p.line or 0)))
        add_local_tenant(self)
        # one template value (a SAM Globals entry) can be read for several resources: said once
        ignored = list(dict.fromkeys(self.ignored))
        notes = list(dict.fromkeys(self.notes))
        return ImportResult(self.data, self.refs, ignored, notes, self.files)


def add_local_tenant(ctx: ImportContext) -> None:
    """Create, in the local tenant, the APIs (audiences and scopes) that the imported JWT authorizers
    expect from the local identity provider, and ``gatehold-m2m`` granted all of them, so that
    ``gatehold token --client gatehold-m2m --audience …`` mints tokens the gateway accepts."""
    if ctx.local_issuer is None:
        return
    scopes: dict[str, set[str]] = {}
    where: dict[str, SourceRef] = {}
    for api_name, api in ctx.data.get("apis", {}).items():
        for auth_name, auth in api.get("authorizers", {}).items():
            audiences = _local_audiences(auth, ctx.local_issuer)
            if not audiences:
                continue
            used = set()
            for route in api.get("routes", {}).values():
                if route.get("authorizer") == auth_name:
                    used.update(route.get("authorization_scopes", ()))
            for audience in audiences:
                scopes.setdefault(audience, set()).update(used)
                where.setdefault(
                    audience, ctx.refs.get(("apis", api_name, "authorizers", auth_name), ctx.ref(()))
                )
    for audience, (extra, src) in ctx.local_audiences.items():
        scopes.setdefault(audience, set()).update(extra)
        where.setdefault(audience, src)
    if not scopes:
        return
    tenant = ctx.data.setdefault("tenant", {})
    apis = tenant.setdefault("apis", [])
    for audience in sorted(scopes):
        apis.append(
            {
                "identifier": audience,
                "name": f"{audience} (imported)",
                "permissions": sorted(scopes[audience]),
            }
        )
        ctx.refs[("tenant", "apis", len(apis) - 1)] = where[audience]
        listed = " ".join(sorted(scopes[audience])) or "(none)"
        ctx.note(where[audience], f"API {audience} created in the local tenant with scopes {listed}")
    tenant.setdefault("applications", {})[LOCAL_M2M_CLIENT] = {
        "name": "Gatehold machine-to-machine client for imported APIs",
        "app_type": "non_interactive",
        "client_secret": LOCAL_M2M_SECRET,
        "grant_types": ["client_credentials"],
    }
    grants = tenant.setdefault("client_grants", [])
    for audience in sorted(scopes):
        grants.append(
            {"client_id": LOCAL_M2M_CLIENT, "audience": audience, "scope": sorted(scopes[audience])}
        )


def _local_audiences(auth: Mapping[str, Any], issuer: str) -> list[str]:
    if auth.get("type") != "JWT":
        return []
    jwt = auth.get("jwt_configuration")
    if isinstance(jwt, Mapping) and jwt.get("issuer") == issuer:
        return [a for a in jwt.get("audience", ()) if isinstance(a, str)]
    out: list[str] = []
    for entry in auth.get("issuers") or ():
        if isinstance(entry, Mapping) and entry.get("issuer") == issuer:
            out.extend(a for a in entry.get("audiences", ()) if isinstance(a, str))
    return out


def expects_target(apis: Mapping[str, Any], key: str) -> tuple[str, str] | str:
    """The ``(api, authorizer)`` of the model that a key of an ``expects`` map names, or why it names
    none. A key is an authorizer's name, or ``Api.Authorizer`` when the name is in several APIs.

    ``expects`` declares what a Lambda authorizer's code checks (``gatehold token --route``); formats
    that cannot say it on the authorizer itself say it by name: an ``imports:`` entry's ``expects``,
    a serverless.yml's ``custom.gatehold.expects``."""
    found = [
        (api_name, key)
        for api_name, api in apis.items()
        if isinstance(api, Mapping) and key in (api.get("authorizers") or {})
    ]
    if not found and "." in key:
        api_name, _, auth_name = key.partition(".")
        api = apis.get(api_name)
        if isinstance(api, Mapping) and auth_name in (api.get("authorizers") or {}):
            found = [(api_name, auth_name)]
    if len(found) > 1:
        listed = ", ".join(f"{a}.{n}" for a, n in found)
        return f"authorizer {key} is in several APIs; name one: {listed}"
    if not found:
        known = [
            f"{a}.{n}"
            for a, api in apis.items()
            if isinstance(api, Mapping)
            for n in api.get("authorizers") or {}
        ]
        return f"no authorizer {key} here (authorizers: {', '.join(known) or 'none'})"
    api_name, auth_name = found[0]
    if apis[api_name]["authorizers"][auth_name].get("type") == "JWT":
        return (
            f"{api_name}.{auth_name} is a JWT authorizer: its checks are its own"
            " (expects applies to Lambda authorizers)"
        )
    return found[0]


def shell_quoted(text: str) -> str:
    """``text`` quoted for a POSIX shell, readably: ``'a.b'``, or ``"a['GET /x']"`` when it holds a
    single quote (key paths print quoted keys as ``['…']``)."""
    if "'" not in text:
        return f"'{text}'"
    return '"' + re.sub(r'([\\"$`])', r"\\\1", text) + '"'


def unique_name(name: str, taken: Iterable[str]) -> str:
    """``name``, or ``name-2``, ``name-3`` … when taken."""
    existing = set(taken)
    if name not in existing:
        return name
    n = 2
    while f"{name}-{n}" in existing:
        n += 1
    return f"{name}-{n}"
