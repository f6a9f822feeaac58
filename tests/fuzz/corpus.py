"""The real vectors of ../shared/vectors that verify (MANIFEST.md verdict PASS), each as named signed fields and
the verifier call the vector tests use. A flipped field must never verify, unless ``explain`` names why the flip
changed nothing that is verified (each class is listed in tests/fuzz/README.md):

* ``same content``: another encoding of the same bytes (base64 padding bits, JSON that decodes equal);
* ``unneeded element``: the flip broke or renamed an element the verification does not need (a Sigstore TSA
  timestamp next to a log entry's time, a v0.1 bundle's inclusion proof next to its SET): the document with that
  element deleted verifies too, so the broken element is simply not counted;
* ``unverified cosignature``: a checkpoint signature line other than the log's own (witness cosignatures, another
  log's line; the log's line is found by its 4-byte key hint, as in sigstore-python and the signed-note format);
* ``unsigned CMS fields``: the certificate set or a signer identifier of an RFC 3161 token, which CMS does not
  sign (the TSA chain comes from the trust store; the signed attributes, TSTInfo and signature are unchanged);
* ``unsigned key hint``: ``verificationMaterial.publicKey.hint`` of a key-signed bundle, a free-form label (the
  key comes from the policy, never from the bundle);
* ``unchecked CMS signature algorithm``: only the SignerInfo's signatureAlgorithm OID (not signed by CMS) differs:
  rfc3161-client verifies with the trusted TSA key and the signed digest algorithm, and ignores that OID.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import io
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cbor2

from sigverify.crypto.trustroot import TrustStore
from sigverify.formats.blob import read_blob_input, verify_blob
from sigverify.models import Candidate, Descriptor, Format
from sigverify.policy.model import KeylessIdentity, Pattern

Fields = dict[str, bytes]


@dataclass(frozen=True)
class Vector:
    """One passing vector: its signed fields and ``verify(fields) -> passed``."""

    name: str
    fields: Fields
    verify: Callable[[Fields], bool]
    explain: Callable[[str, bytes, bytes], str | None]  # why a flip that still verifies changed nothing verified


def _b64(value: str) -> bytes | None:
    """The bytes a base64 or base64url string (padded or not) stands for; None when it is not one."""
    for alt in (None, b"-_"):
        try:
            text = value.encode("ascii")
            return base64.b64decode(text + b"=" * (-len(text) % 4), altchars=alt, validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            continue
    return None


def canonical(value: Any) -> Any:
    """A JSON value with every base64 string replaced by its bytes (and decoded JSON inside, when it is JSON):
    two documents with equal canonical forms say the same thing."""
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    if isinstance(value, str) and len(value) >= 4:
        raw = _b64(value)
        if raw is not None:
            return ("b64", raw)
    return value


SAME, UNNEEDED, COSIGNATURE, CMS_UNSIGNED = ("same content", "unneeded element", "unverified cosignature",
                                            "unsigned CMS fields")
CMS_ALGORITHM = "unchecked CMS signature algorithm"
KEY_HINT = "unsigned key hint"


def _json_same(a: bytes, b: bytes) -> bool:
    try:
        return bool(canonical(json.loads(a)) == canonical(json.loads(b)))
    except (ValueError, RecursionError):
        return False


Path_ = tuple[str | int, ...]


def _diff(a: Any, b: Any, at: Path_ = ()) -> list[Path_]:
    """Paths in ``a`` whose value differs in ``b`` (a key missing or renamed in ``b`` included)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [p for k in a for p in (_diff(a[k], b[k], (*at, k)) if k in b else [(*at, k)])]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [p for i, (x, y) in enumerate(zip(a, b, strict=True)) for p in _diff(x, y, (*at, i))]
    return [] if a == b else [at]


