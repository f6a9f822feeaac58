"""Sigstore policy-controller ``ClusterImagePolicy`` -> sigverify policies (every authority is one-of)."""

from __future__ import annotations

from typing import Any

from sigverify.importers.common import PUBLIC_FULCIO, PUBLIC_REKOR, Doc, unique_name
from sigverify.importers.patterns import Untranslatable, go_regexp, policy_controller_glob
from sigverify.policy.yamlstrict import KeyPath

_SPEC_KEYS = {"images", "authorities", "mode"}
_SPEC_ADMISSION = {"match"}
_AUTHORITY_KEYS = {"name", "key", "keyless", "ctlog", "static", "source", "attestations"}


def convert(d: Doc, obj: dict[str, Any], taken: set[str]) -> None:
    """Add the sigverify policy of one ClusterImagePolicy to ``d.out`` (findings for everything else)."""
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        d.unsupported(("spec",), "a ClusterImagePolicy needs a spec map")
        return
    d.unknown_keys(("spec",), spec, _SPEC_KEYS | {"policy"}, _SPEC_ADMISSION)
    if "policy" in spec:
        d.unsupported(("spec", "policy"), "policies written in CUE or Rego cannot be carried over",
                      tip="express the checks as sigverify attestation conditions (field/jmespath with equals/regexp)")
    match = _images(d, spec.get("images"))
    authorities: list[dict[str, Any]] = []
    auth_names: set[str] = set()
    raw = spec.get("authorities")
    if not isinstance(raw, list) or not raw:
        d.unsupported(("spec", "authorities"), "a ClusterImagePolicy needs a list of authorities")
        raw = []
    for i, auth in enumerate(raw):
        path: KeyPath = ("spec", "authorities", i)
        if isinstance(auth, dict):
            authorities.extend(_authority(d, path, auth, auth_names))
        else:
            d.unsupported(path, "an authority must be a map")
    mode = spec.get("mode", "enforce")
    if mode not in ("enforce", "warn"):
        d.unsupported(("spec", "mode"), f"mode {mode!r}: expected enforce or warn")
    if not match or not authorities:
        return
    policy: dict[str, Any] = {"name": unique_name(name if isinstance(name, str) else "cluster-image-policy", taken),
                              "match": match}
    if mode == "warn":
        policy["mode"] = "warn"
    policy["authorities"] = authorities  # one-of: threshold 1 (the default), as policy-controller admits
    d.out.policies.append(policy)


def _images(d: Doc, images: object) -> list[Any]:
    if not isinstance(images, list) or not images:
        d.unsupported(("spec", "images"), "a ClusterImagePolicy needs a list of images")
        return []
    out: list[Any] = []
    for i, item in enumerate(images):
        path: KeyPath = ("spec", "images", i)
        if not isinstance(item, dict) or not isinstance(item.get("glob"), str):
            key = next(iter(item), "?") if isinstance(item, dict) and item else "?"
            d.unsupported(path, f"image matcher {key!r}: only glob can be carried over")
            continue
        d.unknown_keys(path, item, {"glob"})
        try:
            out.append(policy_controller_glob(item["glob"]).to_yaml())
        except Untranslatable as exc:
            d.unsupported((*path, "glob"), exc.reason, tip=exc.tip)
    return out


def _authority(d: Doc, path: KeyPath, auth: dict[str, Any], names: set[str]) -> list[dict[str, Any]]:
    d.unknown_keys(path, auth, _AUTHORITY_KEYS)
    raw_name = auth.get("name")
    base = raw_name if isinstance(raw_name, str) else f"authority-{path[-1]}"
    if "attestations" in auth:
        d.unsupported((*path, "attestations"),
                      "authority attestations (and their CUE/Rego policies) cannot be carried over: policy-controller "
                      "checks them instead of the signature, sigverify checks attestations in addition to it",
                      tip="write a sigverify policy with attestations: and conditions by hand")
    if "source" in auth:
        d.unsupported((*path, "source"), "signatures stored in another repository are not looked up by sigverify")
    if "static" in auth:
        action = auth["static"].get("action") if isinstance(auth["static"], dict) else None
        d.unsupported((*path, "static"), f"a static authority (action: {action}) admits or rejects without any "
                      "signature; sigverify has no such authority",
                      tip="list images that need no signature in no policy and set default: allow, or drop the "
                      "policy")
        return []
    tlog = _ctlog(d, path, auth.get("ctlog"))
    if "key" in auth and "keyless" in auth:
        d.unsupported(path, "an authority has either key or keyless, not both")
        return []
    if isinstance(auth.get("key"), dict):
        key = _key(d, (*path, "key"), auth["key"])
        if key is None:
            return []
        out: dict[str, Any] = {"name": unique_name(base, names), "key": key}
        if tlog:
            out["tlog"] = tlog
        return [out]
    if isinstance(auth.get("keyless"), dict):
        return _keyless(d, (*path, "keyless"), auth["keyless"], base, names, tlog)
    d.unsupported(path, "an authority needs key, keyless or static")
    return []


