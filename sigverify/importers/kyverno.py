"""Kyverno ``ClusterPolicy``/``Policy`` ``verifyImages`` rules -> sigverify policies (one per attestor set)."""

from __future__ import annotations

import re
from typing import Any

from sigverify.importers.common import PUBLIC_REKOR, Doc, unique_name
from sigverify.importers.patterns import Match, Untranslatable, go_regexp, kyverno_image_pattern, kyverno_wildcard
from sigverify.policy.globs import compile_glob
from sigverify.policy.yamlstrict import KeyPath

_SPEC_KEYS = {"rules", "validationFailureAction"}
_SPEC_ADMISSION = {"background", "webhookTimeoutSeconds", "failurePolicy", "admission", "emitWarning",
                   "validationFailureActionOverrides", "schemaValidation", "mutateExistingOnPolicyUpdate",
                   "generateExisting", "useServerSideApply", "webhookConfiguration", "applyRules"}
_RULE_ADMISSION = {"match", "exclude", "preconditions", "context", "celPreconditions", "skipBackgroundRequests"}
_VERIFY_KEYS = {"imageReferences", "skipImageReferences", "attestors", "attestations", "mutateDigest",
                "verifyDigest", "required", "type", "failureAction", "validationFailureAction"}
_VERIFY_ADMISSION = {"useCache", "imageRegistryCredentials"}
_EXTENSIONS = {
    "githubWorkflowTrigger": "github_workflow_trigger",
    "githubWorkflowSha": "github_workflow_sha",
    "githubWorkflowName": "github_workflow_name",
    "githubWorkflowRepository": "github_workflow_repository",
    "githubWorkflowRef": "github_workflow_ref",
}
_PEM = re.compile(r"-----BEGIN PUBLIC KEY-----")
_KMS = re.compile(r"(?:awskms|gcpkms|azurekms|hashivault)://")
_CONDITION = re.compile(r"\{\{\s*(.+?)\s*\}\}")


def require_digest_supported() -> bool:
    """Whether this sigverify's config has ``require_digest`` on policies (what mutateDigest/verifyDigest become)."""
    from sigverify.policy.schemacheck import load_schema

    policy = load_schema().get("$defs", {}).get("policy", {})
    return "require_digest" in policy.get("properties", {})


def convert(d: Doc, obj: dict[str, Any], taken: set[str]) -> None:
    """Add a sigverify policy for every attestor set of every verifyImages rule of one Kyverno policy."""
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) and isinstance(meta.get("name"), str) else "kyverno-policy"
    spec = obj.get("spec")
    if not isinstance(spec, dict) or not isinstance(spec.get("rules"), list):
        d.unsupported(("spec",), "a Kyverno policy needs spec.rules")
        return
    d.unknown_keys(("spec",), spec, _SPEC_KEYS, _SPEC_ADMISSION)
    mode = _mode(d, ("spec", "validationFailureAction"), spec.get("validationFailureAction"), "enforce")
    found = False
    for i, rule in enumerate(spec["rules"]):
        rpath: KeyPath = ("spec", "rules", i)
        if not isinstance(rule, dict) or "verifyImages" not in rule:
            d.left_out(rpath, "not a verifyImages rule (it does not verify signatures)")
            continue
        found = True
        d.unknown_keys(rpath, rule, {"name", "verifyImages"}, _RULE_ADMISSION)
        rule_name = rule.get("name") if isinstance(rule.get("name"), str) else f"rule-{i}"
        items = rule["verifyImages"]
        if not isinstance(items, list):
            d.unsupported((*rpath, "verifyImages"), "verifyImages must be a list")
            continue
        for j, item in enumerate(items):
            vpath: KeyPath = (*rpath, "verifyImages", j)
            if isinstance(item, dict):
                label = f"{name}/{rule_name}" if len(items) == 1 else f"{name}/{rule_name}/{j + 1}"
                _verify(d, vpath, item, label, mode, taken)
            else:
                d.unsupported(vpath, "a verifyImages entry must be a map")
    if not found:
        d.unsupported(("spec", "rules"), "the policy has no verifyImages rule: nothing to import")


