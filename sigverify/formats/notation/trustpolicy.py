"""The authority's notation settings as one Policy: direct form, or notation's trustpolicy.json + trust store dir."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sigverify.crypto.strictjson import loads_strict
from sigverify.errors import ConfigError, InvalidReferenceError
from sigverify.formats.notation.chain import TrustStore, load_store
from sigverify.formats.notation.identity import DNError, parse_identities
from sigverify.formats.notation.levels import Level, LevelError, resolve_level
from sigverify.models import ImageRef
from sigverify.reference import parse

ALWAYS = "always"
AFTER_CERT_EXPIRY = "afterCertExpiry"
_VERIFY_TIMESTAMP = {"always": ALWAYS, "afterCertExpiry": AFTER_CERT_EXPIRY, "after_cert_expiry": AFTER_CERT_EXPIRY}
_STORE_TYPES = ("ca", "signingAuthority", "tsa")
_STORE_NAME = re.compile(r"[a-zA-Z0-9_.-]+\Z")
# Registry scope grammar notation uses (distribution's domain and repository regexps).
_DOMAIN = re.compile(
    r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
    r"(?:(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))+)?(?::[0-9]+)?\Z"
)
_REPOSITORY = re.compile(r"[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*)*\Z")


@dataclass(frozen=True)
class Policy:
    """Everything the checks need, whichever form the user wrote."""

    name: str  # the trust policy statement name, or the authority name for the direct form
    level: Level
    stores: Mapping[str, tuple[TrustStore, ...]]  # ca / signingAuthority / tsa -> stores
    wildcard: bool = False
    identities: tuple[tuple[str, dict[str, str]], ...] = ()
    verify_timestamp: str = ALWAYS
    skip_tsa_revocation: bool = False
    metadata: Mapping[str, str] = field(default_factory=dict)
    source: str = "authority"  # authority | trustpolicy.json path


class NoApplicablePolicy(Exception):
    """trustpolicy.json has no statement whose registryScopes cover the image."""


def _err(where: str, message: str, tip: str | None = None) -> ConfigError:
    return ConfigError(f"{where}: {message}", tip=tip)


def _level(where: str, name: object, overrides: object) -> Level:
    if not isinstance(name, str):
        raise _err(where, f"verification level must be a string, found {name!r}")
    if overrides is not None and not (
        isinstance(overrides, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in overrides.items())
    ):
        raise _err(where, "overrides must map check names to enforce/log/skip")
    try:
        return resolve_level(name, overrides)
    except LevelError as e:
        raise _err(where, str(e), tip="See the Notary Project trust policy levels table.") from None


def _identities(where: str, ids: object) -> tuple[bool, tuple[tuple[str, dict[str, str]], ...]]:
    if not isinstance(ids, Sequence) or isinstance(ids, str) or not all(isinstance(i, str) for i in ids):
        raise _err(where, "trusted identities must be a list of strings")
    try:
        return parse_identities(ids)
    except DNError as e:
        raise _err(where, str(e), tip='Write identities as "x509.subject: C=US, ST=WA, O=Acme, CN=release".') from None


def _verify_ts(where: str, value: object) -> str:
    if value is None:
        return ALWAYS
    if not isinstance(value, str) or value not in _VERIFY_TIMESTAMP:
        raise _err(where, f"verify_timestamp must be 'always' or 'afterCertExpiry', found {value!r}")
    return _VERIFY_TIMESTAMP[value]


def _metadata(where: str, value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise _err(where, 'metadata must map strings to strings (quote numbers: buildId: "123")')
    return dict(value)


def direct_policy(name: str, cfg: Mapping[str, Any]) -> Policy:
    """The direct form: ``{trust_store, signing_authority?, tsa_store?, trusted_identities, level?, ...}``."""
    where = f"authority {name!r} (notation)"
    level = _level(where, cfg.get("level", "strict"), cfg.get("overrides"))
    metadata = _metadata(where, cfg.get("metadata"))
    if level.is_skip:
        return Policy(name, level, {}, metadata=dict(metadata))
    store_path = cfg.get("trust_store")
    if not isinstance(store_path, str) or not store_path:
        raise _err(where, "trust_store (a certificate file or directory) is required")
    kind = "signingAuthority" if cfg.get("signing_authority", False) is True else "ca"
    stores: dict[str, tuple[TrustStore, ...]] = {kind: (load_store(kind, store_path),)}
    tsa = cfg.get("tsa_store")
    if tsa is not None:
        if not isinstance(tsa, str) or not tsa:
            raise _err(where, "tsa_store must be a path")
        stores["tsa"] = (load_store("tsa", tsa),)
    wildcard, identities = _identities(where, cfg.get("trusted_identities"))
    return Policy(
        name,
        level,
        stores,
        wildcard=wildcard,
        identities=identities,
        verify_timestamp=_verify_ts(where, cfg.get("verify_timestamp")),
        metadata=dict(metadata),
    )


def _scope_ok(scope: str) -> bool:
    domain, sep, repo = scope.partition("/")
    return bool(sep and _DOMAIN.match(domain) and _REPOSITORY.match(repo))


def _normal_scope(where: str, scope: str) -> str:
    """A scope in the one spelling image names use (host case, Docker Hub aliases, default ports), so that every
    spelling of a repository meets the same statement (and never falls through to ``*``)."""
    if scope == "*":
        return scope
    if not _scope_ok(scope):
        raise _err(where, f"registry scope {scope!r} is not registry/repository (no tag, no wildcards)")
    try:
        return parse(scope).name
    except InvalidReferenceError as exc:
        raise _err(where, f"registry scope {scope!r} cannot be normalised: {exc}") from None


@dataclass(frozen=True)
class _Statement:
    name: str
    scopes: tuple[str, ...]
    level: Level
    trust_stores: tuple[tuple[str, str], ...]
    wildcard: bool
    identities: tuple[tuple[str, dict[str, str]], ...]
    verify_timestamp: str
    skip_tsa_revocation: bool


@functools.lru_cache(maxsize=16)
def _load_document(path: str, mtime_ns: int) -> tuple[_Statement, ...]:
    where = f"trust policy {path}"
    try:
        doc = loads_strict(Path(path).read_bytes(), what="the document")
    except (OSError, ValueError) as e:  # PayloadError is a ValueError: nesting, size, duplicates, UTF-8
        raise _err(where, f"cannot be read as JSON ({e})") from None
    if not isinstance(doc, dict):
        raise _err(where, "must be a JSON object")
    if doc.get("version") != "1.0":
        raise _err(where, f'unsupported version {doc.get("version")!r}; expected "1.0"')
    raw_statements = doc.get("trustPolicies")
    if not isinstance(raw_statements, list) or not raw_statements:
        raise _err(where, "trustPolicies must be a non-empty list")
    statements: list[_Statement] = []
    names: set[str] = set()
    scope_owner: dict[str, str] = {}
    for raw in raw_statements:
        if not isinstance(raw, dict):
            raise _err(where, "every trust policy statement must be an object")
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            raise _err(where, "a trust policy statement has no name")
        swhere = f"{where}: statement {name!r}"
        if name in names:
            raise _err(where, f"statement name {name!r} is used twice")
        names.add(name)
        sv = raw.get("signatureVerification")
        if not isinstance(sv, dict):
            raise _err(swhere, "signatureVerification must be an object with a level")
        level = _level(swhere, sv.get("level", ""), sv.get("override"))
        scopes = raw.get("registryScopes")
        if not isinstance(scopes, list) or not scopes or not all(isinstance(s, str) for s in scopes):
            raise _err(swhere, "registryScopes must be a non-empty list of strings")
        if "*" in scopes and len(scopes) > 1:
            raise _err(swhere, "the wildcard scope '*' cannot be combined with other scopes")
        scopes = [_normal_scope(swhere, scope) for scope in scopes]
        for scope in scopes:
            if scope in scope_owner:
                raise _err(where, f"registry scope {scope!r} appears in statements {scope_owner[scope]!r} and {name!r}")
            scope_owner[scope] = name
        stores_raw = raw.get("trustStores") or []
        ids_raw = raw.get("trustedIdentities") or []
        if not isinstance(stores_raw, list) or not all(isinstance(s, str) for s in stores_raw):
            raise _err(swhere, "trustStores must be a list of 'type:name' strings")
        if level.is_skip:
            if stores_raw or ids_raw:
                raise _err(swhere, "level 'skip' must not name trust stores or trusted identities")
            statements.append(_Statement(name, tuple(scopes), level, (), True, (), ALWAYS, False))
            continue
        if not stores_raw or not ids_raw:
            raise _err(swhere, "trustStores and trustedIdentities are both required")
        stores: list[tuple[str, str]] = []
        for s in stores_raw:
            kind, sep, store_name = s.partition(":")
            if not sep or kind not in _STORE_TYPES or not _STORE_NAME.match(store_name):
                raise _err(swhere, f"trust store {s!r} must be ca:NAME, signingAuthority:NAME or tsa:NAME")
            stores.append((kind, store_name))
        wildcard, identities = _identities(swhere, ids_raw)
        skip_rev = sv.get("skipTimestampRevocationCheck", False)
        statements.append(
            _Statement(
                name,
                tuple(scopes),
                level,
                tuple(stores),
                wildcard,
                identities,
                _verify_ts(swhere, sv.get("verifyTimestamp")),
                skip_rev is True,
            )
        )
    return tuple(statements)


def document_policy(authority: str, cfg: Mapping[str, Any], image: ImageRef) -> Policy:
    """The trustpolicy.json form: pick the statement whose registryScopes cover ``image`` as notation does.

    An exact ``registry/repository`` scope wins over ``*``. Raises NoApplicablePolicy when none applies.
    """
    where = f"authority {authority!r} (notation)"
    path, store_dir = cfg.get("trust_policy"), cfg.get("trust_store_dir")
    if not isinstance(path, str) or not isinstance(store_dir, str):
        raise _err(where, "trust_policy and trust_store_dir must both be paths")
    p = Path(path)
    if not p.is_file():
        raise _err(where, f"trust policy {path} does not exist")
    statements = _load_document(str(p), p.stat().st_mtime_ns)
    exact = next((s for s in statements if image.name in s.scopes), None)
    chosen = exact or next((s for s in statements if "*" in s.scopes), None)
    if chosen is None:
        raise NoApplicablePolicy(
            f"{path} has no trust policy statement whose registryScopes cover {image.name!r}; "
            f"scopes: {', '.join(sc for s in statements for sc in s.scopes)}"
        )
    stores: dict[str, list[TrustStore]] = {}
    for kind, name in chosen.trust_stores:
        stores.setdefault(kind, []).append(load_store(kind, Path(store_dir) / "x509" / kind / name))
    return Policy(
        chosen.name,
        chosen.level,
        {k: tuple(v) for k, v in stores.items()},
        wildcard=chosen.wildcard,
        identities=chosen.identities,
        verify_timestamp=chosen.verify_timestamp,
        skip_tsa_revocation=chosen.skip_tsa_revocation,
        metadata=_metadata(where, cfg.get("metadata")),
        source=path,
    )


def resolve_policy(authority: str, cfg: Mapping[str, Any], image: ImageRef) -> Policy:
    """The Policy for ``image`` under this authority; ConfigError for a broken configuration."""
    if "trust_policy" in cfg or "trust_store_dir" in cfg:
        return document_policy(authority, cfg, image)
    return direct_policy(authority, cfg)