def _without(doc: Any, paths: list[Path_], *, whole_items: bool) -> Any:
    """``doc`` with each path deleted (``whole_items``: the innermost list item holding it instead)."""
    doc = json.loads(json.dumps(doc))
    for path in paths:
        if whole_items:
            cut = max((i for i, part in enumerate(path) if isinstance(part, int)), default=None)
            if cut is not None:
                path = path[: cut + 1]
        if not path:
            return None
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        del parent[path[-1]]
    return doc


def _at(doc: Any, path: Path_) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def _checkpoint_lines(doc: Any) -> list[str]:
    """Every checkpoint envelope of a bundle's log entries."""
    entries = doc.get("verificationMaterial", {}).get("tlogEntries", [])
    return [e.get("inclusionProof", {}).get("checkpoint", {}).get("envelope", "") for e in entries]


def _cosignature_only(a: Any, b: Any) -> bool:
    """The checkpoints differ only in signature lines other than the log's own (found by the logId key hint)."""
    entries = a.get("verificationMaterial", {}).get("tlogEntries", [])
    if _diff(a, b) != [("verificationMaterial", "tlogEntries", i, "inclusionProof", "checkpoint", "envelope")
                       for i in range(len(entries)) if _checkpoint_lines(a)[i] != _checkpoint_lines(b)[i]]:
        return False
    for entry, old, new in zip(entries, _checkpoint_lines(a), _checkpoint_lines(b), strict=True):
        if old == new:
            continue
        hint = base64.b64decode(entry["logId"]["keyId"])[:4]
        old_body, _, old_sigs = old.partition("\n\n")
        new_body, _, new_sigs = new.partition("\n\n")

        def own(lines: str, hint: bytes = hint) -> list[str]:
            out = []
            for line in lines.splitlines():
                raw = _b64(line.rsplit(" ", 1)[-1]) if " " in line else None
                if raw is not None and raw[:4] == hint:
                    out.append(line.rsplit(" ", 1)[-1])  # the signer name is not signed: only key hint + signature
            return out

        if old_body != new_body or own(old_sigs) != own(new_sigs) or not own(old_sigs):
            return False
    return True


def _bundle_explainer(verify_doc: Callable[[bytes], bool]) -> Callable[[str, bytes, bytes], str | None]:
    def explain(field: str, a: bytes, b: bytes) -> str | None:
        if field != "bundle":
            return SAME if a == b else None
        if _json_same(a, b):
            return SAME
        try:
            old, new = json.loads(a), json.loads(b)
        except (ValueError, RecursionError):
            return None
        if not isinstance(new, dict):
            return None
        if _cosignature_only(old, new):
            return COSIGNATURE
        paths = _diff(old, new)
        if paths == [("verificationMaterial", "publicKey", "hint")]:
            return KEY_HINT
        if paths and all(p[-1] == "signedTimestamp" for p in paths):
            classes = {_cms_class(_b64(_at(old, p)), _b64(_at(new, p))) for p in paths}
            if len(classes) == 1 and None not in classes:
                return classes.pop()
        for whole in (False, True):
            reduced = _without(old, paths, whole_items=whole)
            if reduced is not None and verify_doc(json.dumps(reduced).encode()):
                return UNNEEDED
        return None

    return explain


# -- cosign classic (MANIFEST A: containers/image fixtures, real cosign output) --------------------------------

CLASSIC = "containers-image/signature/fixtures"
CLASSIC_CASES = [  # (vector id, directory, signature file, key)
    ("A1", "dir-img-cosign-valid", "signature-1", "cosign.pub"),
    ("A2", "dir-img-cosign-valid-with-tag", "signature-1", "cosign.pub"),
    ("A3", "dir-img-cosign-valid-2", "signature-1", "cosign.pub"),
    ("A3", "dir-img-cosign-valid-2", "signature-2", "cosign.pub"),
    ("A4", "dir-img-cosign-mixed", "signature-2", "cosign.pub"),
    ("A10", "dir-img-cosign-key-rekor-valid", "signature-1", "cosign2.pub"),
]
PREFIX = b"\x00sigstore-json\n"