def _mode(d: Doc, path: KeyPath, value: object, default: str) -> str:
    if value is None:
        return default
    if isinstance(value, str) and value.lower() in ("enforce", "audit"):
        return "enforce" if value.lower() == "enforce" else "warn"
    d.unsupported(path, f"failure action {value!r}: expected Enforce or Audit")
    return default


def _verify(d: Doc, path: KeyPath, item: dict[str, Any], label: str, mode: str, taken: set[str]) -> None:
    d.unknown_keys(path, item, _VERIFY_KEYS | {"repository"}, _VERIFY_ADMISSION)
    mode = _mode(d, (*path, "failureAction"), item.get("failureAction", item.get("validationFailureAction")), mode)
    if item.get("type", "Cosign") != "Cosign":
        d.unsupported((*path, "type"), f"verification type {item['type']!r}: only Cosign signatures carry over",
                      tip="notation signatures: write a sigverify notation authority (or import the trustpolicy.json)")
        return
    if "repository" in item:
        d.unsupported((*path, "repository"), "signatures stored in another repository are not looked up by sigverify")
    if item.get("required", True) is not True:
        d.unsupported((*path, "required"), "required: false lets unsigned images through; sigverify has no "
                      "optional signatures", tip="use mode: warn to report without failing")
    match = _match(d, path, item)
    attestor_sets = item.get("attestors")
    if not isinstance(attestor_sets, list) or not attestor_sets:
        d.unsupported((*path, "attestors"), "a rule without signature attestors (attestations only) cannot be "
                      "carried over: every sigverify policy requires an image signature",
                      tip="add the attestations' attestors as signature attestors, or write the policy by hand")
        return
    digest = any(item.get(k, True) is True for k in ("mutateDigest", "verifyDigest"))
    sets: list[tuple[dict[str, Any], list[Any], dict[int, str]]] = []  # policy, its entries, entry -> name
    for i, aset in enumerate(attestor_sets):
        apath: KeyPath = (*path, "attestors", i)
        if not isinstance(aset, dict) or not isinstance(aset.get("entries"), list) or not aset["entries"]:
            d.unsupported(apath, "an attestor set needs a list of entries")
            continue
        d.unknown_keys(apath, aset, {"count", "entries"})
        names: set[str] = set()
        authorities: list[dict[str, Any]] = []
        entry_names: dict[int, str] = {}
        for e, entry in enumerate(aset["entries"]):
            built = _entry(d, (*apath, "entries", e), entry, names)
            if built is not None:
                entry_names[e] = built["name"]
                authorities.append(built)
        total = len(aset["entries"])
        count = aset.get("count", total)
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= total:
            d.unsupported((*apath, "count"), f"count {count!r}: expected 1 to {total}")
            continue
        if not match or len(authorities) != total:
            continue
        policy: dict[str, Any] = {"name": unique_name(label if len(attestor_sets) == 1 else f"{label}/{i + 1}",
                                                      taken), "match": match}
        if mode == "warn":
            policy["mode"] = "warn"
        if count != 1:
            policy["threshold"] = count
        policy["authorities"] = authorities
        sets.append((policy, aset["entries"], entry_names))
    if len(sets) != len(attestor_sets):
        return  # already reported
    for j, att in enumerate(item.get("attestations") or []):
        _attach_attestation(d, (*path, "attestations", j), att, sets)
    if digest:
        _digest(d, path, item, [policy for policy, _, _ in sets])
    d.out.policies.extend(policy for policy, _, _ in sets)


def _attach_attestation(d: Doc, path: KeyPath, att: object,
                        built: list[tuple[dict[str, Any], list[Any], dict[int, str]]]) -> None:
    """An attestation requirement goes to the policy of the attestor set whose entries attest it."""
    for policy, entries, names in built:
        if _attestation_authorities(None, path, att, entries, names) is not None:
            req = _attestation(d, path, att, entries, names)
            if req is not None:
                policy.setdefault("attestations", []).append(req)
            return
    _attestation(d, path, att, built[0][1], built[0][2])  # reports why it cannot be carried over


