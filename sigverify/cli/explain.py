"""``sigverify explain``: without the network, which policies, authorities and formats apply to each image."""

from __future__ import annotations

import difflib
import os

from sigverify.errors import InvalidReferenceError
from sigverify.formats import FORMATS
from sigverify.policy.model import Authority, Config, Matcher, Policy
from sigverify.reference import parse


def explain(config: Config, images: list[tuple[str, str | None]]) -> tuple[str, bool]:
    """The explanation text for every (reference, where written as file:line), and whether every image matched a
    policy. A relative ``oci:`` layout is resolved against the directory of the file that names it."""
    lines: list[str] = []
    all_matched = True
    for ref, where in images:
        lines.append(f"{ref}" + (f"  ({where})" if where else ""))
        try:
            parsed = parse(ref, base_dir=_base_dir(where))
        except InvalidReferenceError as exc:
            lines.append(f"  invalid reference: {exc.message}")
            all_matched = False
            lines.append("")
            continue
        name = parsed.name
        lines.append(f"  name: {name}" + ("" if name == ref.split("@")[0].split(":")[0] else "  (normalised)"))
        policies = config.policies_for(name)
        if not policies:
            all_matched = False
            lines.extend(_no_policy(config, name))
        for policy in policies:
            lines.extend(_policy(policy, name))
            lines.extend(_pinning(policy, parsed.digest is not None))
        lines.extend(f"  {w.label}; covers {', '.join(w.codes)}" for w in config.waivers if w.matches(name))
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n", all_matched


def _pinning(policy: Policy, by_digest: bool) -> list[str]:
    out = []
    if policy.platforms == "all":
        out.append("    platforms: every platform manifest of an index must verify (the index need not be signed)")
    elif policy.platforms != "index":
        out.append(f"    platforms: {', '.join(policy.platforms)} must be in the image and verify")
    if policy.require_digest:
        out.append("    require_digest: " + ("the reference names a digest" if by_digest else
                                             "this reference names a tag only: it fails with DIGEST_REQUIRED"))
    return out


def _base_dir(where: str | None) -> str | None:
    if where is None:
        return None
    file = where.rsplit(":", 1)[0] if where.rsplit(":", 1)[-1].isdigit() else where
    return os.path.dirname(os.path.abspath(file)) if os.path.isfile(file) else None


def _policy(policy: Policy, name: str) -> list[str]:
    matcher = next(m for m in policy.match if m.matches(name))
    need = (f"{policy.threshold} of {len(policy.authorities)} authorities" if len(policy.authorities) > 1
            else "its authority")
    out = [f"  policy {policy.name!r} ({policy.location}) matches through {matcher}",
           f"    mode: {policy.mode}; needs a signature from {need}"]
    for auth in policy.authorities:
        out.append(f"    authority {auth.name!r}: {_identity(auth)}")
        out.append(f"      formats looked for: {', '.join(_formats(auth, bool(policy.attestations)))}")
    for att in policy.attestations:
        conds = f", {len(att.conditions)} condition(s)" if att.conditions else ""
        out.append(f"    attestation {att.predicate_type} from {', '.join(att.authorities)}{conds}")
    return out


def _identity(auth: Authority) -> str:
    if auth.key is not None:
        text = f"key {auth.key.source}"
    elif auth.keyless is not None:
        k = auth.keyless
        text = f"keyless issuer {k.issuer} subject {k.subject}"
        if k.claims:
            text += " claims " + ", ".join(f"{n}={v}" for n, v in k.claims.items())
    else:
        text = "notation trust store" if auth.notation and "trust_store" in auth.notation else "notation trust policy"
    if auth.kind in ("key", "keyless"):
        text += "; transparency log " + ("required" if auth.tlog == "require" else "not checked (tlog: ignore)")
    return text


def _formats(auth: Authority, attestations: bool) -> list[str]:
    return [spec.format.value for spec in FORMATS
            if auth.kind in spec.verifiers and (auth.kind in spec.looked_for or (attestations and spec.attestations))]


def _no_policy(config: Config, name: str) -> list[str]:
    verdict = ("passes unverified (default: allow)" if config.default == "allow"
               else "fails with NO_POLICY (default: deny)")
    out = [f"  no policy matches: the image {verdict}"]
    matchers = [(p, m) for p in config.policies for m in p.match]
    if not matchers:
        return out
    policy, nearest = max(matchers, key=lambda pm: difflib.SequenceMatcher(None, pm[1].pattern, name).ratio())
    out.append(f"  nearest pattern: {nearest} (policy {policy.name!r}, {policy.location})")
    out.append(f"    {_why_not(nearest, name)}")
    return out


def _why_not(m: Matcher, name: str) -> str:
    if m.regexp:
        return f"the regexp must match the whole name {name!r}"
    pat, got = m.pattern.split("/"), name.split("/")
    if pat[0] not in ("*", "**") and "*" not in pat[0] and pat[0] != got[0]:
        return f"registry differs: the pattern names {pat[0]!r}, the image is on {got[0]!r}"
    for i, (p, g) in enumerate(zip(pat, got, strict=False)):
        if "*" in p:
            break
        if p != g:
            return f"path segment {i + 1} differs: pattern {p!r}, image {g!r}"
    if "**" not in pat and len(pat) != len(got):
        return (f"the pattern has {len(pat)} segments and the image name {len(got)}: '*' matches within one "
                "segment, '**' across segments")
    return "a wildcard segment does not fit (see the pattern rules: '*' within a segment, '**' across)"