def _classic(root: Path, vid: str, directory: str, sig: str, key: str) -> Vector:
    from tests.fixtures.cosign_sign import verify_candidate

    d = root / CLASSIC / directory
    doc = json.loads(d.joinpath(sig).read_bytes()[len(PREFIX):])
    key_pem = (root / CLASSIC / key).read_bytes()
    fields = {"payload": base64.b64decode(doc["payload"]), "manifest": (d / "manifest.json").read_bytes(),
              "signature": doc["annotations"]["dev.cosignproject.cosign/signature"].encode()}

    def verify(f: Fields) -> bool:
        digest = "sha256:" + hashlib.sha256(f["manifest"]).hexdigest()
        try:
            annotations = {**doc["annotations"], "dev.cosignproject.cosign/signature": f["signature"].decode()}
        except UnicodeDecodeError:
            return False  # an annotation is a JSON string: it cannot hold invalid UTF-8
        layer = Descriptor(doc["mimeType"], "sha256:" + hashlib.sha256(f["payload"]).hexdigest(), len(f["payload"]),
                           annotations)
        cand = Candidate(Format.COSIGN_CLASSIC, "vector", digest, "sha256:" + "0" * 64, layer, f["payload"])
        return verify_candidate(cand, key_pem=key_pem, digest=digest, source=key).ok

    def explain(field: str, a: bytes, b: bytes) -> str | None:
        if field == "signature":
            try:
                return SAME if _b64(a.decode()) == _b64(b.decode()) is not None else None
            except UnicodeDecodeError:
                return None
        return SAME if a == b else None

    return Vector(f"cosign-{vid}-{directory}-{sig}", fields, verify, explain)


# -- Sigstore bundles (MANIFEST C: conformance suite; E: sigstore-python assets) ---------------------------------

SUITE = "sigstore-conformance/test/assets/bundle-verify"
SP = "sigstore-python/test/assets"
STAGING = "sigstore-python/sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstage.dev/trusted_root.json"
SP_CASES = [("bundle.txt", "bundle.txt.sigstore"), ("bundle_v3.txt", "bundle_v3.txt.sigstore"),
            ("bundle_v3_alt.txt", "bundle_v3_alt.txt.sigstore"),
            ("staging-rekor-v2.txt", "staging-rekor-v2.txt.sigstore.json")]


def _conformance(case: Path) -> Vector:
    from sigverify.cli.verify_blob import main
    from tests.sigstore.test_conformance import _argv

    argv = _argv(case, fmt="json")
    bundle_at = argv.index("--bundle") + 1
    fields = {"bundle": (case / "bundle.sigstore.json").read_bytes(), "artifact": Path(argv[-1]).read_bytes()}

    def verify(f: Fields) -> bool:
        with tempfile.TemporaryDirectory() as tmp:
            bundle, artifact = Path(tmp) / "bundle.json", Path(tmp) / "artifact"
            bundle.write_bytes(f["bundle"])
            artifact.write_bytes(f["artifact"])
            args = [*argv[:-1], str(artifact)]
            args[bundle_at] = str(bundle)
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                return main(args) == 0

    return Vector(f"conformance-{case.name}", fields, verify,
                  _bundle_explainer(lambda doc: verify({**fields, "bundle": doc})))


def _sigstore_python(root: Path, artifact: str, bundle: str) -> Vector:
    any_identity = KeylessIdentity(issuer=Pattern(".*", regexp=True), subject=Pattern(".*", regexp=True))
    trust = TrustStore(str(root / STAGING))
    fields = {"bundle": (root / SP / bundle).read_bytes(), "artifact": (root / SP / artifact).read_bytes()}

    def verify(f: Fields) -> bool:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "artifact"
            path.write_bytes(f["artifact"])
            return verify_blob(read_blob_input(str(path)), trust=trust, bundle=f["bundle"], identity=any_identity).ok

    return Vector(f"sigstore-python-{bundle}", fields, verify,
                  _bundle_explainer(lambda doc: verify({**fields, "bundle": doc})))