def _digest(d: Doc, path: KeyPath, item: dict[str, Any], policies: list[dict[str, Any]]) -> None:
    if require_digest_supported():
        for policy in policies:
            policy["require_digest"] = True
        return
    which = "mutateDigest/verifyDigest (on by default)" if not ({"mutateDigest", "verifyDigest"} & set(item)) else (
        "/".join(k for k in ("mutateDigest", "verifyDigest") if item.get(k, True) is True))
    d.left_out(path, f"{which}: this sigverify has no require_digest; images are still verified by the digest "
               "their reference resolves to")


def _match(d: Doc, path: KeyPath, item: dict[str, Any]) -> list[Any]:
    refs = item.get("imageReferences")
    if not isinstance(refs, list) or not refs:
        d.unsupported((*path, "imageReferences"), "a verifyImages entry needs imageReferences")
        return []
    out: list[Match] = []
    for i, ref in enumerate(refs):
        try:
            out.append(kyverno_image_pattern(ref if isinstance(ref, str) else ""))
        except Untranslatable as exc:
            d.unsupported((*path, "imageReferences", i), exc.reason, tip=exc.tip)
    skips = item.get("skipImageReferences")
    if skips is None or not out:
        return [m.to_yaml() for m in out]
    skip_rx: list[str] = []
    for i, ref in enumerate(skips if isinstance(skips, list) else [None]):
        try:
            skip_rx.append(_as_regexp(kyverno_image_pattern(ref if isinstance(ref, str) else "")))
        except Untranslatable as exc:
            d.unsupported((*path, "skipImageReferences", i), exc.reason, tip=exc.tip)
    if len(skip_rx) != len(skips if isinstance(skips, list) else [None]):
        return []
    excluded = "|".join(skip_rx)
    return [{"regexp": f"(?!(?:{excluded})\\Z)(?:{_as_regexp(m)})"} for m in out]


def _as_regexp(m: Match) -> str:
    return m.value if m.regexp else compile_glob(m.value).pattern


def _entry(d: Doc, path: KeyPath, entry: object, names: set[str]) -> dict[str, Any] | None:
    if not isinstance(entry, dict):
        d.unsupported(path, "an attestor entry must be a map")
        return None
    kinds = [k for k in ("keys", "keyless", "certificates", "attestor") if k in entry]
    d.unknown_keys(path, entry, {"keys", "keyless", "certificates", "attestor", "annotations", "repository"})
    if "repository" in entry:
        d.unsupported((*path, "repository"), "signatures stored in another repository are not looked up by sigverify")
    if len(kinds) != 1:
        d.unsupported(path, "an entry needs exactly one of keys, keyless, certificates")
        return None
    kind = kinds[0]
    if kind == "attestor":
        d.unsupported((*path, "attestor"), "nested attestor sets cannot be carried over",
                      tip="write one sigverify policy per set")
        return None
    if kind == "certificates":
        d.unsupported((*path, "certificates"), "certificate attestors (cert/certChain) have no sigverify "
                      "equivalent: a key authority would not check the chain",
                      tip="sign keyless or with a key, or use notation for X.509 chains")
        return None
    body = entry[kind]
    if not isinstance(body, dict):
        d.unsupported((*path, kind), f"{kind} must be a map")
        return None
    built = _keys(d, (*path, kind), body) if kind == "keys" else _keyless(d, (*path, kind), body)
    if built is None:
        return None
    built = {"name": unique_name(f"{kind}-{path[-1] + 1 if isinstance(path[-1], int) else 1}", names), **built}
    annotations = entry.get("annotations")
    if isinstance(annotations, dict) and all(isinstance(v, str) for v in annotations.values()):
        built["annotations"] = dict(annotations)
    elif annotations is not None:
        d.unsupported((*path, "annotations"), "annotations must map names to strings")
    return built