def _ctlog(d: Doc, path: KeyPath, ctlog: object) -> str | None:
    """policy-controller always checks the transparency log (the public Rekor unless ctlog names another)."""
    if ctlog is None:
        return None
    if not isinstance(ctlog, dict):
        d.unsupported((*path, "ctlog"), "ctlog must be a map")
        return None
    d.unknown_keys((*path, "ctlog"), ctlog, {"url"})
    url = ctlog.get("url")
    if url is not None and url not in PUBLIC_REKOR:
        d.unsupported((*path, "ctlog", "url"), f"a private Rekor ({url}) is not configured per authority in sigverify",
                      tip="give its keys in a trusted_root.json (trust_root: FILE)")
    return None


def _key(d: Doc, path: KeyPath, key: dict[str, Any]) -> dict[str, str] | None:
    d.unknown_keys(path, key, {"data", "kms", "secretRef", "hashAlgorithm"})
    if key.get("hashAlgorithm", "sha256") != "sha256":
        d.unsupported((*path, "hashAlgorithm"), f"hash algorithm {key['hashAlgorithm']!r}: sigverify follows the key")
    if "secretRef" in key:
        d.unsupported((*path, "secretRef"), "a key in a Kubernetes Secret cannot be read by a CI gate",
                      tip="export it (kubectl get secret ... -o jsonpath) and write key: {path: cosign.pub}")
        return None
    if isinstance(key.get("data"), str):
        return {"pem": key["data"].strip() + "\n"}
    if isinstance(key.get("kms"), str):
        return {"kms": key["kms"]}
    d.unsupported(path, "a key needs data (PEM) or kms")
    return None


def _keyless(d: Doc, path: KeyPath, keyless: dict[str, Any], base: str, names: set[str], tlog: str | None
             ) -> list[dict[str, Any]]:
    d.unknown_keys(path, keyless, {"url", "identities", "ca-cert", "trustRootRef", "insecureIgnoreSCT"})
    url = keyless.get("url")
    if url is not None and url not in PUBLIC_FULCIO:
        d.unsupported((*path, "url"), f"a private Fulcio ({url}) is not configured per authority in sigverify",
                      tip="give its CA in a trusted_root.json (trust_root: FILE)")
    for k in ("ca-cert", "trustRootRef"):
        if k in keyless:
            d.unsupported((*path, k), "custom certificate authorities are configured for the whole run in sigverify",
                          tip="trust_root: FILE with a trusted_root.json that holds the CA")
    if keyless.get("insecureIgnoreSCT"):
        d.unsupported((*path, "insecureIgnoreSCT"), "sigverify always checks the certificate's SCT")
    identities = keyless.get("identities")
    if not isinstance(identities, list) or not identities:
        d.unsupported((*path, "identities"), "keyless without identities accepts any signer; sigverify needs an "
                      "issuer and a subject", tip="add identities: [{issuer: ..., subject: ...}]")
        return []
    out: list[dict[str, Any]] = []
    for j, ident in enumerate(identities):
        ipath: KeyPath = (*path, "identities", j)
        if not isinstance(ident, dict):
            d.unsupported(ipath, "an identity must be a map")
            continue
        d.unknown_keys(ipath, ident, {"issuer", "subject", "issuerRegExp", "subjectRegExp"})
        spec: dict[str, str] = {}
        for field, exact, rx in (("issuer", "issuer", "issuerRegExp"), ("subject", "subject", "subjectRegExp")):
            if isinstance(ident.get(exact), str) and ident[exact] and rx not in ident:
                spec[field] = ident[exact]
            elif isinstance(ident.get(rx), str) and ident[rx] and exact not in ident:
                try:
                    spec[f"{field}_regexp"] = go_regexp(ident[rx])
                except Untranslatable as exc:
                    d.unsupported((*ipath, rx), exc.reason, tip=exc.tip)
            else:
                d.unsupported(ipath, f"an identity needs exactly one of {exact}, {rx}",
                              tip=f"without one, any {field} would be accepted")
        if len(spec) == 2:
            wanted = base if len(identities) == 1 else f"{base}-{j + 1}"
            entry: dict[str, Any] = {"name": unique_name(wanted, names), "keyless": spec}
            if tlog:
                entry["tlog"] = tlog
            out.append(entry)
    return out
