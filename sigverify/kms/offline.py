"""``env://VAR`` keys, and clear refusals (with the export command) for key URIs sigverify does not fetch."""

from __future__ import annotations

import os
import re
import shlex

from sigverify.errors import KeyMaterialError
from sigverify.kms import _spki

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
_EXPORTED = "key: {path: vendor.pem}"
_COSIGN_EXPORT = "cosign public-key --key {uri} --outfile vendor.pem"


def env_var_name(uri: str) -> str:
    """The variable named by ``env://VAR`` (cosign reads the PEM public key from it)."""
    name = uri.strip()[len("env://"):]
    if not _ENV_NAME.fullmatch(name):
        raise KeyMaterialError(
            f"malformed env:// key URI {uri!r}",
            expected="env://NAME (an environment variable holding a PEM public key)",
            found=uri,
            tip="Write e.g. env://COSIGN_PUBLIC_KEY, or use key: {env: COSIGN_PUBLIC_KEY}.",
        )
    return name


def env_public_key_pem(uri: str) -> bytes:
    """``env://VAR``: the PEM public key held in ``$VAR`` (as ``cosign verify --key env://VAR`` reads it)."""
    name = env_var_name(uri)
    value = os.environ.get(name)
    if value is None:
        raise KeyMaterialError(
            f"environment variable ${name} (from {uri}) is not set",
            expected=f"${name} holding a PEM public key",
            found="not set",
            tip=f"Export the public key into ${name} (in CI, a masked variable or secret), "
            f"or point the authority at the exported file: {_EXPORTED}.",
        )
    if not value.strip():
        raise KeyMaterialError(
            f"environment variable ${name} (from {uri}) is empty",
            expected=f"${name} holding a PEM public key",
            found="an empty value",
            tip="In CI, an empty value usually means the secret is not exposed to this job or branch.",
        )
    key = _spki.load_pem(value.encode("utf-8", errors="replace"), f"${name} (from {uri})")
    return _spki.to_pem(key)


# ---------------------------------------------------------------------------------------------------------------
# Schemes recognised but not fetched: the message names the scheme and gives the command that exports the key.
# ---------------------------------------------------------------------------------------------------------------

# cosign pkg/cosign/kubernetes: k8s://NAMESPACE/SECRET
_K8S = re.compile(r"k8s://([^/]+)/([^/]+)")


def _q(s: str) -> str:
    return shlex.quote(s)


def refusal(uri: str, scheme: str | None) -> KeyMaterialError:
    """The error for a key URI sigverify will not fetch: which scheme, why, and the exact export command."""
    alt = f"then use the file: {_EXPORTED}"
    if scheme == "k8s":
        m = _K8S.fullmatch(uri.strip())
        if m is None:
            return _malformed(uri, "k8s://NAMESPACE/SECRET_NAME")
        namespace, name = m.groups()
        cmd = (f"kubectl get secret {_q(name)} -n {_q(namespace)} "
               "-o jsonpath='{.data.cosign\\.pub}' | base64 -d > vendor.pem")
        return _export_only(uri, "k8s://", "Kubernetes secret", f"{cmd}; {alt}")
    if scheme == "gitlab":
        return _export_only(
            uri, "gitlab://", "GitLab CI variable",
            "the key is the project's CI/CD variable COSIGN_PUBLIC_KEY; in a GitLab job use "
            "key: {env: COSIGN_PUBLIC_KEY} (or kms: env://COSIGN_PUBLIC_KEY); elsewhere save it to vendor.pem "
            f"and {alt}",
        )
    if scheme == "pkcs11":
        return _export_only(uri, "pkcs11:", "PKCS#11 token", f"{_COSIGN_EXPORT.format(uri=_q(uri))}; {alt}")
    if scheme in ("https", "http"):
        return KeyMaterialError(
            f"public keys are not downloaded from URLs at verification time ({uri})",
            expected="a pinned public key: key: {path: ...}, key: {pem: ...}, key: {env: ...} or a KMS key URI",
            found=uri,
            tip=f"Download the key once, review it, commit it beside the policy and pin it: "
            f"curl -fsSLo vendor.pem {_q(uri)}; {alt}. A key fetched on every run can be swapped by "
            "whoever controls that URL.",
        )
    shown = f"{scheme}://" if scheme else "no scheme"
    return KeyMaterialError(
        f"unknown key URI scheme in {uri!r}",
        expected="awskms://, gcpkms://, azurekms://, hashivault:// or env:// (fetched), "
        "or an exported public key: key: {path: ...}",
        found=shown,
        tip="cosign key URIs: awskms://, gcpkms://, azurekms://, hashivault://, k8s://, gitlab://, env://, "
        "pkcs11:. A key file goes in key: {path: ...}, not in kms:.",
    )


def _export_only(uri: str, scheme: str, provider: str, how: str) -> KeyMaterialError:
    return KeyMaterialError(
        f"{scheme} keys ({provider}) are not fetched by sigverify: {uri}",
        expected="awskms://, gcpkms://, azurekms://, hashivault:// or env://, "
        "or the exported public key in key: {path: ...}",
        found=scheme,
        tip=f"Export the public key once and verify offline with it: {how}.",
    )


def _malformed(uri: str, grammar: str) -> KeyMaterialError:
    return KeyMaterialError(
        f"malformed key URI {uri!r}",
        expected=grammar,
        found=uri,
        tip="Use the same URI you give `cosign verify --key`; or export the public key and use key: {path: ...}.",
    )