def _rekor(d: Doc, path: KeyPath, body: dict[str, Any]) -> str | None:
    """The tlog setting (None: require); a private Rekor or pinned keys are unsupported."""
    tlog = None
    rekor = body.get("rekor")
    if isinstance(rekor, dict):
        d.unknown_keys((*path, "rekor"), rekor, {"url", "ignoreTlog"})
        if rekor.get("url") not in (None, *PUBLIC_REKOR):
            d.unsupported((*path, "rekor", "url"), f"a private Rekor ({rekor['url']}) is configured for the whole "
                          "run in sigverify", tip="trust_root: FILE with a trusted_root.json that holds its key")
        if rekor.get("ignoreTlog") is True:
            tlog = "ignore"
    ctlog = body.get("ctlog")
    if isinstance(ctlog, dict):
        d.unknown_keys((*path, "ctlog"), ctlog, set())
    return tlog


def _keys(d: Doc, path: KeyPath, body: dict[str, Any]) -> dict[str, Any] | None:
    d.unknown_keys(path, body, {"publicKeys", "kms", "secret", "signatureAlgorithm", "rekor", "ctlog"})
    if body.get("signatureAlgorithm", "sha256") != "sha256":
        d.unsupported((*path, "signatureAlgorithm"), f"{body['signatureAlgorithm']!r}: only sha256 carries over")
    tlog = _rekor(d, path, body)
    key: dict[str, str] | None = None
    value = body.get("publicKeys")
    if "secret" in body:
        d.unsupported((*path, "secret"), "a key in a Kubernetes Secret cannot be read by a CI gate",
                      tip="export it and write key: {path: cosign.pub}")
    elif isinstance(body.get("kms"), str):
        key = {"kms": body["kms"]}
    elif isinstance(value, str) and _PEM.search(value):
        if len(_PEM.findall(value)) > 1:
            d.unsupported((*path, "publicKeys"), "several keys in one entry: write one entry per key",
                          tip="with count: to say how many must have signed")
        else:
            key = {"pem": value.strip() + "\n"}
    elif isinstance(value, str) and _KMS.match(value.strip()):
        key = {"kms": value.strip()}
    elif isinstance(value, str) and value.strip().startswith("k8s://"):
        d.unsupported((*path, "publicKeys"), "a key in a Kubernetes Secret (k8s://) cannot be read by a CI gate",
                      tip="export it and write key: {path: cosign.pub}")
    else:
        d.unsupported((*path, "publicKeys"), "expected a PEM public key or a KMS key URI")
    if key is None:
        return None
    return {"key": key, **({"tlog": tlog} if tlog else {})}


def _keyless(d: Doc, path: KeyPath, body: dict[str, Any]) -> dict[str, Any] | None:
    d.unknown_keys(path, body, {"subject", "issuer", "subjectRegExp", "issuerRegExp", "additionalExtensions",
                                "roots", "rekor", "ctlog"})
    if "roots" in body:
        d.unsupported((*path, "roots"), "custom Fulcio roots are configured for the whole run in sigverify",
                      tip="trust_root: FILE with a trusted_root.json that holds the CA")
    tlog = _rekor(d, path, body)
    spec: dict[str, Any] = {}
    ok = True
    for field, rx in (("issuer", "issuerRegExp"), ("subject", "subjectRegExp")):
        if isinstance(body.get(field), str) and body[field] and rx not in body:
            text, is_rx = kyverno_wildcard(body[field])
            spec[f"{field}_regexp" if is_rx else field] = text
        elif isinstance(body.get(rx), str) and body[rx] and field not in body:
            try:
                spec[f"{field}_regexp"] = go_regexp(body[rx])
            except Untranslatable as exc:
                d.unsupported((*path, rx), exc.reason, tip=exc.tip)
                ok = False
        else:
            d.unsupported(path, f"keyless needs exactly one of {field}, {rx}",
                          tip=f"without one, any {field} would be accepted")
            ok = False
    extensions = body.get("additionalExtensions")
    if isinstance(extensions, dict):
        claims: dict[str, str] = {}
        for k, v in extensions.items():
            if k in _EXTENSIONS and isinstance(v, str) and v:
                claims[_EXTENSIONS[k]] = v
            else:
                d.unsupported((*path, "additionalExtensions", k), f"extension {k!r} cannot be carried over")
                ok = False
        if claims:
            spec["claims"] = claims
    if not ok:
        return None
    return {"keyless": spec, **({"tlog": tlog} if tlog else {})}


