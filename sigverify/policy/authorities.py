"""A policy's ``authorities:``: each one key, keyless identity or notation trust, and no signer trusted twice."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, cast

from sigverify.policy.claims import CLAIM_OIDS, claim_oid
from sigverify.policy.keys import KeysBuilder
from sigverify.policy.model import Authority, KeylessIdentity, Pattern
from sigverify.policy.schemacheck import did_you_mean
from sigverify.policy.yamlstrict import KeyPath

_NOTATION_PATHS = {"trust_store": "any", "tsa_store": "any", "trust_policy": "file", "trust_store_dir": "dir"}
_NOTATION_INLINE_ONLY = (
    "trust_store",
    "signing_authority",
    "tsa_store",
    "trusted_identities",
    "level",
    "overrides",
    "verify_timestamp",
)


class AuthoritiesBuilder(KeysBuilder):
    """The authorities of one policy."""

    def authorities(self, path: KeyPath, value: object) -> tuple[Authority, ...] | None:
        if not isinstance(value, list) or not value:
            return None
        out: list[Authority] = []
        names: dict[str, int | None] = {}
        ok = True
        for i, auth in enumerate(value):
            apath: KeyPath = (*path, i)
            if not isinstance(auth, dict):
                ok = False
                continue
            name = auth.get("name")
            if isinstance(name, str):
                if name in names:
                    self.err(
                        (*apath, "name"),
                        f"duplicate authority name '{name}' in this policy (first used at line {names[name]})",
                    )
                    ok = False
                else:
                    names[name] = self.doc.line((*apath, "name"))
            built = self.authority(apath, auth)
            if built is None:
                ok = False
            else:
                out.append(built)
        if ok:
            ok = self.distinct_signers(path, value, out)
        return tuple(out) if ok else None

    def distinct_signers(self, path: KeyPath, value: list[Any], built: list[Authority]) -> bool:
        """Two authorities of one policy that trust the same signer are an error at the second one's key line."""
        from sigverify.policy.signers import duplicate_signers

        dupes = duplicate_signers(built)
        for _, i, message in dupes:
            kind = next(k for k in ("key", "keyless", "notation") if k in value[i])
            sub = value[i][kind]
            where: KeyPath = (*path, i, kind, *(list(sub)[:1] if kind == "key" and isinstance(sub, dict) else []))
            self.err(where, message, key=True, expected="each authority of a policy trusting another signer")
        return not dupes

    def authority(self, path: KeyPath, auth: dict[str, Any]) -> Authority | None:
        kinds = [k for k in ("key", "keyless", "notation") if k in auth]
        key = self.key((*path, "key"), auth["key"]) if "key" in auth else None
        keyless = self.keyless((*path, "keyless"), auth["keyless"]) if "keyless" in auth else None
        notation = self.notation((*path, "notation"), auth["notation"]) if "notation" in auth else None
        annotations = auth.get("annotations", {})
        name, tlog = auth.get("name"), auth.get("tlog", "require")
        if kinds == ["notation"]:
            # Silently ignoring these would make a requirement the user wrote disappear.
            if "annotations" in auth:
                self.err(
                    (*path, "annotations"),
                    "annotations apply to cosign signatures, not to notation ones",
                    key=True,
                    expected="notation.metadata: {...} for signed user metadata (notation sign -m)",
                )
            if "tlog" in auth:
                self.err(
                    (*path, "tlog"),
                    "tlog does not apply to notation signatures (they are not logged)",
                    key=True,
                    expected="no tlog key on a notation authority",
                )
        if (
            len(kinds) != 1
            or not isinstance(name, str)
            or tlog not in ("require", "ignore")
            or not isinstance(annotations, dict)
            or not all(isinstance(v, str) for v in annotations.values())
            or (key is None and keyless is None and notation is None)
        ):
            return None
        return Authority(
            name=name,
            location=self.loc(path),
            key=key,
            keyless=keyless,
            notation=notation,
            tlog=cast(Literal["require", "ignore"], tlog),
            annotations=dict(annotations),
        )

    def keyless(self, path: KeyPath, value: object) -> KeylessIdentity | None:
        if not isinstance(value, dict):
            return None
        issuer = self.pattern(path, value, "issuer")
        subject = self.pattern(path, value, "subject")
        claims: dict[str, Pattern] = {}
        ok = True
        raw = value.get("claims", {})
        seen: dict[str, str] = {}
        if isinstance(raw, dict):
            for name, expected in raw.items():
                cpath: KeyPath = (*path, "claims", name)
                oid = claim_oid(name)
                if oid is None:
                    hint = did_you_mean(name, list(CLAIM_OIDS))
                    self.err(
                        cpath,
                        f"unknown claim '{name}'{hint}",
                        key=True,
                        expected="a Fulcio extension name ("
                        + ", ".join(CLAIM_OIDS)
                        + ") or an OID 1.3.6.1.4.1.57264.1.N",
                    )
                    ok = False
                    continue
                if oid in seen:
                    self.err(cpath, f"claim '{name}' is the same extension as '{seen[oid]}' ({oid})", key=True)
                    ok = False
                    continue
                seen[oid] = name
                if isinstance(expected, str):
                    claims[name] = Pattern(expected)
                elif isinstance(expected, dict) and isinstance(expected.get("regexp"), str):
                    if self.regexp((*cpath, "regexp"), expected["regexp"]) is None:
                        ok = False
                    else:
                        claims[name] = Pattern(expected["regexp"], regexp=True)
                else:
                    ok = False
        if issuer is None or subject is None or not ok:
            return None
        return KeylessIdentity(issuer=issuer, subject=subject, claims=claims)

    def pattern(self, path: KeyPath, value: Mapping[str, Any], field: str) -> Pattern | None:
        exact, rx = value.get(field), value.get(f"{field}_regexp")
        if isinstance(exact, str) and exact and rx is None:
            return Pattern(exact)
        if isinstance(rx, str) and rx and exact is None:
            return Pattern(rx, regexp=True) if self.regexp((*path, f"{field}_regexp"), rx) else None
        return None

    def notation(self, path: KeyPath, value: object) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            return None
        out: dict[str, Any] = dict(value)
        ok = True
        if "trust_policy" in value:
            extra = [k for k in _NOTATION_INLINE_ONLY if k in value]
            for k in extra:
                self.err(
                    (*path, k),
                    f"'{k}' cannot be combined with trust_policy: the trust policy file and trust_store_dir define it",
                    key=True,
                )
                ok = False
        overrides = value.get("overrides")
        if isinstance(overrides, dict) and "integrity" in overrides and overrides["integrity"] != "enforce":
            self.err(
                (*path, "overrides", "integrity"),
                "integrity cannot be overridden: the Notary Project specification always enforces it",
                expected="enforce (or leave it out)",
                found=str(overrides["integrity"]),
            )
            ok = False
        for k, kind in _NOTATION_PATHS.items():
            v = value.get(k)
            if isinstance(v, str) and v:
                resolved = self.existing((*path, k), v, cast(Literal["file", "dir", "any"], kind), k)
                if resolved is None:
                    ok = False
                else:
                    out[k] = resolved
        return out if ok else None