def _cosign_v3_bundle(root: Path) -> Vector:
    """B3: cosign's new-bundle attestation on go-containerregistry's empty.Image (keyless, public-good root)."""
    from sigverify.formats.sigstore_bundle import VERIFIER
    from tests.sigstore.helpers import bundle_candidate, context, keyless

    trust = TrustStore(str(root / "cosign/pkg/cosign/testdata/trusted_root_pgi.json"))
    authority = keyless("cody", "cody@soyland.com", "https://github.com/login/oauth")
    fields = {"bundle": (root / "cosign/pkg/cosign/testdata/oci-attestation.sigstore.json").read_bytes()}
    statement = json.loads(base64.b64decode(json.loads(fields["bundle"])["dsseEnvelope"]["payload"]))
    digest = "sha256:" + statement["subject"][0]["digest"]["sha256"]

    def verify(f: Fields) -> bool:
        return VERIFIER.verify(bundle_candidate(f["bundle"], digest), authority, context(digest, trust)).ok

    return Vector("cosign-v3-oci-attestation", fields, verify, _bundle_explainer(lambda doc: verify({"bundle": doc})))


# -- Notary Project envelopes (MANIFEST F2, notation-go) ---------------------------------------------------------

GO = "notation/notation-go"
JWS, COSE = "application/jose+json", "application/cose"


TIMESTAMP = "io.cncf.notary.timestampSignature"


def _signed_cms(token: bytes | None) -> Any:
    """The signed parts of an RFC 3161 token: the TSTInfo, and per signer the digest algorithm, signed attributes,
    signature algorithm and signature (not the certificate set, signer identifier or unsigned attributes)."""
    if token is None:
        return None
    from asn1crypto import cms, tsp

    status = None
    try:
        signed = cms.ContentInfo.load(token)["content"]  # a bare token (notation)
    except ValueError:
        response = tsp.TimeStampResp.load(token)  # a TimeStampResp (Sigstore bundles): its status counts too
        status, signed = response["status"].dump(), response["time_stamp_token"]["content"]
    signers = [tuple(info[k].dump() for k in ("digest_algorithm", "signed_attrs", "signature", "signature_algorithm"))
               for info in signed["signer_infos"]]
    return status, signed["encap_content_info"].dump(), signers


def _cms_class(old: bytes | None, new: bytes | None) -> str | None:
    """Which unsigned part of an RFC 3161 token differs; None when a signed part does (or it does not parse)."""
    try:
        a, b = _signed_cms(old), _signed_cms(new)
    except Exception:  # a token that does not parse changed what is signed
        return None
    if a is None or b is None:
        return None
    if a == b:
        return CMS_UNSIGNED
    strip = [[signer[:3] for signer in x[2]] for x in (a, b)]
    return CMS_ALGORITHM if a[:2] == b[:2] and strip[0] == strip[1] else None


def _jws_parts(data: bytes) -> Any:
    doc = json.loads(data)
    header = doc.get("header", {})
    token = _b64(header[TIMESTAMP]) if TIMESTAMP in header else None
    return [_b64(doc[k]) for k in ("protected", "payload", "signature")] + [
        [_b64(c) for c in header.get("x5c", [])]], token


def _cose_parts(data: bytes) -> Any:
    msg = cbor2.loads(data).value
    return [msg[0], msg[2], msg[3], msg[1].get(33)], msg[1].get(TIMESTAMP)


def _envelope_explain(field: str, a: bytes, b: bytes) -> str | None:
    """Same signed content (protected header, payload, signature, certificate chain; the unprotected signing agent
    is not signed), and the timestamp token equal or different only in its unsigned certificate set."""
    try:
        parts = _jws_parts if a[:1] == b"{" else _cose_parts
        (old, old_token), (new, new_token) = parts(a), parts(b)
        if old != new:
            return None
        if old_token == new_token:
            return SAME
        return _cms_class(old_token, new_token)
    except Exception:  # anything that does not even parse is not the same content
        return None