def _attestation(d: Doc, path: KeyPath, att: object, entries: list[Any], names: dict[int, str]
                 ) -> dict[str, Any] | None:
    if not isinstance(att, dict):
        d.unsupported(path, "an attestation must be a map")
        return None
    d.unknown_keys(path, att, {"type", "predicateType", "attestors", "conditions", "name"})
    ptype = att.get("predicateType", att.get("type"))
    if not isinstance(ptype, str) or not ptype:
        d.unsupported(path, "an attestation needs predicateType")
        return None
    auth = _attestation_authorities(d, path, att, entries, names)
    conditions = _conditions(d, (*path, "conditions"), att.get("conditions"))
    if auth is None or conditions is None:
        return None
    req: dict[str, Any] = {"predicate_type": ptype, "authorities": auth}
    if conditions:
        req["conditions"] = conditions
    return req


def _attestation_authorities(d: Doc | None, path: KeyPath, att: object, entries: list[Any], names: dict[int, str]
                             ) -> list[str] | None:
    """The attestation's attestors must be entries of the signature attestors (sigverify names them); ``d`` None
    only asks whether they are (nothing is reported)."""
    value = att.get("attestors") if isinstance(att, dict) else None
    if value is None:
        return list(names.values())
    picked: list[str] = []
    for i, aset in enumerate(value if isinstance(value, list) else []):
        apath: KeyPath = (*path, "attestors", i)
        raw = aset.get("entries") if isinstance(aset, dict) else None
        if not isinstance(raw, list) or (len(raw) > 1 and aset.get("count") != 1):
            if d is not None:
                d.unsupported(apath, "several attestation attestors that must all have attested (count) cannot "
                              "be carried over: sigverify accepts an attestation from any one of the named "
                              "authorities")
            return None
        for j, entry in enumerate(raw):
            idx = next((k for k, e in enumerate(entries) if e == entry), None)
            if idx is None or idx not in names:
                if d is not None:
                    d.unsupported((*apath, "entries", j), "an attestation attestor that is not also a signature "
                                  "attestor of the rule: sigverify requires attestations from the policy's "
                                  "authorities")
                return None
            picked.append(names[idx])
    return picked or None


def _conditions(d: Doc, path: KeyPath, value: object) -> list[dict[str, Any]] | None:
    if value is None:
        return []
    out: list[dict[str, Any]] = []
    for i, block in enumerate(value if isinstance(value, list) else [None]):
        bpath: KeyPath = (*path, i)
        if not isinstance(block, dict):
            d.unsupported(bpath, "a condition block must be a map with all: or any:")
            return None
        items = list(block.get("all") or [])
        anyof = block.get("any") or []
        if len(anyof) > 1:
            d.unsupported((*bpath, "any"), "any: with several conditions (sigverify's conditions must all hold)")
            return None
        items += anyof
        for j, cond in enumerate(items):
            key = cond.get("key") if isinstance(cond, dict) else None
            m = _CONDITION.fullmatch(key.strip()) if isinstance(key, str) else None
            op = cond.get("operator") if isinstance(cond, dict) else None
            if m is None or op != "Equals" or "value" not in cond:
                d.unsupported((*bpath, "all" if j < len(block.get("all") or []) else "any", j),
                              f"condition {key!r} {op!r}: only '{{{{ expression }}}}' Equals value carries over")
                return None
            out.append({"jmespath": m.group(1), "equals": cond["value"]})
    return out