def _notation(root: Path, name: str, path: str, target: Descriptor, cfg: Callable[[Path, Candidate], dict[str, Any]]
              ) -> Vector:
    from tests.notation.helpers import envelope_candidate, run

    data = (root / GO / path).read_bytes()
    media_type = JWS if data[:1] == b"{" else COSE
    store_dir = Path(tempfile.mkdtemp(prefix="sigverify-fuzz-"))
    settings = cfg(store_dir, envelope_candidate(data, media_type, target.digest))

    def verify(f: Fields) -> bool:
        return run(envelope_candidate(f["envelope"], media_type, target.digest), settings, target).ok

    return Vector(f"notation-{name}", {"envelope": data}, verify, _envelope_explain)


def _leaf_store(directory: Path, cand: Candidate) -> str:
    if cand.layer.media_type == JWS:
        leaf = base64.b64decode(json.loads(cand.content)["header"]["x5c"][0])
    else:
        leaf = cbor2.loads(cand.content).value[1][33][0]
    path = directory / "leaf.der"
    path.write_bytes(leaf)
    return str(path)


def _notation_vectors(root: Path) -> Iterator[Vector]:
    docker = "application/vnd.docker.distribution.manifest.v2+json"
    mock = Descriptor(docker, "sha256:60043cf45eaebc4c0867fea485a039b598f52fd09fd5b07b0b2d2f88fad9d74e", 528)
    ts = Descriptor(docker, "sha256:c0669ef34cdc14332c0f1ab0c2c01acb91d96014b172f1a76f3a39e63d1f0bda", 528)
    alpine = Descriptor("application/vnd.oci.image.manifest.v1+json",
                        "sha256:19dbd2e48e921426ee8ace4dc892edfb2ecdc1d1a72d5416c83670c30acecef0", 481)
    store = root / GO / "verifier/testdata/truststore/x509"
    yield _notation(root, "ca-valid-jws", "internal/mock/testdata/ca_valid_sig_env.json", mock, lambda d, c: {
        "trust_store": str(store / "ca/valid-trust-store"), "trusted_identities": ["*"]})
    yield _notation(root, "sa-valid-jws", "internal/mock/testdata/sa_valid_sig_env.json", mock, lambda d, c: {
        "trust_store": str(store / "signingAuthority/valid-trust-store"), "signing_authority": True,
        "trusted_identities": ["x509.subject: C=US, ST=WA, L=Seattle, O=Notary"]})
    for name in ("jws_signature.sig", "cose_signature.sig"):
        yield _notation(root, f"alpine-{name}", f"internal/testdata/{name}", alpine, lambda d, c: {
            "trust_store": _leaf_store(d, c), "trusted_identities": ["x509.subject: C=US,ST=WA,O=Notary"]})
    for name in ("jwsWithTimestamp.sig", "coseWithTimestamp.sig"):
        yield _notation(root, f"timestamped-{name}", f"verifier/testdata/timestamp/sigEnv/{name}", ts, lambda d, c: {
            "trust_store": str(store / "ca/valid-trust-store"), "tsa_store": str(store / "tsa/test-timestamp"),
            "trusted_identities": ["*"], "overrides": {"revocation": "skip"}})


def passing_vectors(root: Path) -> list[Vector]:
    """Every vector of the sweep (each is checked to pass untouched before it is flipped)."""
    out = [_classic(root, *case) for case in CLASSIC_CASES]
    suite = root / SUITE
    out += [_conformance(case) for case in sorted(suite.iterdir()) if case.is_dir() and not case.name.endswith("_fail")]
    out += [_sigstore_python(root, a, b) for a, b in SP_CASES]
    out.append(_cosign_v3_bundle(root))
    out += list(_notation_vectors(root))
    return out
